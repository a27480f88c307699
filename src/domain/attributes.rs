//! Custom attributes on container instances (PutAttributes / ListAttributes / DeleteAttributes),
//! kept per cluster. Container instances arrive with the scheduler; until then no target exists
//! and ECS's answer is TargetNotFoundException, as for an unknown instance.

use super::pagination::{Page, paginate};
use super::{Region, clusters};
use crate::api_err;
use crate::protocol::ApiError;
use crate::wire::ecs::{Attribute, TargetType};

const MAX_PER_CALL: usize = 10;

fn validate(attrs: &[Attribute]) -> Result<(), ApiError> {
    if attrs.is_empty() {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Attributes cannot be empty."
        ));
    }
    if attrs.len() > MAX_PER_CALL {
        return Err(api_err!(
            ecs::AttributeLimitExceededException,
            "You can apply up to {MAX_PER_CALL} custom attributes per call."
        ));
    }
    for a in attrs {
        let name_ok = !a.name.is_empty()
            && a.name.len() <= 128
            && a.name.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'\\' | b'.')
            });
        if !name_ok {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "Attribute name {} is invalid: up to 128 letters, numbers, hyphens, underscores, slashes, back slashes and periods are allowed.",
                a.name
            ));
        }
        if a.value
            .as_ref()
            .is_some_and(|v| v.is_empty() || v.len() > 128)
        {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "Attribute value of {} must be between 1 and 128 characters.",
                a.name
            ));
        }
        if a.target_type
            .as_ref()
            .is_some_and(|t| *t != TargetType::ContainerInstance)
        {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "Invalid targetType. Valid value is container-instance."
            ));
        }
    }
    Ok(())
}

fn check_targets(attrs: &[Attribute]) -> Result<(), ApiError> {
    if let Some(a) = attrs.first() {
        let target = a.target_id.as_deref().unwrap_or("");
        return Err(api_err!(
            ecs::TargetNotFoundException,
            "Could not find {target}. TargetId must be a valid container instance ARN or ID in the cluster."
        ));
    }
    Ok(())
}

pub fn put(
    region: &mut Region,
    cluster: Option<&str>,
    attrs: Vec<Attribute>,
) -> Result<Vec<Attribute>, ApiError> {
    clusters::active(region, cluster)?;
    validate(&attrs)?;
    check_targets(&attrs)?;
    Ok(attrs)
}

pub fn delete(
    region: &mut Region,
    cluster: Option<&str>,
    attrs: Vec<Attribute>,
) -> Result<Vec<Attribute>, ApiError> {
    put(region, cluster, attrs)
}

pub fn list(
    region: &Region,
    cluster: Option<&str>,
    target_type: &TargetType,
    name: Option<&str>,
    value: Option<&str>,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<Page<Attribute>, ApiError> {
    clusters::active(region, cluster)?;
    if *target_type != TargetType::ContainerInstance {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Invalid targetType. Valid value is container-instance."
        ));
    }
    if value.is_some() && name.is_none() {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "attributeName must be specified when attributeValue is specified."
        ));
    }
    let none: Vec<Attribute> = Vec::new();
    paginate(
        none,
        |a| a.name.clone(),
        false,
        max_results,
        next_token,
        100,
    )
}
