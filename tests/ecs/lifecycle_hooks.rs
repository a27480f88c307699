//! Deployment lifecycle stages and PAUSE hooks: a blue/green deployment starts its new revision
//! beside the old one and waits at a PAUSE hook until ContinueServiceDeployment says CONTINUE
//! (the old revision goes) or ROLLBACK (the old revision, with its very tasks, stays). Told
//! through the official Rust SDK against `berth::Server` with the in-memory executor.

use crate::common::{World, code, wait_for};
use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentLifecycleHook, DeploymentLifecycleHookAction,
    DeploymentLifecycleHookStage, DeploymentLifecycleHookStatus, DeploymentLifecycleHookTargetType,
    DeploymentStrategy, DesiredStatus, ServiceDeployment, ServiceDeploymentLifecycleStage,
    ServiceDeploymentStatus,
};

fn pause_at(stage: DeploymentLifecycleHookStage) -> DeploymentLifecycleHook {
    DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::Pause)
        .lifecycle_stages(stage)
        .build()
}

fn config(strategy: DeploymentStrategy, hook: DeploymentLifecycleHook) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .strategy(strategy)
        .bake_time_in_minutes(0)
        .lifecycle_hooks(hook)
        .build()
}

impl World {
    async fn create_with(&self, name: &str, td: &str, config: DeploymentConfiguration) {
        self.ecs
            .create_service()
            .cluster("c")
            .service_name(name)
            .task_definition(td)
            .desired_count(2)
            .deployment_configuration(config)
            .send()
            .await
            .expect("create service");
    }

    async fn newest_deployment(&self, name: &str) -> ServiceDeployment {
        let arn = self
            .ecs
            .list_service_deployments()
            .cluster("c")
            .service(name)
            .send()
            .await
            .expect("list service deployments")
            .service_deployments()
            .first()
            .and_then(|d| d.service_deployment_arn())
            .expect("a service deployment")
            .to_owned();
        self.service_deployment(&arn).await
    }

    /// Waits for the newest deployment of `name` to pause at `stage`; returns it and its hook id.
    async fn paused_at(
        &self,
        name: &str,
        stage: ServiceDeploymentLifecycleStage,
    ) -> (ServiceDeployment, String) {
        let d = wait_for(
            &format!("a hook awaiting action at {stage:?}"),
            || self.newest_deployment(name),
            |d| {
                d.lifecycle_stage() == Some(&stage)
                    && d.lifecycle_hook_details()
                        .iter()
                        .any(|h| h.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction))
            },
        )
        .await;
        let hook = d
            .lifecycle_hook_details()
            .iter()
            .find(|h| h.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction))
            .and_then(|h| h.hook_id())
            .expect("hook id")
            .to_owned();
        (d, hook)
    }

    async fn wait_deployment(
        &self,
        name: &str,
        status: ServiceDeploymentStatus,
    ) -> ServiceDeployment {
        wait_for(
            &format!("{status:?}"),
            || self.newest_deployment(name),
            |d| d.status() == Some(&status),
        )
        .await
    }

    async fn go_on(
        &self,
        d: &ServiceDeployment,
        hook: &str,
        action: Option<DeploymentLifecycleHookAction>,
    ) {
        let out = self
            .ecs
            .continue_service_deployment()
            .service_deployment_arn(d.service_deployment_arn().expect("arn"))
            .hook_id(hook)
            .set_action(action)
            .send()
            .await
            .expect("continue service deployment");
        assert_eq!(out.service_deployment_arn(), d.service_deployment_arn());
    }

    /// ContinueServiceDeployment that must fail: its error code.
    async fn refused(&self, deployment: &str, hook: &str) -> String {
        let err = self
            .ecs
            .continue_service_deployment()
            .service_deployment_arn(deployment)
            .hook_id(hook)
            .send()
            .await
            .expect_err("ContinueServiceDeployment refused");
        code(&err)
    }

    /// The task definitions of the service's tasks that should run, with their ARNs, sorted.
    async fn running(&self, name: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .tasks(Some(name), DesiredStatus::Running)
            .await
            .iter()
            .map(|t| {
                (
                    t.task_definition_arn().unwrap_or("").to_owned(),
                    t.task_arn().unwrap_or("").to_owned(),
                )
            })
            .collect();
        out.sort();
        out
    }
}

