//! AWS Cloud Map (`servicediscovery`): namespaces (HTTP, private and public DNS), services with
//! their DNS and health check configuration, instances, operations and tags, per region like
//! AWS; and `dns`, the DNS server that answers for the DNS namespaces.
//!
//! Namespace creation, update and deletion are asynchronous as on AWS: the call answers with an
//! operation, which is SUBMITTED, then PENDING, then SUCCESS or FAIL as time passes; a new
//! namespace exists (GetNamespace, ListNamespaces, CreateService) once its operation succeeded,
//! and a deleted one is gone once its deletion did. Both follow from the time alone, so reads
//! need no write.
//! Instance registrations also answer with operations, but take effect at once, so that DNS and
//! DiscoverInstances follow a task within the same pass.

pub mod api;
pub mod dns;
mod instances;
mod namespaces;
mod operations;
mod services;
mod tags;
#[cfg(test)]
mod tests;

use crate::api_err;
use crate::aws::pagination::Pager;
use crate::aws::{ApiError, Timestamp};
use crate::store::{Part, Region, RegionInfo};
use crate::wire::servicediscovery as wire;
use std::collections::BTreeMap;

pub use instances::{DiscoverQuery, Registration};
pub use operations::Op;

/// AWS's quotas for Cloud Map (Cloud Map developer guide, "Cloud Map service quotas").
const MAX_NAMESPACES: usize = 50;
const MAX_INSTANCES_PER_NAMESPACE: usize = 2000;
const MAX_INSTANCES_PER_SERVICE: usize = 1000;
const MAX_ATTRIBUTES: usize = 30;
const MAX_SERVICE_ATTRIBUTES: usize = 30;

/// A region's Cloud Map.
pub struct State {
    region: String,
    account_id: String,
    namespaces: BTreeMap<String, Namespace>,
    services: BTreeMap<String, Service>,
    operations: BTreeMap<String, operations::Operation>,
    /// Bumped on every change DNS answers could see: the DNS snapshot is rebuilt when it moves.
    dns_version: u64,
}

/// A namespace, from the moment its creation was asked for.
struct Namespace {
    id: String,
    arn: String,
    name: String,
    kind: wire::NamespaceType,
    description: Option<String>,
    creator_request_id: Option<String>,
    create_date: Timestamp,
    /// Private DNS namespaces: the VPC their hosted zone is associated with.
    vpc: Option<String>,
    hosted_zone_id: Option<String>,
    /// DNS namespaces: the SOA record's TTL, used for negative answers.
    soa_ttl: Option<i64>,
    tags: Vec<wire::Tag>,
    /// When its creation succeeds.
    active_at: Timestamp,
    /// When its deletion succeeds, once deleted.
    deleted_at: Option<Timestamp>,
}

impl Namespace {
    /// Whether the namespace exists at `now`: created, and not (yet) deleted.
    fn exists(&self, now: Timestamp) -> bool {
        now >= self.active_at && self.deleted_at.is_none_or(|d| now < d)
    }
}

/// A Cloud Map service and its instances.
struct Service {
    id: String,
    arn: String,
    name: String,
    namespace_id: String,
    kind: wire::ServiceType,
    description: Option<String>,
    creator_request_id: Option<String>,
    create_date: Timestamp,
    dns_config: Option<wire::DnsConfig>,
    health_check_config: Option<wire::HealthCheckConfig>,
    health_check_custom_config: Option<wire::HealthCheckCustomConfig>,
    attributes: BTreeMap<String, String>,
    tags: Vec<wire::Tag>,
    instances: BTreeMap<String, Instance>,
    /// DiscoverInstancesRevision: moves whenever an instance or its health changes.
    revision: i64,
}

struct Instance {
    attributes: BTreeMap<String, String>,
    creator_request_id: Option<String>,
    /// The custom health status, for services with HealthCheckCustomConfig.
    custom_health: Option<wire::CustomHealthStatus>,
    /// Who registered it on someone's behalf (ECS for a service's tasks); `None` for the API.
    owner: Option<String>,
}

