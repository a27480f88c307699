//! What a request to the endpoints asks for (the agent's routes), and the errors the agent
//! answers when it cannot.

use hyper::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Version {
    V3,
    V4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resource {
    Container,
    Task { with_tags: bool },
    ContainerStats,
    TaskStats,
}

impl Resource {
    /// How the agent's handlers name themselves in error messages.
    pub(super) fn handler_name(self) -> &'static str {
        match self {
            Resource::Container => "container metadata",
            Resource::Task { .. } => "task metadata",
            Resource::ContainerStats => "container stats",
            Resource::TaskStats => "task stats",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Route<'a> {
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
    pub(super) fn parse(path: &'a str) -> Option<Route<'a>> {
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
pub(super) enum MetadataError {
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
    pub(super) fn response(&self, version: Version, resource: Resource) -> (StatusCode, String) {
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
