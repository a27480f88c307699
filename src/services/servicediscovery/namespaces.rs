//! Namespaces: HTTP, private DNS (one per name and VPC) and public DNS. Creating, updating and
//! deleting one is an operation; the namespace appears once its creation succeeded.

use super::operations::{DONE_MS, after};
use super::{
    MAX_NAMESPACES, Namespace, Op, PAGE_LIMIT, State, check_length, invalid, namespace_not_found,
    new_id, pager, random_chars, tags,
};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::wire::servicediscovery as wire;
use wire::{NamespaceType, OperationTargetType as Target, OperationType as Kind};

/// The TTL of a DNS namespace's SOA record when none is given: what Cloud Map sets.
const DEFAULT_SOA_TTL: i64 = 15;

/// What a Create*Namespace call asks for.
pub struct NewNamespace {
    pub name: String,
    pub kind: NamespaceType,
    pub creator_request_id: Option<String>,
    pub description: Option<String>,
    pub vpc: Option<String>,
    pub soa_ttl: Option<i64>,
    pub tags: Option<Vec<wire::Tag>>,
}

impl Namespace {
    fn properties(&self) -> wire::NamespaceProperties {
        let dns = self.kind != NamespaceType::Http;
        wire::NamespaceProperties {
            dns_properties: dns.then(|| wire::DnsProperties {
                hosted_zone_id: self.hosted_zone_id.clone(),
                soa: self.soa_ttl.map(|ttl| wire::SOA { ttl }),
            }),
            // Every namespace can be discovered through the API under its name.
            http_properties: Some(wire::HttpProperties {
                http_name: Some(self.name.clone()),
            }),
        }
    }

    fn to_wire(&self, owner: &str, service_count: i32) -> wire::Namespace {
        wire::Namespace {
            arn: Some(self.arn.clone()),
            create_date: Some(self.create_date),
            creator_request_id: self.creator_request_id.clone(),
            description: self.description.clone(),
            id: Some(self.id.clone()),
            name: Some(self.name.clone()),
            properties: Some(self.properties()),
            resource_owner: Some(owner.to_owned()),
            service_count: Some(service_count),
            r#type: Some(self.kind.clone()),
        }
    }

    /// Names are compared as DNS compares them: without case or a trailing dot.
    fn same_name(&self, name: &str) -> bool {
        self.name
            .trim_end_matches('.')
            .eq_ignore_ascii_case(name.trim_end_matches('.'))
    }
}

/// The model's patterns for namespace names.
fn check_name(name: &str, kind: &NamespaceType) -> Result<(), ApiError> {
    let max = if *kind == NamespaceType::Http {
        1024
    } else {
        253
    };
    check_length("name", name, 1, max)?;
    let printable = name.bytes().all(|b| (b'!'..=b'~').contains(&b));
    if !printable || name.starts_with("arn:") {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!arn:)[!-~]{{1,{max}}}$"
        )));
    }
    if *kind == NamespaceType::DnsPublic {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        let labels: Vec<&str> = name.split('.').collect();
        if labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) {
            return Err(invalid(format!(
                "Namespace name {name} is not a valid public domain name."
            )));
        }
    }
    Ok(())
}

