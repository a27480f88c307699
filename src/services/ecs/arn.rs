//! ECS resource identifiers: the long ARN format, and "name or ARN" wherever AWS takes both.

/// The resource part of an ECS ARN (`cluster/dev`, `task-definition/web:3`), if `s` is one.
pub fn resource(s: &str) -> Option<&str> {
    crate::aws::arn::parse(s)
        .filter(|arn| arn.service == "ecs")
        .map(|arn| arn.resource)
}

/// A cluster named by name or ARN → its name.
pub fn cluster_name(id: &str) -> &str {
    match resource(id).and_then(|r| r.strip_prefix("cluster/")) {
        Some(name) => name,
        None => id,
    }
}

/// A capacity provider named by name or ARN → its name.
pub fn capacity_provider_name(id: &str) -> &str {
    match resource(id).and_then(|r| r.strip_prefix("capacity-provider/")) {
        Some(name) => name,
        None => id,
    }
}

/// Letters, numbers, hyphens and underscores, 1 to 255 of them: the rule ECS applies to
/// cluster names, task definition families and container names.
pub fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_arns() {
        assert_eq!(
            cluster_name("arn:aws:ecs:us-east-1:000000000000:cluster/dev"),
            "dev"
        );
        assert_eq!(cluster_name("dev"), "dev");
        assert_eq!(resource("arn:aws:iam::0:role/x"), None);
        assert!(is_valid_name("a-b_C9"));
        assert!(!is_valid_name("a b"));
        assert!(!is_valid_name(&"x".repeat(256)));
    }
}
