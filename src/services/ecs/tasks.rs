//! Tasks: RunTask / StartTask place them and record the intent (desiredStatus RUNNING); the
//! scheduler hands them to the executor and applies what it reports. StopTask records
//! desiredStatus STOPPED with the caller's reason. Stopped tasks stay describable for an hour.

use super::PAGES;
use super::placement::{self, Candidate, Demand, PlacedTask};
use super::{State, arn, clusters, container_instances, new_id, tags, task_definitions};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::executor::{Phase, TaskSpec, TaskUpdate};
use crate::wire::ecs::{
    Attachment, CapacityProviderStrategyItem, Connectivity, Container, ContainerOverride,
    DesiredStatus, Failure, HealthStatus, KeyValuePair, LaunchType, NetworkConfiguration,
    NetworkInterface, NetworkMode, PlacementConstraint, PlacementStrategy, PropagateTags, Tag,
    Task as WireTask, TaskDefinition, TaskDefinitionStatus, TaskOverride, TaskStopCode,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// How long a STOPPED task stays describable (AWS: at least an hour).
pub const STOPPED_RETENTION_SECS: f64 = 3600.0;

/// Task ARNs by the service that started them and by the container instance they run on, in
/// ARN order like `State::tasks`. The service scheduler, DescribeServices, ListTasks and
/// placement read a service's or an instance's tasks here rather than walking every task of
/// the region, so a scheduler pass costs what the services hold, not services × tasks.
/// [`create`] adds, the retention sweep in [`executor_actions`] removes, and that sweep
/// rebuilds the index should it ever disagree with `State::tasks` (a task inserted or
/// removed some other way).
#[derive(Default)]
pub struct TaskIndex {
    /// Cluster name → service name → task ARNs.
    by_service: HashMap<String, HashMap<String, BTreeSet<String>>>,
    /// Container instance ARN → task ARNs.
    by_instance: HashMap<String, BTreeSet<String>>,
    /// How many tasks each map holds.
    service_len: usize,
    instance_len: usize,
}

impl TaskIndex {
    fn insert(&mut self, t: &Task, arn: &str) {
        if let Some(service) = &t.service {
            let added = self
                .by_service
                .entry(t.cluster.clone())
                .or_default()
                .entry(service.clone())
                .or_default()
                .insert(arn.to_owned());
            self.service_len += usize::from(added);
        }
        if let Some(instance) = &t.container_instance {
            let added = self
                .by_instance
                .entry(instance.clone())
                .or_default()
                .insert(arn.to_owned());
            self.instance_len += usize::from(added);
        }
    }

    fn remove(&mut self, t: &Task, arn: &str) {
        if let Some(service) = &t.service
            && let Some(services) = self.by_service.get_mut(&t.cluster)
            && let Some(arns) = services.get_mut(service)
        {
            self.service_len -= usize::from(arns.remove(arn));
            if arns.is_empty() {
                services.remove(service);
                if services.is_empty() {
                    self.by_service.remove(&t.cluster);
                }
            }
        }
        if let Some(instance) = &t.container_instance
            && let Some(arns) = self.by_instance.get_mut(instance)
        {
            self.instance_len -= usize::from(arns.remove(arn));
            if arns.is_empty() {
                self.by_instance.remove(instance);
            }
        }
    }

    fn rebuild(&mut self, tasks: &BTreeMap<String, Box<Task>>) {
        *self = TaskIndex::default();
        for (arn, t) in tasks {
            self.insert(t, arn);
        }
    }

    /// The ARNs of service `name` of `cluster`, stopped tasks included.
    pub fn of_service<'a>(&'a self, cluster: &str, name: &str) -> impl Iterator<Item = &'a String> {
        self.by_service
            .get(cluster)
            .and_then(|services| services.get(name))
            .into_iter()
            .flatten()
    }

    /// The ARNs of the tasks placed on container instance `arn`, stopped tasks included.
    pub fn of_instance<'a>(&'a self, arn: &str) -> impl Iterator<Item = &'a String> {
        self.by_instance.get(arn).into_iter().flatten()
    }
}

/// The tasks of service `name` of `cluster`, stopped ones included, in ARN order.
pub fn of_service<'a>(
    region: &'a State,
    cluster: &str,
    name: &str,
) -> impl Iterator<Item = &'a Task> {
    region
        .task_index
        .of_service(cluster, name)
        .filter_map(|arn| region.tasks.get(arn).map(Box::as_ref))
}

/// The tasks placed on container instance `arn`, stopped ones included, in ARN order.
pub fn of_instance<'a>(region: &'a State, arn: &str) -> impl Iterator<Item = &'a Task> {
    region
        .task_index
        .of_instance(arn)
        .filter_map(|arn| region.tasks.get(arn).map(Box::as_ref))
}

