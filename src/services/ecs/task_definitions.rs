//! Task definitions: registration with ECS's validation (family and container names, network
//! mode rules, Fargate's cpu/memory table, memory settings), revisions numbered per family,
//! describe by family / family:revision / ARN, list and page, deregister and delete.

use super::PAGES;
use super::{State, arn, tags};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::wire::ecs::{
    Attribute, Compatibility, ContainerDefinition, Failure, LogDriver, NetworkMode, PidMode,
    RegisterTaskDefinitionRequest, SortOrder, Tag, TaskDefinition, TaskDefinitionFamilyStatus,
    TaskDefinitionStatus, TransportProtocol, Volume,
};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

#[derive(Default)]
pub struct Family {
    /// Revisions keep counting after deregistration and deletion, as on AWS.
    pub last_revision: i32,
    pub revisions: BTreeMap<i32, Revision>,
}

pub struct Revision {
    /// Shared with the tasks, deployments and task sets made from the revision. Deregistering
    /// or deleting it changes a copy (`Arc::make_mut`), so they keep the revision as they took it.
    pub data: Arc<TaskDefinition>,
    pub tags: Vec<Tag>,
}

impl Revision {
    fn status(&self) -> TaskDefinitionStatus {
        self.data
            .status
            .clone()
            .unwrap_or(TaskDefinitionStatus::Active)
    }

    fn arn(&self) -> String {
        self.data.task_definition_arn.clone().unwrap_or_default()
    }

    fn family(&self) -> &str {
        self.data.family.as_deref().unwrap_or("")
    }

    fn revision(&self) -> i32 {
        self.data.revision.unwrap_or(0)
    }
}

fn client(msg: impl Into<String>) -> ApiError {
    let msg = msg.into();
    api_err!(ecs::ClientException, "{msg}")
}

fn unable_to_describe() -> ApiError {
    client("Unable to describe task definition.")
}

/// The (family, revision) a `family`, `family:revision` or task definition ARN names.
pub fn parse_identifier(id: &str) -> Result<(&str, Option<i32>), ApiError> {
    let body = match arn::resource(id) {
        Some(r) => r
            .strip_prefix("task-definition/")
            .ok_or_else(|| client("Invalid task definition ARN."))?,
        None => id,
    };
    match body.rsplit_once(':') {
        Some((family, rev)) => {
            let rev: i32 = rev
                .parse()
                .ok()
                .filter(|r| *r > 0)
                .ok_or_else(|| client(format!("Invalid revision number. Number: {rev}")))?;
            Ok((family, Some(rev)))
        }
        None => Ok((body, None)),
    }
}

/// The revision RunTask, StartTask, CreateService, UpdateService or CreateTaskSet is to run:
/// where the identifier names none, those calls answer InvalidParameterException.
pub fn to_run<'a>(region: &'a State, id: &str) -> Result<&'a Revision, ApiError> {
    resolve(region, id)
        .map_err(|_| api_err!(ecs::InvalidParameterException, "TaskDefinition not found."))
}

/// The revision an identifier names: `family` alone means the latest ACTIVE revision.
pub fn resolve<'a>(region: &'a State, id: &str) -> Result<&'a Revision, ApiError> {
    let (family, rev) = parse_identifier(id)?;
    let fam = region
        .task_definitions
        .get(family)
        .ok_or_else(unable_to_describe)?;
    match rev {
        Some(r) => fam.revisions.get(&r).ok_or_else(unable_to_describe),
        None => fam
            .revisions
            .values()
            .rev()
            .find(|r| r.status() == TaskDefinitionStatus::Active)
            .ok_or_else(unable_to_describe),
    }
}

pub fn resolve_mut<'a>(region: &'a mut State, id: &str) -> Result<&'a mut Revision, ApiError> {
    let (family, rev) = parse_identifier(id)?;
    let rev = rev.ok_or_else(|| {
        client("The task definition must be specified with its revision (family:revision or full ARN).")
    })?;
    region
        .task_definitions
        .get_mut(family)
        .and_then(|f| f.revisions.get_mut(&rev))
        .ok_or_else(unable_to_describe)
}

