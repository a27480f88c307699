//! Task sets: the deployments of a service whose deploymentController is EXTERNAL (or
//! CODE_DEPLOY). A third-party controller creates them, scales each to a percentage of the
//! service's desiredCount and picks which one is PRIMARY; [`reconcile`] keeps every set at its
//! computedDesiredCount the way the service scheduler keeps an ECS-controlled service at its
//! desired count: it starts and stops real tasks, replaces failed ones and reports stability.

use crate::api_err;
use crate::aws::{ApiError, Timestamp};
use crate::services::ecs::services::Service;
use crate::services::ecs::tasks::{self, Launch};
use crate::services::ecs::{
    State, arn, clusters, missing, new_id, tags, task_definitions, task_protection,
};
use crate::wire::ecs::{
    ContainerInstanceStatus, CreateTaskSetRequest, DeploymentControllerType, Failure, HealthStatus,
    LaunchType, Scale, ScaleUnit, ServiceEvent, StabilityStatus, Tag, TaskDefinition,
    TaskSet as WireTaskSet, TaskStopCode,
};
use std::sync::Arc;

/// "5 deployments exist on the service. Unable to create new TaskSet since this exceeds the
/// maximum limit." (the ECS service quota: task sets per service).
const MAX_TASK_SETS: usize = 5;

/// ECS keeps the newest 100 events of a service.
const MAX_EVENTS: usize = 100;

pub struct TaskSet {
    /// Configuration as CreateTaskSet set it; counts are filled on describe.
    pub data: WireTaskSet,
    pub cluster: String,
    pub service: String,
    /// Shared with the registry and with the set's tasks.
    pub definition: Arc<TaskDefinition>,
    pub launch: Launch,
    pub tags: Vec<Tag>,
    client_token: Option<String>,
    /// Orders the service's sets as they were created: their ARNs end in random ids.
    seq: u64,
}

impl TaskSet {
    pub fn arn(&self) -> &str {
        self.data.task_set_arn.as_deref().unwrap_or("")
    }

    /// `ecs-svc/<19 digits>`: the `startedBy` and deployment id of the set's tasks.
    pub fn id(&self) -> &str {
        self.data.id.as_deref().unwrap_or("")
    }

    fn status(&self) -> &str {
        self.data.status.as_deref().unwrap_or("ACTIVE")
    }

    fn percent(&self) -> f64 {
        self.data
            .scale
            .as_ref()
            .and_then(|s| s.value)
            .unwrap_or(0.0)
    }

    fn owns(&self, t: &tasks::Task) -> bool {
        t.cluster == self.cluster
            && t.service.as_deref() == Some(self.service.as_str())
            && t.deployment_id.as_deref() == Some(self.id())
    }

    /// The set's tasks, stopped ones included: its service's tasks, from the index.
    fn tasks<'a>(&'a self, region: &'a State) -> impl Iterator<Item = &'a tasks::Task> {
        tasks::of_service(region, &self.cluster, &self.service).filter(|t| self.owns(t))
    }
}

/// The task sets of a service, oldest first.
fn of_service_in_order<'a>(region: &'a State, cluster: &str, service: &str) -> Vec<&'a TaskSet> {
    let mut sets: Vec<&TaskSet> = region
        .task_sets
        .values()
        .filter(|s| s.cluster == cluster && s.service == service)
        .collect();
    sets.sort_by_key(|s| s.seq);
    sets
}

fn service_not_found() -> ApiError {
    api_err!(ecs::ServiceNotFoundException, "Service not found.")
}

fn not_found() -> ApiError {
    api_err!(
        ecs::TaskSetNotFoundException,
        "The specified task set does not exist."
    )
}

