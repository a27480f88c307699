//! The endpoints task containers reach at 169.254.170.2, as the ECS agent serves them: task
//! metadata v4 and v3 (`ECS_CONTAINER_METADATA_URI_V4`, `ECS_CONTAINER_METADATA_URI`) and the
//! container credentials endpoint the SDKs read a task role's keys from
//! (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`), and the task scale-in protection endpoint
//! (`$ECS_AGENT_URI/task-protection/v1/state`). Paths, JSON shapes, status codes and error texts
//! follow amazon-ecs-agent (`ecs-agent/tmds/handlers`, `agent/handlers/{v2,v3,v4}`).
//!
//! The registrations (endpoint id → container, credentials id → keys) are this module's own; the
//! task itself is read from the domain's state on every request, so the answers follow what the
//! executor reports. Docker stays behind [`Executor::stats`].

use crate::aws::{ApiError, Timestamp};
use crate::executor::{Executor, TaskEndpoints, TaskSpec};
use crate::listener::{HttpResponse, respond, serve_http};
use crate::services::ecs::{State, task_definitions, task_protection, tasks};
use crate::store::Store;
use crate::wire::ecs::{
    Container, ContainerDefinition, ContainerOverride, Failure, HealthStatus, LaunchType,
    NetworkMode, ProtectedTask, Task as WireTask,
};
use aws_smithy_types::DateTime;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};
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

// ---- serving ----

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V3,
    V4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    Container,
    Task { with_tags: bool },
    ContainerStats,
    TaskStats,
}

impl Resource {
    /// How the agent's handlers name themselves in error messages.
    fn handler_name(self) -> &'static str {
        match self {
            Resource::Container => "container metadata",
            Resource::Task { .. } => "task metadata",
            Resource::ContainerStats => "container stats",
            Resource::TaskStats => "task stats",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Metadata {
        version: Version,
        id: &'a str,
        resource: Resource,
    },
    Credentials(&'a str),
    /// `$ECS_AGENT_URI/task-protection/v1/state`: `/api/<id>/task-protection/v1/state`.
    TaskProtection(&'a str),
}

impl<'a> Route<'a> {
    /// The agent's routes: `/v{3,4}/<id>[/task|/taskWithTags|/stats|/task/stats]` and
    /// `/v2/credentials/<id>` (the id may be empty there: the handler then says so).
    fn parse(path: &'a str) -> Option<Route<'a>> {
        if let Some(id) = path.strip_prefix("/v2/credentials/") {
            return Some(Route::Credentials(id));
        }
        if let Some(rest) = path.strip_prefix("/api/") {
            return rest
                .strip_suffix("/task-protection/v1/state")
                .filter(|id| !id.is_empty() && !id.contains('/'))
                .map(Route::TaskProtection);
        }
        let (version, rest) = if let Some(rest) = path.strip_prefix("/v4/") {
            (Version::V4, rest)
        } else {
            (Version::V3, path.strip_prefix("/v3/")?)
        };
        let (id, resource) = match rest.split_once('/') {
            None => (rest, Resource::Container),
            Some((id, tail)) => {
                let resource = match tail {
                    "task" => Resource::Task { with_tags: false },
                    "taskWithTags" => Resource::Task { with_tags: true },
                    "stats" => Resource::ContainerStats,
                    "task/stats" => Resource::TaskStats,
                    _ => return None,
                };
                (id, resource)
            }
        };
        Some(Route::Metadata {
            version,
            id,
            resource,
        })
    }
}

/// Why a metadata request failed; the texts are the agent's.
#[derive(Debug, thiserror::Error)]
enum MetadataError {
    /// The endpoint id names no live task (never issued, or the task was forgotten).
    #[error("unable to get task arn from request: unable to get task Arn from v3 endpoint ID: {0}")]
    UnknownTask(String),
    /// The endpoint id names no container with a Docker id (unknown, or not created yet).
    #[error(
        "unable to get container ID from request: unable to get docker ID from v3 endpoint ID: {0}"
    )]
    UnknownContainer(String),
    /// The executor has no statistics for this Docker id.
    #[error("Unable to get container stats for: {0}")]
    StatsUnavailable(String),
}

impl MetadataError {
    /// Status and message as the agent answers. v4 says 404 for an unknown id; v3 predates that
    /// and says 500 (metadata) or 400 (stats). A stats failure is 500 in v4 and 400 in v3.
    fn response(&self, version: Version, resource: Resource) -> (StatusCode, String) {
        let stats = matches!(resource, Resource::ContainerStats | Resource::TaskStats);
        match self {
            MetadataError::UnknownTask(_) | MetadataError::UnknownContainer(_) => {
                let status = match version {
                    Version::V4 => StatusCode::NOT_FOUND,
                    Version::V3 if stats => StatusCode::BAD_REQUEST,
                    Version::V3 => StatusCode::INTERNAL_SERVER_ERROR,
                };
                let n = if version == Version::V4 { 4 } else { 3 };
                let message = format!("V{n} {} handler: {self}", resource.handler_name());
                (status, message)
            }
            MetadataError::StatsUnavailable(_) => {
                let status = match version {
                    Version::V4 => StatusCode::INTERNAL_SERVER_ERROR,
                    Version::V3 => StatusCode::BAD_REQUEST,
                };
                (status, self.to_string())
            }
        }
    }
}

struct Handler {
    endpoints: Arc<Endpoints>,
    executor: Arc<dyn Executor>,
}

impl Handler {
    async fn handle(&self, method: &Method, path: &str, body: &[u8]) -> HttpResponse {
        match Route::parse(path) {
            Some(Route::TaskProtection(id)) => match *method {
                Method::GET => self.task_protection(id, None),
                Method::PUT => self.task_protection(id, Some(body)),
                // gorilla/mux: the path matches, the method does not.
                _ => respond(StatusCode::METHOD_NOT_ALLOWED, "text/plain", Vec::new()),
            },
            Some(Route::Credentials(id)) => self.credentials(id),
            Some(Route::Metadata {
                version,
                id,
                resource,
            }) => match self.metadata(version, id, resource).await {
                Ok(body) => json(StatusCode::OK, body),
                Err(err) => {
                    let (status, message) = err.response(version, resource);
                    tracing::debug!(path, "{message}");
                    // The agent's errors are JSON strings.
                    json(status, serde_json::to_vec(&message).unwrap_or_default())
                }
            },
            // gorilla/mux's answer to a path no route matches.
            None => respond(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                b"404 page not found\n".to_vec(),
            ),
        }
    }

    async fn metadata(
        &self,
        version: Version,
        id: &str,
        resource: Resource,
    ) -> Result<Vec<u8>, MetadataError> {
        let unknown = || match resource {
            Resource::Container => MetadataError::UnknownContainer(id.to_owned()),
            _ => MetadataError::UnknownTask(id.to_owned()),
        };
        let (endpoint, created) = self.endpoints.lookup(id).ok_or_else(unknown)?;
        let view = self.endpoints.task_view(&endpoint).ok_or_else(unknown)?;
        let body = match resource {
            Resource::Container => {
                let container = view
                    .container(&endpoint.container)
                    .ok_or_else(|| MetadataError::UnknownContainer(id.to_owned()))?;
                let created_at = created.get(&endpoint.container).copied();
                serde_json::to_vec(&view.container_response(version, container, created_at))
            }
            Resource::Task { with_tags } => {
                serde_json::to_vec(&view.task_response(version, with_tags, &created))
            }
            Resource::ContainerStats => {
                let docker_id = view
                    .container(&endpoint.container)
                    .and_then(|c| c.runtime_id.clone())
                    .ok_or_else(|| MetadataError::UnknownContainer(id.to_owned()))?;
                let stats = self
                    .executor
                    .stats(&docker_id)
                    .await
                    .ok_or(MetadataError::StatsUnavailable(docker_id))?;
                serde_json::to_vec(&stats)
            }
            Resource::TaskStats => serde_json::to_vec(&self.task_stats(version, &view).await),
        };
        // Serializing maps and plain structs does not fail; an empty body would show if it did.
        Ok(body.unwrap_or_default())
    }

    /// Docker id → stats for every created container of the task, fetched concurrently (Docker
    /// takes a sampling interval per container). A container without stats is `{}` in v4 and
    /// `null` in v3, as the agent writes them.
    async fn task_stats(
        &self,
        version: Version,
        view: &TaskView,
    ) -> BTreeMap<String, serde_json::Value> {
        let mut pending = tokio::task::JoinSet::new();
        for docker_id in view.containers().filter_map(|c| c.runtime_id.clone()) {
            let stats = self.executor.stats(&docker_id);
            pending.spawn(async move { (docker_id, stats.await) });
        }
        let mut out = BTreeMap::new();
        while let Some(joined) = pending.join_next().await {
            let Ok((docker_id, stats)) = joined else {
                continue;
            };
            let value = stats.unwrap_or_else(|| match version {
                Version::V4 => serde_json::Value::Object(Default::default()),
                Version::V3 => serde_json::Value::Null,
            });
            out.insert(docker_id, value);
        }
        out
    }

    fn credentials(&self, id: &str) -> HttpResponse {
        const PREFIX: &str = "CredentialsV2Request: ";
        let error = |code: &'static str, message: &str| {
            let body = CredentialsError {
                code,
                message: format!("{PREFIX}{message}"),
                http_error_code: 400,
            };
            json(
                StatusCode::BAD_REQUEST,
                serde_json::to_vec(&body).unwrap_or_default(),
            )
        };
        if id.is_empty() {
            return error("NoIdInRequest", "No Credential ID in the request");
        }
        match self.endpoints.credentials(id) {
            Some(creds) => json(
                StatusCode::OK,
                serde_json::to_vec(&creds).unwrap_or_default(),
            ),
            None => error("InvalidIdInRequest", "Credentials not found"),
        }
    }
}

impl Handler {
    /// The agent's task protection handlers: find the task, require its role's credentials,
    /// call ECS for it, and answer `protection`, `failure` (200) or `error`.
    fn task_protection(&self, id: &str, put: Option<&[u8]>) -> HttpResponse {
        let answer = |status: StatusCode, body: ProtectionResponse| {
            json(status, serde_json::to_vec(&body).unwrap_or_default())
        };
        let error = |status, arn: &str, code: &str, message: &str| {
            answer(status, ProtectionResponse::error(arn, code, message))
        };
        let update = match put.map(serde_json::from_slice::<ProtectionRequest>) {
            None => None,
            Some(Ok(request)) => Some(request),
            Some(Err(_)) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "",
                    "InvalidParameterException",
                    "UpdateTaskProtection: failed to decode request",
                );
            }
        };
        let Some(endpoint) = self.endpoints.endpoint(id) else {
            return error(
                StatusCode::NOT_FOUND,
                "",
                "ResourceNotFoundException",
                "Failed to find a task for the request",
            );
        };
        let arn = endpoint.task_arn.as_str();
        let update = match update {
            None => None,
            Some(ProtectionRequest {
                protection_enabled: Some(enabled),
                expires_in_minutes,
            }) => Some((
                enabled,
                expires_in_minutes.map(|m| m.clamp(i32::MIN as i64, i32::MAX as i64) as i32),
            )),
            Some(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    arn,
                    "InvalidParameterException",
                    "Invalid request: does not contain 'ProtectionEnabled' field",
                );
            }
        };
        // The agent looks for the task's credentials, which exist only with a task role.
        if !self.endpoints.has_credentials(arn) {
            return error(
                StatusCode::FORBIDDEN,
                arn,
                "AccessDeniedException",
                "Invalid Request: no task IAM role credentials available for task",
            );
        }
        match self
            .endpoints
            .task_protection(arn, &endpoint.cluster_arn, update)
        {
            Err(e) => {
                let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
                let mut body = ProtectionResponse::error(arn, &e.code, &e.message);
                body.request_id = Some(uuid::Uuid::new_v4().to_string());
                answer(status, body)
            }
            Ok((_, failures)) if !failures.is_empty() => answer(
                StatusCode::OK,
                ProtectionResponse {
                    failure: failures.into_iter().next().map(|f| ProtectionFailure {
                        arn: f.arn,
                        detail: f.detail,
                        reason: f.reason,
                    }),
                    ..Default::default()
                },
            ),
            Ok((protected, _)) => answer(
                StatusCode::OK,
                ProtectionResponse {
                    protection: protected.into_iter().next().map(|p| Protection {
                        expiration_date: p.expiration_date.as_ref().map(go_time),
                        protection_enabled: p.protection_enabled.unwrap_or(false),
                        task_arn: p.task_arn,
                    }),
                    ..Default::default()
                },
            ),
        }
    }
}

