//! The EC2 API (the `ec2` protocol: Query requests, EC2's own XML) for networking: each method
//! reads or changes the region's EC2 state through the store and shapes the response.

use super::security_groups::Permissions;
use super::{Filters, State};
use crate::aws::pagination::Pager;
use crate::aws::{ApiError, Empty, RequestContext};
use crate::services::Handler;
use crate::store::Store;
use crate::wire::ec2::*;

pub struct Ec2 {
    store: Store,
}

impl Handler for Ec2 {
    fn new(store: &Store) -> Self {
        Ec2 {
            store: store.clone(),
        }
    }
}

impl Ec2 {
    fn read<R>(&self, ctx: &RequestContext, f: impl FnOnce(&State) -> R) -> R {
        self.store.read(&ctx.region, |s: &State| f(s))
    }

    fn write<R>(&self, ctx: &RequestContext, f: impl FnOnce(&mut State) -> R) -> R {
        self.store.write(&ctx.region, |s: &mut State| f(s))
    }
}

/// `DryRun=true`: EC2 checks the caller's permissions and answers DryRunOperation; berth's
/// caller may do everything.
fn dry_run(flag: Option<bool>) -> Result<(), ApiError> {
    if flag == Some(true) {
        return Err(ApiError::common(
            "DryRunOperation",
            412,
            "Request would have succeeded, but DryRun flag is set.",
        ));
    }
    Ok(())
}

/// EC2's `MaxResults` (5 to 1000) / `NextToken` paging over what a describe call found.
fn paged<T>(
    kind: &'static str,
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    if max_results.is_none() && next_token.is_none() {
        return Ok((items, None));
    }
    let pager = Pager {
        kind,
        bad_size: |n, max| {
            ApiError::common(
                "InvalidParameterValue",
                400,
                format!(
                    "Value ( {n} ) for parameter maxResults is invalid. Parameter must be \
                     between 5 and {max}."
                ),
            )
        },
        bad_token: || ApiError::common("InvalidPaginationToken", 400, "Invalid pagination token"),
    };
    if max_results.is_some_and(|n| n < 5) {
        return Err((pager.bad_size)(max_results.unwrap_or_default(), 1000));
    }
    pager.sorted_page(items, key, max_results, next_token, 1000)
}

/// What the four Authorize/Revoke requests share (their members have the same names).
macro_rules! permissions {
    ($input:ident) => {
        Permissions {
            ip_permissions: $input.ip_permissions,
            cidr_ip: $input.cidr_ip,
            ip_protocol: $input.ip_protocol,
            from_port: $input.from_port,
            to_port: $input.to_port,
            source_group: $input.source_security_group_name,
        }
    };
}

fn ids(list: Option<Vec<String>>) -> Vec<String> {
    list.unwrap_or_default()
}

impl Api for Ec2 {
    // VPCs.

    fn create_vpc(
        &self,
        ctx: &RequestContext,
        input: CreateVpcRequest,
    ) -> Result<CreateVpcResult, ApiError> {
        dry_run(input.dry_run)?;
        let vpc = self.write(ctx, |s| {
            s.create_vpc(
                input.cidr_block.as_deref(),
                input.instance_tenancy,
                input.tag_specifications,
            )
        })?;
        Ok(CreateVpcResult { vpc: Some(vpc) })
    }

    fn delete_vpc(&self, ctx: &RequestContext, input: DeleteVpcRequest) -> Result<Empty, ApiError> {
        dry_run(input.dry_run)?;
        self.write(ctx, |s| s.delete_vpc(&input.vpc_id))?;
        Ok(Empty {})
    }

    fn describe_vpcs(
        &self,
        ctx: &RequestContext,
        input: DescribeVpcsRequest,
    ) -> Result<DescribeVpcsResult, ApiError> {
        dry_run(input.dry_run)?;
        let filters = Filters::new(input.filters);
        let found = self.read(ctx, |s| s.describe_vpcs(&ids(input.vpc_ids), &filters))?;
        let (vpcs, next_token) = paged(
            "vpcs",
            found,
            |v| v.vpc_id.clone().unwrap_or_default(),
            input.max_results,
            input.next_token.as_deref(),
        )?;
        Ok(DescribeVpcsResult {
            vpcs: Some(vpcs),
            next_token,
        })
    }

