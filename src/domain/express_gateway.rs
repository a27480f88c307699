//! ECS Express Mode ("express gateway") services: an image, an execution role and an
//! infrastructure role become a service with a public endpoint.
//!
//! berth records the Express service and its configurations as ECS describes them. It does not
//! provision what AWS builds behind one (task definition, ECS service, load balancer, scaling
//! policy): the service ARN names `service/<cluster>/<name>` like AWS, but DescribeServices does
//! not list it.

use super::{Region, arn, clusters, tags};
use crate::api_err;
use crate::protocol::{ApiError, Timestamp};
use crate::wire::ecs::{
    AccessType, CreateExpressGatewayServiceRequest, ECSExpressGatewayService,
    ExpressGatewayServiceConfiguration, ExpressGatewayServiceStatus,
    ExpressGatewayServiceStatusCode, IngressPathSummary, Tag, UpdateExpressGatewayServiceRequest,
    UpdatedExpressGatewayService,
};
use std::collections::BTreeMap;

/// Express Mode's defaults: 1 vCPU, 2 GB, port 80, health checks on `/ping`.
const DEFAULT_CPU: &str = "1024";
const DEFAULT_MEMORY: &str = "2048";
const DEFAULT_PORT: i32 = 80;
const DEFAULT_HEALTH_CHECK_PATH: &str = "/ping";

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
    fn to_wire(&self, cluster_arn: String, with_tags: bool) -> ECSExpressGatewayService {
        ECSExpressGatewayService {
            cluster: Some(cluster_arn),
            service_name: Some(self.name.clone()),
            service_arn: Some(self.arn.clone()),
            infrastructure_role_arn: Some(self.infrastructure_role_arn.clone()),
            status: Some(ExpressGatewayServiceStatus {
                status_code: Some(self.status.clone()),
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

fn revision_arn(region: &Region, cluster: &str, name: &str) -> String {
    region.arn(&format!(
        "service-revision/{cluster}/{name}/{}",
        numeric_id()
    ))
}

fn deployment_arn(region: &Region, cluster: &str, name: &str) -> String {
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

pub fn create(
    region: &mut Region,
    req: CreateExpressGatewayServiceRequest,
) -> Result<ECSExpressGatewayService, ApiError> {
    let cluster = clusters::active(region, req.cluster.as_deref())?
        .name
        .clone();
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
    let service = ExpressService {
        arn: region.arn(&format!("service/{cluster}/{name}")),
        current_deployment: deployment_arn(region, &cluster, &name),
        cluster: cluster.clone(),
        name,
        infrastructure_role_arn: req.infrastructure_role_arn,
        status: ExpressGatewayServiceStatusCode::Active,
        created_at: now,
        updated_at: now,
        configuration,
        tags,
    };
    let out = service.to_wire(region.arn(&format!("cluster/{cluster}")), true);
    region.express_gateway.services.insert(key, service);
    Ok(out)
}

/// The Express service an ARN names; `not_found` is the operation's error for a missing one.
fn find<'a>(
    region: &'a Region,
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
    region: &Region,
    id: &str,
    with_tags: bool,
) -> Result<ECSExpressGatewayService, ApiError> {
    let s = find(region, id, resource_not_found)?;
    Ok(s.to_wire(region.arn(&format!("cluster/{}", s.cluster)), with_tags))
}

pub fn update(
    region: &mut Region,
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
    if let Some(v) = req.scaling_target {
        c.scaling_target = Some(v);
    }
    if let Some(mut v) = req.primary_container {
        v.container_port.get_or_insert(DEFAULT_PORT);
        c.primary_container = Some(v);
    }
    let now = Timestamp::now();
    c.service_revision_arn = Some(revision_arn(region, &key.0, &key.1));
    c.created_at = Some(now);
    let deployment = deployment_arn(region, &key.0, &key.1);
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

pub fn delete(region: &mut Region, id: &str) -> Result<ECSExpressGatewayService, ApiError> {
    let s = find(region, id, service_not_found)?;
    not_active(s)?;
    let key = (s.cluster.clone(), s.name.clone());
    let cluster_arn = region.arn(&format!("cluster/{}", key.0));
    let s = region
        .express_gateway
        .services
        .get_mut(&key)
        .ok_or_else(service_not_found)?;
    // AWS drains the service and then marks it INACTIVE; nothing runs here, so it is at once.
    s.status = ExpressGatewayServiceStatusCode::Inactive;
    s.updated_at = Timestamp::now();
    Ok(s.to_wire(cluster_arn, true))
}
