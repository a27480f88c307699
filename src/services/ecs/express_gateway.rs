//! ECS Express Mode ("express gateway") services: an image, an execution role and an
//! infrastructure role become a service with a public endpoint.
//!
//! As on AWS, an Express service is an ECS service of the same name and ARN: berth registers a
//! task definition (family = the service name, one awsvpc Fargate container `Main` with the
//! port, command, environment, secrets and awslogs configuration given) and creates the service
//! with a canary deployment and `scalingTarget.minTaskCount` tasks (1 by default), so its tasks
//! really run. An update registers the next revision and deploys it; a delete deletes the ECS
//! service. The default cluster is created when none is named and it does not exist. What AWS
//! builds around the service (load balancer, certificate, security group, scaling policy) is not
//! provisioned: the ingress endpoint is recorded, not served.

use super::{State, arn, clusters, services, tags, task_definitions};
use crate::api_err;
use crate::aws::{ApiError, Timestamp};
use crate::wire::ecs::{
    AccessType, AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition,
    CreateExpressGatewayServiceRequest, CreateServiceRequest, DeploymentConfiguration,
    DeploymentStrategy, ECSExpressGatewayService, ExpressGatewayServiceConfiguration,
    ExpressGatewayServiceStatus, ExpressGatewayServiceStatusCode, IngressPathSummary,
    LogConfiguration, LogDriver, NetworkConfiguration, NetworkMode, PortMapping,
    RegisterTaskDefinitionRequest, RepositoryCredentials, Tag, TransportProtocol,
    UpdateExpressGatewayServiceRequest, UpdateServiceRequest, UpdatedExpressGatewayService,
};
use std::collections::BTreeMap;

/// Express Mode's defaults: 1 vCPU, 2 GB, port 80, health checks on `/ping`.
const DEFAULT_CPU: &str = "1024";
const DEFAULT_MEMORY: &str = "2048";
const DEFAULT_PORT: i32 = 80;
const DEFAULT_HEALTH_CHECK_PATH: &str = "/ping";
/// The container of an Express service's task definition.
const CONTAINER: &str = "Main";
/// Where tasks go when no subnets are given (AWS: the default VPC's subnets). berth has no VPCs;
/// the ID only has to be a subnet ID.
const DEFAULT_SUBNET: &str = "subnet-0000000000000000d";

/// Express services by (cluster name, service name).
#[derive(Default)]
pub struct ExpressServices {
    pub services: BTreeMap<(String, String), ExpressService>,
}

pub struct ExpressService {
    pub cluster: String,
    pub name: String,
    pub arn: String,
    pub infrastructure_role_arn: String,
    pub status: ExpressGatewayServiceStatusCode,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub current_deployment: String,
    /// The configuration now active.
    pub configuration: ExpressGatewayServiceConfiguration,
    pub tags: Vec<Tag>,
}

impl ExpressService {
    fn to_wire(&self, region: &State, with_tags: bool) -> ECSExpressGatewayService {
        ECSExpressGatewayService {
            cluster: Some(region.arn(&format!("cluster/{}", self.cluster))),
            service_name: Some(self.name.clone()),
            service_arn: Some(self.arn.clone()),
            infrastructure_role_arn: Some(self.infrastructure_role_arn.clone()),
            status: Some(ExpressGatewayServiceStatus {
                status_code: Some(status_of(region, self)),
                status_reason: None,
            }),
            current_deployment: Some(self.current_deployment.clone()),
            active_configurations: Some(vec![self.configuration.clone()]),
            tags: with_tags.then(|| self.tags.clone()),
            created_at: Some(self.created_at),
            updated_at: Some(self.updated_at),
        }
    }
}

fn invalid(msg: impl std::fmt::Display) -> ApiError {
    api_err!(ecs::InvalidParameterException, "{msg}")
}

fn numeric_id() -> String {
    let n =
        u64::from_str_radix(&super::new_id()[..15], 16).unwrap_or(0) % 10_000_000_000_000_000_000;
    format!("{n:019}")
}

