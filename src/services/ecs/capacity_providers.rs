//! Capacity providers: FARGATE and FARGATE_SPOT always exist (as on AWS); Auto Scaling group
//! providers are recorded (berth's capacity is its executor hosts, not an ASG).

use super::PAGES;
use super::{State, arn, tags};
use crate::api_err;
use crate::aws::ApiError;
use crate::aws::pagination::Page;
use crate::wire::ecs::{
    AutoScalingGroupProvider, AutoScalingGroupProviderUpdate,
    CapacityProvider as WireCapacityProvider, CapacityProviderStatus, CapacityProviderStrategyItem,
    CapacityProviderType, CapacityProviderUpdateStatus, ManagedScaling,
    ManagedTerminationProtection, Tag,
};

pub const BUILT_IN: &[&str] = &["FARGATE", "FARGATE_SPOT"];

pub struct CapacityProvider {
    pub data: WireCapacityProvider,
    pub tags: Vec<Tag>,
}

impl CapacityProvider {
    fn to_wire(&self, with_tags: bool) -> WireCapacityProvider {
        WireCapacityProvider {
            tags: with_tags.then(|| self.tags.clone()),
            ..self.data.clone()
        }
    }

    fn active(&self) -> bool {
        self.data.status == Some(CapacityProviderStatus::Active)
    }
}

fn built_in(region: &State, name: &str) -> WireCapacityProvider {
    WireCapacityProvider {
        capacity_provider_arn: Some(region.arn(&format!("capacity-provider/{name}"))),
        name: Some(name.into()),
        status: Some(CapacityProviderStatus::Active),
        r#type: Some(CapacityProviderType::from(name)),
        tags: Some(Vec::new()),
        ..Default::default()
    }
}

fn not_found(name: &str) -> ApiError {
    api_err!(
        ecs::InvalidParameterException,
        "The specified capacity provider {name} does not exist. Specify a valid name or ARN and try again."
    )
}

/// A cluster may only use ACTIVE providers, and its default strategy only those it lists.
pub fn validate_for_cluster(
    region: &State,
    providers: &[String],
    strategy: &[CapacityProviderStrategyItem],
) -> Result<(), ApiError> {
    for p in providers {
        let name = arn::capacity_provider_name(p);
        let known = BUILT_IN.contains(&name)
            || region
                .capacity_providers
                .get(name)
                .is_some_and(CapacityProvider::active);
        if !known {
            return Err(not_found(p));
        }
    }
    if strategy.len() > 20 {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The capacity provider strategy can contain at most 20 capacity providers."
        ));
    }
    let mut with_base = 0;
    for item in strategy {
        let name = arn::capacity_provider_name(&item.capacity_provider);
        if !providers
            .iter()
            .any(|p| arn::capacity_provider_name(p) == name)
        {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again."
            ));
        }
        if !(0..=1000).contains(&item.weight.unwrap_or(0)) {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "The capacity provider strategy weight must be between 0 and 1000."
            ));
        }
        match item.base.unwrap_or(0) {
            0 => {}
            1..=100_000 => with_base += 1,
            _ => {
                return Err(api_err!(
                    ecs::InvalidParameterException,
                    "The capacity provider strategy base must be between 0 and 100000."
                ));
            }
        }
    }
    if with_base > 1 {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Only one capacity provider in a capacity provider strategy can have a base defined."
        ));
    }
    Ok(())
}

pub fn create(
    region: &mut State,
    name: String,
    asg: Option<AutoScalingGroupProvider>,
    tags: Option<Vec<Tag>>,
) -> Result<WireCapacityProvider, ApiError> {
    let lower = name.to_ascii_lowercase();
    if !arn::is_valid_name(&name) || name.len() > 255 {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The capacity provider name must be between 1 and 255 characters and contain only letters, numbers, underscores and hyphens."
        ));
    }
    if ["aws", "ecs", "fargate"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The capacity provider name cannot begin with \"aws\", \"ecs\", or \"fargate\"."
        ));
    }
    let Some(mut asg) = asg else {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "An Auto Scaling group provider must be specified."
        ));
    };
    if region
        .capacity_providers
        .get(&name)
        .is_some_and(CapacityProvider::active)
    {
        return Err(api_err!(
            ecs::ClientException,
            "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider."
        ));
    }
    let tags = tags::from_request(tags)?;
    // AWS fills in the managed scaling and termination protection defaults.
    asg.managed_scaling = Some(scaling_with_defaults(asg.managed_scaling.take()));
    asg.managed_termination_protection
        .get_or_insert(ManagedTerminationProtection::Disabled);
    let data = WireCapacityProvider {
        capacity_provider_arn: Some(region.arn(&format!("capacity-provider/{name}"))),
        name: Some(name.clone()),
        status: Some(CapacityProviderStatus::Active),
        r#type: Some(CapacityProviderType::Ec2Autoscaling),
        auto_scaling_group_provider: Some(asg),
        update_status: None,
        ..Default::default()
    };
    let cp = CapacityProvider { data, tags };
    let out = cp.to_wire(true);
    region.capacity_providers.insert(name, cp);
    Ok(out)
}

