//! One task's life on the engine, as the ECS agent drives it: resolve secrets, check or pull
//! images, open awslogs streams, make the network namespace (awsvpc), create the containers,
//! start each when its `dependsOn` conditions hold, watch them through engine events, stop the
//! rest when an essential one exits, and finally remove everything the task owned.

use super::translate::{self, PAUSE_NAME, Plan};
use super::{Inner, Signal, lock};
use crate::aws::{Timestamp, now_millis};
use crate::executor::{ContainerReport, Phase, TaskSpec, TaskUpdate};
use crate::wire::ecs::{
    ContainerCondition, ContainerDefinition, HealthStatus, NetworkBinding, NetworkMode,
    TaskStopCode, TransportProtocol,
};
use bollard::models::{EndpointSettings, NetworkCreateRequest, NetworkingConfig};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, LogsOptions, RemoveVolumeOptions,
    StopContainerOptions,
};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Created,
    Running,
    Stopped,
}

struct Ctr {
    name: String,
    def: ContainerDefinition,
    essential: bool,
    id: Option<String>,
    state: State,
    /// Reached RUNNING at some point (for START conditions after an early exit).
    started: bool,
    exit_code: Option<i32>,
    reason: Option<String>,
    health: Option<HealthStatus>,
    bindings: Vec<NetworkBinding>,
    logs: Option<tokio::task::JoinHandle<()>>,
}

/// Why a task ends before its containers ran.
struct Failure {
    code: TaskStopCode,
    reason: String,
    /// The container the failure is about, which gets the same reason.
    container: Option<String>,
}

pub(super) struct Runner {
    inner: Arc<Inner>,
    spec: TaskSpec,
    rx: mpsc::UnboundedReceiver<Signal>,
    containers: Vec<Ctr>,
    pause: Option<String>,
    ip: Option<String>,
    ports: Vec<u16>,
    pull_started: Option<Timestamp>,
    pull_stopped: Option<Timestamp>,
    reported_running: bool,
    /// Set once the task is on its way down: (stop code, reason).
    stopping: Option<(TaskStopCode, String)>,
}

impl Runner {
    pub(super) fn new(
        inner: Arc<Inner>,
        spec: TaskSpec,
        rx: mpsc::UnboundedReceiver<Signal>,
    ) -> Self {
        let containers = spec
            .definition
            .container_definitions
            .iter()
            .flatten()
            .map(|d| Ctr {
                name: d.name.clone().unwrap_or_default(),
                def: d.clone(),
                essential: d.essential.unwrap_or(true),
                id: None,
                state: State::Created,
                started: false,
                exit_code: None,
                reason: None,
                health: d.health_check.as_ref().map(|_| HealthStatus::UnknownValue),
                bindings: Vec::new(),
                logs: None,
            })
            .collect();
        Runner {
            inner,
            spec,
            rx,
            containers,
            pause: None,
            ip: None,
            ports: Vec::new(),
            pull_started: None,
            pull_stopped: None,
            reported_running: false,
            stopping: None,
        }
    }

    pub(super) async fn run(mut self) {
        self.pull_started = Some(Timestamp::now());
        self.report(Phase::Pending);
        match self.prepare().await {
            Ok(()) => self.supervise().await,
            Err(f) => {
                if let Some(c) = f
                    .container
                    .as_deref()
                    .and_then(|n| self.containers.iter_mut().find(|c| c.name == n))
                {
                    c.reason = Some(f.reason.clone());
                }
                self.stopping = Some((f.code, f.reason));
            }
        }
        self.teardown().await;
        let mut u = self.update(Phase::Stopped);
        if let Some((code, reason)) = self.stopping.take() {
            u.stop_code = Some(code);
            u.stopped_reason = Some(reason);
        }
        self.inner.send(u);
    }

    fn docker(&self) -> &bollard::Docker {
        &self.inner.docker
    }

