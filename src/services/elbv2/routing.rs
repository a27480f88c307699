//! What the proxy routes by, as plain data: an immutable [`Snapshot`] of every listener with
//! its rules compiled (conditions, actions, target groups with their targets' addresses and
//! health), built from the state after a change and swapped in whole, so that no request takes
//! the state's lock. Matching a rule's conditions against a request's facts lives here too
//! (ALB's semantics: values of one condition are ORed, conditions are ANDed; host, header and
//! query values match case-insensitively, paths and methods case-sensitively; `*` and `?`
//! wildcards). Nothing here knows HTTP or sockets.

use super::{HealthCheck, State, TargetKey};
use crate::aws::Timestamp;
pub use crate::aws::wildcard::matches as wildcard;
use crate::wire::elbv2 as wire;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wire::{ActionTypeEnum as ActionType, ProtocolEnum as Protocol};

/// A rule condition, compiled.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Host(Vec<String>),
    Path(Vec<String>),
    Header {
        name: String,
        values: Vec<String>,
    },
    Method(Vec<String>),
    /// (key, value) pairs; a missing key matches any key.
    Query(Vec<(Option<String>, String)>),
    SourceIp(Vec<(IpAddr, u8)>),
}

impl Condition {
    pub fn value_count(&self) -> usize {
        match self {
            Condition::Host(v) | Condition::Path(v) | Condition::Method(v) => v.len(),
            Condition::Header { values, .. } => values.len(),
            Condition::Query(v) => v.len(),
            Condition::SourceIp(v) => v.len(),
        }
    }

    pub fn wildcard_count(&self) -> usize {
        let count = |s: &str| s.chars().filter(|c| *c == '*' || *c == '?').count();
        match self {
            Condition::Host(v) | Condition::Path(v) => v.iter().map(|s| count(s)).sum(),
            Condition::Header { values, .. } => values.iter().map(|s| count(s)).sum(),
            Condition::Query(v) => v
                .iter()
                .map(|(k, val)| k.as_deref().map_or(0, count) + count(val))
                .sum(),
            Condition::Method(_) | Condition::SourceIp(_) => 0,
        }
    }
}

