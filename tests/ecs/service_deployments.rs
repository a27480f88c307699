//! Service deployments and service revisions, the history ECS keeps of a service's rollouts:
//! every deployment gets a revision and a service deployment that ends SUCCESSFUL, STOPPED or
//! ROLLBACK_*; DescribeServices points at the current one. Told through the official Rust SDK
//! against `berth::Server` with the in-memory executor.

use crate::common::{World, code, wait_for};
use aws_sdk_ecs::types::{
    CreatedAt, DeploymentCircuitBreaker, DeploymentConfiguration, ServiceDeployment,
    ServiceDeploymentBrief, ServiceDeploymentRollbackMonitorsStatus, ServiceDeploymentStatus,
    StopServiceDeploymentStopType,
};

impl World {
    async fn create(&self, name: &str, td: &str, breaker: Option<bool>) {
        let mut req = self
            .ecs
            .create_service()
            .cluster("c")
            .service_name(name)
            .task_definition(td)
            .desired_count(2);
        if let Some(rollback) = breaker {
            req = req.deployment_configuration(
                DeploymentConfiguration::builder()
                    .deployment_circuit_breaker(
                        DeploymentCircuitBreaker::builder()
                            .enable(true)
                            .rollback(rollback)
                            .build(),
                    )
                    .build(),
            );
        }
        req.send().await.expect("create service");
    }

    async fn deploy(&self, name: &str, td: &str) {
        self.ecs
            .update_service()
            .cluster("c")
            .service(name)
            .task_definition(td)
            .send()
            .await
            .expect("update service");
    }

    /// The service's deployments, newest first.
    async fn list(&self, name: &str) -> Vec<ServiceDeploymentBrief> {
        self.ecs
            .list_service_deployments()
            .cluster("c")
            .service(name)
            .send()
            .await
            .expect("list service deployments")
            .service_deployments()
            .to_vec()
    }

    async fn revision_task_definition(&self, arn: &str) -> String {
        self.ecs
            .describe_service_revisions()
            .service_revision_arns(arn)
            .send()
            .await
            .expect("describe service revisions")
            .service_revisions()
            .first()
            .and_then(|r| r.task_definition())
            .expect("revision")
            .to_owned()
    }

    /// Polls until the newest service deployment of `name` has `status`.
    async fn wait_status(&self, name: &str, status: ServiceDeploymentStatus) -> ServiceDeployment {
        let newest = wait_for(
            &format!("{status:?}"),
            || self.list(name),
            |newest| newest.first().and_then(|d| d.status()) == Some(&status),
        )
        .await;
        self.service_deployment(newest[0].service_deployment_arn().expect("arn"))
            .await
    }
}

fn status(d: &ServiceDeploymentBrief) -> &str {
    d.status().map(|s| s.as_str()).unwrap_or("")
}

fn target(d: &ServiceDeployment) -> &str {
    d.target_service_revision()
        .and_then(|t| t.arn())
        .unwrap_or("")
}

