//! The one front door: a hyper HTTP/1.1 server on a single port. Each request is routed to a
//! service — JSON 1.1 services by `X-Amz-Target`, Query/EC2 services by the SigV4 credential
//! scope's service name — decoded by that service's protocol codec and handed to its handler (the service table).
//! Never by Host: SDKs add host prefixes (`data-` for Cloud Map) that say nothing here.

use crate::admin::Admin;
use crate::aws::{ApiError, RequestContext};
use crate::config::Config;
use crate::executor::deferred::{Readiness, ReadinessWatch};
use crate::listener::{HttpResponse, respond};
use crate::metrics::Metrics;
use crate::protocol::json::{self, JsonCodec};
use crate::protocol::model::{Protocol, ServiceDef};
use crate::protocol::query::{self, QueryCodec};
use crate::services::Handlers;
use crate::store::Store;
use crate::wire;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, StatusCode};
use std::sync::Arc;

const REQUEST_ID_HEADER: &str = "x-amzn-requestid";

/// What every request passes through: configuration, the service handlers and berth's own
/// endpoints.
pub(crate) struct FrontDoor {
    config: Config,
    handlers: Handlers,
    admin: Admin,
    metrics: Option<Arc<Metrics>>,
    readiness: ReadinessWatch,
}

/// ECS operations that place tasks or register container instances read the executor's hosts,
/// so they wait for the Docker engine to connect (tens of milliseconds after start); every
/// other request answers at once.
const WAIT_FOR_ENGINE: &[&str] = &[
    "RunTask",
    "StartTask",
    "CreateService",
    "UpdateService",
    "CreateTaskSet",
    "RegisterContainerInstance",
    "CreateExpressGatewayService",
];

/// The service and operation a request was for, as metrics label them: names from the model,
/// never from the request.
type Labels = (&'static str, &'static str);
const UNKNOWN: Labels = ("unknown", "unknown");

impl FrontDoor {
    pub(crate) fn new(config: Config, store: &Store, mut admin: Admin) -> Self {
        let handlers = Handlers::new(store);
        admin.services = Handlers::SERVICES
            .iter()
            .map(|s| {
                let state = if handlers.serves(s) {
                    "running"
                } else {
                    "not_implemented"
                };
                (s.signing_name.to_owned(), state.into())
            })
            .collect();
        FrontDoor {
            config,
            handlers,
            metrics: admin.metrics.clone(),
            readiness: admin.readiness.clone(),
            admin,
        }
    }

    pub(crate) async fn handle(&self, req: Request<Incoming>) -> HttpResponse {
        let began = std::time::Instant::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let (mut resp, labels) = self.route(req, &request_id).await;
        if let (Some(m), Some((service, operation))) = (&self.metrics, labels) {
            m.request(service, operation, resp.status().as_u16(), began.elapsed());
        }
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert(REQUEST_ID_HEADER, v);
        }
        resp
    }

    /// The response, and what it was for (`None`: one of berth's own endpoints).
    async fn route(
        &self,
        req: Request<Incoming>,
        request_id: &str,
    ) -> (HttpResponse, Option<Labels>) {
        if Admin::owns(req.uri().path()) {
            let query = req.uri().query().unwrap_or("");
            let resp = self
                .admin
                .handle(req.method(), req.uri().path(), query)
                .await;
            return (resp, None);
        }
        let (resp, labels) = self.api(req, request_id).await;
        (resp, Some(labels))
    }

    async fn api(&self, req: Request<Incoming>, request_id: &str) -> (HttpResponse, Labels) {
        let (parts, body) = req.into_parts();
        let scope = credential_scope(&parts.headers);
        let ctx = RequestContext {
            region: scope
                .region
                .clone()
                .unwrap_or_else(|| self.config.region.clone()),
            account_id: self.config.account_id.clone(),
            request_id: request_id.to_owned(),
            access_key: scope.access_key.clone(),
        };
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match read_body(body, self.config.max_body_bytes).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                let err = ApiError::common(
                    "RequestEntityTooLargeException",
                    413,
                    format!(
                        "Request body exceeds the limit of {} bytes",
                        self.config.max_body_bytes
                    ),
                );
                return (json_error(&err), UNKNOWN);
            }
            Err(BodyError::Io) => {
                let err = ApiError::serialization("Could not read the request body");
                return (json_error(&err), UNKNOWN);
            }
        };

        if let Some(target) = target {
            let op = target.strip_prefix(wire::ecs::SERVICE.target_prefix.unwrap_or_default());
            if let Some(op) = op.and_then(|op| op.strip_prefix('.'))
                && WAIT_FOR_ENGINE.contains(&op)
                && let Err(err) = self.engine_ready().await
            {
                return (json_error(&err), labels(&wire::ecs::SERVICE, op));
            }
            return self.json_request(&target, &body, &ctx);
        }
        // Query protocols: a form body (POST) or the query string (GET).
        let form: Vec<(String, String)> = if parts.method == Method::GET {
            let q = parts.uri.query().unwrap_or("");
            form_urlencoded::parse(q.as_bytes()).into_owned().collect()
        } else {
            form_urlencoded::parse(&body).into_owned().collect()
        };
        let action = form
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone());
        let Some(action) = action else {
            let err = ApiError::common(
                "UnknownOperationException",
                400,
                "Request carries neither an X-Amz-Target header nor an Action parameter",
            );
            return (json_error(&err), UNKNOWN);
        };
        let service = scope
            .service
            .as_deref()
            .and_then(query_service_by_signing_name)
            .or_else(|| query_service_by_action(&action));
        let Some(service) = service else {
            return (json_error(&ApiError::unknown_operation(&action)), UNKNOWN);
        };
        let labels = labels(service, &action);
        let codec = QueryCodec::new(service, form, request_id.to_owned());
        let result = self.handlers.dispatch(service, &ctx, &action, &codec);
        let resp = match result {
            Ok(body) => respond(StatusCode::OK, "text/xml", body),
            Err(err) => {
                log_error(&action, &err);
                respond(
                    status(&err),
                    "text/xml",
                    query::error_body(service, &err, request_id),
                )
            }
        };
        (resp, labels)
    }

    fn json_request(
        &self,
        target: &str,
        body: &[u8],
        ctx: &RequestContext,
    ) -> (HttpResponse, Labels) {
        let (prefix, op) = target.split_once('.').unwrap_or((target, ""));
        let service = Handlers::SERVICES
            .iter()
            .copied()
            .find(|s| s.protocol == Protocol::Json && s.target_prefix == Some(prefix));
        let Some(service) = service else {
            return (json_error(&ApiError::unknown_operation(target)), UNKNOWN);
        };
        let codec = JsonCodec { service, body };
        let resp = match self.handlers.dispatch(service, ctx, op, &codec) {
            Ok(body) => respond(StatusCode::OK, json::CONTENT_TYPE, body),
            Err(err) => {
                log_error(op, &err);
                json_error(&err)
            }
        };
        (resp, labels(service, op))
    }

    /// Waits while the Docker engine connects; an engine that cannot be reached is the
    /// request's error.
    async fn engine_ready(&self) -> Result<(), ApiError> {
        let mut readiness = self.readiness.clone();
        let Ok(now) = readiness.wait_for(|r| *r != Readiness::Connecting).await else {
            return Ok(());
        };
        match &*now {
            Readiness::Failed(why) => Err(ApiError::common(
                "ServerException",
                500,
                format!("berth cannot run tasks: {why}"),
            )),
            _ => Ok(()),
        }
    }

    /// An API call that did not come over HTTP (the init files): the same handler and
    /// validation as a JSON request with `body`.
    pub(crate) fn call(
        &self,
        service: &'static ServiceDef,
        ctx: &RequestContext,
        op: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, ApiError> {
        let codec = JsonCodec { service, body };
        self.handlers.dispatch(service, ctx, op, &codec)
    }
}

