//! Clusters: create (idempotent on an ACTIVE name), describe with `include`, list, update,
//! capacity providers, delete (INACTIVE, still describable, as AWS keeps them for a while).

use super::pagination::{Page, paginate};
use super::{Region, arn, tags};
use crate::api_err;
use crate::protocol::ApiError;
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
    /// Counted by later entities (services, tasks, container instances); none exist here yet.
    pub active_services: i32,
    pub running_tasks: i32,
    pub pending_tasks: i32,
    pub container_instances: i32,
}

pub const DEFAULT_CLUSTER: &str = "default";

fn not_found() -> ApiError {
    api_err!(ecs::ClusterNotFoundException, "Cluster not found.")
}

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
    pub fn to_wire(&self, include: &[ClusterField]) -> WireCluster {
        let has = |f: ClusterField| include.contains(&f);
        WireCluster {
            cluster_arn: Some(self.arn.clone()),
            cluster_name: Some(self.name.clone()),
            status: Some(if self.active { "ACTIVE" } else { "INACTIVE" }.into()),
            registered_container_instances_count: Some(self.container_instances),
            running_tasks_count: Some(self.running_tasks),
            pending_tasks_count: Some(self.pending_tasks),
            active_services_count: Some(self.active_services),
            statistics: Some(if has(ClusterField::Statistics) {
                self.statistics()
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

    /// What CreateCluster and the other mutating calls return.
    pub fn to_wire_full(&self) -> WireCluster {
        self.to_wire(&[
            ClusterField::Settings,
            ClusterField::Configurations,
            ClusterField::Tags,
        ])
    }

    fn statistics(&self) -> Vec<KeyValuePair> {
        [
            ("runningEC2TasksCount", 0),
            ("runningFargateTasksCount", 0),
            ("pendingEC2TasksCount", 0),
            ("pendingFargateTasksCount", 0),
            ("runningExternalTasksCount", 0),
            ("pendingExternalTasksCount", 0),
            ("activeEC2ServiceCount", 0),
            ("activeFargateServiceCount", 0),
            ("drainingEC2ServiceCount", 0),
            ("drainingFargateServiceCount", 0),
            ("activeExternalServiceCount", 0),
            ("drainingExternalServiceCount", 0),
        ]
        .into_iter()
        .map(|(name, value): (&str, i32)| KeyValuePair {
            name: Some(name.into()),
            value: Some(value.to_string()),
        })
        .collect()
    }
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
    region: &Region,
    req: Option<ClusterServiceConnectDefaultsRequest>,
) -> Option<ClusterServiceConnectDefaults> {
    req.map(|r| ClusterServiceConnectDefaults {
        namespace: Some(if r.namespace.starts_with("arn:") {
            r.namespace
        } else {
            format!(
                "arn:aws:servicediscovery:{}:{}:namespace/{}",
                region.name, region.account_id, r.namespace
            )
        }),
    })
}

pub fn create(region: &mut Region, req: CreateCluster) -> Result<WireCluster, ApiError> {
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
        return Ok(existing.to_wire_full());
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
        active_services: 0,
        running_tasks: 0,
        pending_tasks: 0,
        container_instances: 0,
    };
    let out = cluster.to_wire_full();
    region.clusters.insert(name, cluster);
    Ok(out)
}

/// An ACTIVE cluster by name or ARN (the default cluster when none is named).
pub fn active<'a>(region: &'a Region, id: Option<&str>) -> Result<&'a Cluster, ApiError> {
    let name = arn::cluster_name(id.unwrap_or(DEFAULT_CLUSTER));
    region
        .clusters
        .get(name)
        .filter(|c| c.active)
        .ok_or_else(not_found)
}

fn active_mut<'a>(region: &'a mut Region, id: Option<&str>) -> Result<&'a mut Cluster, ApiError> {
    let name = arn::cluster_name(id.unwrap_or(DEFAULT_CLUSTER));
    region
        .clusters
        .get_mut(name)
        .filter(|c| c.active)
        .ok_or_else(not_found)
}

pub fn describe(
    region: &Region,
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
    let mut clusters = Vec::new();
    let mut failures = Vec::new();
    for id in ids {
        match region.clusters.get(arn::cluster_name(&id)) {
            Some(c) => clusters.push(c.to_wire(include)),
            None => failures.push(Failure {
                arn: Some(if id.starts_with("arn:") {
                    id
                } else {
                    region.arn(&format!("cluster/{id}"))
                }),
                reason: Some("MISSING".into()),
                detail: None,
            }),
        }
    }
    Ok((clusters, failures))
}

pub fn list(
    region: &Region,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<Page<String>, ApiError> {
    let arns = region
        .clusters
        .values()
        .filter(|c| c.active)
        .map(|c| c.arn.clone());
    paginate(arns, String::clone, false, max_results, next_token, 100)
}

pub fn update(
    region: &mut Region,
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
    if configuration.is_some() {
        cluster.configuration = configuration;
    }
    if defaults.is_some() {
        cluster.service_connect_defaults = defaults;
    }
    Ok(cluster.to_wire_full())
}

pub fn put_capacity_providers(
    region: &mut Region,
    id: &str,
    providers: Vec<String>,
    strategy: Vec<CapacityProviderStrategyItem>,
) -> Result<WireCluster, ApiError> {
    active(region, Some(id))?;
    super::capacity_providers::validate_for_cluster(region, &providers, &strategy)?;
    let cluster = active_mut(region, Some(id))?;
    cluster.capacity_providers = providers;
    cluster.default_strategy = strategy;
    Ok(cluster.to_wire_full())
}

pub fn delete(region: &mut Region, id: &str) -> Result<WireCluster, ApiError> {
    let cluster = active_mut(region, Some(id))?;
    if cluster.active_services > 0 {
        return Err(api_err!(
            ecs::ClusterContainsServicesException,
            "The Cluster cannot be deleted while Services are active."
        ));
    }
    if cluster.container_instances > 0 {
        return Err(api_err!(
            ecs::ClusterContainsContainerInstancesException,
            "The Cluster cannot be deleted while Container Instances are active or draining."
        ));
    }
    if cluster.running_tasks + cluster.pending_tasks > 0 {
        return Err(api_err!(
            ecs::ClusterContainsTasksException,
            "The Cluster cannot be deleted while Tasks are active."
        ));
    }
    cluster.active = false;
    Ok(cluster.to_wire_full())
}

/// The tags of a cluster, for the tagging API.
pub fn tags_mut<'a>(region: &'a mut Region, name: &str) -> Result<&'a mut Vec<Tag>, ApiError> {
    Ok(&mut active_mut(region, Some(name))?.tags)
}
