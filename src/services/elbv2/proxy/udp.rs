//! An NLB UDP listener: datagrams from each client (a flow: its address and port) go to one
//! target, chosen round robin when the flow starts, through a socket of the flow's own whose
//! replies go back to the client. A flow idle for NLB's UDP timeout (120 s) is forgotten.

use super::Proxy;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::Instant;

/// NLB's idle timeout for UDP flows.
const FLOW_IDLE: Duration = Duration::from_secs(120);

struct Flow {
    upstream: Arc<UdpSocket>,
    last_seen: Instant,
}

type Flows = Arc<Mutex<HashMap<SocketAddr, Flow>>>;

pub(super) async fn serve(proxy: Arc<Proxy>, arn: String, socket: UdpSocket) {
    let socket = Arc::new(socket);
    let flows: Flows = Arc::default();
    let mut buf = vec![0u8; 65535];
    loop {
        let Ok((n, client)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let existing = lock(&flows).get_mut(&client).map(|f| {
            f.last_seen = Instant::now();
            f.upstream.clone()
        });
        let upstream = match existing {
            Some(u) => u,
            None => {
                let target = {
                    let snapshot = proxy.snapshot.load();
                    snapshot
                        .listeners
                        .iter()
                        .find(|l| l.arn == arn)
                        .and_then(|l| l.rules.last())
                        .and_then(|r| r.action.pick())
                        .and_then(|g| g.next())
                };
                let Some(target) = target else {
                    continue;
                };
                let Some(upstream) = open_flow(target).await else {
                    continue;
                };
                lock(&flows).insert(
                    client,
                    Flow {
                        upstream: upstream.clone(),
                        last_seen: Instant::now(),
                    },
                );
                tokio::spawn(replies(
                    socket.clone(),
                    upstream.clone(),
                    client,
                    flows.clone(),
                ));
                upstream
            }
        };
        if let Err(e) = upstream.send(&buf[..n]).await {
            tracing::debug!(%client, "udp forwarding: {e}");
        }
    }
}

fn lock(flows: &Flows) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Flow>> {
    flows.lock().unwrap_or_else(|e| e.into_inner())
}

async fn open_flow(target: SocketAddr) -> Option<Arc<UdpSocket>> {
    let local: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = UdpSocket::bind(local).await.ok()?;
    s.connect(target).await.ok()?;
    Some(Arc::new(s))
}

/// Sends the target's replies to the client until the flow has been idle too long.
async fn replies(
    listener: Arc<UdpSocket>,
    upstream: Arc<UdpSocket>,
    client: SocketAddr,
    flows: Flows,
) {
    let mut buf = vec![0u8; 65535];
    loop {
        match tokio::time::timeout(FLOW_IDLE, upstream.recv(&mut buf)).await {
            Ok(Ok(n)) => {
                if let Some(f) = lock(&flows).get_mut(&client) {
                    f.last_seen = Instant::now();
                }
                let _ = listener.send_to(&buf[..n], client).await;
            }
            Ok(Err(_)) => {}
            Err(_) => {
                let mut flows = lock(&flows);
                let idle = flows
                    .get(&client)
                    .is_none_or(|f| f.last_seen.elapsed() >= FLOW_IDLE);
                if idle {
                    flows.remove(&client);
                    return;
                }
            }
        }
    }
}
