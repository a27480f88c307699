//! Target groups, their health check settings and attributes, and their targets: registration,
//! deregistration (draining for the deregistration delay) and the health AWS reports for each
//! (DescribeTargetHealth's states and reason codes).

use super::load_balancers::check_name;
use super::{HealthCheck, State, TargetGroup, attributes, validation};
use crate::api_err;
use crate::aws::{ApiError, Timestamp};
use crate::wire::elbv2 as wire;
use std::collections::BTreeMap;
use std::net::IpAddr;
use wire::{ProtocolEnum as Protocol, TargetHealthReasonEnum as Reason, TargetHealthStateEnum};

/// AWS's quotas.
const MAX_TARGET_GROUPS: usize = 3000;
const MAX_TARGETS_PER_GROUP: usize = 1000;

/// A target: its id (instance id or IP address) and port.
pub type TargetKey = (String, i32);

pub(super) struct Target {
    availability_zone: Option<String>,
    /// What the health checks found last; `None` before the first check.
    pub(super) health: Option<Health>,
    /// Deregistered targets drain until then, and are forgotten after.
    pub(super) draining_until: Option<Timestamp>,
    /// Who registered it on someone's behalf (an ECS service); `None` for the API.
    owner: Option<String>,
}

/// A health check outcome, as DescribeTargetHealth reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub state: TargetHealthStateEnum,
    pub reason: Option<Reason>,
    pub description: Option<String>,
}

impl Health {
    pub fn healthy() -> Self {
        Health {
            state: TargetHealthStateEnum::Healthy,
            reason: None,
            description: None,
        }
    }

    pub fn unhealthy(reason: Reason, description: impl Into<String>) -> Self {
        Health {
            state: TargetHealthStateEnum::Unhealthy,
            reason: Some(reason),
            description: Some(description.into()),
        }
    }

    pub fn initial_checking() -> Self {
        Health {
            state: TargetHealthStateEnum::Initial,
            reason: Some(Reason::ElbInitialHealthChecking),
            description: Some("Initial health checking in progress".into()),
        }
    }
}

/// A target an ECS service's task is registered as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsTarget {
    pub id: String,
    pub port: i32,
}

/// AWS's defaults for a target group's health checks, by its protocol.
fn default_health_check(protocol: Option<&Protocol>) -> HealthCheck {
    let network = protocol.is_some_and(attributes::is_network_protocol);
    if network {
        HealthCheck {
            enabled: true,
            protocol: Protocol::Tcp,
            port: "traffic-port".into(),
            path: None,
            interval_seconds: 30,
            timeout_seconds: 10,
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: None,
        }
    } else {
        HealthCheck {
            enabled: true,
            protocol: protocol.cloned().unwrap_or(Protocol::Http),
            port: "traffic-port".into(),
            path: Some("/".into()),
            interval_seconds: 30,
            timeout_seconds: 5,
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: Some("200".into()),
        }
    }
}

