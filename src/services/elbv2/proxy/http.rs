//! An ALB listener: HTTP/1.1 in, rules evaluated by priority then the default action, and for
//! a forward a target chosen round robin among the healthy ones (all of them when none is
//! healthy: ALB fails open). Bodies stream both ways, never buffered whole; hop-by-hop headers
//! are removed and `X-Forwarded-For`, `-Proto`, `-Port` and `X-Amzn-Trace-Id` added as an ALB
//! adds them. A target that cannot be reached is a 502, one that does not answer within the
//! load balancer's idle timeout a 504, a target group without targets a 503. A target group
//! with lb_cookie stickiness sets the `AWSALB` cookie (and `AWSALBCORS`), and a request that
//! carries it goes back to the same target while that target is healthy. Upgrades (WebSocket)
//! pass through: after the target's 101, bytes are copied both ways.

use super::Proxy;
use crate::services::elbv2::routing::{RequestFacts, RouteAction, redirect_location};
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

type Body = BoxBody<Bytes, hyper::Error>;
type Forwarder = Client<HttpConnector, Incoming>;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), which a proxy
/// must not forward.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

pub(super) async fn serve(proxy: Arc<Proxy>, arn: String, port: u16, listener: TcpListener) {
    let arn: Arc<str> = arn.into();
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(10)));
    let client: Forwarder = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector);
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (proxy, arn, client) = (proxy.clone(), arn.clone(), client.clone());
        let service = service_fn(move |req| {
            let (proxy, arn, client) = (proxy.clone(), arn.clone(), client.clone());
            async move { Ok::<_, Infallible>(handle(&proxy, &arn, &client, peer, port, req).await) }
        });
        tokio::spawn(async move {
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(e) = conn.await {
                tracing::debug!("listener connection ended: {e}");
            }
        });
    }
}

async fn handle(
    proxy: &Proxy,
    arn: &str,
    client: &Forwarder,
    peer: SocketAddr,
    port: u16,
    mut req: Request<Incoming>,
) -> Response<Body> {
    let snapshot = proxy.snapshot.load();
    let Some(route) = snapshot.listeners.iter().find(|l| &*l.arn == arn) else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "");
    };
    let host_header = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())
        .unwrap_or_default()
        .to_owned();
    let host = strip_port(&host_header);
    let headers: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let facts = RequestFacts {
        host,
        path: req.uri().path(),
        method: req.method().as_str(),
        query: req.uri().query().unwrap_or_default(),
        source: peer.ip(),
        headers: &headers,
    };
    let scheme = if route.protocol.as_str() == "HTTPS" {
        "https"
    } else {
        "http"
    };
    let target = match route.route(&facts) {
        None => return plain(StatusCode::SERVICE_UNAVAILABLE, "text/plain", ""),
        Some(RouteAction::Fixed {
            status,
            content_type,
            body,
        }) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return plain(
                status,
                content_type
                    .as_deref()
                    .unwrap_or("text/plain; charset=utf-8"),
                body,
            );
        }
        Some(RouteAction::Redirect(r)) => {
            let location = redirect_location(r, scheme, host, port, facts.path, facts.query);
            let status = if r.status_code.as_str() == "HTTP_301" {
                StatusCode::MOVED_PERMANENTLY
            } else {
                StatusCode::FOUND
            };
            let mut resp = plain(status, "text/plain", "");
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            return resp;
        }
        Some(action) => {
            let Some(group) = action.pick() else {
                return plain(StatusCode::SERVICE_UNAVAILABLE, "text/html", ERROR_503);
            };
            let sticky = group
                .sticky_seconds
                .and_then(|_| cookie(req.headers(), STICKY_COOKIE))
                .and_then(|v| decode_target(&v))
                .and_then(|a| group.sticky(a));
            match sticky.or_else(|| group.next()) {
                Some(addr) => (addr, group.sticky_seconds),
                None => return plain(StatusCode::SERVICE_UNAVAILABLE, "text/html", ERROR_503),
            }
        }
    };
    let (target, sticky_seconds) = target;
    drop(headers);
    let upgrade = req.headers().get(header::UPGRADE).cloned();
    let client_side = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
    let idle = Duration::from_secs(route.idle_timeout_secs.max(1));
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    match Uri::try_from(format!("http://{target}{path}")) {
        Ok(uri) => parts.uri = uri,
        Err(_) => return plain(StatusCode::BAD_REQUEST, "text/plain", ""),
    }
    parts.version = hyper::Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    if let Some(u) = &upgrade {
        parts.headers.insert(header::UPGRADE, u.clone());
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
    add_forwarding(&mut parts.headers, peer, scheme, port);
    let request = Request::from_parts(parts, body);
    match tokio::time::timeout(idle, client.request(request)).await {
        Err(_) => plain(StatusCode::GATEWAY_TIMEOUT, "text/html", ERROR_504),
        Ok(Err(e)) => {
            tracing::debug!(%target, "target error: {e}");
            plain(StatusCode::BAD_GATEWAY, "text/html", ERROR_502)
        }
        Ok(Ok(mut resp)) => {
            let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
            if let (true, Some(client_side)) = (switching, client_side) {
                let target_side = hyper::upgrade::on(&mut resp);
                tokio::spawn(async move {
                    let (Ok(a), Ok(b)) = tokio::join!(client_side, target_side) else {
                        return;
                    };
                    let (mut a, mut b) = (TokioIo::new(a), TokioIo::new(b));
                    let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
                });
            }
            let (mut parts, body) = resp.into_parts();
            let upgraded = parts.headers.get(header::UPGRADE).cloned();
            strip_hop_by_hop(&mut parts.headers);
            if switching && let Some(u) = upgraded {
                parts.headers.insert(header::UPGRADE, u);
                parts
                    .headers
                    .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            }
            if let Some(secs) = sticky_seconds {
                set_sticky_cookies(&mut parts.headers, target, secs);
            }
            Response::from_parts(parts, body.boxed())
        }
    }
}

