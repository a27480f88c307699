//! The JSON the agent answers with, and the task as it is read for one response.

use super::routes::Version;
use crate::aws::Timestamp;
use crate::executor::TaskSpec;
use crate::services::ecs::task_definitions;
use crate::wire::ecs::{
    Container, ContainerDefinition, ContainerOverride, HealthStatus, LaunchType, NetworkMode,
    Task as WireTask,
};
use aws_smithy_types::DateTime;
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};

/// The agent's task response (`tmds/handlers/v2.TaskResponse`, extended by v4's).
#[derive(Debug, Serialize)]
pub(super) struct TaskResponse {
    #[serde(rename = "Cluster")]
    cluster: String,
    #[serde(rename = "TaskARN")]
    task_arn: String,
    #[serde(rename = "Family")]
    family: String,
    #[serde(rename = "Revision")]
    revision: String,
    #[serde(rename = "DesiredStatus", skip_serializing_if = "Option::is_none")]
    desired_status: Option<String>,
    #[serde(rename = "KnownStatus")]
    known_status: &'static str,
    #[serde(rename = "Limits", skip_serializing_if = "Option::is_none")]
    limits: Option<Limits>,
    #[serde(rename = "PullStartedAt", skip_serializing_if = "Option::is_none")]
    pull_started_at: Option<String>,
    #[serde(rename = "PullStoppedAt", skip_serializing_if = "Option::is_none")]
    pull_stopped_at: Option<String>,
    #[serde(rename = "ExecutionStoppedAt", skip_serializing_if = "Option::is_none")]
    execution_stopped_at: Option<String>,
    #[serde(rename = "AvailabilityZone", skip_serializing_if = "Option::is_none")]
    availability_zone: Option<String>,
    #[serde(rename = "TaskTags", skip_serializing_if = "Option::is_none")]
    task_tags: Option<BTreeMap<String, String>>,
    #[serde(rename = "LaunchType", skip_serializing_if = "Option::is_none")]
    launch_type: Option<String>,
    #[serde(rename = "Containers", skip_serializing_if = "Vec::is_empty")]
    containers: Vec<ContainerResponse>,
    #[serde(rename = "ServiceName", skip_serializing_if = "Option::is_none")]
    service_name: Option<String>,
    #[serde(rename = "ClockDrift", skip_serializing_if = "Option::is_none")]
    clock_drift: Option<ClockDrift>,
    #[serde(
        rename = "FaultInjectionEnabled",
        skip_serializing_if = "Option::is_none"
    )]
    fault_injection_enabled: Option<bool>,
}

/// The agent's container response (`tmds/handlers/v2.ContainerResponse`, v4's networks).
#[derive(Debug, Serialize)]
pub(super) struct ContainerResponse {
    #[serde(rename = "DockerId")]
    docker_id: String,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "DockerName")]
    docker_name: String,
    #[serde(rename = "Image")]
    image: String,
    /// The local image id (`sha256:…`), which berth does not track: empty, as the agent writes
    /// an unknown one.
    #[serde(rename = "ImageID")]
    image_id: String,
    #[serde(rename = "Ports", skip_serializing_if = "Vec::is_empty")]
    ports: Vec<Port>,
    #[serde(rename = "Labels", skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    #[serde(rename = "DesiredStatus")]
    desired_status: String,
    #[serde(rename = "KnownStatus")]
    known_status: &'static str,
    #[serde(rename = "ExitCode", skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    #[serde(rename = "Limits")]
    limits: Limits,
    #[serde(rename = "CreatedAt", skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(rename = "StartedAt", skip_serializing_if = "Option::is_none")]
    started_at: Option<String>,
    #[serde(rename = "FinishedAt", skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
    #[serde(rename = "Type")]
    r#type: &'static str,
    #[serde(rename = "Health", skip_serializing_if = "Option::is_none")]
    health: Option<Health>,
    #[serde(rename = "LogDriver", skip_serializing_if = "Option::is_none")]
    log_driver: Option<String>,
    #[serde(rename = "LogOptions", skip_serializing_if = "Option::is_none")]
    log_options: Option<BTreeMap<String, String>>,
    #[serde(rename = "ContainerARN", skip_serializing_if = "Option::is_none")]
    container_arn: Option<String>,
    #[serde(rename = "Networks", skip_serializing_if = "Vec::is_empty")]
    networks: Vec<Network>,
}

#[derive(Debug, Serialize)]
pub(super) struct Limits {
    #[serde(
        rename = "CPU",
        serialize_with = "go_float",
        skip_serializing_if = "Option::is_none"
    )]
    cpu: Option<f64>,
    #[serde(rename = "Memory", skip_serializing_if = "Option::is_none")]
    memory: Option<i64>,
}

