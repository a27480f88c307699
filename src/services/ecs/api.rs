//! The ECS API (JSON 1.1, `AmazonEC2ContainerServiceV20141113`). Each method takes the region's
//! state under the lock, calls the domain, and shapes the response.

use crate::aws::{ApiError, RequestContext};
use crate::links;
use crate::services::Handler;
use crate::services::ecs::scheduler::task_sets;
use crate::services::ecs::{
    State, account_settings, agent, attributes, capacity_providers, clusters, container_instances,
    daemons, express_gateway, services, tags, task_definitions, task_protection, tasks,
};
use crate::store::Store;
use crate::wire::ecs::*;

pub struct Ecs {
    store: Store,
}

impl Ecs {
    fn read<R>(&self, ctx: &RequestContext, f: impl FnOnce(&State) -> R) -> R {
        self.store.read(&ctx.region, f)
    }

    fn write<R>(&self, ctx: &RequestContext, f: impl FnOnce(&mut State) -> R) -> R {
        self.store.write(&ctx.region, f)
    }
}

impl Handler for Ecs {
    fn new(store: &Store) -> Self {
        Ecs {
            store: store.clone(),
        }
    }
}

impl Api for Ecs {
    fn create_task_set(
        &self,
        ctx: &RequestContext,
        input: CreateTaskSetRequest,
    ) -> Result<CreateTaskSetResponse, ApiError> {
        let task_set = self.write(ctx, |r| task_sets::create(r, input))?;
        Ok(CreateTaskSetResponse {
            task_set: Some(task_set),
        })
    }

    fn describe_task_sets(
        &self,
        ctx: &RequestContext,
        input: DescribeTaskSetsRequest,
    ) -> Result<DescribeTaskSetsResponse, ApiError> {
        let with_tags = input
            .include
            .iter()
            .flatten()
            .any(|f| *f == TaskSetField::Tags);
        let (found, failures) = self.read(ctx, |r| {
            task_sets::describe(
                r,
                &input.cluster,
                &input.service,
                input.task_sets.as_deref(),
                with_tags,
            )
        })?;
        Ok(DescribeTaskSetsResponse {
            task_sets: Some(found),
            failures: Some(failures),
        })
    }

    fn update_task_set(
        &self,
        ctx: &RequestContext,
        input: UpdateTaskSetRequest,
    ) -> Result<UpdateTaskSetResponse, ApiError> {
        let task_set = self.write(ctx, |r| {
            task_sets::update(
                r,
                &input.cluster,
                &input.service,
                &input.task_set,
                input.scale,
            )
        })?;
        Ok(UpdateTaskSetResponse {
            task_set: Some(task_set),
        })
    }

    fn update_service_primary_task_set(
        &self,
        ctx: &RequestContext,
        input: UpdateServicePrimaryTaskSetRequest,
    ) -> Result<UpdateServicePrimaryTaskSetResponse, ApiError> {
        let task_set = self.write(ctx, |r| {
            task_sets::set_primary(r, &input.cluster, &input.service, &input.primary_task_set)
        })?;
        Ok(UpdateServicePrimaryTaskSetResponse {
            task_set: Some(task_set),
        })
    }

    fn delete_task_set(
        &self,
        ctx: &RequestContext,
        input: DeleteTaskSetRequest,
    ) -> Result<DeleteTaskSetResponse, ApiError> {
        let task_set = self.write(ctx, |r| {
            task_sets::delete(
                r,
                &input.cluster,
                &input.service,
                &input.task_set,
                input.force.unwrap_or(false),
            )
        })?;
        Ok(DeleteTaskSetResponse {
            task_set: Some(task_set),
        })
    }

    fn update_task_protection(
        &self,
        ctx: &RequestContext,
        input: UpdateTaskProtectionRequest,
    ) -> Result<UpdateTaskProtectionResponse, ApiError> {
        let (protected, failures) = self.write(ctx, |r| {
            task_protection::update(
                r,
                &input.cluster,
                &input.tasks,
                input.protection_enabled,
                input.expires_in_minutes,
            )
        })?;
        Ok(UpdateTaskProtectionResponse {
            protected_tasks: Some(protected),
            failures: Some(failures),
        })
    }

    fn get_task_protection(
        &self,
        ctx: &RequestContext,
        input: GetTaskProtectionRequest,
    ) -> Result<GetTaskProtectionResponse, ApiError> {
        let (protected, failures) = self.write(ctx, |r| {
            task_protection::get(r, &input.cluster, input.tasks.as_deref())
        })?;
        Ok(GetTaskProtectionResponse {
            protected_tasks: Some(protected),
            failures: Some(failures),
        })
    }

    fn submit_task_state_change(
        &self,
        ctx: &RequestContext,
        input: SubmitTaskStateChangeRequest,
    ) -> Result<SubmitTaskStateChangeResponse, ApiError> {
        self.write(ctx, |r| agent::submit_task_state_change(r, input))?;
        Ok(SubmitTaskStateChangeResponse {
            acknowledgment: Some(agent::ACK.into()),
        })
    }