/// The body of a task protection PUT; unknown fields are refused, as the agent's decoder does.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtectionRequest {
    #[serde(rename = "ProtectionEnabled")]
    protection_enabled: Option<bool>,
    #[serde(rename = "ExpiresInMinutes")]
    expires_in_minutes: Option<i64>,
}

/// The agent's `TaskProtectionResponse`: one of `protection`, `failure` or `error`. The inner
/// shapes are aws-sdk-go structs without JSON tags, so their keys are the Go field names.
#[derive(Serialize, Default)]
struct ProtectionResponse {
    #[serde(rename = "requestID", skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protection: Option<Protection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<ProtectionFailure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ProtectionError>,
}

impl ProtectionResponse {
    fn error(arn: &str, code: &str, message: &str) -> Self {
        ProtectionResponse {
            error: Some(ProtectionError {
                arn: (!arn.is_empty()).then(|| arn.to_owned()),
                code: code.to_owned(),
                message: message.to_owned(),
            }),
            ..Default::default()
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Protection {
    expiration_date: Option<String>,
    protection_enabled: bool,
    task_arn: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProtectionFailure {
    arn: Option<String>,
    detail: Option<String>,
    reason: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProtectionError {
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<String>,
    code: String,
    message: String,
}

/// The agent's credentials error (`handlersutils.ErrorMessage`, whose status field has no JSON
/// tag and so keeps its Go name).
#[derive(Serialize)]
struct CredentialsError {
    code: &'static str,
    message: String,
    #[serde(rename = "HTTPErrorCode")]
    http_error_code: u16,
}

fn json(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    respond(status, "application/json", body)
}

// ---- response shapes ----

/// The agent's task response (`tmds/handlers/v2.TaskResponse`, extended by v4's).
#[derive(Debug, Serialize)]
struct TaskResponse {
    #[serde(rename = "Cluster")]
    cluster: String,
    #[serde(rename = "TaskARN")]
    task_arn: String,
    #[serde(rename = "Family")]
    family: String,
    #[serde(rename = "Revision")]
    revision: String,
    #[serde(rename = "DesiredStatus", skip_serializing_if = "Option::is_none")]
    desired_status: Option<String>,
    #[serde(rename = "KnownStatus")]
    known_status: &'static str,
    #[serde(rename = "Limits", skip_serializing_if = "Option::is_none")]
    limits: Option<Limits>,
    #[serde(rename = "PullStartedAt", skip_serializing_if = "Option::is_none")]
    pull_started_at: Option<String>,
    #[serde(rename = "PullStoppedAt", skip_serializing_if = "Option::is_none")]
    pull_stopped_at: Option<String>,
    #[serde(rename = "ExecutionStoppedAt", skip_serializing_if = "Option::is_none")]
    execution_stopped_at: Option<String>,
    #[serde(rename = "AvailabilityZone", skip_serializing_if = "Option::is_none")]
    availability_zone: Option<String>,
    #[serde(rename = "TaskTags", skip_serializing_if = "Option::is_none")]
    task_tags: Option<BTreeMap<String, String>>,
    #[serde(rename = "LaunchType", skip_serializing_if = "Option::is_none")]
    launch_type: Option<String>,
    #[serde(rename = "Containers", skip_serializing_if = "Vec::is_empty")]
    containers: Vec<ContainerResponse>,
    #[serde(rename = "ServiceName", skip_serializing_if = "Option::is_none")]
    service_name: Option<String>,
    #[serde(rename = "ClockDrift", skip_serializing_if = "Option::is_none")]
    clock_drift: Option<ClockDrift>,
    #[serde(
        rename = "FaultInjectionEnabled",
        skip_serializing_if = "Option::is_none"
    )]
    fault_injection_enabled: Option<bool>,
}

/// The agent's container response (`tmds/handlers/v2.ContainerResponse`, v4's networks).
#[derive(Debug, Serialize)]
struct ContainerResponse {
    #[serde(rename = "DockerId")]
    docker_id: String,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "DockerName")]
    docker_name: String,
    #[serde(rename = "Image")]
    image: String,
    /// The local image id (`sha256:…`), which berth does not track: empty, as the agent writes
    /// an unknown one.
    #[serde(rename = "ImageID")]
    image_id: String,
    #[serde(rename = "Ports", skip_serializing_if = "Vec::is_empty")]
    ports: Vec<Port>,
    #[serde(rename = "Labels", skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    #[serde(rename = "DesiredStatus")]
    desired_status: String,
    #[serde(rename = "KnownStatus")]
    known_status: &'static str,
    #[serde(rename = "ExitCode", skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    #[serde(rename = "Limits")]
    limits: Limits,
    #[serde(rename = "CreatedAt", skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(rename = "StartedAt", skip_serializing_if = "Option::is_none")]
    started_at: Option<String>,
    #[serde(rename = "FinishedAt", skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
    #[serde(rename = "Type")]
    r#type: &'static str,
    #[serde(rename = "Health", skip_serializing_if = "Option::is_none")]
    health: Option<Health>,
    #[serde(rename = "LogDriver", skip_serializing_if = "Option::is_none")]
    log_driver: Option<String>,
    #[serde(rename = "LogOptions", skip_serializing_if = "Option::is_none")]
    log_options: Option<BTreeMap<String, String>>,
    #[serde(rename = "ContainerARN", skip_serializing_if = "Option::is_none")]
    container_arn: Option<String>,
    #[serde(rename = "Networks", skip_serializing_if = "Vec::is_empty")]
    networks: Vec<Network>,
}

#[derive(Debug, Serialize)]
struct Limits {
    #[serde(
        rename = "CPU",
        serialize_with = "go_float",
        skip_serializing_if = "Option::is_none"
    )]
    cpu: Option<f64>,
    #[serde(rename = "Memory", skip_serializing_if = "Option::is_none")]
    memory: Option<i64>,
}

