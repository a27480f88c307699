//! The endpoints as a container sees them.

use super::address::{is_already_assigned, lists_address};
use super::responses::go_time;
use super::routes::{Resource, Route, Version};
use super::*;
use crate::executor::{BoxFuture, ContainerReport, Host, Phase, TaskUpdate};
use crate::services::ecs::clusters::{self, CreateCluster};
use crate::services::ecs::task_definitions;
use crate::services::ecs::tasks::RunTask;
use crate::wire::ecs::{
    AwsVpcConfiguration, NetworkBinding, NetworkConfiguration, RegisterTaskDefinitionRequest,
    TransportProtocol,
};
use crate::wire::ecs::{HealthStatus, LaunchType};
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::net::SocketAddr;

const REGION: &str = "us-east-1";
const ROLE: &str = "arn:aws:iam::123456789012:role/web-task";

/// Docker stats for ids starting `docker-`; nothing for others.
struct StubExecutor;

impl Executor for StubExecutor {
    fn hosts(&self) -> Vec<Host> {
        Vec::new()
    }
    fn start(&self, _spec: TaskSpec) {}
    fn stop(&self, _task_arn: &str) {}
    fn stats(&self, runtime_id: &str) -> BoxFuture<'static, Option<Value>> {
        let id = runtime_id.to_owned();
        Box::pin(async move {
            id.starts_with("docker-")
                .then(|| json!({"id": id, "read": "2026-01-01T00:00:00Z", "cpu_stats": {}}))
        })
    }
}

fn register(store: &Store, definition: Value) {
    let req: RegisterTaskDefinitionRequest =
        serde_json::from_value(definition).expect("valid task definition");
    store
        .write(REGION, |r: &mut State| task_definitions::register(r, req))
        .expect("registered");
}

fn run(store: &Store, definition: &str, launch: LaunchType, group: Option<&str>) -> String {
    let fargate = launch == LaunchType::Fargate;
    let req = RunTask {
        cluster: None,
        task_definition: definition.into(),
        count: None,
        launch_type: Some(launch),
        capacity_provider_strategy: None,
        network_configuration: fargate.then(|| NetworkConfiguration {
            awsvpc_configuration: Some(AwsVpcConfiguration {
                subnets: vec!["subnet-0abc".into()],
                ..Default::default()
            }),
        }),
        overrides: None,
        placement_constraints: None,
        placement_strategy: None,
        started_by: None,
        group: group.map(str::to_owned),
        tags: None,
        propagate_tags: None,
        enable_execute_command: None,
        client_token: None,
        container_instances: None,
    };
    let (tasks, failures) = store
        .write(REGION, |r: &mut State| tasks::run(r, req))
        .expect("RunTask");
    assert!(failures.is_empty(), "{failures:?}");
    tasks[0].task_arn.clone().expect("task ARN")
}

fn report(store: &Store, update: TaskUpdate) {
    store.write(REGION, |r: &mut State| tasks::apply(r, update));
}

fn spec_of(store: &Store, task_arn: &str) -> TaskSpec {
    store.read(REGION, |r: &State| {
        let t = &r.tasks[task_arn];
        TaskSpec {
            task_arn: task_arn.to_owned(),
            region: REGION.to_owned(),
            cluster_arn: t.data.cluster_arn.clone().unwrap_or_default(),
            definition: t.definition.clone(),
            overrides: t.data.overrides.clone(),
        }
    })
}

