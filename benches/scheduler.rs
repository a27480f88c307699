//! Scheduler benchmark: 1,000 services × 10 tasks on an in-process berth with the fake executor.
//!
//! Run with `cargo bench --bench scheduler` (or `scripts/bench`). It starts `berth::Server` in
//! this process, creates one cluster, one task definition and then the services through the
//! real HTTP API (raw JSON 1.1 over hyper), and reports:
//! - **steady**: from the first CreateService until every service has runningCount ==
//!   desiredCount == 10 and one COMPLETED deployment (polled with DescribeServices);
//! - **memory**: VmRSS of this process once steady, as a delta against a baseline taken after
//!   the server started and before the first service. The benchmark client runs in the same
//!   process, so the absolute figure includes it; the delta is what the services cost;
//! - **req/s**: a DescribeServices / ListTasks mix from several keep-alive clients, first on
//!   the idle, steady berth, then while the scheduler is busy rolling every service to a new
//!   deployment (UpdateService forceNewDeployment: 10,000 tasks started, 10,000 stopped), and
//!   the ratio busy / idle. The steady-state poller runs through both windows.
//!
//! The services run on FARGATE, so placement and instance capacity stay out of the figures;
//! `BENCH_LAUNCH_TYPE=EC2` runs them on the fake executor's one host instead, made large
//! enough for every task.
//!
//! Environment: `BENCH_SERVICES` (default 1000), `BENCH_TASKS` per service (default 10),
//! `BENCH_CLIENTS` concurrent clients for the mix (default 8), `BENCH_SECONDS` of the idle mix
//! (default 3), `BENCH_LAUNCH_TYPE` (FARGATE or EC2, default FARGATE).
//!
//! Targets (steady ≤ 10 s, ≤ 100 MiB for 10,000 tasks) are reported as PASS or FAIL; like the
//! load bench, the run fails only when setup fails, the services never settle (120 s), or a
//! request of the mix fails.

mod common;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use berth::{Config, Server};
use bytes::Bytes;
use hyper::StatusCode;
use serde_json::{Value, json};

use common::{BoxError, Result};

const CLUSTER: &str = "bench";
const FAMILY: &str = "bench-app";

const TARGET_STEADY: Duration = Duration::from_secs(10);
const TARGET_RSS_MIB: f64 = 100.0;
/// Give up on convergence after this long.
const STEADY_TIMEOUT: Duration = Duration::from_secs(120);
/// DescribeServices takes at most 10 services per call.
const DESCRIBE_BATCH: usize = 10;

struct Settings {
    services: usize,
    tasks: i32,
    clients: usize,
    idle_seconds: f64,
    fargate: bool,
}

