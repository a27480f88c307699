//! Task placement: which container instance each task of a RunTask or of a service goes to,
//! following the ECS Developer Guide's "Amazon ECS task placement". For every task, ECS
//!
//! 1. identifies the instances that satisfy the CPU, memory and port requirements,
//! 2. then those that satisfy the placement constraints (binding: they can prevent placement),
//! 3. then those that best satisfy the placement strategies (best effort: tie-breakers applied
//!    in the order given),
//! 4. and selects one.
//!
//! Tasks are placed one after another: each placement takes its resources, ports and task-group
//! membership from the chosen instance before the next task is placed, so `count: 10` on one
//! small instance places what fits and reports the rest, and spread/distinctInstance see the
//! tasks placed earlier in the same call. The module is pure: no state, no clock, and "random"
//! is a deterministic function of the caller's seed.
//!
//! The cluster query language of `memberOf` lives in [`expression`].

pub mod expression;

pub use expression::Expression;

use crate::wire::ecs::{
    PlacementConstraint, PlacementConstraintType, PlacementStrategy, PlacementStrategyType,
    TaskDefinitionPlacementConstraint,
};
use std::collections::{BTreeMap, BTreeSet};

/// RunTask, CreateService and UpdateService accept at most 5 strategies.
pub const MAX_STRATEGIES: usize = 5;
/// At most 10 constraints per task, those of the task definition included.
pub const MAX_CONSTRAINTS: usize = 10;
/// "The expression can have a maximum length of 2000 characters."
pub const MAX_EXPRESSION_LEN: usize = 2000;

/// The `reason` of the `Failure` ECS reports for a task it could not place.
pub mod reason {
    /// No instance has the memory the task needs.
    pub const MEMORY: &str = "RESOURCE:MEMORY";
    /// No instance has the CPU units the task needs.
    pub const CPU: &str = "RESOURCE:CPU";
    /// Every instance already uses one of the task's host ports.
    pub const PORTS: &str = "RESOURCE:PORTS";
    /// The instances' agents are disconnected.
    pub const AGENT: &str = "AGENT";
    /// An instance lacks an attribute the task definition requires (requiresAttributes); not
    /// produced here, the caller checks those.
    pub const ATTRIBUTE: &str = "ATTRIBUTE";
    /// No instance satisfies a memberOf expression: the text ECS reports, as in
    /// `Reasons : ["MemberOf placement constraint unsatisfied."]`.
    pub const MEMBER_OF: &str = "MemberOf placement constraint unsatisfied.";
    /// Every instance already runs a task of the group, under distinctInstance; worded like
    /// the memberOf reason.
    pub const DISTINCT_INSTANCE: &str = "DistinctInstance placement constraint unsatisfied.";
    /// The cluster has no ACTIVE container instance. RunTask answers this as an
    /// InvalidParameterException; services put it in their event message.
    pub const NO_CONTAINER_INSTANCES: &str = "No Container Instances were found in your cluster.";
}

