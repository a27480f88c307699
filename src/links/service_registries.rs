//! ECS → Cloud Map: a service's `serviceRegistries`. Each reconcile pass registers the service's
//! tasks that run (and are HEALTHY, when a container has a health check) as instances of the
//! Cloud Map service, with the attributes ECS sets, and deregisters those that stop, before the
//! executor is told to stop them. CreateService and UpdateService check the registries here,
//! since only this module sees both services.

use crate::api_err;
use crate::aws::ApiError;
use crate::services::ecs::services::Service as EcsService;
use crate::services::ecs::{State as Ecs, tasks};
use crate::services::servicediscovery::{Registration, State as CloudMap};
use crate::store::Region;
use crate::wire::ecs::{HealthStatus, NetworkMode, ServiceRegistry, TaskDefinition};
use crate::wire::servicediscovery::RecordType;
use std::collections::{BTreeMap, BTreeSet};

/// The Cloud Map service id a registry ARN names (`arn:…:service/srv-…`).
fn registry_service(registry: &ServiceRegistry) -> Option<&str> {
    registry
        .registry_arn
        .as_deref()
        .and_then(|arn| arn.rsplit_once(":service/"))
        .map(|(_, id)| id)
}

fn invalid(message: String) -> ApiError {
    api_err!(ecs::InvalidParameterException, "{message}")
}

/// The checks ECS makes of a service's registries (ServiceRegistry, ECS API reference): one
/// registry, of a Cloud Map service that exists; a port only where its records need one (SRV),
/// given as `port` or as a container and one of its ports; and no port where they do not.
pub fn check(
    cloud_map: &CloudMap,
    registries: &[ServiceRegistry],
    td: Option<&TaskDefinition>,
) -> Result<(), ApiError> {
    if registries.len() > 1 {
        return Err(invalid(
            "Only one service registry is supported for a service.".into(),
        ));
    }
    let Some(registry) = registries.first() else {
        return Ok(());
    };
    let arn = registry.registry_arn.as_deref().unwrap_or_default();
    let id = registry_service(registry)
        .filter(|id| cloud_map.has_service(id))
        .ok_or_else(|| invalid(format!("The service registry {arn} does not exist.")))?;
    let srv = cloud_map.record_types_of(id).contains(&RecordType::Srv);
    let named_port = registry.container_name.is_some() || registry.container_port.is_some();
    if !srv && registry.port.is_some() {
        return Err(invalid(
            "A port was provided but is not required by the specified service registry.".into(),
        ));
    }
    if !srv && registry.container_port.is_some() {
        return Err(invalid(
            "The values specified for serviceRegistries do not require a value for 'containerPort'. Remove the value and retry.".into(),
        ));
    }
    if srv {
        let awsvpc = td.is_some_and(|td| td.network_mode == Some(NetworkMode::Awsvpc));
        if registry.port.is_some() && named_port {
            return Err(invalid(
                "Specify either a port or a containerName and containerPort for the service registry, not both.".into(),
            ));
        }
        if registry.port.is_some() && !awsvpc {
            return Err(invalid(
                "A port can be given for a service registry only with the awsvpc network mode; specify a containerName and containerPort instead.".into(),
            ));
        }
        if registry.port.is_none()
            && (registry.container_name.is_none() || registry.container_port.is_none())
        {
            return Err(invalid(
                "The service registry has an SRV record: specify a containerName and containerPort (or, with awsvpc, a port).".into(),
            ));
        }
    }
    if let (Some(td), Some(name)) = (td, &registry.container_name) {
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
        if let Some(port) = registry.container_port {
            let mapped = container
                .port_mappings
                .iter()
                .flatten()
                .any(|m| m.container_port == Some(port));
            if !mapped {
                return Err(invalid(format!(
                    "The container {name} does not have a container port {port} in the task definition."
                )));
            }
        }
    }
    Ok(())
}

/// The tasks a service registers, as `(task, instance)`: those [`registers`] admits that have
/// an address.
pub(super) fn registrations<'a>(
    ecs: &'a Ecs,
    svc: &'a EcsService,
    registry: &'a ServiceRegistry,
) -> impl Iterator<Item = Registration> + 'a {
    tasks::of_service(ecs, &svc.cluster, &svc.name)
        .filter(|t| registers(t))
        .filter_map(move |t| registration(ecs, svc, registry, t))
}