/// Fargate's task sizes: cpu units → allowed memory (MiB), from the ECS developer guide.
fn fargate_memory_ok(cpu: u32, memory: u32) -> bool {
    let gib = |g: u32| g * 1024;
    match cpu {
        256 => [512, 1024, 2048].contains(&memory),
        512 => (gib(1)..=gib(4)).contains(&memory) && memory.is_multiple_of(1024),
        1024 => (gib(2)..=gib(8)).contains(&memory) && memory.is_multiple_of(1024),
        2048 => (gib(4)..=gib(16)).contains(&memory) && memory.is_multiple_of(1024),
        4096 => (gib(8)..=gib(30)).contains(&memory) && memory.is_multiple_of(1024),
        8192 => (gib(16)..=gib(60)).contains(&memory) && memory.is_multiple_of(gib(4)),
        16384 => (gib(32)..=gib(120)).contains(&memory) && memory.is_multiple_of(gib(8)),
        _ => false,
    }
}

/// `"1 vCPU"`, `"0.25 vcpu"` or `"1024"` → cpu units: a task size as ECS accepts it, in a
/// task definition or an override.
pub fn cpu_units(s: &str) -> Option<u32> {
    let t = s.trim().to_ascii_lowercase();
    if let Some(v) = t.strip_suffix("vcpu") {
        let v: f64 = v.trim().parse().ok()?;
        return (v > 0.0 && v <= 192.0).then(|| (v * 1024.0).round() as u32);
    }
    t.parse().ok()
}

/// `"2 GB"`, `"2gb"` or `"2048"` → MiB.
pub fn memory_mib(s: &str) -> Option<u32> {
    let t = s.trim().to_ascii_lowercase();
    if let Some(v) = t.strip_suffix("gb") {
        let v: f64 = v.trim().parse().ok()?;
        return (v > 0.0 && v <= 1024.0).then(|| (v * 1024.0).round() as u32);
    }
    t.parse().ok()
}

struct Checked {
    cpu: Option<u32>,
    memory: Option<u32>,
    fargate_ok: bool,
}

