//! The ECS operations around tasks, told as stories through the official Rust SDK against
//! `berth::Server` with the in-memory executor: an EXTERNAL service deployed through task sets,
//! task scale-in protection, the calls the container agent makes, and ECS Exec.

use crate::common::{World, wait_for};
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    AttachmentStateChange, AwsVpcConfiguration, ContainerDefinition, ContainerStateChange,
    DeploymentController, DeploymentControllerType, DesiredStatus, ManagedAgentName,
    ManagedAgentStateChange, NetworkConfiguration, NetworkMode, Scale, ScaleUnit, StabilityStatus,
    Tag, Task, TaskSet, TaskSetField,
};
use std::time::Duration;

impl World {
    /// A service whose deployments an external controller drives through task sets.
    async fn external_service(&self, name: &str, desired: i32) {
        self.ecs
            .create_service()
            .cluster("c")
            .service_name(name)
            .desired_count(desired)
            .deployment_controller(
                DeploymentController::builder()
                    .r#type(DeploymentControllerType::External)
                    .build()
                    .expect("controller"),
            )
            .send()
            .await
            .expect("create external service");
    }

    async fn task_set(&self, service: &str, td: &str, percent: f64) -> TaskSet {
        self.ecs
            .create_task_set()
            .cluster("c")
            .service(service)
            .task_definition(td)
            .scale(percent_scale(percent))
            .send()
            .await
            .expect("create task set")
            .task_set()
            .cloned()
            .expect("task set")
    }

    async fn describe_set(&self, service: &str, arn: &str) -> TaskSet {
        self.ecs
            .describe_task_sets()
            .cluster("c")
            .service(service)
            .task_sets(arn)
            .send()
            .await
            .expect("describe task sets")
            .task_sets()
            .first()
            .cloned()
            .expect("task set")
    }

    /// Polls until `cond` holds for the task set.
    async fn wait_set(
        &self,
        service: &str,
        arn: &str,
        what: &str,
        cond: impl Fn(&TaskSet) -> bool,
    ) -> TaskSet {
        wait_for(what, || self.describe_set(service, arn), cond).await
    }

    /// Runs one standalone task and waits until it is RUNNING.
    async fn running_task(&self, td: &str, exec: bool) -> Task {
        let run = self
            .ecs
            .run_task()
            .cluster("c")
            .task_definition(td)
            .enable_execute_command(exec)
            .send()
            .await
            .expect("run task");
        let arn = run.tasks()[0].task_arn().expect("arn").to_owned();
        self.wait_task(&arn, "RUNNING", |t| t.last_status() == Some("RUNNING"))
            .await
    }
}

fn percent_scale(value: f64) -> Scale {
    Scale::builder()
        .value(value)
        .unit(ScaleUnit::Percent)
        .build()
}

fn steady(running: i32) -> impl Fn(&TaskSet) -> bool {
    move |s| {
        s.running_count() == running
            && s.pending_count() == 0
            && s.stability_status() == Some(&StabilityStatus::SteadyState)
    }
}

