//! berth's own endpoints beside the AWS APIs, on the same port: `GET /_berth/health` (what
//! `/_localstack/health` is to LocalStack), `POST /_berth/reset`, `GET /metrics` and the
//! dashboard, `GET /_berth/ui`: one self-contained page (`ui.html`) that reads everything it
//! shows through the ECS and CloudWatch Logs APIs on this port, as any client would.

use crate::app::DnsAddresses;
use crate::executor::deferred::{Readiness, ReadinessWatch};
use crate::init::{self, Progress};
use crate::listener::{HttpResponse, respond};
use crate::metrics::{self, Metrics};
use crate::protocol::model::ServiceDef;
use crate::scheduler::{ResetRequest, ResetSender};
use crate::services::Handlers;
use crate::store::Store;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

/// The dashboard: no external assets, so it works offline and behind any proxy.
const UI: &str = include_str!("ui.html");

pub(crate) struct Admin {
    pub(crate) store: Store,
    /// The region of requests that carry none; the dashboard opens on it.
    pub(crate) region: String,
    pub(crate) dns: DnsAddresses,
    pub(crate) resets: ResetSender,
    pub(crate) init: Arc<init::Status>,
    pub(crate) metrics: Option<Arc<Metrics>>,
    pub(crate) readiness: ReadinessWatch,
    /// Each service's state in health: `running`, or `not_implemented`.
    pub(crate) services: serde_json::Map<String, Value>,
    /// The load balancers' listeners, whose real addresses health lists.
    pub(crate) proxy: Arc<crate::services::elbv2::proxy::Proxy>,
}

impl Admin {
    /// Whether `path` is one of these endpoints rather than an AWS API call.
    pub(crate) fn owns(path: &str) -> bool {
        path.starts_with("/_berth/") || path == "/metrics"
    }

    pub(crate) async fn handle(&self, method: &Method, path: &str, query: &str) -> HttpResponse {
        match (method, path) {
            (&Method::GET, "/_berth/health") => self.health(),
            (&Method::GET, "/_berth/ui" | "/_berth/ui/") => respond(
                StatusCode::OK,
                "text/html; charset=utf-8",
                UI.as_bytes().to_vec(),
            ),
            (&Method::POST, "/_berth/reset") => self.reset(query).await,
            (&Method::GET, "/metrics") => match &self.metrics {
                Some(m) => respond(
                    StatusCode::OK,
                    metrics::CONTENT_TYPE,
                    m.render(&self.store).into_bytes(),
                ),
                None => message(StatusCode::NOT_FOUND, "metrics are off (--no-metrics)"),
            },
            (_, "/_berth/health" | "/_berth/reset" | "/_berth/ui" | "/metrics") => {
                message(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
            }
            _ => message(StatusCode::NOT_FOUND, "no such berth endpoint"),
        }
    }

    fn health(&self) -> HttpResponse {
        let address = |a: Option<std::net::SocketAddr>| a.map(|a| a.to_string());
        let mut body = json!({
            "status": "running",
            "version": env!("CARGO_PKG_VERSION"),
            "services": self.services,
            "region": self.region,
            // Regions with state (each is made by its first request), for the dashboard.
            "regions": self.store.regions(),
            "dns": {
                "host": address(self.dns.host),
                "tasks": address(self.dns.tasks.get().copied()),
            },
            "elbv2": { "listeners": self.proxy.listeners() },
        });
        // The API answers while the Docker engine connects; tasks wait until it is ready.
        let readiness = self.readiness.borrow().clone();
        body["executor"] = readiness.label().into();
        if let Readiness::Failed(why) = readiness {
            body["executor_error"] = why.into();
        }
        match self.init.get() {
            Progress::Running { file } => {
                // Not ready: the state the init files make is not all there yet.
                body["status"] = "starting".into();
                body["init"] = "running".into();
                body["init_file"] = file.into();
            }
            Progress::Done { files } => {
                body["init"] = "done".into();
                body["init_files"] = files.into();
            }
            Progress::Failed { file, error } => {
                body["init"] = "failed".into();
                body["init_file"] = file.into();
                body["init_error"] = error.into();
            }
        }
        json_response(StatusCode::OK, &body)
    }

    /// `POST /_berth/reset[?service=ecs]`: carried out by the reconcile loop, answered when done.
    async fn reset(&self, query: &str) -> HttpResponse {
        let began = std::time::Instant::now();
        let service: Option<&'static ServiceDef> = match form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "service")
            .map(|(_, v)| v.into_owned())
        {
            None => None,
            Some(name) => match Handlers::by_signing_name(&name) {
                Some(s) => Some(s),
                None => {
                    return message(
                        StatusCode::BAD_REQUEST,
                        &format!(
                            "unknown service {name:?}: one of {}",
                            self.services.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
            },
        };
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.resets.send(ResetRequest { service, done }).is_err() || wait.await.is_err() {
            return message(StatusCode::SERVICE_UNAVAILABLE, "berth is stopping");
        }
        let took = began.elapsed();
        let what = service.map_or("all", |s| s.signing_name);
        tracing::info!("reset ({what}) in {took:?}");
        json_response(
            StatusCode::OK,
            &json!({"reset": what, "took_ms": took.as_secs_f64() * 1000.0}),
        )
    }
}

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    respond(
        status,
        "application/json",
        serde_json::to_vec(body).unwrap_or_default(),
    )
}

fn message(status: StatusCode, text: &str) -> HttpResponse {
    json_response(status, &json!({ "message": text }))
}

/// The other side of these endpoints: what `berth reset` sends to a running berth.
pub mod client {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty};
    use hyper::Request;
    use hyper_util::rt::TokioIo;

    #[derive(Debug, thiserror::Error)]
    pub enum ClientError {
        #[error("not an http:// URL: {0}")]
        Url(String),
        #[error("cannot reach {0}: {1}")]
        Connect(String, std::io::Error),
        #[error("{0}")]
        Http(#[from] hyper::Error),
        #[error("{0}")]
        Request(#[from] hyper::http::Error),
        #[error("{status}: {body}")]
        Status { status: u16, body: String },
    }

    /// `POST /_berth/reset[?service=…]`; the answer's body on success.
    pub async fn reset(endpoint_url: &str, service: Option<&str>) -> Result<String, ClientError> {
        let uri: hyper::Uri = endpoint_url
            .parse()
            .map_err(|_| ClientError::Url(endpoint_url.to_owned()))?;
        let (Some("http"), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(ClientError::Url(endpoint_url.to_owned()));
        };
        let address = format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(80)
        );
        let stream = tokio::net::TcpStream::connect(&address)
            .await
            .map_err(|e| ClientError::Connect(address.clone(), e))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let path = match service {
            Some(s) => {
                let query: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("service", s)
                    .finish();
                format!("/_berth/reset?{query}")
            }
            None => "/_berth/reset".to_owned(),
        };
        let request = Request::post(path)
            .header(hyper::header::HOST, authority.as_str())
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        let body = String::from_utf8_lossy(&body).into_owned();
        if status.is_success() {
            Ok(body)
        } else {
            Err(ClientError::Status {
                status: status.as_u16(),
                body,
            })
        }
    }
}
