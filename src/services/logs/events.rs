//! Events: PutLogEvents, GetLogEvents, FilterLogEvents, and what the awslogs driver writes.

use super::filter::FilterPattern;
use super::*;

impl State {
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

    pub(super) fn event(&mut self, timestamp: i64, message: String, now: i64) -> Event {
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
pub(super) fn split_for_driver(message: String) -> Vec<String> {
    pub(super) const MAX: usize = 262_144 - EVENT_OVERHEAD;
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
