//! The data plane: every listener of every load balancer binds for real on the publish address
//! (`--publish-ip`) at its port — or, when the OS refuses that port (taken, or below 1024
//! without the right), at a free one, which the log and `GET /_berth/health` name. HTTP and
//! HTTPS listeners forward requests (`http`), TCP and TLS listeners connections (`tcp`), UDP
//! listeners datagrams by flow (`udp`);
//! `health` runs each target group's health checks and records what they find in the state.
//!
//! Requests never take the state's lock: they read a [`Snapshot`] the reconcile loop builds
//! after a change and swaps in whole ([`Proxy::publish`]).

mod health;
mod http;
mod tcp;
mod udp;

use super::State;
use super::routing::Snapshot;
use crate::aws::Timestamp;
use crate::store::Store;
use crate::wire::elbv2::ProtocolEnum as Protocol;
use arc_swap::ArcSwap;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// The running data plane, shared by the reconcile loop (which publishes snapshots), the front
/// door (which lists the bound addresses) and the listeners.
pub struct Proxy {
    snapshot: ArcSwap<Snapshot>,
    changed: Notify,
    publish_ip: IpAddr,
    bound: Mutex<BTreeMap<String, Bound>>,
    store: Store,
}

/// A listener bound to a socket.
struct Bound {
    port: u16,
    protocol: Protocol,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

/// Where a listener answers, for `/_berth/health`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BoundListener {
    pub listener_arn: String,
    pub protocol: String,
    /// The listener's port, as the API knows it.
    pub port: u16,
    /// Where it really listens.
    pub address: String,
}

impl Proxy {
    /// Starts the listener manager and the health checker; both stop when `stop` turns true.
    pub fn start(store: Store, publish_ip: &str, stop: watch::Receiver<bool>) -> Arc<Proxy> {
        let publish_ip = publish_ip.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let proxy = Arc::new(Proxy {
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            changed: Notify::new(),
            publish_ip,
            bound: Mutex::new(BTreeMap::new()),
            store,
        });
        tokio::spawn(manage(proxy.clone(), stop.clone()));
        tokio::spawn(health::run(proxy.clone(), stop));
        proxy
    }

    /// Swaps in a new routing snapshot and lets the manager bind or close listeners.
    pub fn publish(&self, snapshot: Snapshot) {
        self.snapshot.store(Arc::new(snapshot));
        self.changed.notify_one();
    }

