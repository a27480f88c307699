//! EC2 networking as Terraform's `aws_vpc`, `aws_subnet` and `aws_security_group` use it: VPCs
//! (with their main route table, default network ACL and default security group), subnets in
//! the region's availability zones, security groups with ingress and egress rules, tags, and the
//! region's default VPC with a default subnet per zone. berth routes no packets by these: they
//! are the records ECS's awsvpc tasks and load balancers name.

pub mod api;
mod filters;
mod security_groups;
#[cfg(test)]
mod tests;
mod vpcs;

use crate::aws::ApiError;
use crate::store::{Part, Region, RegionInfo};
use crate::wire::ec2 as wire;
use std::collections::{BTreeMap, HashMap};

pub use filters::Filters;

/// An EC2 error: its model lists none, so codes are written out (all 400, the client's fault).
macro_rules! ec2_err {
    ($code:literal, $($fmt:tt)+) => {
        $crate::aws::ApiError::common($code, 400, format!($($fmt)+))
    };
}
pub(crate) use ec2_err;

/// The availability zones of every region: `<region>a`, `b` and `c`.
const ZONES: [char; 3] = ['a', 'b', 'c'];

pub struct State {
    region: String,
    account_id: String,
    vpcs: BTreeMap<String, vpcs::Vpc>,
    subnets: BTreeMap<String, wire::Subnet>,
    groups: BTreeMap<String, security_groups::Group>,
    /// Tags of every resource, by resource id.
    tags: HashMap<String, Vec<wire::Tag>>,
}

impl Part for State {
    /// The reconcile loop reads no EC2 state.
    const WAKES_SCHEDULER: bool = false;

    fn new(info: &RegionInfo) -> Self {
        let mut state = State {
            region: info.name.to_owned(),
            account_id: info.account_id.to_owned(),
            vpcs: BTreeMap::new(),
            subnets: BTreeMap::new(),
            groups: BTreeMap::new(),
            tags: HashMap::new(),
        };
        state.create_default_vpc();
        state
    }

    fn of(region: &Region) -> &Self {
        &region.ec2
    }

    fn of_mut(region: &mut Region) -> &mut Self {
        &mut region.ec2
    }
}

impl State {
    /// The region's zones: (name, id), e.g. (`us-east-1a`, `use1-az1`).
    fn zones(&self) -> Vec<(String, String)> {
        let short = zone_id_prefix(&self.region);
        ZONES
            .iter()
            .enumerate()
            .map(|(i, z)| {
                (
                    format!("{}{z}", self.region),
                    format!("{short}-az{}", i + 1),
                )
            })
            .collect()
    }

    fn arn(&self, resource: &str) -> String {
        format!("arn:aws:ec2:{}:{}:{resource}", self.region, self.account_id)
    }

    fn tags_of(&self, id: &str) -> Option<Vec<wire::Tag>> {
        self.tags.get(id).filter(|t| !t.is_empty()).cloned()
    }

    fn add_tags(&mut self, id: &str, tags: impl IntoIterator<Item = wire::Tag>) {
        let existing = self.tags.entry(id.to_owned()).or_default();
        for t in tags {
            match existing.iter_mut().find(|e| e.key == t.key) {
                Some(e) => e.value = t.value,
                None => existing.push(t),
            }
        }
    }

    /// The tags of a create call's tag specifications for `kind`.
    fn tag_specified(
        &mut self,
        id: &str,
        kind: &str,
        specs: Option<Vec<wire::TagSpecification>>,
    ) -> Result<(), ApiError> {
        for spec in specs.unwrap_or_default() {
            let given = spec.resource_type.as_ref().map(|t| t.as_str().to_owned());
            if given.as_deref().is_some_and(|g| g != kind) {
                return Err(ec2_err!(
                    "InvalidParameterValue",
                    "'{}' is not a valid taggable resource type for this operation.",
                    given.unwrap_or_default()
                ));
            }
            self.add_tags(id, spec.tags.unwrap_or_default());
        }
        Ok(())
    }

