//! The one state berth owns: a cheap, cloneable [`Store`] handle over one `Mutex`, partitioned
//! by region like AWS. Locks are held for a few lines, never across an `.await`.

use crate::executor::Host;
use crate::services::ecs::Region;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// A cheap, cloneable handle to the one state.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

pub struct State {
    account_id: String,
    hosts: Arc<Vec<Host>>,
    regions: HashMap<String, Region>,
}

impl Store {
    pub fn new(account_id: String, hosts: Vec<Host>) -> Self {
        Store {
            inner: Arc::new(Mutex::new(State {
                account_id,
                hosts: Arc::new(hosts),
                regions: HashMap::new(),
            })),
            changed: Arc::new(Notify::new()),
        }
    }

    /// Wakes the scheduler: something it reconciles has changed.
    pub fn changed(&self) {
        self.changed.notify_one();
    }

    /// What the scheduler waits on.
    pub fn change_signal(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    /// Runs `f` over every region (the scheduler's pass).
    pub fn each_region<R>(&self, f: impl FnMut(&mut Region) -> Vec<R>) -> Vec<R> {
        let mut state = self.lock();
        state.regions.values_mut().flat_map(f).collect()
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
            hosts,
            regions,
        } = &mut *state;
        let region = regions
            .entry(region.to_owned())
            .or_insert_with(|| Region::new(region, account_id, hosts.clone()));
        f(region)
    }
}
