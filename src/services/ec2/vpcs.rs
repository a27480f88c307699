//! VPCs with what each comes with (a main route table with its local route, a default network
//! ACL, a default security group), and their subnets.

use super::filters::{Filters, flag, one};
use super::{State, ec2_err, new_id};
use crate::aws::ApiError;
use crate::wire::ec2 as wire;
use ipnet::Ipv4Net;

pub(super) struct Vpc {
    pub id: String,
    pub cidr: Ipv4Net,
    pub cidr_association: String,
    pub is_default: bool,
    pub tenancy: wire::Tenancy,
    pub dns_support: bool,
    pub dns_hostnames: bool,
    pub address_usage_metrics: bool,
    pub route_table_id: String,
    pub route_table_association: String,
    pub network_acl_id: String,
    pub default_group_id: String,
}

pub(super) fn vpc_not_found(id: &str) -> ApiError {
    ec2_err!("InvalidVpcID.NotFound", "The vpc ID '{id}' does not exist")
}

pub(super) fn subnet_not_found(id: &str) -> ApiError {
    ec2_err!(
        "InvalidSubnetID.NotFound",
        "The subnet ID '{id}' does not exist"
    )
}

fn parse_cidr(cidr: &str, parameter: &str) -> Result<Ipv4Net, ApiError> {
    cidr.parse::<Ipv4Net>().map(|n| n.trunc()).map_err(|_| {
        ec2_err!(
            "InvalidParameterValue",
            "Value ({cidr}) for parameter {parameter} is invalid. This is not a valid CIDR \
                 block."
        )
    })
}

/// Addresses a subnet offers: AWS keeps five of each.
fn available_addresses(net: &Ipv4Net) -> i32 {
    (1i64 << (32 - net.prefix_len())) as i32 - 5
}

impl State {
    pub(super) fn create_default_vpc(&mut self) {
        let cidr: Ipv4Net =
            Ipv4Net::new(std::net::Ipv4Addr::new(172, 31, 0, 0), 16).unwrap_or_default();
        let vpc = self.add_vpc(cidr, true, wire::Tenancy::Default);
        let zones = self.zones();
        for (i, (zone, zone_id)) in zones.into_iter().enumerate() {
            let octet = (16 * i) as u8;
            let net =
                Ipv4Net::new(std::net::Ipv4Addr::new(172, 31, octet, 0), 20).unwrap_or_default();
            self.add_subnet(&vpc, net, zone, zone_id, true);
        }
    }

    fn add_vpc(&mut self, cidr: Ipv4Net, is_default: bool, tenancy: wire::Tenancy) -> String {
        let id = new_id("vpc");
        let group = self.add_default_group(&id);
        self.vpcs.insert(
            id.clone(),
            Vpc {
                id: id.clone(),
                cidr,
                cidr_association: new_id("vpc-cidr-assoc"),
                is_default,
                tenancy,
                dns_support: true,
                dns_hostnames: is_default,
                address_usage_metrics: false,
                route_table_id: new_id("rtb"),
                route_table_association: new_id("rtbassoc"),
                network_acl_id: new_id("acl"),
                default_group_id: group,
            },
        );
        id
    }

    fn add_subnet(
        &mut self,
        vpc: &str,
        net: Ipv4Net,
        zone: String,
        zone_id: String,
        default_for_az: bool,
    ) -> wire::Subnet {
        let id = new_id("subnet");
        let subnet = wire::Subnet {
            subnet_arn: Some(self.arn(&format!("subnet/{id}"))),
            subnet_id: Some(id.clone()),
            vpc_id: Some(vpc.to_owned()),
            cidr_block: Some(net.to_string()),
            availability_zone: Some(zone),
            availability_zone_id: Some(zone_id),
            available_ip_address_count: Some(available_addresses(&net)),
            default_for_az: Some(default_for_az),
            map_public_ip_on_launch: Some(default_for_az),
            map_customer_owned_ip_on_launch: Some(false),
            assign_ipv6_address_on_creation: Some(false),
            ipv6_cidr_block_association_set: Some(Vec::new()),
            ipv6_native: Some(false),
            enable_dns64: Some(false),
            owner_id: Some(self.account_id.clone()),
            state: Some(wire::SubnetState::Available),
            private_dns_name_options_on_launch: Some(wire::PrivateDnsNameOptionsOnLaunch {
                hostname_type: Some(wire::HostnameType::IpName),
                enable_resource_name_dns_a_record: Some(false),
                enable_resource_name_dns_aaaa_record: Some(false),
            }),
            ..Default::default()
        };
        self.subnets.insert(id, subnet.clone());
        subnet
    }