fn controller(svc: &Service) -> DeploymentControllerType {
    svc.data
        .deployment_controller
        .as_ref()
        .map(|c| c.r#type.clone())
        .unwrap_or(DeploymentControllerType::Ecs)
}

/// The service a task set call names: `(cluster, service)` names, checked the way every task
/// set operation checks them.
fn service_key(
    region: &State,
    cluster: &str,
    service: &str,
    must_be_active: bool,
) -> Result<(String, String), ApiError> {
    let cluster = clusters::active(region, Some(cluster))?.name.clone();
    let name = service.rsplit('/').next().unwrap_or(service).to_owned();
    let svc = region
        .services
        .get(&(cluster.clone(), name.clone()))
        .ok_or_else(service_not_found)?;
    let usable = if must_be_active {
        svc.status == "ACTIVE"
    } else {
        svc.status != "INACTIVE"
    };
    if !usable {
        return Err(api_err!(
            ecs::ServiceNotActiveException,
            "Service was not ACTIVE."
        ));
    }
    if controller(svc) == DeploymentControllerType::Ecs {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Amazon ECS only supports task set management on services configured to use external deployment controllers."
        ));
    }
    Ok((cluster, name))
}

/// A task set named by ARN or id (`ecs-svc/…`) → its ARN.
fn set_arn(region: &State, cluster: &str, service: &str, id: &str) -> Result<String, ApiError> {
    if id.starts_with("arn:") {
        return match arn::resource(id) {
            Some(r) if r.starts_with("task-set/") => Ok(id.to_owned()),
            _ => Err(api_err!(
                ecs::InvalidParameterException,
                "Task Set Identifier is invalid"
            )),
        };
    }
    Ok(region.arn(&format!("task-set/{cluster}/{service}/{id}")))
}

/// A new task set id as ECS makes them: `ecs-svc/` and 19 digits.
fn new_set_id(region: &State) -> String {
    loop {
        let n = u64::from_str_radix(&new_id()[..16], 16).unwrap_or(0) % 9_000_000_000_000_000_000
            + 1_000_000_000_000_000_000;
        let id = format!("ecs-svc/{n}");
        if !region.task_sets.values().any(|s| s.id() == id) {
            return id;
        }
    }
}

fn validate_scale(scale: Option<Scale>) -> Result<Scale, ApiError> {
    // Without a scale AWS creates the set at 0 percent (see the CreateTaskSet example output in
    // the AWS CLI reference), so nothing runs until the controller scales it.
    let scale = scale.unwrap_or_default();
    if scale
        .unit
        .as_ref()
        .is_some_and(|u| *u != ScaleUnit::Percent)
    {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Invalid scale unit. Valid values are PERCENT."
        ));
    }
    let value = scale.value.unwrap_or(0.0);
    if !(0.0..=100.0).contains(&value) {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Scale value must be between 0 and 100."
        ));
    }
    Ok(Scale {
        unit: Some(ScaleUnit::Percent),
        value: Some(value),
    })
}

/// ceil(desiredCount × scale% / 100) (TaskSet.computedDesiredCount); 0 once the set or its
/// service is being deleted.
fn computed_desired(region: &State, set: &TaskSet) -> i32 {
    let desired = region
        .services
        .get(&(set.cluster.clone(), set.service.clone()))
        .filter(|s| s.status == "ACTIVE")
        .map_or(0, |s| s.desired_count);
    if set.status() == "DRAINING" {
        return 0;
    }
    // A hair below the exact product so 10 × 10% is 1, not 2, after floating-point rounding.
    ((desired as f64 * set.percent() / 100.0) - 1e-9)
        .ceil()
        .max(0.0) as i32
}

/// A task set as DescribeTaskSets shows it: counts from its tasks.
pub fn describe_one(region: &State, set: &TaskSet, with_tags: bool) -> WireTaskSet {
    let (mut running, mut pending) = (0, 0);
    for t in set.tasks(region) {
        if !t.desired_running() {
            continue;
        }
        if t.last_status() == "RUNNING" {
            running += 1;
        } else {
            pending += 1;
        }
    }
    let mut data = set.data.clone();
    data.computed_desired_count = Some(computed_desired(region, set));
    data.running_count = Some(running);
    data.pending_count = Some(pending);
    data.tags = with_tags.then(|| set.tags.clone());
    data
}

