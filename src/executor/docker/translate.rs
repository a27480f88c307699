//! A container definition, as ECS's agent turns it into a Docker container: pure functions, so
//! each rule is testable without an engine.

use crate::executor::TaskSpec;
use crate::wire::ecs::{
    ContainerDefinition, LogDriver, NetworkMode, PortMapping, Scope, TransportProtocol, Volume,
};
use bollard::models::{
    ContainerCreateBody, HealthConfig, HostConfig, HostConfigLogConfig, PortBinding,
    ResourcesUlimits,
};
use std::collections::HashMap;

/// The labels the ECS agent puts on its containers; berth finds its own by them.
pub const LABEL_CLUSTER: &str = "com.amazonaws.ecs.cluster";
pub const LABEL_TASK_ARN: &str = "com.amazonaws.ecs.task-arn";
pub const LABEL_CONTAINER_NAME: &str = "com.amazonaws.ecs.container-name";
pub const LABEL_FAMILY: &str = "com.amazonaws.ecs.task-definition-family";
pub const LABEL_VERSION: &str = "com.amazonaws.ecs.task-definition-version";
/// Which berth started a container (its API address), so two berths on one engine leave each
/// other's containers alone.
pub const LABEL_OWNER: &str = "berth.owner";

/// ECS's default stop timeout (seconds) when a container definition sets none.
pub const DEFAULT_STOP_TIMEOUT: i64 = 30;

/// The container name ECS gives its pause container.
pub const PAUSE_NAME: &str = "~internal~ecs~pause";

/// How one container of a task is to be created.
pub struct Plan<'a> {
    pub spec: &'a TaskSpec,
    pub def: &'a ContainerDefinition,
    pub owner: &'a str,
    pub env: Vec<(String, String)>,
    pub network_mode: NetworkMode,
    /// awsvpc: the pause container whose namespace every container joins.
    pub pause_id: Option<&'a str>,
    /// Host ports chosen for `hostPort: 0` mappings, in the order of `dynamic_mappings`.
    pub dynamic_ports: &'a [u16],
    /// Where published ports listen on the host.
    pub publish_ip: &'a str,
    /// The log driver goes to Docker unless berth reads the output itself (awslogs).
    pub capture_logs: bool,
    /// berth's DNS server, the resolver a container gets unless its definition names one.
    pub dns: Option<&'a str>,
}

pub fn labels(spec: &TaskSpec, owner: &str, container: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_CLUSTER.to_owned(), spec.cluster_arn.clone()),
        (LABEL_TASK_ARN.to_owned(), spec.task_arn.clone()),
        (LABEL_CONTAINER_NAME.to_owned(), container.to_owned()),
        (
            LABEL_FAMILY.to_owned(),
            spec.definition.family.clone().unwrap_or_default(),
        ),
        (
            LABEL_VERSION.to_owned(),
            spec.definition.revision.unwrap_or(0).to_string(),
        ),
        (LABEL_OWNER.to_owned(), owner.to_owned()),
    ])
}

/// The task's network mode (ECS's default on EC2 is bridge).
pub fn network_mode(spec: &TaskSpec) -> NetworkMode {
    spec.definition
        .network_mode
        .clone()
        .unwrap_or(NetworkMode::Bridge)
}

/// Bridge mappings that ask for a dynamic host port (`hostPort` 0 or absent).
pub fn dynamic_mappings(def: &ContainerDefinition) -> impl Iterator<Item = &PortMapping> {
    def.port_mappings
        .iter()
        .flatten()
        .filter(|m| m.container_port.is_some() && m.host_port.unwrap_or(0) == 0)
}

fn protocol(m: &PortMapping) -> &'static str {
    match m.protocol {
        Some(TransportProtocol::Udp) => "udp",
        _ => "tcp",
    }
}

/// The host port each mapping is published on: static ones as given, dynamic ones in order.
pub fn host_ports(def: &ContainerDefinition, dynamic: &[u16]) -> Vec<(PortMapping, u16)> {
    let mut next = dynamic.iter();
    def.port_mappings
        .iter()
        .flatten()
        .filter_map(|m| {
            m.container_port?;
            let host = match m.host_port.unwrap_or(0) {
                0 => *next.next()?,
                p => u16::try_from(p).ok()?,
            };
            Some((m.clone(), host))
        })
        .collect()
}

