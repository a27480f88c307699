//! STS through the official Rust SDK (`aws-sdk-sts`), against `berth::Server` on a free
//! loopback port.

use berth::{Config, Server};

#[tokio::test]
async fn sts_knows_the_configured_account() {
    let server = Server::start(Config {
        account_id: "123456789012".into(),
        ..Config::ephemeral()
    })
    .await
    .expect("start");
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "k", "s", None, None, "t",
        ))
        .endpoint_url(server.endpoint_url())
        .build();
    let who = aws_sdk_sts::Client::from_conf(config)
        .get_caller_identity()
        .send()
        .await
        .expect("get caller identity");
    assert_eq!(who.account(), Some("123456789012"));
    assert_eq!(who.arn(), Some("arn:aws:iam::123456789012:root"));
    server.shutdown().await;
}