/// Runs `f` on every task of service `name` of `cluster` (stopped ones included), mutably.
pub fn each_of_service_mut(
    region: &mut State,
    cluster: &str,
    name: &str,
    mut f: impl FnMut(&mut Task),
) {
    let State {
        tasks, task_index, ..
    } = region;
    for arn in task_index.of_service(cluster, name) {
        if let Some(t) = tasks.get_mut(arn) {
            f(t);
        }
    }
}

/// The (cluster, service) whose task `arn` is, for a service task.
pub fn service_of(region: &State, arn: &str) -> Option<(String, String)> {
    let t = region.tasks.get(arn)?;
    Some((t.cluster.clone(), t.service.clone()?))
}

pub struct Task {
    pub data: WireTask,
    pub cluster: String,
    pub container_instance: Option<String>,
    /// Reserved on its instance while the task holds resources.
    pub cpu: i64,
    pub memory: i64,
    pub host_ports: Vec<u16>,
    pub family: String,
    pub group: String,
    pub service: Option<String>,
    pub deployment_id: Option<String>,
    /// Shared with the deployment (or RunTask call) that made the task, not copied per task.
    pub definition: Arc<TaskDefinition>,
    /// Handed to the executor.
    pub launched: bool,
    /// The executor was asked to stop it.
    pub stop_sent: bool,
    pub reached_running: bool,
    /// The scheduler counted this task's failure against its deployment.
    pub failure_counted: bool,
}

impl Task {
    pub fn arn(&self) -> &str {
        self.data.task_arn.as_deref().unwrap_or("")
    }

    pub fn last_status(&self) -> &str {
        self.data.last_status.as_deref().unwrap_or("")
    }

    pub fn desired_running(&self) -> bool {
        self.data.desired_status.as_deref() == Some("RUNNING")
    }

    /// Counts against its instance's resources until it has STOPPED.
    pub fn holds_resources(&self) -> bool {
        self.last_status() != "STOPPED"
    }

    pub fn is_stopped(&self) -> bool {
        self.last_status() == "STOPPED"
    }

    pub fn is_healthy_running(&self) -> bool {
        self.last_status() == "RUNNING"
            && self.desired_running()
            && self.data.health_status != Some(HealthStatus::Unhealthy)
    }

    /// Records the intent to stop; the scheduler carries it out. Why is visible at once, while
    /// the containers still wind down (StopTask: the reason "appears in subsequent DescribeTasks
    /// API operations on this task"); what the executor reports later yields to it.
    pub fn request_stop(&mut self, code: TaskStopCode, reason: &str) {
        if !self.desired_running() {
            return;
        }
        self.data.desired_status = Some("STOPPED".into());
        self.data.stopping_at.get_or_insert_with(Timestamp::now);
        self.data.stop_code = Some(code);
        self.data.stopped_reason = Some(reason.to_owned());
        self.bump();
    }

    fn bump(&mut self) {
        self.data.version = Some(self.data.version.unwrap_or(0) + 1);
    }

    fn placed(&self) -> PlacedTask {
        PlacedTask {
            group: self.group.clone(),
            task_definition_family: self.family.clone(),
            task_definition_arn: self.data.task_definition_arn.clone().unwrap_or_default(),
            started_by: self.data.started_by.clone(),
        }
    }
}

/// What a task reserves: task-level sizes, else the sum of its containers (after overrides).
pub fn demand_of(td: &TaskDefinition, overrides: Option<&TaskOverride>) -> (i64, i64, Vec<u16>) {
    let ov = |name: &str| -> Option<&ContainerOverride> {
        overrides?
            .container_overrides
            .iter()
            .flatten()
            .find(|o| o.name.as_deref() == Some(name))
    };
    let containers = td.container_definitions.iter().flatten();
    let sum_cpu: i64 = containers
        .clone()
        .map(|c| {
            let o = c.name.as_deref().and_then(ov);
            o.and_then(|o| o.cpu).or(c.cpu).unwrap_or(0) as i64
        })
        .sum();
    let sum_mem: i64 = containers
        .clone()
        .map(|c| {
            let o = c.name.as_deref().and_then(ov);
            let hard = o.and_then(|o| o.memory).or(c.memory);
            let soft = o
                .and_then(|o| o.memory_reservation)
                .or(c.memory_reservation);
            soft.or(hard).unwrap_or(0) as i64
        })
        .sum();
    let parse = |s: Option<&String>| s.and_then(|v| v.parse::<i64>().ok());
    let cpu = parse(overrides.and_then(|o| o.cpu.as_ref()))
        .or_else(|| parse(td.cpu.as_ref()))
        .unwrap_or(sum_cpu);
    let memory = parse(overrides.and_then(|o| o.memory.as_ref()))
        .or_else(|| parse(td.memory.as_ref()))
        .unwrap_or(sum_mem);
    let mode = td.network_mode.clone().unwrap_or(NetworkMode::Bridge);
    let ports = if mode == NetworkMode::Awsvpc {
        Vec::new()
    } else {
        containers
            .flat_map(|c| c.port_mappings.iter().flatten())
            .filter_map(|pm| match (&mode, pm.host_port) {
                (NetworkMode::Host, _) => pm.container_port,
                (_, Some(p)) if p != 0 => Some(p),
                _ => None,
            })
            .filter_map(|p| u16::try_from(p).ok())
            .collect()
    };
    (cpu, memory, ports)
}