    fn update(&self, phase: Phase) -> TaskUpdate {
        let mut u = TaskUpdate::new(&self.spec.task_arn, phase);
        u.pull_started_at = self.pull_started;
        u.pull_stopped_at = self.pull_stopped;
        u.private_ipv4 = self.ip.clone();
        u.health = self.task_health();
        u.containers = self
            .containers
            .iter()
            .map(|c| ContainerReport {
                name: c.name.clone(),
                last_status: match c.state {
                    State::Created => "PENDING",
                    State::Running => "RUNNING",
                    State::Stopped => "STOPPED",
                }
                .into(),
                exit_code: c.exit_code,
                reason: c.reason.clone(),
                health: c.health.clone(),
                runtime_id: c.id.clone(),
                network_bindings: c.bindings.clone(),
            })
            .collect();
        u
    }

    fn report(&self, phase: Phase) {
        self.inner.send(self.update(phase));
    }

    /// ECS's task health: from the essential containers that have a health check.
    fn task_health(&self) -> Option<HealthStatus> {
        let checked: Vec<&HealthStatus> = self
            .containers
            .iter()
            .filter(|c| c.essential)
            .filter_map(|c| c.health.as_ref())
            .collect();
        if checked.is_empty() {
            return Some(HealthStatus::UnknownValue);
        }
        Some(if checked.contains(&&HealthStatus::Unhealthy) {
            HealthStatus::Unhealthy
        } else if checked.iter().all(|h| **h == HealthStatus::Healthy) {
            HealthStatus::Healthy
        } else {
            HealthStatus::UnknownValue
        })
    }

    async fn prepare(&mut self) -> Result<(), Failure> {
        self.check_secrets()?;
        self.ensure_images().await?;
        self.pull_stopped = Some(Timestamp::now());
        self.open_logs()?;
        if translate::network_mode(&self.spec) == NetworkMode::Awsvpc {
            self.start_pause().await?;
        }
        self.create_containers().await
    }

