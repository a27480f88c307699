//! Elastic Load Balancing v2 (`elbv2`, AWS Query 2015-12-01): application and network load
//! balancers, target groups and their targets' health, listeners, rules, attributes and tags,
//! per region like AWS; and `proxy`, the data plane that binds every listener for real and
//! forwards to the targets (reading a snapshot this state publishes, never the state itself).
//!
//! A load balancer is `provisioning` for a moment after its creation and `active` from then on;
//! like Cloud Map's namespaces, this follows from the time alone, so reads need no write.
//! Target health is written by the proxy's health checks ([`State::report_health`]);
//! deregistered targets drain for the target group's `deregistration_delay.timeout_seconds`.

pub mod api;
mod attributes;
mod listeners;
mod load_balancers;
pub mod proxy;
pub mod routing;
mod target_groups;
#[cfg(test)]
mod tests;

use crate::aws::{ApiError, Timestamp};
use crate::store::{Part, Region, RegionInfo};
use crate::wire::elbv2 as wire;
use std::collections::BTreeMap;

pub use target_groups::{EcsTarget, TargetKey};

/// How long a new load balancer stays `provisioning` (AWS takes minutes; tools poll for it).
const PROVISIONING_SECS: f64 = 0.3;

/// A region's load balancers.
pub struct State {
    region: String,
    account_id: String,
    load_balancers: BTreeMap<String, LoadBalancer>,
    target_groups: BTreeMap<String, TargetGroup>,
    listeners: BTreeMap<String, Listener>,
    rules: BTreeMap<String, Rule>,
    /// EC2 instance ids (ECS container instances) instance targets may name, and the host
    /// address their ports are published on. Links fill it.
    instances: BTreeMap<String, String>,
    /// Addresses of berth's own tasks: with loopback, the only addresses the proxy forwards to.
    task_addresses: std::collections::BTreeSet<String>,
    /// Moves on every change the proxy could see; the proxy's snapshot is rebuilt when it does.
    version: u64,
}

struct LoadBalancer {
    arn: String,
    name: String,
    kind: wire::LoadBalancerTypeEnum,
    scheme: wire::LoadBalancerSchemeEnum,
    ip_address_type: wire::IpAddressType,
    dns_name: String,
    created: Timestamp,
    security_groups: Vec<String>,
    subnets: Vec<String>,
    vpc_id: String,
    attributes: BTreeMap<String, String>,
    tags: Vec<wire::Tag>,
}

struct TargetGroup {
    arn: String,
    name: String,
    protocol: Option<wire::ProtocolEnum>,
    protocol_version: Option<String>,
    port: Option<i32>,
    vpc_id: Option<String>,
    target_type: wire::TargetTypeEnum,
    ip_address_type: wire::TargetGroupIpAddressTypeEnum,
    health_check: HealthCheck,
    attributes: BTreeMap<String, String>,
    tags: Vec<wire::Tag>,
    targets: BTreeMap<TargetKey, target_groups::Target>,
}

/// A target group's health check settings, with AWS's defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    pub enabled: bool,
    pub protocol: wire::ProtocolEnum,
    /// `traffic-port` or a port number.
    pub port: String,
    pub path: Option<String>,
    pub interval_seconds: i32,
    pub timeout_seconds: i32,
    pub healthy_threshold: i32,
    pub unhealthy_threshold: i32,
    pub matcher: Option<String>,
}

struct Listener {
    arn: String,
    load_balancer_arn: String,
    port: i32,
    protocol: wire::ProtocolEnum,
    default_actions: Vec<wire::Action>,
    certificates: Vec<wire::Certificate>,
    ssl_policy: Option<String>,
    alpn_policy: Option<Vec<String>>,
    /// The listener's default rule, which DescribeRules lists last.
    default_rule_arn: String,
    attributes: BTreeMap<String, String>,
    tags: Vec<wire::Tag>,
}

struct Rule {
    arn: String,
    listener_arn: String,
    priority: i32,
    conditions: Vec<wire::RuleCondition>,
    actions: Vec<wire::Action>,
    tags: Vec<wire::Tag>,
}

impl Part for State {
    fn new(info: &RegionInfo) -> Self {
        State {
            region: info.name.to_owned(),
            account_id: info.account_id.to_owned(),
            load_balancers: BTreeMap::new(),
            target_groups: BTreeMap::new(),
            listeners: BTreeMap::new(),
            rules: BTreeMap::new(),
            instances: BTreeMap::new(),
            task_addresses: Default::default(),
            version: 0,
        }
    }

    fn of(region: &Region) -> &Self {
        &region.elbv2
    }

    fn of_mut(region: &mut Region) -> &mut Self {
        &mut region.elbv2
    }
}