    pub(super) fn vpc(&self, id: &str) -> Result<&Vpc, ApiError> {
        self.vpcs.get(id).ok_or_else(|| vpc_not_found(id))
    }

    fn vpc_mut(&mut self, id: &str) -> Result<&mut Vpc, ApiError> {
        self.vpcs.get_mut(id).ok_or_else(|| vpc_not_found(id))
    }

    pub(super) fn default_vpc(&self) -> Option<&Vpc> {
        self.vpcs.values().find(|v| v.is_default)
    }

    fn describe_vpc(&self, v: &Vpc) -> wire::Vpc {
        wire::Vpc {
            vpc_id: Some(v.id.clone()),
            cidr_block: Some(v.cidr.to_string()),
            cidr_block_association_set: Some(vec![wire::VpcCidrBlockAssociation {
                association_id: Some(v.cidr_association.clone()),
                cidr_block: Some(v.cidr.to_string()),
                cidr_block_state: Some(wire::VpcCidrBlockState {
                    state: Some(wire::VpcCidrBlockStateCode::Associated),
                    status_message: None,
                }),
            }]),
            ipv6_cidr_block_association_set: None,
            dhcp_options_id: Some("default".to_owned()),
            instance_tenancy: Some(v.tenancy.clone()),
            is_default: Some(v.is_default),
            owner_id: Some(self.account_id.clone()),
            state: Some(wire::VpcState::Available),
            tags: self.tags_of(&v.id),
            ..Default::default()
        }
    }

    pub fn create_vpc(
        &mut self,
        cidr: Option<&str>,
        tenancy: Option<wire::Tenancy>,
        tags: Option<Vec<wire::TagSpecification>>,
    ) -> Result<wire::Vpc, ApiError> {
        let Some(cidr) = cidr else {
            return Err(ec2_err!(
                "MissingParameter",
                "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided."
            ));
        };
        let net = parse_cidr(cidr, "cidrBlock")?;
        if !(16..=28).contains(&net.prefix_len()) {
            return Err(ec2_err!(
                "InvalidVpc.Range",
                "The CIDR '{cidr}' is invalid."
            ));
        }
        let id = self.add_vpc(net, false, tenancy.unwrap_or(wire::Tenancy::Default));
        if let Err(e) = self.tag_specified(&id, "vpc", tags) {
            self.remove_vpc(&id);
            return Err(e);
        }
        self.vpc(&id).map(|v| self.describe_vpc(v))
    }

    fn remove_vpc(&mut self, id: &str) {
        if let Some(v) = self.vpcs.remove(id) {
            for gone in [
                &v.id,
                &v.route_table_id,
                &v.network_acl_id,
                &v.default_group_id,
            ] {
                self.tags.remove(gone);
            }
            self.groups.remove(&v.default_group_id);
        }
    }

    pub fn delete_vpc(&mut self, id: &str) -> Result<(), ApiError> {
        let vpc = self.vpc(id)?;
        let has_subnets = self
            .subnets
            .values()
            .any(|s| s.vpc_id.as_deref() == Some(id));
        let has_groups = self
            .groups
            .values()
            .any(|g| g.vpc_id == id && g.id != vpc.default_group_id);
        if has_subnets || has_groups {
            return Err(ec2_err!(
                "DependencyViolation",
                "The vpc '{id}' has dependencies and cannot be deleted."
            ));
        }
        self.remove_vpc(id);
        Ok(())
    }

    pub fn describe_vpcs(
        &self,
        ids: &[String],
        filters: &Filters,
    ) -> Result<Vec<wire::Vpc>, ApiError> {
        for id in ids {
            self.vpc(id)?;
        }
        let mut out = Vec::new();
        for v in self.vpcs.values() {
            if !ids.is_empty() && !ids.contains(&v.id) {
                continue;
            }
            let tags = self.tags.get(&v.id).map(Vec::as_slice);
            let keep = filters.matches_tagged(tags, |f| match f {
                "vpc-id" => Some(one(&v.id)),
                "cidr" | "cidr-block-association.cidr-block" => Some(one(&v.cidr.to_string())),
                "cidr-block-association.association-id" => Some(one(&v.cidr_association)),
                "cidr-block-association.state" => Some(one("associated")),
                "is-default" | "isDefault" => Some(flag(v.is_default)),
                "state" => Some(one("available")),
                "owner-id" => Some(one(&self.account_id)),
                "dhcp-options-id" => Some(one("default")),
                _ => None,
            })?;
            if keep {
                out.push(self.describe_vpc(v));
            }
        }
        Ok(out)
    }

