//! ECR's rules, called directly with the time given.

use super::*;
use crate::executor::Host;
use std::sync::Arc;

fn state() -> State {
    let hosts: Arc<Vec<Host>> = Arc::new(Vec::new());
    let mut s = State::new(&RegionInfo {
        name: "us-east-1",
        account_id: "000000000000",
        hosts: &hosts,
    });
    s.create_repository(
        wire::CreateRepositoryRequest {
            repository_name: "app".into(),
            ..Default::default()
        },
        Timestamp::from_secs_f64(0.0),
    )
    .expect("repository");
    s
}

fn day(n: f64) -> Timestamp {
    Timestamp::from_secs_f64(n * 86400.0)
}

#[test]
fn images_older_than_the_policy_allows_expire() {
    let mut s = state();
    for (i, pushed) in [0.0, 5.0, 9.5].iter().enumerate() {
        let manifest = format!(r#"{{"schemaVersion":2,"layers":[{{"size":{i}}}]}}"#);
        s.put_image(
            "app",
            manifest,
            None,
            Some(format!("t{i}")),
            None,
            day(*pushed),
        )
        .expect("image");
    }
    let policy = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":3},"action":{"type":"expire"}}]}"#;
    s.put_lifecycle_policy("app", policy.into(), day(10.0))
        .expect("policy");
    let left = s.list_images("app", None).expect("list");
    let tags: Vec<_> = left.iter().filter_map(|i| i.image_tag.clone()).collect();
    assert_eq!(tags, vec!["t2".to_owned()]);
}

#[test]
fn a_digest_is_the_manifests_sha256() {
    let mut s = state();
    let image = s
        .put_image("app", "{}".into(), None, None, None, day(0.0))
        .expect("image");
    let digest = image.image_id.and_then(|i| i.image_digest);
    assert_eq!(
        digest.as_deref(),
        Some("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    );
}
