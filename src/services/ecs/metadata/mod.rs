//! The endpoints task containers reach at 169.254.170.2, as the ECS agent serves them: task
//! metadata v4 and v3 (`ECS_CONTAINER_METADATA_URI_V4`, `ECS_CONTAINER_METADATA_URI`) and the
//! container credentials endpoint the SDKs read a task role's keys from
//! (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`), and the task scale-in protection endpoint
//! (`$ECS_AGENT_URI/task-protection/v1/state`). Paths, JSON shapes, status codes and error texts
//! follow amazon-ecs-agent (`ecs-agent/tmds/handlers`, `agent/handlers/{v2,v3,v4}`).
//!
//! The registrations (endpoint id → container, credentials id → keys) are this module's own; the
//! task itself is read from ECS's state on every request, so the answers follow what the
//! executor reports. Docker stays behind [`Executor::stats`].

mod address;
mod handler;
mod protection;
mod responses;
mod routes;
#[cfg(test)]
mod tests;

pub use address::claim_address;
use handler::Handler;
use responses::{TaskView, go_time};

use crate::aws::{ApiError, Timestamp};
use crate::executor::{Executor, TaskEndpoints, TaskSpec};
use crate::listener::serve_http;
use crate::services::ecs::{State, task_protection, tasks};
use crate::store::Store;
use crate::wire::ecs::{Failure, ProtectedTask};
use aws_smithy_types::DateTime;
use http_body_util::{BodyExt, Limited};
use hyper::Request;
use hyper::body::Incoming;
use serde::Serialize;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Where the ECS agent answers inside tasks. The SDKs accept container credentials only from
/// this address (or loopback), and prepend `http://169.254.170.2` to a relative URI.
pub const AGENT_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);

/// How far ahead issued credentials say they expire; STS role sessions last 1–12 h and the
/// agent's are refreshed long before they run out.
const CREDENTIALS_LIFETIME_SECS: i64 = 6 * 3600;

/// Where containers reach berth's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointBase {
    pub host: Ipv4Addr,
    pub port: u16,
}

impl Default for EndpointBase {
    /// 169.254.170.2:80, as the ECS agent.
    fn default() -> Self {
        EndpointBase {
            host: AGENT_ADDRESS,
            port: 80,
        }
    }
}

impl EndpointBase {
    /// `http://169.254.170.2`, with `:port` only when it is not 80 (as the agent writes it).
    pub fn origin(&self) -> String {
        if self.port == 80 {
            format!("http://{}", self.host)
        } else {
            format!("http://{}:{}", self.host, self.port)
        }
    }

    /// The SDKs resolve `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` against
    /// `http://169.254.170.2` only; anywhere else needs the full URI.
    fn relative_credentials(&self) -> bool {
        self.host == AGENT_ADDRESS && self.port == 80
    }
}

/// One container's endpoint id: which container of which task it is.
#[derive(Debug, Clone)]
struct ContainerEndpoint {
    task_arn: String,
    cluster_arn: String,
    container: String,
    /// When the executor asked for the environment, i.e. just before it created the container:
    /// ECS's Container shape has no timestamps of its own, so this is `CreatedAt`.
    created_at: Timestamp,
}

/// A task role's keys, as the agent's credentials handler returns them.
#[derive(Debug, Clone, Serialize)]
struct RoleCredentials {
    #[serde(skip)]
    task_arn: String,
    #[serde(rename = "RoleArn")]
    role_arn: String,
    #[serde(rename = "AccessKeyId")]
    access_key_id: String,
    #[serde(rename = "SecretAccessKey")]
    secret_access_key: String,
    #[serde(rename = "Token")]
    token: String,
    #[serde(rename = "Expiration")]
    expiration: String,
}

