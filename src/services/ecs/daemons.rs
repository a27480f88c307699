//! ECS managed daemons: daemon task definitions, daemons, their revisions and deployments.
//!
//! berth records daemons as ECS describes them (ARNs, statuses, revisions, deployments) but does
//! not place daemon tasks: ECS runs them only on Managed Instances capacity providers, which
//! berth does not provision. Every deployment therefore completes at once with no instances.

use super::PAGES;
use super::{State, arn, clusters, tags};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::wire::ecs::{
    CreateDaemonRequest, DaemonAlarmConfiguration, DaemonCapacityProvider, DaemonContainerImage,
    DaemonDeployment, DaemonDeploymentAlarms, DaemonDeploymentCapacityProvider,
    DaemonDeploymentConfiguration, DaemonDeploymentRevisionDetail,
    DaemonDeploymentRollbackMonitorsStatus, DaemonDeploymentStatus, DaemonDeploymentSummary,
    DaemonDetail, DaemonPropagateTags, DaemonRevision, DaemonRevisionDetail, DaemonStatus,
    DaemonSummary, DaemonTaskDefinition, DaemonTaskDefinitionRevisionFilter,
    DaemonTaskDefinitionStatus, DaemonTaskDefinitionStatusFilter, DaemonTaskDefinitionSummary,
    Failure, ListDaemonDeploymentsRequest, ListDaemonTaskDefinitionsRequest, ListDaemonsRequest,
    RegisterDaemonTaskDefinitionRequest, SortOrder, Tag, UpdateDaemonRequest,
};
use std::collections::BTreeMap;

/// Largest page of the List operations.
const PAGE_LIMIT: usize = 100;
/// DescribeDaemonDeployments / DescribeDaemonRevisions take up to 20 ARNs.
const DESCRIBE_LIMIT: usize = 20;

#[derive(Default)]
pub struct Daemons {
    /// Daemon task definitions by (family, revision).
    pub task_definitions: BTreeMap<(String, i32), DaemonTaskDef>,
    /// Daemons by (cluster name, daemon name).
    pub daemons: BTreeMap<(String, String), Daemon>,
    /// Daemon revisions by ARN.
    pub revisions: BTreeMap<String, DaemonRevision>,
    /// Daemon deployments by ARN.
    pub deployments: BTreeMap<String, DeploymentRecord>,
    seq: u64,
}

pub struct DaemonTaskDef {
    pub data: DaemonTaskDefinition,
    pub tags: Vec<Tag>,
}

pub struct Daemon {
    pub arn: String,
    pub cluster_arn: String,
    pub status: DaemonStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub capacity_providers: Vec<String>,
    pub revision_arn: String,
    pub deployment_arn: String,
    pub tags: Vec<Tag>,
    pub client_token: Option<String>,
}

pub struct DeploymentRecord {
    pub data: DaemonDeployment,
    pub daemon_arn: String,
    seq: u64,
}

fn invalid(msg: impl std::fmt::Display) -> ApiError {
    api_err!(ecs::InvalidParameterException, "{msg}")
}

fn daemon_not_found() -> ApiError {
    api_err!(
        ecs::DaemonNotFoundException,
        "The specified daemon was not found."
    )
}

fn td_not_found(id: &str) -> ApiError {
    api_err!(
        ecs::ClientException,
        "Unable to describe daemon task definition {id}."
    )
}

/// 19 decimal digits, as ECS revision ids look.
fn numeric_id() -> String {
    let n =
        u64::from_str_radix(&super::new_id()[..15], 16).unwrap_or(0) % 10_000_000_000_000_000_000;
    format!("{n:019}")
}

/// 22 URL-safe characters, as ECS deployment ids look.
fn deployment_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let hex = format!("{}{}", super::new_id(), super::new_id());
    hex.as_bytes()
        .chunks(2)
        .take(22)
        .map(|pair| {
            let v = u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("0"), 16).unwrap_or(0);
            ALPHABET[v as usize % ALPHABET.len()] as char
        })
        .collect()
}

// ---- daemon task definitions ----------------------------------------------------------------