    fn describe_vpc_attribute(
        &self,
        ctx: &RequestContext,
        input: DescribeVpcAttributeRequest,
    ) -> Result<DescribeVpcAttributeResult, ApiError> {
        dry_run(input.dry_run)?;
        self.read(ctx, |s| s.vpc_attribute(&input.vpc_id, &input.attribute))
    }

    fn modify_vpc_attribute(
        &self,
        ctx: &RequestContext,
        input: ModifyVpcAttributeRequest,
    ) -> Result<Empty, ApiError> {
        let value = |v: Option<AttributeBooleanValue>| v.and_then(|v| v.value);
        self.write(ctx, |s| {
            s.modify_vpc_attribute(
                &input.vpc_id,
                value(input.enable_dns_support),
                value(input.enable_dns_hostnames),
                value(input.enable_network_address_usage_metrics),
            )
        })?;
        Ok(Empty {})
    }

    // Subnets.

    fn create_subnet(
        &self,
        ctx: &RequestContext,
        input: CreateSubnetRequest,
    ) -> Result<CreateSubnetResult, ApiError> {
        dry_run(input.dry_run)?;
        let subnet = self.write(ctx, |s| {
            s.create_subnet(
                &input.vpc_id,
                input.cidr_block.as_deref(),
                input.availability_zone.as_deref(),
                input.availability_zone_id.as_deref(),
                input.tag_specifications,
            )
        })?;
        Ok(CreateSubnetResult {
            subnet: Some(subnet),
        })
    }

    fn delete_subnet(
        &self,
        ctx: &RequestContext,
        input: DeleteSubnetRequest,
    ) -> Result<Empty, ApiError> {
        dry_run(input.dry_run)?;
        self.write(ctx, |s| s.delete_subnet(&input.subnet_id))?;
        Ok(Empty {})
    }

    fn describe_subnets(
        &self,
        ctx: &RequestContext,
        input: DescribeSubnetsRequest,
    ) -> Result<DescribeSubnetsResult, ApiError> {
        dry_run(input.dry_run)?;
        let filters = Filters::new(input.filters);
        let found = self.read(ctx, |s| {
            s.describe_subnets(&ids(input.subnet_ids), &filters)
        })?;
        let (subnets, next_token) = paged(
            "subnets",
            found,
            |v| v.subnet_id.clone().unwrap_or_default(),
            input.max_results,
            input.next_token.as_deref(),
        )?;
        Ok(DescribeSubnetsResult {
            subnets: Some(subnets),
            next_token,
        })
    }

    fn modify_subnet_attribute(
        &self,
        ctx: &RequestContext,
        input: ModifySubnetAttributeRequest,
    ) -> Result<Empty, ApiError> {
        self.write(ctx, |s| s.modify_subnet_attribute(input))?;
        Ok(Empty {})
    }

    // Route tables, network ACLs, network interfaces.

    fn describe_route_tables(
        &self,
        ctx: &RequestContext,
        input: DescribeRouteTablesRequest,
    ) -> Result<DescribeRouteTablesResult, ApiError> {
        dry_run(input.dry_run)?;
        let filters = Filters::new(input.filters);
        let found = self.read(ctx, |s| {
            s.describe_route_tables(&ids(input.route_table_ids), &filters)
        })?;
        let (route_tables, next_token) = paged(
            "route-tables",
            found,
            |v| v.route_table_id.clone().unwrap_or_default(),
            input.max_results,
            input.next_token.as_deref(),
        )?;
        Ok(DescribeRouteTablesResult {
            route_tables: Some(route_tables),
            next_token,
        })
    }

    fn describe_network_acls(
        &self,
        ctx: &RequestContext,
        input: DescribeNetworkAclsRequest,
    ) -> Result<DescribeNetworkAclsResult, ApiError> {
        dry_run(input.dry_run)?;
        let filters = Filters::new(input.filters);
        let found = self.read(ctx, |s| {
            s.describe_network_acls(&ids(input.network_acl_ids), &filters)
        })?;
        let (network_acls, next_token) = paged(
            "network-acls",
            found,
            |v| v.network_acl_id.clone().unwrap_or_default(),
            input.max_results,
            input.next_token.as_deref(),
        )?;
        Ok(DescribeNetworkAclsResult {
            network_acls: Some(network_acls),
            next_token,
        })
    }