#[tokio::test]
async fn an_external_service_runs_its_task_set_and_follows_its_scale() {
    let w = World::new().await;
    let td = w.task_definition("web", "").await;
    w.external_service("web", 4).await;
    let created = w.task_set("web", &td, 100.0).await;
    let arn = created.task_set_arn().expect("arn").to_owned();
    let id = created.id().expect("id").to_owned();
    assert!(id.starts_with("ecs-svc/"), "{id}");
    assert_eq!(
        arn,
        format!("arn:aws:ecs:us-east-1:000000000000:task-set/c/web/{id}")
    );
    assert_eq!(created.status(), Some("ACTIVE"));
    assert_eq!(created.computed_desired_count(), 4);
    assert_eq!(
        created.stability_status(),
        Some(&StabilityStatus::Stabilizing)
    );
    assert_eq!(created.task_definition(), Some(td.as_str()));

    let s = w
        .wait_set("web", &arn, "4 tasks in steady state", steady(4))
        .await;
    assert_eq!(s.computed_desired_count(), 4);
    let tasks = w.tasks(Some("web"), DesiredStatus::Running).await;
    assert_eq!(tasks.len(), 4);
    assert!(tasks.iter().all(|t| t.started_by() == Some(id.as_str())));
    assert!(tasks.iter().all(|t| t.group() == Some("service:web")));
    let svc = w
        .ecs
        .describe_services()
        .cluster("c")
        .services("web")
        .send()
        .await
        .expect("describe services");
    let svc = &svc.services()[0];
    assert_eq!(svc.running_count(), 4);
    assert_eq!(svc.task_sets().len(), 1);
    assert_eq!(svc.task_sets()[0].task_set_arn(), Some(arn.as_str()));

    // Half the scale, half the tasks.
    let updated = w
        .ecs
        .update_task_set()
        .cluster("c")
        .service("web")
        .task_set(&arn)
        .scale(percent_scale(50.0))
        .send()
        .await
        .expect("update task set");
    let updated = updated.task_set().expect("task set");
    assert_eq!(updated.scale().map(|s| s.value()), Some(50.0));
    assert_eq!(updated.computed_desired_count(), 2);
    w.wait_set("web", &arn, "2 tasks in steady state", steady(2))
        .await;
    assert_eq!(w.tasks(Some("web"), DesiredStatus::Running).await.len(), 2);

    // computedDesiredCount rounds up: 30% of 4 is 1.2, so 2.
    let s = w
        .ecs
        .update_task_set()
        .cluster("c")
        .service("web")
        .task_set(&id)
        .scale(percent_scale(30.0))
        .send()
        .await
        .expect("update by id");
    assert_eq!(s.task_set().expect("set").computed_desired_count(), 2);

    // The service's desiredCount drives every set.
    w.ecs
        .update_service()
        .cluster("c")
        .service("web")
        .desired_count(10)
        .send()
        .await
        .expect("scale service");
    w.wait_set("web", &arn, "3 tasks (30% of 10)", steady(3))
        .await;

    // Deleting the service stops every set's tasks; then it is INACTIVE.
    w.ecs
        .delete_service()
        .cluster("c")
        .service("web")
        .force(true)
        .send()
        .await
        .expect("delete service");
    w.wait_service("web", "INACTIVE", |s| s.status() == Some("INACTIVE"))
        .await;
    assert!(
        w.tasks(Some("web"), DesiredStatus::Running)
            .await
            .is_empty()
    );
    w.server.shutdown().await;
}

