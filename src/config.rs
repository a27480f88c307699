//! One place for every setting berth reads: flags and their env var equivalents (see `main.rs`),
//! or a value built in code when berth is embedded in a test.

use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the single API port listens; port 0 picks a free one.
    pub bind: SocketAddr,
    pub account_id: String,
    /// The region of a request that carries none in its SigV4 credential scope.
    pub region: String,
    /// Larger request bodies are refused with 413 before they are buffered.
    pub max_body_bytes: usize,
    /// The fake executor's one host: CPU units and MiB of memory it offers as a container
    /// instance.
    pub fake_host_cpu: i32,
    pub fake_host_memory: i32,
    /// What runs tasks: the local Docker engine, or the in-memory fake.
    pub executor: ExecutorKind,
    /// Where bridge-mode port mappings are published on the host.
    pub publish_ip: String,
    /// Where containers find the task metadata and credentials endpoints; the SDKs trust
    /// 169.254.170.2 (port 80) for container credentials, as the ECS agent serves them.
    pub metadata_bind: SocketAddr,
    /// The DNS server for the host (Cloud Map's DNS namespaces); port 0 picks one, and a taken
    /// port falls back to a free one.
    pub dns_bind: SocketAddr,
    /// The DNS server containers use (their resolver, port 53): with Docker, on the agent's
    /// address, which berth makes local as for the metadata endpoints.
    pub dns_task_bind: SocketAddr,
    /// Whether the host's DNS server also forwards names outside berth's namespaces to the
    /// host's resolvers; containers' queries are always forwarded.
    pub dns_forward: bool,
    /// API calls and scripts applied at start, in name order (`--init-dir`).
    pub init_dir: Option<std::path::PathBuf>,
    /// Whether `GET /metrics` is served (and requests are counted for it).
    pub metrics: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExecutorKind {
    Docker,
    Fake,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 4566)),
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            max_body_bytes: 10 * 1024 * 1024,
            fake_host_cpu: 4096,
            fake_host_memory: 8192,
            executor: ExecutorKind::Docker,
            publish_ip: "127.0.0.1".into(),
            metadata_bind: SocketAddr::from(([169, 254, 170, 2], 80)),
            dns_bind: SocketAddr::from(([127, 0, 0, 1], 4553)),
            dns_task_bind: SocketAddr::from(([169, 254, 170, 2], 53)),
            dns_forward: false,
            init_dir: None,
            metrics: true,
        }
    }
}

impl Config {
    /// Listen on a free loopback port with the fake executor: what in-process tests want.
    pub fn ephemeral() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            dns_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            executor: ExecutorKind::Fake,
            ..Config::default()
        }
    }
}