/// A condition as the API gives it, checked as AWS checks it; the error is the message.
pub fn compile_condition(c: &wire::RuleCondition) -> Result<Condition, String> {
    let field = c.field.as_deref().unwrap_or_default();
    let legacy = c.values.clone();
    let both = |has_config: bool| -> Result<(), String> {
        if has_config && legacy.is_some() {
            return Err(format!(
                "You cannot specify both 'Values' and a config for the '{field}' condition"
            ));
        }
        Ok(())
    };
    let nonempty = |v: Option<Vec<String>>| -> Result<Vec<String>, String> {
        match v {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(format!(
                "The '{field}' condition must have at least one value"
            )),
        }
    };
    let max_len = |v: &[String], n: usize| -> Result<(), String> {
        match v.iter().find(|s| s.is_empty() || s.len() > n) {
            Some(s) => Err(format!(
                "Condition value '{s}' must be between 1 and {n} characters"
            )),
            None => Ok(()),
        }
    };
    match field {
        "host-header" => {
            // AWS echoes a host-header or path-pattern condition with its values in both
            // forms; only different values in the two are a conflict.
            both(
                c.host_header_config
                    .as_ref()
                    .is_some_and(|h| h.values.is_some() && h.values != legacy),
            )?;
            let v = nonempty(
                c.host_header_config
                    .as_ref()
                    .and_then(|h| h.values.clone())
                    .or(legacy.clone()),
            )?;
            max_len(&v, 128)?;
            if let Some(bad) = v.iter().find(|s| {
                !s.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "-.*?_".contains(ch))
            }) {
                return Err(format!(
                    "Host header value '{bad}' contains invalid characters"
                ));
            }
            Ok(Condition::Host(
                v.iter().map(|s| s.to_ascii_lowercase()).collect(),
            ))
        }
        "path-pattern" => {
            both(
                c.path_pattern_config
                    .as_ref()
                    .is_some_and(|h| h.values.is_some() && h.values != legacy),
            )?;
            let v = nonempty(
                c.path_pattern_config
                    .as_ref()
                    .and_then(|h| h.values.clone())
                    .or(legacy.clone()),
            )?;
            max_len(&v, 128)?;
            Ok(Condition::Path(v))
        }
        "http-header" => {
            both(true)?;
            let h = c
                .http_header_config
                .as_ref()
                .ok_or("An http-header condition needs an HttpHeaderConfig")?;
            let name = h.http_header_name.clone().unwrap_or_default();
            if name.is_empty() || name.len() > 40 {
                return Err("The HTTP header name must be between 1 and 40 characters".into());
            }
            let values = nonempty(h.values.clone())?;
            max_len(&values, 128)?;
            Ok(Condition::Header {
                name: name.to_ascii_lowercase(),
                values: values.iter().map(|s| s.to_ascii_lowercase()).collect(),
            })
        }
        "http-request-method" => {
            both(true)?;
            let v = nonempty(
                c.http_request_method_config
                    .as_ref()
                    .and_then(|h| h.values.clone()),
            )?;
            max_len(&v, 40)?;
            if let Some(bad) = v.iter().find(|s| {
                !s.chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch == '_' || ch == '-')
            }) {
                return Err(format!(
                    "HTTP request method '{bad}' can only contain A-Z, '_' and '-'"
                ));
            }
            Ok(Condition::Method(v))
        }
        "query-string" => {
            both(true)?;
            let pairs = c
                .query_string_config
                .as_ref()
                .and_then(|q| q.values.clone())
                .filter(|v| !v.is_empty())
                .ok_or("The 'query-string' condition must have at least one value")?;
            let mut out = Vec::new();
            for p in pairs {
                let value = p.value.clone().unwrap_or_default();
                if value.is_empty() || value.len() > 128 {
                    return Err(
                        "A query string condition value must be between 1 and 128 characters"
                            .into(),
                    );
                }
                out.push((
                    p.key.map(|k| k.to_ascii_lowercase()),
                    value.to_ascii_lowercase(),
                ));
            }
            Ok(Condition::Query(out))
        }
        "source-ip" => {
            both(true)?;
            let v = nonempty(c.source_ip_config.as_ref().and_then(|s| s.values.clone()))?;
            let mut out = Vec::new();
            for cidr in v {
                out.push(parse_cidr(&cidr).ok_or(format!(
                    "Source IP value '{cidr}' is not a valid CIDR block"
                ))?);
            }
            Ok(Condition::SourceIp(out))
        }
        other => Err(format!(
            "Condition field '{other}' must be one of '[http-header, http-request-method, host-header, path-pattern, query-string, source-ip]'"
        )),
    }
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

fn in_cidr(ip: IpAddr, (net, bits): (IpAddr, u8)) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// What a rule can look at in a request.
pub struct RequestFacts<'a> {
    /// The Host header without its port.
    pub host: &'a str,
    pub path: &'a str,
    pub method: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    pub source: IpAddr,
    /// Header (lowercase name, value) pairs.
    pub headers: &'a [(&'a str, &'a str)],
}

impl Condition {
    pub fn matches(&self, r: &RequestFacts) -> bool {
        match self {
            Condition::Host(v) => v.iter().any(|p| wildcard(p, r.host, true)),
            Condition::Path(v) => v.iter().any(|p| wildcard(p, r.path, false)),
            Condition::Method(v) => v.iter().any(|m| m == r.method),
            Condition::Header { name, values } => r
                .headers
                .iter()
                .filter(|(n, _)| n == name)
                .any(|(_, val)| values.iter().any(|p| wildcard(p, val, true))),
            Condition::Query(pairs) => {
                let params: Vec<(String, String)> = form_urlencoded::parse(r.query.as_bytes())
                    .into_owned()
                    .collect();
                pairs.iter().any(|(k, v)| {
                    params.iter().any(|(pk, pv)| {
                        k.as_deref().is_none_or(|k| wildcard(k, pk, true)) && wildcard(v, pv, true)
                    })
                })
            }
            Condition::SourceIp(nets) => nets.iter().any(|n| in_cidr(r.source, *n)),
        }
    }
}

