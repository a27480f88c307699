//! Security groups and their rules. A rule is one protocol and port range towards one peer (an
//! IPv4 or IPv6 CIDR, another group, or a prefix list); EC2 describes a group's rules grouped into
//! `IpPermissions` and, through DescribeSecurityGroupRules, one by one with their `sgr-` ids.

use super::filters::{Filters, one};
use super::{State, ec2_err, new_id};
use crate::aws::ApiError;
use crate::wire::ec2 as wire;

pub(super) struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub rules: Vec<Rule>,
}

#[derive(Clone, PartialEq)]
pub(super) enum Peer {
    Cidr4(String),
    Cidr6(String),
    Group(String),
    PrefixList(String),
}

#[derive(Clone)]
pub(super) struct Rule {
    pub id: String,
    pub egress: bool,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all), or another protocol's number.
    pub protocol: String,
    pub from: Option<i32>,
    pub to: Option<i32>,
    pub peer: Peer,
    pub description: Option<String>,
}

impl Rule {
    fn same(&self, other: &Rule) -> bool {
        self.egress == other.egress
            && self.protocol == other.protocol
            && self.from == other.from
            && self.to == other.to
            && self.peer == other.peer
    }
}

pub(super) fn group_not_found(id: &str) -> ApiError {
    ec2_err!(
        "InvalidGroup.NotFound",
        "The security group '{id}' does not exist"
    )
}

/// EC2's names for protocols (`6` is `tcp`, `all` is `-1`).
fn protocol(given: Option<&str>) -> Result<String, ApiError> {
    let p = given.unwrap_or("-1").to_ascii_lowercase();
    Ok(match p.as_str() {
        "tcp" | "6" => "tcp",
        "udp" | "17" => "udp",
        "icmp" | "1" => "icmp",
        "icmpv6" | "58" => "icmpv6",
        "-1" | "all" => "-1",
        n if n.parse::<u8>().is_ok() => return Ok(p),
        _ => {
            return Err(ec2_err!(
                "InvalidParameterValue",
                "Invalid value '{p}' for IP protocol. Unknown protocol."
            ));
        }
    }
    .to_owned())
}

/// The rules one `IpPermission` stands for.
fn rules_of(p: wire::IpPermission, egress: bool) -> Result<Vec<Rule>, ApiError> {
    let protocol = protocol(p.ip_protocol.as_deref())?;
    let (from, to) = match protocol.as_str() {
        "-1" => (None, None),
        "tcp" | "udp" => {
            let (from, to) = (p.from_port.unwrap_or(-1), p.to_port.unwrap_or(-1));
            if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) || from > to {
                return Err(ec2_err!(
                    "InvalidParameterValue",
                    "Invalid TCP/UDP port range {from} to {to}"
                ));
            }
            (Some(from), Some(to))
        }
        _ => (p.from_port, p.to_port),
    };
    let rule = |peer, description| Rule {
        id: new_id("sgr"),
        egress,
        protocol: protocol.clone(),
        from,
        to,
        peer,
        description,
    };
    let mut out = Vec::new();
    for r in p.ip_ranges.unwrap_or_default() {
        let cidr = r.cidr_ip.unwrap_or_default();
        let net = cidr
            .parse::<ipnet::Ipv4Net>()
            .map_err(|_| ec2_err!("InvalidParameterValue", "CIDR block {cidr} is malformed"))?;
        out.push(rule(Peer::Cidr4(net.trunc().to_string()), r.description));
    }
    for r in p.ipv6_ranges.unwrap_or_default() {
        let cidr = r.cidr_ipv6.unwrap_or_default();
        let net = cidr
            .parse::<ipnet::Ipv6Net>()
            .map_err(|_| ec2_err!("InvalidParameterValue", "CIDR block {cidr} is malformed"))?;
        out.push(rule(Peer::Cidr6(net.trunc().to_string()), r.description));
    }
    for g in p.user_id_group_pairs.unwrap_or_default() {
        let id = g.group_id.unwrap_or_default();
        out.push(rule(Peer::Group(id), g.description));
    }
    for l in p.prefix_list_ids.unwrap_or_default() {
        out.push(rule(
            Peer::PrefixList(l.prefix_list_id.unwrap_or_default()),
            l.description,
        ));
    }
    Ok(out)
}