/// The health check settings a create or modify asks for, over `hc`.
#[allow(clippy::too_many_arguments)]
fn apply_health_check(
    hc: &mut HealthCheck,
    enabled: Option<bool>,
    protocol: Option<Protocol>,
    port: Option<String>,
    path: Option<String>,
    interval: Option<i32>,
    timeout: Option<i32>,
    healthy: Option<i32>,
    unhealthy: Option<i32>,
    matcher: Option<wire::Matcher>,
) -> Result<(), ApiError> {
    let mut next = hc.clone();
    if let Some(e) = enabled {
        next.enabled = e;
    }
    if let Some(p) = protocol {
        if !matches!(p, Protocol::Http | Protocol::Https | Protocol::Tcp) {
            return Err(validation(format!(
                "Health check protocol '{p}' is not supported"
            )));
        }
        if p == Protocol::Tcp {
            next.path = None;
            next.matcher = None;
        } else if next.path.is_none() {
            next.path = Some("/".into());
            next.matcher = Some("200".into());
        }
        next.protocol = p;
    }
    if let Some(port) = port {
        let ok = port == "traffic-port" || port.parse::<u16>().is_ok_and(|p| p > 0);
        if !ok {
            return Err(validation(format!(
                "Health check port '{port}' must be 'traffic-port' or a port between 1 and 65535"
            )));
        }
        next.port = port;
    }
    if let Some(path) = path {
        if !path.starts_with('/') || path.len() > 1024 {
            return Err(validation(
                "Health check path must begin with a '/' character and can be at most 1024 characters",
            ));
        }
        if next.protocol == Protocol::Tcp {
            return Err(invalid_tcp_setting("path"));
        }
        next.path = Some(path);
    }
    if let Some(i) = interval {
        if !(5..=300).contains(&i) {
            return Err(validation(format!(
                "Health check interval '{i}' must be between 5 and 300 seconds"
            )));
        }
        next.interval_seconds = i;
    }
    if let Some(t) = timeout {
        if !(2..=120).contains(&t) {
            return Err(validation(format!(
                "Health check timeout '{t}' must be between 2 and 120 seconds"
            )));
        }
        next.timeout_seconds = t;
    }
    if next.timeout_seconds >= next.interval_seconds {
        return Err(validation(
            "Health check interval must be greater than the timeout.",
        ));
    }
    for (what, n) in [("Healthy", healthy), ("Unhealthy", unhealthy)] {
        if let Some(n) = n
            && !(2..=10).contains(&n)
        {
            return Err(validation(format!(
                "{what} threshold count '{n}' must be between 2 and 10"
            )));
        }
    }
    if let Some(n) = healthy {
        next.healthy_threshold = n;
    }
    if let Some(n) = unhealthy {
        next.unhealthy_threshold = n;
    }
    if let Some(m) = matcher {
        if next.protocol == Protocol::Tcp {
            return Err(invalid_tcp_setting("matcher"));
        }
        let code = m.http_code.unwrap_or_default();
        if crate::services::elbv2::routing::parse_matcher(&code).is_none() {
            return Err(validation(format!(
                "Health check matcher HTTP code '{code}' must be a code, a list or a range between 200 and 499"
            )));
        }
        next.matcher = Some(code);
    }
    *hc = next;
    Ok(())
}

fn invalid_tcp_setting(what: &str) -> ApiError {
    validation(format!(
        "Health check {what} cannot be set with the TCP health check protocol"
    ))
}

/// Whether AWS accepts `ip` as an ip target: private (RFC 1918), shared (RFC 6598) or, for
/// berth, loopback; never a publicly routable address.
fn ip_target_ok(ip: &str) -> bool {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let o = v4.octets();
            v4.is_private() || v4.is_loopback() || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        Ok(IpAddr::V6(v6)) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
        Err(_) => false,
    }
}