impl State {
    /// `arn:aws:elasticloadbalancing:<region>:<account>:<resource>`
    fn arn(&self, resource: &str) -> String {
        crate::aws::arn::format(
            "elasticloadbalancing",
            &self.region,
            &self.account_id,
            resource,
        )
    }

    /// What the proxy could see changed.
    fn changed(&mut self) {
        self.version += 1;
    }

    /// The region and a version that moves whenever the proxy's view of it changes.
    pub fn version(&self) -> (&str, u64) {
        (&self.region, self.version)
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    fn load_balancer(&self, arn: &str) -> Result<&LoadBalancer, ApiError> {
        self.load_balancers
            .get(arn)
            .ok_or_else(|| lb_not_found(arn))
    }

    fn target_group(&self, arn: &str) -> Result<&TargetGroup, ApiError> {
        self.target_groups.get(arn).ok_or_else(|| tg_not_found(arn))
    }

    fn target_group_mut(&mut self, arn: &str) -> Result<&mut TargetGroup, ApiError> {
        self.target_groups
            .get_mut(arn)
            .ok_or_else(|| tg_not_found(arn))
    }

    fn listener(&self, arn: &str) -> Result<&Listener, ApiError> {
        self.listeners
            .get(arn)
            .ok_or_else(|| listener_not_found(arn))
    }

    /// Whether a target group exists (for links checking an ECS service's load balancers).
    pub fn has_target_group(&self, arn: &str) -> bool {
        self.target_groups.contains_key(arn)
    }

    /// A target group's target type (`ip`, `instance`), if it exists.
    pub fn target_type_of(&self, arn: &str) -> Option<String> {
        self.target_groups
            .get(arn)
            .map(|tg| tg.target_type.as_str().to_owned())
    }

    /// The load balancers a target group receives traffic from, through a listener's default
    /// actions or a rule.
    fn load_balancers_of(&self, tg_arn: &str) -> Vec<String> {
        let mut lbs: Vec<String> = self
            .listeners
            .values()
            .filter(|l| {
                forwards_to(&l.default_actions, tg_arn)
                    || self
                        .rules
                        .values()
                        .any(|r| r.listener_arn == l.arn && forwards_to(&r.actions, tg_arn))
            })
            .map(|l| l.load_balancer_arn.clone())
            .collect();
        lbs.sort();
        lbs.dedup();
        lbs
    }

    /// Whether any listener or rule forwards to the target group.
    fn in_use(&self, tg_arn: &str) -> bool {
        !self.load_balancers_of(tg_arn).is_empty()
    }

    fn tags(&self, arn: &str) -> Result<&Vec<wire::Tag>, ApiError> {
        if let Some(lb) = self.load_balancers.get(arn) {
            return Ok(&lb.tags);
        }
        if let Some(tg) = self.target_groups.get(arn) {
            return Ok(&tg.tags);
        }
        if let Some(l) = self.listeners.get(arn) {
            return Ok(&l.tags);
        }
        if let Some(r) = self.rules.get(arn) {
            return Ok(&r.tags);
        }
        Err(resource_not_found(arn))
    }

    /// The tags of any resource by ARN.
    fn tags_mut(&mut self, arn: &str) -> Result<&mut Vec<wire::Tag>, ApiError> {
        if let Some(lb) = self.load_balancers.get_mut(arn) {
            return Ok(&mut lb.tags);
        }
        if let Some(tg) = self.target_groups.get_mut(arn) {
            return Ok(&mut tg.tags);
        }
        if let Some(l) = self.listeners.get_mut(arn) {
            return Ok(&mut l.tags);
        }
        if let Some(r) = self.rules.get_mut(arn) {
            return Ok(&mut r.tags);
        }
        Err(resource_not_found(arn))
    }
}

/// Whether `actions` forward to `tg_arn` (directly or as one of a weighted set).
fn forwards_to(actions: &[wire::Action], tg_arn: &str) -> bool {
    action_target_groups(actions).any(|a| a == tg_arn)
}

/// Every target group `actions` forward to.
fn action_target_groups(actions: &[wire::Action]) -> impl Iterator<Item = &str> {
    actions.iter().flat_map(|a| {
        a.target_group_arn.as_deref().into_iter().chain(
            a.forward_config
                .iter()
                .flat_map(|f| f.target_groups.iter().flatten())
                .filter_map(|t| t.target_group_arn.as_deref()),
        )
    })
}

/// 16 random lowercase hex digits: the id part of ELBv2 ARNs.
fn new_id() -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes[..8].iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn validation(message: impl Into<String>) -> ApiError {
    ApiError::common("ValidationError", 400, message)
}

fn lb_not_found(arn: &str) -> ApiError {
    crate::api_err!(
        elbv2::LoadBalancerNotFoundException,
        "Load balancer '{arn}' not found"
    )
}

fn tg_not_found(arn: &str) -> ApiError {
    crate::api_err!(
        elbv2::TargetGroupNotFoundException,
        "Target groups '{arn}' not found"
    )
}

fn listener_not_found(arn: &str) -> ApiError {
    crate::api_err!(
        elbv2::ListenerNotFoundException,
        "Listener '{arn}' not found"
    )
}

fn rule_not_found(arn: &str) -> ApiError {
    crate::api_err!(
        elbv2::RuleNotFoundException,
        "One or more rules not found: '{arn}'"
    )
}

fn resource_not_found(arn: &str) -> ApiError {
    if arn.contains(":loadbalancer/") {
        lb_not_found(arn)
    } else if arn.contains(":targetgroup/") {
        tg_not_found(arn)
    } else if arn.contains(":listener-rule/") {
        rule_not_found(arn)
    } else if arn.contains(":listener/") {
        listener_not_found(arn)
    } else {
        validation(format!("'{arn}' is not a valid load balancer resource ARN"))
    }
}

fn invalid_config(message: impl Into<String>) -> ApiError {
    crate::api_err!(
        elbv2::InvalidConfigurationRequestException,
        "{}",
        message.into()
    )
}

/// ELBv2 pages with `Marker` / `PageSize` (1 to 400).
const PAGER: crate::aws::pagination::Pager = crate::aws::pagination::Pager {
    kind: "elbv2",
    bad_size: |n, max| {
        validation(format!(
            "1 validation error detected: Value '{n}' at 'pageSize' failed to satisfy constraint: Member must have value between 1 and {max}"
        ))
    },
    bad_token: || validation("Invalid value for 'Marker'"),
};
const PAGE_MAX: usize = 400;

/// A page of `items` (sorted by `key`) after `marker`.
fn page<T>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> String,
    page_size: Option<i32>,
    marker: Option<&str>,
) -> Result<crate::aws::pagination::Page<T>, ApiError> {
    PAGER.paginate(items, key, false, page_size, marker, PAGE_MAX)
}