fn secs_to_nanos(s: Option<i32>, default: i32) -> i64 {
    i64::from(s.unwrap_or(default).max(0)) * 1_000_000_000
}

/// A named volume a container mounts, or a host path.
fn volume_source(spec: &TaskSpec, v: &Volume) -> Option<String> {
    let name = v.name.as_deref()?;
    if let Some(path) = v.host.as_ref().and_then(|h| h.source_path.clone()) {
        return Some(path);
    }
    match v.docker_volume_configuration.as_ref() {
        // A shared volume keeps its name across tasks; a task-scoped one is the task's own.
        Some(d) if d.scope == Some(Scope::Shared) => Some(name.to_owned()),
        _ => Some(task_volume_name(spec, name)),
    }
}

/// The Docker volume behind a task-scoped (or ephemeral) task volume.
pub fn task_volume_name(spec: &TaskSpec, volume: &str) -> String {
    format!("ecs-{}-{volume}", spec.task_id())
}

/// The Docker volumes the task itself owns: removed with the task.
pub fn task_volumes(spec: &TaskSpec) -> Vec<String> {
    spec.definition
        .volumes
        .iter()
        .flatten()
        .filter(|v| {
            v.host
                .as_ref()
                .and_then(|h| h.source_path.as_ref())
                .is_none()
        })
        .filter(|v| {
            v.docker_volume_configuration
                .as_ref()
                .is_none_or(|d| d.scope != Some(Scope::Shared))
        })
        .filter_map(|v| v.name.as_deref().map(|n| task_volume_name(spec, n)))
        .collect()
}

fn override_of<'a>(
    spec: &'a TaskSpec,
    container: &str,
) -> Option<&'a crate::wire::ecs::ContainerOverride> {
    spec.overrides
        .as_ref()?
        .container_overrides
        .iter()
        .flatten()
        .find(|o| o.name.as_deref() == Some(container))
}

/// The task-level CPU (units) and memory (MiB), after overrides.
fn task_size(spec: &TaskSpec) -> (Option<i64>, Option<i64>) {
    let o = spec.overrides.as_ref();
    let cpu = o
        .and_then(|o| o.cpu.as_deref())
        .or(spec.definition.cpu.as_deref());
    let mem = o
        .and_then(|o| o.memory.as_deref())
        .or(spec.definition.memory.as_deref());
    (
        cpu.and_then(|c| c.trim().parse().ok()),
        mem.and_then(|m| m.trim().parse().ok()),
    )
}