#[tokio::test]
async fn the_primary_task_set_gives_the_service_its_configuration() {
    let w = World::new().await;
    let blue_td = w.task_definition("blue", "").await;
    let green_td = w.task_definition("green", "").await;
    w.external_service("app", 2).await;
    let blue = w.task_set("app", &blue_td, 100.0).await;
    let green = w.task_set("app", &green_td, 0.0).await;
    let (blue_arn, green_arn) = (
        blue.task_set_arn().expect("arn").to_owned(),
        green.task_set_arn().expect("arn").to_owned(),
    );
    assert_eq!(green.computed_desired_count(), 0);

    let primary = w
        .ecs
        .update_service_primary_task_set()
        .cluster("c")
        .service("app")
        .primary_task_set(&blue_arn)
        .send()
        .await
        .expect("blue primary");
    assert_eq!(primary.task_set().and_then(|s| s.status()), Some("PRIMARY"));
    let service_td = |w: &World| {
        let ecs = w.ecs.clone();
        async move {
            ecs.describe_services()
                .cluster("c")
                .services("app")
                .send()
                .await
                .expect("describe")
                .services()[0]
                .task_definition()
                .map(str::to_owned)
        }
    };
    assert_eq!(service_td(&w).await.as_deref(), Some(blue_td.as_str()));

    // Shift traffic: green scales up and becomes PRIMARY, blue turns ACTIVE.
    w.ecs
        .update_task_set()
        .cluster("c")
        .service("app")
        .task_set(&green_arn)
        .scale(percent_scale(100.0))
        .send()
        .await
        .expect("scale green");
    w.ecs
        .update_service_primary_task_set()
        .cluster("c")
        .service("app")
        .primary_task_set(green.id().expect("id"))
        .send()
        .await
        .expect("green primary");
    assert_eq!(
        w.describe_set("app", &blue_arn).await.status(),
        Some("ACTIVE")
    );
    assert_eq!(
        w.describe_set("app", &green_arn).await.status(),
        Some("PRIMARY")
    );
    assert_eq!(service_td(&w).await.as_deref(), Some(green_td.as_str()));
    w.wait_set("app", &green_arn, "green running", steady(2))
        .await;
    w.wait_set("app", &blue_arn, "blue running", steady(2))
        .await;
    assert_eq!(w.tasks(Some("app"), DesiredStatus::Running).await.len(), 4);

    let err = w
        .ecs
        .update_service_primary_task_set()
        .cluster("c")
        .service("app")
        .primary_task_set("ecs-svc/1234567890123456789")
        .send()
        .await
        .expect_err("unknown set");
    assert_eq!(err.code(), Some("TaskSetNotFoundException"));
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_services_task_sets_are_listed_in_the_order_they_were_created() {
    let w = World::new().await;
    let td = w.task_definition("order", "").await;
    w.external_service("order", 0).await;
    let mut created = Vec::new();
    for _ in 0..5 {
        let set = w.task_set("order", &td, 0.0).await;
        created.push(set.task_set_arn().expect("arn").to_owned());
    }
    // Their ids are random: the order they sort in by ARN is a matter of chance (1 in 120).
    let described = w
        .ecs
        .describe_task_sets()
        .cluster("c")
        .service("order")
        .send()
        .await
        .expect("describe task sets");
    let listed: Vec<&str> = described
        .task_sets()
        .iter()
        .filter_map(|s| s.task_set_arn())
        .collect();
    assert_eq!(listed, created);
    let svc = w.service("order").await;
    let listed: Vec<&str> = svc
        .task_sets()
        .iter()
        .filter_map(|s| s.task_set_arn())
        .collect();
    assert_eq!(listed, created);
    w.server.shutdown().await;
}

#[tokio::test]
async fn task_sets_obey_the_rules_for_creating_describing_and_deleting() {
    let w = World::new().await;
    let td = w.task_definition("rules", "").await;

    // Only EXTERNAL (and CODE_DEPLOY) services have task sets.
    w.ecs
        .create_service()
        .cluster("c")
        .service_name("rolling")
        .task_definition(&td)
        .desired_count(0)
        .send()
        .await
        .expect("ECS service");
    let err = w
        .ecs
        .create_task_set()
        .cluster("c")
        .service("rolling")
        .task_definition(&td)
        .send()
        .await
        .expect_err("ECS controller");
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert_eq!(
        err.message(),
        Some(
            "Amazon ECS only supports task set management on services configured to use external deployment controllers."
        )
    );
    let err = w
        .ecs
        .create_task_set()
        .cluster("c")
        .service("nope")
        .task_definition(&td)
        .send()
        .await
        .expect_err("no service");
    assert_eq!(err.code(), Some("ServiceNotFoundException"));

    w.external_service("ext", 2).await;
    // Without a scale a set starts at 0 percent (as in AWS's CreateTaskSet example).
    let idle = w
        .ecs
        .create_task_set()
        .cluster("c")
        .service("ext")
        .task_definition(&td)
        .external_id("deploy-1")
        .tags(Tag::builder().key("team").value("blue").build())
        .client_token("token-1")
        .send()
        .await
        .expect("create")
        .task_set()
        .cloned()
        .expect("set");
    assert_eq!(idle.scale().map(|s| s.value()), Some(0.0));
    assert_eq!(idle.external_id(), Some("deploy-1"));
    let again = w
        .ecs
        .create_task_set()
        .cluster("c")
        .service("ext")
        .task_definition(&td)
        .client_token("token-1")
        .send()
        .await
        .expect("idempotent create");
    assert_eq!(again.task_set().and_then(|s| s.id()), idle.id());

    // DescribeTaskSets: TAGS on request, unknown sets as MISSING failures.
    let idle_arn = idle.task_set_arn().expect("arn").to_owned();
    let missing = "arn:aws:ecs:us-east-1:000000000000:task-set/c/ext/ecs-svc/1111111111111111111";
    let described = w
        .ecs
        .describe_task_sets()
        .cluster("c")
        .service("ext")
        .task_sets(&idle_arn)
        .task_sets(missing)
        .include(TaskSetField::Tags)
        .send()
        .await
        .expect("describe");
    assert_eq!(described.task_sets().len(), 1);
    assert_eq!(described.task_sets()[0].tags()[0].key(), Some("team"));
    assert_eq!(described.failures()[0].arn(), Some(missing));
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    let untagged = w.describe_set("ext", &idle_arn).await;
    assert!(untagged.tags().is_empty());
    w.ecs
        .tag_resource()
        .resource_arn(&idle_arn)
        .tags(Tag::builder().key("stage").value("canary").build())
        .send()
        .await
        .expect("tag a task set");
    let listed = w
        .ecs
        .list_tags_for_resource()
        .resource_arn(&idle_arn)
        .send()
        .await
        .expect("list task set tags");
    assert_eq!(listed.tags().len(), 2);
    let err = w
        .ecs
        .describe_task_sets()
        .cluster("c")
        .service("ext")
        .task_sets("arn:aws:ecs:us-east-1:000000000000:task/c/0123456789abcdef")
        .send()
        .await
        .expect_err("a task ARN is no task set id");
    assert_eq!(err.code(), Some("InvalidParameterException"));

    // A set scaled above 0 is deleted only with force; at 0 it goes without.
    let busy = w.task_set("ext", &td, 100.0).await;
    let busy_arn = busy.task_set_arn().expect("arn").to_owned();
    w.wait_set("ext", &busy_arn, "2 tasks", steady(2)).await;
    let err = w
        .ecs
        .delete_task_set()
        .cluster("c")
        .service("ext")
        .task_set(&busy_arn)
        .send()
        .await
        .expect_err("scaled above 0");
    assert_eq!(err.code(), Some("InvalidParameterException"));
    let deleted = w
        .ecs
        .delete_task_set()
        .cluster("c")
        .service("ext")
        .task_set(&busy_arn)
        .force(true)
        .send()
        .await
        .expect("forced delete");
    assert_eq!(
        deleted.task_set().and_then(|s| s.status()),
        Some("DRAINING")
    );
    let d = wait_for(
        "the deleted set to go",
        || {
            w.ecs
                .describe_task_sets()
                .cluster("c")
                .service("ext")
                .task_sets(&busy_arn)
                .send()
        },
        |d| d.as_ref().is_ok_and(|d| d.task_sets().is_empty()),
    )
    .await
    .expect("describe");
    assert_eq!(d.failures()[0].reason(), Some("MISSING"));
    assert!(
        w.tasks(Some("ext"), DesiredStatus::Running)
            .await
            .is_empty()
    );
    let stopped = w.tasks(Some("ext"), DesiredStatus::Stopped).await;
    assert_eq!(stopped.len(), 2);
    assert!(stopped.iter().all(|t| t.last_status() == Some("STOPPED")));
    w.ecs
        .delete_task_set()
        .cluster("c")
        .service("ext")
        .task_set(&idle_arn)
        .send()
        .await
        .expect("delete a set at 0 percent");
    let err = w
        .ecs
        .update_task_set()
        .cluster("c")
        .service("ext")
        .task_set("ecs-svc/2222222222222222222")
        .scale(percent_scale(10.0))
        .send()
        .await
        .expect_err("unknown set");
    assert_eq!(err.code(), Some("TaskSetNotFoundException"));
    let err = w
        .ecs
        .update_task_set()
        .cluster("c")
        .service("ext")
        .task_set(idle.id().expect("id"))
        .scale(percent_scale(150.0))
        .send()
        .await
        .expect_err("above 100 percent");
    assert_eq!(err.code(), Some("InvalidParameterException"));

    // At most five task sets per service.
    for _ in 0..5 {
        w.task_set("ext", &td, 0.0).await;
    }
    let err = w
        .ecs
        .create_task_set()
        .cluster("c")
        .service("ext")
        .task_definition(&td)
        .send()
        .await
        .expect_err("sixth set");
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert!(
        err.message()
            .unwrap_or("")
            .contains("exceeds the maximum limit"),
        "{err:?}"
    );
    w.server.shutdown().await;
}

#[tokio::test]
async fn protected_tasks_survive_a_scale_in() {
    let w = World::new().await;
    let td = w.task_definition("guarded", "").await;
    w.ecs
        .create_service()
        .cluster("c")
        .service_name("guarded")
        .task_definition(&td)
        .desired_count(3)
        .send()
        .await
        .expect("create service");
    let tasks = wait_for(
        "3 running tasks",
        || w.tasks(Some("guarded"), DesiredStatus::Running),
        |tasks| tasks.len() == 3 && tasks.iter().all(|t| t.last_status() == Some("RUNNING")),
    )
    .await;
    let arns: Vec<String> = tasks
        .iter()
        .map(|t| t.task_arn().expect("arn").to_owned())
        .collect();
    let (kept, spare) = (&arns[..2], &arns[2]);

    // Protect two: 120 minutes unless told otherwise.
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let out = w
        .ecs
        .update_task_protection()
        .cluster("c")
        .tasks(&kept[0])
        .tasks(kept[1].rsplit('/').next().expect("id"))
        .protection_enabled(true)
        .send()
        .await
        .expect("protect");
    assert!(out.failures().is_empty(), "{out:?}");
    assert_eq!(out.protected_tasks().len(), 2);
    for p in out.protected_tasks() {
        assert!(p.protection_enabled());
        let expiry = p.expiration_date().expect("expiry").as_secs_f64();
        assert!(
            (expiry - before - 7200.0).abs() < 60.0,
            "expires in about 2 hours: {expiry} vs {before}"
        );
    }
    let got = w
        .ecs
        .get_task_protection()
        .cluster("c")
        .tasks(&kept[0])
        .tasks(spare)
        .tasks("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .expect("get protection");
    assert_eq!(got.protected_tasks().len(), 2);
    assert!(got.protected_tasks()[0].protection_enabled());
    assert!(!got.protected_tasks()[1].protection_enabled());
    assert!(got.protected_tasks()[1].expiration_date().is_none());
    assert_eq!(got.failures()[0].reason(), Some("MISSING"));

    // Out of range, and a standalone task, are refused.
    let err = w
        .ecs
        .update_task_protection()
        .cluster("c")
        .tasks(spare)
        .protection_enabled(true)
        .expires_in_minutes(2881)
        .send()
        .await
        .expect_err("too long");
    assert_eq!(err.code(), Some("InvalidParameterException"));
    let standalone = w.running_task(&td, false).await;
    let out = w
        .ecs
        .update_task_protection()
        .cluster("c")
        .tasks(standalone.task_arn().expect("arn"))
        .protection_enabled(true)
        .expires_in_minutes(5)
        .send()
        .await
        .expect("standalone");
    assert!(out.protected_tasks().is_empty());
    assert_eq!(out.failures()[0].reason(), Some("TASK_NOT_VALID"));

    // Scale in to 1: only the unprotected task may go, so two stay.
    w.ecs
        .update_service()
        .cluster("c")
        .service("guarded")
        .desired_count(1)
        .send()
        .await
        .expect("scale in");
    w.wait_task(spare, "the unprotected task to stop", |t| {
        t.last_status() == Some("STOPPED")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let left: Vec<String> = w
        .tasks(Some("guarded"), DesiredStatus::Running)
        .await
        .iter()
        .map(|t| t.task_arn().expect("arn").to_owned())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(kept.iter().all(|k| left.contains(k)));

    // Lifting protection from one lets the scheduler finish the scale-in.
    w.ecs
        .update_task_protection()
        .cluster("c")
        .tasks(&kept[1])
        .protection_enabled(false)
        .send()
        .await
        .expect("unprotect");
    w.wait_task(&kept[1], "the unprotected task to stop", |t| {
        t.last_status() == Some("STOPPED")
    })
    .await;
    let left = w.tasks(Some("guarded"), DesiredStatus::Running).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].task_arn(), Some(kept[0].as_str()));

    // Protection guards against scale-in, not against deleting the service.
    w.ecs
        .delete_service()
        .cluster("c")
        .service("guarded")
        .force(true)
        .send()
        .await
        .expect("delete service");
    w.wait_task(
        &kept[0],
        "the protected task to stop with its service",
        |t| t.last_status() == Some("STOPPED"),
    )
    .await;
    w.server.shutdown().await;
}

#[tokio::test]
async fn agent_reports_are_acknowledged_and_show_in_the_task() {
    let w = World::new().await;
    let td = w.task_definition("agent", "").await;
    let task = w.running_task(&td, true).await;
    let arn = task.task_arn().expect("arn").to_owned();

    let ack = w
        .ecs
        .submit_container_state_change()
        .cluster("c")
        .task(&arn)
        .container_name("app")
        .runtime_id("agent-runtime-id")
        .status("RUNNING")
        .send()
        .await
        .expect("container state change");
    assert_eq!(ack.acknowledgment(), Some("ACK"));
    let ack = w
        .ecs
        .submit_task_state_change()
        .cluster("c")
        .task(&arn)
        .status("RUNNING")
        .containers(
            ContainerStateChange::builder()
                .container_name("app")
                .image_digest("sha256:0123")
                .build(),
        )
        .managed_agents(
            ManagedAgentStateChange::builder()
                .container_name("app")
                .managed_agent_name(ManagedAgentName::ExecuteCommandAgent)
                .status("RUNNING")
                .build()
                .expect("managed agent"),
        )
        .send()
        .await
        .expect("task state change");
    assert_eq!(ack.acknowledgment(), Some("ACK"));
    let t = w.task(&arn).await;
    let c = &t.containers()[0];
    assert_eq!(c.runtime_id(), Some("agent-runtime-id"));
    assert_eq!(c.image_digest(), Some("sha256:0123"));
    assert_eq!(
        c.managed_agents()[0].last_status(),
        Some("RUNNING"),
        "{c:?}"
    );

    let err = w
        .ecs
        .submit_container_state_change()
        .cluster("c")
        .task(&arn)
        .container_name("ghost")
        .status("RUNNING")
        .send()
        .await
        .expect_err("unknown container");
    assert_eq!(err.code(), Some("InvalidParameterException"));
    let err = w
        .ecs
        .submit_task_state_change()
        .cluster("c")
        .task("0123456789abcdef0123456789abcdef")
        .status("RUNNING")
        .send()
        .await
        .expect_err("unknown task");
    assert_eq!(err.code(), Some("InvalidParameterException"));
    let err = w
        .ecs
        .submit_task_state_change()
        .cluster("nowhere")
        .task(&arn)
        .status("RUNNING")
        .send()
        .await
        .expect_err("unknown cluster");
    assert_eq!(err.code(), Some("ClusterNotFoundException"));

    // The agent saying the task stopped stops it, with the agent's reason.
    w.ecs
        .submit_task_state_change()
        .cluster("c")
        .task(&arn)
        .status("STOPPED")
        .reason("the agent saw it go")
        .send()
        .await
        .expect("stopped");
    let t = w
        .wait_task(&arn, "STOPPED", |t| t.last_status() == Some("STOPPED"))
        .await;
    assert_eq!(t.stopped_reason(), Some("the agent saw it go"));
    assert_eq!(
        t.stop_code().map(|c| c.as_str()),
        Some("EssentialContainerExited")
    );
    w.server.shutdown().await;
}

#[tokio::test]
async fn attachment_reports_poll_endpoints_and_agent_updates_answer_as_for_the_agent() {
    let w = World::new().await;
    let registered = w
        .ecs
        .register_task_definition()
        .family("eni")
        .network_mode(NetworkMode::Awsvpc)
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("busybox")
                .memory(64)
                .build(),
        )
        .send()
        .await
        .expect("register awsvpc");
    let td = registered
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn");
    let run = w
        .ecs
        .run_task()
        .cluster("c")
        .task_definition(td)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets("subnet-0123")
                        .build()
                        .expect("vpc"),
                )
                .build(),
        )
        .send()
        .await
        .expect("run awsvpc task");
    let arn = run.tasks()[0].task_arn().expect("arn").to_owned();
    let t = w
        .wait_task(&arn, "RUNNING", |t| t.last_status() == Some("RUNNING"))
        .await;
    let attachment = t.attachments()[0].id().expect("attachment id").to_owned();
    let ack = w
        .ecs
        .submit_attachment_state_changes()
        .cluster("c")
        .attachments(
            AttachmentStateChange::builder()
                .attachment_arn(format!(
                    "arn:aws:ecs:us-east-1:000000000000:attachment/{attachment}"
                ))
                .status("DETACHING")
                .build()
                .expect("attachment change"),
        )
        .send()
        .await
        .expect("attachment state changes");
    assert_eq!(ack.acknowledgment(), Some("ACK"));
    assert_eq!(
        w.task(&arn).await.attachments()[0].status(),
        Some("DETACHING")
    );
    // One berth does not know (an agent also reports ENIs it manages itself) is acknowledged.
    let ack = w
        .ecs
        .submit_attachment_state_changes()
        .cluster("c")
        .attachments(
            AttachmentStateChange::builder()
                .attachment_arn("arn:aws:ecs:us-east-1:000000000000:attachment/nope")
                .status("ATTACHED")
                .build()
                .expect("attachment change"),
        )
        .send()
        .await
        .expect("unknown attachment");
    assert_eq!(ack.acknowledgment(), Some("ACK"));
    assert_eq!(
        w.task(&arn).await.attachments()[0].status(),
        Some("DETACHING")
    );

    let poll = w
        .ecs
        .discover_poll_endpoint()
        .cluster("c")
        .send()
        .await
        .expect("discover poll endpoint");
    assert_eq!(
        poll.endpoint(),
        Some("https://ecs-a-1.us-east-1.amazonaws.com/")
    );
    assert_eq!(
        poll.telemetry_endpoint(),
        Some("https://ecs-t-1.us-east-1.amazonaws.com/")
    );
    assert!(poll.service_connect_endpoint().is_some());

    // berth's instances run berth's own agent build: AWS cannot update such an agent.
    let instance = w
        .ecs
        .list_container_instances()
        .cluster("c")
        .send()
        .await
        .expect("list instances")
        .container_instance_arns()[0]
        .clone();
    let err = w
        .ecs
        .update_container_agent()
        .cluster("c")
        .container_instance(&instance)
        .send()
        .await
        .expect_err("custom agent");
    assert_eq!(err.code(), Some("MissingVersionException"));
    let err = w
        .ecs
        .update_container_agent()
        .cluster("c")
        .container_instance("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .expect_err("unknown instance");
    assert_eq!(err.code(), Some("InvalidParameterException"));
    w.server.shutdown().await;
}