fn validate(req: &RegisterTaskDefinitionRequest) -> Result<Checked, ApiError> {
    if !arn::is_valid_name(&req.family) {
        return Err(client(
            "Family name can be up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores.",
        ));
    }
    let containers = &req.container_definitions;
    if containers.is_empty() {
        return Err(client("Container list cannot be empty."));
    }
    if containers.len() > 10 {
        return Err(client(
            "Too many containers. A task definition can have at most 10 containers.",
        ));
    }
    for c in &req.requires_compatibilities.clone().unwrap_or_default() {
        if !c.is_known() {
            return Err(client(format!(
                "Invalid compatibility value {c}. Valid values are EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES."
            )));
        }
    }
    if let Some(mode) = &req.network_mode
        && !mode.is_known()
    {
        return Err(client(format!(
            "Invalid network mode {mode}. Valid values are bridge, host, awsvpc, none."
        )));
    }
    let cpu = match req.cpu.as_deref() {
        None => None,
        Some(s) => Some(
            cpu_units(s)
                .filter(|c| *c >= 128)
                .ok_or_else(|| client(format!("Invalid 'cpu' setting for task. Value: {s}")))?,
        ),
    };
    let memory = match req.memory.as_deref() {
        None => None,
        Some(s) => Some(
            memory_mib(s)
                .filter(|m| *m >= 6)
                .ok_or_else(|| client(format!("Invalid 'memory' setting for task. Value: {s}")))?,
        ),
    };
    let mode = req.network_mode.clone().unwrap_or(NetworkMode::Bridge);
    let mut names: Vec<&str> = Vec::new();
    let mut container_memory: u32 = 0;
    for c in containers {
        let name = c.name.as_deref().unwrap_or("");
        if name.is_empty() {
            return Err(client("Container.name should not be null or empty."));
        }
        if !arn::is_valid_name(name) {
            return Err(client(format!(
                "Container name '{name}' is invalid: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed."
            )));
        }
        if names.contains(&name) {
            return Err(client(format!(
                "Duplicate container name: '{name}'. Container names must be unique within a task definition."
            )));
        }
        names.push(name);
        if c.image.as_deref().unwrap_or("").trim().is_empty() {
            return Err(client("Container.image should not be null or empty."));
        }
        check_container_memory(c, name, memory)?;
        container_memory = container_memory
            .saturating_add(c.memory.or(c.memory_reservation).unwrap_or(0).max(0) as u32);
        if c.cpu.is_some_and(|v| v < 0) {
            return Err(client(format!(
                "Invalid 'cpu' setting for container '{name}'."
            )));
        }
        if mode == NetworkMode::None && c.port_mappings.as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(client(format!(
                "Invalid setting for container '{name}'. Port mappings are not supported when networkMode=none."
            )));
        }
        for pm in c.port_mappings.iter().flatten() {
            let cp = pm.container_port;
            if cp.is_some_and(|p| !(0..=65535).contains(&p))
                || pm.host_port.is_some_and(|p| !(0..=65535).contains(&p))
            {
                return Err(client(format!(
                    "Invalid port mapping for container '{name}'."
                )));
            }
            if matches!(mode, NetworkMode::Awsvpc | NetworkMode::Host)
                && pm.host_port.is_some_and(|h| Some(h) != cp && h != 0)
            {
                return Err(client(format!(
                    "When networkMode={mode}, the host ports and container ports in port mappings must match."
                )));
            }
        }
    }
    if !containers.iter().any(|c| c.essential.unwrap_or(true)) {
        return Err(client(
            "A task definition must have at least one essential container.",
        ));
    }
    if let Some(m) = memory
        && container_memory > m
    {
        return Err(client(format!(
            "The sum of the memory of the containers ({container_memory} MiB) is greater than the task memory ({m} MiB)."
        )));
    }
    let wants_fargate = req
        .requires_compatibilities
        .iter()
        .flatten()
        .any(|c| *c == Compatibility::Fargate);
    let fargate_check = || -> Result<(), ApiError> {
        if mode != NetworkMode::Awsvpc {
            return Err(client("Fargate only supports network mode 'awsvpc'."));
        }
        // pidMode: "On Fargate for Linux containers, the only valid value is task"; ipcMode "is
        // not supported for ... tasks run on Fargate". AWS's own messages.
        if req.pid_mode == Some(PidMode::Host) {
            return Err(client(
                "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'.",
            ));
        }
        if req.ipc_mode.is_some() {
            return Err(client(
                "Tasks using the Fargate launch type do not support ipcMode.",
            ));
        }
        let c =
            cpu.ok_or_else(|| client("Fargate requires that 'cpu' be defined at the task level."))?;
        let m = memory.ok_or_else(|| {
            client("Fargate requires that 'memory' be defined at the task level.")
        })?;
        if !fargate_memory_ok(c, m) {
            return Err(client(format!(
                "No Fargate configuration exists for given values: {c} CPU, {m} memory. See the Amazon ECS documentation for the valid values."
            )));
        }
        Ok(())
    };
    let fargate_ok = match fargate_check() {
        Ok(()) => true,
        Err(e) if wants_fargate => return Err(e),
        Err(_) => false,
    };
    Ok(Checked {
        cpu,
        memory,
        fargate_ok,
    })
}

fn check_container_memory(
    c: &ContainerDefinition,
    name: &str,
    task_memory: Option<u32>,
) -> Result<(), ApiError> {
    if c.memory.is_none() && c.memory_reservation.is_none() && task_memory.is_none() {
        return Err(client(format!(
            "Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified."
        )));
    }
    for (field, value) in [
        ("memory", c.memory),
        ("memoryReservation", c.memory_reservation),
    ] {
        if value.is_some_and(|v| v < 6) {
            return Err(client(format!(
                "Invalid '{field}' setting for container '{name}'. The minimum is 6 MiB."
            )));
        }
    }
    if let (Some(hard), Some(soft)) = (c.memory, c.memory_reservation)
        && soft > hard
    {
        return Err(client(format!(
            "Invalid setting for container '{name}'. 'memory' must be greater than or equal to 'memoryReservation'."
        )));
    }
    Ok(())
}