/// `family`, `family:revision` or a daemon task definition ARN → (family, revision).
fn parse_td(id: &str) -> Result<(&str, Option<i32>), ApiError> {
    let s = match arn::resource(id) {
        Some(r) => r
            .strip_prefix("daemon-task-definition/")
            .ok_or_else(|| invalid("The daemon task definition ARN is invalid."))?,
        None => id,
    };
    match s.split_once(':') {
        Some((family, rev)) => {
            let rev = rev
                .parse::<i32>()
                .ok()
                .filter(|r| *r >= 1)
                .ok_or_else(|| invalid(format!("Invalid revision number. Number: {rev}")))?;
            Ok((family, Some(rev)))
        }
        None => Ok((s, None)),
    }
}

fn resolve_td<'a>(region: &'a State, id: &str) -> Result<&'a DaemonTaskDef, ApiError> {
    let (family, revision) = parse_td(id)?;
    let found = match revision {
        Some(rev) => region
            .daemons
            .task_definitions
            .get(&(family.to_owned(), rev)),
        None => region
            .daemons
            .task_definitions
            .range((family.to_owned(), i32::MIN)..=(family.to_owned(), i32::MAX))
            .rev()
            .map(|(_, td)| td)
            .find(|td| td.data.status == Some(DaemonTaskDefinitionStatus::Active)),
    };
    found.ok_or_else(|| td_not_found(id))
}

pub fn register(
    region: &mut State,
    req: RegisterDaemonTaskDefinitionRequest,
) -> Result<String, ApiError> {
    if !arn::is_valid_name(&req.family) {
        return Err(invalid(
            "Family must be between 1 and 255 characters: letters (uppercase and lowercase), numbers, hyphens and underscores.",
        ));
    }
    if req.container_definitions.is_empty() {
        return Err(invalid("Container definitions must not be empty."));
    }
    let mut names = Vec::new();
    for c in &req.container_definitions {
        if c.image.is_empty() {
            return Err(invalid("Container image must not be empty."));
        }
        if let Some(name) = &c.name {
            if !arn::is_valid_name(name) {
                return Err(invalid(format!("Container name '{name}' is invalid.")));
            }
            if names.contains(name) {
                return Err(invalid(format!("Duplicate container name '{name}'.")));
            }
            names.push(name.clone());
        }
    }
    let tags = tags::from_request(req.tags)?;
    let revision = region
        .daemons
        .task_definitions
        .range((req.family.clone(), i32::MIN)..=(req.family.clone(), i32::MAX))
        .next_back()
        .map(|((_, r), _)| r + 1)
        .unwrap_or(1);
    let td_arn = region.arn(&format!("daemon-task-definition/{}:{revision}", req.family));
    let data = DaemonTaskDefinition {
        daemon_task_definition_arn: Some(td_arn.clone()),
        family: Some(req.family.clone()),
        revision: Some(revision),
        task_role_arn: req.task_role_arn,
        execution_role_arn: req.execution_role_arn,
        container_definitions: Some(req.container_definitions),
        volumes: Some(req.volumes.unwrap_or_default()),
        cpu: req.cpu,
        memory: req.memory,
        status: Some(DaemonTaskDefinitionStatus::Active),
        registered_at: Some(Timestamp::now()),
        delete_requested_at: None,
        registered_by: Some(region.root_principal()),
    };
    region
        .daemons
        .task_definitions
        .insert((req.family, revision), DaemonTaskDef { data, tags });
    Ok(td_arn)
}

pub fn describe_td(region: &State, id: &str) -> Result<DaemonTaskDefinition, ApiError> {
    // Without a revision, the latest ACTIVE one.
    resolve_td(region, id).map(|td| td.data.clone())
}