    pub fn vpc_attribute(
        &self,
        id: &str,
        attribute: &wire::VpcAttributeName,
    ) -> Result<wire::DescribeVpcAttributeResult, ApiError> {
        let v = self.vpc(id)?;
        let value = |b: bool| Some(wire::AttributeBooleanValue { value: Some(b) });
        let mut out = wire::DescribeVpcAttributeResult {
            vpc_id: Some(id.to_owned()),
            ..Default::default()
        };
        match attribute {
            wire::VpcAttributeName::EnableDnsSupport => {
                out.enable_dns_support = value(v.dns_support)
            }
            wire::VpcAttributeName::EnableDnsHostnames => {
                out.enable_dns_hostnames = value(v.dns_hostnames)
            }
            wire::VpcAttributeName::EnableNetworkAddressUsageMetrics => {
                out.enable_network_address_usage_metrics = value(v.address_usage_metrics)
            }
            other => {
                return Err(ec2_err!(
                    "InvalidParameterValue",
                    "Value ({other}) for parameter attribute is invalid. Unknown attribute."
                ));
            }
        }
        Ok(out)
    }

    pub fn modify_vpc_attribute(
        &mut self,
        id: &str,
        dns_support: Option<bool>,
        dns_hostnames: Option<bool>,
        address_usage_metrics: Option<bool>,
    ) -> Result<(), ApiError> {
        let given = [dns_support, dns_hostnames, address_usage_metrics];
        if given.iter().filter(|g| g.is_some()).count() != 1 {
            return Err(ec2_err!(
                "InvalidParameterCombination",
                "Only one attribute can be modified at a time"
            ));
        }
        let v = self.vpc_mut(id)?;
        if let Some(b) = dns_support {
            v.dns_support = b;
        }
        if let Some(b) = dns_hostnames {
            if b && !v.dns_support {
                return Err(ec2_err!(
                    "InvalidParameterValue",
                    "Cannot enable DNS hostnames when DNS support is disabled."
                ));
            }
            v.dns_hostnames = b;
        }
        if let Some(b) = address_usage_metrics {
            v.address_usage_metrics = b;
        }
        Ok(())
    }

    // Subnets.

    pub fn create_subnet(
        &mut self,
        vpc_id: &str,
        cidr: Option<&str>,
        zone: Option<&str>,
        zone_id: Option<&str>,
        tags: Option<Vec<wire::TagSpecification>>,
    ) -> Result<wire::Subnet, ApiError> {
        let vpc_cidr = self.vpc(vpc_id)?.cidr;
        let Some(cidr) = cidr else {
            return Err(ec2_err!(
                "MissingParameter",
                "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided."
            ));
        };
        let net = parse_cidr(cidr, "cidrBlock")?;
        if !(16..=28).contains(&net.prefix_len()) || !vpc_cidr.contains(&net) {
            return Err(ec2_err!(
                "InvalidSubnet.Range",
                "The CIDR '{cidr}' is invalid."
            ));
        }
        let clash = self.subnets.values().any(|s| {
            s.vpc_id.as_deref() == Some(vpc_id)
                && s.cidr_block
                    .as_deref()
                    .and_then(|c| c.parse::<Ipv4Net>().ok())
                    .is_some_and(|other| other.contains(&net) || net.contains(&other))
        });
        if clash {
            return Err(ec2_err!(
                "InvalidSubnet.Conflict",
                "The CIDR '{cidr}' conflicts with another subnet"
            ));
        }
        let zones = self.zones();
        let chosen = match (zone, zone_id) {
            (Some(z), _) => zones.iter().find(|(name, _)| name == z),
            (None, Some(z)) => zones.iter().find(|(_, id)| id == z),
            // Without a zone, EC2 picks one.
            (None, None) => zones.get(self.subnets.len() % zones.len()),
        };
        let Some((zone, zone_id)) = chosen.cloned() else {
            let names: Vec<&str> = zones.iter().map(|(n, _)| n.as_str()).collect();
            return Err(ec2_err!(
                "InvalidParameterValue",
                "Value ({}) for parameter availabilityZone is invalid. Subnets can currently \
                 only be created in the following availability zones: {}.",
                zone.or(zone_id).unwrap_or_default(),
                names.join(", ")
            ));
        };
        let subnet = self.add_subnet(vpc_id, net, zone, zone_id, false);
        let id = subnet.subnet_id.clone().unwrap_or_default();
        if let Err(e) = self.tag_specified(&id, "subnet", tags) {
            self.subnets.remove(&id);
            return Err(e);
        }
        Ok(wire::Subnet {
            tags: self.tags_of(&id),
            ..subnet
        })
    }

