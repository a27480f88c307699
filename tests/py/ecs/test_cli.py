"""The unmodified AWS CLI against berth: what a user types in a terminal or a CI script."""

import json
import time

from berth_helpers import cluster_arn, task_definition_arn, unique

# The AWS CLI exits 254 when the service answered with an error (255 for other failures; older
# v1 releases used 255 for both).
SERVICE_ERROR_CODES = (254, 255)


def test_create_describe_delete_cluster(aws_cli):
    name = unique("cli")
    rc, out = aws_cli("create-cluster", "--cluster-name", name)
    assert rc == 0, out
    assert out["cluster"]["clusterName"] == name
    assert out["cluster"]["clusterArn"] == cluster_arn(name)
    assert out["cluster"]["status"] == "ACTIVE"

    rc, out = aws_cli("describe-clusters", "--clusters", name, "--include", "TAGS")
    assert rc == 0, out
    assert [c["clusterArn"] for c in out["clusters"]] == [cluster_arn(name)]
    assert out["failures"] == []

    rc, out = aws_cli("delete-cluster", "--cluster", name)
    assert rc == 0, out
    assert out["cluster"]["status"] == "INACTIVE"


def test_describe_unknown_cluster_reports_missing(aws_cli):
    name = unique("nope")
    rc, out = aws_cli("describe-clusters", "--clusters", name)
    assert rc == 0, out
    assert out["clusters"] == []
    assert out["failures"] == [{"arn": cluster_arn(name), "reason": "MISSING"}]


def test_register_task_definition_from_cli_input_json(aws_cli, tmp_path):
    family = unique("clifam")
    spec = {
        "family": family,
        "networkMode": "bridge",
        "containerDefinitions": [{
            "name": "web",
            "image": "public.ecr.aws/nginx/nginx:latest",
            "memory": 128,
            "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}],
        }],
        "tags": [{"key": "via", "value": "cli"}],
    }
    path = tmp_path / "td.json"
    path.write_text(json.dumps(spec))
    rc, out = aws_cli("register-task-definition", "--cli-input-json", f"file://{path}")
    assert rc == 0, out
    td = out["taskDefinition"]
    assert td["taskDefinitionArn"] == task_definition_arn(family, 1)
    assert td["revision"] == 1
    assert td["status"] == "ACTIVE"
    assert td["containerDefinitions"][0]["name"] == "web"

    # the same JSON given inline registers revision 2
    rc, out = aws_cli("register-task-definition", "--cli-input-json", json.dumps(spec))
    assert rc == 0, out
    assert out["taskDefinition"]["revision"] == 2

    rc, out = aws_cli("list-task-definitions", "--family-prefix", family)
    assert rc == 0, out
    assert out["taskDefinitionArns"] == [task_definition_arn(family, 1),
                                         task_definition_arn(family, 2)]

    rc, out = aws_cli("describe-task-definition", "--task-definition", f"{family}:1",
                      "--include", "TAGS")
    assert rc == 0, out
    assert out["taskDefinition"]["revision"] == 1
    assert out["tags"] == [{"key": "via", "value": "cli"}]


def test_list_task_definitions_auto_paginates(aws_cli, ecs):
    family = unique("clipage")
    for _ in range(5):
        ecs.register_task_definition(family=family,
                                     containerDefinitions=[{"name": "a", "image": "x", "memory": 64}])
    # --page-size makes the CLI fetch 2 at a time and follow nextToken itself
    rc, out = aws_cli("list-task-definitions", "--family-prefix", family, "--page-size", "2")
    assert rc == 0, out
    assert out["taskDefinitionArns"] == [task_definition_arn(family, r) for r in range(1, 6)]


def test_error_path_exit_code_and_code_in_stderr(aws_cli):
    rc, err = aws_cli("delete-cluster", "--cluster", unique("nope"))
    assert rc in SERVICE_ERROR_CODES, (rc, err)
    assert "ClusterNotFoundException" in err

    rc, err = aws_cli("describe-task-definition", "--task-definition", unique("nope"))
    assert rc in SERVICE_ERROR_CODES, (rc, err)
    assert "ClientException" in err

    rc, err = aws_cli("register-task-definition", "--family", "bad family!",
                      "--container-definitions", json.dumps([{"name": "a", "image": "x",
                                                               "memory": 64}]))
    assert rc in SERVICE_ERROR_CODES, (rc, err)
    assert "ClientException" in err


def test_a_paused_blue_green_deployment_is_continued_from_the_cli(aws_cli, ecs):
    """What a release pipeline types: deploy with a PAUSE hook, find the hook, continue."""
    cluster = unique("cli-bg")
    ecs.create_cluster(clusterName=cluster)
    td = ecs.register_task_definition(family=cluster, containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 64}])["taskDefinition"]["taskDefinitionArn"]
    config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "lifecycleHooks": [
        {"targetType": "PAUSE", "lifecycleStages": ["PRE_SCALE_UP"],
         "timeoutConfiguration": {"timeoutInMinutes": 30, "action": "ROLLBACK"}}]}
    rc, out = aws_cli("create-service", "--cluster", cluster, "--service-name", "web",
                      "--task-definition", td, "--desired-count", "1",
                      "--deployment-configuration", json.dumps(config))
    assert rc == 0, out
    assert out["service"]["deploymentConfiguration"]["lifecycleHooks"][0]["targetType"] == "PAUSE"

    rc, listed = aws_cli("list-service-deployments", "--cluster", cluster, "--service", "web")
    arn = listed["serviceDeployments"][0]["serviceDeploymentArn"]

    def deployment_when(cond) -> dict:
        deadline = time.monotonic() + 20
        while True:
            rc, out = aws_cli("describe-service-deployments", "--service-deployment-arns", arn)
            if cond(out["serviceDeployments"][0]):
                return out["serviceDeployments"][0]
            assert time.monotonic() < deadline, out
            time.sleep(0.2)

    d = deployment_when(lambda d: any(h["status"] == "AWAITING_ACTION"
                                      for h in d.get("lifecycleHookDetails", [])))
    hooks = d["lifecycleHookDetails"]
    assert hooks[0]["targetType"] == "PAUSE" and hooks[0]["timeoutAction"] == "ROLLBACK", hooks
    assert d["lifecycleStage"] == "PRE_SCALE_UP" and d["status"] == "IN_PROGRESS", d
    assert ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"] == []

    rc, err = aws_cli("continue-service-deployment", "--service-deployment-arn", arn,
                      "--hook-id", "ecs-pause-unknown")
    assert rc != 0 and "InvalidParameterException" in err, err
    rc, out = aws_cli("continue-service-deployment", "--service-deployment-arn", arn,
                      "--hook-id", hooks[0]["hookId"], "--action", "CONTINUE")
    assert rc == 0 and out == {"serviceDeploymentArn": arn}, out
    d = deployment_when(lambda d: d["status"] == "SUCCESSFUL")
    assert d["lifecycleHookDetails"][0]["status"] == "SUCCEEDED", d
    assert len(ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"]) == 1