pub fn delete_td(region: &mut State, id: &str) -> Result<String, ApiError> {
    let (family, revision) = parse_td(id)?;
    let revision = revision
        .ok_or_else(|| invalid("A revision must be given to delete a daemon task definition."))?;
    let td = region
        .daemons
        .task_definitions
        .get_mut(&(family.to_owned(), revision))
        .ok_or_else(|| td_not_found(id))?;
    if td.data.status != Some(DaemonTaskDefinitionStatus::Active) {
        return Err(invalid(format!(
            "The daemon task definition {id} is already being deleted."
        )));
    }
    td.data.status = Some(DaemonTaskDefinitionStatus::DeleteInProgress);
    td.data.delete_requested_at = Some(Timestamp::now());
    Ok(td
        .data
        .daemon_task_definition_arn
        .clone()
        .unwrap_or_default())
}

pub fn list_tds(
    region: &State,
    req: &ListDaemonTaskDefinitionsRequest,
) -> Result<Page<DaemonTaskDefinitionSummary>, ApiError> {
    let status = req
        .status
        .clone()
        .unwrap_or(DaemonTaskDefinitionStatusFilter::Active);
    let descending = req.sort == Some(SortOrder::Desc);
    let mut items: Vec<&DaemonTaskDef> = region
        .daemons
        .task_definitions
        .iter()
        .filter(|((family, _), _)| {
            req.family.as_ref().is_none_or(|f| family == f)
                && req
                    .family_prefix
                    .as_ref()
                    .is_none_or(|p| family.starts_with(p.as_str()))
        })
        .map(|(_, td)| td)
        .filter(|td| match &status {
            DaemonTaskDefinitionStatusFilter::All => true,
            DaemonTaskDefinitionStatusFilter::DeleteInProgress => {
                td.data.status == Some(DaemonTaskDefinitionStatus::DeleteInProgress)
            }
            _ => td.data.status == Some(DaemonTaskDefinitionStatus::Active),
        })
        .collect();
    if req.revision == Some(DaemonTaskDefinitionRevisionFilter::LastRegistered) {
        // Keep the highest revision of each family (items are sorted by family, revision).
        let mut last: Vec<&DaemonTaskDef> = Vec::new();
        for td in items {
            match last.last_mut() {
                Some(prev) if prev.data.family == td.data.family => *prev = td,
                _ => last.push(td),
            }
        }
        items = last;
    }
    if descending {
        items.reverse();
    }
    let key = |td: &&DaemonTaskDef| {
        format!(
            "{}:{:010}",
            td.data.family.as_deref().unwrap_or(""),
            td.data.revision.unwrap_or(0)
        )
    };
    let page = PAGES.paginate(
        items,
        key,
        descending,
        req.max_results,
        req.next_token.as_deref(),
        PAGE_LIMIT,
    )?;
    Ok(page.map(|td| DaemonTaskDefinitionSummary {
        arn: td.data.daemon_task_definition_arn.clone(),
        registered_at: td.data.registered_at,
        registered_by: td.data.registered_by.clone(),
        delete_requested_at: td.data.delete_requested_at,
        status: td.data.status.clone(),
    }))
}

// ---- daemons ----------------------------------------------------------------------------------

/// A daemon ARN → (cluster name, daemon name).
fn parse_daemon_arn(id: &str) -> Result<(String, String), ApiError> {
    arn::resource(id)
        .and_then(|r| r.strip_prefix("daemon/"))
        .and_then(|r| r.split_once('/'))
        .filter(|(c, n)| !c.is_empty() && !n.is_empty())
        .map(|(c, n)| (c.to_owned(), n.to_owned()))
        .ok_or_else(|| invalid(format!("The daemon ARN {id} is invalid.")))
}

fn find_daemon<'a>(region: &'a State, id: &str) -> Result<&'a Daemon, ApiError> {
    let key = parse_daemon_arn(id)?;
    clusters::active(region, Some(&key.0))?;
    region
        .daemons
        .daemons
        .get(&key)
        .ok_or_else(daemon_not_found)
}

