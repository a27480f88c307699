//! The DNS server's sockets, on hickory-server: the only file that knows hickory's API. Queries
//! are parsed and answered with hickory-server's `Request` and `MessageResponse`; answers come
//! from [`super::answer`] over the published snapshot, which a query loads without a lock.
//!
//! UDP is served by a thread per core, each with a socket of its own on the port, blocking in
//! `recvfrom` and answering in place (no task or wakeup per query: under load the scheduler's
//! context switches and epoll cost more than the answer); TCP by hickory-server's `Server`.
//! Names outside berth's zones are forwarded to the host's resolvers on the listeners that allow
//! it (the one task containers use), and REFUSED elsewhere: berth is never an open resolver.

use super::{Answer, Owner, QType, RData, Rr, Snapshot, answer};
use arc_swap::ArcSwap;
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{Edns, Message, Metadata, OpCode, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, SOA, SRV};
use hickory_server::proto::rr::{self, Name, Record, RecordType};
use hickory_server::proto::serialize::binary::{BinDecodable, BinEncoder};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;

/// The snapshot the reconcile loop publishes and every query reads.
pub type Published = Arc<ArcSwap<Snapshot>>;

/// How long a forwarded query waits for the upstream resolver.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(2);
/// TCP connections idle longer than this are closed (hickory-server's DoS guard).
const TCP_TIMEOUT: Duration = Duration::from_secs(10);

/// One address the server listens on, UDP and TCP.
pub struct Listener {
    /// One UDP socket per core, sharing the port (SO_REUSEPORT): the kernel spreads queries
    /// over them and each is answered by a thread of its own.
    pub udp: Vec<std::net::UdpSocket>,
    pub tcp: TcpListener,
    /// Names outside berth's zones are forwarded (true) or refused.
    pub forward: bool,
}

impl Listener {
    /// Binds UDP and TCP on `addr`; port 0 picks one port free for both. TCP is bound without
    /// SO_REUSEPORT, so a second berth asking for the same port is refused there rather than
    /// sharing this one's UDP port.
    pub async fn bind(addr: SocketAddr, forward: bool) -> std::io::Result<Listener> {
        let sockets = std::thread::available_parallelism().map_or(1, |n| n.get());
        for _ in 0..16 {
            let (tcp, first) = if addr.port() != 0 {
                (TcpListener::bind(addr).await?, udp_socket(addr)?)
            } else {
                let first = udp_socket(addr)?;
                let at = SocketAddr::new(addr.ip(), first.local_addr()?.port());
                match TcpListener::bind(at).await {
                    Ok(tcp) => (tcp, first),
                    Err(_) => continue,
                }
            };
            let at = first.local_addr()?;
            let mut udp = vec![first];
            for _ in 1..sockets {
                udp.push(udp_socket(at)?);
            }
            return Ok(Listener { udp, tcp, forward });
        }
        Err(std::io::Error::other(format!(
            "no port free for both UDP and TCP on {}",
            addr.ip()
        )))
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// How often a UDP thread looks up from `recvfrom` to see whether berth is stopping.
const UDP_STOP_CHECK: Duration = Duration::from_millis(250);

/// A blocking UDP socket on `addr` that other sockets of this process may share (socket2, for
/// the SO_REUSEPORT option std and tokio do not offer).
fn udp_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol as IpProtocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::DGRAM,
        Some(IpProtocol::UDP),
    )?;
    socket.set_reuse_port(true)?;
    socket.set_read_timeout(Some(UDP_STOP_CHECK))?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Answers queries: from the snapshot, by forwarding, or by refusing.
struct Responder {
    published: Published,
    /// The host's resolvers (from /etc/resolv.conf), for names outside berth's zones.
    upstreams: Vec<SocketAddr>,
    /// Varies the random choices between queries.
    seed: AtomicU64,
}

/// What to do with a query.
enum Reply {
    /// The encoded response.
    Bytes(Vec<u8>),
    /// Forward the query as it came to the host's resolvers.
    Forward,
}

impl Responder {
    fn reply(&self, request: &Request, forward: bool) -> Reply {
        let Ok(info) = request.request_info() else {
            return Reply::Bytes(error(request, ResponseCode::FormErr));
        };
        if info.metadata.op_code != OpCode::Query {
            return Reply::Bytes(error(request, ResponseCode::NotImp));
        }
        let name = info.query.name().to_string();
        let qtype = match info.query.query_type() {
            RecordType::A => QType::A,
            RecordType::AAAA => QType::Aaaa,
            RecordType::SRV => QType::Srv,
            RecordType::CNAME => QType::Cname,
            RecordType::SOA => QType::Soa,
            RecordType::ANY => QType::Any,
            _ => QType::Other,
        };
        let seed = self.seed.fetch_add(1, Ordering::Relaxed);
        let snapshot = self.published.load();
        match answer(&snapshot, &name, qtype, seed) {
            Answer::Outside if forward && !self.upstreams.is_empty() => Reply::Forward,
            Answer::Outside => Reply::Bytes(error(request, ResponseCode::Refused)),
            Answer::Zone {
                exists,
                answers,
                soa,
            } => {
                let qname = Name::from(info.query.name());
                let answers: Vec<Record> =
                    answers.iter().filter_map(|r| record(r, &qname)).collect();
                let soa: Vec<Record> = soa.iter().filter_map(|r| record(r, &qname)).collect();
                let mut metadata = Metadata::response_from_request(&request.metadata);
                metadata.authoritative = true;
                metadata.response_code = if exists {
                    ResponseCode::NoError
                } else {
                    ResponseCode::NXDomain
                };
                let edns = request.edns.as_ref().map(response_edns);
                let mut builder = MessageResponseBuilder::from_message_request(request);
                if let Some(edns) = &edns {
                    builder.edns(edns);
                }
                let response = builder.build(metadata, &answers, &[], &soa, &[]);
                let max = match (&request.edns, request.protocol()) {
                    (_, Protocol::Tcp) => u16::MAX,
                    (Some(edns), _) => edns.max_payload().max(512),
                    (None, _) => 512,
                };
                let mut bytes = Vec::with_capacity(512);
                let mut encoder = BinEncoder::new(&mut bytes);
                encoder.set_max_size(max);
                match response.destructive_emit(&mut encoder) {
                    Ok(_) => Reply::Bytes(bytes),
                    Err(_) => Reply::Bytes(error(request, ResponseCode::ServFail)),
                }
            }
        }
    }

