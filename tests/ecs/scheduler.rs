//! The control plane alive, with the in-memory executor: services keep their count, deployments
//! roll, the circuit breaker rolls back, placement decides where tasks go. Each test is a story
//! told through the official Rust SDK against `berth::Server` on a free port.

use crate::common::{World, wait_for};
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    ContainerInstanceStatus, DeploymentCircuitBreaker, DeploymentConfiguration, DesiredStatus,
    PlacementConstraint, PlacementConstraintType, PlacementStrategy, PlacementStrategyType,
    SchedulingStrategy, Service,
};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn steady(desired: i32) -> impl Fn(&Service) -> bool {
    move |s| {
        s.running_count() == desired
            && s.pending_count() == 0
            && s.deployments().len() == 1
            && s.deployments()[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED")
    }
}

#[tokio::test]
async fn a_service_of_three_reaches_steady_state_and_replaces_a_stopped_task() {
    let w = World::new().await;
    let td = w.task_definition_sized("web", 128, "").await;
    let created = w
        .ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition(&td)
        .desired_count(3)
        .send()
        .await
        .expect("create service");
    let svc = created.service().expect("service");
    assert_eq!(svc.status(), Some("ACTIVE"));
    let config = svc
        .deployment_configuration()
        .expect("deployment configuration");
    assert_eq!(
        (config.maximum_percent(), config.minimum_healthy_percent()),
        (Some(200), Some(100))
    );
    // The rollout state's reason names the deployment, in progress as when completed.
    let first = &svc.deployments()[0];
    let id = first.id().expect("deployment id");
    assert_eq!(
        first.rollout_state_reason(),
        Some(format!("ECS deployment {id} in progress.").as_str())
    );

    let s = w.wait_service("web", "steady state", steady(3)).await;
    assert_eq!(
        s.deployments()[0].rollout_state_reason(),
        Some(format!("ECS deployment {id} completed.").as_str())
    );
    assert!(s.events().iter().any(|e| {
        e.message()
            .unwrap_or("")
            .contains("has reached a steady state")
    }));
    assert!(s.events()[0].created_at() >= s.events().last().and_then(|e| e.created_at()));

    let tasks = w.running_tasks().await;
    assert_eq!(tasks.len(), 3);
    let victim = tasks[0].task_arn().expect("arn").to_owned();
    assert_eq!(tasks[0].group(), Some("service:web"));
    w.ecs
        .stop_task()
        .cluster("c")
        .task(&victim)
        .reason("chaos")
        .send()
        .await
        .expect("stop task");
    w.wait_service("web", "a replacement", |s| {
        s.running_count() == 3
            && s.events()
                .iter()
                .any(|e| e.message().unwrap_or("").contains("has started 1 tasks"))
    })
    .await;
    let now = w.running_tasks().await;
    assert!(
        now.iter().all(|t| t.task_arn() != Some(victim.as_str())),
        "a new task ARN replaced it"
    );
    let stopped = w
        .ecs
        .describe_tasks()
        .cluster("c")
        .tasks(&victim)
        .send()
        .await
        .expect("describe stopped");
    let t = &stopped.tasks()[0];
    assert_eq!(t.last_status(), Some("STOPPED"));
    assert_eq!(t.stopped_reason(), Some("chaos"));
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("UserInitiated"));
    w.server.shutdown().await;
}

#[tokio::test]
async fn an_essential_container_that_exits_stops_its_task_with_the_exit_code() {
    let w = World::new().await;
    let td = w.task_definition("crash", "exit=3 after=100ms").await;
    let run = w
        .ecs
        .run_task()
        .cluster("c")
        .task_definition(&td)
        .send()
        .await
        .expect("run");
    let arn = run.tasks()[0].task_arn().expect("arn").to_owned();
    let task = w
        .wait_task(&arn, "the task to stop", |t| {
            t.last_status() == Some("STOPPED")
        })
        .await;
    assert_eq!(
        task.stop_code().map(|c| c.as_str()),
        Some("EssentialContainerExited")
    );
    assert_eq!(
        task.stopped_reason(),
        Some("Essential container in task exited")
    );
    assert_eq!(task.containers()[0].exit_code(), Some(3));
    assert!(task.started_at().is_some() && task.stopped_at().is_some());
    w.server.shutdown().await;
}