/// Capacity provider names or ARNs → ARNs, each an existing ACTIVE provider.
fn capacity_provider_arns(region: &State, ids: &[String]) -> Result<Vec<String>, ApiError> {
    if ids.is_empty() {
        return Err(invalid("capacityProviderArns must not be empty."));
    }
    let mut out = Vec::new();
    for id in ids {
        let name = arn::capacity_provider_name(id);
        let exists = super::capacity_providers::BUILT_IN.contains(&name)
            || region.capacity_providers.get(name).is_some_and(|cp| {
                cp.data.status == Some(crate::wire::ecs::CapacityProviderStatus::Active)
            });
        if !exists {
            return Err(invalid(format!(
                "The specified capacity provider {id} does not exist. Specify a valid name or ARN and try again."
            )));
        }
        let cp_arn = region.arn(&format!("capacity-provider/{name}"));
        if !out.contains(&cp_arn) {
            out.push(cp_arn);
        }
    }
    Ok(out)
}

struct Rollout {
    td_arn: String,
    capacity_providers: Vec<String>,
    config: Option<DaemonDeploymentConfiguration>,
    propagate_tags: Option<DaemonPropagateTags>,
    managed_tags: Option<bool>,
    exec: Option<bool>,
}

/// Records a new revision and its deployment for `daemon`; returns (revision, deployment) ARNs.
fn roll_out(
    region: &mut State,
    cluster: &str,
    name: &str,
    daemon_arn: &str,
    source: Option<(&str, &[String])>,
    r: Rollout,
) -> (String, String) {
    let now = Timestamp::now();
    let cluster_arn = region.arn(&format!("cluster/{cluster}"));
    let revision_arn = region.arn(&format!(
        "daemon-revision/{cluster}/{name}/{}",
        numeric_id()
    ));
    let images = resolve_td(region, &r.td_arn)
        .map(|td| {
            td.data
                .container_definitions
                .iter()
                .flatten()
                .map(|c| DaemonContainerImage {
                    container_name: c.name.clone(),
                    image: Some(c.image.clone()),
                    image_digest: None,
                })
                .collect()
        })
        .unwrap_or_default();
    region.daemons.revisions.insert(
        revision_arn.clone(),
        DaemonRevision {
            daemon_revision_arn: Some(revision_arn.clone()),
            cluster_arn: Some(cluster_arn.clone()),
            daemon_arn: Some(daemon_arn.to_owned()),
            daemon_task_definition_arn: Some(r.td_arn.clone()),
            created_at: Some(now),
            container_images: Some(images),
            propagate_tags: Some(r.propagate_tags.unwrap_or(DaemonPropagateTags::None)),
            enable_ecs_managed_tags: Some(r.managed_tags.unwrap_or(false)),
            enable_execute_command: Some(r.exec.unwrap_or(false)),
        },
    );
    let detail = |arn: &str, cps: &[String]| DaemonDeploymentRevisionDetail {
        arn: Some(arn.to_owned()),
        capacity_providers: Some(
            cps.iter()
                .map(|cp| DaemonDeploymentCapacityProvider {
                    arn: Some(cp.clone()),
                    running_instance_count: Some(0),
                    draining_instance_count: Some(0),
                })
                .collect(),
        ),
        total_running_instance_count: Some(0),
        total_draining_instance_count: Some(0),
    };
    let deployment_arn = region.arn(&format!(
        "daemon-deployment/{cluster}/{name}/{}",
        deployment_id()
    ));
    let alarms =
        r.config
            .as_ref()
            .and_then(|c| c.alarms.as_ref())
            .map(|a: &DaemonAlarmConfiguration| DaemonDeploymentAlarms {
                status: Some(if a.enable.unwrap_or(false) {
                    DaemonDeploymentRollbackMonitorsStatus::MonitoringComplete
                } else {
                    DaemonDeploymentRollbackMonitorsStatus::Disabled
                }),
                alarm_names: Some(a.alarm_names.clone().unwrap_or_default()),
                triggered_alarm_names: Some(Vec::new()),
            });
    region.daemons.seq += 1;
    let seq = region.daemons.seq;
    region.daemons.deployments.insert(
        deployment_arn.clone(),
        DeploymentRecord {
            daemon_arn: daemon_arn.to_owned(),
            seq,
            data: DaemonDeployment {
                daemon_deployment_arn: Some(deployment_arn.clone()),
                cluster_arn: Some(cluster_arn),
                status: Some(DaemonDeploymentStatus::Successful),
                status_reason: Some("Daemon deployment completed successfully.".into()),
                target_daemon_revision: Some(detail(&revision_arn, &r.capacity_providers)),
                source_daemon_revisions: Some(
                    source
                        .map(|(arn, cps)| vec![detail(arn, cps)])
                        .unwrap_or_default(),
                ),
                circuit_breaker: None,
                alarms,
                rollback: None,
                deployment_configuration: r.config,
                created_at: Some(now),
                started_at: Some(now),
                stopped_at: None,
                finished_at: Some(now),
            },
        },
    );
    (revision_arn, deployment_arn)
}

