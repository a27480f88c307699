//! What crosses services. Services never import each other; where the work of one reaches into
//! another (an ECS task's output landing in CloudWatch Logs, tasks registered in Cloud Map or
//! in a target group; to come: Application Auto Scaling setting a service's desired count, task
//! roles from IAM), a link here does it, over both services' parts of the store: the
//! reconcile loop calls it on every pass, and a handler may call one to check a request against
//! the other service (CreateService's service registries).

pub mod awslogs;
pub mod load_balancers;
pub mod network_interfaces;
pub mod scaling;
pub mod service_connect;
pub mod service_registries;
