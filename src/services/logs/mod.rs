//! CloudWatch Logs: log groups, their streams and events, retention and tags, per region like
//! AWS. A stream keeps its events in a `Vec` sorted by (timestamp, ingestion sequence), so every
//! read is a binary search plus the page it returns. That same order names the positions behind
//! GetLogEvents' `f/…` and `b/…` tokens and interleaves streams for FilterLogEvents. Retention is
//! enforced on every read (events older than it are not returned) and events are dropped from
//! memory when the stream is next written or the policy changes.
//!
//! This is also where `awslogs` output from the executor lands (`links::awslogs`).

pub mod api;

use crate::api_err;
use crate::aws::pagination::Pager;
use crate::aws::tags::MAX_PER_RESOURCE;
use crate::aws::{self, ApiError};
use crate::store::{Part, Region, RegionInfo};
use crate::wire::logs as wire;
use regex::{Regex, RegexBuilder};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::ops::Bound;
use std::sync::LazyLock;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// PutLogEvents rejects events older than 14 days (`tooOldLogEventEndIndex`) …
const MAX_EVENT_AGE_MS: i64 = 14 * DAY_MS;
/// … and more than 2 hours in the future (`tooNewLogEventStartIndex`).
const MAX_EVENT_FUTURE_MS: i64 = 2 * HOUR_MS;
/// The accepted events of one batch may not span more than 24 hours.
const MAX_BATCH_SPAN_MS: i64 = 24 * HOUR_MS;
/// A batch's size is its messages in UTF-8 plus 26 bytes per event, at most 1 MiB; the same
/// measure bounds one event and one page of GetLogEvents / FilterLogEvents.
const MAX_BATCH_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD: usize = 26;
const MAX_BATCH_EVENTS: usize = 10_000;
const MAX_EVENTS_PER_PAGE: usize = 10_000;
const DESCRIBE_LIMIT: usize = 50;
const LIST_LIMIT: usize = 1000;
/// The only values PutRetentionPolicy takes (the `Days` shape's documentation).
const RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

const GROUP_NAME_PATTERN: &str = r"[\.\-_/#A-Za-z0-9]+";
const STREAM_NAME_PATTERN: &str = "[^:*]*";
const TAG_KEY_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$";
const TAG_VALUE_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$";

static TAG_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(TAG_KEY_PATTERN).expect("tag key pattern is a valid regex"));
static TAG_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(TAG_VALUE_PATTERN).expect("tag value pattern is a valid regex"));
static LIST_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\^?[\.\-_/#A-Za-z0-9]{3,24})(\|\^?[\.\-_/#A-Za-z0-9]{3,24}){0,4}$")
        .expect("ListLogGroups pattern is a valid regex")
});

// ---------------------------------------------------------------------------------------------
// Errors, in AWS's words
// ---------------------------------------------------------------------------------------------

fn group_not_found() -> ApiError {
    api_err!(
        logs::ResourceNotFoundException,
        "The specified log group does not exist."
    )
}

fn stream_not_found() -> ApiError {
    api_err!(
        logs::ResourceNotFoundException,
        "The specified log stream does not exist."
    )
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::from_def(&wire::errors::InvalidParameterException, message)
}

fn invalid_token() -> ApiError {
    invalid("The specified nextToken is invalid")
}

