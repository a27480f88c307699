//! Clusters: create (idempotent on an ACTIVE name), describe with `include`, list, update,
//! capacity providers, delete (INACTIVE, still describable, as AWS keeps them for a while).

use super::PAGES;
use super::{State, arn, tags};
use crate::api_err;
use crate::aws::ApiError;
use crate::aws::pagination::Page;
use crate::wire::ecs::{
    CapacityProviderStrategyItem, Cluster as WireCluster, ClusterConfiguration, ClusterField,
    ClusterServiceConnectDefaults, ClusterServiceConnectDefaultsRequest, ClusterSetting,
    ClusterSettingName, Failure, KeyValuePair, Tag,
};

pub struct Cluster {
    pub name: String,
    pub arn: String,
    pub active: bool,
    pub settings: Vec<ClusterSetting>,
    pub configuration: Option<ClusterConfiguration>,
    pub service_connect_defaults: Option<ClusterServiceConnectDefaults>,
    pub capacity_providers: Vec<String>,
    pub default_strategy: Vec<CapacityProviderStrategyItem>,
    pub tags: Vec<Tag>,
}

/// A cluster's counters, derived from its services, tasks and instances.
#[derive(Default)]
pub struct Counts {
    pub active_services: i32,
    pub container_instances: i32,
    /// (launch type, running, pending) per launch type.
    pub tasks: Vec<(&'static str, i32, i32)>,
}

impl Counts {
    fn running(&self) -> i32 {
        self.tasks.iter().map(|t| t.1).sum()
    }
    fn pending(&self) -> i32 {
        self.tasks.iter().map(|t| t.2).sum()
    }
}

pub fn counts(region: &State, name: &str) -> Counts {
    let mut tasks = vec![("EC2", 0, 0), ("Fargate", 0, 0), ("External", 0, 0)];
    for t in region
        .tasks
        .values()
        .filter(|t| t.cluster == name && t.desired_running())
    {
        let slot = match t.data.launch_type.as_ref().map(|l| l.as_str()) {
            Some("FARGATE") => 1,
            Some("EXTERNAL") => 2,
            _ => 0,
        };
        if t.last_status() == "RUNNING" {
            tasks[slot].1 += 1;
        } else {
            tasks[slot].2 += 1;
        }
    }
    Counts {
        active_services: super::services::active_count(region, name),
        container_instances: region
            .container_instances
            .values()
            .filter(|ci| ci.cluster == name)
            .count() as i32,
        tasks,
    }
}

/// The cluster `name` as the API returns it.
fn wire(region: &State, name: &str, include: &[ClusterField]) -> Result<WireCluster, ApiError> {
    let c = region.clusters.get(name).ok_or_else(not_found)?;
    Ok(c.to_wire(&counts(region, name), include))
}

pub const DEFAULT_CLUSTER: &str = "default";

fn not_found() -> ApiError {
    api_err!(ecs::ClusterNotFoundException, "Cluster not found.")
}

#[derive(Default)]
pub struct CreateCluster {
    pub name: Option<String>,
    pub settings: Option<Vec<ClusterSetting>>,
    pub configuration: Option<ClusterConfiguration>,
    pub service_connect_defaults: Option<ClusterServiceConnectDefaultsRequest>,
    pub capacity_providers: Option<Vec<String>>,
    pub default_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    pub tags: Option<Vec<Tag>>,
}

impl Cluster {
    /// The cluster as DescribeClusters shows it with every `include`.
    pub fn to_wire(&self, counts: &Counts, include: &[ClusterField]) -> WireCluster {
        let has = |f: ClusterField| include.contains(&f);
        WireCluster {
            cluster_arn: Some(self.arn.clone()),
            cluster_name: Some(self.name.clone()),
            status: Some(if self.active { "ACTIVE" } else { "INACTIVE" }.into()),
            registered_container_instances_count: Some(counts.container_instances),
            running_tasks_count: Some(counts.running()),
            pending_tasks_count: Some(counts.pending()),
            active_services_count: Some(counts.active_services),
            statistics: Some(if has(ClusterField::Statistics) {
                statistics(counts)
            } else {
                Vec::new()
            }),
            tags: Some(if has(ClusterField::Tags) {
                self.tags.clone()
            } else {
                Vec::new()
            }),
            settings: has(ClusterField::Settings).then(|| self.settings.clone()),
            configuration: if has(ClusterField::Configurations) {
                self.configuration.clone()
            } else {
                None
            },
            attachments: has(ClusterField::Attachments).then(Vec::new),
            capacity_providers: Some(self.capacity_providers.clone()),
            default_capacity_provider_strategy: Some(self.default_strategy.clone()),
            service_connect_defaults: self.service_connect_defaults.clone(),
            ..Default::default()
        }
    }
}

/// What CreateCluster and the other mutating calls return.
const FULL: &[ClusterField] = &[
    ClusterField::Settings,
    ClusterField::Configurations,
    ClusterField::Tags,
];

/// AWS's statistics: running/pending tasks per launch type and the active services.
fn statistics(counts: &Counts) -> Vec<KeyValuePair> {
    let mut out = Vec::new();
    for (launch, running, pending) in &counts.tasks {
        out.push((format!("running{launch}TasksCount"), *running));
        out.push((format!("pending{launch}TasksCount"), *pending));
    }
    out.push(("activeServicesCount".into(), counts.active_services));
    out.into_iter()
        .map(|(name, value)| KeyValuePair {
            name: Some(name),
            value: Some(value.to_string()),
        })
        .collect()
}

fn validate_settings(settings: &[ClusterSetting]) -> Result<(), ApiError> {
    for s in settings {
        let name_ok = matches!(s.name, Some(ClusterSettingName::ContainerInsights));
        let value = s.value.as_deref().unwrap_or("");
        if !name_ok {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "Invalid cluster setting name. Valid values are: containerInsights."
            ));
        }
        if !matches!(value, "enabled" | "disabled" | "enhanced") {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "Invalid value for containerInsights setting. Valid values are: enabled, disabled, enhanced."
            ));
        }
    }
    Ok(())
}

