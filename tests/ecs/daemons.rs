//! ECS managed daemons and Express Mode services through the official Rust SDK against
//! `berth::Server`: what is recorded, how it is described, and the errors AWS models. An Express
//! service is an ECS service whose tasks run.

use crate::common::{World, wait_for};
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    DaemonContainerDefinition, DaemonDeploymentStatus, DaemonStatus,
    DaemonTaskDefinitionRevisionFilter, DaemonTaskDefinitionStatus,
    DaemonTaskDefinitionStatusFilter, ExpressGatewayContainer, ExpressGatewayServiceInclude,
    ExpressGatewayServiceStatusCode, Tag,
};
use aws_sdk_ecs::types::{DeploymentStrategy, DesiredStatus, LaunchType};

impl World {
    async fn register(&self, family: &str, image: &str) -> String {
        self.ecs
            .register_daemon_task_definition()
            .family(family)
            .container_definitions(
                DaemonContainerDefinition::builder()
                    .name("agent")
                    .image(image)
                    .memory(64)
                    .build()
                    .expect("container definition"),
            )
            .send()
            .await
            .expect("register daemon task definition")
            .daemon_task_definition_arn
            .expect("arn")
    }

    async fn create_daemon(
        &self,
        name: &str,
        td: &str,
    ) -> aws_sdk_ecs::operation::create_daemon::CreateDaemonOutput {
        self.ecs
            .create_daemon()
            .daemon_name(name)
            .cluster_arn("c")
            .daemon_task_definition_arn(td)
            .capacity_provider_arns("FARGATE")
            .tags(Tag::builder().key("team").value("obs").build())
            .send()
            .await
            .expect("create daemon")
    }
}

#[tokio::test]
async fn daemon_task_definitions_are_registered_described_listed_and_deleted() {
    let w = World::new().await;
    let one = w.register("agent", "busybox:1").await;
    let two = w.register("agent", "busybox:2").await;
    w.register("other", "busybox").await;
    assert!(one.ends_with(":daemon-task-definition/agent:1"), "{one}");
    assert!(two.ends_with(":daemon-task-definition/agent:2"), "{two}");

    // By family alone: the latest ACTIVE revision.
    let td = w
        .ecs
        .describe_daemon_task_definition()
        .daemon_task_definition("agent")
        .send()
        .await
        .unwrap()
        .daemon_task_definition
        .unwrap();
    assert_eq!(td.revision, 2);
    assert_eq!(td.status, Some(DaemonTaskDefinitionStatus::Active));
    assert_eq!(td.container_definitions()[0].image(), "busybox:2");
    assert!(td.registered_at.is_some() && td.registered_by.is_some());

    let list = w
        .ecs
        .list_daemon_task_definitions()
        .family_prefix("ag")
        .send()
        .await
        .unwrap();
    let arns: Vec<_> = list
        .daemon_task_definitions()
        .iter()
        .filter_map(|s| s.arn())
        .collect();
    assert_eq!(arns, vec![one.as_str(), two.as_str()]);
    let last = w
        .ecs
        .list_daemon_task_definitions()
        .revision(DaemonTaskDefinitionRevisionFilter::LastRegistered)
        .send()
        .await
        .unwrap();
    assert_eq!(last.daemon_task_definitions().len(), 2);

    let deleted = w
        .ecs
        .delete_daemon_task_definition()
        .daemon_task_definition(&one)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.daemon_task_definition_arn(), Some(one.as_str()));
    let td = w
        .ecs
        .describe_daemon_task_definition()
        .daemon_task_definition(&one)
        .send()
        .await
        .unwrap()
        .daemon_task_definition
        .unwrap();
    assert_eq!(
        td.status,
        Some(DaemonTaskDefinitionStatus::DeleteInProgress)
    );
    assert!(td.delete_requested_at.is_some());
    let deleting = w
        .ecs
        .list_daemon_task_definitions()
        .status(DaemonTaskDefinitionStatusFilter::DeleteInProgress)
        .send()
        .await
        .unwrap();
    assert_eq!(deleting.daemon_task_definitions().len(), 1);

    let err = w
        .ecs
        .describe_daemon_task_definition()
        .daemon_task_definition("agent:9")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ClientException"));
}

