//! The ECS service scheduler's side of a region: the passes the reconcile loop runs over the
//! services (which to look at, and when a settled one can be skipped), one pass over one
//! service (`reconcile`), the launch throttle, service deployments and their lifecycle
//! stages ([`deployments`]), and task sets. The loop itself (when to run which pass) is
//! `crate::scheduler`.

pub mod deployments;
mod reconcile;
pub mod task_sets;
mod throttle;

pub use reconcile::{failure_threshold, reach_steady_state, runs_as_wanted};
pub use throttle::Throttle;

use crate::services::ecs::services::Service;
use crate::services::ecs::tasks::{self, Launch, NewTask};
use crate::services::ecs::{State, placement};
use crate::wire::ecs::{
    ContainerInstanceStatus, NetworkConfiguration, PlacementConstraint, PlacementStrategy,
    PropagateTags, TaskDefinition,
};
use reconcile::reconcile_service;
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// One pass of the service scheduler over every service of the region (the scheduler's tick).
/// A service a previous pass left settled is skipped while nothing it depends on has changed.
pub fn reconcile_all(region: &mut State, placements: &mut tasks::Placements) {
    let clusters = cluster_digests(region);
    let keys: Vec<(String, String)> = region.services.keys().cloned().collect();
    for k in keys {
        let cluster = clusters.get(&k.0).copied().unwrap_or_default();
        let quiet = region
            .services
            .get(&k)
            .and_then(|s| s.quiet.filter(|_| !s.changed_by_api));
        if quiet.is_some() && quiet == Some(quiet_digest(region, &k, cluster)) {
            continue;
        }
        reconcile_service(region, &k, cluster, placements);
    }
}

/// A pass over the services API calls changed (created, updated, deleted, rolled back) since
/// the last pass. Other API calls reach services through their tasks (a stopped task comes
/// back as an executor report) or wait for the tick (a drained instance, task protection).
pub fn reconcile_changed(region: &mut State, placements: &mut tasks::Placements) {
    let keys: Vec<(String, String)> = region
        .services
        .iter()
        .filter(|(_, s)| s.changed_by_api)
        .map(|(k, _)| k.clone())
        .collect();
    if keys.is_empty() {
        return;
    }
    reconcile_some(region, &keys, placements);
}

/// A pass over some services only: those whose tasks the executor reported on since the last
/// pass. Everything else waits for the next full pass (the scheduler's tick).
pub fn reconcile_some<'a>(
    region: &mut State,
    keys: impl IntoIterator<Item = &'a (String, String)>,
    placements: &mut tasks::Placements,
) {
    let clusters = cluster_digests(region);
    for k in keys {
        let cluster = clusters.get(&k.0).copied().unwrap_or_default();
        reconcile_service(region, k, cluster, placements);
    }
}

/// Per cluster, its container instances and their statuses, hashed: registering, draining or
/// deregistering an instance gives a settled service of the cluster work again (tasks to move,
/// a DAEMON task to place).
fn cluster_digests(region: &State) -> HashMap<String, u64> {
    let mut hashers: HashMap<&str, DefaultHasher> = HashMap::new();
    for ci in region.container_instances.values() {
        let h = hashers.entry(ci.cluster.as_str()).or_default();
        (ci.arn(), ci.status().as_str()).hash(h);
    }
    hashers
        .into_iter()
        .map(|(cluster, h)| (cluster.to_owned(), h.finish()))
        .collect()
}

/// What could give a settled service something to do, hashed: its tasks (every change to a
/// task bumps its `version`, ECS's own change counter), its cluster's instances, and what it
/// asks for (desired count, status, deployments), should anything change those without this
/// module's API functions.
fn quiet_digest(region: &State, k: &(String, String), cluster: u64) -> u64 {
    let mut h = DefaultHasher::new();
    cluster.hash(&mut h);
    if let Some(svc) = region.services.get(k) {
        (svc.desired_count, deployments_digest(svc)).hash(&mut h);
    }
    for t in tasks::of_service(region, &k.0, &k.1) {
        t.data.version.hash(&mut h);
    }
    h.finish()
}

