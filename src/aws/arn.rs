//! Amazon Resource Names: `arn:<partition>:<service>:<region>:<account>:<resource>`.

/// The parts of an ARN; `resource` keeps its own separators (`cluster/dev`,
/// `log-group:/ecs/web:*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// `s` as an ARN, if it is one.
pub fn parse(s: &str) -> Option<Arn<'_>> {
    let mut parts = s.strip_prefix("arn:")?.splitn(5, ':');
    Some(Arn {
        partition: parts.next()?,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    })
}

/// The ARN of `resource` of `service` in the `aws` partition.
pub fn format(service: &str, region: &str, account: &str, resource: &str) -> String {
    format!("arn:aws:{service}:{region}:{account}:{resource}")
}

/// The principal every request acts as: berth has one, the account root.
pub fn root_principal(account: &str) -> String {
    format("iam", "", account, "root")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_round_trip() {
        let arn = format("logs", "us-east-1", "000000000000", "log-group:/ecs/web:*");
        let p = parse(&arn).expect("an ARN");
        assert_eq!(
            (p.service, p.region, p.account, p.resource),
            ("logs", "us-east-1", "000000000000", "log-group:/ecs/web:*")
        );
        assert_eq!(parse("cluster/dev"), None);
        assert_eq!(root_principal("1"), "arn:aws:iam::1:root");
    }
}