/// A health check matcher ("200", "200,202", "200-299") as ranges of codes; `None` if invalid.
pub fn parse_matcher(s: &str) -> Option<Vec<(u16, u16)>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let n: u16 = part.trim().parse().ok()?;
                (n, n)
            }
        };
        if !(200..=499).contains(&lo) || !(200..=499).contains(&hi) || lo > hi {
            return None;
        }
        out.push((lo, hi));
    }
    (!out.is_empty()).then_some(out)
}

/// A target the proxy may send to.
#[derive(Debug, Clone)]
pub struct RouteTarget {
    pub addr: SocketAddr,
    pub healthy: bool,
}

/// A target group's routable targets, with its round-robin cursor.
#[derive(Debug)]
pub struct TargetSet {
    pub arn: String,
    pub targets: Vec<RouteTarget>,
    /// The AWSALB cookie's lifetime in seconds, when the group has lb_cookie stickiness.
    pub sticky_seconds: Option<u64>,
    cursor: AtomicUsize,
}

impl TargetSet {
    /// `addr`, if it is a target a sticky request may still go to: one of the group's, and
    /// healthy unless none is.
    pub fn sticky(&self, addr: SocketAddr) -> Option<SocketAddr> {
        let any_healthy = self.targets.iter().any(|t| t.healthy);
        self.targets
            .iter()
            .find(|t| t.addr == addr && (t.healthy || !any_healthy))
            .map(|t| t.addr)
    }

    /// The next target round robin among the healthy ones; when none is healthy, among all of
    /// them (ALB fails open); `None` when the group has no targets.
    pub fn next(&self) -> Option<SocketAddr> {
        let healthy: Vec<&RouteTarget> = self.targets.iter().filter(|t| t.healthy).collect();
        let pool: Vec<&RouteTarget> = if healthy.is_empty() {
            self.targets.iter().collect()
        } else {
            healthy
        };
        if pool.is_empty() {
            return None;
        }
        let i = self.cursor.fetch_add(1, Ordering::Relaxed);
        Some(pool[i % pool.len()].addr)
    }
}

/// What a matching rule does.
#[derive(Debug)]
pub enum RouteAction {
    /// Weighted target groups.
    Forward(Vec<(Arc<TargetSet>, u32)>, AtomicUsize),
    Fixed {
        status: u16,
        content_type: Option<String>,
        body: String,
    },
    Redirect(wire::RedirectActionConfig),
}

impl RouteAction {
    /// The target group a request goes to, by weight.
    pub fn pick(&self) -> Option<&Arc<TargetSet>> {
        let RouteAction::Forward(groups, counter) = self else {
            return None;
        };
        let total: u32 = groups.iter().map(|(_, w)| *w).sum();
        if total == 0 {
            return groups.first().map(|(g, _)| g);
        }
        let mut n = (counter.fetch_add(1, Ordering::Relaxed) as u32) % total;
        for (g, w) in groups {
            if n < *w {
                return Some(g);
            }
            n -= w;
        }
        groups.first().map(|(g, _)| g)
    }
}

#[derive(Debug)]
pub struct RouteRule {
    pub conditions: Vec<Condition>,
    pub action: RouteAction,
}

/// A listener as the proxy serves it.
#[derive(Debug)]
pub struct ListenerRoute {
    pub arn: String,
    pub load_balancer_name: String,
    pub protocol: Protocol,
    pub port: u16,
    /// Rules by priority, the default rule (no conditions) last.
    pub rules: Vec<RouteRule>,
    pub idle_timeout_secs: u64,
}

