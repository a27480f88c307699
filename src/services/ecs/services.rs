//! Services and their deployments. The API records intent (desired count, task definition,
//! configuration); [`reconcile`] moves the world towards it the way the ECS service scheduler
//! does: replace stopped tasks, roll deployments within minimumHealthyPercent/maximumPercent,
//! trip the deployment circuit breaker and roll back, keep one task per instance for DAEMON.

use super::PAGES;
use super::tasks::{self, Launch, NewTask};
use super::{State, arn, clusters, tags, task_definitions};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::wire::ecs::{
    CapacityProviderStrategyItem, ContainerInstanceStatus, CreateServiceRequest,
    Deployment as WireDeployment, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentController, DeploymentControllerType, DeploymentRolloutState, DeploymentStrategy,
    LaunchType, NetworkConfiguration, PlacementConstraint, PlacementStrategy, PropagateTags,
    SchedulingStrategy, Service as WireService, ServiceEvent, Tag, TaskDefinition, TaskStopCode,
    UpdateServiceRequest,
};
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// ECS keeps the newest 100 events of a service.
const MAX_EVENTS: usize = 100;

/// How long a deployment's tasks must have been RUNNING before it counts as COMPLETED.
const STABILITY_SECS: f64 = 1.0;

/// The service throttle logic ("Amazon ECS service throttle logic", ECS developer guide): when
/// a service's tasks repeatedly fail to reach RUNNING (PENDING straight to STOPPED), the time
/// between restart attempts grows, up to 27 minutes. ECS documents neither the first delay nor
/// the growth; berth retries the first attempts at once (a circuit breaker sees its failures
/// quickly), then waits 5 s, 10 s, 20 s … up to the documented maximum.
const THROTTLE_FREE_ATTEMPTS: u32 = 2;
const THROTTLE_FIRST_DELAY_SECS: f64 = 5.0;
const THROTTLE_MAX_DELAY_SECS: f64 = 27.0 * 60.0;

/// How long to wait before the next launch after `failed_attempts` consecutive launch attempts
/// whose tasks failed to start.
fn throttle_delay_secs(failed_attempts: u32) -> f64 {
    let Some(over) = failed_attempts.checked_sub(THROTTLE_FREE_ATTEMPTS + 1) else {
        return 0.0;
    };
    (THROTTLE_FIRST_DELAY_SECS * 2f64.powi(over.min(20) as i32)).min(THROTTLE_MAX_DELAY_SECS)
}

/// A service's launch throttle. Only tasks that never reached RUNNING count (AWS: a task whose
/// command exits right after RUNNING does not throttle); a task reaching RUNNING, or a new
/// deployment, returns the service to normal at once.
#[derive(Default)]
struct Throttle {
    /// Consecutive launch attempts whose tasks failed to start.
    failed_attempts: u32,
    /// When the last failed attempt was counted (epoch seconds): the failures of tasks created
    /// before then belong to that attempt, not to a new one.
    counted_at: Option<f64>,
    /// No task of the service is launched before this (epoch seconds).
    not_before: f64,
}

pub struct Deployment {
    pub data: WireDeployment,
    /// Shared with the registry and with the deployment's tasks.
    pub definition: Arc<TaskDefinition>,
}

impl Deployment {
    fn id(&self) -> &str {
        self.data.id.as_deref().unwrap_or("")
    }

    fn rollout(&self) -> Option<&DeploymentRolloutState> {
        self.data.rollout_state.as_ref()
    }
}

/// What a service deployment's lifecycle stage lets the scheduler do with the PRIMARY
/// deployment (`service_deployments` decides; without stages everything is allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gate {
    /// Start tasks of the PRIMARY deployment.
    pub launch: bool,
    /// Stop the tasks of older deployments.
    pub stop_old: bool,
    /// Start the PRIMARY deployment's tasks beside the older ones, past maximumPercent: the
    /// blue/green scale-up.
    pub beside: bool,
    /// Mark the deployment COMPLETED once it runs.
    pub complete: bool,
}

impl Gate {
    pub const OPEN: Gate = Gate {
        launch: true,
        stop_old: true,
        beside: false,
        complete: true,
    };
}

pub struct Service {
    /// Configuration as the API set it; counts, deployments and events are filled on describe.
    pub data: WireService,
    pub cluster: String,
    pub name: String,
    pub status: String,
    pub desired_count: i32,
    pub launch: Launch,
    /// Newest first; `[0]` is the PRIMARY deployment.
    pub deployments: Vec<Deployment>,
    pub events: VecDeque<ServiceEvent>,
    pub tags: Vec<Tag>,
    /// The last deployment that completed: where a circuit-breaker rollback goes.
    pub last_completed: Option<(String, Arc<TaskDefinition>)>,
    steady: bool,
    client_token: Option<String>,
    throttle: Throttle,
    progress: ProgressSeen,
    /// Set by a pass that found the service settled with nothing to do: the digest of what
    /// could give it something to do ([`quiet_digest`]). The tick's full pass skips the service
    /// while the digest still matches.
    quiet: Option<u64>,
    /// An API call changed the service since the scheduler last looked at it.
    changed_by_api: bool,
}