/// What Authorize and Revoke calls give: `IpPermissions`, or the older top-level members.
pub struct Permissions {
    pub ip_permissions: Option<Vec<wire::IpPermission>>,
    pub cidr_ip: Option<String>,
    pub ip_protocol: Option<String>,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub source_group: Option<String>,
}

impl Permissions {
    fn into_list(self) -> Vec<wire::IpPermission> {
        if let Some(list) = self.ip_permissions.filter(|l| !l.is_empty()) {
            return list;
        }
        if self.cidr_ip.is_none() && self.source_group.is_none() {
            return Vec::new();
        }
        vec![wire::IpPermission {
            ip_protocol: self.ip_protocol,
            from_port: self.from_port,
            to_port: self.to_port,
            ip_ranges: self.cidr_ip.map(|c| {
                vec![wire::IpRange {
                    cidr_ip: Some(c),
                    description: None,
                }]
            }),
            user_id_group_pairs: self.source_group.map(|g| {
                vec![wire::UserIdGroupPair {
                    group_name: Some(g),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        }]
    }
}

/// The egress rule every new group starts with.
fn all_traffic_out() -> Rule {
    Rule {
        id: new_id("sgr"),
        egress: true,
        protocol: "-1".to_owned(),
        from: None,
        to: None,
        peer: Peer::Cidr4("0.0.0.0/0".to_owned()),
        description: None,
    }
}

impl State {
    /// A VPC's `default` group: all traffic in from itself, all traffic out.
    pub(super) fn add_default_group(&mut self, vpc: &str) -> String {
        let id = new_id("sg");
        let inbound = Rule {
            id: new_id("sgr"),
            egress: false,
            protocol: "-1".to_owned(),
            from: None,
            to: None,
            peer: Peer::Group(id.clone()),
            description: None,
        };
        self.groups.insert(
            id.clone(),
            Group {
                id: id.clone(),
                name: "default".to_owned(),
                description: "default VPC security group".to_owned(),
                vpc_id: vpc.to_owned(),
                rules: vec![inbound, all_traffic_out()],
            },
        );
        id
    }

    /// A group by id or, in the default VPC, by name.
    fn group_id(&self, id: Option<&str>, name: Option<&str>) -> Result<String, ApiError> {
        match (id, name) {
            (Some(id), _) => self
                .groups
                .contains_key(id)
                .then(|| id.to_owned())
                .ok_or_else(|| group_not_found(id)),
            (None, Some(name)) => {
                let vpc = self.default_vpc().map(|v| v.id.clone()).unwrap_or_default();
                self.groups
                    .values()
                    .find(|g| g.name == name && g.vpc_id == vpc)
                    .map(|g| g.id.clone())
                    .ok_or_else(|| {
                        ec2_err!(
                            "InvalidGroup.NotFound",
                            "The security group '{name}' does not exist in default VPC '{vpc}'"
                        )
                    })
            }
            (None, None) => Err(ec2_err!(
                "MissingParameter",
                "The request must contain the parameter groupName or groupId"
            )),
        }
    }

    pub fn create_security_group(
        &mut self,
        name: &str,
        description: &str,
        vpc: Option<&str>,
        tags: Option<Vec<wire::TagSpecification>>,
    ) -> Result<wire::CreateSecurityGroupResult, ApiError> {
        let vpc = match vpc {
            Some(v) => self.vpc(v)?.id.clone(),
            None => self
                .default_vpc()
                .map(|v| v.id.clone())
                .ok_or_else(|| ec2_err!("VPCIdNotSpecified", "No default VPC for this user"))?,
        };
        if name.is_empty() || name.len() > 255 || name.starts_with("sg-") {
            return Err(ec2_err!(
                "InvalidParameterValue",
                "Value ({name}) for parameter GroupName is invalid. Group names may not be in \
                 the format sg-* and must be 1 to 255 characters."
            ));
        }
        if self
            .groups
            .values()
            .any(|g| g.vpc_id == vpc && g.name == name)
        {
            return Err(ec2_err!(
                "InvalidGroup.Duplicate",
                "The security group '{name}' already exists for VPC '{vpc}'"
            ));
        }
        let id = new_id("sg");
        self.groups.insert(
            id.clone(),
            Group {
                id: id.clone(),
                name: name.to_owned(),
                description: description.to_owned(),
                vpc_id: vpc,
                rules: vec![all_traffic_out()],
            },
        );
        if let Err(e) = self.tag_specified(&id, "security-group", tags) {
            self.groups.remove(&id);
            return Err(e);
        }
        Ok(wire::CreateSecurityGroupResult {
            security_group_arn: Some(self.arn(&format!("security-group/{id}"))),
            tags: self.tags_of(&id),
            group_id: Some(id),
        })
    }

    pub fn delete_security_group(
        &mut self,
        id: Option<&str>,
        name: Option<&str>,
    ) -> Result<String, ApiError> {
        let id = self.group_id(id, name)?;
        let is_default = self.vpcs.values().any(|v| v.default_group_id == id);
        if is_default {
            return Err(ec2_err!(
                "CannotDelete",
                "the specified group: \"{id}\" name: \"default\" cannot be deleted by a user"
            ));
        }
        let referenced = self
            .groups
            .values()
            .any(|g| g.id != id && g.rules.iter().any(|r| r.peer == Peer::Group(id.clone())));
        if referenced {
            return Err(ec2_err!(
                "DependencyViolation",
                "resource {id} has a dependent object"
            ));
        }
        self.groups.remove(&id);
        self.tags.remove(&id);
        Ok(id)
    }

    /// Adds rules; the rules added.
    pub fn authorize(
        &mut self,
        group: Option<&str>,
        group_name: Option<&str>,
        egress: bool,
        permissions: Permissions,
    ) -> Result<Vec<wire::SecurityGroupRule>, ApiError> {
        let id = self.group_id(group, group_name)?;
        let list = permissions.into_list();
        if list.is_empty() {
            return Err(ec2_err!(
                "MissingParameter",
                "No IP permissions were specified"
            ));
        }
        let mut new = Vec::new();
        for p in list {
            for mut rule in rules_of(p, egress)? {
                if let Peer::Group(g) = &rule.peer {
                    rule.peer = Peer::Group(self.resolve_peer(g)?);
                }
                new.push(rule);
            }
        }
        let Some(group) = self.groups.get(&id) else {
            return Err(group_not_found(&id));
        };
        for (i, r) in new.iter().enumerate() {
            let twice = new[..i].iter().any(|o| o.same(r));
            if twice || group.rules.iter().any(|o| o.same(r)) {
                return Err(ec2_err!(
                    "InvalidPermission.Duplicate",
                    "the specified rule \"peer: {}, {}, ALLOW\" already exists",
                    peer_text(&r.peer),
                    ports_text(r)
                ));
            }
        }
        let out = new.iter().map(|r| self.rule_out(group, r)).collect();
        if let Some(group) = self.groups.get_mut(&id) {
            group.rules.extend(new);
        }
        Ok(out)
    }

    /// A peer group named by id (or, as the older calls allow, by name in the default VPC).
    fn resolve_peer(&self, given: &str) -> Result<String, ApiError> {
        if given.starts_with("sg-") {
            return self
                .groups
                .contains_key(given)
                .then(|| given.to_owned())
                .ok_or_else(|| group_not_found(given));
        }
        self.group_id(None, Some(given))
    }

    /// Removes rules (given by id or by what they allow); the rules removed.
    pub fn revoke(
        &mut self,
        group: Option<&str>,
        group_name: Option<&str>,
        egress: bool,
        rule_ids: &[String],
        permissions: Permissions,
    ) -> Result<Vec<wire::RevokedSecurityGroupRule>, ApiError> {
        let id = self.group_id(group, group_name)?;
        let mut wanted: Vec<Rule> = Vec::new();
        for p in permissions.into_list() {
            for mut rule in rules_of(p, egress)? {
                if let Peer::Group(g) = &rule.peer {
                    rule.peer = Peer::Group(self.resolve_peer(g)?);
                }
                wanted.push(rule);
            }
        }
        let Some(group) = self.groups.get_mut(&id) else {
            return Err(group_not_found(&id));
        };
        let mut removed = Vec::new();
        for rid in rule_ids {
            match group
                .rules
                .iter()
                .position(|r| &r.id == rid && r.egress == egress)
            {
                Some(i) => removed.push(group.rules.remove(i)),
                None => {
                    return Err(ec2_err!(
                        "InvalidSecurityGroupRuleId.NotFound",
                        "The security group rule ID '{rid}' does not exist"
                    ));
                }
            }
        }
        for w in &wanted {
            match group.rules.iter().position(|r| r.same(w)) {
                Some(i) => removed.push(group.rules.remove(i)),
                None => {
                    return Err(ec2_err!(
                        "InvalidPermission.NotFound",
                        "The specified rule does not exist in this security group."
                    ));
                }
            }
        }
        Ok(removed
            .into_iter()
            .map(|r| {
                let (cidr_ipv4, cidr_ipv6, referenced_group_id, prefix_list_id) =
                    peer_parts(&r.peer);
                wire::RevokedSecurityGroupRule {
                    security_group_rule_id: Some(r.id),
                    group_id: Some(id.clone()),
                    is_egress: Some(r.egress),
                    ip_protocol: Some(r.protocol),
                    from_port: Some(r.from.unwrap_or(-1)),
                    to_port: Some(r.to.unwrap_or(-1)),
                    cidr_ipv4,
                    cidr_ipv6,
                    referenced_group_id,
                    prefix_list_id,
                    description: r.description,
                }
            })
            .collect())
    }

    fn rule_out(&self, group: &Group, r: &Rule) -> wire::SecurityGroupRule {
        let (cidr_ipv4, cidr_ipv6, referenced, prefix_list_id) = peer_parts(&r.peer);
        wire::SecurityGroupRule {
            security_group_rule_id: Some(r.id.clone()),
            security_group_rule_arn: Some(self.arn(&format!("security-group-rule/{}", r.id))),
            group_id: Some(group.id.clone()),
            group_owner_id: Some(self.account_id.clone()),
            is_egress: Some(r.egress),
            ip_protocol: Some(r.protocol.clone()),
            from_port: Some(r.from.unwrap_or(-1)),
            to_port: Some(r.to.unwrap_or(-1)),
            cidr_ipv4,
            cidr_ipv6,
            prefix_list_id,
            referenced_group_info: referenced.map(|g| wire::ReferencedSecurityGroup {
                group_id: Some(g),
                user_id: Some(self.account_id.clone()),
                ..Default::default()
            }),
            description: r.description.clone(),
            tags: self.tags_of(&r.id),
        }
    }

    /// A group's rules as `IpPermissions`: one entry per protocol and port range.
    fn permissions(&self, group: &Group, egress: bool) -> Vec<wire::IpPermission> {
        let mut out: Vec<wire::IpPermission> = Vec::new();
        for r in group.rules.iter().filter(|r| r.egress == egress) {
            let i = match out.iter().position(|p| {
                p.ip_protocol.as_deref() == Some(r.protocol.as_str())
                    && p.from_port == r.from
                    && p.to_port == r.to
            }) {
                Some(i) => i,
                None => {
                    out.push(wire::IpPermission {
                        ip_protocol: Some(r.protocol.clone()),
                        from_port: r.from,
                        to_port: r.to,
                        ip_ranges: Some(Vec::new()),
                        ipv6_ranges: Some(Vec::new()),
                        prefix_list_ids: Some(Vec::new()),
                        user_id_group_pairs: Some(Vec::new()),
                    });
                    out.len() - 1
                }
            };
            let p = &mut out[i];
            let description = r.description.clone();
            match &r.peer {
                Peer::Cidr4(c) => p.ip_ranges.get_or_insert_default().push(wire::IpRange {
                    cidr_ip: Some(c.clone()),
                    description,
                }),
                Peer::Cidr6(c) => p.ipv6_ranges.get_or_insert_default().push(wire::Ipv6Range {
                    cidr_ipv6: Some(c.clone()),
                    description,
                }),
                Peer::Group(g) => {
                    p.user_id_group_pairs
                        .get_or_insert_default()
                        .push(wire::UserIdGroupPair {
                            group_id: Some(g.clone()),
                            user_id: Some(self.account_id.clone()),
                            description,
                            ..Default::default()
                        })
                }
                Peer::PrefixList(l) => {
                    p.prefix_list_ids
                        .get_or_insert_default()
                        .push(wire::PrefixListId {
                            prefix_list_id: Some(l.clone()),
                            description,
                        })
                }
            }
        }
        out
    }

    pub fn describe_security_groups(
        &self,
        ids: &[String],
        names: &[String],
        filters: &Filters,
    ) -> Result<Vec<wire::SecurityGroup>, ApiError> {
        for id in ids {
            self.group_id(Some(id), None)?;
        }
        let named: Vec<String> = names
            .iter()
            .map(|n| self.group_id(None, Some(n)))
            .collect::<Result<_, _>>()?;
        let mut out = Vec::new();
        for g in self.groups.values() {
            if (!ids.is_empty() && !ids.contains(&g.id))
                || (!named.is_empty() && !named.contains(&g.id))
            {
                continue;
            }
            let tags = self.tags.get(&g.id).map(Vec::as_slice);
            let keep = filters.matches_tagged(tags, |f| match f {
                "group-id" => Some(one(&g.id)),
                "group-name" => Some(one(&g.name)),
                "vpc-id" => Some(one(&g.vpc_id)),
                "description" => Some(one(&g.description)),
                "owner-id" => Some(one(&self.account_id)),
                "ip-permission.protocol" => Some(
                    g.rules
                        .iter()
                        .filter(|r| !r.egress)
                        .map(|r| r.protocol.clone())
                        .collect(),
                ),
                _ => None,
            })?;
            if keep {
                out.push(wire::SecurityGroup {
                    group_id: Some(g.id.clone()),
                    group_name: Some(g.name.clone()),
                    description: Some(g.description.clone()),
                    vpc_id: Some(g.vpc_id.clone()),
                    owner_id: Some(self.account_id.clone()),
                    security_group_arn: Some(self.arn(&format!("security-group/{}", g.id))),
                    ip_permissions: Some(self.permissions(g, false)),
                    ip_permissions_egress: Some(self.permissions(g, true)),
                    tags: self.tags_of(&g.id),
                });
            }
        }
        Ok(out)
    }

    pub fn describe_security_group_rules(
        &self,
        ids: &[String],
        filters: &Filters,
    ) -> Result<Vec<wire::SecurityGroupRule>, ApiError> {
        let mut out = Vec::new();
        for g in self.groups.values() {
            for r in &g.rules {
                if !ids.is_empty() && !ids.contains(&r.id) {
                    continue;
                }
                let tags = self.tags.get(&r.id).map(Vec::as_slice);
                let keep = filters.matches_tagged(tags, |f| match f {
                    "group-id" => Some(one(&g.id)),
                    "security-group-rule-id" => Some(one(&r.id)),
                    _ => None,
                })?;
                if keep {
                    out.push(self.rule_out(g, r));
                }
            }
        }
        for id in ids {
            if !out
                .iter()
                .any(|r| r.security_group_rule_id.as_deref() == Some(id.as_str()))
            {
                return Err(ec2_err!(
                    "InvalidSecurityGroupRuleId.NotFound",
                    "The security group rule ID '{id}' does not exist"
                ));
            }
        }
        Ok(out)
    }
}

/// (IPv4 CIDR, IPv6 CIDR, group, prefix list): the one a peer is.
fn peer_parts(
    peer: &Peer,
) -> (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    match peer {
        Peer::Cidr4(c) => (Some(c.clone()), None, None, None),
        Peer::Cidr6(c) => (None, Some(c.clone()), None, None),
        Peer::Group(g) => (None, None, Some(g.clone()), None),
        Peer::PrefixList(l) => (None, None, None, Some(l.clone())),
    }
}

fn peer_text(peer: &Peer) -> String {
    match peer {
        Peer::Cidr4(c) | Peer::Cidr6(c) | Peer::Group(c) | Peer::PrefixList(c) => c.clone(),
    }
}

fn ports_text(r: &Rule) -> String {
    match (r.protocol.as_str(), r.from, r.to) {
        ("-1", ..) => "ALL".to_owned(),
        (p, Some(from), Some(to)) => {
            format!("{}, from port: {from}, to port: {to}", p.to_uppercase())
        }
        (p, ..) => p.to_uppercase(),
    }
}
