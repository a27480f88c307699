//! Placement scenarios: a cluster of a few instances, a task definition's demand, a RunTask or a
//! service's strategies and constraints, and where the tasks land.

use super::*;

fn instance(n: usize, az: &str, cpu: i64, memory: i64) -> Candidate {
    let mut c = Candidate::new(
        format!("arn:aws:ecs:us-east-1:000000000000:container-instance/default/{n:032x}"),
        format!("i-{n:017x}"),
    );
    c.remaining_cpu = cpu;
    c.remaining_memory = memory;
    c.attributes
        .insert("ecs.availability-zone".to_owned(), Some(az.to_owned()));
    c.attributes
        .insert("ecs.instance-type".to_owned(), Some("t2.medium".to_owned()));
    c.attributes
        .insert("ecs.os-type".to_owned(), Some("linux".to_owned()));
    c
}

fn web(cpu: i64, memory: i64) -> Demand {
    Demand {
        cpu,
        memory,
        ports: Vec::new(),
        group: "family:web".to_owned(),
        task_definition_family: "web".to_owned(),
        task_definition_arn: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1".to_owned(),
    }
}

fn task_of(group: &str) -> PlacedTask {
    PlacedTask {
        group: group.to_owned(),
        task_definition_family: "other".to_owned(),
        task_definition_arn: "arn:aws:ecs:us-east-1:000000000000:task-definition/other:1"
            .to_owned(),
        started_by: None,
    }
}

fn strategy(kind: &str, field: Option<&str>) -> PlacementStrategy {
    PlacementStrategy {
        field: field.map(str::to_owned),
        r#type: Some(PlacementStrategyType::from(kind)),
    }
}

fn spread(field: &str) -> PlacementStrategy {
    strategy("spread", Some(field))
}

fn binpack(field: &str) -> PlacementStrategy {
    strategy("binpack", Some(field))
}

fn member_of(expression: &str) -> PlacementConstraint {
    PlacementConstraint {
        expression: Some(expression.to_owned()),
        r#type: Some(PlacementConstraintType::MemberOf),
    }
}

fn distinct() -> PlacementConstraint {
    PlacementConstraint {
        expression: None,
        r#type: Some(PlacementConstraintType::DistinctInstance),
    }
}

fn run(
    cluster: &mut [Candidate],
    demand: &Demand,
    strategies: &[PlacementStrategy],
    constraints: &[PlacementConstraint],
    count: usize,
) -> Vec<Result<usize, &'static str>> {
    match place(cluster, demand, strategies, constraints, count, 7) {
        Ok(r) => r,
        Err(e) => panic!("placement was refused: {e}"),
    }
}

