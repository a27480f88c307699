//! The reconcile loop: like ECS's own scheduler it compares what should be with what is and
//! acts. It wakes when the state changes (`Store::changed`), when the executor reports, and once
//! a second for time-based work; the lock is held for the decision, never while the executor
//! is called.
//!
//! A pass costs what changed, not services × tasks: a wake-up for executor reports reconciles
//! the services whose tasks were reported on (reports arriving together are applied under one
//! lock and decided on in one pass); an API change reconciles the services the API changed
//! (at most one such pass every `API_PASS_SPACING`, so a burst of calls makes few passes); the
//! tick once a second reconciles every service that is not settled, which picks up what neither
//! covers (capacity freed for another service, a deployment's stability period, a launch
//! throttle running out, a drained instance). Every pass hands new and stopped tasks to the
//! executor.

use crate::aws::Timestamp;
use crate::executor::{Executor, Phase, TaskUpdate};
use crate::links;
use crate::metrics::Metrics;
use crate::protocol::model::ServiceDef;
use crate::services::ecs::scheduler::{self as service_scheduler, task_sets};
use crate::services::ecs::tasks;
use crate::services::elbv2::proxy::{Proxy, Publisher as ProxyPublisher};
use crate::services::servicediscovery::dns::{Published, Publisher};
use crate::store::Store;
use crate::wire::ecs::TaskStopCode;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// The least time between two passes that API changes ask for.
const API_PASS_SPACING: Duration = Duration::from_millis(20);
/// How long the first executor report waits for the others of its burst.
const REPORT_GATHERING: Duration = Duration::from_millis(2);

/// `POST /_berth/reset`, carried out by the loop between two passes so that no pass acts on
/// a state that is being replaced.
pub struct ResetRequest {
    /// One service (`?service=ecs`), or everything.
    pub service: Option<&'static ServiceDef>,
    pub done: oneshot::Sender<()>,
}

pub type ResetSender = mpsc::UnboundedSender<ResetRequest>;

pub struct Scheduler {
    store: Store,
    metrics: Option<Arc<Metrics>>,
    executor: Arc<dyn Executor>,
    /// Keeps the DNS server's snapshot of Cloud Map current.
    dns: Publisher,
    /// Keeps the load balancers' proxy snapshot current.
    proxy: ProxyPublisher,
}

/// Services whose tasks changed, by region: region → (cluster, service).
type Touched = BTreeMap<String, BTreeSet<(String, String)>>;

/// Which services a pass reconciles; task sets and the executor's work are always done whole.
enum Scope {
    /// Every service that is not settled (the tick).
    All,
    /// The services API calls changed.
    Changed,
    /// These services, whose tasks the executor reported on.
    Services(Touched),
}

impl Scheduler {
    pub fn new(
        store: Store,
        executor: Arc<dyn Executor>,
        dns: Published,
        metrics: Option<Arc<Metrics>>,
        proxy: Arc<Proxy>,
    ) -> Self {
        Scheduler {
            store,
            metrics,
            executor,
            dns: Publisher::new(dns),
            proxy: ProxyPublisher::new(proxy),
        }
    }

    /// Runs until `stop` turns true.
    pub async fn run(
        mut self,
        mut updates: mpsc::UnboundedReceiver<TaskUpdate>,
        mut resets: mpsc::UnboundedReceiver<ResetRequest>,
        mut stop: watch::Receiver<bool>,
    ) {
        let changed = self.store.change_signal();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_api_pass = Instant::now();
        // An API change arrived within API_PASS_SPACING of the last pass for one.
        let mut api_pass_wanted = false;
        loop {
            let api_pass_due = last_api_pass + API_PASS_SPACING;
            let scope = tokio::select! {
                u = updates.recv() => match u {
                    Some(u) => {
                        tokio::time::sleep(REPORT_GATHERING).await;
                        let mut reports = vec![u];
                        while let Ok(u) = updates.try_recv() {
                            reports.push(u);
                        }
                        self.count_reports(&reports);
                        Scope::Services(self.apply(reports))
                    }
                    None => break,
                },
                _ = changed.notified() => {
                    api_pass_wanted = true;
                    if Instant::now() < api_pass_due {
                        continue;
                    }
                    Scope::Changed
                }
                _ = tokio::time::sleep_until(api_pass_due), if api_pass_wanted => Scope::Changed,
                _ = tick.tick() => Scope::All,
                Some(reset) = resets.recv() => {
                    self.reset(reset, &mut updates).await;
                    continue;
                }
                _ = stop.changed() => break,
            };
            if matches!(scope, Scope::Changed | Scope::All) {
                api_pass_wanted = false;
                last_api_pass = Instant::now();
            }
            let what = match scope {
                Scope::All => "tick",
                Scope::Changed => "api",
                Scope::Services(_) => "reports",
            };
            let began = std::time::Instant::now();
            self.pass(scope);
            if let Some(m) = &self.metrics {
                m.scheduler_pass(what, began.elapsed());
            }
        }
    }