/// A container instance as placement sees it.
pub fn candidate(region: &State, ci: &container_instances::ContainerInstance) -> Candidate {
    let arn = ci.arn();
    let tasks: Vec<&Task> = of_instance(region, arn)
        .filter(|t| t.holds_resources())
        .collect();
    let used_cpu: i64 = tasks.iter().map(|t| t.cpu).sum();
    let used_mem: i64 = tasks.iter().map(|t| t.memory).sum();
    let mut used_ports: BTreeSet<(u16, placement::Protocol)> = tasks
        .iter()
        .flat_map(|t| t.host_ports.iter().map(|p| (*p, placement::Protocol::Tcp)))
        .collect();
    for reserved in [22u16, 2375, 2376, 51678, 51679] {
        used_ports.insert((reserved, placement::Protocol::Tcp));
    }
    Candidate {
        arn: arn.to_owned(),
        ec2_instance_id: ci.data.ec2_instance_id.clone().unwrap_or_default(),
        attributes: ci
            .data
            .attributes
            .iter()
            .flatten()
            .map(|a| (a.name.clone(), a.value.clone()))
            .collect(),
        remaining_cpu: ci.registered("CPU") - used_cpu,
        remaining_memory: ci.registered("MEMORY") - used_mem,
        used_ports,
        tasks: tasks.iter().map(|t| t.placed()).collect(),
        active: ci.status() == crate::wire::ecs::ContainerInstanceStatus::Active,
    }
}

/// How a task is launched.
#[derive(Debug, Clone)]
pub struct Launch {
    pub launch_type: LaunchType,
    pub capacity_provider: Option<String>,
}

/// launchType and capacityProviderStrategy are exclusive; the cluster's default strategy
/// applies when neither is given, else EC2.
pub fn resolve_launch(
    region: &State,
    cluster: &str,
    launch_type: Option<LaunchType>,
    strategy: Option<&[CapacityProviderStrategyItem]>,
) -> Result<Launch, ApiError> {
    let strategy = strategy.filter(|s| !s.is_empty());
    if launch_type.is_some() && strategy.is_some() {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."
        ));
    }
    if let Some(lt) = launch_type {
        if !lt.is_known() {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "Invalid launch type {lt}. Valid values are EC2, FARGATE, EXTERNAL."
            ));
        }
        return Ok(Launch {
            launch_type: lt,
            capacity_provider: None,
        });
    }
    let default_strategy = region
        .clusters
        .get(cluster)
        .map(|c| c.default_strategy.clone())
        .unwrap_or_default();
    let strategy = strategy.map(<[_]>::to_vec).unwrap_or(default_strategy);
    // The provider that takes the first task: the one with a base, else the heaviest weight.
    let first = strategy
        .iter()
        .find(|s| s.base.unwrap_or(0) > 0)
        .or_else(|| strategy.iter().max_by_key(|s| s.weight.unwrap_or(0)));
    match first {
        None => Ok(Launch {
            launch_type: LaunchType::Ec2,
            capacity_provider: None,
        }),
        Some(item) => {
            let name = arn::capacity_provider_name(&item.capacity_provider).to_owned();
            let is_known = super::capacity_providers::BUILT_IN.contains(&name.as_str())
                || region.capacity_providers.contains_key(&name);
            if !is_known {
                return Err(api_err!(
                    ecs::InvalidParameterException,
                    "The specified capacity provider {name} does not exist."
                ));
            }
            let launch_type = if name.starts_with("FARGATE") {
                LaunchType::Fargate
            } else {
                LaunchType::Ec2
            };
            Ok(Launch {
                launch_type,
                capacity_provider: Some(name),
            })
        }
    }
}

/// The checks RunTask, StartTask and CreateService share.
pub fn check_launchable(
    td: &TaskDefinition,
    launch: &Launch,
    network: Option<&NetworkConfiguration>,
) -> Result<(), ApiError> {
    if td.status == Some(TaskDefinitionStatus::DeleteInProgress) {
        return Err(api_err!(
            ecs::ClientException,
            "The specified task definition is being deleted."
        ));
    }
    let compat = td.compatibilities.iter().flatten();
    let wants = match launch.launch_type {
        LaunchType::Fargate => Some("FARGATE"),
        LaunchType::External => Some("EXTERNAL"),
        LaunchType::Ec2 => Some("EC2"),
        _ => None,
    };
    if let Some(w) = wants
        && !compat.clone().any(|c| c.as_str() == w)
    {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Task definition does not support launch_type {w}."
        ));
    }
    let awsvpc = td.network_mode == Some(NetworkMode::Awsvpc);
    let vpc = network.and_then(|n| n.awsvpc_configuration.as_ref());
    match (awsvpc, vpc) {
        (true, None) => Err(api_err!(
            ecs::InvalidParameterException,
            "Network Configuration must be provided when networkMode 'awsvpc' is specified."
        )),
        (true, Some(v)) if v.subnets.is_empty() => Err(api_err!(
            ecs::InvalidParameterException,
            "subnets can not be empty."
        )),
        (false, Some(_)) => Err(api_err!(
            ecs::InvalidParameterException,
            "Network Configuration is not valid for the given networkMode of this task definition."
        )),
        _ => Ok(()),
    }
}