    pub fn delete_subnet(&mut self, id: &str) -> Result<(), ApiError> {
        self.subnets
            .remove(id)
            .ok_or_else(|| subnet_not_found(id))?;
        self.tags.remove(id);
        Ok(())
    }

    pub fn describe_subnets(
        &self,
        ids: &[String],
        filters: &Filters,
    ) -> Result<Vec<wire::Subnet>, ApiError> {
        for id in ids {
            if !self.subnets.contains_key(id) {
                return Err(subnet_not_found(id));
            }
        }
        let mut out = Vec::new();
        for (id, s) in &self.subnets {
            if !ids.is_empty() && !ids.contains(id) {
                continue;
            }
            let tags = self.tags.get(id).map(Vec::as_slice);
            let text = |v: &Option<String>| Some(one(v.as_deref().unwrap_or_default()));
            let keep = filters.matches_tagged(tags, |f| match f {
                "subnet-id" => Some(one(id)),
                "vpc-id" => text(&s.vpc_id),
                "cidr" | "cidr-block" | "cidrBlock" => text(&s.cidr_block),
                "availability-zone" | "availabilityZone" => text(&s.availability_zone),
                "availability-zone-id" | "availabilityZoneId" => text(&s.availability_zone_id),
                "default-for-az" | "defaultForAz" => Some(flag(s.default_for_az == Some(true))),
                "map-public-ip-on-launch" => Some(flag(s.map_public_ip_on_launch == Some(true))),
                "state" => Some(one("available")),
                "owner-id" => Some(one(&self.account_id)),
                "subnet-arn" => text(&s.subnet_arn),
                _ => None,
            })?;
            if keep {
                out.push(wire::Subnet {
                    tags: self.tags_of(id),
                    ..s.clone()
                });
            }
        }
        Ok(out)
    }

    pub fn modify_subnet_attribute(
        &mut self,
        req: wire::ModifySubnetAttributeRequest,
    ) -> Result<(), ApiError> {
        let s = self
            .subnets
            .get_mut(&req.subnet_id)
            .ok_or_else(|| subnet_not_found(&req.subnet_id))?;
        let value = |v: &Option<wire::AttributeBooleanValue>| v.as_ref().and_then(|v| v.value);
        if let Some(b) = value(&req.map_public_ip_on_launch) {
            s.map_public_ip_on_launch = Some(b);
        }
        if let Some(b) = value(&req.assign_ipv6_address_on_creation) {
            s.assign_ipv6_address_on_creation = Some(b);
        }
        if let Some(b) = value(&req.map_customer_owned_ip_on_launch) {
            s.map_customer_owned_ip_on_launch = Some(b);
        }
        if let Some(b) = value(&req.enable_dns64) {
            s.enable_dns64 = Some(b);
        }
        let options = s.private_dns_name_options_on_launch.get_or_insert_default();
        if let Some(b) = value(&req.enable_resource_name_dns_a_record_on_launch) {
            options.enable_resource_name_dns_a_record = Some(b);
        }
        if let Some(b) = value(&req.enable_resource_name_dns_aaaa_record_on_launch) {
            options.enable_resource_name_dns_aaaa_record = Some(b);
        }
        if let Some(t) = req.private_dns_hostname_type_on_launch {
            options.hostname_type = Some(t);
        }
        Ok(())
    }

    /// The subnet an awsvpc task names: its VPC and availability zone, if it exists.
    pub fn subnet_zone(&self, id: &str) -> Option<(String, String)> {
        let s = self.subnets.get(id)?;
        Some((s.vpc_id.clone()?, s.availability_zone.clone()?))
    }

    // Route tables and network ACLs: each VPC's main ones, as Terraform reads them.

