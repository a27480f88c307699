//! Cloud Map services: a name in a namespace, how its instances show in DNS (DnsConfig), how
//! their health is known (HealthCheckConfig or HealthCheckCustomConfig), and attributes.

use super::{
    MAX_SERVICE_ATTRIBUTES, Op, PAGE_LIMIT, Service, State, check_length, invalid, new_id, pager,
    tags,
};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::wire::servicediscovery as wire;
use std::collections::BTreeMap;
use wire::{NamespaceType, RecordType, RoutingPolicy, ServiceType};

impl Service {
    pub(super) fn to_wire(&self, owner: &str) -> wire::Service {
        wire::Service {
            arn: Some(self.arn.clone()),
            create_date: Some(self.create_date),
            created_by_account: Some(owner.to_owned()),
            creator_request_id: self.creator_request_id.clone(),
            description: self.description.clone(),
            dns_config: self.dns_config.clone(),
            health_check_config: self.health_check_config.clone(),
            health_check_custom_config: self.health_check_custom_config.clone(),
            id: Some(self.id.clone()),
            instance_count: Some(self.instances.len() as i32),
            name: Some(self.name.clone()),
            namespace_id: Some(self.namespace_id.clone()),
            resource_owner: Some(owner.to_owned()),
            r#type: Some(self.kind.clone()),
        }
    }

    pub(super) fn record_types(&self) -> impl Iterator<Item = &RecordType> {
        self.dns_config
            .iter()
            .flat_map(|d| d.dns_records.iter().map(|r| &r.r#type))
    }

    pub(super) fn routing(&self) -> RoutingPolicy {
        self.dns_config
            .as_ref()
            .and_then(|d| d.routing_policy.clone())
            .unwrap_or(RoutingPolicy::Multivalue)
    }
}

/// The model's pattern for service names: DNS labels of letters, digits, `-` and `_`.
fn check_service_name(name: &str) -> Result<(), ApiError> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name == "." || (name.len() <= 127 && name.split('.').all(label_ok)) {
        return Ok(());
    }
    Err(invalid(format!(
        "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?=^.{{1,127}}$)^([a-zA-Z0-9_][a-zA-Z0-9-_]{{0,61}}[a-zA-Z0-9_]|[a-zA-Z0-9])(\\.([a-zA-Z0-9_][a-zA-Z0-9-_]{{0,61}}[a-zA-Z0-9_]|[a-zA-Z0-9]))*$)|(^\\.$)"
    )))
}

/// DnsRecord types come in these combinations only (DnsRecord, API reference): A, AAAA, A and
/// AAAA, SRV, CNAME; a CNAME needs WEIGHTED routing; TTLs are 0 to 2147483647.
fn check_dns_records(records: &[wire::DnsRecord], routing: &RoutingPolicy) -> Result<(), ApiError> {
    if records.is_empty() {
        return Err(invalid("DnsRecords must contain at least one record."));
    }
    let mut types: Vec<&str> = records.iter().map(|r| r.r#type.as_str()).collect();
    types.sort_unstable();
    let combination_ok = matches!(
        types.as_slice(),
        ["A"] | ["AAAA"] | ["A", "AAAA"] | ["SRV"] | ["CNAME"]
    );
    if !combination_ok {
        return Err(invalid(format!(
            "DnsRecords of types {} are not a valid combination: use A, AAAA, A and AAAA, SRV, or CNAME.",
            types.join(", ")
        )));
    }
    if let Some(r) = records
        .iter()
        .find(|r| !(0..=2_147_483_647).contains(&r.ttl))
    {
        return Err(invalid(format!(
            "1 validation error detected: Value '{}' at 'dnsConfig.dnsRecords.member.tTL' failed to satisfy constraint: Member must have value between 0 and 2147483647",
            r.ttl
        )));
    }
    if !routing.is_known() {
        return Err(invalid(format!(
            "Invalid RoutingPolicy {routing}. Valid values are MULTIVALUE, WEIGHTED."
        )));
    }
    if types == ["CNAME"] && *routing != RoutingPolicy::Weighted {
        return Err(invalid(
            "For a CNAME record, the RoutingPolicy must be WEIGHTED.",
        ));
    }
    Ok(())
}

fn check_health_check(h: &wire::HealthCheckConfig) -> Result<(), ApiError> {
    if !h.r#type.is_known() {
        return Err(invalid(format!(
            "Invalid HealthCheckConfig Type {}. Valid values are HTTP, HTTPS, TCP.",
            h.r#type
        )));
    }
    if let Some(t) = h.failure_threshold
        && !(1..=10).contains(&t)
    {
        return Err(invalid("FailureThreshold must be between 1 and 10."));
    }
    if h.r#type == wire::HealthCheckType::Tcp && h.resource_path.is_some() {
        return Err(invalid(
            "ResourcePath can't be specified for a TCP health check.",
        ));
    }
    Ok(())
}

