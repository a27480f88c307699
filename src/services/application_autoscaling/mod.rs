//! Application Auto Scaling for ECS services' desired count: scalable targets (min, max,
//! suspended states), scaling policies (target tracking with the alarms AWS names for it, step
//! scaling, predictive recorded), scheduled actions (`at`, `rate`, `cron`) that change min and
//! max at their time, scaling activities, tags. What reaches ECS — a desired count moved into
//! [min, max] — is done by `links::scaling` on the reconcile loop's passes.
//!
//! Policies are stored and described, not yet driven by load: berth has no CloudWatch metrics
//! or alarms to trigger them.

pub mod api;
mod schedule;
#[cfg(test)]
mod tests;

use crate::api_err;
use crate::aws::{ApiError, Timestamp};
use crate::store::{Part, Region, RegionInfo};
use crate::wire::application_autoscaling as wire;
use std::collections::{BTreeMap, VecDeque};

pub use schedule::Schedule;

/// Activities kept per region (newest first); AWS keeps six weeks of them.
const MAX_ACTIVITIES: usize = 1000;

/// A scalable target's key: (namespace, resource id, dimension), as each call names it.
pub type Key = (String, String, String);

pub struct Target {
    pub data: wire::ScalableTarget,
    /// The target's own ARN (tags hang on it).
    pub arn: String,
    pub tags: BTreeMap<String, String>,
}

pub struct ScheduledAction {
    pub data: wire::ScheduledAction,
    pub schedule: Schedule,
    /// When it runs next; None once an `at` action ran or the end time passed.
    pub next: Option<Timestamp>,
}

pub struct State {
    region: String,
    account_id: String,
    pub targets: BTreeMap<Key, Target>,
    policies: BTreeMap<(Key, String), wire::ScalingPolicy>,
    pub scheduled: BTreeMap<(Key, String), ScheduledAction>,
    activities: VecDeque<wire::ScalingActivity>,
}

impl Part for State {
    fn new(info: &RegionInfo) -> Self {
        State {
            region: info.name.to_owned(),
            account_id: info.account_id.to_owned(),
            targets: BTreeMap::new(),
            policies: BTreeMap::new(),
            scheduled: BTreeMap::new(),
            activities: VecDeque::new(),
        }
    }

    fn of(region: &Region) -> &Self {
        &region.application_autoscaling
    }

    fn of_mut(region: &mut Region) -> &mut Self {
        &mut region.application_autoscaling
    }
}

pub fn key(
    namespace: &wire::ServiceNamespace,
    resource_id: &str,
    dimension: &wire::ScalableDimension,
) -> Key {
    (
        namespace.as_str().to_owned(),
        resource_id.to_owned(),
        dimension.as_str().to_owned(),
    )
}

/// `service/<cluster>/<service>`: the ECS service a resource id names.
pub fn ecs_service(resource_id: &str) -> Option<(&str, &str)> {
    let rest = resource_id.strip_prefix("service/")?;
    let (cluster, service) = rest.split_once('/')?;
    (!cluster.is_empty() && !service.is_empty() && !service.contains('/'))
        .then_some((cluster, service))
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::from_def(&wire::errors::ValidationException, message)
}

fn target_not_found(k: &Key) -> ApiError {
    api_err!(
        application_autoscaling::ObjectNotFoundException,
        "No scalable target registered for service namespace: {}, resource ID: {}, scalable \
         dimension: {}",
        k.0,
        k.1,
        k.2
    )
}

/// What a Describe call narrows to: a namespace and, when given, a resource, a dimension and
/// names (of policies or scheduled actions).
pub struct Query<'a> {
    pub namespace: &'a str,
    pub resource_id: Option<&'a str>,
    pub dimension: Option<&'a str>,
    pub names: &'a [String],
}

impl<'a> Query<'a> {
    /// A describe request's narrowing, as its members give it.
    pub fn of(
        namespace: &'a wire::ServiceNamespace,
        resource_id: Option<&'a str>,
        dimension: Option<&'a wire::ScalableDimension>,
        names: &'a [String],
    ) -> Self {
        Query {
            namespace: namespace.as_str(),
            resource_id,
            dimension: dimension.map(wire::ScalableDimension::as_str),
            names,
        }
    }

