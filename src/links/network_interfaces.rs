//! ECS → EC2: the network interfaces of awsvpc tasks, as DescribeNetworkInterfaces lists them
//! (ECS's attachment holds the ENI's id, subnet, MAC and private address; EC2 knows the subnet's
//! VPC and zone). An ENI lives while its task does not read STOPPED.

use crate::aws::ApiError;
use crate::services::ec2::Filters;
use crate::store::Region;
use crate::wire::ec2 as wire;

/// The ENIs of the region's awsvpc tasks that `ids` (all when empty) and `filters` select.
pub fn describe(
    region: &Region,
    ids: &[String],
    filters: &Filters,
) -> Result<Vec<wire::NetworkInterface>, ApiError> {
    let mut out = Vec::new();
    for task in region.ecs.tasks.values() {
        if task.data.last_status.as_deref() == Some("STOPPED") {
            continue;
        }
        for a in task.data.attachments.iter().flatten() {
            if a.r#type.as_deref() != Some("ElasticNetworkInterface") {
                continue;
            }
            let detail = |name: &str| {
                a.details
                    .iter()
                    .flatten()
                    .find(|kv| kv.name.as_deref() == Some(name))
                    .and_then(|kv| kv.value.clone())
            };
            let Some(id) = detail("networkInterfaceId") else {
                continue;
            };
            if !ids.is_empty() && !ids.contains(&id) {
                continue;
            }
            let subnet = detail("subnetId").unwrap_or_default();
            let (vpc, zone) = region.ec2.subnet_zone(&subnet).unzip();
            let ip = detail("privateIPv4Address");
            let status = if a.status.as_deref() == Some("ATTACHED") {
                "in-use"
            } else {
                "available"
            };
            let description = format!(
                "arn:aws:ecs:{}:{}:attachment/{}",
                region.ecs.name,
                region.ecs.account_id,
                a.id.as_deref().unwrap_or_default()
            );
            let one = |v: &Option<String>| Some(v.iter().cloned().collect());
            let keep = filters.matches(|f| match f {
                "network-interface-id" => Some(vec![id.clone()]),
                "subnet-id" => Some(vec![subnet.clone()]),
                "vpc-id" => one(&vpc),
                "availability-zone" => one(&zone),
                "private-ip-address" | "addresses.private-ip-address" => one(&ip),
                "status" => Some(vec![status.to_owned()]),
                "description" => Some(vec![description.clone()]),
                "interface-type" => Some(vec!["interface".to_owned()]),
                "requester-managed" => Some(vec!["true".to_owned()]),
                "owner-id" => Some(vec![region.ecs.account_id.clone()]),
                _ => None,
            })?;
            if !keep {
                continue;
            }
            out.push(wire::NetworkInterface {
                network_interface_id: Some(id),
                subnet_id: Some(subnet),
                vpc_id: vpc,
                availability_zone: zone,
                private_ip_address: ip.clone(),
                private_ip_addresses: ip.map(|ip| {
                    vec![wire::NetworkInterfacePrivateIpAddress {
                        primary: Some(true),
                        private_ip_address: Some(ip),
                        ..Default::default()
                    }]
                }),
                mac_address: detail("macAddress"),
                description: Some(description),
                status: Some(wire::NetworkInterfaceStatus::from(status)),
                interface_type: Some(wire::NetworkInterfaceType::from("interface")),
                owner_id: Some(region.ecs.account_id.clone()),
                requester_managed: Some(true),
                source_dest_check: Some(true),
                groups: Some(Vec::new()),
                ..Default::default()
            });
        }
    }
    for id in ids {
        if !out
            .iter()
            .any(|n| n.network_interface_id.as_deref() == Some(id.as_str()))
        {
            return Err(ApiError::common(
                "InvalidNetworkInterfaceID.NotFound",
                400,
                format!("The networkInterface ID '{id}' does not exist"),
            ));
        }
    }
    Ok(out)
}
