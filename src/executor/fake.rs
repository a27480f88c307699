//! An in-memory executor: tasks "run" on tokio's clock, so a test that pauses time drives
//! hundreds of lifecycles in milliseconds. A container's behaviour is scripted through its
//! environment (definition or overrides), so black-box tests can script it with any client:
//!
//! `BERTH_FAKE="exit=3 after=2s"` exits with code 3 two seconds after RUNNING;
//! `pull=fail` never starts (CannotPullContainerError); `start=500ms` stays PENDING that long;
//! `stop=2s` keeps running that long after it is told to stop (a process that ignores SIGTERM
//! until the stop timeout); `health=unhealthy` reports UNHEALTHY once running; `oom` is killed
//! for memory (exit 137).
//! Without a script a container runs until it is stopped.

use super::{ContainerReport, Executor, Host, Phase, TaskSpec, TaskUpdate, UpdateSender};
use crate::aws::Timestamp;
use crate::wire::ecs::{
    HealthStatus, NetworkBinding, NetworkMode, TaskStopCode, TransportProtocol,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Each running task's stop signal, and its run to abort on a reset.
type Running = Arc<Mutex<HashMap<String, (Arc<Notify>, Option<tokio::task::AbortHandle>)>>>;

pub struct FakeExecutor {
    hosts: Vec<Host>,
    updates: UpdateSender,
    running: Running,
    next_port: Arc<AtomicU32>,
    next_ip: Arc<AtomicU32>,
}

impl FakeExecutor {
    pub fn new(hosts: Vec<Host>, updates: UpdateSender) -> Self {
        FakeExecutor {
            hosts,
            updates,
            running: Arc::default(),
            // ECS's ephemeral host port range for dynamic mappings starts at 32768 (Linux).
            next_port: Arc::new(AtomicU32::new(32768)),
            next_ip: Arc::new(AtomicU32::new(2)),
        }
    }

    /// One host with `cpu` units and `memory` MiB in us-east-1a.
    pub fn single_host(cpu: i32, memory: i32) -> Vec<Host> {
        vec![Host {
            id: "i-0berth00000000001".into(),
            cpu,
            memory,
            availability_zone: "us-east-1a".into(),
            instance_type: "berth.fake".into(),
        }]
    }
}

/// A container's script, parsed from `BERTH_FAKE`.
#[derive(Debug, Default, Clone)]
struct Script {
    exit: Option<i32>,
    after: Duration,
    pull_fails: bool,
    start: Duration,
    stop: Duration,
    health: Option<HealthStatus>,
    oom: bool,
}

fn parse_duration(s: &str) -> Duration {
    let (num, scale) = if let Some(v) = s.strip_suffix("ms") {
        (v, 0.001)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('m') {
        (v, 60.0)
    } else {
        (s, 1.0)
    };
    num.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| Duration::from_secs_f64(v * scale))
        .unwrap_or_default()
}

impl Script {
    fn parse(text: &str) -> Script {
        let mut s = Script::default();
        for token in text.split([' ', ',', ';']).filter(|t| !t.is_empty()) {
            let (key, value) = token.split_once('=').unwrap_or((token, ""));
            match key {
                "exit" => s.exit = value.parse().ok(),
                "after" => s.after = parse_duration(value),
                "pull" => s.pull_fails = value == "fail",
                "start" => s.start = parse_duration(value),
                "stop" => s.stop = parse_duration(value),
                "health" => {
                    s.health = Some(HealthStatus::from(value.to_ascii_uppercase().as_str()))
                }
                "oom" => s.oom = true,
                _ => {}
            }
        }
        if s.oom {
            s.exit = Some(137);
        }
        s
    }
}

struct FakeContainer {
    essential: bool,
    script: Script,
    report: ContainerReport,
}

/// What a running fake task keeps, read from its spec at start: thousands of them run at once,
/// so none holds the spec (and its task definition) for its lifetime.
struct FakeTask {
    arn: String,
    /// Its address, for awsvpc.
    ip: Option<String>,
    containers: Vec<FakeContainer>,
    /// The image of the first container scripted `pull=fail`.
    failed_pull: Option<String>,
}

impl FakeTask {
    fn new(spec: &TaskSpec, next_port: &AtomicU32, ip_n: u32) -> FakeTask {
        let mode = spec
            .definition
            .network_mode
            .clone()
            .unwrap_or(NetworkMode::Bridge);
        let definitions = spec
            .definition
            .container_definitions
            .as_deref()
            .unwrap_or_default();
        let arn = &spec.task_arn;
        // Collected from a slice, so sized to the containers (no spare capacity).
        let containers: Vec<FakeContainer> = definitions
            .iter()
            .map(|c| {
                let name = c.name.clone().unwrap_or_default();
                let script = spec
                    .environment(&name)
                    .into_iter()
                    .find(|(k, _)| k == "BERTH_FAKE")
                    .map(|(_, v)| Script::parse(&v))
                    .unwrap_or_default();
                let health = script
                    .health
                    .clone()
                    .or_else(|| c.health_check.as_ref().map(|_| HealthStatus::Healthy));
                let bindings = c
                    .port_mappings
                    .iter()
                    .flatten()
                    .map(|pm| {
                        let host_port = match (pm.host_port, &mode) {
                            (Some(p), _) if p != 0 => p,
                            (_, NetworkMode::Bridge) => {
                                next_port.fetch_add(1, Ordering::Relaxed) as i32
                            }
                            _ => pm.container_port.unwrap_or(0),
                        };
                        NetworkBinding {
                            bind_ip: Some("0.0.0.0".into()),
                            container_port: pm.container_port,
                            host_port: Some(host_port),
                            protocol: Some(pm.protocol.clone().unwrap_or(TransportProtocol::Tcp)),
                            ..Default::default()
                        }
                    })
                    .collect();
                FakeContainer {
                    essential: c.essential.unwrap_or(true),
                    report: ContainerReport {
                        name: name.clone(),
                        last_status: "PENDING".into(),
                        runtime_id: Some(format!("{:064x}", hash(&format!("{arn}/{name}")))),
                        network_bindings: if mode == NetworkMode::Bridge
                            || mode == NetworkMode::Host
                        {
                            bindings
                        } else {
                            Vec::new()
                        },
                        health: health.as_ref().map(|_| HealthStatus::UnknownValue),
                        ..Default::default()
                    },
                    script: Script { health, ..script },
                }
            })
            .collect();
        let failed_pull = containers
            .iter()
            .position(|c| c.script.pull_fails)
            .map(|i| definitions[i].image.clone().unwrap_or_default());
        FakeTask {
            arn: arn.clone(),
            ip: (mode == NetworkMode::Awsvpc)
                .then(|| format!("10.0.{}.{}", (ip_n >> 8) & 0xff, ip_n & 0xff)),
            containers,
            failed_pull,
        }
    }
}

impl Executor for FakeExecutor {
    fn hosts(&self) -> Vec<Host> {
        self.hosts.clone()
    }

    fn start(&self, spec: TaskSpec) {
        let stop = Arc::new(Notify::new());
        if let Ok(mut running) = self.running.lock() {
            running.insert(spec.task_arn.clone(), (stop.clone(), None));
        }
        let updates = self.updates.clone();
        let running = self.running.clone();
        let ip_n = self.next_ip.fetch_add(1, Ordering::Relaxed);
        let mut task = FakeTask::new(&spec, &self.next_port, ip_n);
        let run = tokio::spawn(async move {
            run_task(&mut task, &stop, &updates).await;
            if let Ok(mut running) = running.lock() {
                running.remove(&task.arn);
            }
        });
        // A run that already ended has removed its entry: nothing to record then.
        if let Ok(mut running) = self.running.lock()
            && let Some(entry) = running.get_mut(&spec.task_arn)
        {
            entry.1 = Some(run.abort_handle());
        }
    }

    fn reset(&self) -> super::BoxFuture<'static, ()> {
        if let Ok(mut running) = self.running.lock() {
            for (_, (_, run)) in running.drain() {
                if let Some(run) = run {
                    run.abort();
                }
            }
        }
        Box::pin(async {})
    }

    fn stop(&self, task_arn: &str) {
        let notify = self
            .running
            .lock()
            .ok()
            .and_then(|r| r.get(task_arn).map(|(n, _)| n.clone()));
        match notify {
            Some(n) => n.notify_one(),
            // Not running here (never started, or already ended): report it stopped.
            None => {
                let _ = self.updates.send(TaskUpdate::new(task_arn, Phase::Stopped));
            }
        }
    }
}

