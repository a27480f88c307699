//! One pass of the service scheduler over one service, in the steps ECS's own scheduler takes:
//! count what failed, trip the circuit breaker, plan what to start and stop within
//! minimumHealthyPercent and maximumPercent, carry the plan out, then settle the service's
//! events, its deployment's rollout state and its steady state.

use super::deployments::{self, Facts, Gate};
use super::{ProgressSeen, deployments_digest, quiet_digest, start_tasks};
use crate::aws::Timestamp;
use crate::services::ecs::services::{Service, start_deployment};
use crate::services::ecs::{State, task_protection, tasks};
use crate::wire::ecs::{
    ContainerInstanceStatus, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentControllerType, DeploymentRolloutState, HealthStatus, TaskStopCode,
};
use std::collections::HashSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// How long a deployment's tasks must have been RUNNING before it counts as COMPLETED.
const STABILITY_SECS: f64 = 1.0;

/// How often, at most, the task counts of a service deployment are refreshed.
const PROGRESS_REFRESH_SECS: f64 = 1.0;

/// The circuit breaker's failure threshold (ECS developer guide): half the desired count,
/// at least 3 and at most 200.
pub fn failure_threshold(desired: i32) -> i32 {
    ((desired + 1) / 2).clamp(3, 200)
}

/// Reconciles service `k`. A deployment's lifecycle stage that moved on changes what the pass
/// may do: it runs again at once rather than on the next tick (a few times at most; stages
/// only move forward).
pub(super) fn reconcile_service(
    region: &mut State,
    k: &(String, String),
    cluster_digest: u64,
    placements: &mut tasks::Placements,
) {
    for _ in 0..3 {
        if !reconcile_service_once(region, k, cluster_digest, placements) {
            break;
        }
    }
}

/// One pass over one service; true when its deployment's lifecycle stage moved on.
fn reconcile_service_once(
    region: &mut State,
    k: &(String, String),
    cluster_digest: u64,
    placements: &mut tasks::Placements,
) -> bool {
    let Some(pass) = Pass::begin(region, k) else {
        return false;
    };
    let failures = find_failures(region, &pass);
    let now = Timestamp::now().as_secs_f64();
    let Some(svc) = region.services.get_mut(k) else {
        return false;
    };
    record_failures(svc, &failures, now);
    trip_circuit_breaker(region, &pass);
    let plan = plan(region, &pass, now);
    if pass.daemon {
        follow_instances(region, &pass, plan.target);
    }
    let (started, unplaced) = carry_out(region, placements, &pass, &plan);
    settle(
        region,
        &pass,
        &plan,
        &failures,
        Outcome { started, unplaced },
        now,
        cluster_digest,
    )
}

/// What a pass over one service starts from.
struct Pass<'a> {
    k: &'a (String, String),
    cluster: String,
    name: String,
    config: DeploymentConfiguration,
    breaker: DeploymentCircuitBreaker,
    /// The PRIMARY deployment as the pass found it (a rollback may replace it).
    primary_id: String,
    daemon: bool,
    /// The service is being deleted.
    draining: bool,
}

impl<'a> Pass<'a> {
    /// `None` when the scheduler has nothing to do for the service: it is INACTIVE, another
    /// controller deploys it, or it has no deployment.
    fn begin(region: &mut State, k: &'a (String, String)) -> Option<Self> {
        let svc = region.services.get_mut(k)?;
        svc.changed_by_api = false;
        if svc.status == "INACTIVE"
            || svc.controller() != DeploymentControllerType::Ecs
            || svc.deployments.is_empty()
        {
            return None;
        }
        let config = svc.config();
        Some(Pass {
            k,
            cluster: k.0.clone(),
            name: k.1.clone(),
            breaker: config
                .deployment_circuit_breaker
                .clone()
                .unwrap_or_default(),
            config,
            primary_id: svc.deployments[0].id().to_owned(),
            daemon: svc.is_daemon(),
            draining: svc.status == "DRAINING",
        })
    }
}

