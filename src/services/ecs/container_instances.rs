//! Container instances: the machines EC2-launch-type tasks are placed on. berth registers one per
//! executor host in a cluster that asks for EC2 capacity and has none; RegisterContainerInstance
//! adds more (with any resources and attributes, e.g. availability zones for spread tests).
//! Remaining resources are derived from the tasks placed on an instance, never stored.

use super::PAGES;
use super::{State, clusters, new_id, tags};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::executor::Host;
use crate::wire::ecs::{
    Attribute, ContainerInstance as WireInstance, ContainerInstanceStatus, Resource, Tag,
    TargetType, VersionInfo,
};

pub struct ContainerInstance {
    pub data: WireInstance,
    pub cluster: String,
    pub tags: Vec<Tag>,
    /// Registered by berth for an executor host (removed with its cluster).
    pub automatic: bool,
}

impl ContainerInstance {
    pub fn arn(&self) -> &str {
        self.data.container_instance_arn.as_deref().unwrap_or("")
    }

    pub fn status(&self) -> ContainerInstanceStatus {
        ContainerInstanceStatus::from(self.data.status.as_deref().unwrap_or("ACTIVE"))
    }

    pub fn registered(&self, name: &str) -> i64 {
        resource(
            self.data.registered_resources.as_deref().unwrap_or(&[]),
            name,
        )
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.data
            .attributes
            .iter()
            .flatten()
            .find(|a| a.name == name)
    }
}

fn resource(list: &[Resource], name: &str) -> i64 {
    list.iter()
        .find(|r| r.name.as_deref() == Some(name))
        .and_then(|r| r.integer_value.map(i64::from).or(r.long_value))
        .unwrap_or(0)
}

fn int_resource(name: &str, value: i64) -> Resource {
    Resource {
        name: Some(name.into()),
        r#type: Some("INTEGER".into()),
        integer_value: Some(value.clamp(0, i32::MAX as i64) as i32),
        ..Default::default()
    }
}

fn ports_resource(name: &str, ports: Vec<String>) -> Resource {
    Resource {
        name: Some(name.into()),
        r#type: Some("STRINGSET".into()),
        string_set_value: Some(ports),
        ..Default::default()
    }
}

/// The attributes the ECS agent reports for a Linux instance.
fn agent_attributes(az: &str, instance_type: &str) -> Vec<Attribute> {
    let plain = [
        "com.amazonaws.ecs.capability.docker-remote-api.1.17",
        "com.amazonaws.ecs.capability.docker-remote-api.1.18",
        "com.amazonaws.ecs.capability.docker-remote-api.1.19",
        "com.amazonaws.ecs.capability.docker-remote-api.1.21",
        "com.amazonaws.ecs.capability.docker-remote-api.1.44",
        "com.amazonaws.ecs.capability.logging-driver.awslogs",
        "com.amazonaws.ecs.capability.logging-driver.json-file",
        "com.amazonaws.ecs.capability.task-iam-role",
        "com.amazonaws.ecs.capability.task-iam-role-network-host",
        "ecs.capability.container-health-check",
        "ecs.capability.container-ordering",
        "ecs.capability.execution-role-awslogs",
        "ecs.capability.execution-role-ecr-pull",
        "ecs.capability.secrets.asm.environment-variables",
        "ecs.capability.task-eni",
    ];
    let mut attrs: Vec<Attribute> = plain
        .iter()
        .map(|n| Attribute {
            name: (*n).into(),
            ..Default::default()
        })
        .collect();
    for (name, value) in [
        ("ecs.os-type", "linux"),
        ("ecs.os-family", "LINUX"),
        ("ecs.cpu-architecture", "x86_64"),
        ("ecs.availability-zone", az),
        ("ecs.instance-type", instance_type),
        ("ecs.ami-id", "ami-0berth0000000000"),
    ] {
        attrs.push(Attribute {
            name: name.into(),
            value: Some(value.into()),
            ..Default::default()
        });
    }
    attrs
}

struct NewInstance<'a> {
    cluster: &'a str,
    ec2_instance_id: String,
    cpu: i64,
    memory: i64,
    az: String,
    instance_type: String,
    extra_attributes: Vec<Attribute>,
    tags: Vec<Tag>,
    automatic: bool,
    /// What the registering agent reports; berth's own hosts run berth's agent.
    version_info: Option<VersionInfo>,
}

