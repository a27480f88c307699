//! berth: Amazon ECS on your laptop and in CI. The map, with the path of a request, is
//! `docs/architecture.md`.
//!
//! - [`config`]: every setting, with defaults (127.0.0.1:4566, account 000000000000, us-east-1).
//! - [`app`]: builds a running berth from the pieces below and wires them; [`Server`].
//! - [`listener`]: the one HTTP/1.1 accept loop every berth listener runs.
//! - [`admin`]: berth's own endpoints: health, reset, `/metrics`, the dashboard.
//! - [`init`]: `--init-dir`: API calls and scripts applied at start.
//! - [`metrics`]: the Prometheus registry behind `GET /metrics`.
//! - [`http`]: the front door on the API port: request ids, body limits, routing each request
//!   to its service and protocol codec (never by Host).
//! - [`protocol`]: the AWS JSON 1.1 and Query/EC2 codecs and their error envelopes.
//! - [`aws`]: the vocabulary every service shares: the error type, request context, timestamps
//!   and wire value types, ARNs, `nextToken` paging, tag limits, describe-many answers.
//! - [`wire`]: GENERATED request/response types per service (see `codegen/`).
//! - [`store`]: the one state ([`store::Store`]): regions, each holding one part per service;
//!   writes through it wake the reconcile loop.
//! - [`services`]: one folder per AWS service with its state, rules, handlers and data plane,
//!   and the service table. [`services::ecs`]: clusters, task definitions, capacity providers,
//!   container instances, tasks, services, the service scheduler's passes, deployments and
//!   task sets, placement, the task metadata and credentials endpoints.
//!   [`services::logs`]: CloudWatch Logs. [`services::sts`]: who am I.
//! - [`links`]: what crosses services (awslogs: ECS task output into CloudWatch Logs).
//! - [`scheduler`]: the reconcile loop: when each pass runs, and the executor's reports.
//! - [`executor`]: what runs tasks: the trait, `docker` (bollard) and `fake` (in memory, on
//!   tokio's clock).

pub mod admin;
pub mod app;
pub mod aws;
pub mod config;
pub mod executor;
pub mod http;
pub mod init;
pub mod links;
pub mod listener;
pub mod metrics;
pub mod protocol;
pub mod scheduler;
pub mod services;
pub mod store;
pub mod wire;

pub use app::Server;
pub use config::Config;
