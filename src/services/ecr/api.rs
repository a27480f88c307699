//! The ECR API (JSON 1.1, `AmazonEC2ContainerRegistry_V20150921`): each method reads or changes
//! the region's ECR state through the store and shapes the response. Layer uploads, pull
//! through cache, replication, signing and scanning findings are not served yet.

use super::State;
use crate::aws::pagination::Pager;
use crate::aws::{ApiError, RequestContext, Timestamp};
use crate::services::Handler;
use crate::store::Store;
use crate::wire::ecr::*;

pub struct Ecr {
    store: Store,
}

impl Handler for Ecr {
    fn new(store: &Store) -> Self {
        Ecr {
            store: store.clone(),
        }
    }
}

impl Ecr {
    fn read<R>(&self, ctx: &RequestContext, f: impl FnOnce(&State) -> R) -> R {
        self.store.read(&ctx.region, |s: &State| f(s))
    }

    fn write<R>(&self, ctx: &RequestContext, f: impl FnOnce(&mut State, Timestamp) -> R) -> R {
        let now = Timestamp::now();
        self.store.write(&ctx.region, |s: &mut State| f(s, now))
    }
}

const PAGER: Pager = Pager {
    kind: "ecr",
    bad_size: |n, max| {
        super::invalid(format!(
            "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have \
             value between 1 and {max}' ({n})"
        ))
    },
    bad_token: || super::invalid("Invalid parameter at 'nextToken': invalid token"),
};

impl Api for Ecr {
    fn create_repository(
        &self,
        ctx: &RequestContext,
        input: CreateRepositoryRequest,
    ) -> Result<CreateRepositoryResponse, ApiError> {
        let repository = self.write(ctx, |s, now| s.create_repository(input, now))?;
        Ok(CreateRepositoryResponse {
            repository: Some(repository),
        })
    }

    fn delete_repository(
        &self,
        ctx: &RequestContext,
        input: DeleteRepositoryRequest,
    ) -> Result<DeleteRepositoryResponse, ApiError> {
        let repository = self.write(ctx, |s, _| {
            s.delete_repository(
                &input.repository_name,
                input.force.unwrap_or(false),
                input.registry_id.as_deref(),
            )
        })?;
        Ok(DeleteRepositoryResponse {
            repository: Some(repository),
        })
    }

    fn describe_repositories(
        &self,
        ctx: &RequestContext,
        input: DescribeRepositoriesRequest,
    ) -> Result<DescribeRepositoriesResponse, ApiError> {
        let names = input.repository_names.unwrap_or_default();
        if !names.is_empty() && (input.max_results.is_some() || input.next_token.is_some()) {
            return Err(super::invalid(
                "Invalid parameter at 'maxResults' failed to satisfy constraint: 'maxResults \
                 and nextToken cannot be used with repositoryNames'",
            ));
        }
        let found = self.read(ctx, |s| {
            s.describe_repositories(&names, input.registry_id.as_deref())
        })?;
        let (repositories, next_token) = PAGER.sorted_page(
            found,
            |r| r.repository_name.clone().unwrap_or_default(),
            input.max_results,
            input.next_token.as_deref(),
            1000,
        )?;
        Ok(DescribeRepositoriesResponse {
            repositories: Some(repositories),
            next_token,
        })
    }

    fn put_image_tag_mutability(
        &self,
        ctx: &RequestContext,
        input: PutImageTagMutabilityRequest,
    ) -> Result<PutImageTagMutabilityResponse, ApiError> {
        self.write(ctx, |s, _| {
            s.set_tag_mutability(
                &input.repository_name,
                input.image_tag_mutability.clone(),
                input.image_tag_mutability_exclusion_filters.clone(),
            )
        })?;
        Ok(PutImageTagMutabilityResponse {
            image_tag_mutability: Some(input.image_tag_mutability),
            image_tag_mutability_exclusion_filters: input.image_tag_mutability_exclusion_filters,
            registry_id: Some(self.read(ctx, |s| s.account_id().to_owned())),
            repository_name: Some(input.repository_name),
        })
    }

    fn put_image_scanning_configuration(
        &self,
        ctx: &RequestContext,
        input: PutImageScanningConfigurationRequest,
    ) -> Result<PutImageScanningConfigurationResponse, ApiError> {
        let config = input.image_scanning_configuration.clone();
        let registry = self.write(ctx, |s, _| {
            s.set_scanning(&input.repository_name, config)
                .map(|()| s.account_id().to_owned())
        })?;
        Ok(PutImageScanningConfigurationResponse {
            image_scanning_configuration: Some(input.image_scanning_configuration),
            registry_id: Some(registry),
            repository_name: Some(input.repository_name),
        })
    }

    // Images.

    fn put_image(
        &self,
        ctx: &RequestContext,
        input: PutImageRequest,
    ) -> Result<PutImageResponse, ApiError> {
        let image = self.write(ctx, |s, now| {
            s.put_image(
                &input.repository_name,
                input.image_manifest,
                input.image_manifest_media_type.as_deref(),
                input.image_tag,
                input.image_digest.as_deref(),
                now,
            )
        })?;
        Ok(PutImageResponse { image: Some(image) })
    }

