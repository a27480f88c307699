//! Answers over snapshots built from Cloud Map's state, without sockets.

use super::*;
use crate::services::servicediscovery::tests::{at, dns_service, private_local, register, state};
use crate::wire::servicediscovery::{CustomHealthStatus, RoutingPolicy};

fn a_records(a: &Answer) -> Vec<Ipv4Addr> {
    match a {
        Answer::Zone { answers, .. } => answers
            .iter()
            .filter_map(|r| match r.data {
                RData::A(ip) => Some(ip),
                _ => None,
            })
            .collect(),
        Answer::Outside => Vec::new(),
    }
}

#[test]
fn multivalue_answers_at_most_eight_healthy_records() {
    let mut s = state();
    let ns = private_local(&mut s);
    let svc = dns_service(
        &mut s,
        &ns,
        "web",
        &[RecordType::A],
        RoutingPolicy::Multivalue,
        true,
    );
    for i in 1..=10 {
        register(
            &mut s,
            &svc,
            &format!("t{i}"),
            &[("AWS_INSTANCE_IPV4", &format!("10.0.0.{i}"))],
        );
    }
    s.update_instance_custom_health_status(&svc, "t10", CustomHealthStatus::Unhealthy)
        .expect("status");
    let snap = Snapshot::build([&s], &[], at(2000));
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..50 {
        let ips = a_records(&answer(&snap, "WEB.local.", QType::A, seed));
        assert_eq!(ips.len(), 8, "{ips:?}");
        assert!(
            !ips.contains(&Ipv4Addr::new(10, 0, 0, 10)),
            "unhealthy is hidden"
        );
        seen.extend(ips);
    }
    // Over many queries every healthy instance is answered.
    assert_eq!(seen.len(), 9);
    match answer(&snap, "web.local", QType::A, 0) {
        Answer::Zone { answers, .. } => assert!(answers.iter().all(|r| r.ttl == 10)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn weighted_answers_one_record() {
    let mut s = state();
    let ns = private_local(&mut s);
    let svc = dns_service(
        &mut s,
        &ns,
        "w",
        &[RecordType::A],
        RoutingPolicy::Weighted,
        false,
    );
    for i in 1..=3 {
        register(
            &mut s,
            &svc,
            &format!("t{i}"),
            &[("AWS_INSTANCE_IPV4", &format!("10.0.1.{i}"))],
        );
    }
    let snap = Snapshot::build([&s], &[], at(2000));
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..60 {
        let ips = a_records(&answer(&snap, "w.local", QType::A, seed));
        assert_eq!(ips.len(), 1);
        seen.extend(ips);
    }
    assert_eq!(seen.len(), 3, "each instance is chosen sometimes");
}

#[test]
fn srv_answers_name_targets_that_resolve() {
    let mut s = state();
    let ns = private_local(&mut s);
    let svc = dns_service(
        &mut s,
        &ns,
        "api",
        &[RecordType::Srv],
        RoutingPolicy::Multivalue,
        false,
    );
    register(
        &mut s,
        &svc,
        "abc123",
        &[
            ("AWS_INSTANCE_IPV4", "127.0.0.1"),
            ("AWS_INSTANCE_PORT", "49153"),
        ],
    );
    let snap = Snapshot::build([&s], &[], at(2000));
    let Answer::Zone { answers, .. } = answer(&snap, "api.local", QType::Srv, 1) else {
        panic!("inside the zone");
    };
    assert_eq!(
        answers[0].data,
        RData::Srv(Srv {
            priority: 1,
            weight: 1,
            port: 49153,
            target: "abc123.api.local".into()
        })
    );
    assert_eq!(
        a_records(&answer(&snap, "abc123.api.local", QType::A, 1)),
        [Ipv4Addr::new(127, 0, 0, 1)]
    );
}

#[test]
fn unknown_names_are_nxdomain_inside_a_zone_and_outside_elsewhere() {
    let mut s = state();
    let ns = private_local(&mut s);
    let svc = dns_service(
        &mut s,
        &ns,
        "web",
        &[RecordType::A],
        RoutingPolicy::Multivalue,
        false,
    );
    register(&mut s, &svc, "t1", &[("AWS_INSTANCE_IPV4", "10.0.0.1")]);
    let snap = Snapshot::build([&s], &[], at(2000));
    match answer(&snap, "nope.local", QType::A, 0) {
        Answer::Zone {
            exists: false,
            answers,
            soa: Some(soa),
        } => {
            assert!(answers.is_empty());
            assert_eq!((soa.owner, soa.ttl), (Owner::Name("local".into()), 15));
        }
        other => panic!("NXDOMAIN expected: {other:?}"),
    }
    // The name exists but has no AAAA record: NODATA.
    assert!(matches!(
        answer(&snap, "web.local", QType::Aaaa, 0),
        Answer::Zone { exists: true, ref answers, soa: Some(_) } if answers.is_empty()
    ));
    assert!(matches!(
        answer(&snap, "local", QType::Soa, 0),
        Answer::Zone { exists: true, ref answers, .. } if answers.len() == 1
    ));
    assert_eq!(answer(&snap, "example.com", QType::A, 0), Answer::Outside);
    assert_eq!(answer(&snap, "notlocal", QType::A, 0), Answer::Outside);
}

#[test]
fn when_no_instance_is_healthy_every_one_is_answered() {
    let mut s = state();
    let ns = private_local(&mut s);
    let svc = dns_service(
        &mut s,
        &ns,
        "sick",
        &[RecordType::A],
        RoutingPolicy::Multivalue,
        true,
    );
    register(&mut s, &svc, "t1", &[("AWS_INSTANCE_IPV4", "10.0.0.1")]);
    s.update_instance_custom_health_status(&svc, "t1", CustomHealthStatus::Unhealthy)
        .expect("status");
    let snap = Snapshot::build([&s], &[], at(2000));
    assert_eq!(
        a_records(&answer(&snap, "sick.local", QType::A, 0)),
        [Ipv4Addr::new(10, 0, 0, 1)]
    );
}

#[test]
fn a_zone_exists_from_its_namespaces_creation_until_its_deletion() {
    let mut s = state();
    let ns = private_local(&mut s);
    assert_eq!(
        answer(&Snapshot::build([&s], &[], at(100)), "x.local", QType::A, 0),
        Answer::Outside
    );
    assert!(matches!(
        answer(
            &Snapshot::build([&s], &[], at(2000)),
            "x.local",
            QType::A,
            0
        ),
        Answer::Zone { exists: false, .. }
    ));
    s.delete_namespace(&ns, at(3000)).expect("deleting");
    assert_eq!(
        answer(
            &Snapshot::build([&s], &[], at(4000)),
            "x.local",
            QType::A,
            0
        ),
        Answer::Outside
    );
}