#[tokio::test]
async fn daemons_are_created_updated_described_and_deleted() {
    let w = World::new().await;
    let td1 = w.register("agent", "busybox:1").await;
    let td2 = w.register("agent", "busybox:2").await;
    let created = w.create_daemon("monitor", &td1).await;
    let daemon_arn = created.daemon_arn().unwrap().to_owned();
    assert!(daemon_arn.ends_with(":daemon/c/monitor"), "{daemon_arn}");
    assert_eq!(created.status(), Some(&DaemonStatus::Active));
    let first_deployment = created.deployment_arn().unwrap().to_owned();
    assert!(first_deployment.contains(":daemon-deployment/c/monitor/"));

    let d = w
        .ecs
        .describe_daemon()
        .daemon_arn(&daemon_arn)
        .send()
        .await
        .unwrap()
        .daemon
        .unwrap();
    assert_eq!(d.deployment_arn(), Some(first_deployment.as_str()));
    assert!(d.cluster_arn().unwrap().ends_with(":cluster/c"));
    let rev = d.current_revisions()[0].arn().unwrap().to_owned();
    assert!(rev.contains(":daemon-revision/c/monitor/"));

    let updated = w
        .ecs
        .update_daemon()
        .daemon_arn(&daemon_arn)
        .daemon_task_definition_arn(&td2)
        .capacity_provider_arns("FARGATE")
        .send()
        .await
        .unwrap();
    let second_deployment = updated.deployment_arn().unwrap().to_owned();
    assert_ne!(second_deployment, first_deployment);

    let deployments = w
        .ecs
        .list_daemon_deployments()
        .daemon_arn(&daemon_arn)
        .send()
        .await
        .unwrap();
    let listed: Vec<_> = deployments
        .daemon_deployments()
        .iter()
        .filter_map(|d| d.daemon_deployment_arn())
        .collect();
    assert_eq!(
        listed,
        vec![second_deployment.as_str(), first_deployment.as_str()]
    );
    let new_rev = deployments.daemon_deployments()[0]
        .target_daemon_revision_arn()
        .unwrap()
        .to_owned();

    let described = w
        .ecs
        .describe_daemon_deployments()
        .daemon_deployment_arns(&second_deployment)
        .daemon_deployment_arns(format!("{first_deployment}x"))
        .send()
        .await
        .unwrap();
    let dep = &described.daemon_deployments()[0];
    assert_eq!(dep.status(), Some(&DaemonDeploymentStatus::Successful));
    assert_eq!(dep.source_daemon_revisions()[0].arn(), Some(rev.as_str()));
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));

    let revisions = w
        .ecs
        .describe_daemon_revisions()
        .daemon_revision_arns(&new_rev)
        .send()
        .await
        .unwrap();
    let r = &revisions.daemon_revisions()[0];
    assert_eq!(r.daemon_task_definition_arn(), Some(td2.as_str()));
    assert_eq!(r.container_images()[0].image(), Some("busybox:2"));

    let list = w.ecs.list_daemons().cluster_arn("c").send().await.unwrap();
    assert_eq!(
        list.daemon_summaries_list()[0].daemon_arn(),
        Some(daemon_arn.as_str())
    );

    let deleted = w
        .ecs
        .delete_daemon()
        .daemon_arn(&daemon_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), Some(&DaemonStatus::DeleteInProgress));
    let err = w
        .ecs
        .update_daemon()
        .daemon_arn(&daemon_arn)
        .daemon_task_definition_arn(&td2)
        .capacity_provider_arns("FARGATE")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DaemonNotActiveException"));
}