/// What `service_deployments::progress` last ran on. It counts every task of the region, so
/// the scheduler calls it when the service's deployments or status change, and refreshes the
/// task counts it reports at most once a second.
#[derive(Default)]
struct ProgressSeen {
    /// [`deployments_digest`]; `None` makes the next pass call `progress`.
    deployments: Option<u64>,
    /// Which deployment each task that should run belongs to, and whether it runs, hashed.
    tasks: u64,
    /// When `progress` last ran (epoch seconds).
    at: f64,
}

/// How often, at most, the task counts of a service deployment are refreshed.
const PROGRESS_REFRESH_SECS: f64 = 1.0;

impl Service {
    pub fn arn(&self) -> &str {
        self.data.service_arn.as_deref().unwrap_or("")
    }

    fn is_daemon(&self) -> bool {
        self.data.scheduling_strategy == Some(SchedulingStrategy::Daemon)
    }

    fn controller(&self) -> DeploymentControllerType {
        self.data
            .deployment_controller
            .as_ref()
            .map(|c| c.r#type.clone())
            .unwrap_or(DeploymentControllerType::Ecs)
    }

    fn event(&mut self, message: String) {
        self.events.push_front(ServiceEvent {
            id: Some(uuid::Uuid::new_v4().to_string()),
            created_at: Some(Timestamp::now()),
            message: Some(message),
        });
        self.events.truncate(MAX_EVENTS);
    }

    fn config(&self) -> DeploymentConfiguration {
        self.data
            .deployment_configuration
            .clone()
            .unwrap_or_default()
    }
}

fn not_found() -> ApiError {
    api_err!(ecs::ServiceNotFoundException, "Service not found.")
}

fn deployment_id() -> String {
    // ECS deployment ids look like ecs-svc/1234567890123456789.
    let n =
        u64::from_str_radix(&super::new_id()[..15], 16).unwrap_or(0) % 10_000_000_000_000_000_000;
    format!("ecs-svc/{n:019}")
}

fn default_config(daemon: bool, given: Option<DeploymentConfiguration>) -> DeploymentConfiguration {
    let mut c = given.unwrap_or_default();
    c.maximum_percent
        .get_or_insert(if daemon { 100 } else { 200 });
    c.minimum_healthy_percent
        .get_or_insert(if daemon { 0 } else { 100 });
    c.deployment_circuit_breaker
        .get_or_insert(DeploymentCircuitBreaker {
            enable: false,
            rollback: false,
        });
    c.strategy.get_or_insert(DeploymentStrategy::Rolling);
    c
}

fn validate_config(c: &DeploymentConfiguration) -> Result<(), ApiError> {
    super::service_deployments::validate_lifecycle(c)?;
    let max = c.maximum_percent.unwrap_or(200);
    let min = c.minimum_healthy_percent.unwrap_or(100);
    if !(0..=100).contains(&min) {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "minimumHealthyPercent must be between 0 and 100."
        ));
    }
    if !(100..=200).contains(&max) || max < min {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "maximumPercent must be between 100 and 200 and not below minimumHealthyPercent."
        ));
    }
    Ok(())
}

fn new_deployment(
    definition: Arc<TaskDefinition>,
    desired: i32,
    launch: &Launch,
    network: Option<NetworkConfiguration>,
    strategy: Option<Vec<CapacityProviderStrategyItem>>,
) -> Deployment {
    let now = Timestamp::now();
    let fargate = launch.launch_type == LaunchType::Fargate;
    Deployment {
        data: WireDeployment {
            id: Some(deployment_id()),
            status: Some("PRIMARY".into()),
            task_definition: definition.task_definition_arn.clone(),
            desired_count: Some(desired),
            pending_count: Some(0),
            running_count: Some(0),
            failed_tasks: Some(0),
            created_at: Some(now),
            updated_at: Some(now),
            launch_type: launch
                .capacity_provider
                .is_none()
                .then(|| launch.launch_type.clone()),
            capacity_provider_strategy: strategy.filter(|s| !s.is_empty()),
            platform_version: fargate.then(|| "1.4.0".into()),
            platform_family: fargate.then(|| "Linux".into()),
            network_configuration: network,
            rollout_state: Some(DeploymentRolloutState::InProgress),
            rollout_state_reason: Some("ECS deployment in progress.".into()),
            ..Default::default()
        },
        definition,
    }
}

fn key(cluster: &str, name: &str) -> (String, String) {
    (cluster.to_owned(), name.to_owned())
}

