//! Application Auto Scaling's rules, called directly with the time given.

use super::*;
use crate::executor::Host;
use std::sync::Arc;

fn state() -> State {
    let hosts: Arc<Vec<Host>> = Arc::new(Vec::new());
    State::new(&RegionInfo {
        name: "us-east-1",
        account_id: "000000000000",
        hosts: &hosts,
    })
}

fn ecs_key() -> Key {
    key(
        &wire::ServiceNamespace::Ecs,
        "service/c/web",
        &wire::ScalableDimension::EcsServiceDesiredCount,
    )
}

fn registered(s: &mut State, min: i32, max: i32, suspended: bool) {
    s.register(
        Registration {
            key: ecs_key(),
            min: Some(min),
            max: Some(max),
            role_arn: None,
            suspended: Some(wire::SuspendedState {
                scheduled_scaling_suspended: Some(suspended),
                ..Default::default()
            }),
            tags: None,
        },
        Timestamp::from_secs_f64(0.0),
    )
    .expect("registered");
}

fn action(s: &mut State, name: &str, schedule: &str, min: Option<i32>, max: Option<i32>) {
    let req = wire::PutScheduledActionRequest {
        scheduled_action_name: name.into(),
        schedule: Some(schedule.into()),
        scalable_target_action: Some(wire::ScalableTargetAction {
            min_capacity: min,
            max_capacity: max,
        }),
        ..Default::default()
    };
    s.put_scheduled_action(ecs_key(), req, Timestamp::from_secs_f64(1_893_456_000.0))
        .expect("action");
}

#[test]
fn only_ecs_services_desired_count_can_be_scaled() {
    let ok = State::check_resource(
        &wire::ServiceNamespace::Ecs,
        "service/c/web",
        &wire::ScalableDimension::EcsServiceDesiredCount,
    );
    assert!(ok.is_ok());
    for (ns, id) in [
        ("dynamodb", "table/t"),
        ("ecs", "cluster/c"),
        ("ecs", "service/c/w/x"),
    ] {
        let r = State::check_resource(
            &wire::ServiceNamespace::from(ns),
            id,
            &wire::ScalableDimension::EcsServiceDesiredCount,
        );
        assert_eq!(
            r.err().map(|e| e.code.into_owned()).as_deref(),
            Some("ValidationException")
        );
    }
}

#[test]
fn a_due_action_moves_both_bounds_unless_scheduled_scaling_is_suspended() {
    let mut s = state();
    registered(&mut s, 1, 4, false);
    // 2030-01-01T00:00:10 UTC, ten seconds after the action was put.
    action(&mut s, "up", "at(2030-01-01T00:00:10)", Some(6), None);
    assert!(
        s.run_due_actions(Timestamp::from_secs_f64(1_893_456_005.0))
            .is_empty()
    );
    let ran = s.run_due_actions(Timestamp::from_secs_f64(1_893_456_011.0));
    assert_eq!(ran, vec![(ecs_key(), "up".to_owned())]);
    let t = &s.targets[&ecs_key()].data;
    // A min above the old max takes the max along.
    assert_eq!((t.min_capacity, t.max_capacity), (6, 6));
    // An `at` action runs once.
    assert!(
        s.run_due_actions(Timestamp::from_secs_f64(1_893_457_000.0))
            .is_empty()
    );

    let mut s = state();
    registered(&mut s, 1, 4, true);
    action(&mut s, "up", "at(2030-01-01T00:00:10)", Some(2), None);
    assert!(
        s.run_due_actions(Timestamp::from_secs_f64(1_893_456_011.0))
            .is_empty()
    );
    assert_eq!(s.targets[&ecs_key()].data.min_capacity, 1);
}
