//! IAM: roles (with inline and attached policies, permissions boundaries, tags), customer managed
//! policies with their versions, the AWS managed policies, instance profiles and service-linked
//! roles — what Terraform's `aws_iam_*` resources of an ECS stack call. IAM is global on AWS, so
//! its state is the store's one global part, not a region's.
//!
//! Nothing here authorises a request: berth answers every caller as the account root.

pub mod api;
mod managed;
mod policies;
mod profiles;
mod roles;
#[cfg(test)]
mod tests;

use crate::api_err;
use crate::aws::pagination::{Page, Pager};
use crate::aws::{ApiError, tags};
use crate::wire::iam as wire;
use std::collections::BTreeMap;

pub use policies::NewPolicy;
pub use roles::NewRole;

/// Longest page a `MaxItems` asks for, and the page size without one.
const MAX_ITEMS: usize = 1000;
const DEFAULT_ITEMS: usize = 100;

/// The account's IAM entities, keyed by their lowercased names (IAM names are unique without
/// regard to case) or, for policies, by ARN.
pub struct State {
    account_id: String,
    roles: BTreeMap<String, roles::Role>,
    policies: BTreeMap<String, policies::Policy>,
    profiles: BTreeMap<String, profiles::InstanceProfile>,
    /// Service-linked role deletions: task id → the role's name.
    deletion_tasks: BTreeMap<String, String>,
}

impl State {
    pub fn new(account_id: &str) -> Self {
        State {
            account_id: account_id.to_owned(),
            roles: BTreeMap::new(),
            policies: BTreeMap::new(),
            profiles: BTreeMap::new(),
            deletion_tasks: BTreeMap::new(),
        }
    }

    /// `arn:aws:iam::<account>:<kind><path><name>` (IAM ARNs have no region).
    fn arn(&self, kind: &str, path: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:{kind}{path}{name}", self.account_id)
    }
}

/// IAM's unique ids: a four-letter prefix naming the kind (AROA roles, ANPA policies, AIPA
/// instance profiles) and 17 upper-case letters and digits.
fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = u128::from_be_bytes(uuid::Uuid::new_v4().into_bytes());
    let tail: String = (0..17)
        .map(|_| {
            let c = ALPHABET[(bits & 31) as usize] as char;
            bits >>= 5;
            c
        })
        .collect();
    format!("{prefix}{tail}")
}

/// The key a name is stored under.
fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// IAM's model validation, worded as the service words it.
fn validation(message: impl std::fmt::Display) -> ApiError {
    ApiError::common(
        "ValidationError",
        400,
        format!("1 validation error detected: {message}"),
    )
}

/// A name of `[\w+=,.@-]+` within `max` characters (roles 64, policies 128).
fn check_name(field: &str, name: &str, max: usize) -> Result<(), ApiError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if name.is_empty() || name.chars().count() > max {
        return Err(validation(format_args!(
            "Value '{name}' at '{field}' failed to satisfy constraint: Member must have length \
             less than or equal to {max}"
        )));
    }
    if !name.chars().all(ok_char) {
        return Err(validation(format_args!(
            "Value '{name}' at '{field}' failed to satisfy constraint: Member must satisfy \
             regular expression pattern: [\\w+=,.@-]+"
        )));
    }
    Ok(())
}

/// A path: `/`, or `/`-delimited printable ASCII starting and ending with `/`, at most 512.
fn check_path(path: &str) -> Result<(), ApiError> {
    let printable = path.chars().all(|c| ('!'..='~').contains(&c));
    if path.len() > 512 || !path.starts_with('/') || !path.ends_with('/') || !printable {
        return Err(validation(format_args!(
            "Value '{path}' at 'path' failed to satisfy constraint: Member must satisfy regular \
             expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
        )));
    }
    Ok(())
}

/// A policy document must be a JSON object with statements.
fn check_document(document: &str) -> Result<(), ApiError> {
    let value: serde_json::Value = serde_json::from_str(document).map_err(|_| {
        crate::api_err!(
            iam::MalformedPolicyDocumentException,
            "This policy contains invalid Json"
        )
    })?;
    if value.get("Statement").is_none() {
        return Err(crate::api_err!(
            iam::MalformedPolicyDocumentException,
            "Syntax errors in policy."
        ));
    }
    Ok(())
}

/// IAM returns policy documents URL-encoded (RFC 3986), which SDKs and Terraform decode.
fn encode_document(document: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(document, UNRESERVED).to_string()
}

/// Tags as IAM limits them: 50 per entity, unique keys, the common lengths.
fn check_tags<'a>(
    existing: &[wire::Tag],
    new: impl IntoIterator<Item = &'a wire::Tag> + Clone,
) -> Result<(), ApiError> {
    let mut keys: Vec<&str> = new.clone().into_iter().map(|t| t.key.as_str()).collect();
    for t in new.clone() {
        if !tags::key_length_ok(&t.key) || !tags::value_length_ok(&t.value) {
            return Err(validation(format_args!(
                "Value '{}' at 'tags.member.key' failed to satisfy constraint: Member must have \
                 length less than or equal to {}",
                t.key,
                tags::MAX_KEY_CHARS
            )));
        }
    }
    let given = keys.len();
    keys.sort_unstable();
    keys.dedup();
    if keys.len() != given {
        return Err(api_err!(
            iam::InvalidInputException,
            "Duplicate tag keys found. Please note that Tag keys are case insensitive."
        ));
    }
    let count = tags::count_after_merge(
        existing.len(),
        |k| existing.iter().any(|t| t.key == k),
        keys,
    );
    if count > tags::MAX_PER_RESOURCE {
        return Err(api_err!(
            iam::LimitExceededException,
            "The number of tags has reached the maximum limit."
        ));
    }
    Ok(())
}

/// Adds or overwrites `new` in `tags`.
fn merge_tags(tags: &mut Vec<wire::Tag>, new: Vec<wire::Tag>) {
    for t in new {
        match tags.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value,
            None => tags.push(t),
        }
    }
}

/// `Some(tags)` when there are any: IAM leaves an untagged entity's `Tags` out.
fn some_tags(tags: &[wire::Tag]) -> Option<Vec<wire::Tag>> {
    (!tags.is_empty()).then(|| tags.to_vec())
}

/// IAM's `Marker` / `MaxItems` paging over items sorted by `key`.
fn page<T>(
    kind: &'static str,
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> Result<Page<T>, ApiError> {
    let pager = Pager {
        kind,
        bad_size: |n, max| {
            validation(format_args!(
                "Value '{n}' at 'maxItems' failed to satisfy constraint: Member must have value \
                 between 1 and {max}"
            ))
        },
        bad_token: || validation("Invalid Marker."),
    };
    let size = pager.size(max_items, DEFAULT_ITEMS, MAX_ITEMS)?;
    let after = pager.after(marker)?;
    let rest = items
        .into_iter()
        .filter(|item| after.as_deref().is_none_or(|a| key(item).as_str() > a));
    Ok(pager.page(rest, &key, size))
}

/// A path prefix filter (`/` when none is given).
fn under(path: &str, prefix: Option<&str>) -> bool {
    path.starts_with(prefix.unwrap_or("/"))
}