    /// The resource type tags describe an id by, from its prefix.
    fn resource_type(&self, id: &str) -> Option<&'static str> {
        let exists = |kind| match kind {
            "vpc" => self.vpcs.contains_key(id),
            "subnet" => self.subnets.contains_key(id),
            "security-group" => self.groups.contains_key(id),
            "route-table" => self.vpcs.values().any(|v| v.route_table_id == id),
            "network-acl" => self.vpcs.values().any(|v| v.network_acl_id == id),
            _ => false,
        };
        [
            "vpc",
            "subnet",
            "security-group",
            "route-table",
            "network-acl",
        ]
        .into_iter()
        .find(|k| exists(k))
    }

    pub fn create_tags(&mut self, ids: &[String], tags: Vec<wire::Tag>) -> Result<(), ApiError> {
        for id in ids {
            if self.resource_type(id).is_none() {
                return Err(not_found_id(id));
            }
        }
        if tags
            .iter()
            .any(|t| crate::aws::tags::is_reserved(t.key.as_deref().unwrap_or_default()))
        {
            return Err(ec2_err!(
                "InvalidParameterValue",
                "Tag keys starting with 'aws:' are reserved for internal use"
            ));
        }
        for id in ids {
            self.add_tags(id, tags.clone());
        }
        Ok(())
    }

    pub fn delete_tags(&mut self, ids: &[String], tags: &[wire::Tag]) -> Result<(), ApiError> {
        for id in ids {
            if self.resource_type(id).is_none() {
                return Err(not_found_id(id));
            }
        }
        for id in ids {
            if let Some(existing) = self.tags.get_mut(id) {
                if tags.is_empty() {
                    existing.clear();
                }
                // A tag named with a value goes only if the value matches; without, whatever
                // its value.
                existing.retain(|e| {
                    !tags
                        .iter()
                        .any(|t| t.key == e.key && (t.value.is_none() || t.value == e.value))
                });
            }
        }
        Ok(())
    }

    pub fn describe_tags(&self, filters: &Filters) -> Result<Vec<wire::TagDescription>, ApiError> {
        let mut out = Vec::new();
        let mut ids: Vec<&String> = self.tags.keys().collect();
        ids.sort();
        for id in ids {
            let Some(kind) = self.resource_type(id) else {
                continue;
            };
            for t in self.tags.get(id).into_iter().flatten() {
                let keep = filters.matches(|name| match name {
                    "resource-id" => Some(vec![id.clone()]),
                    "resource-type" => Some(vec![kind.to_owned()]),
                    "key" => Some(t.key.iter().cloned().collect()),
                    "value" => Some(t.value.iter().cloned().collect()),
                    _ => None,
                })?;
                if keep {
                    out.push(wire::TagDescription {
                        key: t.key.clone(),
                        value: t.value.clone(),
                        resource_id: Some(id.clone()),
                        resource_type: Some(wire::ResourceType::from(kind)),
                    });
                }
            }
        }
        Ok(out)
    }

    /// What DescribeAvailabilityZones answers.
    pub fn availability_zones(
        &self,
        names: &[String],
        ids: &[String],
        filters: &Filters,
    ) -> Result<Vec<wire::AvailabilityZone>, ApiError> {
        let zones = self.zones();
        for n in names {
            if !zones.iter().any(|(name, _)| name == n) {
                return Err(ec2_err!(
                    "InvalidParameterValue",
                    "Invalid availability zone: [{n}]"
                ));
            }
        }
        let mut out = Vec::new();
        for (name, id) in zones {
            if (!names.is_empty() && !names.contains(&name))
                || (!ids.is_empty() && !ids.contains(&id))
            {
                continue;
            }
            let keep = filters.matches(|f| match f {
                "zone-name" => Some(vec![name.clone()]),
                "zone-id" => Some(vec![id.clone()]),
                "state" => Some(vec!["available".to_owned()]),
                "region-name" | "group-name" => Some(vec![self.region.clone()]),
                "zone-type" => Some(vec!["availability-zone".to_owned()]),
                "opt-in-status" => Some(vec!["opt-in-not-required".to_owned()]),
                _ => None,
            })?;
            if keep {
                out.push(wire::AvailabilityZone {
                    zone_name: Some(name),
                    zone_id: Some(id),
                    zone_type: Some("availability-zone".to_owned()),
                    state: Some(wire::AvailabilityZoneState::Available),
                    opt_in_status: Some(wire::AvailabilityZoneOptInStatus::OptInNotRequired),
                    region_name: Some(self.region.clone()),
                    group_name: Some(self.region.clone()),
                    network_border_group: Some(self.region.clone()),
                    messages: Some(Vec::new()),
                    ..Default::default()
                });
            }
        }
        Ok(out)
    }

    /// What DescribeAccountAttributes answers.
    pub fn account_attributes(&self, names: &[String]) -> Vec<wire::AccountAttribute> {
        let default_vpc = self
            .vpcs
            .values()
            .find(|v| v.is_default)
            .map_or("none".to_owned(), |v| v.id.clone());
        let all = [
            ("supported-platforms", "VPC".to_owned()),
            ("default-vpc", default_vpc),
            ("max-instances", "20".to_owned()),
            ("vpc-max-security-groups-per-interface", "5".to_owned()),
            ("max-elastic-ips", "5".to_owned()),
            ("vpc-max-elastic-ips", "5".to_owned()),
        ];
        all.into_iter()
            .filter(|(n, _)| names.is_empty() || names.iter().any(|g| g == n))
            .map(|(n, v)| wire::AccountAttribute {
                attribute_name: Some(n.to_owned()),
                attribute_values: Some(vec![wire::AccountAttributeValue {
                    attribute_value: Some(v),
                }]),
            })
            .collect()
    }
}

/// EC2's resource ids: a prefix and 17 hexadecimal digits.
fn new_id(prefix: &str) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &hex[..17])
}

/// `us-east-1` → `use1`, `ap-southeast-2` → `apse2`: the prefix of AWS's zone ids.
fn zone_id_prefix(region: &str) -> String {
    let mut parts = region.split('-');
    let (Some(area), Some(direction), Some(number)) = (parts.next(), parts.next(), parts.next())
    else {
        return region.replace('-', "");
    };
    let direction: String = ["north", "south", "east", "west", "central"]
        .iter()
        .fold(direction.to_owned(), |d, word| d.replace(word, &word[..1]));
    format!("{area}{direction}{number}")
}

fn not_found_id(id: &str) -> ApiError {
    match id.split_once('-').map(|(p, _)| p) {
        Some("vpc") => vpcs::vpc_not_found(id),
        Some("subnet") => vpcs::subnet_not_found(id),
        Some("sg") => security_groups::group_not_found(id),
        _ => ec2_err!("InvalidID", "The ID '{id}' is not valid"),
    }
}