    fn selects(&self, k: &Key, name: Option<&str>) -> bool {
        k.0 == self.namespace
            && self.resource_id.is_none_or(|r| r == k.1)
            && self.dimension.is_none_or(|d| d == k.2)
            && (self.names.is_empty() || name.is_some_and(|n| self.names.iter().any(|x| x == n)))
    }
}

/// What RegisterScalableTarget asks for.
pub struct Registration {
    pub key: Key,
    pub min: Option<i32>,
    pub max: Option<i32>,
    pub role_arn: Option<String>,
    pub suspended: Option<wire::SuspendedState>,
    pub tags: Option<BTreeMap<String, String>>,
}

impl State {
    /// Checks what berth can scale: an ECS service's desired count, named as ECS names it.
    /// Whether the service exists is the caller's (a link's) question.
    pub fn check_resource(
        namespace: &wire::ServiceNamespace,
        resource_id: &str,
        dimension: &wire::ScalableDimension,
    ) -> Result<(), ApiError> {
        if *namespace != wire::ServiceNamespace::Ecs {
            return Err(validation(format!(
                "Unsupported service namespace, resource type or scalable dimension: berth \
                 scales ECS services only ({namespace})"
            )));
        }
        if *dimension != wire::ScalableDimension::EcsServiceDesiredCount {
            return Err(validation(format!(
                "Unsupported scalable dimension {dimension} for service namespace ecs"
            )));
        }
        if ecs_service(resource_id).is_none() {
            return Err(validation(format!(
                "Unsupported resource type for service namespace ecs: {resource_id}"
            )));
        }
        Ok(())
    }

    /// Registers or updates a target; its ARN.
    pub fn register(&mut self, r: Registration, now: Timestamp) -> Result<String, ApiError> {
        let existing = self.targets.get(&r.key);
        let min = r.min.or(existing.map(|t| t.data.min_capacity));
        let max = r.max.or(existing.map(|t| t.data.max_capacity));
        let (Some(min), Some(max)) = (min, max) else {
            return Err(validation(
                "MinCapacity and MaxCapacity are required for registering a new scalable target.",
            ));
        };
        if min < 0 || max < 0 {
            return Err(validation(
                "Minimum and maximum capacity must not be negative.",
            ));
        }
        if min > max {
            return Err(validation(format!(
                "Minimum capacity cannot be greater than maximum capacity ({min} > {max})."
            )));
        }
        if let Some(tags) = &r.tags {
            check_tags(tags.keys(), tags.len())?;
        }
        let role = format!(
            "arn:aws:iam::{}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/\
             AWSServiceRoleForApplicationAutoScaling_ECSService",
            self.account_id
        );
        let target = self.targets.entry(r.key.clone()).or_insert_with(|| {
            let id = uuid::Uuid::new_v4().simple().to_string();
            Target {
                arn: format!(
                    "arn:aws:application-autoscaling:{}:{}:scalable-target/{}",
                    self.region,
                    self.account_id,
                    &id[..28]
                ),
                data: wire::ScalableTarget {
                    creation_time: now,
                    resource_id: r.key.1.clone(),
                    scalable_dimension: wire::ScalableDimension::from(r.key.2.as_str()),
                    service_namespace: wire::ServiceNamespace::from(r.key.0.as_str()),
                    role_arn: r.role_arn.clone().unwrap_or(role),
                    ..Default::default()
                },
                tags: BTreeMap::new(),
            }
        });
        target.data.min_capacity = min;
        target.data.max_capacity = max;
        target.data.scalable_target_arn = Some(target.arn.clone());
        if let Some(s) = r.suspended {
            let current = target.data.suspended_state.get_or_insert_default();
            current.dynamic_scaling_in_suspended = s
                .dynamic_scaling_in_suspended
                .or(current.dynamic_scaling_in_suspended);
            current.dynamic_scaling_out_suspended = s
                .dynamic_scaling_out_suspended
                .or(current.dynamic_scaling_out_suspended);
            current.scheduled_scaling_suspended = s
                .scheduled_scaling_suspended
                .or(current.scheduled_scaling_suspended);
        }
        let state = target.data.suspended_state.get_or_insert_default();
        for flag in [
            &mut state.dynamic_scaling_in_suspended,
            &mut state.dynamic_scaling_out_suspended,
            &mut state.scheduled_scaling_suspended,
        ] {
            flag.get_or_insert(false);
        }
        if let Some(tags) = r.tags {
            target.tags.extend(tags);
        }
        Ok(target.arn.clone())
    }

