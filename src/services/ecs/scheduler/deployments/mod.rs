//! Service deployments and service revisions: the history ECS keeps of a service's rollouts.
//!
//! A service revision records the workload configuration one deployment rolls out (task
//! definition, launch type, network, load balancers …); ECS creates one when a service is
//! created or updated in a way that starts a deployment, and none for a rollback, which reuses
//! the last successful revision. A service deployment moves the service from the revisions in
//! use (its sources) to a new one (its target): PENDING, IN_PROGRESS, then SUCCESSFUL, STOPPED,
//! or through a rollback ROLLBACK_SUCCESSFUL / ROLLBACK_FAILED. The service records and the
//! service scheduler tell this module when deployments start, trip the circuit breaker and
//! progress; deleting a service deletes its history, as on AWS.
//!
//! A revision's id is the number of the `ecs-svc/…` deployment that introduced it, as on AWS,
//! so a client can match `DescribeServices` deployments to service deployments (Terraform's AWS
//! provider does exactly that).

mod lifecycle;

pub use lifecycle::{Facts, validate as validate_lifecycle};

use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::services::ecs::services::{self, Service};
use crate::services::ecs::{PAGES, State, arn, clusters, describe_each, tasks};
use crate::wire::ecs::{
    ContainerImage, CreatedAt, DeploymentControllerType, DeploymentLifecycleHookAction,
    DeploymentRolloutState, Failure, Rollback, Service as WireService, ServiceConnectConfiguration,
    ServiceCurrentRevisionSummary, ServiceDeployment, ServiceDeploymentAlarms,
    ServiceDeploymentBrief, ServiceDeploymentCircuitBreaker,
    ServiceDeploymentRollbackMonitorsStatus as Monitor, ServiceDeploymentStatus as Status,
    ServiceRevision, ServiceRevisionSummary, StopServiceDeploymentStopType, TaskDefinition,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// What a service deployment's lifecycle stage lets the scheduler do with the PRIMARY
/// deployment (`deployments` decides; without stages everything is allowed).
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

/// DescribeServiceDeployments and DescribeServiceRevisions take at most 20 ARNs.
const MAX_DESCRIBE: usize = 20;

/// Every service's history in a region, by (cluster name, service name).
#[derive(Default)]
pub struct History {
    services: BTreeMap<(String, String), ServiceHistory>,
    /// Orders service deployments for listing, newest first.
    next_seq: u64,
}

#[derive(Default)]
struct ServiceHistory {
    /// Oldest first.
    deployments: Vec<Record>,
    revisions: Vec<Revision>,
    /// The scheduler's deployment id (`ecs-svc/…`) → the ARN of the revision it runs.
    revision_of: HashMap<String, String>,
}

struct Revision {
    data: ServiceRevision,
    /// Kept whole, so a rollback can redeploy it even after its family moved on.
    definition: Arc<TaskDefinition>,
}

struct Record {
    seq: u64,
    data: ServiceDeployment,
    /// The scheduler's deployment that rolls the target revision out.
    target: String,
    /// The scheduler's deployment that rolls back to the previous revision, once started.
    rollback: Option<String>,
    /// Stages and hooks, for a blue/green strategy or a deployment with lifecycle hooks.
    lifecycle: Option<lifecycle::Lifecycle>,
}

impl Record {
    fn arn(&self) -> &str {
        self.data.service_deployment_arn.as_deref().unwrap_or("")
    }

    fn status(&self) -> Status {
        self.data.status.clone().unwrap_or(Status::Pending)
    }

    fn is_terminal(&self) -> bool {
        is_terminal(&self.status())
    }

    /// Moves to `status` and stamps the times AWS stamps for it.
    fn set_status(&mut self, status: Status, reason: Option<String>) {
        let now = Timestamp::now();
        if status != Status::Pending && self.data.started_at.is_none() {
            self.data.started_at = Some(now);
        }
        if is_terminal(&status) {
            self.data.finished_at = Some(now);
        }
        if status == Status::Stopped {
            self.data.stopped_at = Some(now);
        }
        self.data.status_reason = reason.or(self.data.status_reason.take());
        self.data.status = Some(status);
        self.data.updated_at = Some(now);
    }

    /// The circuit breaker and alarms stop watching once the deployment is over.
    fn finish_monitors(&mut self) {
        if let Some(cb) = &mut self.data.deployment_circuit_breaker
            && cb.status == Some(Monitor::Monitoring)
        {
            cb.status = Some(Monitor::MonitoringComplete);
        }
        if let Some(alarms) = &mut self.data.alarms
            && alarms.status == Some(Monitor::Monitoring)
        {
            alarms.status = Some(Monitor::MonitoringComplete);
        }
    }
}

/// SUCCESSFUL, STOPPED, ROLLBACK_SUCCESSFUL and ROLLBACK_FAILED end a service deployment.
fn is_terminal(status: &Status) -> bool {
    matches!(
        status,
        Status::Successful | Status::Stopped | Status::RollbackSuccessful | Status::RollbackFailed
    )
}

fn key(cluster: &str, name: &str) -> (String, String) {
    (cluster.to_owned(), name.to_owned())
}

fn ecs_controlled(svc: &Service) -> bool {
    svc.data
        .deployment_controller
        .as_ref()
        .is_none_or(|c| c.r#type == DeploymentControllerType::Ecs)
}

fn deployment_id(d: &services::Deployment) -> &str {
    d.data.id.as_deref().unwrap_or("")
}

/// A random id of `len` URL-safe characters, as ECS makes service deployment ids (21) and hook
/// ids (43).
fn url_safe_id(len: usize) -> String {
    let mut out = String::with_capacity(len + 22);
    while out.len() < len {
        let bytes = *uuid::Uuid::new_v4().as_bytes();
        out.extend(
            aws_smithy_types::base64::encode(bytes)
                .chars()
                .filter(|c| *c != '=')
                .map(|c| match c {
                    '+' => '-',
                    '/' => '_',
                    c => c,
                }),
        );
    }
    out.truncate(len);
    out
}

/// `ecs-svc/1485800978477494678` → `1485800978477494678`, the id of the revision it introduced.
fn revision_id(deployment_id: &str) -> String {
    deployment_id
        .strip_prefix("ecs-svc/")
        .unwrap_or(deployment_id)
        .replace('/', "-")
}

/// RUNNING and not-yet-running tasks of each of the service's deployments.
fn task_counts(region: &State, svc: &Service) -> HashMap<String, (i32, i32)> {
    let mut counts: HashMap<String, (i32, i32)> = HashMap::new();
    for t in tasks::of_service(region, &svc.cluster, &svc.name) {
        if !t.desired_running() {
            continue;
        }
        let Some(d) = &t.deployment_id else { continue };
        let c = counts.entry(d.clone()).or_default();
        if t.last_status() == "RUNNING" {
            c.0 += 1;
        } else {
            c.1 += 1;
        }
    }
    counts
}

/// Requested, running and pending tasks of one revision, over the deployments that run it.
fn summary(
    revision_arn: &str,
    svc: &Service,
    revision_of: &HashMap<String, String>,
    counts: &HashMap<String, (i32, i32)>,
) -> ServiceRevisionSummary {
    let (mut requested, mut running, mut pending) = (0, 0, 0);
    for d in &svc.deployments {
        let id = deployment_id(d);
        if revision_of.get(id).map(String::as_str) != Some(revision_arn) {
            continue;
        }
        requested += d.data.desired_count.unwrap_or(0);
        let (r, p) = counts.get(id).copied().unwrap_or_default();
        running += r;
        pending += p;
    }
    ServiceRevisionSummary {
        arn: Some(revision_arn.to_owned()),
        requested_task_count: Some(requested),
        running_task_count: Some(running),
        pending_task_count: Some(pending),
        ..Default::default()
    }
}

/// The revision a scheduler deployment introduces: its configuration as the service has it now.
fn new_revision(
    region_arn: &dyn Fn(&str) -> String,
    svc: &Service,
    d: &services::Deployment,
) -> Revision {
    let id = revision_id(deployment_id(d));
    let images = d
        .definition
        .container_definitions
        .iter()
        .flatten()
        .map(|c| ContainerImage {
            container_name: c.name.clone(),
            image: c.image.clone(),
            image_digest: None,
        })
        .collect();
    Revision {
        data: ServiceRevision {
            service_revision_arn: Some(region_arn(&format!(
                "service-revision/{}/{}/{id}",
                svc.cluster, svc.name
            ))),
            service_arn: Some(svc.arn().to_owned()),
            cluster_arn: svc.data.cluster_arn.clone(),
            task_definition: d.data.task_definition.clone(),
            capacity_provider_strategy: d.data.capacity_provider_strategy.clone(),
            launch_type: d.data.launch_type.clone(),
            platform_version: d.data.platform_version.clone(),
            platform_family: d.data.platform_family.clone(),
            load_balancers: svc.data.load_balancers.clone(),
            service_registries: svc.data.service_registries.clone(),
            network_configuration: d.data.network_configuration.clone(),
            container_images: Some(images),
            guard_duty_enabled: Some(false),
            service_connect_configuration: Some(
                d.data.service_connect_configuration.clone().unwrap_or(
                    ServiceConnectConfiguration {
                        enabled: false,
                        ..Default::default()
                    },
                ),
            ),
            volume_configurations: d.data.volume_configurations.clone(),
            fargate_ephemeral_storage: d.data.fargate_ephemeral_storage.clone(),
            vpc_lattice_configurations: d.data.vpc_lattice_configurations.clone(),
            created_at: d.data.created_at.or_else(|| Some(Timestamp::now())),
            ..Default::default()
        },
        definition: d.definition.clone(),
    }
}

/// The service's PRIMARY deployment has just been started by the user (CreateService, or an
/// UpdateService that deploys): record its revision and a service deployment moving the service
/// there. Does nothing when that deployment is already recorded, so it is safe to call after
/// any update.
pub fn started(region: &mut State, cluster: &str, name: &str) {
    let Some(svc) = region.services.get(&key(cluster, name)) else {
        return;
    };
    if !ecs_controlled(svc) || svc.status == "INACTIVE" || svc.deployments.is_empty() {
        return;
    }
    let known = |h: &ServiceHistory| {
        h.revision_of
            .contains_key(deployment_id(&svc.deployments[0]))
    };
    if region
        .service_deployments
        .services
        .get(&key(cluster, name))
        .is_some_and(known)
    {
        return;
    }
    let counts = task_counts(region, svc);
    let (region_name, account) = (region.name.clone(), region.account_id.clone());
    let region_arn =
        |resource: &str| crate::aws::arn::format("ecs", &region_name, &account, resource);
    let history = &mut region.service_deployments;
    let seq = history.next_seq;
    let hist = history.services.entry(key(cluster, name)).or_default();
    let primary = &svc.deployments[0];
    if hist.revision_of.contains_key(deployment_id(primary)) {
        return;
    }
    let revision = new_revision(&region_arn, svc, primary);
    let target_arn = revision
        .data
        .service_revision_arn
        .clone()
        .unwrap_or_default();
    hist.revision_of
        .insert(deployment_id(primary).to_owned(), target_arn.clone());
    hist.revisions.push(revision);

    let mut sources: Vec<String> = Vec::new();
    for d in &svc.deployments[1..] {
        if let Some(arn) = hist.revision_of.get(deployment_id(d))
            && !sources.contains(arn)
        {
            sources.push(arn.clone());
        }
    }
    let id = url_safe_id(21);
    let arn = region_arn(&format!("service-deployment/{cluster}/{name}/{id}"));
    // A deployment still under way when a newer one starts never finishes: ECS stops it.
    for r in hist.deployments.iter_mut().filter(|r| !r.is_terminal()) {
        r.set_status(
            Status::Stopped,
            Some(format!("Service deployment superseded by {arn}.")),
        );
    }
    let config = svc
        .data
        .deployment_configuration
        .clone()
        .unwrap_or_default();
    let breaker = config
        .deployment_circuit_breaker
        .clone()
        .unwrap_or_default();
    let alarms = config.alarms.clone().filter(|a| a.enable);
    let lifecycle = lifecycle::Lifecycle::for_config(&config, sources.len() > 1);
    let now = Timestamp::now();
    let mut data = ServiceDeployment {
        service_deployment_arn: Some(arn),
        service_arn: Some(svc.arn().to_owned()),
        cluster_arn: svc.data.cluster_arn.clone(),
        created_at: Some(now),
        updated_at: Some(now),
        source_service_revisions: Some(
            sources
                .iter()
                .map(|s| summary(s, svc, &hist.revision_of, &counts))
                .collect(),
        ),
        target_service_revision: Some(summary(&target_arn, svc, &hist.revision_of, &counts)),
        status: Some(Status::Pending),
        deployment_circuit_breaker: Some(ServiceDeploymentCircuitBreaker {
            status: Some(if breaker.enable {
                Monitor::Monitoring
            } else {
                Monitor::Disabled
            }),
            failure_count: Some(0),
            threshold: Some(super::failure_threshold(svc.desired_count)),
        }),
        alarms: Some(ServiceDeploymentAlarms {
            status: Some(if alarms.is_some() {
                Monitor::Monitoring
            } else {
                Monitor::Disabled
            }),
            alarm_names: alarms.map(|a| a.alarm_names),
            triggered_alarm_names: None,
        }),
        deployment_configuration: Some(config),
        ..Default::default()
    };
    if let Some(l) = &lifecycle {
        l.write(&mut data);
    }
    hist.deployments.push(Record {
        seq,
        data,
        target: deployment_id(primary).to_owned(),
        rollback: None,
        lifecycle,
    });
    history.next_seq += 1;
}

/// The circuit breaker failed the scheduler's deployment `failed_id`. When it rolled back, the
/// service's PRIMARY deployment is now the rollback, which runs the last successful revision
/// (ECS makes no new revision for a rollback); otherwise the service deployment has STOPPED.
pub fn circuit_breaker_tripped(history: &mut History, svc: &Service, failed_id: &str) {
    let Some(hist) = history.services.get_mut(&key(&svc.cluster, &svc.name)) else {
        return;
    };
    let failed_tasks = svc
        .deployments
        .iter()
        .find(|d| deployment_id(d) == failed_id)
        .and_then(|d| d.data.failed_tasks);
    let primary = svc.deployments.first().map(deployment_id).unwrap_or("");
    let rolled_back_to = (primary != failed_id && !hist.revision_of.contains_key(primary))
        .then(|| {
            svc.last_completed
                .as_ref()
                .and_then(|(good, _)| hist.revision_of.get(good).cloned())
        })
        .flatten();
    if let Some(arn) = &rolled_back_to {
        hist.revision_of.insert(primary.to_owned(), arn.clone());
    }
    let reason = "ECS deployment circuit breaker: tasks failed to start.".to_owned();
    let Some(record) = hist.deployments.iter_mut().rev().find(|r| {
        !r.is_terminal() && (r.target == failed_id || r.rollback.as_deref() == Some(failed_id))
    }) else {
        return;
    };
    if let Some(cb) = &mut record.data.deployment_circuit_breaker {
        cb.status = Some(Monitor::Triggered);
        cb.failure_count = failed_tasks.or(cb.failure_count.take());
    }
    if record.rollback.as_deref() == Some(failed_id) {
        // The rollback itself failed.
        record.set_status(Status::RollbackFailed, Some(reason));
        return;
    }
    match rolled_back_to {
        Some(revision) => {
            record.rollback = Some(primary.to_owned());
            record.data.rollback = Some(Rollback {
                reason: Some(format!(
                    "ECS deployment circuit breaker: rolling back to the last successful service revision {revision}."
                )),
                started_at: Some(Timestamp::now()),
                service_revision_arn: Some(revision),
            });
            record.set_status(Status::RollbackInProgress, Some(reason));
        }
        None => record.set_status(Status::Stopped, Some(reason)),
    }
}

/// After a scheduler pass over the service: counts, and the statuses its deployments reached.
/// A service that became INACTIVE loses its history (AWS deletes it with the service).
pub fn progress(region: &mut State, cluster: &str, name: &str) {
    let k = key(cluster, name);
    let Some(svc) = region.services.get(&k) else {
        region.service_deployments.services.remove(&k);
        return;
    };
    if svc.status == "INACTIVE" {
        region.service_deployments.services.remove(&k);
        return;
    }
    // Finished service deployments keep the counts they ended with.
    let ongoing = |h: &ServiceHistory| h.deployments.iter().any(|r| !r.is_terminal());
    if !region
        .service_deployments
        .services
        .get(&k)
        .is_some_and(ongoing)
    {
        return;
    }
    let counts = task_counts(region, svc);
    let Some(hist) = region.service_deployments.services.get_mut(&k) else {
        return;
    };
    let rollout = |id: &str| {
        svc.deployments
            .iter()
            .find(|d| deployment_id(d) == id)
            .map(|d| {
                (
                    d.data.rollout_state.clone(),
                    d.data.failed_tasks.unwrap_or(0),
                )
            })
    };
    let ServiceHistory {
        deployments,
        revision_of,
        ..
    } = hist;
    for r in deployments.iter_mut().filter(|r| !r.is_terminal()) {
        if let Some(target) = r
            .data
            .target_service_revision
            .as_ref()
            .and_then(|t| t.arn.clone())
        {
            r.data.target_service_revision = Some(summary(&target, svc, revision_of, &counts));
        }
        if let Some(sources) = &mut r.data.source_service_revisions {
            for s in sources.iter_mut() {
                if let Some(arn) = s.arn.clone() {
                    *s = summary(&arn, svc, revision_of, &counts);
                }
            }
        }
        match r.status() {
            Status::Pending => r.set_status(Status::InProgress, None),
            Status::RollbackRequested => r.set_status(Status::RollbackInProgress, None),
            _ => {}
        }
        if let Some((_, failed)) = rollout(&r.target)
            && let Some(cb) = &mut r.data.deployment_circuit_breaker
        {
            cb.failure_count = Some(failed);
        }
        match (r.status(), r.rollback.clone()) {
            (Status::InProgress, _) => match rollout(&r.target).and_then(|(s, _)| s) {
                Some(DeploymentRolloutState::Completed) => {
                    r.finish_monitors();
                    r.set_status(Status::Successful, None);
                }
                // Failed outside the circuit breaker's hook: nothing rolls it back.
                Some(DeploymentRolloutState::Failed) => r.set_status(
                    Status::Stopped,
                    Some("ECS deployment circuit breaker: tasks failed to start.".into()),
                ),
                _ => {}
            },
            (Status::RollbackInProgress, Some(back)) => match rollout(&back).and_then(|(s, _)| s) {
                Some(DeploymentRolloutState::Completed) => {
                    r.set_status(Status::RollbackSuccessful, None)
                }
                Some(DeploymentRolloutState::Failed) => r.set_status(
                    Status::RollbackFailed,
                    Some("The rollback deployment failed.".into()),
                ),
                _ => {}
            },
            _ => {}
        }
    }
}

/// DescribeServices: the service's current service deployment and the revisions it runs, with
/// the counts its `deployments` already carry.
pub fn fill_current(region: &State, svc: &Service, data: &mut WireService) {
    if !ecs_controlled(svc) {
        return;
    }
    let Some(hist) = region
        .service_deployments
        .services
        .get(&key(&svc.cluster, &svc.name))
    else {
        return;
    };
    data.current_service_deployment = hist.deployments.last().map(|r| r.arn().to_owned());
    let mut current: Vec<ServiceCurrentRevisionSummary> = Vec::new();
    for d in data.deployments.iter().flatten() {
        let Some(arn) = d.id.as_deref().and_then(|id| hist.revision_of.get(id)) else {
            continue;
        };
        let i = match current.iter().position(|c| c.arn.as_deref() == Some(arn)) {
            Some(i) => i,
            None => {
                current.push(ServiceCurrentRevisionSummary {
                    arn: Some(arn.clone()),
                    requested_task_count: Some(0),
                    running_task_count: Some(0),
                    pending_task_count: Some(0),
                });
                current.len() - 1
            }
        };
        let c = &mut current[i];
        let add = |slot: &mut Option<i32>, n: Option<i32>| {
            *slot = Some(slot.unwrap_or(0) + n.unwrap_or(0));
        };
        add(&mut c.requested_task_count, d.desired_count);
        add(&mut c.running_task_count, d.running_count);
        add(&mut c.pending_task_count, d.pending_count);
    }
    data.current_service_revisions = Some(current);
}

/// `arn:…:service-deployment/CLUSTER/SERVICE/ID` (or `service-revision/…`) → (cluster, service).
fn owner<'a>(arn_str: &'a str, kind: &str) -> Option<(&'a str, &'a str)> {
    let rest = arn::resource(arn_str)?
        .strip_prefix(kind)?
        .strip_prefix('/')?;
    let mut parts = rest.splitn(3, '/');
    let cluster = parts.next()?;
    let service = parts.next()?;
    parts.next()?;
    Some((cluster, service))
}

fn find<'a>(history: &'a History, arn_str: &str) -> Option<&'a Record> {
    let (cluster, service) = owner(arn_str, "service-deployment")?;
    history
        .services
        .get(&key(cluster, service))?
        .deployments
        .iter()
        .find(|r| r.arn() == arn_str)
}

