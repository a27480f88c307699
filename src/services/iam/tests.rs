//! IAM's rules, called directly.

use super::*;
use crate::aws::Timestamp;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn role(name: &str) -> NewRole {
    NewRole {
        name: name.into(),
        path: None,
        trust_policy: TRUST.into(),
        description: None,
        max_session: None,
        boundary: None,
        tags: Vec::new(),
    }
}

fn code<T>(r: Result<T, ApiError>) -> String {
    r.err().map(|e| e.code.into_owned()).unwrap_or_default()
}

#[test]
fn the_aws_managed_catalogue_is_readable_and_has_what_ecs_stacks_attach() {
    let all = managed::catalogue();
    assert!(all.len() > 1000, "{} policies", all.len());
    for arn in [
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
        "arn:aws:iam::aws:policy/aws-service-role/AmazonECSServiceRolePolicy",
        "arn:aws:iam::aws:policy/AdministratorAccess",
    ] {
        let p = all.get(arn).expect(arn);
        assert!(serde_json::from_str::<serde_json::Value>(&p.document).is_ok());
    }
}

#[test]
fn limits_that_sdks_check_before_sending_are_checked_here_too() {
    let mut s = State::new("000000000000");
    let now = Timestamp::now();
    let long = NewRole {
        max_session: Some(60),
        ..role("r")
    };
    assert_eq!(code(s.create_role(long, now)), "ValidationError");
    assert_eq!(
        code(s.create_role(role(&"r".repeat(65)), now)),
        "ValidationError"
    );
    assert_eq!(
        code(s.create_role(role("with space"), now)),
        "ValidationError"
    );
    let untrusting = NewRole {
        trust_policy: r#"{"Version":"2012-10-17"}"#.into(),
        ..role("r")
    };
    assert_eq!(
        code(s.create_role(untrusting, now)),
        "MalformedPolicyDocument"
    );
    assert_eq!(code(s.list_roles(None, None, Some(0))), "ValidationError");
    assert_eq!(
        code(s.list_roles(None, None, Some(1001))),
        "ValidationError"
    );
    let too_many_tags = NewRole {
        tags: (0..51)
            .map(|i| wire::Tag {
                key: format!("k{i}"),
                value: String::new(),
            })
            .collect(),
        ..role("r")
    };
    assert_eq!(code(s.create_role(too_many_tags, now)), "LimitExceeded");
    // Nothing of the refused requests was kept.
    assert_eq!(
        s.list_roles(None, None, None).map(|p| p.items.len()).ok(),
        Some(0)
    );
}

#[test]
fn documents_come_back_url_encoded() {
    let mut s = State::new("000000000000");
    let created = s.create_role(role("r"), Timestamp::now()).expect("role");
    let doc = created.assume_role_policy_document.unwrap_or_default();
    assert!(
        doc.starts_with("%7B%22Version%22%3A%222012-10-17%22"),
        "{doc}"
    );
    let decoded = percent_encoding::percent_decode_str(&doc).decode_utf8_lossy();
    assert_eq!(decoded, TRUST);
}

#[test]
fn a_permissions_boundary_must_be_a_managed_policy() {
    let mut s = State::new("000000000000");
    let now = Timestamp::now();
    let bounded = |arn: &str| NewRole {
        boundary: Some(arn.into()),
        ..role("bounded")
    };
    assert_eq!(
        code(s.create_role(bounded("arn:aws:iam::aws:policy/NoSuch"), now)),
        "InvalidInput"
    );
    let made = s
        .create_role(bounded("arn:aws:iam::aws:policy/AdministratorAccess"), now)
        .expect("role");
    assert!(made.permissions_boundary.is_some());
    let admin = s
        .get_policy("arn:aws:iam::aws:policy/AdministratorAccess")
        .expect("policy");
    assert_eq!(admin.permissions_boundary_usage_count, Some(1));
    assert_eq!(
        admin.policy_id,
        s.get_policy("arn:aws:iam::aws:policy/AdministratorAccess")
            .ok()
            .and_then(|p| p.policy_id)
    );
}