#[derive(Debug, Serialize)]
struct Port {
    #[serde(rename = "ContainerPort")]
    container_port: u16,
    #[serde(rename = "Protocol", skip_serializing_if = "Option::is_none")]
    protocol: Option<String>,
    #[serde(rename = "HostPort", skip_serializing_if = "Option::is_none")]
    host_port: Option<u16>,
    #[serde(rename = "HostIp", skip_serializing_if = "Option::is_none")]
    host_ip: Option<String>,
}

/// `tmds/handlers/response.Network` with v4's `NetworkInterfaceProperties` (awsvpc only).
#[derive(Debug, Serialize)]
struct Network {
    #[serde(rename = "NetworkMode")]
    network_mode: String,
    #[serde(rename = "IPv4Addresses", skip_serializing_if = "Vec::is_empty")]
    ipv4_addresses: Vec<String>,
    #[serde(rename = "AttachmentIndex", skip_serializing_if = "Option::is_none")]
    attachment_index: Option<u32>,
    #[serde(rename = "MACAddress", skip_serializing_if = "Option::is_none")]
    mac_address: Option<String>,
    #[serde(rename = "PrivateDNSName", skip_serializing_if = "Option::is_none")]
    private_dns_name: Option<String>,
}

/// The agent omits `status` while it is UNKNOWN (and so writes `{}`).
#[derive(Debug, Serialize)]
struct Health {
    #[serde(rename = "status", skip_serializing_if = "Option::is_none")]
    status: Option<String>,
}

#[derive(Debug, Serialize)]
struct ClockDrift {
    #[serde(rename = "ClockErrorBound", serialize_with = "go_float")]
    clock_error_bound: Option<f64>,
    #[serde(rename = "ReferenceTimestamp")]
    reference_timestamp: String,
    #[serde(rename = "ClockSynchronizationStatus")]
    clock_synchronization_status: &'static str,
}

/// Go's encoding/json writes a whole float64 without a fraction (`"CPU": 10`, not `10.0`).
fn go_float<S: Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => s.serialize_i64(*v as i64),
        Some(v) => s.serialize_f64(*v),
        None => s.serialize_none(),
    }
}

/// A timestamp as Go's `time.Time` marshals in UTC (RFC 3339, up to nanoseconds, trailing zeros
/// of the fraction dropped): `2020-10-02T00:15:07.620912337Z`.
fn go_time(ts: &Timestamp) -> String {
    let secs = ts.0.secs();
    let nanos = ts.0.subsec_nanos();
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    );
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A task as the domain holds it, copied out of the state for one response.
struct TaskView {
    data: WireTask,
    spec: TaskSpec,
}

impl TaskView {
    fn containers(&self) -> impl Iterator<Item = &Container> {
        self.data.containers.iter().flatten()
    }

    fn container(&self, name: &str) -> Option<&Container> {
        self.containers().find(|c| c.name.as_deref() == Some(name))
    }

