//! Errors in AWS's words, and the model's constraints that CloudWatch Logs checks server-side.

use super::*;

pub(super) fn group_not_found() -> ApiError {
    api_err!(
        logs::ResourceNotFoundException,
        "The specified log group does not exist."
    )
}

pub(super) fn stream_not_found() -> ApiError {
    api_err!(
        logs::ResourceNotFoundException,
        "The specified log stream does not exist."
    )
}

pub(super) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::from_def(&wire::errors::InvalidParameterException, message)
}

pub(super) fn invalid_token() -> ApiError {
    invalid("The specified nextToken is invalid")
}

/// The model-constraint error every AWS JSON service phrases the same way.
pub(super) fn validation(field: &str, value: impl std::fmt::Display, constraint: &str) -> ApiError {
    invalid(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

// ---------------------------------------------------------------------------------------------
// Validation of names and numbers (the model's min/max/pattern; AWS checks them server-side)
// ---------------------------------------------------------------------------------------------

pub(super) fn check_length(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), ApiError> {
    let n = value.chars().count();
    if n < min {
        return Err(validation(
            field,
            value,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(validation(
            field,
            value,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

pub(super) fn is_group_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#')
}

pub(super) fn check_group_name(field: &str, name: &str) -> Result<(), ApiError> {
    check_length(field, name, 1, 512)?;
    if !name.chars().all(is_group_name_char) {
        return Err(validation(
            field,
            name,
            &format!("Member must satisfy regular expression pattern: {GROUP_NAME_PATTERN}"),
        ));
    }
    Ok(())
}

pub(super) fn check_stream_name(field: &str, name: &str) -> Result<(), ApiError> {
    check_length(field, name, 1, 512)?;
    if name.contains([':', '*']) {
        return Err(validation(
            field,
            name,
            &format!("Member must satisfy regular expression pattern: {STREAM_NAME_PATTERN}"),
        ));
    }
    Ok(())
}

pub(super) fn check_time(field: &str, t: Option<i64>) -> Result<(), ApiError> {
    match t {
        Some(t) if t < 0 => Err(validation(
            field,
            t,
            "Member must have value greater than or equal to 0",
        )),
        _ => Ok(()),
    }
}

pub(super) fn check_class(class: &wire::LogGroupClass) -> Result<(), ApiError> {
    if class.is_known() {
        return Ok(());
    }
    Err(validation(
        "logGroupClass",
        class,
        &format!(
            "Member must satisfy enum value set: [{}]",
            wire::LogGroupClass::VALUES.join(", ")
        ),
    ))
}

pub(super) fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), ApiError> {
    for (k, v) in tags {
        if !aws::tags::key_length_ok(k) {
            return Err(tag_constraint(k, "keys", "length"));
        }
        if !TAG_KEY.is_match(k) {
            return Err(tag_constraint(k, "keys", TAG_KEY_PATTERN));
        }
        if !aws::tags::value_length_ok(v) {
            return Err(tag_constraint(v, "values", "length"));
        }
        if !TAG_VALUE.is_match(v) {
            return Err(tag_constraint(v, "values", TAG_VALUE_PATTERN));
        }
    }
    Ok(())
}

pub(super) fn tag_constraint(value: &str, what: &str, pattern: &str) -> ApiError {
    let constraint = if pattern == "length" {
        if what == "keys" {
            "Member must have length between 1 and 128".to_owned()
        } else {
            "Member must have length less than or equal to 256".to_owned()
        }
    } else {
        format!("Member must satisfy regular expression pattern: {pattern}")
    };
    validation(
        "tags",
        value,
        &format!("Map {what} must satisfy constraint: [{constraint}]"),
    )
}
