//! Instances: registered with attributes that say where they are (AWS_INSTANCE_IPV4, _PORT …),
//! deregistered, their health, and DiscoverInstances. A registration answers with an operation
//! but takes effect at once.

use super::{
    Instance, MAX_ATTRIBUTES, MAX_INSTANCES_PER_NAMESPACE, MAX_INSTANCES_PER_SERVICE, Op,
    PAGE_LIMIT, Service, State, check_length, instance_not_found, invalid, pager,
};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::wire::servicediscovery as wire;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use wire::{CustomHealthStatus, HealthStatus, HealthStatusFilter, RecordType};

/// DiscoverInstances answers at most this many instances, 100 unless asked for fewer or more.
const DISCOVER_MAX: usize = 1000;
const DISCOVER_DEFAULT: usize = 100;

/// A registration made on someone's behalf (ECS registering a service's tasks): no operation,
/// and the owner is remembered so that only its own registrations are taken back.
pub struct Registration {
    pub instance_id: String,
    pub attributes: BTreeMap<String, String>,
    pub owner: String,
}

/// What DiscoverInstances asks for.
pub struct DiscoverQuery {
    pub namespace: String,
    pub service: String,
    pub max_results: Option<i32>,
    pub query_parameters: BTreeMap<String, String>,
    pub optional_parameters: BTreeMap<String, String>,
    pub health: Option<HealthStatusFilter>,
}

impl Service {
    /// An instance's health as Cloud Map reports it: the custom status where the service has a
    /// custom health check; HEALTHY where it has a Route 53 health check (berth probes nothing
    /// and counts such instances healthy); UNKNOWN without any health check, which DNS and the
    /// HEALTHY filter treat as healthy, as Route 53 does records without health checks.
    pub(super) fn health(&self, instance: &Instance) -> HealthStatus {
        if self.health_check_custom_config.is_some() {
            match instance.custom_health {
                Some(CustomHealthStatus::Unhealthy) => HealthStatus::Unhealthy,
                _ => HealthStatus::Healthy,
            }
        } else if self.health_check_config.is_some() {
            HealthStatus::Healthy
        } else {
            HealthStatus::UnknownValue
        }
    }

    fn has_health_check(&self) -> bool {
        self.health_check_custom_config.is_some() || self.health_check_config.is_some()
    }
}

/// The reserved attributes the service's DNS records need (Attributes, RegisterInstance), and
/// the model's limits on attributes.
fn check_attributes(svc: &Service, attrs: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if attrs.len() > MAX_ATTRIBUTES {
        return Err(invalid(format!(
            "An instance can have at most {MAX_ATTRIBUTES} attributes."
        )));
    }
    for (k, v) in attrs {
        check_length("attributes key", k, 1, 255)?;
        check_length("attributes value", v, 0, 1024)?;
    }
    let has = |k: &str| attrs.contains_key(k);
    let types: Vec<&RecordType> = svc.record_types().collect();
    let alias = has("AWS_ALIAS_DNS_NAME");
    if types.contains(&&RecordType::A) && types.contains(&&RecordType::Aaaa) {
        if !alias && !has("AWS_INSTANCE_IPV4") && !has("AWS_INSTANCE_IPV6") {
            return Err(invalid(
                "AWS_INSTANCE_IPV4 or AWS_INSTANCE_IPV6 is required for a service with A and AAAA records.",
            ));
        }
    } else if types.contains(&&RecordType::A) && !alias && !has("AWS_INSTANCE_IPV4") {
        return Err(invalid(
            "AWS_INSTANCE_IPV4 is required for a service with an A record.",
        ));
    } else if types.contains(&&RecordType::Aaaa) && !has("AWS_INSTANCE_IPV6") {
        return Err(invalid(
            "AWS_INSTANCE_IPV6 is required for a service with an AAAA record.",
        ));
    }
    if types.contains(&&RecordType::Srv) && !has("AWS_INSTANCE_PORT") {
        return Err(invalid(
            "AWS_INSTANCE_PORT is required for a service with an SRV record.",
        ));
    }
    if types.contains(&&RecordType::Cname) && !has("AWS_INSTANCE_CNAME") {
        return Err(invalid(
            "AWS_INSTANCE_CNAME is required for a service with a CNAME record.",
        ));
    }
    if let Some(ip) = attrs.get("AWS_INSTANCE_IPV4")
        && ip.parse::<Ipv4Addr>().is_err()
    {
        return Err(invalid(format!(
            "AWS_INSTANCE_IPV4 {ip} is not a valid IPv4 address."
        )));
    }
    if let Some(ip) = attrs.get("AWS_INSTANCE_IPV6")
        && ip.parse::<Ipv6Addr>().is_err()
    {
        return Err(invalid(format!(
            "AWS_INSTANCE_IPV6 {ip} is not a valid IPv6 address."
        )));
    }
    if let Some(port) = attrs.get("AWS_INSTANCE_PORT")
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(invalid(format!(
            "AWS_INSTANCE_PORT {port} is not a valid port (1 to 65535)."
        )));
    }
    if let Some(status) = attrs.get("AWS_INIT_HEALTH_STATUS") {
        if svc.health_check_custom_config.is_none() {
            return Err(invalid(
                "AWS_INIT_HEALTH_STATUS can be specified only for a service with HealthCheckCustomConfig.",
            ));
        }
        if !CustomHealthStatus::from(status.as_str()).is_known() {
            return Err(invalid(format!(
                "AWS_INIT_HEALTH_STATUS {status} is not valid. Valid values are HEALTHY, UNHEALTHY."
            )));
        }
    }
    Ok(())
}

