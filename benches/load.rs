//! Load benchmark: berth against moto, same mix, same machine, same run.
//!
//! Run with `cargo bench --bench load` (or `scripts/bench`). It starts a berth
//! process and a `moto_server` process on free loopback ports, sets both up with
//! one cluster and 20 task-definition families, then drives a fixed request mix
//! (30% DescribeClusters, 30% ListTaskDefinitions, 30% DescribeTaskDefinition,
//! 10% RegisterTaskDefinition) from 1, 8 and 64 concurrent keep-alive clients.
//! It also measures start time (spawn until the first healthy answer) and
//! resident memory.
//!
//! Environment:
//! - `BERTH_BIN`: berth binary (default: the `berth` binary cargo built for this
//!   bench, i.e. `target/release/berth`; built with `cargo build --release --bin
//!   berth` if missing).
//! - `MOTO_SERVER`: moto server command (default `moto_server`).
//! - `BENCH_SECONDS`: measured seconds per concurrency level (default 5), after
//!   a 1 s warm-up.
//! - `BENCH_LEVELS`: comma-separated client counts (default `1,8,64`).
//! - `BENCH_ONLY`: `berth` or `moto` to run one side only (no ratios then).
//! - `BENCH_CLIENT_THREADS`: load-generator threads (default: half the CPUs).
//!
//! The process exits non-zero only when a server does not start, setup fails,
//! or more than 1% of a server's requests fail; missed performance targets are
//! reported as MISS but do not fail the run. Both child processes are killed on
//! every exit path (drop guard, also on Ctrl-C).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::Result;

/// `X-Amz-Target` value for an ECS operation name.
macro_rules! ecs_target {
    ($op:literal) => {
        concat!("AmazonEC2ContainerServiceV20141113.", $op)
    };
}

const CONTAINER: &str = r#"[{"name":"app","image":"busybox","memory":128,"essential":true}]"#;

const FAMILIES: usize = 20;
const WARMUP: Duration = Duration::from_secs(1);
const DEFAULT_SECONDS: f64 = 5.0;
const REQUEST_CAP: u64 = 2_000_000;
const DEFAULT_LEVELS: &[usize] = &[1, 8, 64];
const MEMORY_TASKDEFS: usize = 10_000;
const MEMORY_FAMILIES: usize = 100;
const MEMORY_CONCURRENCY: usize = 8;
const START_SAMPLES: usize = 5;
const MAX_ERROR_RATE: f64 = 0.01;

const TARGET_RATIO_8: f64 = 50.0;
const TARGET_START_MS: f64 = 20.0;
const TARGET_IDLE_RSS_KIB: u64 = 10 * 1024;

fn main() -> ExitCode {
    let threads = client_threads();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("load bench: cannot build the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            r = run(threads) => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
        }
    });
    // Dropping the run future above already killed the children; make sure the
    // client tasks are gone too before returning.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("load bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------
// Configuration

/// Load-generator threads: `BENCH_CLIENT_THREADS`, else half the CPUs (at
/// least one), so the server under test keeps the other half.
fn client_threads() -> usize {
    std::env::var("BENCH_CLIENT_THREADS")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)))
}

struct Config {
    berth_bin: PathBuf,
    moto_cmd: String,
    measure: Duration,
    levels: Vec<usize>,
    run_berth: bool,
    run_moto: bool,
    log_dir: PathBuf,
}

impl Config {
    fn from_env() -> Result<Config> {
        let measure_secs = match std::env::var("BENCH_SECONDS") {
            Ok(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| format!("BENCH_SECONDS must be a positive number, got {s:?}"))?,
            Err(_) => DEFAULT_SECONDS,
        };
        let levels = match std::env::var("BENCH_LEVELS") {
            Ok(s) => s
                .split(',')
                .map(|p| p.trim().parse::<usize>().ok().filter(|n| *n > 0))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    format!("BENCH_LEVELS must be positive integers like 1,8,64, got {s:?}")
                })?,
            Err(_) => DEFAULT_LEVELS.to_vec(),
        };
        let (run_berth, run_moto) = match std::env::var("BENCH_ONLY").as_deref() {
            Err(_) | Ok("") => (true, true),
            Ok("berth") => (true, false),
            Ok("moto") => (false, true),
            Ok(other) => {
                return Err(format!("BENCH_ONLY must be berth or moto, got {other:?}").into());
            }
        };
        let log_dir = std::env::temp_dir().join(format!("berth-bench-{}", std::process::id()));
        std::fs::create_dir_all(&log_dir)?;
        Ok(Config {
            berth_bin: if run_berth {
                locate_berth()?
            } else {
                PathBuf::new()
            },
            moto_cmd: std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned()),
            measure: Duration::from_secs_f64(measure_secs),
            levels,
            run_berth,
            run_moto,
            log_dir,
        })
    }
}

