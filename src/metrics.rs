//! `GET /metrics`: berth's Prometheus metrics, in the text exposition format.
//!
//! prometheus-client (the Prometheus project's own Rust client) rather than the `metrics`
//! facade: its registry is a value each berth owns, not a process-wide recorder, so two berths
//! embedded in one test binary keep their counts apart and nothing lives in a static.
//!
//! Counted as they happen: requests by service, operation and status code, with latency
//! histograms by service and operation; the executor's reports by phase and the tasks it failed
//! to start; reconcile pass durations. Read from the state at scrape time: tasks by lastStatus
//! and services by rollout state, per region.

use crate::services::ecs;
use crate::store::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// prometheus-client writes the OpenMetrics text format (Prometheus' text format with `_total`
/// counters and a closing `# EOF`), which Prometheus scrapes under this content type.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels come from the service table and the model's operation names only (`unknown` for
/// anything a client made up), so a client cannot grow the number of series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    service: &'static str,
    operation: &'static str,
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    service: &'static str,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    region: String,
    last_status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    region: String,
    rollout_state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<OperationLabels>,
    tasks: Family<TaskLabels, Gauge>,
    services: Family<ServiceLabels, Gauge>,
    reports: Family<PhaseLabels, Counter>,
    start_failures: Counter,
    passes: HistogramFamily<ScopeLabels>,
}

/// 100 µs to about 3 s: an API call is well under a millisecond, a pass a few.
fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("berth");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "API requests by service, operation and HTTP status code",
            requests.clone(),
        );
        let latency: HistogramFamily<OperationLabels> =
            Family::new_with_constructor(seconds_histogram);
        registry.register(
            "request_duration_seconds",
            "Time from a request's body to its answer, by service and operation",
            latency.clone(),
        );
        let tasks = Family::<TaskLabels, Gauge>::default();
        registry.register(
            "ecs_tasks",
            "ECS tasks by region and lastStatus (stopped ones stay an hour)",
            tasks.clone(),
        );
        let services = Family::<ServiceLabels, Gauge>::default();
        registry.register(
            "ecs_services",
            "ACTIVE ECS services by region and their PRIMARY deployment's rolloutState",
            services.clone(),
        );
        let reports = Family::<PhaseLabels, Counter>::default();
        registry.register(
            "executor_reports",
            "Task changes the executor reported, by phase",
            reports.clone(),
        );
        let start_failures = Counter::default();
        registry.register(
            "executor_start_failures",
            "Tasks the executor could not start (stop code TaskFailedToStart)",
            start_failures.clone(),
        );
        let passes: HistogramFamily<ScopeLabels> = Family::new_with_constructor(seconds_histogram);
        registry.register(
            "scheduler_pass_duration_seconds",
            "Reconcile passes by what woke them (tick, api, reports) and how long they took",
            passes.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            tasks,
            services,
            reports,
            start_failures,
            passes,
        }
    }

    /// One answered API request.
    pub fn request(
        &self,
        service: &'static str,
        operation: &'static str,
        code: u16,
        took: Duration,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                service,
                operation,
                code,
            })
            .inc();
        self.latency
            .get_or_create(&OperationLabels { service, operation })
            .observe(took.as_secs_f64());
    }

    /// One executor report; `start_failed` when it says the task never started.
    pub fn executor_report(&self, phase: &'static str, start_failed: bool) {
        self.reports.get_or_create(&PhaseLabels { phase }).inc();
        if start_failed {
            self.start_failures.inc();
        }
    }

    pub fn scheduler_pass(&self, scope: &'static str, took: Duration) {
        self.passes
            .get_or_create(&ScopeLabels { scope })
            .observe(took.as_secs_f64());
    }

    /// The exposition, with the state's gauges read now.
    pub fn render(&self, store: &Store) -> String {
        self.tasks.clear();
        self.services.clear();
        for region in store.regions() {
            let counts = store.read(&region, ecs::counts);
            for (last_status, n) in counts.tasks_by_last_status {
                let labels = TaskLabels {
                    region: region.clone(),
                    last_status,
                };
                self.tasks.get_or_create(&labels).set(gauge_value(n));
            }
            for (rollout_state, n) in counts.services_by_rollout_state {
                let labels = ServiceLabels {
                    region: region.clone(),
                    rollout_state,
                };
                self.services.get_or_create(&labels).set(gauge_value(n));
            }
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!("metrics: {e}");
        }
        out
    }
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_shows_as_a_counter_and_a_histogram() {
        let metrics = Metrics::new();
        metrics.request("ecs", "ListClusters", 200, Duration::from_micros(300));
        metrics.request("ecs", "ListClusters", 200, Duration::from_micros(300));
        let text = metrics.render(&Store::new("000000000000".into(), Vec::new()));
        assert!(
            text.contains(
                r#"berth_requests_total{service="ecs",operation="ListClusters",code="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"berth_request_duration_seconds_count{service="ecs",operation="ListClusters"} 2"#
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