fn labels(service: &'static ServiceDef, op: &str) -> Labels {
    let operation = service.operation(op).map_or("unknown", |o| o.name);
    (service.signing_name, operation)
}

fn log_error(op: &str, err: &ApiError) {
    if err.status >= 500 {
        tracing::warn!(op, code = %err.code, "{}", err.message);
    } else {
        tracing::debug!(op, code = %err.code, "{}", err.message);
    }
}

fn query_service_by_signing_name(name: &str) -> Option<&'static ServiceDef> {
    Handlers::SERVICES
        .iter()
        .copied()
        .find(|s| s.protocol != Protocol::Json && s.signing_name == name)
}

/// An unsigned Query request: the first Query service that has the action (STS first, as
/// unsigned calls are STS's AssumeRoleWith* in practice).
fn query_service_by_action(action: &str) -> Option<&'static ServiceDef> {
    std::iter::once(&wire::sts::SERVICE)
        .chain(Handlers::SERVICES.iter().copied())
        .find(|s| s.protocol != Protocol::Json && s.operation(action).is_some())
}

#[derive(Default)]
struct CredentialScope {
    access_key: Option<String>,
    region: Option<String>,
    service: Option<String>,
}

/// `Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/ecs/aws4_request, …`
/// (or the `X-Amz-Credential` query parameter of a presigned URL). The signature is not checked:
/// berth accepts any key, as local emulators do.
fn credential_scope(headers: &hyper::HeaderMap) -> CredentialScope {
    let Some(auth) = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return CredentialScope::default();
    };
    let Some(cred) = auth
        .split([' ', ','])
        .find_map(|part| part.trim().strip_prefix("Credential="))
    else {
        return CredentialScope::default();
    };
    let mut parts = cred.split('/');
    let access_key = parts.next().map(str::to_owned);
    let _date = parts.next();
    let region = parts.next().filter(|r| !r.is_empty()).map(str::to_owned);
    let service = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
    CredentialScope {
        access_key,
        region,
        service,
    }
}

enum BodyError {
    TooLarge,
    Io,
}

/// Buffers the body up to `limit`. Past it, the rest is drained (up to 8× the limit) so that a
/// client that writes the whole body before reading still gets the 413 instead of a reset.
async fn read_body(mut body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    use hyper::body::Body;
    if body.size_hint().lower() > limit as u64 * 8 {
        return Err(BodyError::TooLarge);
    }
    let mut buf = BytesMut::new();
    let mut seen: usize = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Io)?;
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen <= limit {
                buf.extend_from_slice(&data);
            } else if seen > limit.saturating_mul(8) {
                return Err(BodyError::TooLarge);
            }
        }
    }
    if seen > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(buf.freeze())
}

fn status(err: &ApiError) -> StatusCode {
    StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST)
}

fn json_error(err: &ApiError) -> HttpResponse {
    respond(status(err), json::CONTENT_TYPE, json::error_body(err))
}