fn validate_config(c: Option<&DaemonDeploymentConfiguration>) -> Result<(), ApiError> {
    if let Some(c) = c {
        if let Some(p) = c.drain_percent
            && !(0.0..=100.0).contains(&p)
        {
            return Err(invalid("drainPercent must be between 0 and 100."));
        }
        if c.bake_time_in_minutes
            .is_some_and(|b| !(0..=1440).contains(&b))
        {
            return Err(invalid("bakeTimeInMinutes must be between 0 and 1440."));
        }
    }
    Ok(())
}

fn active_td_arn(region: &State, id: &str) -> Result<String, ApiError> {
    let td = resolve_td(region, id)?;
    if td.data.status != Some(DaemonTaskDefinitionStatus::Active) {
        return Err(invalid(format!(
            "The daemon task definition {id} is not ACTIVE."
        )));
    }
    Ok(td
        .data
        .daemon_task_definition_arn
        .clone()
        .unwrap_or_default())
}

/// What CreateDaemon, UpdateDaemon and DeleteDaemon answer.
pub struct DaemonChange {
    pub daemon_arn: String,
    pub status: DaemonStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deployment_arn: String,
}

fn change(d: &Daemon) -> DaemonChange {
    DaemonChange {
        daemon_arn: d.arn.clone(),
        status: d.status.clone(),
        created_at: d.created_at,
        updated_at: d.updated_at,
        deployment_arn: d.deployment_arn.clone(),
    }
}

pub fn create(region: &mut State, req: CreateDaemonRequest) -> Result<DaemonChange, ApiError> {
    if !arn::is_valid_name(&req.daemon_name) {
        return Err(invalid(
            "Daemon name must be between 1 and 255 characters: letters (uppercase and lowercase), numbers, hyphens and underscores.",
        ));
    }
    let cluster = clusters::active(region, req.cluster_arn.as_deref())?
        .name
        .clone();
    let key = (cluster.clone(), req.daemon_name.clone());
    if let (Some(token), Some(existing)) = (&req.client_token, region.daemons.daemons.get(&key))
        && existing.client_token.as_ref() == Some(token)
    {
        return Ok(change(existing));
    }
    if region
        .daemons
        .daemons
        .get(&key)
        .is_some_and(|d| d.status == DaemonStatus::Active)
    {
        return Err(invalid(format!(
            "A daemon named {} already exists in cluster {cluster}.",
            req.daemon_name
        )));
    }
    let td_arn = active_td_arn(region, &req.daemon_task_definition_arn)?;
    let cps = capacity_provider_arns(region, &req.capacity_provider_arns)?;
    validate_config(req.deployment_configuration.as_ref())?;
    let tags = tags::from_request(req.tags)?;
    let daemon_arn = region.arn(&format!("daemon/{cluster}/{}", req.daemon_name));
    let (revision_arn, deployment_arn) = roll_out(
        region,
        &cluster,
        &req.daemon_name,
        &daemon_arn,
        None,
        Rollout {
            td_arn,
            capacity_providers: cps.clone(),
            config: req.deployment_configuration,
            propagate_tags: req.propagate_tags,
            managed_tags: req.enable_ecs_managed_tags,
            exec: req.enable_execute_command,
        },
    );
    let now = Timestamp::now();
    let daemon = Daemon {
        arn: daemon_arn,
        cluster_arn: region.arn(&format!("cluster/{cluster}")),
        status: DaemonStatus::Active,
        created_at: now,
        updated_at: now,
        capacity_providers: cps,
        revision_arn,
        deployment_arn,
        tags,
        client_token: req.client_token,
    };
    let out = change(&daemon);
    region.daemons.daemons.insert(key, daemon);
    Ok(out)
}

