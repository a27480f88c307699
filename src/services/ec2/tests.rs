//! EC2's rules, called directly.

use super::*;
use crate::executor::Host;
use std::sync::Arc;

fn state(region: &str) -> State {
    let hosts: Arc<Vec<Host>> = Arc::new(Vec::new());
    State::new(&RegionInfo {
        name: region,
        account_id: "000000000000",
        hosts: &hosts,
    })
}

#[test]
fn zone_ids_abbreviate_the_region_as_aws_does() {
    assert_eq!(zone_id_prefix("us-east-1"), "use1");
    assert_eq!(zone_id_prefix("ap-southeast-2"), "apse2");
    assert_eq!(zone_id_prefix("eu-central-1"), "euc1");
    assert_eq!(zone_id_prefix("local"), "local");
}

#[test]
fn a_failed_create_keeps_nothing() {
    let mut s = state("eu-west-1");
    let before = s.vpcs.len();
    let bad_tags = Some(vec![wire::TagSpecification {
        resource_type: Some(wire::ResourceType::from("subnet")),
        tags: None,
    }]);
    let err = s.create_vpc(Some("10.0.0.0/16"), None, bad_tags);
    assert_eq!(
        err.err().map(|e| e.code.into_owned()).as_deref(),
        Some("InvalidParameterValue")
    );
    assert_eq!(s.vpcs.len(), before);
    // The default VPC's group is its own: deleting the VPC takes it along.
    let default = s.default_vpc().map(|v| v.id.clone()).unwrap_or_default();
    let group_count = s.groups.len();
    for id in s.subnets.keys().cloned().collect::<Vec<_>>() {
        s.delete_subnet(&id).expect("subnet");
    }
    s.delete_vpc(&default).expect("vpc");
    assert_eq!(s.groups.len(), group_count - 1);
    assert!(
        s.account_attributes(&["default-vpc".into()])[0]
            .attribute_values
            .iter()
            .flatten()
            .any(|v| v.attribute_value.as_deref() == Some("none"))
    );
}

#[test]
fn a_task_subnet_gives_its_vpc_and_zone() {
    let s = state("us-west-2");
    let (id, subnet) = s.subnets.iter().next().expect("a default subnet");
    let (vpc, zone) = s.subnet_zone(id).expect("known");
    assert_eq!(Some(vpc), subnet.vpc_id.clone());
    assert!(zone.starts_with("us-west-2"));
    assert!(s.subnet_zone("subnet-nope").is_none());
}