    /// Every bound listener and its real address.
    pub fn listeners(&self) -> Vec<BoundListener> {
        self.lock()
            .iter()
            .map(|(arn, b)| BoundListener {
                listener_arn: arn.clone(),
                protocol: b.protocol.to_string(),
                port: b.port,
                address: b.addr.to_string(),
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Bound>> {
        self.bound.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write_region(&self, region: &str, f: impl FnOnce(&mut State, Timestamp)) {
        let now = Timestamp::now();
        self.store.write(region, |s: &mut State| f(s, now));
    }
}

/// Keeps the bound listeners in line with the snapshot.
async fn manage(proxy: Arc<Proxy>, mut stop: watch::Receiver<bool>) {
    loop {
        reconcile(&proxy).await;
        tokio::select! {
            _ = proxy.changed.notified() => {}
            _ = stop.changed() => break,
        }
    }
    for (_, b) in std::mem::take(&mut *proxy.lock()) {
        b.task.abort();
    }
}

async fn reconcile(proxy: &Arc<Proxy>) {
    let snapshot = proxy.snapshot.load_full();
    let wanted: BTreeMap<&str, (u16, &Protocol)> = snapshot
        .listeners
        .iter()
        .map(|l| (l.arn.as_str(), (l.port, &l.protocol)))
        .collect();
    let mut to_bind = Vec::new();
    {
        let mut bound = proxy.lock();
        bound.retain(|arn, b| {
            let keep = wanted
                .get(arn.as_str())
                .is_some_and(|(port, protocol)| *port == b.port && **protocol == b.protocol);
            if !keep {
                b.task.abort();
                tracing::info!(listener = %arn, "listener closed on {}", b.addr);
            }
            keep
        });
        for (arn, (port, protocol)) in &wanted {
            if !bound.contains_key(*arn) {
                to_bind.push(((*arn).to_owned(), *port, (*protocol).clone()));
            }
        }
    }
    for (arn, port, protocol) in to_bind {
        // TCP_UDP listeners serve their TCP half.
        if protocol == Protocol::Udp {
            let Some(socket) = bind_udp(proxy.publish_ip, port, &arn).await else {
                continue;
            };
            let addr = socket
                .local_addr()
                .unwrap_or(SocketAddr::new(proxy.publish_ip, port));
            let task = tokio::spawn(udp::serve(proxy.clone(), arn.clone(), socket));
            tracing::info!(listener = %arn, "UDP listener on {addr}");
            proxy.lock().insert(
                arn,
                Bound {
                    port,
                    protocol,
                    addr,
                    task,
                },
            );
            continue;
        }
        let Some(listener) = bind(proxy.publish_ip, port, &arn).await else {
            continue;
        };
        let addr = listener
            .local_addr()
            .unwrap_or(SocketAddr::new(proxy.publish_ip, port));
        let task = match protocol {
            Protocol::Http | Protocol::Https => {
                if protocol == Protocol::Https {
                    tracing::warn!(listener = %arn, "berth does not terminate TLS yet: the HTTPS listener on {addr} speaks plain HTTP");
                }
                tokio::spawn(http::serve(proxy.clone(), arn.clone(), port, listener))
            }
            _ => tokio::spawn(tcp::serve(proxy.clone(), arn.clone(), listener)),
        };
        tracing::info!(listener = %arn, "{protocol} listener on {addr}");
        proxy.lock().insert(
            arn,
            Bound {
                port,
                protocol,
                addr,
                task,
            },
        );
    }
}

/// A UDP listener's socket: its own port, or a free one when the OS refuses it.
async fn bind_udp(ip: IpAddr, port: u16, arn: &str) -> Option<tokio::net::UdpSocket> {
    match tokio::net::UdpSocket::bind((ip, port)).await {
        Ok(s) => Some(s),
        Err(first) => match tokio::net::UdpSocket::bind((ip, 0)).await {
            Ok(s) => {
                let at = s.local_addr().map(|a| a.to_string()).unwrap_or_default();
                tracing::info!(
                    listener = %arn,
                    "UDP port {port} on {ip} is refused ({first}); the listener answers on {at}"
                );
                Some(s)
            }
            Err(e) => {
                tracing::warn!(listener = %arn, "cannot bind a UDP listener on {ip}: {e}");
                None
            }
        },
    }
}

/// The listener's own port on the publish address, or a free one when the OS refuses it.
async fn bind(ip: IpAddr, port: u16, arn: &str) -> Option<TcpListener> {
    match TcpListener::bind((ip, port)).await {
        Ok(l) => Some(l),
        Err(first) => match TcpListener::bind((ip, 0)).await {
            Ok(l) => {
                let at = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
                tracing::info!(
                    listener = %arn,
                    "port {port} on {ip} is refused ({first}); the listener answers on {at} (see /_berth/health)"
                );
                Some(l)
            }
            Err(e) => {
                tracing::warn!(listener = %arn, "cannot bind a listener on {ip}: {e}");
                None
            }
        },
    }
}

/// Rebuilds the proxy's snapshot when a region's load balancers changed (the reconcile loop
/// calls it after every pass, as it does for DNS).
pub struct Publisher {
    proxy: Arc<Proxy>,
    seen: Vec<(String, u64)>,
}

impl Publisher {
    pub fn new(proxy: Arc<Proxy>) -> Self {
        Publisher {
            proxy,
            seen: Vec::new(),
        }
    }

    /// The address listeners bind, which load balancers' DNS names resolve to.
    pub fn publish_ip(&self) -> IpAddr {
        self.proxy.publish_ip
    }

    pub fn refresh<'a>(&mut self, states: impl IntoIterator<Item = &'a State>, now: Timestamp) {
        let states: Vec<&State> = states.into_iter().collect();
        let mut seen: Vec<(String, u64)> = states
            .iter()
            .map(|s| {
                let (region, version) = s.version();
                (region.to_owned(), version)
            })
            .collect();
        seen.sort();
        if seen == self.seen {
            return;
        }
        self.seen = seen;
        self.proxy.publish(Snapshot::build(states.into_iter(), now));
    }
}