impl State {
    pub(super) fn create_target_group(
        &mut self,
        input: wire::CreateTargetGroupInput,
    ) -> Result<wire::TargetGroup, ApiError> {
        check_name("Target group", &input.name)?;
        let target_type = input
            .target_type
            .clone()
            .unwrap_or(wire::TargetTypeEnum::Instance);
        if !matches!(
            target_type,
            wire::TargetTypeEnum::Instance | wire::TargetTypeEnum::Ip
        ) {
            return Err(api_err!(
                elbv2::OperationNotPermittedException,
                "berth supports instance and ip target groups, not '{target_type}'"
            ));
        }
        let protocol = input
            .protocol
            .clone()
            .ok_or_else(|| validation("A protocol must be specified"))?;
        if !matches!(
            protocol,
            Protocol::Http
                | Protocol::Https
                | Protocol::Tcp
                | Protocol::Tls
                | Protocol::Udp
                | Protocol::TcpUdp
        ) {
            return Err(validation(format!(
                "Protocol '{protocol}' is not supported"
            )));
        }
        let port = input
            .port
            .ok_or_else(|| validation("A port must be specified"))?;
        if !(1..=65535).contains(&port) {
            return Err(validation(format!(
                "Port '{port}' must be between 1 and 65535"
            )));
        }
        let network = attributes::is_network_protocol(&protocol);
        if network && input.protocol_version.is_some() {
            return Err(validation(
                "A protocol version can only be specified for HTTP and HTTPS target groups",
            ));
        }
        let mut health_check = default_health_check(Some(&protocol));
        apply_health_check(
            &mut health_check,
            input.health_check_enabled,
            input.health_check_protocol.clone(),
            input.health_check_port.clone(),
            input.health_check_path.clone(),
            input.health_check_interval_seconds,
            input.health_check_timeout_seconds,
            input.healthy_threshold_count,
            input.unhealthy_threshold_count,
            input.matcher.clone(),
        )?;
        let protocol_version = (!network).then(|| {
            input
                .protocol_version
                .clone()
                .unwrap_or_else(|| "HTTP1".into())
                .to_ascii_uppercase()
        });
        if let Some(existing) = self.target_groups.values().find(|tg| tg.name == input.name) {
            // AWS: "If you attempt to create multiple target groups with the same settings,
            // each call succeeds."
            let same = existing.protocol.as_ref() == Some(&protocol)
                && existing.port == Some(port)
                && existing.target_type == target_type
                && existing.health_check == health_check;
            if same {
                return Ok(self.describe_target_group_one(existing));
            }
            return Err(api_err!(
                elbv2::DuplicateTargetGroupNameException,
                "A target group with the same name '{}' exists, but with different settings",
                input.name
            ));
        }
        if self.target_groups.len() >= MAX_TARGET_GROUPS {
            return Err(api_err!(
                elbv2::TooManyTargetGroupsException,
                "The maximum number of target groups has been reached"
            ));
        }
        super::tags_check(input.tags.as_deref().unwrap_or_default())?;
        let arn = self.arn(&format!("targetgroup/{}/{}", input.name, super::new_id()));
        let tg = TargetGroup {
            arn: arn.clone(),
            name: input.name,
            attributes: attributes::target_group_defaults(Some(&protocol), &target_type),
            protocol: Some(protocol),
            protocol_version,
            port: Some(port),
            vpc_id: Some(input.vpc_id.unwrap_or_else(|| "vpc-berth".into())),
            target_type,
            ip_address_type: input
                .ip_address_type
                .unwrap_or(wire::TargetGroupIpAddressTypeEnum::Ipv4),
            health_check,
            tags: input.tags.unwrap_or_default(),
            targets: BTreeMap::new(),
        };
        let out = self.describe_target_group_one(&tg);
        self.target_groups.insert(arn, tg);
        Ok(out)
    }

    fn describe_target_group_one(&self, tg: &TargetGroup) -> wire::TargetGroup {
        let hc = &tg.health_check;
        wire::TargetGroup {
            health_check_enabled: Some(hc.enabled),
            health_check_interval_seconds: Some(hc.interval_seconds),
            health_check_path: hc.path.clone(),
            health_check_port: Some(hc.port.clone()),
            health_check_protocol: Some(hc.protocol.clone()),
            health_check_timeout_seconds: Some(hc.timeout_seconds),
            healthy_threshold_count: Some(hc.healthy_threshold),
            unhealthy_threshold_count: Some(hc.unhealthy_threshold),
            ip_address_type: Some(tg.ip_address_type.clone()),
            load_balancer_arns: Some(self.load_balancers_of(&tg.arn)),
            matcher: hc.matcher.as_ref().map(|m| wire::Matcher {
                http_code: Some(m.clone()),
                grpc_code: None,
            }),
            port: tg.port,
            protocol: tg.protocol.clone(),
            protocol_version: tg.protocol_version.clone(),
            target_group_arn: Some(tg.arn.clone()),
            target_group_name: Some(tg.name.clone()),
            target_type: Some(tg.target_type.clone()),
            vpc_id: tg.vpc_id.clone(),
            target_control_port: None,
        }
    }

    pub(super) fn describe_target_groups(
        &self,
        input: wire::DescribeTargetGroupsInput,
    ) -> Result<wire::DescribeTargetGroupsOutput, ApiError> {
        let given = [
            input.load_balancer_arn.is_some(),
            input.names.is_some(),
            input.target_group_arns.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(validation(
                "Target group ARNs, target group names and a load balancer ARN cannot be specified at the same time",
            ));
        }
        let mut found: Vec<&TargetGroup> = Vec::new();
        if let Some(arns) = &input.target_group_arns {
            for arn in arns {
                found.push(self.target_group(arn)?);
            }
        } else if let Some(names) = &input.names {
            for name in names {
                found.push(
                    self.target_groups
                        .values()
                        .find(|tg| &tg.name == name)
                        .ok_or_else(|| {
                            api_err!(
                                elbv2::TargetGroupNotFoundException,
                                "One or more target groups not found"
                            )
                        })?,
                );
            }
        } else if let Some(lb) = &input.load_balancer_arn {
            self.check_load_balancer(lb)?;
            found = self
                .target_groups
                .values()
                .filter(|tg| self.load_balancers_of(&tg.arn).contains(lb))
                .collect();
        } else {
            found = self.target_groups.values().collect();
        }
        let page = super::page(
            found,
            |tg| tg.arn.clone(),
            input.page_size,
            input.marker.as_deref(),
        )?;
        Ok(wire::DescribeTargetGroupsOutput {
            target_groups: Some(
                page.items
                    .into_iter()
                    .map(|tg| self.describe_target_group_one(tg))
                    .collect(),
            ),
            next_marker: page.next_token,
        })
    }

