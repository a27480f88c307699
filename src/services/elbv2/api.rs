//! The ELBv2 API (AWS Query, 2015-12-01). Each method reads or changes the region's load
//! balancers through the store and shapes the response. Trust stores (which need S3) and
//! capacity reservations beyond describing them are left to the generated NotImplemented.

use super::State;
use super::listeners::SSL_POLICIES;
use crate::aws::{ApiError, RequestContext, Timestamp};
use crate::services::Handler;
use crate::store::Store;
use crate::wire::elbv2::*;

pub struct Elbv2 {
    store: Store,
}

impl Handler for Elbv2 {
    fn new(store: &Store) -> Self {
        Elbv2 {
            store: store.clone(),
        }
    }
}

impl Elbv2 {
    fn read<R>(&self, ctx: &RequestContext, f: impl FnOnce(&State, Timestamp) -> R) -> R {
        let now = Timestamp::now();
        self.store.read(&ctx.region, |s: &State| f(s, now))
    }

    fn write<R>(&self, ctx: &RequestContext, f: impl FnOnce(&mut State, Timestamp) -> R) -> R {
        let now = Timestamp::now();
        self.store.write(&ctx.region, |s: &mut State| {
            s.settle(now);
            f(s, now)
        })
    }
}

/// AWS's account limits for ELBv2 (DescribeAccountLimits' names and default quotas).
const LIMITS: &[(&str, &str)] = &[
    ("application-load-balancers", "50"),
    ("condition-values-per-alb-rule", "5"),
    ("condition-wildcards-per-alb-rule", "5"),
    ("gateway-load-balancers", "100"),
    ("gateway-load-balancers-per-vpc", "100"),
    ("geneve-target-groups", "100"),
    ("listeners-per-application-load-balancer", "50"),
    ("listeners-per-network-load-balancer", "50"),
    ("network-load-balancer-enis-per-vpc", "1200"),
    ("network-load-balancers", "50"),
    ("rules-per-application-load-balancer", "100"),
    ("target-groups", "3000"),
    ("target-groups-per-action-on-application-load-balancer", "5"),
    ("target-groups-per-action-on-network-load-balancer", "1"),
    ("target-groups-per-application-load-balancer", "100"),
    ("targets-per-application-load-balancer", "1000"),
    (
        "targets-per-availability-zone-per-gateway-load-balancer",
        "300",
    ),
    (
        "targets-per-availability-zone-per-network-load-balancer",
        "500",
    ),
    ("targets-per-network-load-balancer", "3000"),
];

impl Api for Elbv2 {
    fn create_load_balancer(
        &self,
        ctx: &RequestContext,
        input: CreateLoadBalancerInput,
    ) -> Result<CreateLoadBalancerOutput, ApiError> {
        let lb = self.write(ctx, |s, now| s.create_load_balancer(input, now))?;
        Ok(CreateLoadBalancerOutput {
            load_balancers: Some(vec![lb]),
        })
    }

    fn describe_load_balancers(
        &self,
        ctx: &RequestContext,
        input: DescribeLoadBalancersInput,
    ) -> Result<DescribeLoadBalancersOutput, ApiError> {
        self.read(ctx, |s, now| s.describe_load_balancers(input, now))
    }

    fn delete_load_balancer(
        &self,
        ctx: &RequestContext,
        input: DeleteLoadBalancerInput,
    ) -> Result<DeleteLoadBalancerOutput, ApiError> {
        self.write(ctx, |s, _| s.delete_load_balancer(&input.load_balancer_arn))?;
        Ok(DeleteLoadBalancerOutput {})
    }

    fn describe_load_balancer_attributes(
        &self,
        ctx: &RequestContext,
        input: DescribeLoadBalancerAttributesInput,
    ) -> Result<DescribeLoadBalancerAttributesOutput, ApiError> {
        let attributes = self.read(ctx, |s, _| {
            s.load_balancer_attributes(&input.load_balancer_arn)
        })?;
        Ok(DescribeLoadBalancerAttributesOutput {
            attributes: Some(attributes),
        })
    }

    fn modify_load_balancer_attributes(
        &self,
        ctx: &RequestContext,
        input: ModifyLoadBalancerAttributesInput,
    ) -> Result<ModifyLoadBalancerAttributesOutput, ApiError> {
        let attributes = self.write(ctx, |s, _| {
            s.modify_load_balancer_attributes(&input.load_balancer_arn, input.attributes)
        })?;
        Ok(ModifyLoadBalancerAttributesOutput {
            attributes: Some(attributes),
        })
    }

