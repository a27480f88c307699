//! An executor that is not there yet. The Docker engine connects, the leftover sweep runs and
//! the endpoints' addresses are claimed while the API already answers; the calls the scheduler
//! makes meanwhile wait here and are handed on once the real executor is in place.

use super::{BoxFuture, Executor, Host, TaskSpec};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::watch;

/// Where the executor is, for `/_berth/health` and for the requests that need its hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Connecting,
    Ready,
    /// The engine could not be reached: why.
    Failed(String),
}

impl Readiness {
    pub fn label(&self) -> &'static str {
        match self {
            Readiness::Connecting => "connecting",
            Readiness::Ready => "ready",
            Readiness::Failed(_) => "failed",
        }
    }
}

enum Pending {
    Start(Box<TaskSpec>),
    Stop(String),
}

#[derive(Default)]
pub struct Deferred {
    executor: OnceLock<Arc<dyn Executor>>,
    /// Calls made before the executor was in place, in order.
    pending: Mutex<Vec<Pending>>,
}

impl Deferred {
    /// Puts the executor in place and hands it what waited.
    pub fn set(&self, executor: Arc<dyn Executor>) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if self.executor.set(executor.clone()).is_err() {
            return;
        }
        for call in pending.drain(..) {
            match call {
                Pending::Start(spec) => executor.start(*spec),
                Pending::Stop(arn) => executor.stop(&arn),
            }
        }
    }

    /// The executor if it is in place, else `call` is queued.
    fn forward(&self, call: Pending) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match (self.executor.get(), call) {
            (Some(e), Pending::Start(spec)) => e.start(*spec),
            (Some(e), Pending::Stop(arn)) => e.stop(&arn),
            (None, call) => pending.push(call),
        }
    }
}

impl Executor for Deferred {
    fn hosts(&self) -> Vec<Host> {
        self.executor.get().map(|e| e.hosts()).unwrap_or_default()
    }

    fn start(&self, spec: TaskSpec) {
        self.forward(Pending::Start(Box::new(spec)));
    }

    fn stop(&self, task_arn: &str) {
        self.forward(Pending::Stop(task_arn.to_owned()));
    }

    fn stats(&self, runtime_id: &str) -> BoxFuture<'static, Option<serde_json::Value>> {
        match self.executor.get() {
            Some(e) => e.stats(runtime_id),
            None => Box::pin(async { None }),
        }
    }

    fn reset(&self) -> BoxFuture<'static, ()> {
        match self.executor.get() {
            Some(e) => e.reset(),
            None => {
                self.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear();
                Box::pin(async {})
            }
        }
    }

    fn shutdown(&self) -> BoxFuture<'static, ()> {
        match self.executor.get() {
            Some(e) => e.shutdown(),
            None => Box::pin(async {}),
        }
    }
}

/// What the front door and health read; the start-up task writes it once.
pub type ReadinessWatch = watch::Receiver<Readiness>;