/// The agent capabilities a task definition needs, as ECS derives them.
fn requires_attributes(req: &RegisterTaskDefinitionRequest) -> Vec<Attribute> {
    let mut names: Vec<&str> = Vec::new();
    let mut add = |n: &'static str| {
        if !names.contains(&n) {
            names.push(n);
        }
    };
    if req.network_mode == Some(NetworkMode::Awsvpc) {
        add("ecs.capability.task-eni");
    }
    if req.task_role_arn.is_some() {
        add("com.amazonaws.ecs.capability.task-iam-role");
    }
    for c in &req.container_definitions {
        if c.docker_labels.is_some() {
            add("com.amazonaws.ecs.capability.docker-remote-api.1.18");
        }
        if c.memory_reservation.is_some() {
            add("com.amazonaws.ecs.capability.docker-remote-api.1.21");
        }
        if c.health_check.is_some() {
            add("ecs.capability.container-health-check");
        }
        if c.depends_on.is_some() {
            add("ecs.capability.container-ordering");
        }
        if c.secrets.is_some() {
            add("ecs.capability.secrets.asm.environment-variables");
        }
        if let Some(log) = &c.log_configuration
            && log.log_driver == LogDriver::Awslogs
        {
            add("com.amazonaws.ecs.capability.logging-driver.awslogs");
            add("com.amazonaws.ecs.capability.docker-remote-api.1.19");
            if req.execution_role_arn.is_some() {
                add("ecs.capability.execution-role-awslogs");
            }
        }
        if c.image.as_deref().is_some_and(|i| i.contains(".dkr.ecr."))
            && req.execution_role_arn.is_some()
        {
            add("ecs.capability.execution-role-ecr-pull");
        }
    }
    names
        .into_iter()
        .map(|n| Attribute {
            name: n.to_owned(),
            ..Default::default()
        })
        .collect()
}

/// Fills in what ECS returns for members left out: `cpu: 0`, `essential: true`, empty lists,
/// port mapping protocol `tcp` and, where host and container ports must match, the host port.
fn with_defaults(mut c: ContainerDefinition, mode: &NetworkMode) -> ContainerDefinition {
    c.cpu.get_or_insert(0);
    c.essential.get_or_insert(true);
    c.environment.get_or_insert_with(Vec::new);
    c.mount_points.get_or_insert_with(Vec::new);
    c.volumes_from.get_or_insert_with(Vec::new);
    c.system_controls.get_or_insert_with(Vec::new);
    let ports = c.port_mappings.get_or_insert_with(Vec::new);
    for pm in ports.iter_mut() {
        pm.protocol.get_or_insert(TransportProtocol::Tcp);
        if matches!(mode, NetworkMode::Awsvpc | NetworkMode::Host) && pm.host_port.unwrap_or(0) == 0
        {
            pm.host_port = pm.container_port;
        }
    }
    c
}

/// An EFS volume without `rootDirectory` mounts the file system's root, which ECS describes
/// as "/" ("Specifying / will have the same effect as omitting this parameter").
fn volume_with_defaults(mut v: Volume) -> Volume {
    if let Some(efs) = &mut v.efs_volume_configuration {
        efs.root_directory.get_or_insert_with(|| "/".into());
    }
    v
}

pub fn register(
    region: &mut State,
    req: RegisterTaskDefinitionRequest,
) -> Result<(TaskDefinition, Vec<Tag>), ApiError> {
    let checked = validate(&req)?;
    let tags = tags::from_request(req.tags.clone())?;
    let mode = req.network_mode.clone().unwrap_or(NetworkMode::Bridge);
    let mut compatibilities = Vec::new();
    if mode != NetworkMode::Awsvpc {
        compatibilities.push(Compatibility::External);
    }
    compatibilities.push(Compatibility::Ec2);
    if checked.fargate_ok {
        compatibilities.push(Compatibility::Fargate);
    }
    let requires_attributes = requires_attributes(&req);
    let registered_by = region.root_principal();
    let family_name = req.family.clone();
    let family = region
        .task_definitions
        .entry(family_name.clone())
        .or_default();
    family.last_revision += 1;
    let revision = family.last_revision;
    let arn = region.arn(&format!("task-definition/{family_name}:{revision}"));
    let data = TaskDefinition {
        task_definition_arn: Some(arn),
        family: Some(family_name.clone()),
        revision: Some(revision),
        status: Some(TaskDefinitionStatus::Active),
        container_definitions: Some(
            req.container_definitions
                .into_iter()
                .map(|c| with_defaults(c, &mode))
                .collect(),
        ),
        cpu: checked.cpu.map(|c| c.to_string()),
        memory: checked.memory.map(|m| m.to_string()),
        network_mode: req.network_mode,
        volumes: Some(
            req.volumes
                .unwrap_or_default()
                .into_iter()
                .map(volume_with_defaults)
                .collect(),
        ),
        placement_constraints: Some(req.placement_constraints.unwrap_or_default()),
        requires_compatibilities: req.requires_compatibilities,
        compatibilities: Some(compatibilities),
        requires_attributes: Some(requires_attributes),
        task_role_arn: req.task_role_arn,
        execution_role_arn: req.execution_role_arn,
        pid_mode: req.pid_mode,
        ipc_mode: req.ipc_mode,
        proxy_configuration: req.proxy_configuration,
        inference_accelerators: req.inference_accelerators,
        ephemeral_storage: req.ephemeral_storage,
        runtime_platform: req.runtime_platform,
        enable_fault_injection: Some(req.enable_fault_injection.unwrap_or(false)),
        registered_at: Some(Timestamp::now()),
        registered_by: Some(registered_by),
        ..Default::default()
    };
    let family = region.task_definitions.entry(family_name).or_default();
    family.revisions.insert(
        revision,
        Revision {
            data: Arc::new(data.clone()),
            tags: tags.clone(),
        },
    );
    Ok((data, tags))
}