    /// berth has no Secrets Manager or SSM Parameter Store: every secret is unresolvable, and
    /// the task fails the way ECS reports an unresolvable one.
    fn check_secrets(&self) -> Result<(), Failure> {
        for c in &self.containers {
            let secrets = c.def.secrets.iter().flatten().chain(
                c.def
                    .log_configuration
                    .iter()
                    .flat_map(|l| l.secret_options.iter().flatten()),
            );
            if let Some(s) = secrets.into_iter().next() {
                let reason = if s.value_from.contains(":secretsmanager:") {
                    format!(
                        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {} from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret.",
                        s.value_from
                    )
                } else {
                    format!(
                        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): InvalidParameters: invalid parameters: {}",
                        s.value_from
                    )
                };
                return Err(Failure {
                    code: TaskStopCode::TaskFailedToStart,
                    reason,
                    container: Some(c.name.clone()),
                });
            }
        }
        Ok(())
    }

    /// A local image is used as it is; otherwise it is pulled, and a failed pull ends the task.
    async fn ensure_images(&self) -> Result<(), Failure> {
        for c in &self.containers {
            let image = c.def.image.clone().unwrap_or_default();
            if lock(&self.inner.images).contains(&image) {
                continue;
            }
            if self.docker().inspect_image(&image).await.is_ok() {
                lock(&self.inner.images).insert(image);
                continue;
            }
            let options = CreateImageOptions {
                from_image: Some(image.clone()),
                ..Default::default()
            };
            let mut stream = self.docker().create_image(Some(options), None, None);
            let mut error = None;
            while let Some(item) = stream.next().await {
                match item {
                    Ok(info) => {
                        if let Some(e) = info.error_detail.and_then(|d| d.message) {
                            error = Some(e);
                        }
                    }
                    Err(e) => error = Some(e.to_string()),
                }
            }
            if error.is_none() && self.docker().inspect_image(&image).await.is_err() {
                error = Some("not found".into());
            }
            if let Some(e) = error {
                return Err(Failure {
                    code: TaskStopCode::TaskFailedToStart,
                    reason: format!(
                        "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref {image}: {e}"
                    ),
                    container: Some(c.name.clone()),
                });
            }
        }
        Ok(())
    }

    fn open_logs(&self) -> Result<(), Failure> {
        for c in &self.containers {
            let Some((region, group, stream, create)) = translate::awslogs(&self.spec, &c.def)
            else {
                continue;
            };
            if let Err(e) = self.inner.logs.open(&region, &group, &stream, create) {
                return Err(Failure {
                    code: TaskStopCode::TaskFailedToStart,
                    reason: format!(
                        "ResourceInitializationError: failed to validate logger args: {e}"
                    ),
                    container: Some(c.name.clone()),
                });
            }
        }
        Ok(())
    }

    fn cluster_name(&self) -> &str {
        self.spec
            .cluster_arn
            .rsplit('/')
            .next()
            .unwrap_or("default")
    }

    /// The Docker network awsvpc tasks of this cluster get their addresses on.
    async fn cluster_network(&self) -> Result<String, String> {
        let name = format!("berth-{}", self.cluster_name());
        let _guard = self.inner.networks.lock().await;
        if self
            .docker()
            .inspect_network(
                &name,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
            .is_ok()
        {
            return Ok(name);
        }
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            // The owner label lets a reset or the next start find the networks berth made.
            labels: Some(HashMap::from([
                (
                    translate::LABEL_CLUSTER.to_owned(),
                    self.spec.cluster_arn.clone(),
                ),
                (
                    translate::LABEL_OWNER.to_owned(),
                    self.inner.settings.owner.clone(),
                ),
            ])),
            ..Default::default()
        };
        match self.docker().create_network(request).await {
            Ok(_) => Ok(name),
            Err(e) if e.to_string().contains("already exists") => Ok(name),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn start_pause(&mut self) -> Result<(), Failure> {
        let fail = |e: String| Failure {
            code: TaskStopCode::TaskFailedToStart,
            reason: format!("ResourceInitializationError: failed to configure ENI: {e}"),
            container: None,
        };
        let network = self.cluster_network().await.map_err(fail)?;
        let mut labels = translate::labels(&self.spec, &self.inner.settings.owner, PAUSE_NAME);
        labels.insert("berth.pause".into(), "true".into());
        let body = bollard::models::ContainerCreateBody {
            image: Some(super::pause::IMAGE.into()),
            labels: Some(labels),
            hostname: self.containers.iter().find_map(|c| c.def.hostname.clone()),
            host_config: Some(bollard::models::HostConfig {
                network_mode: Some(network.clone()),
                dns: self
                    .containers
                    .iter()
                    .find_map(|c| c.def.dns_servers.clone())
                    .or_else(|| self.inner.settings.dns.clone().map(|d| vec![d])),
                extra_hosts: self.containers.iter().find_map(|c| {
                    c.def.extra_hosts.as_ref().map(|hs| {
                        hs.iter()
                            .map(|h| format!("{}:{}", h.hostname, h.ip_address))
                            .collect()
                    })
                }),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.clone(),
                    EndpointSettings::default(),
                )])),
            }),
            ..Default::default()
        };
        let name = self.spec.docker_name("internalecspause");
        let created = self
            .docker()
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name),
                    ..Default::default()
                }),
                body,
            )
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.pause = Some(created.id.clone());
        self.docker()
            .start_container(
                &created.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .map_err(|e| fail(e.to_string()))?;
        let inspected = self
            .docker()
            .inspect_container(
                &created.id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.ip = inspected
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|n| n.get(&network).and_then(|e| e.ip_address.clone()))
            .filter(|ip| !ip.is_empty());
        Ok(())
    }

    async fn create_containers(&mut self) -> Result<(), Failure> {
        let mode = translate::network_mode(&self.spec);
        let publish_ip = self.inner.settings.publish_ip.clone();
        for i in 0..self.containers.len() {
            let def = self.containers[i].def.clone();
            let name = self.containers[i].name.clone();
            let mut dynamic = Vec::new();
            if mode == NetworkMode::Bridge {
                for m in translate::dynamic_mappings(&def) {
                    let udp = m.protocol == Some(TransportProtocol::Udp);
                    let port =
                        self.inner
                            .reserve_port(&publish_ip, udp)
                            .ok_or_else(|| Failure {
                                code: TaskStopCode::TaskFailedToStart,
                                reason: "RESOURCE:PORTS".into(),
                                container: Some(name.clone()),
                            })?;
                    dynamic.push(port);
                    self.ports.push(port);
                }
            }
            // The agent's variables first: a container definition's own (later) value wins.
            let mut env = match &self.inner.endpoints {
                Some(ep) => ep.container_env(&self.spec, &name),
                None => Vec::new(),
            };
            env.extend(self.spec.environment(&name));
            let capture = translate::awslogs(&self.spec, &def).is_some();
            let plan = Plan {
                spec: &self.spec,
                def: &def,
                owner: &self.inner.settings.owner,
                env,
                network_mode: mode.clone(),
                pause_id: self.pause.as_deref(),
                dynamic_ports: &dynamic,
                publish_ip: &publish_ip,
                capture_logs: capture,
                dns: self.inner.settings.dns.as_deref(),
            };
            let body = translate::create_body(&plan);
            let bindings = if mode == NetworkMode::Bridge || mode == NetworkMode::Host {
                translate::host_ports(&def, &dynamic)
                    .into_iter()
                    .map(|(m, host)| NetworkBinding {
                        bind_ip: Some(if mode == NetworkMode::Host {
                            "0.0.0.0".into()
                        } else {
                            publish_ip.clone()
                        }),
                        container_port: m.container_port,
                        host_port: Some(i32::from(host)),
                        protocol: Some(m.protocol.clone().unwrap_or(TransportProtocol::Tcp)),
                        ..Default::default()
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let created = self
                .docker()
                .create_container(
                    Some(CreateContainerOptions {
                        name: Some(self.spec.docker_name(&name)),
                        ..Default::default()
                    }),
                    body,
                )
                .await
                .map_err(|e| {
                    // The image may have been removed since berth saw it: look again next time.
                    if let Some(image) = &def.image {
                        lock(&self.inner.images).remove(image);
                    }
                    Failure {
                        code: TaskStopCode::TaskFailedToStart,
                        reason: format!("CannotCreateContainerError: {}", docker_message(&e)),
                        container: Some(name.clone()),
                    }
                })?;
            let c = &mut self.containers[i];
            c.id = Some(created.id);
            c.bindings = bindings;
        }
        Ok(())
    }

    /// Whether every `dependsOn` condition of container `i` holds: `Some(true)` start now,
    /// `Some(false)` wait, `None` it can never hold.
    fn ready(&self, i: usize) -> Option<bool> {
        let mut ready = true;
        for dep in self.containers[i].def.depends_on.iter().flatten() {
            let Some(d) = self
                .containers
                .iter()
                .find(|c| c.name == dep.container_name)
            else {
                continue;
            };
            let holds = match dep.condition {
                ContainerCondition::Start => d.started,
                ContainerCondition::Complete => d.state == State::Stopped,
                ContainerCondition::Success => {
                    if d.state == State::Stopped && d.exit_code != Some(0) {
                        return None;
                    }
                    d.state == State::Stopped
                }
                ContainerCondition::Healthy => {
                    if d.state == State::Stopped {
                        return None;
                    }
                    d.health == Some(HealthStatus::Healthy)
                }
                _ => d.started,
            };
            ready &= holds;
        }
        Some(ready)
    }

    /// Starts what may start; containers whose conditions can never hold are given up.
    async fn start_ready(&mut self) {
        loop {
            let mut progressed = false;
            for i in 0..self.containers.len() {
                if self.containers[i].state != State::Created || self.stopping.is_some() {
                    continue;
                }
                match self.ready(i) {
                    Some(true) => {
                        self.start_container(i).await;
                        progressed = true;
                    }
                    Some(false) => {}
                    None => {
                        let c = &mut self.containers[i];
                        c.state = State::Stopped;
                        c.reason = Some(
                            "DependencyConditionNotMet: a container it depends on did not reach its condition"
                                .into(),
                        );
                        progressed = true;
                    }
                }
            }
            if !progressed {
                return;
            }
            // Containers that started while the task is still PENDING show as they go.
            if !self.reported_running {
                self.report(Phase::Pending);
            }
        }
    }

    async fn start_container(&mut self, i: usize) {
        let Some(id) = self.containers[i].id.clone() else {
            return;
        };
        let started = self
            .docker()
            .start_container(
                &id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await;
        let c = &mut self.containers[i];
        match started {
            Ok(()) => {
                c.state = State::Running;
                c.started = true;
            }
            Err(e) => {
                c.state = State::Stopped;
                c.reason = Some(format!("CannotStartContainerError: {}", docker_message(&e)));
                return;
            }
        }
        if let Some((region, group, stream, _)) =
            translate::awslogs(&self.spec, &self.containers[i].def)
        {
            let docker = self.inner.docker.clone();
            let sink = self.inner.logs.clone();
            self.containers[i].logs = Some(tokio::spawn(async move {
                forward_logs(docker, id, sink, region, group, stream).await;
            }));
        }
    }

    /// The task's life after its containers exist: start, watch, stop.
    async fn supervise(&mut self) {
        loop {
            self.start_ready().await;
            self.check_essential();
            if self.stopping.is_some() {
                self.stop_all().await;
                return;
            }
            if self.containers.iter().all(|c| c.state == State::Stopped) {
                // Nothing essential exited but nothing runs either.
                self.stopping = Some((
                    TaskStopCode::EssentialContainerExited,
                    "Essential container in task exited".into(),
                ));
                return;
            }
            if !self.reported_running && self.containers.iter().all(|c| c.state != State::Created) {
                self.reported_running = true;
                self.report(Phase::Running);
            }
            match self.rx.recv().await {
                Some(Signal::Stop) | None => {
                    self.stopping =
                        Some((TaskStopCode::UserInitiated, "Task stopped by berth".into()));
                }
                Some(Signal::Event { container, action }) => {
                    self.on_event(&container, &action).await;
                }
            }
        }
    }

    /// An essential container that exited takes the task down, as on ECS.
    fn check_essential(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        let Some(c) = self
            .containers
            .iter()
            .find(|c| c.essential && c.state == State::Stopped)
        else {
            return;
        };
        let reason = match c.reason.as_deref() {
            Some(r) if r.starts_with("OutOfMemoryError") => r.to_owned(),
            Some(r) if r.starts_with("CannotStartContainerError") => r.to_owned(),
            _ => "Essential container in task exited".to_owned(),
        };
        let code = if c.started {
            TaskStopCode::EssentialContainerExited
        } else {
            TaskStopCode::TaskFailedToStart
        };
        self.stopping = Some((code, reason));
    }

    async fn on_event(&mut self, container: &str, action: &str) {
        let Some(i) = self.containers.iter().position(|c| c.name == container) else {
            return;
        };
        if let Some(status) = action.strip_prefix("health_status: ") {
            let h = match status.trim() {
                "healthy" => HealthStatus::Healthy,
                "unhealthy" => HealthStatus::Unhealthy,
                _ => HealthStatus::UnknownValue,
            };
            if self.containers[i].health.as_ref() != Some(&h) {
                self.containers[i].health = Some(h);
                if self.reported_running {
                    self.report(Phase::Running);
                }
            }
            return;
        }
        if action == "die" && self.containers[i].state != State::Stopped {
            self.observe_exit(i).await;
            // A non-essential container's exit shows while the task runs on.
            if self.reported_running && !self.containers[i].essential {
                self.report(Phase::Running);
            }
        }
    }

    /// Reads a stopped container's exit code and whether the kernel killed it for memory.
    async fn observe_exit(&mut self, i: usize) {
        let Some(id) = self.containers[i].id.clone() else {
            return;
        };
        let state = self
            .docker()
            .inspect_container(
                &id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .ok()
            .and_then(|c| c.state);
        let c = &mut self.containers[i];
        c.state = State::Stopped;
        if let Some(s) = state {
            c.exit_code = s.exit_code.map(|e| e as i32);
            if s.oom_killed == Some(true) {
                c.reason = Some("OutOfMemoryError: Container killed due to memory usage".into());
            }
        }
    }

    /// Stops every running container (SIGTERM, then SIGKILL after its stop timeout).
    async fn stop_all(&mut self) {
        let mut stops = Vec::new();
        for c in &self.containers {
            if c.state != State::Running {
                continue;
            }
            let Some(id) = c.id.clone() else { continue };
            let t = c
                .def
                .stop_timeout
                .map(i64::from)
                .unwrap_or(translate::DEFAULT_STOP_TIMEOUT) as i32;
            let docker = self.inner.docker.clone();
            stops.push(async move {
                let _ = docker
                    .stop_container(
                        &id,
                        Some(StopContainerOptions {
                            t: Some(t),
                            signal: None,
                        }),
                    )
                    .await;
            });
        }
        futures_util::future::join_all(stops).await;
        for i in 0..self.containers.len() {
            if self.containers[i].state == State::Running {
                self.observe_exit(i).await;
            }
        }
        for c in &mut self.containers {
            c.state = State::Stopped;
        }
    }

    /// Removes the task's containers, its pause container and volumes; the log streams get
    /// their last lines first.
    async fn teardown(&mut self) {
        for c in &mut self.containers {
            if let Some(h) = c.logs.take() {
                let _ = tokio::time::timeout(Duration::from_secs(2), h).await;
            }
            c.state = State::Stopped;
        }
        let ids: Vec<String> = self
            .containers
            .iter()
            .filter_map(|c| c.id.clone())
            .chain(self.pause.clone())
            .collect();
        for id in ids {
            super::remove_forced(self.docker(), &id).await;
        }
        for v in translate::task_volumes(&self.spec) {
            let _ = self
                .docker()
                .remove_volume(&v, Some(RemoveVolumeOptions { force: true }))
                .await;
        }
        self.inner.release_ports(&self.ports);
        if let Some(ep) = &self.inner.endpoints {
            ep.forget(&self.spec.task_arn);
        }
    }
}

/// The engine's message without bollard's wrapping.
fn docker_message(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// Copies a container's output into its awslogs stream, a line per event.
async fn forward_logs(
    docker: bollard::Docker,
    id: String,
    sink: Arc<dyn crate::executor::LogSink>,
    region: String,
    group: String,
    stream: String,
) {
    let options = LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut logs = docker.logs(&id, Some(options));
    let mut partial: Vec<u8> = Vec::new();
    while let Some(Ok(chunk)) = logs.next().await {
        partial.extend_from_slice(&chunk.into_bytes());
        let mut events = Vec::new();
        while let Some(pos) = partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = partial.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            events.push((now_millis(), text));
        }
        if !events.is_empty() {
            sink.put(&region, &group, &stream, events);
        }
    }
    if !partial.is_empty() {
        let text = String::from_utf8_lossy(&partial).into_owned();
        sink.put(&region, &group, &stream, vec![(now_millis(), text)]);
    }
}
