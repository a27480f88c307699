//! The one state berth owns: a cheap, cloneable [`Store`] handle over one `Mutex`, partitioned
//! by region like AWS, each region holding one part per service ([`Region`], declared by the
//! service table). Locks are held for a few lines, never across an `.await`.
//!
//! Waking the reconcile loop is the store's job: a write through [`Store::write`] or
//! [`Store::write_region`] tells the scheduler that something changed, so no handler decides
//! whether its change matters to it.

use crate::executor::Host;
use crate::protocol::model::ServiceDef;
pub use crate::services::{Global, Region};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// What a service's part of a region is made from.
pub struct RegionInfo<'a> {
    pub name: &'a str,
    pub account_id: &'a str,
    /// The executor's hosts, which ECS registers as container instances.
    pub hosts: &'a Arc<Vec<Host>>,
}

/// One service's part of every region's state.
pub trait Part: Sized + 'static {
    /// Whether a write to this part wakes the reconcile loop. A part the loop never reads (what
    /// links and reconcile passes do not look at) can say no, so that frequent writes to it
    /// cost the scheduler nothing.
    const WAKES_SCHEDULER: bool = true;

    fn new(region: &RegionInfo) -> Self;
    fn of(region: &Region) -> &Self;
    fn of_mut(region: &mut Region) -> &mut Self;
}

/// A cheap, cloneable handle to the one state.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
}

struct Inner {
    account_id: String,
    hosts: Arc<Vec<Host>>,
    regions: HashMap<String, Region>,
    global: Global,
}

impl Store {
    pub fn new(account_id: String, hosts: Vec<Host>) -> Self {
        Store {
            inner: Arc::new(Mutex::new(Inner {
                global: Global::new(&account_id),
                hosts: Arc::new(hosts),
                regions: HashMap::new(),
                account_id,
            })),
            changed: Arc::new(Notify::new()),
        }
    }

    /// Runs `f` over one service's part of `region`.
    pub fn read<P: Part, R>(&self, region: &str, f: impl FnOnce(&P) -> R) -> R {
        self.with_region(region, |r| f(P::of(r)))
    }

    /// Runs `f` over one service's part of `region`, which it may change; then wakes the
    /// reconcile loop, if the part is one it reads.
    pub fn write<P: Part, R>(&self, region: &str, f: impl FnOnce(&mut P) -> R) -> R {
        let out = self.with_region(region, |r| f(P::of_mut(r)));
        if P::WAKES_SCHEDULER {
            self.changed.notify_one();
        }
        out
    }

    /// Runs `f` over the state that belongs to no region (IAM's). Nothing the reconcile loop
    /// reads lives there, so a write does not wake it.
    pub fn read_global<R>(&self, f: impl FnOnce(&Global) -> R) -> R {
        f(&self.lock().global)
    }

    pub fn write_global<R>(&self, f: impl FnOnce(&mut Global) -> R) -> R {
        f(&mut self.lock().global)
    }

    /// Runs `f` over every service's part of `region` at once (what crosses services); then
    /// wakes the reconcile loop.
    pub fn write_region<R>(&self, region: &str, f: impl FnOnce(&mut Region) -> R) -> R {
        let out = self.with_region(region, f);
        self.changed.notify_one();
        out
    }

    /// Reads every service's part of `region` at once (what crosses services).
    pub fn read_region<R>(&self, region: &str, f: impl FnOnce(&Region) -> R) -> R {
        self.with_region(region, |r| f(r))
    }

    /// The reconcile loop's own access to a region: what it changes does not wake it again.
    pub(crate) fn reconcile_region<R>(&self, region: &str, f: impl FnOnce(&mut Region) -> R) -> R {
        self.with_region(region, f)
    }

    /// Every region at once, for the reconcile loop (publishing what spans regions).
    pub(crate) fn reconcile_all<R>(
        &self,
        f: impl FnOnce(&mut dyn Iterator<Item = &mut Region>) -> R,
    ) -> R {
        let mut inner = self.lock();
        f(&mut inner.regions.values_mut())
    }

    /// The reconcile loop's pass over every region.
    pub(crate) fn reconcile_each<R>(&self, f: impl FnMut(&mut Region) -> Vec<R>) -> Vec<R> {
        let mut inner = self.lock();
        inner.regions.values_mut().flat_map(f).collect()
    }