fn revision_arn(region: &State, cluster: &str, name: &str) -> String {
    region.arn(&format!(
        "service-revision/{cluster}/{name}/{}",
        numeric_id()
    ))
}

fn deployment_arn(region: &State, cluster: &str, name: &str) -> String {
    region.arn(&format!(
        "service-deployment/{cluster}/{name}/{}",
        super::new_id()
    ))
}

/// A service ARN (`service/<cluster>/<name>`) → (cluster, name).
fn parse_arn(id: &str) -> Result<(String, String), ApiError> {
    arn::resource(id)
        .and_then(|r| r.strip_prefix("service/"))
        .and_then(|r| r.split_once('/'))
        .filter(|(c, n)| !c.is_empty() && !n.is_empty())
        .map(|(c, n)| (c.to_owned(), n.to_owned()))
        .ok_or_else(|| invalid(format!("The service ARN {id} is invalid.")))
}

/// A name from the image when none is given: `nginx:latest` → `nginx-<hex>`.
fn generated_name(image: &str) -> String {
    let base = image
        .rsplit('/')
        .next()
        .unwrap_or(image)
        .split([':', '@'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(32)
        .collect::<String>();
    let base = if base.is_empty() {
        "express".into()
    } else {
        base
    };
    format!("{base}-{}", &super::new_id()[..8])
}

fn validate_sizes(cpu: Option<&str>, memory: Option<&str>) -> Result<(), ApiError> {
    for (what, v) in [("cpu", cpu), ("memory", memory)] {
        if let Some(v) = v
            && v.parse::<u32>().map_or(true, |n| n == 0)
        {
            return Err(invalid(format!("Invalid {what} value {v}.")));
        }
    }
    Ok(())
}

/// The task definition an Express configuration runs: one awsvpc Fargate container.
fn task_definition(
    name: &str,
    c: &ExpressGatewayServiceConfiguration,
) -> RegisterTaskDefinitionRequest {
    let container = c.primary_container.clone().unwrap_or_default();
    let logs = container
        .aws_logs_configuration
        .as_ref()
        .map(|l| LogConfiguration {
            log_driver: LogDriver::Awslogs,
            options: Some(
                [
                    ("awslogs-group", l.log_group.as_str()),
                    ("awslogs-stream-prefix", l.log_stream_prefix.as_str()),
                    ("awslogs-create-group", "true"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ),
            secret_options: None,
        });
    RegisterTaskDefinitionRequest {
        family: name.to_owned(),
        network_mode: Some(NetworkMode::Awsvpc),
        requires_compatibilities: Some(vec![Compatibility::Fargate]),
        cpu: c.cpu.clone(),
        memory: c.memory.clone(),
        execution_role_arn: c.execution_role_arn.clone(),
        task_role_arn: c.task_role_arn.clone(),
        container_definitions: vec![ContainerDefinition {
            name: Some(CONTAINER.into()),
            image: Some(container.image),
            essential: Some(true),
            port_mappings: Some(vec![PortMapping {
                container_port: container.container_port,
                protocol: Some(TransportProtocol::Tcp),
                ..Default::default()
            }]),
            command: container.command,
            environment: container.environment,
            secrets: container.secrets,
            repository_credentials: container.repository_credentials.and_then(|r| {
                r.credentials_parameter.map(|p| RepositoryCredentials {
                    credentials_parameter: p,
                })
            }),
            log_configuration: logs,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The tasks' network: the subnets and security groups given, else the default subnet.
fn network(c: &ExpressGatewayServiceConfiguration) -> NetworkConfiguration {
    let given = c.network_configuration.clone().unwrap_or_default();
    let subnets = given
        .subnets
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| vec![DEFAULT_SUBNET.into()]);
    NetworkConfiguration {
        awsvpc_configuration: Some(AwsVpcConfiguration {
            subnets,
            security_groups: given.security_groups,
            assign_public_ip: Some(AssignPublicIp::Enabled),
        }),
    }
}

/// Tasks to run: the scaling target's minimum, 1 without one.
fn desired_count(c: &ExpressGatewayServiceConfiguration) -> i32 {
    c.scaling_target
        .as_ref()
        .and_then(|t| t.min_task_count)
        .unwrap_or(1)
        .max(0)
}

/// The revision the ECS service's PRIMARY deployment runs and its current service deployment,
/// as DescribeServices has them: an Express service reports its ECS service's.
fn current(region: &State, cluster: &str, name: &str) -> (Option<String>, Option<String>) {
    let Some(svc) = region.services.get(&(cluster.to_owned(), name.to_owned())) else {
        return (None, None);
    };
    let data = services::describe_one(region, svc, false);
    let revision = data
        .current_service_revisions
        .iter()
        .flatten()
        .next()
        .and_then(|r| r.arn.clone());
    (revision, data.current_service_deployment)
}

/// The Express service's status follows its ECS service (DRAINING while tasks stop).
fn status_of(region: &State, s: &ExpressService) -> ExpressGatewayServiceStatusCode {
    match region
        .services
        .get(&(s.cluster.clone(), s.name.clone()))
        .map(|svc| svc.status.as_str())
    {
        Some("DRAINING") => ExpressGatewayServiceStatusCode::Draining,
        Some("ACTIVE") | None => s.status.clone(),
        Some(_) => ExpressGatewayServiceStatusCode::Inactive,
    }
}

pub fn create(
    region: &mut State,
    req: CreateExpressGatewayServiceRequest,
) -> Result<ECSExpressGatewayService, ApiError> {
    // AWS creates the default cluster for an Express service that names none.
    let (cluster, create_default) = match clusters::active(region, req.cluster.as_deref()) {
        Ok(c) => (c.name.clone(), false),
        Err(_) if req.cluster.is_none() && !region.clusters.contains_key("default") => {
            ("default".to_owned(), true)
        }
        Err(e) => return Err(e),
    };
    if req.primary_container.image.is_empty() {
        return Err(invalid("primaryContainer.image must not be empty."));
    }
    if req.execution_role_arn.is_empty() || req.infrastructure_role_arn.is_empty() {
        return Err(invalid(
            "executionRoleArn and infrastructureRoleArn must not be empty.",
        ));
    }
    validate_sizes(req.cpu.as_deref(), req.memory.as_deref())?;
    if let Some(port) = req.primary_container.container_port
        && !(1..=65535).contains(&port)
    {
        return Err(invalid("containerPort must be between 1 and 65535."));
    }
    if let Some(s) = &req.scaling_target
        && let (Some(min), Some(max)) = (s.min_task_count, s.max_task_count)
        && min > max
    {
        return Err(invalid(
            "minTaskCount must not be greater than maxTaskCount.",
        ));
    }
    let name = match req.service_name {
        Some(n) => n,
        None => generated_name(&req.primary_container.image),
    };
    if !arn::is_valid_name(&name) {
        return Err(invalid(
            "Service name must be between 1 and 255 characters: letters (uppercase and lowercase), numbers, hyphens and underscores.",
        ));
    }
    let key = (cluster.clone(), name.clone());
    let taken = region
        .express_gateway
        .services
        .get(&key)
        .is_some_and(|s| s.status != ExpressGatewayServiceStatusCode::Inactive)
        || region
            .services
            .get(&key)
            .is_some_and(|s| s.status != "INACTIVE");
    if taken {
        return Err(invalid(format!(
            "Creation of service was not idempotent: a service named {name} already exists in cluster {cluster}."
        )));
    }
    let tags = tags::from_request(req.tags)?;
    let mut container = req.primary_container;
    container.container_port.get_or_insert(DEFAULT_PORT);
    let now = Timestamp::now();
    let configuration = ExpressGatewayServiceConfiguration {
        service_revision_arn: Some(revision_arn(region, &cluster, &name)),
        execution_role_arn: Some(req.execution_role_arn),
        task_role_arn: req.task_role_arn,
        cpu: Some(req.cpu.unwrap_or_else(|| DEFAULT_CPU.into())),
        memory: Some(req.memory.unwrap_or_else(|| DEFAULT_MEMORY.into())),
        network_configuration: req.network_configuration,
        health_check_path: Some(
            req.health_check_path
                .unwrap_or_else(|| DEFAULT_HEALTH_CHECK_PATH.into()),
        ),
        primary_container: Some(container),
        scaling_target: req.scaling_target,
        ingress_paths: Some(vec![IngressPathSummary {
            access_type: AccessType::Public,
            endpoint: format!(
                "{}.ecs.{}.on.aws",
                name.to_ascii_lowercase().replace('_', "-"),
                region.name
            ),
        }]),
        created_at: Some(now),
    };
    if create_default {
        clusters::create(
            region,
            clusters::CreateCluster {
                name: Some(cluster.clone()),
                capacity_providers: Some(vec!["FARGATE".into(), "FARGATE_SPOT".into()]),
                ..Default::default()
            },
        )?;
    }
    let (td, _) = task_definitions::register(region, task_definition(&name, &configuration))?;
    let td_arn = td.task_definition_arn.unwrap_or_default();
    let service_req = CreateServiceRequest {
        cluster: Some(cluster.clone()),
        service_name: name.clone(),
        task_definition: Some(td_arn.clone()),
        desired_count: Some(desired_count(&configuration)),
        launch_type: Some(crate::wire::ecs::LaunchType::Fargate),
        network_configuration: Some(network(&configuration)),
        // AWS: "a service with canary deployment and auto scaling".
        deployment_configuration: Some(DeploymentConfiguration {
            strategy: Some(DeploymentStrategy::Canary),
            ..Default::default()
        }),
        tags: (!tags.is_empty()).then(|| tags.clone()),
        ..Default::default()
    };
    let principal = region.root_principal();
    if let Err(e) = services::create(region, service_req, &principal) {
        // Nothing half made: the revision just registered goes again.
        let _ = task_definitions::deregister(region, &td_arn);
        return Err(e);
    }
    let (revision, deployment) = current(region, &cluster, &name);
    let mut configuration = configuration;
    configuration.service_revision_arn = revision.or(configuration.service_revision_arn);
    let service = ExpressService {
        arn: region.arn(&format!("service/{cluster}/{name}")),
        current_deployment: deployment.unwrap_or_else(|| deployment_arn(region, &cluster, &name)),
        cluster: cluster.clone(),
        name,
        infrastructure_role_arn: req.infrastructure_role_arn,
        status: ExpressGatewayServiceStatusCode::Active,
        created_at: now,
        updated_at: now,
        configuration,
        tags,
    };
    let out = service.to_wire(region, true);
    region.express_gateway.services.insert(key, service);
    Ok(out)
}

/// The Express service an ARN names; `not_found` is the operation's error for a missing one.
fn find<'a>(
    region: &'a State,
    id: &str,
    not_found: fn() -> ApiError,
) -> Result<&'a ExpressService, ApiError> {
    let key = parse_arn(id)?;
    clusters::active(region, Some(&key.0))?;
    region
        .express_gateway
        .services
        .get(&key)
        .ok_or_else(not_found)
}

fn resource_not_found() -> ApiError {
    api_err!(
        ecs::ResourceNotFoundException,
        "The specified Express service was not found."
    )
}

fn service_not_found() -> ApiError {
    api_err!(ecs::ServiceNotFoundException, "Service not found.")
}

fn not_active(s: &ExpressService) -> Result<(), ApiError> {
    if s.status != ExpressGatewayServiceStatusCode::Active {
        return Err(api_err!(
            ecs::ServiceNotActiveException,
            "Service {} is not ACTIVE.",
            s.arn
        ));
    }
    Ok(())
}

pub fn describe(
    region: &State,
    id: &str,
    with_tags: bool,
) -> Result<ECSExpressGatewayService, ApiError> {
    let s = find(region, id, resource_not_found)?;
    Ok(s.to_wire(region, with_tags))
}

pub fn update(
    region: &mut State,
    req: UpdateExpressGatewayServiceRequest,
) -> Result<UpdatedExpressGatewayService, ApiError> {
    let s = find(region, &req.service_arn, service_not_found)?;
    not_active(s)?;
    validate_sizes(req.cpu.as_deref(), req.memory.as_deref())?;
    let key = (s.cluster.clone(), s.name.clone());
    let mut c = s.configuration.clone();
    if let Some(v) = req.execution_role_arn {
        c.execution_role_arn = Some(v);
    }
    if let Some(v) = req.task_role_arn {
        c.task_role_arn = Some(v);
    }
    if let Some(v) = req.cpu {
        c.cpu = Some(v);
    }
    if let Some(v) = req.memory {
        c.memory = Some(v);
    }
    if let Some(v) = req.health_check_path {
        c.health_check_path = Some(v);
    }
    if let Some(v) = req.network_configuration {
        c.network_configuration = Some(v);
    }
    let scaled = req.scaling_target.is_some();
    if let Some(v) = req.scaling_target {
        c.scaling_target = Some(v);
    }
    if let Some(mut v) = req.primary_container {
        v.container_port.get_or_insert(DEFAULT_PORT);
        c.primary_container = Some(v);
    }
    let (td, _) = task_definitions::register(region, task_definition(&key.1, &c))?;
    let mut desired = None;
    if scaled && let Some(svc) = region.services.get(&key) {
        // The scaling target bounds the task count; within it the count stays.
        let t = c.scaling_target.clone().unwrap_or_default();
        let mut n = svc.desired_count.max(desired_count(&c));
        if let Some(max) = t.max_task_count {
            n = n.min(max);
        }
        desired = Some(n);
    }
    let update_req = UpdateServiceRequest {
        cluster: Some(key.0.clone()),
        service: key.1.clone(),
        task_definition: td.task_definition_arn.clone(),
        desired_count: desired,
        network_configuration: Some(network(&c)),
        ..Default::default()
    };
    if let Err(e) = services::update(region, update_req) {
        if let Some(arn) = &td.task_definition_arn {
            let _ = task_definitions::deregister(region, arn);
        }
        return Err(e);
    }
    let now = Timestamp::now();
    let (revision, deployment) = current(region, &key.0, &key.1);
    c.service_revision_arn = revision.or_else(|| Some(revision_arn(region, &key.0, &key.1)));
    c.created_at = Some(now);
    let deployment = deployment.unwrap_or_else(|| deployment_arn(region, &key.0, &key.1));
    let cluster_arn = region.arn(&format!("cluster/{}", key.0));
    let s = region
        .express_gateway
        .services
        .get_mut(&key)
        .ok_or_else(service_not_found)?;
    s.configuration = c.clone();
    s.current_deployment = deployment;
    s.updated_at = now;
    Ok(UpdatedExpressGatewayService {
        service_arn: Some(s.arn.clone()),
        cluster: Some(cluster_arn),
        service_name: Some(s.name.clone()),
        status: Some(ExpressGatewayServiceStatus {
            status_code: Some(s.status.clone()),
            status_reason: None,
        }),
        target_configuration: Some(c),
        created_at: Some(s.created_at),
        updated_at: Some(s.updated_at),
    })
}

pub fn delete(region: &mut State, id: &str) -> Result<ECSExpressGatewayService, ApiError> {
    let s = find(region, id, service_not_found)?;
    not_active(s)?;
    let key = (s.cluster.clone(), s.name.clone());
    // The ECS service drains (DRAINING), then goes INACTIVE; the Express service follows it.
    if region
        .services
        .get(&key)
        .is_some_and(|svc| svc.status == "ACTIVE")
    {
        services::delete(region, Some(&key.0), &key.1, true)?;
    }
    let s = region
        .express_gateway
        .services
        .get_mut(&key)
        .ok_or_else(service_not_found)?;
    s.status = ExpressGatewayServiceStatusCode::Inactive;
    s.updated_at = Timestamp::now();
    let s = &region.express_gateway.services[&key];
    Ok(s.to_wire(region, true))
}