    fn count_reports(&self, reports: &[TaskUpdate]) {
        let Some(m) = &self.metrics else { return };
        for u in reports {
            let phase = match u.phase {
                Phase::Pending => "PENDING",
                Phase::Running => "RUNNING",
                Phase::Stopped => "STOPPED",
            };
            m.executor_report(phase, u.stop_code == Some(TaskStopCode::TaskFailedToStart));
        }
    }

    /// The store goes first, so that a request arriving while the executor clears up is kept;
    /// no pass runs until both are done, so nothing restarts the forgotten tasks.
    async fn reset(
        &mut self,
        reset: ResetRequest,
        updates: &mut mpsc::UnboundedReceiver<TaskUpdate>,
    ) {
        let tasks_too = reset
            .service
            .is_none_or(|s| std::ptr::eq(s, &crate::wire::ecs::SERVICE));
        self.store.reset(reset.service);
        if tasks_too {
            self.executor.reset().await;
            // Reports about forgotten tasks would find nothing; drop them unread.
            while updates.try_recv().is_ok() {}
        }
        self.dns.invalidate();
        self.publish_dns();
        let _ = reset.done.send(());
    }

    /// Rebuilds the DNS snapshot if Cloud Map changed in any region.
    fn publish_dns(&mut self) {
        let now = Timestamp::now();
        let dns = &mut self.dns;
        let proxy = &mut self.proxy;
        self.store.reconcile_all(|regions| {
            let regions: Vec<&mut _> = regions.collect();
            proxy.refresh(regions.iter().map(|r| &r.elbv2), now);
            let publish_ip = proxy.publish_ip();
            let aliases = regions
                .iter()
                .flat_map(|r| {
                    let mut a = links::service_connect::aliases(r);
                    a.extend(links::load_balancers::dns_aliases(r, publish_ip));
                    a
                })
                .collect();
            dns.refresh(regions.iter().map(|r| &r.servicediscovery), aliases, now)
        });
    }

    /// Applies executor reports, one lock per region; returns the services whose tasks they
    /// concern.
    fn apply(&self, reports: Vec<TaskUpdate>) -> Touched {
        let mut by_region: BTreeMap<String, Vec<TaskUpdate>> = BTreeMap::new();
        for u in reports {
            if let Some(region) = tasks::region_of(&u.task_arn) {
                by_region.entry(region.to_owned()).or_default().push(u);
            }
        }
        let mut touched = Touched::new();
        for (region, reports) in by_region {
            let services: BTreeSet<(String, String)> = self.store.reconcile_region(&region, |r| {
                let r = &mut r.ecs;
                let mut services = BTreeSet::new();
                for u in reports {
                    if let Some(k) = tasks::service_of(r, &u.task_arn) {
                        services.insert(k);
                    }
                    tasks::apply(r, u);
                }
                services
            });
            if !services.is_empty() {
                touched.insert(region, services);
            }
        }
        touched
    }

    /// One reconcile pass; executor calls happen after the lock is released. What crosses
    /// services (links) follows the pass under the same lock, and DNS is republished before
    /// the executor stops a task, so that a stopping task leaves DNS before its SIGTERM.
    fn pass(&mut self, mut scope: Scope) {
        let now = Timestamp::now();
        loop {
            let actions = self.store.reconcile_each(|region| {
                links::scaling::reconcile(region, now);
                let r = &mut region.ecs;
                let mut placements = tasks::Placements::default();
                match &scope {
                    Scope::All => service_scheduler::reconcile_all(r, &mut placements),
                    Scope::Changed => service_scheduler::reconcile_changed(r, &mut placements),
                    Scope::Services(touched) => {
                        if let Some(keys) = touched.get(&r.name) {
                            service_scheduler::reconcile_some(r, keys, &mut placements);
                        }
                    }
                }
                task_sets::reconcile(r, &mut placements);
                links::service_registries::reconcile(region);
                links::service_connect::reconcile(region);
                links::load_balancers::reconcile(region, now);
                tasks::executor_actions(&mut region.ecs, now)
            });
            self.publish_dns();
            if actions.is_empty() {
                return;
            }
            let mut local = Vec::new();
            for a in actions {
                match a {
                    tasks::Action::Start(spec) => self.executor.start(*spec),
                    tasks::Action::Stop(arn) => self.executor.stop(&arn),
                    tasks::Action::Apply(u) => local.push(u),
                }
            }
            let touched = self.apply(local);
            // A task that stopped without reaching the executor may need a replacement now.
            if touched.is_empty() {
                return;
            }
            scope = Scope::Services(touched);
        }
    }
}
