//! Custom attributes on container instances (PutAttributes / ListAttributes / DeleteAttributes).
//! They live on the instance, next to the agent's own attributes, and placement constraints
//! see them all.

use super::PAGES;
use super::{State, clusters, container_instances};
use crate::api_err;
use crate::aws::ApiError;
use crate::aws::pagination::Page;
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
        // "letters, numbers, hyphens, underscores, periods, at signs, slashes, back slashes,
        // colons, or spaces; the value can't start or end with a space" (ECS Attribute docs).
        let value_ok = |v: &str| {
            !v.starts_with(' ')
                && !v.ends_with(' ')
                && v.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'-' | b'_' | b'.' | b'@' | b'/' | b'\\' | b':' | b' ')
                })
        };
        if a.value.as_deref().is_some_and(|v| !value_ok(v)) {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "Attribute value of {} contains invalid characters or starts or ends with a space.",
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
        if a.target_id.as_deref().unwrap_or("").is_empty() {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "targetId is required for attribute {}.",
                a.name
            ));
        }
    }
    Ok(())
}

/// Attributes the agent reports are not custom ones.
fn is_custom(name: &str) -> bool {
    !name.starts_with("ecs.") && !name.starts_with("com.amazonaws.ecs.")
}

fn target_missing(id: &str) -> ApiError {
    api_err!(
        ecs::TargetNotFoundException,
        "Could not find {id}. TargetId must be a valid container instance ARN or ID in the cluster."
    )
}

/// Every target must exist before anything changes: a failed call changes nothing.
fn check_targets(region: &mut State, cluster: &str, attrs: &[Attribute]) -> Result<(), ApiError> {
    for a in attrs {
        let id = a.target_id.as_deref().unwrap_or("");
        if container_instances::attributes_mut(region, cluster, a.target_type.as_ref(), id)
            .is_none()
        {
            return Err(target_missing(id));
        }
    }
    Ok(())
}

/// The cluster of a PutAttributes or DeleteAttributes call, once its attributes and their
/// targets have been checked.
fn checked_cluster(
    region: &mut State,
    cluster: Option<&str>,
    attrs: &[Attribute],
) -> Result<String, ApiError> {
    let cluster = clusters::active(region, cluster)?.name.clone();
    validate(attrs)?;
    check_targets(region, &cluster, attrs)?;
    Ok(cluster)
}

/// Runs `f` over each attribute and the attribute list of its target.
fn on_targets(
    region: &mut State,
    cluster: &str,
    attrs: &[Attribute],
    mut f: impl FnMut(&Attribute, &mut Vec<Attribute>) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    for a in attrs {
        let id = a.target_id.as_deref().unwrap_or("");
        if let Some(list) =
            container_instances::attributes_mut(region, cluster, a.target_type.as_ref(), id)
        {
            f(a, list)?;
        }
    }
    Ok(())
}

pub fn put(
    region: &mut State,
    cluster: Option<&str>,
    attrs: Vec<Attribute>,
) -> Result<Vec<Attribute>, ApiError> {
    let cluster = checked_cluster(region, cluster, &attrs)?;
    // At most 10 custom attributes per resource, counting those it already has.
    on_targets(region, &cluster, &attrs, |a, list| {
        let mut names: Vec<&str> = list
            .iter()
            .map(|x| x.name.as_str())
            .filter(|n| is_custom(n))
            .collect();
        for b in attrs.iter().filter(|b| b.target_id == a.target_id) {
            if !names.contains(&b.name.as_str()) {
                names.push(b.name.as_str());
            }
        }
        if names.len() > MAX_PER_CALL {
            return Err(api_err!(
                ecs::AttributeLimitExceededException,
                "You can apply up to {MAX_PER_CALL} custom attributes per resource."
            ));
        }
        Ok(())
    })?;
    on_targets(region, &cluster, &attrs, |a, list| {
        list.retain(|x| x.name != a.name);
        list.push(Attribute {
            name: a.name.clone(),
            value: a.value.clone(),
            ..Default::default()
        });
        Ok(())
    })?;
    Ok(attrs)
}

pub fn delete(
    region: &mut State,
    cluster: Option<&str>,
    attrs: Vec<Attribute>,
) -> Result<Vec<Attribute>, ApiError> {
    let cluster = checked_cluster(region, cluster, &attrs)?;
    on_targets(region, &cluster, &attrs, |a, list| {
        list.retain(|x| x.name != a.name);
        Ok(())
    })?;
    Ok(attrs)
}

pub fn list(
    region: &State,
    cluster: Option<&str>,
    target_type: &TargetType,
    name: Option<&str>,
    value: Option<&str>,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<Page<Attribute>, ApiError> {
    let cluster = clusters::active(region, cluster)?.name.clone();
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
    let mut found: Vec<(String, Attribute)> = Vec::new();
    for ci in container_instances::of_cluster(region, &cluster) {
        for a in ci.data.attributes.iter().flatten() {
            if name.is_some_and(|n| n != a.name)
                || value.is_some_and(|v| Some(v) != a.value.as_deref())
            {
                continue;
            }
            found.push((
                format!("{} {}", ci.arn(), a.name),
                Attribute {
                    name: a.name.clone(),
                    value: a.value.clone(),
                    target_type: Some(TargetType::ContainerInstance),
                    target_id: Some(ci.arn().to_owned()),
                },
            ));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let page = PAGES.paginate(
        found,
        |(k, _)| k.clone(),
        false,
        max_results,
        next_token,
        100,
    )?;
    Ok(page.map(|(_, a)| a))
}
