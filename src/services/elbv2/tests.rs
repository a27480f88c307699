//! The rules of ELBv2, through the state (no HTTP): names, idempotent creation, listeners,
//! rules and priorities, actions, target registration and health, routing.

use super::routing::{RequestFacts, Snapshot, compile_condition, redirect_location, wildcard};
use super::*;
use crate::store::RegionInfo;
use std::sync::Arc;

fn state() -> State {
    let hosts = Arc::new(Vec::new());
    State::new(&RegionInfo {
        name: "us-east-1",
        account_id: "000000000000",
        hosts: &hosts,
    })
}

fn alb(s: &mut State, name: &str) -> String {
    s.create_load_balancer(
        wire::CreateLoadBalancerInput {
            name: name.into(),
            ..Default::default()
        },
        Timestamp::now(),
    )
    .expect("lb")
    .load_balancer_arn
    .expect("arn")
}

fn tg(s: &mut State, name: &str, protocol: wire::ProtocolEnum) -> String {
    s.create_target_group(wire::CreateTargetGroupInput {
        name: name.into(),
        protocol: Some(protocol),
        port: Some(80),
        target_type: Some(wire::TargetTypeEnum::Ip),
        vpc_id: Some("vpc-1".into()),
        ..Default::default()
    })
    .expect("tg")
    .target_group_arn
    .expect("arn")
}

fn forward(tg: &str) -> wire::Action {
    wire::Action {
        r#type: wire::ActionTypeEnum::Forward,
        target_group_arn: Some(tg.into()),
        ..Default::default()
    }
}

fn listener(s: &mut State, lb: &str, port: i32, tg: &str) -> Result<String, ApiError> {
    s.create_listener(wire::CreateListenerInput {
        load_balancer_arn: lb.into(),
        port: Some(port),
        protocol: Some(wire::ProtocolEnum::Http),
        default_actions: vec![forward(tg)],
        ..Default::default()
    })
    .map(|l| l.listener_arn.expect("arn"))
}

fn path_rule(
    s: &mut State,
    l: &str,
    priority: i32,
    path: &str,
    tg: &str,
) -> Result<String, ApiError> {
    s.create_rule(wire::CreateRuleInput {
        listener_arn: l.into(),
        priority,
        conditions: vec![wire::RuleCondition {
            field: Some("path-pattern".into()),
            values: Some(vec![path.into()]),
            ..Default::default()
        }],
        actions: vec![forward(tg)],
        ..Default::default()
    })
    .map(|r| r.rule_arn.expect("arn"))
}