    fn describe_network_interfaces(
        &self,
        ctx: &RequestContext,
        input: DescribeNetworkInterfacesRequest,
    ) -> Result<DescribeNetworkInterfacesResult, ApiError> {
        dry_run(input.dry_run)?;
        let filters = Filters::new(input.filters);
        let ids = ids(input.network_interface_ids);
        let found = self.store.read_region(&ctx.region, |r| {
            crate::links::network_interfaces::describe(r, &ids, &filters)
        })?;
        let (network_interfaces, next_token) = paged(
            "network-interfaces",
            found,
            |n| n.network_interface_id.clone().unwrap_or_default(),
            input.max_results,
            input.next_token.as_deref(),
        )?;
        Ok(DescribeNetworkInterfacesResult {
            network_interfaces: Some(network_interfaces),
            next_token,
        })
    }

    // Security groups.

    fn create_security_group(
        &self,
        ctx: &RequestContext,
        input: CreateSecurityGroupRequest,
    ) -> Result<CreateSecurityGroupResult, ApiError> {
        dry_run(input.dry_run)?;
        self.write(ctx, |s| {
            s.create_security_group(
                &input.group_name,
                &input.description,
                input.vpc_id.as_deref(),
                input.tag_specifications,
            )
        })
    }

    fn delete_security_group(
        &self,
        ctx: &RequestContext,
        input: DeleteSecurityGroupRequest,
    ) -> Result<DeleteSecurityGroupResult, ApiError> {
        dry_run(input.dry_run)?;
        let id = self.write(ctx, |s| {
            s.delete_security_group(input.group_id.as_deref(), input.group_name.as_deref())
        })?;
        Ok(DeleteSecurityGroupResult {
            group_id: Some(id),
            r#return: Some(true),
        })
    }

    fn describe_security_groups(
        &self,
        ctx: &RequestContext,
        input: DescribeSecurityGroupsRequest,
    ) -> Result<DescribeSecurityGroupsResult, ApiError> {
        dry_run(input.dry_run)?;
        let filters = Filters::new(input.filters);
        let found = self.read(ctx, |s| {
            s.describe_security_groups(&ids(input.group_ids), &ids(input.group_names), &filters)
        })?;
        let (security_groups, next_token) = paged(
            "security-groups",
            found,
            |v| v.group_id.clone().unwrap_or_default(),
            input.max_results,
            input.next_token.as_deref(),
        )?;
        Ok(DescribeSecurityGroupsResult {
            security_groups: Some(security_groups),
            next_token,
        })
    }

    fn describe_security_group_rules(
        &self,
        ctx: &RequestContext,
        input: DescribeSecurityGroupRulesRequest,
    ) -> Result<DescribeSecurityGroupRulesResult, ApiError> {
        dry_run(input.dry_run)?;
        let filters = Filters::new(input.filters);
        let found = self.read(ctx, |s| {
            s.describe_security_group_rules(&ids(input.security_group_rule_ids), &filters)
        })?;
        let (rules, next_token) = paged(
            "security-group-rules",
            found,
            |v| v.security_group_rule_id.clone().unwrap_or_default(),
            input.max_results,
            input.next_token.as_deref(),
        )?;
        Ok(DescribeSecurityGroupRulesResult {
            security_group_rules: Some(rules),
            next_token,
        })
    }

    fn authorize_security_group_ingress(
        &self,
        ctx: &RequestContext,
        input: AuthorizeSecurityGroupIngressRequest,
    ) -> Result<AuthorizeSecurityGroupIngressResult, ApiError> {
        dry_run(input.dry_run)?;
        let permissions = permissions!(input);
        let rules = self.write(ctx, |s| {
            s.authorize(
                input.group_id.as_deref(),
                input.group_name.as_deref(),
                false,
                permissions,
            )
        })?;
        Ok(AuthorizeSecurityGroupIngressResult {
            r#return: Some(true),
            security_group_rules: Some(rules),
        })
    }