    fn batch_get_image(
        &self,
        ctx: &RequestContext,
        input: BatchGetImageRequest,
    ) -> Result<BatchGetImageResponse, ApiError> {
        let (images, failures) = self.read(ctx, |s| {
            s.batch_get_image(&input.repository_name, &input.image_ids)
        })?;
        Ok(BatchGetImageResponse {
            images: Some(images),
            failures: Some(failures),
        })
    }

    fn batch_delete_image(
        &self,
        ctx: &RequestContext,
        input: BatchDeleteImageRequest,
    ) -> Result<BatchDeleteImageResponse, ApiError> {
        let (image_ids, failures) = self.write(ctx, |s, _| {
            s.batch_delete_image(&input.repository_name, &input.image_ids)
        })?;
        Ok(BatchDeleteImageResponse {
            image_ids: Some(image_ids),
            failures: Some(failures),
        })
    }

    fn describe_images(
        &self,
        ctx: &RequestContext,
        input: DescribeImagesRequest,
    ) -> Result<DescribeImagesResponse, ApiError> {
        let status = input.filter.and_then(|f| f.tag_status);
        let found = self.read(ctx, |s| {
            s.describe_images(
                &input.repository_name,
                &input.image_ids.unwrap_or_default(),
                status.as_ref(),
            )
        })?;
        let (image_details, next_token) = PAGER.sorted_page(
            found,
            |d| d.image_digest.clone().unwrap_or_default(),
            input.max_results,
            input.next_token.as_deref(),
            1000,
        )?;
        Ok(DescribeImagesResponse {
            image_details: Some(image_details),
            next_token,
        })
    }

    fn list_images(
        &self,
        ctx: &RequestContext,
        input: ListImagesRequest,
    ) -> Result<ListImagesResponse, ApiError> {
        let status = input.filter.and_then(|f| f.tag_status);
        let found = self.read(ctx, |s| {
            s.list_images(&input.repository_name, status.as_ref())
        })?;
        let (image_ids, next_token) = PAGER.sorted_page(
            found,
            |i| {
                format!(
                    "{}\u{0}{}",
                    i.image_digest.as_deref().unwrap_or_default(),
                    i.image_tag.as_deref().unwrap_or_default()
                )
            },
            input.max_results,
            input.next_token.as_deref(),
            1000,
        )?;
        Ok(ListImagesResponse {
            image_ids: Some(image_ids),
            next_token,
        })
    }

    fn batch_check_layer_availability(
        &self,
        ctx: &RequestContext,
        input: BatchCheckLayerAvailabilityRequest,
    ) -> Result<BatchCheckLayerAvailabilityResponse, ApiError> {
        self.read(ctx, |s| s.repo(&input.repository_name).map(|_| ()))?;
        // berth stores no layers yet: every layer is one to upload.
        let failures = input
            .layer_digests
            .into_iter()
            .map(|d| LayerFailure {
                failure_code: Some(LayerFailureCode::MissingLayerDigest),
                failure_reason: Some("Layer not found".to_owned()),
                layer_digest: Some(d),
            })
            .collect();
        Ok(BatchCheckLayerAvailabilityResponse {
            layers: Some(Vec::new()),
            failures: Some(failures),
        })
    }

    // Lifecycle policies.

    fn put_lifecycle_policy(
        &self,
        ctx: &RequestContext,
        input: PutLifecyclePolicyRequest,
    ) -> Result<PutLifecyclePolicyResponse, ApiError> {
        let text = input.lifecycle_policy_text.clone();
        let registry = self.write(ctx, |s, now| {
            s.put_lifecycle_policy(&input.repository_name, text, now)
                .map(|()| s.account_id().to_owned())
        })?;
        Ok(PutLifecyclePolicyResponse {
            lifecycle_policy_text: Some(input.lifecycle_policy_text),
            registry_id: Some(registry),
            repository_name: Some(input.repository_name),
        })
    }

    fn get_lifecycle_policy(
        &self,
        ctx: &RequestContext,
        input: GetLifecyclePolicyRequest,
    ) -> Result<GetLifecyclePolicyResponse, ApiError> {
        let (text, evaluated, registry) = self.read(ctx, |s| {
            s.lifecycle_policy(&input.repository_name)
                .map(|(t, e)| (t, e, s.account_id().to_owned()))
        })?;
        Ok(GetLifecyclePolicyResponse {
            lifecycle_policy_text: Some(text),
            last_evaluated_at: evaluated,
            registry_id: Some(registry),
            repository_name: Some(input.repository_name),
        })
    }