    fn definition_of(&self, name: &str) -> Option<&ContainerDefinition> {
        self.spec
            .definition
            .container_definitions
            .iter()
            .flatten()
            .find(|c| c.name.as_deref() == Some(name))
    }

    fn override_of(&self, name: &str) -> Option<&ContainerOverride> {
        self.spec
            .overrides
            .iter()
            .flat_map(|o| o.container_overrides.iter().flatten())
            .find(|o| o.name.as_deref() == Some(name))
    }

    /// Fargate tasks are always awsvpc; elsewhere ECS's default is bridge.
    fn network_mode(&self) -> NetworkMode {
        if self.data.launch_type == Some(LaunchType::Fargate) {
            return NetworkMode::Awsvpc;
        }
        self.spec
            .definition
            .network_mode
            .clone()
            .unwrap_or(NetworkMode::Bridge)
    }

    /// The agent's task statuses (NONE, CREATED, RUNNING, STOPPED), from ECS's lastStatus.
    fn known_status(&self) -> &'static str {
        match self.data.last_status.as_deref() {
            Some("STOPPED") => "STOPPED",
            Some("RUNNING") => "RUNNING",
            _ if self.data.started_at.is_some() => "RUNNING",
            _ if self.containers().any(|c| c.runtime_id.is_some()) => "CREATED",
            _ => "NONE",
        }
    }

    fn desired_status(&self) -> String {
        self.data
            .desired_status
            .clone()
            .unwrap_or_else(|| "RUNNING".into())
    }

    /// The ENI attachment's detail `name` (awsvpc: macAddress, privateDnsName …).
    fn eni_detail(&self, name: &str) -> Option<String> {
        self.data
            .attachments
            .iter()
            .flatten()
            .filter(|a| a.r#type.as_deref() == Some("ElasticNetworkInterface"))
            .flat_map(|a| a.details.iter().flatten())
            .find(|kv| kv.name.as_deref() == Some(name))
            .and_then(|kv| kv.value.clone())
    }

    /// Task-level sizes after overrides: CPU in vCPU, memory in MiB; omitted when the task
    /// definition has none (as on EC2 without task-level sizes).
    fn limits(&self) -> Option<Limits> {
        let overrides = self.spec.overrides.as_ref();
        let definition = &self.spec.definition;
        let cpu = overrides
            .and_then(|o| o.cpu.as_deref())
            .or(definition.cpu.as_deref())
            .and_then(task_definitions::cpu_units)
            .filter(|c| *c > 0)
            .map(|units| f64::from(units) / 1024.0);
        let memory = overrides
            .and_then(|o| o.memory.as_deref())
            .or(definition.memory.as_deref())
            .and_then(task_definitions::memory_mib)
            .filter(|m| *m > 0)
            .map(i64::from);
        (cpu.is_some() || memory.is_some()).then_some(Limits { cpu, memory })
    }

    fn task_response(
        &self,
        version: Version,
        with_tags: bool,
        created: &HashMap<String, Timestamp>,
    ) -> TaskResponse {
        let v4 = version == Version::V4;
        let definition = &self.spec.definition;
        let task_tags = with_tags.then(|| {
            self.data
                .tags
                .iter()
                .flatten()
                .filter_map(|t| Some((t.key.clone()?, t.value.clone().unwrap_or_default())))
                .collect::<BTreeMap<_, _>>()
        });
        TaskResponse {
            cluster: self.spec.cluster_arn.clone(),
            task_arn: self.spec.task_arn.clone(),
            family: definition.family.clone().unwrap_or_default(),
            revision: definition.revision.unwrap_or(0).to_string(),
            desired_status: self.data.desired_status.clone(),
            known_status: self.known_status(),
            limits: self.limits(),
            pull_started_at: self.data.pull_started_at.as_ref().map(go_time),
            pull_stopped_at: self.data.pull_stopped_at.as_ref().map(go_time),
            execution_stopped_at: self.data.execution_stopped_at.as_ref().map(go_time),
            availability_zone: self.data.availability_zone.clone(),
            task_tags: task_tags.filter(|t| !t.is_empty()),
            launch_type: v4
                .then(|| {
                    self.data
                        .launch_type
                        .as_ref()
                        .map(|l| l.as_str().to_owned())
                })
                .flatten(),
            containers: self
                .containers()
                .map(|c| {
                    let created_at = c.name.as_ref().and_then(|n| created.get(n)).copied();
                    self.container_response(version, c, created_at)
                })
                .collect(),
            service_name: v4
                .then(|| {
                    self.data
                        .group
                        .as_deref()
                        .and_then(|g| g.strip_prefix("service:"))
                        .map(str::to_owned)
                })
                .flatten(),
            clock_drift: v4.then(|| ClockDrift {
                // The container reads the host's clock, which berth does not measure against a
                // reference: no error bound to report beyond the host's own.
                clock_error_bound: Some(0.0),
                reference_timestamp: go_time(&Timestamp(DateTime::from_secs(
                    Timestamp::now().0.secs(),
                ))),
                clock_synchronization_status: "SYNCHRONIZED",
            }),
            fault_injection_enabled: v4.then(|| definition.enable_fault_injection.unwrap_or(false)),
        }
    }

    fn container_response(
        &self,
        version: Version,
        c: &Container,
        created_at: Option<Timestamp>,
    ) -> ContainerResponse {
        let v4 = version == Version::V4;
        let name = c.name.clone().unwrap_or_default();
        let definition = self.definition_of(&name);
        let overrides = self.override_of(&name);
        let created = c.runtime_id.is_some();
        let known_status = match c.last_status.as_deref() {
            Some("RUNNING") => "RUNNING",
            Some("STOPPED") => "STOPPED",
            _ if created => "CREATED",
            _ => "NONE",
        };
        // The agent's Docker labels: the task definition's, then its own on top.
        let mut labels = definition
            .and_then(|d| d.docker_labels.clone())
            .unwrap_or_default();
        let family = self.spec.definition.family.clone().unwrap_or_default();
        let revision = self.spec.definition.revision.unwrap_or(0).to_string();
        for (key, value) in [
            ("com.amazonaws.ecs.cluster", self.spec.cluster_arn.clone()),
            ("com.amazonaws.ecs.container-name", name.clone()),
            ("com.amazonaws.ecs.task-arn", self.spec.task_arn.clone()),
            ("com.amazonaws.ecs.task-definition-family", family),
            ("com.amazonaws.ecs.task-definition-version", revision),
        ] {
            labels.insert(key.to_owned(), value);
        }
        let cpu = overrides
            .and_then(|o| o.cpu)
            .or(definition.and_then(|d| d.cpu))
            .unwrap_or(0);
        let memory = overrides
            .and_then(|o| o.memory)
            .or(definition.and_then(|d| d.memory))
            .or(overrides.and_then(|o| o.memory_reservation))
            .or(definition.and_then(|d| d.memory_reservation))
            .unwrap_or(0);
        let started = matches!(known_status, "RUNNING" | "STOPPED");
        let log = definition.and_then(|d| d.log_configuration.as_ref());
        ContainerResponse {
            docker_id: c.runtime_id.clone().unwrap_or_default(),
            docker_name: self.spec.docker_name(&name),
            image: c
                .image
                .clone()
                .or_else(|| definition.and_then(|d| d.image.clone()))
                .unwrap_or_default(),
            image_id: String::new(),
            ports: self.ports(version, c, definition),
            labels,
            desired_status: self.desired_status(),
            known_status,
            exit_code: c.exit_code,
            limits: Limits {
                // The agent reports at least 2 CPU units: Docker's minimum cpu shares.
                cpu: Some(f64::from(cpu.max(2))),
                memory: Some(i64::from(memory)),
            },
            created_at: created_at.filter(|_| created).as_ref().map(go_time),
            started_at: self
                .data
                .started_at
                .filter(|_| created && started)
                .as_ref()
                .map(go_time),
            finished_at: (known_status == "STOPPED")
                .then(|| self.data.execution_stopped_at.or(self.data.stopped_at))
                .flatten()
                .as_ref()
                .map(go_time),
            r#type: "NORMAL",
            health: definition
                .and_then(|d| d.health_check.as_ref())
                .map(|_| Health {
                    status: match &c.health_status {
                        Some(HealthStatus::Healthy) => Some("HEALTHY".into()),
                        Some(HealthStatus::Unhealthy) => Some("UNHEALTHY".into()),
                        _ => None,
                    },
                }),
            log_driver: log.filter(|_| v4).map(|l| l.log_driver.as_str().to_owned()),
            log_options: log
                .filter(|_| v4)
                .and_then(|l| l.options.clone())
                .filter(|o| !o.is_empty()),
            container_arn: c.container_arn.clone().filter(|_| v4),
            name,
            networks: self.networks(version, c),
        }
    }

    /// Bridge and host: the bindings the executor reported. awsvpc: the task definition's
    /// mappings, reached on the same port at the task's address.
    fn ports(
        &self,
        version: Version,
        c: &Container,
        definition: Option<&ContainerDefinition>,
    ) -> Vec<Port> {
        let v4 = version == Version::V4;
        if self.network_mode() == NetworkMode::Awsvpc {
            return definition
                .and_then(|d| d.port_mappings.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|pm| {
                    let port = u16::try_from(pm.container_port?).ok()?;
                    Some(Port {
                        container_port: port,
                        protocol: Some(
                            pm.protocol
                                .as_ref()
                                .map(|p| p.as_str().to_owned())
                                .unwrap_or_else(|| "tcp".into()),
                        ),
                        host_port: Some(port),
                        host_ip: None,
                    })
                })
                .collect();
        }
        c.network_bindings
            .iter()
            .flatten()
            .filter_map(|b| {
                Some(Port {
                    container_port: u16::try_from(b.container_port?).ok()?,
                    protocol: b.protocol.as_ref().map(|p| p.as_str().to_owned()),
                    host_port: b.host_port.and_then(|p| u16::try_from(p).ok()),
                    host_ip: b.bind_ip.clone().filter(|ip| v4 && !ip.is_empty()),
                })
            })
            .collect()
    }

    /// awsvpc: the task's ENI (v4 adds its properties). Other modes: the network mode only,
    /// since the executor does not report a bridge container's address.
    fn networks(&self, version: Version, c: &Container) -> Vec<Network> {
        let mode = self.network_mode();
        if mode != NetworkMode::Awsvpc {
            return vec![Network {
                network_mode: mode.as_str().to_owned(),
                ipv4_addresses: Vec::new(),
                attachment_index: None,
                mac_address: None,
                private_dns_name: None,
            }];
        }
        let v4 = version == Version::V4;
        let ipv4_addresses = c
            .network_interfaces
            .iter()
            .flatten()
            .filter_map(|ni| ni.private_ipv4_address.clone())
            .collect();
        vec![Network {
            network_mode: mode.as_str().to_owned(),
            ipv4_addresses,
            // ECS tasks have one ENI, index 0 (the agent hard-codes it too).
            attachment_index: v4.then_some(0),
            mac_address: self.eni_detail("macAddress").filter(|_| v4),
            private_dns_name: self.eni_detail("privateDnsName").filter(|_| v4),
        }]
    }
}