/// Step 1's findings among the service's tasks.
#[derive(Default)]
struct Failures {
    /// Primary tasks that stopped on their own or failed their health checks, newly counted.
    failed_now: i32,
    /// Running tasks that failed their health checks, which ECS stops.
    unhealthy: Vec<String>,
    /// When the newest primary task that failed to reach RUNNING was created (the throttle).
    failed_to_start: Option<f64>,
    /// When the newest primary task that reached RUNNING started (the throttle).
    ran: Option<f64>,
}

/// Step 1, failures: primary tasks that stopped on their own, and unhealthy ones ECS stops.
fn find_failures(region: &mut State, pass: &Pass) -> Failures {
    let mut f = Failures::default();
    let primary_id = pass.primary_id.as_str();
    tasks::each_of_service_mut(region, &pass.cluster, &pass.name, |t| {
        let primary = t.deployment_id.as_deref() == Some(primary_id);
        if primary && t.reached_running {
            let started = t.data.started_at.map(|s| s.as_secs_f64()).unwrap_or(0.0);
            f.ran = Some(f.ran.map_or(started, |r: f64| r.max(started)));
        }
        if t.desired_running()
            && t.last_status() == "RUNNING"
            && t.data.health_status == Some(HealthStatus::Unhealthy)
        {
            t.request_stop(
                TaskStopCode::ServiceSchedulerInitiated,
                "Task failed container health checks",
            );
            f.unhealthy.push(t.arn().to_owned());
            if primary && !t.failure_counted {
                t.failure_counted = true;
                f.failed_now += 1;
            }
        }
        if t.is_stopped() && !t.failure_counted && primary {
            let self_stopped = !matches!(
                t.data.stop_code,
                Some(TaskStopCode::UserInitiated | TaskStopCode::ServiceSchedulerInitiated)
            );
            t.failure_counted = true;
            if self_stopped {
                f.failed_now += 1;
                if !t.reached_running {
                    let created = t.data.created_at.map(|c| c.as_secs_f64()).unwrap_or(0.0);
                    f.failed_to_start = Some(f.failed_to_start.map_or(created, |c| c.max(created)));
                }
            }
        }
    });
    f
}

/// What step 1 found, on the service: its launch throttle, its events, and the PRIMARY
/// deployment's failed task count.
fn record_failures(svc: &mut Service, f: &Failures, now: f64) {
    let name = svc.name.clone();
    if let Some(ran) = f.ran {
        svc.throttle.task_ran(ran);
    }
    if let Some(created) = f.failed_to_start
        && let Some(delay) = svc.throttle.failed_to_start(created, now)
    {
        let msg = format!("(service {name}) is unable to consistently start tasks successfully.");
        if delay > 0.0
            && svc.events.front().and_then(|e| e.message.as_deref()) != Some(msg.as_str())
        {
            svc.event(msg);
        }
    }
    if !f.unhealthy.is_empty() {
        let msg = format!(
            "(service {name}) has stopped {} running tasks: {}.",
            f.unhealthy.len(),
            task_ids(f.unhealthy.iter())
        );
        svc.event(msg);
        svc.steady = false;
    }
    if f.failed_now > 0 {
        let d = &mut svc.deployments[0];
        d.data.failed_tasks = Some(d.data.failed_tasks.unwrap_or(0) + f.failed_now);
        d.data.updated_at = Some(Timestamp::now());
        svc.steady = false;
    }
}

