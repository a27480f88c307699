//! berth: Amazon ECS on your laptop and in CI.
//!
//! - [`config`]: every setting, with defaults (127.0.0.1:4566, account 000000000000, us-east-1).
//! - [`http`]: the one HTTP port; routes each request to a service and a protocol codec.
//! - [`aws`]: the vocabulary every service shares: the error type, request context, timestamps
//!   and wire value types, ARNs, `nextToken` paging, tag limits, describe-many answers.
//! - [`protocol`]: AWS JSON 1.1 and Query/EC2 codecs and their error envelopes.
//! - [`wire`]: GENERATED request/response types per service (see `codegen/`).
//! - [`api`]: one handler set per service; thin, they call into the domain.
//! - [`domain`]: the state ([`domain::Store`]) and ECS's rules: clusters, task definitions,
//!   capacity providers, container instances, tasks, services and deployments, placement,
//!   account settings, attributes, tags, ARNs.
//! - [`scheduler`]: the reconcile loop that drives services and tasks towards their intent.
//! - [`executor`]: what runs tasks: the trait, and `fake` (in memory, on tokio's clock).

pub mod api;
pub mod app;
pub mod aws;
pub mod config;
pub mod domain;
pub mod executor;
pub mod http;
pub mod net;
pub mod protocol;
pub mod scheduler;
pub mod wire;

pub use config::Config;
pub use http::Server;