impl RoleCredentials {
    /// Keys shaped like an STS session's: `ASIA` + 16 base32 characters, a 40-character secret
    /// and an opaque token. berth accepts any key, so they only have to look right to an SDK.
    fn issue(task_arn: &str, role_arn: &str) -> Self {
        const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let pick = |n: usize, alphabet: &[u8]| -> String {
            random_bytes(n)
                .into_iter()
                .map(|b| char::from(alphabet[usize::from(b) % alphabet.len()]))
                .collect()
        };
        let expires = DateTime::from_secs(
            DateTime::from(std::time::SystemTime::now()).secs() + CREDENTIALS_LIFETIME_SECS,
        );
        RoleCredentials {
            task_arn: task_arn.to_owned(),
            role_arn: role_arn.to_owned(),
            access_key_id: format!("ASIA{}", pick(16, BASE32)),
            secret_access_key: pick(40, BASE64),
            token: aws_smithy_types::base64::encode(random_bytes(160)),
            expiration: go_time(&Timestamp(expires)),
        }
    }
}

/// Random bytes from v4 UUIDs (the OS's generator; berth has no other source of randomness).
fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        out.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    out.truncate(n);
    out
}

#[derive(Default)]
struct Registry {
    containers: HashMap<String, ContainerEndpoint>,
    credentials: HashMap<String, RoleCredentials>,
    /// Task ARN → its credentials id: one per task, shared by all its containers.
    task_credentials: HashMap<String, String>,
}

impl Registry {
    fn credentials_id(&mut self, task_arn: &str, role_arn: &str) -> String {
        if let Some(id) = self.task_credentials.get(task_arn)
            && self.credentials.contains_key(id)
        {
            return id.clone();
        }
        let id = uuid::Uuid::new_v4().to_string();
        self.credentials
            .insert(id.clone(), RoleCredentials::issue(task_arn, role_arn));
        self.task_credentials
            .insert(task_arn.to_owned(), id.clone());
        id
    }
}

/// The task metadata and credentials endpoints: what each container is told, and what it is
/// answered.
pub struct Endpoints {
    store: Store,
    base: EndpointBase,
    registry: Mutex<Registry>,
}

impl Endpoints {
    pub fn new(store: Store, base: EndpointBase) -> Self {
        Endpoints {
            store,
            base,
            registry: Mutex::new(Registry::default()),
        }
    }