    fn delete_lifecycle_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteLifecyclePolicyRequest,
    ) -> Result<DeleteLifecyclePolicyResponse, ApiError> {
        let (text, evaluated, registry) = self.write(ctx, |s, _| {
            s.delete_lifecycle_policy(&input.repository_name)
                .map(|(t, e)| (t, e, s.account_id().to_owned()))
        })?;
        Ok(DeleteLifecyclePolicyResponse {
            lifecycle_policy_text: Some(text),
            last_evaluated_at: evaluated,
            registry_id: Some(registry),
            repository_name: Some(input.repository_name),
        })
    }

    // Policies.

    fn set_repository_policy(
        &self,
        ctx: &RequestContext,
        input: SetRepositoryPolicyRequest,
    ) -> Result<SetRepositoryPolicyResponse, ApiError> {
        let text = input.policy_text.clone();
        let registry = self.write(ctx, |s, _| {
            s.set_policy(&input.repository_name, text)
                .map(|()| s.account_id().to_owned())
        })?;
        Ok(SetRepositoryPolicyResponse {
            policy_text: Some(input.policy_text),
            registry_id: Some(registry),
            repository_name: Some(input.repository_name),
        })
    }

    fn get_repository_policy(
        &self,
        ctx: &RequestContext,
        input: GetRepositoryPolicyRequest,
    ) -> Result<GetRepositoryPolicyResponse, ApiError> {
        let (text, registry) = self.read(ctx, |s| {
            s.policy(&input.repository_name)
                .map(|t| (t, s.account_id().to_owned()))
        })?;
        Ok(GetRepositoryPolicyResponse {
            policy_text: Some(text),
            registry_id: Some(registry),
            repository_name: Some(input.repository_name),
        })
    }

    fn delete_repository_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteRepositoryPolicyRequest,
    ) -> Result<DeleteRepositoryPolicyResponse, ApiError> {
        let (text, registry) = self.write(ctx, |s, _| {
            s.delete_policy(&input.repository_name)
                .map(|t| (t, s.account_id().to_owned()))
        })?;
        Ok(DeleteRepositoryPolicyResponse {
            policy_text: Some(text),
            registry_id: Some(registry),
            repository_name: Some(input.repository_name),
        })
    }

    fn put_registry_policy(
        &self,
        ctx: &RequestContext,
        input: PutRegistryPolicyRequest,
    ) -> Result<PutRegistryPolicyResponse, ApiError> {
        let text = input.policy_text.clone();
        let registry = self.write(ctx, |s, _| {
            s.set_registry_policy(text)
                .map(|()| s.account_id().to_owned())
        })?;
        Ok(PutRegistryPolicyResponse {
            policy_text: Some(input.policy_text),
            registry_id: Some(registry),
        })
    }

    fn get_registry_policy(
        &self,
        ctx: &RequestContext,
        _: GetRegistryPolicyRequest,
    ) -> Result<GetRegistryPolicyResponse, ApiError> {
        let (text, registry) = self.read(ctx, |s| {
            s.registry_policy().map(|t| (t, s.account_id().to_owned()))
        })?;
        Ok(GetRegistryPolicyResponse {
            policy_text: Some(text),
            registry_id: Some(registry),
        })
    }

    fn delete_registry_policy(
        &self,
        ctx: &RequestContext,
        _: DeleteRegistryPolicyRequest,
    ) -> Result<DeleteRegistryPolicyResponse, ApiError> {
        let (text, registry) = self.write(ctx, |s, _| {
            s.delete_registry_policy()
                .map(|t| (t, s.account_id().to_owned()))
        })?;
        Ok(DeleteRegistryPolicyResponse {
            policy_text: Some(text),
            registry_id: Some(registry),
        })
    }

    // Tags, the registry, tokens.

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse, ApiError> {
        self.write(ctx, |s, _| s.tag(&input.resource_arn, input.tags))?;
        Ok(TagResourceResponse {})
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, ApiError> {
        self.write(ctx, |s, _| s.untag(&input.resource_arn, &input.tag_keys))?;
        Ok(UntagResourceResponse {})
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ApiError> {
        let tags = self.write(ctx, |s, _| s.tags(&input.resource_arn))?;
        Ok(ListTagsForResourceResponse { tags: Some(tags) })
    }

    fn describe_registry(
        &self,
        ctx: &RequestContext,
        _: DescribeRegistryRequest,
    ) -> Result<DescribeRegistryResponse, ApiError> {
        Ok(DescribeRegistryResponse {
            registry_id: Some(self.read(ctx, |s| s.account_id().to_owned())),
            replication_configuration: Some(ReplicationConfiguration { rules: Vec::new() }),
        })
    }

    fn get_registry_scanning_configuration(
        &self,
        ctx: &RequestContext,
        _: GetRegistryScanningConfigurationRequest,
    ) -> Result<GetRegistryScanningConfigurationResponse, ApiError> {
        Ok(GetRegistryScanningConfigurationResponse {
            registry_id: Some(self.read(ctx, |s| s.account_id().to_owned())),
            scanning_configuration: Some(RegistryScanningConfiguration {
                rules: Some(Vec::new()),
                scan_type: Some(ScanType::Basic),
            }),
        })
    }

    fn get_authorization_token(
        &self,
        ctx: &RequestContext,
        _: GetAuthorizationTokenRequest,
    ) -> Result<GetAuthorizationTokenResponse, ApiError> {
        let data = self.read(ctx, |s| s.authorization(Timestamp::now()));
        Ok(GetAuthorizationTokenResponse {
            authorization_data: Some(vec![data]),
        })
    }
}