fn check_instance_id(id: &str) -> Result<(), ApiError> {
    check_length("instanceId", id, 1, 64)?;
    let ok = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_/:.@-".contains(&b));
    if !ok {
        return Err(invalid(format!(
            "1 validation error detected: Value '{id}' at 'instanceId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z_/:.@-]+$"
        )));
    }
    Ok(())
}

impl State {
    /// Adds or replaces an instance, within AWS's quotas.
    fn put_instance(
        &mut self,
        service_id: &str,
        instance_id: &str,
        attributes: BTreeMap<String, String>,
        creator_request_id: Option<String>,
        owner: Option<String>,
    ) -> Result<(), ApiError> {
        check_instance_id(instance_id)?;
        let svc = self.service(service_id)?;
        check_attributes(svc, &attributes)?;
        let svc_id = svc.id.clone();
        if !svc.instances.contains_key(instance_id) {
            if svc.instances.len() >= MAX_INSTANCES_PER_SERVICE {
                return Err(api_err!(
                    servicediscovery::ResourceLimitExceeded,
                    "The limit of {MAX_INSTANCES_PER_SERVICE} instances per service has been reached."
                ));
            }
            let in_namespace: usize = self
                .services
                .values()
                .filter(|s| s.namespace_id == svc.namespace_id)
                .map(|s| s.instances.len())
                .sum();
            if in_namespace >= MAX_INSTANCES_PER_NAMESPACE {
                return Err(api_err!(
                    servicediscovery::ResourceLimitExceeded,
                    "The limit of {MAX_INSTANCES_PER_NAMESPACE} instances per namespace has been reached."
                ));
            }
        }
        let custom_health = attributes
            .get("AWS_INIT_HEALTH_STATUS")
            .map(|s| CustomHealthStatus::from(s.as_str()));
        let svc = self.service_mut(&svc_id)?;
        let kept_health = svc
            .instances
            .get(instance_id)
            .and_then(|i| i.custom_health.clone());
        svc.instances.insert(
            instance_id.to_owned(),
            Instance {
                attributes,
                creator_request_id,
                custom_health: custom_health.or(kept_health),
                owner,
            },
        );
        svc.revision += 1;
        self.dns_changed();
        Ok(())
    }

    pub fn register_instance(
        &mut self,
        req: wire::RegisterInstanceRequest,
        now: Timestamp,
    ) -> Result<String, ApiError> {
        let svc_id = self.service(&req.service_id)?.id.clone();
        self.put_instance(
            &svc_id,
            &req.instance_id,
            req.attributes,
            req.creator_request_id,
            None,
        )?;
        Ok(self.start(
            instance_op(
                wire::OperationType::RegisterInstance,
                &svc_id,
                &req.instance_id,
            ),
            now,
        ))
    }

    pub fn deregister_instance(
        &mut self,
        service_id: &str,
        instance_id: &str,
        now: Timestamp,
    ) -> Result<String, ApiError> {
        let svc = self.service_mut(service_id)?;
        if svc.instances.remove(instance_id).is_none() {
            return Err(instance_not_found(instance_id));
        }
        svc.revision += 1;
        let svc_id = svc.id.clone();
        self.dns_changed();
        Ok(self.start(
            instance_op(
                wire::OperationType::DeregisterInstance,
                &svc_id,
                instance_id,
            ),
            now,
        ))
    }

