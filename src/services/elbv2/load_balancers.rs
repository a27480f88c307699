//! Load balancers: creation (idempotent for the same settings, as AWS's is), their DNS names,
//! states, subnets, security groups, attributes and deletion.

use super::{LoadBalancer, PROVISIONING_SECS, State, attributes, lb_not_found, new_id, validation};
use crate::api_err;
use crate::aws::{ApiError, Timestamp};
use crate::wire::elbv2 as wire;
use wire::{LoadBalancerSchemeEnum as Scheme, LoadBalancerTypeEnum as Kind};

/// AWS's quotas (ELB user guides, "Quotas for your Application/Network Load Balancers").
pub(super) const MAX_LOAD_BALANCERS: usize = 50;

/// The domain berth's load balancer DNS names live under. `*.localhost` names resolve to
/// loopback in curl, browsers and systemd-resolved (RFC 6761), which is where listeners bind by
/// default; berth's DNS server answers them too.
pub const DNS_SUFFIX: &str = "elb.localhost";

/// Route 53 hosted zone ids of load balancers' DNS names in us-east-1 (ALB and NLB), which
/// alias records name (AWS General Reference, "Elastic Load Balancing endpoints").
fn hosted_zone(kind: &Kind) -> &'static str {
    if *kind == Kind::Network {
        "Z26RNL4JYFTOTI"
    } else {
        "Z35SXDOTRQ7X7K"
    }
}

/// The checks AWS makes of a load balancer or target group name: 1 to 32 alphanumerics and
/// hyphens, no hyphen first or last.
pub(super) fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.len() > 32 {
        return Err(validation(format!(
            "{what} name '{name}' cannot be longer than '32' characters"
        )));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(validation(format!(
            "{what} name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(validation(format!(
            "{what} name '{name}' cannot begin or end with '-'"
        )));
    }
    Ok(())
}

impl State {
    pub(super) fn create_load_balancer(
        &mut self,
        input: wire::CreateLoadBalancerInput,
        now: Timestamp,
    ) -> Result<wire::LoadBalancer, ApiError> {
        let kind = input.r#type.clone().unwrap_or(Kind::Application);
        let scheme = input.scheme.clone().unwrap_or(Scheme::InternetFacing);
        check_name("Load balancer", &input.name)?;
        if input.name.starts_with("internal-") {
            return Err(validation(format!(
                "Load balancer name '{}' cannot begin with 'internal-'",
                input.name
            )));
        }
        if !matches!(kind, Kind::Application | Kind::Network) {
            return Err(api_err!(
                elbv2::OperationNotPermittedException,
                "berth supports application and network load balancers, not '{kind}'"
            ));
        }
        if !scheme.is_known() {
            return Err(validation(format!("Scheme '{scheme}' is not valid")));
        }
        let mut subnets: Vec<String> = input.subnets.clone().unwrap_or_default();
        subnets.extend(
            input
                .subnet_mappings
                .iter()
                .flatten()
                .filter_map(|m| m.subnet_id.clone()),
        );
        if input.subnets.is_some() && input.subnet_mappings.is_some() {
            return Err(validation(
                "You can specify subnets or subnet mappings, not both",
            ));
        }
        if let Some(existing) = self
            .load_balancers
            .values()
            .find(|lb| lb.name == input.name)
        {
            // AWS: "If you attempt to create multiple load balancers with the same settings,
            // each call succeeds."
            if existing.kind == kind && existing.scheme == scheme {
                return Ok(self.describe_one(existing, now));
            }
            return Err(api_err!(
                elbv2::DuplicateLoadBalancerNameException,
                "A load balancer with the same name '{}' exists, but with different settings",
                input.name
            ));
        }
        if self.load_balancers.len() >= MAX_LOAD_BALANCERS {
            return Err(api_err!(
                elbv2::TooManyLoadBalancersException,
                "The maximum number of load balancers has been reached"
            ));
        }
        super::tags_check(input.tags.as_deref().unwrap_or_default())?;
        if subnets.is_empty() {
            // berth has no VPCs: a load balancer without subnets gets two made-up ones, as an
            // ALB needs two Availability Zones.
            subnets = vec!["subnet-berth0a".into(), "subnet-berth0b".into()];
        }
        let id = new_id();
        let prefix = if kind == Kind::Network { "net" } else { "app" };
        let arn = self.arn(&format!("loadbalancer/{prefix}/{}/{id}", input.name));
        let internal = if scheme == Scheme::Internal {
            "internal-"
        } else {
            ""
        };
        let number = u64::from_str_radix(&id[..8], 16).unwrap_or_default();
        let dns_name = format!(
            "{internal}{}-{number}.{}.{DNS_SUFFIX}",
            input.name.to_ascii_lowercase(),
            self.region
        );
        let lb = LoadBalancer {
            arn: arn.clone(),
            name: input.name,
            attributes: attributes::load_balancer_defaults(&kind),
            kind,
            scheme,
            ip_address_type: input.ip_address_type.unwrap_or(wire::IpAddressType::Ipv4),
            dns_name,
            created: now,
            security_groups: input.security_groups.unwrap_or_default(),
            subnets,
            vpc_id: "vpc-berth".into(),
            tags: input.tags.unwrap_or_default(),
        };
        let out = self.describe_one(&lb, now);
        self.load_balancers.insert(arn, lb);
        self.changed();
        Ok(out)
    }

