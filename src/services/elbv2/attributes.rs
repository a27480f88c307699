//! Load balancer, target group and listener attributes: AWS's keys with their defaults, and the
//! checks ModifyXAttributes makes of the values (ELBv2 API reference, "LoadBalancerAttribute",
//! "TargetGroupAttribute", "ListenerAttribute").

use super::validation;
use crate::aws::ApiError;
use crate::wire::elbv2::{LoadBalancerTypeEnum, ProtocolEnum, TargetTypeEnum};
use std::collections::BTreeMap;

/// What a value must look like.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    /// An integer within the range.
    Int(i64, i64),
    OneOf(&'static [&'static str]),
    Text,
}

type Spec = (&'static str, &'static str, Kind);

const ALB: &[Spec] = &[
    ("access_logs.s3.enabled", "false", Kind::Bool),
    ("access_logs.s3.bucket", "", Kind::Text),
    ("access_logs.s3.prefix", "", Kind::Text),
    ("client_keep_alive.seconds", "3600", Kind::Int(60, 604800)),
    ("connection_logs.s3.enabled", "false", Kind::Bool),
    ("connection_logs.s3.bucket", "", Kind::Text),
    ("connection_logs.s3.prefix", "", Kind::Text),
    ("deletion_protection.enabled", "false", Kind::Bool),
    ("idle_timeout.timeout_seconds", "60", Kind::Int(1, 4000)),
    ("load_balancing.cross_zone.enabled", "true", Kind::Bool),
    (
        "routing.http.desync_mitigation_mode",
        "defensive",
        Kind::OneOf(&["monitor", "defensive", "strictest"]),
    ),
    (
        "routing.http.drop_invalid_header_fields.enabled",
        "false",
        Kind::Bool,
    ),
    (
        "routing.http.preserve_host_header.enabled",
        "false",
        Kind::Bool,
    ),
    (
        "routing.http.x_amzn_tls_version_and_cipher_suite.enabled",
        "false",
        Kind::Bool,
    ),
    ("routing.http.xff_client_port.enabled", "false", Kind::Bool),
    (
        "routing.http.xff_header_processing.mode",
        "append",
        Kind::OneOf(&["append", "preserve", "remove"]),
    ),
    ("routing.http2.enabled", "true", Kind::Bool),
    ("waf.fail_open.enabled", "false", Kind::Bool),
    ("zonal_shift.config.enabled", "false", Kind::Bool),
];

const NLB: &[Spec] = &[
    ("access_logs.s3.enabled", "false", Kind::Bool),
    ("access_logs.s3.bucket", "", Kind::Text),
    ("access_logs.s3.prefix", "", Kind::Text),
    ("deletion_protection.enabled", "false", Kind::Bool),
    (
        "dns_record.client_routing_policy",
        "any_availability_zone",
        Kind::OneOf(&[
            "availability_zone_affinity",
            "partial_availability_zone_affinity",
            "any_availability_zone",
        ]),
    ),
    ("load_balancing.cross_zone.enabled", "false", Kind::Bool),
    ("zonal_shift.config.enabled", "false", Kind::Bool),
];

const TG_HTTP: &[Spec] = &[
    (
        "deregistration_delay.timeout_seconds",
        "300",
        Kind::Int(0, 3600),
    ),
    (
        "load_balancing.algorithm.type",
        "round_robin",
        Kind::OneOf(&[
            "round_robin",
            "least_outstanding_requests",
            "weighted_random",
        ]),
    ),
    (
        "load_balancing.algorithm.anomaly_mitigation",
        "off",
        Kind::OneOf(&["on", "off"]),
    ),
    (
        "load_balancing.cross_zone.enabled",
        "use_load_balancer_configuration",
        Kind::OneOf(&["true", "false", "use_load_balancer_configuration"]),
    ),
    ("slow_start.duration_seconds", "0", Kind::Int(0, 900)),
    ("stickiness.enabled", "false", Kind::Bool),
    (
        "stickiness.type",
        "lb_cookie",
        Kind::OneOf(&["lb_cookie", "app_cookie"]),
    ),
    (
        "stickiness.lb_cookie.duration_seconds",
        "86400",
        Kind::Int(1, 604800),
    ),
    ("stickiness.app_cookie.cookie_name", "", Kind::Text),
    (
        "stickiness.app_cookie.duration_seconds",
        "86400",
        Kind::Int(1, 604800),
    ),
    (
        "target_group_health.dns_failover.minimum_healthy_targets.count",
        "off",
        Kind::Text,
    ),
    (
        "target_group_health.dns_failover.minimum_healthy_targets.percentage",
        "off",
        Kind::Text,
    ),
    (
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count",
        "1",
        Kind::Text,
    ),
    (
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage",
        "off",
        Kind::Text,
    ),
];