pub fn update(region: &mut State, req: UpdateDaemonRequest) -> Result<DaemonChange, ApiError> {
    let key = parse_daemon_arn(&req.daemon_arn)?;
    let d = find_daemon(region, &req.daemon_arn)?;
    if d.status != DaemonStatus::Active {
        return Err(api_err!(
            ecs::DaemonNotActiveException,
            "The daemon {} is not ACTIVE.",
            req.daemon_arn
        ));
    }
    let (daemon_arn, source_rev, source_cps) = (
        d.arn.clone(),
        d.revision_arn.clone(),
        d.capacity_providers.clone(),
    );
    let td_arn = active_td_arn(region, &req.daemon_task_definition_arn)?;
    let cps = capacity_provider_arns(region, &req.capacity_provider_arns)?;
    validate_config(req.deployment_configuration.as_ref())?;
    let (revision_arn, deployment_arn) = roll_out(
        region,
        &key.0,
        &key.1,
        &daemon_arn,
        Some((&source_rev, &source_cps)),
        Rollout {
            td_arn,
            capacity_providers: cps.clone(),
            config: req.deployment_configuration,
            propagate_tags: req.propagate_tags,
            managed_tags: req.enable_ecs_managed_tags,
            exec: req.enable_execute_command,
        },
    );
    let d = region
        .daemons
        .daemons
        .get_mut(&key)
        .ok_or_else(daemon_not_found)?;
    d.capacity_providers = cps;
    d.revision_arn = revision_arn;
    d.deployment_arn = deployment_arn;
    d.updated_at = Timestamp::now();
    Ok(change(d))
}

pub fn delete(region: &mut State, id: &str) -> Result<DaemonChange, ApiError> {
    let key = parse_daemon_arn(id)?;
    find_daemon(region, id)?;
    let d = region
        .daemons
        .daemons
        .get_mut(&key)
        .ok_or_else(daemon_not_found)?;
    if d.status != DaemonStatus::Active {
        return Err(api_err!(
            ecs::DaemonNotActiveException,
            "The daemon {id} is not ACTIVE."
        ));
    }
    d.status = DaemonStatus::DeleteInProgress;
    d.updated_at = Timestamp::now();
    Ok(change(d))
}

pub fn describe(region: &State, id: &str) -> Result<DaemonDetail, ApiError> {
    let d = find_daemon(region, id)?;
    Ok(DaemonDetail {
        daemon_arn: Some(d.arn.clone()),
        cluster_arn: Some(d.cluster_arn.clone()),
        status: Some(d.status.clone()),
        current_revisions: Some(vec![DaemonRevisionDetail {
            arn: Some(d.revision_arn.clone()),
            capacity_providers: Some(
                d.capacity_providers
                    .iter()
                    .map(|cp| DaemonCapacityProvider {
                        arn: Some(cp.clone()),
                        running_count: Some(0),
                    })
                    .collect(),
            ),
            total_running_count: Some(0),
        }]),
        deployment_arn: Some(d.deployment_arn.clone()),
        created_at: Some(d.created_at),
        updated_at: Some(d.updated_at),
    })
}