/// Everything a new task is made from.
pub struct NewTask<'a> {
    pub cluster: &'a str,
    pub definition: &'a Arc<TaskDefinition>,
    pub launch: &'a Launch,
    pub container_instance: Option<String>,
    pub network: Option<&'a NetworkConfiguration>,
    pub overrides: Option<TaskOverride>,
    pub group: String,
    pub started_by: Option<String>,
    pub tags: Vec<Tag>,
    pub enable_execute_command: bool,
    pub service: Option<String>,
    pub deployment_id: Option<String>,
}

pub fn create(region: &mut State, n: NewTask) -> String {
    let id = new_id();
    let task_arn = region.arn(&format!("task/{}/{id}", n.cluster));
    let cluster_arn = region.arn(&format!("cluster/{}", n.cluster));
    let td = n.definition;
    let (cpu, memory, host_ports) = demand_of(td, n.overrides.as_ref());
    let awsvpc = td.network_mode == Some(NetworkMode::Awsvpc);
    let attachment_id = uuid::Uuid::new_v4().to_string();
    let attachments = if awsvpc {
        let subnet = n
            .network
            .and_then(|nc| nc.awsvpc_configuration.as_ref())
            .and_then(|v| v.subnets.first().cloned())
            .unwrap_or_default();
        let eni = format!("eni-0{}", &new_id()[..16]);
        let mac = {
            let h = new_id();
            format!(
                "0a:{}:{}:{}:{}:{}",
                &h[0..2],
                &h[2..4],
                &h[4..6],
                &h[6..8],
                &h[8..10]
            )
        };
        vec![Attachment {
            id: Some(attachment_id.clone()),
            r#type: Some("ElasticNetworkInterface".into()),
            status: Some("PRECREATED".into()),
            details: Some(
                [
                    ("subnetId", subnet),
                    ("networkInterfaceId", eni),
                    ("macAddress", mac),
                ]
                .into_iter()
                .map(|(k, v)| KeyValuePair {
                    name: Some(k.into()),
                    value: Some(v),
                })
                .collect(),
            ),
        }]
    } else {
        Vec::new()
    };
    // Collected from a slice, so sized to the containers: a flattened Option would leave room
    // for four, kept for the task's life.
    let containers: Vec<Container> = td
        .container_definitions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|c| Container {
            container_arn: Some(region.arn(&format!(
                "container/{}/{id}/{}",
                n.cluster,
                uuid::Uuid::new_v4()
            ))),
            task_arn: Some(task_arn.clone()),
            name: c.name.clone(),
            image: c.image.clone(),
            last_status: Some("PENDING".into()),
            cpu: Some(c.cpu.unwrap_or(0).to_string()),
            memory: c.memory.map(|m| m.to_string()),
            memory_reservation: c.memory_reservation.map(|m| m.to_string()),
            health_status: Some(HealthStatus::UnknownValue),
            network_bindings: (!awsvpc).then(Vec::new),
            network_interfaces: Some(if awsvpc {
                vec![NetworkInterface {
                    attachment_id: Some(attachment_id.clone()),
                    ..Default::default()
                }]
            } else {
                Vec::new()
            }),
            ..Default::default()
        })
        .collect();
    let fargate = n.launch.launch_type == LaunchType::Fargate;
    let az = n
        .container_instance
        .as_ref()
        .and_then(|ci| region.container_instances.get(ci))
        .and_then(|ci| ci.attribute("ecs.availability-zone"))
        .and_then(|a| a.value.clone())
        .unwrap_or_else(|| format!("{}a", region.name));
    let mut overrides = n.overrides.clone().unwrap_or_default();
    overrides.container_overrides.get_or_insert_with(Vec::new);
    overrides
        .inference_accelerator_overrides
        .get_or_insert_with(Vec::new);
    let data = WireTask {
        task_arn: Some(task_arn.clone()),
        cluster_arn: Some(cluster_arn),
        task_definition_arn: td.task_definition_arn.clone(),
        container_instance_arn: n.container_instance.clone(),
        containers: Some(containers),
        last_status: Some(if awsvpc { "PROVISIONING" } else { "PENDING" }.into()),
        desired_status: Some("RUNNING".into()),
        cpu: Some(cpu.to_string()),
        memory: Some(memory.to_string()),
        created_at: Some(Timestamp::now()),
        version: Some(1),
        group: Some(n.group.clone()),
        started_by: n.started_by.clone(),
        launch_type: Some(n.launch.launch_type.clone()),
        capacity_provider_name: n.launch.capacity_provider.clone(),
        platform_version: fargate.then(|| "1.4.0".into()),
        platform_family: fargate.then(|| "Linux".into()),
        attachments: Some(attachments),
        availability_zone: Some(az),
        enable_execute_command: Some(n.enable_execute_command),
        overrides: Some(overrides),
        tags: Some(n.tags.clone()),
        health_status: Some(HealthStatus::UnknownValue),
        attributes: Some(vec![crate::wire::ecs::Attribute {
            name: "ecs.cpu-architecture".into(),
            value: Some("x86_64".into()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let task = Task {
        data,
        cluster: n.cluster.to_owned(),
        container_instance: n.container_instance,
        cpu,
        memory,
        host_ports: if fargate { Vec::new() } else { host_ports },
        family: td.family.clone().unwrap_or_default(),
        group: n.group,
        service: n.service,
        deployment_id: n.deployment_id,
        definition: Arc::clone(td),
        launched: false,
        stop_sent: false,
        reached_running: false,
        failure_counted: false,
    };
    region.task_index.insert(&task, &task_arn);
    region.tasks.insert(task_arn.clone(), Box::new(task));
    task_arn
}

/// Placement candidates kept for one scheduler pass, by cluster. Building a candidate reads
/// every task on its instance; a pass that starts tasks for many services builds each once,
/// and every placement of the pass takes from the same candidates, which `placement::place`
/// charges with what it places. Tasks created without placement (DAEMON tasks) make their
/// cluster's candidates stale: [`Placements::forget`] them.
#[derive(Default)]
pub struct Placements {
    clusters: HashMap<String, Vec<Candidate>>,
}

impl Placements {
    pub fn forget(&mut self, cluster: &str) {
        self.clusters.remove(cluster);
    }
}

/// Places `count` tasks on the cluster's instances (EC2) or nowhere (Fargate): for each task
/// the instance ARN chosen, or the failure ECS reports. The scheduler passes its pass's
/// `cache`; an API call (RunTask) reads the instances afresh.
// The placement inputs are ECS's own (definition, overrides, launch, group, strategies,
// constraints, count); bundling them would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn place(
    region: &mut State,
    cache: Option<&mut Placements>,
    cluster: &str,
    td: &TaskDefinition,
    overrides: Option<&TaskOverride>,
    launch: &Launch,
    group: &str,
    strategies: &[PlacementStrategy],
    constraints: &[PlacementConstraint],
    count: usize,
) -> Result<Vec<Result<Option<String>, Failure>>, ApiError> {
    if matches!(launch.launch_type, LaunchType::Fargate) {
        return Ok((0..count).map(|_| Ok(None)).collect());
    }
    container_instances::ensure_for_cluster(region, cluster);
    let build = || -> Vec<Candidate> {
        container_instances::of_cluster(region, cluster)
            .map(|ci| candidate(region, ci))
            .collect()
    };
    let mut fresh: Vec<Candidate>;
    let candidates = match cache {
        Some(cache) => cache
            .clusters
            .entry(cluster.to_owned())
            .or_insert_with(build),
        None => {
            fresh = build();
            &mut fresh
        }
    };
    if candidates.is_empty() {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "No Container Instances were found in your cluster."
        ));
    }
    let (cpu, memory, ports) = demand_of(td, overrides);
    let demand = Demand {
        cpu,
        memory,
        ports: ports
            .into_iter()
            .map(|p| (p, placement::Protocol::Tcp))
            .collect(),
        group: group.to_owned(),
        task_definition_family: td.family.clone().unwrap_or_default(),
        task_definition_arn: td.task_definition_arn.clone().unwrap_or_default(),
    };
    let seed = region.tasks.len() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    let placed = placement::place(candidates, &demand, strategies, constraints, count, seed)
        .map_err(|placement::PlacementError::Invalid(msg)| {
            api_err!(ecs::InvalidParameterException, "{msg}")
        })?;
    let cluster_arn = region.arn(&format!("cluster/{cluster}"));
    Ok(placed
        .into_iter()
        .map(|r| match r {
            Ok(i) => Ok(Some(candidates[i].arn.clone())),
            Err(reason) => Err(Failure {
                arn: Some(
                    candidates
                        .last()
                        .map(|c| c.arn.clone())
                        .unwrap_or_else(|| cluster_arn.clone()),
                ),
                reason: Some(reason.to_owned()),
                detail: None,
            }),
        })
        .collect())
}

pub struct RunTask {
    pub cluster: Option<String>,
    pub task_definition: String,
    pub count: Option<i32>,
    pub launch_type: Option<LaunchType>,
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    pub network_configuration: Option<NetworkConfiguration>,
    pub overrides: Option<TaskOverride>,
    pub placement_constraints: Option<Vec<PlacementConstraint>>,
    pub placement_strategy: Option<Vec<PlacementStrategy>>,
    pub started_by: Option<String>,
    pub group: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub propagate_tags: Option<PropagateTags>,
    pub enable_execute_command: Option<bool>,
    pub client_token: Option<String>,
    /// StartTask: the instances to start on, one task each.
    pub container_instances: Option<Vec<String>>,
}

pub fn run(region: &mut State, req: RunTask) -> Result<(Vec<WireTask>, Vec<Failure>), ApiError> {
    let cluster = clusters::active(region, req.cluster.as_deref())?
        .name
        .clone();
    if let Some(token) = &req.client_token
        && let Some(arns) = region.client_tokens.get(token)
    {
        let tasks = arns
            .iter()
            .filter_map(|a| region.tasks.get(a))
            .map(|t| t.data.clone())
            .collect();
        return Ok((tasks, Vec::new()));
    }
    let count = req.count.unwrap_or(1);
    if !(1..=10).contains(&count) {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "count must be between 1 and 10."
        ));
    }
    if let Some(sb) = &req.started_by
        && sb.len() > 128
    {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "startedBy must be at most 128 characters."
        ));
    }
    let revision = task_definitions::to_run(region, &req.task_definition)?;
    let (td, td_tags) = (revision.data.clone(), revision.tags.clone());
    let launch = if req.container_instances.is_some() {
        Launch {
            launch_type: LaunchType::Ec2,
            capacity_provider: None,
        }
    } else {
        resolve_launch(
            region,
            &cluster,
            req.launch_type,
            req.capacity_provider_strategy.as_deref(),
        )?
    };
    check_launchable(&td, &launch, req.network_configuration.as_ref())?;
    let mut task_tags = tags::from_request(req.tags)?;
    if req.propagate_tags == Some(PropagateTags::TaskDefinition) {
        tags::merge(&mut task_tags, &td_tags)?;
    }
    let family = td.family.clone().unwrap_or_default();
    let group = req.group.unwrap_or_else(|| format!("family:{family}"));
    let placements: Vec<Result<Option<String>, Failure>> = match &req.container_instances {
        Some(ids) => {
            if ids.is_empty() || ids.len() > 10 {
                return Err(api_err!(
                    ecs::InvalidParameterException,
                    "containerInstances must contain between 1 and 10 items."
                ));
            }
            ids.iter()
                .map(
                    |id| match container_instances::resolve(region, &cluster, id) {
                        Some(arn) => Ok(Some(arn)),
                        None => Err(super::missing(id.clone())),
                    },
                )
                .collect()
        }
        None => place(
            region,
            None,
            &cluster,
            &td,
            req.overrides.as_ref(),
            &launch,
            &group,
            req.placement_strategy.as_deref().unwrap_or(&[]),
            req.placement_constraints.as_deref().unwrap_or(&[]),
            count as usize,
        )?,
    };
    let mut tasks = Vec::new();
    let mut failures = Vec::new();
    for p in placements {
        match p {
            Ok(instance) => {
                let arn = create(
                    region,
                    NewTask {
                        cluster: &cluster,
                        definition: &td,
                        launch: &launch,
                        container_instance: instance,
                        network: req.network_configuration.as_ref(),
                        overrides: req.overrides.clone(),
                        group: group.clone(),
                        started_by: req.started_by.clone(),
                        tags: task_tags.clone(),
                        enable_execute_command: req.enable_execute_command.unwrap_or(false),
                        service: None,
                        deployment_id: None,
                    },
                );
                if let Some(t) = region.tasks.get(&arn) {
                    tasks.push(t.data.clone());
                }
            }
            Err(f) => failures.push(f),
        }
    }
    if let Some(token) = req.client_token {
        let arns = tasks.iter().filter_map(|t| t.task_arn.clone()).collect();
        region.client_tokens.insert(token, arns);
    }
    Ok((tasks, failures))
}