pub fn create(
    region: &mut State,
    req: CreateServiceRequest,
    principal: &str,
) -> Result<WireService, ApiError> {
    let cluster = clusters::active(region, req.cluster.as_deref())?
        .name
        .clone();
    let name = req.service_name.clone();
    if !arn::is_valid_name(&name) {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Service name can be up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores."
        ));
    }
    if let Some(existing) = region.services.get(&key(&cluster, &name))
        && existing.status != "INACTIVE"
    {
        if req.client_token.is_some() && existing.client_token == req.client_token {
            return Ok(describe_one(region, existing, false));
        }
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Creation of service was not idempotent."
        ));
    }
    let daemon = req.scheduling_strategy == Some(SchedulingStrategy::Daemon);
    if let Some(s) = &req.scheduling_strategy
        && !s.is_known()
    {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Invalid schedulingStrategy. Valid values are REPLICA, DAEMON."
        ));
    }
    let controller = req
        .deployment_controller
        .clone()
        .unwrap_or(DeploymentController {
            r#type: DeploymentControllerType::Ecs,
        });
    if !controller.r#type.is_known() {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Invalid deployment controller type."
        ));
    }
    let ecs_controlled = controller.r#type == DeploymentControllerType::Ecs;
    let desired = match (daemon, req.desired_count) {
        (true, _) => 0,
        (false, Some(n)) if n >= 0 => n,
        (false, Some(_)) => {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "desiredCount must be a non-negative integer."
            ));
        }
        (false, None) => 0,
    };
    let td = match &req.task_definition {
        Some(id) => Some(
            task_definitions::resolve(region, id)
                .map_err(|_| api_err!(ecs::InvalidParameterException, "TaskDefinition not found."))?
                .data
                .clone(),
        ),
        None if ecs_controlled => {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "A task definition must be specified for a service using the ECS deployment controller."
            ));
        }
        None => None,
    };
    let launch = tasks::resolve_launch(
        region,
        &cluster,
        req.launch_type.clone(),
        req.capacity_provider_strategy.as_deref(),
    )?;
    if daemon && launch.launch_type == LaunchType::Fargate {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The daemon scheduling strategy does not support a launch type of FARGATE."
        ));
    }
    if let Some(td) = &td {
        tasks::check_launchable(td, &launch, req.network_configuration.as_ref())?;
    }
    let config = default_config(daemon, req.deployment_configuration.clone());
    validate_config(&config)?;
    let service_tags = tags::from_request(req.tags.clone())?;
    let placement_strategy = req.placement_strategy.clone().unwrap_or_default();
    let placement_constraints = req.placement_constraints.clone().unwrap_or_default();
    if placement_strategy.len() > 5 || placement_constraints.len() > 10 {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "A service can have at most 5 placement strategies and 10 placement constraints."
        ));
    }
    let fargate = launch.launch_type == LaunchType::Fargate;
    let data = WireService {
        service_arn: Some(region.arn(&format!("service/{cluster}/{name}"))),
        service_name: Some(name.clone()),
        cluster_arn: Some(region.arn(&format!("cluster/{cluster}"))),
        load_balancers: Some(req.load_balancers.unwrap_or_default()),
        service_registries: Some(req.service_registries.unwrap_or_default()),
        launch_type: launch
            .capacity_provider
            .is_none()
            .then(|| launch.launch_type.clone()),
        capacity_provider_strategy: req.capacity_provider_strategy.filter(|s| !s.is_empty()),
        platform_version: fargate.then(|| {
            req.platform_version
                .clone()
                .unwrap_or_else(|| "LATEST".into())
        }),
        platform_family: fargate.then(|| "Linux".into()),
        task_definition: td.as_ref().and_then(|t| t.task_definition_arn.clone()),
        deployment_configuration: Some(config),
        role_arn: req.role.clone(),
        created_at: Some(Timestamp::now()),
        created_by: Some(principal.to_owned()),
        placement_constraints: Some(placement_constraints),
        placement_strategy: Some(placement_strategy),
        network_configuration: req.network_configuration.clone(),
        health_check_grace_period_seconds: req.health_check_grace_period_seconds.or(Some(0)),
        scheduling_strategy: Some(if daemon {
            SchedulingStrategy::Daemon
        } else {
            SchedulingStrategy::Replica
        }),
        deployment_controller: Some(controller),
        enable_ecs_managed_tags: Some(req.enable_ecs_managed_tags.unwrap_or(false)),
        propagate_tags: Some(req.propagate_tags.clone().unwrap_or(PropagateTags::None)),
        enable_execute_command: Some(req.enable_execute_command.unwrap_or(false)),
        availability_zone_rebalancing: Some(
            req.availability_zone_rebalancing
                .clone()
                .unwrap_or(crate::wire::ecs::AvailabilityZoneRebalancing::Disabled),
        ),
        ..Default::default()
    };
    let deployments = match (&td, ecs_controlled) {
        (Some(td), true) => vec![new_deployment(
            td.clone(),
            desired,
            &launch,
            req.network_configuration.clone(),
            data.capacity_provider_strategy.clone(),
        )],
        _ => Vec::new(),
    };
    let service = Service {
        data,
        cluster: cluster.clone(),
        name: name.clone(),
        status: "ACTIVE".into(),
        desired_count: desired,
        launch,
        deployments,
        events: VecDeque::new(),
        tags: service_tags,
        last_completed: None,
        steady: false,
        client_token: req.client_token.clone(),
        throttle: Throttle::default(),
        progress: ProgressSeen::default(),
        quiet: None,
        changed_by_api: true,
    };
    region.services.insert(key(&cluster, &name), service);
    super::service_deployments::started(region, &cluster, &name);
    Ok(describe_one(
        region,
        &region.services[&key(&cluster, &name)],
        true,
    ))
}