/// `BERTH_BIN`, else the binary cargo built alongside this bench (which is
/// `<target>/release/berth` under `cargo bench`), else
/// `<manifest>/target/release/berth`, building it when it is missing.
fn locate_berth() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("BERTH_BIN") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return Err(format!("BERTH_BIN={} is not a file", p.display()).into());
        }
        return Ok(p);
    }
    let built = PathBuf::from(env!("CARGO_BIN_EXE_berth"));
    if built.is_file() {
        return Ok(built);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = manifest.join("target/release/berth");
    if !path.is_file() {
        eprintln!(
            "{} is missing; running cargo build --release --bin berth",
            path.display()
        );
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "--bin", "berth"])
            .current_dir(manifest)
            .status()?;
        if !status.success() || !path.is_file() {
            return Err(format!("cargo build --release --bin berth failed ({status})").into());
        }
    }
    Ok(path)
}

// ---------------------------------------------------------------------------
// Child processes

/// Owns a server process; kills and reaps it when dropped, whatever the exit path.
struct ServerProcess {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    spawned_at: Instant,
    log: PathBuf,
}

impl ServerProcess {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Error out (with the log tail) if the process has already exited.
    fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            return Err(format!(
                "{} exited with {status} before answering; log {}:\n{}",
                self.name,
                self.log.display(),
                log_tail(&self.log)
            )
            .into());
        }
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn spawn_server(
    name: &'static str,
    program: &Path,
    args: &[String],
    port: u16,
    log_dir: &Path,
    tag: &str,
) -> Result<ServerProcess> {
    let log = log_dir.join(format!("{name}-{tag}.log"));
    let out = std::fs::File::create(&log)?;
    let err = out.try_clone()?;
    let spawned_at = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot spawn {}: {e}", program.display()))?;
    Ok(ServerProcess {
        name,
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        spawned_at,
        log,
    })
}

fn spawn_berth(cfg: &Config, tag: &str) -> Result<ServerProcess> {
    let port = free_port()?;
    let args = vec!["--bind".to_owned(), format!("127.0.0.1:{port}")];
    spawn_server("berth", &cfg.berth_bin, &args, port, &cfg.log_dir, tag)
}

fn spawn_moto(cfg: &Config, tag: &str) -> Result<ServerProcess> {
    let port = free_port()?;
    let args = vec!["-p".to_owned(), port.to_string()];
    spawn_server(
        "moto",
        Path::new(&cfg.moto_cmd),
        &args,
        port,
        &cfg.log_dir,
        tag,
    )
}