fn insert(region: &mut State, n: NewInstance) -> WireInstance {
    let arn = region.arn(&format!("container-instance/{}/{}", n.cluster, new_id()));
    let mut attributes = agent_attributes(&n.az, &n.instance_type);
    for a in n.extra_attributes {
        attributes.retain(|x| x.name != a.name);
        attributes.push(Attribute {
            target_type: None,
            target_id: None,
            ..a
        });
    }
    let registered = vec![
        int_resource("CPU", n.cpu),
        int_resource("MEMORY", n.memory),
        // The agent reserves these host ports for itself and the Docker daemon.
        ports_resource(
            "PORTS",
            ["22", "2375", "2376", "51678", "51679"]
                .map(String::from)
                .to_vec(),
        ),
        ports_resource("PORTS_UDP", Vec::new()),
    ];
    let data = WireInstance {
        container_instance_arn: Some(arn.clone()),
        ec2_instance_id: Some(n.ec2_instance_id),
        status: Some("ACTIVE".into()),
        agent_connected: Some(true),
        registered_at: Some(Timestamp::now()),
        registered_resources: Some(registered.clone()),
        remaining_resources: Some(registered),
        attributes: Some(attributes),
        version: Some(1),
        version_info: Some(n.version_info.unwrap_or_else(|| VersionInfo {
            agent_version: Some(super::agent::LATEST_AGENT_VERSION.into()),
            agent_hash: Some("berth".into()),
            docker_version: Some("DockerVersion: 20.10.24".into()),
        })),
        running_tasks_count: Some(0),
        pending_tasks_count: Some(0),
        attachments: Some(Vec::new()),
        ..Default::default()
    };
    let instance = ContainerInstance {
        data,
        cluster: n.cluster.to_owned(),
        tags: n.tags,
        automatic: n.automatic,
    };
    let out = instance.data.clone();
    region.container_instances.insert(arn, instance);
    out
}

/// A cluster that needs EC2 capacity and has no instance gets one per executor host.
pub fn ensure_for_cluster(region: &mut State, cluster: &str) {
    let has_any = region
        .container_instances
        .values()
        .any(|ci| ci.cluster == cluster);
    if has_any {
        return;
    }
    let hosts: Vec<Host> = region.hosts.iter().cloned().collect();
    for host in hosts {
        insert(
            region,
            NewInstance {
                cluster,
                ec2_instance_id: host.id.clone(),
                cpu: host.cpu as i64,
                memory: host.memory as i64,
                az: host.availability_zone.clone(),
                instance_type: host.instance_type.clone(),
                extra_attributes: Vec::new(),
                tags: Vec::new(),
                automatic: true,
                version_info: None,
            },
        );
    }
}

pub struct Register {
    pub cluster: Option<String>,
    pub total_resources: Option<Vec<Resource>>,
    pub attributes: Option<Vec<Attribute>>,
    pub identity_document: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub version_info: Option<VersionInfo>,
}

pub fn register(region: &mut State, req: Register) -> Result<WireInstance, ApiError> {
    let cluster = clusters::active(region, req.cluster.as_deref())?
        .name
        .clone();
    let tags = tags::from_request(req.tags)?;
    let host = region.hosts.first().cloned();
    let total = req.total_resources.unwrap_or_default();
    let pick = |name: &str, default: i64| match resource(&total, name) {
        0 => default,
        v => v,
    };
    // The identity document is what the agent sends; take the instance id and zone from it.
    let doc: serde_json::Value = req
        .identity_document
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    let doc_str = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let id = doc_str("instanceId").unwrap_or_else(|| format!("i-0{}", &new_id()[..16]));
    let attrs = req.attributes.unwrap_or_default();
    let attr = |name: &str| {
        attrs
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.value.clone())
    };
    let az = attr("ecs.availability-zone")
        .or_else(|| doc_str("availabilityZone"))
        .unwrap_or_else(|| format!("{}a", region.name));
    let instance_type = attr("ecs.instance-type")
        .or_else(|| doc_str("instanceType"))
        .or_else(|| host.as_ref().map(|h| h.instance_type.clone()))
        .unwrap_or_else(|| "berth.fake".into());
    Ok(insert(
        region,
        NewInstance {
            cluster: &cluster,
            ec2_instance_id: id,
            cpu: pick("CPU", host.as_ref().map_or(2048, |h| h.cpu as i64)),
            memory: pick("MEMORY", host.as_ref().map_or(4096, |h| h.memory as i64)),
            az,
            instance_type,
            extra_attributes: attrs,
            tags,
            automatic: false,
            version_info: req.version_info,
        },
    ))
}