    fn describe_one(&self, lb: &LoadBalancer, now: Timestamp) -> wire::LoadBalancer {
        let active = now.as_secs_f64() >= lb.created.as_secs_f64() + PROVISIONING_SECS;
        let zones = lb
            .subnets
            .iter()
            .enumerate()
            .map(|(i, subnet)| wire::AvailabilityZone {
                subnet_id: Some(subnet.clone()),
                zone_name: Some(format!("{}{}", self.region, (b'a' + (i % 6) as u8) as char)),
                load_balancer_addresses: (lb.kind == Kind::Network).then(Vec::new),
                ..Default::default()
            })
            .collect();
        wire::LoadBalancer {
            availability_zones: Some(zones),
            canonical_hosted_zone_id: Some(hosted_zone(&lb.kind).into()),
            created_time: Some(lb.created),
            dns_name: Some(lb.dns_name.clone()),
            ip_address_type: Some(lb.ip_address_type.clone()),
            load_balancer_arn: Some(lb.arn.clone()),
            load_balancer_name: Some(lb.name.clone()),
            scheme: Some(lb.scheme.clone()),
            security_groups: (lb.kind == Kind::Application || !lb.security_groups.is_empty())
                .then(|| lb.security_groups.clone()),
            state: Some(wire::LoadBalancerState {
                code: Some(if active {
                    wire::LoadBalancerStateEnum::Active
                } else {
                    wire::LoadBalancerStateEnum::Provisioning
                }),
                reason: None,
            }),
            r#type: Some(lb.kind.clone()),
            vpc_id: Some(lb.vpc_id.clone()),
            ..Default::default()
        }
    }

    pub(super) fn describe_load_balancers(
        &self,
        input: wire::DescribeLoadBalancersInput,
        now: Timestamp,
    ) -> Result<wire::DescribeLoadBalancersOutput, ApiError> {
        if input.load_balancer_arns.is_some() && input.names.is_some() {
            return Err(validation(
                "Load balancer names and load balancer ARNs cannot be specified at the same time",
            ));
        }
        let mut found: Vec<&LoadBalancer> = Vec::new();
        if let Some(arns) = &input.load_balancer_arns {
            for arn in arns {
                found.push(self.load_balancer(arn)?);
            }
        } else if let Some(names) = &input.names {
            for name in names {
                let lb = self
                    .load_balancers
                    .values()
                    .find(|lb| &lb.name == name)
                    .ok_or_else(|| {
                        api_err!(
                            elbv2::LoadBalancerNotFoundException,
                            "Load balancers '[{name}]' not found"
                        )
                    })?;
                found.push(lb);
            }
        } else {
            found = self.load_balancers.values().collect();
        }
        let page = super::page(
            found,
            |lb| lb.arn.clone(),
            input.page_size,
            input.marker.as_deref(),
        )?;
        Ok(wire::DescribeLoadBalancersOutput {
            load_balancers: Some(
                page.items
                    .into_iter()
                    .map(|lb| self.describe_one(lb, now))
                    .collect(),
            ),
            next_marker: page.next_token,
        })
    }