fn find_mut<'a>(history: &'a mut History, arn_str: &str) -> Option<&'a mut Record> {
    let (cluster, service) = owner(arn_str, "service-deployment")?;
    history
        .services
        .get_mut(&key(cluster, service))?
        .deployments
        .iter_mut()
        .find(|r| r.arn() == arn_str)
}

fn deployment_not_found(arn_str: &str) -> ApiError {
    api_err!(
        ecs::ServiceDeploymentNotFoundException,
        "The service deployment {arn_str} does not exist."
    )
}

fn check_arn_count(arns: &[String], what: &str) -> Result<(), ApiError> {
    if arns.is_empty() || arns.len() > MAX_DESCRIBE {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "{what} must contain between 1 and {MAX_DESCRIBE} ARNs."
        ));
    }
    Ok(())
}

pub struct ListQuery {
    pub cluster: Option<String>,
    pub service: String,
    pub status: Option<Vec<Status>>,
    pub created_at: Option<CreatedAt>,
    pub max_results: Option<i32>,
    pub next_token: Option<String>,
}

/// ListServiceDeployments: newest first, 20 a page unless `maxResults` (1–100) says otherwise.
pub fn list(region: &State, q: ListQuery) -> Result<Page<ServiceDeploymentBrief>, ApiError> {
    // A service ARN names its cluster; the `cluster` member still wins when given.
    let from_arn = arn::resource(&q.service)
        .and_then(|r| r.strip_prefix("service/"))
        .and_then(|r| r.split_once('/'))
        .map(|(c, _)| c.to_owned());
    let cluster = clusters::active(region, q.cluster.as_deref().or(from_arn.as_deref()))?
        .name
        .clone();
    let name = q.service.rsplit('/').next().unwrap_or(&q.service);
    if !region.services.contains_key(&key(&cluster, name)) {
        return Err(api_err!(
            ecs::ServiceNotFoundException,
            "Service not found."
        ));
    }
    let statuses = q.status.unwrap_or_default();
    if let Some(bad) = statuses.iter().find(|s| !s.is_known()) {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Invalid status {}. Valid values are {}.",
            bad.as_str(),
            Status::VALUES.join(", ")
        ));
    }
    let after = q.created_at.as_ref().and_then(|c| c.after);
    let before = q.created_at.as_ref().and_then(|c| c.before);
    let records: Vec<&Record> = region
        .service_deployments
        .services
        .get(&key(&cluster, name))
        .map(|h| h.deployments.iter().rev().collect())
        .unwrap_or_default();
    let matching = records.into_iter().filter(|r| {
        let created = r.data.created_at.unwrap_or_default();
        (statuses.is_empty() || statuses.contains(&r.status()))
            && after.is_none_or(|a| created >= a)
            && before.is_none_or(|b| created <= b)
    });
    let page = PAGES.paginate(
        matching,
        |r| format!("{:020}", r.seq),
        true,
        Some(q.max_results.unwrap_or(20)),
        q.next_token.as_deref(),
        100,
    )?;
    Ok(page.map(|r| ServiceDeploymentBrief {
        service_deployment_arn: r.data.service_deployment_arn.clone(),
        service_arn: r.data.service_arn.clone(),
        cluster_arn: r.data.cluster_arn.clone(),
        created_at: r.data.created_at,
        started_at: r.data.started_at,
        finished_at: r.data.finished_at,
        target_service_revision_arn: r
            .data
            .target_service_revision
            .as_ref()
            .and_then(|t| t.arn.clone()),
        status: r.data.status.clone(),
        status_reason: r.data.status_reason.clone(),
    }))
}