    pub fn describe_route_tables(
        &self,
        ids: &[String],
        filters: &Filters,
    ) -> Result<Vec<wire::RouteTable>, ApiError> {
        let mut out = Vec::new();
        for v in self.vpcs.values() {
            if !ids.is_empty() && !ids.contains(&v.route_table_id) {
                continue;
            }
            let tags = self.tags.get(&v.route_table_id).map(Vec::as_slice);
            let keep = filters.matches_tagged(tags, |f| match f {
                "route-table-id" | "association.route-table-id" => Some(one(&v.route_table_id)),
                "vpc-id" => Some(one(&v.id)),
                "association.main" => Some(flag(true)),
                "association.route-table-association-id" => Some(one(&v.route_table_association)),
                "association.subnet-id" => Some(Vec::new()),
                "route.destination-cidr-block" => Some(one(&v.cidr.to_string())),
                "route.gateway-id" => Some(one("local")),
                "owner-id" => Some(one(&self.account_id)),
                _ => None,
            })?;
            if keep {
                out.push(wire::RouteTable {
                    route_table_id: Some(v.route_table_id.clone()),
                    vpc_id: Some(v.id.clone()),
                    owner_id: Some(self.account_id.clone()),
                    associations: Some(vec![wire::RouteTableAssociation {
                        main: Some(true),
                        route_table_association_id: Some(v.route_table_association.clone()),
                        route_table_id: Some(v.route_table_id.clone()),
                        association_state: Some(wire::RouteTableAssociationState {
                            state: Some(wire::RouteTableAssociationStateCode::Associated),
                            status_message: None,
                        }),
                        ..Default::default()
                    }]),
                    routes: Some(vec![wire::Route {
                        destination_cidr_block: Some(v.cidr.to_string()),
                        gateway_id: Some("local".to_owned()),
                        origin: Some(wire::RouteOrigin::CreateRouteTable),
                        state: Some(wire::RouteState::Active),
                        ..Default::default()
                    }]),
                    propagating_vgws: Some(Vec::new()),
                    tags: self.tags_of(&v.route_table_id),
                });
            }
        }
        for id in ids {
            if !out
                .iter()
                .any(|t| t.route_table_id.as_deref() == Some(id.as_str()))
            {
                return Err(ec2_err!(
                    "InvalidRouteTableID.NotFound",
                    "The routeTable ID '{id}' does not exist"
                ));
            }
        }
        Ok(out)
    }

    pub fn describe_network_acls(
        &self,
        ids: &[String],
        filters: &Filters,
    ) -> Result<Vec<wire::NetworkAcl>, ApiError> {
        let mut out = Vec::new();
        for v in self.vpcs.values() {
            if !ids.is_empty() && !ids.contains(&v.network_acl_id) {
                continue;
            }
            let subnets: Vec<&String> = self
                .subnets
                .iter()
                .filter(|(_, s)| s.vpc_id.as_deref() == Some(v.id.as_str()))
                .map(|(id, _)| id)
                .collect();
            let tags = self.tags.get(&v.network_acl_id).map(Vec::as_slice);
            let keep = filters.matches_tagged(tags, |f| match f {
                "network-acl-id" => Some(one(&v.network_acl_id)),
                "vpc-id" => Some(one(&v.id)),
                "default" => Some(flag(true)),
                "association.subnet-id" => Some(subnets.iter().map(|s| (*s).clone()).collect()),
                "association.network-acl-id" => Some(one(&v.network_acl_id)),
                "owner-id" => Some(one(&self.account_id)),
                _ => None,
            })?;
            if !keep {
                continue;
            }
            let entry =
                |egress: bool, number: i32, action: wire::RuleAction| wire::NetworkAclEntry {
                    cidr_block: Some("0.0.0.0/0".to_owned()),
                    egress: Some(egress),
                    protocol: Some("-1".to_owned()),
                    rule_action: Some(action),
                    rule_number: Some(number),
                    ..Default::default()
                };
            out.push(wire::NetworkAcl {
                network_acl_id: Some(v.network_acl_id.clone()),
                vpc_id: Some(v.id.clone()),
                is_default: Some(true),
                owner_id: Some(self.account_id.clone()),
                associations: Some(
                    subnets
                        .iter()
                        .map(|s| wire::NetworkAclAssociation {
                            // Stable per subnet, so that two reads agree.
                            network_acl_association_id: Some(format!(
                                "aclassoc-{}",
                                s.trim_start_matches("subnet-")
                            )),
                            network_acl_id: Some(v.network_acl_id.clone()),
                            subnet_id: Some((*s).clone()),
                        })
                        .collect(),
                ),
                entries: Some(vec![
                    entry(true, 100, wire::RuleAction::Allow),
                    entry(true, 32767, wire::RuleAction::Deny),
                    entry(false, 100, wire::RuleAction::Allow),
                    entry(false, 32767, wire::RuleAction::Deny),
                ]),
                tags: self.tags_of(&v.network_acl_id),
            });
        }
        for id in ids {
            if !out
                .iter()
                .any(|a| a.network_acl_id.as_deref() == Some(id.as_str()))
            {
                return Err(ec2_err!(
                    "InvalidNetworkAclID.NotFound",
                    "The networkAcl ID '{id}' does not exist"
                ));
            }
        }
        Ok(out)
    }
}