    /// Sends `query` to the host's resolvers in turn; the first answer, as it came.
    async fn forward(&self, query: &[u8]) -> Option<Vec<u8>> {
        for upstream in &self.upstreams {
            let bind: SocketAddr = if upstream.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
            };
            let Ok(socket) = UdpSocket::bind(bind).await else {
                continue;
            };
            if socket.send_to(query, upstream).await.is_err() {
                continue;
            }
            let mut buf = vec![0u8; 4096];
            match tokio::time::timeout(FORWARD_TIMEOUT, socket.recv_from(&mut buf)).await {
                Ok(Ok((n, from))) if from == *upstream => {
                    buf.truncate(n);
                    return Some(buf);
                }
                _ => continue,
            }
        }
        None
    }
}

/// An answer with no records and `code`.
fn error(request: &Request, code: ResponseCode) -> Vec<u8> {
    let response =
        MessageResponseBuilder::from_message_request(request).error_msg(&request.metadata, code);
    let mut bytes = Vec::with_capacity(64);
    let mut encoder = BinEncoder::new(&mut bytes);
    let _ = response.destructive_emit(&mut encoder);
    bytes
}

fn response_edns(request: &Edns) -> Edns {
    let mut edns = Edns::new();
    edns.set_max_payload(request.max_payload().clamp(512, 1232));
    edns.set_version(0);
    edns
}

fn name(s: &str) -> Option<Name> {
    Name::from_ascii(format!("{s}.")).ok()
}

/// A record of [`super::answer`]'s as hickory writes it; `qname` is the name asked about.
fn record(rr: &Rr, qname: &Name) -> Option<Record> {
    let data = match &rr.data {
        RData::A(ip) => rr::RData::A(A::from(*ip)),
        RData::Aaaa(ip) => rr::RData::AAAA(AAAA::from(*ip)),
        RData::Srv(s) => rr::RData::SRV(SRV::new(s.priority, s.weight, s.port, name(&s.target)?)),
        RData::Cname(target) => rr::RData::CNAME(CNAME(name(target)?)),
        RData::Soa {
            mname,
            rname,
            serial,
            refresh,
            retry,
            expire,
            minimum,
        } => rr::RData::SOA(SOA::new(
            name(mname)?,
            name(rname)?,
            *serial,
            i32::try_from(*refresh).unwrap_or(i32::MAX),
            i32::try_from(*retry).unwrap_or(i32::MAX),
            i32::try_from(*expire).unwrap_or(i32::MAX),
            *minimum,
        )),
    };
    let owner = match &rr.owner {
        Owner::Query => qname.clone(),
        Owner::Name(n) => name(n)?,
    };
    Some(Record::from_rdata(owner, rr.ttl, data))
}

/// hickory-server's handler for TCP queries: the same answers; forwarding relays the upstream
/// resolver's records.
struct TcpHandler {
    responder: Arc<Responder>,
    forward: bool,
}