/// Registers `wanted` on Cloud Map service `service_id` for `owner`, and takes back what
/// `owner` registered there before and no longer wants.
pub(super) fn sync(
    cloud_map: &mut CloudMap,
    service_id: &str,
    owner: &str,
    wanted: Vec<Registration>,
) {
    let keep: BTreeSet<&str> = wanted.iter().map(|r| r.instance_id.as_str()).collect();
    for gone in cloud_map.registered_by(service_id, owner) {
        if !keep.contains(gone.as_str()) {
            cloud_map.deregister_for(service_id, &gone);
        }
    }
    for r in wanted {
        if let Err(e) = cloud_map.register_for(service_id, r) {
            tracing::debug!(service_id, "service registry: {}", e.message);
        }
    }
}

/// Brings every service's registrations in line with its tasks.
pub fn reconcile(region: &mut Region) {
    let ecs = &region.ecs;
    let cloud_map = &mut region.servicediscovery;
    for svc in ecs.services.values() {
        let Some(registry) = svc.data.service_registries.iter().flatten().next() else {
            continue;
        };
        let Some(service_id) = registry_service(registry) else {
            continue;
        };
        if !cloud_map.has_service(service_id) {
            continue;
        }
        let wanted = registrations(ecs, svc, registry).collect();
        sync(cloud_map, service_id, svc.arn(), wanted);
    }
}

/// A task is registered while it should run and runs, and is HEALTHY where a container has a
/// health check.
fn registers(t: &tasks::Task) -> bool {
    let health_checked = t
        .definition
        .container_definitions
        .iter()
        .flatten()
        .any(|c| c.health_check.is_some());
    t.desired_running()
        && t.last_status() == "RUNNING"
        && (!health_checked || t.data.health_status == Some(HealthStatus::Healthy))
}

/// The instance ECS registers for a task: its id is the task id; its address is the task's own
/// (awsvpc) or the host's with the host port (bridge, host).
fn registration(
    ecs: &Ecs,
    svc: &EcsService,
    registry: &ServiceRegistry,
    t: &tasks::Task,
) -> Option<Registration> {
    let awsvpc = t.definition.network_mode == Some(NetworkMode::Awsvpc);
    let containers = t.data.containers.iter().flatten();
    let (ip, port) = if awsvpc {
        let ip = t
            .data
            .attachments
            .iter()
            .flatten()
            .flat_map(|a| a.details.iter().flatten())
            .find(|kv| kv.name.as_deref() == Some("privateIPv4Address"))
            .and_then(|kv| kv.value.clone())?;
        (ip, registry.port.or(registry.container_port))
    } else {
        let binding = containers
            .filter(|c| registry.container_name.is_none() || c.name == registry.container_name)
            .flat_map(|c| c.network_bindings.iter().flatten())
            .find(|b| {
                registry.container_port.is_none() || b.container_port == registry.container_port
            });
        let ip = binding
            .and_then(|b| b.bind_ip.clone())
            .filter(|ip| ip != "0.0.0.0")
            .unwrap_or_else(|| "127.0.0.1".into());
        let port = binding.and_then(|b| b.host_port).or(registry.port);
        if registry.container_port.is_some() && port.is_none() {
            // The port is not bound yet: register once it is.
            return None;
        }
        (ip, port)
    };
    let mut attributes = BTreeMap::from([
        ("AWS_INSTANCE_IPV4".to_owned(), ip),
        ("REGION".to_owned(), ecs.name.clone()),
        ("ECS_CLUSTER_NAME".to_owned(), svc.cluster.clone()),
        ("ECS_SERVICE_NAME".to_owned(), svc.name.clone()),
        ("ECS_TASK_DEFINITION_FAMILY".to_owned(), t.family.clone()),
    ]);
    if let Some(az) = &t.data.availability_zone {
        attributes.insert("AVAILABILITY_ZONE".into(), az.clone());
    }
    if let Some(port) = port {
        attributes.insert("AWS_INSTANCE_PORT".into(), port.to_string());
    }
    Some(Registration {
        instance_id: t.arn().rsplit('/').next().unwrap_or_default().to_owned(),
        attributes,
        owner: svc.arn().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_names_its_cloud_map_service_by_arn() {
        let registry = |arn: &str| ServiceRegistry {
            registry_arn: Some(arn.into()),
            ..Default::default()
        };
        assert_eq!(
            registry_service(&registry(
                "arn:aws:servicediscovery:us-east-1:0:service/srv-abc"
            )),
            Some("srv-abc")
        );
        assert_eq!(registry_service(&registry("srv-abc")), None);
    }
}
