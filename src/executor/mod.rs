//! What runs tasks. The scheduler hands an executor a [`TaskSpec`] to start or a task ARN to
//! stop; the executor reports every change it observes as a [`TaskUpdate`] on the channel it was
//! built with. `fake` runs tasks in memory on tokio's clock (deterministic under
//! `tokio::time::pause`); the Docker executor implements the same trait.

pub mod deferred;
pub mod docker;
pub mod fake;

use crate::aws::Timestamp;
use crate::wire::ecs::{HealthStatus, NetworkBinding, TaskDefinition, TaskOverride, TaskStopCode};
use std::sync::Arc;

/// Everything an executor needs to run one task.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub task_arn: String,
    /// The task's region: where its awslogs output goes unless `awslogs-region` says otherwise.
    pub region: String,
    pub cluster_arn: String,
    /// The task's own definition, shared with the task (a service's tasks share one).
    pub definition: Arc<TaskDefinition>,
    pub overrides: Option<TaskOverride>,
}

impl TaskSpec {
    /// The task id, the last part of its ARN.
    pub fn task_id(&self) -> &str {
        self.task_arn.rsplit('/').next().unwrap_or("")
    }

    /// The Docker container name of one of the task's containers, as the ECS agent names them:
    /// `ecs-<family>-<revision>-<container>-<task id>`.
    pub fn docker_name(&self, container: &str) -> String {
        let family = self.definition.family.as_deref().unwrap_or("task");
        let revision = self.definition.revision.unwrap_or(0);
        format!("ecs-{family}-{revision}-{container}-{}", self.task_id())
    }

    /// The environment of a container after the task's overrides.
    pub fn environment(&self, container: &str) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .definition
            .container_definitions
            .iter()
            .flatten()
            .filter(|c| c.name.as_deref() == Some(container))
            .flat_map(|c| c.environment.iter().flatten())
            .filter_map(|kv| Some((kv.name.clone()?, kv.value.clone().unwrap_or_default())))
            .collect();
        let overrides = self
            .overrides
            .iter()
            .flat_map(|o| o.container_overrides.iter().flatten())
            .filter(|o| o.name.as_deref() == Some(container))
            .flat_map(|o| o.environment.iter().flatten());
        for kv in overrides {
            let Some(name) = kv.name.clone() else {
                continue;
            };
            let value = kv.value.clone().unwrap_or_default();
            match env.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => env.push((name, value)),
            }
        }
        env
    }
}

/// The lifecycle stages an executor reports (ECS's `lastStatus` values it drives).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Running,
    Stopped,
}

#[derive(Debug, Clone, Default)]
pub struct ContainerReport {
    pub name: String,
    /// `PENDING`, `RUNNING` or `STOPPED`.
    pub last_status: String,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub health: Option<HealthStatus>,
    pub runtime_id: Option<String>,
    pub network_bindings: Vec<NetworkBinding>,
}

/// One observed change of a task.
#[derive(Debug, Clone)]
pub struct TaskUpdate {
    pub task_arn: String,
    pub phase: Phase,
    pub containers: Vec<ContainerReport>,
    /// Aggregated from the essential containers' health checks.
    pub health: Option<HealthStatus>,
    /// The task's address in its own network namespace (awsvpc).
    pub private_ipv4: Option<String>,
    pub stop_code: Option<TaskStopCode>,
    pub stopped_reason: Option<String>,
    pub pull_started_at: Option<Timestamp>,
    pub pull_stopped_at: Option<Timestamp>,
}

impl TaskUpdate {
    pub fn new(task_arn: &str, phase: Phase) -> Self {
        TaskUpdate {
            task_arn: task_arn.to_owned(),
            phase,
            containers: Vec::new(),
            health: None,
            private_ipv4: None,
            stop_code: None,
            stopped_reason: None,
            pull_started_at: None,
            pull_stopped_at: None,
        }
    }
}

/// Where the executor sends its reports.
pub type UpdateSender = tokio::sync::mpsc::UnboundedSender<TaskUpdate>;

/// A machine tasks run on, as a container instance shows it.
#[derive(Debug, Clone)]
pub struct Host {
    pub id: String,
    pub cpu: i32,
    pub memory: i32,
    pub availability_zone: String,
    pub instance_type: String,
}

/// A boxed future, for the few executor calls that must wait (the trait stays object-safe).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Where `awslogs` output goes: berth's CloudWatch Logs store (implemented by the domain).
pub trait LogSink: Send + Sync + 'static {
    /// What the awslogs driver does before a container starts: checks the group (creating it
    /// with `create_group`, i.e. `awslogs-create-group: true`) and creates the stream. `Err`
    /// holds AWS's reason, what follows `failed to validate logger args: `.
    fn open(
        &self,
        region: &str,
        group: &str,
        stream: &str,
        create_group: bool,
    ) -> Result<(), String>;
    /// Appends events, `(timestamp in epoch milliseconds, message)`, to a stream `open` made.
    fn put(&self, region: &str, group: &str, stream: &str, events: Vec<(i64, String)>);
}

/// What berth serves to containers (the task metadata and credentials endpoints): the
/// environment each container gets so that it finds them.
pub trait TaskEndpoints: Send + Sync + 'static {
    /// `ECS_CONTAINER_METADATA_URI(_V4)`, and with a task role
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (or `_FULL_URI`); registers the container so
    /// the endpoints can answer for it.
    fn container_env(&self, spec: &TaskSpec, container: &str) -> Vec<(String, String)>;
    /// The task is gone: its endpoints stop answering.
    fn forget(&self, task_arn: &str);
}

pub trait Executor: Send + Sync + 'static {
    /// The hosts berth registers as container instances for the EC2 launch type.
    fn hosts(&self) -> Vec<Host>;
    /// Starts a task; progress arrives as updates. Never blocks.
    fn start(&self, spec: TaskSpec);
    /// Stops a task (SIGTERM, then SIGKILL after the stop timeout); ends with a STOPPED update.
    fn stop(&self, task_arn: &str);
    /// A container's resource statistics as Docker's stats API returns them (what the task
    /// metadata endpoint's `/stats` serves), by runtime id. `None` when unknown.
    fn stats(&self, _runtime_id: &str) -> BoxFuture<'static, Option<serde_json::Value>> {
        Box::pin(async { None })
    }
    /// `POST /_berth/reset`: every task is forgotten at once, with no stop timeout and no
    /// reports about them afterwards; what berth made for them (containers, volumes,
    /// networks) is removed, as if berth had just started.
    fn reset(&self) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
    /// berth is stopping and its state dies with it: nothing it started may outlive it.
    fn shutdown(&self) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}