/// DescribeServiceDeployments: unknown ARNs come back as MISSING failures, not as an error.
pub fn describe(
    region: &State,
    arns: &[String],
) -> Result<(Vec<ServiceDeployment>, Vec<Failure>), ApiError> {
    check_arn_count(arns, "serviceDeploymentArns")?;
    Ok(describe_each(
        arns,
        |a| find(&region.service_deployments, a).map(|r| r.data.clone()),
        str::to_owned,
    ))
}

/// DescribeServiceRevisions: unknown ARNs come back as MISSING failures.
pub fn describe_revisions(
    region: &State,
    arns: &[String],
) -> Result<(Vec<ServiceRevision>, Vec<Failure>), ApiError> {
    check_arn_count(arns, "serviceRevisionArns")?;
    Ok(describe_each(
        arns,
        |a| {
            let (cluster, service) = owner(a, "service-revision")?;
            region
                .service_deployments
                .services
                .get(&key(cluster, service))?
                .revisions
                .iter()
                .find(|r| r.data.service_revision_arn.as_deref() == Some(a))
                .map(|r| r.data.clone())
        },
        str::to_owned,
    ))
}

/// StopServiceDeployment. ROLLBACK (the default, and the only stop type AWS documents) works
/// on a deployment that has not finished: PENDING or IN_PROGRESS move to ROLLBACK_REQUESTED and
/// the service goes back to its last successful revision; one already stopping or rolling back
/// carries on. A finished deployment cannot be stopped (ConflictException).
pub fn stop(
    region: &mut State,
    arn_str: &str,
    stop_type: Option<StopServiceDeploymentStopType>,
) -> Result<String, ApiError> {
    let stop_type = stop_type.unwrap_or(StopServiceDeploymentStopType::Rollback);
    if !stop_type.is_known() {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Invalid stopType {}. The valid values are ROLLBACK.",
            stop_type.as_str()
        ));
    }
    let record =
        find(&region.service_deployments, arn_str).ok_or_else(|| deployment_not_found(arn_str))?;
    let status = record.status();
    if is_terminal(&status) {
        return Err(api_err!(
            ecs::ConflictException,
            "The service deployment {arn_str} is {} and can't be stopped.",
            status.as_str()
        ));
    }
    if stop_type != StopServiceDeploymentStopType::Rollback {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The stopType {} isn't supported for a rolling update (ECS) deployment. The valid values are ROLLBACK.",
            stop_type.as_str()
        ));
    }
    if matches!(
        status,
        Status::StopRequested | Status::RollbackRequested | Status::RollbackInProgress
    ) {
        return Ok(arn_str.to_owned());
    }
    roll_back(
        region,
        arn_str,
        "Service deployment rollback requested by the user.",
        "StopServiceDeployment requested a rollback.",
    )?;
    Ok(arn_str.to_owned())
}