    pub(super) fn delete_load_balancer(&mut self, arn: &str) -> Result<(), ApiError> {
        let lb = self.load_balancer(arn)?;
        if lb
            .attributes
            .get("deletion_protection.enabled")
            .map(String::as_str)
            == Some("true")
        {
            return Err(api_err!(
                elbv2::OperationNotPermittedException,
                "Load balancer '{arn}' cannot be deleted because deletion protection is enabled"
            ));
        }
        self.load_balancers.remove(arn);
        let listeners: Vec<String> = self
            .listeners
            .values()
            .filter(|l| l.load_balancer_arn == arn)
            .map(|l| l.arn.clone())
            .collect();
        for l in listeners {
            self.listeners.remove(&l);
            self.rules.retain(|_, r| r.listener_arn != l);
        }
        self.changed();
        Ok(())
    }

    pub(super) fn load_balancer_attributes(
        &self,
        arn: &str,
    ) -> Result<Vec<wire::LoadBalancerAttribute>, ApiError> {
        Ok(self
            .load_balancer(arn)?
            .attributes
            .iter()
            .map(|(k, v)| wire::LoadBalancerAttribute {
                key: Some(k.clone()),
                value: Some(v.clone()),
            })
            .collect())
    }

    pub(super) fn modify_load_balancer_attributes(
        &mut self,
        arn: &str,
        changes: Vec<wire::LoadBalancerAttribute>,
    ) -> Result<Vec<wire::LoadBalancerAttribute>, ApiError> {
        let lb = self
            .load_balancers
            .get_mut(arn)
            .ok_or_else(|| lb_not_found(arn))?;
        let changes: Vec<_> = changes.into_iter().map(|a| (a.key, a.value)).collect();
        attributes::modify_load_balancer(&lb.kind, &mut lb.attributes, &changes)?;
        self.changed();
        self.load_balancer_attributes(arn)
    }

    pub(super) fn set_security_groups(
        &mut self,
        arn: &str,
        groups: Vec<String>,
    ) -> Result<Vec<String>, ApiError> {
        let lb = self
            .load_balancers
            .get_mut(arn)
            .ok_or_else(|| lb_not_found(arn))?;
        if lb.kind == Kind::Network && lb.security_groups.is_empty() && !groups.is_empty() {
            return Err(invalid_nlb_groups());
        }
        lb.security_groups = groups.clone();
        Ok(groups)
    }

    pub(super) fn set_subnets(
        &mut self,
        input: wire::SetSubnetsInput,
        now: Timestamp,
    ) -> Result<wire::SetSubnetsOutput, ApiError> {
        let lb = self
            .load_balancers
            .get_mut(&input.load_balancer_arn)
            .ok_or_else(|| lb_not_found(&input.load_balancer_arn))?;
        let mut subnets = input.subnets.unwrap_or_default();
        subnets.extend(
            input
                .subnet_mappings
                .iter()
                .flatten()
                .filter_map(|m| m.subnet_id.clone()),
        );
        if subnets.is_empty() {
            return Err(validation("At least one subnet must be specified"));
        }
        lb.subnets = subnets;
        if let Some(t) = input.ip_address_type {
            lb.ip_address_type = t;
        }
        let lb = self.load_balancer(&input.load_balancer_arn)?;
        let d = self.describe_one(lb, now);
        Ok(wire::SetSubnetsOutput {
            availability_zones: d.availability_zones,
            ip_address_type: d.ip_address_type,
            ..Default::default()
        })
    }

    pub(super) fn set_ip_address_type(
        &mut self,
        arn: &str,
        t: wire::IpAddressType,
    ) -> Result<wire::IpAddressType, ApiError> {
        let lb = self
            .load_balancers
            .get_mut(arn)
            .ok_or_else(|| lb_not_found(arn))?;
        if !t.is_known() {
            return Err(validation(format!("IP address type '{t}' is not valid")));
        }
        lb.ip_address_type = t.clone();
        Ok(t)
    }

    pub(super) fn check_load_balancer(&self, arn: &str) -> Result<(), ApiError> {
        self.load_balancer(arn).map(|_| ())
    }

    /// DNS names of the region's load balancers, for berth's DNS server.
    pub fn dns_names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.load_balancers
            .values()
            .map(|lb| (lb.dns_name.as_str(), lb.arn.as_str()))
    }
}

fn invalid_nlb_groups() -> ApiError {
    validation(
        "You cannot set security groups on a Network Load Balancer which was created without any",
    )
}