#[tokio::test]
async fn daemons_of_unknown_clusters_or_arns_get_aws_errors() {
    let w = World::new().await;
    let td = w.register("agent", "busybox").await;
    let err = w
        .ecs
        .create_daemon()
        .daemon_name("d")
        .cluster_arn("nope")
        .daemon_task_definition_arn(&td)
        .capacity_provider_arns("FARGATE")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ClusterNotFoundException"));

    let err = w
        .ecs
        .create_daemon()
        .daemon_name("d")
        .cluster_arn("c")
        .daemon_task_definition_arn(&td)
        .capacity_provider_arns("missing-cp")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));

    let err = w
        .ecs
        .describe_daemon()
        .daemon_arn("arn:aws:ecs:us-east-1:000000000000:daemon/c/absent")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DaemonNotFoundException"));

    let err = w
        .ecs
        .delete_daemon()
        .daemon_arn("arn:aws:ecs:us-east-1:000000000000:daemon/c/absent")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DaemonNotFoundException"));

    let out = w
        .ecs
        .describe_daemon_revisions()
        .daemon_revision_arns("arn:aws:ecs:us-east-1:000000000000:daemon-revision/c/x/1")
        .send()
        .await
        .unwrap();
    assert!(out.daemon_revisions().is_empty());
    assert_eq!(out.failures().len(), 1);
}