    fn set_security_groups(
        &self,
        ctx: &RequestContext,
        input: SetSecurityGroupsInput,
    ) -> Result<SetSecurityGroupsOutput, ApiError> {
        let groups = self.write(ctx, |s, _| {
            s.set_security_groups(&input.load_balancer_arn, input.security_groups)
        })?;
        Ok(SetSecurityGroupsOutput {
            security_group_ids: Some(groups),
            enforce_security_group_inbound_rules_on_private_link_traffic: None,
        })
    }

    fn set_subnets(
        &self,
        ctx: &RequestContext,
        input: SetSubnetsInput,
    ) -> Result<SetSubnetsOutput, ApiError> {
        self.write(ctx, |s, now| s.set_subnets(input, now))
    }

    fn set_ip_address_type(
        &self,
        ctx: &RequestContext,
        input: SetIpAddressTypeInput,
    ) -> Result<SetIpAddressTypeOutput, ApiError> {
        let t = self.write(ctx, |s, _| {
            s.set_ip_address_type(&input.load_balancer_arn, input.ip_address_type)
        })?;
        Ok(SetIpAddressTypeOutput {
            ip_address_type: Some(t),
        })
    }

    fn describe_capacity_reservation(
        &self,
        ctx: &RequestContext,
        input: DescribeCapacityReservationInput,
    ) -> Result<DescribeCapacityReservationOutput, ApiError> {
        self.read(ctx, |s, _| s.check_load_balancer(&input.load_balancer_arn))?;
        // No capacity is reserved: berth's proxy has no units to reserve.
        Ok(DescribeCapacityReservationOutput {
            capacity_reservation_state: Some(Vec::new()),
            decrease_requests_remaining: Some(3),
            last_modified_time: None,
            minimum_load_balancer_capacity: None,
        })
    }

    fn create_target_group(
        &self,
        ctx: &RequestContext,
        input: CreateTargetGroupInput,
    ) -> Result<CreateTargetGroupOutput, ApiError> {
        let tg = self.write(ctx, |s, _| s.create_target_group(input))?;
        Ok(CreateTargetGroupOutput {
            target_groups: Some(vec![tg]),
        })
    }

    fn describe_target_groups(
        &self,
        ctx: &RequestContext,
        input: DescribeTargetGroupsInput,
    ) -> Result<DescribeTargetGroupsOutput, ApiError> {
        self.read(ctx, |s, _| s.describe_target_groups(input))
    }

    fn modify_target_group(
        &self,
        ctx: &RequestContext,
        input: ModifyTargetGroupInput,
    ) -> Result<ModifyTargetGroupOutput, ApiError> {
        let tg = self.write(ctx, |s, _| s.modify_target_group(input))?;
        Ok(ModifyTargetGroupOutput {
            target_groups: Some(vec![tg]),
        })
    }

    fn delete_target_group(
        &self,
        ctx: &RequestContext,
        input: DeleteTargetGroupInput,
    ) -> Result<DeleteTargetGroupOutput, ApiError> {
        self.write(ctx, |s, _| s.delete_target_group(&input.target_group_arn))?;
        Ok(DeleteTargetGroupOutput {})
    }

    fn describe_target_group_attributes(
        &self,
        ctx: &RequestContext,
        input: DescribeTargetGroupAttributesInput,
    ) -> Result<DescribeTargetGroupAttributesOutput, ApiError> {
        let attributes = self.read(ctx, |s, _| {
            s.target_group_attributes(&input.target_group_arn)
        })?;
        Ok(DescribeTargetGroupAttributesOutput {
            attributes: Some(attributes),
        })
    }

    fn modify_target_group_attributes(
        &self,
        ctx: &RequestContext,
        input: ModifyTargetGroupAttributesInput,
    ) -> Result<ModifyTargetGroupAttributesOutput, ApiError> {
        let attributes = self.write(ctx, |s, _| {
            s.modify_target_group_attributes(&input.target_group_arn, input.attributes)
        })?;
        Ok(ModifyTargetGroupAttributesOutput {
            attributes: Some(attributes),
        })
    }

    fn register_targets(
        &self,
        ctx: &RequestContext,
        input: RegisterTargetsInput,
    ) -> Result<RegisterTargetsOutput, ApiError> {
        self.write(ctx, |s, _| {
            s.register_targets(&input.target_group_arn, input.targets, None)
        })?;
        Ok(RegisterTargetsOutput {})
    }

    fn deregister_targets(
        &self,
        ctx: &RequestContext,
        input: DeregisterTargetsInput,
    ) -> Result<DeregisterTargetsOutput, ApiError> {
        self.write(ctx, |s, now| {
            s.deregister_targets(&input.target_group_arn, input.targets, now)
        })?;
        Ok(DeregisterTargetsOutput {})
    }