async fn run_task(task: &mut FakeTask, stop: &Notify, updates: &UpdateSender) {
    let FakeTask {
        arn,
        ip,
        containers,
        failed_pull,
    } = task;
    let send = |phase: Phase, containers: &[FakeContainer], f: &dyn Fn(&mut TaskUpdate)| {
        let mut u = TaskUpdate::new(arn, phase);
        u.containers = containers.iter().map(|c| c.report.clone()).collect();
        u.private_ipv4 = ip.clone();
        u.health = task_health(containers);
        f(&mut u);
        let _ = updates.send(u);
    };

    let pull_started = Timestamp::now();
    send(Phase::Pending, containers, &|u| {
        u.pull_started_at = Some(pull_started)
    });
    if let Some(image) = failed_pull {
        let reason = format!(
            "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref {image}: not found"
        );
        for c in containers.iter_mut() {
            c.report.last_status = "STOPPED".into();
            c.report.reason = Some(reason.clone());
        }
        send(Phase::Stopped, containers, &|u| {
            u.pull_stopped_at = Some(Timestamp::now());
            u.stop_code = Some(TaskStopCode::TaskFailedToStart);
            u.stopped_reason = Some(reason.clone());
        });
        return;
    }
    let start_delay = containers
        .iter()
        .map(|c| c.script.start)
        .max()
        .unwrap_or_default();
    tokio::select! {
        _ = tokio::time::sleep(start_delay) => {}
        _ = stop.notified() => {
            stop_all(containers, 0);
            send(Phase::Stopped, containers, &|_| {});
            return;
        }
    }
    for c in containers.iter_mut() {
        c.report.last_status = "RUNNING".into();
        c.report.health = c.script.health.clone();
    }
    let pull_stopped = Timestamp::now();
    send(Phase::Running, containers, &|u| {
        u.pull_started_at = Some(pull_started);
        u.pull_stopped_at = Some(pull_stopped);
    });

    // Containers with a scripted exit, soonest first.
    let mut exits: Vec<(Duration, usize)> = containers
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.script.exit.map(|_| (c.script.after, i)))
        .collect();
    exits.sort();
    let began = tokio::time::Instant::now();
    for (after, i) in exits {
        tokio::select! {
            _ = tokio::time::sleep_until(began + after) => {}
            _ = stop.notified() => {
                wind_down(containers).await;
                stop_all(containers, 143);
                send(Phase::Stopped, containers, &|_| {});
                return;
            }
        }
        let c = &mut containers[i];
        c.report.last_status = "STOPPED".into();
        c.report.exit_code = c.script.exit;
        if c.script.oom {
            c.report.reason = Some("OutOfMemoryError: Container killed due to memory usage".into());
        }
        if c.essential {
            let oom = c.script.oom;
            stop_all(containers, 143);
            send(Phase::Stopped, containers, &|u| {
                u.stop_code = Some(TaskStopCode::EssentialContainerExited);
                u.stopped_reason = Some(if oom {
                    "OutOfMemoryError: Container killed due to memory usage".into()
                } else {
                    "Essential container in task exited".into()
                });
            });
            return;
        }
        send(Phase::Running, containers, &|_| {});
    }
    stop.notified().await;
    wind_down(containers).await;
    stop_all(containers, 143);
    send(Phase::Stopped, containers, &|_| {});
}