/// The ARN of a task of `cluster` named by ARN or id.
fn task_arn(region: &State, cluster: &str, id: &str) -> String {
    let short = id.rsplit('/').next().unwrap_or(id);
    region.arn(&format!("task/{cluster}/{short}"))
}

/// A task of `cluster` by ARN or id.
fn get<'a>(region: &'a State, cluster: &str, id: &str) -> Option<&'a Task> {
    region
        .tasks
        .get(&task_arn(region, cluster, id))
        .map(Box::as_ref)
}

fn find<'a>(region: &'a mut State, cluster: &str, id: &str) -> Option<&'a mut Task> {
    let arn = task_arn(region, cluster, id);
    region.tasks.get_mut(&arn).map(Box::as_mut)
}

pub fn stop(
    region: &mut State,
    cluster: Option<&str>,
    id: &str,
    reason: Option<String>,
) -> Result<WireTask, ApiError> {
    let cluster = clusters::active(region, cluster)?.name.clone();
    let task = find(region, &cluster, id).ok_or_else(|| {
        api_err!(
            ecs::InvalidParameterException,
            "The referenced task was not found."
        )
    })?;
    let reason = reason.unwrap_or_else(|| "Task stopped by user".into());
    if reason.len() > 255 {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "reason must be at most 255 characters."
        ));
    }
    task.request_stop(TaskStopCode::UserInitiated, &reason);
    Ok(task.data.clone())
}