/// Step 2, the circuit breaker: enough failed tasks fail the PRIMARY deployment, and with
/// rollback on, the last deployment that completed becomes PRIMARY again.
fn trip_circuit_breaker(region: &mut State, pass: &Pass) {
    let Some(svc) = region.services.get_mut(pass.k) else {
        return;
    };
    let primary = &svc.deployments[0];
    if !pass.breaker.enable
        || primary.rollout() != Some(&DeploymentRolloutState::InProgress)
        || primary.data.failed_tasks.unwrap_or(0) < failure_threshold(svc.desired_count)
    {
        return;
    }
    let (name, failed_id) = (&pass.name, &pass.primary_id);
    let d = &mut svc.deployments[0];
    d.data.rollout_state = Some(DeploymentRolloutState::Failed);
    d.data.rollout_state_reason =
        Some("ECS deployment circuit breaker: tasks failed to start.".into());
    d.data.updated_at = Some(Timestamp::now());
    svc.event(format!(
        "(service {name}) (deployment {failed_id}) deployment failed: tasks failed to start."
    ));
    if pass.breaker.rollback
        && let Some((good_id, td)) = svc.last_completed.clone()
    {
        svc.data.task_definition = td.task_definition_arn.clone();
        start_deployment(
            svc,
            td,
            Some(format!(
                "ECS deployment circuit breaker: rolling back to deploymentId {good_id}."
            )),
        );
        svc.event(format!(
            "(service {name}) rolling back to deployment {good_id}."
        ));
    }
    svc.progress.deployments = None;
    deployments::circuit_breaker_tripped(&mut region.service_deployments, svc, failed_id);
}

/// Step 3's decision.
struct Plan {
    /// The PRIMARY deployment after the circuit breaker.
    primary_id: String,
    /// What the deployment's lifecycle stage allows.
    gate: Gate,
    /// How many tasks the PRIMARY deployment should run.
    target: i32,
    /// How many PRIMARY tasks to start now.
    start: i32,
    /// Tasks to stop: surplus, replaced, or on DRAINING instances.
    to_stop: Vec<String>,
}

/// Step 3, tasks: what each deployment has, and what must be started and stopped, within
/// minimumHealthyPercent and maximumPercent of the desired count (DAEMON: one task per ACTIVE
/// instance).
fn plan(region: &State, pass: &Pass, now: f64) -> Plan {
    let (cluster, name, draining) = (&pass.cluster, &pass.name, pass.draining);
    let svc = &region.services[pass.k];
    let primary_id = svc.deployments[0].id().to_owned();
    let primary_failed = svc.deployments[0].rollout() == Some(&DeploymentRolloutState::Failed);
    let draining_instances: Vec<String> = region
        .container_instances
        .values()
        .filter(|ci| ci.cluster == *cluster && ci.status() == ContainerInstanceStatus::Draining)
        .map(|ci| ci.arn().to_owned())
        .collect();
    let throttled = svc.throttle.holds(now);
    // A deleted service drains whatever stage its deployment is at.
    let gate = if draining {
        Gate::OPEN
    } else {
        deployments::gate(region, cluster, name, &primary_id)
    };
    let live: Vec<&tasks::Task> = tasks::of_service(region, cluster, name)
        .filter(|t| t.desired_running())
        .collect();
    let on_draining = |t: &tasks::Task| {
        t.container_instance
            .as_ref()
            .is_some_and(|ci| draining_instances.contains(ci))
    };
    let good_primary: Vec<String> = live
        .iter()
        .filter(|t| t.deployment_id.as_deref() == Some(primary_id.as_str()) && !on_draining(t))
        .map(|t| t.arn().to_owned())
        .collect();
    // Old deployments' tasks and tasks on DRAINING instances are replaced, not just stopped.
    let mut doomed: Vec<(bool, String)> = live
        .iter()
        .filter(|t| {
            let old = t.deployment_id.as_deref() != Some(primary_id.as_str());
            (old && gate.stop_old) || (!old && on_draining(t))
        })
        // A deployment waits for protected tasks of older ones (task scale-in protection).
        .filter(|t| draining || on_draining(t) || !task_protection::is_protected(region, t.arn()))
        .map(|t| (t.is_healthy_running(), t.arn().to_owned()))
        .collect();
    let healthy_total = live.iter().filter(|t| t.is_healthy_running()).count() as i32;
    let total = live.len() as i32;

    let (target, max_total, min_healthy) = if pass.daemon {
        let n = if draining {
            0
        } else {
            super::daemon_desired_count(region, cluster)
        };
        (n, n + doomed.len() as i32, 0)
    } else {
        let desired = svc.desired_count;
        let max_pct = pass.config.maximum_percent.unwrap_or(200);
        let min_pct = pass.config.minimum_healthy_percent.unwrap_or(100);
        (
            desired,
            (desired * max_pct) / 100,
            (desired * min_pct + 99) / 100,
        )
    };

    let mut to_stop: Vec<String> = Vec::new();
    // Scale in: surplus primary tasks, the not-yet-running first.
    let surplus = good_primary.len() as i32 - target;
    if surplus > 0 {
        let mut extra: Vec<&tasks::Task> = live
            .iter()
            .copied()
            .filter(|t| good_primary.iter().any(|a| a == t.arn()))
            // Scale-in skips protected tasks (UpdateTaskProtection); a deleted service drains all.
            .filter(|t| draining || !task_protection::is_protected(region, t.arn()))
            .collect();
        extra.sort_by_key(|t| (t.is_healthy_running(), std::cmp::Reverse(t.data.created_at)));
        to_stop.extend(
            extra
                .iter()
                .take(surplus as usize)
                .map(|t| t.arn().to_owned()),
        );
    }
    // Start: up to the target, within maximumPercent of the desired count.
    let want = (target - good_primary.len() as i32).max(0);
    let room = if gate.beside {
        want
    } else {
        (max_total.max(target.min(1)) - total).max(0)
    };
    let start = if (primary_failed && !draining) || throttled || !gate.launch {
        0
    } else {
        want.min(room)
    };
    // Stop replaced tasks: unhealthy/pending ones freely, healthy ones above minimumHealthyPercent.
    doomed.sort();
    let mut healthy_left = healthy_total;
    for (healthy, arn) in doomed {
        if !healthy {
            to_stop.push(arn);
        } else if healthy_left > min_healthy || target == 0 {
            healthy_left -= 1;
            to_stop.push(arn);
        }
    }
    Plan {
        primary_id,
        gate,
        target,
        start,
        to_stop,
    }
}