pub fn deregister(region: &mut State, id: &str) -> Result<TaskDefinition, ApiError> {
    let rev = resolve_mut(region, id)?;
    if rev.status() == TaskDefinitionStatus::DeleteInProgress {
        return Err(client("The specified task definition is being deleted."));
    }
    if rev.status() == TaskDefinitionStatus::Active {
        let data = Arc::make_mut(&mut rev.data);
        data.status = Some(TaskDefinitionStatus::Inactive);
        data.deregistered_at = Some(Timestamp::now());
    }
    Ok(TaskDefinition::clone(&rev.data))
}

/// DeleteTaskDefinitions: only INACTIVE revisions can be deleted; the others are failures.
pub fn delete(
    region: &mut State,
    ids: &[String],
) -> Result<(Vec<TaskDefinition>, Vec<Failure>), ApiError> {
    if ids.is_empty() || ids.len() > 10 {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "You can specify between 1 and 10 task definitions."
        ));
    }
    let mut deleted = Vec::new();
    let mut failures = Vec::new();
    for id in ids {
        let full_arn = match arn::resource(id) {
            Some(_) => id.clone(),
            None => region.arn(&format!("task-definition/{id}")),
        };
        let failure = |reason: &str, detail: &str| Failure {
            arn: Some(full_arn.clone()),
            reason: Some(reason.into()),
            detail: Some(detail.into()),
        };
        // "You must specify a revision": an identifier without one names no revision to delete.
        // AWS does not document these failures; the details are the texts peer emulators use.
        if !matches!(parse_identifier(id), Ok((_, Some(_)))) {
            failures.push(failure(
                "INVALID_IDENTIFIER",
                "The specified task definition identifier is invalid. Specify a valid name or ARN and try again.",
            ));
            continue;
        }
        let rev = match resolve_mut(region, id) {
            Ok(rev) => rev,
            Err(_) => {
                failures.push(failure(
                    "TASK_DEFINITION_NOT_FOUND",
                    "The specified task definition does not exist. Specify a valid account, family, revision and try again.",
                ));
                continue;
            }
        };
        match rev.status() {
            TaskDefinitionStatus::Active => failures.push(failure(
                "TASK_DEFINITION_IS_ACTIVE",
                "The specified task definition is still in ACTIVE status. Please deregister the target and try again.",
            )),
            _ => {
                let data = Arc::make_mut(&mut rev.data);
                data.status = Some(TaskDefinitionStatus::DeleteInProgress);
                data.delete_requested_at.get_or_insert_with(Timestamp::now);
                deleted.push(data.clone());
            }
        }
    }
    Ok((deleted, failures))
}

/// Sort key that orders like (family, revision) when compared as strings: families use only
/// `[A-Za-z0-9_-]`, all above the space that separates them from the padded revision.
fn list_key(family: &str, revision: i32) -> String {
    format!("{family} {revision:010}")
}

