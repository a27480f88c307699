//! Cloud Map's rules, called directly with the time given.

use super::namespaces::NewNamespace;
use super::*;
use crate::executor::Host;
use std::sync::Arc;
use wire::{OperationStatus, RecordType};

pub(super) fn state() -> State {
    let hosts: Arc<Vec<Host>> = Arc::new(Vec::new());
    State::new(&RegionInfo {
        name: "us-east-1",
        account_id: "000000000000",
        hosts: &hosts,
    })
}

pub(super) fn at(ms: i64) -> Timestamp {
    Timestamp(aws_smithy_types::DateTime::from_millis(
        1_800_000_000_000 + ms,
    ))
}

pub(super) fn namespace(kind: wire::NamespaceType, name: &str, vpc: Option<&str>) -> NewNamespace {
    NewNamespace {
        name: name.into(),
        kind,
        creator_request_id: None,
        description: None,
        vpc: vpc.map(str::to_owned),
        soa_ttl: None,
        tags: None,
    }
}

/// A private namespace `local`, created at 0 and existing from 300 ms; its id.
pub(super) fn private_local(s: &mut State) -> String {
    let op = s
        .create_namespace(
            namespace(wire::NamespaceType::DnsPrivate, "local", Some("vpc-1")),
            at(0),
        )
        .expect("created");
    let got = s.get_operation(&op, at(1000)).expect("operation");
    got.operation
        .and_then(|o| o.targets)
        .and_then(|t| t.get("NAMESPACE").cloned())
        .expect("namespace target")
}

pub(super) fn dns_service(
    s: &mut State,
    ns: &str,
    name: &str,
    types: &[RecordType],
    routing: wire::RoutingPolicy,
    custom_health: bool,
) -> String {
    let req = wire::CreateServiceRequest {
        name: name.into(),
        namespace_id: Some(ns.into()),
        dns_config: Some(wire::DnsConfig {
            dns_records: types
                .iter()
                .map(|t| wire::DnsRecord {
                    ttl: 10,
                    r#type: t.clone(),
                })
                .collect(),
            namespace_id: None,
            routing_policy: Some(routing),
        }),
        health_check_custom_config: custom_health.then_some(wire::HealthCheckCustomConfig {
            failure_threshold: None,
        }),
        ..Default::default()
    };
    s.create_service(req, at(1000))
        .expect("service")
        .id
        .expect("id")
}

pub(super) fn register(s: &mut State, svc: &str, id: &str, attrs: &[(&str, &str)]) {
    let req = wire::RegisterInstanceRequest {
        service_id: svc.into(),
        instance_id: id.into(),
        attributes: attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        creator_request_id: None,
    };
    s.register_instance(req, at(1000)).expect("registered");
}

fn code(r: Result<impl std::fmt::Debug, ApiError>) -> String {
    r.expect_err("an error").code.into_owned()
}

#[test]
fn a_namespace_operation_moves_from_submitted_through_pending_to_success() {
    let mut s = state();
    let op = s
        .create_namespace(namespace(wire::NamespaceType::Http, "apps", None), at(0))
        .expect("created");
    let status = |s: &State, ms| {
        s.get_operation(&op, at(ms))
            .ok()
            .and_then(|r| r.operation)
            .and_then(|o| o.status)
    };
    assert_eq!(status(&s, 10), Some(OperationStatus::Submitted));
    assert_eq!(status(&s, 150), Some(OperationStatus::Pending));
    assert_eq!(status(&s, 400), Some(OperationStatus::Success));
    // The namespace exists once its creation succeeded, not before.
    let id = s
        .get_operation(&op, at(0))
        .ok()
        .and_then(|r| r.operation)
        .and_then(|o| o.targets)
        .and_then(|t| t.get("NAMESPACE").cloned())
        .expect("target");
    assert_eq!(code(s.get_namespace(&id, at(150))), "NamespaceNotFound");
    let ns = s.get_namespace(&id, at(400)).expect("namespace");
    assert_eq!(ns.name.as_deref(), Some("apps"));
    assert_eq!(
        ns.properties
            .and_then(|p| p.http_properties)
            .and_then(|h| h.http_name),
        Some("apps".into())
    );
}

