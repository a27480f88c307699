//! The reconcile loop: like ECS's own scheduler it compares what should be with what is and
//! acts. It wakes when the state changes (`Store::changed`), when the executor reports, and once
//! a second for time-based work; the lock is held for the decision, never while the executor
//! is called.

use crate::domain::{Store, services, tasks};
use crate::executor::{Executor, TaskUpdate};
use crate::protocol::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

pub struct Scheduler {
    store: Store,
    executor: Arc<dyn Executor>,
}

impl Scheduler {
    pub fn new(store: Store, executor: Arc<dyn Executor>) -> Self {
        Scheduler { store, executor }
    }

    /// Runs until `stop` turns true.
    pub async fn run(
        self,
        mut updates: mpsc::UnboundedReceiver<TaskUpdate>,
        mut stop: watch::Receiver<bool>,
    ) {
        let changed = self.store.change_signal();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                u = updates.recv() => match u {
                    Some(u) => {
                        self.apply(u);
                        // Take every report already queued before deciding anything.
                        while let Ok(u) = updates.try_recv() {
                            self.apply(u);
                        }
                    }
                    None => break,
                },
                _ = changed.notified() => {}
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            self.pass();
        }
    }

    fn apply(&self, u: TaskUpdate) {
        let Some(region) = tasks::region_of(&u.task_arn).map(str::to_owned) else {
            return;
        };
        self.store.region(&region, |r| tasks::apply(r, u));
    }

    /// One reconcile pass over every region; executor calls happen after the lock is released.
    pub fn pass(&self) {
        let now = Timestamp::now();
        loop {
            let actions = self.store.each_region(|r| {
                services::reconcile(r);
                crate::domain::task_sets::reconcile(r);
                tasks::executor_actions(r, now)
            });
            if actions.is_empty() {
                return;
            }
            let mut applied_locally = false;
            for a in actions {
                match a {
                    tasks::Action::Start(spec) => self.executor.start(*spec),
                    tasks::Action::Stop(arn) => self.executor.stop(&arn),
                    tasks::Action::Apply(u) => {
                        self.apply(u);
                        applied_locally = true;
                    }
                }
            }
            // A task that stopped without reaching the executor may need a replacement now.
            if !applied_locally {
                return;
            }
        }
    }
}