#[tokio::test]
async fn an_express_service_runs_as_an_ecs_service_of_the_same_name_and_drains_with_it() {
    let w = World::new().await;
    let created = w
        .ecs
        .create_express_gateway_service()
        .service_name("web")
        .cluster("c")
        .execution_role_arn("arn:aws:iam::000000000000:role/exec")
        .infrastructure_role_arn("arn:aws:iam::000000000000:role/infra")
        .primary_container(
            ExpressGatewayContainer::builder()
                .image("nginx")
                .container_port(8080)
                .build()
                .unwrap(),
        )
        .tags(Tag::builder().key("k").value("v").build())
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    let arn = created.service_arn().unwrap().to_owned();
    assert!(arn.ends_with(":service/c/web"), "{arn}");
    assert_eq!(
        created.status().unwrap().status_code(),
        Some(&ExpressGatewayServiceStatusCode::Active)
    );
    let config = &created.active_configurations()[0];
    assert_eq!(config.cpu(), Some("1024"));
    assert_eq!(config.memory(), Some("2048"));
    assert_eq!(
        config.primary_container().unwrap().container_port(),
        Some(8080)
    );
    assert!(!config.ingress_paths().is_empty());

    // Behind it, an ECS service of the same name and ARN runs one Fargate task of family "web".
    let svc = w
        .wait_service("web", "the Express service's task running", |s| {
            s.running_count() == 1
        })
        .await;
    assert_eq!(svc.service_arn(), Some(arn.as_str()));
    assert_eq!(svc.launch_type(), Some(&LaunchType::Fargate));
    assert_eq!(
        svc.deployment_configuration().and_then(|d| d.strategy()),
        Some(&DeploymentStrategy::Canary)
    );
    let td = svc.task_definition().unwrap().to_owned();
    assert!(td.ends_with(":task-definition/web:1"), "{td}");
    assert_eq!(
        config.service_revision_arn(),
        svc.current_service_revisions()[0].arn(),
        "the Express configuration names the ECS service's revision"
    );
    let def = w
        .ecs
        .describe_task_definition()
        .task_definition(&td)
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap();
    assert_eq!(def.cpu(), Some("1024"));
    let main = &def.container_definitions()[0];
    assert_eq!(main.name(), Some("Main"));
    assert_eq!(main.image(), Some("nginx"));
    assert_eq!(main.port_mappings()[0].container_port(), Some(8080));
    let task = &w.tasks(Some("web"), DesiredStatus::Running).await[0];
    assert!(!task.attachments().is_empty(), "awsvpc: an ENI per task");

    let described = w
        .ecs
        .describe_express_gateway_service()
        .service_arn(&arn)
        .include(ExpressGatewayServiceInclude::Tags)
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    assert_eq!(described.tags().len(), 1);

    let updated = w
        .ecs
        .update_express_gateway_service()
        .service_arn(&arn)
        .cpu("512")
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    let target = updated.target_configuration().unwrap();
    assert_eq!(target.cpu(), Some("512"));
    assert_eq!(target.memory(), Some("2048"));
    assert_ne!(target.service_revision_arn(), config.service_revision_arn());
    // The update deploys revision 2 of the task definition.
    let svc = w
        .wait_service("web", "revision 2 deployed", |s| {
            s.task_definition().is_some_and(|t| t.ends_with("web:2"))
                && s.deployments().len() == 1
                && s.running_count() == 1
        })
        .await;
    assert_eq!(
        target.service_revision_arn(),
        svc.current_service_revisions()[0].arn()
    );

    let deleted = w
        .ecs
        .delete_express_gateway_service()
        .service_arn(&arn)
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    // It drains with its ECS service, then is INACTIVE.
    assert!(
        matches!(
            deleted.status().unwrap().status_code(),
            Some(
                ExpressGatewayServiceStatusCode::Draining
                    | ExpressGatewayServiceStatusCode::Inactive
            )
        ),
        "{deleted:?}"
    );
    wait_for(
        "the Express service INACTIVE",
        || async {
            w.ecs
                .describe_express_gateway_service()
                .service_arn(&arn)
                .send()
                .await
                .unwrap()
                .service
                .unwrap()
        },
        |s| {
            s.status().and_then(|s| s.status_code())
                == Some(&ExpressGatewayServiceStatusCode::Inactive)
        },
    )
    .await;
    assert_eq!(w.service("web").await.status(), Some("INACTIVE"));
    assert!(
        w.tasks(Some("web"), DesiredStatus::Running)
            .await
            .is_empty()
    );
    let err = w
        .ecs
        .delete_express_gateway_service()
        .service_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ServiceNotActiveException"));

    let err = w
        .ecs
        .describe_express_gateway_service()
        .service_arn("arn:aws:ecs:us-east-1:000000000000:service/c/absent")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    let err = w
        .ecs
        .update_express_gateway_service()
        .service_arn("arn:aws:ecs:us-east-1:000000000000:service/c/absent")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ServiceNotFoundException"));
    let err = w
        .ecs
        .create_express_gateway_service()
        .cluster("nope")
        .execution_role_arn("arn:aws:iam::000000000000:role/exec")
        .infrastructure_role_arn("arn:aws:iam::000000000000:role/infra")
        .primary_container(
            ExpressGatewayContainer::builder()
                .image("nginx")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ClusterNotFoundException"));
}

#[tokio::test]
async fn an_express_service_without_a_cluster_creates_the_default_one() {
    let w = World::new().await;
    let created = w
        .ecs
        .create_express_gateway_service()
        .execution_role_arn("arn:aws:iam::000000000000:role/exec")
        .infrastructure_role_arn("arn:aws:iam::000000000000:role/infra")
        .primary_container(
            ExpressGatewayContainer::builder()
                .image("public.ecr.aws/nginx/nginx:latest")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    let name = created.service_name().unwrap().to_owned();
    assert!(name.starts_with("nginx-"), "a name from the image: {name}");
    assert!(created.cluster().unwrap().ends_with(":cluster/default"));
    let clusters = w
        .ecs
        .describe_clusters()
        .clusters("default")
        .send()
        .await
        .unwrap();
    let default = &clusters.clusters()[0];
    assert_eq!(default.status(), Some("ACTIVE"));
    assert!(default.capacity_providers().contains(&"FARGATE".to_owned()));
    let listed = w
        .ecs
        .list_services()
        .cluster("default")
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.service_arns(),
        [created.service_arn().unwrap().to_owned()]
    );
}
