//! Services: the records CreateService, UpdateService and DeleteService keep, and what
//! DescribeServices shows of them. The API records intent (desired count, task definition,
//! configuration) and starts deployments; the service scheduler (`scheduler`) moves the world
//! towards it: replaces stopped tasks, rolls deployments within minimumHealthyPercent and
//! maximumPercent, trips the deployment circuit breaker and rolls back, keeps one task per
//! instance for DAEMON.

use super::PAGES;
use super::scheduler::{
    ProgressSeen, Throttle, daemon_desired_count, deployments, reach_steady_state, runs_as_wanted,
    task_sets,
};
use super::tasks::{self, Launch};
use super::{State, arn, clusters, container_instances, tags, task_definitions};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::wire::ecs::{
    CapacityProviderStrategyItem, CreateServiceRequest, Deployment as WireDeployment,
    DeploymentCircuitBreaker, DeploymentConfiguration, DeploymentController,
    DeploymentControllerType, DeploymentRolloutState, DeploymentStrategy, LaunchType,
    NetworkConfiguration, PropagateTags, SchedulingStrategy, Service as WireService,
    ServiceConnectConfiguration, ServiceEvent, Tag, TaskDefinition, UpdateServiceRequest,
};
use std::collections::VecDeque;
use std::sync::Arc;

/// ECS keeps the newest 100 events of a service.
const MAX_EVENTS: usize = 100;

pub struct Deployment {
    pub data: WireDeployment,
    /// Shared with the registry and with the deployment's tasks.
    pub definition: Arc<TaskDefinition>,
}

impl Deployment {
    pub(super) fn id(&self) -> &str {
        self.data.id.as_deref().unwrap_or("")
    }

    pub(super) fn rollout(&self) -> Option<&DeploymentRolloutState> {
        self.data.rollout_state.as_ref()
    }
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
    /// Service Connect, with its namespace as an ARN; each deployment carries a copy.
    pub service_connect: Option<ServiceConnectConfiguration>,
    /// The service reached a steady state and nothing changed since.
    pub(super) steady: bool,
    client_token: Option<String>,
    pub(super) throttle: Throttle,
    pub(super) progress: ProgressSeen,
    /// Set by a pass that found the service settled with nothing to do: the digest of what
    /// could give it something to do. The tick's full pass skips the service while the digest
    /// still matches.
    pub(super) quiet: Option<u64>,
    /// An API call changed the service since the scheduler last looked at it.
    pub(super) changed_by_api: bool,
}

impl Service {
    pub fn arn(&self) -> &str {
        self.data.service_arn.as_deref().unwrap_or("")
    }

    pub(super) fn is_daemon(&self) -> bool {
        self.data.scheduling_strategy == Some(SchedulingStrategy::Daemon)
    }