/// The `taskSets` member of an EXTERNAL or CODE_DEPLOY service (None for ECS-controlled ones).
pub fn of_service(region: &State, svc: &Service) -> Option<Vec<WireTaskSet>> {
    if controller(svc) == DeploymentControllerType::Ecs {
        return None;
    }
    Some(
        of_service_in_order(region, &svc.cluster, &svc.name)
            .into_iter()
            .map(|s| describe_one(region, s, false))
            .collect(),
    )
}

pub fn create(region: &mut State, req: CreateTaskSetRequest) -> Result<WireTaskSet, ApiError> {
    let (cluster, service) = service_key(region, &req.cluster, &req.service, true)?;
    if let Some(token) = &req.client_token {
        let earlier = region.task_sets.values().find(|s| {
            s.cluster == cluster && s.service == service && s.client_token.as_ref() == Some(token)
        });
        if let Some(s) = earlier {
            return Ok(describe_one(region, s, true));
        }
    }
    let existing = of_service_in_order(region, &cluster, &service).len();
    if existing >= MAX_TASK_SETS {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "{existing} deployments exist on the service. Unable to create new TaskSet since this exceeds the maximum limit."
        ));
    }
    let td = task_definitions::to_run(region, &req.task_definition)?
        .data
        .clone();
    let launch = tasks::resolve_launch(
        region,
        &cluster,
        req.launch_type.clone(),
        req.capacity_provider_strategy.as_deref(),
    )?;
    tasks::check_launchable(&td, &launch, req.network_configuration.as_ref())?;
    let scale = validate_scale(req.scale)?;
    let set_tags = tags::from_request(req.tags)?;
    let svc = &region.services[&(cluster.clone(), service.clone())];
    // "If a CodeDeploy deployment created the task set, the startedBy parameter is
    // CODE_DEPLOY. If an external deployment created the task set, the startedBy field isn't
    // used." (TaskSet, API reference)
    let started_by =
        (controller(svc) == DeploymentControllerType::CodeDeploy).then(|| "CODE_DEPLOY".to_owned());
    let service_arn = svc.arn().to_owned();
    let id = new_set_id(region);
    let now = Timestamp::now();
    let fargate = launch.launch_type == LaunchType::Fargate;
    let data = WireTaskSet {
        id: Some(id.clone()),
        task_set_arn: Some(region.arn(&format!("task-set/{cluster}/{service}/{id}"))),
        service_arn: Some(service_arn),
        cluster_arn: Some(region.arn(&format!("cluster/{cluster}"))),
        started_by,
        external_id: req.external_id,
        // A new set serves no production traffic until UpdateServicePrimaryTaskSet picks it.
        status: Some("ACTIVE".into()),
        task_definition: td.task_definition_arn.clone(),
        created_at: Some(now),
        updated_at: Some(now),
        launch_type: launch
            .capacity_provider
            .is_none()
            .then(|| launch.launch_type.clone()),
        capacity_provider_strategy: req.capacity_provider_strategy.filter(|s| !s.is_empty()),
        platform_version: fargate.then(|| req.platform_version.unwrap_or_else(|| "LATEST".into())),
        platform_family: fargate.then(|| "Linux".into()),
        network_configuration: req.network_configuration,
        load_balancers: Some(req.load_balancers.unwrap_or_default()),
        service_registries: Some(req.service_registries.unwrap_or_default()),
        scale: Some(scale),
        stability_status: Some(StabilityStatus::Stabilizing),
        stability_status_at: Some(now),
        ..Default::default()
    };
    let seq = region
        .task_sets
        .values()
        .map(|s| s.seq + 1)
        .max()
        .unwrap_or(0);
    let set = TaskSet {
        data,
        cluster,
        service,
        definition: td,
        launch,
        tags: set_tags,
        client_token: req.client_token,
        seq,
    };
    let out = describe_one(region, &set, true);
    region.task_sets.insert(set.arn().to_owned(), set);
    Ok(out)
}