    fn submit_container_state_change(
        &self,
        ctx: &RequestContext,
        input: SubmitContainerStateChangeRequest,
    ) -> Result<SubmitContainerStateChangeResponse, ApiError> {
        self.write(ctx, |r| agent::submit_container_state_change(r, input))?;
        Ok(SubmitContainerStateChangeResponse {
            acknowledgment: Some(agent::ACK.into()),
        })
    }

    fn submit_attachment_state_changes(
        &self,
        ctx: &RequestContext,
        input: SubmitAttachmentStateChangesRequest,
    ) -> Result<SubmitAttachmentStateChangesResponse, ApiError> {
        self.write(ctx, |r| {
            agent::submit_attachment_state_changes(r, input.cluster.as_deref(), &input.attachments)
        })?;
        Ok(SubmitAttachmentStateChangesResponse {
            acknowledgment: Some(agent::ACK.into()),
        })
    }

    fn discover_poll_endpoint(
        &self,
        ctx: &RequestContext,
        _input: DiscoverPollEndpointRequest,
    ) -> Result<DiscoverPollEndpointResponse, ApiError> {
        Ok(self.read(ctx, agent::discover_poll_endpoint))
    }

    fn update_container_agent(
        &self,
        ctx: &RequestContext,
        input: UpdateContainerAgentRequest,
    ) -> Result<UpdateContainerAgentResponse, ApiError> {
        let ci = self.write(ctx, |r| {
            agent::update_container_agent(r, input.cluster.as_deref(), &input.container_instance)
        })?;
        Ok(UpdateContainerAgentResponse {
            container_instance: Some(ci),
        })
    }

    fn execute_command(
        &self,
        ctx: &RequestContext,
        input: ExecuteCommandRequest,
    ) -> Result<ExecuteCommandResponse, ApiError> {
        self.read(ctx, |r| agent::execute_command(r, &input))
    }

    fn create_cluster(
        &self,
        ctx: &RequestContext,
        input: CreateClusterRequest,
    ) -> Result<CreateClusterResponse, ApiError> {
        let cluster = self.store.write_region(&ctx.region, |r| {
            // A namespace given by name is Cloud Map's, which only a link sees.
            let service_connect_defaults = links::service_connect::resolve_defaults(
                &mut r.servicediscovery,
                input.service_connect_defaults,
            )?;
            let req = clusters::CreateCluster {
                name: input.cluster_name,
                settings: input.settings,
                configuration: input.configuration,
                service_connect_defaults,
                capacity_providers: input.capacity_providers,
                default_strategy: input.default_capacity_provider_strategy,
                tags: input.tags,
            };
            clusters::create(&mut r.ecs, req)
        })?;
        Ok(CreateClusterResponse {
            cluster: Some(cluster),
        })
    }

    fn describe_clusters(
        &self,
        ctx: &RequestContext,
        input: DescribeClustersRequest,
    ) -> Result<DescribeClustersResponse, ApiError> {
        let include = input.include.unwrap_or_default();
        let (found, failures) =
            self.read(ctx, |r| clusters::describe(r, input.clusters, &include))?;
        Ok(DescribeClustersResponse {
            clusters: Some(found),
            failures: Some(failures),
        })
    }