/// Rolls the service deployment `arn_str` back to the last revision that completed, as the
/// circuit breaker's rollback does: ROLLBACK_REQUESTED, then the scheduler takes over. When an
/// older deployment of that revision still runs (a blue/green deployment keeps it until clean
/// up), it becomes PRIMARY again and keeps its tasks.
fn roll_back(
    region: &mut State,
    arn_str: &str,
    rollback_reason: &str,
    status_reason: &str,
) -> Result<(), ApiError> {
    let k = owner(arn_str, "service-deployment")
        .map(|(c, s)| key(c, s))
        .ok_or_else(|| deployment_not_found(arn_str))?;
    let previous = region.services.get(&k).and_then(|svc| {
        let (good, _) = svc.last_completed.as_ref()?;
        let hist = region.service_deployments.services.get(&k)?;
        let arn = hist.revision_of.get(good)?;
        hist.revisions
            .iter()
            .find(|r| r.data.service_revision_arn.as_deref() == Some(arn.as_str()))
            .map(|r| {
                (
                    arn.clone(),
                    r.definition.clone(),
                    r.data.network_configuration.clone(),
                )
            })
    });
    let Some((revision_arn, definition, network)) = previous else {
        return Err(api_err!(
            ecs::ConflictException,
            "The service deployment {arn_str} has no previous service revision to roll back to."
        ));
    };
    let svc = region
        .services
        .get_mut(&k)
        .filter(|s| s.status == "ACTIVE")
        .ok_or_else(|| {
            api_err!(
                ecs::ConflictException,
                "The service of {arn_str} is not ACTIVE."
            )
        })?;
    let hist = region.service_deployments.services.entry(k).or_default();
    let reason = format!("Service deployment rollback requested: rolling back to {revision_arn}.");
    let running_old = svc
        .deployments
        .iter()
        .skip(1)
        .map(|d| deployment_id(d).to_owned())
        .find(|id| hist.revision_of.get(id) == Some(&revision_arn));
    if !running_old.is_some_and(|id| services::promote(svc, &id, reason.clone())) {
        svc.data.task_definition = definition.task_definition_arn.clone();
        svc.data.network_configuration = network.or(svc.data.network_configuration.take());
        services::start_deployment(svc, definition, Some(reason));
    }
    let rollback_id = svc
        .deployments
        .first()
        .map(|d| deployment_id(d).to_owned())
        .unwrap_or_default();
    hist.revision_of
        .insert(rollback_id.clone(), revision_arn.clone());
    if let Some(r) = hist.deployments.iter_mut().find(|r| r.arn() == arn_str) {
        r.rollback = Some(rollback_id);
        r.data.rollback = Some(Rollback {
            reason: Some(rollback_reason.to_owned()),
            started_at: Some(Timestamp::now()),
            service_revision_arn: Some(revision_arn),
        });
        r.set_status(Status::RollbackRequested, Some(status_reason.to_owned()));
    }
    Ok(())
}