    fn describe_target_health(
        &self,
        ctx: &RequestContext,
        input: DescribeTargetHealthInput,
    ) -> Result<DescribeTargetHealthOutput, ApiError> {
        let descriptions = self.read(ctx, |s, now| s.describe_target_health(input, now))?;
        Ok(DescribeTargetHealthOutput {
            target_health_descriptions: Some(descriptions),
        })
    }

    fn create_listener(
        &self,
        ctx: &RequestContext,
        input: CreateListenerInput,
    ) -> Result<CreateListenerOutput, ApiError> {
        let l = self.write(ctx, |s, _| s.create_listener(input))?;
        Ok(CreateListenerOutput {
            listeners: Some(vec![l]),
        })
    }

    fn describe_listeners(
        &self,
        ctx: &RequestContext,
        input: DescribeListenersInput,
    ) -> Result<DescribeListenersOutput, ApiError> {
        self.read(ctx, |s, _| s.describe_listeners(input))
    }

    fn modify_listener(
        &self,
        ctx: &RequestContext,
        input: ModifyListenerInput,
    ) -> Result<ModifyListenerOutput, ApiError> {
        let l = self.write(ctx, |s, _| s.modify_listener(input))?;
        Ok(ModifyListenerOutput {
            listeners: Some(vec![l]),
        })
    }

    fn delete_listener(
        &self,
        ctx: &RequestContext,
        input: DeleteListenerInput,
    ) -> Result<DeleteListenerOutput, ApiError> {
        self.write(ctx, |s, _| s.delete_listener(&input.listener_arn))?;
        Ok(DeleteListenerOutput {})
    }

    fn describe_listener_attributes(
        &self,
        ctx: &RequestContext,
        input: DescribeListenerAttributesInput,
    ) -> Result<DescribeListenerAttributesOutput, ApiError> {
        let attributes = self.read(ctx, |s, _| s.listener_attributes(&input.listener_arn))?;
        Ok(DescribeListenerAttributesOutput {
            attributes: Some(attributes),
        })
    }

    fn modify_listener_attributes(
        &self,
        ctx: &RequestContext,
        input: ModifyListenerAttributesInput,
    ) -> Result<ModifyListenerAttributesOutput, ApiError> {
        let attributes = self.write(ctx, |s, _| {
            s.modify_listener_attributes(&input.listener_arn, input.attributes)
        })?;
        Ok(ModifyListenerAttributesOutput {
            attributes: Some(attributes),
        })
    }

    fn describe_listener_certificates(
        &self,
        ctx: &RequestContext,
        input: DescribeListenerCertificatesInput,
    ) -> Result<DescribeListenerCertificatesOutput, ApiError> {
        let certificates = self.read(ctx, |s, _| s.listener_certificates(&input.listener_arn))?;
        Ok(DescribeListenerCertificatesOutput {
            certificates: Some(certificates),
            next_marker: None,
        })
    }

    fn add_listener_certificates(
        &self,
        ctx: &RequestContext,
        input: AddListenerCertificatesInput,
    ) -> Result<AddListenerCertificatesOutput, ApiError> {
        let certificates = self.write(ctx, |s, _| {
            s.add_listener_certificates(&input.listener_arn, input.certificates)
        })?;
        Ok(AddListenerCertificatesOutput {
            certificates: Some(certificates),
        })
    }

    fn remove_listener_certificates(
        &self,
        ctx: &RequestContext,
        input: RemoveListenerCertificatesInput,
    ) -> Result<RemoveListenerCertificatesOutput, ApiError> {
        self.write(ctx, |s, _| {
            s.remove_listener_certificates(&input.listener_arn, input.certificates)
        })?;
        Ok(RemoveListenerCertificatesOutput {})
    }

    fn create_rule(
        &self,
        ctx: &RequestContext,
        input: CreateRuleInput,
    ) -> Result<CreateRuleOutput, ApiError> {
        let rule = self.write(ctx, |s, _| s.create_rule(input))?;
        Ok(CreateRuleOutput {
            rules: Some(vec![rule]),
        })
    }

    fn describe_rules(
        &self,
        ctx: &RequestContext,
        input: DescribeRulesInput,
    ) -> Result<DescribeRulesOutput, ApiError> {
        self.read(ctx, |s, _| s.describe_rules(input))
    }

    fn modify_rule(
        &self,
        ctx: &RequestContext,
        input: ModifyRuleInput,
    ) -> Result<ModifyRuleOutput, ApiError> {
        let rule = self.write(ctx, |s, _| s.modify_rule(input))?;
        Ok(ModifyRuleOutput {
            rules: Some(vec![rule]),
        })
    }

