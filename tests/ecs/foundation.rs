//! Clusters, task definitions, tags, capacity providers, account settings and regions.

use crate::common::{client, code};
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    ClusterField, ClusterSetting, ClusterSettingName, Compatibility, ContainerDefinition,
    NetworkMode, PortMapping, SettingName, SortOrder, Tag, TaskDefinitionField,
    TaskDefinitionStatus,
};
use berth::{Config, Server};

async fn start() -> Server {
    Server::start(Config::ephemeral())
        .await
        .expect("berth starts on a free port")
}

fn container(name: &str, memory: i32) -> ContainerDefinition {
    ContainerDefinition::builder()
        .name(name)
        .image("busybox")
        .memory(memory)
        .build()
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

#[tokio::test]
async fn a_cluster_is_created_once_updated_and_deleted_then_stays_describable_as_inactive() {
    let server = start().await;
    let ecs = client(&server, "us-east-1");

    let created = ecs
        .create_cluster()
        .cluster_name("dev")
        .tags(tag("team", "core"))
        .send()
        .await
        .expect("create");
    let cluster = created.cluster().expect("cluster");
    assert_eq!(
        cluster.cluster_arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:cluster/dev")
    );
    assert_eq!(cluster.status(), Some("ACTIVE"));
    assert_eq!(cluster.registered_container_instances_count(), 0);
    assert_eq!(cluster.active_services_count(), 0);

    // Creating an ACTIVE name again returns the same cluster (idempotent, as on AWS).
    let again = ecs
        .create_cluster()
        .cluster_name("dev")
        .send()
        .await
        .expect("again");
    assert_eq!(
        again
            .cluster()
            .and_then(|c| c.tags().first())
            .and_then(|t| t.value()),
        Some("core")
    );

    let described = ecs
        .describe_clusters()
        .clusters("dev")
        .clusters("arn:aws:ecs:us-east-1:000000000000:cluster/ghost")
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .include(ClusterField::Statistics)
        .send()
        .await
        .expect("describe");
    assert_eq!(described.clusters().len(), 1);
    let dev = &described.clusters()[0];
    assert_eq!(dev.tags().len(), 1);
    assert_eq!(dev.settings()[0].value(), Some("disabled"));
    assert!(!dev.statistics().is_empty());
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    assert_eq!(
        described.failures()[0].arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:cluster/ghost")
    );

    let updated = ecs
        .update_cluster_settings()
        .cluster("dev")
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value("enabled")
                .build(),
        )
        .send()
        .await
        .expect("update settings");
    assert_eq!(
        updated.cluster().expect("cluster").settings()[0].value(),
        Some("enabled")
    );

    let listed = ecs.list_clusters().send().await.expect("list");
    assert_eq!(
        listed.cluster_arns(),
        ["arn:aws:ecs:us-east-1:000000000000:cluster/dev"]
    );

    let deleted = ecs
        .delete_cluster()
        .cluster("dev")
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.cluster().and_then(|c| c.status()), Some("INACTIVE"));
    // An INACTIVE cluster stays describable, and is gone for everything else.
    let after = ecs
        .describe_clusters()
        .clusters("dev")
        .send()
        .await
        .expect("describe");
    assert_eq!(after.clusters()[0].status(), Some("INACTIVE"));
    let err = ecs
        .delete_cluster()
        .cluster("dev")
        .send()
        .await
        .expect_err("gone");
    assert_eq!(code(&err), "ClusterNotFoundException");
    assert!(
        ecs.list_clusters()
            .send()
            .await
            .expect("list")
            .cluster_arns()
            .is_empty()
    );

    let bad = ecs
        .create_cluster()
        .cluster_name("no spaces")
        .send()
        .await
        .expect_err("bad name");
    assert_eq!(code(&bad), "InvalidParameterException");
    server.shutdown().await;
}