/// Whether `r` is still rolling the scheduler deployment `primary_id` out through lifecycle
/// stages (a rollback runs none).
fn staged(r: &Record, primary_id: &str) -> bool {
    r.target == primary_id && r.lifecycle.is_some() && !r.is_terminal() && r.rollback.is_none()
}

/// What the lifecycle stage of the service's PRIMARY deployment `primary_id` lets the scheduler
/// do; everything, for a deployment without stages.
pub fn gate(region: &State, cluster: &str, name: &str, primary_id: &str) -> Gate {
    region
        .service_deployments
        .services
        .get(&key(cluster, name))
        .and_then(|h| h.deployments.last())
        .filter(|r| staged(r, primary_id))
        .and_then(|r| r.lifecycle.as_ref())
        .map_or(Gate::OPEN, |l| l.gate())
}

/// After a scheduler pass: moves the PRIMARY deployment's lifecycle on (stages, hook timeouts).
/// True when it moved, so the scheduler runs the service again under the new stage.
pub fn advance_lifecycle(
    region: &mut State,
    cluster: &str,
    name: &str,
    primary_id: &str,
    facts: &Facts,
) -> bool {
    let now = Timestamp::now().as_secs_f64();
    let Some(r) = region
        .service_deployments
        .services
        .get_mut(&key(cluster, name))
        .and_then(|h| h.deployments.last_mut())
        .filter(|r| staged(r, primary_id))
    else {
        return false;
    };
    let Some(l) = &mut r.lifecycle else {
        return false;
    };
    let outcome = l.advance(facts, now);
    if outcome != lifecycle::Outcome::Unchanged {
        l.write(&mut r.data);
        r.data.updated_at = Some(Timestamp::now());
    }
    match outcome {
        lifecycle::Outcome::Unchanged => false,
        lifecycle::Outcome::Moved => true,
        lifecycle::Outcome::RollBack(reason) => {
            let arn = r.arn().to_owned();
            if let Err(e) = roll_back(region, &arn, &reason, &reason) {
                tracing::warn!(deployment = %arn, error = %e.message, "lifecycle rollback failed");
            }
            true
        }
    }
}

