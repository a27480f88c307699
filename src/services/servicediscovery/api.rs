//! The Cloud Map API (JSON 1.1, `Route53AutoNaming_v20170314`). Each method reads or changes the
//! region's Cloud Map through the store and shapes the response.

use super::State;
use super::namespaces::NewNamespace;
use crate::aws::{ApiError, Empty, RequestContext, Timestamp};
use crate::services::Handler;
use crate::services::servicediscovery::DiscoverQuery;
use crate::store::Store;
use crate::wire::servicediscovery::*;

pub struct CloudMap {
    store: Store,
}

impl Handler for CloudMap {
    fn new(store: &Store) -> Self {
        CloudMap {
            store: store.clone(),
        }
    }
}

impl CloudMap {
    fn read<R>(&self, ctx: &RequestContext, f: impl FnOnce(&State, Timestamp) -> R) -> R {
        let now = Timestamp::now();
        self.store.read(&ctx.region, |s: &State| f(s, now))
    }

    fn write<R>(&self, ctx: &RequestContext, f: impl FnOnce(&mut State, Timestamp) -> R) -> R {
        let now = Timestamp::now();
        self.store.write(&ctx.region, |s: &mut State| f(s, now))
    }

    fn create_namespace(
        &self,
        ctx: &RequestContext,
        req: NewNamespace,
    ) -> Result<Option<String>, ApiError> {
        self.write(ctx, |s, now| s.create_namespace(req, now))
            .map(Some)
    }
}

impl Api for CloudMap {
    fn create_http_namespace(
        &self,
        ctx: &RequestContext,
        input: CreateHttpNamespaceRequest,
    ) -> Result<CreateHttpNamespaceResponse, ApiError> {
        let req = NewNamespace {
            name: input.name,
            kind: NamespaceType::Http,
            creator_request_id: input.creator_request_id,
            description: input.description,
            vpc: None,
            soa_ttl: None,
            tags: input.tags,
        };
        Ok(CreateHttpNamespaceResponse {
            operation_id: self.create_namespace(ctx, req)?,
        })
    }

    fn create_private_dns_namespace(
        &self,
        ctx: &RequestContext,
        input: CreatePrivateDnsNamespaceRequest,
    ) -> Result<CreatePrivateDnsNamespaceResponse, ApiError> {
        let req = NewNamespace {
            name: input.name,
            kind: NamespaceType::DnsPrivate,
            creator_request_id: input.creator_request_id,
            description: input.description,
            vpc: Some(input.vpc),
            soa_ttl: input.properties.map(|p| p.dns_properties.soa.ttl),
            tags: input.tags,
        };
        Ok(CreatePrivateDnsNamespaceResponse {
            operation_id: self.create_namespace(ctx, req)?,
        })
    }

    fn create_public_dns_namespace(
        &self,
        ctx: &RequestContext,
        input: CreatePublicDnsNamespaceRequest,
    ) -> Result<CreatePublicDnsNamespaceResponse, ApiError> {
        let req = NewNamespace {
            name: input.name,
            kind: NamespaceType::DnsPublic,
            creator_request_id: input.creator_request_id,
            description: input.description,
            vpc: None,
            soa_ttl: input.properties.map(|p| p.dns_properties.soa.ttl),
            tags: input.tags,
        };
        Ok(CreatePublicDnsNamespaceResponse {
            operation_id: self.create_namespace(ctx, req)?,
        })
    }

    fn get_namespace(
        &self,
        ctx: &RequestContext,
        input: GetNamespaceRequest,
    ) -> Result<GetNamespaceResponse, ApiError> {
        let namespace = self.read(ctx, |s, now| s.get_namespace(&input.id, now))?;
        Ok(GetNamespaceResponse {
            namespace: Some(namespace),
        })
    }

