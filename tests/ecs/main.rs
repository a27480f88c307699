//! ECS through the official Rust SDK (`aws-sdk-ecs`), against `berth::Server` on a free
//! loopback port with the in-memory executor: each test is a scenario a user of ECS would
//! recognise. One test binary, so that the SDK is linked once.

mod common;
mod daemons;
mod foundation;
mod lifecycle_hooks;
mod scheduler;
mod service_deployments;
mod task_sets_and_agent;