/// DAEMON: the service and its PRIMARY deployment want a task on each of its instances.
fn follow_instances(region: &mut State, pass: &Pass, target: i32) {
    if let Some(svc) = region.services.get_mut(pass.k)
        && svc.desired_count != target
    {
        svc.desired_count = target;
        if let Some(d) = svc.deployments.first_mut() {
            d.data.desired_count = Some(target);
            d.data.updated_at = Some(Timestamp::now());
        }
    }
}

/// Step 4, carry out: start the PRIMARY deployment's tasks, ask the others to stop. The started
/// task ARNs, and why some could not be placed.
fn carry_out(
    region: &mut State,
    placements: &mut tasks::Placements,
    pass: &Pass,
    plan: &Plan,
) -> (Vec<String>, Option<String>) {
    let mut out = (Vec::new(), None);
    if plan.start > 0 {
        let svc = &region.services[pass.k];
        let td = svc.deployments[0].definition.clone();
        let launch = svc.launch.clone();
        let network = svc.data.network_configuration.clone();
        let daemon_on = pass.daemon.then(|| {
            daemon_targets(region, &pass.cluster, &pass.name, &plan.primary_id)
                .into_iter()
                .take(plan.start as usize)
                .collect()
        });
        out = start_tasks(
            region,
            placements,
            pass.k,
            &td,
            &launch,
            network.as_ref(),
            &plan.primary_id,
            daemon_on,
            plan.start as usize,
        );
    }
    for arn in &plan.to_stop {
        if let Some(t) = region.tasks.get_mut(arn) {
            let reason = format!(
                "Scaling activity initiated by (deployment {})",
                t.deployment_id.clone().unwrap_or_default()
            );
            t.request_stop(TaskStopCode::ServiceSchedulerInitiated, &reason);
        }
    }
    out
}