/// The checks AWS makes of tags given at creation or to AddTags.
fn tags_check(tags: &[wire::Tag]) -> Result<(), ApiError> {
    use crate::aws::tags;
    if tags.len() > tags::MAX_PER_RESOURCE {
        return Err(crate::api_err!(
            elbv2::TooManyTagsException,
            "A resource can have at most {} tags",
            tags::MAX_PER_RESOURCE
        ));
    }
    let mut keys: Vec<&str> = tags.iter().map(|t| t.key.as_str()).collect();
    for t in tags {
        if !tags::key_length_ok(&t.key) || !tags::value_length_ok(t.value.as_deref().unwrap_or(""))
        {
            return Err(validation(format!(
                "Tag key '{}' must be 1 to 128 characters and its value at most 256",
                t.key
            )));
        }
    }
    keys.sort_unstable();
    if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
        return Err(crate::api_err!(
            elbv2::DuplicateTagKeysException,
            "Tag key '{}' is duplicated",
            w[0]
        ));
    }
    Ok(())
}

impl State {
    pub(super) fn add_tags(&mut self, arns: &[String], tags: &[wire::Tag]) -> Result<(), ApiError> {
        tags_check(tags)?;
        for arn in arns {
            let current = self.tags_mut(arn)?;
            let after = crate::aws::tags::count_after_merge(
                current.len(),
                |k| current.iter().any(|t| t.key == k),
                tags.iter().map(|t| t.key.as_str()),
            );
            if after > crate::aws::tags::MAX_PER_RESOURCE {
                return Err(crate::api_err!(
                    elbv2::TooManyTagsException,
                    "The quota for the number of tags that can be assigned to a load balancer resource has been reached"
                ));
            }
        }
        for arn in arns {
            let current = self.tags_mut(arn)?;
            for t in tags {
                match current.iter_mut().find(|c| c.key == t.key) {
                    Some(c) => c.value = t.value.clone(),
                    None => current.push(t.clone()),
                }
            }
        }
        Ok(())
    }

    pub(super) fn remove_tags(&mut self, arns: &[String], keys: &[String]) -> Result<(), ApiError> {
        for arn in arns {
            self.tags_mut(arn)?;
        }
        for arn in arns {
            self.tags_mut(arn)?.retain(|t| !keys.contains(&t.key));
        }
        Ok(())
    }

    pub(super) fn describe_tags(
        &self,
        arns: &[String],
    ) -> Result<Vec<wire::TagDescription>, ApiError> {
        if arns.len() > 20 {
            return Err(validation("At most 20 resource ARNs can be given"));
        }
        arns.iter()
            .map(|arn| {
                Ok(wire::TagDescription {
                    resource_arn: Some(arn.clone()),
                    tags: Some(self.tags(arn)?.clone()),
                })
            })
            .collect()
    }
}