#[tokio::test]
async fn stop_task_shows_its_reason_at_once_while_the_task_winds_down() {
    let w = World::new().await;
    // The container takes 2 s to stop, as one that ignores SIGTERM until the stop timeout.
    let td = w.task_definition("slow", "stop=2s").await;
    let run = w
        .ecs
        .run_task()
        .cluster("c")
        .task_definition(&td)
        .send()
        .await
        .expect("run");
    let arn = run.tasks()[0].task_arn().expect("arn").to_owned();
    w.wait_task(&arn, "RUNNING", |t| t.last_status() == Some("RUNNING"))
        .await;
    let stopped = w
        .ecs
        .stop_task()
        .cluster("c")
        .task(&arn)
        .reason("rotating")
        .send()
        .await
        .expect("stop task");
    // AWS: the reason "appears in subsequent DescribeTasks API operations on this task".
    let shows_the_stop = |t: &aws_sdk_ecs::types::Task| {
        t.desired_status() == Some("STOPPED")
            && t.stopped_reason() == Some("rotating")
            && t.stop_code().map(|c| c.as_str()) == Some("UserInitiated")
            && t.stopping_at().is_some()
    };
    let answered = stopped.task().expect("task");
    assert!(shows_the_stop(answered), "{answered:#?}");
    let t = w.task(&arn).await;
    assert_eq!(t.last_status(), Some("RUNNING"), "still winding down");
    assert!(shows_the_stop(&t), "{t:#?}");
    let t = w
        .wait_task(&arn, "STOPPED", |t| t.last_status() == Some("STOPPED"))
        .await;
    assert!(shows_the_stop(&t), "{t:#?}");
    assert!(t.stopped_at().is_some());
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_rolling_update_never_drops_below_the_desired_count() {
    let w = World::new().await;
    let v1 = w.task_definition("roll", "").await;
    let v2 = w.task_definition("roll", "start=300ms").await;
    w.ecs
        .create_service()
        .cluster("c")
        .service_name("roll")
        .task_definition(&v1)
        .desired_count(3)
        .send()
        .await
        .expect("create");
    w.wait_service("roll", "v1 steady", steady(3)).await;
    w.ecs
        .update_service()
        .cluster("c")
        .service("roll")
        .task_definition(&v2)
        .send()
        .await
        .expect("update");
    let deadline = Instant::now() + crate::common::WAIT;
    let mut saw_two_deployments = false;
    loop {
        let s = w.service("roll").await;
        assert!(
            s.running_count() >= 3,
            "dropped below desired: {}",
            s.running_count()
        );
        assert!(
            s.running_count() + s.pending_count() <= 6,
            "above maximumPercent"
        );
        saw_two_deployments |= s.deployments().len() == 2;
        if steady(3)(&s) && s.task_definition() == Some(v2.as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "rollout never completed: {s:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        saw_two_deployments,
        "the old and new deployments ran side by side"
    );
    let tasks = w.running_tasks().await;
    assert_eq!(tasks.len(), 3);
    assert!(
        tasks
            .iter()
            .all(|t| t.task_definition_arn() == Some(v2.as_str()))
    );
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_failing_deployment_trips_the_circuit_breaker_and_rolls_back() {
    let w = World::new().await;
    let good = w.task_definition("cb", "").await;
    let bad = w.task_definition("cb", "exit=1 after=10ms").await;
    w.ecs
        .create_service()
        .cluster("c")
        .service_name("cb")
        .task_definition(&good)
        .desired_count(2)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .deployment_circuit_breaker(
                    DeploymentCircuitBreaker::builder()
                        .enable(true)
                        .rollback(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("create");
    w.wait_service("cb", "good steady", steady(2)).await;
    w.ecs
        .update_service()
        .cluster("c")
        .service("cb")
        .task_definition(&bad)
        .send()
        .await
        .expect("update");
    let s = w
        .wait_service("cb", "rollback to the good revision", |s| {
            s.task_definition() == Some(good.as_str()) && steady(2)(s)
        })
        .await;
    let messages: Vec<&str> = s.events().iter().filter_map(|e| e.message()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("deployment failed: tasks failed to start")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("rolling back")),
        "{messages:?}"
    );
    // Its tasks reached RUNNING before they crashed: that never throttles launches (AWS).
    assert!(
        !messages
            .iter()
            .any(|m| m.contains("unable to consistently start tasks")),
        "{messages:?}"
    );
    let primary = &s.deployments()[0];
    assert_eq!(primary.task_definition(), Some(good.as_str()));
    w.server.shutdown().await;
}

impl World {
    /// A service of one task (minimumHealthyPercent 100, maximumPercent 200) with the circuit
    /// breaker on, updated to `bad` as soon as the services-stable waiter would pass on `good`.
    async fn one_task_service_updated_once_stable(
        &self,
        name: &str,
        good: &str,
        bad: &str,
        rollback: bool,
    ) -> String {
        self.ecs
            .create_service()
            .cluster("c")
            .service_name(name)
            .task_definition(good)
            .desired_count(1)
            .deployment_configuration(
                DeploymentConfiguration::builder()
                    .minimum_healthy_percent(100)
                    .maximum_percent(200)
                    .deployment_circuit_breaker(
                        DeploymentCircuitBreaker::builder()
                            .enable(true)
                            .rollback(rollback)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("create");
        // What `aws ecs wait services-stable` waits for.
        self.wait_service(name, "services-stable", |s| {
            s.deployments().len() == 1 && s.running_count() == s.desired_count()
        })
        .await;
        let first = self.tasks(Some(name), DesiredStatus::Running).await;
        self.ecs
            .update_service()
            .cluster("c")
            .service(name)
            .task_definition(bad)
            .send()
            .await
            .expect("update");
        first[0].task_arn().expect("arn").to_owned()
    }
}

#[tokio::test]
async fn a_rollback_restarts_the_last_completed_deployment_after_its_tasks_were_replaced() {
    let w = World::new().await;
    let good = w.task_definition("one", "").await;
    let bad = w.task_definition("one", "exit=1 after=100ms").await;
    let first = w
        .one_task_service_updated_once_stable("one", &good, &bad, true)
        .await;
    // The new task reached RUNNING, so the old one was stopped and its deployment drained;
    // then the new revision's tasks kept exiting and the circuit breaker tripped.
    let s = w
        .wait_service("one", "the rollback to the good revision", |s| {
            s.task_definition() == Some(good.as_str()) && steady(1)(s)
        })
        .await;
    let messages: Vec<&str> = s.events().iter().filter_map(|e| e.message()).collect();
    assert!(
        messages.iter().any(|m| m.contains("rolling back")),
        "{messages:?}"
    );
    let running = w.tasks(Some("one"), DesiredStatus::Running).await;
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].task_definition_arn(), Some(good.as_str()));
    assert_ne!(
        running[0].task_arn(),
        Some(first.as_str()),
        "a task started again"
    );
    assert_eq!(
        w.task(&first).await.last_status(),
        Some("STOPPED"),
        "the first task was replaced during the update"
    );
    // The history agrees: the first deployment succeeded, the update was rolled back to it.
    wait_for(
        "ROLLBACK_SUCCESSFUL over SUCCESSFUL",
        || async {
            let list = w
                .ecs
                .list_service_deployments()
                .cluster("c")
                .service("one")
                .send()
                .await
                .expect("list service deployments");
            list.service_deployments()
                .iter()
                .filter_map(|d| d.status().map(|s| s.as_str().to_owned()))
                .collect::<Vec<_>>()
        },
        |statuses| statuses == &["ROLLBACK_SUCCESSFUL", "SUCCESSFUL"],
    )
    .await;
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_failed_deployment_without_rollback_launches_no_more_tasks() {
    let w = World::new().await;
    let good = w.task_definition("stay", "").await;
    let bad = w.task_definition("stay", "exit=1 after=100ms").await;
    w.one_task_service_updated_once_stable("stay", &good, &bad, false)
        .await;
    let failed =
        |s: &Service| s.deployments()[0].rollout_state().map(|r| r.as_str()) == Some("FAILED");
    let s = w
        .wait_service("stay", "the deployment to fail", failed)
        .await;
    assert_eq!(s.task_definition(), Some(bad.as_str()), "no rollback");
    let launched = w.tasks(Some("stay"), DesiredStatus::Stopped).await.len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let s = w.service("stay").await;
    assert!(failed(&s), "{s:#?}");
    assert_eq!((s.running_count(), s.pending_count()), (0, 0));
    assert!(
        w.tasks(Some("stay"), DesiredStatus::Running)
            .await
            .is_empty()
    );
    assert_eq!(
        w.tasks(Some("stay"), DesiredStatus::Stopped).await.len(),
        launched,
        "a FAILED deployment launches no new tasks"
    );
    w.server.shutdown().await;
}

#[tokio::test]
async fn tasks_that_never_start_are_relaunched_ever_more_slowly_until_a_new_revision() {
    let w = World::new().await;
    let broken = w.task_definition("pull", "pull=fail").await;
    let fixed = w.task_definition("pull", "").await;
    w.ecs
        .create_service()
        .cluster("c")
        .service_name("pull")
        .task_definition(&broken)
        .desired_count(1)
        .send()
        .await
        .expect("create");
    let throttled = "(service pull) is unable to consistently start tasks successfully.";
    w.wait_service("pull", "the launch throttle", |s| {
        s.events().iter().any(|e| e.message() == Some(throttled))
    })
    .await;

    // Two failed attempts are retried at once, then the scheduler waits (5 s) before the next.
    let attempts = w.tasks(Some("pull"), DesiredStatus::Stopped).await;
    assert_eq!(attempts.len(), 3, "{attempts:#?}");
    assert!(attempts.iter().all(|t| {
        t.stop_code().map(|c| c.as_str()) == Some("TaskFailedToStart") && t.started_at().is_none()
    }));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        w.tasks(Some("pull"), DesiredStatus::Stopped).await.len(),
        3,
        "no launch while throttled"
    );
    assert!(
        w.tasks(Some("pull"), DesiredStatus::Running)
            .await
            .is_empty()
    );

    // A new task definition returns the service to normal at once (AWS), without waiting out
    // the throttle.
    w.ecs
        .update_service()
        .cluster("c")
        .service("pull")
        .task_definition(&fixed)
        .send()
        .await
        .expect("update");
    let updated_at = std::time::SystemTime::now();
    w.wait_service("pull", "steady on the fixed revision", steady(1))
        .await;
    let task = &w.running_tasks().await[0];
    let created = task
        .created_at()
        .and_then(|c| std::time::SystemTime::try_from(*c).ok())
        .expect("createdAt");
    let waited = created.duration_since(updated_at).unwrap_or_default();
    assert!(waited < Duration::from_secs(2), "launched after {waited:?}");
    let s = w.service("pull").await;
    let messages: Vec<&str> = s.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(
        messages.iter().filter(|m| **m == throttled).count(),
        1,
        "{messages:?}"
    );
    w.server.shutdown().await;
}

/// How many running tasks each container instance holds.
async fn spread_of(w: &World) -> BTreeMap<String, usize> {
    let mut by_instance = BTreeMap::new();
    for t in w.running_tasks().await {
        *by_instance
            .entry(t.container_instance_arn().unwrap_or("").to_owned())
            .or_insert(0) += 1;
    }
    by_instance
}

#[tokio::test]
async fn spread_across_three_zones_balances_nine_tasks() {
    let w = World::new().await;
    for az in ["us-east-1a", "us-east-1b", "us-east-1c"] {
        w.instance(4096, az).await;
    }
    let td = w.task_definition("spread", "").await;
    let run = w
        .ecs
        .run_task()
        .cluster("c")
        .task_definition(&td)
        .count(9)
        .placement_strategy(
            PlacementStrategy::builder()
                .r#type(PlacementStrategyType::Spread)
                .field("attribute:ecs.availability-zone")
                .build(),
        )
        .send()
        .await
        .expect("run");
    assert_eq!(run.tasks().len(), 9);
    let counts: Vec<usize> = spread_of(&w).await.into_values().collect();
    assert_eq!(counts, [3, 3, 3]);
    w.server.shutdown().await;
}

#[tokio::test]
async fn binpack_fills_the_fullest_instance_first_and_member_of_rejects() {
    let w = World::new().await;
    let small = w.instance(1024, "us-east-1a").await;
    w.instance(4096, "us-east-1b").await;
    let td = w.task_definition_sized("pack", 256, "").await;
    let run = w
        .ecs
        .run_task()
        .cluster("c")
        .task_definition(&td)
        .count(4)
        .placement_strategy(
            PlacementStrategy::builder()
                .r#type(PlacementStrategyType::Binpack)
                .field("memory")
                .build(),
        )
        .send()
        .await
        .expect("run");
    assert_eq!(run.tasks().len(), 4);
    assert!(
        run.tasks()
            .iter()
            .all(|t| t.container_instance_arn() == Some(small.as_str()))
    );

    let rejected = w
        .ecs
        .run_task()
        .cluster("c")
        .task_definition(&td)
        .placement_constraints(
            PlacementConstraint::builder()
                .r#type(PlacementConstraintType::MemberOf)
                .expression("attribute:ecs.availability-zone == eu-west-1a")
                .build(),
        )
        .send()
        .await
        .expect("run with constraint");
    assert!(rejected.tasks().is_empty());
    assert!(
        rejected.failures()[0]
            .reason()
            .unwrap_or("")
            .starts_with("MemberOf")
    );
    w.server.shutdown().await;
}

#[tokio::test]
async fn count_ten_on_one_small_instance_fails_for_memory() {
    let w = World::new().await;
    w.instance(1024, "us-east-1a").await;
    let td = w.task_definition_sized("big", 300, "").await;
    let run = w
        .ecs
        .run_task()
        .cluster("c")
        .task_definition(&td)
        .count(10)
        .send()
        .await
        .expect("run");
    assert_eq!(run.tasks().len(), 3, "3 × 300 MiB fit in 1024 MiB");
    assert_eq!(run.failures().len(), 7);
    assert!(
        run.failures()
            .iter()
            .all(|f| f.reason() == Some("RESOURCE:MEMORY"))
    );
    let bad = w
        .ecs
        .run_task()
        .cluster("c")
        .task_definition(&td)
        .count(11)
        .send()
        .await;
    assert_eq!(
        bad.expect_err("count 11").code(),
        Some("InvalidParameterException")
    );
    w.server.shutdown().await;
}

#[tokio::test]
async fn draining_an_instance_moves_its_service_tasks() {
    let w = World::new().await;
    let a = w.instance(4096, "us-east-1a").await;
    let td = w.task_definition_sized("drain", 128, "").await;
    w.ecs
        .create_service()
        .cluster("c")
        .service_name("drain")
        .task_definition(&td)
        .desired_count(2)
        .send()
        .await
        .expect("create");
    w.wait_service("drain", "steady on a", steady(2)).await;
    let b = w.instance(4096, "us-east-1b").await;
    w.ecs
        .update_container_instances_state()
        .cluster("c")
        .container_instances(&a)
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .expect("drain");
    wait_for(
        "the tasks to move to b",
        || spread_of(&w),
        |spread| spread.get(&b) == Some(&2) && !spread.contains_key(&a),
    )
    .await;
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_daemon_services_desired_count_is_the_number_of_its_instances() {
    let w = World::new().await;
    let a = w.instance(2048, "us-east-1a").await;
    w.instance(2048, "us-east-1b").await;
    let td = w.task_definition("agent", "").await;
    let created = w
        .ecs
        .create_service()
        .cluster("c")
        .service_name("agent")
        .task_definition(&td)
        .scheduling_strategy(SchedulingStrategy::Daemon)
        .send()
        .await
        .expect("create daemon");
    // ECS sets a DAEMON service's desiredCount to the instances it places a task on, so the
    // services-stable waiter (running = desired) holds only once the tasks run.
    let svc = created.service().expect("service");
    assert_eq!(svc.desired_count(), 2);
    assert_eq!(svc.deployments()[0].desired_count(), 2);
    w.wait_service("agent", "two daemon tasks", steady(2)).await;

    // It follows the instances as they come and go.
    w.instance(2048, "us-east-1c").await;
    let s = w
        .wait_service("agent", "a task on the new instance", steady(3))
        .await;
    assert_eq!(s.desired_count(), 3);
    w.ecs
        .update_container_instances_state()
        .cluster("c")
        .container_instances(&a)
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .expect("drain");
    let s = w
        .wait_service("agent", "none on the drained instance", steady(2))
        .await;
    assert_eq!(s.desired_count(), 2);
    assert_eq!(s.deployments()[0].desired_count(), 2);
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_daemon_service_without_instances_of_its_own_runs_on_the_executor_host() {
    // The cluster has no registered instance: like any EC2 capacity berth needs, the
    // executor's host joins it as a container instance.
    let w = World::new().await;
    let td = w.task_definition("host", "").await;
    let created = w
        .ecs
        .create_service()
        .cluster("c")
        .service_name("host")
        .task_definition(&td)
        .scheduling_strategy(SchedulingStrategy::Daemon)
        .send()
        .await
        .expect("create daemon");
    assert_eq!(created.service().map(|s| s.desired_count()), Some(1));
    w.wait_service("host", "one daemon task", steady(1)).await;
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_daemon_service_runs_one_task_per_instance() {
    let w = World::new().await;
    for az in ["us-east-1a", "us-east-1b", "us-east-1c"] {
        w.instance(2048, az).await;
    }
    let td = w.task_definition("daemon", "").await;
    w.ecs
        .create_service()
        .cluster("c")
        .service_name("daemon")
        .task_definition(&td)
        .scheduling_strategy(SchedulingStrategy::Daemon)
        .send()
        .await
        .expect("create daemon");
    w.wait_service("daemon", "three daemon tasks", |s| s.running_count() == 3)
        .await;
    let counts: Vec<usize> = spread_of(&w).await.into_values().collect();
    assert_eq!(counts, [1, 1, 1]);

    // Deleting a service needs desiredCount 0 unless forced; it drains, then goes INACTIVE.
    let web_td = w.task_definition("web", "").await;
    w.ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition(&web_td)
        .desired_count(1)
        .send()
        .await
        .expect("web");
    let refused = w
        .ecs
        .delete_service()
        .cluster("c")
        .service("web")
        .send()
        .await;
    assert_eq!(
        refused.expect_err("scaled above 0").code(),
        Some("InvalidParameterException")
    );
    let deleted = w
        .ecs
        .delete_service()
        .cluster("c")
        .service("web")
        .force(true)
        .send()
        .await
        .expect("force");
    assert_eq!(deleted.service().and_then(|s| s.status()), Some("DRAINING"));
    w.wait_service("web", "INACTIVE", |s| s.status() == Some("INACTIVE"))
        .await;
    w.server.shutdown().await;
}
