//! berth: Amazon ECS on your laptop and in CI.
//!
//! - [`config`]: every setting, with defaults (127.0.0.1:4566, account 000000000000, us-east-1).
//! - [`http`]: the one HTTP port; routes each request to a service and a protocol codec.
//! - [`aws`]: the vocabulary every service shares: the error type, request context, timestamps
//!   and wire value types, ARNs, `nextToken` paging, tag limits, describe-many answers.
//! - [`protocol`]: AWS JSON 1.1 and Query/EC2 codecs and their error envelopes.
//! - [`wire`]: GENERATED request/response types per service (see `codegen/`).
//! - [`store`]: the one state ([`store::Store`]), partitioned by region.
//! - [`services`]: one folder per AWS service: its state, rules, handlers and data plane.
//!   [`services::ecs`]: clusters, task definitions, capacity providers, container instances,
//!   tasks, services and deployments, placement, the task metadata and credentials endpoints.
//!   [`services::logs`]: CloudWatch Logs. [`services::sts`]: who am I.
//! - [`scheduler`]: the reconcile loop that drives services and tasks towards their intent.
//! - [`executor`]: what runs tasks: the trait, and `fake` (in memory, on tokio's clock).

pub mod app;
pub mod aws;
pub mod config;
pub mod executor;
pub mod http;
pub mod links;
pub mod listener;
pub mod protocol;
pub mod scheduler;
pub mod services;
pub mod store;
pub mod wire;

pub use app::Server;
pub use config::Config;