#[test]
fn names_clash_as_on_aws() {
    let mut s = state();
    let ns = private_local(&mut s);
    // HTTP and public names are unique: NamespaceAlreadyExists at once.
    assert_eq!(
        code(s.create_namespace(
            namespace(wire::NamespaceType::Http, "local", None),
            at(1000)
        )),
        "NamespaceAlreadyExists"
    );
    // A second private zone of the same name in the same VPC fails asynchronously, as
    // Route 53's ConflictingDomainExists does.
    let op = s
        .create_namespace(
            namespace(wire::NamespaceType::DnsPrivate, "local", Some("vpc-1")),
            at(1000),
        )
        .expect("accepted");
    let failed = s
        .get_operation(&op, at(2000))
        .expect("op")
        .operation
        .expect("op");
    assert_eq!(failed.status, Some(OperationStatus::Fail));
    assert_eq!(
        failed.error_code.as_deref(),
        Some("CANNOT_CREATE_HOSTED_ZONE")
    );
    // Another VPC may have its own `local`.
    let other = s
        .create_namespace(
            namespace(wire::NamespaceType::DnsPrivate, "local", Some("vpc-2")),
            at(1000),
        )
        .expect("accepted");
    assert_eq!(
        s.get_operation(&other, at(2000))
            .expect("op")
            .operation
            .and_then(|o| o.status),
        Some(OperationStatus::Success)
    );
    // While a creation runs, the same name again is a DuplicateRequest.
    s.create_namespace(
        namespace(wire::NamespaceType::Http, "fresh", None),
        at(3000),
    )
    .expect("created");
    assert_eq!(
        code(s.create_namespace(
            namespace(wire::NamespaceType::Http, "fresh", None),
            at(3010)
        )),
        "DuplicateRequest"
    );
    assert_ne!(ns, "");
}

#[test]
fn ecs_naming_a_namespace_twice_in_a_row_shares_the_one_being_created() {
    // UpdateCluster then CreateService with the same Service Connect namespace name, within the
    // creation's few hundred milliseconds: the second finds the first's namespace.
    let mut s = state();
    let first = s.create_http_namespace_for("shop", at(0)).expect("created");
    assert_eq!(s.namespace_arn_named("shop", at(10)), Some(first.clone()));
    assert_eq!(s.namespace_arn_named("SHOP.", at(5000)), Some(first));
    assert_eq!(s.namespace_arn_named("other", at(10)), None);
}

#[test]
fn a_namespace_in_use_cannot_be_deleted_and_a_deleted_one_goes() {
    let mut s = state();
    let ns = private_local(&mut s);
    let svc = dns_service(
        &mut s,
        &ns,
        "web",
        &[RecordType::A],
        wire::RoutingPolicy::Multivalue,
        false,
    );
    assert_eq!(code(s.delete_namespace(&ns, at(1000))), "ResourceInUse");
    register(&mut s, &svc, "i-1", &[("AWS_INSTANCE_IPV4", "10.0.0.1")]);
    assert_eq!(code(s.delete_service(&svc)), "ResourceInUse");
    s.deregister_instance(&svc, "i-1", at(1000))
        .expect("deregistered");
    s.delete_service(&svc).expect("deleted");
    s.delete_namespace(&ns, at(1000)).expect("deletion started");
    assert!(
        s.get_namespace(&ns, at(1100)).is_ok(),
        "still there while deleting"
    );
    assert_eq!(code(s.delete_namespace(&ns, at(1100))), "DuplicateRequest");
    assert_eq!(code(s.get_namespace(&ns, at(2000))), "NamespaceNotFound");
}