pub fn describe(
    region: &State,
    cluster: Option<&str>,
    ids: &[String],
    with_tags: bool,
) -> Result<(Vec<WireTask>, Vec<Failure>), ApiError> {
    let cluster = clusters::active(region, cluster)?.name.clone();
    if ids.is_empty() || ids.len() > 100 {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Tasks cannot be empty and can have at most 100 items."
        ));
    }
    Ok(super::describe_each(
        ids,
        |id| {
            let mut data = get(region, &cluster, id)?.data.clone();
            if !with_tags {
                data.tags = None;
            }
            Some(data)
        },
        |id| region.full_arn(id, &format!("task/{cluster}/{id}")),
    ))
}

pub struct ListTasks {
    pub cluster: Option<String>,
    pub container_instance: Option<String>,
    pub family: Option<String>,
    pub started_by: Option<String>,
    pub service_name: Option<String>,
    pub desired_status: Option<DesiredStatus>,
    pub launch_type: Option<LaunchType>,
    pub max_results: Option<i32>,
    pub next_token: Option<String>,
}

pub fn list(region: &State, q: ListTasks) -> Result<Page<String>, ApiError> {
    let cluster = clusters::active(region, q.cluster.as_deref())?.name.clone();
    let instance = match &q.container_instance {
        Some(id) => Some(
            container_instances::resolve(region, &cluster, id).ok_or_else(|| {
                api_err!(
                    ecs::InvalidParameterException,
                    "The referenced container instance {id} was not found."
                )
            })?,
        ),
        None => None,
    };
    let want_stopped = match q.desired_status {
        None | Some(DesiredStatus::Running) | Some(DesiredStatus::Pending) => false,
        Some(DesiredStatus::Stopped) => true,
        Some(DesiredStatus::Unknown(s)) => {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "Invalid desiredStatus {s}. Valid values are RUNNING, PENDING, STOPPED."
            ));
        }
    };
    let service = q
        .service_name
        .as_deref()
        .map(|s| s.rsplit('/').next().unwrap_or(s));
    // A service's tasks come from its index, not a walk over every task of the region.
    let candidates: Box<dyn Iterator<Item = &Task>> = match service {
        Some(s) => Box::new(of_service(region, &cluster, s)),
        None => Box::new(region.tasks.values().map(Box::as_ref)),
    };
    let arns: Vec<String> = candidates
        .filter(|t| t.cluster == cluster)
        .filter(|t| t.desired_running() != want_stopped)
        .filter(|t| instance.is_none() || t.container_instance == instance)
        .filter(|t| q.family.as_ref().is_none_or(|f| *f == t.family))
        .filter(|t| q.started_by.is_none() || t.data.started_by == q.started_by)
        .filter(|t| service.is_none_or(|s| t.service.as_deref() == Some(s)))
        .filter(|t| q.launch_type.is_none() || t.data.launch_type == q.launch_type)
        .map(|t| t.arn().to_owned())
        .collect();
    PAGES.paginate(
        arns,
        String::clone,
        false,
        q.max_results,
        q.next_token.as_deref(),
        100,
    )
}