/// A host port's protocol: tcp and udp ports of the same number don't conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    /// `tcp` / `udp` as a port mapping spells them (case-insensitive).
    pub fn parse(s: &str) -> Option<Protocol> {
        if s.eq_ignore_ascii_case("tcp") {
            Some(Protocol::Tcp)
        } else if s.eq_ignore_ascii_case("udp") {
            Some(Protocol::Udp)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One container instance as placement sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The container instance ARN.
    pub arn: String,
    /// What `spread` on `instanceId` and the `ec2InstanceId` subject read.
    pub ec2_instance_id: String,
    /// Built-in (`ecs.availability-zone`, `ecs.instance-type`, `ecs.os-type`,
    /// `ecs.cpu-architecture` …) and custom attributes; `None` is an attribute without a value.
    pub attributes: BTreeMap<String, Option<String>>,
    pub remaining_cpu: i64,
    pub remaining_memory: i64,
    /// Host ports in use (tasks' and the instance's reserved ports).
    pub used_ports: BTreeSet<(u16, Protocol)>,
    /// Tasks running or pending on the instance.
    pub tasks: Vec<PlacedTask>,
    /// Status ACTIVE. DRAINING (and INACTIVE) instances are never chosen.
    pub active: bool,
}

impl Candidate {
    /// An ACTIVE instance with no attributes, resources, ports or tasks yet.
    pub fn new(arn: impl Into<String>, ec2_instance_id: impl Into<String>) -> Candidate {
        Candidate {
            arn: arn.into(),
            ec2_instance_id: ec2_instance_id.into(),
            attributes: BTreeMap::new(),
            remaining_cpu: 0,
            remaining_memory: 0,
            used_ports: BTreeSet::new(),
            tasks: Vec::new(),
            active: true,
        }
    }

    fn has_memory(&self, demand: &Demand) -> bool {
        self.remaining_memory >= demand.memory
    }

    fn has_cpu(&self, demand: &Demand) -> bool {
        self.remaining_cpu >= demand.cpu
    }

    /// Host port 0 is dynamic and never conflicts.
    fn has_ports(&self, demand: &Demand) -> bool {
        demand
            .ports
            .iter()
            .all(|p| p.0 == 0 || !self.used_ports.contains(p))
    }

    /// Takes what one task of `demand` uses.
    fn take(&mut self, demand: &Demand) {
        self.remaining_cpu = self.remaining_cpu.saturating_sub(demand.cpu);
        self.remaining_memory = self.remaining_memory.saturating_sub(demand.memory);
        for &(port, protocol) in &demand.ports {
            // Host port 0 asks Docker for a dynamic port: it never conflicts.
            if port != 0 {
                self.used_ports.insert((port, protocol));
            }
        }
        self.tasks.push(PlacedTask {
            group: demand.group.clone(),
            task_definition_family: demand.task_definition_family.clone(),
            task_definition_arn: demand.task_definition_arn.clone(),
            started_by: None,
        });
    }
}

/// What the cluster query language knows of an instance's agent beyond [`Candidate`]: the
/// subjects agentConnected, agentVersion and registeredAt. The default is a connected agent
/// (berth's agents always are) whose version and registration time are unknown, so that
/// comparisons on them select nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceFacts {
    pub agent_connected: bool,
    /// e.g. `1.89.0`.
    pub agent_version: Option<String>,
    /// Epoch seconds.
    pub registered_at: Option<i64>,
}

impl Default for InstanceFacts {
    fn default() -> Self {
        InstanceFacts {
            agent_connected: true,
            agent_version: None,
            registered_at: None,
        }
    }
}

/// A task on an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedTask {
    /// `service:<name>` for a service's tasks, `family:<family>` by default for RunTask.
    pub group: String,
    pub task_definition_family: String,
    pub task_definition_arn: String,
    pub started_by: Option<String>,
}

/// What one task needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    pub cpu: i64,
    pub memory: i64,
    /// Host ports; 0 is a dynamic port.
    pub ports: Vec<(u16, Protocol)>,
    /// The task group: spread and distinctInstance count the tasks of this group.
    pub group: String,
    pub task_definition_family: String,
    pub task_definition_arn: String,
}

/// A malformed strategy, constraint or expression: the caller answers
/// InvalidParameterException with the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> PlacementError {
    PlacementError::Invalid(msg.into())
}

#[derive(Debug, Clone)]
enum Strategy {
    Random,
    Spread(SpreadField),
    Binpack(Resource),
}

#[derive(Debug, Clone)]
enum SpreadField {
    Instance,
    Attribute(String),
}

#[derive(Debug, Clone, Copy)]
enum Resource {
    Cpu,
    Memory,
}

#[derive(Debug, Clone)]
enum Constraint {
    DistinctInstance,
    MemberOf(Expression),
}

