//! Operations: what Cloud Map does asynchronously. An operation is SUBMITTED when the call
//! returns, PENDING a moment later, and SUCCESS (or FAIL, with an error code and message) once
//! done; GetOperation and ListOperations show it moving.

use super::{PAGE_LIMIT, State, invalid, pager, random_chars};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::wire::servicediscovery as wire;
use std::collections::BTreeMap;

/// How long an operation stays SUBMITTED, and when it is done, in milliseconds after its
/// creation. AWS takes seconds to a minute for a namespace; berth keeps the same states but
/// moves through them fast, so that tools that wait for SUCCESS do not wait long.
const SUBMITTED_MS: i64 = 100;
pub(super) const DONE_MS: i64 = 300;

pub(super) struct Operation {
    kind: wire::OperationType,
    targets: BTreeMap<String, String>,
    create_date: Timestamp,
    /// Where the operation ends: `None` succeeds, `Some((code, message))` fails.
    failure: Option<(&'static str, String)>,
}

/// What a call asks Cloud Map to do asynchronously.
pub struct Op {
    pub kind: wire::OperationType,
    pub targets: Vec<(wire::OperationTargetType, String)>,
    pub failure: Option<(&'static str, String)>,
}

impl Op {
    pub fn on(kind: wire::OperationType, target: wire::OperationTargetType, id: &str) -> Op {
        Op {
            kind,
            targets: vec![(target, id.to_owned())],
            failure: None,
        }
    }
}

impl Operation {
    fn millis(&self, now: Timestamp) -> i64 {
        let created = self.create_date.0.to_millis().unwrap_or(0);
        now.0.to_millis().unwrap_or(0) - created
    }

    fn status(&self, now: Timestamp) -> wire::OperationStatus {
        let age = self.millis(now);
        if age < SUBMITTED_MS {
            wire::OperationStatus::Submitted
        } else if age < DONE_MS {
            wire::OperationStatus::Pending
        } else if self.failure.is_some() {
            wire::OperationStatus::Fail
        } else {
            wire::OperationStatus::Success
        }
    }

    /// When the operation last changed state: created, PENDING, or done.
    fn update_date(&self, now: Timestamp) -> Timestamp {
        let age = self.millis(now);
        let step = if age >= DONE_MS {
            DONE_MS
        } else if age >= SUBMITTED_MS {
            SUBMITTED_MS
        } else {
            0
        };
        after(self.create_date, step)
    }

    fn done(&self, now: Timestamp) -> bool {
        self.millis(now) >= DONE_MS
    }

    fn to_wire(&self, id: &str, owner: &str, now: Timestamp) -> wire::Operation {
        let status = self.status(now);
        let failed = status == wire::OperationStatus::Fail;
        wire::Operation {
            id: Some(id.to_owned()),
            owner_account: Some(owner.to_owned()),
            r#type: Some(self.kind.clone()),
            status: Some(status),
            error_code: failed
                .then(|| self.failure.as_ref().map(|f| f.0.to_owned()))
                .flatten(),
            error_message: failed
                .then(|| self.failure.as_ref().map(|f| f.1.clone()))
                .flatten(),
            create_date: Some(self.create_date),
            update_date: Some(self.update_date(now)),
            targets: Some(self.targets.clone()),
        }
    }
}

/// `millis` after `t`.
pub(super) fn after(t: Timestamp, millis: i64) -> Timestamp {
    Timestamp(aws_smithy_types::DateTime::from_millis(
        t.0.to_millis().unwrap_or(0) + millis,
    ))
}

/// AWS's operation ids: 32 lowercase letters and digits, a dash, and 8 more.
fn operation_id() -> String {
    format!("{}-{}", random_chars(32), random_chars(8))
}

impl State {
    /// Records an operation; its id is what the call answers.
    pub(super) fn start(&mut self, op: Op, now: Timestamp) -> String {
        let id = operation_id();
        self.operations.insert(
            id.clone(),
            Operation {
                kind: op.kind,
                targets: op
                    .targets
                    .into_iter()
                    .map(|(t, v)| (t.as_str().to_owned(), v))
                    .collect(),
                create_date: now,
                failure: op.failure,
            },
        );
        id
    }