    fn authorize_security_group_egress(
        &self,
        ctx: &RequestContext,
        input: AuthorizeSecurityGroupEgressRequest,
    ) -> Result<AuthorizeSecurityGroupEgressResult, ApiError> {
        dry_run(input.dry_run)?;
        let permissions = permissions!(input);
        let rules = self.write(ctx, |s| {
            s.authorize(Some(&input.group_id), None, true, permissions)
        })?;
        Ok(AuthorizeSecurityGroupEgressResult {
            r#return: Some(true),
            security_group_rules: Some(rules),
        })
    }

    fn revoke_security_group_ingress(
        &self,
        ctx: &RequestContext,
        input: RevokeSecurityGroupIngressRequest,
    ) -> Result<RevokeSecurityGroupIngressResult, ApiError> {
        dry_run(input.dry_run)?;
        let permissions = permissions!(input);
        let revoked = self.write(ctx, |s| {
            s.revoke(
                input.group_id.as_deref(),
                input.group_name.as_deref(),
                false,
                &ids(input.security_group_rule_ids),
                permissions,
            )
        })?;
        Ok(RevokeSecurityGroupIngressResult {
            r#return: Some(true),
            revoked_security_group_rules: Some(revoked),
            unknown_ip_permissions: None,
        })
    }

    fn revoke_security_group_egress(
        &self,
        ctx: &RequestContext,
        input: RevokeSecurityGroupEgressRequest,
    ) -> Result<RevokeSecurityGroupEgressResult, ApiError> {
        dry_run(input.dry_run)?;
        let permissions = permissions!(input);
        let revoked = self.write(ctx, |s| {
            s.revoke(
                Some(&input.group_id),
                None,
                true,
                &ids(input.security_group_rule_ids),
                permissions,
            )
        })?;
        Ok(RevokeSecurityGroupEgressResult {
            r#return: Some(true),
            revoked_security_group_rules: Some(revoked),
            unknown_ip_permissions: None,
        })
    }

    // Tags, zones, the account.

    fn create_tags(
        &self,
        ctx: &RequestContext,
        input: CreateTagsRequest,
    ) -> Result<Empty, ApiError> {
        dry_run(input.dry_run)?;
        self.write(ctx, |s| s.create_tags(&input.resources, input.tags))?;
        Ok(Empty {})
    }

    fn delete_tags(
        &self,
        ctx: &RequestContext,
        input: DeleteTagsRequest,
    ) -> Result<Empty, ApiError> {
        dry_run(input.dry_run)?;
        self.write(ctx, |s| {
            s.delete_tags(&input.resources, &input.tags.unwrap_or_default())
        })?;
        Ok(Empty {})
    }

    fn describe_tags(
        &self,
        ctx: &RequestContext,
        input: DescribeTagsRequest,
    ) -> Result<DescribeTagsResult, ApiError> {
        dry_run(input.dry_run)?;
        let filters = Filters::new(input.filters);
        let found = self.read(ctx, |s| s.describe_tags(&filters))?;
        let (tags, next_token) = paged(
            "tags",
            found,
            |t| {
                format!(
                    "{}\u{0}{}",
                    t.resource_id.as_deref().unwrap_or_default(),
                    t.key.as_deref().unwrap_or_default()
                )
            },
            input.max_results,
            input.next_token.as_deref(),
        )?;
        Ok(DescribeTagsResult {
            tags: Some(tags),
            next_token,
        })
    }

    fn describe_availability_zones(
        &self,
        ctx: &RequestContext,
        input: DescribeAvailabilityZonesRequest,
    ) -> Result<DescribeAvailabilityZonesResult, ApiError> {
        dry_run(input.dry_run)?;
        let filters = Filters::new(input.filters);
        let zones = self.read(ctx, |s| {
            s.availability_zones(&ids(input.zone_names), &ids(input.zone_ids), &filters)
        })?;
        Ok(DescribeAvailabilityZonesResult {
            availability_zones: Some(zones),
        })
    }

    fn describe_account_attributes(
        &self,
        ctx: &RequestContext,
        input: DescribeAccountAttributesRequest,
    ) -> Result<DescribeAccountAttributesResult, ApiError> {
        dry_run(input.dry_run)?;
        let names: Vec<String> = input
            .attribute_names
            .unwrap_or_default()
            .iter()
            .map(|n| n.as_str().to_owned())
            .collect();
        let account_attributes = self.read(ctx, |s| s.account_attributes(&names));
        Ok(DescribeAccountAttributesResult {
            account_attributes: Some(account_attributes),
        })
    }
}