/// A service as DescribeServices shows it: counts from its tasks, deployments, events.
pub fn describe_one(region: &State, s: &Service, with_tags: bool) -> WireService {
    // (deployment id, running, pending) of the service's tasks that should run.
    let mut counts: Vec<(Option<&str>, i32, i32)> = Vec::new();
    for t in tasks::of_service(region, &s.cluster, &s.name).filter(|t| t.desired_running()) {
        let dep = t.deployment_id.as_deref();
        let i = match counts.iter().position(|c| c.0 == dep) {
            Some(i) => i,
            None => {
                counts.push((dep, 0, 0));
                counts.len() - 1
            }
        };
        if t.last_status() == "RUNNING" {
            counts[i].1 += 1;
        } else {
            counts[i].2 += 1;
        }
    }
    let count = |dep: Option<&str>| {
        counts
            .iter()
            .filter(|c| dep.is_none_or(|d| c.0 == Some(d)))
            .fold((0, 0), |(r, p), c| (r + c.1, p + c.2))
    };
    let (running, pending) = count(None);
    let mut data = s.data.clone();
    data.status = Some(s.status.clone());
    data.desired_count = Some(s.desired_count);
    data.running_count = Some(running);
    data.pending_count = Some(pending);
    data.events = Some(s.events.iter().cloned().collect());
    data.deployments = Some(
        s.deployments
            .iter()
            .map(|d| {
                let (r, p) = count(Some(d.id()));
                WireDeployment {
                    running_count: Some(r),
                    pending_count: Some(p),
                    ..d.data.clone()
                }
            })
            .collect(),
    );
    super::service_deployments::fill_current(region, s, &mut data);
    data.task_sets = super::task_sets::of_service(region, s);
    data.tags = with_tags.then(|| s.tags.clone());
    data
}

fn active_mut<'a>(
    region: &'a mut State,
    cluster: &str,
    id: &str,
) -> Result<&'a mut Service, ApiError> {
    let name = id.rsplit('/').next().unwrap_or(id);
    let s = region
        .services
        .get_mut(&key(cluster, name))
        .ok_or_else(not_found)?;
    if s.status != "ACTIVE" {
        return Err(api_err!(
            ecs::ServiceNotActiveException,
            "Service was not ACTIVE."
        ));
    }
    Ok(s)
}

pub fn update(region: &mut State, req: UpdateServiceRequest) -> Result<WireService, ApiError> {
    let cluster = clusters::active(region, req.cluster.as_deref())?
        .name
        .clone();
    let new_td = match &req.task_definition {
        Some(id) => Some(
            task_definitions::resolve(region, id)
                .map_err(|_| api_err!(ecs::InvalidParameterException, "TaskDefinition not found."))?
                .data
                .clone(),
        ),
        None => None,
    };
    let new_launch = match &req.capacity_provider_strategy {
        Some(s) if !s.is_empty() => Some(tasks::resolve_launch(region, &cluster, None, Some(s))?),
        _ => None,
    };
    let svc = active_mut(region, &cluster, &req.service)?;
    if let Some(n) = req.desired_count
        && n < 0
    {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "desiredCount must be a non-negative integer."
        ));
    }
    let launch = new_launch.clone().unwrap_or_else(|| svc.launch.clone());
    let td_for_check = new_td
        .clone()
        .or_else(|| svc.deployments.first().map(|d| d.definition.clone()));
    let network = req
        .network_configuration
        .clone()
        .or_else(|| svc.data.network_configuration.clone());
    if let Some(td) = &td_for_check {
        tasks::check_launchable(td, &launch, network.as_ref())?;
    }
    let mut config = svc.config();
    if let Some(given) = req.deployment_configuration.clone() {
        // Members given replace the service's; the others stay.
        macro_rules! replace_given {
            ($($member:ident),*) => {
                $(if given.$member.is_some() {
                    config.$member = given.$member;
                })*
            };
        }
        replace_given!(
            maximum_percent,
            minimum_healthy_percent,
            deployment_circuit_breaker,
            strategy,
            alarms,
            bake_time_in_minutes,
            lifecycle_hooks,
            linear_configuration,
            canary_configuration
        );
        validate_config(&config)?;
    }
    svc.data.deployment_configuration = Some(config);
    if let Some(n) = req.desired_count
        && !svc.is_daemon()
    {
        svc.desired_count = n;
        if let Some(d) = svc.deployments.first_mut() {
            d.data.desired_count = Some(n);
        }
    }
    let mut redeploy = req.force_new_deployment.unwrap_or(false);
    if let Some(td) = &new_td {
        redeploy |= svc.data.task_definition != td.task_definition_arn;
        svc.data.task_definition = td.task_definition_arn.clone();
    }
    if req.network_configuration.is_some()
        && req.network_configuration != svc.data.network_configuration
    {
        svc.data.network_configuration = req.network_configuration.clone();
        redeploy = true;
    }
    if let Some(l) = new_launch {
        svc.launch = l;
        svc.data.capacity_provider_strategy = req.capacity_provider_strategy.clone();
        redeploy = true;
    }
    if let Some(p) = req.placement_strategy.clone() {
        svc.data.placement_strategy = Some(p);
    }
    if let Some(p) = req.placement_constraints.clone() {
        svc.data.placement_constraints = Some(p);
    }
    for (given, slot) in [(req.load_balancers.clone(), &mut svc.data.load_balancers)] {
        if given.is_some() {
            *slot = given;
        }
    }
    if req.service_registries.is_some() {
        svc.data.service_registries = req.service_registries.clone();
    }
    if req.health_check_grace_period_seconds.is_some() {
        svc.data.health_check_grace_period_seconds = req.health_check_grace_period_seconds;
    }
    if req.enable_execute_command.is_some() {
        svc.data.enable_execute_command = req.enable_execute_command;
    }
    if req.propagate_tags.is_some() {
        svc.data.propagate_tags = req.propagate_tags.clone();
    }
    if req.enable_ecs_managed_tags.is_some() {
        svc.data.enable_ecs_managed_tags = req.enable_ecs_managed_tags;
    }
    if redeploy
        && svc.controller() == DeploymentControllerType::Ecs
        && let Some(td) = td_for_check
    {
        start_deployment(svc, td, None);
    }
    let name = svc.name.clone();
    svc.progress.deployments = None;
    svc.changed_by_api = true;
    super::service_deployments::started(region, &cluster, &name);
    let svc = region
        .services
        .get(&key(&cluster, &name))
        .ok_or_else(not_found)?;
    Ok(describe_one(region, svc, false))
}