    fn list_clusters(
        &self,
        ctx: &RequestContext,
        input: ListClustersRequest,
    ) -> Result<ListClustersResponse, ApiError> {
        let page = self.read(ctx, |r| {
            clusters::list(r, input.max_results, input.next_token.as_deref())
        })?;
        Ok(ListClustersResponse {
            cluster_arns: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn update_cluster(
        &self,
        ctx: &RequestContext,
        input: UpdateClusterRequest,
    ) -> Result<UpdateClusterResponse, ApiError> {
        let cluster = self.store.write_region(&ctx.region, |r| {
            let defaults = links::service_connect::resolve_defaults(
                &mut r.servicediscovery,
                input.service_connect_defaults,
            )?;
            clusters::update(
                &mut r.ecs,
                &input.cluster,
                input.settings,
                input.configuration,
                defaults,
            )
        })?;
        Ok(UpdateClusterResponse {
            cluster: Some(cluster),
        })
    }

    fn update_cluster_settings(
        &self,
        ctx: &RequestContext,
        input: UpdateClusterSettingsRequest,
    ) -> Result<UpdateClusterSettingsResponse, ApiError> {
        let cluster = self.write(ctx, |r| {
            clusters::update(r, &input.cluster, Some(input.settings), None, None)
        })?;
        Ok(UpdateClusterSettingsResponse {
            cluster: Some(cluster),
        })
    }

    fn delete_cluster(
        &self,
        ctx: &RequestContext,
        input: DeleteClusterRequest,
    ) -> Result<DeleteClusterResponse, ApiError> {
        let cluster = self.write(ctx, |r| clusters::delete(r, &input.cluster))?;
        Ok(DeleteClusterResponse {
            cluster: Some(cluster),
        })
    }

    fn put_cluster_capacity_providers(
        &self,
        ctx: &RequestContext,
        input: PutClusterCapacityProvidersRequest,
    ) -> Result<PutClusterCapacityProvidersResponse, ApiError> {
        let cluster = self.write(ctx, |r| {
            clusters::put_capacity_providers(
                r,
                &input.cluster,
                input.capacity_providers,
                input.default_capacity_provider_strategy,
            )
        })?;
        Ok(PutClusterCapacityProvidersResponse {
            cluster: Some(cluster),
        })
    }

    fn create_capacity_provider(
        &self,
        ctx: &RequestContext,
        input: CreateCapacityProviderRequest,
    ) -> Result<CreateCapacityProviderResponse, ApiError> {
        let cp = self.write(ctx, |r| {
            capacity_providers::create(r, input.name, input.auto_scaling_group_provider, input.tags)
        })?;
        Ok(CreateCapacityProviderResponse {
            capacity_provider: Some(cp),
        })
    }

    fn describe_capacity_providers(
        &self,
        ctx: &RequestContext,
        input: DescribeCapacityProvidersRequest,
    ) -> Result<DescribeCapacityProvidersResponse, ApiError> {
        let with_tags = input
            .include
            .iter()
            .flatten()
            .any(|f| *f == CapacityProviderField::Tags);
        let (page, missing) = self.read(ctx, |r| {
            capacity_providers::describe(
                r,
                input.capacity_providers,
                with_tags,
                input.max_results,
                input.next_token.as_deref(),
            )
        })?;
        Ok(DescribeCapacityProvidersResponse {
            capacity_providers: Some(page.items),
            failures: Some(missing),
            next_token: page.next_token,
        })
    }

    fn update_capacity_provider(
        &self,
        ctx: &RequestContext,
        input: UpdateCapacityProviderRequest,
    ) -> Result<UpdateCapacityProviderResponse, ApiError> {
        let cp = self.write(ctx, |r| {
            capacity_providers::update(r, &input.name, input.auto_scaling_group_provider)
        })?;
        Ok(UpdateCapacityProviderResponse {
            capacity_provider: Some(cp),
        })
    }

    fn delete_capacity_provider(
        &self,
        ctx: &RequestContext,
        input: DeleteCapacityProviderRequest,
    ) -> Result<DeleteCapacityProviderResponse, ApiError> {
        let cp = self.write(ctx, |r| {
            capacity_providers::delete(r, &input.capacity_provider)
        })?;
        Ok(DeleteCapacityProviderResponse {
            capacity_provider: Some(cp),
        })
    }

    fn register_task_definition(
        &self,
        ctx: &RequestContext,
        input: RegisterTaskDefinitionRequest,
    ) -> Result<RegisterTaskDefinitionResponse, ApiError> {
        let (td, tags) = self.write(ctx, |r| task_definitions::register(r, input))?;
        Ok(RegisterTaskDefinitionResponse {
            task_definition: Some(td),
            tags: Some(tags),
        })
    }

    fn describe_task_definition(
        &self,
        ctx: &RequestContext,
        input: DescribeTaskDefinitionRequest,
    ) -> Result<DescribeTaskDefinitionResponse, ApiError> {
        let with_tags = input
            .include
            .iter()
            .flatten()
            .any(|f| *f == TaskDefinitionField::Tags);
        self.read(ctx, |r| {
            let rev = task_definitions::resolve(r, &input.task_definition)?;
            Ok(DescribeTaskDefinitionResponse {
                task_definition: Some((*rev.data).clone()),
                tags: with_tags.then(|| rev.tags.clone()),
            })
        })
    }

    fn list_task_definitions(
        &self,
        ctx: &RequestContext,
        input: ListTaskDefinitionsRequest,
    ) -> Result<ListTaskDefinitionsResponse, ApiError> {
        let page = self.read(ctx, |r| {
            task_definitions::list(
                r,
                input.family_prefix.as_deref(),
                input.status,
                input.sort,
                input.max_results,
                input.next_token.as_deref(),
            )
        })?;
        Ok(ListTaskDefinitionsResponse {
            task_definition_arns: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn list_task_definition_families(
        &self,
        ctx: &RequestContext,
        input: ListTaskDefinitionFamiliesRequest,
    ) -> Result<ListTaskDefinitionFamiliesResponse, ApiError> {
        let page = self.read(ctx, |r| {
            task_definitions::list_families(
                r,
                input.family_prefix.as_deref(),
                input.status,
                input.max_results,
                input.next_token.as_deref(),
            )
        })?;
        Ok(ListTaskDefinitionFamiliesResponse {
            families: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn deregister_task_definition(
        &self,
        ctx: &RequestContext,
        input: DeregisterTaskDefinitionRequest,
    ) -> Result<DeregisterTaskDefinitionResponse, ApiError> {
        let td = self.write(ctx, |r| {
            task_definitions::deregister(r, &input.task_definition)
        })?;
        Ok(DeregisterTaskDefinitionResponse {
            task_definition: Some(td),
        })
    }

    fn delete_task_definitions(
        &self,
        ctx: &RequestContext,
        input: DeleteTaskDefinitionsRequest,
    ) -> Result<DeleteTaskDefinitionsResponse, ApiError> {
        let (deleted, failures) = self.write(ctx, |r| {
            task_definitions::delete(r, &input.task_definitions)
        })?;
        Ok(DeleteTaskDefinitionsResponse {
            task_definitions: Some(deleted),
            failures: Some(failures),
        })
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse, ApiError> {
        self.write(ctx, |r| {
            tags::merge(
                tags::of_resource(r, &input.resource_arn, tags::Call::Change)?,
                &input.tags,
            )
        })?;
        Ok(TagResourceResponse {})
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, ApiError> {
        self.write(ctx, |r| {
            tags::remove(
                tags::of_resource(r, &input.resource_arn, tags::Call::Change)?,
                &input.tag_keys,
            );
            Ok::<_, ApiError>(())
        })?;
        Ok(UntagResourceResponse {})
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ApiError> {
        let found = self.write(ctx, |r| {
            tags::of_resource(r, &input.resource_arn, tags::Call::List).map(|t| t.clone())
        })?;
        Ok(ListTagsForResourceResponse { tags: Some(found) })
    }

    fn put_account_setting(
        &self,
        ctx: &RequestContext,
        input: PutAccountSettingRequest,
    ) -> Result<PutAccountSettingResponse, ApiError> {
        let s = self.write(ctx, |r| {
            account_settings::put(r, input.name, input.value, input.principal_arn)
        })?;
        Ok(PutAccountSettingResponse { setting: Some(s) })
    }

    fn put_account_setting_default(
        &self,
        ctx: &RequestContext,
        input: PutAccountSettingDefaultRequest,
    ) -> Result<PutAccountSettingDefaultResponse, ApiError> {
        let s = self.write(ctx, |r| {
            account_settings::put_default(r, input.name, input.value)
        })?;
        Ok(PutAccountSettingDefaultResponse { setting: Some(s) })
    }

    fn list_account_settings(
        &self,
        ctx: &RequestContext,
        input: ListAccountSettingsRequest,
    ) -> Result<ListAccountSettingsResponse, ApiError> {
        let q = account_settings::ListQuery {
            name: input.name,
            value: input.value,
            principal: input.principal_arn,
            effective: input.effective_settings.unwrap_or(false),
            max_results: input.max_results,
            next_token: input.next_token,
        };
        let page = self.read(ctx, |r| account_settings::list(r, q))?;
        Ok(ListAccountSettingsResponse {
            settings: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn delete_account_setting(
        &self,
        ctx: &RequestContext,
        input: DeleteAccountSettingRequest,
    ) -> Result<DeleteAccountSettingResponse, ApiError> {
        let s = self.write(ctx, |r| {
            account_settings::delete(r, input.name, input.principal_arn)
        })?;
        Ok(DeleteAccountSettingResponse { setting: Some(s) })
    }

    fn put_attributes(
        &self,
        ctx: &RequestContext,
        input: PutAttributesRequest,
    ) -> Result<PutAttributesResponse, ApiError> {
        let attrs = self.write(ctx, |r| {
            attributes::put(r, input.cluster.as_deref(), input.attributes)
        })?;
        Ok(PutAttributesResponse {
            attributes: Some(attrs),
        })
    }

    fn list_attributes(
        &self,
        ctx: &RequestContext,
        input: ListAttributesRequest,
    ) -> Result<ListAttributesResponse, ApiError> {
        let page = self.read(ctx, |r| {
            attributes::list(
                r,
                input.cluster.as_deref(),
                &input.target_type,
                input.attribute_name.as_deref(),
                input.attribute_value.as_deref(),
                input.max_results,
                input.next_token.as_deref(),
            )
        })?;
        Ok(ListAttributesResponse {
            attributes: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn delete_attributes(
        &self,
        ctx: &RequestContext,
        input: DeleteAttributesRequest,
    ) -> Result<DeleteAttributesResponse, ApiError> {
        let attrs = self.write(ctx, |r| {
            attributes::delete(r, input.cluster.as_deref(), input.attributes)
        })?;
        Ok(DeleteAttributesResponse {
            attributes: Some(attrs),
        })
    }

    fn run_task(
        &self,
        ctx: &RequestContext,
        input: RunTaskRequest,
    ) -> Result<RunTaskResponse, ApiError> {
        let req = tasks::RunTask {
            cluster: input.cluster,
            task_definition: input.task_definition,
            count: input.count,
            launch_type: input.launch_type,
            capacity_provider_strategy: input.capacity_provider_strategy,
            network_configuration: input.network_configuration,
            overrides: input.overrides,
            placement_constraints: input.placement_constraints,
            placement_strategy: input.placement_strategy,
            started_by: input.started_by,
            group: input.group,
            tags: input.tags,
            propagate_tags: input.propagate_tags,
            enable_execute_command: input.enable_execute_command,
            client_token: input.client_token,
            container_instances: None,
        };
        let (tasks, failures) = self.write(ctx, |r| tasks::run(r, req))?;
        Ok(RunTaskResponse {
            tasks: Some(tasks),
            failures: Some(failures),
        })
    }

    fn start_task(
        &self,
        ctx: &RequestContext,
        input: StartTaskRequest,
    ) -> Result<StartTaskResponse, ApiError> {
        let req = tasks::RunTask {
            cluster: input.cluster,
            task_definition: input.task_definition,
            count: Some(input.container_instances.len().clamp(1, 10) as i32),
            launch_type: None,
            capacity_provider_strategy: None,
            network_configuration: input.network_configuration,
            overrides: input.overrides,
            placement_constraints: None,
            placement_strategy: None,
            started_by: input.started_by,
            group: input.group,
            tags: input.tags,
            propagate_tags: input.propagate_tags,
            enable_execute_command: input.enable_execute_command,
            client_token: None,
            container_instances: Some(input.container_instances),
        };
        let (tasks, failures) = self.write(ctx, |r| tasks::run(r, req))?;
        Ok(StartTaskResponse {
            tasks: Some(tasks),
            failures: Some(failures),
        })
    }

    fn stop_task(
        &self,
        ctx: &RequestContext,
        input: StopTaskRequest,
    ) -> Result<StopTaskResponse, ApiError> {
        let task = self.write(ctx, |r| {
            tasks::stop(r, input.cluster.as_deref(), &input.task, input.reason)
        })?;
        Ok(StopTaskResponse { task: Some(task) })
    }

    fn describe_tasks(
        &self,
        ctx: &RequestContext,
        input: DescribeTasksRequest,
    ) -> Result<DescribeTasksResponse, ApiError> {
        let with_tags = input
            .include
            .iter()
            .flatten()
            .any(|f| *f == TaskField::Tags);
        let (found, failures) = self.read(ctx, |r| {
            tasks::describe(r, input.cluster.as_deref(), &input.tasks, with_tags)
        })?;
        Ok(DescribeTasksResponse {
            tasks: Some(found),
            failures: Some(failures),
        })
    }

    fn list_tasks(
        &self,
        ctx: &RequestContext,
        input: ListTasksRequest,
    ) -> Result<ListTasksResponse, ApiError> {
        let q = tasks::ListTasks {
            cluster: input.cluster,
            container_instance: input.container_instance,
            family: input.family,
            started_by: input.started_by,
            service_name: input.service_name,
            desired_status: input.desired_status,
            launch_type: input.launch_type,
            max_results: input.max_results,
            next_token: input.next_token,
        };
        let page = self.read(ctx, |r| tasks::list(r, q))?;
        Ok(ListTasksResponse {
            task_arns: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn register_container_instance(
        &self,
        ctx: &RequestContext,
        input: RegisterContainerInstanceRequest,
    ) -> Result<RegisterContainerInstanceResponse, ApiError> {
        let req = container_instances::Register {
            cluster: input.cluster,
            total_resources: input.total_resources,
            attributes: input.attributes,
            identity_document: input.instance_identity_document,
            tags: input.tags,
            version_info: input.version_info,
        };
        let ci = self.write(ctx, |r| container_instances::register(r, req))?;
        Ok(RegisterContainerInstanceResponse {
            container_instance: Some(ci),
        })
    }

    fn deregister_container_instance(
        &self,
        ctx: &RequestContext,
        input: DeregisterContainerInstanceRequest,
    ) -> Result<DeregisterContainerInstanceResponse, ApiError> {
        let ci = self.write(ctx, |r| {
            container_instances::deregister(
                r,
                input.cluster.as_deref(),
                &input.container_instance,
                input.force.unwrap_or(false),
            )
        })?;
        Ok(DeregisterContainerInstanceResponse {
            container_instance: Some(ci),
        })
    }

    fn describe_container_instances(
        &self,
        ctx: &RequestContext,
        input: DescribeContainerInstancesRequest,
    ) -> Result<DescribeContainerInstancesResponse, ApiError> {
        let with_tags = input
            .include
            .iter()
            .flatten()
            .any(|f| *f == ContainerInstanceField::Tags);
        let (found, missing) = self.write(ctx, |r| {
            container_instances::describe(
                r,
                input.cluster.as_deref(),
                &input.container_instances,
                with_tags,
            )
        })?;
        Ok(DescribeContainerInstancesResponse {
            container_instances: Some(found),
            failures: Some(missing),
        })
    }

    fn list_container_instances(
        &self,
        ctx: &RequestContext,
        input: ListContainerInstancesRequest,
    ) -> Result<ListContainerInstancesResponse, ApiError> {
        let page = self.write(ctx, |r| {
            container_instances::list(
                r,
                input.cluster.as_deref(),
                input.filter.as_deref(),
                input.status,
                input.max_results,
                input.next_token.as_deref(),
            )
        })?;
        Ok(ListContainerInstancesResponse {
            container_instance_arns: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn update_container_instances_state(
        &self,
        ctx: &RequestContext,
        input: UpdateContainerInstancesStateRequest,
    ) -> Result<UpdateContainerInstancesStateResponse, ApiError> {
        let (changed, missing) = self.write(ctx, |r| {
            container_instances::update_state(
                r,
                input.cluster.as_deref(),
                &input.container_instances,
                input.status,
            )
        })?;
        Ok(UpdateContainerInstancesStateResponse {
            container_instances: Some(changed),
            failures: Some(missing),
        })
    }

    fn create_service(
        &self,
        ctx: &RequestContext,
        input: CreateServiceRequest,
    ) -> Result<CreateServiceResponse, ApiError> {
        let service = self.store.write_region(&ctx.region, |r| {
            // The registries name Cloud Map services, which only a link sees.
            let registries = input.service_registries.as_deref().unwrap_or_default();
            let td = input
                .task_definition
                .as_deref()
                .and_then(|id| task_definitions::resolve(&r.ecs, id).ok())
                .map(|rev| rev.data.clone());
            links::service_registries::check(&r.servicediscovery, registries, td.as_deref())?;
            let load_balancers = input.load_balancers.as_deref().unwrap_or_default();
            links::load_balancers::check(&r.elbv2, load_balancers, td.as_deref())?;
            let mut input = input;
            input.service_connect_configuration = links::service_connect::resolve_configuration(
                &mut r.servicediscovery,
                services::cluster_namespace(&r.ecs, input.cluster.as_deref()),
                input.service_connect_configuration,
            )?;
            let principal = r.ecs.root_principal();
            services::create(&mut r.ecs, input, &principal)
        })?;
        Ok(CreateServiceResponse {
            service: Some(service),
        })
    }

    fn describe_services(
        &self,
        ctx: &RequestContext,
        input: DescribeServicesRequest,
    ) -> Result<DescribeServicesResponse, ApiError> {
        let with_tags = input
            .include
            .iter()
            .flatten()
            .any(|f| *f == ServiceField::Tags);
        let (found, failures) = self.read(ctx, |r| {
            services::describe(r, input.cluster.as_deref(), &input.services, with_tags)
        })?;
        Ok(DescribeServicesResponse {
            services: Some(found),
            failures: Some(failures),
        })
    }

    fn list_services(
        &self,
        ctx: &RequestContext,
        input: ListServicesRequest,
    ) -> Result<ListServicesResponse, ApiError> {
        let page = self.read(ctx, |r| {
            services::list(
                r,
                input.cluster.as_deref(),
                input.launch_type.as_ref(),
                input.scheduling_strategy.as_ref(),
                input.max_results,
                input.next_token.as_deref(),
            )
        })?;
        Ok(ListServicesResponse {
            service_arns: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn list_services_by_namespace(
        &self,
        ctx: &RequestContext,
        input: ListServicesByNamespaceRequest,
    ) -> Result<ListServicesByNamespaceResponse, ApiError> {
        let page = self.read(ctx, |r| {
            services::list_by_namespace(
                r,
                &input.namespace,
                input.max_results,
                input.next_token.as_deref(),
            )
        })?;
        Ok(ListServicesByNamespaceResponse {
            service_arns: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn update_service(
        &self,
        ctx: &RequestContext,
        input: UpdateServiceRequest,
    ) -> Result<UpdateServiceResponse, ApiError> {
        let service = self.store.write_region(&ctx.region, |r| {
            if let Some(registries) = &input.service_registries {
                let td = input
                    .task_definition
                    .as_deref()
                    .or_else(|| {
                        services::task_definition_of(
                            &r.ecs,
                            input.cluster.as_deref(),
                            &input.service,
                        )
                    })
                    .and_then(|id| task_definitions::resolve(&r.ecs, id).ok())
                    .map(|rev| rev.data.clone());
                links::service_registries::check(&r.servicediscovery, registries, td.as_deref())?;
            }
            if let Some(load_balancers) = &input.load_balancers {
                let td = input
                    .task_definition
                    .as_deref()
                    .or_else(|| {
                        services::task_definition_of(
                            &r.ecs,
                            input.cluster.as_deref(),
                            &input.service,
                        )
                    })
                    .and_then(|id| task_definitions::resolve(&r.ecs, id).ok())
                    .map(|rev| rev.data.clone());
                links::load_balancers::check(&r.elbv2, load_balancers, td.as_deref())?;
            }
            let mut input = input;
            input.service_connect_configuration = links::service_connect::resolve_configuration(
                &mut r.servicediscovery,
                services::cluster_namespace(&r.ecs, input.cluster.as_deref()),
                input.service_connect_configuration,
            )?;
            services::update(&mut r.ecs, input)
        })?;
        Ok(UpdateServiceResponse {
            service: Some(service),
        })
    }

    fn delete_service(
        &self,
        ctx: &RequestContext,
        input: DeleteServiceRequest,
    ) -> Result<DeleteServiceResponse, ApiError> {
        let service = self.write(ctx, |r| {
            services::delete(
                r,
                input.cluster.as_deref(),
                &input.service,
                input.force.unwrap_or(false),
            )
        })?;
        Ok(DeleteServiceResponse {
            service: Some(service),
        })
    }

    fn list_service_deployments(
        &self,
        ctx: &RequestContext,
        input: ListServiceDeploymentsRequest,
    ) -> Result<ListServiceDeploymentsResponse, ApiError> {
        use crate::services::ecs::scheduler::deployments as sd;
        let q = sd::ListQuery {
            cluster: input.cluster,
            service: input.service,
            status: input.status,
            created_at: input.created_at,
            max_results: input.max_results,
            next_token: input.next_token,
        };
        let page = self.read(ctx, |r| sd::list(r, q))?;
        Ok(ListServiceDeploymentsResponse {
            service_deployments: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn describe_service_deployments(
        &self,
        ctx: &RequestContext,
        input: DescribeServiceDeploymentsRequest,
    ) -> Result<DescribeServiceDeploymentsResponse, ApiError> {
        let (found, failures) = self.read(ctx, |r| {
            crate::services::ecs::scheduler::deployments::describe(
                r,
                &input.service_deployment_arns,
            )
        })?;
        Ok(DescribeServiceDeploymentsResponse {
            service_deployments: Some(found),
            failures: Some(failures),
        })
    }

    fn describe_service_revisions(
        &self,
        ctx: &RequestContext,
        input: DescribeServiceRevisionsRequest,
    ) -> Result<DescribeServiceRevisionsResponse, ApiError> {
        let (found, failures) = self.read(ctx, |r| {
            crate::services::ecs::scheduler::deployments::describe_revisions(
                r,
                &input.service_revision_arns,
            )
        })?;
        Ok(DescribeServiceRevisionsResponse {
            service_revisions: Some(found),
            failures: Some(failures),
        })
    }

    fn stop_service_deployment(
        &self,
        ctx: &RequestContext,
        input: StopServiceDeploymentRequest,
    ) -> Result<StopServiceDeploymentResponse, ApiError> {
        let arn = self.write(ctx, |r| {
            crate::services::ecs::scheduler::deployments::stop(
                r,
                &input.service_deployment_arn,
                input.stop_type,
            )
        })?;
        Ok(StopServiceDeploymentResponse {
            service_deployment_arn: Some(arn),
        })
    }

    fn continue_service_deployment(
        &self,
        ctx: &RequestContext,
        input: ContinueServiceDeploymentRequest,
    ) -> Result<ContinueServiceDeploymentResponse, ApiError> {
        let arn = self.write(ctx, |r| {
            crate::services::ecs::scheduler::deployments::continue_deployment(
                r,
                &input.service_deployment_arn,
                &input.hook_id,
                input.action,
            )
        })?;
        Ok(ContinueServiceDeploymentResponse {
            service_deployment_arn: Some(arn),
        })
    }

    fn register_daemon_task_definition(
        &self,
        ctx: &RequestContext,
        input: RegisterDaemonTaskDefinitionRequest,
    ) -> Result<RegisterDaemonTaskDefinitionResponse, ApiError> {
        let arn = self.write(ctx, |r| daemons::register(r, input))?;
        Ok(RegisterDaemonTaskDefinitionResponse {
            daemon_task_definition_arn: Some(arn),
        })
    }

    fn describe_daemon_task_definition(
        &self,
        ctx: &RequestContext,
        input: DescribeDaemonTaskDefinitionRequest,
    ) -> Result<DescribeDaemonTaskDefinitionResponse, ApiError> {
        let td = self.read(ctx, |r| {
            daemons::describe_td(r, &input.daemon_task_definition)
        })?;
        Ok(DescribeDaemonTaskDefinitionResponse {
            daemon_task_definition: Some(td),
        })
    }

    fn list_daemon_task_definitions(
        &self,
        ctx: &RequestContext,
        input: ListDaemonTaskDefinitionsRequest,
    ) -> Result<ListDaemonTaskDefinitionsResponse, ApiError> {
        let page = self.read(ctx, |r| daemons::list_tds(r, &input))?;
        Ok(ListDaemonTaskDefinitionsResponse {
            daemon_task_definitions: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn delete_daemon_task_definition(
        &self,
        ctx: &RequestContext,
        input: DeleteDaemonTaskDefinitionRequest,
    ) -> Result<DeleteDaemonTaskDefinitionResponse, ApiError> {
        let arn = self.write(ctx, |r| {
            daemons::delete_td(r, &input.daemon_task_definition)
        })?;
        Ok(DeleteDaemonTaskDefinitionResponse {
            daemon_task_definition_arn: Some(arn),
        })
    }

    fn create_daemon(
        &self,
        ctx: &RequestContext,
        input: CreateDaemonRequest,
    ) -> Result<CreateDaemonResponse, ApiError> {
        let d = self.write(ctx, |r| daemons::create(r, input))?;
        Ok(CreateDaemonResponse {
            daemon_arn: Some(d.daemon_arn),
            status: Some(d.status),
            created_at: Some(d.created_at),
            deployment_arn: Some(d.deployment_arn),
        })
    }

    fn describe_daemon(
        &self,
        ctx: &RequestContext,
        input: DescribeDaemonRequest,
    ) -> Result<DescribeDaemonResponse, ApiError> {
        let daemon = self.read(ctx, |r| daemons::describe(r, &input.daemon_arn))?;
        Ok(DescribeDaemonResponse {
            daemon: Some(daemon),
        })
    }

    fn list_daemons(
        &self,
        ctx: &RequestContext,
        input: ListDaemonsRequest,
    ) -> Result<ListDaemonsResponse, ApiError> {
        let page = self.read(ctx, |r| daemons::list(r, &input))?;
        Ok(ListDaemonsResponse {
            daemon_summaries_list: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn update_daemon(
        &self,
        ctx: &RequestContext,
        input: UpdateDaemonRequest,
    ) -> Result<UpdateDaemonResponse, ApiError> {
        let d = self.write(ctx, |r| daemons::update(r, input))?;
        Ok(UpdateDaemonResponse {
            daemon_arn: Some(d.daemon_arn),
            status: Some(d.status),
            created_at: Some(d.created_at),
            updated_at: Some(d.updated_at),
            deployment_arn: Some(d.deployment_arn),
        })
    }

    fn delete_daemon(
        &self,
        ctx: &RequestContext,
        input: DeleteDaemonRequest,
    ) -> Result<DeleteDaemonResponse, ApiError> {
        let d = self.write(ctx, |r| daemons::delete(r, &input.daemon_arn))?;
        Ok(DeleteDaemonResponse {
            daemon_arn: Some(d.daemon_arn),
            status: Some(d.status),
            created_at: Some(d.created_at),
            updated_at: Some(d.updated_at),
            deployment_arn: Some(d.deployment_arn),
        })
    }

    fn describe_daemon_deployments(
        &self,
        ctx: &RequestContext,
        input: DescribeDaemonDeploymentsRequest,
    ) -> Result<DescribeDaemonDeploymentsResponse, ApiError> {
        let (found, failures) = self.read(ctx, |r| {
            daemons::describe_deployments(r, &input.daemon_deployment_arns)
        })?;
        Ok(DescribeDaemonDeploymentsResponse {
            daemon_deployments: Some(found),
            failures: Some(failures),
        })
    }

    fn list_daemon_deployments(
        &self,
        ctx: &RequestContext,
        input: ListDaemonDeploymentsRequest,
    ) -> Result<ListDaemonDeploymentsResponse, ApiError> {
        let page = self.read(ctx, |r| daemons::list_deployments(r, &input))?;
        Ok(ListDaemonDeploymentsResponse {
            daemon_deployments: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn describe_daemon_revisions(
        &self,
        ctx: &RequestContext,
        input: DescribeDaemonRevisionsRequest,
    ) -> Result<DescribeDaemonRevisionsResponse, ApiError> {
        let (found, failures) = self.read(ctx, |r| {
            daemons::describe_revisions(r, &input.daemon_revision_arns)
        })?;
        Ok(DescribeDaemonRevisionsResponse {
            daemon_revisions: Some(found),
            failures: Some(failures),
        })
    }

    fn create_express_gateway_service(
        &self,
        ctx: &RequestContext,
        input: CreateExpressGatewayServiceRequest,
    ) -> Result<CreateExpressGatewayServiceResponse, ApiError> {
        let service = self.write(ctx, |r| express_gateway::create(r, input))?;
        Ok(CreateExpressGatewayServiceResponse {
            service: Some(service),
        })
    }

    fn describe_express_gateway_service(
        &self,
        ctx: &RequestContext,
        input: DescribeExpressGatewayServiceRequest,
    ) -> Result<DescribeExpressGatewayServiceResponse, ApiError> {
        let with_tags = input
            .include
            .iter()
            .flatten()
            .any(|f| *f == ExpressGatewayServiceInclude::Tags);
        let service = self.read(ctx, |r| {
            express_gateway::describe(r, &input.service_arn, with_tags)
        })?;
        Ok(DescribeExpressGatewayServiceResponse {
            service: Some(service),
        })
    }

    fn update_express_gateway_service(
        &self,
        ctx: &RequestContext,
        input: UpdateExpressGatewayServiceRequest,
    ) -> Result<UpdateExpressGatewayServiceResponse, ApiError> {
        let service = self.write(ctx, |r| express_gateway::update(r, input))?;
        Ok(UpdateExpressGatewayServiceResponse {
            service: Some(service),
        })
    }

    fn delete_express_gateway_service(
        &self,
        ctx: &RequestContext,
        input: DeleteExpressGatewayServiceRequest,
    ) -> Result<DeleteExpressGatewayServiceResponse, ApiError> {
        let service = self.write(ctx, |r| express_gateway::delete(r, &input.service_arn))?;
        Ok(DeleteExpressGatewayServiceResponse {
            service: Some(service),
        })
    }
}