    /// Registers or refreshes an instance on `service_id` on someone's behalf.
    pub fn register_for(&mut self, service_id: &str, r: Registration) -> Result<(), ApiError> {
        let unchanged = self.service(service_id).is_ok_and(|svc| {
            svc.instances.get(&r.instance_id).is_some_and(|i| {
                i.attributes == r.attributes && i.owner.as_deref() == Some(r.owner.as_str())
            })
        });
        if unchanged {
            return Ok(());
        }
        self.put_instance(
            service_id,
            &r.instance_id,
            r.attributes,
            None,
            Some(r.owner),
        )
    }

    /// The ids of the instances `owner` registered on `service_id`.
    pub fn registered_by(&self, service_id: &str, owner: &str) -> Vec<String> {
        self.service(service_id)
            .map(|svc| {
                svc.instances
                    .iter()
                    .filter(|(_, i)| i.owner.as_deref() == Some(owner))
                    .map(|(id, _)| id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Takes back a registration made with [`State::register_for`].
    pub fn deregister_for(&mut self, service_id: &str, instance_id: &str) {
        if let Ok(svc) = self.service_mut(service_id)
            && svc.instances.remove(instance_id).is_some()
        {
            svc.revision += 1;
            self.dns_changed();
        }
    }

    /// Whether `service_id` names a service here (ECS checks a service's registries).
    pub fn has_service(&self, service_id: &str) -> bool {
        self.service(service_id).is_ok()
    }

    /// The DNS record types of a service (ECS checks what a registry needs).
    pub fn record_types_of(&self, service_id: &str) -> Vec<RecordType> {
        self.service(service_id)
            .map(|s| s.record_types().cloned().collect())
            .unwrap_or_default()
    }

    pub fn get_instance(
        &self,
        service_id: &str,
        instance_id: &str,
    ) -> Result<wire::Instance, ApiError> {
        let svc = self.service(service_id)?;
        let i = svc
            .instances
            .get(instance_id)
            .ok_or_else(|| instance_not_found(instance_id))?;
        Ok(wire::Instance {
            attributes: Some(i.attributes.clone()),
            created_by_account: Some(self.account_id.clone()),
            creator_request_id: i.creator_request_id.clone(),
            id: instance_id.to_owned(),
        })
    }

    pub fn list_instances(
        &self,
        req: &wire::ListInstancesRequest,
    ) -> Result<Page<wire::InstanceSummary>, ApiError> {
        let svc = self.service(&req.service_id)?;
        let page = pager("servicediscovery:instances").paginate(
            svc.instances.iter(),
            |(id, _)| (*id).clone(),
            false,
            req.max_results,
            req.next_token.as_deref(),
            PAGE_LIMIT,
        )?;
        Ok(page.map(|(id, i)| wire::InstanceSummary {
            attributes: Some(i.attributes.clone()),
            created_by_account: Some(self.account_id.clone()),
            id: Some(id.clone()),
        }))
    }

    pub fn get_instances_health_status(
        &self,
        req: &wire::GetInstancesHealthStatusRequest,
    ) -> Result<wire::GetInstancesHealthStatusResponse, ApiError> {
        let svc = self.service(&req.service_id)?;
        let ids: Vec<&String> = match &req.instances {
            Some(ids) => {
                if let Some(missing) = ids.iter().find(|id| !svc.instances.contains_key(*id)) {
                    return Err(instance_not_found(missing));
                }
                let mut ids: Vec<&String> = ids.iter().collect();
                ids.sort();
                ids.dedup();
                ids
            }
            None => svc.instances.keys().collect(),
        };
        let page = pager("servicediscovery:health").paginate(
            ids,
            |id| (*id).clone(),
            false,
            req.max_results,
            req.next_token.as_deref(),
            PAGE_LIMIT,
        )?;
        let status = page
            .items
            .iter()
            .filter_map(|id| Some(((*id).clone(), svc.health(svc.instances.get(*id)?))))
            .collect();
        Ok(wire::GetInstancesHealthStatusResponse {
            next_token: page.next_token,
            status: Some(status),
        })
    }

    pub fn update_instance_custom_health_status(
        &mut self,
        service_id: &str,
        instance_id: &str,
        status: CustomHealthStatus,
    ) -> Result<(), ApiError> {
        if !status.is_known() {
            return Err(invalid(format!(
                "Invalid Status {status}. Valid values are HEALTHY, UNHEALTHY."
            )));
        }
        let svc = self.service_mut(service_id)?;
        let custom = svc.health_check_custom_config.is_some();
        let instance = svc
            .instances
            .get_mut(instance_id)
            .ok_or_else(|| instance_not_found(instance_id))?;
        if !custom {
            return Err(api_err!(
                servicediscovery::CustomHealthNotFound,
                "The service {} has no custom health check.",
                svc.id
            ));
        }
        // AWS applies the new status about 30 s later; berth at once, so tests need not wait.
        if instance.custom_health.as_ref() != Some(&status) {
            instance.custom_health = Some(status);
            svc.revision += 1;
            self.dns_changed();
        }
        Ok(())
    }

    pub fn discover_instances(
        &self,
        q: &DiscoverQuery,
        now: Timestamp,
    ) -> Result<wire::DiscoverInstancesResponse, ApiError> {
        let limit = match q.max_results {
            None => DISCOVER_DEFAULT,
            Some(n) if (1..=DISCOVER_MAX as i32).contains(&n) => n as usize,
            Some(n) => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and {DISCOVER_MAX}"
                )));
            }
        };
        let filter = q.health.clone().unwrap_or(HealthStatusFilter::Healthy);
        if !filter.is_known() {
            return Err(invalid(format!(
                "Invalid HealthStatus {filter}. Valid values are HEALTHY, UNHEALTHY, ALL, HEALTHY_OR_ELSE_ALL."
            )));
        }
        let svc = self.service_in(&q.namespace, &q.service, now)?;
        let has = |i: &Instance, params: &BTreeMap<String, String>| {
            params.iter().all(|(k, v)| i.attributes.get(k) == Some(v))
        };
        let queried: Vec<(&String, &Instance, HealthStatus)> = svc
            .instances
            .iter()
            .filter(|(_, i)| has(i, &q.query_parameters))
            .map(|(id, i)| (id, i, svc.health(i)))
            .collect();
        // The health filter is ignored for services without a health check.
        let healthy = |h: &HealthStatus| *h != HealthStatus::Unhealthy;
        let by_health: Vec<_> = if !svc.has_health_check() {
            queried
        } else {
            match filter {
                HealthStatusFilter::All => queried,
                HealthStatusFilter::Unhealthy => queried
                    .into_iter()
                    .filter(|(_, _, h)| !healthy(h))
                    .collect(),
                HealthStatusFilter::HealthyOrElseAll
                    if !queried.iter().any(|(_, _, h)| healthy(h)) =>
                {
                    queried
                }
                _ => queried.into_iter().filter(|(_, _, h)| healthy(h)).collect(),
            }
        };
        // Optional parameters narrow the answer only when some instance has them all.
        let preferred: Vec<_> = by_health
            .iter()
            .filter(|(_, i, _)| has(i, &q.optional_parameters))
            .cloned()
            .collect();
        let chosen = if preferred.is_empty() {
            by_health
        } else {
            preferred
        };
        let instances = chosen
            .into_iter()
            .take(limit)
            .map(|(id, i, h)| wire::HttpInstanceSummary {
                attributes: Some(i.attributes.clone()),
                health_status: Some(h),
                instance_id: Some(id.clone()),
                namespace_name: Some(q.namespace.clone()),
                service_name: Some(svc.name.clone()),
            })
            .collect();
        Ok(wire::DiscoverInstancesResponse {
            instances: Some(instances),
            instances_revision: Some(svc.revision),
        })
    }

    pub fn discover_instances_revision(
        &self,
        namespace: &str,
        service: &str,
        now: Timestamp,
    ) -> Result<i64, ApiError> {
        Ok(self.service_in(namespace, service, now)?.revision)
    }
}

fn instance_op(kind: wire::OperationType, service: &str, instance: &str) -> Op {
    Op {
        kind,
        targets: vec![
            (wire::OperationTargetType::Service, service.to_owned()),
            (wire::OperationTargetType::Instance, instance.to_owned()),
        ],
        failure: None,
    }
}