#[tokio::test]
async fn execute_command_opens_a_session_only_where_exec_is_enabled() {
    let w = World::new().await;
    let td = w.task_definition("exec", "").await;
    let task = w.running_task(&td, true).await;
    let arn = task.task_arn().expect("arn").to_owned();
    let out = w
        .ecs
        .execute_command()
        .cluster("c")
        .task(&arn)
        .command("/bin/sh")
        .interactive(true)
        .send()
        .await
        .expect("execute command");
    assert_eq!(
        out.cluster_arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:cluster/c")
    );
    assert_eq!(out.task_arn(), Some(arn.as_str()));
    assert_eq!(out.container_name(), Some("app"));
    assert_eq!(out.container_arn(), task.containers()[0].container_arn());
    assert!(out.interactive());
    let session = out.session().expect("session");
    let id = session.session_id().expect("session id");
    assert!(id.starts_with("ecs-execute-command-"), "{id}");
    assert!(
        session
            .stream_url()
            .expect("stream url")
            .starts_with(&format!(
                "wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/{id}"
            )),
        "{session:?}"
    );
    assert!(!session.token_value().expect("token").is_empty());

    let err = w
        .ecs
        .execute_command()
        .cluster("c")
        .task(&arn)
        .command("ls")
        .interactive(false)
        .send()
        .await
        .expect_err("non-interactive");
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert_eq!(
        err.message(),
        Some("Interactive is the only mode supported currently.")
    );

    let plain = w.running_task(&td, false).await;
    let err = w
        .ecs
        .execute_command()
        .cluster("c")
        .task(plain.task_arn().expect("arn"))
        .command("/bin/sh")
        .interactive(true)
        .send()
        .await
        .expect_err("exec not enabled");
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert!(
        err.message()
            .unwrap_or("")
            .starts_with("The execute command failed because execute command was not enabled"),
        "{err:?}"
    );

    // The agent reports its ExecuteCommandAgent down: the session cannot connect.
    w.ecs
        .submit_task_state_change()
        .cluster("c")
        .task(&arn)
        .managed_agents(
            ManagedAgentStateChange::builder()
                .container_name("app")
                .managed_agent_name(ManagedAgentName::ExecuteCommandAgent)
                .status("STOPPED")
                .reason("SSM agent exited")
                .build()
                .expect("managed agent"),
        )
        .send()
        .await
        .expect("managed agent down");
    let err = w
        .ecs
        .execute_command()
        .cluster("c")
        .task(&arn)
        .command("/bin/sh")
        .interactive(true)
        .send()
        .await
        .expect_err("agent down");
    assert_eq!(err.code(), Some("TargetNotConnectedException"));
    w.server.shutdown().await;
}