/// An older deployment `id` becomes PRIMARY again with the service's desired count and keeps
/// its tasks (a rollback while they still run); the others become ACTIVE and are drained.
/// False when the service has no such deployment.
pub(super) fn promote(svc: &mut Service, id: &str, reason: String) -> bool {
    let Some(i) = svc.deployments.iter().position(|d| d.id() == id) else {
        return false;
    };
    let mut d = svc.deployments.remove(i);
    for other in &mut svc.deployments {
        other.data.status = Some("ACTIVE".into());
        other.data.desired_count = Some(0);
        other.data.updated_at = Some(Timestamp::now());
    }
    d.data.status = Some("PRIMARY".into());
    d.data.desired_count = Some(svc.desired_count);
    d.data.rollout_state = Some(DeploymentRolloutState::InProgress);
    d.data.rollout_state_reason = Some(reason);
    d.data.updated_at = Some(Timestamp::now());
    svc.data.task_definition = d.definition.task_definition_arn.clone();
    svc.deployments.insert(0, d);
    touch_service(svc);
    true
}

/// The scheduler looks at the service again on its next pass over changed services.
pub fn touch(region: &mut State, k: &(String, String)) {
    if let Some(svc) = region.services.get_mut(k) {
        touch_service(svc);
    }
}

fn touch_service(svc: &mut Service) {
    svc.steady = false;
    svc.progress.deployments = None;
    svc.changed_by_api = true;
    svc.quiet = None;
    svc.throttle = Throttle::default();
}

/// A new PRIMARY deployment; the previous ones become ACTIVE and are drained by `reconcile`.
pub(super) fn start_deployment(svc: &mut Service, td: Arc<TaskDefinition>, reason: Option<String>) {
    for d in &mut svc.deployments {
        d.data.status = Some("ACTIVE".into());
        d.data.desired_count = Some(0);
        d.data.updated_at = Some(Timestamp::now());
    }
    let mut d = new_deployment(
        td,
        svc.desired_count,
        &svc.launch,
        svc.data.network_configuration.clone(),
        svc.data.capacity_provider_strategy.clone(),
    );
    if let Some(r) = reason {
        d.data.rollout_state_reason = Some(r);
    }
    svc.deployments.insert(0, d);
    // AWS: updating a service to a new task definition ends its launch throttle at once.
    touch_service(svc);
}

pub fn delete(
    region: &mut State,
    cluster: Option<&str>,
    id: &str,
    force: bool,
) -> Result<WireService, ApiError> {
    let cluster = clusters::active(region, cluster)?.name.clone();
    let name = id.rsplit('/').next().unwrap_or(id).to_owned();
    let svc = region
        .services
        .get_mut(&key(&cluster, &name))
        .ok_or_else(not_found)?;
    if svc.status != "ACTIVE" {
        return Err(api_err!(
            ecs::ServiceNotActiveException,
            "Service was not ACTIVE."
        ));
    }
    if svc.desired_count > 0 && !force && !svc.is_daemon() {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The service cannot be stopped while it is scaled above 0."
        ));
    }
    svc.status = "DRAINING".into();
    svc.changed_by_api = true;
    svc.desired_count = 0;
    for d in &mut svc.deployments {
        d.data.desired_count = Some(0);
    }
    let svc = region
        .services
        .get(&key(&cluster, &name))
        .ok_or_else(not_found)?;
    Ok(describe_one(region, svc, false))
}

pub fn describe(
    region: &State,
    cluster: Option<&str>,
    ids: &[String],
    with_tags: bool,
) -> Result<(Vec<WireService>, Vec<crate::wire::ecs::Failure>), ApiError> {
    let cluster = clusters::active(region, cluster)?.name.clone();
    if ids.is_empty() || ids.len() > 10 {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Services cannot be empty and can have at most 10 items."
        ));
    }
    Ok(super::describe_each(
        ids,
        |id| {
            let name = id.rsplit('/').next().unwrap_or(id);
            let s = region.services.get(&key(&cluster, name))?;
            Some(describe_one(region, s, with_tags))
        },
        |id| region.full_arn(id, &format!("service/{cluster}/{id}")),
    ))
}