#[tokio::test]
async fn an_update_records_a_revision_and_a_successful_service_deployment() {
    let w = World::new().await;
    let v1 = w.task_definition("web", "").await;
    let v2 = w.task_definition("web", "").await;
    w.create("web", &v1, None).await;
    let first = w
        .wait_status("web", ServiceDeploymentStatus::Successful)
        .await;
    let first_arn = first.service_deployment_arn().expect("arn").to_owned();
    assert!(
        first_arn.starts_with("arn:aws:ecs:us-east-1:")
            && first_arn.contains(":service-deployment/c/web/"),
        "{first_arn}"
    );
    assert!(
        first.source_service_revisions().is_empty(),
        "a new service has no source"
    );
    let rev1 = target(&first).to_owned();
    assert!(rev1.contains(":service-revision/c/web/"), "{rev1}");
    assert_eq!(w.revision_task_definition(&rev1).await, v1);
    assert!(first.started_at().is_some() && first.finished_at().is_some());
    assert_eq!(
        first.deployment_circuit_breaker().and_then(|c| c.status()),
        Some(&ServiceDeploymentRollbackMonitorsStatus::Disabled)
    );

    // The revision's id is the number of the ecs-svc deployment DescribeServices shows.
    let s = w.service("web").await;
    let primary = s.deployments()[0].id().expect("id");
    assert!(
        rev1.ends_with(primary.trim_start_matches("ecs-svc/")),
        "{rev1} vs {primary}"
    );
    assert_eq!(s.current_service_deployment(), Some(first_arn.as_str()));
    let current = s.current_service_revisions();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].arn(), Some(rev1.as_str()));
    assert_eq!(
        (
            current[0].requested_task_count(),
            current[0].running_task_count()
        ),
        (2, 2)
    );

    let before_update = aws_sdk_ecs::primitives::DateTime::from(std::time::SystemTime::now());
    w.deploy("web", &v2).await;
    let listed = w.list("web").await;
    assert_eq!(listed.len(), 2);
    assert_ne!(
        listed[0].service_deployment_arn(),
        Some(first_arn.as_str()),
        "newest first"
    );
    assert!(
        matches!(status(&listed[0]), "PENDING" | "IN_PROGRESS"),
        "{listed:#?}"
    );

    let second = w
        .wait_status("web", ServiceDeploymentStatus::Successful)
        .await;
    let second_arn = second.service_deployment_arn().expect("arn").to_owned();
    let rev2 = target(&second).to_owned();
    assert_ne!(rev2, rev1);
    assert_eq!(w.revision_task_definition(&rev2).await, v2);
    let sources: Vec<&str> = second
        .source_service_revisions()
        .iter()
        .filter_map(|r| r.arn())
        .collect();
    assert_eq!(sources, vec![rev1.as_str()]);
    let t = second.target_service_revision().expect("target");
    assert_eq!((t.requested_task_count(), t.running_task_count()), (2, 2));

    let s = w.service("web").await;
    assert_eq!(s.current_service_deployment(), Some(second_arn.as_str()));
    let current: Vec<&str> = s
        .current_service_revisions()
        .iter()
        .filter_map(|r| r.arn())
        .collect();
    assert_eq!(current, vec![rev2.as_str()]);

    // Filters and pages.
    let successful = w
        .ecs
        .list_service_deployments()
        .cluster("c")
        .service("web")
        .status(ServiceDeploymentStatus::Successful)
        .send()
        .await
        .expect("list by status");
    assert_eq!(successful.service_deployments().len(), 2);
    let stopped = w
        .ecs
        .list_service_deployments()
        .cluster("c")
        .service("web")
        .status(ServiceDeploymentStatus::Stopped)
        .send()
        .await
        .expect("list stopped");
    assert!(stopped.service_deployments().is_empty());
    let recent = w
        .ecs
        .list_service_deployments()
        .cluster("c")
        .service("web")
        .created_at(CreatedAt::builder().after(before_update).build())
        .send()
        .await
        .expect("list by createdAt");
    let recent: Vec<&str> = recent
        .service_deployments()
        .iter()
        .filter_map(|d| d.service_deployment_arn())
        .collect();
    assert_eq!(recent, vec![second_arn.as_str()]);
    let page = w
        .ecs
        .list_service_deployments()
        .cluster("c")
        .service("web")
        .max_results(1)
        .send()
        .await
        .expect("first page");
    assert_eq!(page.service_deployments().len(), 1);
    let next = w
        .ecs
        .list_service_deployments()
        .cluster("c")
        .service("web")
        .max_results(1)
        .next_token(page.next_token().expect("more"))
        .send()
        .await
        .expect("second page");
    assert_eq!(
        next.service_deployments()[0].service_deployment_arn(),
        Some(first_arn.as_str())
    );
    assert!(next.next_token().is_none());

    // Unknown ARNs are failures, not errors.
    let ghost = "arn:aws:ecs:us-east-1:000000000000:service-deployment/c/web/nope";
    let out = w
        .ecs
        .describe_service_deployments()
        .service_deployment_arns(ghost)
        .service_deployment_arns(&first_arn)
        .send()
        .await
        .expect("describe with a ghost");
    assert_eq!(out.service_deployments().len(), 1);
    assert_eq!(out.failures()[0].arn(), Some(ghost));
    assert_eq!(out.failures()[0].reason(), Some("MISSING"));
    let out = w
        .ecs
        .describe_service_revisions()
        .service_revision_arns("arn:aws:ecs:us-east-1:000000000000:service-revision/c/web/1")
        .send()
        .await
        .expect("describe a ghost revision");
    assert!(out.service_revisions().is_empty());
    assert_eq!(out.failures()[0].reason(), Some("MISSING"));

    // A finished deployment can't be stopped; an unknown one isn't found.
    let err = w
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(&second_arn)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .expect_err("stop a finished deployment");
    assert_eq!(code(&err), "ConflictException");
    let err = w
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(ghost)
        .send()
        .await
        .expect_err("stop a ghost");
    assert_eq!(code(&err), "ServiceDeploymentNotFoundException");
    let err = w
        .ecs
        .list_service_deployments()
        .cluster("c")
        .service("nope")
        .send()
        .await
        .expect_err("list for a ghost service");
    assert_eq!(code(&err), "ServiceNotFoundException");
    // A deployment without lifecycle hooks has none to continue.
    let err = w
        .ecs
        .continue_service_deployment()
        .service_deployment_arn(&second_arn)
        .hook_id("h-1")
        .send()
        .await
        .expect_err("continue without a paused hook");
    assert_eq!(code(&err), "InvalidParameterException");
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_circuit_breaker_rollback_ends_rollback_successful_on_the_old_revision() {
    let w = World::new().await;
    let good = w.task_definition("cb", "").await;
    let bad = w.task_definition("cb", "exit=1 after=10ms").await;
    w.create("cb", &good, Some(true)).await;
    let first = w
        .wait_status("cb", ServiceDeploymentStatus::Successful)
        .await;
    let good_rev = target(&first).to_owned();
    w.deploy("cb", &bad).await;
    let d = w
        .wait_status("cb", ServiceDeploymentStatus::RollbackSuccessful)
        .await;
    let bad_rev = target(&d).to_owned();
    assert_ne!(bad_rev, good_rev);
    assert_eq!(w.revision_task_definition(&bad_rev).await, bad);
    assert!(
        d.status_reason().unwrap_or("").contains("circuit breaker"),
        "{d:#?}"
    );
    let rollback = d.rollback().expect("rollback");
    assert_eq!(rollback.service_revision_arn(), Some(good_rev.as_str()));
    assert!(rollback.started_at().is_some());
    let cb = d.deployment_circuit_breaker().expect("circuit breaker");
    assert_eq!(
        cb.status(),
        Some(&ServiceDeploymentRollbackMonitorsStatus::Triggered)
    );
    assert_eq!(cb.threshold(), 3);
    assert!(cb.failure_count() >= 3, "{cb:?}");
    assert!(d.finished_at().is_some());

    // No new revision for the rollback: the service runs the last successful one again.
    let s = w.service("cb").await;
    assert_eq!(s.task_definition(), Some(good.as_str()));
    assert_eq!(s.current_service_deployment(), d.service_deployment_arn());
    let current: Vec<&str> = s
        .current_service_revisions()
        .iter()
        .filter_map(|r| r.arn())
        .collect();
    assert_eq!(current, vec![good_rev.as_str()]);
    assert_eq!(w.list("cb").await.len(), 2);
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_circuit_breaker_without_rollback_stops_the_deployment() {
    let w = World::new().await;
    let good = w.task_definition("nb", "").await;
    let bad = w.task_definition("nb", "exit=1 after=10ms").await;
    w.create("nb", &good, Some(false)).await;
    w.wait_status("nb", ServiceDeploymentStatus::Successful)
        .await;
    w.deploy("nb", &bad).await;
    let d = w.wait_status("nb", ServiceDeploymentStatus::Stopped).await;
    assert!(d.stopped_at().is_some() && d.finished_at().is_some());
    assert!(d.rollback().is_none());
    assert!(d.status_reason().unwrap_or("").contains("circuit breaker"));
    w.server.shutdown().await;
}

#[tokio::test]
async fn stop_service_deployment_rolls_an_ongoing_deployment_back() {
    let w = World::new().await;
    let v1 = w.task_definition("st", "").await;
    let stuck = w.task_definition("st", "pull=fail").await;
    let v3 = w.task_definition("st", "").await;
    w.create("st", &v1, None).await;
    let first = w
        .wait_status("st", ServiceDeploymentStatus::Successful)
        .await;
    let rev1 = target(&first).to_owned();

    // A newer deployment supersedes one that never finishes.
    w.deploy("st", &stuck).await;
    let superseded = w
        .wait_status("st", ServiceDeploymentStatus::InProgress)
        .await;
    w.deploy("st", &v3).await;
    let done = w
        .wait_status("st", ServiceDeploymentStatus::Successful)
        .await;
    let old = w
        .service_deployment(superseded.service_deployment_arn().expect("arn"))
        .await;
    assert_eq!(old.status(), Some(&ServiceDeploymentStatus::Stopped));
    assert!(old.stopped_at().is_some());
    let sources: Vec<&str> = done
        .source_service_revisions()
        .iter()
        .filter_map(|r| r.arn())
        .collect();
    assert!(sources.contains(&target(&old)), "{sources:?}");

    // A stuck deployment, rolled back by hand to the last successful revision.
    w.deploy("st", &stuck).await;
    let ongoing = w
        .wait_status("st", ServiceDeploymentStatus::InProgress)
        .await;
    let arn = ongoing.service_deployment_arn().expect("arn").to_owned();
    let err = w
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(&arn)
        .stop_type(StopServiceDeploymentStopType::from("SIDEWAYS"))
        .send()
        .await
        .expect_err("an unknown stop type");
    assert_eq!(code(&err), "InvalidParameterException");
    let arns = |tasks: Vec<aws_sdk_ecs::types::Task>| {
        let mut a: Vec<String> = tasks
            .iter()
            .filter_map(|t| t.task_arn().map(str::to_owned))
            .collect();
        a.sort();
        a
    };
    let v3_tasks = arns(
        w.tasks(Some("st"), aws_sdk_ecs::types::DesiredStatus::Running)
            .await
            .into_iter()
            .filter(|t| t.task_definition_arn() == Some(v3.as_str()))
            .collect(),
    );
    assert_eq!(v3_tasks.len(), 2);
    let out = w
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(&arn)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .expect("stop with rollback");
    assert_eq!(out.service_deployment_arn(), Some(arn.as_str()));
    let listed = w.list("st").await;
    // The revision rolled back to still runs its tasks, so it is PRIMARY again at once.
    assert!(
        matches!(
            status(&listed[0]),
            "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" | "ROLLBACK_SUCCESSFUL"
        ),
        "{listed:#?}"
    );
    let d = w
        .wait_status("st", ServiceDeploymentStatus::RollbackSuccessful)
        .await;
    assert_eq!(d.service_deployment_arn(), Some(arn.as_str()));
    let back_to = d
        .rollback()
        .and_then(|r| r.service_revision_arn())
        .expect("rollback revision")
        .to_owned();
    assert_eq!(back_to, target(&done));
    assert_ne!(back_to, rev1);
    assert_eq!(w.service("st").await.task_definition(), Some(v3.as_str()));
    let kept = wait_for(
        "the stuck tasks gone",
        || w.tasks(Some("st"), aws_sdk_ecs::types::DesiredStatus::Running),
        |t| t.len() == 2,
    )
    .await;
    assert_eq!(arns(kept), v3_tasks, "the rollback kept the running tasks");
    w.server.shutdown().await;
}
