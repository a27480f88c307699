//! Lifecycle stages and lifecycle hooks of a service deployment
//! (`deploymentConfiguration.lifecycleHooks`, ContinueServiceDeployment).
//!
//! A deployment with a blue/green strategy (BLUE_GREEN, LINEAR, CANARY) or with lifecycle hooks
//! moves through ECS's stages: RECONCILE_SERVICE (only when more than one revision runs),
//! PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP, the test and production traffic shifts, BAKE_TIME and
//! CLEAN_UP. A blue/green deployment starts its whole new revision beside the old one and stops
//! the old one at CLEAN_UP, after the bake time; a rolling one rolls during SCALE_UP as always
//! and completes only once the later stages have passed. berth has no load balancer traffic to
//! shift yet, so the traffic stages pass at once unless a hook holds them.
//!
//! Hooks run when their stage begins. A PAUSE hook waits AWAITING_ACTION until
//! ContinueServiceDeployment (CONTINUE or ROLLBACK) or its timeout (default 24 h, then ROLLBACK).
//! berth runs no Lambda functions, so an AWS_LAMBDA hook is recorded as SUCCEEDED at once.

use super::Gate;
use crate::api_err;
use crate::aws::{ApiError, Timestamp};
use crate::wire::ecs::{
    DeploymentConfiguration, DeploymentLifecycleHook, DeploymentLifecycleHookAction as Action,
    DeploymentLifecycleHookDetail, DeploymentLifecycleHookStage as HookStage,
    DeploymentLifecycleHookStatus as HookStatus, DeploymentLifecycleHookTargetType as TargetType,
    DeploymentStrategy, ServiceDeployment, ServiceDeploymentLifecycleStage as Stage,
};

/// DeploymentLifecycleHookTimeoutConfiguration: 24 hours unless configured, 1 to 20160 minutes.
const DEFAULT_TIMEOUT_MINUTES: i32 = 1440;
const MAX_TIMEOUT_MINUTES: i32 = 20160;

/// The steps a deployment goes through, in order. PRE_PRODUCTION_TRAFFIC_SHIFT is a hook stage
/// of its own but not a lifecycle stage ECS reports.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    ReconcileService,
    PreScaleUp,
    ScaleUp,
    PostScaleUp,
    TestTrafficShift,
    PostTestTrafficShift,
    PreProductionTrafficShift,
    ProductionTrafficShift,
    PostProductionTrafficShift,
    BakeTime,
    CleanUp,
}

impl Step {
    fn next(self) -> Step {
        use Step::*;
        match self {
            ReconcileService => PreScaleUp,
            PreScaleUp => ScaleUp,
            ScaleUp => PostScaleUp,
            PostScaleUp => TestTrafficShift,
            TestTrafficShift => PostTestTrafficShift,
            PostTestTrafficShift => PreProductionTrafficShift,
            PreProductionTrafficShift => ProductionTrafficShift,
            ProductionTrafficShift => PostProductionTrafficShift,
            PostProductionTrafficShift => BakeTime,
            BakeTime | CleanUp => CleanUp,
        }
    }

    fn reported(self) -> Stage {
        match self {
            Step::ReconcileService => Stage::ReconcileService,
            Step::PreScaleUp => Stage::PreScaleUp,
            Step::ScaleUp => Stage::ScaleUp,
            Step::PostScaleUp => Stage::PostScaleUp,
            Step::TestTrafficShift => Stage::TestTrafficShift,
            // The test traffic shift is over; production traffic has not moved yet.
            Step::PostTestTrafficShift | Step::PreProductionTrafficShift => {
                Stage::PostTestTrafficShift
            }
            Step::ProductionTrafficShift => Stage::ProductionTrafficShift,
            Step::PostProductionTrafficShift => Stage::PostProductionTrafficShift,
            Step::BakeTime => Stage::BakeTime,
            Step::CleanUp => Stage::CleanUp,
        }
    }