pub fn list(
    region: &State,
    cluster: Option<&str>,
    launch_type: Option<&LaunchType>,
    scheduling: Option<&SchedulingStrategy>,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<Page<String>, ApiError> {
    let cluster = clusters::active(region, cluster)?.name.clone();
    let arns = region
        .services
        .values()
        .filter(|s| s.cluster == cluster && s.status != "INACTIVE")
        .filter(|s| launch_type.is_none_or(|l| Some(l) == s.data.launch_type.as_ref()))
        .filter(|s| scheduling.is_none_or(|l| Some(l) == s.data.scheduling_strategy.as_ref()))
        .map(|s| s.arn().to_owned());
    PAGES.paginate(arns, String::clone, false, max_results, next_token, 100)
}

/// Services that registered in a Cloud Map namespace (through Service Connect).
pub fn list_by_namespace(
    region: &State,
    namespace: &str,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<Page<String>, ApiError> {
    let short = namespace.rsplit('/').next().unwrap_or(namespace);
    let arns = region
        .services
        .values()
        .filter(|s| s.status == "ACTIVE")
        .filter(|s| {
            region
                .clusters
                .get(&s.cluster)
                .and_then(|c| c.service_connect_defaults.as_ref())
                .and_then(|d| d.namespace.as_deref())
                .is_some_and(|n| n == namespace || n.rsplit('/').next() == Some(short))
        })
        .map(|s| s.arn().to_owned());
    PAGES.paginate(arns, String::clone, false, max_results, next_token, 100)
}

pub fn tags_mut<'a>(
    region: &'a mut State,
    cluster: &str,
    name: &str,
) -> Result<&'a mut Vec<Tag>, ApiError> {
    region
        .services
        .get_mut(&key(cluster, name))
        .filter(|s| s.status != "INACTIVE")
        .map(|s| &mut s.tags)
        .ok_or_else(not_found)
}

/// Active services per cluster, for the cluster's counters and DeleteCluster.
pub fn active_count(region: &State, cluster: &str) -> i32 {
    region
        .services
        .values()
        .filter(|s| s.cluster == cluster && s.status != "INACTIVE")
        .count() as i32
}

/// The circuit breaker's failure threshold (ECS developer guide): half the desired count,
/// at least 3 and at most 200.
pub fn failure_threshold(desired: i32) -> i32 {
    ((desired + 1) / 2).clamp(3, 200)
}