impl ListenerRoute {
    /// The action of the first rule whose conditions all hold.
    pub fn route(&self, r: &RequestFacts) -> Option<&RouteAction> {
        self.rules
            .iter()
            .find(|rule| rule.conditions.iter().all(|c| c.matches(r)))
            .map(|rule| &rule.action)
    }
}

/// A target the health checker probes.
#[derive(Debug, Clone)]
pub struct HealthTarget {
    pub region: String,
    pub target_group_arn: String,
    pub key: TargetKey,
    /// `None`: berth does not forward to this address (not loopback, not one of its tasks).
    pub addr: Option<SocketAddr>,
    pub check: HealthCheck,
}

/// Everything the proxy needs, for every region.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub listeners: Vec<Arc<ListenerRoute>>,
    pub health: Vec<HealthTarget>,
}

impl Snapshot {
    pub fn build<'a>(regions: impl Iterator<Item = &'a State>, now: Timestamp) -> Snapshot {
        let mut snap = Snapshot::default();
        for s in regions {
            s.add_to(&mut snap, now);
        }
        snap
    }
}

impl State {
    /// Where a target's traffic goes, if berth may send it there.
    fn address_of(&self, tg: &super::TargetGroup, key: &TargetKey) -> Option<SocketAddr> {
        // Instance targets are berth's own container instances, at the address their ports are
        // published on; ip targets must be loopback or one of berth's tasks.
        let (ip, allowed): (IpAddr, bool) = match tg.target_type {
            wire::TargetTypeEnum::Ip => {
                let ip: IpAddr = key.0.parse().ok()?;
                (
                    ip,
                    ip.is_loopback() || self.task_addresses.contains(&ip.to_string()),
                )
            }
            _ => (self.instances.get(&key.0)?.parse().ok()?, true),
        };
        let port = u16::try_from(key.1).ok()?;
        allowed.then_some(SocketAddr::new(ip, port))
    }