/// What the executor observed, applied to the task it concerns.
pub fn apply(region: &mut State, u: TaskUpdate) {
    let Some(task) = region.tasks.get_mut(&u.task_arn) else {
        return;
    };
    if task.is_stopped() {
        return;
    }
    let now = Timestamp::now();
    let d = &mut task.data;
    d.pull_started_at = u.pull_started_at.or(d.pull_started_at.take());
    d.pull_stopped_at = u.pull_stopped_at.or(d.pull_stopped_at.take());
    for report in &u.containers {
        let Some(c) = d
            .containers
            .iter_mut()
            .flatten()
            .find(|c| c.name.as_deref() == Some(report.name.as_str()))
        else {
            continue;
        };
        c.last_status = Some(report.last_status.clone());
        c.exit_code = report.exit_code.or(c.exit_code.take());
        if report.reason.is_some() {
            c.reason = report.reason.clone();
        }
        if let Some(h) = &report.health {
            c.health_status = Some(h.clone());
        }
        if report.runtime_id.is_some() {
            c.runtime_id = report.runtime_id.clone();
        }
        if c.network_bindings.is_some() {
            c.network_bindings = Some(report.network_bindings.clone());
        }
        if let (Some(ip), Some(nis)) = (&u.private_ipv4, c.network_interfaces.as_mut()) {
            for ni in nis {
                ni.private_ipv4_address = Some(ip.clone());
            }
        }
    }
    if let Some(h) = &u.health {
        d.health_status = Some(h.clone());
    }
    if let Some(ip) = &u.private_ipv4 {
        for a in d.attachments.iter_mut().flatten() {
            let details = a.details.get_or_insert_with(Vec::new);
            if !details
                .iter()
                .any(|kv| kv.name.as_deref() == Some("privateIPv4Address"))
            {
                // Exactly the two below: doubling would leave spare room for the task's life.
                details.reserve_exact(2);
                details.push(KeyValuePair {
                    name: Some("privateIPv4Address".into()),
                    value: Some(ip.clone()),
                });
                details.push(KeyValuePair {
                    name: Some("privateDnsName".into()),
                    value: Some(format!("ip-{}.ec2.internal", ip.replace('.', "-"))),
                });
            }
            a.status = Some("ATTACHED".into());
        }
    }
    match u.phase {
        Phase::Pending => {
            d.last_status = Some("PENDING".into());
        }
        Phase::Running => {
            if d.last_status.as_deref() != Some("RUNNING") {
                d.last_status = Some("RUNNING".into());
                d.started_at.get_or_insert(now);
                d.connectivity = Some(Connectivity::Connected);
                d.connectivity_at.get_or_insert(now);
            }
            task.reached_running = true;
        }
        Phase::Stopped => {
            d.last_status = Some("STOPPED".into());
            d.desired_status = Some("STOPPED".into());
            d.stopping_at.get_or_insert(now);
            d.execution_stopped_at = Some(now);
            d.stopped_at = Some(now);
            // A stop berth or the user asked for keeps its code and reason.
            if d.stop_code.is_none() {
                d.stop_code = Some(
                    u.stop_code
                        .clone()
                        .unwrap_or(TaskStopCode::EssentialContainerExited),
                );
                d.stopped_reason = Some(
                    u.stopped_reason
                        .clone()
                        .unwrap_or_else(|| "Essential container in task exited".into()),
                );
            }
            for c in d.containers.iter_mut().flatten() {
                c.last_status = Some("STOPPED".into());
            }
            for a in d.attachments.iter_mut().flatten() {
                a.status = Some("DELETED".into());
            }
        }
    }
    task.bump();
}