pub fn describe(
    region: &State,
    cluster: &str,
    service: &str,
    ids: Option<&[String]>,
    with_tags: bool,
) -> Result<(Vec<WireTaskSet>, Vec<Failure>), ApiError> {
    let (cluster, service) = service_key(region, cluster, service, false)?;
    let mine = |s: &&TaskSet| s.cluster == cluster && s.service == service;
    let Some(ids) = ids else {
        let all = of_service_in_order(region, &cluster, &service)
            .into_iter()
            .map(|s| describe_one(region, s, with_tags))
            .collect();
        return Ok((all, Vec::new()));
    };
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for id in ids {
        let arn = set_arn(region, &cluster, &service, id)?;
        match region.task_sets.get(&arn).filter(mine) {
            Some(s) => found.push(describe_one(region, s, with_tags)),
            // AWS reports sets it does not know as failures, not as an error.
            None => failures.push(missing(arn)),
        }
    }
    Ok((found, failures))
}

fn set_mut<'a>(
    region: &'a mut State,
    cluster: &str,
    service: &str,
    id: &str,
) -> Result<&'a mut TaskSet, ApiError> {
    let arn = set_arn(region, cluster, service, id)?;
    region
        .task_sets
        .get_mut(&arn)
        .filter(|s| s.cluster == cluster && s.service == service)
        .ok_or_else(not_found)
}

pub fn update(
    region: &mut State,
    cluster: &str,
    service: &str,
    id: &str,
    scale: Scale,
) -> Result<WireTaskSet, ApiError> {
    let (cluster, service) = service_key(region, cluster, service, true)?;
    let scale = validate_scale(Some(scale))?;
    let set = set_mut(region, &cluster, &service, id)?;
    if set.status() == "DRAINING" {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The task set is being deleted and cannot be updated."
        ));
    }
    set.data.scale = Some(scale);
    set.data.updated_at = Some(Timestamp::now());
    let arn = set.arn().to_owned();
    Ok(describe_one(region, &region.task_sets[&arn], false))
}

/// UpdateServicePrimaryTaskSet: the set becomes PRIMARY, the previous one ACTIVE, and "any
/// parameters that are updated on the primary task set in a service will transition to the
/// service" (API reference): DescribeServices then shows the primary set's fields.
pub fn set_primary(
    region: &mut State,
    cluster: &str,
    service: &str,
    id: &str,
) -> Result<WireTaskSet, ApiError> {
    let (cluster, service) = service_key(region, cluster, service, true)?;
    let set = set_mut(region, &cluster, &service, id)?;
    if set.status() == "DRAINING" {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The task set is being deleted and cannot be made primary."
        ));
    }
    let arn = set.arn().to_owned();
    let now = Timestamp::now();
    for s in region.task_sets.values_mut() {
        if s.cluster != cluster || s.service != service {
            continue;
        }
        let status = if s.arn() == arn {
            "PRIMARY"
        } else if s.status() == "PRIMARY" {
            "ACTIVE"
        } else {
            continue;
        };
        s.data.status = Some(status.into());
        s.data.updated_at = Some(now);
    }
    let primary = &region.task_sets[&arn];
    let (d, td, launch) = (
        primary.data.clone(),
        primary.definition.clone(),
        primary.launch.clone(),
    );
    if let Some(svc) = region.services.get_mut(&(cluster, service)) {
        svc.data.task_definition = td.task_definition_arn.clone();
        svc.data.launch_type = d.launch_type;
        svc.data.capacity_provider_strategy = d.capacity_provider_strategy;
        svc.data.platform_version = d.platform_version;
        svc.data.platform_family = d.platform_family;
        svc.data.network_configuration = d.network_configuration;
        svc.data.load_balancers = d.load_balancers;
        svc.data.service_registries = d.service_registries;
        svc.launch = launch;
    }
    Ok(describe_one(region, &region.task_sets[&arn], false))
}

/// DeleteTaskSet: the set turns DRAINING, its tasks stop, and it is gone once they have.
pub fn delete(
    region: &mut State,
    cluster: &str,
    service: &str,
    id: &str,
    force: bool,
) -> Result<WireTaskSet, ApiError> {
    let (cluster, service) = service_key(region, cluster, service, true)?;
    let set = set_mut(region, &cluster, &service, id)?;
    if set.percent() > 0.0 && !force {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The task set cannot be deleted while it is scaled above 0. Scale it to 0 or use the force parameter."
        ));
    }
    set.data.status = Some("DRAINING".into());
    set.data.updated_at = Some(Timestamp::now());
    let arn = set.arn().to_owned();
    Ok(describe_one(region, &region.task_sets[&arn], false))
}