pub fn create_body(p: &Plan) -> ContainerCreateBody {
    let def = p.def;
    let name = def.name.as_deref().unwrap_or("");
    let o = override_of(p.spec, name);
    let mut labels: HashMap<String, String> = def
        .docker_labels
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    labels.extend(self::labels(p.spec, p.owner, name));

    let (task_cpu, task_mem) = task_size(p.spec);
    let cpu = o.and_then(|o| o.cpu).or(def.cpu).unwrap_or(0);
    let memory = o
        .and_then(|o| o.memory)
        .or(def.memory)
        .map(i64::from)
        .or(task_mem);
    let reservation = o
        .and_then(|o| o.memory_reservation)
        .or(def.memory_reservation);

    let mut host = HostConfig {
        // The agent's floor: Docker treats shares below 2 as 2 anyway.
        cpu_shares: Some(i64::from(cpu).max(2)),
        memory: memory.map(|m| m * 1024 * 1024),
        memory_reservation: reservation.map(|m| i64::from(m) * 1024 * 1024),
        nano_cpus: task_cpu.map(|c| c * 1_000_000_000 / 1024),
        privileged: def.privileged,
        readonly_rootfs: def.readonly_root_filesystem,
        dns: def.dns_servers.clone().or_else(|| {
            // awsvpc containers share the pause container's resolver.
            (p.network_mode != NetworkMode::Awsvpc)
                .then(|| p.dns.map(|d| vec![d.to_owned()]))
                .flatten()
        }),
        dns_search: def.dns_search_domains.clone(),
        security_opt: def.docker_security_options.clone(),
        extra_hosts: def.extra_hosts.as_ref().map(|hs| {
            hs.iter()
                .map(|h| format!("{}:{}", h.hostname, h.ip_address))
                .collect()
        }),
        ulimits: def.ulimits.as_ref().map(|us| {
            us.iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.as_str().to_owned()),
                    soft: Some(i64::from(u.soft_limit)),
                    hard: Some(i64::from(u.hard_limit)),
                })
                .collect()
        }),
        sysctls: def.system_controls.as_ref().map(|s| {
            s.iter()
                .filter_map(|c| Some((c.namespace.clone()?, c.value.clone()?)))
                .collect()
        }),
        ..Default::default()
    };
    if let Some(lp) = &def.linux_parameters {
        if let Some(caps) = &lp.capabilities {
            host.cap_add = caps.add.clone();
            host.cap_drop = caps.drop.clone();
        }
        host.init = lp.init_process_enabled;
        host.shm_size = lp.shared_memory_size.map(|m| i64::from(m) * 1024 * 1024);
        host.memory_swap = lp.max_swap.zip(memory).map(|(swap, m)| {
            // ECS's maxSwap is swap on top of memory; Docker's MemorySwap is the sum.
            (m + i64::from(swap)) * 1024 * 1024
        });
        host.memory_swappiness = lp.swappiness.map(i64::from);
        host.tmpfs = lp.tmpfs.as_ref().map(|ts| {
            ts.iter()
                .map(|t| {
                    let mut opts = vec![format!("size={}m", t.size)];
                    opts.extend(t.mount_options.iter().flatten().cloned());
                    (t.container_path.clone(), opts.join(","))
                })
                .collect()
        });
    }
    host.binds = Some(
        def.mount_points
            .iter()
            .flatten()
            .filter_map(|m| {
                let vol = p
                    .spec
                    .definition
                    .volumes
                    .iter()
                    .flatten()
                    .find(|v| v.name.as_deref() == m.source_volume.as_deref())?;
                let source = volume_source(p.spec, vol)?;
                let ro = if m.read_only == Some(true) { ":ro" } else { "" };
                Some(format!("{source}:{}{ro}", m.container_path.as_deref()?))
            })
            .collect(),
    );
    host.volumes_from = def.volumes_from.as_ref().map(|vs| {
        vs.iter()
            .filter_map(|v| {
                let src = p.spec.docker_name(v.source_container.as_deref()?);
                Some(if v.read_only == Some(true) {
                    format!("{src}:ro")
                } else {
                    src
                })
            })
            .collect()
    });
    if !p.capture_logs
        && let Some(lc) = &def.log_configuration
        && lc.log_driver != LogDriver::Awslogs
    {
        host.log_config = Some(HostConfigLogConfig {
            typ: Some(lc.log_driver.as_str().to_owned()),
            config: lc
                .options
                .as_ref()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        });
    }

    let mut exposed = HashMap::new();
    let mut hostname = def.hostname.clone();
    match p.network_mode {
        NetworkMode::Awsvpc => {
            host.network_mode = p.pause_id.map(|id| format!("container:{id}"));
            // The namespace is the pause container's; its hostname is the task's.
            hostname = None;
        }
        NetworkMode::Host => host.network_mode = Some("host".into()),
        NetworkMode::None => host.network_mode = Some("none".into()),
        _ => {
            host.network_mode = Some("bridge".into());
            let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
            for (m, port) in host_ports(def, p.dynamic_ports) {
                let key = format!("{}/{}", m.container_port.unwrap_or(0), protocol(&m));
                exposed.insert(key.clone(), HashMap::new());
                bindings
                    .entry(key)
                    .or_default()
                    .get_or_insert_with(Vec::new)
                    .push(PortBinding {
                        host_ip: Some(p.publish_ip.to_owned()),
                        host_port: Some(port.to_string()),
                    });
            }
            host.port_bindings = Some(bindings);
        }
    }
    if def.disable_networking == Some(true) {
        host.network_mode = Some("none".into());
    }

    let command = o.and_then(|o| o.command.clone()).or(def.command.clone());
    ContainerCreateBody {
        image: def.image.clone(),
        cmd: command,
        entrypoint: def.entry_point.clone(),
        env: Some(p.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        working_dir: def.working_directory.clone(),
        user: def.user.clone(),
        hostname,
        labels: Some(labels),
        tty: def.pseudo_terminal,
        open_stdin: def.interactive,
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        stop_timeout: Some(
            def.stop_timeout
                .map(i64::from)
                .unwrap_or(DEFAULT_STOP_TIMEOUT),
        ),
        healthcheck: def.health_check.as_ref().map(|h| HealthConfig {
            test: Some(h.command.clone()),
            interval: Some(secs_to_nanos(h.interval, 30)),
            timeout: Some(secs_to_nanos(h.timeout, 5)),
            retries: Some(i64::from(h.retries.unwrap_or(3))),
            start_period: Some(secs_to_nanos(h.start_period, 0)),
            start_interval: None,
        }),
        host_config: Some(host),
        ..Default::default()
    }
}