/// Polls `GET path` every millisecond on a fresh connection until `ready`
/// accepts the status line; returns the time since spawn.
async fn wait_ready(
    server: &mut ServerProcess,
    path: &str,
    ready: fn(&str) -> bool,
    timeout: Duration,
) -> Result<Duration> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    loop {
        if let Ok(Ok(status_line)) = tokio::time::timeout(
            Duration::from_secs(2),
            probe(server.addr, request.as_bytes()),
        )
        .await
            && ready(&status_line)
        {
            return Ok(server.spawned_at.elapsed());
        }
        server.check_alive()?;
        if server.spawned_at.elapsed() > timeout {
            return Err(format!(
                "{} did not become ready on {} within {timeout:?}; log {}:\n{}",
                server.name,
                server.addr,
                server.log.display(),
                log_tail(&server.log)
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// One raw HTTP/1.1 exchange; returns the status line.
async fn probe(addr: SocketAddr, request: &[u8]) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request).await?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.contains(&b'\n') {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

fn berth_healthy(status_line: &str) -> bool {
    status_line.starts_with("HTTP/1.") && status_line.split_whitespace().nth(1) == Some("200")
}

fn any_http_answer(status_line: &str) -> bool {
    status_line.starts_with("HTTP/")
}

async fn start_berth(cfg: &Config, tag: &str) -> Result<(ServerProcess, Duration)> {
    let mut server = spawn_berth(cfg, tag)?;
    let took = wait_ready(
        &mut server,
        "/_berth/health",
        berth_healthy,
        Duration::from_secs(10),
    )
    .await?;
    Ok((server, took))
}

async fn start_moto(cfg: &Config, tag: &str) -> Result<(ServerProcess, Duration)> {
    let mut server = spawn_moto(cfg, tag)?;
    let took = wait_ready(&mut server, "/", any_http_answer, Duration::from_secs(90)).await?;
    Ok((server, took))
}

/// `(VmRSS, VmHWM)` in KiB from `/proc/<pid>/status`.
fn rss_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(rss), Some(hwm)) => Ok((rss, hwm)),
        _ => Err(format!("no VmRSS/VmHWM in /proc/{pid}/status").into()),
    }
}

// ---------------------------------------------------------------------------
// HTTP client

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    DescribeClusters,
    ListTaskDefinitions,
    DescribeTaskDefinition,
    RegisterTaskDefinition,
    CreateCluster,
}

impl Op {
    const MIX: [Op; 4] = [
        Op::DescribeClusters,
        Op::ListTaskDefinitions,
        Op::DescribeTaskDefinition,
        Op::RegisterTaskDefinition,
    ];

    fn name(self) -> &'static str {
        match self {
            Op::DescribeClusters => "DescribeClusters",
            Op::ListTaskDefinitions => "ListTaskDefinitions",
            Op::DescribeTaskDefinition => "DescribeTaskDefinition",
            Op::RegisterTaskDefinition => "RegisterTaskDefinition",
            Op::CreateCluster => "CreateCluster",
        }
    }

    fn target(self) -> &'static str {
        match self {
            Op::DescribeClusters => ecs_target!("DescribeClusters"),
            Op::ListTaskDefinitions => ecs_target!("ListTaskDefinitions"),
            Op::DescribeTaskDefinition => ecs_target!("DescribeTaskDefinition"),
            Op::RegisterTaskDefinition => ecs_target!("RegisterTaskDefinition"),
            Op::CreateCluster => ecs_target!("CreateCluster"),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

fn register_body(family: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"family":"{family}","containerDefinitions":{CONTAINER}}}"#
    ))
}

/// Pre-built request bodies so the generator spends its time on the wire.
struct Bodies {
    describe_clusters: Bytes,
    list_task_definitions: Bytes,
    describe_task_definition: Vec<Bytes>,
    register_task_definition: Vec<Bytes>,
}

