//! Builds the pieces a running berth is made of and wires them together: the state, the
//! executor the configuration asks for, the API's front door, the reconcile loop and, with
//! Docker, the endpoints containers reach. [`Server`] is a running berth, embeddable in tests.

use crate::admin::Admin;
use crate::config::{Config, ExecutorKind};
use crate::executor::deferred::{Deferred, Readiness, ReadinessWatch};
use crate::executor::docker::{DockerExecutor, Engine, Settings};
use crate::executor::fake::FakeExecutor;
use crate::executor::{Executor, TaskEndpoints, UpdateSender};
use crate::http::FrontDoor;
use crate::init;
use crate::listener::serve_http;
use crate::metrics::Metrics;
use crate::scheduler::Scheduler;
use crate::services::ecs::metadata::{self, EndpointBase, Endpoints};
use crate::services::elbv2::proxy::Proxy;
use crate::services::servicediscovery::dns;
use crate::store::Store;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running berth: the bound address and a way to stop it. Embeddable in tests.
pub struct Server {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
    readiness: ReadinessWatch,
}

impl Server {
    /// Binds `config.bind` and serves until [`Server::shutdown`]. With Docker, the API answers
    /// at once; the engine connects meanwhile (see [`Server::executor`]).
    pub async fn start(mut config: Config) -> std::io::Result<Server> {
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        // The address actually bound (port 0 picks one) is what marks this berth's containers.
        config.bind = addr;
        let (shutdown, rx) = watch::channel(false);
        let (updates_tx, updates_rx) = tokio::sync::mpsc::unbounded_channel();
        let host_dns = dns_listener(config.dns_bind, config.dns_forward).await?;
        let published: dns::Published = Arc::default();
        let dns = DnsAddresses {
            host: host_dns.local_addr().ok(),
            tasks: Arc::default(),
        };
        tokio::spawn(dns::server::serve(
            vec![host_dns],
            published.clone(),
            dns::server::host_resolvers(),
            rx.clone(),
        ));
        let (readiness_tx, readiness) = watch::channel(Readiness::Ready);
        let (store, executor): (Store, Arc<dyn Executor>) = match config.executor {
            ExecutorKind::Fake => {
                let hosts =
                    FakeExecutor::single_host(config.fake_host_cpu, config.fake_host_memory);
                let executor = FakeExecutor::new(hosts, updates_tx);
                let store = Store::new(config.account_id.clone(), executor.hosts());
                (store, Arc::new(executor))
            }
            ExecutorKind::Docker => {
                // The engine's host is known once it answers; until then no region has one.
                let store = Store::new(config.account_id.clone(), Vec::new());
                let deferred = Arc::new(Deferred::default());
                readiness_tx.send_replace(Readiness::Connecting);
                tokio::spawn(
                    DockerStart {
                        config: config.clone(),
                        store: store.clone(),
                        executor: deferred.clone(),
                        updates: updates_tx,
                        readiness: readiness_tx,
                        published: published.clone(),
                        task_dns: dns.tasks.clone(),
                        stop: rx.clone(),
                    }
                    .run(),
                );
                (store, deferred)
            }
        };
        let metrics = config.metrics.then(|| Arc::new(Metrics::new()));
        let proxy = Proxy::start(store.clone(), &config.publish_ip, rx.clone());
        let scheduler = Scheduler::new(
            store.clone(),
            executor.clone(),
            published,
            metrics.clone(),
            proxy.clone(),
        );
        let (resets, resets_rx) = tokio::sync::mpsc::unbounded_channel();
        let scheduler = tokio::spawn(scheduler.run(updates_rx, resets_rx, rx.clone()));
        let init_status = Arc::new(init::Status::new(config.init_dir.is_some()));
        let admin = Admin {
            store: store.clone(),
            region: config.region.clone(),
            dns,
            resets,
            init: init_status.clone(),
            metrics,
            readiness: readiness.clone(),
            services: Default::default(),
            proxy,
        };
        let init_dir = config.init_dir.clone();
        let (region, account_id) = (config.region.clone(), config.account_id.clone());
        let front = Arc::new(FrontDoor::new(config, &store, admin));
        if let Some(dir) = init_dir {
            let target = init::Target {
                front: front.clone(),
                endpoint_url: local_url(addr),
                region,
                account_id,
                readiness: readiness.clone(),
            };
            tokio::spawn(init::run(dir, target, init_status));
        }
        let task = tokio::spawn(async move {
            let handle = move |req| {
                let front = front.clone();
                async move { front.handle(req).await }
            };
            serve_http(listener, handle, rx).await;
            let _ = scheduler.await;
            executor.shutdown().await;
        });
        Ok(Server {
            addr,
            shutdown,
            task,
            readiness,
        })
    }