/// The awslogs settings of a container: (region, group, stream, create group).
pub fn awslogs(
    spec: &TaskSpec,
    def: &ContainerDefinition,
) -> Option<(String, String, String, bool)> {
    let lc = def.log_configuration.as_ref()?;
    if lc.log_driver != LogDriver::Awslogs {
        return None;
    }
    let opts = lc.options.clone().unwrap_or_default();
    let group = opts.get("awslogs-group").cloned().unwrap_or_default();
    let name = def.name.as_deref().unwrap_or("");
    let stream = match opts.get("awslogs-stream-prefix") {
        Some(prefix) => format!("{prefix}/{name}/{}", spec.task_id()),
        // Without a prefix the agent names the stream after the Docker container.
        None => spec.docker_name(name),
    };
    let region = opts
        .get("awslogs-region")
        .cloned()
        .unwrap_or_else(|| spec.region.clone());
    let create = opts
        .get("awslogs-create-group")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Some((region, group, stream, create))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ecs::{
        HealthCheck, HostEntry, KernelCapabilities, LinuxParameters, LogConfiguration, MountPoint,
        TaskDefinition, Tmpfs,
    };

    fn spec(def: ContainerDefinition, mode: NetworkMode) -> TaskSpec {
        TaskSpec {
            region: "us-east-1".into(),
            task_arn: "arn:aws:ecs:us-east-1:000000000000:task/c/abc123".into(),
            cluster_arn: "arn:aws:ecs:us-east-1:000000000000:cluster/c".into(),
            definition: std::sync::Arc::new(TaskDefinition {
                family: Some("web".into()),
                revision: Some(3),
                network_mode: Some(mode),
                cpu: Some("512".into()),
                container_definitions: Some(vec![def]),
                volumes: Some(vec![Volume {
                    name: Some("scratch".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            overrides: None,
        }
    }

    fn plan<'a>(spec: &'a TaskSpec, ports: &'a [u16]) -> Plan<'a> {
        Plan {
            spec,
            def: &spec.definition.container_definitions.as_ref().unwrap()[0],
            owner: "127.0.0.1:4566",
            env: vec![("A".into(), "1".into())],
            network_mode: network_mode(spec),
            pause_id: Some("pauseid"),
            dynamic_ports: ports,
            publish_ip: "127.0.0.1",
            capture_logs: true,
            dns: Some("169.254.170.2"),
        }
    }

    #[test]
    fn bridge_publishes_static_and_dynamic_ports_on_the_publish_ip() {
        let s = spec(
            ContainerDefinition {
                name: Some("app".into()),
                image: Some("img".into()),
                port_mappings: Some(vec![
                    PortMapping {
                        container_port: Some(80),
                        host_port: Some(0),
                        ..Default::default()
                    },
                    PortMapping {
                        container_port: Some(53),
                        host_port: Some(5353),
                        protocol: Some(TransportProtocol::Udp),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            },
            NetworkMode::Bridge,
        );
        let body = create_body(&plan(&s, &[49200]));
        let hc = body.host_config.unwrap();
        let pb = hc.port_bindings.unwrap();
        let b = &pb["80/tcp"].as_ref().unwrap()[0];
        assert_eq!(b.host_port.as_deref(), Some("49200"));
        assert_eq!(b.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(
            pb["53/udp"].as_ref().unwrap()[0].host_port.as_deref(),
            Some("5353")
        );
        assert_eq!(hc.network_mode.as_deref(), Some("bridge"));
        // berth's DNS server is the container's resolver.
        assert_eq!(hc.dns, Some(vec!["169.254.170.2".to_owned()]));
    }

    #[test]
    fn awsvpc_joins_the_pause_namespace_and_drops_the_hostname() {
        let s = spec(
            ContainerDefinition {
                name: Some("app".into()),
                hostname: Some("h".into()),
                ..Default::default()
            },
            NetworkMode::Awsvpc,
        );
        let body = create_body(&plan(&s, &[]));
        let hc = body.host_config.unwrap();
        assert_eq!(hc.network_mode.as_deref(), Some("container:pauseid"));
        // Docker refuses a resolver for a container that joins another's namespace.
        assert_eq!(hc.dns, None);
        assert_eq!(body.hostname, None);
    }

    #[test]
    fn resources_labels_and_linux_parameters_map_like_the_agent() {
        let s = spec(
            ContainerDefinition {
                name: Some("app".into()),
                cpu: Some(256),
                memory: Some(64),
                memory_reservation: Some(32),
                stop_timeout: Some(2),
                extra_hosts: Some(vec![HostEntry {
                    hostname: "db".into(),
                    ip_address: "10.0.0.1".into(),
                }]),
                linux_parameters: Some(LinuxParameters {
                    init_process_enabled: Some(true),
                    capabilities: Some(KernelCapabilities {
                        add: Some(vec!["NET_ADMIN".into()]),
                        drop: None,
                    }),
                    tmpfs: Some(vec![Tmpfs {
                        container_path: "/run".into(),
                        size: 16,
                        mount_options: Some(vec!["noexec".into()]),
                    }]),
                    shared_memory_size: Some(8),
                    ..Default::default()
                }),
                mount_points: Some(vec![MountPoint {
                    source_volume: Some("scratch".into()),
                    container_path: Some("/data".into()),
                    read_only: Some(true),
                }]),
                health_check: Some(HealthCheck {
                    command: vec!["CMD-SHELL".into(), "true".into()],
                    interval: Some(5),
                    ..Default::default()
                }),
                log_configuration: Some(LogConfiguration {
                    log_driver: LogDriver::JsonFile,
                    options: None,
                    secret_options: None,
                }),
                ..Default::default()
            },
            NetworkMode::Bridge,
        );
        let mut p = plan(&s, &[]);
        p.capture_logs = false;
        let body = create_body(&p);
        let labels = body.labels.as_ref().unwrap();
        assert_eq!(labels[LABEL_TASK_ARN], s.task_arn);
        assert_eq!(labels[LABEL_VERSION], "3");
        assert_eq!(body.stop_timeout, Some(2));
        let hc = body.healthcheck.as_ref().unwrap();
        assert_eq!(hc.interval, Some(5_000_000_000));
        assert_eq!(hc.retries, Some(3));
        let h = body.host_config.unwrap();
        assert_eq!(h.cpu_shares, Some(256));
        assert_eq!(h.memory, Some(64 << 20));
        assert_eq!(h.memory_reservation, Some(32 << 20));
        assert_eq!(h.nano_cpus, Some(500_000_000));
        assert_eq!(h.init, Some(true));
        assert_eq!(h.cap_add, Some(vec!["NET_ADMIN".to_owned()]));
        assert_eq!(h.tmpfs.unwrap()["/run"], "size=16m,noexec");
        assert_eq!(h.shm_size, Some(8 << 20));
        assert_eq!(h.extra_hosts, Some(vec!["db:10.0.0.1".to_owned()]));
        assert_eq!(
            h.binds,
            Some(vec!["ecs-abc123-scratch:/data:ro".to_owned()])
        );
        assert_eq!(h.log_config.unwrap().typ.as_deref(), Some("json-file"));
        assert_eq!(task_volumes(&s), vec!["ecs-abc123-scratch".to_owned()]);
    }

    #[test]
    fn awslogs_stream_is_prefix_container_task_id_in_the_tasks_region() {
        let def = ContainerDefinition {
            name: Some("app".into()),
            log_configuration: Some(LogConfiguration {
                log_driver: LogDriver::Awslogs,
                options: Some(
                    [
                        ("awslogs-group".to_owned(), "/ecs/web".to_owned()),
                        ("awslogs-stream-prefix".to_owned(), "ecs".to_owned()),
                        ("awslogs-create-group".to_owned(), "true".to_owned()),
                    ]
                    .into(),
                ),
                secret_options: None,
            }),
            ..Default::default()
        };
        let mut s = spec(def.clone(), NetworkMode::Bridge);
        s.region = "eu-west-1".into();
        let (region, group, stream, create) = awslogs(&s, &def).unwrap();
        assert_eq!(
            (region.as_str(), group.as_str(), stream.as_str(), create),
            ("eu-west-1", "/ecs/web", "ecs/app/abc123", true)
        );
    }
}
