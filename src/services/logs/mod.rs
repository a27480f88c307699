//! CloudWatch Logs: log groups, their streams and events, retention and tags, per region like
//! AWS. A stream keeps its events in a `Vec` sorted by (timestamp, ingestion sequence), so every
//! read is a binary search plus the page it returns. That same order names the positions behind
//! GetLogEvents' `f/…` and `b/…` tokens and interleaves streams for FilterLogEvents. Retention is
//! enforced on every read (events older than it are not returned) and events are dropped from
//! memory when the stream is next written or the policy changes.
//!
//! This is also where `awslogs` output from the executor lands (`links::awslogs`).

pub mod api;
mod checks;
mod events;
mod filter;
mod paging;
#[cfg(test)]
mod tests;

use checks::*;
use paging::*;

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