pub fn list(
    region: &State,
    family: Option<&str>,
    status: Option<TaskDefinitionStatus>,
    sort: Option<SortOrder>,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<Page<String>, ApiError> {
    let status = status.unwrap_or(TaskDefinitionStatus::Active);
    if !status.is_known() {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Invalid status. Valid values are ACTIVE, INACTIVE, DELETE_IN_PROGRESS."
        ));
    }
    let descending = match sort {
        None | Some(SortOrder::Asc) => false,
        Some(SortOrder::Desc) => true,
        Some(SortOrder::Unknown(_)) => {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "Invalid sort order. Valid values are ASC, DESC."
            ));
        }
    };
    // Seek to the token instead of walking every revision: listing stays as cheap as one
    // page however many revisions exist.
    let size = PAGES.size(max_results, 100, 100)?;
    let after = PAGES.after(next_token)?.map(|k| match k.rsplit_once(' ') {
        Some((f, r)) => (f.to_owned(), r.parse::<i32>().unwrap_or(0)),
        None => (k, 0),
    });
    let wanted = |r: &&Revision| r.status() == status;
    // familyPrefix is, despite its name, the full family name (ECS API reference).
    let in_scope = |name: &str| family.is_none_or(|f| f == name);
    let page = if descending {
        let upper = match &after {
            Some((f, _)) => Bound::Included(f.clone()),
            None => Bound::Unbounded,
        };
        let items = region
            .task_definitions
            .range::<String, _>((Bound::Unbounded, upper))
            .rev()
            .filter(|(name, _)| in_scope(name))
            .flat_map(|(name, fam)| {
                let below = match &after {
                    Some((f, r)) if f == name => Bound::Excluded(*r),
                    _ => Bound::Unbounded,
                };
                fam.revisions
                    .range((Bound::Unbounded, below))
                    .rev()
                    .map(|(_, r)| r)
                    .filter(wanted)
            });
        PAGES.page(items, |r| list_key(r.family(), r.revision()), size)
    } else {
        let lower = match &after {
            Some((f, _)) => Bound::Included(f.clone()),
            None => Bound::Unbounded,
        };
        let items = region
            .task_definitions
            .range::<String, _>((lower, Bound::Unbounded))
            .filter(|(name, _)| in_scope(name))
            .flat_map(|(name, fam)| {
                let above = match &after {
                    Some((f, r)) if f == name => Bound::Excluded(*r),
                    _ => Bound::Unbounded,
                };
                fam.revisions
                    .range((above, Bound::Unbounded))
                    .map(|(_, r)| r)
                    .filter(wanted)
            });
        PAGES.page(items, |r| list_key(r.family(), r.revision()), size)
    };
    Ok(page.map(Revision::arn))
}

pub fn list_families(
    region: &State,
    prefix: Option<&str>,
    status: Option<TaskDefinitionFamilyStatus>,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<Page<String>, ApiError> {
    let status = status.unwrap_or(TaskDefinitionFamilyStatus::All);
    if !status.is_known() {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Invalid status. Valid values are ACTIVE, INACTIVE, ALL."
        ));
    }
    let names = region.task_definitions.iter().filter_map(|(name, fam)| {
        if !prefix.is_none_or(|p| name.starts_with(p)) {
            return None;
        }
        let active = fam
            .revisions
            .values()
            .any(|r| r.status() == TaskDefinitionStatus::Active);
        let keep = match status {
            TaskDefinitionFamilyStatus::Active => active,
            TaskDefinitionFamilyStatus::Inactive => !active,
            _ => true,
        };
        keep.then(|| name.clone())
    });
    PAGES.paginate(names, String::clone, false, max_results, next_token, 100)
}

pub fn tags_mut<'a>(region: &'a mut State, id: &str) -> Result<&'a mut Vec<Tag>, ApiError> {
    Ok(&mut resolve_mut(region, id)?.tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fargate_table() {
        assert!(fargate_memory_ok(256, 512));
        assert!(!fargate_memory_ok(256, 4096));
        assert!(fargate_memory_ok(1024, 8192));
        assert!(!fargate_memory_ok(8192, 18432));
        assert!(fargate_memory_ok(8192, 20480));
        assert_eq!(cpu_units("0.25 vCPU"), Some(256));
        assert_eq!(cpu_units("256"), Some(256));
        assert_eq!(memory_mib("2 GB"), Some(2048));
        assert_eq!(memory_mib("1 gb"), Some(1024));
        assert_eq!(memory_mib("lots"), None);
    }

    #[test]
    fn identifiers() {
        assert_eq!(parse_identifier("web").ok(), Some(("web", None)));
        assert_eq!(parse_identifier("web:3").ok(), Some(("web", Some(3))));
        assert_eq!(
            parse_identifier("arn:aws:ecs:us-east-1:000000000000:task-definition/web:7").ok(),
            Some(("web", Some(7)))
        );
        assert!(parse_identifier("web:x").is_err());
    }
}