/// Settings given on top of the current ones, by name.
fn merge_settings(current: &mut Vec<ClusterSetting>, new: &[ClusterSetting]) {
    for s in new {
        match current.iter_mut().find(|c| c.name == s.name) {
            Some(c) => c.value = s.value.clone(),
            None => current.push(s.clone()),
        }
    }
}

fn connect_defaults(
    region: &State,
    req: Option<ClusterServiceConnectDefaultsRequest>,
) -> Option<ClusterServiceConnectDefaults> {
    req.map(|r| ClusterServiceConnectDefaults {
        namespace: Some(if r.namespace.starts_with("arn:") {
            r.namespace
        } else {
            crate::aws::arn::format(
                "servicediscovery",
                &region.name,
                &region.account_id,
                &format!("namespace/{}", r.namespace),
            )
        }),
    })
}

pub fn create(region: &mut State, req: CreateCluster) -> Result<WireCluster, ApiError> {
    let name = req.name.unwrap_or_else(|| DEFAULT_CLUSTER.to_owned());
    if !arn::is_valid_name(&name) {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Cluster name should be between 1 and 255 characters long and contain only letters, numbers, hyphens and underscores."
        ));
    }
    let new_tags = tags::from_request(req.tags)?;
    let mut settings = vec![ClusterSetting {
        name: Some(ClusterSettingName::ContainerInsights),
        value: Some("disabled".into()),
    }];
    if let Some(given) = &req.settings {
        validate_settings(given)?;
        merge_settings(&mut settings, given);
    }
    let capacity_providers = req.capacity_providers.unwrap_or_default();
    let default_strategy = req.default_strategy.unwrap_or_default();
    super::capacity_providers::validate_for_cluster(
        region,
        &capacity_providers,
        &default_strategy,
    )?;
    // AWS: creating a cluster whose name is ACTIVE returns that cluster unchanged.
    if let Some(existing) = region.clusters.get(&name).filter(|c| c.active) {
        // AWS: CreateCluster on an ACTIVE name is idempotent only with the same arguments.
        let same = existing.capacity_providers == capacity_providers
            && existing.default_strategy == default_strategy
            && req
                .settings
                .as_ref()
                .is_none_or(|_| existing.settings == settings)
            && req
                .configuration
                .as_ref()
                .is_none_or(|c| existing.configuration.as_ref() == Some(c));
        if !same {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "Arguments on this idempotent request are inconsistent with arguments used in previous request(s)."
            ));
        }
        return wire(region, &name, FULL);
    }
    let cluster = Cluster {
        arn: region.arn(&format!("cluster/{name}")),
        name: name.clone(),
        active: true,
        settings,
        configuration: req.configuration,
        service_connect_defaults: connect_defaults(region, req.service_connect_defaults),
        capacity_providers,
        default_strategy,
        tags: new_tags,
    };
    region.clusters.insert(name.clone(), cluster);
    wire(region, &name, FULL)
}