#[derive(Debug, Serialize)]
pub(super) struct Port {
    #[serde(rename = "ContainerPort")]
    container_port: u16,
    #[serde(rename = "Protocol", skip_serializing_if = "Option::is_none")]
    protocol: Option<String>,
    #[serde(rename = "HostPort", skip_serializing_if = "Option::is_none")]
    host_port: Option<u16>,
    #[serde(rename = "HostIp", skip_serializing_if = "Option::is_none")]
    host_ip: Option<String>,
}

/// `tmds/handlers/response.Network` with v4's `NetworkInterfaceProperties` (awsvpc only).
#[derive(Debug, Serialize)]
pub(super) struct Network {
    #[serde(rename = "NetworkMode")]
    network_mode: String,
    #[serde(rename = "IPv4Addresses", skip_serializing_if = "Vec::is_empty")]
    ipv4_addresses: Vec<String>,
    #[serde(rename = "AttachmentIndex", skip_serializing_if = "Option::is_none")]
    attachment_index: Option<u32>,
    #[serde(rename = "MACAddress", skip_serializing_if = "Option::is_none")]
    mac_address: Option<String>,
    #[serde(rename = "PrivateDNSName", skip_serializing_if = "Option::is_none")]
    private_dns_name: Option<String>,
}

/// The agent omits `status` while it is UNKNOWN (and so writes `{}`).
#[derive(Debug, Serialize)]
pub(super) struct Health {
    #[serde(rename = "status", skip_serializing_if = "Option::is_none")]
    status: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct ClockDrift {
    #[serde(rename = "ClockErrorBound", serialize_with = "go_float")]
    clock_error_bound: Option<f64>,
    #[serde(rename = "ReferenceTimestamp")]
    reference_timestamp: String,
    #[serde(rename = "ClockSynchronizationStatus")]
    clock_synchronization_status: &'static str,
}

/// Go's encoding/json writes a whole float64 without a fraction (`"CPU": 10`, not `10.0`).
pub(super) fn go_float<S: Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => s.serialize_i64(*v as i64),
        Some(v) => s.serialize_f64(*v),
        None => s.serialize_none(),
    }
}

/// A timestamp as Go's `time.Time` marshals in UTC (RFC 3339, up to nanoseconds, trailing zeros
/// of the fraction dropped): `2020-10-02T00:15:07.620912337Z`.
pub(super) fn go_time(ts: &Timestamp) -> String {
    let secs = ts.0.secs();
    let nanos = ts.0.subsec_nanos();
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    );
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
pub(super) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A task as the domain holds it, copied out of the state for one response.
pub(super) struct TaskView {
    pub(super) data: WireTask,
    pub(super) spec: TaskSpec,
}

impl TaskView {
    pub(super) fn containers(&self) -> impl Iterator<Item = &Container> {
        self.data.containers.iter().flatten()
    }

    pub(super) fn container(&self, name: &str) -> Option<&Container> {
        self.containers().find(|c| c.name.as_deref() == Some(name))
    }

    pub(super) fn definition_of(&self, name: &str) -> Option<&ContainerDefinition> {
        self.spec
            .definition
            .container_definitions
            .iter()
            .flatten()
            .find(|c| c.name.as_deref() == Some(name))
    }

    pub(super) fn override_of(&self, name: &str) -> Option<&ContainerOverride> {
        self.spec
            .overrides
            .iter()
            .flat_map(|o| o.container_overrides.iter().flatten())
            .find(|o| o.name.as_deref() == Some(name))
    }

    /// Fargate tasks are always awsvpc; elsewhere ECS's default is bridge.
    pub(super) fn network_mode(&self) -> NetworkMode {
        if self.data.launch_type == Some(LaunchType::Fargate) {
            return NetworkMode::Awsvpc;
        }
        self.spec
            .definition
            .network_mode
            .clone()
            .unwrap_or(NetworkMode::Bridge)
    }