/// A cluster with two running tasks: `web` (EC2, bridge, a task role, two containers,
/// part of service `web`) and `api` (Fargate, awsvpc, no role).
fn scenario() -> (Store, String, String) {
    let store = Store::new(
        "123456789012".into(),
        vec![Host {
            id: "i-0host".into(),
            cpu: 4096,
            memory: 8192,
            availability_zone: "us-east-1a".into(),
            instance_type: "m5.large".into(),
        }],
    );
    store
        .write(REGION, |r: &mut State| {
            clusters::create(
                r,
                CreateCluster {
                    name: Some("default".into()),
                    settings: None,
                    configuration: None,
                    service_connect_defaults: None,
                    capacity_providers: None,
                    default_strategy: None,
                    tags: None,
                },
            )
        })
        .expect("cluster");
    register(
        &store,
        json!({
            "family": "web",
            "taskRoleArn": ROLE,
            "containerDefinitions": [
                {"name": "app", "image": "nginx:1.27", "cpu": 128, "memory": 256,
                 "portMappings": [{"containerPort": 80, "hostPort": 0}],
                 "dockerLabels": {"team": "edge"},
                 "healthCheck": {"command": ["CMD-SHELL", "true"]},
                 "logConfiguration": {"logDriver": "awslogs",
                                      "options": {"awslogs-group": "/ecs/web"}}},
                {"name": "sidecar", "image": "busybox", "memoryReservation": 64,
                 "essential": false}
            ]
        }),
    );
    register(
        &store,
        json!({
            "family": "api",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [
                {"name": "api", "image": "busybox",
                 "portMappings": [{"containerPort": 8080}]}
            ]
        }),
    );
    let web = run(&store, "web", LaunchType::Ec2, Some("service:web"));
    let api = run(&store, "api", LaunchType::Fargate, None);
    let mut update = TaskUpdate::new(&web, Phase::Running);
    update.containers = vec![
        ContainerReport {
            name: "app".into(),
            last_status: "RUNNING".into(),
            runtime_id: Some("docker-app".into()),
            health: Some(HealthStatus::Healthy),
            network_bindings: vec![NetworkBinding {
                bind_ip: Some("0.0.0.0".into()),
                container_port: Some(80),
                host_port: Some(32768),
                protocol: Some(TransportProtocol::Tcp),
                ..Default::default()
            }],
            ..Default::default()
        },
        ContainerReport {
            name: "sidecar".into(),
            last_status: "RUNNING".into(),
            runtime_id: Some("gone-sidecar".into()),
            ..Default::default()
        },
    ];
    report(&store, update);
    let mut update = TaskUpdate::new(&api, Phase::Running);
    update.private_ipv4 = Some("10.20.0.5".into());
    update.containers = vec![ContainerReport {
        name: "api".into(),
        last_status: "RUNNING".into(),
        runtime_id: Some("docker-api".into()),
        ..Default::default()
    }];
    report(&store, update);
    (store, web, api)
}

struct Running {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

async fn start(endpoints: Arc<Endpoints>) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, rx) = watch::channel(false);
    let server = tokio::spawn(serve(listener, endpoints, Arc::new(StubExecutor), rx));
    Running { addr, stop, server }
}

async fn get(addr: SocketAddr, path: &str) -> (StatusCode, String, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let uri = format!("http://{addr}{path}").parse().expect("URI");
    let resp = client.get(uri).await.expect("response");
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    (status, content_type, value)
}

