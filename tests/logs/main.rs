//! CloudWatch Logs through the official Rust SDK (`aws-sdk-cloudwatchlogs`), against
//! `berth::Server` on a free loopback port.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use berth::{Config, Server};

async fn start() -> (Server, Client) {
    let server = Server::start(Config::ephemeral())
        .await
        .expect("berth starts on a free port");
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("k", "s", None, None, "test"))
        .endpoint_url(server.endpoint_url())
        .build();
    (server, Client::from_conf(config))
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn event(timestamp: i64, message: &str) -> InputLogEvent {
    InputLogEvent::builder()
        .timestamp(timestamp)
        .message(message)
        .build()
        .expect("timestamp and message are set")
}

fn code<E: ProvideErrorMetadata>(err: &E) -> String {
    err.code().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn events_put_in_a_stream_read_back_in_order_page_by_page() {
    let (server, logs) = start().await;
    logs.create_log_group()
        .log_group_name("/ecs/web")
        .tags("team", "blue")
        .send()
        .await
        .expect("create group");
    logs.put_retention_policy()
        .log_group_name("/ecs/web")
        .retention_in_days(7)
        .send()
        .await
        .expect("retention");
    logs.create_log_stream()
        .log_group_name("/ecs/web")
        .log_stream_name("app/1")
        .send()
        .await
        .expect("create stream");
    let t0 = now_millis() - 60_000;
    let batch: Vec<InputLogEvent> = (0..25)
        .map(|i| event(t0 + i, &format!("line {i:02}")))
        .collect();
    logs.put_log_events()
        .log_group_name("/ecs/web")
        .log_stream_name("app/1")
        .set_log_events(Some(batch))
        .send()
        .await
        .expect("put events");

    // GetLogEvents pages forward until the token it returns is the one it was given.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = logs
            .get_log_events()
            .log_group_name("/ecs/web")
            .log_stream_name("app/1")
            .start_from_head(true)
            .limit(10)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("get events");
        seen.extend(
            page.events()
                .iter()
                .filter_map(|e| e.message().map(str::to_owned)),
        );
        let next = page.next_forward_token().map(str::to_owned);
        if next == token {
            break;
        }
        token = next;
    }
    let expected: Vec<String> = (0..25).map(|i| format!("line {i:02}")).collect();
    assert_eq!(seen, expected);

    let group = logs
        .describe_log_groups()
        .log_group_name_prefix("/ecs/")
        .send()
        .await
        .expect("describe groups");
    let group = &group.log_groups()[0];
    assert_eq!(group.log_group_name(), Some("/ecs/web"));
    assert_eq!(group.retention_in_days(), Some(7));
    let arn = group.log_group_arn().expect("group ARN");
    let tags = logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("tags");
    assert_eq!(
        tags.tags().and_then(|t| t.get("team")).map(String::as_str),
        Some("blue")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn filter_log_events_finds_a_term_across_streams_in_time_order() {
    let (server, logs) = start().await;
    logs.create_log_group()
        .log_group_name("svc")
        .send()
        .await
        .expect("create group");
    let t0 = now_millis() - 60_000;
    for (stream, lines) in [
        ("a", [(0, "ERROR disk full"), (2, "all good")]),
        (
            "b",
            [(1, "ERROR timeout"), (3, "an ERRORS count is not the term")],
        ),
    ] {
        logs.create_log_stream()
            .log_group_name("svc")
            .log_stream_name(stream)
            .send()
            .await
            .expect("create stream");
        logs.put_log_events()
            .log_group_name("svc")
            .log_stream_name(stream)
            .set_log_events(Some(
                lines.iter().map(|(dt, m)| event(t0 + dt, m)).collect(),
            ))
            .send()
            .await
            .expect("put events");
    }
    let found = logs
        .filter_log_events()
        .log_group_name("svc")
        .filter_pattern("ERROR")
        .send()
        .await
        .expect("filter");
    let hits: Vec<(&str, &str)> = found
        .events()
        .iter()
        .map(|e| {
            (
                e.log_stream_name().unwrap_or_default(),
                e.message().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(hits, [("a", "ERROR disk full"), ("b", "ERROR timeout")]);
    server.shutdown().await;
}

#[tokio::test]
async fn mistakes_get_cloudwatch_logs_errors() {
    let (server, logs) = start().await;
    logs.create_log_group()
        .log_group_name("g")
        .send()
        .await
        .expect("create group");
    let again = logs
        .create_log_group()
        .log_group_name("g")
        .send()
        .await
        .expect_err("the group exists");
    assert_eq!(code(&again), "ResourceAlreadyExistsException");
    let missing = logs
        .get_log_events()
        .log_group_name("g")
        .log_stream_name("nope")
        .send()
        .await
        .expect_err("no such stream");
    assert_eq!(code(&missing), "ResourceNotFoundException");
    let too_many = logs
        .describe_log_groups()
        .limit(51)
        .send()
        .await
        .expect_err("limit over 50");
    assert_eq!(code(&too_many), "InvalidParameterException");
    let bad_days = logs
        .put_retention_policy()
        .log_group_name("g")
        .retention_in_days(2)
        .send()
        .await
        .expect_err("2 days is not a retention CloudWatch Logs offers");
    assert_eq!(code(&bad_days), "InvalidParameterException");
    server.shutdown().await;
}
