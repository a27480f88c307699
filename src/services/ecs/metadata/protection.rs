//! The task scale-in protection endpoint (`$ECS_AGENT_URI/task-protection/v1/state`): the
//! agent calls ECS on the task's behalf.

use super::handler::{Handler, json};
use super::responses::go_time;
use crate::listener::HttpResponse;
use hyper::StatusCode;
use serde::Serialize;

impl Handler {
    /// The agent's task protection handlers: find the task, require its role's credentials,
    /// call ECS for it, and answer `protection`, `failure` (200) or `error`.
    pub(super) fn task_protection(&self, id: &str, put: Option<&[u8]>) -> HttpResponse {
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
pub(super) struct ProtectionRequest {
    #[serde(rename = "ProtectionEnabled")]
    protection_enabled: Option<bool>,
    #[serde(rename = "ExpiresInMinutes")]
    expires_in_minutes: Option<i64>,
}

/// The agent's `TaskProtectionResponse`: one of `protection`, `failure` or `error`. The inner
/// shapes are aws-sdk-go structs without JSON tags, so their keys are the Go field names.
#[derive(Serialize, Default)]
pub(super) struct ProtectionResponse {
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
    pub(super) fn error(arn: &str, code: &str, message: &str) -> Self {
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
pub(super) struct Protection {
    expiration_date: Option<String>,
    protection_enabled: bool,
    task_arn: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ProtectionFailure {
    arn: Option<String>,
    detail: Option<String>,
    reason: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ProtectionError {
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<String>,
    code: String,
    message: String,
}