    fn list_namespaces(
        &self,
        ctx: &RequestContext,
        input: ListNamespacesRequest,
    ) -> Result<ListNamespacesResponse, ApiError> {
        let page = self.read(ctx, |s, now| s.list_namespaces(input, now))?;
        Ok(ListNamespacesResponse {
            namespaces: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn update_http_namespace(
        &self,
        ctx: &RequestContext,
        input: UpdateHttpNamespaceRequest,
    ) -> Result<UpdateHttpNamespaceResponse, ApiError> {
        let op = self.write(ctx, |s, now| {
            s.update_namespace(
                &input.id,
                NamespaceType::Http,
                Some(input.namespace.description),
                None,
                now,
            )
        })?;
        Ok(UpdateHttpNamespaceResponse {
            operation_id: Some(op),
        })
    }

    fn update_private_dns_namespace(
        &self,
        ctx: &RequestContext,
        input: UpdatePrivateDnsNamespaceRequest,
    ) -> Result<UpdatePrivateDnsNamespaceResponse, ApiError> {
        let change = input.namespace;
        let ttl = change.properties.map(|p| p.dns_properties.soa.ttl);
        let op = self.write(ctx, |s, now| {
            s.update_namespace(
                &input.id,
                NamespaceType::DnsPrivate,
                change.description,
                ttl,
                now,
            )
        })?;
        Ok(UpdatePrivateDnsNamespaceResponse {
            operation_id: Some(op),
        })
    }

    fn update_public_dns_namespace(
        &self,
        ctx: &RequestContext,
        input: UpdatePublicDnsNamespaceRequest,
    ) -> Result<UpdatePublicDnsNamespaceResponse, ApiError> {
        let change = input.namespace;
        let ttl = change.properties.map(|p| p.dns_properties.soa.ttl);
        let op = self.write(ctx, |s, now| {
            s.update_namespace(
                &input.id,
                NamespaceType::DnsPublic,
                change.description,
                ttl,
                now,
            )
        })?;
        Ok(UpdatePublicDnsNamespaceResponse {
            operation_id: Some(op),
        })
    }

    fn delete_namespace(
        &self,
        ctx: &RequestContext,
        input: DeleteNamespaceRequest,
    ) -> Result<DeleteNamespaceResponse, ApiError> {
        let op = self.write(ctx, |s, now| s.delete_namespace(&input.id, now))?;
        Ok(DeleteNamespaceResponse {
            operation_id: Some(op),
        })
    }

    fn get_operation(
        &self,
        ctx: &RequestContext,
        input: GetOperationRequest,
    ) -> Result<GetOperationResponse, ApiError> {
        self.read(ctx, |s, now| s.get_operation(&input.operation_id, now))
    }

    fn list_operations(
        &self,
        ctx: &RequestContext,
        input: ListOperationsRequest,
    ) -> Result<ListOperationsResponse, ApiError> {
        let page = self.read(ctx, |s, now| s.list_operations(input, now))?;
        Ok(ListOperationsResponse {
            operations: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn create_service(
        &self,
        ctx: &RequestContext,
        input: CreateServiceRequest,
    ) -> Result<CreateServiceResponse, ApiError> {
        let service = self.write(ctx, |s, now| s.create_service(input, now))?;
        Ok(CreateServiceResponse {
            service: Some(service),
        })
    }

    fn get_service(
        &self,
        ctx: &RequestContext,
        input: GetServiceRequest,
    ) -> Result<GetServiceResponse, ApiError> {
        let service = self.read(ctx, |s, _| s.get_service(&input.id))?;
        Ok(GetServiceResponse {
            service: Some(service),
        })
    }

    fn list_services(
        &self,
        ctx: &RequestContext,
        input: ListServicesRequest,
    ) -> Result<ListServicesResponse, ApiError> {
        let page = self.read(ctx, |s, _| s.list_services(input))?;
        Ok(ListServicesResponse {
            services: Some(page.items),
            next_token: page.next_token,
        })
    }

    fn update_service(
        &self,
        ctx: &RequestContext,
        input: UpdateServiceRequest,
    ) -> Result<UpdateServiceResponse, ApiError> {
        let op = self.write(ctx, |s, now| {
            s.update_service(&input.id, input.service, now)
        })?;
        Ok(UpdateServiceResponse {
            operation_id: Some(op),
        })
    }

    fn delete_service(
        &self,
        ctx: &RequestContext,
        input: DeleteServiceRequest,
    ) -> Result<DeleteServiceResponse, ApiError> {
        self.write(ctx, |s, _| s.delete_service(&input.id))?;
        Ok(DeleteServiceResponse {})
    }

    fn get_service_attributes(
        &self,
        ctx: &RequestContext,
        input: GetServiceAttributesRequest,
    ) -> Result<GetServiceAttributesResponse, ApiError> {
        let attributes = self.read(ctx, |s, _| s.get_service_attributes(&input.service_id))?;
        Ok(GetServiceAttributesResponse {
            service_attributes: Some(attributes),
        })
    }

    fn update_service_attributes(
        &self,
        ctx: &RequestContext,
        input: UpdateServiceAttributesRequest,
    ) -> Result<UpdateServiceAttributesResponse, ApiError> {
        self.write(ctx, |s, _| {
            s.update_service_attributes(&input.service_id, input.attributes)
        })?;
        Ok(UpdateServiceAttributesResponse {})
    }

    fn delete_service_attributes(
        &self,
        ctx: &RequestContext,
        input: DeleteServiceAttributesRequest,
    ) -> Result<DeleteServiceAttributesResponse, ApiError> {
        self.write(ctx, |s, _| {
            s.delete_service_attributes(&input.service_id, &input.attributes)
        })?;
        Ok(DeleteServiceAttributesResponse {})
    }

    fn register_instance(
        &self,
        ctx: &RequestContext,
        input: RegisterInstanceRequest,
    ) -> Result<RegisterInstanceResponse, ApiError> {
        let op = self.write(ctx, |s, now| s.register_instance(input, now))?;
        Ok(RegisterInstanceResponse {
            operation_id: Some(op),
        })
    }

    fn deregister_instance(
        &self,
        ctx: &RequestContext,
        input: DeregisterInstanceRequest,
    ) -> Result<DeregisterInstanceResponse, ApiError> {
        let op = self.write(ctx, |s, now| {
            s.deregister_instance(&input.service_id, &input.instance_id, now)
        })?;
        Ok(DeregisterInstanceResponse {
            operation_id: Some(op),
        })
    }

    fn get_instance(
        &self,
        ctx: &RequestContext,
        input: GetInstanceRequest,
    ) -> Result<GetInstanceResponse, ApiError> {
        let instance = self.read(ctx, |s, _| {
            s.get_instance(&input.service_id, &input.instance_id)
        })?;
        Ok(GetInstanceResponse {
            instance: Some(instance),
            resource_owner: Some(ctx.account_id.clone()),
        })
    }

    fn list_instances(
        &self,
        ctx: &RequestContext,
        input: ListInstancesRequest,
    ) -> Result<ListInstancesResponse, ApiError> {
        let page = self.read(ctx, |s, _| s.list_instances(&input))?;
        Ok(ListInstancesResponse {
            instances: Some(page.items),
            next_token: page.next_token,
            resource_owner: Some(ctx.account_id.clone()),
        })
    }

    fn get_instances_health_status(
        &self,
        ctx: &RequestContext,
        input: GetInstancesHealthStatusRequest,
    ) -> Result<GetInstancesHealthStatusResponse, ApiError> {
        self.read(ctx, |s, _| s.get_instances_health_status(&input))
    }

    fn update_instance_custom_health_status(
        &self,
        ctx: &RequestContext,
        input: UpdateInstanceCustomHealthStatusRequest,
    ) -> Result<Empty, ApiError> {
        self.write(ctx, |s, _| {
            s.update_instance_custom_health_status(
                &input.service_id,
                &input.instance_id,
                input.status,
            )
        })?;
        Ok(Empty {})
    }

    fn discover_instances(
        &self,
        ctx: &RequestContext,
        input: DiscoverInstancesRequest,
    ) -> Result<DiscoverInstancesResponse, ApiError> {
        let q = DiscoverQuery {
            namespace: input.namespace_name,
            service: input.service_name,
            max_results: input.max_results,
            query_parameters: input.query_parameters.unwrap_or_default(),
            optional_parameters: input.optional_parameters.unwrap_or_default(),
            health: input.health_status,
        };
        self.read(ctx, |s, now| s.discover_instances(&q, now))
    }

    fn discover_instances_revision(
        &self,
        ctx: &RequestContext,
        input: DiscoverInstancesRevisionRequest,
    ) -> Result<DiscoverInstancesRevisionResponse, ApiError> {
        let revision = self.read(ctx, |s, now| {
            s.discover_instances_revision(&input.namespace_name, &input.service_name, now)
        })?;
        Ok(DiscoverInstancesRevisionResponse {
            instances_revision: Some(revision),
        })
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse, ApiError> {
        self.write(ctx, |s, now| {
            s.tag_resource(&input.resource_arn, input.tags, now)
        })?;
        Ok(TagResourceResponse {})
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, ApiError> {
        self.write(ctx, |s, now| {
            s.untag_resource(&input.resource_arn, &input.tag_keys, now)
        })?;
        Ok(UntagResourceResponse {})
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ApiError> {
        let tags = self.read(ctx, |s, now| {
            s.list_tags_for_resource(&input.resource_arn, now)
        })?;
        Ok(ListTagsForResourceResponse { tags: Some(tags) })
    }
}