/// The instances chosen, failing the test on any failure.
fn all_placed(results: &[Result<usize, &'static str>]) -> Vec<usize> {
    results
        .iter()
        .map(|r| match r {
            Ok(i) => *i,
            Err(why) => panic!("a task was not placed: {why}"),
        })
        .collect()
}

fn tasks_per_instance(cluster: &[Candidate], group: &str) -> Vec<usize> {
    cluster
        .iter()
        .map(|c| c.tasks.iter().filter(|t| t.group == group).count())
        .collect()
}

fn refused(strategies: &[PlacementStrategy], constraints: &[PlacementConstraint]) -> String {
    let mut cluster = vec![instance(1, "us-east-1a", 1024, 1024)];
    match place(&mut cluster, &web(1, 1), strategies, constraints, 1, 0) {
        Err(PlacementError::Invalid(msg)) => {
            assert!(
                cluster[0].tasks.is_empty(),
                "nothing is placed when refused"
            );
            msg
        }
        Ok(r) => panic!("should be refused, placed {r:?}"),
    }
}

#[test]
fn spread_across_three_zones_places_nine_tasks_three_by_three() {
    let mut cluster = vec![
        instance(1, "us-east-1a", 4096, 4096),
        instance(2, "us-east-1b", 4096, 4096),
        instance(3, "us-east-1c", 4096, 4096),
    ];
    let r = run(
        &mut cluster,
        &web(128, 256),
        &[spread("attribute:ecs.availability-zone")],
        &[],
        9,
    );
    assert_eq!(all_placed(&r).len(), 9);
    assert_eq!(tasks_per_instance(&cluster, "family:web"), vec![3, 3, 3]);
    assert!(cluster.iter().all(|c| c.remaining_memory == 4096 - 3 * 256));
    assert!(cluster.iter().all(|c| c.remaining_cpu == 4096 - 3 * 128));
}

#[test]
fn spread_counts_the_group_across_the_whole_zone() {
    // us-east-1a already runs two tasks of the group, one on a full instance.
    let mut full = instance(1, "us-east-1a", 0, 0);
    full.tasks.push(task_of("family:web"));
    let mut a = instance(2, "us-east-1a", 4096, 4096);
    a.tasks.push(task_of("family:web"));
    // Other groups' tasks don't count.
    let mut b = instance(3, "us-east-1b", 4096, 4096);
    b.tasks.extend([task_of("family:db"), task_of("family:db")]);
    let mut cluster = vec![full, a, b];
    let r = run(
        &mut cluster,
        &web(128, 256),
        &[spread("attribute:ecs.availability-zone")],
        &[],
        2,
    );
    assert_eq!(all_placed(&r), vec![2, 2]);
    let r = run(
        &mut cluster,
        &web(128, 256),
        &[spread("attribute:ecs.availability-zone")],
        &[],
        2,
    );
    // Now 2 and 2: the zones alternate, and 1a's only fitting instance is #1.
    let placed = all_placed(&r);
    assert!(placed.contains(&1) && placed.contains(&2), "{placed:?}");
}

#[test]
fn spread_on_instance_id_or_host_balances_instances() {
    for field in ["instanceId", "host"] {
        let mut busy = instance(1, "us-east-1a", 4096, 4096);
        busy.tasks
            .extend([task_of("family:web"), task_of("family:web")]);
        let mut cluster = vec![
            busy,
            instance(2, "us-east-1a", 4096, 4096),
            instance(3, "us-east-1b", 4096, 4096),
        ];
        let r = run(&mut cluster, &web(10, 10), &[spread(field)], &[], 7);
        assert_eq!(all_placed(&r).len(), 7);
        assert_eq!(
            tasks_per_instance(&cluster, "family:web"),
            vec![3, 3, 3],
            "{field}"
        );
    }
}

#[test]
fn spread_on_a_custom_attribute_treats_absence_as_one_value() {
    let mut red = instance(1, "us-east-1a", 4096, 4096);
    red.attributes
        .insert("team".to_owned(), Some("red".to_owned()));
    let mut blue = instance(2, "us-east-1a", 4096, 4096);
    blue.attributes
        .insert("team".to_owned(), Some("blue".to_owned()));
    let none_1 = instance(3, "us-east-1a", 4096, 4096);
    let none_2 = instance(4, "us-east-1a", 4096, 4096);
    let mut cluster = vec![red, blue, none_1, none_2];
    let r = run(
        &mut cluster,
        &web(10, 10),
        &[spread("attribute:team")],
        &[],
        6,
    );
    assert_eq!(all_placed(&r).len(), 6);
    let per = tasks_per_instance(&cluster, "family:web");
    assert_eq!((per[0], per[1], per[2] + per[3]), (2, 2, 2));
}

#[test]
fn spread_zones_then_instances_like_the_guide() {
    // Two instances in 1a, one in 1b: zones get 2 and 2, and 1a's two instances one each.
    let mut cluster = vec![
        instance(1, "us-east-1a", 4096, 4096),
        instance(2, "us-east-1a", 4096, 4096),
        instance(3, "us-east-1b", 4096, 4096),
    ];
    let r = run(
        &mut cluster,
        &web(10, 10),
        &default_service_strategies(),
        &[],
        4,
    );
    assert_eq!(all_placed(&r).len(), 4);
    assert_eq!(tasks_per_instance(&cluster, "family:web"), vec![1, 1, 2]);
}

#[test]
fn spread_zones_then_binpack_memory_like_the_guide() {
    let mut cluster = vec![
        instance(1, "us-east-1a", 4096, 2048),
        instance(2, "us-east-1a", 4096, 1024),
        instance(3, "us-east-1b", 4096, 4096),
        instance(4, "us-east-1b", 4096, 512),
    ];
    let r = run(
        &mut cluster,
        &web(10, 256),
        &[spread("attribute:ecs.availability-zone"), binpack("memory")],
        &[],
        4,
    );
    assert_eq!(all_placed(&r).len(), 4);
    // Within each zone the instance with the least memory left takes the tasks.
    assert_eq!(tasks_per_instance(&cluster, "family:web"), vec![0, 2, 0, 2]);
}

#[test]
fn binpack_memory_fills_the_fullest_fitting_instance_first() {
    let mut cluster = vec![
        instance(1, "us-east-1a", 4096, 1024),
        instance(2, "us-east-1a", 4096, 512),
        instance(3, "us-east-1a", 4096, 2048),
        // Too little memory to fit: never chosen, although it has the least left.
        instance(4, "us-east-1a", 4096, 100),
    ];
    let r = run(&mut cluster, &web(10, 256), &[binpack("memory")], &[], 7);
    // 512 takes two, then 1024 takes four, then 2048.
    assert_eq!(all_placed(&r), vec![1, 1, 0, 0, 0, 0, 2]);
    assert_eq!(cluster[1].remaining_memory, 0);
    assert_eq!(cluster[0].remaining_memory, 0);
    assert_eq!(cluster[2].remaining_memory, 2048 - 256);
    assert!(cluster[3].tasks.is_empty());
}

#[test]
fn binpack_cpu_and_case_insensitive_fields() {
    let mut cluster = vec![
        instance(1, "us-east-1a", 2048, 4096),
        instance(2, "us-east-1a", 1024, 4096),
    ];
    let r = run(&mut cluster, &web(512, 10), &[binpack("CPU")], &[], 3);
    assert_eq!(all_placed(&r), vec![1, 1, 0]);
    let mut cluster = vec![
        instance(1, "us-east-1a", 4096, 2048),
        instance(2, "us-east-1a", 4096, 1024),
    ];
    let r = run(&mut cluster, &web(10, 512), &[binpack("MEMORY")], &[], 1);
    assert_eq!(all_placed(&r), vec![1]);
}

#[test]
fn random_is_deterministic_for_a_seed_and_uses_every_instance() {
    let cluster: Vec<Candidate> = (1..=4)
        .map(|n| instance(n, "us-east-1a", 100_000, 100_000))
        .collect();
    let go = |seed: u64, strategies: &[PlacementStrategy]| {
        let mut c = cluster.clone();
        match place(&mut c, &web(1, 1), strategies, &[], 40, seed) {
            Ok(r) => (all_placed(&r), tasks_per_instance(&c, "family:web")),
            Err(e) => panic!("{e}"),
        }
    };
    let random = [strategy("random", None)];
    let (first, per) = go(42, &random);
    assert_eq!(go(42, &random).0, first, "same seed, same placement");
    assert!(per.iter().all(|&n| n > 0), "{per:?}");
    assert!(
        (0..8).any(|s| go(s, &random).0 != first),
        "other seeds place differently"
    );
    // No strategy is RunTask's default: random.
    assert_eq!(go(42, &[]).0, first);
}

#[test]
fn member_of_restricts_instances_and_fails_with_the_ecs_reason() {
    let mut m5 = instance(1, "us-east-1a", 4096, 4096);
    m5.attributes
        .insert("ecs.instance-type".to_owned(), Some("m5.large".to_owned()));
    let mut cluster = vec![m5.clone(), instance(2, "us-east-1b", 4096, 4096)];
    let r = run(
        &mut cluster,
        &web(10, 10),
        &[],
        &[member_of("attribute:ecs.instance-type =~ t2.*")],
        5,
    );
    assert_eq!(all_placed(&r), vec![1; 5]);

    let mut only_m5 = vec![m5];
    let r = run(
        &mut only_m5,
        &web(10, 10),
        &[],
        &[member_of("attribute:ecs.instance-type =~ t2.*")],
        2,
    );
    assert_eq!(r, vec![Err(reason::MEMBER_OF), Err(reason::MEMBER_OF)]);
    assert_eq!(
        reason::MEMBER_OF,
        "MemberOf placement constraint unsatisfied."
    );
    assert!(only_m5[0].tasks.is_empty());
}

#[test]
fn member_of_task_group_affinity_and_anti_affinity() {
    let mut db_host = instance(1, "us-east-1a", 4096, 4096);
    db_host.tasks.push(task_of("databases"));
    let mut cluster = vec![instance(2, "us-east-1a", 4096, 4096), db_host];
    let r = run(
        &mut cluster,
        &web(10, 10),
        &[],
        &[member_of("task:group == databases")],
        3,
    );
    assert_eq!(all_placed(&r), vec![1, 1, 1]);
    let r = run(
        &mut cluster,
        &web(10, 10),
        &[],
        &[member_of("not(task:group == databases)")],
        3,
    );
    assert_eq!(all_placed(&r), vec![0, 0, 0]);
}

#[test]
fn member_of_sees_tasks_placed_earlier_in_the_same_call() {
    let mut cluster = vec![
        instance(1, "us-east-1a", 4096, 4096),
        instance(2, "us-east-1a", 4096, 4096),
    ];
    let r = run(
        &mut cluster,
        &web(10, 10),
        &[],
        &[member_of("runningTasksCount == 0")],
        3,
    );
    let placed: Vec<_> = r.iter().filter(|x| x.is_ok()).collect();
    assert_eq!(placed.len(), 2);
    assert_eq!(r[2], Err(reason::MEMBER_OF));
    assert_eq!(tasks_per_instance(&cluster, "family:web"), vec![1, 1]);
}

#[test]
fn distinct_instance_puts_each_task_of_the_group_on_its_own_instance() {
    let mut other_group = instance(3, "us-east-1a", 4096, 4096);
    other_group.tasks.push(task_of("family:db"));
    let mut cluster = vec![
        instance(1, "us-east-1a", 4096, 4096),
        instance(2, "us-east-1b", 4096, 4096),
        other_group,
    ];
    let r = run(
        &mut cluster,
        &web(10, 10),
        &[binpack("memory")],
        &[distinct()],
        4,
    );
    let mut placed: Vec<usize> = r[..3].iter().filter_map(|x| x.ok()).collect();
    placed.sort_unstable();
    assert_eq!(placed, vec![0, 1, 2], "tasks of other groups don't block");
    assert_eq!(r[3], Err(reason::DISTINCT_INSTANCE));
    assert_eq!(tasks_per_instance(&cluster, "family:web"), vec![1, 1, 1]);
}

#[test]
fn distinct_instance_counts_tasks_already_running() {
    let mut running = instance(1, "us-east-1a", 4096, 4096);
    running.tasks.push(task_of("family:web"));
    let mut cluster = vec![running];
    let r = run(&mut cluster, &web(10, 10), &[], &[distinct()], 1);
    assert_eq!(r, vec![Err(reason::DISTINCT_INSTANCE)]);
}

#[test]
fn resource_failures() {
    let mut cluster = vec![instance(1, "us-east-1a", 1024, 512)];
    assert_eq!(
        run(&mut cluster, &web(10, 1024), &[], &[], 1),
        vec![Err(reason::MEMORY)]
    );
    assert_eq!(
        run(&mut cluster, &web(2048, 10), &[], &[], 1),
        vec![Err(reason::CPU)]
    );
    assert_eq!(reason::MEMORY, "RESOURCE:MEMORY");
    assert_eq!(reason::CPU, "RESOURCE:CPU");
    // Exactly what is left fits.
    assert_eq!(run(&mut cluster, &web(1024, 512), &[], &[], 1), vec![Ok(0)]);
    assert_eq!(
        (cluster[0].remaining_cpu, cluster[0].remaining_memory),
        (0, 0)
    );
    // A task that asks for nothing still fits.
    assert_eq!(run(&mut cluster, &web(0, 0), &[], &[], 1), vec![Ok(0)]);
}

#[test]
fn port_conflicts() {
    let mut c = instance(1, "us-east-1a", 4096, 4096);
    c.used_ports.insert((22, Protocol::Tcp));
    let mut cluster = vec![c];
    let mut d = web(10, 10);
    d.ports = vec![(80, Protocol::Tcp)];
    assert_eq!(
        run(&mut cluster, &d, &[], &[], 2),
        vec![Ok(0), Err(reason::PORTS)]
    );
    assert_eq!(reason::PORTS, "RESOURCE:PORTS");
    assert!(cluster[0].used_ports.contains(&(80, Protocol::Tcp)));
    // The same number over udp is another port.
    d.ports = vec![(80, Protocol::Udp)];
    assert_eq!(run(&mut cluster, &d, &[], &[], 1), vec![Ok(0)]);
    // Reserved ports conflict too.
    d.ports = vec![(22, Protocol::Tcp)];
    assert_eq!(run(&mut cluster, &d, &[], &[], 1), vec![Err(reason::PORTS)]);
    // Host port 0 is dynamic: never a conflict, never recorded.
    d.ports = vec![(0, Protocol::Tcp), (0, Protocol::Tcp)];
    assert_eq!(
        run(&mut cluster, &d, &[], &[], 3),
        vec![Ok(0), Ok(0), Ok(0)]
    );
    assert!(!cluster[0].used_ports.contains(&(0, Protocol::Tcp)));
}

#[test]
fn ports_send_tasks_to_another_instance() {
    let mut cluster = vec![
        instance(1, "us-east-1a", 4096, 4096),
        instance(2, "us-east-1a", 4096, 4096),
    ];
    let mut d = web(10, 10);
    d.ports = vec![(8080, Protocol::Tcp)];
    let r = run(&mut cluster, &d, &[binpack("memory")], &[], 3);
    let mut placed: Vec<usize> = r[..2].iter().filter_map(|x| x.ok()).collect();
    placed.sort_unstable();
    assert_eq!(placed, vec![0, 1]);
    assert_eq!(r[2], Err(reason::PORTS));
}

#[test]
fn count_ten_on_one_small_instance_places_what_fits() {
    let mut cluster = vec![instance(1, "us-east-1a", 1024, 1024)];
    let r = run(&mut cluster, &web(128, 256), &[], &[], 10);
    assert_eq!(r.len(), 10);
    assert_eq!(&r[..4], &[Ok(0), Ok(0), Ok(0), Ok(0)]);
    assert!(r[4..].iter().all(|x| *x == Err(reason::MEMORY)), "{r:?}");
    assert_eq!(cluster[0].tasks.len(), 4);
    assert_eq!(cluster[0].remaining_memory, 0);
    assert_eq!(cluster[0].remaining_cpu, 1024 - 4 * 128);
    let t = &cluster[0].tasks[0];
    assert_eq!(t.group, "family:web");
    assert_eq!(t.task_definition_family, "web");
}

#[test]
fn the_reason_is_the_step_that_eliminated_the_last_instances() {
    let short_of_memory = instance(1, "us-east-1a", 4096, 100);
    let short_of_cpu = instance(2, "us-east-1a", 100, 4096);
    let mut m5 = instance(3, "us-east-1a", 4096, 4096);
    m5.attributes
        .insert("ecs.instance-type".to_owned(), Some("m5.large".to_owned()));

    // Memory removes #1, then CPU removes #2: CPU.
    let mut cluster = vec![short_of_memory.clone(), short_of_cpu.clone()];
    assert_eq!(
        run(&mut cluster, &web(512, 512), &[], &[], 1),
        vec![Err(reason::CPU)]
    );
    // Memory, then the constraint removes the fitting m5: MemberOf.
    let mut cluster = vec![short_of_memory.clone(), m5.clone()];
    let t2_only = [member_of("attribute:ecs.instance-type == t2.medium")];
    assert_eq!(
        run(&mut cluster, &web(512, 512), &[], &t2_only, 1),
        vec![Err(reason::MEMBER_OF)]
    );
    // Resources come before constraints: a t2 short of memory is a memory failure.
    let mut cluster = vec![short_of_memory];
    assert_eq!(
        run(&mut cluster, &web(512, 512), &[], &t2_only, 1),
        vec![Err(reason::MEMORY)]
    );
    // Constraints apply in order.
    let mut cluster = vec![m5];
    assert_eq!(
        run(
            &mut cluster,
            &web(1, 1),
            &[],
            &[member_of("attribute:stack exists"), distinct()],
            1
        ),
        vec![Err(reason::MEMBER_OF)]
    );
}

#[test]
fn inactive_instances_are_never_chosen() {
    let mut draining = instance(1, "us-east-1a", 100_000, 100_000);
    draining.active = false;
    let mut cluster = vec![draining.clone(), instance(2, "us-east-1a", 1024, 1024)];
    let r = run(&mut cluster, &web(10, 10), &[binpack("memory")], &[], 3);
    assert_eq!(all_placed(&r), vec![1, 1, 1]);
    let mut cluster = vec![draining];
    assert_eq!(
        run(&mut cluster, &web(10, 10), &[], &[], 1),
        vec![Err(reason::NO_CONTAINER_INSTANCES)]
    );
    let mut empty: Vec<Candidate> = Vec::new();
    assert_eq!(
        run(&mut empty, &web(10, 10), &[], &[], 2),
        vec![Err(reason::NO_CONTAINER_INSTANCES); 2]
    );
}

#[test]
fn agent_facts_disconnected_and_versions() {
    let mut cluster = vec![
        instance(1, "us-east-1a", 4096, 4096),
        instance(2, "us-east-1a", 4096, 4096),
    ];
    let facts = [
        InstanceFacts {
            agent_connected: false,
            ..InstanceFacts::default()
        },
        InstanceFacts {
            agent_version: Some("1.14.4".to_owned()),
            ..InstanceFacts::default()
        },
    ];
    let r = place_with_facts(&mut cluster, &facts, &web(1, 1), &[], &[], 2, 0);
    assert_eq!(r, Ok(vec![Ok(1), Ok(1)]));
    let r = place_with_facts(
        &mut cluster,
        &facts[..1],
        &web(1, 1),
        &[],
        &[member_of("agentVersion < 1.14.5")],
        1,
        0,
    );
    // #1's agent is disconnected and #2's version is unknown without its facts.
    assert_eq!(r, Ok(vec![Err(reason::MEMBER_OF)]));
    let mut lone = vec![instance(1, "us-east-1a", 4096, 4096)];
    let r = place_with_facts(&mut lone, &facts[..1], &web(1, 1), &[], &[], 1, 0);
    assert_eq!(r, Ok(vec![Err(reason::AGENT)]));
}

#[test]
fn count_zero_still_validates() {
    let mut cluster = vec![instance(1, "us-east-1a", 1, 1)];
    assert_eq!(
        place(&mut cluster, &web(1, 1), &[], &[], 0, 0),
        Ok(Vec::new())
    );
    assert!(place(&mut cluster, &web(1, 1), &[binpack("disk")], &[], 0, 0).is_err());
}

#[test]
fn invalid_strategies() {
    let six = vec![spread("instanceId"); 6];
    assert!(refused(&six, &[]).contains('5'));
    assert!(refused(&[binpack("disk")], &[]).contains("cpu and memory"));
    assert!(refused(&[strategy("binpack", None)], &[]).contains("cpu and memory"));
    assert!(refused(&[strategy("random", Some("memory"))], &[]).contains("random"));
    assert!(refused(&[strategy("spread", None)], &[]).contains("instanceId"));
    assert!(refused(&[spread("availability-zone")], &[]).contains("attribute:"));
    assert!(refused(&[spread("attribute:")], &[]).contains("spread"));
    assert!(refused(&[strategy("pack", Some("cpu"))], &[]).contains("random, spread and binpack"));
    let untyped = PlacementStrategy {
        field: Some("cpu".to_owned()),
        r#type: None,
    };
    assert!(refused(&[untyped], &[]).contains("type"));
    // Five is fine, and a random with an empty field is as good as none.
    let five = vec![spread("instanceId"); 5];
    assert!(validate(&five, &[]).is_ok());
    assert!(validate(&[strategy("random", Some(""))], &[]).is_ok());
    assert!(validate(&[spread("ATTRIBUTE:ecs.availability-zone")], &[]).is_ok());
}

#[test]
fn invalid_constraints() {
    let eleven = vec![distinct(); 11];
    assert!(refused(&[], &eleven).contains("10"));
    assert!(validate(&[], &vec![distinct(); 10]).is_ok());
    let with_expression = PlacementConstraint {
        expression: Some(String::new()),
        r#type: Some(PlacementConstraintType::DistinctInstance),
    };
    assert_eq!(
        refused(&[], &[with_expression]),
        "distinctInstance expression should not be specified."
    );
    let no_expression = PlacementConstraint {
        expression: None,
        r#type: Some(PlacementConstraintType::MemberOf),
    };
    assert!(refused(&[], &[no_expression]).contains("memberOf"));
    assert!(refused(&[], &[member_of("   ")]).contains("memberOf"));
    assert!(refused(&[], &[member_of("attribute:x === y")]).contains("attribute:x === y"));
    assert!(refused(&[], &[member_of("foo == bar")]).contains("subject"));
    let unknown = PlacementConstraint {
        expression: None,
        r#type: Some(PlacementConstraintType::from("sameInstance")),
    };
    assert!(refused(&[], &[unknown]).contains("sameInstance"));
    let untyped = PlacementConstraint {
        expression: Some("attribute:x exists".to_owned()),
        r#type: None,
    };
    assert!(refused(&[], &[untyped]).contains("type"));
}

#[test]
fn task_definition_constraints_join_the_request() {
    use crate::wire::ecs::TaskDefinitionPlacementConstraintType;
    let td = [TaskDefinitionPlacementConstraint {
        expression: Some("attribute:ecs.os-type == linux".to_owned()),
        r#type: Some(TaskDefinitionPlacementConstraintType::MemberOf),
    }];
    let converted = task_definition_constraints(&td);
    assert_eq!(converted, vec![member_of("attribute:ecs.os-type == linux")]);
    let mut windows = instance(1, "us-east-1a", 4096, 4096);
    windows
        .attributes
        .insert("ecs.os-type".to_owned(), Some("windows".to_owned()));
    let mut cluster = vec![windows, instance(2, "us-east-1a", 4096, 4096)];
    let mut constraints = converted;
    constraints.push(distinct());
    let r = run(&mut cluster, &web(1, 1), &[], &constraints, 2);
    assert_eq!(r, vec![Ok(1), Err(reason::DISTINCT_INSTANCE)]);
}

#[test]
fn protocol_names() {
    assert_eq!(Protocol::parse("TCP"), Some(Protocol::Tcp));
    assert_eq!(Protocol::parse("udp"), Some(Protocol::Udp));
    assert_eq!(Protocol::parse("sctp"), None);
    assert_eq!(Protocol::Udp.as_str(), "udp");
}

#[test]
fn splitmix_is_the_reference_sequence() {
    // First outputs of splitmix64 seeded with 0, as in Vigna's reference implementation.
    let mut rng = SplitMix64(0);
    assert_eq!(rng.next(), 0xe220_a839_7b1d_cdaf);
    assert_eq!(rng.next(), 0x6e78_9e6a_a1b9_65f4);
    assert!(rng.below(3) < 3);
}