    pub(super) fn modify_target_group(
        &mut self,
        input: wire::ModifyTargetGroupInput,
    ) -> Result<wire::TargetGroup, ApiError> {
        let tg = self.target_group_mut(&input.target_group_arn)?;
        apply_health_check(
            &mut tg.health_check,
            input.health_check_enabled,
            input.health_check_protocol,
            input.health_check_port,
            input.health_check_path,
            input.health_check_interval_seconds,
            input.health_check_timeout_seconds,
            input.healthy_threshold_count,
            input.unhealthy_threshold_count,
            input.matcher,
        )?;
        self.changed();
        let tg = self.target_group(&input.target_group_arn)?;
        Ok(self.describe_target_group_one(tg))
    }

    pub(super) fn delete_target_group(&mut self, arn: &str) -> Result<(), ApiError> {
        if !self.target_groups.contains_key(arn) {
            // AWS answers success for a target group that does not exist.
            return Ok(());
        }
        if self.in_use(arn) {
            return Err(api_err!(
                elbv2::ResourceInUseException,
                "Target group '{arn}' is currently in use by a listener or a rule"
            ));
        }
        self.target_groups.remove(arn);
        self.changed();
        Ok(())
    }

    pub(super) fn target_group_attributes(
        &self,
        arn: &str,
    ) -> Result<Vec<wire::TargetGroupAttribute>, ApiError> {
        Ok(self
            .target_group(arn)?
            .attributes
            .iter()
            .map(|(k, v)| wire::TargetGroupAttribute {
                key: Some(k.clone()),
                value: Some(v.clone()),
            })
            .collect())
    }

    pub(super) fn modify_target_group_attributes(
        &mut self,
        arn: &str,
        changes: Vec<wire::TargetGroupAttribute>,
    ) -> Result<Vec<wire::TargetGroupAttribute>, ApiError> {
        let tg = self.target_group_mut(arn)?;
        let changes: Vec<_> = changes.into_iter().map(|a| (a.key, a.value)).collect();
        attributes::modify_target_group(tg.protocol.as_ref(), &mut tg.attributes, &changes)?;
        self.changed();
        self.target_group_attributes(arn)
    }

    /// Registers targets by the API (`owner` None) or for an ECS service.
    pub(super) fn register_targets(
        &mut self,
        arn: &str,
        targets: Vec<wire::TargetDescription>,
        owner: Option<&str>,
    ) -> Result<(), ApiError> {
        let instances = self.instances.clone();
        let tg = self.target_group_mut(arn)?;
        let mut keys = Vec::new();
        for t in &targets {
            let port = t.port.or(tg.port).ok_or_else(|| {
                validation(format!("A port must be specified for target '{}'", t.id))
            })?;
            if !(1..=65535).contains(&port) {
                return Err(api_err!(
                    elbv2::InvalidTargetException,
                    "The following targets have an invalid port: {}",
                    t.id
                ));
            }
            let valid = match tg.target_type {
                wire::TargetTypeEnum::Ip => ip_target_ok(&t.id),
                _ => instances.contains_key(&t.id),
            };
            if !valid {
                let what = if tg.target_type == wire::TargetTypeEnum::Ip {
                    "The IP address '{}' is not a valid IPv4 address in the private ranges berth forwards to"
                        .replace("{}", &t.id)
                } else {
                    format!(
                        "The following targets are not in a running state and cannot be registered: '{}'",
                        t.id
                    )
                };
                return Err(api_err!(elbv2::InvalidTargetException, "{what}"));
            }
            keys.push(((t.id.clone(), port), t.availability_zone.clone()));
        }
        let new = keys
            .iter()
            .filter(|(k, _)| tg.targets.get(k).is_none_or(|t| t.draining_until.is_some()))
            .count();
        let active = tg
            .targets
            .values()
            .filter(|t| t.draining_until.is_none())
            .count();
        if active + new > MAX_TARGETS_PER_GROUP {
            return Err(api_err!(
                elbv2::TooManyTargetsException,
                "You have reached the limit on the number of targets"
            ));
        }
        for (key, az) in keys {
            let t = tg.targets.entry(key).or_insert(Target {
                availability_zone: az,
                health: None,
                draining_until: None,
                owner: owner.map(str::to_owned),
            });
            if t.draining_until.take().is_some() {
                t.health = None;
            }
        }
        self.changed();
        Ok(())
    }

