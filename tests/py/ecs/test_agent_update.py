"""UpdateContainerAgent as AWS answers it: an official agent older than the newest is updated
(PENDING, then UPDATED with the new version); an up-to-date one has no update; an agent whose
version ECS cannot determine (berth's own host instances) gets MissingVersionException."""

from berth_helpers import raises_code, register_container_instance, unique


def test_official_older_agent_is_updated_then_has_nothing_newer(ecs):
    cluster = unique("agent")
    ecs.create_cluster(clusterName=cluster)
    ci = register_container_instance(ecs, cluster)  # agentVersion 1.80.0, hex agentHash

    resp = ecs.update_container_agent(cluster=cluster, containerInstance=ci)
    assert resp["containerInstance"]["agentUpdateStatus"] == "PENDING"
    assert resp["containerInstance"]["containerInstanceArn"] == ci

    (desc,) = ecs.describe_container_instances(cluster=cluster,
                                               containerInstances=[ci])["containerInstances"]
    assert desc["agentUpdateStatus"] == "UPDATED"
    assert desc["versionInfo"]["agentVersion"] == "1.89.0"

    with raises_code("NoUpdateAvailableException"):
        ecs.update_container_agent(cluster=cluster, containerInstance=ci)


def test_agent_of_unknown_version_cannot_be_updated(ecs):
    cluster = unique("agent")
    ecs.create_cluster(clusterName=cluster)
    ecs.run_task(cluster=cluster, taskDefinition=ecs.register_task_definition(
        family=unique("f"), containerDefinitions=[{"name": "a", "image": "x", "memory": 16}]
    )["taskDefinition"]["taskDefinitionArn"], launchType="EC2")
    (ci,) = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
    with raises_code("MissingVersionException"):
        ecs.update_container_agent(cluster=cluster, containerInstance=ci)