/// What `deployments::progress` reads of a service besides its tasks, hashed: its
/// status and its deployments. The service deployment history changes otherwise only through
/// `started`, `circuit_breaker_tripped` and a rollback's `start_deployment`, and all of them
/// clear `progress.deployments`.
fn deployments_digest(svc: &Service) -> u64 {
    let mut h = DefaultHasher::new();
    svc.status.hash(&mut h);
    for d in &svc.deployments {
        (
            d.id(),
            d.data.desired_count,
            d.rollout(),
            d.data.failed_tasks,
            d.data.status.as_deref(),
        )
            .hash(&mut h);
    }
    h.finish()
}

/// What `deployments::progress` last ran on. It counts every task of the region, so
/// the scheduler calls it when the service's deployments or status change, and refreshes the
/// task counts it reports at most once a second.
#[derive(Default)]
pub struct ProgressSeen {
    /// [`deployments_digest`]; `None` makes the next pass call `progress`.
    pub(crate) deployments: Option<u64>,
    /// Which deployment each task that should run belongs to, and whether it runs, hashed.
    tasks: u64,
    /// When `progress` last ran (epoch seconds).
    at: f64,
}

/// A DAEMON service's desired count: one task per ACTIVE container instance of its cluster,
/// the instances its scheduler places on. ECS keeps a DAEMON service's desiredCount at that
/// number as instances come and go.
pub fn daemon_desired_count(region: &State, cluster: &str) -> i32 {
    region
        .container_instances
        .values()
        .filter(|ci| ci.cluster == cluster && ci.status() == ContainerInstanceStatus::Active)
        .count() as i32
}

/// Places and creates `count` tasks of service `k` for deployment (or task set) `deployment`,
/// as the service is configured to start them: its placement (spreading over zones, then
/// instances, when it has no strategy — CreateService docs), group `service:NAME`, propagated
/// tags and exec setting. DAEMON services pass the instances to start on instead.
/// Returns the started task ARNs and, when some could not be placed, the last reason.
#[allow(clippy::too_many_arguments)]
pub(crate) fn start_tasks(
    region: &mut State,
    placements: &mut tasks::Placements,
    k: &(String, String),
    td: &Arc<TaskDefinition>,
    launch: &Launch,
    network: Option<&NetworkConfiguration>,
    deployment: &str,
    on_instances: Option<Vec<String>>,
    count: usize,
) -> (Vec<String>, Option<String>) {
    let Some(svc) = region.services.get(k) else {
        return (Vec::new(), None);
    };
    let (cluster, name) = k.clone();
    let strategies: Vec<PlacementStrategy> = svc
        .data
        .placement_strategy
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(placement::default_service_strategies);
    let constraints: Vec<PlacementConstraint> =
        svc.data.placement_constraints.clone().unwrap_or_default();
    let group = format!("service:{name}");
    let tags = match svc.data.propagate_tags {
        Some(PropagateTags::Service) => svc.tags.clone(),
        _ => Vec::new(),
    };
    let exec = svc.data.enable_execute_command.unwrap_or(false);
    let mut unplaced = None;
    let chosen = match on_instances {
        Some(arns) => {
            // Placed without the pass's candidates, which no longer account for everything.
            placements.forget(&cluster);
            arns.into_iter().map(|arn| Ok(Some(arn))).collect()
        }
        None => match tasks::place(
            region,
            Some(placements),
            &cluster,
            td,
            None,
            launch,
            &group,
            &strategies,
            &constraints,
            count,
        ) {
            Ok(p) => p,
            Err(e) => {
                unplaced = Some(e.message);
                Vec::new()
            }
        },
    };
    let mut started = Vec::new();
    for p in chosen {
        match p {
            Ok(instance) => started.push(tasks::create(
                region,
                NewTask {
                    cluster: &cluster,
                    definition: td,
                    launch,
                    container_instance: instance,
                    network,
                    overrides: None,
                    group: group.clone(),
                    started_by: Some(deployment.to_owned()),
                    tags: tags.clone(),
                    enable_execute_command: exec,
                    service: Some(name.clone()),
                    deployment_id: Some(deployment.to_owned()),
                },
            )),
            Err(f) => unplaced = f.reason,
        }
    }
    (started, unplaced)
}