    /// Where the executor is: the Docker engine connects after the API answers.
    pub fn executor(&self) -> ReadinessWatch {
        self.readiness.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, what `--endpoint-url` takes.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish (at most 5 s), then returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// How a process on this machine reaches `addr` (a wildcard bind is reached on loopback).
fn local_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if !ip.is_unspecified() => ip,
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Where the DNS server answers, for `/_berth/health`.
#[derive(Debug, Clone)]
pub struct DnsAddresses {
    pub host: Option<SocketAddr>,
    /// Set once the Docker executor's start-up has claimed the agent's address.
    pub tasks: Arc<OnceLock<SocketAddr>>,
}

/// What the Docker executor's start-up needs. It runs beside the API: connecting to the
/// engine, claiming the agent's address (a subprocess each), sweeping what an earlier run left
/// and importing the pause image cost tens of milliseconds that a client's first requests need
/// not wait for. Tasks wait in the [`Deferred`] executor, and the requests that read the
/// engine's host wait in the front door, until it is done.
struct DockerStart {
    config: Config,
    store: Store,
    executor: Arc<Deferred>,
    updates: UpdateSender,
    readiness: watch::Sender<Readiness>,
    published: dns::Published,
    task_dns: Arc<OnceLock<SocketAddr>>,
    stop: watch::Receiver<bool>,
}

impl DockerStart {
    async fn run(self) {
        let began = std::time::Instant::now();
        let config = &self.config;
        let engine = match Engine::connect(&config.region).await {
            Ok(engine) => engine,
            Err(e) => {
                let why =
                    format!("{e} (start Docker, set DOCKER_HOST, or run with --executor fake)");
                tracing::error!("{why}");
                self.readiness.send_replace(Readiness::Failed(why));
                return;
            }
        };
        self.store.set_hosts(engine.hosts());
        let metadata = metadata_listener(config.metadata_bind)
            .await
            .map(|listener| {
                let base = EndpointBase {
                    host: listener_ip(&listener, config.metadata_bind),
                    port: listener
                        .local_addr()
                        .map(|a| a.port())
                        .unwrap_or(config.metadata_bind.port()),
                };
                (listener, Arc::new(Endpoints::new(self.store.clone(), base)))
            });
        let task_dns = task_dns_listener(config.dns_task_bind).await;
        let task_dns_addr = task_dns.as_ref().and_then(|l| l.local_addr().ok());
        if let Some(listener) = task_dns {
            tokio::spawn(dns::server::serve(
                vec![listener],
                self.published.clone(),
                dns::server::host_resolvers(),
                self.stop.clone(),
            ));
        }
        if let Some(a) = task_dns_addr {
            let _ = self.task_dns.set(a);
        }
        let settings = Settings {
            owner: config.bind.to_string(),
            publish_ip: config.publish_ip.clone(),
            dns: task_dns_addr.map(|a| a.ip().to_string()),
        };
        let endpoints = metadata
            .as_ref()
            .map(|(_, e)| e.clone() as Arc<dyn TaskEndpoints>);
        let executor = DockerExecutor::start(
            engine,
            settings,
            self.updates,
            Arc::new(crate::links::awslogs::AwsLogs::new(self.store.clone())),
            endpoints,
        )
        .await;
        if let Some((listener, endpoints)) = metadata {
            tokio::spawn(crate::services::ecs::metadata::serve(
                listener,
                endpoints,
                self.executor.clone(),
                self.stop.clone(),
            ));
        }
        self.executor.set(Arc::new(executor));
        self.readiness.send_replace(Readiness::Ready);
        tracing::info!("Docker executor ready ({:?} after start)", began.elapsed());
    }
}

fn listener_ip(listener: &TcpListener, wanted: SocketAddr) -> std::net::Ipv4Addr {
    match listener.local_addr().map(|a| a.ip()) {
        Ok(IpAddr::V4(ip)) => ip,
        _ => match wanted.ip() {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(_) => std::net::Ipv4Addr::LOCALHOST,
        },
    }
}

/// The endpoints' listener: the address is made local first (169.254.170.2 is on no interface
/// until berth puts it there). Another berth holding the port gets this one a free port on the
/// same address; without the address containers get no endpoint variables, and the log says so.
async fn metadata_listener(bind: SocketAddr) -> Option<TcpListener> {
    if let IpAddr::V4(ip) = bind.ip()
        && !ip.is_loopback()
        && !ip.is_unspecified()
        && let Err(e) = metadata::claim_address(ip)
    {
        tracing::warn!("task metadata and credentials endpoints are off: {e}");
        return None;
    }
    match TcpListener::bind(bind).await {
        Ok(l) => Some(l),
        Err(first) => match TcpListener::bind(SocketAddr::new(bind.ip(), 0)).await {
            Ok(l) => {
                let used = l.local_addr().map_or_else(
                    |_| format!("a free port on {}", bind.ip()),
                    |a| a.to_string(),
                );
                tracing::info!("{bind} is taken ({first}); task endpoints use {used}");
                Some(l)
            }
            Err(e) => {
                tracing::warn!("task metadata and credentials endpoints are off: {bind}: {e}");
                None
            }
        },
    }
}

/// The DNS server's listener for the host. A taken port (another berth) falls back to a free
/// one on the same address; the log and `/_berth/health` say which.
async fn dns_listener(bind: SocketAddr, forward: bool) -> std::io::Result<dns::server::Listener> {
    match dns::server::Listener::bind(bind, forward).await {
        Ok(l) => Ok(l),
        Err(first) => {
            let l = dns::server::Listener::bind(SocketAddr::new(bind.ip(), 0), forward).await?;
            tracing::info!(
                "DNS: {bind} is in use ({first}); the host's DNS server answers on {}",
                l.local_addr().map(|a| a.to_string()).unwrap_or_default()
            );
            Ok(l)
        }
    }
}

/// The DNS server's listener for containers: on the agent's address, port 53, since a resolver
/// has no port of its own in resolv.conf. Without it (no root, or another berth has it)
/// containers keep Docker's resolver, and the log says so.
async fn task_dns_listener(bind: SocketAddr) -> Option<dns::server::Listener> {
    if let IpAddr::V4(ip) = bind.ip()
        && !ip.is_loopback()
        && !ip.is_unspecified()
        && let Err(e) = metadata::claim_address(ip)
    {
        tracing::warn!("DNS for tasks is off: {e}");
        return None;
    }
    match dns::server::Listener::bind(bind, true).await {
        Ok(l) => {
            tracing::info!("DNS for tasks on {bind}");
            Some(l)
        }
        Err(e) => {
            tracing::warn!("DNS for tasks is off: {bind}: {e}");
            None
        }
    }
}