pub fn list(region: &State, req: &ListDaemonsRequest) -> Result<Page<DaemonSummary>, ApiError> {
    let cluster = match &req.cluster_arn {
        Some(c) => Some(clusters::active(region, Some(c))?.name.clone()),
        None => None,
    };
    let cps: Vec<String> = req
        .capacity_provider_arns
        .iter()
        .flatten()
        .map(|cp| {
            region.arn(&format!(
                "capacity-provider/{}",
                arn::capacity_provider_name(cp)
            ))
        })
        .collect();
    let items = region
        .daemons
        .daemons
        .iter()
        .filter(|((c, _), _)| cluster.as_ref().is_none_or(|want| want == c))
        .map(|(_, d)| d)
        .filter(|d| cps.is_empty() || d.capacity_providers.iter().any(|cp| cps.contains(cp)));
    let page = PAGES.paginate(
        items,
        |d| d.arn.clone(),
        false,
        req.max_results,
        req.next_token.as_deref(),
        PAGE_LIMIT,
    )?;
    Ok(page.map(|d| DaemonSummary {
        daemon_arn: Some(d.arn.clone()),
        status: Some(d.status.clone()),
        created_at: Some(d.created_at),
        updated_at: Some(d.updated_at),
    }))
}

// ---- deployments and revisions ---------------------------------------------------------------

fn check_count(n: usize, member: &str) -> Result<(), ApiError> {
    if n == 0 || n > DESCRIBE_LIMIT {
        return Err(invalid(format!(
            "{member} must contain between 1 and {DESCRIBE_LIMIT} ARNs."
        )));
    }
    Ok(())
}

pub fn describe_deployments(
    region: &State,
    arns: &[String],
) -> Result<(Vec<DaemonDeployment>, Vec<Failure>), ApiError> {
    check_count(arns.len(), "daemonDeploymentArns")?;
    Ok(super::describe_each(
        arns,
        |a| region.daemons.deployments.get(a).map(|d| d.data.clone()),
        str::to_owned,
    ))
}

pub fn describe_revisions(
    region: &State,
    arns: &[String],
) -> Result<(Vec<DaemonRevision>, Vec<Failure>), ApiError> {
    check_count(arns.len(), "daemonRevisionArns")?;
    Ok(super::describe_each(
        arns,
        |a| region.daemons.revisions.get(a).cloned(),
        str::to_owned,
    ))
}

fn secs(t: &Timestamp) -> f64 {
    t.0.as_secs_f64()
}

pub fn list_deployments(
    region: &State,
    req: &ListDaemonDeploymentsRequest,
) -> Result<Page<DaemonDeploymentSummary>, ApiError> {
    let d = find_daemon(region, &req.daemon_arn).map_err(|e| {
        if e.code == "DaemonNotFoundException" {
            invalid(format!("The daemon {} was not found.", req.daemon_arn))
        } else {
            e
        }
    })?;
    let statuses = req.status.clone().unwrap_or_default();
    let mut items: Vec<&DeploymentRecord> = region
        .daemons
        .deployments
        .values()
        .filter(|r| r.daemon_arn == d.arn)
        .filter(|r| {
            statuses.is_empty() || r.data.status.as_ref().is_some_and(|s| statuses.contains(s))
        })
        .filter(|r| {
            let created = r.data.created_at.as_ref().map(secs).unwrap_or(0.0);
            let window = req.created_at.as_ref();
            window
                .and_then(|w| w.after.as_ref())
                .is_none_or(|a| created >= secs(a))
                && window
                    .and_then(|w| w.before.as_ref())
                    .is_none_or(|b| created <= secs(b))
        })
        .collect();
    // Newest first.
    items.sort_by_key(|r| std::cmp::Reverse(r.seq));
    let page = PAGES.paginate(
        items,
        |r| format!("{:020}", r.seq),
        true,
        req.max_results,
        req.next_token.as_deref(),
        PAGE_LIMIT,
    )?;
    Ok(page.map(|r| DaemonDeploymentSummary {
        daemon_deployment_arn: r.data.daemon_deployment_arn.clone(),
        daemon_arn: Some(r.daemon_arn.clone()),
        cluster_arn: r.data.cluster_arn.clone(),
        status: r.data.status.clone(),
        status_reason: r.data.status_reason.clone(),
        target_daemon_revision_arn: r
            .data
            .target_daemon_revision
            .as_ref()
            .and_then(|t| t.arn.clone()),
        created_at: r.data.created_at,
        started_at: r.data.started_at,
        stopped_at: r.data.stopped_at,
        finished_at: r.data.finished_at,
    }))
}
