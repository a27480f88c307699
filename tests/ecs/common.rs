//! What the scenario tests share: a berth server on a free port with the in-memory executor, the
//! official SDK's ECS client pointed at it, a cluster `c`, and the steps the stories repeat
//! (register a task definition, describe a service or task, wait until something holds).

use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    Attribute, ContainerDefinition, DesiredStatus, KeyValuePair, Resource, Service,
    ServiceDeployment, Task,
};
use berth::{Config, Server};
use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long a test waits for the scheduler before it fails.
pub const WAIT: Duration = Duration::from_secs(20);

pub struct World {
    pub server: Server,
    pub ecs: Client,
}

impl World {
    /// A fresh berth with a cluster `c`.
    pub async fn new() -> World {
        let server = Server::start(Config::ephemeral()).await.expect("start");
        let ecs = client(&server, "us-east-1");
        ecs.create_cluster()
            .cluster_name("c")
            .send()
            .await
            .expect("cluster");
        World { server, ecs }
    }

    /// Registers `family` with one container `app` of 64 MiB; `script` drives the fake
    /// executor (`BERTH_FAKE`, see `executor::fake`).
    pub async fn task_definition(&self, family: &str, script: &str) -> String {
        self.task_definition_sized(family, 64, script).await
    }

    /// [`World::task_definition`] with a container of `memory` MiB.
    pub async fn task_definition_sized(&self, family: &str, memory: i32, script: &str) -> String {
        let mut c = ContainerDefinition::builder()
            .name("app")
            .image("busybox")
            .memory(memory);
        if !script.is_empty() {
            c = c.environment(
                KeyValuePair::builder()
                    .name("BERTH_FAKE")
                    .value(script)
                    .build(),
            );
        }
        self.ecs
            .register_task_definition()
            .family(family)
            .container_definitions(c.build())
            .send()
            .await
            .expect("register")
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .expect("arn")
            .to_owned()
    }

    /// A container instance with `memory` MiB in availability zone `az`.
    pub async fn instance(&self, memory: i32, az: &str) -> String {
        let resource = |name: &str, value: i32| {
            Resource::builder()
                .name(name)
                .r#type("INTEGER")
                .integer_value(value)
                .build()
        };
        self.ecs
            .register_container_instance()
            .cluster("c")
            .total_resources(resource("CPU", 4096))
            .total_resources(resource("MEMORY", memory))
            .attributes(
                Attribute::builder()
                    .name("ecs.availability-zone")
                    .value(az)
                    .build()
                    .expect("attribute"),
            )
            .send()
            .await
            .expect("register instance")
            .container_instance()
            .and_then(|c| c.container_instance_arn())
            .expect("arn")
            .to_owned()
    }

    pub async fn service(&self, name: &str) -> Service {
        self.ecs
            .describe_services()
            .cluster("c")
            .services(name)
            .send()
            .await
            .expect("describe services")
            .services()
            .first()
            .cloned()
            .expect("service")
    }

    /// DescribeServiceDeployments of one ARN.
    pub async fn service_deployment(&self, arn: &str) -> ServiceDeployment {
        self.ecs
            .describe_service_deployments()
            .service_deployment_arns(arn)
            .send()
            .await
            .expect("describe service deployments")
            .service_deployments()
            .first()
            .cloned()
            .expect("service deployment")
    }

    /// Polls until `cond` holds for the service.
    pub async fn wait_service(
        &self,
        name: &str,
        what: &str,
        cond: impl Fn(&Service) -> bool,
    ) -> Service {
        wait_for(what, || self.service(name), cond).await
    }

    /// The tasks of the cluster (of `service` only, when given) with `status` as desired status.
    pub async fn tasks(&self, service: Option<&str>, status: DesiredStatus) -> Vec<Task> {
        let arns = self
            .ecs
            .list_tasks()
            .cluster("c")
            .set_service_name(service.map(str::to_owned))
            .desired_status(status)
            .send()
            .await
            .expect("list tasks")
            .task_arns()
            .to_vec();
        if arns.is_empty() {
            return Vec::new();
        }
        self.ecs
            .describe_tasks()
            .cluster("c")
            .set_tasks(Some(arns))
            .send()
            .await
            .expect("describe tasks")
            .tasks()
            .to_vec()
    }

    pub async fn running_tasks(&self) -> Vec<Task> {
        self.tasks(None, DesiredStatus::Running).await
    }

    pub async fn task(&self, arn: &str) -> Task {
        self.ecs
            .describe_tasks()
            .cluster("c")
            .tasks(arn)
            .send()
            .await
            .expect("describe task")
            .tasks()
            .first()
            .cloned()
            .expect("task")
    }

    /// Polls until `cond` holds for the task.
    pub async fn wait_task(&self, arn: &str, what: &str, cond: impl Fn(&Task) -> bool) -> Task {
        wait_for(what, || self.task(arn), cond).await
    }
}

/// Calls `probe` every 50 ms until `cond` holds for its answer, which it returns; fails the
/// test with the last answer after [`WAIT`].
pub async fn wait_for<T: Debug, Fut: Future<Output = T>>(
    what: &str,
    mut probe: impl FnMut() -> Fut,
    cond: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let answer = probe().await;
        if cond(&answer) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {answer:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The official SDK's ECS client for `region`, pointed at `server`.
pub fn client(server: &Server, region: &str) -> Client {
    let config = aws_sdk_ecs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(server.endpoint_url())
        .build();
    Client::from_conf(config)
}

/// The AWS error code of a failed call.
pub fn code<E: ProvideErrorMetadata>(err: &E) -> String {
    err.code().unwrap_or("<none>").to_owned()
}