impl Bodies {
    fn new() -> Bodies {
        Bodies {
            describe_clusters: Bytes::from_static(br#"{"clusters":["bench"]}"#),
            list_task_definitions: Bytes::from_static(br#"{"maxResults":100}"#),
            describe_task_definition: (0..FAMILIES)
                .map(|k| Bytes::from(format!(r#"{{"taskDefinition":"bench-{k}"}}"#)))
                .collect(),
            register_task_definition: (0..FAMILIES)
                .map(|k| register_body(&format!("bench-{k}")))
                .collect(),
        }
    }

    fn get(&self, op: Op, k: usize) -> Bytes {
        match op {
            Op::DescribeClusters => self.describe_clusters.clone(),
            Op::ListTaskDefinitions => self.list_task_definitions.clone(),
            Op::DescribeTaskDefinition => self.describe_task_definition[k].clone(),
            Op::RegisterTaskDefinition => self.register_task_definition[k].clone(),
            Op::CreateCluster => Bytes::from_static(br#"{"clusterName":"bench"}"#),
        }
    }
}

/// SplitMix64: small, fast and deterministic per seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick(&mut self) -> (Op, usize) {
        let r = self.next();
        let op = match r % 100 {
            0..30 => Op::DescribeClusters,
            30..60 => Op::ListTaskDefinitions,
            60..90 => Op::DescribeTaskDefinition,
            _ => Op::RegisterTaskDefinition,
        };
        (op, ((r >> 32) % FAMILIES as u64) as usize)
    }
}

enum Outcome {
    Ok,
    Status(StatusCode, Bytes),
    Transport(String),
}

/// One client connection ([`common::Connection`]) and what its calls came to.
struct Client {
    conn: common::Connection,
    connects: u64,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        Client {
            conn: common::Connection::new(addr).expect("a socket address is a valid header value"),
            connects: 0,
        }
    }

    async fn call(&mut self, op: Op, body: Bytes) -> Outcome {
        let out = self.conn.post(op.target(), body).await;
        self.connects = self.conn.connects;
        match out {
            Ok((StatusCode::OK, _)) => Outcome::Ok,
            Ok((status, body)) => Outcome::Status(status, body),
            Err(e) => Outcome::Transport(e.to_string()),
        }
    }
}

/// Requests that must all succeed: one cluster and one revision per family.
async fn setup(addr: SocketAddr) -> Result<()> {
    let bodies = Bodies::new();
    let mut client = Client::new(addr);
    let mut calls = vec![(Op::CreateCluster, bodies.get(Op::CreateCluster, 0))];
    calls.extend((0..FAMILIES).map(|k| {
        (
            Op::RegisterTaskDefinition,
            bodies.get(Op::RegisterTaskDefinition, k),
        )
    }));
    for (op, body) in calls {
        match client.call(op, body).await {
            Outcome::Ok => {}
            Outcome::Status(status, body) => {
                return Err(
                    format!("setup {} answered {status}: {}", op.name(), snippet(&body)).into(),
                );
            }
            Outcome::Transport(e) => return Err(format!("setup {} failed: {e}", op.name()).into()),
        }
    }
    Ok(())
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        s.push('…');
    }
    s
}

// ---------------------------------------------------------------------------
// Load levels

#[derive(Default)]
struct Errors {
    /// (operation, kind) → (count, first response body or message)
    by_kind: BTreeMap<(Op, String), (u64, String)>,
}

impl Errors {
    fn add(&mut self, op: Op, kind: String, sample: String) {
        self.by_kind.entry((op, kind)).or_insert((0, sample)).0 += 1;
    }

    fn merge(&mut self, other: Errors) {
        for (key, (n, sample)) in other.by_kind {
            self.by_kind.entry(key).or_insert((0, sample)).0 += n;
        }
    }

    fn total(&self) -> u64 {
        self.by_kind.values().map(|(n, _)| n).sum()
    }
}

struct ClientResult {
    /// Measured latencies in nanoseconds, per operation of the mix.
    latencies: [Vec<u64>; 4],
    issued: u64,
    errors: Errors,
    connects: u64,
}

struct LevelResult {
    clients: usize,
    measured: u64,
    elapsed: Duration,
    rps: f64,
    all: Vec<u64>,
    per_op: [Vec<u64>; 4],
    issued: u64,
    errors: Errors,
    connects: u64,
}

struct Shared {
    warm_end: Instant,
    measure_end: Instant,
    measured: AtomicU64,
    stop: AtomicBool,
    cap_hit_at: Mutex<Option<Instant>>,
    bodies: Bodies,
}

async fn run_level(
    addr: SocketAddr,
    clients: usize,
    measure: Duration,
    seed: u64,
) -> Result<LevelResult> {
    let start = Instant::now();
    let shared = Arc::new(Shared {
        warm_end: start + WARMUP,
        measure_end: start + WARMUP + measure,
        measured: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        cap_hit_at: Mutex::new(None),
        bodies: Bodies::new(),
    });
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let shared = Arc::clone(&shared);
            let seed = seed ^ (i as u64).wrapping_mul(0xA24B_AED4_963E_E407);
            tokio::spawn(client_loop(addr, shared, seed))
        })
        .collect();
    let mut level = LevelResult {
        clients,
        measured: 0,
        elapsed: Duration::ZERO,
        rps: 0.0,
        all: Vec::new(),
        per_op: Default::default(),
        issued: 0,
        errors: Errors::default(),
        connects: 0,
    };
    for task in tasks {
        let r = task.await?;
        for (dst, src) in level.per_op.iter_mut().zip(r.latencies) {
            dst.extend(src);
        }
        level.issued += r.issued;
        level.connects += r.connects;
        level.errors.merge(r.errors);
    }
    let cap_hit_at = *shared.cap_hit_at.lock().map_err(|_| "cap mutex poisoned")?;
    let end = cap_hit_at.map_or(shared.measure_end, |t| t.min(shared.measure_end));
    level.elapsed = end.saturating_duration_since(shared.warm_end);
    for v in &mut level.per_op {
        v.sort_unstable();
    }
    level.all = level.per_op.concat();
    level.all.sort_unstable();
    level.measured = level.all.len() as u64;
    level.rps = level.measured as f64 / level.elapsed.as_secs_f64().max(1e-9);
    Ok(level)
}