/// Executor work: launch what should run, stop what should not, forget old stopped tasks.
pub fn executor_actions(region: &mut State, now: Timestamp) -> Vec<Action> {
    let mut actions = Vec::new();
    let region_name = region.name.clone();
    let cluster_arns: std::collections::HashMap<String, String> = region
        .clusters
        .keys()
        .map(|c| (c.clone(), region.arn(&format!("cluster/{c}"))))
        .collect();
    // One walk over the tasks also finds the expired ones and checks the task index.
    let (mut service_tasks, mut instance_tasks) = (0, 0);
    let mut expired = Vec::new();
    for task in region.tasks.values_mut() {
        service_tasks += usize::from(task.service.is_some());
        instance_tasks += usize::from(task.container_instance.is_some());
        if task
            .data
            .stopped_at
            .is_some_and(|s| now.as_secs_f64() - s.as_secs_f64() > STOPPED_RETENTION_SECS)
            && task.is_stopped()
        {
            expired.push(task.arn().to_owned());
        }
        if task.desired_running() && !task.launched {
            task.launched = true;
            actions.push(Action::Start(Box::new(TaskSpec {
                task_arn: task.arn().to_owned(),
                region: region_name.clone(),
                cluster_arn: cluster_arns.get(&task.cluster).cloned().unwrap_or_default(),
                definition: task.definition.clone(),
                overrides: task.data.overrides.clone(),
            })));
        } else if !task.desired_running() && !task.is_stopped() && !task.stop_sent {
            task.stop_sent = true;
            if task.launched {
                actions.push(Action::Stop(task.arn().to_owned()));
            } else {
                // Never handed to the executor: nothing to stop.
                let arn = task.arn().to_owned();
                actions.push(Action::Apply(TaskUpdate::new(&arn, Phase::Stopped)));
            }
        }
    }
    let index = &region.task_index;
    if (service_tasks, instance_tasks) != (index.service_len, index.instance_len) {
        // A task came or went other than through `create` and this sweep: make the index
        // whole again.
        tracing::warn!("rebuilding the task index");
        region.task_index.rebuild(&region.tasks);
    }
    for arn in expired {
        if let Some(t) = region.tasks.remove(&arn) {
            region.task_index.remove(&t, &arn);
        }
    }
    actions
}

/// What the scheduler does outside the lock.
#[derive(Debug)]
pub enum Action {
    Start(Box<TaskSpec>),
    Stop(String),
    /// An update berth makes itself (a task that never reached the executor).
    Apply(TaskUpdate),
}

/// The region of a task ARN (`arn:aws:ecs:<region>:…`).
pub fn region_of(task_arn: &str) -> Option<&str> {
    task_arn.split(':').nth(3)
}

pub fn tags_mut<'a>(
    region: &'a mut State,
    cluster: &str,
    id: &str,
) -> Result<&'a mut Vec<Tag>, ApiError> {
    find(region, cluster, id)
        .map(|t| t.data.tags.get_or_insert_with(Vec::new))
        .ok_or_else(|| {
            api_err!(
                ecs::ResourceNotFoundException,
                "The specified task could not be found."
            )
        })
}