    fn hook_stage(self) -> Option<HookStage> {
        Some(match self {
            Step::ReconcileService => HookStage::ReconcileService,
            Step::PreScaleUp => HookStage::PreScaleUp,
            Step::PostScaleUp => HookStage::PostScaleUp,
            Step::TestTrafficShift => HookStage::TestTrafficShift,
            Step::PostTestTrafficShift => HookStage::PostTestTrafficShift,
            Step::PreProductionTrafficShift => HookStage::PreProductionTrafficShift,
            Step::ProductionTrafficShift => HookStage::ProductionTrafficShift,
            Step::PostProductionTrafficShift => HookStage::PostProductionTrafficShift,
            Step::ScaleUp | Step::BakeTime | Step::CleanUp => return None,
        })
    }
}

fn blue_green(config: &DeploymentConfiguration) -> bool {
    matches!(
        config.strategy,
        Some(
            DeploymentStrategy::BlueGreen | DeploymentStrategy::Linear | DeploymentStrategy::Canary
        )
    )
}

/// CreateService / UpdateService: the hooks as AWS accepts them.
pub fn validate(config: &DeploymentConfiguration) -> Result<(), ApiError> {
    let invalid = |msg: String| Err(api_err!(ecs::InvalidParameterException, "{msg}"));
    if let Some(s) = &config.strategy
        && !s.is_known()
    {
        return invalid(format!(
            "Invalid deployment strategy {}. Valid values are {}.",
            s.as_str(),
            DeploymentStrategy::VALUES.join(", ")
        ));
    }
    if config
        .bake_time_in_minutes
        .is_some_and(|b| !(0..=1440).contains(&b))
    {
        return invalid("bakeTimeInMinutes must be between 0 and 1440.".into());
    }
    for hook in config.lifecycle_hooks.iter().flatten() {
        let target = hook.target_type.clone().unwrap_or(TargetType::AwsLambda);
        if !target.is_known() {
            return invalid(format!(
                "Invalid lifecycle hook targetType {}. Valid values are {}.",
                target.as_str(),
                TargetType::VALUES.join(", ")
            ));
        }
        if target == TargetType::AwsLambda
            && (hook.hook_target_arn.is_none() || hook.role_arn.is_none())
        {
            return invalid(
                "A lifecycle hook with targetType AWS_LAMBDA requires hookTargetArn and roleArn."
                    .into(),
            );
        }
        let stages = hook.lifecycle_stages.as_deref().unwrap_or_default();
        if stages.is_empty() {
            return invalid("A lifecycle hook requires at least one lifecycle stage.".into());
        }
        if let Some(bad) = stages.iter().find(|s| !s.is_known()) {
            return invalid(format!(
                "Invalid lifecycle stage {}. Valid values are {}.",
                bad.as_str(),
                HookStage::VALUES.join(", ")
            ));
        }
        if let Some(t) = &hook.timeout_configuration {
            if t.timeout_in_minutes
                .is_some_and(|m| !(1..=MAX_TIMEOUT_MINUTES).contains(&m))
            {
                return invalid(format!(
                    "timeoutInMinutes must be between 1 and {MAX_TIMEOUT_MINUTES}."
                ));
            }
            if t.action.as_ref().is_some_and(|a| !a.is_known()) {
                return invalid(format!(
                    "Invalid timeout action. Valid values are {}.",
                    Action::VALUES.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// What the scheduler saw of the deployment in its last pass.
pub struct Facts {
    /// Tasks the PRIMARY deployment should run.
    pub target: i32,
    /// Its tasks RUNNING, healthy and past the stability period.
    pub running: i32,
    /// Any of its tasks not RUNNING yet.
    pub pending: bool,
    /// Tasks of older deployments still running.
    pub old_left: usize,
}

/// What a pass over the lifecycle did.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Unchanged,
    /// The deployment moved to another stage or a hook changed status.
    Moved,
    /// A hook asked for a rollback (ROLLBACK, or a timeout whose action is ROLLBACK).
    RollBack(String),
}

pub struct Lifecycle {
    blue_green: bool,
    hooks: Vec<DeploymentLifecycleHook>,
    bake_secs: f64,
    step: Step,
    /// When the current step began (epoch seconds): bake time counts from it.
    since: f64,
    /// The hooks of the current step have been started.
    hooks_started: bool,
    /// Indices into `details` of the current step's hooks.
    current: Vec<usize>,
    /// Every hook the deployment ran, oldest first.
    details: Vec<DeploymentLifecycleHookDetail>,
}

impl Lifecycle {
    /// A deployment that goes through lifecycle stages: a blue/green strategy or hooks.
    /// `reconcile` says whether more than one revision runs, which adds RECONCILE_SERVICE.
    pub fn for_config(config: &DeploymentConfiguration, reconcile: bool) -> Option<Lifecycle> {
        let hooks = config.lifecycle_hooks.clone().unwrap_or_default();
        let blue_green = blue_green(config);
        if !blue_green && hooks.is_empty() {
            return None;
        }
        Some(Lifecycle {
            blue_green,
            hooks,
            bake_secs: f64::from(config.bake_time_in_minutes.unwrap_or(0).max(0)) * 60.0,
            step: if reconcile {
                Step::ReconcileService
            } else {
                Step::PreScaleUp
            },
            since: Timestamp::now().as_secs_f64(),
            hooks_started: false,
            current: Vec::new(),
            details: Vec::new(),
        })
    }

    /// What the current stage lets the scheduler do.
    pub fn gate(&self) -> Gate {
        match self.step {
            Step::ReconcileService | Step::PreScaleUp => Gate {
                launch: false,
                stop_old: false,
                beside: false,
                complete: false,
            },
            Step::CleanUp => Gate::OPEN,
            _ => Gate {
                launch: true,
                stop_old: !self.blue_green,
                beside: self.blue_green,
                complete: false,
            },
        }
    }

    /// The stage and hooks as DescribeServiceDeployments shows them.
    pub fn write(&self, data: &mut ServiceDeployment) {
        data.lifecycle_stage = Some(self.step.reported());
        data.lifecycle_hook_details = (!self.details.is_empty()).then(|| self.details.clone());
    }

    /// Moves on as far as the scheduler's facts, the hooks and the clock allow.
    pub fn advance(&mut self, facts: &Facts, now: f64) -> Outcome {
        let mut moved = false;
        loop {
            if let Some(stage) = self.step.hook_stage() {
                if !self.hooks_started {
                    self.start_hooks(&stage, now);
                    moved |= !self.current.is_empty();
                }
                for &i in &self.current {
                    let d = &mut self.details[i];
                    if d.status != Some(HookStatus::AwaitingAction)
                        || d.expires_at.is_none_or(|e| e.as_secs_f64() > now)
                    {
                        continue;
                    }
                    d.status = Some(HookStatus::TimedOut);
                    moved = true;
                    if d.timeout_action != Some(Action::Continue) {
                        let id = d.hook_id.clone().unwrap_or_default();
                        return Outcome::RollBack(format!(
                            "Lifecycle hook {id} timed out: rolling back."
                        ));
                    }
                }
                if self.awaiting() {
                    break;
                }
            }
            let done = match self.step {
                Step::ScaleUp => {
                    facts.running >= facts.target
                        && !facts.pending
                        && (self.blue_green || facts.old_left == 0)
                }
                Step::BakeTime => now - self.since >= self.bake_secs,
                Step::CleanUp => false,
                _ => true,
            };
            if !done {
                break;
            }
            self.step = match self.step.next() {
                // Bake time is the blue/green wait before the old revision goes.
                Step::BakeTime if !self.blue_green => Step::CleanUp,
                s => s,
            };
            self.since = now;
            self.hooks_started = false;
            self.current.clear();
            moved = true;
        }
        if moved {
            Outcome::Moved
        } else {
            Outcome::Unchanged
        }
    }

    fn awaiting(&self) -> bool {
        self.current
            .iter()
            .any(|&i| self.details[i].status == Some(HookStatus::AwaitingAction))
    }

    fn start_hooks(&mut self, stage: &HookStage, now: f64) {
        self.hooks_started = true;
        for hook in &self.hooks {
            if !hook.lifecycle_stages.iter().flatten().any(|s| s == stage) {
                continue;
            }
            let detail = match hook.target_type.clone().unwrap_or(TargetType::AwsLambda) {
                TargetType::Pause => {
                    let timeout = hook.timeout_configuration.clone().unwrap_or_default();
                    let minutes = timeout
                        .timeout_in_minutes
                        .unwrap_or(DEFAULT_TIMEOUT_MINUTES);
                    DeploymentLifecycleHookDetail {
                        hook_id: Some(format!("ecs-pause-{}", super::url_safe_id(43))),
                        target_type: Some(TargetType::Pause),
                        target_arn: None,
                        status: Some(HookStatus::AwaitingAction),
                        expires_at: Some(Timestamp::from_secs_f64(now + f64::from(minutes) * 60.0)),
                        timeout_action: Some(timeout.action.unwrap_or(Action::Rollback)),
                    }
                }
                target => {
                    tracing::warn!(
                        hook = hook.hook_target_arn.as_deref().unwrap_or(""),
                        "berth runs no Lambda functions: the lifecycle hook counts as SUCCEEDED"
                    );
                    DeploymentLifecycleHookDetail {
                        hook_id: Some(format!("ecs-lambda-{}", super::url_safe_id(43))),
                        target_type: Some(target),
                        target_arn: hook.hook_target_arn.clone(),
                        status: Some(HookStatus::Succeeded),
                        expires_at: None,
                        timeout_action: None,
                    }
                }
            };
            self.current.push(self.details.len());
            self.details.push(detail);
        }
    }

    /// ContinueServiceDeployment on one of the hooks: `Ok(true)` when it asks for a rollback.
    pub fn act(&mut self, hook_id: &str, action: &Action) -> Result<bool, ApiError> {
        let detail = self
            .details
            .iter_mut()
            .find(|d| d.hook_id.as_deref() == Some(hook_id))
            .ok_or_else(|| {
                api_err!(
                    ecs::InvalidParameterException,
                    "The lifecycle hook {hook_id} was not found for the service deployment."
                )
            })?;
        if detail.status != Some(HookStatus::AwaitingAction) {
            return Err(api_err!(
                ecs::InvalidParameterException,
                "The lifecycle hook {hook_id} is not in AWAITING_ACTION status."
            ));
        }
        let rollback = *action == Action::Rollback;
        detail.status = Some(if rollback {
            HookStatus::Failed
        } else {
            HookStatus::Succeeded
        });
        Ok(rollback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ecs::DeploymentLifecycleHookTimeoutConfiguration;

    fn pause_at(
        stage: HookStage,
        minutes: Option<i32>,
        action: Option<Action>,
    ) -> DeploymentLifecycleHook {
        DeploymentLifecycleHook {
            target_type: Some(TargetType::Pause),
            lifecycle_stages: Some(vec![stage]),
            timeout_configuration: Some(DeploymentLifecycleHookTimeoutConfiguration {
                timeout_in_minutes: minutes,
                action,
            }),
            ..Default::default()
        }
    }

    fn config(
        strategy: DeploymentStrategy,
        hooks: Vec<DeploymentLifecycleHook>,
    ) -> DeploymentConfiguration {
        DeploymentConfiguration {
            strategy: Some(strategy),
            lifecycle_hooks: Some(hooks),
            ..Default::default()
        }
    }

    const UP: Facts = Facts {
        target: 2,
        running: 2,
        pending: false,
        old_left: 2,
    };

    #[test]
    fn a_rolling_deployment_without_hooks_has_no_lifecycle() {
        assert!(
            Lifecycle::for_config(&config(DeploymentStrategy::Rolling, vec![]), false).is_none()
        );
    }

    #[test]
    fn blue_green_scales_up_beside_then_cleans_up() {
        let mut l = Lifecycle::for_config(&config(DeploymentStrategy::BlueGreen, vec![]), false)
            .expect("blue/green has stages");
        assert!(!l.gate().launch);
        let scaling = Facts {
            running: 0,
            pending: true,
            ..UP
        };
        assert_eq!(l.advance(&scaling, 0.0), Outcome::Moved);
        assert_eq!(l.step, Step::ScaleUp);
        let g = l.gate();
        assert!(g.launch && g.beside && !g.stop_old && !g.complete);
        assert_eq!(l.advance(&UP, 1.0), Outcome::Moved);
        assert_eq!(l.step, Step::CleanUp);
        assert_eq!(l.gate(), Gate::OPEN);
    }

    #[test]
    fn a_pause_hook_holds_until_continued() {
        let hooks = vec![pause_at(HookStage::PostScaleUp, None, None)];
        let mut l = Lifecycle::for_config(&config(DeploymentStrategy::BlueGreen, hooks), false)
            .expect("stages");
        assert_eq!(l.advance(&UP, 0.0), Outcome::Moved);
        assert_eq!(l.step, Step::PostScaleUp);
        let d = l.details[0].clone();
        assert_eq!(d.status, Some(HookStatus::AwaitingAction));
        assert_eq!(d.timeout_action, Some(Action::Rollback));
        assert_eq!(d.expires_at.map(|e| e.as_secs_f64()), Some(86_400.0));
        let id = d.hook_id.expect("id");
        assert!(id.starts_with("ecs-pause-") && id.len() == "ecs-pause-".len() + 43);
        assert_eq!(l.advance(&UP, 5.0), Outcome::Unchanged);
        assert!(!l.gate().stop_old);
        assert!(l.act("ecs-pause-nope", &Action::Continue).is_err());
        assert_eq!(l.act(&id, &Action::Continue).ok(), Some(false));
        assert!(l.act(&id, &Action::Continue).is_err(), "no longer awaiting");
        assert_eq!(l.advance(&UP, 6.0), Outcome::Moved);
        assert_eq!(l.step, Step::CleanUp);
    }

    #[test]
    fn a_timed_out_hook_takes_its_action() {
        let hooks = vec![
            pause_at(HookStage::PreScaleUp, Some(1), Some(Action::Continue)),
            pause_at(HookStage::PostScaleUp, Some(2), None),
        ];
        let mut l = Lifecycle::for_config(&config(DeploymentStrategy::Rolling, hooks), false)
            .expect("hooks give stages");
        l.advance(&UP, 0.0);
        assert_eq!(l.step, Step::PreScaleUp);
        assert_eq!(l.advance(&UP, 59.0), Outcome::Unchanged);
        // CONTINUE on timeout; the rolling SCALE_UP waits for the old tasks to go.
        assert_eq!(l.advance(&UP, 60.0), Outcome::Moved);
        assert_eq!(l.details[0].status, Some(HookStatus::TimedOut));
        assert_eq!(l.step, Step::ScaleUp);
        let rolled = Facts { old_left: 0, ..UP };
        l.advance(&rolled, 61.0);
        assert_eq!(l.step, Step::PostScaleUp);
        assert!(matches!(
            l.advance(&rolled, 61.0 + 120.0),
            Outcome::RollBack(_)
        ));
    }

    #[test]
    fn validation() {
        let lambda_without_role = DeploymentLifecycleHook {
            hook_target_arn: Some("arn:aws:lambda:us-east-1:1:function:f".into()),
            lifecycle_stages: Some(vec![HookStage::PreScaleUp]),
            ..Default::default()
        };
        assert!(
            validate(&config(
                DeploymentStrategy::BlueGreen,
                vec![lambda_without_role]
            ))
            .is_err()
        );
        assert!(
            validate(&config(
                DeploymentStrategy::BlueGreen,
                vec![pause_at(HookStage::PreScaleUp, Some(0), None)]
            ))
            .is_err()
        );
        assert!(
            validate(&config(
                DeploymentStrategy::BlueGreen,
                vec![pause_at(HookStage::PreScaleUp, Some(20160), None)]
            ))
            .is_ok()
        );
        let no_stages = DeploymentLifecycleHook {
            target_type: Some(TargetType::Pause),
            ..Default::default()
        };
        assert!(validate(&config(DeploymentStrategy::BlueGreen, vec![no_stages])).is_err());
    }
}
