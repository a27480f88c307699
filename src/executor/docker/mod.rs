//! The real executor: each task is Docker containers on the local engine (bollard; the Unix
//! socket by default, `DOCKER_HOST` honoured, the API version negotiated with the daemon).
//!
//! One runner per task (`run.rs`) owns that task's containers from image check to removal. The
//! engine's event stream, not polling, tells the runners what their containers do: one
//! subscription, filtered on berth's owner label, routed by the task ARN label. Containers
//! carry the ECS agent's labels, so at start-up berth finds and removes what an earlier run of
//! the same berth (same API address) left behind.

mod pause;
mod run;
pub mod translate;

use super::UpdateSender;
use super::{BoxFuture, Executor, Host, LogSink, Phase, TaskEndpoints, TaskSpec, TaskUpdate};
use bollard::Docker;
use bollard::query_parameters::{
    EventsOptions, ListContainersOptions, ListNetworksOptions, RemoveContainerOptions,
    RemoveVolumeOptions, StatsOptions,
};
use futures_util::StreamExt;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;
use translate::{LABEL_CONTAINER_NAME, LABEL_OWNER, LABEL_TASK_ARN};

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot reach the Docker engine: {0}")]
    Connect(#[from] bollard::errors::Error),
}

/// What the Docker executor is told at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Marks berth's containers: the API address, so two berths on one engine stay apart.
    pub owner: String,
    /// Where bridge-mode port mappings are published on the host.
    pub publish_ip: String,
    /// The resolver containers get (berth's DNS server), when containers can reach it.
    pub dns: Option<String>,
}

/// ECS's ephemeral host port range for dynamic port mappings.
const EPHEMERAL_PORTS: std::ops::RangeInclusive<u16> = 49153..=65535;

pub struct DockerExecutor {
    inner: Arc<Inner>,
}

/// What a task's runner hears.
#[derive(Debug)]
enum Signal {
    Stop,
    /// An engine event about one of the task's containers: `start`, `die`, `oom`,
    /// `health_status: healthy|unhealthy`.
    Event {
        container: String,
        action: String,
    },
}

struct Inner {
    docker: Docker,
    updates: UpdateSender,
    logs: Arc<dyn LogSink>,
    endpoints: Option<Arc<dyn TaskEndpoints>>,
    settings: Settings,
    hosts: Vec<Host>,
    runners: Mutex<HashMap<String, RunnerHandle>>,
    /// Dynamic host ports handed out and not yet released.
    ports: Mutex<(BTreeSet<u16>, u16)>,
    /// Serialises the creation of cluster networks.
    networks: tokio::sync::Mutex<()>,
    /// Images known to be on the engine: a task start then costs no image round trip.
    images: Mutex<std::collections::HashSet<String>>,
}