    pub(super) fn deregister_targets(
        &mut self,
        arn: &str,
        targets: Vec<wire::TargetDescription>,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let tg = self.target_group_mut(arn)?;
        let delay: f64 = tg
            .attributes
            .get("deregistration_delay.timeout_seconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(300.0);
        let mut keys = Vec::new();
        for t in &targets {
            let key = (t.id.clone(), t.port.or(tg.port).unwrap_or_default());
            if !tg.targets.contains_key(&key) {
                return Err(api_err!(
                    elbv2::InvalidTargetException,
                    "The specified targets are not registered: {}",
                    t.id
                ));
            }
            keys.push(key);
        }
        for key in keys {
            drain(tg, &key, now, delay);
        }
        self.changed();
        Ok(())
    }

    pub(super) fn describe_target_health(
        &self,
        input: wire::DescribeTargetHealthInput,
        now: Timestamp,
    ) -> Result<Vec<wire::TargetHealthDescription>, ApiError> {
        let tg = self.target_group(&input.target_group_arn)?;
        let in_use = self.in_use(&tg.arn);
        let describe = |key: &TargetKey| -> wire::TargetHealthDescription {
            let health = match tg.targets.get(key) {
                None => Health {
                    state: TargetHealthStateEnum::Unused,
                    reason: Some(Reason::TargetNotRegistered),
                    description: Some("Target is not registered to the target group".into()),
                },
                Some(t) => target_health(tg, t, in_use, now),
            };
            wire::TargetHealthDescription {
                health_check_port: Some(if tg.health_check.port == "traffic-port" {
                    key.1.to_string()
                } else {
                    tg.health_check.port.clone()
                }),
                target: Some(wire::TargetDescription {
                    id: key.0.clone(),
                    port: Some(key.1),
                    availability_zone: tg
                        .targets
                        .get(key)
                        .and_then(|t| t.availability_zone.clone()),
                    quic_server_id: None,
                }),
                target_health: Some(wire::TargetHealth {
                    state: Some(health.state),
                    reason: health.reason,
                    description: health.description,
                }),
                ..Default::default()
            }
        };
        Ok(match input.targets {
            Some(targets) => targets
                .iter()
                .map(|t| describe(&(t.id.clone(), t.port.or(tg.port).unwrap_or_default())))
                .collect(),
            None => tg
                .targets
                .iter()
                .filter(|(_, t)| t.draining_until.is_none_or(|d| now < d))
                .map(|(k, _)| describe(k))
                .collect(),
        })
    }

    /// Records what a health check found (the proxy's health checker calls this on a change).
    pub fn report_health(&mut self, tg_arn: &str, key: &TargetKey, health: Health) {
        let Some(t) = self
            .target_groups
            .get_mut(tg_arn)
            .and_then(|tg| tg.targets.get_mut(key))
        else {
            return;
        };
        if t.health.as_ref() != Some(&health) {
            t.health = Some(health);
            self.changed();
        }
    }

    /// Forgets targets whose draining is over. Writes take this first.
    pub(super) fn settle(&mut self, now: Timestamp) {
        let mut gone = false;
        for tg in self.target_groups.values_mut() {
            let before = tg.targets.len();
            tg.targets
                .retain(|_, t| t.draining_until.is_none_or(|d| now < d));
            gone |= tg.targets.len() != before;
        }
        if gone {
            self.changed();
        }
    }

    /// The targets `owner` registered in a target group, draining or not.
    pub fn registered_by(&self, tg_arn: &str, owner: &str) -> Vec<TargetKey> {
        self.target_groups
            .get(tg_arn)
            .map(|tg| {
                tg.targets
                    .iter()
                    .filter(|(_, t)| {
                        t.owner.as_deref() == Some(owner) && t.draining_until.is_none()
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Registers `wanted` in a target group for `owner`, and drains what `owner` registered
    /// there before and no longer wants (links: an ECS service's tasks).
    pub fn sync_targets(
        &mut self,
        tg_arn: &str,
        owner: &str,
        wanted: &[EcsTarget],
        now: Timestamp,
    ) {
        let keep: Vec<TargetKey> = wanted.iter().map(|t| (t.id.clone(), t.port)).collect();
        let gone: Vec<TargetKey> = self
            .registered_by(tg_arn, owner)
            .into_iter()
            .filter(|k| !keep.contains(k))
            .collect();
        let Some(tg) = self.target_groups.get_mut(tg_arn) else {
            return;
        };
        let delay: f64 = tg
            .attributes
            .get("deregistration_delay.timeout_seconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(300.0);
        let mut changed = !gone.is_empty();
        for key in &gone {
            drain(tg, key, now, delay);
        }
        for key in keep {
            if tg
                .targets
                .get(&key)
                .is_some_and(|t| t.draining_until.is_none())
            {
                continue;
            }
            let t = tg.targets.entry(key).or_insert(Target {
                availability_zone: None,
                health: None,
                draining_until: None,
                owner: Some(owner.to_owned()),
            });
            t.draining_until = None;
            t.health = None;
            t.owner = Some(owner.to_owned());
            changed = true;
        }
        if changed {
            self.changed();
        }
    }

    /// The health DescribeTargetHealth reports for one target, if it is registered.
    pub fn health_of(&self, tg_arn: &str, key: &TargetKey, now: Timestamp) -> Option<Health> {
        let tg = self.target_groups.get(tg_arn)?;
        let t = tg.targets.get(key)?;
        Some(target_health(tg, t, self.in_use(tg_arn), now))
    }

    /// Tells instance targets where an EC2 instance (an ECS container instance) publishes its
    /// ports.
    pub fn set_instances(&mut self, instances: BTreeMap<String, String>) {
        if self.instances != instances {
            self.instances = instances;
            self.changed();
        }
    }

    /// The addresses of berth's tasks, which (with loopback) are what the proxy forwards to.
    pub fn set_task_addresses(&mut self, addresses: std::collections::BTreeSet<String>) {
        if self.task_addresses != addresses {
            self.task_addresses = addresses;
            self.changed();
        }
    }
}

fn drain(tg: &mut TargetGroup, key: &TargetKey, now: Timestamp, delay: f64) {
    if let Some(t) = tg.targets.get_mut(key)
        && t.draining_until.is_none()
    {
        t.draining_until = Some(Timestamp::from_secs_f64(now.as_secs_f64() + delay));
    }
}

/// The state AWS reports for a registered target.
fn target_health(tg: &TargetGroup, t: &Target, in_use: bool, now: Timestamp) -> Health {
    if t.draining_until.is_some_and(|d| now < d) {
        return Health {
            state: TargetHealthStateEnum::Draining,
            reason: Some(Reason::TargetDeregistrationInProgress),
            description: Some("Target deregistration is in progress".into()),
        };
    }
    if !in_use {
        return Health {
            state: TargetHealthStateEnum::Unused,
            reason: Some(Reason::TargetNotInUse),
            description: Some(
                "Target group is not configured to receive traffic from the load balancer".into(),
            ),
        };
    }
    if !tg.health_check.enabled {
        return Health {
            state: TargetHealthStateEnum::Unavailable,
            reason: Some(Reason::TargetHealthCheckDisabled),
            description: Some("Health checks are disabled".into()),
        };
    }
    t.health.clone().unwrap_or(Health {
        state: TargetHealthStateEnum::Initial,
        reason: Some(Reason::ElbRegistrationInProgress),
        description: Some("Target registration is in progress".into()),
    })
}
