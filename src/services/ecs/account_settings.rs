//! ECS account settings: AWS defaults, an account-wide default (PutAccountSettingDefault) and
//! per-principal values (PutAccountSetting); the effective value is the most specific one.

use super::PAGES;
use super::State;
use crate::api_err;
use crate::aws::ApiError;
use crate::aws::pagination::Page;
use crate::wire::ecs::{Setting, SettingName, SettingType};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct AccountSettings {
    /// (principal ARN, setting name) → value. The account default is stored under the root.
    values: BTreeMap<(String, String), String>,
}

/// AWS's default value of each setting for a new account.
fn aws_default(name: &SettingName) -> &'static str {
    match name {
        SettingName::ServiceLongArnFormat
        | SettingName::TaskLongArnFormat
        | SettingName::ContainerInstanceLongArnFormat => "enabled",
        SettingName::TagResourceAuthorization => "on",
        SettingName::FargateTaskRetirementWaitPeriod => "7",
        SettingName::GuardDutyActivate => "off",
        SettingName::DefaultLogDriverMode => "non-blocking",
        _ => "disabled",
    }
}

fn validate(name: &SettingName, value: &str) -> Result<(), ApiError> {
    if !name.is_known() {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Invalid setting name {name}. Valid values are: {}.",
            SettingName::VALUES.join(", ")
        ));
    }
    let allowed: &[&str] = match name {
        SettingName::ContainerInsights => &["enabled", "disabled", "enhanced"],
        SettingName::TagResourceAuthorization | SettingName::GuardDutyActivate => &["on", "off"],
        SettingName::FargateTaskRetirementWaitPeriod => &["0", "7", "14"],
        SettingName::DefaultLogDriverMode => &["blocking", "non-blocking"],
        SettingName::FargateEventWindows => &["enabled", "disabled"],
        _ => &["enabled", "disabled"],
    };
    if !allowed.contains(&value) {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Invalid value {value} for setting {name}. Valid values are: {}.",
            allowed.join(", ")
        ));
    }
    Ok(())
}

fn setting(name: &SettingName, value: &str, principal: &str, aws_managed: bool) -> Setting {
    Setting {
        name: Some(name.clone()),
        value: Some(value.to_owned()),
        principal_arn: Some(principal.to_owned()),
        r#type: Some(if aws_managed {
            SettingType::AwsManaged
        } else {
            SettingType::User
        }),
    }
}

impl State {
    fn principal(&self, given: Option<String>) -> String {
        given.unwrap_or_else(|| self.root_principal())
    }
}

pub fn put(
    region: &mut State,
    name: SettingName,
    value: String,
    principal: Option<String>,
) -> Result<Setting, ApiError> {
    validate(&name, &value)?;
    if matches!(
        name,
        SettingName::FargateFIPSMode | SettingName::FargateTaskRetirementWaitPeriod
    ) && principal.is_some()
    {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The {name} setting can only be set as an account default (PutAccountSettingDefault)."
        ));
    }
    let principal = region.principal(principal);
    region
        .account_settings
        .values
        .insert((principal.clone(), name.to_string()), value.clone());
    Ok(setting(&name, &value, &principal, false))
}

pub fn put_default(
    region: &mut State,
    name: SettingName,
    value: String,
) -> Result<Setting, ApiError> {
    put(region, name, value, None)
}

pub fn delete(
    region: &mut State,
    name: SettingName,
    principal: Option<String>,
) -> Result<Setting, ApiError> {
    if !name.is_known() {
        validate(&name, "")?;
    }
    let principal = region.principal(principal);
    let removed = region
        .account_settings
        .values
        .remove(&(principal.clone(), name.to_string()));
    match removed {
        Some(value) => Ok(setting(&name, &value, &principal, false)),
        None => Err(api_err!(
            ecs::InvalidParameterException,
            "The specified setting {name} is not set for principal {principal}."
        )),
    }
}

pub struct ListQuery {
    pub name: Option<SettingName>,
    pub value: Option<String>,
    pub principal: Option<String>,
    pub effective: bool,
    pub max_results: Option<i32>,
    pub next_token: Option<String>,
}

pub fn list(region: &State, q: ListQuery) -> Result<Page<Setting>, ApiError> {
    if q.value.is_some() && q.name.is_none() {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "You must also specify an account setting name to use the value parameter."
        ));
    }
    if let Some(n) = &q.name
        && !n.is_known()
    {
        validate(n, "")?;
    }
    let root = region.root_principal();
    let principal = q.principal.clone().unwrap_or_else(|| root.clone());
    let names: Vec<SettingName> = match &q.name {
        Some(n) => vec![n.clone()],
        None => SettingName::VALUES
            .iter()
            .map(|v| SettingName::from(*v))
            .collect(),
    };
    let values = &region.account_settings.values;
    let mut out = Vec::new();
    for name in &names {
        let key = name.to_string();
        let own = values.get(&(principal.clone(), key.clone()));
        let found = match own {
            Some(v) => Some(setting(name, v, &principal, false)),
            None if q.effective => Some(match values.get(&(root.clone(), key)) {
                Some(v) => setting(name, v, &root, false),
                None => setting(name, aws_default(name), &root, true),
            }),
            None => None,
        };
        if let Some(s) = found
            && q.value.as_ref().is_none_or(|v| Some(v) == s.value.as_ref())
        {
            out.push(s);
        }
    }
    // Pages continue by name, so the list is in name order.
    out.sort_by(|a, b| {
        a.name
            .as_ref()
            .map(|n| n.to_string())
            .cmp(&b.name.as_ref().map(|n| n.to_string()))
    });
    PAGES.paginate(
        out,
        |s| s.name.as_ref().map(|n| n.to_string()).unwrap_or_default(),
        false,
        q.max_results,
        q.next_token.as_deref(),
        10,
    )
}