fn env_var<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The path of an endpoint URI berth handed a container (it names 169.254.170.2; the test
/// server listens on loopback).
fn path_of(uri: &str) -> String {
    let rest = uri.strip_prefix("http://").expect("http URI");
    rest[rest.find('/').expect("a path")..].to_owned()
}

#[tokio::test]
async fn containers_read_their_metadata_stats_and_credentials() {
    let (store, web, _) = scenario();
    let endpoints = Arc::new(Endpoints::new(store.clone(), EndpointBase::default()));
    let spec = spec_of(&store, &web);
    let app_env = endpoints.container_env(&spec, "app");
    let sidecar_env = endpoints.container_env(&spec, "sidecar");

    let v4 = env_var(&app_env, "ECS_CONTAINER_METADATA_URI_V4").expect("v4 URI");
    let v3 = env_var(&app_env, "ECS_CONTAINER_METADATA_URI").expect("v3 URI");
    assert!(v4.starts_with("http://169.254.170.2/v4/"), "{v4}");
    assert!(v3.starts_with("http://169.254.170.2/v3/"), "{v3}");
    assert_eq!(path_of(v4)[4..], path_of(v3)[4..], "one id per container");
    assert!(env_var(&app_env, "ECS_AGENT_URI").is_some_and(|u| u.contains("/api/")));
    assert_eq!(env_var(&app_env, "AWS_REGION"), Some(REGION));
    assert_eq!(env_var(&app_env, "AWS_DEFAULT_REGION"), Some(REGION));
    assert_ne!(
        env_var(&app_env, "ECS_CONTAINER_METADATA_URI_V4"),
        env_var(&sidecar_env, "ECS_CONTAINER_METADATA_URI_V4")
    );
    let creds_uri = env_var(&app_env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .expect("a task role gives credentials");
    assert!(creds_uri.starts_with("/v2/credentials/"), "{creds_uri}");
    assert_eq!(
        env_var(&sidecar_env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        Some(creds_uri),
        "one credentials id per task"
    );
    assert!(env_var(&app_env, "AWS_CONTAINER_CREDENTIALS_FULL_URI").is_none());

    let running = start(endpoints.clone()).await;
    let addr = running.addr;
    let v4 = path_of(v4);
    let v3 = path_of(v3);
    let task_id = web.rsplit('/').next().expect("task id");
    let cluster_arn = "arn:aws:ecs:us-east-1:123456789012:cluster/default";

    // The container's own metadata.
    let (status, content_type, c) = get(addr, &v4).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/json");
    assert_eq!(c["DockerId"], "docker-app");
    assert_eq!(c["Name"], "app");
    assert_eq!(c["DockerName"], format!("ecs-web-1-app-{task_id}"));
    assert_eq!(c["Image"], "nginx:1.27");
    assert_eq!(c["ImageID"], "");
    assert_eq!(c["Labels"]["com.amazonaws.ecs.cluster"], cluster_arn);
    assert_eq!(c["Labels"]["com.amazonaws.ecs.container-name"], "app");
    assert_eq!(c["Labels"]["com.amazonaws.ecs.task-arn"], web.as_str());
    assert_eq!(
        c["Labels"]["com.amazonaws.ecs.task-definition-family"],
        "web"
    );
    assert_eq!(
        c["Labels"]["com.amazonaws.ecs.task-definition-version"],
        "1"
    );
    assert_eq!(c["Labels"]["team"], "edge");
    assert_eq!(c["DesiredStatus"], "RUNNING");
    assert_eq!(c["KnownStatus"], "RUNNING");
    assert_eq!(c["Limits"], json!({"CPU": 128, "Memory": 256}));
    assert_eq!(c["Type"], "NORMAL");
    assert_eq!(c["Health"], json!({"status": "HEALTHY"}));
    assert_eq!(c["LogDriver"], "awslogs");
    assert_eq!(c["LogOptions"], json!({"awslogs-group": "/ecs/web"}));
    assert!(
        c["ContainerARN"]
            .as_str()
            .is_some_and(|a| a.contains(":container/"))
    );
    assert_eq!(
        c["Ports"],
        json!([{"ContainerPort": 80, "Protocol": "tcp", "HostPort": 32768,
                "HostIp": "0.0.0.0"}])
    );
    assert_eq!(c["Networks"], json!([{"NetworkMode": "bridge"}]));
    for field in ["CreatedAt", "StartedAt"] {
        let ts = c[field].as_str().unwrap_or_default();
        assert!(ts.ends_with('Z') && ts.contains('T'), "{field}: {ts}");
    }
    assert!(c.get("ExitCode").is_none() && c.get("FinishedAt").is_none());

    // The task, v4.
    let (status, _, t) = get(addr, &format!("{v4}/task")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t["Cluster"], cluster_arn);
    assert_eq!(t["TaskARN"], web.as_str());
    assert_eq!(t["Family"], "web");
    assert_eq!(t["Revision"], "1");
    assert_eq!(t["DesiredStatus"], "RUNNING");
    assert_eq!(t["KnownStatus"], "RUNNING");
    assert_eq!(t["LaunchType"], "EC2");
    assert_eq!(t["ServiceName"], "web");
    assert_eq!(t["AvailabilityZone"], "us-east-1a");
    assert_eq!(t["FaultInjectionEnabled"], false);
    assert_eq!(
        t["ClockDrift"]["ClockSynchronizationStatus"],
        "SYNCHRONIZED"
    );
    assert!(
        t.get("Limits").is_none(),
        "no task-level sizes on this EC2 task"
    );
    let containers = t["Containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 2);
    let sidecar = &containers[1];
    assert_eq!(sidecar["Name"], "sidecar");
    assert_eq!(sidecar["Limits"], json!({"CPU": 2, "Memory": 64}));
    assert!(sidecar.get("Health").is_none() && sidecar.get("LogDriver").is_none());

    // The same task, v3: the v2 shapes, without v4's additions.
    let (status, _, t3) = get(addr, &format!("{v3}/task")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t3["TaskARN"], web.as_str());
    for v4_only in [
        "LaunchType",
        "ServiceName",
        "ClockDrift",
        "FaultInjectionEnabled",
    ] {
        assert!(t3.get(v4_only).is_none(), "{v4_only} in v3");
    }
    let app3 = &t3["Containers"][0];
    assert_eq!(app3["DockerId"], "docker-app");
    assert!(app3.get("LogDriver").is_none() && app3.get("ContainerARN").is_none());
    assert_eq!(app3["Ports"][0].get("HostIp"), None);
    let (status, _, c3) = get(addr, &v3).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(c3["Name"], "app");

    // Tags only on taskWithTags.
    let (status, _, tagged) = get(addr, &format!("{v4}/taskWithTags")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tagged["TaskARN"], web.as_str());

    // Stats: the executor's, by Docker id.
    let (status, _, stats) = get(addr, &format!("{v4}/stats")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["id"], "docker-app");
    let (status, _, task_stats) = get(addr, &format!("{v4}/task/stats")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(task_stats["docker-app"]["id"], "docker-app");
    assert_eq!(
        task_stats["gone-sidecar"],
        json!({}),
        "v4: {{}} without stats"
    );
    let (_, _, task_stats3) = get(addr, &format!("{v3}/task/stats")).await;
    assert_eq!(
        task_stats3["gone-sidecar"],
        Value::Null,
        "v3: null without stats"
    );
    let sidecar_v4 = path_of(env_var(&sidecar_env, "ECS_CONTAINER_METADATA_URI_V4").unwrap());
    let (status, _, msg) = get(addr, &format!("{sidecar_v4}/stats")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(msg, "Unable to get container stats for: gone-sidecar");

    // Credentials for the task role.
    let (status, content_type, creds) = get(addr, creds_uri).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/json");
    assert_eq!(creds["RoleArn"], ROLE);
    let key = creds["AccessKeyId"].as_str().unwrap_or_default();
    assert!(key.starts_with("ASIA") && key.len() == 20, "{key}");
    assert_eq!(creds["SecretAccessKey"].as_str().map(str::len), Some(40));
    assert!(creds["Token"].as_str().is_some_and(|t| t.len() > 100));
    let expiration = creds["Expiration"].as_str().unwrap_or_default();
    let expires = DateTime::from_str(expiration, aws_smithy_types::date_time::Format::DateTime)
        .expect("ISO 8601 expiration");
    let ahead = expires.secs() - DateTime::from(std::time::SystemTime::now()).secs();
    assert!(
        (5 * 3600..=6 * 3600).contains(&ahead),
        "expires in {ahead} s"
    );
    let (_, _, again) = get(addr, creds_uri).await;
    assert_eq!(again, creds, "stable until the task is forgotten");

    // Unknown ids, as the agent answers them.
    let (status, _, msg) = get(addr, "/v4/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        msg,
        "V4 container metadata handler: unable to get container ID from request: \
         unable to get docker ID from v3 endpoint ID: nope"
    );
    let (status, _, msg) = get(addr, "/v4/nope/task").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        msg.as_str()
            .is_some_and(|m| m.starts_with("V4 task metadata handler:"))
    );
    assert_eq!(get(addr, "/v4/nope/stats").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        get(addr, "/v4/nope/task/stats").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(addr, "/v3/nope").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        get(addr, "/v3/nope/task").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(get(addr, "/v3/nope/stats").await.0, StatusCode::BAD_REQUEST);
    let (status, _, err) = get(addr, "/v2/credentials/nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err,
        json!({"code": "InvalidIdInRequest",
               "message": "CredentialsV2Request: Credentials not found",
               "HTTPErrorCode": 400})
    );
    let (status, _, err) = get(addr, "/v2/credentials/").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["code"], "NoIdInRequest");
    let (status, content_type, body) = get(addr, "/latest/meta-data/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(content_type.starts_with("text/plain"));
    assert_eq!(body, "404 page not found\n");
    assert_eq!(
        get(addr, &format!("{v4}/nope")).await.0,
        StatusCode::NOT_FOUND
    );

    // The task is gone: so are its endpoints.
    endpoints.forget(&web);
    assert_eq!(get(addr, &v4).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        get(addr, &format!("{v4}/task")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _, err) = get(addr, creds_uri).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["code"], "InvalidIdInRequest");

    let _ = running.stop.send(true);
    running.server.await.expect("server stops");
}

#[tokio::test]
async fn awsvpc_tasks_report_their_eni_and_task_limits() {
    let (store, _, api) = scenario();
    let endpoints = Arc::new(Endpoints::new(store.clone(), EndpointBase::default()));
    let env = endpoints.container_env(&spec_of(&store, &api), "api");
    assert!(
        env.iter()
            .all(|(n, _)| !n.starts_with("AWS_CONTAINER_CREDENTIALS")),
        "no task role, no credentials: {env:?}"
    );
    let running = start(endpoints).await;
    let v4 = path_of(env_var(&env, "ECS_CONTAINER_METADATA_URI_V4").expect("v4 URI"));
    let v3 = path_of(env_var(&env, "ECS_CONTAINER_METADATA_URI").expect("v3 URI"));

    let (status, _, t) = get(running.addr, &format!("{v4}/task")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t["LaunchType"], "FARGATE");
    assert_eq!(t["Limits"], json!({"CPU": 0.25, "Memory": 512}));
    assert!(t.get("ServiceName").is_none());
    let network = &t["Containers"][0]["Networks"][0];
    assert_eq!(network["NetworkMode"], "awsvpc");
    assert_eq!(network["IPv4Addresses"], json!(["10.20.0.5"]));
    assert_eq!(network["AttachmentIndex"], 0);
    assert!(
        network["MACAddress"]
            .as_str()
            .is_some_and(|m| m.len() == 17)
    );
    assert_eq!(network["PrivateDNSName"], "ip-10-20-0-5.ec2.internal");
    assert_eq!(
        t["Containers"][0]["Ports"],
        json!([{"ContainerPort": 8080, "Protocol": "tcp", "HostPort": 8080}])
    );

    let (status, _, c3) = get(running.addr, &v3).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        c3["Networks"],
        json!([{"NetworkMode": "awsvpc", "IPv4Addresses": ["10.20.0.5"]}])
    );

    let _ = running.stop.send(true);
    running.server.await.expect("server stops");
}

#[test]
fn credentials_uri_is_full_off_the_agent_address() {
    let (store, web, _) = scenario();
    let base = EndpointBase {
        host: Ipv4Addr::new(172, 17, 0, 1),
        port: 8080,
    };
    let endpoints = Endpoints::new(store.clone(), base);
    let env = endpoints.container_env(&spec_of(&store, &web), "app");
    assert!(
        env_var(&env, "ECS_CONTAINER_METADATA_URI_V4")
            .is_some_and(|u| u.starts_with("http://172.17.0.1:8080/v4/"))
    );
    assert!(env_var(&env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_none());
    assert!(
        env_var(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
            .is_some_and(|u| u.starts_with("http://172.17.0.1:8080/v2/credentials/"))
    );
}

#[test]
fn routes() {
    assert_eq!(
        Route::parse("/v4/abc/task/stats"),
        Some(Route::Metadata {
            version: Version::V4,
            id: "abc",
            resource: Resource::TaskStats
        })
    );
    assert_eq!(
        Route::parse("/v3/abc"),
        Some(Route::Metadata {
            version: Version::V3,
            id: "abc",
            resource: Resource::Container
        })
    );
    assert_eq!(
        Route::parse("/v2/credentials/x/y"),
        Some(Route::Credentials("x/y"))
    );
    assert_eq!(
        Route::parse("/api/abc/task-protection/v1/state"),
        Some(Route::TaskProtection("abc"))
    );
    assert_eq!(Route::parse("/api//task-protection/v1/state"), None);
    assert_eq!(Route::parse("/api/a/b/task-protection/v1/state"), None);
    assert_eq!(Route::parse("/api/abc/task-protection/v2/state"), None);
    assert_eq!(Route::parse("/v4/abc/"), None);
    assert_eq!(Route::parse("/v5/abc"), None);
    assert_eq!(Route::parse("/v2/credentials"), None);
}

#[test]
fn timestamps_as_go_writes_them() {
    let at = |secs, nanos| go_time(&Timestamp(DateTime::from_secs_and_nanos(secs, nanos)));
    assert_eq!(at(0, 0), "1970-01-01T00:00:00Z");
    assert_eq!(
        at(1_601_597_707, 620_912_337),
        "2020-10-02T00:15:07.620912337Z"
    );
    assert_eq!(
        at(1_601_599_386, 312_884_650),
        "2020-10-02T00:43:06.31288465Z"
    );
    assert_eq!(at(951_782_400, 0), "2000-02-29T00:00:00Z");
    assert_eq!(at(4_102_444_799, 500_000_000), "2099-12-31T23:59:59.5Z");
}

#[test]
fn claiming_reads_ip_addr_output() {
    let output = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group \
                  default qlen 1000\n    inet 127.0.0.1/8 scope host lo\n       valid_lft \
                  forever preferred_lft forever\n    inet 169.254.170.2/32 scope global lo\n";
    assert!(lists_address(output, AGENT_ADDRESS));
    assert!(lists_address(output, Ipv4Addr::LOCALHOST));
    assert!(!lists_address(output, Ipv4Addr::new(169, 254, 170, 23)));
    assert!(!lists_address("", AGENT_ADDRESS));
    assert!(is_already_assigned("RTNETLINK answers: File exists\n"));
    assert!(!is_already_assigned(
        "RTNETLINK answers: Operation not permitted\n"
    ));
}