// ---- the address ----

/// Makes `ip` (normally 169.254.170.2) a local address of the host, on `lo`, so containers on
/// any Docker bridge reach it through their gateway and berth can listen on it. Idempotent; a
/// concurrent berth adding it first is fine. `Err` says why not (no `ip`, not root …) so the
/// caller can log it and fall back.
pub fn claim_address(ip: Ipv4Addr) -> Result<(), String> {
    let shown = std::process::Command::new("ip")
        .args(["-4", "addr", "show", "dev", "lo"])
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    if shown.status.success() && lists_address(&String::from_utf8_lossy(&shown.stdout), ip) {
        return Ok(());
    }
    let added = std::process::Command::new("ip")
        .args(["addr", "add", &format!("{ip}/32"), "dev", "lo"])
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    let stderr = String::from_utf8_lossy(&added.stderr);
    if added.status.success() || is_already_assigned(&stderr) {
        Ok(())
    } else {
        Err(format!("ip addr add {ip}/32 dev lo: {}", stderr.trim()))
    }
}

/// Whether `ip -4 addr show` output lists `ip` (`inet 169.254.170.2/32 scope global lo`).
fn lists_address(output: &str, ip: Ipv4Addr) -> bool {
    output.lines().any(|line| {
        let mut words = line.split_whitespace();
        words.next() == Some("inet")
            && words
                .next()
                .and_then(|cidr| cidr.split('/').next())
                .and_then(|addr| addr.parse::<Ipv4Addr>().ok())
                == Some(ip)
    })
}