    pub fn base(&self) -> EndpointBase {
        self.base
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock must not take every later request down with it.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The container behind an endpoint id.
    fn endpoint(&self, id: &str) -> Option<ContainerEndpoint> {
        self.registry().containers.get(id).cloned()
    }

    /// Whether the task was issued role credentials, i.e. it has a task role.
    fn has_credentials(&self, task_arn: &str) -> bool {
        self.registry().task_credentials.contains_key(task_arn)
    }

    /// The container behind an endpoint id, with when each container of its task was created.
    fn lookup(&self, id: &str) -> Option<(ContainerEndpoint, HashMap<String, Timestamp>)> {
        let registry = self.registry();
        let endpoint = registry.containers.get(id)?.clone();
        let created = registry
            .containers
            .values()
            .filter(|c| c.task_arn == endpoint.task_arn)
            .map(|c| (c.container.clone(), c.created_at))
            .collect();
        Some((endpoint, created))
    }

    /// A copy of the task as the domain has it now, taken under the state's lock.
    fn task_view(&self, endpoint: &ContainerEndpoint) -> Option<TaskView> {
        let region = tasks::region_of(&endpoint.task_arn)?;
        let (data, definition) = self.store.read(region, |r: &State| {
            r.tasks
                .get(&endpoint.task_arn)
                .map(|t| (t.data.clone(), t.definition.clone()))
        })?;
        let cluster_arn = data
            .cluster_arn
            .clone()
            .unwrap_or_else(|| endpoint.cluster_arn.clone());
        Some(TaskView {
            spec: TaskSpec {
                task_arn: endpoint.task_arn.clone(),
                region: region.to_owned(),
                cluster_arn,
                overrides: data.overrides.clone(),
                definition,
            },
            data,
        })
    }

    fn credentials(&self, id: &str) -> Option<RoleCredentials> {
        self.registry().credentials.get(id).cloned()
    }

    /// GetTaskProtection (`update` None) or UpdateTaskProtection for the task itself, in its
    /// cluster, as the agent calls ECS on the task's behalf.
    fn task_protection(
        &self,
        task_arn: &str,
        cluster_arn: &str,
        update: Option<(bool, Option<i32>)>,
    ) -> Result<(Vec<ProtectedTask>, Vec<Failure>), ApiError> {
        let region = tasks::region_of(task_arn).unwrap_or_default();
        let tasks = [task_arn.to_owned()];
        // Protection decides what a deployment or a scale-in may stop: a write wakes the
        // scheduler.
        self.store.write(region, |r: &mut State| match update {
            Some((enabled, minutes)) => {
                task_protection::update(r, cluster_arn, &tasks, enabled, minutes)
            }
            None => task_protection::get(r, cluster_arn, Some(&tasks)),
        })
    }
}

/// The task role: RunTask's override, else the task definition's.
fn task_role(spec: &TaskSpec) -> Option<&str> {
    spec.overrides
        .as_ref()
        .and_then(|o| o.task_role_arn.as_deref())
        .or(spec.definition.task_role_arn.as_deref())
        .filter(|r| !r.is_empty())
}

impl TaskEndpoints for Endpoints {
    fn container_env(&self, spec: &TaskSpec, container: &str) -> Vec<(String, String)> {
        let endpoint_id = uuid::Uuid::new_v4().to_string();
        let credentials_id = {
            let mut registry = self.registry();
            registry.containers.insert(
                endpoint_id.clone(),
                ContainerEndpoint {
                    task_arn: spec.task_arn.clone(),
                    cluster_arn: spec.cluster_arn.clone(),
                    container: container.to_owned(),
                    created_at: Timestamp::now(),
                },
            );
            task_role(spec).map(|role| registry.credentials_id(&spec.task_arn, role))
        };
        let origin = self.base.origin();
        let mut env = vec![
            (
                "ECS_CONTAINER_METADATA_URI_V4".to_owned(),
                format!("{origin}/v4/{endpoint_id}"),
            ),
            (
                "ECS_CONTAINER_METADATA_URI".to_owned(),
                format!("{origin}/v3/{endpoint_id}"),
            ),
            (
                "ECS_AGENT_URI".to_owned(),
                format!("{origin}/api/{endpoint_id}"),
            ),
        ];
        // The agent tells every container its region, so an SDK needs no configuration.
        if let Some(region) = tasks::region_of(&spec.task_arn).filter(|r| !r.is_empty()) {
            env.push(("AWS_DEFAULT_REGION".to_owned(), region.to_owned()));
            env.push(("AWS_REGION".to_owned(), region.to_owned()));
        }
        if let Some(id) = credentials_id {
            let path = format!("/v2/credentials/{id}");
            if self.base.relative_credentials() {
                env.push(("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI".to_owned(), path));
            } else {
                env.push((
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI".to_owned(),
                    format!("{origin}{path}"),
                ));
            }
        }
        env
    }

    fn forget(&self, task_arn: &str) {
        let mut registry = self.registry();
        registry.containers.retain(|_, c| c.task_arn != task_arn);
        registry.task_credentials.remove(task_arn);
        registry.credentials.retain(|_, c| c.task_arn != task_arn);
    }
}

/// Serves the endpoints on `listener` until `stop` turns true (or its sender is dropped); then
/// lets in-flight requests finish for at most 5 s.
pub async fn serve(
    listener: TcpListener,
    endpoints: Arc<Endpoints>,
    executor: Arc<dyn Executor>,
    stop: watch::Receiver<bool>,
) {
    let handler = Arc::new(Handler {
        endpoints,
        executor,
    });
    let handle = move |req: Request<Incoming>| {
        let handler = handler.clone();
        async move {
            let (parts, body) = req.into_parts();
            // Only the task protection PUT has a body, a few bytes of JSON.
            let body = Limited::new(body, 64 * 1024)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            handler.handle(&parts.method, parts.uri.path(), &body).await
        }
    };
    serve_http(listener, handle, stop).await;
}