    fn delete_rule(
        &self,
        ctx: &RequestContext,
        input: DeleteRuleInput,
    ) -> Result<DeleteRuleOutput, ApiError> {
        self.write(ctx, |s, _| s.delete_rule(&input.rule_arn))?;
        Ok(DeleteRuleOutput {})
    }

    fn set_rule_priorities(
        &self,
        ctx: &RequestContext,
        input: SetRulePrioritiesInput,
    ) -> Result<SetRulePrioritiesOutput, ApiError> {
        let rules = self.write(ctx, |s, _| s.set_rule_priorities(input.rule_priorities))?;
        Ok(SetRulePrioritiesOutput { rules: Some(rules) })
    }

    fn add_tags(
        &self,
        ctx: &RequestContext,
        input: AddTagsInput,
    ) -> Result<AddTagsOutput, ApiError> {
        self.write(ctx, |s, _| s.add_tags(&input.resource_arns, &input.tags))?;
        Ok(AddTagsOutput {})
    }

    fn remove_tags(
        &self,
        ctx: &RequestContext,
        input: RemoveTagsInput,
    ) -> Result<RemoveTagsOutput, ApiError> {
        self.write(ctx, |s, _| {
            s.remove_tags(&input.resource_arns, &input.tag_keys)
        })?;
        Ok(RemoveTagsOutput {})
    }

    fn describe_tags(
        &self,
        ctx: &RequestContext,
        input: DescribeTagsInput,
    ) -> Result<DescribeTagsOutput, ApiError> {
        let descriptions = self.read(ctx, |s, _| s.describe_tags(&input.resource_arns))?;
        Ok(DescribeTagsOutput {
            tag_descriptions: Some(descriptions),
        })
    }

    fn describe_account_limits(
        &self,
        _ctx: &RequestContext,
        input: DescribeAccountLimitsInput,
    ) -> Result<DescribeAccountLimitsOutput, ApiError> {
        let page = super::page(
            LIMITS.iter(),
            |(name, _)| (*name).to_owned(),
            input.page_size,
            input.marker.as_deref(),
        )?;
        Ok(DescribeAccountLimitsOutput {
            limits: Some(
                page.items
                    .into_iter()
                    .map(|(name, max)| Limit {
                        name: Some((*name).to_owned()),
                        max: Some((*max).to_owned()),
                    })
                    .collect(),
            ),
            next_marker: page.next_token,
        })
    }

    fn describe_ssl_policies(
        &self,
        _ctx: &RequestContext,
        input: DescribeSSLPoliciesInput,
    ) -> Result<DescribeSSLPoliciesOutput, ApiError> {
        let names: Vec<&str> = match &input.names {
            Some(names) => {
                for n in names {
                    if !SSL_POLICIES.contains(&n.as_str()) {
                        return Err(crate::api_err!(
                            elbv2::SSLPolicyNotFoundException,
                            "SSL policy '{n}' not found"
                        ));
                    }
                }
                names.iter().map(String::as_str).collect()
            }
            None => SSL_POLICIES.to_vec(),
        };
        let policies = names
            .into_iter()
            .map(|name| {
                let tls13 = name.contains("TLS13");
                let mut protocols = vec!["TLSv1.2".to_owned()];
                if tls13 {
                    protocols.push("TLSv1.3".into());
                }
                if name == "ELBSecurityPolicy-2016-08" {
                    protocols = vec!["TLSv1".into(), "TLSv1.1".into(), "TLSv1.2".into()];
                }
                SslPolicy {
                    name: Some(name.to_owned()),
                    ssl_protocols: Some(protocols),
                    ciphers: Some(vec![
                        Cipher {
                            name: Some("ECDHE-ECDSA-AES128-GCM-SHA256".into()),
                            priority: Some(1),
                        },
                        Cipher {
                            name: Some("ECDHE-RSA-AES128-GCM-SHA256".into()),
                            priority: Some(2),
                        },
                    ]),
                    supported_load_balancer_types: Some(vec![
                        "application".into(),
                        "network".into(),
                    ]),
                }
            })
            .collect();
        Ok(DescribeSSLPoliciesOutput {
            ssl_policies: Some(policies),
            next_marker: None,
        })
    }

    fn get_resource_policy(
        &self,
        _ctx: &RequestContext,
        input: GetResourcePolicyInput,
    ) -> Result<GetResourcePolicyOutput, ApiError> {
        // Resource policies belong to trust stores, which berth does not have.
        Err(crate::api_err!(
            elbv2::ResourceNotFoundException,
            "The specified resource '{}' does not exist",
            input.resource_arn
        ))
    }
}