/// An ACTIVE cluster by name or ARN (the default cluster when none is named).
pub fn active<'a>(region: &'a State, id: Option<&str>) -> Result<&'a Cluster, ApiError> {
    let name = arn::cluster_name(id.unwrap_or(DEFAULT_CLUSTER));
    region
        .clusters
        .get(name)
        .filter(|c| c.active)
        .ok_or_else(not_found)
}

fn active_mut<'a>(region: &'a mut State, id: Option<&str>) -> Result<&'a mut Cluster, ApiError> {
    let name = active(region, id)?.name.clone();
    region.clusters.get_mut(&name).ok_or_else(not_found)
}

pub fn describe(
    region: &State,
    ids: Option<Vec<String>>,
    include: &[ClusterField],
) -> Result<(Vec<WireCluster>, Vec<Failure>), ApiError> {
    if include.iter().any(|f| !f.is_known()) {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Invalid include value. Valid values are: ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS, TAGS."
        ));
    }
    let ids = ids
        .filter(|ids| !ids.is_empty())
        .unwrap_or_else(|| vec![DEFAULT_CLUSTER.to_owned()]);
    if ids.len() > 100 {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "The number of clusters to describe must be less than or equal to 100."
        ));
    }
    Ok(super::describe_each(
        &ids,
        |id| {
            let c = region.clusters.get(arn::cluster_name(id))?;
            Some(c.to_wire(&counts(region, &c.name), include))
        },
        |id| region.full_arn(id, &format!("cluster/{id}")),
    ))
}

pub fn list(
    region: &State,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<Page<String>, ApiError> {
    let arns = region
        .clusters
        .values()
        .filter(|c| c.active)
        .map(|c| c.arn.clone());
    PAGES.paginate(arns, String::clone, false, max_results, next_token, 100)
}

pub fn update(
    region: &mut State,
    id: &str,
    settings: Option<Vec<ClusterSetting>>,
    configuration: Option<ClusterConfiguration>,
    service_connect_defaults: Option<ClusterServiceConnectDefaultsRequest>,
) -> Result<WireCluster, ApiError> {
    if let Some(s) = &settings {
        validate_settings(s)?;
    }
    let defaults = connect_defaults(region, service_connect_defaults);
    let cluster = active_mut(region, Some(id))?;
    if let Some(s) = settings {
        merge_settings(&mut cluster.settings, &s);
    }
    cluster.configuration = configuration.or(cluster.configuration.take());
    cluster.service_connect_defaults = defaults.or(cluster.service_connect_defaults.take());
    let name = cluster.name.clone();
    wire(region, &name, FULL)
}

pub fn put_capacity_providers(
    region: &mut State,
    id: &str,
    providers: Vec<String>,
    strategy: Vec<CapacityProviderStrategyItem>,
) -> Result<WireCluster, ApiError> {
    active(region, Some(id))?;
    super::capacity_providers::validate_for_cluster(region, &providers, &strategy)?;
    let cluster = active_mut(region, Some(id))?;
    cluster.capacity_providers = providers;
    cluster.default_strategy = strategy;
    let name = cluster.name.clone();
    wire(region, &name, FULL)
}

pub fn delete(region: &mut State, id: &str) -> Result<WireCluster, ApiError> {
    let name = active(region, Some(id))?.name.clone();
    let busy = |t: &super::tasks::Task| t.cluster == name && !t.is_stopped();
    if super::services::active_count(region, &name) > 0 {
        return Err(api_err!(
            ecs::ClusterContainsServicesException,
            "The Cluster cannot be deleted while Services are active."
        ));
    }
    if region.tasks.values().map(Box::as_ref).any(busy) {
        return Err(api_err!(
            ecs::ClusterContainsTasksException,
            "The Cluster cannot be deleted while Tasks are active."
        ));
    }
    // Instances berth registered for its own hosts go with the cluster; registered ones block.
    super::container_instances::remove_automatic(region, &name);
    if region
        .container_instances
        .values()
        .any(|ci| ci.cluster == name)
    {
        return Err(api_err!(
            ecs::ClusterContainsContainerInstancesException,
            "The Cluster cannot be deleted while Container Instances are active or draining."
        ));
    }
    if let Some(c) = region.clusters.get_mut(&name) {
        c.active = false;
    }
    wire(region, &name, FULL)
}

/// The tags of a cluster, for the tagging API.
pub fn tags_mut<'a>(region: &'a mut State, name: &str) -> Result<&'a mut Vec<Tag>, ApiError> {
    Ok(&mut active_mut(region, Some(name))?.tags)
}
