//! CloudWatch Logs' rules, called directly.

use super::events::split_for_driver;
use super::filter::FilterPattern;
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

fn get(logs: &State, token: Option<&str>, head: bool, limit: i32) -> wire::GetLogEventsResponse {
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
    let events: Vec<(i64, String)> = (0..25).map(|i| (NOW - 1000 + i, format!("m{i}"))).collect();
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
    let events: Vec<(i64, String)> = (0..25).map(|i| (NOW - 1000 + i, format!("m{i}"))).collect();
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
    let doc =
        r#"{"level":"error","code":503,"user":{"id":7},"tags":["a","b"],"ok":false,"gone":null}"#;
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