pub fn tags_mut<'a>(region: &'a mut State, id: &str) -> Result<&'a mut Vec<Tag>, ApiError> {
    let arn = region.arn(&format!("task-set/{id}"));
    region
        .task_sets
        .get_mut(&arn)
        .map(|s| &mut s.tags)
        .ok_or_else(not_found)
}

/// One pass over every task set of the region: start what is missing, stop what is surplus,
/// replace failed tasks and tasks on DRAINING instances, record stability, and finish deletes.
pub fn reconcile(region: &mut State, placements: &mut tasks::Placements) {
    let arns: Vec<String> = region.task_sets.keys().cloned().collect();
    for arn in &arns {
        reconcile_set(region, arn, placements);
    }
    // A deleted set goes away once its tasks have stopped.
    let finished: Vec<String> = region
        .task_sets
        .values()
        .filter(|s| s.status() == "DRAINING")
        .filter(|s| s.tasks(region).all(|t| t.is_stopped()))
        .map(|s| s.arn().to_owned())
        .collect();
    for arn in finished {
        region.task_sets.remove(&arn);
    }
    finish_deleted_services(region);
}

/// The service scheduler leaves services it does not deploy alone, so a deleted EXTERNAL or
/// CODE_DEPLOY service turns INACTIVE here once the last of its tasks has stopped.
fn finish_deleted_services(region: &mut State) {
    let done: Vec<(String, String)> = region
        .services
        .iter()
        .filter(|(_, s)| s.status == "DRAINING" && controller(s) != DeploymentControllerType::Ecs)
        .filter(|(_, s)| tasks::of_service(region, &s.cluster, &s.name).all(|t| t.is_stopped()))
        .map(|(k, _)| k.clone())
        .collect();
    for k in done {
        region
            .task_sets
            .retain(|_, s| !(s.cluster == k.0 && s.service == k.1));
        if let Some(s) = region.services.get_mut(&k) {
            s.status = "INACTIVE".into();
        }
    }
}

fn service_event(svc: &mut Service, message: String) {
    svc.events.push_front(ServiceEvent {
        id: Some(uuid::Uuid::new_v4().to_string()),
        created_at: Some(Timestamp::now()),
        message: Some(message),
    });
    svc.events.truncate(MAX_EVENTS);
}