/// DAEMON: ACTIVE instances of the cluster without a task of the primary deployment.
fn daemon_targets(region: &State, cluster: &str, service: &str, deployment: &str) -> Vec<String> {
    let busy: HashSet<&str> = tasks::of_service(region, cluster, service)
        .filter(|t| t.deployment_id.as_deref() == Some(deployment) && t.desired_running())
        .filter_map(|t| t.container_instance.as_deref())
        .collect();
    region
        .container_instances
        .values()
        .filter(|ci| ci.cluster == cluster && ci.status() == ContainerInstanceStatus::Active)
        .filter(|ci| !busy.contains(ci.arn()))
        .map(|ci| ci.arn().to_owned())
        .collect()
}

/// What step 4 did.
struct Outcome {
    started: Vec<String>,
    unplaced: Option<String>,
}

/// The service's tasks after step 4, as the last step reads them.
struct After {
    /// Tasks of older deployments that still should run.
    old_left: usize,
    /// PRIMARY tasks running, healthy, for a while.
    primary_running: i32,
    any_pending: bool,
    primary_pending: bool,
    /// Which deployment each task that should run belongs to, and whether it runs, hashed.
    task_states: u64,
    /// Nothing of the service runs or will.
    all_stopped: bool,
}

impl After {
    fn read(region: &State, pass: &Pass, primary_id: &str, now: f64) -> After {
        let live: Vec<&tasks::Task> = tasks::of_service(region, &pass.cluster, &pass.name)
            .filter(|t| t.desired_running())
            .collect();
        let primary = |t: &tasks::Task| t.deployment_id.as_deref() == Some(primary_id);
        // A deployment completes once its tasks have stayed up a while, not at the first
        // instant they all run: a crash-looping revision must not look COMPLETED between two
        // crashes.
        let settled = |t: &tasks::Task| {
            t.data
                .started_at
                .is_some_and(|s| now - s.as_secs_f64() >= STABILITY_SECS)
        };
        let mut h = DefaultHasher::new();
        for t in &live {
            (t.deployment_id.as_deref(), t.last_status() == "RUNNING").hash(&mut h);
        }
        After {
            old_left: live.iter().filter(|t| !primary(t)).count(),
            primary_running: live
                .iter()
                .filter(|t| primary(t) && t.is_healthy_running() && settled(t))
                .count() as i32,
            any_pending: live.iter().any(|t| t.last_status() != "RUNNING"),
            primary_pending: live
                .iter()
                .any(|t| primary(t) && t.last_status() != "RUNNING"),
            task_states: h.finish(),
            all_stopped: live.is_empty()
                && tasks::of_service(region, &pass.cluster, &pass.name).all(|t| t.is_stopped()),
        }
    }
}