    fn add_to(&self, snap: &mut Snapshot, now: Timestamp) {
        let mut sets: std::collections::BTreeMap<&str, Arc<TargetSet>> = Default::default();
        for tg in self.target_groups.values() {
            let in_use = self.in_use(&tg.arn);
            let mut targets = Vec::new();
            for key in tg.targets.keys() {
                let Some(health) = self.health_of(&tg.arn, key, now) else {
                    continue;
                };
                let addr = self.address_of(tg, key);
                if in_use
                    && tg
                        .targets
                        .get(key)
                        .is_some_and(|t| t.draining_until.is_none())
                {
                    snap.health.push(HealthTarget {
                        region: self.region.clone(),
                        target_group_arn: tg.arn.clone(),
                        key: key.clone(),
                        addr,
                        check: tg.health_check.clone(),
                    });
                }
                let routable = !matches!(
                    health.state,
                    wire::TargetHealthStateEnum::Draining | wire::TargetHealthStateEnum::Unused
                );
                if let (Some(addr), true) = (addr, routable) {
                    targets.push(RouteTarget {
                        addr,
                        healthy: matches!(
                            health.state,
                            wire::TargetHealthStateEnum::Healthy
                                | wire::TargetHealthStateEnum::Unavailable
                        ),
                    });
                }
            }
            let attr = |k: &str| tg.attributes.get(k).map(String::as_str);
            let sticky_seconds = (attr("stickiness.enabled") == Some("true")
                && attr("stickiness.type") == Some("lb_cookie"))
            .then(|| {
                attr("stickiness.lb_cookie.duration_seconds")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(86400)
            });
            sets.insert(
                &tg.arn,
                Arc::new(TargetSet {
                    arn: tg.arn.clone(),
                    targets,
                    sticky_seconds,
                    cursor: AtomicUsize::new(0),
                }),
            );
        }
        let action = |actions: &[wire::Action]| -> RouteAction {
            let Some(a) = actions.last() else {
                return fixed(503, "");
            };
            match a.r#type {
                ActionType::Forward => {
                    let groups = a
                        .forward_config
                        .iter()
                        .flat_map(|f| f.target_groups.iter().flatten())
                        .filter_map(|t| {
                            let set = sets.get(t.target_group_arn.as_deref()?)?;
                            Some((set.clone(), t.weight.unwrap_or(1).max(0) as u32))
                        })
                        .collect();
                    RouteAction::Forward(groups, AtomicUsize::new(0))
                }
                ActionType::FixedResponse => {
                    let f = a.fixed_response_config.clone().unwrap_or_default();
                    RouteAction::Fixed {
                        status: f.status_code.parse().unwrap_or(503),
                        content_type: f.content_type,
                        body: f.message_body.unwrap_or_default(),
                    }
                }
                ActionType::Redirect => {
                    RouteAction::Redirect(a.redirect_config.clone().unwrap_or_default())
                }
                _ => fixed(503, ""),
            }
        };
        for l in self.listeners.values() {
            let Some(lb) = self.load_balancers.get(&l.load_balancer_arn) else {
                continue;
            };
            let mut rules: Vec<&super::Rule> = self
                .rules
                .values()
                .filter(|r| r.listener_arn == l.arn)
                .collect();
            rules.sort_by_key(|r| r.priority);
            // A rule whose conditions do not compile (none should: they were checked) never
            // matches, rather than matching everything.
            let mut routes: Vec<RouteRule> = rules
                .into_iter()
                .filter_map(|r| {
                    let conditions: Result<Vec<Condition>, String> =
                        r.conditions.iter().map(compile_condition).collect();
                    Some(RouteRule {
                        conditions: conditions.ok()?,
                        action: action(&r.actions),
                    })
                })
                .collect();
            routes.push(RouteRule {
                conditions: Vec::new(),
                action: action(&l.default_actions),
            });
            snap.listeners.push(Arc::new(ListenerRoute {
                arn: l.arn.clone(),
                load_balancer_name: lb.name.clone(),
                protocol: l.protocol.clone(),
                port: u16::try_from(l.port).unwrap_or(80),
                rules: routes,
                idle_timeout_secs: lb
                    .attributes
                    .get("idle_timeout.timeout_seconds")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(60),
            }));
        }
    }
}

fn fixed(status: u16, body: &str) -> RouteAction {
    RouteAction::Fixed {
        status,
        content_type: None,
        body: body.to_owned(),
    }
}

/// The `Location` of a redirect, with AWS's `#{protocol}`, `#{host}`, `#{port}`, `#{path}`
/// (without its leading '/') and `#{query}` substituted from the request.
pub fn redirect_location(
    r: &wire::RedirectActionConfig,
    protocol: &str,
    host: &str,
    port: u16,
    path: &str,
    query: &str,
) -> String {
    let path_tail = path.strip_prefix('/').unwrap_or(path);
    let sub = |s: &str| {
        s.replace("#{protocol}", protocol)
            .replace("#{host}", host)
            .replace("#{port}", &port.to_string())
            .replace("#{path}", path_tail)
            .replace("#{query}", query)
    };
    let proto = sub(r.protocol.as_deref().unwrap_or("#{protocol}")).to_ascii_lowercase();
    let to_host = sub(r.host.as_deref().unwrap_or("#{host}"));
    let to_port = sub(r.port.as_deref().unwrap_or("#{port}"));
    let to_path = sub(r.path.as_deref().unwrap_or("/#{path}"));
    let to_query = sub(r.query.as_deref().unwrap_or("#{query}"));
    let default_port =
        (proto == "http" && to_port == "80") || (proto == "https" && to_port == "443");
    let mut out = format!("{proto}://{to_host}");
    if !default_port {
        out.push(':');
        out.push_str(&to_port);
    }
    out.push_str(&to_path);
    if !to_query.is_empty() {
        out.push('?');
        out.push_str(&to_query);
    }
    out
}
