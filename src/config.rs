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
        }
    }
}

impl Config {
    /// Listen on a free loopback port: what tests want.
    pub fn ephemeral() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Config::default()
        }
    }
}
