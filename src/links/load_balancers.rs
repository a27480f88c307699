//! ECS → ELBv2: a service's `loadBalancers`. Each reconcile pass registers the service's tasks
//! that run as targets of its target groups — awsvpc tasks by their IP and the container port
//! (ip targets), bridge and host tasks by their container instance and the host port
//! (instance targets) — and deregisters (drains) those that stop, before the executor is told
//! to stop them. A task whose target the health checks found unhealthy, once the service's
//! health check grace period is over, is stopped with ECS's reason and replaced by the
//! scheduler. CreateService and UpdateService check the load balancers here, since only this
//! module sees both services. Load balancers' DNS names are answered by berth's DNS server
//! ([`dns_aliases`]).

use crate::api_err;
use crate::aws::{ApiError, Timestamp};
use crate::services::ecs::{State as Ecs, tasks};
use crate::services::elbv2::{EcsTarget, State as Elbv2};
use crate::services::servicediscovery::dns::Alias;
use crate::store::Region;
use crate::wire::ecs::{LoadBalancer, NetworkMode, TaskDefinition, TaskStopCode};
use crate::wire::elbv2::TargetHealthStateEnum;
use std::collections::BTreeMap;

fn invalid(message: String) -> ApiError {
    api_err!(ecs::InvalidParameterException, "{message}")
}

/// The checks ECS makes of a service's load balancers (CreateService, "loadBalancers"): a
/// target group that exists, a container of the task definition with that container port, and
/// a target type that suits the network mode.
pub fn check(
    elbv2: &Elbv2,
    load_balancers: &[LoadBalancer],
    td: Option<&TaskDefinition>,
) -> Result<(), ApiError> {
    for lb in load_balancers {
        let Some(arn) = lb.target_group_arn.as_deref() else {
            if lb.load_balancer_name.is_some() {
                return Err(invalid(
                    "berth has no Classic Load Balancers: specify a targetGroupArn".into(),
                ));
            }
            return Err(invalid(
                "Target group ARN or load balancer name must be specified.".into(),
            ));
        };
        if !elbv2.has_target_group(arn) {
            return Err(invalid(format!(
                "Unable to find target group with ARN {arn}."
            )));
        }
        let (Some(name), Some(port)) = (&lb.container_name, lb.container_port) else {
            return Err(invalid(
                "containerName and containerPort must be specified for a load balancer.".into(),
            ));
        };
        let Some(td) = td else {
            continue;
        };
        let container = td
            .container_definitions
            .iter()
            .flatten()
            .find(|c| c.name.as_deref() == Some(name.as_str()))
            .ok_or_else(|| {
                invalid(format!(
                    "The container {name} does not exist in the task definition."
                ))
            })?;
        let mapped = container
            .port_mappings
            .iter()
            .flatten()
            .any(|m| m.container_port == Some(port));
        if !mapped {
            return Err(invalid(format!(
                "The container {name} did not have a container port {port} defined."
            )));
        }
        let awsvpc = td.network_mode == Some(NetworkMode::Awsvpc);
        if let Some(kind) = elbv2.target_type_of(arn)
            && awsvpc != (kind == "ip")
        {
            let mode = td
                .network_mode
                .as_ref()
                .map_or("bridge".to_owned(), |m| m.to_string());
            return Err(invalid(format!(
                "The provided target group {arn} has target type {kind}, which is incompatible with the {mode} network mode specified in the task definition."
            )));
        }
    }
    Ok(())
}