    pub fn deregister(&mut self, k: &Key) -> Result<(), ApiError> {
        self.targets.remove(k).ok_or_else(|| target_not_found(k))?;
        self.policies.retain(|(pk, _), _| pk != k);
        self.scheduled.retain(|(sk, _), _| sk != k);
        Ok(())
    }

    pub fn describe_targets(
        &self,
        namespace: &str,
        ids: &[String],
        dimension: Option<&str>,
    ) -> Vec<wire::ScalableTarget> {
        self.targets
            .iter()
            .filter(|((ns, id, dim), _)| {
                ns == namespace
                    && (ids.is_empty() || ids.contains(id))
                    && dimension.is_none_or(|d| d == dim)
            })
            .map(|(_, t)| t.data.clone())
            .collect()
    }

    // Policies.

    pub fn put_policy(
        &mut self,
        k: Key,
        name: &str,
        kind: wire::PolicyType,
        req: wire::PutScalingPolicyRequest,
        now: Timestamp,
    ) -> Result<wire::PutScalingPolicyResponse, ApiError> {
        if !self.targets.contains_key(&k) {
            return Err(target_not_found(&k));
        }
        if name.is_empty() || name.len() > 256 || name.contains(':') {
            return Err(validation(format!("Invalid policy name: {name}")));
        }
        match kind {
            wire::PolicyType::TargetTrackingScaling => {
                let Some(config) = &req.target_tracking_scaling_policy_configuration else {
                    return Err(validation(
                        "TargetTrackingScalingPolicyConfiguration is required for a policy of \
                         type TargetTrackingScaling",
                    ));
                };
                let metrics = [
                    config.predefined_metric_specification.is_some(),
                    config.customized_metric_specification.is_some(),
                ];
                if metrics.iter().filter(|m| **m).count() != 1 {
                    return Err(validation(
                        "Exactly one of PredefinedMetricSpecification and \
                         CustomizedMetricSpecification must be given",
                    ));
                }
            }
            wire::PolicyType::StepScaling => {
                let Some(config) = &req.step_scaling_policy_configuration else {
                    return Err(validation(
                        "StepScalingPolicyConfiguration is required for a policy of type \
                         StepScaling",
                    ));
                };
                if config.adjustment_type.is_none() {
                    return Err(validation(
                        "AdjustmentType is required for a StepScaling policy",
                    ));
                }
            }
            wire::PolicyType::PredictiveScaling => {
                if req.predictive_scaling_policy_configuration.is_none() {
                    return Err(validation(
                        "PredictiveScalingPolicyConfiguration is required for a policy of type \
                         PredictiveScaling",
                    ));
                }
            }
            other => return Err(validation(format!("Unsupported policy type {other}"))),
        }
        let existing = self.policies.get(&(k.clone(), name.to_owned()));
        let policy_arn = existing.map(|p| p.policy_arn.clone()).unwrap_or_else(|| {
            format!(
                "arn:aws:autoscaling:{}:{}:scalingPolicy:{}:resource/{}/{}:policyName/{name}",
                self.region,
                self.account_id,
                uuid::Uuid::new_v4(),
                k.0,
                k.1
            )
        });
        // Target tracking owns two alarms, named as AWS names them.
        let alarms = (kind == wire::PolicyType::TargetTrackingScaling).then(|| {
            existing.and_then(|p| p.alarms.clone()).unwrap_or_else(|| {
                let id = uuid::Uuid::new_v4();
                ["AlarmHigh", "AlarmLow"]
                    .iter()
                    .map(|side| {
                        let name = format!("TargetTracking-{}-{side}-{id}", k.1);
                        wire::Alarm {
                            alarm_arn: format!(
                                "arn:aws:cloudwatch:{}:{}:alarm:{name}",
                                self.region, self.account_id
                            ),
                            alarm_name: name,
                        }
                    })
                    .collect()
            })
        });
        let creation_time = existing.map_or(now, |p| p.creation_time);
        let policy = wire::ScalingPolicy {
            alarms: alarms.clone(),
            creation_time,
            policy_arn: policy_arn.clone(),
            policy_name: name.to_owned(),
            policy_type: kind,
            resource_id: k.1.clone(),
            scalable_dimension: wire::ScalableDimension::from(k.2.as_str()),
            service_namespace: wire::ServiceNamespace::from(k.0.as_str()),
            step_scaling_policy_configuration: req.step_scaling_policy_configuration,
            target_tracking_scaling_policy_configuration: req
                .target_tracking_scaling_policy_configuration,
            predictive_scaling_policy_configuration: req.predictive_scaling_policy_configuration,
        };
        self.policies.insert((k, name.to_owned()), policy);
        Ok(wire::PutScalingPolicyResponse { alarms, policy_arn })
    }

