//! Task scale-in protection (UpdateTaskProtection / GetTaskProtection): a service task marked
//! protected is not stopped by the scheduler's scale-in or by deployments until the protection
//! expires or is removed. Protection lives here, keyed by task ARN, with its expiry.

use super::{State, clusters};
use crate::api_err;
use crate::aws::{ApiError, Timestamp};
use crate::wire::ecs::{Failure, ProtectedTask};

/// "If you don't specify the time, then the task is automatically protected for 120 minutes."
pub const DEFAULT_MINUTES: i32 = 120;
/// "You can specify a value from 1 minute to up to 2,880 minutes (48 hours)."
pub const MAX_MINUTES: i32 = 2880;

/// Whether the scheduler must leave the task alone now.
pub fn is_protected(region: &State, task_arn: &str) -> bool {
    let now = Timestamp::now().as_secs_f64();
    region
        .task_protection
        .get(task_arn)
        .is_some_and(|until| until.as_secs_f64() > now)
}

/// A task of `cluster` by ARN or id → its ARN, or the failure AWS reports for it.
fn resolve(region: &State, cluster: &str, id: &str) -> Result<String, Failure> {
    let short = id.rsplit('/').next().unwrap_or(id);
    let arn = region.arn(&format!("task/{cluster}/{short}"));
    let failure = |reason: &str, detail: &str| Failure {
        arn: Some(if id.starts_with("arn:") {
            id.to_owned()
        } else {
            arn.clone()
        }),
        reason: Some(reason.into()),
        detail: Some(detail.into()),
    };
    match region.tasks.get(&arn) {
        None => Err(failure("MISSING", "The specified task was not found.")),
        // "This operation is only supported for tasks belonging to an Amazon ECS service.
        // Invoking this operation for a standalone task will result in an TASK_NOT_VALID
        // failure." (UpdateTaskProtection, API reference)
        Some(t) if t.service.is_none() => Err(failure(
            "TASK_NOT_VALID",
            "The specified task is not part of an Amazon ECS service.",
        )),
        Some(_) => Ok(arn),
    }
}

fn protected_task(region: &State, arn: &str) -> ProtectedTask {
    let until = region
        .task_protection
        .get(arn)
        .copied()
        .filter(|_| is_protected(region, arn));
    ProtectedTask {
        task_arn: Some(arn.to_owned()),
        protection_enabled: Some(until.is_some()),
        expiration_date: until,
    }
}

/// Protection of tasks that are gone (stopped and forgotten) is dropped.
fn prune(region: &mut State) {
    let State {
        task_protection,
        tasks,
        ..
    } = region;
    task_protection.retain(|arn, _| tasks.contains_key(arn));
}

pub fn update(
    region: &mut State,
    cluster: &str,
    ids: &[String],
    enabled: bool,
    expires_in_minutes: Option<i32>,
) -> Result<(Vec<ProtectedTask>, Vec<Failure>), ApiError> {
    let cluster = clusters::active(region, Some(cluster))?.name.clone();
    if ids.is_empty() || ids.len() > 10 {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "tasks must contain between 1 and 10 items."
        ));
    }
    let minutes = expires_in_minutes.unwrap_or(DEFAULT_MINUTES);
    if enabled && !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "expiresInMinutes must be between 1 and {MAX_MINUTES}."
        ));
    }
    prune(region);
    let mut protected = Vec::new();
    let mut failures = Vec::new();
    for id in ids {
        match resolve(region, &cluster, id) {
            Ok(arn) => {
                // Protecting again always restarts the clock (API reference).
                if enabled {
                    let until = Timestamp::from_secs_f64(
                        Timestamp::now().as_secs_f64() + minutes as f64 * 60.0,
                    );
                    region.task_protection.insert(arn.clone(), until);
                } else {
                    region.task_protection.remove(&arn);
                }
                protected.push(protected_task(region, &arn));
            }
            Err(f) => failures.push(f),
        }
    }
    Ok((protected, failures))
}

pub fn get(
    region: &mut State,
    cluster: &str,
    ids: Option<&[String]>,
) -> Result<(Vec<ProtectedTask>, Vec<Failure>), ApiError> {
    let cluster = clusters::active(region, Some(cluster))?.name.clone();
    prune(region);
    let Some(ids) = ids else {
        // Without task ids: every service task of the cluster that has not stopped.
        let all = region
            .tasks
            .values()
            .filter(|t| t.cluster == cluster && t.service.is_some() && !t.is_stopped())
            .map(|t| protected_task(region, t.arn()))
            .collect();
        return Ok((all, Vec::new()));
    };
    if ids.len() > 100 {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "tasks can have at most 100 items."
        ));
    }
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for id in ids {
        match resolve(region, &cluster, id) {
            Ok(arn) => found.push(protected_task(region, &arn)),
            Err(f) => failures.push(f),
        }
    }
    Ok((found, failures))
}