impl Part for State {
    fn new(info: &RegionInfo) -> Self {
        State {
            region: info.name.to_owned(),
            account_id: info.account_id.to_owned(),
            namespaces: BTreeMap::new(),
            services: BTreeMap::new(),
            operations: BTreeMap::new(),
            dns_version: 0,
        }
    }

    fn of(region: &Region) -> &Self {
        &region.servicediscovery
    }

    fn of_mut(region: &mut Region) -> &mut Self {
        &mut region.servicediscovery
    }
}

impl State {
    /// `arn:aws:servicediscovery:<region>:<account>:<resource>`
    fn arn(&self, resource: &str) -> String {
        crate::aws::arn::format("servicediscovery", &self.region, &self.account_id, resource)
    }

    /// What DNS answers could see changed.
    fn dns_changed(&mut self) {
        self.dns_version += 1;
    }

    /// Forgets the namespaces whose deletion has succeeded. Writes take this first.
    fn settle(&mut self, now: Timestamp) {
        let before = self.namespaces.len();
        self.namespaces
            .retain(|_, ns| ns.deleted_at.is_none_or(|d| now < d));
        if self.namespaces.len() != before {
            self.dns_changed();
        }
    }

    /// What the DNS snapshot is built from changed: the region and a version that moves.
    pub fn dns_version(&self) -> (&str, u64) {
        (&self.region, self.dns_version)
    }

    /// The next moment after `now` a namespace appears or goes, which DNS must follow too.
    pub fn next_transition(&self, now: Timestamp) -> Option<Timestamp> {
        self.namespaces
            .values()
            .flat_map(|ns| [Some(ns.active_at), ns.deleted_at])
            .flatten()
            .filter(|t| *t > now)
            .min()
    }

    fn namespace(&self, id: &str, now: Timestamp) -> Result<&Namespace, ApiError> {
        self.namespaces
            .get(id)
            .filter(|ns| ns.exists(now))
            .ok_or_else(|| namespace_not_found(id))
    }

    fn service(&self, id: &str) -> Result<&Service, ApiError> {
        self.services
            .get(service_id(id))
            .ok_or_else(|| service_not_found(id))
    }

    fn service_mut(&mut self, id: &str) -> Result<&mut Service, ApiError> {
        self.services
            .get_mut(service_id(id))
            .ok_or_else(|| service_not_found(id))
    }
}

/// A service named by id or, as newer SDKs may, by ARN.
fn service_id(id: &str) -> &str {
    id.rsplit_once(":service/").map_or(id, |(_, short)| short)
}

/// Cloud Map's ids: a prefix and 16 lowercase letters and digits (`ns-e4anhexample0004`).
fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", random_chars(16))
}

/// `n` random lowercase letters and digits.
fn random_chars(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut bits = u128::from_be_bytes(bytes);
    (0..n)
        .map(|i| {
            if i > 0 && i % 24 == 0 {
                bits = u128::from_be_bytes(uuid::Uuid::new_v4().into_bytes());
            }
            let c = ALPHABET[(bits & 31) as usize] as char;
            bits >>= 5;
            c
        })
        .collect()
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::from_def(&wire::errors::InvalidInput, message)
}

fn namespace_not_found(id: &str) -> ApiError {
    api_err!(
        servicediscovery::NamespaceNotFound,
        "Namespace {id} not found."
    )
}

fn service_not_found(id: &str) -> ApiError {
    api_err!(servicediscovery::ServiceNotFound, "Service {id} not found.")
}

fn instance_not_found(id: &str) -> ApiError {
    api_err!(
        servicediscovery::InstanceNotFound,
        "Instance {id} not found."
    )
}

/// The model's length constraint, in Cloud Map's words.
fn check_length(field: &str, value: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(invalid(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have length between {min} and {max}"
        )));
    }
    Ok(())
}

/// Cloud Map pages at most 100 items; a bad `MaxResults` or `NextToken` is InvalidInput.
const fn pager(kind: &'static str) -> Pager {
    Pager {
        kind,
        bad_size: |n, max| {
            invalid(format!(
                "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and {max}"
            ))
        },
        bad_token: || invalid("The specified NextToken is not valid."),
    }
}

const PAGE_LIMIT: usize = 100;