fn not_found(id: &str) -> ApiError {
    api_err!(
        ecs::InvalidParameterException,
        "The referenced container instance {id} was not found in the cluster."
    )
}

/// The ARN of an instance named by ARN or id in `cluster`.
pub fn resolve(region: &State, cluster: &str, id: &str) -> Option<String> {
    let short = id.rsplit('/').next().unwrap_or(id);
    region
        .container_instances
        .values()
        .find(|ci| ci.cluster == cluster && ci.arn().rsplit('/').next() == Some(short))
        .map(|ci| ci.arn().to_owned())
}

/// The instance as DescribeContainerInstances shows it, with the tasks counted.
pub fn to_wire(region: &State, ci: &ContainerInstance, with_tags: bool) -> WireInstance {
    let on_it = || super::tasks::of_instance(region, ci.arn()).filter(|t| t.holds_resources());
    let (cpu, memory) = on_it().fold((0, 0), |(c, m), t| (c + t.cpu, m + t.memory));
    let mut ports: Vec<String> = ci
        .data
        .registered_resources
        .iter()
        .flatten()
        .find(|r| r.name.as_deref() == Some("PORTS"))
        .and_then(|r| r.string_set_value.clone())
        .unwrap_or_default();
    ports.extend(on_it().flat_map(|t| t.host_ports.iter().map(|p| p.to_string())));
    let running = on_it().filter(|t| t.last_status() == "RUNNING").count() as i32;
    let pending = on_it().count() as i32 - running;
    let mut data = ci.data.clone();
    data.remaining_resources = Some(vec![
        int_resource("CPU", ci.registered("CPU") - cpu),
        int_resource("MEMORY", ci.registered("MEMORY") - memory),
        ports_resource("PORTS", ports),
        ports_resource("PORTS_UDP", Vec::new()),
    ]);
    data.running_tasks_count = Some(running);
    data.pending_tasks_count = Some(pending);
    data.tags = with_tags.then(|| ci.tags.clone());
    data
}

pub fn describe(
    region: &mut State,
    cluster: Option<&str>,
    ids: &[String],
    with_tags: bool,
) -> Result<(Vec<WireInstance>, Vec<crate::wire::ecs::Failure>), ApiError> {
    let cluster = clusters::active(region, cluster)?.name.clone();
    // AWS's answer to an empty list, as peer emulators record it.
    if ids.is_empty() {
        return Err(api_err!(
            ecs::ClientException,
            "Container Instances cannot be empty."
        ));
    }
    if ids.len() > 100 {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "containerInstances can have at most 100 items."
        ));
    }
    Ok(super::describe_each(
        ids,
        |id| {
            let ci = region
                .container_instances
                .get(&resolve(region, &cluster, id)?)?;
            Some(to_wire(region, ci, with_tags))
        },
        |id| region.full_arn(id, &format!("container-instance/{cluster}/{id}")),
    ))
}