/// A running task told to stop: its containers take as long as the slowest script says.
async fn wind_down(containers: &[FakeContainer]) {
    let slowest = containers.iter().map(|c| c.script.stop).max();
    tokio::time::sleep(slowest.unwrap_or_default()).await;
}

/// Stops whatever still runs, as SIGTERM would (exit 143 for a process that dies of it).
fn stop_all(containers: &mut [FakeContainer], exit_code: i32) {
    for c in containers {
        if c.report.last_status != "STOPPED" {
            c.report.last_status = "STOPPED".into();
            if c.report.exit_code.is_none() && exit_code != 0 {
                c.report.exit_code = Some(exit_code);
            }
        }
    }
}

/// ECS: a task is UNHEALTHY if any essential container is, HEALTHY if all essential containers
/// with health checks are, UNKNOWN otherwise.
fn task_health(containers: &[FakeContainer]) -> Option<HealthStatus> {
    let checked: Vec<&HealthStatus> = containers
        .iter()
        .filter(|c| c.essential)
        .filter_map(|c| c.report.health.as_ref())
        .collect();
    if checked.is_empty() {
        return None;
    }
    if checked.contains(&&HealthStatus::Unhealthy) {
        Some(HealthStatus::Unhealthy)
    } else if checked.iter().all(|h| **h == HealthStatus::Healthy) {
        Some(HealthStatus::Healthy)
    } else {
        Some(HealthStatus::UnknownValue)
    }
}

fn hash(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse() {
        let s = Script::parse("exit=3 after=2s");
        assert_eq!(s.exit, Some(3));
        assert_eq!(s.after, Duration::from_secs(2));
        assert!(Script::parse("pull=fail").pull_fails);
        assert_eq!(
            Script::parse("start=500ms").start,
            Duration::from_millis(500)
        );
        assert_eq!(Script::parse("stop=2s").stop, Duration::from_secs(2));
        assert_eq!(Script::parse("oom").exit, Some(137));
        assert_eq!(
            Script::parse("health=unhealthy").health,
            Some(HealthStatus::Unhealthy)
        );
    }
}