fn task_ids(arns: &[String]) -> String {
    arns.iter()
        .map(|a| format!("(task {})", a.rsplit('/').next().unwrap_or(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn reconcile_set(region: &mut State, arn: &str, placements: &mut tasks::Placements) {
    let Some(set) = region.task_sets.get(arn) else {
        return;
    };
    let target = computed_desired(region, set);
    let (cluster, service, id) = (
        set.cluster.clone(),
        set.service.clone(),
        set.id().to_owned(),
    );
    let Some(svc) = region.services.get(&(cluster.clone(), service.clone())) else {
        return;
    };
    // Deleting the service drains every task; protection guards against scale-in only.
    let service_deleted = svc.status != "ACTIVE";
    let draining_instances: Vec<String> = region
        .container_instances
        .values()
        .filter(|ci| ci.cluster == cluster && ci.status() == ContainerInstanceStatus::Draining)
        .map(|ci| ci.arn().to_owned())
        .collect();
    let on_draining = |t: &tasks::Task| {
        t.container_instance
            .as_ref()
            .is_some_and(|ci| draining_instances.contains(ci))
    };
    let unhealthy = |t: &tasks::Task| {
        t.last_status() == "RUNNING" && t.data.health_status == Some(HealthStatus::Unhealthy)
    };
    let live: Vec<&tasks::Task> = set.tasks(region).filter(|t| t.desired_running()).collect();
    let mut good: Vec<&tasks::Task> = live
        .iter()
        .copied()
        .filter(|t| !unhealthy(t) && !on_draining(t))
        .collect();

    // ECS stops tasks that fail their container health checks and replaces them.
    let mut failing: Vec<String> = live
        .iter()
        .filter(|t| unhealthy(t))
        .map(|t| t.arn().to_owned())
        .collect();
    // Scale in: surplus tasks, the not-yet-running and newest first; protected tasks stay
    // ("Task scale-in protection", ECS developer guide).
    let mut to_stop: Vec<String> = Vec::new();
    let surplus = good.len() as i32 - target;
    if surplus > 0 {
        good.sort_by_key(|t| (t.is_healthy_running(), std::cmp::Reverse(t.data.created_at)));
        to_stop.extend(
            good.iter()
                .filter(|t| service_deleted || !task_protection::is_protected(region, t.arn()))
                .take(surplus as usize)
                .map(|t| t.arn().to_owned()),
        );
    }
    // Tasks on DRAINING instances go once enough replacements run elsewhere.
    let good_running = good.iter().filter(|t| t.is_healthy_running()).count() as i32;
    for t in live.iter().filter(|t| on_draining(t) && !unhealthy(t)) {
        if good_running >= target || !t.is_healthy_running() {
            to_stop.push(t.arn().to_owned());
        }
    }
    let start = (target - good.len() as i32).max(0) as usize;

    let mut started = Vec::new();
    let mut unplaced = None;
    if start > 0 {
        let td = set.definition.clone();
        let launch = set.launch.clone();
        let network = set.data.network_configuration.clone();
        let key = (cluster.clone(), service.clone());
        (started, unplaced) = super::start_tasks(
            region,
            placements,
            &key,
            &td,
            &launch,
            network.as_ref(),
            &id,
            None,
            start,
        );
    }
    for arn in &failing {
        if let Some(t) = region.tasks.get_mut(arn) {
            t.request_stop(
                TaskStopCode::ServiceSchedulerInitiated,
                "Task failed container health checks",
            );
        }
    }
    for arn in &to_stop {
        if let Some(t) = region.tasks.get_mut(arn) {
            let reason = format!("Scaling activity initiated by (deployment {id})");
            t.request_stop(TaskStopCode::ServiceSchedulerInitiated, &reason);
        }
    }
    failing.append(&mut to_stop);

    // Stability (TaskSet.stabilityStatus): runningCount = computedDesiredCount, nothing pending,
    // nothing on DRAINING instances, every task healthy, nothing still on its way out.
    let Some(set) = region.task_sets.get(arn) else {
        return;
    };
    let mine: Vec<&tasks::Task> = set.tasks(region).filter(|t| !t.is_stopped()).collect();
    let running = mine.iter().filter(|t| t.is_healthy_running()).count() as i32;
    let steady = running == target
        && mine
            .iter()
            .all(|t| t.is_healthy_running() && !on_draining(t));
    let status = if steady {
        StabilityStatus::SteadyState
    } else {
        StabilityStatus::Stabilizing
    };
    if let Some(set) = region.task_sets.get_mut(arn)
        && set.data.stability_status.as_ref() != Some(&status)
    {
        set.data.stability_status = Some(status);
        set.data.stability_status_at = Some(Timestamp::now());
    }

    let Some(svc) = region.services.get_mut(&(cluster, service.clone())) else {
        return;
    };
    if !started.is_empty() {
        service_event(
            svc,
            format!(
                "(service {service}, taskSet {id}) has started {} tasks: {}.",
                started.len(),
                task_ids(&started)
            ),
        );
    }
    if !failing.is_empty() {
        service_event(
            svc,
            format!(
                "(service {service}, taskSet {id}) has stopped {} running tasks: {}.",
                failing.len(),
                task_ids(&failing)
            ),
        );
    }
    if let Some(reason) = unplaced {
        let msg = format!(
            "(service {service}, taskSet {id}) was unable to place a task because no container instance met all of its requirements. Reason: {reason}."
        );
        if svc.events.front().and_then(|e| e.message.as_deref()) != Some(msg.as_str()) {
            service_event(svc, msg);
        }
    }
}