/// Step 5, events, deployment bookkeeping (COMPLETED, the service deployment history, lifecycle
/// stages), steady state, and whether the service is settled enough for the tick to skip it.
/// True when the deployment's lifecycle stage moved on.
fn settle(
    region: &mut State,
    pass: &Pass,
    plan: &Plan,
    failures: &Failures,
    outcome: Outcome,
    now: f64,
    cluster_digest: u64,
) -> bool {
    let (name, primary_id) = (&pass.name, &plan.primary_id);
    let after = After::read(region, pass, primary_id, now);
    let Some(svc) = region.services.get_mut(pass.k) else {
        return false;
    };
    if !outcome.started.is_empty() {
        svc.event(format!(
            "(service {name}) has started {} tasks: {}.",
            outcome.started.len(),
            task_ids(outcome.started.iter())
        ));
        svc.steady = false;
    }
    if !plan.to_stop.is_empty() {
        svc.event(format!(
            "(service {name}) has stopped {} running tasks: {}.",
            plan.to_stop.len(),
            task_ids(plan.to_stop.iter())
        ));
        svc.steady = false;
    }
    if let Some(reason) = outcome.unplaced {
        let msg = format!(
            "(service {name}) was unable to place a task because no container instance met all of its requirements. Reason: {reason}."
        );
        if svc.events.front().and_then(|e| e.message.as_deref()) != Some(msg.as_str()) {
            svc.event(msg);
        }
    }
    if after.old_left == 0 && svc.deployments.len() > 1 {
        svc.deployments.truncate(1);
    }
    let complete = plan.gate.complete
        && after.old_left == 0
        && after.primary_running == plan.target
        && !after.any_pending;
    if complete {
        reach_steady_state(svc);
    }
    if svc.status == "DRAINING" && after.all_stopped {
        svc.status = "INACTIVE".into();
        svc.deployments.clear();
    }
    let deployments = deployments_digest(svc);
    let p = &mut svc.progress;
    let call_progress = p.deployments != Some(deployments)
        || (p.tasks != after.task_states && now - p.at >= PROGRESS_REFRESH_SECS);
    if call_progress {
        *p = ProgressSeen {
            deployments: Some(deployments),
            tasks: after.task_states,
            at: now,
        };
    }
    let progress_current = p.tasks == after.task_states;
    let settles = outcome.started.is_empty()
        && plan.to_stop.is_empty()
        && failures.unhealthy.is_empty()
        && failures.failed_now == 0
        && complete
        && svc.steady
        && svc.status == "ACTIVE"
        && svc.deployments.len() == 1
        && svc.throttle.is_clear()
        && progress_current;
    let facts = Facts {
        target: plan.target,
        running: after.primary_running,
        pending: after.primary_pending,
        old_left: after.old_left,
    };
    let moved = deployments::advance_lifecycle(region, &pass.cluster, name, primary_id, &facts);
    if call_progress || moved {
        deployments::progress(region, &pass.cluster, name);
    }
    let quiet = (settles && !moved).then(|| quiet_digest(region, pass.k, cluster_digest));
    if let Some(svc) = region.services.get_mut(pass.k) {
        svc.quiet = quiet;
    }
    moved
}

/// The service runs what its PRIMARY deployment wants: the deployment is COMPLETED (and the
/// last one a circuit-breaker rollback can go back to), and the service has reached a steady
/// state.
pub fn reach_steady_state(svc: &mut Service) {
    let name = svc.name.clone();
    let Some(d) = svc.deployments.first_mut() else {
        return;
    };
    let id = d.id().to_owned();
    if d.rollout() == Some(&DeploymentRolloutState::InProgress) {
        d.data.rollout_state = Some(DeploymentRolloutState::Completed);
        d.data.rollout_state_reason = Some(format!("ECS deployment {id} completed."));
        d.data.updated_at = Some(Timestamp::now());
        svc.last_completed = Some((id.clone(), d.definition.clone()));
        svc.event(format!(
            "(service {name}) (deployment {id}) deployment completed."
        ));
    }
    if !svc.steady && svc.status == "ACTIVE" {
        svc.steady = true;
        svc.event(format!("(service {name}) has reached a steady state."));
    }
}

/// Whether service `k`'s only deployment runs all its tasks, healthy, with none pending and
/// none failed: the steady state the services-stable waiter reports, and for ECS the moment
/// the deployment is COMPLETED. The scheduler itself waits [`STABILITY_SECS`] more before it
/// says so, so that a crash-looping revision does not look completed between two crashes.
pub fn runs_as_wanted(region: &State, k: &(String, String)) -> bool {
    let Some(svc) = region.services.get(k) else {
        return false;
    };
    let [primary] = svc.deployments.as_slice() else {
        return false;
    };
    if primary.rollout() != Some(&DeploymentRolloutState::InProgress)
        || primary.data.failed_tasks.unwrap_or(0) > 0
        || !deployments::gate(region, &k.0, &k.1, primary.id()).complete
    {
        return false;
    }
    let mut running = 0;
    for t in tasks::of_service(region, &k.0, &k.1).filter(|t| t.desired_running()) {
        if t.deployment_id.as_deref() != Some(primary.id()) || !t.is_healthy_running() {
            return false;
        }
        running += 1;
    }
    running == svc.desired_count
}

/// `(task a) (task b)`, as service events name tasks.
fn task_ids<'a>(arns: impl Iterator<Item = &'a String>) -> String {
    arns.map(|a| format!("(task {})", a.rsplit('/').next().unwrap_or(a)))
        .collect::<Vec<_>>()
        .join(" ")
}