/// The model-constraint error every AWS JSON service phrases the same way.
fn validation(field: &str, value: impl std::fmt::Display, constraint: &str) -> ApiError {
    invalid(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

// ---------------------------------------------------------------------------------------------
// Validation of names and numbers (the model's min/max/pattern; AWS checks them server-side)
// ---------------------------------------------------------------------------------------------

fn check_length(field: &str, value: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = value.chars().count();
    if n < min {
        return Err(validation(
            field,
            value,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(validation(
            field,
            value,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

fn is_group_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#')
}

fn check_group_name(field: &str, name: &str) -> Result<(), ApiError> {
    check_length(field, name, 1, 512)?;
    if !name.chars().all(is_group_name_char) {
        return Err(validation(
            field,
            name,
            &format!("Member must satisfy regular expression pattern: {GROUP_NAME_PATTERN}"),
        ));
    }
    Ok(())
}

fn check_stream_name(field: &str, name: &str) -> Result<(), ApiError> {
    check_length(field, name, 1, 512)?;
    if name.contains([':', '*']) {
        return Err(validation(
            field,
            name,
            &format!("Member must satisfy regular expression pattern: {STREAM_NAME_PATTERN}"),
        ));
    }
    Ok(())
}

/// A `limit` outside `1..=max`, as the model's validation words it.
fn bad_limit(n: i32, max: usize) -> ApiError {
    if n < 1 {
        validation(
            "limit",
            n,
            "Member must have value greater than or equal to 1",
        )
    } else {
        validation(
            "limit",
            n,
            &format!("Member must have value less than or equal to {max}"),
        )
    }
}

/// Paging of one kind of listing: a token of one operation is not taken by another.
const fn pager(kind: &'static str) -> Pager {
    Pager {
        kind,
        bad_size: bad_limit,
        bad_token: invalid_token,
    }
}

const GROUPS: Pager = pager("logs:groups");
const GROUP_LIST: Pager = pager("logs:list");
const STREAMS: Pager = pager("logs:streams");
const FILTER: Pager = pager("logs:filter");
/// GetLogEvents pages by cursor (`f/…`, `b/…`): only its limit is checked this way.
const EVENTS: Pager = pager("logs:events");

fn check_time(field: &str, t: Option<i64>) -> Result<(), ApiError> {
    match t {
        Some(t) if t < 0 => Err(validation(
            field,
            t,
            "Member must have value greater than or equal to 0",
        )),
        _ => Ok(()),
    }
}

fn check_class(class: &wire::LogGroupClass) -> Result<(), ApiError> {
    if class.is_known() {
        return Ok(());
    }
    Err(validation(
        "logGroupClass",
        class,
        &format!(
            "Member must satisfy enum value set: [{}]",
            wire::LogGroupClass::VALUES.join(", ")
        ),
    ))
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), ApiError> {
    for (k, v) in tags {
        if !aws::tags::key_length_ok(k) {
            return Err(tag_constraint(k, "keys", "length"));
        }
        if !TAG_KEY.is_match(k) {
            return Err(tag_constraint(k, "keys", TAG_KEY_PATTERN));
        }
        if !aws::tags::value_length_ok(v) {
            return Err(tag_constraint(v, "values", "length"));
        }
        if !TAG_VALUE.is_match(v) {
            return Err(tag_constraint(v, "values", TAG_VALUE_PATTERN));
        }
    }
    Ok(())
}

fn tag_constraint(value: &str, what: &str, pattern: &str) -> ApiError {
    let constraint = if pattern == "length" {
        if what == "keys" {
            "Member must have length between 1 and 128".to_owned()
        } else {
            "Member must have length less than or equal to 256".to_owned()
        }
    } else {
        format!("Member must satisfy regular expression pattern: {pattern}")
    };
    validation(
        "tags",
        value,
        &format!("Map {what} must satisfy constraint: [{constraint}]"),
    )
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

impl Part for State {
    /// Nothing the reconcile loop does reads CloudWatch Logs: writes to it (awslogs output among
    /// them) do not wake it.
    const WAKES_SCHEDULER: bool = false;

    fn new(info: &RegionInfo) -> Self {
        State {
            region: info.name.to_owned(),
            account_id: info.account_id.to_owned(),
            groups: BTreeMap::new(),
            next_seq: 1,
        }
    }

    fn of(region: &Region) -> &Self {
        &region.logs
    }

    fn of_mut(region: &mut Region) -> &mut Self {
        &mut region.logs
    }
}

/// A region's CloudWatch Logs.
pub struct State {
    region: String,
    account_id: String,
    groups: BTreeMap<String, LogGroup>,
    /// Ingestion order across the region: breaks ties between events of the same timestamp,
    /// within a stream (GetLogEvents) and across streams (FilterLogEvents).
    next_seq: u64,
}

struct LogGroup {
    creation_time: i64,
    retention_in_days: Option<i32>,
    kms_key_id: Option<String>,
    class: wire::LogGroupClass,
    deletion_protection: bool,
    tags: BTreeMap<String, String>,
    streams: BTreeMap<String, LogStream>,
}

impl LogGroup {
    /// The oldest timestamp retention still keeps.
    fn cutoff(&self, now: i64) -> i64 {
        self.retention_in_days
            .map_or(i64::MIN, |days| now - i64::from(days) * DAY_MS)
    }
}

struct LogStream {
    creation_time: i64,
    /// Sorted by `key()`.
    events: Vec<Event>,
    first_event_timestamp: Option<i64>,
    last_event_timestamp: Option<i64>,
    last_ingestion_time: Option<i64>,
    /// PutLogEvents calls so far, for the (now ignored) sequence token.
    uploads: u64,
    /// Message bytes of the events kept, for the group's `storedBytes`.
    stored_bytes: i64,
}

impl LogStream {
    fn new(now: i64) -> Self {
        LogStream {
            creation_time: now,
            events: Vec::new(),
            first_event_timestamp: None,
            last_event_timestamp: None,
            last_ingestion_time: None,
            uploads: 0,
            stored_bytes: 0,
        }
    }

    fn sequence_token(&self) -> String {
        // AWS's tokens are 56 decimal digits; they are ignored on input since 2023.
        format!("4{:055}", self.uploads)
    }

    /// Drops events older than `cutoff` (retention).
    fn prune(&mut self, cutoff: i64) {
        let n = self.events.partition_point(|e| e.timestamp < cutoff);
        if n > 0 {
            let freed: usize = self.events[..n].iter().map(|e| e.message.len()).sum();
            self.stored_bytes -= freed as i64;
            self.events.drain(..n);
        }
    }

    /// Adds events (sorted by timestamp, with fresh sequence numbers) keeping the order. A batch
    /// usually comes after everything stored and is appended; an older one is merged into the
    /// tail it overlaps, so the cost is that tail, not the stream.
    fn insert(&mut self, batch: Vec<Event>, now: i64) {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return;
        };
        self.first_event_timestamp = Some(
            self.first_event_timestamp
                .map_or(first.timestamp, |t| t.min(first.timestamp)),
        );
        self.last_event_timestamp = Some(
            self.last_event_timestamp
                .map_or(last.timestamp, |t| t.max(last.timestamp)),
        );
        self.last_ingestion_time = Some(now);
        self.stored_bytes += batch.iter().map(|e| e.message.len() as i64).sum::<i64>();
        let split = self
            .events
            .partition_point(|e| e.timestamp <= first.timestamp);
        if split == self.events.len() {
            self.events.extend(batch);
            return;
        }
        let tail = self.events.split_off(split);
        let mut tail = tail.into_iter().peekable();
        let mut batch = batch.into_iter().peekable();
        loop {
            let take_tail = match (tail.peek(), batch.peek()) {
                (Some(a), Some(b)) => a.key() <= b.key(),
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let next = if take_tail { tail.next() } else { batch.next() };
            self.events.extend(next);
        }
    }
}

struct Event {
    timestamp: i64,
    seq: u64,
    ingestion_time: i64,
    message: String,
}

impl Event {
    /// The event's place in its stream and among all streams of the region: the timestamp,
    /// then the ingestion order.
    fn key(&self) -> u128 {
        key(self.timestamp, self.seq)
    }

    fn size(&self) -> usize {
        self.message.len() + EVENT_OVERHEAD
    }
}

fn key(timestamp: i64, seq: u64) -> u128 {
    (u128::from(timestamp.max(0).unsigned_abs()) << 64) | u128::from(seq)
}

/// Positions are printed like AWS's: 56 decimal digits.
fn digits(key: u128) -> String {
    format!("{key:056}")
}

impl State {
    #[cfg(test)]
    fn new_in(region: &str, account_id: &str) -> Self {
        State {
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            groups: BTreeMap::new(),
            next_seq: 1,
        }
    }

    /// `arn:aws:logs:<region>:<account>:log-group:<name>`: the ARN TagResource takes and
    /// DescribeLogGroups reports as `logGroupArn` (its `arn` adds `:*`).
    pub fn group_arn(&self, name: &str) -> String {
        aws::arn::format(
            "logs",
            &self.region,
            &self.account_id,
            &format!("log-group:{name}"),
        )
    }

    fn group(&self, name: &str) -> Result<&LogGroup, ApiError> {
        self.groups.get(name).ok_or_else(group_not_found)
    }

    fn group_mut(&mut self, name: &str) -> Result<&mut LogGroup, ApiError> {
        self.groups.get_mut(name).ok_or_else(group_not_found)
    }

    /// A log group's name from an ARN, with or without AWS's trailing `:*`. An ARN of another
    /// region or account names a group that is not here.
    fn name_from_arn(&self, field: &str, arn: &str) -> Result<String, ApiError> {
        let bad = || {
            validation(
                field,
                arn,
                "Member must satisfy regular expression pattern: [\\w#+=/:,.@-]*",
            )
        };
        let parsed = aws::arn::parse(arn).filter(|p| p.service == "logs");
        let Some((p, (kind, rest))) = parsed.and_then(|p| Some((p, p.resource.split_once(':')?)))
        else {
            return Err(invalid(format!("Invalid ARN: {arn}")));
        };
        let (region, account) = (p.region, p.account);
        if kind != "log-group" {
            return Err(group_not_found());
        }
        let name = rest.strip_suffix(":*").unwrap_or(rest);
        if name.is_empty() || !name.chars().all(is_group_name_char) {
            return Err(bad());
        }
        if region != self.region || account != self.account_id {
            return Err(group_not_found());
        }
        Ok(name.to_owned())
    }

    /// `logGroupName` or `logGroupIdentifier` (a name or an ARN): exactly one, as AWS requires.
    fn resolve_group(
        &self,
        name: Option<&str>,
        identifier: Option<&str>,
    ) -> Result<String, ApiError> {
        match (name, identifier) {
            (Some(_), Some(_)) => Err(invalid(
                "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
            )),
            (Some(name), None) => {
                check_group_name("logGroupName", name)?;
                Ok(name.to_owned())
            }
            (None, Some(id)) => self.resolve_identifier("logGroupIdentifier", id),
            (None, None) => Err(invalid(
                "Should provide either name or ARN of the log group.",
            )),
        }
    }

    fn resolve_identifier(&self, field: &str, id: &str) -> Result<String, ApiError> {
        if id.starts_with("arn:") {
            self.name_from_arn(field, id)
        } else {
            check_group_name(field, id)?;
            Ok(id.to_owned())
        }
    }

    // -----------------------------------------------------------------------------------------
    // Log groups
    // -----------------------------------------------------------------------------------------

    pub fn create_group(
        &mut self,
        input: wire::CreateLogGroupRequest,
        now: i64,
    ) -> Result<(), ApiError> {
        let name = input.log_group_name;
        check_group_name("logGroupName", &name)?;
        // CreateLogGroup's documentation: names can't start with `aws/` (AWS's own prefix).
        if name.starts_with("aws/") {
            return Err(invalid("Log group names can't start with the string aws/"));
        }
        let class = input
            .log_group_class
            .unwrap_or(wire::LogGroupClass::Standard);
        check_class(&class)?;
        let tags = input.tags.unwrap_or_default();
        check_tags(&tags)?;
        if tags.len() > MAX_PER_RESOURCE {
            return Err(validation(
                "tags",
                tags.len(),
                &format!("Member must have length less than or equal to {MAX_PER_RESOURCE}"),
            ));
        }
        if self.groups.contains_key(&name) {
            return Err(api_err!(
                logs::ResourceAlreadyExistsException,
                "The specified log group already exists"
            ));
        }
        self.groups.insert(
            name,
            LogGroup {
                creation_time: now,
                retention_in_days: None,
                kms_key_id: input.kms_key_id,
                class,
                deletion_protection: input.deletion_protection_enabled.unwrap_or(false),
                tags,
                streams: BTreeMap::new(),
            },
        );
        Ok(())
    }

    pub fn delete_group(&mut self, name: &str) -> Result<(), ApiError> {
        check_group_name("logGroupName", name)?;
        let group = self.group(name)?;
        if group.deletion_protection {
            return Err(api_err!(
                logs::ValidationException,
                "Log group {name} has deletion protection enabled. Disable deletion protection before deleting the log group."
            ));
        }
        self.groups.remove(name);
        Ok(())
    }

    pub fn put_deletion_protection(
        &mut self,
        identifier: &str,
        enabled: bool,
    ) -> Result<(), ApiError> {
        let name = self.resolve_identifier("logGroupIdentifier", identifier)?;
        self.group_mut(&name)?.deletion_protection = enabled;
        Ok(())
    }

    fn wire_group(&self, name: &str, g: &LogGroup) -> wire::LogGroup {
        let arn = self.group_arn(name);
        wire::LogGroup {
            arn: Some(format!("{arn}:*")),
            creation_time: Some(g.creation_time),
            deletion_protection_enabled: Some(g.deletion_protection),
            kms_key_id: g.kms_key_id.clone(),
            log_group_arn: Some(arn),
            log_group_class: Some(g.class.clone()),
            log_group_name: Some(name.to_owned()),
            metric_filter_count: Some(0),
            retention_in_days: g.retention_in_days,
            stored_bytes: Some(g.streams.values().map(|s| s.stored_bytes).sum()),
            ..Default::default()
        }
    }

    pub fn describe_groups(
        &self,
        input: wire::DescribeLogGroupsRequest,
    ) -> Result<wire::DescribeLogGroupsResponse, ApiError> {
        let limit = GROUPS.size(input.limit, DESCRIBE_LIMIT, DESCRIBE_LIMIT)?;
        let prefix = input.log_group_name_prefix.as_deref();
        let pattern = input.log_group_name_pattern.as_deref();
        if let Some(p) = prefix {
            check_group_name("logGroupNamePrefix", p)?;
        }
        if let Some(p) = pattern {
            check_length("logGroupNamePattern", p, 0, 512)?;
            if !p.chars().all(is_group_name_char) {
                return Err(validation(
                    "logGroupNamePattern",
                    p,
                    r"Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]*",
                ));
            }
        }
        if prefix.is_some() && pattern.is_some() {
            return Err(invalid(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
            ));
        }
        if let Some(class) = &input.log_group_class {
            check_class(class)?;
        }
        let identifiers = match &input.log_group_identifiers {
            Some(ids) => {
                if prefix.is_some() || pattern.is_some() {
                    return Err(invalid(
                        "logGroupIdentifiers cannot be combined with logGroupNamePrefix or logGroupNamePattern.",
                    ));
                }
                let mut names = Vec::with_capacity(ids.len());
                for id in ids {
                    match self.resolve_identifier("logGroupIdentifiers", id) {
                        Ok(name) => names.push(name),
                        // An ARN of another region or account lists nothing, as a missing name.
                        Err(e) if e.code == "ResourceNotFoundException" => {}
                        Err(e) => return Err(e),
                    }
                }
                names.sort();
                names.dedup();
                Some(names)
            }
            None => None,
        };
        let after = GROUPS.after(input.next_token.as_deref())?;
        let start = after.as_deref().or(prefix).unwrap_or("");
        let candidates = self
            .groups
            .range::<str, _>((
                if after.is_some() {
                    Bound::Excluded(start)
                } else {
                    Bound::Included(start)
                },
                Bound::Unbounded,
            ))
            .take_while(|(name, _)| prefix.is_none_or(|p| name.starts_with(p)))
            .filter(|(name, _)| pattern.is_none_or(|p| name.contains(p)))
            .filter(|(name, _)| {
                identifiers
                    .as_ref()
                    .is_none_or(|ids| ids.binary_search(name).is_ok())
            })
            .filter(|(_, g)| input.log_group_class.as_ref().is_none_or(|c| *c == g.class));
        let page = GROUPS.page(candidates, |(name, _)| (*name).clone(), limit);
        let log_groups = page
            .items
            .into_iter()
            .map(|(name, g)| {
                let full = self.wire_group(name, g);
                // DescribeLogGroups' documentation: with a pattern, only these three fields.
                if pattern.is_some() {
                    wire::LogGroup {
                        arn: full.arn,
                        creation_time: full.creation_time,
                        log_group_name: full.log_group_name,
                        ..Default::default()
                    }
                } else {
                    full
                }
            })
            .collect();
        Ok(wire::DescribeLogGroupsResponse {
            log_groups: Some(log_groups),
            next_token: page.next_token,
        })
    }

    pub fn list_groups(
        &self,
        input: wire::ListLogGroupsRequest,
    ) -> Result<wire::ListLogGroupsResponse, ApiError> {
        let limit = GROUP_LIST.size(input.limit, DESCRIBE_LIMIT, LIST_LIMIT)?;
        let pattern = match input.log_group_name_pattern.as_deref() {
            None => None,
            Some(p) => {
                check_length("logGroupNamePattern", p, 3, 129)?;
                if !LIST_PATTERN.is_match(p) {
                    return Err(validation(
                        "logGroupNamePattern",
                        p,
                        r"Member must satisfy regular expression pattern: (\^?[\.\-_\/#A-Za-z0-9]{3,24})(\|\^?[\.\-_\/#A-Za-z0-9]{3,24}){0,4}",
                    ));
                }
                // `^` anchors a prefix, `|` separates alternatives, everything else is literal.
                let alternatives: Vec<String> = p
                    .split('|')
                    .map(|alt| match alt.strip_prefix('^') {
                        Some(rest) => format!("^{}", regex::escape(rest)),
                        None => regex::escape(alt),
                    })
                    .collect();
                Some(
                    Regex::new(&alternatives.join("|"))
                        .map_err(|e| invalid(format!("Invalid logGroupNamePattern: {e}")))?,
                )
            }
        };
        if let Some(class) = &input.log_group_class {
            check_class(class)?;
        }
        let after = GROUP_LIST.after(input.next_token.as_deref())?;
        let candidates = self
            .groups
            .iter()
            .filter(|(name, _)| after.as_deref().is_none_or(|a| name.as_str() > a))
            .filter(|(name, _)| pattern.as_ref().is_none_or(|re| re.is_match(name)))
            .filter(|(_, g)| input.log_group_class.as_ref().is_none_or(|c| *c == g.class))
            .filter(|(_, g)| {
                input.log_group_tags.iter().flatten().all(|f| {
                    g.tags.get(&f.key).is_some_and(|v| {
                        f.values
                            .as_ref()
                            .is_none_or(|vs| vs.is_empty() || vs.contains(v))
                    })
                })
            });
        let page = GROUP_LIST.page(candidates, |(name, _)| (*name).clone(), limit);
        Ok(wire::ListLogGroupsResponse {
            log_groups: Some(
                page.items
                    .into_iter()
                    .map(|(name, g)| wire::LogGroupSummary {
                        log_group_arn: Some(self.group_arn(name)),
                        log_group_class: Some(g.class.clone()),
                        log_group_name: Some(name.clone()),
                    })
                    .collect(),
            ),
            next_token: page.next_token,
        })
    }

    pub fn put_retention(&mut self, name: &str, days: i32, now: i64) -> Result<(), ApiError> {
        check_group_name("logGroupName", name)?;
        if !RETENTION_DAYS.contains(&days) {
            let allowed: Vec<String> = RETENTION_DAYS.iter().map(i32::to_string).collect();
            return Err(validation(
                "retentionInDays",
                days,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            ));
        }
        let group = self.group_mut(name)?;
        group.retention_in_days = Some(days);
        let cutoff = group.cutoff(now);
        for stream in group.streams.values_mut() {
            stream.prune(cutoff);
        }
        Ok(())
    }

    pub fn delete_retention(&mut self, name: &str) -> Result<(), ApiError> {
        check_group_name("logGroupName", name)?;
        self.group_mut(name)?.retention_in_days = None;
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Log streams
    // -----------------------------------------------------------------------------------------

    pub fn create_stream(&mut self, group: &str, stream: &str, now: i64) -> Result<(), ApiError> {
        check_group_name("logGroupName", group)?;
        check_stream_name("logStreamName", stream)?;
        let group = self.group_mut(group)?;
        if group.streams.contains_key(stream) {
            return Err(api_err!(
                logs::ResourceAlreadyExistsException,
                "The specified log stream already exists"
            ));
        }
        group.streams.insert(stream.to_owned(), LogStream::new(now));
        Ok(())
    }

    pub fn delete_stream(&mut self, group: &str, stream: &str) -> Result<(), ApiError> {
        check_group_name("logGroupName", group)?;
        check_stream_name("logStreamName", stream)?;
        self.group_mut(group)?
            .streams
            .remove(stream)
            .map(|_| ())
            .ok_or_else(stream_not_found)
    }

    pub fn describe_streams(
        &self,
        input: wire::DescribeLogStreamsRequest,
    ) -> Result<wire::DescribeLogStreamsResponse, ApiError> {
        let name = self.resolve_group(
            input.log_group_name.as_deref(),
            input.log_group_identifier.as_deref(),
        )?;
        let limit = STREAMS.size(input.limit, DESCRIBE_LIMIT, DESCRIBE_LIMIT)?;
        let prefix = input.log_stream_name_prefix.as_deref();
        if let Some(p) = prefix {
            check_stream_name("logStreamNamePrefix", p)?;
        }
        let by_time = match &input.order_by {
            None | Some(wire::OrderBy::LogStreamName) => false,
            Some(wire::OrderBy::LastEventTime) => true,
            Some(other) => {
                return Err(validation(
                    "orderBy",
                    other,
                    "Member must satisfy enum value set: [LogStreamName, LastEventTime]",
                ));
            }
        };
        if by_time && prefix.is_some() {
            return Err(invalid(
                "Cannot order by LastEventTime with a logStreamNamePrefix.",
            ));
        }
        let descending = input.descending.unwrap_or(false);
        let group = self.group(&name)?;
        let after = STREAMS.after(input.next_token.as_deref())?;
        // The sort key: the name, or the last event's time (zero-padded so strings sort like
        // numbers, streams without events first) then the name.
        let sort_key = |stream_name: &str, s: &LogStream| -> String {
            if by_time {
                format!(
                    "{:020}/{stream_name}",
                    s.last_event_timestamp.unwrap_or(0).max(0)
                )
            } else {
                stream_name.to_owned()
            }
        };
        let mut keyed: Vec<(String, &String, &LogStream)> = group
            .streams
            .iter()
            .filter(|(n, _)| prefix.is_none_or(|p| n.starts_with(p)))
            .map(|(n, s)| (sort_key(n, s), n, s))
            .collect();
        if by_time {
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
        }
        if descending {
            keyed.reverse();
        }
        let rest = keyed.into_iter().filter(|(k, _, _)| match &after {
            None => true,
            Some(a) if descending => k < a,
            Some(a) => k > a,
        });
        let page = STREAMS.page(rest, |(k, _, _)| k.clone(), limit);
        let log_streams = page
            .items
            .into_iter()
            .map(|(_, stream_name, s)| wire::LogStream {
                arn: Some(format!(
                    "{}:log-stream:{stream_name}",
                    self.group_arn(&name)
                )),
                creation_time: Some(s.creation_time),
                first_event_timestamp: s.first_event_timestamp,
                last_event_timestamp: s.last_event_timestamp,
                last_ingestion_time: s.last_ingestion_time,
                log_stream_name: Some(stream_name.clone()),
                // Always zero for streams since 2019 (the LogStream shape's documentation).
                stored_bytes: Some(0),
                upload_sequence_token: Some(s.sequence_token()),
            })
            .collect();
        Ok(wire::DescribeLogStreamsResponse {
            log_streams: Some(log_streams),
            next_token: page.next_token,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Events
    // -----------------------------------------------------------------------------------------

    pub fn put_events(
        &mut self,
        input: wire::PutLogEventsRequest,
        now: i64,
    ) -> Result<wire::PutLogEventsResponse, ApiError> {
        check_group_name("logGroupName", &input.log_group_name)?;
        check_stream_name("logStreamName", &input.log_stream_name)?;
        let events = input.log_events;
        if events.is_empty() {
            return Err(validation(
                "logEvents",
                "[]",
                "Member must have length greater than or equal to 1",
            ));
        }
        if events.len() > MAX_BATCH_EVENTS {
            return Err(validation(
                "logEvents",
                format!("[{} events]", events.len()),
                &format!("Member must have length less than or equal to {MAX_BATCH_EVENTS}"),
            ));
        }
        let mut total = 0usize;
        for (i, e) in events.iter().enumerate() {
            let at = format!("logEvents.{}.member", i + 1);
            if e.message.is_empty() {
                return Err(validation(
                    &format!("{at}.message"),
                    "",
                    "Member must have length greater than or equal to 1",
                ));
            }
            if e.timestamp < 0 {
                return Err(validation(
                    &format!("{at}.timestamp"),
                    e.timestamp,
                    "Member must have value greater than or equal to 0",
                ));
            }
            let size = e.message.len() + EVENT_OVERHEAD;
            if size > MAX_BATCH_BYTES {
                return Err(invalid(format!(
                    "Log event too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}"
                )));
            }
            total += size;
        }
        if total > MAX_BATCH_BYTES {
            return Err(invalid(format!(
                "Upload too large: {total} bytes exceeds limit of {MAX_BATCH_BYTES}"
            )));
        }
        if events.windows(2).any(|w| w[1].timestamp < w[0].timestamp) {
            return Err(invalid(
                "Log events in a single PutLogEvents request must be in chronological order.",
            ));
        }
        let group = self.group(&input.log_group_name)?;
        if !group.streams.contains_key(&input.log_stream_name) {
            return Err(stream_not_found());
        }
        // Out-of-window events are rejected, the others accepted (PutLogEvents' documentation).
        // The batch is sorted, so the rejected ones are a prefix (too old or past retention)
        // and a suffix (too new).
        let retention_cutoff = group.cutoff(now);
        let too_old_cutoff = now - MAX_EVENT_AGE_MS;
        let too_new_after = now + MAX_EVENT_FUTURE_MS;
        let expired_end = events.partition_point(|e| e.timestamp < retention_cutoff);
        let too_old_end = events.partition_point(|e| e.timestamp < too_old_cutoff);
        let too_new_start = events.partition_point(|e| e.timestamp <= too_new_after);
        let accepted_start = expired_end.max(too_old_end).min(too_new_start);
        let accepted = &events[accepted_start..too_new_start];
        if let (Some(first), Some(last)) = (accepted.first(), accepted.last())
            && last.timestamp - first.timestamp > MAX_BATCH_SPAN_MS
        {
            return Err(invalid(
                "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
            ));
        }
        let index = |i: usize| i32::try_from(i).unwrap_or(i32::MAX);
        let rejected = wire::RejectedLogEventsInfo {
            expired_log_event_end_index: (expired_end > 0).then(|| index(expired_end - 1)),
            too_old_log_event_end_index: (too_old_end > 0).then(|| index(too_old_end - 1)),
            too_new_log_event_start_index: (too_new_start < events.len())
                .then(|| index(too_new_start)),
        };
        let any_rejected = rejected != wire::RejectedLogEventsInfo::default();
        let batch: Vec<Event> = events
            .into_iter()
            .skip(accepted_start)
            .take(too_new_start - accepted_start)
            .map(|e| self.event(e.timestamp, e.message, now))
            .collect();
        let group = self.group_mut(&input.log_group_name)?;
        let stream = group
            .streams
            .get_mut(&input.log_stream_name)
            .ok_or_else(stream_not_found)?;
        stream.prune(retention_cutoff);
        stream.insert(batch, now);
        stream.uploads += 1;
        Ok(wire::PutLogEventsResponse {
            next_sequence_token: Some(stream.sequence_token()),
            rejected_entity_info: None,
            rejected_log_events_info: any_rejected.then_some(rejected),
        })
    }

    fn event(&mut self, timestamp: i64, message: String, now: i64) -> Event {
        let seq = self.next_seq;
        self.next_seq += 1;
        Event {
            timestamp,
            seq,
            ingestion_time: now,
            message,
        }
    }

    /// GetLogEvents, paged as AWS pages: a token names a gap between two events of the
    /// stream, `f/<position>` reading forward from it and `b/<position>` backward. The tokens
    /// are never null, and when a direction has nothing more the token passed in comes back
    /// unchanged: that is how clients and the SDKs' paginators know they reached the end.
    pub fn get_events(
        &self,
        input: wire::GetLogEventsRequest,
        now: i64,
    ) -> Result<wire::GetLogEventsResponse, ApiError> {
        let name = self.resolve_group(
            input.log_group_name.as_deref(),
            input.log_group_identifier.as_deref(),
        )?;
        check_stream_name("logStreamName", &input.log_stream_name)?;
        let limit = EVENTS.size(input.limit, MAX_EVENTS_PER_PAGE, MAX_EVENTS_PER_PAGE)?;
        check_time("startTime", input.start_time)?;
        check_time("endTime", input.end_time)?;
        let cursor = input.next_token.as_deref().map(Cursor::parse).transpose()?;
        let group = self.group(&name)?;
        let stream = group
            .streams
            .get(&input.log_stream_name)
            .ok_or_else(stream_not_found)?;
        // startTime is inclusive, endTime exclusive (the request's documentation); retention
        // hides what it has expired even before it is dropped.
        let from = input.start_time.unwrap_or(0).max(group.cutoff(now));
        let to = input.end_time.unwrap_or(i64::MAX);
        let events = &stream.events;
        let lo = events.partition_point(|e| e.timestamp < from);
        let hi = events.partition_point(|e| e.timestamp < to).max(lo);
        let window = &events[lo..hi];
        let cursor = cursor.unwrap_or_else(|| {
            if input.start_from_head.unwrap_or(false) {
                Cursor::After(key(from, 0))
            } else {
                // Before whatever comes next, so a forward token from an empty page still
                // reads the events that arrive later.
                let end = window.last().map_or(key(from, 0) + 1, |e| e.key() + 1);
                Cursor::Before(end.min(key(to, 0)))
            }
        });
        let page = match cursor {
            Cursor::After(after) => {
                let start = window.partition_point(|e| e.key() <= after);
                let mut end = start;
                let mut bytes = 0;
                while end < window.len() && end - start < limit {
                    bytes += window[end].size();
                    if end > start && bytes > MAX_BATCH_BYTES {
                        break;
                    }
                    end += 1;
                }
                &window[start..end]
            }
            Cursor::Before(before) => {
                let end = window.partition_point(|e| e.key() < before);
                let mut start = end;
                let mut bytes = 0;
                while start > 0 && end - start < limit {
                    bytes += window[start - 1].size();
                    if start < end && bytes > MAX_BATCH_BYTES {
                        break;
                    }
                    start -= 1;
                }
                &window[start..end]
            }
        };
        let (forward, backward) = match (page.first(), page.last()) {
            (Some(first), Some(last)) => (
                Cursor::After(last.key()).token(),
                Cursor::Before(first.key()).token(),
            ),
            // Nothing in this direction: the same token again, and the way back from here.
            _ => match (cursor, input.next_token) {
                (Cursor::After(after), given) => (
                    given.unwrap_or_else(|| cursor.token()),
                    Cursor::Before(after.saturating_add(1)).token(),
                ),
                (Cursor::Before(before), given) => (
                    Cursor::After(before.saturating_sub(1)).token(),
                    given.unwrap_or_else(|| cursor.token()),
                ),
            },
        };
        Ok(wire::GetLogEventsResponse {
            events: Some(
                page.iter()
                    .map(|e| wire::OutputLogEvent {
                        ingestion_time: Some(e.ingestion_time),
                        message: Some(e.message.clone()),
                        timestamp: Some(e.timestamp),
                    })
                    .collect(),
            ),
            next_backward_token: Some(backward),
            next_forward_token: Some(forward),
        })
    }

    /// FilterLogEvents: the matching events of the chosen streams, interleaved by timestamp
    /// (then ingestion order), from a k-way merge over the streams' sorted events. `nextToken`
    /// names the last event returned and is absent when nothing more matches.
    pub fn filter_events(
        &self,
        input: wire::FilterLogEventsRequest,
        now: i64,
    ) -> Result<wire::FilterLogEventsResponse, ApiError> {
        let name = self.resolve_group(
            input.log_group_name.as_deref(),
            input.log_group_identifier.as_deref(),
        )?;
        if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
            return Err(invalid(
                "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
            ));
        }
        if let Some(names) = &input.log_stream_names {
            if names.is_empty() || names.len() > 100 {
                return Err(validation(
                    "logStreamNames",
                    format!("[{} names]", names.len()),
                    "Member must have length between 1 and 100",
                ));
            }
            for n in names {
                check_stream_name("logStreamNames", n)?;
            }
        }
        if let Some(p) = &input.log_stream_name_prefix {
            check_stream_name("logStreamNamePrefix", p)?;
        }
        let limit = FILTER.size(input.limit, MAX_EVENTS_PER_PAGE, MAX_EVENTS_PER_PAGE)?;
        check_time("startTime", input.start_time)?;
        check_time("endTime", input.end_time)?;
        let pattern_text = input.filter_pattern.as_deref().unwrap_or("");
        check_length("filterPattern", pattern_text, 0, 1024)?;
        let pattern = FilterPattern::parse(pattern_text)?;
        let after = match FILTER.after(input.next_token.as_deref())? {
            None => None,
            Some(k) => Some(k.parse::<u128>().map_err(|_| invalid_token())?),
        };
        let group = self.group(&name)?;
        let streams: Vec<(&String, &LogStream)> = match (
            &input.log_stream_names,
            input.log_stream_name_prefix.as_deref(),
        ) {
            (Some(names), _) => {
                let mut found: Vec<_> = names
                    .iter()
                    .filter_map(|n| group.streams.get_key_value(n))
                    .collect();
                found.sort_by(|a, b| a.0.cmp(b.0));
                found.dedup_by(|a, b| a.0 == b.0);
                found
            }
            (None, Some(prefix)) => group
                .streams
                .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
                .take_while(|(n, _)| n.starts_with(prefix))
                .collect(),
            (None, None) => group.streams.iter().collect(),
        };
        // Both ends are inclusive here (the request's documentation).
        let from = input.start_time.unwrap_or(0).max(group.cutoff(now));
        let to = input.end_time.unwrap_or(i64::MAX);
        let windows: Vec<&[Event]> = streams
            .iter()
            .map(|(_, s)| {
                let lo = s.events.partition_point(|e| e.timestamp < from);
                let hi = s.events.partition_point(|e| e.timestamp <= to).max(lo);
                &s.events[lo..hi]
            })
            .collect();
        let mut heap = BinaryHeap::new();
        for (i, w) in windows.iter().enumerate() {
            let start = after.map_or(0, |a| w.partition_point(|e| e.key() <= a));
            if let Some(e) = w.get(start) {
                heap.push(Reverse((e.key(), i, start)));
            }
        }
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut more = false;
        while let Some(Reverse((_, i, pos))) = heap.pop() {
            let e = &windows[i][pos];
            if let Some(next) = windows[i].get(pos + 1) {
                heap.push(Reverse((next.key(), i, pos + 1)));
            }
            if !pattern.matches(&e.message) {
                continue;
            }
            if out.len() == limit || (!out.is_empty() && bytes + e.size() > MAX_BATCH_BYTES) {
                more = true;
                break;
            }
            bytes += e.size();
            out.push((i, e));
        }
        let last_key = out.last().map(|(_, e)| e.key());
        let searched = streams
            .iter()
            .zip(&windows)
            .map(|((n, _), w)| wire::SearchedLogStream {
                log_stream_name: Some((*n).clone()),
                searched_completely: Some(
                    !more
                        || w.last()
                            .is_none_or(|e| last_key.is_some_and(|k| e.key() <= k)),
                ),
            })
            .collect();
        let next_token = if more {
            last_key.map(|k| FILTER.token(&k.to_string()))
        } else {
            None
        };
        Ok(wire::FilterLogEventsResponse {
            events: Some(
                out.into_iter()
                    .map(|(i, e)| wire::FilteredLogEvent {
                        event_id: Some(digits(e.key())),
                        ingestion_time: Some(e.ingestion_time),
                        log_stream_name: Some(streams[i].0.clone()),
                        message: Some(e.message.clone()),
                        timestamp: Some(e.timestamp),
                    })
                    .collect(),
            ),
            next_token,
            searched_log_streams: Some(searched),
        })
    }

    // -----------------------------------------------------------------------------------------
    // Tags
    // -----------------------------------------------------------------------------------------

    /// The group a tagging ARN names. Destinations are taggable on AWS too; berth has none.
    /// The group TagResource, UntagResource and ListTagsForResource name by ARN.
    fn tagged_name(&self, arn: &str) -> Result<String, ApiError> {
        check_length("resourceArn", arn, 1, 1011)?;
        self.name_from_arn("resourceArn", arn)
    }

    fn tagged_group(&mut self, arn: &str) -> Result<&mut LogGroup, ApiError> {
        let name = self.tagged_name(arn)?;
        self.group_mut(&name)
    }

    pub fn tag_resource(
        &mut self,
        arn: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        check_tags(&tags)?;
        let group = self.tagged_group(arn)?;
        merge_tags(group, tags, || {
            api_err!(
                logs::TooManyTagsException,
                "A resource can have no more than {MAX_PER_RESOURCE} tags."
            )
        })
    }

    pub fn untag_resource(&mut self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        if keys.len() > MAX_PER_RESOURCE {
            return Err(validation(
                "tagKeys",
                format!("[{} keys]", keys.len()),
                &format!("Member must have length less than or equal to {MAX_PER_RESOURCE}"),
            ));
        }
        let group = self.tagged_group(arn)?;
        for k in keys {
            group.tags.remove(k);
        }
        Ok(())
    }

    pub fn list_tags_for_resource(&self, arn: &str) -> Result<BTreeMap<String, String>, ApiError> {
        Ok(self.group(&self.tagged_name(arn)?)?.tags.clone())
    }

    /// TagLogGroup: the older, name-based tagging call.
    pub fn tag_group(
        &mut self,
        name: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        check_group_name("logGroupName", name)?;
        check_tags(&tags)?;
        let group = self.group_mut(name)?;
        merge_tags(group, tags, || {
            invalid(format!(
                "A resource can have no more than {MAX_PER_RESOURCE} tags."
            ))
        })
    }

    pub fn untag_group(&mut self, name: &str, keys: &[String]) -> Result<(), ApiError> {
        check_group_name("logGroupName", name)?;
        let group = self.group_mut(name)?;
        for k in keys {
            group.tags.remove(k);
        }
        Ok(())
    }

    pub fn list_tags_group(&self, name: &str) -> Result<BTreeMap<String, String>, ApiError> {
        check_group_name("logGroupName", name)?;
        Ok(self.group(name)?.tags.clone())
    }

    // -----------------------------------------------------------------------------------------
    // The awslogs driver's view
    // -----------------------------------------------------------------------------------------

    /// What Docker's awslogs driver does before a container starts: CreateLogGroup when asked
    /// to (`awslogs-create-group`), then CreateLogStream, where an existing stream is fine.
    /// The error is the text ECS shows after "failed to validate logger args: ".
    pub fn open_for_driver(
        &mut self,
        group: &str,
        stream: &str,
        create_group: bool,
        now: i64,
    ) -> Result<(), String> {
        let agent = |what: &str, e: ApiError| {
            format!(
                "create stream has been retried 1 times: failed to create Cloudwatch log {what}: {}: {} : exit status 1",
                e.code, e.message
            )
        };
        if create_group && !self.groups.contains_key(group) {
            let input = wire::CreateLogGroupRequest {
                log_group_name: group.to_owned(),
                ..Default::default()
            };
            self.create_group(input, now)
                .map_err(|e| agent("group", e))?;
        }
        match self.create_stream(group, stream, now) {
            Ok(()) => Ok(()),
            Err(e) if e.code == "ResourceAlreadyExistsException" => Ok(()),
            Err(e) => Err(agent("stream", e)),
        }
    }

    /// Container output from the driver. The driver batches and sorts for PutLogEvents; here
    /// the events go straight in. Whatever cannot be stored (the group was deleted meanwhile,
    /// events past retention) is dropped, as the driver drops what PutLogEvents rejects.
    pub fn put_from_driver(
        &mut self,
        group: &str,
        stream: &str,
        mut events: Vec<(i64, String)>,
        now: i64,
    ) {
        let Some(cutoff) = self.groups.get(group).map(|g| g.cutoff(now)) else {
            return;
        };
        events.retain(|(t, m)| !m.is_empty() && *t >= cutoff);
        events.sort_by_key(|(t, _)| *t);
        let mut batch = Vec::with_capacity(events.len());
        for (t, message) in events {
            for part in split_for_driver(message) {
                batch.push(self.event(t.max(0), part, now));
            }
        }
        let Some(stream) = self
            .groups
            .get_mut(group)
            .and_then(|g| g.streams.get_mut(stream))
        else {
            return;
        };
        stream.prune(cutoff);
        stream.insert(batch, now);
    }
}

/// The awslogs driver sends a line longer than 256 KiB less the 26-byte event overhead as
/// several events, cut at UTF-8 character boundaries.
fn split_for_driver(message: String) -> Vec<String> {
    const MAX: usize = 262_144 - EVENT_OVERHEAD;
    if message.len() <= MAX {
        return vec![message];
    }
    let mut parts = Vec::new();
    let mut rest = message.as_str();
    while rest.len() > MAX {
        let mut cut = MAX;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        parts.push(rest[..cut].to_owned());
        rest = &rest[cut..];
    }
    parts.push(rest.to_owned());
    parts
}

fn merge_tags(
    group: &mut LogGroup,
    tags: BTreeMap<String, String>,
    too_many: impl Fn() -> ApiError,
) -> Result<(), ApiError> {
    let count = aws::tags::count_after_merge(
        group.tags.len(),
        |k| group.tags.contains_key(k),
        tags.keys().map(String::as_str),
    );
    if count > MAX_PER_RESOURCE {
        return Err(too_many());
    }
    group.tags.extend(tags);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------------------------

/// A GetLogEvents position: the gap after or before the event with that key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    /// Forward: events with a greater key.
    After(u128),
    /// Backward: events with a smaller key.
    Before(u128),
}

impl Cursor {
    /// `f/<digits>/s` or `b/<digits>/s`, AWS's shape (older tokens had no `/s`; both parse).
    fn token(self) -> String {
        match self {
            Cursor::After(k) => format!("f/{}/s", digits(k)),
            Cursor::Before(k) => format!("b/{}/s", digits(k)),
        }
    }

    fn parse(token: &str) -> Result<Cursor, ApiError> {
        let (forward, rest) = if let Some(rest) = token.strip_prefix("f/") {
            (true, rest)
        } else if let Some(rest) = token.strip_prefix("b/") {
            (false, rest)
        } else {
            return Err(invalid_token());
        };
        let number = rest.strip_suffix("/s").unwrap_or(rest);
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid_token());
        }
        let k = number.parse::<u128>().map_err(|_| invalid_token())?;
        Ok(if forward {
            Cursor::After(k)
        } else {
            Cursor::Before(k)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Filter patterns (FilterAndPatternSyntax in the CloudWatch Logs user guide)
// ---------------------------------------------------------------------------------------------

/// A parsed `filterPattern`.
#[derive(Debug)]
enum FilterPattern {
    /// Empty: every event.
    All,
    /// Unstructured terms: every plain term, at least one `?term` (if any), no `-term`.
    Terms {
        all: Vec<Term>,
        any: Vec<Term>,
        none: Vec<Term>,
    },
    /// `{ $.selector op value && … }` over events that are JSON objects.
    Json(JsonExpr),
    /// `[field, name = value, …]` over whitespace-delimited events.
    Delimited(Vec<Field>),
}

#[derive(Debug)]
enum Term {
    /// A word or quoted phrase, matched case-sensitively as whole terms: its alphanumeric ends
    /// may not continue into more letters or digits of the message.
    Text(String),
    /// `%regex%`.
    Regex(Regex),
}

impl Term {
    fn matches(&self, message: &str) -> bool {
        match self {
            Term::Regex(re) => re.is_match(message),
            Term::Text(t) => contains_term(message, t),
        }
    }
}

fn contains_term(message: &str, term: &str) -> bool {
    if term.is_empty() {
        return true;
    }
    let starts_word = term.chars().next().is_some_and(char::is_alphanumeric);
    let ends_word = term.chars().next_back().is_some_and(char::is_alphanumeric);
    message.match_indices(term).any(|(i, _)| {
        let before = message[..i].chars().next_back();
        let after = message[i + term.len()..].chars().next();
        (!starts_word || before.is_none_or(|c| !c.is_alphanumeric()))
            && (!ends_word || after.is_none_or(|c| !c.is_alphanumeric()))
    })
}

fn bad_pattern(detail: impl std::fmt::Display) -> ApiError {
    invalid(format!("Invalid filter pattern: {detail}"))
}

fn pattern_regex(body: &str) -> Result<Regex, ApiError> {
    RegexBuilder::new(body)
        .size_limit(1 << 20)
        .build()
        .map_err(|_| bad_pattern(format!("invalid regular expression %{body}%")))
}

impl FilterPattern {
    fn parse(text: &str) -> Result<FilterPattern, ApiError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(FilterPattern::All);
        }
        if let Some(body) = trimmed.strip_prefix('{') {
            let body = body
                .strip_suffix('}')
                .ok_or_else(|| bad_pattern("a JSON pattern must end with '}'"))?;
            let mut p = JsonParser {
                tokens: lex_json(body)?,
                pos: 0,
            };
            let expr = p.or()?;
            if p.pos != p.tokens.len() {
                return Err(bad_pattern("unexpected text after the JSON condition"));
            }
            return Ok(FilterPattern::Json(expr));
        }
        if let Some(body) = trimmed.strip_prefix('[') {
            let body = body
                .strip_suffix(']')
                .ok_or_else(|| bad_pattern("a space-delimited pattern must end with ']'"))?;
            return Ok(FilterPattern::Delimited(parse_fields(body)?));
        }
        let mut all = Vec::new();
        let mut any = Vec::new();
        let mut none = Vec::new();
        for word in split_terms(trimmed)? {
            // A lone `?` or `-` is a literal character, not a modifier of nothing.
            let (list, word) = if let Some(rest) = word.strip_prefix('?').filter(|r| !r.is_empty())
            {
                (&mut any, rest)
            } else if let Some(rest) = word.strip_prefix('-').filter(|r| !r.is_empty()) {
                (&mut none, rest)
            } else {
                (&mut all, word.as_str())
            };
            let term = if let Some(q) = word.strip_prefix('"') {
                Term::Text(unquote(q)?)
            } else if word.len() >= 2 && word.starts_with('%') && word.ends_with('%') {
                Term::Regex(pattern_regex(&word[1..word.len() - 1])?)
            } else {
                Term::Text(word.to_owned())
            };
            list.push(term);
        }
        Ok(FilterPattern::Terms { all, any, none })
    }

    fn matches(&self, message: &str) -> bool {
        match self {
            FilterPattern::All => true,
            FilterPattern::Terms { all, any, none } => {
                all.iter().all(|t| t.matches(message))
                    && (any.is_empty() || any.iter().any(|t| t.matches(message)))
                    && !none.iter().any(|t| t.matches(message))
            }
            FilterPattern::Json(expr) => {
                serde_json::from_str::<serde_json::Value>(message).is_ok_and(|doc| expr.eval(&doc))
            }
            FilterPattern::Delimited(fields) => {
                let tokens = split_message_fields(message);
                match_fields(fields, &tokens)
            }
        }
    }
}

/// Splits unstructured terms on whitespace; a quoted phrase (after an optional `?`/`-`) is one
/// term, its quotes kept so the caller knows it was quoted.
fn split_terms(text: &str) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        let mut quoted = false;
        while let Some(&c) = chars.peek() {
            if c == '"' {
                quoted = !quoted;
            } else if c == '\\' && quoted {
                word.push(c);
                chars.next();
                if let Some(escaped) = chars.next() {
                    word.push(escaped);
                }
                continue;
            } else if c.is_whitespace() && !quoted {
                break;
            }
            word.push(c);
            chars.next();
        }
        if quoted {
            return Err(bad_pattern("unterminated quoted term"));
        }
        out.push(word);
    }
    Ok(out)
}

/// The text of a quoted term whose opening quote is already stripped.
fn unquote(rest: &str) -> Result<String, ApiError> {
    let body = rest
        .strip_suffix('"')
        .ok_or_else(|| bad_pattern("text after a quoted term"))?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else if c == '"' {
            return Err(bad_pattern("text after a quoted term"));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// `*` matches any run of characters; everything else literally.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    if !text.ends_with(last) {
        return false;
    }
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug)]
enum Value {
    Number(f64),
    /// A string, with `*` wildcards when it was not quoted.
    Text {
        text: String,
        glob: bool,
    },
    Regex(Regex),
}

impl Value {
    fn parse(raw: &str, quoted: bool) -> Result<Value, ApiError> {
        if quoted {
            return Ok(Value::Text {
                text: raw.to_owned(),
                glob: false,
            });
        }
        if raw.len() >= 2 && raw.starts_with('%') && raw.ends_with('%') {
            return Ok(Value::Regex(pattern_regex(&raw[1..raw.len() - 1])?));
        }
        if let Ok(n) = raw.parse::<f64>() {
            return Ok(Value::Number(n));
        }
        Ok(Value::Text {
            text: raw.to_owned(),
            glob: true,
        })
    }

    /// Compares a field's text (a JSON string or number rendered, or a delimited field).
    fn compare(&self, op: Op, field: &str, field_number: Option<f64>) -> bool {
        match self {
            Value::Number(n) => match field_number.or_else(|| field.parse::<f64>().ok()) {
                Some(f) => match op {
                    Op::Eq => f == *n,
                    Op::Ne => f != *n,
                    Op::Lt => f < *n,
                    Op::Le => f <= *n,
                    Op::Gt => f > *n,
                    Op::Ge => f >= *n,
                },
                None => op == Op::Ne,
            },
            Value::Text { text, glob } => {
                let eq = if *glob {
                    glob_matches(text, field)
                } else {
                    text == field
                };
                match op {
                    Op::Eq => eq,
                    Op::Ne => !eq,
                    _ => false,
                }
            }
            Value::Regex(re) => match op {
                Op::Eq => re.is_match(field),
                Op::Ne => !re.is_match(field),
                _ => false,
            },
        }
    }
}

#[derive(Debug)]
enum JsonExpr {
    Or(Box<JsonExpr>, Box<JsonExpr>),
    And(Box<JsonExpr>, Box<JsonExpr>),
    Compare(Vec<Step>, Op, Value),
    IsTrue(Vec<Step>),
    IsFalse(Vec<Step>),
    IsNull(Vec<Step>),
    NotExists(Vec<Step>),
}

#[derive(Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn select<'a>(doc: &'a serde_json::Value, path: &[Step]) -> Option<&'a serde_json::Value> {
    path.iter().try_fold(doc, |v, step| match step {
        Step::Key(k) => v.get(k.as_str()),
        Step::Index(i) => v.get(*i),
    })
}

impl JsonExpr {
    fn eval(&self, doc: &serde_json::Value) -> bool {
        use serde_json::Value as J;
        match self {
            JsonExpr::Or(a, b) => a.eval(doc) || b.eval(doc),
            JsonExpr::And(a, b) => a.eval(doc) && b.eval(doc),
            JsonExpr::IsTrue(p) => matches!(select(doc, p), Some(J::Bool(true))),
            JsonExpr::IsFalse(p) => matches!(select(doc, p), Some(J::Bool(false))),
            JsonExpr::IsNull(p) => matches!(select(doc, p), Some(J::Null)),
            JsonExpr::NotExists(p) => select(doc, p).is_none(),
            JsonExpr::Compare(p, op, value) => match select(doc, p) {
                Some(J::String(s)) => value.compare(*op, s, None),
                Some(J::Number(n)) => value.compare(*op, &n.to_string(), n.as_f64()),
                Some(J::Bool(b)) => value.compare(*op, &b.to_string(), None),
                _ => false,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum JsonToken {
    Open,
    Close,
    And,
    Or,
    Op(Op),
    /// A selector, keyword or bare value.
    Word(String),
    Quoted(String),
}

fn lex_json(text: &str) -> Result<Vec<JsonToken>, ApiError> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let pair = at(i + 1);
        let (token, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => (JsonToken::Open, 1),
            ')' => (JsonToken::Close, 1),
            '&' if pair == Some('&') => (JsonToken::And, 2),
            '|' if pair == Some('|') => (JsonToken::Or, 2),
            '=' => (JsonToken::Op(Op::Eq), 1),
            '!' if pair == Some('=') => (JsonToken::Op(Op::Ne), 2),
            '<' if pair == Some('=') => (JsonToken::Op(Op::Le), 2),
            '<' => (JsonToken::Op(Op::Lt), 1),
            '>' if pair == Some('=') => (JsonToken::Op(Op::Ge), 2),
            '>' => (JsonToken::Op(Op::Gt), 1),
            '"' => {
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match at(j) {
                        Some('"') => break,
                        Some('\\') => {
                            s.extend(at(j + 1));
                            j += 2;
                        }
                        Some(c) => {
                            s.push(c);
                            j += 1;
                        }
                        None => return Err(bad_pattern("unterminated string")),
                    }
                }
                (JsonToken::Quoted(s), j + 1 - i)
            }
            _ => {
                // A selector, keyword or bare value runs to whitespace, a bracket, an operator
                // or `&&` / `||`.
                let mut j = i;
                while let Some(n) = at(j) {
                    let doubled = (n == '&' || n == '|') && at(j + 1) == Some(n);
                    if n.is_whitespace()
                        || doubled
                        || matches!(n, '(' | ')' | '=' | '!' | '<' | '>' | '"')
                    {
                        break;
                    }
                    j += 1;
                }
                if j == i {
                    return Err(bad_pattern(format!("unexpected '{c}'")));
                }
                (JsonToken::Word(chars[i..j].iter().collect()), j - i)
            }
        };
        out.push(token);
        i += len;
    }
    Ok(out)
}

struct JsonParser {
    tokens: Vec<JsonToken>,
    pos: usize,
}

impl JsonParser {
    fn next(&mut self) -> Option<JsonToken> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek(&self) -> Option<&JsonToken> {
        self.tokens.get(self.pos)
    }

    fn or(&mut self) -> Result<JsonExpr, ApiError> {
        let mut left = self.and()?;
        while self.peek() == Some(&JsonToken::Or) {
            self.pos += 1;
            left = JsonExpr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<JsonExpr, ApiError> {
        let mut left = self.unary()?;
        while self.peek() == Some(&JsonToken::And) {
            self.pos += 1;
            left = JsonExpr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<JsonExpr, ApiError> {
        match self.next() {
            Some(JsonToken::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(JsonToken::Close) => Ok(inner),
                    _ => Err(bad_pattern("missing ')'")),
                }
            }
            Some(JsonToken::Word(selector)) => self.condition(&selector),
            _ => Err(bad_pattern("expected a selector such as $.field")),
        }
    }

    fn condition(&mut self, selector: &str) -> Result<JsonExpr, ApiError> {
        let path = parse_selector(selector)?;
        match self.next() {
            Some(JsonToken::Op(op)) => {
                let value = match self.next() {
                    Some(JsonToken::Quoted(s)) => Value::parse(&s, true)?,
                    Some(JsonToken::Word(w)) => Value::parse(&w, false)?,
                    _ => return Err(bad_pattern("expected a value after the operator")),
                };
                Ok(JsonExpr::Compare(path, op, value))
            }
            Some(JsonToken::Word(w)) if w == "IS" => match self.next() {
                Some(JsonToken::Word(w)) if w == "TRUE" => Ok(JsonExpr::IsTrue(path)),
                Some(JsonToken::Word(w)) if w == "FALSE" => Ok(JsonExpr::IsFalse(path)),
                Some(JsonToken::Word(w)) if w == "NULL" => Ok(JsonExpr::IsNull(path)),
                _ => Err(bad_pattern("expected TRUE, FALSE or NULL after IS")),
            },
            Some(JsonToken::Word(w)) if w == "NOT" => match self.next() {
                Some(JsonToken::Word(w)) if w == "EXISTS" => Ok(JsonExpr::NotExists(path)),
                _ => Err(bad_pattern("expected EXISTS after NOT")),
            },
            _ => Err(bad_pattern(format!(
                "expected an operator after {selector}"
            ))),
        }
    }
}

/// `$.a.b[0].c` as steps.
fn parse_selector(selector: &str) -> Result<Vec<Step>, ApiError> {
    let bad = || bad_pattern(format!("invalid selector {selector}"));
    let mut rest = selector.strip_prefix('$').ok_or_else(bad)?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            if key.is_empty() || key == "*" {
                return Err(bad());
            }
            steps.push(Step::Key(key.to_owned()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(bad)?;
            let index = r[..end].parse::<usize>().map_err(|_| bad())?;
            steps.push(Step::Index(index));
            rest = &r[end + 1..];
        } else {
            return Err(bad());
        }
    }
    if steps.is_empty() {
        return Err(bad());
    }
    Ok(steps)
}

/// One field of a space-delimited pattern: `...`, or a name with optional conditions.
#[derive(Debug)]
enum Field {
    Ellipsis,
    /// Alternatives (`||`) of conjunctions (`&&`) of comparisons.
    Match(Vec<Vec<(Op, Value)>>),
}

fn parse_fields(body: &str) -> Result<Vec<Field>, ApiError> {
    let mut fields = Vec::new();
    for raw in split_outside_quotes(body, ',') {
        let raw = raw.trim();
        if raw == "..." {
            fields.push(Field::Ellipsis);
            continue;
        }
        let mut alternatives = Vec::new();
        for alt in raw.split("||") {
            let mut conj = Vec::new();
            for part in alt.split("&&") {
                let part = part.trim();
                let Some(at) = part.find(['=', '!', '<', '>']) else {
                    // A bare name: matches any value.
                    if part.is_empty() || part.contains(char::is_whitespace) {
                        return Err(bad_pattern(format!("invalid field '{part}'")));
                    }
                    continue;
                };
                let rest = &part[at..];
                let (op, len) = [
                    ("!=", Op::Ne),
                    ("<=", Op::Le),
                    (">=", Op::Ge),
                    ("=", Op::Eq),
                    ("<", Op::Lt),
                    (">", Op::Gt),
                ]
                .into_iter()
                .find(|(s, _)| rest.starts_with(s))
                .map(|(s, op)| (op, s.len()))
                .ok_or_else(|| bad_pattern(format!("invalid field '{part}'")))?;
                let value = rest[len..].trim();
                let value = match value.strip_prefix('"') {
                    Some(q) => Value::parse(&unquote(q)?, true)?,
                    None => Value::parse(value, false)?,
                };
                conj.push((op, value));
            }
            alternatives.push(conj);
        }
        fields.push(Field::Match(alternatives));
    }
    Ok(fields)
}

fn split_outside_quotes(text: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&text[start..]);
    out
}

/// A message's whitespace-delimited fields; text in quotes or brackets is one field, without
/// its quotes or brackets.
fn split_message_fields(message: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = message.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let close = match bytes[i] {
            b'"' => Some(b'"'),
            b'[' => Some(b']'),
            _ => None,
        };
        if let Some(close) = close
            && let Some(len) = bytes[i + 1..].iter().position(|b| *b == close)
        {
            out.push(&message[i + 1..i + 1 + len]);
            i += len + 2;
            continue;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        out.push(&message[start..i]);
    }
    out
}

fn match_fields(fields: &[Field], tokens: &[&str]) -> bool {
    match fields.split_first() {
        None => tokens.is_empty(),
        Some((Field::Ellipsis, rest)) => {
            (0..=tokens.len()).any(|skip| match_fields(rest, &tokens[skip..]))
        }
        Some((Field::Match(alternatives), rest)) => match tokens.split_first() {
            None => false,
            Some((token, more)) => {
                let ok = alternatives.is_empty()
                    || alternatives
                        .iter()
                        .any(|conj| conj.iter().all(|(op, v)| v.compare(*op, token, None)));
                ok && match_fields(rest, more)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn logs_with_stream(group: &str, stream: &str) -> State {
        let mut logs = State::new_in("us-east-1", "000000000000");
        logs.create_group(
            wire::CreateLogGroupRequest {
                log_group_name: group.into(),
                ..Default::default()
            },
            NOW,
        )
        .expect("group");
        logs.create_stream(group, stream, NOW).expect("stream");
        logs
    }

    fn put(
        logs: &mut State,
        group: &str,
        stream: &str,
        events: &[(i64, &str)],
    ) -> wire::PutLogEventsResponse {
        logs.put_events(
            wire::PutLogEventsRequest {
                log_group_name: group.into(),
                log_stream_name: stream.into(),
                log_events: events
                    .iter()
                    .map(|(t, m)| wire::InputLogEvent {
                        timestamp: *t,
                        message: (*m).into(),
                    })
                    .collect(),
                ..Default::default()
            },
            NOW,
        )
        .expect("put")
    }

    fn get(
        logs: &State,
        token: Option<&str>,
        head: bool,
        limit: i32,
    ) -> wire::GetLogEventsResponse {
        logs.get_events(
            wire::GetLogEventsRequest {
                log_group_name: Some("g".into()),
                log_stream_name: "s".into(),
                next_token: token.map(str::to_owned),
                start_from_head: Some(head),
                limit: Some(limit),
                ..Default::default()
            },
            NOW,
        )
        .expect("get")
    }

    fn messages(r: &wire::GetLogEventsResponse) -> Vec<String> {
        r.events
            .iter()
            .flatten()
            .filter_map(|e| e.message.clone())
            .collect()
    }

    #[test]
    fn forward_paging_ends_with_the_same_token() {
        let mut logs = logs_with_stream("g", "s");
        let events: Vec<(i64, String)> =
            (0..25).map(|i| (NOW - 1000 + i, format!("m{i}"))).collect();
        let refs: Vec<(i64, &str)> = events.iter().map(|(t, m)| (*t, m.as_str())).collect();
        put(&mut logs, "g", "s", &refs);
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        let mut calls = 0;
        loop {
            calls += 1;
            let r = get(&logs, token.as_deref(), true, 10);
            seen.extend(messages(&r));
            let next = r.next_forward_token.expect("forward token");
            assert!(next.starts_with("f/") && next.ends_with("/s"), "{next}");
            if token.as_deref() == Some(next.as_str()) {
                break;
            }
            token = Some(next);
            assert!(calls < 10, "paging does not end");
        }
        assert_eq!(
            seen,
            events.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>()
        );
        assert_eq!(calls, 4);
    }

    #[test]
    fn backward_paging_from_the_tail() {
        let mut logs = logs_with_stream("g", "s");
        let events: Vec<(i64, String)> =
            (0..25).map(|i| (NOW - 1000 + i, format!("m{i}"))).collect();
        let refs: Vec<(i64, &str)> = events.iter().map(|(t, m)| (*t, m.as_str())).collect();
        put(&mut logs, "g", "s", &refs);
        let first = get(&logs, None, false, 10);
        assert_eq!(
            messages(&first),
            (15..25).map(|i| format!("m{i}")).collect::<Vec<_>>()
        );
        let mut token = first.next_backward_token.clone().expect("b");
        let mut pages = vec![messages(&first)];
        loop {
            let r = get(&logs, Some(&token), false, 10);
            let next = r.next_backward_token.clone().expect("b");
            if next == token {
                assert!(messages(&r).is_empty());
                break;
            }
            pages.push(messages(&r));
            token = next;
        }
        pages.reverse();
        let all: Vec<String> = pages.concat();
        assert_eq!(
            all,
            events.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>()
        );
        // Forward from the tail sees what arrives later.
        let tail = first.next_forward_token.expect("f");
        assert!(messages(&get(&logs, Some(&tail), true, 10)).is_empty());
        put(&mut logs, "g", "s", &[(NOW, "late")]);
        assert_eq!(messages(&get(&logs, Some(&tail), true, 10)), vec!["late"]);
    }

    #[test]
    fn out_of_order_batches_are_merged_by_timestamp() {
        let mut logs = logs_with_stream("g", "s");
        put(
            &mut logs,
            "g",
            "s",
            &[(NOW - 100, "a"), (NOW - 50, "c"), (NOW - 10, "e")],
        );
        put(&mut logs, "g", "s", &[(NOW - 60, "b"), (NOW - 20, "d")]);
        assert_eq!(
            messages(&get(&logs, None, true, 100)),
            vec!["a", "b", "c", "d", "e"]
        );
    }

    #[test]
    fn put_rejects_unordered_batches_and_reports_out_of_window_events() {
        let mut logs = logs_with_stream("g", "s");
        let err = logs
            .put_events(
                wire::PutLogEventsRequest {
                    log_group_name: "g".into(),
                    log_stream_name: "s".into(),
                    log_events: vec![
                        wire::InputLogEvent {
                            timestamp: NOW,
                            message: "b".into(),
                        },
                        wire::InputLogEvent {
                            timestamp: NOW - 1,
                            message: "a".into(),
                        },
                    ],
                    ..Default::default()
                },
                NOW,
            )
            .expect_err("unordered");
        assert_eq!(err.code, "InvalidParameterException");
        let r = put(
            &mut logs,
            "g",
            "s",
            &[
                (NOW - 15 * DAY_MS, "old"),
                (NOW, "ok"),
                (NOW + 3 * HOUR_MS, "new"),
            ],
        );
        let info = r.rejected_log_events_info.expect("rejected info");
        assert_eq!(info.too_old_log_event_end_index, Some(0));
        assert_eq!(info.too_new_log_event_start_index, Some(2));
        assert_eq!(messages(&get(&logs, None, true, 100)), vec!["ok"]);
    }

    #[test]
    fn retention_hides_and_drops_old_events() {
        let mut logs = logs_with_stream("g", "s");
        // Two batches: one batch may not span more than 24 hours.
        put(&mut logs, "g", "s", &[(NOW - 3 * DAY_MS, "three days")]);
        put(&mut logs, "g", "s", &[(NOW - 1000, "fresh")]);
        assert_eq!(messages(&get(&logs, None, true, 100)).len(), 2);
        logs.put_retention("g", 1, NOW).expect("retention");
        assert_eq!(messages(&get(&logs, None, true, 100)), vec!["fresh"]);
        assert!(logs.put_retention("g", 2, NOW).is_err());
        // Retention counts from now: a later read hides what has aged out since.
        let later = logs
            .get_events(
                wire::GetLogEventsRequest {
                    log_group_name: Some("g".into()),
                    log_stream_name: "s".into(),
                    start_from_head: Some(true),
                    ..Default::default()
                },
                NOW + 2 * DAY_MS,
            )
            .expect("get");
        assert!(messages(&later).is_empty());
    }

    #[test]
    fn filter_interleaves_streams_and_pages() {
        let mut logs = logs_with_stream("g", "a");
        logs.create_stream("g", "b", NOW).expect("b");
        put(
            &mut logs,
            "g",
            "a",
            &[
                (NOW - 50, "ERROR one"),
                (NOW - 30, "INFO two"),
                (NOW - 10, "ERROR three"),
            ],
        );
        put(
            &mut logs,
            "g",
            "b",
            &[(NOW - 40, "ERROR four"), (NOW - 20, "WARN five")],
        );
        let filter = |pattern: &str, token: Option<String>, limit: Option<i32>| {
            logs.filter_events(
                wire::FilterLogEventsRequest {
                    log_group_name: Some("g".into()),
                    filter_pattern: Some(pattern.into()),
                    next_token: token,
                    limit,
                    ..Default::default()
                },
                NOW,
            )
            .expect("filter")
        };
        let msgs = |r: &wire::FilterLogEventsResponse| -> Vec<String> {
            r.events
                .iter()
                .flatten()
                .filter_map(|e| e.message.clone())
                .collect()
        };
        assert_eq!(
            msgs(&filter("ERROR", None, None)),
            vec!["ERROR one", "ERROR four", "ERROR three"]
        );
        assert_eq!(
            msgs(&filter("?WARN ?INFO", None, None)),
            vec!["INFO two", "WARN five"]
        );
        assert_eq!(
            msgs(&filter("ERROR -four", None, None)),
            vec!["ERROR one", "ERROR three"]
        );
        assert_eq!(
            msgs(&filter("\"ERROR four\"", None, None)),
            vec!["ERROR four"]
        );
        assert_eq!(msgs(&filter("ERR", None, None)), Vec::<String>::new());
        assert_eq!(msgs(&filter("%ERR%", None, None)).len(), 3);
        let first = filter("", None, Some(2));
        assert_eq!(msgs(&first), vec!["ERROR one", "ERROR four"]);
        let second = filter("", first.next_token.clone(), Some(2));
        assert_eq!(msgs(&second), vec!["INFO two", "WARN five"]);
        let third = filter("", second.next_token.clone(), Some(2));
        assert_eq!(msgs(&third), vec!["ERROR three"]);
        assert!(third.next_token.is_none());
    }

    #[test]
    fn json_and_delimited_patterns() {
        let json = |p: &str, m: &str| FilterPattern::parse(p).expect("pattern").matches(m);
        let doc = r#"{"level":"error","code":503,"user":{"id":7},"tags":["a","b"],"ok":false,"gone":null}"#;
        assert!(json(r#"{ $.level = "error" }"#, doc));
        assert!(json("{ $.level = err* }", doc));
        assert!(!json(r#"{ $.level = "warn" }"#, doc));
        assert!(json("{ $.code >= 500 && $.user.id = 7 }", doc));
        assert!(json("{ ($.code < 500) || $.tags[1] = b }", doc));
        assert!(json("{ $.ok IS FALSE }", doc));
        assert!(json("{ $.gone IS NULL }", doc));
        assert!(json("{ $.missing NOT EXISTS }", doc));
        assert!(!json("{ $.level = error }", "not json"));
        assert!(FilterPattern::parse("{ $.level = ").is_err());
        let delimited = |p: &str, m: &str| FilterPattern::parse(p).expect("pattern").matches(m);
        let line =
            r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
        assert!(delimited(
            "[ip, user, username, timestamp, request, status_code = 4*, bytes]",
            line
        ));
        assert!(delimited("[..., status_code = 404, bytes]", line));
        assert!(!delimited("[..., status_code = 200, bytes]", line));
        assert!(delimited("[ip, ..., bytes > 1000]", line));
    }

    #[test]
    fn driver_open_and_put() {
        let mut logs = State::new_in("us-east-1", "000000000000");
        let err = logs
            .open_for_driver("/ecs/app", "ecs/web/1", false, NOW)
            .expect_err("no group");
        assert_eq!(
            err,
            "create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. : exit status 1"
        );
        logs.open_for_driver("/ecs/app", "ecs/web/1", true, NOW)
            .expect("created");
        logs.open_for_driver("/ecs/app", "ecs/web/1", false, NOW)
            .expect("existing stream is fine");
        logs.put_from_driver(
            "/ecs/app",
            "ecs/web/1",
            vec![
                (NOW - 1, "b".into()),
                (NOW - 2, "a".into()),
                (NOW, String::new()),
            ],
            NOW,
        );
        logs.put_from_driver("/ecs/gone", "x", vec![(NOW, "dropped".into())], NOW);
        let r = logs
            .get_events(
                wire::GetLogEventsRequest {
                    log_group_name: Some("/ecs/app".into()),
                    log_stream_name: "ecs/web/1".into(),
                    start_from_head: Some(true),
                    ..Default::default()
                },
                NOW,
            )
            .expect("get");
        assert_eq!(messages(&r), vec!["a", "b"]);
    }

    #[test]
    fn driver_splits_long_lines_like_awslogs() {
        let line = "é".repeat(200_000); // 400 000 bytes, two-byte characters
        let parts = split_for_driver(line.clone());
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.len() <= 262_144 - EVENT_OVERHEAD));
        assert_eq!(parts.concat(), line);
    }

    #[test]
    fn names_and_arns() {
        let mut logs = logs_with_stream("g", "s");
        assert!(check_group_name("logGroupName", "bad:name").is_err());
        assert!(check_stream_name("logStreamName", "bad*").is_err());
        let arn = logs.group_arn("g");
        logs.tag_resource(&arn, BTreeMap::from([("k".to_owned(), "v".to_owned())]))
            .expect("tag");
        let with_star = format!("{arn}:*");
        assert_eq!(
            logs.list_tags_for_resource(&with_star).expect("tags").len(),
            1
        );
        let other_region = arn.replace("us-east-1", "eu-west-1");
        assert_eq!(
            logs.list_tags_for_resource(&other_region)
                .expect_err("elsewhere")
                .code,
            "ResourceNotFoundException"
        );
        assert!(Cursor::parse("f/12").is_ok() && Cursor::parse("x/12").is_err());
        assert_eq!(
            Cursor::parse(&Cursor::Before(42).token()).ok(),
            Some(Cursor::Before(42))
        );
    }
}