impl State {
    pub fn create_service(
        &mut self,
        req: wire::CreateServiceRequest,
        now: Timestamp,
    ) -> Result<wire::Service, ApiError> {
        check_service_name(&req.name)?;
        if let Some(d) = &req.description {
            check_length("description", d, 0, 1024)?;
        }
        let namespace_id = req
            .namespace_id
            .clone()
            .or_else(|| req.dns_config.as_ref().and_then(|d| d.namespace_id.clone()))
            .ok_or_else(|| invalid("NamespaceId is required."))?;
        self.settle(now);
        let ns = self.namespace(&namespace_id, now)?;
        let ns_kind = ns.kind.clone();
        if let Some(existing) = self
            .services
            .values()
            .find(|s| s.namespace_id == namespace_id && s.name.eq_ignore_ascii_case(&req.name))
        {
            // The same request again is the same service, as CreatorRequestId promises.
            if req.creator_request_id.is_some()
                && existing.creator_request_id == req.creator_request_id
            {
                return Ok(existing.to_wire(&self.account_id));
            }
            return Err(api_err!(
                servicediscovery::ServiceAlreadyExists,
                "Service {} already exists in namespace {namespace_id}: {}",
                req.name,
                existing.id
            ));
        }
        if let Some(t) = &req.r#type
            && !t.is_known()
        {
            return Err(invalid(format!(
                "Invalid service Type {t}. The valid value is HTTP."
            )));
        }
        let mut dns_config = req.dns_config.clone();
        if let Some(d) = &mut dns_config {
            if ns_kind == NamespaceType::Http {
                return Err(invalid(
                    "DnsConfig can't be specified for a service in an HTTP namespace.",
                ));
            }
            if req.r#type.is_some() {
                return Err(invalid(
                    "Type HTTP can't be specified for a service with a DnsConfig.",
                ));
            }
            d.routing_policy.get_or_insert(RoutingPolicy::Multivalue);
            check_dns_records(
                &d.dns_records,
                d.routing_policy
                    .as_ref()
                    .unwrap_or(&RoutingPolicy::Multivalue),
            )?;
            // AWS answers the (deprecated) DnsConfig.NamespaceId with the service's namespace,
            // and Terraform reads it from there.
            d.namespace_id = Some(namespace_id.clone());
        }
        if let Some(h) = &req.health_check_config {
            if req.health_check_custom_config.is_some() {
                return Err(invalid(
                    "HealthCheckConfig and HealthCheckCustomConfig can't both be specified.",
                ));
            }
            if ns_kind != NamespaceType::DnsPublic {
                return Err(invalid(
                    "HealthCheckConfig can be specified only for a service in a public DNS namespace.",
                ));
            }
            if dns_config
                .as_ref()
                .is_some_and(|d| d.dns_records.iter().any(|r| r.r#type == RecordType::Cname))
            {
                return Err(invalid(
                    "HealthCheckConfig can't be specified for a service with a CNAME record.",
                ));
            }
            check_health_check(h)?;
        }
        if let Some(c) = &req.health_check_custom_config
            && let Some(t) = c.failure_threshold
            && !(1..=10).contains(&t)
        {
            return Err(invalid("FailureThreshold must be between 1 and 10."));
        }
        let new_tags = tags::from_request(req.tags)?;
        let kind = if dns_config.is_some() {
            ServiceType::DnsHttp
        } else {
            ServiceType::Http
        };
        let id = new_id("srv");
        let service = Service {
            arn: self.arn(&format!("service/{id}")),
            id: id.clone(),
            name: req.name,
            namespace_id,
            kind,
            description: req.description,
            creator_request_id: req.creator_request_id,
            create_date: now,
            dns_config,
            health_check_config: req.health_check_config,
            health_check_custom_config: req.health_check_custom_config.map(|c| {
                // "This parameter is no longer supported and is always set to 1."
                wire::HealthCheckCustomConfig {
                    failure_threshold: c.failure_threshold.map(|_| 1),
                }
            }),
            attributes: BTreeMap::new(),
            tags: new_tags,
            instances: BTreeMap::new(),
            revision: 0,
        };
        let out = service.to_wire(&self.account_id);
        self.services.insert(id, service);
        self.dns_changed();
        Ok(out)
    }

    pub fn get_service(&self, id: &str) -> Result<wire::Service, ApiError> {
        Ok(self.service(id)?.to_wire(&self.account_id))
    }

    pub fn list_services(
        &self,
        req: wire::ListServicesRequest,
    ) -> Result<Page<wire::ServiceSummary>, ApiError> {
        let filters = req.filters.unwrap_or_default();
        for f in &filters {
            let condition = f.condition.clone().unwrap_or(wire::FilterCondition::Eq);
            let ok_condition = matches!(
                (&f.name, &condition),
                (
                    wire::ServiceFilterName::NamespaceId,
                    wire::FilterCondition::Eq
                ) | (
                    wire::ServiceFilterName::NamespaceId,
                    wire::FilterCondition::In
                ) | (
                    wire::ServiceFilterName::ResourceOwner,
                    wire::FilterCondition::Eq
                )
            );
            if !ok_condition || f.values.is_empty() {
                return Err(invalid(format!(
                    "Filter {} with condition {condition} is not valid.",
                    f.name
                )));
            }
        }
        let matches = |s: &Service| {
            filters.iter().all(|f| match &f.name {
                wire::ServiceFilterName::NamespaceId => f.values.contains(&s.namespace_id),
                _ => f.values.contains(&self.account_id),
            })
        };
        let items = self.services.values().filter(|s| matches(s));
        let page = pager("servicediscovery:services").paginate(
            items,
            |s| s.id.clone(),
            false,
            req.max_results,
            req.next_token.as_deref(),
            PAGE_LIMIT,
        )?;
        Ok(page.map(|s| {
            let w = s.to_wire(&self.account_id);
            wire::ServiceSummary {
                arn: w.arn,
                create_date: w.create_date,
                created_by_account: w.created_by_account,
                description: w.description,
                dns_config: w.dns_config,
                health_check_config: w.health_check_config,
                health_check_custom_config: w.health_check_custom_config,
                id: w.id,
                instance_count: w.instance_count,
                name: w.name,
                resource_owner: w.resource_owner,
                r#type: w.r#type,
            }
        }))
    }

    /// UpdateService: the description, the TTLs of the existing record types, and the health
    /// check's settings; an operation.
    pub fn update_service(
        &mut self,
        id: &str,
        change: wire::ServiceChange,
        now: Timestamp,
    ) -> Result<String, ApiError> {
        let svc = self.service(id)?;
        if let Some(d) = &change.description {
            check_length("description", d, 0, 1024)?;
        }
        if let Some(records) = change.dns_config.as_ref().map(|d| &d.dns_records) {
            let Some(current) = &svc.dns_config else {
                return Err(invalid(format!("Service {id} has no DnsConfig to update.")));
            };
            let mut old: Vec<&str> = current
                .dns_records
                .iter()
                .map(|r| r.r#type.as_str())
                .collect();
            let mut new: Vec<&str> = records.iter().map(|r| r.r#type.as_str()).collect();
            old.sort_unstable();
            new.sort_unstable();
            if old != new {
                return Err(invalid(
                    "UpdateService can change the TTL of a service's DNS records, not their types.",
                ));
            }
            check_dns_records(records, &svc.routing())?;
        }
        if let Some(h) = &change.health_check_config {
            if svc.health_check_config.is_none() {
                return Err(invalid(format!(
                    "Service {id} has no HealthCheckConfig to update."
                )));
            }
            check_health_check(h)?;
        }
        let svc_id = svc.id.clone();
        let svc = self.service_mut(&svc_id)?;
        if change.description.is_some() {
            svc.description = change.description;
        }
        if let (Some(d), Some(c)) = (svc.dns_config.as_mut(), change.dns_config) {
            d.dns_records = c.dns_records;
        }
        if change.health_check_config.is_some() {
            svc.health_check_config = change.health_check_config;
        }
        self.dns_changed();
        Ok(self.start(
            Op::on(
                wire::OperationType::UpdateService,
                wire::OperationTargetType::Service,
                &svc_id,
            ),
            now,
        ))
    }

    pub fn delete_service(&mut self, id: &str) -> Result<(), ApiError> {
        let svc = self.service(id)?;
        if !svc.instances.is_empty() {
            return Err(api_err!(
                servicediscovery::ResourceInUse,
                "Service {} has registered instances. Deregister them before deleting the service.",
                svc.id
            ));
        }
        let svc_id = svc.id.clone();
        self.services.remove(&svc_id);
        self.dns_changed();
        Ok(())
    }

    pub fn get_service_attributes(&self, id: &str) -> Result<wire::ServiceAttributes, ApiError> {
        let svc = self.service(id)?;
        Ok(wire::ServiceAttributes {
            attributes: Some(svc.attributes.clone()),
            resource_owner: Some(self.account_id.clone()),
            service_arn: Some(svc.arn.clone()),
        })
    }

    /// At most 30 attributes per service, counting those it has; keys of up to 255 and values
    /// of up to 1024 characters.
    pub fn update_service_attributes(
        &mut self,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        if attributes.is_empty() || attributes.len() > MAX_SERVICE_ATTRIBUTES {
            return Err(invalid(format!(
                "Attributes must contain between 1 and {MAX_SERVICE_ATTRIBUTES} items."
            )));
        }
        for (k, v) in &attributes {
            check_length("attributes key", k, 1, 255)?;
            check_length("attributes value", v, 0, 1024)?;
        }
        let svc = self.service_mut(id)?;
        let added = attributes
            .keys()
            .filter(|k| !svc.attributes.contains_key(*k))
            .count();
        if svc.attributes.len() + added > MAX_SERVICE_ATTRIBUTES {
            return Err(api_err!(
                servicediscovery::ServiceAttributesLimitExceededException,
                "A service can have at most {MAX_SERVICE_ATTRIBUTES} attributes."
            ));
        }
        svc.attributes.extend(attributes);
        Ok(())
    }

    pub fn delete_service_attributes(&mut self, id: &str, keys: &[String]) -> Result<(), ApiError> {
        if keys.is_empty() || keys.len() > MAX_SERVICE_ATTRIBUTES {
            return Err(invalid(format!(
                "Attributes must contain between 1 and {MAX_SERVICE_ATTRIBUTES} items."
            )));
        }
        let svc = self.service_mut(id)?;
        for k in keys {
            svc.attributes.remove(k);
        }
        Ok(())
    }

    /// The id of service `name` in the namespace an ARN (or id) names, created (API discovery
    /// only) when there is none: Service Connect's services, on ECS's behalf.
    pub fn ensure_http_service(
        &mut self,
        namespace: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<String, ApiError> {
        let ns_id = namespace.rsplit('/').next().unwrap_or(namespace).to_owned();
        if let Some(s) = self
            .services
            .values()
            .find(|s| s.namespace_id == ns_id && s.name.eq_ignore_ascii_case(name))
        {
            return Ok(s.id.clone());
        }
        let created = self.create_service(
            wire::CreateServiceRequest {
                name: name.to_owned(),
                namespace_id: Some(ns_id),
                ..Default::default()
            },
            now,
        )?;
        created
            .id
            .ok_or_else(|| invalid("The service was created without an id."))
    }

    /// The name of the namespace an ARN (or id) names.
    pub fn namespace_name_of(&self, namespace: &str) -> Option<&str> {
        let id = namespace.rsplit('/').next().unwrap_or(namespace);
        self.namespaces.get(id).map(|ns| ns.name.as_str())
    }

    /// The service DiscoverInstances names: `name` in the namespace whose HTTP name is given.
    pub(super) fn service_in(
        &self,
        namespace: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<&Service, ApiError> {
        let ns = self.namespace_named(namespace, now).ok_or_else(|| {
            api_err!(
                servicediscovery::NamespaceNotFound,
                "Namespace {namespace} not found."
            )
        })?;
        self.services
            .values()
            .find(|s| s.namespace_id == ns.id && s.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                api_err!(
                    servicediscovery::ServiceNotFound,
                    "Service {name} not found in namespace {namespace}."
                )
            })
    }
}
