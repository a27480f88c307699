//! The state berth owns and the rules of ECS that act on it. One [`Store`] handle over one
//! `Mutex<State>`, partitioned by region like AWS; locks are held for a few lines, never across
//! an `.await`. Entities keep their data in the generated wire shapes where ECS returns them as
//! they are (a cluster, a task definition), so nothing is lost between register and describe.

pub mod account_settings;
pub mod arn;
pub mod attributes;
pub mod capacity_providers;
pub mod clusters;
pub mod pagination;
pub mod tags;
pub mod task_definitions;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// A cheap, cloneable handle to the one state.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Mutex<State>>,
}

pub struct State {
    account_id: String,
    regions: HashMap<String, Region>,
}

/// Everything ECS keeps per account and region.
pub struct Region {
    pub name: String,
    pub account_id: String,
    pub clusters: BTreeMap<String, clusters::Cluster>,
    pub task_definitions: BTreeMap<String, task_definitions::Family>,
    pub capacity_providers: BTreeMap<String, capacity_providers::CapacityProvider>,
    pub account_settings: account_settings::AccountSettings,
}

impl Region {
    fn new(name: &str, account_id: &str) -> Self {
        Region {
            name: name.to_owned(),
            account_id: account_id.to_owned(),
            clusters: BTreeMap::new(),
            task_definitions: BTreeMap::new(),
            capacity_providers: BTreeMap::new(),
            account_settings: Default::default(),
        }
    }

    /// `arn:aws:ecs:<region>:<account>:<resource>`
    pub fn arn(&self, resource: &str) -> String {
        format!("arn:aws:ecs:{}:{}:{resource}", self.name, self.account_id)
    }

    /// The principal every request acts as: berth has one, the account root.
    pub fn root_principal(&self) -> String {
        format!("arn:aws:iam::{}:root", self.account_id)
    }
}

impl Store {
    pub fn new(account_id: String) -> Self {
        Store {
            inner: Arc::new(Mutex::new(State {
                account_id,
                regions: HashMap::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock must not take every later request down with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the region's state under the lock.
    pub fn region<R>(&self, region: &str, f: impl FnOnce(&mut Region) -> R) -> R {
        let mut state = self.lock();
        let State {
            account_id,
            regions,
        } = &mut *state;
        let region = regions
            .entry(region.to_owned())
            .or_insert_with(|| Region::new(region, account_id));
        f(region)
    }
}