async fn client_loop(addr: SocketAddr, shared: Arc<Shared>, seed: u64) -> ClientResult {
    let mut rng = Rng(seed);
    let mut client = Client::new(addr);
    let mut result = ClientResult {
        latencies: Default::default(),
        issued: 0,
        errors: Errors::default(),
        connects: 0,
    };
    while !shared.stop.load(Ordering::Relaxed) {
        let (op, k) = rng.pick();
        let body = shared.bodies.get(op, k);
        let t0 = Instant::now();
        if t0 >= shared.measure_end {
            break;
        }
        let outcome = client.call(op, body).await;
        let t1 = Instant::now();
        result.issued += 1;
        match outcome {
            Outcome::Ok => {}
            Outcome::Status(status, body) => {
                result
                    .errors
                    .add(op, format!("HTTP {status}"), snippet(&body))
            }
            Outcome::Transport(e) => result.errors.add(op, "transport".to_owned(), e),
        }
        if t0 >= shared.warm_end && t1 <= shared.measure_end {
            let n = shared.measured.fetch_add(1, Ordering::Relaxed);
            if n >= REQUEST_CAP {
                shared.stop.store(true, Ordering::Relaxed);
                if let Ok(mut at) = shared.cap_hit_at.lock() {
                    at.get_or_insert(t1);
                }
                break;
            }
            let nanos = u64::try_from((t1 - t0).as_nanos()).unwrap_or(u64::MAX);
            result.latencies[op.index()].push(nanos);
        }
    }
    result.connects = client.connects;
    result
}