/// How the executor reaches a task's runner: its signals, and its run to abort on a reset.
struct RunnerHandle {
    signals: mpsc::UnboundedSender<Signal>,
    run: Option<tokio::task::AbortHandle>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A connected engine and the host it is, before the executor starts (the state needs the
/// host to exist first, and the executor needs the state).
pub struct Engine {
    docker: Docker,
    host: Host,
}

impl Engine {
    /// Connects (`DOCKER_HOST` or the local socket) and negotiates the API version.
    pub async fn connect(region: &str) -> Result<Self, DockerError> {
        let docker = Docker::connect_with_defaults()?.negotiate_version().await?;
        let info = docker.info().await?;
        let cpus = info.ncpu.unwrap_or(1).max(1) as i32;
        let memory_mib = (info.mem_total.unwrap_or(0) / (1024 * 1024)) as i32;
        let host = Host {
            id: instance_id(info.id.as_deref().unwrap_or_default()),
            cpu: cpus * 1024,
            memory: memory_mib,
            availability_zone: format!("{region}a"),
            instance_type: "berth.docker".into(),
        };
        tracing::info!(
            api_version = docker.client_version().to_string(),
            cpu = host.cpu,
            memory_mib = host.memory,
            "Docker executor connected"
        );
        Ok(Engine { docker, host })
    }

    /// The engine's machine as a container instance: its real CPUs and memory.
    pub fn hosts(&self) -> Vec<Host> {
        vec![self.host.clone()]
    }
}

impl DockerExecutor {
    /// Removes what an earlier run left, imports the pause image and starts following the
    /// engine's events.
    pub async fn start(
        engine: Engine,
        settings: Settings,
        updates: UpdateSender,
        logs: Arc<dyn LogSink>,
        endpoints: Option<Arc<dyn TaskEndpoints>>,
    ) -> Self {
        let inner = Arc::new(Inner {
            docker: engine.docker,
            updates,
            logs,
            endpoints,
            hosts: vec![engine.host],
            runners: Mutex::new(HashMap::new()),
            ports: Mutex::new((BTreeSet::new(), *EPHEMERAL_PORTS.start())),
            networks: tokio::sync::Mutex::new(()),
            images: Mutex::new(Default::default()),
            settings,
        });
        inner.remove_leftovers().await;
        if let Err(e) = pause::ensure(&inner.docker).await {
            tracing::warn!("awsvpc tasks cannot start: {e}");
        }
        tokio::spawn(follow_events(Arc::downgrade(&inner), now_secs()));
        DockerExecutor { inner }
    }
}

/// A stable EC2-style instance id for the engine.
fn instance_id(engine_id: &str) -> String {
    // FNV-1a: stable across runs, unlike std's randomly seeded hasher.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in engine_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("i-0{:016x}", h)
}

/// Kills and removes a container with its anonymous volumes; one already gone is fine.
async fn remove_forced(docker: &Docker, id: &str) {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    let _ = docker.remove_container(id, Some(options)).await;
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Inner {
    fn owner_filter(&self) -> HashMap<String, Vec<String>> {
        HashMap::from([(
            "label".to_owned(),
            vec![format!("{LABEL_OWNER}={}", self.settings.owner)],
        )])
    }

    /// berth keeps no state across runs: every container this berth's address left is unknown.
    async fn remove_leftovers(&self) {
        self.remove_owned("removing a container of a task this berth no longer knows")
            .await;
        self.remove_networks().await;
    }

    /// Removes every container this berth's address owns (at once, not one after another:
    /// a reset with fifty tasks must not take fifty round trips in a row), the task volumes
    /// they mounted and the cluster networks this berth made. Returns how many containers.
    async fn remove_owned(&self, why: &str) -> usize {
        let options = ListContainersOptions {
            all: true,
            filters: Some(self.owner_filter()),
            ..Default::default()
        };
        let Ok(leftovers) = self.docker.list_containers(Some(options)).await else {
            return 0;
        };
        let mut volumes = BTreeSet::new();
        let mut removals = Vec::new();
        for c in leftovers {
            let Some(id) = c.id else { continue };
            let labels = c.labels.unwrap_or_default();
            tracing::info!(
                container = %id,
                task = labels.get(LABEL_TASK_ARN).map(String::as_str).unwrap_or("?"),
                "{why}"
            );
            // A task's own volumes are named `ecs-<task id>-<volume>`; shared ones outlive
            // berth, as they outlive a task on ECS.
            volumes.extend(
                c.mounts
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.name)
                    .filter(|n| n.starts_with("ecs-")),
            );
            removals.push(async move { remove_forced(&self.docker, &id).await });
        }
        let removed = removals.len();
        futures_util::future::join_all(removals).await;
        let volumes = volumes.into_iter().map(|v| async move {
            let options = RemoveVolumeOptions { force: true };
            let _ = self.docker.remove_volume(&v, Some(options)).await;
        });
        futures_util::future::join_all(volumes).await;
        removed
    }

    /// The cluster networks this berth made; one another berth's task still uses stays (the
    /// engine refuses to remove a network with endpoints).
    async fn remove_networks(&self) {
        let options = ListNetworksOptions {
            filters: Some(self.owner_filter()),
        };
        let Ok(networks) = self.docker.list_networks(Some(options)).await else {
            return;
        };
        let removals = networks
            .into_iter()
            .filter_map(|n| n.id)
            .map(|id| async move {
                let _ = self.docker.remove_network(&id).await;
            });
        futures_util::future::join_all(removals).await;
    }

    /// `POST /_berth/reset`: the runners are aborted rather than told to stop (no stop
    /// timeout, no reports), then what they made is removed.
    async fn reset(&self) {
        let runners: Vec<(String, RunnerHandle)> = lock(&self.runners).drain().collect();
        for (arn, runner) in &runners {
            if let Some(run) = &runner.run {
                run.abort();
            }
            if let Some(endpoints) = &self.endpoints {
                endpoints.forget(arn);
            }
        }
        let why = "reset: removing a container of a task berth forgot";
        // A runner aborted in the middle of a create call may leave a container the first
        // sweep did not list yet.
        if self.remove_owned(why).await > 0 {
            self.remove_owned(why).await;
        }
        self.remove_networks().await;
        *lock(&self.ports) = (BTreeSet::new(), *EPHEMERAL_PORTS.start());
    }

    fn send(&self, u: TaskUpdate) {
        let _ = self.updates.send(u);
    }

    /// A free host port from ECS's ephemeral range on `ip`, reserved until released.
    fn reserve_port(&self, ip: &str, udp: bool) -> Option<u16> {
        let mut guard = lock(&self.ports);
        let (taken, cursor) = &mut *guard;
        let span = u32::from(EPHEMERAL_PORTS.end() - EPHEMERAL_PORTS.start()) + 1;
        for _ in 0..span {
            let port = *cursor;
            *cursor = if port >= *EPHEMERAL_PORTS.end() {
                *EPHEMERAL_PORTS.start()
            } else {
                port + 1
            };
            if taken.contains(&port) {
                continue;
            }
            let free = if udp {
                std::net::UdpSocket::bind((ip, port)).is_ok()
            } else {
                std::net::TcpListener::bind((ip, port)).is_ok()
            };
            if free {
                taken.insert(port);
                return Some(port);
            }
        }
        None
    }

    fn release_ports(&self, ports: &[u16]) {
        let mut guard = lock(&self.ports);
        for p in ports {
            guard.0.remove(p);
        }
    }
}

/// Follows the engine's container events for berth's containers and hands each to its task's
/// runner. Reconnects (replaying from the last event seen) if the stream ends.
async fn follow_events(inner: std::sync::Weak<Inner>, mut since: i64) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let mut filters = strong.owner_filter();
        filters.insert("type".into(), vec!["container".into()]);
        let mut stream = strong.docker.events(Some(EventsOptions {
            since: Some(since.to_string()),
            filters: Some(filters),
            ..Default::default()
        }));
        drop(strong);
        while let Some(ev) = stream.next().await {
            let Some(strong) = inner.upgrade() else {
                return;
            };
            match ev {
                Ok(m) => {
                    if let Some(t) = m.time {
                        since = since.max(t);
                    }
                    let action = m.action.unwrap_or_default();
                    let attrs = m.actor.and_then(|a| a.attributes).unwrap_or_default();
                    let (Some(task), Some(container)) =
                        (attrs.get(LABEL_TASK_ARN), attrs.get(LABEL_CONTAINER_NAME))
                    else {
                        continue;
                    };
                    if let Some(runner) = lock(&strong.runners).get(task) {
                        let _ = runner.signals.send(Signal::Event {
                            container: container.clone(),
                            action,
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!("Docker event stream: {e}");
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl Executor for DockerExecutor {
    fn hosts(&self) -> Vec<Host> {
        self.inner.hosts.clone()
    }

    fn start(&self, spec: TaskSpec) {
        let (tx, rx) = mpsc::unbounded_channel();
        let arn = spec.task_arn.clone();
        lock(&self.inner.runners).insert(
            arn.clone(),
            RunnerHandle {
                signals: tx,
                run: None,
            },
        );
        let inner = self.inner.clone();
        let run = tokio::spawn(async move {
            let arn = spec.task_arn.clone();
            run::Runner::new(inner.clone(), spec, rx).run().await;
            lock(&inner.runners).remove(&arn);
        });
        // A runner that already ended has removed its entry: nothing to record then.
        if let Some(runner) = lock(&self.inner.runners).get_mut(&arn) {
            runner.run = Some(run.abort_handle());
        }
    }

    fn stop(&self, task_arn: &str) {
        let sent = lock(&self.inner.runners)
            .get(task_arn)
            .is_some_and(|runner| runner.signals.send(Signal::Stop).is_ok());
        if !sent {
            self.inner.send(TaskUpdate::new(task_arn, Phase::Stopped));
        }
    }

    fn stats(&self, runtime_id: &str) -> BoxFuture<'static, Option<serde_json::Value>> {
        let docker = self.inner.docker.clone();
        let id = runtime_id.to_owned();
        Box::pin(async move {
            let options = StatsOptions {
                stream: false,
                one_shot: false,
            };
            let stats = docker.stats(&id, Some(options)).next().await?.ok()?;
            serde_json::to_value(stats).ok()
        })
    }

    fn reset(&self) -> BoxFuture<'static, ()> {
        let inner = self.inner.clone();
        Box::pin(async move { inner.reset().await })
    }

    fn shutdown(&self) -> BoxFuture<'static, ()> {
        let inner = self.inner.clone();
        Box::pin(async move {
            inner
                .remove_owned("berth is stopping: removing a container of its task")
                .await;
            inner.remove_networks().await;
        })
    }
}
