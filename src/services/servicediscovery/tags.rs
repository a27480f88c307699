//! Tags on namespaces and services, by ARN: AWS's common limits, Cloud Map's errors.

use super::{State, invalid};
use crate::api_err;
use crate::aws::tags::{self as limits, MAX_PER_RESOURCE};
use crate::aws::{ApiError, Timestamp};
use crate::wire::servicediscovery::Tag;

/// A request's tags, checked and deduplicated as TagResource would apply them.
pub(super) fn from_request(tags: Option<Vec<Tag>>) -> Result<Vec<Tag>, ApiError> {
    let mut out = Vec::new();
    merge(&mut out, tags.unwrap_or_default())?;
    Ok(out)
}

fn merge(existing: &mut Vec<Tag>, new: Vec<Tag>) -> Result<(), ApiError> {
    for t in &new {
        if !limits::key_length_ok(&t.key) {
            return Err(invalid(format!(
                "Tag key {} must be between 1 and 128 characters long.",
                t.key
            )));
        }
        if !limits::value_length_ok(&t.value) {
            return Err(invalid(format!(
                "The value of tag {} must be at most 256 characters long.",
                t.key
            )));
        }
    }
    let count = limits::count_after_merge(
        existing.len(),
        |k| existing.iter().any(|t| t.key == k),
        new.iter().map(|t| t.key.as_str()),
    );
    if count > MAX_PER_RESOURCE {
        return Err(api_err!(
            servicediscovery::TooManyTagsException,
            "A resource can have at most {MAX_PER_RESOURCE} tags."
        ));
    }
    for t in new {
        match existing.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value,
            None => existing.push(t),
        }
    }
    Ok(())
}

fn not_found(arn: &str) -> ApiError {
    api_err!(
        servicediscovery::ResourceNotFoundException,
        "Resource {arn} not found."
    )
}

impl State {
    /// The tags of the namespace or service an ARN names.
    fn tags_mut(&mut self, arn: &str, now: Timestamp) -> Result<&mut Vec<Tag>, ApiError> {
        if let Some(ns) = self
            .namespaces
            .values_mut()
            .find(|n| n.arn == arn && n.exists(now))
        {
            return Ok(&mut ns.tags);
        }
        self.services
            .values_mut()
            .find(|s| s.arn == arn)
            .map(|s| &mut s.tags)
            .ok_or_else(|| not_found(arn))
    }

    pub fn tag_resource(
        &mut self,
        arn: &str,
        tags: Vec<Tag>,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        merge(self.tags_mut(arn, now)?, tags)
    }

    pub fn untag_resource(
        &mut self,
        arn: &str,
        keys: &[String],
        now: Timestamp,
    ) -> Result<(), ApiError> {
        self.tags_mut(arn, now)?.retain(|t| !keys.contains(&t.key));
        Ok(())
    }

    pub fn list_tags_for_resource(&self, arn: &str, now: Timestamp) -> Result<Vec<Tag>, ApiError> {
        let of_namespace = self
            .namespaces
            .values()
            .find(|n| n.arn == arn && n.exists(now));
        of_namespace
            .map(|n| &n.tags)
            .or_else(|| {
                self.services
                    .values()
                    .find(|s| s.arn == arn)
                    .map(|s| &s.tags)
            })
            .cloned()
            .ok_or_else(|| not_found(arn))
    }
}