fn strategy(s: &PlacementStrategy) -> Result<Strategy, PlacementError> {
    let field = s.field.as_deref().map(str::trim).filter(|f| !f.is_empty());
    let kind = match &s.r#type {
        Some(kind) => kind,
        None => {
            return Err(invalid(
                "Placement strategy type is required. Valid values are random, spread and binpack.",
            ));
        }
    };
    match kind {
        PlacementStrategyType::Random => match field {
            None => Ok(Strategy::Random),
            Some(f) => Err(invalid(format!(
                "Invalid placement strategy field '{f}': the random placement strategy takes no field."
            ))),
        },
        PlacementStrategyType::Binpack => match field {
            Some(f) if f.eq_ignore_ascii_case("cpu") => Ok(Strategy::Binpack(Resource::Cpu)),
            Some(f) if f.eq_ignore_ascii_case("memory") => Ok(Strategy::Binpack(Resource::Memory)),
            Some(f) => Err(invalid(format!(
                "Invalid placement strategy field '{f}' for binpack. Valid values are cpu and memory."
            ))),
            None => Err(invalid(
                "The binpack placement strategy requires a field. Valid values are cpu and memory.",
            )),
        },
        PlacementStrategyType::Spread => {
            let Some(f) = field else {
                return Err(invalid(
                    "The spread placement strategy requires a field. Valid values are instanceId, host or attribute:<attribute-name>.",
                ));
            };
            if f.eq_ignore_ascii_case("instanceId") || f.eq_ignore_ascii_case("host") {
                return Ok(Strategy::Spread(SpreadField::Instance));
            }
            match f.get(..10) {
                Some(prefix) if prefix.eq_ignore_ascii_case("attribute:") && f.len() > 10 => {
                    Ok(Strategy::Spread(SpreadField::Attribute(f[10..].to_owned())))
                }
                _ => Err(invalid(format!(
                    "Invalid placement strategy field '{f}' for spread. Valid values are instanceId, host or attribute:<attribute-name>."
                ))),
            }
        }
        PlacementStrategyType::Unknown(t) => Err(invalid(format!(
            "Invalid placement strategy type '{t}'. Valid values are random, spread and binpack."
        ))),
    }
}

fn constraint(c: &PlacementConstraint) -> Result<Constraint, PlacementError> {
    match &c.r#type {
        None => Err(invalid(
            "Placement constraint type is required. Valid values are distinctInstance and memberOf.",
        )),
        // Even an empty expression is refused (Terraform once sent "" and got this message).
        Some(PlacementConstraintType::DistinctInstance) => match c.expression {
            Some(_) => Err(invalid(
                "distinctInstance expression should not be specified.",
            )),
            None => Ok(Constraint::DistinctInstance),
        },
        Some(PlacementConstraintType::MemberOf) => {
            match c.expression.as_deref().filter(|e| !e.trim().is_empty()) {
                Some(e) => Expression::parse(e).map(Constraint::MemberOf),
                None => Err(invalid("memberOf expression must be specified.")),
            }
        }
        Some(PlacementConstraintType::Unknown(t)) => Err(invalid(format!(
            "Invalid placement constraint type '{t}'. Valid values are distinctInstance and memberOf."
        ))),
    }
}

/// Strategies and constraints, checked and parsed once per call.
struct Plan {
    strategies: Vec<Strategy>,
    constraints: Vec<Constraint>,
}

impl Plan {
    fn new(
        strategies: &[PlacementStrategy],
        constraints: &[PlacementConstraint],
    ) -> Result<Plan, PlacementError> {
        if strategies.len() > MAX_STRATEGIES {
            return Err(invalid(format!(
                "Too many placement strategies: {}. The maximum is {MAX_STRATEGIES}.",
                strategies.len()
            )));
        }
        if constraints.len() > MAX_CONSTRAINTS {
            return Err(invalid(format!(
                "Too many placement constraints: {}. The maximum is {MAX_CONSTRAINTS}, including the task definition's.",
                constraints.len()
            )));
        }
        let mut parsed: Vec<Strategy> =
            strategies.iter().map(strategy).collect::<Result<_, _>>()?;
        if parsed.is_empty() {
            // RunTask's default: "Using RunTask, you can allow the default task placement
            // strategy to distribute tasks randomly across your cluster" (Developer Guide,
            // "Scheduling Amazon ECS tasks"). Services pass default_service_strategies().
            parsed.push(Strategy::Random);
        }
        Ok(Plan {
            strategies: parsed,
            constraints: constraints
                .iter()
                .map(constraint)
                .collect::<Result<_, _>>()?,
        })
    }