fn task_ids<'a>(arns: impl Iterator<Item = &'a String>) -> String {
    arns.map(|a| format!("(task {})", a.rsplit('/').next().unwrap_or(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One pass of the service scheduler over every service of the region (the scheduler's tick).
/// A service a previous pass left settled is skipped while nothing it depends on has changed.
pub fn reconcile(region: &mut State, placements: &mut tasks::Placements) {
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

fn reconcile_service(
    region: &mut State,
    k: &(String, String),
    cluster_digest: u64,
    placements: &mut tasks::Placements,
) {
    // A deployment's lifecycle stage that moved on changes what the pass may do: run it again
    // at once rather than on the next tick (a few times at most; stages only move forward).
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
    let Some(svc) = region.services.get_mut(k) else {
        return false;
    };
    svc.changed_by_api = false;
    if svc.status == "INACTIVE"
        || svc.controller() != DeploymentControllerType::Ecs
        || svc.deployments.is_empty()
    {
        return false;
    }
    let (cluster, name) = k.clone();
    let config = svc.config();
    let breaker = config
        .deployment_circuit_breaker
        .clone()
        .unwrap_or_default();
    let primary_id = svc.deployments[0].id().to_owned();
    let daemon = svc.is_daemon();
    let draining = svc.status == "DRAINING";

    // 1. Failures: primary tasks that stopped on their own, and unhealthy ones ECS stops.
    let mut failed_now = 0;
    let mut unhealthy = Vec::new();
    // For the throttle: when the newest failed-to-start task was created, and when the newest
    // primary task that reached RUNNING started.
    let mut failed_to_start: Option<f64> = None;
    let mut ran: Option<f64> = None;
    tasks::each_of_service_mut(region, &cluster, &name, |t| {
        let primary = t.deployment_id.as_deref() == Some(primary_id.as_str());
        if primary && t.reached_running {
            let started = t.data.started_at.map(|s| s.as_secs_f64()).unwrap_or(0.0);
            ran = Some(ran.map_or(started, |r: f64| r.max(started)));
        }
        if t.desired_running()
            && t.last_status() == "RUNNING"
            && t.data.health_status == Some(crate::wire::ecs::HealthStatus::Unhealthy)
        {
            t.request_stop(
                TaskStopCode::ServiceSchedulerInitiated,
                "Task failed container health checks",
            );
            unhealthy.push(t.arn().to_owned());
            if primary && !t.failure_counted {
                t.failure_counted = true;
                failed_now += 1;
            }
        }
        if t.is_stopped() && !t.failure_counted && primary {
            let self_stopped = !matches!(
                t.wanted_stop,
                Some((TaskStopCode::UserInitiated, _))
                    | Some((TaskStopCode::ServiceSchedulerInitiated, _))
            );
            t.failure_counted = true;
            if self_stopped {
                failed_now += 1;
                if !t.reached_running {
                    let created = t.data.created_at.map(|c| c.as_secs_f64()).unwrap_or(0.0);
                    failed_to_start = Some(failed_to_start.map_or(created, |f| f.max(created)));
                }
            }
        }
    });
    let Some(svc) = region.services.get_mut(k) else {
        return false;
    };
    let now = Timestamp::now().as_secs_f64();
    if let (Some(ran), Some(counted)) = (ran, svc.throttle.counted_at)
        && ran > counted
    {
        // A task started after the last failed attempt: launches work again.
        svc.throttle = Throttle::default();
    }
    if let Some(created) = failed_to_start
        && svc.throttle.counted_at.is_none_or(|c| created > c)
    {
        let t = &mut svc.throttle;
        t.failed_attempts += 1;
        t.counted_at = Some(now);
        let delay = throttle_delay_secs(t.failed_attempts);
        t.not_before = now + delay;
        let msg = format!("(service {name}) is unable to consistently start tasks successfully.");
        if delay > 0.0
            && svc.events.front().and_then(|e| e.message.as_deref()) != Some(msg.as_str())
        {
            svc.event(msg);
        }
    }
    if !unhealthy.is_empty() {
        let msg = format!(
            "(service {name}) has stopped {} running tasks: {}.",
            unhealthy.len(),
            task_ids(unhealthy.iter())
        );
        svc.event(msg);
        svc.steady = false;
    }
    if failed_now > 0 {
        let d = &mut svc.deployments[0];
        d.data.failed_tasks = Some(d.data.failed_tasks.unwrap_or(0) + failed_now);
        d.data.updated_at = Some(Timestamp::now());
        svc.steady = false;
    }

    // 2. The circuit breaker.
    let desired = svc.desired_count;
    let primary = &svc.deployments[0];
    if breaker.enable
        && primary.rollout() == Some(&DeploymentRolloutState::InProgress)
        && primary.data.failed_tasks.unwrap_or(0) >= failure_threshold(desired)
    {
        let failed_id = primary_id.clone();
        let d = &mut svc.deployments[0];
        d.data.rollout_state = Some(DeploymentRolloutState::Failed);
        d.data.rollout_state_reason =
            Some("ECS deployment circuit breaker: tasks failed to start.".into());
        d.data.updated_at = Some(Timestamp::now());
        svc.event(format!(
            "(service {name}) (deployment {failed_id}) deployment failed: tasks failed to start."
        ));
        if breaker.rollback
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
        super::service_deployments::circuit_breaker_tripped(
            &mut region.service_deployments,
            svc,
            &failed_id,
        );
    }

    // 3. Tasks: what each deployment has, and what must be replaced.
    let svc = &region.services[k];
    let primary_id = svc.deployments[0].id().to_owned();
    let primary_failed = svc.deployments[0].rollout() == Some(&DeploymentRolloutState::Failed);
    let draining_instances: Vec<String> = region
        .container_instances
        .values()
        .filter(|ci| ci.cluster == cluster && ci.status() == ContainerInstanceStatus::Draining)
        .map(|ci| ci.arn().to_owned())
        .collect();
    let throttled = svc.throttle.not_before > now;
    // A deleted service drains whatever stage its deployment is at.
    let gate = if draining {
        Gate::OPEN
    } else {
        super::service_deployments::gate(region, &cluster, &name, &primary_id)
    };
    let live: Vec<&tasks::Task> = tasks::of_service(region, &cluster, &name)
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
        .filter(|t| {
            draining || on_draining(t) || !super::task_protection::is_protected(region, t.arn())
        })
        .map(|t| (t.is_healthy_running(), t.arn().to_owned()))
        .collect();
    let healthy_total = live.iter().filter(|t| t.is_healthy_running()).count() as i32;
    let total = live.len() as i32;

    let (target, max_total, min_healthy) = if daemon {
        let n = region
            .container_instances
            .values()
            .filter(|ci| ci.cluster == cluster && ci.status() == ContainerInstanceStatus::Active)
            .count() as i32;
        let n = if draining { 0 } else { n };
        (n, n + doomed.len() as i32, 0)
    } else {
        let max_pct = config.maximum_percent.unwrap_or(200);
        let min_pct = config.minimum_healthy_percent.unwrap_or(100);
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
            .filter(|t| draining || !super::task_protection::is_protected(region, t.arn()))
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

    // 4. Carry out.
    let mut started = Vec::new();
    let mut unplaced: Option<String> = None;
    if start > 0 {
        let svc = &region.services[k];
        let d = &svc.deployments[0];
        let td = d.definition.clone();
        let launch = svc.launch.clone();
        let network = svc.data.network_configuration.clone();
        let daemon_on = daemon.then(|| {
            daemon_targets(region, &cluster, &name, &primary_id, &td)
                .into_iter()
                .take(start as usize)
                .collect()
        });
        (started, unplaced) = start_tasks(
            region,
            placements,
            k,
            &td,
            &launch,
            network.as_ref(),
            &primary_id,
            daemon_on,
            start as usize,
        );
    }
    for arn in &to_stop {
        if let Some(t) = region.tasks.get_mut(arn) {
            let reason = format!(
                "Scaling activity initiated by (deployment {})",
                t.deployment_id.clone().unwrap_or_default()
            );
            t.request_stop(TaskStopCode::ServiceSchedulerInitiated, &reason);
        }
    }

    // 5. Events, deployment bookkeeping, steady state.
    let live_after: Vec<&tasks::Task> = tasks::of_service(region, &cluster, &name)
        .filter(|t| t.desired_running())
        .collect();
    let old_left = live_after
        .iter()
        .filter(|t| t.deployment_id.as_deref() != Some(primary_id.as_str()))
        .count();
    // A deployment completes once its tasks have stayed up a while, not at the first instant
    // they all run: a crash-looping revision must not look COMPLETED between two crashes.
    let settled = |t: &tasks::Task| {
        t.data
            .started_at
            .is_some_and(|s| now - s.as_secs_f64() >= STABILITY_SECS)
    };
    let primary_running = live_after
        .iter()
        .filter(|t| {
            t.deployment_id.as_deref() == Some(primary_id.as_str())
                && t.is_healthy_running()
                && settled(t)
        })
        .count() as i32;
    let any_pending = live_after.iter().any(|t| t.last_status() != "RUNNING");
    let primary_pending = live_after.iter().any(|t| {
        t.deployment_id.as_deref() == Some(primary_id.as_str()) && t.last_status() != "RUNNING"
    });
    let task_states = {
        let mut h = DefaultHasher::new();
        for t in &live_after {
            (t.deployment_id.as_deref(), t.last_status() == "RUNNING").hash(&mut h);
        }
        h.finish()
    };
    let all_stopped =
        live_after.is_empty() && tasks::of_service(region, &cluster, &name).all(|t| t.is_stopped());
    let Some(svc) = region.services.get_mut(k) else {
        return false;
    };
    if !started.is_empty() {
        svc.event(format!(
            "(service {name}) has started {} tasks: {}.",
            started.len(),
            task_ids(started.iter())
        ));
        svc.steady = false;
    }
    if !to_stop.is_empty() {
        svc.event(format!(
            "(service {name}) has stopped {} running tasks: {}.",
            to_stop.len(),
            task_ids(to_stop.iter())
        ));
        svc.steady = false;
    }
    if let Some(reason) = unplaced {
        let msg = format!(
            "(service {name}) was unable to place a task because no container instance met all of its requirements. Reason: {reason}."
        );
        if svc.events.front().and_then(|e| e.message.as_deref()) != Some(msg.as_str()) {
            svc.event(msg);
        }
    }
    if old_left == 0 && svc.deployments.len() > 1 {
        svc.deployments.truncate(1);
    }
    let complete = gate.complete && old_left == 0 && primary_running == target && !any_pending;
    let d = &mut svc.deployments[0];
    if complete && d.rollout() == Some(&DeploymentRolloutState::InProgress) {
        d.data.rollout_state = Some(DeploymentRolloutState::Completed);
        d.data.rollout_state_reason = Some(format!("ECS deployment {primary_id} completed."));
        d.data.updated_at = Some(Timestamp::now());
        svc.last_completed = Some((primary_id.clone(), d.definition.clone()));
        svc.event(format!(
            "(service {name}) (deployment {primary_id}) deployment completed."
        ));
    }
    if complete && !svc.steady && svc.status == "ACTIVE" {
        svc.steady = true;
        svc.event(format!("(service {name}) has reached a steady state."));
    }
    if svc.status == "DRAINING" && all_stopped {
        svc.status = "INACTIVE".into();
        svc.deployments.clear();
    }
    let deployments = deployments_digest(svc);
    let p = &mut svc.progress;
    let call_progress = p.deployments != Some(deployments)
        || (p.tasks != task_states && now - p.at >= PROGRESS_REFRESH_SECS);
    if call_progress {
        *p = ProgressSeen {
            deployments: Some(deployments),
            tasks: task_states,
            at: now,
        };
    }
    let progress_current = p.tasks == task_states;
    let settles = started.is_empty()
        && to_stop.is_empty()
        && unhealthy.is_empty()
        && failed_now == 0
        && complete
        && svc.steady
        && svc.status == "ACTIVE"
        && svc.deployments.len() == 1
        && svc.throttle.failed_attempts == 0
        && progress_current;
    let facts = super::service_deployments::Facts {
        target,
        running: primary_running,
        pending: primary_pending,
        old_left,
    };
    let moved =
        super::service_deployments::advance_lifecycle(region, &cluster, &name, &primary_id, &facts);
    if call_progress || moved {
        super::service_deployments::progress(region, &cluster, &name);
    }
    let quiet = (settles && !moved).then(|| quiet_digest(region, k, cluster_digest));
    if let Some(svc) = region.services.get_mut(k) {
        svc.quiet = quiet;
    }
    moved
}

/// What `service_deployments::progress` reads of a service besides its tasks, hashed: its
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

/// Places and creates `count` tasks of service `k` for deployment (or task set) `deployment`,
/// as the service is configured to start them: its placement (spreading over zones, then
/// instances, when it has no strategy — CreateService docs), group `service:NAME`, propagated
/// tags and exec setting. DAEMON services pass the instances to start on instead.
/// Returns the started task ARNs and, when some could not be placed, the last reason.
#[allow(clippy::too_many_arguments)]
pub(super) fn start_tasks(
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
        .unwrap_or_else(super::placement::default_service_strategies);
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

/// DAEMON: ACTIVE instances of the cluster without a task of the primary deployment.
fn daemon_targets(
    region: &State,
    cluster: &str,
    service: &str,
    deployment: &str,
    _td: &TaskDefinition,
) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launch_throttle_grows_to_the_documented_maximum() {
        let delays: Vec<f64> = (0..=16).map(throttle_delay_secs).collect();
        // The first failed attempts are retried at once.
        assert_eq!(&delays[..=THROTTLE_FREE_ATTEMPTS as usize], &[0.0; 3]);
        assert_eq!(delays[3], THROTTLE_FIRST_DELAY_SECS);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        assert_eq!(delays[4], 2.0 * THROTTLE_FIRST_DELAY_SECS);
        // AWS: "up to a maximum of 27 minutes".
        assert_eq!(delays[16], 27.0 * 60.0);
        assert_eq!(throttle_delay_secs(u32::MAX), 27.0 * 60.0);
    }
}
