//! The one HTTP/1.1 accept loop every berth listener runs (the API port, the task metadata
//! endpoints, and the data planes to come), and the buffered response they answer with.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub type HttpResponse = Response<Full<Bytes>>;

/// Serves HTTP/1.1 on `listener`, each request through `handle`, until `stop` turns true (or
/// its sender is gone); then lets in-flight requests finish for at most 5 s. The API port and
/// the task metadata endpoints both serve this way.
pub async fn serve_http<F, Fut>(listener: TcpListener, handle: F, mut stop: watch::Receiver<bool>)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = HttpResponse> + Send + 'static,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    while !*stop.borrow() {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let handle = handle.clone();
                let service = service_fn(move |req| {
                    let fut = handle(req);
                    async move { Ok::<_, Infallible>(fut.await) }
                });
                let conn = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!("connection ended: {e}");
                    }
                });
            }
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), graceful.shutdown()).await;
}

/// A response with `body` of `content_type`.
pub fn respond(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
