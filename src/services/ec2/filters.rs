//! EC2's `Filter.N.Name` / `Filter.N.Value.M`: a resource is kept when, for every filter, one of
//! its values for the filter's name matches one of the filter's values (`*` and `?` wildcards).
//! `tag:<key>`, `tag-key` and `tag-value` work on every resource.

use super::ec2_err;
use crate::aws::ApiError;
use crate::aws::wildcard;
use crate::wire::ec2 as wire;

pub struct Filters(Vec<(String, Vec<String>)>);

impl Filters {
    pub fn new(filters: Option<Vec<wire::Filter>>) -> Self {
        Filters(
            filters
                .unwrap_or_default()
                .into_iter()
                .map(|f| (f.name.unwrap_or_default(), f.values.unwrap_or_default()))
                .collect(),
        )
    }

    /// Whether a resource passes; `values` gives its values for a filter name, or None for a
    /// name the resource does not know (InvalidParameterValue, as EC2 answers).
    pub fn matches(&self, values: impl Fn(&str) -> Option<Vec<String>>) -> Result<bool, ApiError> {
        self.matches_tagged(None, values)
    }

    /// As [`Filters::matches`], with the resource's tags for the tag filters.
    pub fn matches_tagged(
        &self,
        tags: Option<&[wire::Tag]>,
        values: impl Fn(&str) -> Option<Vec<String>>,
    ) -> Result<bool, ApiError> {
        for (name, wanted) in &self.0 {
            let tags = tags.unwrap_or_default();
            let have = if let Some(key) = name.strip_prefix("tag:") {
                tags.iter()
                    .filter(|t| t.key.as_deref() == Some(key))
                    .map(|t| t.value.clone().unwrap_or_default())
                    .collect()
            } else if name == "tag-key" {
                tags.iter().filter_map(|t| t.key.clone()).collect()
            } else if name == "tag-value" {
                tags.iter().filter_map(|t| t.value.clone()).collect()
            } else {
                values(name).ok_or_else(|| {
                    ec2_err!("InvalidParameterValue", "The filter '{name}' is invalid")
                })?
            };
            if !have
                .iter()
                .any(|h| wanted.iter().any(|w| wildcard::matches(w, h, false)))
            {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// A boolean as filters compare it.
pub fn flag(b: bool) -> Vec<String> {
    vec![b.to_string()]
}

/// One value, as filters compare it.
pub fn one(s: &str) -> Vec<String> {
    vec![s.to_owned()]
}