    pub(super) fn controller(&self) -> DeploymentControllerType {
        self.data
            .deployment_controller
            .as_ref()
            .map(|c| c.r#type.clone())
            .unwrap_or(DeploymentControllerType::Ecs)
    }

    pub(super) fn event(&mut self, message: String) {
        self.events.push_front(ServiceEvent {
            id: Some(uuid::Uuid::new_v4().to_string()),
            created_at: Some(Timestamp::now()),
            message: Some(message),
        });
        self.events.truncate(MAX_EVENTS);
    }

    pub(super) fn config(&self) -> DeploymentConfiguration {
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
    deployments::validate_lifecycle(c)?;
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

/// Service Connect's checks (ServiceConnectService, ECS API reference): each service names a
/// port mapping of the task definition by its `name`; enabled configuration has a namespace.
fn check_service_connect(
    sc: &ServiceConnectConfiguration,
    td: &TaskDefinition,
) -> Result<(), ApiError> {
    if !sc.enabled {
        return Ok(());
    }
    if sc.namespace.is_none() {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Service Connect requires a namespace: set serviceConnectConfiguration.namespace or the cluster's serviceConnectDefaults."
        ));
    }
    let port_names: Vec<&str> = td
        .container_definitions
        .iter()
        .flatten()
        .flat_map(|c| c.port_mappings.iter().flatten())
        .filter_map(|m| m.name.as_deref())
        .collect();
    for s in sc.services.iter().flatten() {
        if !port_names.contains(&s.port_name.as_str()) {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "The Service Connect portName {} does not match the name of a port mapping in the task definition.",
                s.port_name
            ));
        }
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
    let id = deployment_id();
    Deployment {
        data: WireDeployment {
            // AWS names the deployment in its reason: "ECS deployment ecs-svc/… in progress."
            rollout_state_reason: Some(format!("ECS deployment {id} in progress.")),
            id: Some(id),
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
        // Counted below, once the request is known to be valid.
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
        Some(id) => Some(task_definitions::to_run(region, id)?.data.clone()),
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
    let desired = if daemon {
        // A DAEMON service needs EC2 capacity: the executor's hosts, unless the cluster has
        // instances of its own. Its desired count is a task on each.
        container_instances::ensure_for_cluster(region, &cluster);
        daemon_desired_count(region, &cluster)
    } else {
        desired
    };
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
    let service_connect = req.service_connect_configuration.clone();
    if let (Some(sc), Some(td)) = (&service_connect, &td) {
        check_service_connect(sc, td)?;
    }
    let deployments = match (&td, ecs_controlled) {
        (Some(td), true) => {
            let mut d = new_deployment(
                td.clone(),
                desired,
                &launch,
                req.network_configuration.clone(),
                data.capacity_provider_strategy.clone(),
            );
            d.data.service_connect_configuration = service_connect.clone();
            vec![d]
        }
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
        service_connect,
        steady: false,
        client_token: req.client_token.clone(),
        throttle: Throttle::default(),
        progress: ProgressSeen::default(),
        quiet: None,
        changed_by_api: true,
    };
    region.services.insert(key(&cluster, &name), service);
    deployments::started(region, &cluster, &name);
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
    deployments::fill_current(region, s, &mut data);
    data.task_sets = task_sets::of_service(region, s);
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

/// UpdateService's rule for optional members: those given replace the service's, the others
/// stay.
macro_rules! replace_given {
    ($given:ident => $target:expr; $($member:ident),* $(,)?) => {
        $(if $given.$member.is_some() {
            ($target).$member = $given.$member.clone();
        })*
    };
}

pub fn update(region: &mut State, req: UpdateServiceRequest) -> Result<WireService, ApiError> {
    let cluster = clusters::active(region, req.cluster.as_deref())?
        .name
        .clone();
    let new_td = match &req.task_definition {
        Some(id) => Some(task_definitions::to_run(region, id)?.data.clone()),
        None => None,
    };
    let new_launch = match &req.capacity_provider_strategy {
        Some(s) if !s.is_empty() => Some(tasks::resolve_launch(region, &cluster, None, Some(s))?),
        _ => None,
    };
    // Read before the update changes anything: see `completed` below.
    let ran_as_wanted = runs_as_wanted(
        region,
        &key(
            &cluster,
            req.service.rsplit('/').next().unwrap_or(&req.service),
        ),
    );
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
        if let Some(sc) = &req.service_connect_configuration {
            check_service_connect(sc, td)?;
        }
    }
    let mut config = svc.config();
    if let Some(given) = req.deployment_configuration.clone() {
        replace_given!(given => config;
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
    if let Some(sc) = &req.service_connect_configuration {
        // A new Service Connect configuration is rolled out as a new deployment, as on AWS.
        redeploy |= svc.service_connect.as_ref() != Some(sc);
        svc.service_connect = Some(sc.clone());
    }
    replace_given!(req => svc.data;
        placement_strategy,
        placement_constraints,
        load_balancers,
        service_registries,
        health_check_grace_period_seconds,
        enable_execute_command,
        propagate_tags,
        enable_ecs_managed_tags
    );
    let deploy =
        td_for_check.filter(|_| redeploy && svc.controller() == DeploymentControllerType::Ecs);
    // A PRIMARY deployment that ran as wanted (the user may have seen services-stable pass)
    // completes now, as the scheduler would have a moment later, rather than never: a circuit
    // breaker tripping on the new deployment goes back to "the last deployment that completed
    // successfully", even once its tasks are gone.
    let completed = deploy.is_some() && ran_as_wanted;
    if completed {
        reach_steady_state(svc);
    }
    if let Some(td) = deploy {
        start_deployment(svc, td, None);
    }
    let name = svc.name.clone();
    svc.progress.deployments = None;
    svc.changed_by_api = true;
    if completed {
        deployments::progress(region, &cluster, &name);
    }
    deployments::started(region, &cluster, &name);
    let svc = region
        .services
        .get(&key(&cluster, &name))
        .ok_or_else(not_found)?;
    Ok(describe_one(region, svc, false))
}

/// An older deployment `id` becomes PRIMARY again with the service's desired count and keeps
/// its tasks (a rollback while they still run); the others become ACTIVE and are drained.
/// False when the service has no such deployment.
pub(crate) fn promote(svc: &mut Service, id: &str, reason: String) -> bool {
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

/// A new PRIMARY deployment; the previous ones become ACTIVE and the scheduler drains them.
pub(crate) fn start_deployment(svc: &mut Service, td: Arc<TaskDefinition>, reason: Option<String>) {
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
    d.data.service_connect_configuration = svc.service_connect.clone();
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

/// The Service Connect namespace of a cluster's defaults, as an ARN, if it has one.
pub fn cluster_namespace(region: &State, cluster: Option<&str>) -> Option<String> {
    clusters::active(region, cluster)
        .ok()?
        .service_connect_defaults
        .as_ref()?
        .namespace
        .clone()
}

/// The task definition ARN a service runs, by cluster and name or ARN.
pub fn task_definition_of<'a>(
    region: &'a State,
    cluster: Option<&str>,
    id: &str,
) -> Option<&'a str> {
    let cluster = clusters::active(region, cluster).ok()?;
    let name = id.rsplit('/').next().unwrap_or(id);
    region
        .services
        .get(&key(&cluster.name, name))?
        .data
        .task_definition
        .as_deref()
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

/// The desired count of an ACTIVE replica service, which Application Auto Scaling may change.
pub fn scalable_count(region: &State, cluster: &str, name: &str) -> Option<i32> {
    region
        .services
        .get(&key(cluster, name))
        .filter(|s| s.status == "ACTIVE" && !s.is_daemon())
        .map(|s| s.desired_count)
}

/// Application Auto Scaling sets a service's desired count (through `links::scaling`); the
/// service gets ECS's event for it and the scheduler acts on its next pass.
pub fn scale_to(region: &mut State, cluster: &str, name: &str, n: i32, cause: &str) {
    let Some(svc) = region.services.get_mut(&key(cluster, name)) else {
        return;
    };
    svc.desired_count = n;
    if let Some(d) = svc.deployments.first_mut() {
        d.data.desired_count = Some(n);
    }
    svc.event(format!(
        "(service {name}) desired count was set to {n} by Application Auto Scaling: {cause}."
    ));
    touch_service(svc);
}