const TG_NETWORK: &[Spec] = &[
    (
        "deregistration_delay.timeout_seconds",
        "300",
        Kind::Int(0, 3600),
    ),
    (
        "deregistration_delay.connection_termination.enabled",
        "false",
        Kind::Bool,
    ),
    (
        "load_balancing.cross_zone.enabled",
        "use_load_balancer_configuration",
        Kind::OneOf(&["true", "false", "use_load_balancer_configuration"]),
    ),
    ("preserve_client_ip.enabled", "false", Kind::Bool),
    ("proxy_protocol_v2.enabled", "false", Kind::Bool),
    ("stickiness.enabled", "false", Kind::Bool),
    ("stickiness.type", "source_ip", Kind::OneOf(&["source_ip"])),
    (
        "target_health_state.unhealthy.connection_termination.enabled",
        "true",
        Kind::Bool,
    ),
    (
        "target_health_state.unhealthy.draining_interval_seconds",
        "0",
        Kind::Int(0, 360000),
    ),
];

const LISTENER_HTTP: &[Spec] = &[("routing.http.response.server.enabled", "true", Kind::Bool)];
const LISTENER_TCP: &[Spec] = &[("tcp.idle_timeout.seconds", "350", Kind::Int(60, 6000))];

fn lb_specs(kind: &LoadBalancerTypeEnum) -> &'static [Spec] {
    if *kind == LoadBalancerTypeEnum::Network {
        NLB
    } else {
        ALB
    }
}

/// Whether a target group protocol is one of an NLB's (layer 4).
pub fn is_network_protocol(p: &ProtocolEnum) -> bool {
    matches!(
        p,
        ProtocolEnum::Tcp | ProtocolEnum::Tls | ProtocolEnum::Udp | ProtocolEnum::TcpUdp
    )
}

fn tg_specs(protocol: Option<&ProtocolEnum>) -> &'static [Spec] {
    if protocol.is_some_and(is_network_protocol) {
        TG_NETWORK
    } else {
        TG_HTTP
    }
}

fn listener_specs(protocol: &ProtocolEnum) -> &'static [Spec] {
    if is_network_protocol(protocol) {
        LISTENER_TCP
    } else {
        LISTENER_HTTP
    }
}

fn defaults(specs: &[Spec]) -> BTreeMap<String, String> {
    specs
        .iter()
        .map(|(k, v, _)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn load_balancer_defaults(kind: &LoadBalancerTypeEnum) -> BTreeMap<String, String> {
    defaults(lb_specs(kind))
}

pub fn target_group_defaults(
    protocol: Option<&ProtocolEnum>,
    target_type: &TargetTypeEnum,
) -> BTreeMap<String, String> {
    let mut d = defaults(tg_specs(protocol));
    // Instance targets keep the client's address by default; ip targets do not (NLB guide).
    if d.contains_key("preserve_client_ip.enabled") && *target_type == TargetTypeEnum::Instance {
        d.insert("preserve_client_ip.enabled".into(), "true".into());
    }
    d
}

pub fn listener_defaults(protocol: &ProtocolEnum) -> BTreeMap<String, String> {
    defaults(listener_specs(protocol))
}

/// Applies `changes` (key, value) to `current` if every one is a known key with a valid value;
/// otherwise changes nothing and says what is wrong, as AWS does.
fn apply(
    specs: &[Spec],
    what: &str,
    current: &mut BTreeMap<String, String>,
    changes: &[(Option<String>, Option<String>)],
) -> Result<(), ApiError> {
    let mut next = current.clone();
    for (key, value) in changes {
        let key = key.as_deref().unwrap_or_default();
        let value = value.as_deref().unwrap_or_default();
        let Some((_, _, kind)) = specs.iter().find(|(k, _, _)| *k == key) else {
            return Err(validation(format!(
                "{what} attribute key '{key}' is not recognized"
            )));
        };
        let ok = match kind {
            Kind::Bool => value == "true" || value == "false",
            Kind::Int(lo, hi) => value.parse::<i64>().is_ok_and(|n| (*lo..=*hi).contains(&n)),
            Kind::OneOf(values) => values.contains(&value),
            Kind::Text => true,
        };
        if !ok {
            let expected = match kind {
                Kind::Bool => "must be 'true' or 'false'".to_owned(),
                Kind::Int(lo, hi) => format!("must be an integer between {lo} and {hi}"),
                Kind::OneOf(values) => format!("must be one of [{}]", values.join(", ")),
                Kind::Text => String::new(),
            };
            return Err(validation(format!(
                "{what} attribute '{key}' value '{value}' is not valid: it {expected}"
            )));
        }
        next.insert(key.to_owned(), value.to_owned());
    }
    *current = next;
    Ok(())
}

pub fn modify_load_balancer(
    kind: &LoadBalancerTypeEnum,
    current: &mut BTreeMap<String, String>,
    changes: &[(Option<String>, Option<String>)],
) -> Result<(), ApiError> {
    apply(lb_specs(kind), "Load balancer", current, changes)
}

pub fn modify_target_group(
    protocol: Option<&ProtocolEnum>,
    current: &mut BTreeMap<String, String>,
    changes: &[(Option<String>, Option<String>)],
) -> Result<(), ApiError> {
    apply(tg_specs(protocol), "Target group", current, changes)
}

pub fn modify_listener(
    protocol: &ProtocolEnum,
    current: &mut BTreeMap<String, String>,
    changes: &[(Option<String>, Option<String>)],
) -> Result<(), ApiError> {
    apply(listener_specs(protocol), "Listener", current, changes)
}
