//! Resource tags on ECS resources: AWS's common limits (`aws::tags`) in ECS's words, and the
//! `aws:` prefix reserved.

use crate::api_err;
use crate::aws::tags::MAX_PER_RESOURCE;
use crate::aws::{self, ApiError};
use crate::wire::ecs::{Tag, errors};

pub fn validate(tags: &[Tag]) -> Result<(), ApiError> {
    for tag in tags {
        let key = tag.key.as_deref().unwrap_or("");
        if !aws::tags::key_length_ok(key) {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "Tag keys must be between 1 and 128 characters in length."
            ));
        }
        if !aws::tags::value_length_ok(tag.value.as_deref().unwrap_or("")) {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "Tag values must be between 0 and 256 characters in length."
            ));
        }
        if aws::tags::is_reserved(key) {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "Tag keys with the prefix 'aws:' are reserved for AWS use."
            ));
        }
    }
    if tags.len() > MAX_PER_RESOURCE {
        return Err(too_many());
    }
    Ok(())
}

fn too_many() -> ApiError {
    api_err!(
        ecs::InvalidParameterException,
        "The maximum number of tags for a resource is {MAX_PER_RESOURCE}."
    )
}

/// Adds or overwrites `new` on `existing`, keeping the limit over the result.
pub fn merge(existing: &mut Vec<Tag>, new: &[Tag]) -> Result<(), ApiError> {
    validate(new)?;
    let mut merged = existing.clone();
    for tag in new {
        match merged.iter_mut().find(|t| t.key == tag.key) {
            Some(t) => t.value = tag.value.clone(),
            None => merged.push(tag.clone()),
        }
    }
    if merged.len() > MAX_PER_RESOURCE {
        return Err(too_many());
    }
    *existing = merged;
    Ok(())
}

pub fn remove(existing: &mut Vec<Tag>, keys: &[String]) {
    existing.retain(|t| !keys.iter().any(|k| Some(k) == t.key.as_ref()));
}

/// A request's tags, deduplicated the way TagResource would apply them.
pub fn from_request(tags: Option<Vec<Tag>>) -> Result<Vec<Tag>, ApiError> {
    let mut out = Vec::new();
    merge(&mut out, &tags.unwrap_or_default())?;
    Ok(out)
}

/// Which tag operation looks a resource up: they answer a resource that does not exist with
/// different errors.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// TagResource and UntagResource: ResourceNotFoundException.
    Change,
    /// ListTagsForResource, which models no ResourceNotFoundException: the resource's own
    /// ClientException or InvalidParameterException (a task definition's "Unable to describe
    /// task definition.", as DescribeTaskDefinition says), else InvalidParameterException.
    List,
}

/// The tags of the resource an ECS ARN names, for TagResource / UntagResource /
/// ListTagsForResource.
pub fn of_resource<'a>(
    region: &'a mut super::State,
    arn: &str,
    call: Call,
) -> Result<&'a mut Vec<Tag>, ApiError> {
    let invalid = || {
        api_err!(
            ecs::InvalidParameterException,
            "The ARN provided is invalid."
        )
    };
    let resource = super::arn::resource(arn).ok_or_else(invalid)?;
    let (kind, id) = resource.split_once('/').ok_or_else(invalid)?;
    let not_found = |e: ApiError| match call {
        Call::List
            if [&errors::ClientException, &errors::InvalidParameterException]
                .iter()
                .any(|def| def.code == e.code) =>
        {
            e
        }
        Call::List => api_err!(
            ecs::InvalidParameterException,
            "The specified resource could not be found."
        ),
        Call::Change => api_err!(
            ecs::ResourceNotFoundException,
            "The specified resource could not be found."
        ),
    };
    match kind {
        "cluster" => super::clusters::tags_mut(region, id),
        "task-definition" => super::task_definitions::tags_mut(region, id).map_err(not_found),
        "capacity-provider" => super::capacity_providers::tags_mut(region, id).map_err(not_found),
        "service" | "task" | "container-instance" => {
            let (cluster, rest) = id.split_once('/').ok_or_else(invalid)?;
            match kind {
                "service" => super::services::tags_mut(region, cluster, rest).map_err(not_found),
                "task" => super::tasks::tags_mut(region, cluster, rest).map_err(not_found),
                _ => super::container_instances::tags_mut(region, cluster, rest).map_err(not_found),
            }
        }
        "task-set" => super::scheduler::task_sets::tags_mut(region, id).map_err(not_found),
        _ => Err(invalid()),
    }
}