#[async_trait::async_trait]
impl RequestHandler for TcpHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let fail = |code| {
            let mut metadata = Metadata::response_from_request(&request.metadata);
            metadata.response_code = code;
            ResponseInfo::from(hickory_server::proto::op::Header {
                metadata,
                counts: Default::default(),
            })
        };
        match self.responder.reply(request, self.forward) {
            Reply::Bytes(bytes) => {
                // Re-read what was encoded so that the same bytes go out over TCP.
                let Ok(message) = Message::from_bytes(&bytes) else {
                    return fail(ResponseCode::ServFail);
                };
                send(request, &message, &mut response_handle).await
            }
            Reply::Forward => match self.responder.forward(request.as_slice()).await {
                Some(bytes) => match Message::from_bytes(&bytes) {
                    Ok(message) => send(request, &message, &mut response_handle).await,
                    Err(_) => fail(ResponseCode::ServFail),
                },
                None => fail(ResponseCode::ServFail),
            },
        }
    }
}

/// Sends `message`'s header and records as the response to `request`.
async fn send<R: ResponseHandler>(
    request: &Request,
    message: &Message,
    response_handle: &mut R,
) -> ResponseInfo {
    let mut metadata = message.metadata;
    metadata.id = request.metadata.id;
    let response = MessageResponseBuilder::from_message_request(request).build(
        metadata,
        message.answers.iter(),
        message.authorities.iter(),
        std::iter::empty(),
        message.additionals.iter(),
    );
    match response_handle.send_response(response).await {
        Ok(info) => info,
        Err(_) => {
            let mut metadata = Metadata::response_from_request(&request.metadata);
            metadata.response_code = ResponseCode::ServFail;
            ResponseInfo::from(hickory_server::proto::op::Header {
                metadata,
                counts: Default::default(),
            })
        }
    }
}

/// Serves every listener until `stop` turns true.
pub async fn serve(
    listeners: Vec<Listener>,
    published: Published,
    upstreams: Vec<SocketAddr>,
    mut stop: watch::Receiver<bool>,
) {
    let responder = Arc::new(Responder {
        published,
        upstreams,
        seed: AtomicU64::new(0x5eed),
    });
    let stopping = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Handle::current();
    let mut tasks = tokio::task::JoinSet::new();
    for l in listeners {
        let mut tcp = hickory_server::Server::new(TcpHandler {
            responder: responder.clone(),
            forward: l.forward,
        });
        tcp.register_listener(l.tcp, TCP_TIMEOUT, 64 * 1024);
        for udp in l.udp {
            let (responder, stopping, runtime) =
                (responder.clone(), stopping.clone(), runtime.clone());
            let forward = l.forward;
            let spawned = std::thread::Builder::new()
                .name("berth-dns-udp".into())
                .spawn(move || serve_udp(udp, &responder, forward, &stopping, &runtime));
            if let Err(e) = spawned {
                tracing::warn!("DNS: no thread for a UDP socket: {e}");
            }
        }
        let mut stop = stop.clone();
        tasks.spawn(async move {
            let _ = stop.changed().await;
            let _ = tcp.shutdown_gracefully().await;
        });
    }
    let _ = stop.changed().await;
    stopping.store(true, Ordering::Relaxed);
    while tasks.join_next().await.is_some() {}
}

/// One UDP socket's thread: a query in, its answer out, in place, until berth stops. Forwarded
/// queries go to tasks on the runtime, so that a slow upstream holds up nothing else.
fn serve_udp(
    socket: std::net::UdpSocket,
    responder: &Arc<Responder>,
    forward: bool,
    stopping: &AtomicBool,
    runtime: &tokio::runtime::Handle,
) {
    let socket = Arc::new(socket);
    let mut buf = [0u8; 4096];
    while !stopping.load(Ordering::Relaxed) {
        let (n, src) = match socket.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => {
                tracing::debug!("dns: receive failed: {e}");
                continue;
            }
        };
        let Ok(request) = Request::from_bytes(buf[..n].to_vec(), src, Protocol::Udp) else {
            continue;
        };
        match responder.reply(&request, forward) {
            Reply::Bytes(bytes) => {
                let _ = socket.send_to(&bytes, src);
            }
            Reply::Forward => {
                let (socket, responder) = (socket.clone(), responder.clone());
                runtime.spawn(async move {
                    if let Some(bytes) = responder.forward(request.as_slice()).await {
                        let _ = socket.send_to(&bytes, src);
                    }
                });
            }
        }
    }
}

/// The host's resolvers, as /etc/resolv.conf lists them (port 53).
pub fn host_resolvers() -> Vec<SocketAddr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .map(|text| parse_resolv_conf(&text))
        .unwrap_or_default()
}

fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|rest| rest.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolvers_come_from_resolv_conf() {
        let text = "# generated\nsearch example.com\nnameserver 10.0.0.2\nnameserver  ::1\noptions ndots:5\n";
        assert_eq!(
            parse_resolv_conf(text),
            vec![
                SocketAddr::from(([10, 0, 0, 2], 53)),
                SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), 53)
            ]
        );
    }
}