/// Nearest-rank percentile of sorted nanoseconds, in microseconds.
fn percentile_us(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

// ---------------------------------------------------------------------------
// Per-server runs

struct ServerRun {
    name: &'static str,
    start: Duration,
    idle_rss: u64,
    after_rss: u64,
    after_hwm: u64,
    levels: Vec<LevelResult>,
}

impl ServerRun {
    fn issued(&self) -> u64 {
        self.levels.iter().map(|l| l.issued).sum()
    }

    fn errors(&self) -> u64 {
        self.levels.iter().map(|l| l.errors.total()).sum()
    }

    fn rps(&self, clients: usize) -> Option<f64> {
        self.levels
            .iter()
            .find(|l| l.clients == clients)
            .map(|l| l.rps)
    }
}

async fn load_run(cfg: &Config, mut server: ServerProcess, start: Duration) -> Result<ServerRun> {
    let name = server.name;
    let (idle_rss, _) = rss_kib(server.pid())?;
    setup(server.addr).await?;
    let mut levels = Vec::new();
    for &clients in &cfg.levels {
        eprintln!(
            "[{name}] {clients} client(s): 1 s warm-up + {:.1} s…",
            cfg.measure.as_secs_f64()
        );
        let level = run_level(
            server.addr,
            clients,
            cfg.measure,
            0x5EED_0000 + clients as u64,
        )
        .await?;
        server.check_alive()?;
        eprintln!(
            "[{name}] {clients} client(s): {:.0} req/s, {} errors",
            level.rps,
            level.errors.total()
        );
        levels.push(level);
    }
    let (after_rss, after_hwm) = rss_kib(server.pid())?;
    drop(server);
    Ok(ServerRun {
        name,
        start,
        idle_rss,
        after_rss,
        after_hwm,
        levels,
    })
}

struct BerthMemory {
    start_samples: Vec<Duration>,
    idle_rss: u64,
    rss_10k: u64,
    hwm_10k: u64,
    register_secs: f64,
    register_errors: u64,
}

/// Start-time samples on fresh processes, then idle RSS and RSS after 10,000
/// RegisterTaskDefinition calls on one more fresh process.
async fn berth_start_and_memory(cfg: &Config) -> Result<BerthMemory> {
    let mut start_samples = Vec::new();
    for i in 0..START_SAMPLES - 1 {
        let (server, took) = start_berth(cfg, &format!("start-{i}")).await?;
        start_samples.push(took);
        drop(server);
    }
    let (mut server, took) = start_berth(cfg, "memory").await?;
    start_samples.push(took);
    let (idle_rss, _) = rss_kib(server.pid())?;

    eprintln!(
        "[berth] registering {MEMORY_TASKDEFS} task definitions with {MEMORY_CONCURRENCY} clients…"
    );
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..MEMORY_CONCURRENCY)
        .map(|_| {
            let next = Arc::clone(&next);
            let addr = server.addr;
            tokio::spawn(async move {
                let mut client = Client::new(addr);
                let mut errors = 0u64;
                let mut first_error = None;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= MEMORY_TASKDEFS {
                        break;
                    }
                    let body = register_body(&format!("mem-{}", i % MEMORY_FAMILIES));
                    match client.call(Op::RegisterTaskDefinition, body).await {
                        Outcome::Ok => {}
                        Outcome::Status(status, body) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| {
                                format!("HTTP {status}: {}", snippet(&body))
                            });
                        }
                        Outcome::Transport(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                (errors, first_error)
            })
        })
        .collect();
    let mut register_errors = 0;
    for task in tasks {
        let (errors, first) = task.await?;
        register_errors += errors;
        if let Some(e) = first {
            eprintln!("[berth] RegisterTaskDefinition error (memory run): {e}");
        }
    }
    let register_secs = t0.elapsed().as_secs_f64();
    server.check_alive()?;
    let (rss_10k, hwm_10k) = rss_kib(server.pid())?;
    drop(server);
    Ok(BerthMemory {
        start_samples,
        idle_rss,
        rss_10k,
        hwm_10k,
        register_secs,
        register_errors,
    })
}