    /// The index of the instance for one task, or the reason none qualifies: the reason of the
    /// step that eliminated the last instances.
    fn choose(
        &self,
        candidates: &[Candidate],
        facts: &[InstanceFacts],
        demand: &Demand,
        rng: &mut SplitMix64,
    ) -> Result<usize, &'static str> {
        let default_facts = InstanceFacts::default();
        let facts_of = |i: usize| facts.get(i).unwrap_or(&default_facts);
        let mut set: Vec<usize> = candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.active)
            .map(|(i, _)| i)
            .collect();
        if set.is_empty() {
            return Err(reason::NO_CONTAINER_INSTANCES);
        }
        narrow(&mut set, |i| facts_of(i).agent_connected, reason::AGENT)?;
        // 1. Resources: memory, CPU, then ports.
        let has = |i: usize, test: fn(&Candidate, &Demand) -> bool| {
            candidates.get(i).is_some_and(|c| test(c, demand))
        };
        narrow(&mut set, |i| has(i, Candidate::has_memory), reason::MEMORY)?;
        narrow(&mut set, |i| has(i, Candidate::has_cpu), reason::CPU)?;
        narrow(&mut set, |i| has(i, Candidate::has_ports), reason::PORTS)?;
        // 2. Constraints, binding.
        for c in &self.constraints {
            match c {
                Constraint::DistinctInstance => narrow(
                    &mut set,
                    |i| {
                        candidates
                            .get(i)
                            .is_some_and(|c| !c.tasks.iter().any(|t| t.group == demand.group))
                    },
                    reason::DISTINCT_INSTANCE,
                )?,
                Constraint::MemberOf(e) => narrow(
                    &mut set,
                    |i| {
                        candidates
                            .get(i)
                            .is_some_and(|c| e.matches_with(c, facts_of(i)))
                    },
                    reason::MEMBER_OF,
                )?,
            }
        }
        // 3. Strategies, each keeping the best of what the previous ones left.
        for s in &self.strategies {
            if set.len() <= 1 {
                break;
            }
            match s {
                Strategy::Random => {
                    let pick = set[rng.below(set.len())];
                    set = vec![pick];
                }
                Strategy::Binpack(resource) => {
                    let left = |i: usize| match resource {
                        Resource::Cpu => candidates[i].remaining_cpu,
                        Resource::Memory => candidates[i].remaining_memory,
                    };
                    keep_lowest(&mut set, left);
                }
                Strategy::Spread(field) => spread(&mut set, candidates, field, &demand.group),
            }
        }
        // 4. Select; what ties remain is broken at random.
        match set.len() {
            0 => Err(reason::NO_CONTAINER_INSTANCES),
            1 => Ok(set[0]),
            n => Ok(set[rng.below(n)]),
        }
    }
}

/// Keeps the instances that pass; when none does, `why` is the reason.
fn narrow(
    set: &mut Vec<usize>,
    keep: impl Fn(usize) -> bool,
    why: &'static str,
) -> Result<(), &'static str> {
    set.retain(|&i| keep(i));
    if set.is_empty() { Err(why) } else { Ok(()) }
}

fn keep_lowest(set: &mut Vec<usize>, score: impl Fn(usize) -> i64) {
    if let Some(min) = set.iter().map(|&i| score(i)).min() {
        set.retain(|&i| score(i) == min);
    }
}

/// Spread: "Service tasks are spread based on the tasks from that service. Standalone tasks are
/// spread based on the tasks from the same task group." Both are the demand's group. Keeps the
/// instances whose value of the field holds the fewest such tasks, counted over every ACTIVE
/// instance with that value (a full instance's tasks still weigh on its Availability Zone).
/// Instances without the attribute share one value, "absent".
fn spread(set: &mut Vec<usize>, candidates: &[Candidate], field: &SpreadField, group: &str) {
    let in_group = |c: &Candidate| {
        i64::try_from(c.tasks.iter().filter(|t| t.group == group).count()).unwrap_or(i64::MAX)
    };
    match field {
        SpreadField::Instance => keep_lowest(set, |i| in_group(&candidates[i])),
        SpreadField::Attribute(name) => {
            let mut per_value: BTreeMap<Option<&Option<String>>, i64> = BTreeMap::new();
            for c in candidates.iter().filter(|c| c.active) {
                *per_value.entry(c.attributes.get(name)).or_default() += in_group(c);
            }
            keep_lowest(set, |i| {
                per_value
                    .get(&candidates[i].attributes.get(name))
                    .copied()
                    .unwrap_or(0)
            });
        }
    }
}

