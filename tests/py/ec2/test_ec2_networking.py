"""EC2 networking through boto3 and the AWS CLI: the default VPC with a subnet per zone, VPCs with
their main route table, default network ACL and default security group, subnets, security groups
and their rules, tags and filters, and EC2's errors. Each test works in a region of its own."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def ec2(aws_client, fresh_region):
    return aws_client("ec2", fresh_region)


def error(call, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


def test_a_region_has_a_default_vpc_with_a_subnet_in_each_zone(ec2):
    region = ec2.meta.region_name
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == [f"{region}a", f"{region}b", f"{region}c"]
    assert all(z["State"] == "available" and z["ZoneId"].endswith(f"-az{i + 1}")
               for i, z in enumerate(zones))
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    assert vpc["CidrBlock"] == "172.31.0.0/16" and vpc["IsDefault"] is True
    subnets = ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert sorted((s["AvailabilityZone"], s["CidrBlock"]) for s in subnets) == [
        (f"{region}a", "172.31.0.0/20"), (f"{region}b", "172.31.16.0/20"),
        (f"{region}c", "172.31.32.0/20")]
    assert all(s["DefaultForAz"] and s["MapPublicIpOnLaunch"] for s in subnets)
    attrs = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    assert attrs[0]["AttributeValues"][0]["AttributeValue"] == vpc["VpcId"]


def test_a_vpc_comes_with_its_route_table_acl_and_default_group(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "app"}]}])["Vpc"]
    vpc_id = vpc["VpcId"]
    assert vpc["State"] == "available" and vpc["Tags"] == [{"Key": "Name", "Value": "app"}]
    by_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    (main,) = ec2.describe_route_tables(
        Filters=by_vpc + [{"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    assert main["Routes"][0]["DestinationCidrBlock"] == "10.1.0.0/16"
    assert main["Routes"][0]["GatewayId"] == "local"
    (acl,) = ec2.describe_network_acls(
        Filters=by_vpc + [{"Name": "default", "Values": ["true"]}])["NetworkAcls"]
    assert {e["RuleNumber"] for e in acl["Entries"]} == {100, 32767}
    (default,) = ec2.describe_security_groups(
        Filters=by_vpc + [{"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    assert default["IpPermissionsEgress"][0]["IpProtocol"] == "-1"
    assert default["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == default["GroupId"]

    attr = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")
    assert attr["EnableDnsHostnames"]["Value"] is False
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    attr = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")
    assert attr["EnableDnsHostnames"]["Value"] is True

    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.1.1.0/24",
                               AvailabilityZone=f"{ec2.meta.region_name}b")["Subnet"]
    assert subnet["AvailableIpAddressCount"] == 251 and subnet["MapPublicIpOnLaunch"] is False
    ec2.modify_subnet_attribute(SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    (got,) = ec2.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"]
    assert got["MapPublicIpOnLaunch"] is True

    code, status, message = error(ec2.delete_vpc, VpcId=vpc_id)
    assert (code, status) == ("DependencyViolation", 400)
    assert message == f"The vpc '{vpc_id}' has dependencies and cannot be deleted."
    ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    ec2.delete_vpc(VpcId=vpc_id)
    assert error(ec2.describe_vpcs, VpcIds=[vpc_id])[:2] == ("InvalidVpcID.NotFound", 400)


def test_subnets_must_fit_their_vpc_and_not_overlap(ec2):
    vpc_id = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.2.0.0/24")
    code, _, message = error(ec2.create_subnet, VpcId=vpc_id, CidrBlock="10.2.0.128/25")
    assert code == "InvalidSubnet.Conflict"
    assert message == "The CIDR '10.2.0.128/25' conflicts with another subnet"
    assert error(ec2.create_subnet, VpcId=vpc_id, CidrBlock="10.3.0.0/24")[0] == \
        "InvalidSubnet.Range"
    assert error(ec2.create_subnet, VpcId=vpc_id, CidrBlock="10.2.9.0/24",
                 AvailabilityZone="mars-1a")[0] == "InvalidParameterValue"
    assert error(ec2.create_subnet, VpcId="vpc-0000000000000000f",
                 CidrBlock="10.2.9.0/24")[0] == "InvalidVpcID.NotFound"
    assert error(ec2.create_vpc, CidrBlock="10.0.0.0/8")[0] == "InvalidVpc.Range"
    assert error(ec2.create_vpc, CidrBlock="not-a-cidr")[0] == "InvalidParameterValue"
    # Nothing refused was kept.
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert [s["CidrBlock"] for s in subnets] == ["10.2.0.0/24"]


def test_security_group_rules_are_authorized_revoked_and_described(ec2):
    vpc_id = ec2.create_vpc(CidrBlock="10.4.0.0/16")["Vpc"]["VpcId"]
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc_id)["GroupId"]
    lb = ec2.create_security_group(GroupName="lb", Description="lb", VpcId=vpc_id)["GroupId"]
    assert error(ec2.create_security_group, GroupName="web", Description="x",
                 VpcId=vpc_id)[0] == "InvalidGroup.Duplicate"

    added = ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "IpRanges": [{"CidrIp": "10.4.0.0/16", "Description": "vpc"}],
         "UserIdGroupPairs": [{"GroupId": lb}]}])["SecurityGroupRules"]
    assert len(added) == 2 and all(r["SecurityGroupRuleId"].startswith("sgr-") for r in added)
    code, _, _ = error(ec2.authorize_security_group_ingress, GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "IpRanges": [{"CidrIp": "10.4.0.0/16"}]}])
    assert code == "InvalidPermission.Duplicate"

    (group,) = ec2.describe_security_groups(GroupIds=[web])["SecurityGroups"]
    (perm,) = group["IpPermissions"]
    assert (perm["IpProtocol"], perm["FromPort"], perm["ToPort"]) == ("tcp", 80, 80)
    assert perm["IpRanges"] == [{"CidrIp": "10.4.0.0/16", "Description": "vpc"}]
    assert perm["UserIdGroupPairs"][0]["GroupId"] == lb
    assert group["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]

    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [web]}])["SecurityGroupRules"]
    assert sorted(r["IsEgress"] for r in rules) == [False, False, True]

    # Terraform's first move on a new group: drop the default egress rule.
    ec2.revoke_security_group_egress(GroupId=web, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert ec2.describe_security_groups(GroupIds=[web])["SecurityGroups"][0][
        "IpPermissionsEgress"] == []
    assert error(ec2.revoke_security_group_egress, GroupId=web, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])[0] == \
        "InvalidPermission.NotFound"

    code, _, message = error(ec2.delete_security_group, GroupId=lb)
    assert (code, message) == ("DependencyViolation", f"resource {lb} has a dependent object")
    default = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]},
        {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
    assert error(ec2.delete_security_group, GroupId=default)[0] == "CannotDelete"
    ec2.delete_security_group(GroupId=web)
    ec2.delete_security_group(GroupId=lb)
    assert error(ec2.describe_security_groups, GroupIds=[web])[0] == "InvalidGroup.NotFound"


def test_tags_filters_paging_and_dry_run(ec2):
    ids = [ec2.create_vpc(CidrBlock=f"10.{10 + i}.0.0/16")["Vpc"]["VpcId"] for i in range(6)]
    ec2.create_tags(Resources=ids[:3], Tags=[{"Key": "env", "Value": "test"}])
    tagged = ec2.describe_vpcs(Filters=[{"Name": "tag:env", "Values": ["te*"]}])["Vpcs"]
    assert sorted(v["VpcId"] for v in tagged) == sorted(ids[:3])
    described = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["env"]}])["Tags"]
    assert sorted(t["ResourceId"] for t in described) == sorted(ids[:3])
    assert {t["ResourceType"] for t in described} == {"vpc"}
    ec2.delete_tags(Resources=[ids[0]], Tags=[{"Key": "env"}])
    assert len(ec2.describe_tags(Filters=[{"Name": "key", "Values": ["env"]}])["Tags"]) == 2

    pages = ec2.get_paginator("describe_vpcs").paginate(PaginationConfig={"PageSize": 5})
    seen = [v["VpcId"] for p in pages for v in p["Vpcs"]]
    assert len(seen) == len(set(seen)) == 7  # six and the default VPC

    code, status, _ = error(ec2.describe_vpcs, Filters=[{"Name": "colour", "Values": ["x"]}])
    assert (code, status) == ("InvalidParameterValue", 400)
    code, status, _ = error(ec2.create_vpc, CidrBlock="10.99.0.0/16", DryRun=True)
    assert (code, status) == ("DryRunOperation", 412)
    assert error(ec2.create_tags, Resources=["vpc-0000000000000000f"],
                 Tags=[{"Key": "a", "Value": "b"}])[0] == "InvalidVpcID.NotFound"


def test_the_aws_cli_reads_the_default_vpc(endpoint, fresh_region):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION=fresh_region)
    done = subprocess.run(["aws", "--endpoint-url", endpoint, "ec2", "describe-vpcs",
                           "--filters", "Name=is-default,Values=true", "--output", "json"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    (vpc,) = json.loads(done.stdout)["Vpcs"]
    assert vpc["CidrBlock"] == "172.31.0.0/16"


def test_awsvpc_tasks_network_interfaces_are_listed(ec2, aws_client):
    region = ec2.meta.region_name
    subnet = ec2.describe_subnets(Filters=[
        {"Name": "default-for-az", "Values": ["true"]},
        {"Name": "availability-zone", "Values": [f"{region}b"]}])["Subnets"][0]
    ecs = aws_client("ecs", region)
    ecs.create_cluster(clusterName="net")
    ecs.register_task_definition(
        family="net", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "app", "image": "busybox", "essential": True}])
    task = ecs.run_task(cluster="net", taskDefinition="net", launchType="FARGATE",
                        networkConfiguration={"awsvpcConfiguration": {
                            "subnets": [subnet["SubnetId"]]}})["tasks"][0]
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    eni_id = details["networkInterfaceId"]

    deadline = time.monotonic() + 10
    while "privateIPv4Address" not in details:
        assert time.monotonic() < deadline, "the task got no address"
        time.sleep(0.2)
        described = ecs.describe_tasks(cluster="net", tasks=[task["taskArn"]])["tasks"][0]
        details = {d["name"]: d["value"] for d in described["attachments"][0]["details"]}
    (eni,) = ec2.describe_network_interfaces(
        Filters=[{"Name": "subnet-id", "Values": [subnet["SubnetId"]]}])["NetworkInterfaces"]
    assert eni["NetworkInterfaceId"] == eni_id
    assert eni["PrivateIpAddress"] == details["privateIPv4Address"]
    assert eni["VpcId"] == subnet["VpcId"] and eni["AvailabilityZone"] == f"{region}b"
    assert eni["MacAddress"] == details["macAddress"]
    assert eni["Description"].startswith(f"arn:aws:ecs:{region}:000000000000:attachment/")
    assert eni["RequesterManaged"] is True
    assert ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"]

    ecs.stop_task(cluster="net", task=task["taskArn"])
    deadline = time.monotonic() + 10
    while ec2.describe_network_interfaces(
            Filters=[{"Name": "subnet-id", "Values": [subnet["SubnetId"]]}])["NetworkInterfaces"]:
        assert time.monotonic() < deadline, "the stopped task's ENI is still listed"
        time.sleep(0.2)
    code, _, _ = error(ec2.describe_network_interfaces, NetworkInterfaceIds=[eni_id])
    assert code == "InvalidNetworkInterfaceID.NotFound"
