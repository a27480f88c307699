//! Amazon ECS: its state in a region and the rules that act on it, its handlers (`api`), the
//! service scheduler's reconcile passes, and the task metadata and credentials endpoints that
//! containers reach. Entities keep their data in the generated wire shapes where ECS returns
//! them as they are (a cluster, a task definition), so nothing is lost between register and
//! describe.

pub mod account_settings;
pub mod agent;
pub mod api;
pub mod arn;
pub mod attributes;
pub mod capacity_providers;
pub mod clusters;
pub mod container_instances;
pub mod daemons;
pub mod express_gateway;
pub mod metadata;
pub mod placement;
pub mod scheduler;
pub mod services;
pub mod tags;
pub mod task_definitions;
pub mod task_protection;
pub mod tasks;

use crate::api_err;
use crate::aws::pagination::Pager;
use crate::executor::Host;
use crate::store::{Part, Region, RegionInfo};
use crate::wire::ecs::Failure;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Everything ECS keeps per account and region.
pub struct State {
    pub name: String,
    pub account_id: String,
    pub clusters: BTreeMap<String, clusters::Cluster>,
    pub task_definitions: BTreeMap<String, task_definitions::Family>,
    pub capacity_providers: BTreeMap<String, capacity_providers::CapacityProvider>,
    pub account_settings: account_settings::AccountSettings,
    pub container_instances: BTreeMap<String, container_instances::ContainerInstance>,
    /// Every task by ARN; stopped ones stay describable for an hour, as on AWS. Boxed: a task
    /// is over a kilobyte, and B-tree nodes keep room for eleven values whether used or not.
    pub tasks: BTreeMap<String, Box<tasks::Task>>,
    /// The ARNs in `tasks` by service and by container instance (maintained by `tasks`).
    pub task_index: tasks::TaskIndex,
    /// Services by (cluster name, service name); INACTIVE ones are kept describable.
    pub services: BTreeMap<(String, String), services::Service>,
    /// Service deployments and service revisions: each service's rollout history.
    pub service_deployments: scheduler::deployments::History,
    /// Task sets of EXTERNAL / CODE_DEPLOY services by task set ARN.
    pub task_sets: BTreeMap<String, scheduler::task_sets::TaskSet>,
    /// Scale-in protection: task ARN → when it expires.
    pub task_protection: HashMap<String, crate::aws::Timestamp>,
    /// RunTask/CreateService `clientToken` → what that call created (idempotency).
    pub client_tokens: HashMap<String, Vec<String>>,
    /// Daemon task definitions, daemons, their revisions and deployments.
    pub daemons: daemons::Daemons,
    /// Express Mode services.
    pub express_gateway: express_gateway::ExpressServices,
    /// The executor's hosts, registered as container instances on a cluster's first EC2 demand.
    pub hosts: Arc<Vec<Host>>,
}

impl Part for State {
    fn new(info: &RegionInfo) -> Self {
        State {
            container_instances: BTreeMap::new(),
            tasks: BTreeMap::new(),
            task_index: Default::default(),
            services: BTreeMap::new(),
            service_deployments: Default::default(),
            task_sets: BTreeMap::new(),
            task_protection: HashMap::new(),
            client_tokens: HashMap::new(),
            daemons: Default::default(),
            express_gateway: Default::default(),
            hosts: info.hosts.clone(),
            name: info.name.to_owned(),
            account_id: info.account_id.to_owned(),
            clusters: BTreeMap::new(),
            task_definitions: BTreeMap::new(),
            capacity_providers: BTreeMap::new(),
            account_settings: Default::default(),
        }
    }

    fn of(region: &Region) -> &Self {
        &region.ecs
    }

    fn of_mut(region: &mut Region) -> &mut Self {
        &mut region.ecs
    }
}

impl State {
    /// `arn:aws:ecs:<region>:<account>:<resource>`
    pub fn arn(&self, resource: &str) -> String {
        crate::aws::arn::format("ecs", &self.name, &self.account_id, resource)
    }

    /// An identifier as a full ARN: kept when it is one, else `resource` in this region. Describe
    /// calls report what they did not find this way (`failures[].arn`).
    pub fn full_arn(&self, id: &str, resource: &str) -> String {
        if id.starts_with("arn:") {
            id.to_owned()
        } else {
            self.arn(resource)
        }
    }

    /// The principal every request acts as: berth has one, the account root.
    pub fn root_principal(&self) -> String {
        crate::aws::arn::root_principal(&self.account_id)
    }
}

/// How ECS pages: a bad `maxResults` or `nextToken` is an InvalidParameterException.
pub const PAGES: Pager = Pager {
    kind: "ecs",
    bad_size: |_, max| {
        api_err!(
            ecs::InvalidParameterException,
            "maxResults must be between 1 and {max}."
        )
    },
    bad_token: || api_err!(ecs::InvalidParameterException, "Invalid nextToken value."),
};

/// A describe-many call's answer: what `find` found of `ids`, and a MISSING failure naming
/// `arn_of(id)` for each identifier it did not (AWS reports unknown identifiers this way, not as
/// an error).
pub fn describe_each<'a, T>(
    ids: impl IntoIterator<Item = &'a String>,
    find: impl FnMut(&str) -> Option<T>,
    mut arn_of: impl FnMut(&str) -> String,
) -> (Vec<T>, Vec<Failure>) {
    crate::aws::found_and_missing(ids, find, |id| missing(arn_of(id)))
}

/// The failure a describe call reports for an identifier it did not find.
pub fn missing(arn: String) -> Failure {
    Failure {
        arn: Some(arn),
        reason: Some("MISSING".into()),
        detail: None,
    }
}

/// A new resource id as ECS makes them: 32 lowercase hex digits.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// What `/metrics` counts of ECS in one region.
#[derive(Debug, Default)]
pub struct Counts {
    /// Tasks by lastStatus (stopped tasks stay describable for an hour, and count as STOPPED).
    pub tasks_by_last_status: BTreeMap<String, u64>,
    /// ACTIVE services by their PRIMARY deployment's rolloutState.
    pub services_by_rollout_state: BTreeMap<String, u64>,
}

pub fn counts(state: &State) -> Counts {
    let mut counts = Counts::default();
    for task in state.tasks.values() {
        *counts
            .tasks_by_last_status
            .entry(task.last_status().to_owned())
            .or_default() += 1;
    }
    for service in state.services.values().filter(|s| s.status == "ACTIVE") {
        let rollout = service
            .deployments
            .first()
            .and_then(|d| d.data.rollout_state.as_ref())
            .map_or("NONE", |r| r.as_str());
        *counts
            .services_by_rollout_state
            .entry(rollout.to_owned())
            .or_default() += 1;
    }
    counts
}