impl State {
    pub fn create_namespace(
        &mut self,
        req: NewNamespace,
        now: Timestamp,
    ) -> Result<String, ApiError> {
        self.settle(now);
        check_name(&req.name, &req.kind)?;
        if let Some(d) = &req.description {
            check_length("description", d, 0, 1024)?;
        }
        if let Some(ttl) = req.soa_ttl
            && !(0..=2_147_483_647).contains(&ttl)
        {
            return Err(invalid(format!(
                "1 validation error detected: Value '{ttl}' at 'properties.dnsProperties.sOA.tTL' failed to satisfy constraint: Member must have value between 0 and 2147483647"
            )));
        }
        let new_tags = tags::from_request(req.tags)?;
        // The same request again (same CreatorRequestId) is the same operation, as on AWS.
        if let Some(rid) = &req.creator_request_id
            && let Some(existing) = self.namespaces.values().find(|ns| {
                ns.creator_request_id.as_deref() == Some(rid.as_str()) && ns.same_name(&req.name)
            })
            && let Some(op) = self.creation_of(&existing.id)
        {
            return Ok(op);
        }
        let clash = self.namespaces.values().find(|ns| {
            ns.deleted_at.is_none()
                && ns.same_name(&req.name)
                && (ns.kind != NamespaceType::DnsPrivate
                    || req.kind != NamespaceType::DnsPrivate
                    || ns.vpc == req.vpc)
        });
        let mut failure = None;
        if let Some(ns) = clash {
            if !ns.exists(now) {
                let op = self
                    .running(&Kind::CreateNamespace, &ns.id, now)
                    .unwrap_or_default();
                return Err(api_err!(
                    servicediscovery::DuplicateRequest,
                    "Another operation of type CreateNamespace and id {op} is in progress"
                ));
            }
            if ns.kind == NamespaceType::DnsPrivate && req.kind == NamespaceType::DnsPrivate {
                // Route 53 refuses a second private zone of the same name in the same VPC: the
                // creation is accepted and its operation fails.
                failure = Some((
                    "CANNOT_CREATE_HOSTED_ZONE",
                    format!(
                        "ConflictingDomainExists: a hosted zone for {} is already associated with VPC {}",
                        req.name,
                        req.vpc.as_deref().unwrap_or_default()
                    ),
                ));
            } else {
                return Err(api_err!(
                    servicediscovery::NamespaceAlreadyExists,
                    "Namespace {} already exists: {}",
                    req.name,
                    ns.id
                ));
            }
        }
        if self.namespaces.len() >= super::MAX_NAMESPACES {
            return Err(api_err!(
                servicediscovery::ResourceLimitExceeded,
                "The namespace limit of {MAX_NAMESPACES} has been reached."
            ));
        }
        let id = new_id("ns");
        let dns = req.kind != NamespaceType::Http;
        let op = Op {
            failure,
            ..Op::on(Kind::CreateNamespace, Target::Namespace, &id)
        };
        let failed = op.failure.is_some();
        let op_id = self.start(op, now);
        if !failed {
            self.namespaces.insert(
                id.clone(),
                Namespace {
                    arn: self.arn(&format!("namespace/{id}")),
                    id,
                    name: req.name,
                    kind: req.kind,
                    description: req.description,
                    creator_request_id: req.creator_request_id,
                    create_date: now,
                    vpc: req.vpc,
                    hosted_zone_id: dns.then(|| format!("Z{}", random_chars(20).to_uppercase())),
                    soa_ttl: dns.then(|| req.soa_ttl.unwrap_or(DEFAULT_SOA_TTL)),
                    tags: new_tags,
                    active_at: after(now, DONE_MS),
                    deleted_at: None,
                },
            );
        }
        Ok(op_id)
    }

    /// The operation that creates namespace `id`, while the namespace exists.
    fn creation_of(&self, id: &str) -> Option<String> {
        self.operations_on(&Kind::CreateNamespace, id).next()
    }

    fn service_count(&self, namespace_id: &str) -> i32 {
        self.services
            .values()
            .filter(|s| s.namespace_id == namespace_id)
            .count() as i32
    }

    pub fn get_namespace(&self, id: &str, now: Timestamp) -> Result<wire::Namespace, ApiError> {
        let ns = self.namespace(id, now)?;
        Ok(ns.to_wire(&self.account_id, self.service_count(&ns.id)))
    }

    pub fn list_namespaces(
        &self,
        req: wire::ListNamespacesRequest,
        now: Timestamp,
    ) -> Result<Page<wire::NamespaceSummary>, ApiError> {
        let filters = req.filters.unwrap_or_default();
        for f in &filters {
            check_namespace_filter(f)?;
        }
        let matches = |ns: &Namespace| {
            filters.iter().all(|f| {
                let condition = f.condition.clone().unwrap_or(wire::FilterCondition::Eq);
                let test = |value: &str| match condition {
                    wire::FilterCondition::BeginsWith => {
                        f.values.iter().any(|v| value.starts_with(v.as_str()))
                    }
                    _ => f.values.iter().any(|v| v == value),
                };
                match &f.name {
                    wire::NamespaceFilterName::Type => test(ns.kind.as_str()),
                    wire::NamespaceFilterName::Name | wire::NamespaceFilterName::HttpName => {
                        test(&ns.name)
                    }
                    wire::NamespaceFilterName::ResourceOwner => test(&self.account_id),
                    wire::NamespaceFilterName::Unknown(_) => false,
                }
            })
        };
        let items = self
            .namespaces
            .values()
            .filter(|ns| ns.exists(now))
            .filter(|ns| matches(ns));
        let page = pager("servicediscovery:namespaces").paginate(
            items,
            |ns| ns.id.clone(),
            false,
            req.max_results,
            req.next_token.as_deref(),
            PAGE_LIMIT,
        )?;
        Ok(page.map(|ns| {
            let w = ns.to_wire(&self.account_id, self.service_count(&ns.id));
            wire::NamespaceSummary {
                arn: w.arn,
                create_date: w.create_date,
                description: w.description,
                id: w.id,
                name: w.name,
                properties: w.properties,
                resource_owner: w.resource_owner,
                service_count: w.service_count,
                r#type: w.r#type,
            }
        }))
    }