    pub fn delete_policy(&mut self, k: Key, name: &str) -> Result<(), ApiError> {
        self.policies
            .remove(&(k.clone(), name.to_owned()))
            .map(|_| ())
            .ok_or_else(|| {
                api_err!(
                    application_autoscaling::ObjectNotFoundException,
                    "No scaling policy found for service namespace: {}, resource ID: {}, \
                     scalable dimension: {}, policy name: {name}",
                    k.0,
                    k.1,
                    k.2
                )
            })
    }

    pub fn describe_policies(&self, q: &Query) -> Vec<wire::ScalingPolicy> {
        self.policies
            .iter()
            .filter(|((k, name), _)| q.selects(k, Some(name)))
            .map(|(_, p)| p.clone())
            .collect()
    }

    // Scheduled actions.

    pub fn put_scheduled_action(
        &mut self,
        k: Key,
        req: wire::PutScheduledActionRequest,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        if !self.targets.contains_key(&k) {
            return Err(target_not_found(&k));
        }
        let slot = (k.clone(), req.scheduled_action_name.clone());
        let existing = self.scheduled.get(&slot);
        let text = match req
            .schedule
            .or_else(|| existing.map(|e| e.data.schedule.clone()))
        {
            Some(t) => t,
            None => {
                return Err(validation(
                    "Schedule is required for a new scheduled action",
                ));
            }
        };
        let schedule = Schedule::parse(&text).map_err(validation)?;
        if let Some(tz) = req.timezone.as_deref()
            && !matches!(tz, "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT")
        {
            return Err(validation(format!(
                "berth runs scheduled actions in UTC only; time zone {tz} is not supported"
            )));
        }
        let action = req
            .scalable_target_action
            .or_else(|| existing.and_then(|e| e.data.scalable_target_action.clone()));
        if let Some(a) = &action
            && let (Some(min), Some(max)) = (a.min_capacity, a.max_capacity)
            && min > max
        {
            return Err(validation(
                "Minimum capacity cannot be greater than maximum capacity.",
            ));
        }
        let arn = existing
            .map(|e| e.data.scheduled_action_arn.clone())
            .unwrap_or_else(|| {
                format!(
                    "arn:aws:autoscaling:{}:{}:scheduledAction:{}:resource/{}/{}:\
                     scheduledActionName/{}",
                    self.region,
                    self.account_id,
                    uuid::Uuid::new_v4(),
                    k.0,
                    k.1,
                    req.scheduled_action_name
                )
            });
        let data = wire::ScheduledAction {
            creation_time: existing.map_or(now, |e| e.data.creation_time),
            end_time: req.end_time,
            resource_id: k.1.clone(),
            scalable_dimension: Some(wire::ScalableDimension::from(k.2.as_str())),
            scalable_target_action: action,
            schedule: text,
            scheduled_action_arn: arn,
            scheduled_action_name: req.scheduled_action_name,
            service_namespace: wire::ServiceNamespace::from(k.0.as_str()),
            start_time: req.start_time,
            timezone: req.timezone,
        };
        let next = schedule.next_after(now, data.start_time, data.end_time);
        self.scheduled.insert(
            slot,
            ScheduledAction {
                data,
                schedule,
                next,
            },
        );
        Ok(())
    }

    pub fn delete_scheduled_action(&mut self, k: Key, name: &str) -> Result<(), ApiError> {
        self.scheduled
            .remove(&(k.clone(), name.to_owned()))
            .map(|_| ())
            .ok_or_else(|| {
                api_err!(
                    application_autoscaling::ObjectNotFoundException,
                    "No scheduled action found for service namespace: {}, resource ID: {}, \
                     scalable dimension: {}, scheduled action name: {name}",
                    k.0,
                    k.1,
                    k.2
                )
            })
    }

    pub fn describe_scheduled_actions(&self, q: &Query) -> Vec<wire::ScheduledAction> {
        self.scheduled
            .iter()
            .filter(|((k, name), _)| q.selects(k, Some(name)))
            .map(|(_, a)| a.data.clone())
            .collect()
    }