    /// The operations of `kind` on `target`, finished or not.
    pub(super) fn operations_on<'a>(
        &'a self,
        kind: &'a wire::OperationType,
        target: &'a str,
    ) -> impl Iterator<Item = String> + 'a {
        self.operations
            .iter()
            .filter(move |(_, op)| op.kind == *kind && op.targets.values().any(|t| t == target))
            .map(|(id, _)| id.clone())
    }

    /// An operation of `kind` on `target` that has not finished at `now`, if one runs.
    pub(super) fn running(
        &self,
        kind: &wire::OperationType,
        target: &str,
        now: Timestamp,
    ) -> Option<&str> {
        self.operations
            .iter()
            .find(|(_, op)| {
                !op.done(now) && op.kind == *kind && op.targets.values().any(|t| t == target)
            })
            .map(|(id, _)| id.as_str())
    }

    pub fn get_operation(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<wire::GetOperationResponse, ApiError> {
        let op = self.operations.get(id).ok_or_else(|| {
            api_err!(
                servicediscovery::OperationNotFound,
                "No operation found with ID {id}."
            )
        })?;
        Ok(wire::GetOperationResponse {
            operation: Some(op.to_wire(id, &self.account_id, now)),
        })
    }

    pub fn list_operations(
        &self,
        req: wire::ListOperationsRequest,
        now: Timestamp,
    ) -> Result<Page<wire::OperationSummary>, ApiError> {
        let filters = req.filters.unwrap_or_default();
        for f in &filters {
            check_filter(f)?;
        }
        let wanted = |op: &Operation| {
            filters.iter().all(|f| {
                let values = &f.values;
                let is = |v: &str| values.iter().any(|x| x == v);
                match &f.name {
                    wire::OperationFilterName::NamespaceId => {
                        op.targets.get("NAMESPACE").is_some_and(|t| is(t))
                    }
                    wire::OperationFilterName::ServiceId => {
                        op.targets.get("SERVICE").is_some_and(|t| is(t))
                    }
                    wire::OperationFilterName::Status => is(op.status(now).as_str()),
                    wire::OperationFilterName::Type => is(op.kind.as_str()),
                    wire::OperationFilterName::UpdateDate => {
                        let at = op.update_date(now).as_secs_f64();
                        let bound = |i: usize| {
                            values
                                .get(i)
                                .and_then(|v| v.parse::<f64>().ok())
                                .unwrap_or(f64::NAN)
                        };
                        at >= bound(0) && at <= bound(1)
                    }
                    wire::OperationFilterName::Unknown(_) => false,
                }
            })
        };
        let items = self.operations.iter().filter(|(_, op)| wanted(op));
        let page = pager("servicediscovery:operations").paginate(
            items,
            |(id, _)| (*id).clone(),
            false,
            req.max_results,
            req.next_token.as_deref(),
            PAGE_LIMIT,
        )?;
        Ok(page.map(|(id, op)| wire::OperationSummary {
            id: Some(id.clone()),
            status: Some(op.status(now)),
        }))
    }
}

/// ListOperations' filter rules (OperationFilter in the API reference): EQ, IN or BETWEEN as
/// the name allows, with the number of values the condition takes.
fn check_filter(f: &wire::OperationFilter) -> Result<(), ApiError> {
    let condition = f.condition.clone().unwrap_or(wire::FilterCondition::Eq);
    let allowed: &[wire::FilterCondition] = match &f.name {
        wire::OperationFilterName::NamespaceId | wire::OperationFilterName::ServiceId => {
            &[wire::FilterCondition::Eq]
        }
        wire::OperationFilterName::Status | wire::OperationFilterName::Type => {
            &[wire::FilterCondition::Eq, wire::FilterCondition::In]
        }
        wire::OperationFilterName::UpdateDate => &[wire::FilterCondition::Between],
        wire::OperationFilterName::Unknown(name) => {
            return Err(invalid(format!("Invalid filter name {name}.")));
        }
    };
    if !allowed.contains(&condition) {
        return Err(invalid(format!(
            "Condition {condition} is not supported for filter {}.",
            f.name
        )));
    }
    let count_ok = match condition {
        wire::FilterCondition::Eq => f.values.len() == 1,
        wire::FilterCondition::Between => f.values.len() == 2,
        _ => !f.values.is_empty(),
    };
    if !count_ok {
        return Err(invalid(format!(
            "Invalid number of values for filter {} with condition {condition}.",
            f.name
        )));
    }
    Ok(())
}