pub fn list(
    region: &mut State,
    cluster: Option<&str>,
    filter: Option<&str>,
    status: Option<ContainerInstanceStatus>,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<Page<String>, ApiError> {
    let cluster = clusters::active(region, cluster)?.name.clone();
    ensure_for_cluster(region, &cluster);
    let matcher = match filter.filter(|f| !f.trim().is_empty()) {
        Some(expr) => Some(
            super::placement::Expression::parse(expr)
                .map_err(|e| api_err!(ecs::InvalidParameterException, "{e}"))?,
        ),
        None => None,
    };
    let arns: Vec<String> = region
        .container_instances
        .values()
        .filter(|ci| ci.cluster == cluster)
        .filter(|ci| match &status {
            Some(s) => ci.status() == *s,
            None => ci.status() != ContainerInstanceStatus::from("INACTIVE"),
        })
        .filter(|ci| {
            matcher
                .as_ref()
                .is_none_or(|m| m.matches(&super::tasks::candidate(region, ci)))
        })
        .map(|ci| ci.arn().to_owned())
        .collect();
    PAGES.paginate(arns, String::clone, false, max_results, next_token, 100)
}

pub fn update_state(
    region: &mut State,
    cluster: Option<&str>,
    ids: &[String],
    status: ContainerInstanceStatus,
) -> Result<(Vec<WireInstance>, Vec<crate::wire::ecs::Failure>), ApiError> {
    if !matches!(
        status,
        ContainerInstanceStatus::Active | ContainerInstanceStatus::Draining
    ) {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Container instance status must be ACTIVE or DRAINING."
        ));
    }
    let cluster = clusters::active(region, cluster)?.name.clone();
    let mut changed = Vec::new();
    let mut missing = Vec::new();
    for id in ids {
        match resolve(region, &cluster, id) {
            Some(arn) => {
                if let Some(ci) = region.container_instances.get_mut(&arn) {
                    ci.data.status = Some(status.to_string());
                    ci.data.version = Some(ci.data.version.unwrap_or(1) + 1);
                }
                if let Some(ci) = region.container_instances.get(&arn) {
                    changed.push(to_wire(region, ci, false));
                }
            }
            None => missing.push(super::missing(id.clone())),
        }
    }
    Ok((changed, missing))
}

pub fn deregister(
    region: &mut State,
    cluster: Option<&str>,
    id: &str,
    force: bool,
) -> Result<WireInstance, ApiError> {
    let cluster = clusters::active(region, cluster)?.name.clone();
    let arn = resolve(region, &cluster, id).ok_or_else(|| not_found(id))?;
    let busy = super::tasks::of_instance(region, &arn).any(|t| t.holds_resources());
    if busy && !force {
        return Err(api_err!(
            ecs::InvalidParameterException,
            "Container instance has tasks running. Stop the tasks or deregister with force."
        ));
    }
    let ci = region
        .container_instances
        .remove(&arn)
        .ok_or_else(|| not_found(id))?;
    let mut data = to_wire(region, &ci, false);
    data.status = Some("INACTIVE".into());
    // Forced: its tasks are orphaned; ECS stops them and services place replacements.
    let orphans: Vec<String> = region.task_index.of_instance(&arn).cloned().collect();
    for a in &orphans {
        if let Some(t) = region.tasks.get_mut(a) {
            t.request_stop(
                crate::wire::ecs::TaskStopCode::ServiceSchedulerInitiated,
                "Container instance deregistration forced by user",
            );
        }
    }
    Ok(data)
}

/// Custom attributes on an instance: `Some(arn)` when the target exists in the cluster.
pub fn attributes_mut<'a>(
    region: &'a mut State,
    cluster: &str,
    target_type: Option<&TargetType>,
    target_id: &str,
) -> Option<&'a mut Vec<Attribute>> {
    if target_type.is_some_and(|t| *t != TargetType::ContainerInstance) {
        return None;
    }
    let arn = resolve(region, cluster, target_id)?;
    region
        .container_instances
        .get_mut(&arn)
        .map(|ci| ci.data.attributes.get_or_insert_with(Vec::new))
}

pub fn tags_mut<'a>(
    region: &'a mut State,
    cluster: &str,
    id: &str,
) -> Result<&'a mut Vec<Tag>, ApiError> {
    let arn = resolve(region, cluster, id).ok_or_else(|| not_found(id))?;
    region
        .container_instances
        .get_mut(&arn)
        .map(|ci| &mut ci.tags)
        .ok_or_else(|| not_found(id))
}

/// Clusters being deleted drop the instances berth registered for them.
pub fn remove_automatic(region: &mut State, cluster: &str) {
    region
        .container_instances
        .retain(|_, ci| !(ci.cluster == cluster && ci.automatic));
}

/// Instances of a cluster, for placement.
pub fn of_cluster<'a>(
    region: &'a State,
    cluster: &'a str,
) -> impl Iterator<Item = &'a ContainerInstance> + 'a {
    region
        .container_instances
        .values()
        .filter(move |ci| ci.cluster == cluster)
}