/// Brings every service's targets in line with its tasks, tells ELBv2 where instances and
/// tasks are, and stops tasks that failed their load balancer's health checks.
pub fn reconcile(region: &mut Region, now: Timestamp) {
    let ecs = &mut region.ecs;
    let elbv2 = &mut region.elbv2;
    elbv2.set_instances(instances(ecs));
    elbv2.set_task_addresses(
        ecs.tasks
            .values()
            .filter(|t| !t.is_stopped())
            .filter_map(|t| task_ip(t))
            .collect(),
    );
    let mut failed: Vec<(String, String)> = Vec::new();
    for svc in ecs.services.values() {
        let grace = svc.data.health_check_grace_period_seconds.unwrap_or(0) as f64;
        for lb in svc.data.load_balancers.iter().flatten() {
            let (Some(tg), Some(name), Some(port)) =
                (&lb.target_group_arn, &lb.container_name, lb.container_port)
            else {
                continue;
            };
            if !elbv2.has_target_group(tg) {
                continue;
            }
            let mut wanted = Vec::new();
            for t in tasks::of_service(ecs, &svc.cluster, &svc.name) {
                if !(t.desired_running() && t.last_status() == "RUNNING") {
                    continue;
                }
                let Some(target) = target_of(ecs, t, name, port) else {
                    continue;
                };
                let started = t.data.started_at.map_or(0.0, |s| s.as_secs_f64());
                let unhealthy = elbv2
                    .health_of(tg, &(target.id.clone(), target.port), now)
                    .is_some_and(|h| h.state == TargetHealthStateEnum::Unhealthy);
                if unhealthy && now.as_secs_f64() >= started + grace {
                    failed.push((t.arn().to_owned(), tg.clone()));
                    continue;
                }
                wanted.push(target);
            }
            elbv2.sync_targets(tg, svc.arn(), &wanted, now);
        }
    }
    for (task, tg) in failed {
        if let Some(t) = ecs.tasks.get_mut(&task) {
            tracing::info!(%task, "task failed ELB health checks in {tg}");
            t.request_stop(
                TaskStopCode::ServiceSchedulerInitiated,
                &format!("Task failed ELB health checks in (target-group {tg})"),
            );
        }
    }
}

/// Every container instance's EC2 instance id, and the address its ports are published on.
fn instances(ecs: &Ecs) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for ci in ecs.container_instances.values() {
        if let Some(id) = &ci.data.ec2_instance_id {
            out.insert(id.clone(), "127.0.0.1".to_owned());
        }
    }
    // A bridge task's binding names the address its host publishes on (`--publish-ip`).
    for t in ecs.tasks.values() {
        let Some(id) = instance_of(ecs, t) else {
            continue;
        };
        let ip = t
            .data
            .containers
            .iter()
            .flatten()
            .flat_map(|c| c.network_bindings.iter().flatten())
            .filter_map(|b| b.bind_ip.clone())
            .find(|ip| ip != "0.0.0.0" && ip != "::");
        if let Some(ip) = ip {
            out.insert(id, ip);
        }
    }
    out
}

fn instance_of(ecs: &Ecs, t: &tasks::Task) -> Option<String> {
    let arn = t.data.container_instance_arn.as_deref()?;
    ecs.container_instances
        .get(arn)
        .and_then(|ci| ci.data.ec2_instance_id.clone())
}

fn task_ip(t: &tasks::Task) -> Option<String> {
    t.data
        .attachments
        .iter()
        .flatten()
        .flat_map(|a| a.details.iter().flatten())
        .find(|kv| kv.name.as_deref() == Some("privateIPv4Address"))
        .and_then(|kv| kv.value.clone())
}

/// The target ECS registers for a task: its IP and the container port (awsvpc), or its
/// container instance and the host port bound to the container port (bridge, host).
fn target_of(ecs: &Ecs, t: &tasks::Task, container: &str, port: i32) -> Option<EcsTarget> {
    if t.definition.network_mode == Some(NetworkMode::Awsvpc) {
        return Some(EcsTarget {
            id: task_ip(t)?,
            port,
        });
    }
    let host_port = t
        .data
        .containers
        .iter()
        .flatten()
        .filter(|c| c.name.as_deref() == Some(container))
        .flat_map(|c| c.network_bindings.iter().flatten())
        .find(|b| b.container_port == Some(port))
        .and_then(|b| b.host_port)
        .or_else(|| (t.definition.network_mode == Some(NetworkMode::Host)).then_some(port))?;
    Some(EcsTarget {
        id: instance_of(ecs, t)?,
        port: host_port,
    })
}

/// ELBv2 → DNS: every load balancer's DNS name answers the address its listeners bind, as
/// Route 53 answers for an ALB's name.
pub fn dns_aliases(region: &Region, publish_ip: std::net::IpAddr) -> Vec<Alias> {
    let std::net::IpAddr::V4(ip) = publish_ip else {
        return Vec::new();
    };
    // Listening on every address: loopback reaches it from this host.
    let ip = if ip.is_unspecified() {
        std::net::Ipv4Addr::LOCALHOST
    } else {
        ip
    };
    region
        .elbv2
        .dns_names()
        .map(|(name, _)| (name.to_owned(), vec![ip]))
        .collect()
}