#[tokio::test]
async fn task_definition_revisions_number_on_and_ecs_rules_refuse_bad_definitions() {
    let server = start().await;
    let ecs = client(&server, "us-east-1");

    for memory in [128, 256, 512] {
        ecs.register_task_definition()
            .family("web")
            .container_definitions(container("app", memory))
            .tags(tag("rev", &memory.to_string()))
            .send()
            .await
            .expect("register");
    }
    let latest = ecs
        .describe_task_definition()
        .task_definition("web")
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .expect("describe latest");
    let td = latest.task_definition().expect("td");
    assert_eq!(td.revision(), 3);
    assert_eq!(td.status(), Some(&TaskDefinitionStatus::Active));
    assert_eq!(td.container_definitions()[0].memory(), Some(512));
    assert_eq!(td.container_definitions()[0].essential(), Some(true));
    assert!(td.registered_at().is_some());
    assert_eq!(td.registered_by(), Some("arn:aws:iam::000000000000:root"));
    assert!(td.compatibilities().contains(&Compatibility::Ec2));
    assert_eq!(latest.tags()[0].value(), Some("512"));

    let dereg = ecs
        .deregister_task_definition()
        .task_definition("web:3")
        .send()
        .await
        .expect("deregister");
    assert_eq!(
        dereg.task_definition().and_then(|t| t.status()),
        Some(&TaskDefinitionStatus::Inactive)
    );
    // The family now resolves to the newest ACTIVE revision; the INACTIVE one stays describable.
    let now = ecs
        .describe_task_definition()
        .task_definition("web")
        .send()
        .await
        .expect("family");
    assert_eq!(now.task_definition().map(|t| t.revision()), Some(2));
    let old = ecs
        .describe_task_definition()
        .task_definition("arn:aws:ecs:us-east-1:000000000000:task-definition/web:3")
        .send()
        .await
        .expect("by arn");
    assert_eq!(
        old.task_definition().and_then(|t| t.status()),
        Some(&TaskDefinitionStatus::Inactive)
    );

    let deleted = ecs
        .delete_task_definitions()
        .task_definitions("web:3")
        .task_definitions("web:1")
        .send()
        .await
        .expect("delete");
    assert_eq!(
        deleted.task_definitions()[0].status(),
        Some(&TaskDefinitionStatus::DeleteInProgress)
    );
    assert_eq!(deleted.failures().len(), 1, "web:1 is still ACTIVE");

    // A new registration continues the numbering.
    let next = ecs
        .register_task_definition()
        .family("web")
        .container_definitions(container("app", 64))
        .send()
        .await
        .expect("register");
    assert_eq!(next.task_definition().map(|t| t.revision()), Some(4));

    // Fargate: awsvpc and a valid cpu/memory pair, or ClientException.
    let bad_pair = ecs
        .register_task_definition()
        .family("fg")
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("4096")
        .container_definitions(container("app", 128))
        .send()
        .await
        .expect_err("invalid pair");
    assert_eq!(code(&bad_pair), "ClientException");
    assert!(
        bad_pair
            .message()
            .unwrap_or("")
            .contains("No Fargate configuration exists")
    );
    let good = ecs
        .register_task_definition()
        .family("fg")
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("1 vCPU")
        .memory("2 GB")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("busybox")
                .port_mappings(PortMapping::builder().container_port(8080).build())
                .build(),
        )
        .send()
        .await
        .expect("valid fargate");
    let fg = good.task_definition().expect("td");
    assert_eq!(fg.cpu(), Some("1024"));
    assert_eq!(fg.memory(), Some("2048"));
    assert!(fg.compatibilities().contains(&Compatibility::Fargate));
    assert_eq!(
        fg.container_definitions()[0].port_mappings()[0].host_port(),
        Some(8080)
    );

    let dup = ecs
        .register_task_definition()
        .family("dup")
        .container_definitions(container("a", 64))
        .container_definitions(container("a", 64))
        .send()
        .await
        .expect_err("duplicate names");
    assert_eq!(code(&dup), "ClientException");
    let no_memory = ecs
        .register_task_definition()
        .family("nomem")
        .container_definitions(
            ContainerDefinition::builder()
                .name("a")
                .image("busybox")
                .build(),
        )
        .send()
        .await
        .expect_err("no memory");
    assert_eq!(code(&no_memory), "ClientException");
    let missing = ecs
        .describe_task_definition()
        .task_definition("nope")
        .send()
        .await
        .expect_err("missing");
    assert_eq!(code(&missing), "ClientException");
    server.shutdown().await;
}