/// Managed scaling with the documented default of every member not given: status DISABLED,
/// targetCapacity 100, minimumScalingStepSize 1, maximumScalingStepSize 10000,
/// instanceWarmupPeriod 300.
fn scaling_with_defaults(given: Option<ManagedScaling>) -> ManagedScaling {
    let mut scaling = given.unwrap_or_default();
    scaling.status.get_or_insert_with(|| "DISABLED".into());
    scaling.target_capacity.get_or_insert(100);
    scaling.minimum_scaling_step_size.get_or_insert(1);
    scaling.maximum_scaling_step_size.get_or_insert(10_000);
    scaling.instance_warmup_period.get_or_insert(300);
    scaling
}

fn custom_mut<'a>(region: &'a mut State, id: &str) -> Result<&'a mut CapacityProvider, ApiError> {
    let name = arn::capacity_provider_name(id);
    if BUILT_IN.contains(&name) {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The specified capacity provider {name} is reserved and cannot be modified."
        ));
    }
    region
        .capacity_providers
        .get_mut(name)
        .filter(|c| c.active())
        .ok_or_else(|| not_found(id))
}

pub fn update(
    region: &mut State,
    id: &str,
    update: Option<AutoScalingGroupProviderUpdate>,
) -> Result<WireCapacityProvider, ApiError> {
    let cp = custom_mut(region, id)?;
    if let (Some(u), Some(asg)) = (update, cp.data.auto_scaling_group_provider.as_mut()) {
        // A managedScaling given replaces the provider's; its members left out take their
        // defaults, as at CreateCapacityProvider.
        if u.managed_scaling.is_some() {
            asg.managed_scaling = Some(scaling_with_defaults(u.managed_scaling));
        }
        asg.managed_termination_protection = u
            .managed_termination_protection
            .or(asg.managed_termination_protection.take());
        asg.managed_draining = u.managed_draining.or(asg.managed_draining.take());
    }
    cp.data.update_status = Some(CapacityProviderUpdateStatus::UpdateComplete);
    Ok(cp.to_wire(true))
}

pub fn delete(region: &mut State, id: &str) -> Result<WireCapacityProvider, ApiError> {
    let name = arn::capacity_provider_name(id).to_owned();
    custom_mut(region, id)?;
    if region.clusters.values().any(|c| {
        c.active
            && c.capacity_providers
                .iter()
                .any(|p| arn::capacity_provider_name(p) == name)
    }) {
        return Err(api_err!(
            ecs::ResourceInUseException,
            "The specified capacity provider is in use and cannot be removed."
        ));
    }
    let cp = custom_mut(region, id)?;
    // The response shows the deletion under way; describing it afterwards shows it INACTIVE.
    let mut out = cp.to_wire(true);
    out.update_status = Some(CapacityProviderUpdateStatus::DeleteInProgress);
    cp.data.status = Some(CapacityProviderStatus::Inactive);
    cp.data.update_status = Some(CapacityProviderUpdateStatus::DeleteComplete);
    Ok(out)
}

pub fn describe(
    region: &State,
    ids: Option<Vec<String>>,
    with_tags: bool,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<(Page<WireCapacityProvider>, Vec<crate::wire::ecs::Failure>), ApiError> {
    let lookup = |name: &str| -> Option<WireCapacityProvider> {
        if BUILT_IN.contains(&name) {
            return Some(built_in(region, name));
        }
        region
            .capacity_providers
            .get(name)
            .map(|c| c.to_wire(with_tags))
    };
    let (found, missing) = match ids.filter(|v| !v.is_empty()) {
        Some(ids) => super::describe_each(
            &ids,
            |id| lookup(arn::capacity_provider_name(id)),
            |id| region.full_arn(id, &format!("capacity-provider/{id}")),
        ),
        None => {
            let built_in = BUILT_IN.iter().map(|n| built_in(region, n));
            let custom = region
                .capacity_providers
                .values()
                .filter(|c| c.active())
                .map(|c| c.to_wire(with_tags));
            (built_in.chain(custom).collect(), Vec::new())
        }
    };
    let page = PAGES.paginate(
        found.into_iter().enumerate(),
        |(i, _)| format!("{i:08}"),
        false,
        max_results,
        next_token,
        10,
    )?;
    let page = page.map(|(_, cp)| cp);
    Ok((page, missing))
}

pub fn tags_mut<'a>(region: &'a mut State, name: &str) -> Result<&'a mut Vec<Tag>, ApiError> {
    Ok(&mut custom_mut(region, name)?.tags)
}