/// Checks strategies and constraints as RunTask, CreateService and UpdateService do, without
/// placing anything.
pub fn validate(
    strategies: &[PlacementStrategy],
    constraints: &[PlacementConstraint],
) -> Result<(), PlacementError> {
    Plan::new(strategies, constraints).map(|_| ())
}

/// Places `count` tasks one after another (each placement updates the chosen candidate's
/// remaining resources, ports and tasks, as ECS does), returning for each task the index of the
/// chosen candidate or the ECS failure reason (see [`reason`]).
///
/// No strategy means RunTask's default, random. A service's default is different: pass
/// [`default_service_strategies`] when the service has none. Agents count as connected; use
/// [`place_with_facts`] to say otherwise or to give agent versions and registration times.
pub fn place(
    candidates: &mut [Candidate],
    demand: &Demand,
    strategies: &[PlacementStrategy],
    constraints: &[PlacementConstraint],
    count: usize,
    rng_seed: u64,
) -> Result<Vec<Result<usize, &'static str>>, PlacementError> {
    place_with_facts(
        candidates,
        &[],
        demand,
        strategies,
        constraints,
        count,
        rng_seed,
    )
}

/// [`place`], with `facts[i]` about `candidates[i]`'s agent (missing entries: the default).
/// A disconnected agent's instance is never chosen (reason AGENT).
pub fn place_with_facts(
    candidates: &mut [Candidate],
    facts: &[InstanceFacts],
    demand: &Demand,
    strategies: &[PlacementStrategy],
    constraints: &[PlacementConstraint],
    count: usize,
    rng_seed: u64,
) -> Result<Vec<Result<usize, &'static str>>, PlacementError> {
    let plan = Plan::new(strategies, constraints)?;
    let mut rng = SplitMix64(rng_seed);
    let mut placed = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let choice = plan.choose(candidates, facts, demand, &mut rng);
        if let Ok(i) = choice
            && let Some(c) = candidates.get_mut(i)
        {
            c.take(demand);
        }
        placed.push(choice);
    }
    Ok(placed)
}

/// What ECS does for a service created without a strategy: "Sort the valid container
/// instances, giving priority to instances that have the fewest number of running tasks for this
/// service in their respective Availability Zone … Place the new service task on a valid
/// container instance in an optimal Availability Zone, favoring container instances with the
/// fewest number of running tasks for this service" (CreateService API reference), i.e. spread on
/// `attribute:ecs.availability-zone`, then on `instanceId`. DescribeServices still shows the
/// service's own (empty) list.
pub fn default_service_strategies() -> Vec<PlacementStrategy> {
    vec![
        PlacementStrategy {
            field: Some("attribute:ecs.availability-zone".to_owned()),
            r#type: Some(PlacementStrategyType::Spread),
        },
        PlacementStrategy {
            field: Some("instanceId".to_owned()),
            r#type: Some(PlacementStrategyType::Spread),
        },
    ]
}

/// A task definition's placement constraints (memberOf only) in the request shape, to be
/// combined with those of RunTask or of a service; the 10-constraint limit counts both.
pub fn task_definition_constraints(
    constraints: &[TaskDefinitionPlacementConstraint],
) -> Vec<PlacementConstraint> {
    constraints
        .iter()
        .map(|c| PlacementConstraint {
            expression: c.expression.clone(),
            r#type: c
                .r#type
                .as_ref()
                .map(|t| PlacementConstraintType::from(t.as_str())),
        })
        .collect()
}

/// splitmix64 (Steele, Lea and Flood): small, fast and good enough to pick instances.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; `n` must not be 0.
    fn below(&mut self, n: usize) -> usize {
        let n = n.max(1) as u64;
        usize::try_from(self.next() % n).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