#[tokio::test]
async fn listing_250_revisions_seven_at_a_time_is_complete_and_ordered() {
    let server = start().await;
    let ecs = client(&server, "us-east-1");
    let mut expected = Vec::new();
    for family in ["alpha", "beta"] {
        for rev in 1..=125 {
            ecs.register_task_definition()
                .family(family)
                .container_definitions(container("app", 32))
                .send()
                .await
                .expect("register");
            expected.push(format!(
                "arn:aws:ecs:us-east-1:000000000000:task-definition/{family}:{rev}"
            ));
        }
    }
    let pages: Vec<_> = ecs
        .list_task_definitions()
        .max_results(7)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("pages");
    assert_eq!(pages.len(), 250usize.div_ceil(7));
    let listed: Vec<String> = pages
        .iter()
        .flat_map(|p| p.task_definition_arns().to_vec())
        .collect();
    assert_eq!(listed, expected);

    let desc = ecs
        .list_task_definitions()
        .family_prefix("beta")
        .sort(SortOrder::Desc)
        .max_results(3)
        .send()
        .await
        .expect("desc");
    assert_eq!(
        desc.task_definition_arns(),
        ["beta:125", "beta:124", "beta:123"]
            .map(|s| format!("arn:aws:ecs:us-east-1:000000000000:task-definition/{s}"))
    );
    let families = ecs
        .list_task_definition_families()
        .family_prefix("al")
        .send()
        .await
        .expect("families");
    assert_eq!(families.families(), ["alpha"]);
    server.shutdown().await;
}

#[tokio::test]
async fn tags_capacity_providers_and_settings_are_kept_per_region() {
    let server = start().await;
    let ecs = client(&server, "us-east-1");
    let arn = ecs
        .create_cluster()
        .cluster_name("tagged")
        .send()
        .await
        .expect("create")
        .cluster()
        .and_then(|c| c.cluster_arn())
        .map(str::to_owned)
        .expect("arn");

    ecs.tag_resource()
        .resource_arn(&arn)
        .tags(tag("a", "1"))
        .tags(tag("b", "2"))
        .send()
        .await
        .expect("tag");
    ecs.untag_resource()
        .resource_arn(&arn)
        .tag_keys("a")
        .send()
        .await
        .expect("untag");
    let tags = ecs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("list tags");
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].key(), Some("b"));
    let too_many = (0..51).fold(ecs.tag_resource().resource_arn(&arn), |req, i| {
        req.tags(tag(&format!("k{i}"), "v"))
    });
    assert_eq!(
        code(&too_many.send().await.expect_err("51 tags")),
        "InvalidParameterException"
    );
    let reserved = ecs
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("aws:x", "v"))
        .send()
        .await;
    assert_eq!(
        code(&reserved.expect_err("aws: prefix")),
        "InvalidParameterException"
    );
    let unchanged = ecs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("tags");
    assert_eq!(
        unchanged.tags().len(),
        1,
        "a refused TagResource changes nothing"
    );

    let cps = ecs
        .describe_capacity_providers()
        .send()
        .await
        .expect("capacity providers");
    let names: Vec<_> = cps
        .capacity_providers()
        .iter()
        .filter_map(|c| c.name())
        .collect();
    assert_eq!(names, ["FARGATE", "FARGATE_SPOT"]);
    let put = ecs
        .put_cluster_capacity_providers()
        .cluster("tagged")
        .capacity_providers("FARGATE")
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await
        .expect("put capacity providers");
    assert_eq!(
        put.cluster().map(|c| c.capacity_providers().to_vec()),
        Some(vec!["FARGATE".to_owned()])
    );
    let unknown = ecs
        .put_cluster_capacity_providers()
        .cluster("tagged")
        .capacity_providers("nope")
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await
        .expect_err("unknown provider");
    assert_eq!(code(&unknown), "InvalidParameterException");

    ecs.put_account_setting()
        .name(SettingName::ContainerInsights)
        .value("enabled")
        .send()
        .await
        .expect("put setting");
    let effective = ecs
        .list_account_settings()
        .effective_settings(true)
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .expect("list settings");
    assert_eq!(effective.settings()[0].value(), Some("enabled"));
    let bad = ecs
        .put_account_setting()
        .name(SettingName::ContainerInsights)
        .value("maybe")
        .send()
        .await;
    assert_eq!(
        code(&bad.expect_err("bad value")),
        "InvalidParameterException"
    );

    // Regions are separate worlds: eu-west-1 has no cluster named "tagged".
    let eu = client(&server, "eu-west-1");
    let in_eu = eu
        .describe_clusters()
        .clusters("tagged")
        .send()
        .await
        .expect("describe in eu");
    assert!(in_eu.clusters().is_empty());
    assert_eq!(
        in_eu.failures()[0].arn(),
        Some("arn:aws:ecs:eu-west-1:000000000000:cluster/tagged")
    );

    // RunTask on a cluster that does not exist (the default one here) is ClusterNotFound.
    let run = ecs
        .run_task()
        .task_definition("x")
        .send()
        .await
        .expect_err("no default cluster");
    assert_eq!(code(&run), "ClusterNotFoundException");
    server.shutdown().await;
}