fn of(tasks: &[(String, String)], td: &str) -> usize {
    tasks.iter().filter(|(d, _)| d == td).count()
}

#[tokio::test]
async fn a_pause_hook_holds_a_blue_green_deployment_until_continued() {
    let w = World::new().await;
    let v1 = w.task_definition("bg", "").await;
    let v2 = w.task_definition("bg", "").await;
    let hook = pause_at(DeploymentLifecycleHookStage::PostScaleUp);
    w.create_with("bg", &v1, config(DeploymentStrategy::BlueGreen, hook))
        .await;

    // The first deployment pauses too, once its tasks run.
    let (first, id) = w
        .paused_at("bg", ServiceDeploymentLifecycleStage::PostScaleUp)
        .await;
    assert_eq!(first.status(), Some(&ServiceDeploymentStatus::InProgress));
    let h = &first.lifecycle_hook_details()[0];
    assert!(id.starts_with("ecs-pause-"), "{id}");
    assert_eq!(
        h.target_type(),
        Some(&DeploymentLifecycleHookTargetType::Pause)
    );
    assert_eq!(
        h.timeout_action(),
        Some(&DeploymentLifecycleHookAction::Rollback)
    );
    assert!(h.target_arn().is_none());
    let expires = h.expires_at().expect("expiresAt").secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!(
        (expires - now - 86_400).abs() < 60,
        "24 h by default: {expires} vs {now}"
    );
    w.go_on(&first, &id, None).await;
    let done = w
        .wait_deployment("bg", ServiceDeploymentStatus::Successful)
        .await;
    assert_eq!(
        done.lifecycle_stage(),
        Some(&ServiceDeploymentLifecycleStage::CleanUp)
    );
    assert_eq!(
        done.lifecycle_hook_details()[0].status(),
        Some(&DeploymentLifecycleHookStatus::Succeeded)
    );

    // The new revision runs in full beside the old one while the hook waits.
    let blue = w.running("bg").await;
    assert_eq!(of(&blue, &v1), 2);
    w.ecs
        .update_service()
        .cluster("c")
        .service("bg")
        .task_definition(&v2)
        .send()
        .await
        .expect("update service");
    let (second, id) = w
        .paused_at("bg", ServiceDeploymentLifecycleStage::PostScaleUp)
        .await;
    let both = wait_for("blue and green", || w.running("bg"), |t| of(t, &v2) == 2).await;
    assert_eq!(
        of(&both, &v1),
        2,
        "blue stays while the hook waits: {both:?}"
    );
    assert!(both.iter().filter(|(d, _)| *d == v1).eq(blue.iter()));
    let s = w.service("bg").await;
    assert_eq!(s.deployments().len(), 2);

    // Acting twice, or on an unknown hook, is a client error; nothing moves.
    assert_eq!(
        w.refused(
            second.service_deployment_arn().expect("arn"),
            "ecs-pause-nope"
        )
        .await,
        "InvalidParameterException",
        "unknown hook"
    );
    w.go_on(&second, &id, Some(DeploymentLifecycleHookAction::Continue))
        .await;
    assert_eq!(
        w.refused(second.service_deployment_arn().expect("arn"), &id)
            .await,
        "InvalidParameterException",
        "continue twice"
    );

    // CONTINUE: bake time 0, then clean up takes the blue tasks away.
    w.wait_deployment("bg", ServiceDeploymentStatus::Successful)
        .await;
    let green = wait_for("blue gone", || w.running("bg"), |t| of(t, &v1) == 0).await;
    assert_eq!(of(&green, &v2), 2);
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_rollback_at_a_pause_hook_keeps_the_old_tasks() {
    let w = World::new().await;
    let v1 = w.task_definition("rb", "").await;
    let v2 = w.task_definition("rb", "").await;
    let hook = pause_at(DeploymentLifecycleHookStage::PostTestTrafficShift);
    w.create_with("rb", &v1, config(DeploymentStrategy::BlueGreen, hook))
        .await;
    let (first, id) = w
        .paused_at("rb", ServiceDeploymentLifecycleStage::PostTestTrafficShift)
        .await;
    w.go_on(&first, &id, None).await;
    w.wait_deployment("rb", ServiceDeploymentStatus::Successful)
        .await;
    let blue = w.running("rb").await;

    w.ecs
        .update_service()
        .cluster("c")
        .service("rb")
        .task_definition(&v2)
        .send()
        .await
        .expect("update service");
    let (second, id) = w
        .paused_at("rb", ServiceDeploymentLifecycleStage::PostTestTrafficShift)
        .await;
    w.go_on(&second, &id, Some(DeploymentLifecycleHookAction::Rollback))
        .await;
    let d = w
        .wait_deployment("rb", ServiceDeploymentStatus::RollbackSuccessful)
        .await;
    assert_eq!(
        d.lifecycle_hook_details()[0].status(),
        Some(&DeploymentLifecycleHookStatus::Failed)
    );
    assert!(
        d.rollback()
            .and_then(|r| r.service_revision_arn())
            .is_some()
    );
    let after = wait_for("green gone", || w.running("rb"), |t| of(t, &v2) == 0).await;
    assert_eq!(after, blue, "the blue tasks themselves kept running");
    assert_eq!(w.service("rb").await.task_definition(), Some(v1.as_str()));
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_pre_scale_up_pause_starts_nothing_until_continued() {
    let w = World::new().await;
    let v1 = w.task_definition("ro", "").await;
    let v2 = w.task_definition("ro", "").await;
    w.ecs
        .create_service()
        .cluster("c")
        .service_name("ro")
        .task_definition(&v1)
        .desired_count(2)
        .send()
        .await
        .expect("create service");
    let ready = w
        .wait_deployment("ro", ServiceDeploymentStatus::Successful)
        .await;
    assert!(
        ready.lifecycle_stage().is_none(),
        "a plain rolling deployment has no stages"
    );
    w.ecs
        .update_service()
        .cluster("c")
        .service("ro")
        .task_definition(&v2)
        .deployment_configuration(config(
            DeploymentStrategy::Rolling,
            pause_at(DeploymentLifecycleHookStage::PreScaleUp),
        ))
        .send()
        .await
        .expect("update service");
    let (d, id) = w
        .paused_at("ro", ServiceDeploymentLifecycleStage::PreScaleUp)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let held = w.running("ro").await;
    assert_eq!((of(&held, &v1), of(&held, &v2)), (2, 0), "{held:?}");
    w.go_on(&d, &id, None).await;
    let done = w
        .wait_deployment("ro", ServiceDeploymentStatus::Successful)
        .await;
    assert_eq!(
        done.lifecycle_stage(),
        Some(&ServiceDeploymentLifecycleStage::CleanUp)
    );
    let rolled = wait_for("rolled", || w.running("ro"), |t| of(t, &v1) == 0).await;
    assert_eq!(of(&rolled, &v2), 2);

    // The deployment is over: its hook can no longer be acted on.
    assert_eq!(
        w.refused(d.service_deployment_arn().expect("arn"), &id)
            .await,
        "InvalidParameterException",
        "continue a finished deployment"
    );
    assert_eq!(
        w.refused(
            "arn:aws:ecs:us-east-1:000000000000:service-deployment/c/ro/nope",
            &id
        )
        .await,
        "ServiceDeploymentNotFoundException",
        "unknown deployment"
    );
    w.server.shutdown().await;
}

#[tokio::test]
async fn invalid_hooks_are_refused_and_create_nothing() {
    let w = World::new().await;
    let v1 = w.task_definition("bad", "").await;
    let lambda_without_role = DeploymentLifecycleHook::builder()
        .hook_target_arn("arn:aws:lambda:us-east-1:000000000000:function:check")
        .lifecycle_stages(DeploymentLifecycleHookStage::PreScaleUp)
        .build();
    let no_stage = DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::Pause)
        .build();
    for hook in [lambda_without_role, no_stage] {
        let err = w
            .ecs
            .create_service()
            .cluster("c")
            .service_name("bad")
            .task_definition(&v1)
            .desired_count(1)
            .deployment_configuration(config(DeploymentStrategy::BlueGreen, hook))
            .send()
            .await
            .expect_err("invalid hook");
        assert_eq!(code(&err), "InvalidParameterException");
    }
    let listed = w
        .ecs
        .list_services()
        .cluster("c")
        .send()
        .await
        .expect("list services");
    assert!(listed.service_arns().is_empty());
    w.server.shutdown().await;
}