/// `RTNETLINK answers: File exists`: someone (another berth) added it between show and add.
fn is_already_assigned(stderr: &str) -> bool {
    stderr.contains("File exists") || stderr.contains("already assigned")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{BoxFuture, ContainerReport, Host, Phase, TaskUpdate};
    use crate::services::ecs::clusters::{self, CreateCluster};
    use crate::services::ecs::task_definitions;
    use crate::services::ecs::tasks::RunTask;
    use crate::wire::ecs::{
        AwsVpcConfiguration, NetworkBinding, NetworkConfiguration, RegisterTaskDefinitionRequest,
        TransportProtocol,
    };
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use serde_json::{Value, json};
    use std::net::SocketAddr;

    const REGION: &str = "us-east-1";
    const ROLE: &str = "arn:aws:iam::123456789012:role/web-task";

    /// Docker stats for ids starting `docker-`; nothing for others.
    struct StubExecutor;

    impl Executor for StubExecutor {
        fn hosts(&self) -> Vec<Host> {
            Vec::new()
        }
        fn start(&self, _spec: TaskSpec) {}
        fn stop(&self, _task_arn: &str) {}
        fn stats(&self, runtime_id: &str) -> BoxFuture<'static, Option<Value>> {
            let id = runtime_id.to_owned();
            Box::pin(async move {
                id.starts_with("docker-")
                    .then(|| json!({"id": id, "read": "2026-01-01T00:00:00Z", "cpu_stats": {}}))
            })
        }
    }

    fn register(store: &Store, definition: Value) {
        let req: RegisterTaskDefinitionRequest =
            serde_json::from_value(definition).expect("valid task definition");
        store
            .write(REGION, |r: &mut State| task_definitions::register(r, req))
            .expect("registered");
    }

    fn run(store: &Store, definition: &str, launch: LaunchType, group: Option<&str>) -> String {
        let fargate = launch == LaunchType::Fargate;
        let req = RunTask {
            cluster: None,
            task_definition: definition.into(),
            count: None,
            launch_type: Some(launch),
            capacity_provider_strategy: None,
            network_configuration: fargate.then(|| NetworkConfiguration {
                awsvpc_configuration: Some(AwsVpcConfiguration {
                    subnets: vec!["subnet-0abc".into()],
                    ..Default::default()
                }),
            }),
            overrides: None,
            placement_constraints: None,
            placement_strategy: None,
            started_by: None,
            group: group.map(str::to_owned),
            tags: None,
            propagate_tags: None,
            enable_execute_command: None,
            client_token: None,
            container_instances: None,
        };
        let (tasks, failures) = store
            .write(REGION, |r: &mut State| tasks::run(r, req))
            .expect("RunTask");
        assert!(failures.is_empty(), "{failures:?}");
        tasks[0].task_arn.clone().expect("task ARN")
    }

    fn report(store: &Store, update: TaskUpdate) {
        store.write(REGION, |r: &mut State| tasks::apply(r, update));
    }

    fn spec_of(store: &Store, task_arn: &str) -> TaskSpec {
        store.read(REGION, |r: &State| {
            let t = &r.tasks[task_arn];
            TaskSpec {
                task_arn: task_arn.to_owned(),
                region: REGION.to_owned(),
                cluster_arn: t.data.cluster_arn.clone().unwrap_or_default(),
                definition: t.definition.clone(),
                overrides: t.data.overrides.clone(),
            }
        })
    }

    /// A cluster with two running tasks: `web` (EC2, bridge, a task role, two containers,
    /// part of service `web`) and `api` (Fargate, awsvpc, no role).
    fn scenario() -> (Store, String, String) {
        let store = Store::new(
            "123456789012".into(),
            vec![Host {
                id: "i-0host".into(),
                cpu: 4096,
                memory: 8192,
                availability_zone: "us-east-1a".into(),
                instance_type: "m5.large".into(),
            }],
        );
        store
            .write(REGION, |r: &mut State| {
                clusters::create(
                    r,
                    CreateCluster {
                        name: Some("default".into()),
                        settings: None,
                        configuration: None,
                        service_connect_defaults: None,
                        capacity_providers: None,
                        default_strategy: None,
                        tags: None,
                    },
                )
            })
            .expect("cluster");
        register(
            &store,
            json!({
                "family": "web",
                "taskRoleArn": ROLE,
                "containerDefinitions": [
                    {"name": "app", "image": "nginx:1.27", "cpu": 128, "memory": 256,
                     "portMappings": [{"containerPort": 80, "hostPort": 0}],
                     "dockerLabels": {"team": "edge"},
                     "healthCheck": {"command": ["CMD-SHELL", "true"]},
                     "logConfiguration": {"logDriver": "awslogs",
                                          "options": {"awslogs-group": "/ecs/web"}}},
                    {"name": "sidecar", "image": "busybox", "memoryReservation": 64,
                     "essential": false}
                ]
            }),
        );
        register(
            &store,
            json!({
                "family": "api",
                "networkMode": "awsvpc",
                "requiresCompatibilities": ["FARGATE"],
                "cpu": "256",
                "memory": "512",
                "containerDefinitions": [
                    {"name": "api", "image": "busybox",
                     "portMappings": [{"containerPort": 8080}]}
                ]
            }),
        );
        let web = run(&store, "web", LaunchType::Ec2, Some("service:web"));
        let api = run(&store, "api", LaunchType::Fargate, None);
        let mut update = TaskUpdate::new(&web, Phase::Running);
        update.containers = vec![
            ContainerReport {
                name: "app".into(),
                last_status: "RUNNING".into(),
                runtime_id: Some("docker-app".into()),
                health: Some(HealthStatus::Healthy),
                network_bindings: vec![NetworkBinding {
                    bind_ip: Some("0.0.0.0".into()),
                    container_port: Some(80),
                    host_port: Some(32768),
                    protocol: Some(TransportProtocol::Tcp),
                    ..Default::default()
                }],
                ..Default::default()
            },
            ContainerReport {
                name: "sidecar".into(),
                last_status: "RUNNING".into(),
                runtime_id: Some("gone-sidecar".into()),
                ..Default::default()
            },
        ];
        report(&store, update);
        let mut update = TaskUpdate::new(&api, Phase::Running);
        update.private_ipv4 = Some("10.20.0.5".into());
        update.containers = vec![ContainerReport {
            name: "api".into(),
            last_status: "RUNNING".into(),
            runtime_id: Some("docker-api".into()),
            ..Default::default()
        }];
        report(&store, update);
        (store, web, api)
    }

    struct Running {
        addr: SocketAddr,
        stop: watch::Sender<bool>,
        server: tokio::task::JoinHandle<()>,
    }

    async fn start(endpoints: Arc<Endpoints>) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, rx) = watch::channel(false);
        let server = tokio::spawn(serve(listener, endpoints, Arc::new(StubExecutor), rx));
        Running { addr, stop, server }
    }

    async fn get(addr: SocketAddr, path: &str) -> (StatusCode, String, Value) {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
        let uri = format!("http://{addr}{path}").parse().expect("URI");
        let resp = client.get(uri).await.expect("response");
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        let value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        (status, content_type, value)
    }

    fn env_var<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
        env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The path of an endpoint URI berth handed a container (it names 169.254.170.2; the test
    /// server listens on loopback).
    fn path_of(uri: &str) -> String {
        let rest = uri.strip_prefix("http://").expect("http URI");
        rest[rest.find('/').expect("a path")..].to_owned()
    }

    #[tokio::test]
    async fn containers_read_their_metadata_stats_and_credentials() {
        let (store, web, _) = scenario();
        let endpoints = Arc::new(Endpoints::new(store.clone(), EndpointBase::default()));
        let spec = spec_of(&store, &web);
        let app_env = endpoints.container_env(&spec, "app");
        let sidecar_env = endpoints.container_env(&spec, "sidecar");

        let v4 = env_var(&app_env, "ECS_CONTAINER_METADATA_URI_V4").expect("v4 URI");
        let v3 = env_var(&app_env, "ECS_CONTAINER_METADATA_URI").expect("v3 URI");
        assert!(v4.starts_with("http://169.254.170.2/v4/"), "{v4}");
        assert!(v3.starts_with("http://169.254.170.2/v3/"), "{v3}");
        assert_eq!(path_of(v4)[4..], path_of(v3)[4..], "one id per container");
        assert!(env_var(&app_env, "ECS_AGENT_URI").is_some_and(|u| u.contains("/api/")));
        assert_eq!(env_var(&app_env, "AWS_REGION"), Some(REGION));
        assert_eq!(env_var(&app_env, "AWS_DEFAULT_REGION"), Some(REGION));
        assert_ne!(
            env_var(&app_env, "ECS_CONTAINER_METADATA_URI_V4"),
            env_var(&sidecar_env, "ECS_CONTAINER_METADATA_URI_V4")
        );
        let creds_uri = env_var(&app_env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            .expect("a task role gives credentials");
        assert!(creds_uri.starts_with("/v2/credentials/"), "{creds_uri}");
        assert_eq!(
            env_var(&sidecar_env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
            Some(creds_uri),
            "one credentials id per task"
        );
        assert!(env_var(&app_env, "AWS_CONTAINER_CREDENTIALS_FULL_URI").is_none());

        let running = start(endpoints.clone()).await;
        let addr = running.addr;
        let v4 = path_of(v4);
        let v3 = path_of(v3);
        let task_id = web.rsplit('/').next().expect("task id");
        let cluster_arn = "arn:aws:ecs:us-east-1:123456789012:cluster/default";

        // The container's own metadata.
        let (status, content_type, c) = get(addr, &v4).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/json");
        assert_eq!(c["DockerId"], "docker-app");
        assert_eq!(c["Name"], "app");
        assert_eq!(c["DockerName"], format!("ecs-web-1-app-{task_id}"));
        assert_eq!(c["Image"], "nginx:1.27");
        assert_eq!(c["ImageID"], "");
        assert_eq!(c["Labels"]["com.amazonaws.ecs.cluster"], cluster_arn);
        assert_eq!(c["Labels"]["com.amazonaws.ecs.container-name"], "app");
        assert_eq!(c["Labels"]["com.amazonaws.ecs.task-arn"], web.as_str());
        assert_eq!(
            c["Labels"]["com.amazonaws.ecs.task-definition-family"],
            "web"
        );
        assert_eq!(
            c["Labels"]["com.amazonaws.ecs.task-definition-version"],
            "1"
        );
        assert_eq!(c["Labels"]["team"], "edge");
        assert_eq!(c["DesiredStatus"], "RUNNING");
        assert_eq!(c["KnownStatus"], "RUNNING");
        assert_eq!(c["Limits"], json!({"CPU": 128, "Memory": 256}));
        assert_eq!(c["Type"], "NORMAL");
        assert_eq!(c["Health"], json!({"status": "HEALTHY"}));
        assert_eq!(c["LogDriver"], "awslogs");
        assert_eq!(c["LogOptions"], json!({"awslogs-group": "/ecs/web"}));
        assert!(
            c["ContainerARN"]
                .as_str()
                .is_some_and(|a| a.contains(":container/"))
        );
        assert_eq!(
            c["Ports"],
            json!([{"ContainerPort": 80, "Protocol": "tcp", "HostPort": 32768,
                    "HostIp": "0.0.0.0"}])
        );
        assert_eq!(c["Networks"], json!([{"NetworkMode": "bridge"}]));
        for field in ["CreatedAt", "StartedAt"] {
            let ts = c[field].as_str().unwrap_or_default();
            assert!(ts.ends_with('Z') && ts.contains('T'), "{field}: {ts}");
        }
        assert!(c.get("ExitCode").is_none() && c.get("FinishedAt").is_none());

        // The task, v4.
        let (status, _, t) = get(addr, &format!("{v4}/task")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(t["Cluster"], cluster_arn);
        assert_eq!(t["TaskARN"], web.as_str());
        assert_eq!(t["Family"], "web");
        assert_eq!(t["Revision"], "1");
        assert_eq!(t["DesiredStatus"], "RUNNING");
        assert_eq!(t["KnownStatus"], "RUNNING");
        assert_eq!(t["LaunchType"], "EC2");
        assert_eq!(t["ServiceName"], "web");
        assert_eq!(t["AvailabilityZone"], "us-east-1a");
        assert_eq!(t["FaultInjectionEnabled"], false);
        assert_eq!(
            t["ClockDrift"]["ClockSynchronizationStatus"],
            "SYNCHRONIZED"
        );
        assert!(
            t.get("Limits").is_none(),
            "no task-level sizes on this EC2 task"
        );
        let containers = t["Containers"].as_array().expect("containers");
        assert_eq!(containers.len(), 2);
        let sidecar = &containers[1];
        assert_eq!(sidecar["Name"], "sidecar");
        assert_eq!(sidecar["Limits"], json!({"CPU": 2, "Memory": 64}));
        assert!(sidecar.get("Health").is_none() && sidecar.get("LogDriver").is_none());

        // The same task, v3: the v2 shapes, without v4's additions.
        let (status, _, t3) = get(addr, &format!("{v3}/task")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(t3["TaskARN"], web.as_str());
        for v4_only in [
            "LaunchType",
            "ServiceName",
            "ClockDrift",
            "FaultInjectionEnabled",
        ] {
            assert!(t3.get(v4_only).is_none(), "{v4_only} in v3");
        }
        let app3 = &t3["Containers"][0];
        assert_eq!(app3["DockerId"], "docker-app");
        assert!(app3.get("LogDriver").is_none() && app3.get("ContainerARN").is_none());
        assert_eq!(app3["Ports"][0].get("HostIp"), None);
        let (status, _, c3) = get(addr, &v3).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(c3["Name"], "app");

        // Tags only on taskWithTags.
        let (status, _, tagged) = get(addr, &format!("{v4}/taskWithTags")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(tagged["TaskARN"], web.as_str());

        // Stats: the executor's, by Docker id.
        let (status, _, stats) = get(addr, &format!("{v4}/stats")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(stats["id"], "docker-app");
        let (status, _, task_stats) = get(addr, &format!("{v4}/task/stats")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(task_stats["docker-app"]["id"], "docker-app");
        assert_eq!(
            task_stats["gone-sidecar"],
            json!({}),
            "v4: {{}} without stats"
        );
        let (_, _, task_stats3) = get(addr, &format!("{v3}/task/stats")).await;
        assert_eq!(
            task_stats3["gone-sidecar"],
            Value::Null,
            "v3: null without stats"
        );
        let sidecar_v4 = path_of(env_var(&sidecar_env, "ECS_CONTAINER_METADATA_URI_V4").unwrap());
        let (status, _, msg) = get(addr, &format!("{sidecar_v4}/stats")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(msg, "Unable to get container stats for: gone-sidecar");

        // Credentials for the task role.
        let (status, content_type, creds) = get(addr, creds_uri).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/json");
        assert_eq!(creds["RoleArn"], ROLE);
        let key = creds["AccessKeyId"].as_str().unwrap_or_default();
        assert!(key.starts_with("ASIA") && key.len() == 20, "{key}");
        assert_eq!(creds["SecretAccessKey"].as_str().map(str::len), Some(40));
        assert!(creds["Token"].as_str().is_some_and(|t| t.len() > 100));
        let expiration = creds["Expiration"].as_str().unwrap_or_default();
        let expires = DateTime::from_str(expiration, aws_smithy_types::date_time::Format::DateTime)
            .expect("ISO 8601 expiration");
        let ahead = expires.secs() - DateTime::from(std::time::SystemTime::now()).secs();
        assert!(
            (5 * 3600..=6 * 3600).contains(&ahead),
            "expires in {ahead} s"
        );
        let (_, _, again) = get(addr, creds_uri).await;
        assert_eq!(again, creds, "stable until the task is forgotten");

        // Unknown ids, as the agent answers them.
        let (status, _, msg) = get(addr, "/v4/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            msg,
            "V4 container metadata handler: unable to get container ID from request: \
             unable to get docker ID from v3 endpoint ID: nope"
        );
        let (status, _, msg) = get(addr, "/v4/nope/task").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            msg.as_str()
                .is_some_and(|m| m.starts_with("V4 task metadata handler:"))
        );
        assert_eq!(get(addr, "/v4/nope/stats").await.0, StatusCode::NOT_FOUND);
        assert_eq!(
            get(addr, "/v4/nope/task/stats").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get(addr, "/v3/nope").await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            get(addr, "/v3/nope/task").await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(get(addr, "/v3/nope/stats").await.0, StatusCode::BAD_REQUEST);
        let (status, _, err) = get(addr, "/v2/credentials/nope").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            err,
            json!({"code": "InvalidIdInRequest",
                   "message": "CredentialsV2Request: Credentials not found",
                   "HTTPErrorCode": 400})
        );
        let (status, _, err) = get(addr, "/v2/credentials/").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(err["code"], "NoIdInRequest");
        let (status, content_type, body) = get(addr, "/latest/meta-data/").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(content_type.starts_with("text/plain"));
        assert_eq!(body, "404 page not found\n");
        assert_eq!(
            get(addr, &format!("{v4}/nope")).await.0,
            StatusCode::NOT_FOUND
        );

        // The task is gone: so are its endpoints.
        endpoints.forget(&web);
        assert_eq!(get(addr, &v4).await.0, StatusCode::NOT_FOUND);
        assert_eq!(
            get(addr, &format!("{v4}/task")).await.0,
            StatusCode::NOT_FOUND
        );
        let (status, _, err) = get(addr, creds_uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(err["code"], "InvalidIdInRequest");

        let _ = running.stop.send(true);
        running.server.await.expect("server stops");
    }

    #[tokio::test]
    async fn awsvpc_tasks_report_their_eni_and_task_limits() {
        let (store, _, api) = scenario();
        let endpoints = Arc::new(Endpoints::new(store.clone(), EndpointBase::default()));
        let env = endpoints.container_env(&spec_of(&store, &api), "api");
        assert!(
            env.iter()
                .all(|(n, _)| !n.starts_with("AWS_CONTAINER_CREDENTIALS")),
            "no task role, no credentials: {env:?}"
        );
        let running = start(endpoints).await;
        let v4 = path_of(env_var(&env, "ECS_CONTAINER_METADATA_URI_V4").expect("v4 URI"));
        let v3 = path_of(env_var(&env, "ECS_CONTAINER_METADATA_URI").expect("v3 URI"));

        let (status, _, t) = get(running.addr, &format!("{v4}/task")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(t["LaunchType"], "FARGATE");
        assert_eq!(t["Limits"], json!({"CPU": 0.25, "Memory": 512}));
        assert!(t.get("ServiceName").is_none());
        let network = &t["Containers"][0]["Networks"][0];
        assert_eq!(network["NetworkMode"], "awsvpc");
        assert_eq!(network["IPv4Addresses"], json!(["10.20.0.5"]));
        assert_eq!(network["AttachmentIndex"], 0);
        assert!(
            network["MACAddress"]
                .as_str()
                .is_some_and(|m| m.len() == 17)
        );
        assert_eq!(network["PrivateDNSName"], "ip-10-20-0-5.ec2.internal");
        assert_eq!(
            t["Containers"][0]["Ports"],
            json!([{"ContainerPort": 8080, "Protocol": "tcp", "HostPort": 8080}])
        );

        let (status, _, c3) = get(running.addr, &v3).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            c3["Networks"],
            json!([{"NetworkMode": "awsvpc", "IPv4Addresses": ["10.20.0.5"]}])
        );

        let _ = running.stop.send(true);
        running.server.await.expect("server stops");
    }

    #[test]
    fn credentials_uri_is_full_off_the_agent_address() {
        let (store, web, _) = scenario();
        let base = EndpointBase {
            host: Ipv4Addr::new(172, 17, 0, 1),
            port: 8080,
        };
        let endpoints = Endpoints::new(store.clone(), base);
        let env = endpoints.container_env(&spec_of(&store, &web), "app");
        assert!(
            env_var(&env, "ECS_CONTAINER_METADATA_URI_V4")
                .is_some_and(|u| u.starts_with("http://172.17.0.1:8080/v4/"))
        );
        assert!(env_var(&env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_none());
        assert!(
            env_var(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
                .is_some_and(|u| u.starts_with("http://172.17.0.1:8080/v2/credentials/"))
        );
    }

    #[test]
    fn routes() {
        assert_eq!(
            Route::parse("/v4/abc/task/stats"),
            Some(Route::Metadata {
                version: Version::V4,
                id: "abc",
                resource: Resource::TaskStats
            })
        );
        assert_eq!(
            Route::parse("/v3/abc"),
            Some(Route::Metadata {
                version: Version::V3,
                id: "abc",
                resource: Resource::Container
            })
        );
        assert_eq!(
            Route::parse("/v2/credentials/x/y"),
            Some(Route::Credentials("x/y"))
        );
        assert_eq!(
            Route::parse("/api/abc/task-protection/v1/state"),
            Some(Route::TaskProtection("abc"))
        );
        assert_eq!(Route::parse("/api//task-protection/v1/state"), None);
        assert_eq!(Route::parse("/api/a/b/task-protection/v1/state"), None);
        assert_eq!(Route::parse("/api/abc/task-protection/v2/state"), None);
        assert_eq!(Route::parse("/v4/abc/"), None);
        assert_eq!(Route::parse("/v5/abc"), None);
        assert_eq!(Route::parse("/v2/credentials"), None);
    }

    #[test]
    fn timestamps_as_go_writes_them() {
        let at = |secs, nanos| go_time(&Timestamp(DateTime::from_secs_and_nanos(secs, nanos)));
        assert_eq!(at(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            at(1_601_597_707, 620_912_337),
            "2020-10-02T00:15:07.620912337Z"
        );
        assert_eq!(
            at(1_601_599_386, 312_884_650),
            "2020-10-02T00:43:06.31288465Z"
        );
        assert_eq!(at(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(at(4_102_444_799, 500_000_000), "2099-12-31T23:59:59.5Z");
    }

    #[test]
    fn claiming_reads_ip_addr_output() {
        let output = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group \
                      default qlen 1000\n    inet 127.0.0.1/8 scope host lo\n       valid_lft \
                      forever preferred_lft forever\n    inet 169.254.170.2/32 scope global lo\n";
        assert!(lists_address(output, AGENT_ADDRESS));
        assert!(lists_address(output, Ipv4Addr::LOCALHOST));
        assert!(!lists_address(output, Ipv4Addr::new(169, 254, 170, 23)));
        assert!(!lists_address("", AGENT_ADDRESS));
        assert!(is_already_assigned("RTNETLINK answers: File exists\n"));
        assert!(!is_already_assigned(
            "RTNETLINK answers: Operation not permitted\n"
        ));
    }
}