// ---------------------------------------------------------------------------
// Report

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(samples: &[Duration]) -> Duration {
    let mut s = samples.to_vec();
    s.sort_unstable();
    s.get(s.len() / 2).copied().unwrap_or_default()
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

fn fmt_us(us: f64) -> String {
    if us.is_nan() {
        "-".to_owned()
    } else if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

async fn run(client_threads: usize) -> Result<bool> {
    let cfg = Config::from_env()?;
    println!("berth load benchmark");
    println!(
        "  machine      : {} CPUs; load generator uses {client_threads} thread(s) (BENCH_CLIENT_THREADS)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if cfg.run_berth {
        println!("  berth binary : {}", cfg.berth_bin.display());
    }
    if cfg.run_moto {
        println!("  moto command : {}", cfg.moto_cmd);
    }
    println!(
        "  per level    : 1 s warm-up, then {:.1} s measured (cap {REQUEST_CAP} requests); clients {:?}",
        cfg.measure.as_secs_f64(),
        cfg.levels
    );
    println!(
        "  mix          : 30% DescribeClusters, 30% ListTaskDefinitions, 30% DescribeTaskDefinition, \
         10% RegisterTaskDefinition over {FAMILIES} families"
    );
    println!(
        "  server logs  : {} (removed after a clean run)",
        cfg.log_dir.display()
    );
    println!();

    let memory = if cfg.run_berth {
        Some(berth_start_and_memory(&cfg).await?)
    } else {
        None
    };
    let mut runs = Vec::new();
    if cfg.run_berth {
        let (server, took) = start_berth(&cfg, "load").await?;
        runs.push(load_run(&cfg, server, took).await?);
    }
    if cfg.run_moto {
        eprintln!("[moto] starting (takes a few seconds)…");
        let (server, took) = start_moto(&cfg, "load").await?;
        runs.push(load_run(&cfg, server, took).await?);
    }
    let berth = runs.iter().find(|r| r.name == "berth");
    let moto = runs.iter().find(|r| r.name == "moto");

    let mut out = String::new();
    let mut kv: Vec<(String, String)> = Vec::new();

    // Throughput and latency.
    writeln!(out, "== throughput and latency (per level) ==")?;
    writeln!(
        out,
        "{:<6} {:>7} {:>10} {:>12} {:>11} {:>11} {:>8} {:>9}",
        "server", "clients", "requests", "req/s", "p50", "p99", "errors", "conns"
    )?;
    for run in &runs {
        for l in &run.levels {
            let p50 = percentile_us(&l.all, 0.50);
            let p99 = percentile_us(&l.all, 0.99);
            writeln!(
                out,
                "{:<6} {:>7} {:>10} {:>12.0} {:>11} {:>11} {:>8} {:>9}",
                run.name,
                l.clients,
                l.measured,
                l.rps,
                fmt_us(p50),
                fmt_us(p99),
                l.errors.total(),
                l.connects
            )?;
            let c = l.clients;
            kv.push((format!("{}_rps_{c}", run.name), format!("{:.0}", l.rps)));
            kv.push((format!("{}_p50_us_{c}", run.name), format!("{p50:.1}")));
            kv.push((format!("{}_p99_us_{c}", run.name), format!("{p99:.1}")));
            kv.push((format!("{}_requests_{c}", run.name), l.measured.to_string()));
            kv.push((
                format!("{}_errors_{c}", run.name),
                l.errors.total().to_string(),
            ));
        }
    }
    writeln!(out)?;
    writeln!(out, "== latency by operation (p50 / p99) ==")?;
    for run in &runs {
        for l in &run.levels {
            let mut line = format!("{:<6} {:>3} clients:", run.name, l.clients);
            for op in Op::MIX {
                let v = &l.per_op[op.index()];
                write!(
                    line,
                    "  {} {} / {}",
                    op.name(),
                    fmt_us(percentile_us(v, 0.5)),
                    fmt_us(percentile_us(v, 0.99))
                )?;
            }
            writeln!(out, "{line}")?;
        }
    }
    writeln!(out)?;

    if let (Some(b), Some(m)) = (berth, moto) {
        writeln!(out, "== berth/moto requests/s ==")?;
        for &c in &cfg.levels {
            if let (Some(br), Some(mr)) = (b.rps(c), m.rps(c)) {
                let ratio = br / mr.max(1e-9);
                let target = if c == 8 {
                    format!(
                        "  (target ≥{TARGET_RATIO_8:.0}×: {})",
                        verdict(ratio >= TARGET_RATIO_8)
                    )
                } else {
                    String::new()
                };
                writeln!(out, "  {c:>3} clients: {ratio:>8.1}×{target}")?;
                kv.push((format!("ratio_rps_{c}"), format!("{ratio:.1}")));
            }
        }
        writeln!(out)?;
    }

    writeln!(
        out,
        "== start time (spawn → first healthy answer, polled every 1 ms) =="
    )?;
    if let (Some(mem), Some(b)) = (&memory, berth) {
        let mut samples = mem.start_samples.clone();
        samples.push(b.start);
        let med = median(&samples);
        let list: Vec<String> = samples.iter().map(|d| format!("{:.1}", ms(*d))).collect();
        writeln!(
            out,
            "  berth: median {:.1} ms over {} fresh processes [{}] (target ≤{TARGET_START_MS:.0} ms: {})",
            ms(med),
            samples.len(),
            list.join(", "),
            verdict(ms(med) <= TARGET_START_MS)
        )?;
        kv.push(("berth_start_ms".into(), format!("{:.1}", ms(med))));
        kv.push((
            "berth_start_first_ms".into(),
            format!("{:.1}", ms(samples[0])),
        ));
        kv.push((
            "berth_start_max_ms".into(),
            format!(
                "{:.1}",
                ms(samples.iter().copied().max().unwrap_or_default())
            ),
        ));
    }
    if let Some(m) = moto {
        writeln!(
            out,
            "  moto : {:.0} ms (one process; any HTTP answer on /)",
            ms(m.start)
        )?;
        kv.push(("moto_start_ms".into(), format!("{:.0}", ms(m.start))));
    }
    writeln!(out)?;

    writeln!(out, "== memory (VmRSS from /proc/<pid>/status) ==")?;
    if let Some(mem) = &memory {
        writeln!(
            out,
            "  berth idle (right after start)                : {:>8} KiB (target ≤{} KiB: {})",
            mem.idle_rss,
            TARGET_IDLE_RSS_KIB,
            verdict(mem.idle_rss <= TARGET_IDLE_RSS_KIB)
        )?;
        writeln!(
            out,
            "  berth after {MEMORY_TASKDEFS} RegisterTaskDefinition      : {:>8} KiB (peak {} KiB; same fresh process \
             as the idle figure, {MEMORY_FAMILIES} families × {} revisions, {MEMORY_CONCURRENCY} clients, {:.2} s, {} errors)",
            mem.rss_10k,
            mem.hwm_10k,
            MEMORY_TASKDEFS / MEMORY_FAMILIES,
            mem.register_secs,
            mem.register_errors
        )?;
        kv.push(("berth_idle_rss_kib".into(), mem.idle_rss.to_string()));
        kv.push(("berth_rss_10k_taskdefs_kib".into(), mem.rss_10k.to_string()));
        kv.push((
            "berth_register_10k_s".into(),
            format!("{:.2}", mem.register_secs),
        ));
    }
    for run in &runs {
        writeln!(
            out,
            "  {:<5} load process: idle {:>8} KiB, after all levels {:>8} KiB (peak {} KiB)",
            run.name, run.idle_rss, run.after_rss, run.after_hwm
        )?;
        kv.push((
            format!("{}_load_idle_rss_kib", run.name),
            run.idle_rss.to_string(),
        ));
        kv.push((
            format!("{}_rss_after_load_kib", run.name),
            run.after_rss.to_string(),
        ));
    }
    if let Some(m) = moto {
        kv.push(("moto_idle_rss_kib".into(), m.idle_rss.to_string()));
        if let Some(mem) = &memory {
            writeln!(
                out,
                "  moto idle / berth idle = {:.1}×",
                m.idle_rss as f64 / mem.idle_rss.max(1) as f64
            )?;
        }
    }
    writeln!(out)?;

    // Errors and the failure rule.
    let mut ok = true;
    writeln!(out, "== errors ==")?;
    if let Some(mem) = &memory {
        let rate = mem.register_errors as f64 / MEMORY_TASKDEFS as f64;
        if rate > MAX_ERROR_RATE {
            ok = false;
            writeln!(
                out,
                "  berth memory run: {} errors of {MEMORY_TASKDEFS} — FAIL",
                mem.register_errors
            )?;
        }
    }
    for run in &runs {
        let (errors, issued) = (run.errors(), run.issued());
        let rate = errors as f64 / issued.max(1) as f64;
        let fail = rate > MAX_ERROR_RATE;
        ok &= !fail;
        writeln!(
            out,
            "  {}: {errors} of {issued} requests ({:.3}%, warm-up included){}",
            run.name,
            rate * 100.0,
            if fail { " — FAIL (> 1%)" } else { "" }
        )?;
        for l in &run.levels {
            for ((op, kind), (n, sample)) in &l.errors.by_kind {
                writeln!(
                    out,
                    "    {} clients {:<22} {kind}: {n} (first: {sample})",
                    l.clients,
                    op.name()
                )?;
            }
        }
        kv.push((format!("{}_errors", run.name), errors.to_string()));
        kv.push((format!("{}_requests_total", run.name), issued.to_string()));
    }
    writeln!(out)?;

    writeln!(out, "== results ==")?;
    for (k, v) in &kv {
        writeln!(out, "{k}={v}")?;
    }
    writeln!(out, "status={}", if ok { "ok" } else { "fail" })?;
    print!("{out}");
    if ok {
        let _ = std::fs::remove_dir_all(&cfg.log_dir);
    }
    Ok(ok)
}