    /// Back to the state of a berth just started: every region gone (they are made again on
    /// first use, as at start) and the global state new, or with `service`, that service's
    /// part of every region (or of the global state). Wakes the reconcile loop, which then
    /// finds nothing to do.
    pub fn reset(&self, service: Option<&ServiceDef>) {
        {
            let mut inner = self.lock();
            let Inner {
                account_id,
                hosts,
                regions,
                global,
            } = &mut *inner;
            match service {
                None => {
                    regions.clear();
                    *global = Global::new(account_id);
                }
                Some(service) => {
                    global.reset(service, account_id);
                    for (name, region) in regions.iter_mut() {
                        region.reset(
                            service,
                            &RegionInfo {
                                name,
                                account_id,
                                hosts,
                            },
                        );
                    }
                }
            }
        }
        self.changed.notify_one();
    }

    /// The executor's hosts, once known (the Docker engine answers after the API does): regions
    /// made meanwhile get them too, so that a cluster's first EC2 demand registers them.
    pub fn set_hosts(&self, hosts: Vec<Host>) {
        let mut inner = self.lock();
        let hosts = Arc::new(hosts);
        inner.hosts = hosts.clone();
        for region in inner.regions.values_mut() {
            region.ecs.hosts = hosts.clone();
        }
    }

    /// The names of the regions that have state (a region is made on its first request).
    pub fn regions(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lock().regions.keys().cloned().collect();
        names.sort();
        names
    }

    /// What the reconcile loop waits on.
    pub(crate) fn change_signal(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock must not take every later request down with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_region<R>(&self, region: &str, f: impl FnOnce(&mut Region) -> R) -> R {
        let mut inner = self.lock();
        let Inner {
            account_id,
            hosts,
            regions,
            ..
        } = &mut *inner;
        let region = regions.entry(region.to_owned()).or_insert_with(|| {
            Region::new(&RegionInfo {
                name: region,
                account_id,
                hosts,
            })
        });
        f(region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::RequestContext;
    use crate::services::ecs::api::Ecs;
    use crate::services::logs::api::Logs;
    use crate::services::{Handler, Handlers};
    use crate::wire;
    use crate::wire::ecs::Api as _;
    use crate::wire::logs::Api as _;

    fn ctx(region: &str) -> RequestContext {
        RequestContext {
            region: region.into(),
            account_id: "000000000000".into(),
            request_id: "r".into(),
            access_key: None,
        }
    }

    fn clusters(ecs: &Ecs, region: &str) -> usize {
        ecs.list_clusters(&ctx(region), Default::default())
            .expect("list clusters")
            .cluster_arns
            .unwrap_or_default()
            .len()
    }

    fn groups(logs: &Logs, region: &str) -> usize {
        logs.describe_log_groups(&ctx(region), Default::default())
            .expect("describe log groups")
            .log_groups
            .unwrap_or_default()
            .len()
    }

    #[test]
    fn reset_of_one_service_keeps_the_others_and_a_full_reset_keeps_nothing() {
        let store = Store::new("000000000000".into(), Vec::new());
        let (ecs, logs) = (Ecs::new(&store), Logs::new(&store));
        for region in ["us-east-1", "eu-west-1"] {
            ecs.create_cluster(
                &ctx(region),
                wire::ecs::CreateClusterRequest {
                    cluster_name: Some("dev".into()),
                    ..Default::default()
                },
            )
            .expect("create cluster");
            logs.create_log_group(
                &ctx(region),
                wire::logs::CreateLogGroupRequest {
                    log_group_name: "/ecs/dev".into(),
                    ..Default::default()
                },
            )
            .expect("create log group");
        }
        assert_eq!(store.regions(), ["eu-west-1", "us-east-1"]);

        let logs_service = Handlers::by_signing_name("logs").expect("logs is in the table");
        store.reset(Some(logs_service));
        for region in ["us-east-1", "eu-west-1"] {
            assert_eq!(groups(&logs, region), 0, "{region}: log groups survived");
            assert_eq!(clusters(&ecs, region), 1, "{region}: the cluster went too");
        }

        store.reset(None);
        assert!(store.regions().is_empty());
        assert_eq!(clusters(&ecs, "us-east-1"), 0);
        // The same name can be made again, as on a berth just started.
        ecs.create_cluster(
            &ctx("us-east-1"),
            wire::ecs::CreateClusterRequest {
                cluster_name: Some("dev".into()),
                ..Default::default()
            },
        )
        .expect("create cluster again");
    }
}
