//! Answers a request: task and container metadata, stats, credentials.

use super::Endpoints;
use super::responses::TaskView;
use super::routes::{MetadataError, Resource, Route, Version};
use crate::executor::Executor;
use crate::listener::{HttpResponse, respond};
use hyper::{Method, StatusCode};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) struct Handler {
    pub(super) endpoints: Arc<Endpoints>,
    pub(super) executor: Arc<dyn Executor>,
}

impl Handler {
    pub(super) async fn handle(&self, method: &Method, path: &str, body: &[u8]) -> HttpResponse {
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

    pub(super) async fn metadata(
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
    pub(super) async fn task_stats(
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

    pub(super) fn credentials(&self, id: &str) -> HttpResponse {
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

pub(super) fn json(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    respond(status, "application/json", body)
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