impl Settings {
    fn from_env() -> Result<Settings> {
        fn var<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
            match std::env::var(name) {
                Ok(v) => v
                    .parse()
                    .map_err(|_| format!("{name}={v} is not a valid value").into()),
                Err(_) => Ok(default),
            }
        }
        let s = Settings {
            services: var("BENCH_SERVICES", 1000)?,
            tasks: var("BENCH_TASKS", 10)?,
            clients: var("BENCH_CLIENTS", 8)?,
            idle_seconds: var("BENCH_SECONDS", 3.0)?,
            fargate: match var("BENCH_LAUNCH_TYPE", "FARGATE".to_owned())?.as_str() {
                "FARGATE" => true,
                "EC2" => false,
                other => return Err(format!("BENCH_LAUNCH_TYPE={other}: FARGATE or EC2").into()),
            },
        };
        if s.services == 0 || s.tasks <= 0 || s.clients == 0 || s.idle_seconds <= 0.0 {
            return Err(
                "BENCH_SERVICES, BENCH_TASKS, BENCH_CLIENTS and BENCH_SECONDS must be positive"
                    .into(),
            );
        }
        Ok(s)
    }
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scheduler bench: cannot build the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run());
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("scheduler bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP client: one keep-alive connection, JSON 1.1 requests.

struct Client {
    conn: common::Connection,
}

impl Client {
    fn new(addr: SocketAddr) -> Result<Client> {
        Ok(Client {
            conn: common::Connection::new(addr)?,
        })
    }

    /// Calls ECS operation `op`; an answer other than 200 is an error.
    async fn call(&mut self, op: &str, body: &Value) -> Result<Value> {
        let target = format!("AmazonEC2ContainerServiceV20141113.{op}");
        let (status, bytes) = self
            .conn
            .post(&target, Bytes::from(serde_json::to_vec(body)?))
            .await?;
        if status != StatusCode::OK {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
            return Err(format!("{op}: HTTP {status}: {text}").into());
        }
        Ok(serde_json::from_slice(&bytes)?)
    }
}

fn service_name(i: usize) -> String {
    format!("svc-{i:05}")
}

/// A small xorshift generator: which service a mix request names.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------
// Measurements

/// VmRSS of this process in KiB.
fn rss_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/self/status".into())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Runs `f(i)` for every i in 0..n over `clients` connections.
async fn for_each<F, Fut>(addr: SocketAddr, n: usize, clients: usize, f: F) -> Result<()>
where
    F: Fn(Client, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<Client>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..clients.min(n) {
        let next = next.clone();
        let f = f.clone();
        workers.push(tokio::spawn(async move {
            let mut client = Client::new(addr)?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), BoxError>(());
                }
                client = f(client, i).await?;
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    Ok(())
}

/// How many services are steady: runningCount == desiredCount == `tasks`, no pending task, and
/// a single COMPLETED deployment.
async fn steady_count(addr: SocketAddr, services: usize, tasks: i32) -> Result<usize> {
    let steady = Arc::new(AtomicUsize::new(0));
    let batches = services.div_ceil(DESCRIBE_BATCH);
    let counter = steady.clone();
    for_each(addr, batches, 4, move |mut client, b| {
        let counter = counter.clone();
        async move {
            let names: Vec<String> = (b * DESCRIBE_BATCH..((b + 1) * DESCRIBE_BATCH).min(services))
                .map(service_name)
                .collect();
            let out = client
                .call(
                    "DescribeServices",
                    &json!({"cluster": CLUSTER, "services": names}),
                )
                .await?;
            let n = out["services"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| {
                    let deployments = s["deployments"].as_array();
                    s["runningCount"] == tasks
                        && s["desiredCount"] == tasks
                        && s["pendingCount"] == 0
                        && deployments
                            .is_some_and(|d| d.len() == 1 && d[0]["rolloutState"] == "COMPLETED")
                })
                .count();
            counter.fetch_add(n, Ordering::Relaxed);
            Ok(client)
        }
    })
    .await?;
    Ok(steady.load(Ordering::Relaxed))
}

/// Polls until every service is steady; the time since `since`.
async fn wait_steady(
    addr: SocketAddr,
    s: &Settings,
    since: Instant,
    what: &str,
) -> Result<Duration> {
    loop {
        let n = steady_count(addr, s.services, s.tasks).await?;
        if n == s.services {
            return Ok(since.elapsed());
        }
        if since.elapsed() > STEADY_TIMEOUT {
            return Err(format!(
                "{what}: only {n} of {} services steady after {:?}",
                s.services, STEADY_TIMEOUT
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The DescribeServices / ListTasks mix from `clients` connections until `stop` turns true:
/// (requests, errors).
async fn mix(
    addr: SocketAddr,
    services: usize,
    clients: usize,
    stop: Arc<AtomicBool>,
) -> Result<(u64, u64)> {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for c in 0..clients {
        let (stop, done, failed) = (stop.clone(), done.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            let mut client = Client::new(addr)?;
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (c as u64 + 1));
            // Alternate: DescribeServices, ListTasks, DescribeServices …
            let mut describe = true;
            while !stop.load(Ordering::Relaxed) {
                let result = if describe {
                    let names: Vec<String> = (0..DESCRIBE_BATCH)
                        .map(|_| service_name(rng.below(services)))
                        .collect();
                    client
                        .call(
                            "DescribeServices",
                            &json!({"cluster": CLUSTER, "services": names}),
                        )
                        .await
                } else {
                    let name = service_name(rng.below(services));
                    client
                        .call(
                            "ListTasks",
                            &json!({"cluster": CLUSTER, "serviceName": name}),
                        )
                        .await
                };
                describe = !describe;
                match result {
                    Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
            Ok::<(), BoxError>(())
        }));
    }
    for w in workers {
        w.await??;
    }
    Ok((done.load(Ordering::Relaxed), failed.load(Ordering::Relaxed)))
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "FAIL" }
}

async fn run() -> Result<bool> {
    let s = Settings::from_env()?;
    let rss_before_server = rss_kib()?;
    // EC2: one fake host with room for every task, twice over (a rolling deployment runs up
    // to 200%), so placement never runs out of capacity.
    let config = Config {
        fake_host_cpu: i32::MAX,
        fake_host_memory: i32::MAX,
        ..Config::ephemeral()
    };
    let server = Server::start(config).await?;
    let addr = server.local_addr();
    let mut client = Client::new(addr)?;
    client
        .call("CreateCluster", &json!({"clusterName": CLUSTER}))
        .await?;
    let container = json!({"name": "app", "image": "busybox", "memory": 16, "essential": true});
    let task_definition = if s.fargate {
        json!({
            "family": FAMILY,
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [container],
        })
    } else {
        json!({"family": FAMILY, "containerDefinitions": [container]})
    };
    client
        .call("RegisterTaskDefinition", &task_definition)
        .await?;
    let rss_baseline = rss_kib()?;
    let total_tasks = s.services * s.tasks as usize;
    let launch_type = if s.fargate { "FARGATE" } else { "EC2" };
    println!(
        "scheduler bench: {} services × {} tasks = {total_tasks} tasks on {launch_type}, fake executor, in process",
        s.services, s.tasks
    );

    // 1. Create every service; time until all are steady.
    let started = Instant::now();
    let mut create = json!({
        "cluster": CLUSTER,
        "taskDefinition": FAMILY,
        "desiredCount": s.tasks,
        "launchType": launch_type,
    });
    if s.fargate {
        create["networkConfiguration"] =
            json!({"awsvpcConfiguration": {"subnets": ["subnet-0bench"]}});
    }
    let create = Arc::new(create);
    for_each(addr, s.services, 8, move |mut client, i| {
        let mut body = Value::clone(&create);
        async move {
            body["serviceName"] = json!(service_name(i));
            client.call("CreateService", &body).await?;
            Ok(client)
        }
    })
    .await?;
    let created = started.elapsed();
    let steady = wait_steady(addr, &s, started, "create").await?;
    let rss_steady = rss_kib()?;
    let rss_delta = rss_steady.saturating_sub(rss_baseline);

    // 2. The mix on the idle berth, with the poller the busy window has too.
    let stop = Arc::new(AtomicBool::new(false));
    let t = Instant::now();
    let load = tokio::spawn(mix(addr, s.services, s.clients, stop.clone()));
    let window = Duration::from_secs_f64(s.idle_seconds);
    while t.elapsed() < window {
        steady_count(addr, s.services, s.tasks).await?;
        tokio::time::sleep(Duration::from_millis(100).min(window.saturating_sub(t.elapsed())))
            .await;
    }
    stop.store(true, Ordering::Relaxed);
    let (idle_n, idle_err) = load.await??;
    let idle_rps = idle_n as f64 / t.elapsed().as_secs_f64();

    // 3. The same mix while the scheduler replaces every task (forced new deployments).
    let stop = Arc::new(AtomicBool::new(false));
    let t = Instant::now();
    let load = tokio::spawn(mix(addr, s.services, s.clients, stop.clone()));
    for_each(addr, s.services, 8, |mut client, i| async move {
        client
            .call(
                "UpdateService",
                &json!({
                    "cluster": CLUSTER,
                    "service": service_name(i),
                    "forceNewDeployment": true,
                }),
            )
            .await?;
        Ok(client)
    })
    .await?;
    let redeployed = wait_steady(addr, &s, t, "redeploy").await;
    stop.store(true, Ordering::Relaxed);
    let busy_window = t.elapsed();
    let (busy_n, busy_err) = load.await??;
    let redeployed = redeployed?;
    let busy_rps = busy_n as f64 / busy_window.as_secs_f64();
    let rss_end = rss_kib()?;
    server.shutdown().await;

    let steady_ok = steady <= TARGET_STEADY;
    let rss_ok = mib(rss_delta) <= TARGET_RSS_MIB;
    let ratio = if idle_rps > 0.0 {
        busy_rps / idle_rps
    } else {
        0.0
    };
    println!();
    println!(
        "steady state:     {:>8.2} s    target ≤ {:.0} s     {}  (first CreateService to all {} steady; the creates took {:.2} s)",
        steady.as_secs_f64(),
        TARGET_STEADY.as_secs_f64(),
        verdict(steady_ok),
        s.services,
        created.as_secs_f64()
    );
    println!(
        "memory:           {:>8.1} MiB  target ≤ {:.0} MiB {}  (VmRSS delta: {:.1} MiB steady − {:.1} MiB after the server started, before any service; {:.1} MiB before the server; the bench client shares the process)",
        mib(rss_delta),
        TARGET_RSS_MIB,
        verdict(rss_ok),
        mib(rss_steady),
        mib(rss_baseline),
        mib(rss_before_server),
    );
    println!(
        "req/s idle:       {:>8.0}        ({idle_n} requests in {:.1} s, {idle_err} errors, {} clients)",
        idle_rps, s.idle_seconds, s.clients
    );
    println!(
        "req/s busy:       {:>8.0}        ({busy_n} requests in {:.1} s, {busy_err} errors, while every service redeployed)",
        busy_rps,
        busy_window.as_secs_f64()
    );
    println!("busy / idle:      {ratio:>8.2}");
    println!(
        "redeploy:         {:>8.2} s    ({total_tasks} tasks replaced; VmRSS then {:.1} MiB)",
        redeployed.as_secs_f64(),
        mib(rss_end)
    );
    Ok(idle_err == 0 && busy_err == 0)
}
