//! ECS → Cloud Map for Service Connect. A namespace that a cluster's `serviceConnectDefaults`
//! (or a service's `serviceConnectConfiguration`) names is the Cloud Map namespace's ARN, with
//! its `ns-…` id; a name that no namespace has creates an HTTP namespace of that name, as ECS
//! does. Each reconcile pass makes every Service Connect service (`discoveryName`, else the
//! port's name) a Cloud Map service of the namespace whose instances are the ECS service's
//! running tasks, and gives the DNS server its client aliases (`dnsName`, else
//! `discoveryName.namespace`), which answer the tasks' addresses. berth runs no Envoy proxy:
//! a client connects to a task directly, on the alias's port.

use super::service_registries::{registrations, sync};
use crate::aws::{ApiError, Timestamp};
use crate::services::ecs::State as Ecs;
use crate::services::ecs::services::Service as EcsService;
use crate::services::servicediscovery::State as CloudMap;
use crate::services::servicediscovery::dns::Alias;
use crate::store::Region;
use crate::wire::ecs::{
    ClusterServiceConnectDefaultsRequest, ServiceConnectConfiguration, ServiceConnectService,
    ServiceRegistry,
};
use std::net::Ipv4Addr;

/// The ARN of the namespace `given` names (an ARN is kept as it is).
pub fn namespace_arn(cloud_map: &mut CloudMap, given: &str) -> Result<String, ApiError> {
    if given.starts_with("arn:") {
        return Ok(given.to_owned());
    }
    let now = Timestamp::now();
    match cloud_map.namespace_arn_named(given, now) {
        Some(arn) => Ok(arn),
        None => cloud_map.create_http_namespace_for(given, now),
    }
}

/// A service's Service Connect configuration with its namespace as an ARN: the one it names,
/// else the cluster's default.
pub fn resolve_configuration(
    cloud_map: &mut CloudMap,
    cluster_default: Option<String>,
    config: Option<ServiceConnectConfiguration>,
) -> Result<Option<ServiceConnectConfiguration>, ApiError> {
    let Some(mut config) = config else {
        return Ok(None);
    };
    config.namespace = match config.namespace.take() {
        Some(given) => Some(namespace_arn(cloud_map, &given)?),
        None if config.enabled => cluster_default,
        None => None,
    };
    Ok(Some(config))
}

/// A cluster's defaults with the namespace as an ARN.
pub fn resolve_defaults(
    cloud_map: &mut CloudMap,
    defaults: Option<ClusterServiceConnectDefaultsRequest>,
) -> Result<Option<ClusterServiceConnectDefaultsRequest>, ApiError> {
    defaults
        .map(|d| {
            Ok(ClusterServiceConnectDefaultsRequest {
                namespace: namespace_arn(cloud_map, &d.namespace)?,
            })
        })
        .transpose()
}

/// The enabled Service Connect services of every ECS service, with their namespace's ARN.
fn connect_services(
    ecs: &Ecs,
) -> impl Iterator<Item = (&EcsService, &str, &ServiceConnectService)> {
    ecs.services
        .values()
        .filter(|svc| svc.status == "ACTIVE")
        .filter_map(|svc| {
            let sc = svc.service_connect.as_ref().filter(|sc| sc.enabled)?;
            let namespace = sc.namespace.as_deref()?;
            Some(
                sc.services
                    .iter()
                    .flatten()
                    .map(move |s| (svc, namespace, s)),
            )
        })
        .flatten()
}

/// The name a Service Connect service has in Cloud Map.
fn discovery_name(s: &ServiceConnectService) -> &str {
    s.discovery_name.as_deref().unwrap_or(&s.port_name)
}

/// The registry a Service Connect service amounts to: the container and port its port name
/// names in the task definition.
fn registry(svc: &EcsService, s: &ServiceConnectService) -> Option<ServiceRegistry> {
    let td = &svc.deployments.first()?.definition;
    let (container, port) = td.container_definitions.iter().flatten().find_map(|c| {
        let m = c
            .port_mappings
            .iter()
            .flatten()
            .find(|m| m.name.as_deref() == Some(s.port_name.as_str()))?;
        Some((c.name.clone(), m.container_port))
    })?;
    Some(ServiceRegistry {
        registry_arn: None,
        container_name: container,
        container_port: port,
        port: None,
    })
}

/// Keeps the Cloud Map services of Service Connect and their instances in line with the tasks.
pub fn reconcile(region: &mut Region) {
    let ecs = &region.ecs;
    let cloud_map = &mut region.servicediscovery;
    let now = Timestamp::now();
    for (svc, namespace, s) in connect_services(ecs) {
        let Some(registry) = registry(svc, s) else {
            continue;
        };
        let service_id = match cloud_map.ensure_http_service(namespace, discovery_name(s), now) {
            Ok(id) => id,
            Err(e) => {
                tracing::debug!(service = %svc.name, "service connect: {}", e.message);
                continue;
            }
        };
        let wanted = registrations(ecs, svc, &registry).collect();
        sync(cloud_map, &service_id, svc.arn(), wanted);
    }
}

/// Every client alias of the region and the addresses of the tasks behind it.
pub fn aliases(region: &Region) -> Vec<Alias> {
    let ecs = &region.ecs;
    let mut out = Vec::new();
    for (svc, namespace, s) in connect_services(ecs) {
        let Some(registry) = registry(svc, s) else {
            continue;
        };
        let mut ips: Vec<Ipv4Addr> = registrations(ecs, svc, &registry)
            .filter_map(|r| r.attributes.get("AWS_INSTANCE_IPV4")?.parse().ok())
            .collect();
        ips.sort();
        let default_name = region
            .servicediscovery
            .namespace_name_of(namespace)
            .map(|ns| format!("{}.{ns}", discovery_name(s)));
        let names: Vec<String> = match s.client_aliases.as_deref() {
            Some(aliases) if !aliases.is_empty() => aliases
                .iter()
                .filter_map(|a| a.dns_name.clone().or_else(|| default_name.clone()))
                .collect(),
            _ => Vec::new(),
        };
        out.extend(names.into_iter().map(|n| (n, ips.clone())));
    }
    out.sort();
    out
}
