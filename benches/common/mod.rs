//! What the benchmarks share: a raw keep-alive HTTP/1 client for AWS JSON 1.1 requests, so the
//! client costs as little as possible next to the server it measures.
#![allow(dead_code)]

use std::error::Error;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub type BoxError = Box<dyn Error + Send + Sync>;
pub type Result<T, E = BoxError> = std::result::Result<T, E>;

/// A well-formed SigV4 header; neither berth nor moto checks the signature.
pub const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/ecs/aws4_request, \
                        SignedHeaders=host;x-amz-date, Signature=0000";
pub const AMZ_DATE: &str = "20261125T120000Z";

/// One connection, reopened whenever the server closes it (moto's Werkzeug server answers every
/// request with `Connection: close`).
pub struct Connection {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// How many times it connected.
    pub connects: u64,
}

impl Connection {
    pub fn new(addr: SocketAddr) -> Result<Connection> {
        Ok(Connection {
            addr,
            host: HeaderValue::from_str(&addr.to_string())?,
            sender: None,
            connects: 0,
        })
    }

    async fn connect(&mut self) -> Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Errors surface on the sender side.
            let _ = conn.await;
        });
        self.connects += 1;
        Ok(sender)
    }

    /// POSTs `body` to `X-Amz-Target: target` and returns the status and body. A transport
    /// error drops the connection, so the next call opens a new one.
    pub async fn post(&mut self, target: &str, body: Bytes) -> Result<(StatusCode, Bytes)> {
        let out = self.try_post(target, body).await;
        if out.is_err() {
            self.sender = None;
        }
        out
    }

    async fn try_post(&mut self, target: &str, body: Bytes) -> Result<(StatusCode, Bytes)> {
        let mut sender = match self.sender.take() {
            Some(s) if !s.is_closed() => s,
            _ => self.connect().await?,
        };
        if sender.ready().await.is_err() {
            sender = self.connect().await?;
            sender.ready().await?;
        }
        let request = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(HOST, self.host.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-amz-json-1.1"),
            )
            .header("x-amz-target", target)
            .header(AUTHORIZATION, HeaderValue::from_static(AUTH))
            .header("x-amz-date", HeaderValue::from_static(AMZ_DATE))
            .body(Full::new(body))?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let close = response
            .headers()
            .get(CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let body = response.into_body().collect().await?.to_bytes();
        if !close {
            self.sender = Some(sender);
        }
        Ok((status, body))
    }
}