    /// Update{Http,PrivateDns,PublicDns}Namespace: the description and, for DNS namespaces,
    /// the SOA TTL. The namespace must be of the type the call is for.
    pub fn update_namespace(
        &mut self,
        id: &str,
        kind: NamespaceType,
        description: Option<String>,
        soa_ttl: Option<i64>,
        now: Timestamp,
    ) -> Result<String, ApiError> {
        self.settle(now);
        let ns = self.namespace(id, now)?;
        if ns.kind != kind {
            return Err(invalid(format!(
                "Namespace {id} is of type {}, not {kind}.",
                ns.kind
            )));
        }
        if let Some(d) = &description {
            check_length("description", d, 0, 1024)?;
        }
        if let Some(op) = self.running(&Kind::UpdateNamespace, id, now) {
            return Err(api_err!(
                servicediscovery::DuplicateRequest,
                "Another operation of type UpdateNamespace and id {op} is in progress"
            ));
        }
        let ns = self
            .namespaces
            .get_mut(id)
            .ok_or_else(|| namespace_not_found(id))?;
        if description.is_some() {
            ns.description = description;
        }
        if let Some(ttl) = soa_ttl {
            ns.soa_ttl = Some(ttl);
        }
        self.dns_changed();
        Ok(self.start(Op::on(Kind::UpdateNamespace, Target::Namespace, id), now))
    }

    /// A namespace with services is in use; deleting it is an operation, after which it is
    /// gone.
    pub fn delete_namespace(&mut self, id: &str, now: Timestamp) -> Result<String, ApiError> {
        self.settle(now);
        let deleting = self.namespace(id, now)?.deleted_at.is_some();
        if let Some(op) = self
            .running(&Kind::DeleteNamespace, id, now)
            .filter(|_| deleting)
        {
            return Err(api_err!(
                servicediscovery::DuplicateRequest,
                "Another operation of type DeleteNamespace and id {op} is in progress"
            ));
        }
        if self.service_count(id) > 0 {
            return Err(api_err!(
                servicediscovery::ResourceInUse,
                "Namespace {id} has associated services. Delete the services before deleting the namespace."
            ));
        }
        if let Some(ns) = self.namespaces.get_mut(id) {
            ns.deleted_at = Some(after(now, DONE_MS));
        }
        Ok(self.start(Op::on(Kind::DeleteNamespace, Target::Namespace, id), now))
    }

    /// The ARN of the namespace called `name`, if one exists (ECS names namespaces by name).
    pub fn namespace_arn_named(&self, name: &str, now: Timestamp) -> Option<String> {
        // One still being created counts: two requests naming it in a row share it.
        self.namespaces
            .values()
            .find(|ns| ns.deleted_at.is_none_or(|d| now < d) && ns.same_name(name))
            .map(|ns| ns.arn.clone())
    }

    /// Creates an HTTP namespace on ECS's behalf (Service Connect with a namespace given by a
    /// name that no namespace has); its ARN.
    pub fn create_http_namespace_for(
        &mut self,
        name: &str,
        now: Timestamp,
    ) -> Result<String, ApiError> {
        let op = self.create_namespace(
            NewNamespace {
                name: name.to_owned(),
                kind: NamespaceType::Http,
                creator_request_id: None,
                description: None,
                vpc: None,
                soa_ttl: None,
                tags: None,
            },
            now,
        )?;
        self.namespaces
            .values()
            .find(|ns| self.creation_of(&ns.id).as_deref() == Some(op.as_str()))
            .map(|ns| ns.arn.clone())
            .ok_or_else(|| namespace_not_found(name))
    }

    /// The namespace DiscoverInstances names by its HTTP name.
    pub(super) fn namespace_named(&self, name: &str, now: Timestamp) -> Option<&Namespace> {
        self.namespaces
            .values()
            .find(|ns| ns.exists(now) && ns.name == name)
    }
}

/// ListNamespaces' filter rules (NamespaceFilter in the API reference).
fn check_namespace_filter(f: &wire::NamespaceFilter) -> Result<(), ApiError> {
    let condition = f.condition.clone().unwrap_or(wire::FilterCondition::Eq);
    let allowed: &[wire::FilterCondition] = match &f.name {
        wire::NamespaceFilterName::Type => &[wire::FilterCondition::Eq, wire::FilterCondition::In],
        wire::NamespaceFilterName::Name | wire::NamespaceFilterName::HttpName => {
            &[wire::FilterCondition::Eq, wire::FilterCondition::BeginsWith]
        }
        wire::NamespaceFilterName::ResourceOwner => &[wire::FilterCondition::Eq],
        wire::NamespaceFilterName::Unknown(name) => {
            return Err(invalid(format!("Invalid filter name {name}.")));
        }
    };
    if !allowed.contains(&condition) {
        return Err(invalid(format!(
            "Condition {condition} is not supported for filter {}.",
            f.name
        )));
    }
    let count_ok = match condition {
        wire::FilterCondition::In => !f.values.is_empty(),
        _ => f.values.len() == 1,
    };
    if !count_ok {
        return Err(invalid(format!(
            "Invalid number of values for filter {} with condition {condition}.",
            f.name
        )));
    }
    Ok(())
}