    /// The agent's task statuses (NONE, CREATED, RUNNING, STOPPED), from ECS's lastStatus.
    pub(super) fn known_status(&self) -> &'static str {
        match self.data.last_status.as_deref() {
            Some("STOPPED") => "STOPPED",
            Some("RUNNING") => "RUNNING",
            _ if self.data.started_at.is_some() => "RUNNING",
            _ if self.containers().any(|c| c.runtime_id.is_some()) => "CREATED",
            _ => "NONE",
        }
    }

    pub(super) fn desired_status(&self) -> String {
        self.data
            .desired_status
            .clone()
            .unwrap_or_else(|| "RUNNING".into())
    }

    /// The ENI attachment's detail `name` (awsvpc: macAddress, privateDnsName …).
    pub(super) fn eni_detail(&self, name: &str) -> Option<String> {
        self.data
            .attachments
            .iter()
            .flatten()
            .filter(|a| a.r#type.as_deref() == Some("ElasticNetworkInterface"))
            .flat_map(|a| a.details.iter().flatten())
            .find(|kv| kv.name.as_deref() == Some(name))
            .and_then(|kv| kv.value.clone())
    }

    /// Task-level sizes after overrides: CPU in vCPU, memory in MiB; omitted when the task
    /// definition has none (as on EC2 without task-level sizes).
    pub(super) fn limits(&self) -> Option<Limits> {
        let overrides = self.spec.overrides.as_ref();
        let definition = &self.spec.definition;
        let cpu = overrides
            .and_then(|o| o.cpu.as_deref())
            .or(definition.cpu.as_deref())
            .and_then(task_definitions::cpu_units)
            .filter(|c| *c > 0)
            .map(|units| f64::from(units) / 1024.0);
        let memory = overrides
            .and_then(|o| o.memory.as_deref())
            .or(definition.memory.as_deref())
            .and_then(task_definitions::memory_mib)
            .filter(|m| *m > 0)
            .map(i64::from);
        (cpu.is_some() || memory.is_some()).then_some(Limits { cpu, memory })
    }

    pub(super) fn task_response(
        &self,
        version: Version,
        with_tags: bool,
        created: &HashMap<String, Timestamp>,
    ) -> TaskResponse {
        let v4 = version == Version::V4;
        let definition = &self.spec.definition;
        let task_tags = with_tags.then(|| {
            self.data
                .tags
                .iter()
                .flatten()
                .filter_map(|t| Some((t.key.clone()?, t.value.clone().unwrap_or_default())))
                .collect::<BTreeMap<_, _>>()
        });
        TaskResponse {
            cluster: self.spec.cluster_arn.clone(),
            task_arn: self.spec.task_arn.clone(),
            family: definition.family.clone().unwrap_or_default(),
            revision: definition.revision.unwrap_or(0).to_string(),
            desired_status: self.data.desired_status.clone(),
            known_status: self.known_status(),
            limits: self.limits(),
            pull_started_at: self.data.pull_started_at.as_ref().map(go_time),
            pull_stopped_at: self.data.pull_stopped_at.as_ref().map(go_time),
            execution_stopped_at: self.data.execution_stopped_at.as_ref().map(go_time),
            availability_zone: self.data.availability_zone.clone(),
            task_tags: task_tags.filter(|t| !t.is_empty()),
            launch_type: v4
                .then(|| {
                    self.data
                        .launch_type
                        .as_ref()
                        .map(|l| l.as_str().to_owned())
                })
                .flatten(),
            containers: self
                .containers()
                .map(|c| {
                    let created_at = c.name.as_ref().and_then(|n| created.get(n)).copied();
                    self.container_response(version, c, created_at)
                })
                .collect(),
            service_name: v4
                .then(|| {
                    self.data
                        .group
                        .as_deref()
                        .and_then(|g| g.strip_prefix("service:"))
                        .map(str::to_owned)
                })
                .flatten(),
            clock_drift: v4.then(|| ClockDrift {
                // The container reads the host's clock, which berth does not measure against a
                // reference: no error bound to report beyond the host's own.
                clock_error_bound: Some(0.0),
                reference_timestamp: go_time(&Timestamp(DateTime::from_secs(
                    Timestamp::now().0.secs(),
                ))),
                clock_synchronization_status: "SYNCHRONIZED",
            }),
            fault_injection_enabled: v4.then(|| definition.enable_fault_injection.unwrap_or(false)),
        }
    }

    pub(super) fn container_response(
        &self,
        version: Version,
        c: &Container,
        created_at: Option<Timestamp>,
    ) -> ContainerResponse {
        let v4 = version == Version::V4;
        let name = c.name.clone().unwrap_or_default();
        let definition = self.definition_of(&name);
        let overrides = self.override_of(&name);
        let created = c.runtime_id.is_some();
        let known_status = match c.last_status.as_deref() {
            Some("RUNNING") => "RUNNING",
            Some("STOPPED") => "STOPPED",
            _ if created => "CREATED",
            _ => "NONE",
        };
        // The agent's Docker labels: the task definition's, then its own on top.
        let mut labels = definition
            .and_then(|d| d.docker_labels.clone())
            .unwrap_or_default();
        let family = self.spec.definition.family.clone().unwrap_or_default();
        let revision = self.spec.definition.revision.unwrap_or(0).to_string();
        for (key, value) in [
            ("com.amazonaws.ecs.cluster", self.spec.cluster_arn.clone()),
            ("com.amazonaws.ecs.container-name", name.clone()),
            ("com.amazonaws.ecs.task-arn", self.spec.task_arn.clone()),
            ("com.amazonaws.ecs.task-definition-family", family),
            ("com.amazonaws.ecs.task-definition-version", revision),
        ] {
            labels.insert(key.to_owned(), value);
        }
        let cpu = overrides
            .and_then(|o| o.cpu)
            .or(definition.and_then(|d| d.cpu))
            .unwrap_or(0);
        let memory = overrides
            .and_then(|o| o.memory)
            .or(definition.and_then(|d| d.memory))
            .or(overrides.and_then(|o| o.memory_reservation))
            .or(definition.and_then(|d| d.memory_reservation))
            .unwrap_or(0);
        let started = matches!(known_status, "RUNNING" | "STOPPED");
        let log = definition.and_then(|d| d.log_configuration.as_ref());
        ContainerResponse {
            docker_id: c.runtime_id.clone().unwrap_or_default(),
            docker_name: self.spec.docker_name(&name),
            image: c
                .image
                .clone()
                .or_else(|| definition.and_then(|d| d.image.clone()))
                .unwrap_or_default(),
            image_id: String::new(),
            ports: self.ports(version, c, definition),
            labels,
            desired_status: self.desired_status(),
            known_status,
            exit_code: c.exit_code,
            limits: Limits {
                // The agent reports at least 2 CPU units: Docker's minimum cpu shares.
                cpu: Some(f64::from(cpu.max(2))),
                memory: Some(i64::from(memory)),
            },
            created_at: created_at.filter(|_| created).as_ref().map(go_time),
            started_at: self
                .data
                .started_at
                .filter(|_| created && started)
                .as_ref()
                .map(go_time),
            finished_at: (known_status == "STOPPED")
                .then(|| self.data.execution_stopped_at.or(self.data.stopped_at))
                .flatten()
                .as_ref()
                .map(go_time),
            r#type: "NORMAL",
            health: definition
                .and_then(|d| d.health_check.as_ref())
                .map(|_| Health {
                    status: match &c.health_status {
                        Some(HealthStatus::Healthy) => Some("HEALTHY".into()),
                        Some(HealthStatus::Unhealthy) => Some("UNHEALTHY".into()),
                        _ => None,
                    },
                }),
            log_driver: log.filter(|_| v4).map(|l| l.log_driver.as_str().to_owned()),
            log_options: log
                .filter(|_| v4)
                .and_then(|l| l.options.clone())
                .filter(|o| !o.is_empty()),
            container_arn: c.container_arn.clone().filter(|_| v4),
            name,
            networks: self.networks(version, c),
        }
    }

    /// Bridge and host: the bindings the executor reported. awsvpc: the task definition's
    /// mappings, reached on the same port at the task's address.
    pub(super) fn ports(
        &self,
        version: Version,
        c: &Container,
        definition: Option<&ContainerDefinition>,
    ) -> Vec<Port> {
        let v4 = version == Version::V4;
        if self.network_mode() == NetworkMode::Awsvpc {
            return definition
                .and_then(|d| d.port_mappings.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|pm| {
                    let port = u16::try_from(pm.container_port?).ok()?;
                    Some(Port {
                        container_port: port,
                        protocol: Some(
                            pm.protocol
                                .as_ref()
                                .map(|p| p.as_str().to_owned())
                                .unwrap_or_else(|| "tcp".into()),
                        ),
                        host_port: Some(port),
                        host_ip: None,
                    })
                })
                .collect();
        }
        c.network_bindings
            .iter()
            .flatten()
            .filter_map(|b| {
                Some(Port {
                    container_port: u16::try_from(b.container_port?).ok()?,
                    protocol: b.protocol.as_ref().map(|p| p.as_str().to_owned()),
                    host_port: b.host_port.and_then(|p| u16::try_from(p).ok()),
                    host_ip: b.bind_ip.clone().filter(|ip| v4 && !ip.is_empty()),
                })
            })
            .collect()
    }

    /// awsvpc: the task's ENI (v4 adds its properties). Other modes: the network mode only,
    /// since the executor does not report a bridge container's address.
    pub(super) fn networks(&self, version: Version, c: &Container) -> Vec<Network> {
        let mode = self.network_mode();
        if mode != NetworkMode::Awsvpc {
            return vec![Network {
                network_mode: mode.as_str().to_owned(),
                ipv4_addresses: Vec::new(),
                attachment_index: None,
                mac_address: None,
                private_dns_name: None,
            }];
        }
        let v4 = version == Version::V4;
        let ipv4_addresses = c
            .network_interfaces
            .iter()
            .flatten()
            .filter_map(|ni| ni.private_ipv4_address.clone())
            .collect();
        vec![Network {
            network_mode: mode.as_str().to_owned(),
            ipv4_addresses,
            // ECS tasks have one ENI, index 0 (the agent hard-codes it too).
            attachment_index: v4.then_some(0),
            mac_address: self.eni_detail("macAddress").filter(|_| v4),
            private_dns_name: self.eni_detail("privateDnsName").filter(|_| v4),
        }]
    }
}
