//! Application Auto Scaling → ECS: a scalable target's bounds move its service's desired count.
//! When a target is registered (or re-registered with new bounds) and when a scheduled action
//! changes them, a desired count outside [min, max] is set to the nearest bound, as a scaling
//! activity of Application Auto Scaling and an event of the ECS service.

use crate::aws::{ApiError, Timestamp};
use crate::services::application_autoscaling::{self as aas, Key, Registration};
use crate::services::ecs::services as ecs_services;
use crate::store::Region;
use crate::wire::application_autoscaling::errors;

/// RegisterScalableTarget: the ECS service must exist; the target's bounds apply at once.
pub fn register(region: &mut Region, r: Registration, now: Timestamp) -> Result<String, ApiError> {
    let (cluster, service) = aas::ecs_service(&r.key.1).unwrap_or_default();
    if ecs_services::scalable_count(&region.ecs, cluster, service).is_none() {
        return Err(ApiError::from_def(
            &errors::ValidationException,
            format!("ECS service doesn't exist: {}", r.key.1),
        ));
    }
    let key = r.key.clone();
    let arn = region.application_autoscaling.register(r, now)?;
    apply_bounds(region, &key, None, now);
    Ok(arn)
}

/// The reconcile loop's part: runs the scheduled actions that are due.
pub fn reconcile(region: &mut Region, now: Timestamp) {
    let ran = region.application_autoscaling.run_due_actions(now);
    for (key, action) in ran {
        let cause = format!("scheduled action name {action} was triggered");
        apply_bounds(region, &key, Some(cause), now);
    }
}

/// Moves the service's desired count into its target's [min, max], if it is outside. Without a
/// cause of its own, the change is the bound's, worded as AWS words it.
fn apply_bounds(region: &mut Region, key: &Key, cause: Option<String>, now: Timestamp) {
    let Some(target) = region.application_autoscaling.targets.get(key) else {
        return;
    };
    let (min, max) = (target.data.min_capacity, target.data.max_capacity);
    let Some((cluster, service)) = aas::ecs_service(&key.1) else {
        return;
    };
    let Some(current) = ecs_services::scalable_count(&region.ecs, cluster, service) else {
        return;
    };
    let wanted = current.clamp(min, max);
    if wanted == current {
        return;
    }
    let cause = cause.unwrap_or_else(|| {
        if wanted == min {
            format!("minimum capacity was set to {min}")
        } else {
            format!("maximum capacity was set to {max}")
        }
    });
    let (cluster, service) = (cluster.to_owned(), service.to_owned());
    ecs_services::scale_to(&mut region.ecs, &cluster, &service, wanted, &cause);
    region
        .application_autoscaling
        .record_activity(key, cause, wanted, now);
}