#[test]
fn names_and_idempotent_creation() {
    let mut s = state();
    let a = alb(&mut s, "web");
    assert_eq!(
        alb(&mut s, "web"),
        a,
        "same settings: the same load balancer"
    );
    let err = s
        .create_load_balancer(
            wire::CreateLoadBalancerInput {
                name: "web".into(),
                r#type: Some(wire::LoadBalancerTypeEnum::Network),
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap_err();
    assert_eq!(err.code, "DuplicateLoadBalancerName");
    for bad in ["-web", "web-", "a_b", &"x".repeat(33)] {
        let err = s
            .create_load_balancer(
                wire::CreateLoadBalancerInput {
                    name: bad.into(),
                    ..Default::default()
                },
                Timestamp::now(),
            )
            .unwrap_err();
        assert_eq!(err.code, "ValidationError", "{bad}");
    }
    let lb = s.load_balancers.get(&a).expect("lb");
    assert!(lb.dns_name.starts_with("web-") && lb.dns_name.ends_with(".us-east-1.elb.localhost"));
    let t = tg(&mut s, "t", wire::ProtocolEnum::Http);
    assert_eq!(tg(&mut s, "t", wire::ProtocolEnum::Http), t);
    let err = s
        .create_target_group(wire::CreateTargetGroupInput {
            name: "t".into(),
            protocol: Some(wire::ProtocolEnum::Tcp),
            port: Some(80),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, "DuplicateTargetGroupName");
}

#[test]
fn listeners_rules_and_priorities() {
    let mut s = state();
    let lb = alb(&mut s, "web");
    let t = tg(&mut s, "t", wire::ProtocolEnum::Http);
    let tcp = tg(&mut s, "tcp", wire::ProtocolEnum::Tcp);
    let l = listener(&mut s, &lb, 80, &t).expect("listener");
    assert_eq!(
        listener(&mut s, &lb, 80, &t).unwrap_err().code,
        "DuplicateListener"
    );
    assert_eq!(
        listener(&mut s, &lb, 81, &tcp).unwrap_err().code,
        "IncompatibleProtocols"
    );
    assert_eq!(
        listener(
            &mut s,
            &lb,
            82,
            "arn:aws:elasticloadbalancing:us-east-1:0:targetgroup/x/1"
        )
        .unwrap_err()
        .code,
        "TargetGroupNotFound"
    );
    let r1 = path_rule(&mut s, &l, 10, "/api/*", &t).expect("rule");
    assert_eq!(
        path_rule(&mut s, &l, 10, "/b", &t).unwrap_err().code,
        "PriorityInUse"
    );
    assert_eq!(
        path_rule(&mut s, &l, 0, "/b", &t).unwrap_err().code,
        "ValidationError"
    );
    let r2 = path_rule(&mut s, &l, 20, "/b", &t).expect("rule");
    // Swapping two priorities in one call is allowed; colliding with a third is not.
    let swap = |a: &str, pa: i32, b: &str, pb: i32| {
        vec![
            wire::RulePriorityPair {
                rule_arn: Some(a.into()),
                priority: Some(pa),
            },
            wire::RulePriorityPair {
                rule_arn: Some(b.into()),
                priority: Some(pb),
            },
        ]
    };
    s.set_rule_priorities(swap(&r1, 20, &r2, 10)).expect("swap");
    assert_eq!(s.rules[&r1].priority, 20);
    let err = s.set_rule_priorities(swap(&r1, 5, &r2, 5)).unwrap_err();
    assert_eq!(err.code, "PriorityInUse");
    let rules = s
        .describe_rules(wire::DescribeRulesInput {
            listener_arn: Some(l.clone()),
            ..Default::default()
        })
        .expect("rules")
        .rules
        .expect("rules");
    let priorities: Vec<_> = rules
        .iter()
        .map(|r| r.priority.clone().unwrap_or_default())
        .collect();
    assert_eq!(priorities, ["10", "20", "default"]);
    let default = rules[2].rule_arn.clone().expect("arn");
    assert_eq!(
        s.delete_rule(&default).unwrap_err().code,
        "OperationNotPermitted"
    );
    // A target group in use cannot be deleted; the load balancer takes its listeners along.
    assert_eq!(s.delete_target_group(&t).unwrap_err().code, "ResourceInUse");
    s.delete_load_balancer(&lb).expect("delete");
    assert!(s.listeners.is_empty() && s.rules.is_empty());
    s.delete_target_group(&t).expect("free now");
}

#[test]
fn condition_limits_and_actions() {
    let mut s = state();
    let lb = alb(&mut s, "web");
    let t = tg(&mut s, "t", wire::ProtocolEnum::Http);
    let l = listener(&mut s, &lb, 80, &t).expect("listener");
    let too_many = wire::RuleCondition {
        field: Some("host-header".into()),
        values: Some((0..6).map(|i| format!("h{i}.example.com")).collect()),
        ..Default::default()
    };
    let err = s
        .create_rule(wire::CreateRuleInput {
            listener_arn: l.clone(),
            priority: 1,
            conditions: vec![too_many],
            actions: vec![forward(&t)],
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, "ValidationError");
    let bad_field = wire::RuleCondition {
        field: Some("cookie".into()),
        values: Some(vec!["x".into()]),
        ..Default::default()
    };
    assert!(compile_condition(&bad_field).is_err());
    let fixed = |code: &str| wire::Action {
        r#type: wire::ActionTypeEnum::FixedResponse,
        fixed_response_config: Some(wire::FixedResponseActionConfig {
            status_code: code.into(),
            content_type: Some("text/plain".into()),
            message_body: Some("hi".into()),
        }),
        ..Default::default()
    };
    assert!(
        s.check_actions(&lb, &wire::ProtocolEnum::Http, vec![fixed("404")])
            .is_ok()
    );
    assert!(
        s.check_actions(&lb, &wire::ProtocolEnum::Http, vec![fixed("302")])
            .is_err()
    );
    let same_url = wire::Action {
        r#type: wire::ActionTypeEnum::Redirect,
        redirect_config: Some(wire::RedirectActionConfig {
            status_code: wire::RedirectActionStatusCodeEnum::Http301,
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = s
        .check_actions(&lb, &wire::ProtocolEnum::Http, vec![same_url])
        .unwrap_err();
    assert_eq!(err.code, "InvalidLoadBalancerAction");
}

#[test]
fn target_health_states() {
    let mut s = state();
    let now = Timestamp::now();
    let t = tg(&mut s, "t", wire::ProtocolEnum::Http);
    let target = |id: &str| wire::TargetDescription {
        id: id.into(),
        ..Default::default()
    };
    let err = s
        .register_targets(&t, vec![target("8.8.8.8")], None)
        .unwrap_err();
    assert_eq!(err.code, "InvalidTarget", "public addresses are refused");
    s.register_targets(&t, vec![target("127.0.0.1")], None)
        .expect("register");
    let key = ("127.0.0.1".to_owned(), 80);
    let state_of = |s: &State| s.health_of(&t, &key, now).expect("registered");
    assert_eq!(
        state_of(&s).reason,
        Some(wire::TargetHealthReasonEnum::TargetNotInUse)
    );
    let lb = alb(&mut s, "web");
    listener(&mut s, &lb, 80, &t).expect("listener");
    assert_eq!(
        state_of(&s).reason,
        Some(wire::TargetHealthReasonEnum::ElbRegistrationInProgress)
    );
    s.report_health(&t, &key, target_groups::Health::healthy());
    assert_eq!(state_of(&s).state, wire::TargetHealthStateEnum::Healthy);
    s.deregister_targets(&t, vec![target("127.0.0.1")], now)
        .expect("deregister");
    assert_eq!(state_of(&s).state, wire::TargetHealthStateEnum::Draining);
    // After the deregistration delay (300 s by default) the target is gone.
    s.settle(Timestamp::from_secs_f64(now.as_secs_f64() + 301.0));
    assert!(s.health_of(&t, &key, now).is_none());
}

#[test]
fn routing_by_priority_then_default() {
    let mut s = state();
    let lb = alb(&mut s, "web");
    let a = tg(&mut s, "a", wire::ProtocolEnum::Http);
    let b = tg(&mut s, "b", wire::ProtocolEnum::Http);
    let l = listener(&mut s, &lb, 80, &a).expect("listener");
    path_rule(&mut s, &l, 5, "/b/*", &b).expect("rule");
    s.register_targets(
        &b,
        vec![wire::TargetDescription {
            id: "127.0.0.1".into(),
            port: Some(9000),
            ..Default::default()
        }],
        None,
    )
    .expect("register");
    let snap = Snapshot::build(std::iter::once(&s), Timestamp::now());
    let route = &snap.listeners[0];
    let facts = |path: &'static str| RequestFacts {
        host: "x",
        path,
        method: "GET",
        query: "",
        source: "127.0.0.1".parse().expect("ip"),
        headers: &[],
    };
    let to = |path: &'static str| {
        route
            .route(&facts(path))
            .and_then(|a| a.pick())
            .map(|g| g.arn.clone())
    };
    assert_eq!(to("/b/x").as_deref(), Some(b.as_str()));
    assert_eq!(to("/c").as_deref(), Some(a.as_str()));
    // The unhealthy-only group fails open: its one target still gets the request.
    let set = route
        .route(&facts("/b/x"))
        .and_then(|a| a.pick())
        .expect("group");
    assert_eq!(set.next().map(|a| a.port()), Some(9000));
    assert_eq!(snap.health.len(), 1);
}

#[test]
fn wildcards_and_redirects() {
    assert!(wildcard("*.example.com", "api.EXAMPLE.com", true));
    assert!(!wildcard("*.example.com", "example.com", true));
    assert!(wildcard("/api/?/x*", "/api/1/xyz", false));
    assert!(!wildcard("/API/*", "/api/1", false));
    let r = wire::RedirectActionConfig {
        protocol: Some("HTTPS".into()),
        port: Some("443".into()),
        status_code: wire::RedirectActionStatusCodeEnum::Http301,
        ..Default::default()
    };
    assert_eq!(
        redirect_location(&r, "http", "a.test", 80, "/p/q", "x=1"),
        "https://a.test/p/q?x=1"
    );
    assert_eq!(
        routing::parse_matcher("200-299,302"),
        Some(vec![(200, 299), (302, 302)])
    );
    assert_eq!(routing::parse_matcher("100"), None);
}