/// ContinueServiceDeployment: CONTINUE (the default) or ROLLBACK on a PAUSE hook that is
/// AWAITING_ACTION, while the deployment is IN_PROGRESS.
pub fn continue_deployment(
    region: &mut State,
    arn_str: &str,
    hook_id: &str,
    action: Option<DeploymentLifecycleHookAction>,
) -> Result<String, ApiError> {
    let action = action.unwrap_or(DeploymentLifecycleHookAction::Continue);
    if !action.is_known() {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Invalid action {}. Valid values are {}.",
            action.as_str(),
            DeploymentLifecycleHookAction::VALUES.join(", ")
        ));
    }
    let record = find_mut(&mut region.service_deployments, arn_str)
        .ok_or_else(|| deployment_not_found(arn_str))?;
    if record.status() != Status::InProgress {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The service deployment {arn_str} is {} and not IN_PROGRESS.",
            record.status().as_str()
        ));
    }
    let Some(l) = &mut record.lifecycle else {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The lifecycle hook {hook_id} was not found for the service deployment."
        ));
    };
    let rollback = l.act(hook_id, &action)?;
    l.write(&mut record.data);
    record.data.updated_at = Some(Timestamp::now());
    if rollback {
        roll_back(
            region,
            arn_str,
            &format!("Lifecycle hook {hook_id} requested a rollback."),
            "ContinueServiceDeployment requested a rollback.",
        )?;
    }
    if let Some((cluster, name)) = owner(arn_str, "service-deployment") {
        services::touch(region, &key(cluster, name));
    }
    Ok(arn_str.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_arns() {
        assert_eq!(
            revision_id("ecs-svc/1485800978477494678"),
            "1485800978477494678"
        );
        let id = url_safe_id(21);
        assert_eq!(id.len(), 21);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(
            owner(
                "arn:aws:ecs:us-east-1:0:service-deployment/c/web/ejGvqq2ilnbKT9qj0vLJe",
                "service-deployment"
            ),
            Some(("c", "web"))
        );
        assert_eq!(
            owner(
                "arn:aws:ecs:us-east-1:0:service-revision/c/web/1",
                "service-deployment"
            ),
            None
        );
        assert!(is_terminal(&Status::RollbackSuccessful));
        assert!(!is_terminal(&Status::RollbackInProgress));
    }
}