#[test]
fn instances_need_the_attributes_their_records_do() {
    let mut s = state();
    let ns = private_local(&mut s);
    let a = dns_service(
        &mut s,
        &ns,
        "a",
        &[RecordType::A],
        wire::RoutingPolicy::Multivalue,
        false,
    );
    let srv = dns_service(
        &mut s,
        &ns,
        "s",
        &[RecordType::Srv],
        wire::RoutingPolicy::Multivalue,
        false,
    );
    let req = |svc: &str, attrs: &[(&str, &str)]| wire::RegisterInstanceRequest {
        service_id: svc.into(),
        instance_id: "i-1".into(),
        attributes: attrs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        creator_request_id: None,
    };
    assert_eq!(
        code(s.register_instance(req(&a, &[]), at(1000))),
        "InvalidInput"
    );
    assert_eq!(
        code(s.register_instance(req(&a, &[("AWS_INSTANCE_IPV4", "10.0.0.300")]), at(1000))),
        "InvalidInput"
    );
    assert_eq!(
        code(s.register_instance(req(&srv, &[("AWS_INSTANCE_IPV4", "10.0.0.1")]), at(1000))),
        "InvalidInput"
    );
    assert_eq!(
        code(s.register_instance(req("srv-nothere", &[]), at(1000))),
        "ServiceNotFound"
    );
    s.register_instance(req(&srv, &[("AWS_INSTANCE_PORT", "8080")]), at(1000))
        .expect("an SRV instance needs a port");
}

#[test]
fn discover_instances_filters_by_attributes_and_health() {
    let mut s = state();
    let ns = private_local(&mut s);
    let svc = dns_service(
        &mut s,
        &ns,
        "web",
        &[RecordType::A],
        wire::RoutingPolicy::Multivalue,
        true,
    );
    register(
        &mut s,
        &svc,
        "blue",
        &[("AWS_INSTANCE_IPV4", "10.0.0.1"), ("color", "blue")],
    );
    register(
        &mut s,
        &svc,
        "green",
        &[("AWS_INSTANCE_IPV4", "10.0.0.2"), ("color", "green")],
    );
    s.update_instance_custom_health_status(&svc, "green", wire::CustomHealthStatus::Unhealthy)
        .expect("status");
    let discover = |s: &State,
                    health: Option<wire::HealthStatusFilter>,
                    query: &[(&str, &str)],
                    optional: &[(&str, &str)]| {
        let q = DiscoverQuery {
            namespace: "local".into(),
            service: "web".into(),
            max_results: None,
            query_parameters: query
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            optional_parameters: optional
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            health,
        };
        let r = s.discover_instances(&q, at(2000)).expect("discovered");
        let mut ids: Vec<String> = r
            .instances
            .into_iter()
            .flatten()
            .filter_map(|i| i.instance_id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(discover(&s, None, &[], &[]), ["blue"]);
    assert_eq!(
        discover(&s, Some(wire::HealthStatusFilter::All), &[], &[]),
        ["blue", "green"]
    );
    assert_eq!(
        discover(&s, Some(wire::HealthStatusFilter::Unhealthy), &[], &[]),
        ["green"]
    );
    assert_eq!(
        discover(
            &s,
            Some(wire::HealthStatusFilter::All),
            &[("color", "green")],
            &[]
        ),
        ["green"]
    );
    // Optional parameters narrow only when some instance matches them.
    assert_eq!(
        discover(
            &s,
            Some(wire::HealthStatusFilter::All),
            &[],
            &[("color", "blue")]
        ),
        ["blue"]
    );
    assert_eq!(
        discover(
            &s,
            Some(wire::HealthStatusFilter::All),
            &[],
            &[("color", "red")]
        ),
        ["blue", "green"]
    );
    s.update_instance_custom_health_status(&svc, "blue", wire::CustomHealthStatus::Unhealthy)
        .expect("status");
    assert_eq!(
        discover(
            &s,
            Some(wire::HealthStatusFilter::HealthyOrElseAll),
            &[],
            &[]
        ),
        ["blue", "green"]
    );
}

#[test]
fn a_service_holds_at_most_a_thousand_instances() {
    let mut s = state();
    let ns = private_local(&mut s);
    let svc = dns_service(
        &mut s,
        &ns,
        "big",
        &[RecordType::A],
        wire::RoutingPolicy::Multivalue,
        false,
    );
    for i in 0..1000 {
        register(
            &mut s,
            &svc,
            &format!("i-{i}"),
            &[("AWS_INSTANCE_IPV4", "10.0.0.1")],
        );
    }
    let more = wire::RegisterInstanceRequest {
        service_id: svc.clone(),
        instance_id: "one-more".into(),
        attributes: [("AWS_INSTANCE_IPV4".to_owned(), "10.0.0.1".to_owned())].into(),
        creator_request_id: None,
    };
    assert_eq!(
        code(s.register_instance(more, at(1000))),
        "ResourceLimitExceeded"
    );
}