    /// Runs the scheduled actions that are due: each sets its target's min and max. The keys
    /// of the targets they changed.
    pub fn run_due_actions(&mut self, now: Timestamp) -> Vec<(Key, String)> {
        let mut ran = Vec::new();
        for ((k, name), action) in self.scheduled.iter_mut() {
            let Some(due) = action.next else { continue };
            if due.as_secs_f64() > now.as_secs_f64() {
                continue;
            }
            action.next =
                action
                    .schedule
                    .next_after(now, action.data.start_time, action.data.end_time);
            let Some(target) = self.targets.get_mut(k) else {
                continue;
            };
            let suspended = target
                .data
                .suspended_state
                .as_ref()
                .and_then(|s| s.scheduled_scaling_suspended)
                == Some(true);
            if suspended {
                continue;
            }
            if let Some(a) = &action.data.scalable_target_action {
                if let Some(min) = a.min_capacity {
                    target.data.min_capacity = min;
                }
                if let Some(max) = a.max_capacity {
                    target.data.max_capacity = max;
                }
                // A min above the old max (or the reverse) moves the other bound along.
                if target.data.min_capacity > target.data.max_capacity {
                    if a.min_capacity.is_some() {
                        target.data.max_capacity = target.data.min_capacity;
                    } else {
                        target.data.min_capacity = target.data.max_capacity;
                    }
                }
            }
            ran.push((k.clone(), name.clone()));
        }
        ran
    }

    // Activities.

    /// Records a successful change of `k`'s capacity to `to`.
    pub fn record_activity(&mut self, k: &Key, cause: String, to: i32, now: Timestamp) {
        self.activities.push_front(wire::ScalingActivity {
            activity_id: uuid::Uuid::new_v4().to_string(),
            cause,
            description: format!("Setting desired count to {to}."),
            details: None,
            end_time: Some(now),
            not_scaled_reasons: None,
            resource_id: k.1.clone(),
            scalable_dimension: wire::ScalableDimension::from(k.2.as_str()),
            service_namespace: wire::ServiceNamespace::from(k.0.as_str()),
            start_time: now,
            status_code: wire::ScalingActivityStatusCode::Successful,
            status_message: Some(format!(
                "Successfully set desired count to {to}. Change successfully fulfilled by ecs."
            )),
        });
        self.activities.truncate(MAX_ACTIVITIES);
    }

    pub fn describe_activities(&self, q: &Query) -> Vec<wire::ScalingActivity> {
        self.activities
            .iter()
            .filter(|a| {
                let k = key(&a.service_namespace, &a.resource_id, &a.scalable_dimension);
                q.selects(&k, None)
            })
            .cloned()
            .collect()
    }

    // Tags.

    fn target_by_arn(&mut self, arn: &str) -> Result<&mut Target, ApiError> {
        self.targets
            .values_mut()
            .find(|t| t.arn == arn)
            .ok_or_else(|| {
                api_err!(
                    application_autoscaling::ResourceNotFoundException,
                    "No scalable target found for ARN {arn}"
                )
            })
    }

    pub fn tag(&mut self, arn: &str, tags: BTreeMap<String, String>) -> Result<(), ApiError> {
        let t = self.target_by_arn(arn)?;
        let merged = t
            .tags
            .keys()
            .chain(tags.keys())
            .collect::<std::collections::BTreeSet<_>>();
        check_tags(tags.keys(), merged.len())?;
        t.tags.extend(tags);
        Ok(())
    }

    pub fn untag(&mut self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        let t = self.target_by_arn(arn)?;
        t.tags.retain(|k, _| !keys.contains(k));
        Ok(())
    }

    pub fn tags(&mut self, arn: &str) -> Result<BTreeMap<String, String>, ApiError> {
        Ok(self.target_by_arn(arn)?.tags.clone())
    }
}

fn check_tags<'a>(keys: impl Iterator<Item = &'a String>, total: usize) -> Result<(), ApiError> {
    for k in keys {
        if crate::aws::tags::is_reserved(k) || !crate::aws::tags::key_length_ok(k) {
            return Err(validation(format!("Invalid tag key: {k}")));
        }
    }
    if total > crate::aws::tags::MAX_PER_RESOURCE {
        return Err(api_err!(
            application_autoscaling::TooManyTagsException,
            "A resource can have at most {} tags",
            crate::aws::tags::MAX_PER_RESOURCE
        ));
    }
    Ok(())
}