/// ALB's stickiness cookie: opaque to clients (AWS encrypts it; berth encodes the target).
const STICKY_COOKIE: &str = "AWSALB";

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn encode_target(addr: SocketAddr) -> String {
    aws_smithy_types::base64::encode(format!("berth:{addr}"))
}

fn decode_target(value: &str) -> Option<SocketAddr> {
    let bytes = aws_smithy_types::base64::decode(value).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("berth:")?
        .parse()
        .ok()
}

fn set_sticky_cookies(headers: &mut HeaderMap, target: SocketAddr, secs: u64) {
    let expires = std::time::SystemTime::now() + Duration::from_secs(secs);
    let expires = aws_smithy_types::DateTime::from(expires)
        .fmt(aws_smithy_types::date_time::Format::HttpDate)
        .unwrap_or_default();
    let value = encode_target(target);
    for cookie in [
        format!("{STICKY_COOKIE}={value}; Expires={expires}; Path=/"),
        format!("{STICKY_COOKIE}CORS={value}; Expires={expires}; Path=/; SameSite=None"),
    ] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, v);
        }
    }
}

const ERROR_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";
const ERROR_503: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n";
const ERROR_504: &str = "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n";

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| &h[1..]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers the Connection header names are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    for n in HOP_BY_HOP {
        headers.remove(*n);
    }
}

fn add_forwarding(headers: &mut HeaderMap, peer: SocketAddr, scheme: &str, port: u16) {
    let client = peer.ip().to_string();
    let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prior) => format!("{prior}, {client}"),
        None => client,
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        headers.insert("x-forwarded-for", v);
    }
    headers.insert(
        "x-forwarded-proto",
        HeaderValue::from_static(if scheme == "https" { "https" } else { "http" }),
    );
    headers.insert("x-forwarded-port", HeaderValue::from(port));
    if !headers.contains_key("x-amzn-trace-id") {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let id = uuid::Uuid::new_v4().simple().to_string();
        let trace = format!("Root=1-{secs:08x}-{}", &id[..24]);
        if let Ok(v) = HeaderValue::from_str(&trace) {
            headers.insert("x-amzn-trace-id", v);
        }
    }
}

fn plain(status: StatusCode, content_type: &str, body: &str) -> Response<Body> {
    let body = Full::new(Bytes::from(body.to_owned()))
        .map_err(|never: Infallible| match never {})
        .boxed();
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp.headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("awselb/2.0"));
    resp
}
