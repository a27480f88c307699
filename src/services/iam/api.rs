//! The IAM API (AWS Query, 2010-05-08): each method reads or changes the account's IAM state —
//! the store's global part — and shapes the response.

use super::{NewPolicy, NewRole, State};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Empty, RequestContext, Timestamp};
use crate::services::Handler;
use crate::store::Store;
use crate::wire::iam::*;

pub struct Iam {
    store: Store,
}

impl Handler for Iam {
    fn new(store: &Store) -> Self {
        Iam {
            store: store.clone(),
        }
    }
}

impl Iam {
    fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        self.store.read_global(|g| f(&g.iam))
    }

    fn write<R>(&self, f: impl FnOnce(&mut State, Timestamp) -> R) -> R {
        let now = Timestamp::now();
        self.store.write_global(|g| f(&mut g.iam, now))
    }

    /// Runs a change that answers nothing.
    fn change(
        &self,
        f: impl FnOnce(&mut State, Timestamp) -> Result<(), ApiError>,
    ) -> Result<Empty, ApiError> {
        self.write(f).map(|()| Empty {})
    }
}

/// A page's items, `IsTruncated` and the `Marker` that continues it.
fn paged<T>(page: Page<T>) -> (Vec<T>, Option<bool>, Option<String>) {
    let truncated = Some(page.next_token.is_some());
    (page.items, truncated, page.next_token)
}

impl Api for Iam {
    // Roles.

    fn create_role(
        &self,
        _: &RequestContext,
        input: CreateRoleRequest,
    ) -> Result<CreateRoleResponse, ApiError> {
        let req = NewRole {
            name: input.role_name,
            path: input.path,
            trust_policy: input.assume_role_policy_document,
            description: input.description,
            max_session: input.max_session_duration,
            boundary: input.permissions_boundary,
            tags: input.tags.unwrap_or_default(),
        };
        let role = self.write(|s, now| s.create_role(req, now))?;
        Ok(CreateRoleResponse { role })
    }

    fn get_role(
        &self,
        _: &RequestContext,
        input: GetRoleRequest,
    ) -> Result<GetRoleResponse, ApiError> {
        let role = self.read(|s| s.get_role(&input.role_name))?;
        Ok(GetRoleResponse { role })
    }

    fn delete_role(&self, _: &RequestContext, input: DeleteRoleRequest) -> Result<Empty, ApiError> {
        self.change(|s, _| s.delete_role(&input.role_name))
    }

    fn list_roles(
        &self,
        _: &RequestContext,
        input: ListRolesRequest,
    ) -> Result<ListRolesResponse, ApiError> {
        let page = self.read(|s| {
            s.list_roles(
                input.path_prefix.as_deref(),
                input.marker.as_deref(),
                input.max_items,
            )
        })?;
        let (roles, is_truncated, marker) = paged(page);
        Ok(ListRolesResponse {
            roles,
            is_truncated,
            marker,
        })
    }

    fn update_role(
        &self,
        _: &RequestContext,
        input: UpdateRoleRequest,
    ) -> Result<UpdateRoleResponse, ApiError> {
        self.write(|s, _| {
            s.update_role(
                &input.role_name,
                input.description,
                input.max_session_duration,
            )
            .map(|_| ())
        })?;
        Ok(UpdateRoleResponse {})
    }

    fn update_role_description(
        &self,
        _: &RequestContext,
        input: UpdateRoleDescriptionRequest,
    ) -> Result<UpdateRoleDescriptionResponse, ApiError> {
        let role =
            self.write(|s, _| s.update_role(&input.role_name, Some(input.description), None))?;
        Ok(UpdateRoleDescriptionResponse { role: Some(role) })
    }

    fn update_assume_role_policy(
        &self,
        _: &RequestContext,
        input: UpdateAssumeRolePolicyRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| s.update_trust_policy(&input.role_name, input.policy_document))
    }

    fn put_role_permissions_boundary(
        &self,
        _: &RequestContext,
        input: PutRolePermissionsBoundaryRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| s.put_boundary(&input.role_name, Some(input.permissions_boundary)))
    }

    fn delete_role_permissions_boundary(
        &self,
        _: &RequestContext,
        input: DeleteRolePermissionsBoundaryRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| s.put_boundary(&input.role_name, None))
    }

    fn tag_role(&self, _: &RequestContext, input: TagRoleRequest) -> Result<Empty, ApiError> {
        self.change(|s, _| s.tag_role(&input.role_name, input.tags))
    }

    fn untag_role(&self, _: &RequestContext, input: UntagRoleRequest) -> Result<Empty, ApiError> {
        self.change(|s, _| s.untag_role(&input.role_name, &input.tag_keys))
    }

    fn list_role_tags(
        &self,
        _: &RequestContext,
        input: ListRoleTagsRequest,
    ) -> Result<ListRoleTagsResponse, ApiError> {
        let tags = self.read(|s| s.role_tags(&input.role_name))?;
        Ok(ListRoleTagsResponse {
            tags,
            is_truncated: Some(false),
            marker: None,
        })
    }

    // Inline policies.

    fn put_role_policy(
        &self,
        _: &RequestContext,
        input: PutRolePolicyRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| {
            s.put_role_policy(&input.role_name, &input.policy_name, input.policy_document)
        })
    }

    fn get_role_policy(
        &self,
        _: &RequestContext,
        input: GetRolePolicyRequest,
    ) -> Result<GetRolePolicyResponse, ApiError> {
        let (role_name, policy_name, policy_document) =
            self.read(|s| s.get_role_policy(&input.role_name, &input.policy_name))?;
        Ok(GetRolePolicyResponse {
            role_name,
            policy_name,
            policy_document,
        })
    }

    fn delete_role_policy(
        &self,
        _: &RequestContext,
        input: DeleteRolePolicyRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| s.delete_role_policy(&input.role_name, &input.policy_name))
    }

    fn list_role_policies(
        &self,
        _: &RequestContext,
        input: ListRolePoliciesRequest,
    ) -> Result<ListRolePoliciesResponse, ApiError> {
        let page = self.read(|s| {
            s.list_role_policies(&input.role_name, input.marker.as_deref(), input.max_items)
        })?;
        let (policy_names, is_truncated, marker) = paged(page);
        Ok(ListRolePoliciesResponse {
            policy_names,
            is_truncated,
            marker,
        })
    }

    // Managed policies.

    fn create_policy(
        &self,
        _: &RequestContext,
        input: CreatePolicyRequest,
    ) -> Result<CreatePolicyResponse, ApiError> {
        let req = NewPolicy {
            name: input.policy_name,
            path: input.path,
            document: input.policy_document,
            description: input.description,
            tags: input.tags.unwrap_or_default(),
        };
        let policy = self.write(|s, now| s.create_policy(req, now))?;
        Ok(CreatePolicyResponse {
            policy: Some(policy),
        })
    }

    fn get_policy(
        &self,
        _: &RequestContext,
        input: GetPolicyRequest,
    ) -> Result<GetPolicyResponse, ApiError> {
        let policy = self.read(|s| s.get_policy(&input.policy_arn))?;
        Ok(GetPolicyResponse {
            policy: Some(policy),
        })
    }

    fn delete_policy(
        &self,
        _: &RequestContext,
        input: DeletePolicyRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| s.delete_policy(&input.policy_arn))
    }

    fn list_policies(
        &self,
        _: &RequestContext,
        input: ListPoliciesRequest,
    ) -> Result<ListPoliciesResponse, ApiError> {
        let page = self.read(|s| {
            s.list_policies(
                input.scope.as_ref(),
                input.only_attached.unwrap_or(false),
                input.path_prefix.as_deref(),
                input.marker.as_deref(),
                input.max_items,
            )
        })?;
        let (policies, is_truncated, marker) = paged(page);
        Ok(ListPoliciesResponse {
            policies: Some(policies),
            is_truncated,
            marker,
        })
    }

    fn tag_policy(&self, _: &RequestContext, input: TagPolicyRequest) -> Result<Empty, ApiError> {
        self.change(|s, _| s.tag_policy(&input.policy_arn, input.tags))
    }

    fn untag_policy(
        &self,
        _: &RequestContext,
        input: UntagPolicyRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| s.untag_policy(&input.policy_arn, &input.tag_keys))
    }

    fn list_policy_tags(
        &self,
        _: &RequestContext,
        input: ListPolicyTagsRequest,
    ) -> Result<ListPolicyTagsResponse, ApiError> {
        let tags = self.read(|s| s.policy_tags(&input.policy_arn))?;
        Ok(ListPolicyTagsResponse {
            tags,
            is_truncated: Some(false),
            marker: None,
        })
    }

    fn create_policy_version(
        &self,
        _: &RequestContext,
        input: CreatePolicyVersionRequest,
    ) -> Result<CreatePolicyVersionResponse, ApiError> {
        let version = self.write(|s, now| {
            s.create_policy_version(
                &input.policy_arn,
                input.policy_document,
                input.set_as_default.unwrap_or(false),
                now,
            )
        })?;
        Ok(CreatePolicyVersionResponse {
            policy_version: Some(version),
        })
    }

    fn get_policy_version(
        &self,
        _: &RequestContext,
        input: GetPolicyVersionRequest,
    ) -> Result<GetPolicyVersionResponse, ApiError> {
        let version = self.read(|s| s.get_policy_version(&input.policy_arn, &input.version_id))?;
        Ok(GetPolicyVersionResponse {
            policy_version: Some(version),
        })
    }

    fn list_policy_versions(
        &self,
        _: &RequestContext,
        input: ListPolicyVersionsRequest,
    ) -> Result<ListPolicyVersionsResponse, ApiError> {
        let page = self.read(|s| {
            s.list_policy_versions(&input.policy_arn, input.marker.as_deref(), input.max_items)
        })?;
        let (versions, is_truncated, marker) = paged(page);
        Ok(ListPolicyVersionsResponse {
            versions: Some(versions),
            is_truncated,
            marker,
        })
    }

    fn delete_policy_version(
        &self,
        _: &RequestContext,
        input: DeletePolicyVersionRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| s.delete_policy_version(&input.policy_arn, &input.version_id))
    }

    fn set_default_policy_version(
        &self,
        _: &RequestContext,
        input: SetDefaultPolicyVersionRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, now| {
            s.set_default_policy_version(&input.policy_arn, &input.version_id, now)
        })
    }

    fn attach_role_policy(
        &self,
        _: &RequestContext,
        input: AttachRolePolicyRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| s.attach_role_policy(&input.role_name, &input.policy_arn))
    }

    fn detach_role_policy(
        &self,
        _: &RequestContext,
        input: DetachRolePolicyRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| s.detach_role_policy(&input.role_name, &input.policy_arn))
    }

    fn list_attached_role_policies(
        &self,
        _: &RequestContext,
        input: ListAttachedRolePoliciesRequest,
    ) -> Result<ListAttachedRolePoliciesResponse, ApiError> {
        let page = self.read(|s| {
            s.list_attached_role_policies(
                &input.role_name,
                input.path_prefix.as_deref(),
                input.marker.as_deref(),
                input.max_items,
            )
        })?;
        let (attached, is_truncated, marker) = paged(page);
        Ok(ListAttachedRolePoliciesResponse {
            attached_policies: Some(attached),
            is_truncated,
            marker,
        })
    }

    fn list_entities_for_policy(
        &self,
        _: &RequestContext,
        input: ListEntitiesForPolicyRequest,
    ) -> Result<ListEntitiesForPolicyResponse, ApiError> {
        let page = self.read(|s| {
            s.entities_for_policy(&input.policy_arn, input.marker.as_deref(), input.max_items)
        })?;
        let wants_roles = input
            .entity_filter
            .as_ref()
            .is_none_or(|f| *f == EntityType::Role);
        let (roles, is_truncated, marker) = paged(page);
        Ok(ListEntitiesForPolicyResponse {
            policy_roles: Some(if wants_roles { roles } else { Vec::new() }),
            policy_groups: Some(Vec::new()),
            policy_users: Some(Vec::new()),
            is_truncated,
            marker,
        })
    }

    // Instance profiles.

    fn create_instance_profile(
        &self,
        _: &RequestContext,
        input: CreateInstanceProfileRequest,
    ) -> Result<CreateInstanceProfileResponse, ApiError> {
        let instance_profile = self.write(|s, now| {
            s.create_instance_profile(
                &input.instance_profile_name,
                input.path,
                input.tags.unwrap_or_default(),
                now,
            )
        })?;
        Ok(CreateInstanceProfileResponse { instance_profile })
    }

    fn get_instance_profile(
        &self,
        _: &RequestContext,
        input: GetInstanceProfileRequest,
    ) -> Result<GetInstanceProfileResponse, ApiError> {
        let instance_profile =
            self.read(|s| s.get_instance_profile(&input.instance_profile_name))?;
        Ok(GetInstanceProfileResponse { instance_profile })
    }

    fn delete_instance_profile(
        &self,
        _: &RequestContext,
        input: DeleteInstanceProfileRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| s.delete_instance_profile(&input.instance_profile_name))
    }

    fn add_role_to_instance_profile(
        &self,
        _: &RequestContext,
        input: AddRoleToInstanceProfileRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| {
            s.add_role_to_instance_profile(&input.instance_profile_name, &input.role_name)
        })
    }

    fn remove_role_from_instance_profile(
        &self,
        _: &RequestContext,
        input: RemoveRoleFromInstanceProfileRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| {
            s.remove_role_from_instance_profile(&input.instance_profile_name, &input.role_name)
        })
    }

    fn list_instance_profiles(
        &self,
        _: &RequestContext,
        input: ListInstanceProfilesRequest,
    ) -> Result<ListInstanceProfilesResponse, ApiError> {
        let page = self.read(|s| {
            s.list_instance_profiles(
                None,
                input.path_prefix.as_deref(),
                input.marker.as_deref(),
                input.max_items,
            )
        })?;
        let (instance_profiles, is_truncated, marker) = paged(page);
        Ok(ListInstanceProfilesResponse {
            instance_profiles,
            is_truncated,
            marker,
        })
    }

    fn list_instance_profiles_for_role(
        &self,
        _: &RequestContext,
        input: ListInstanceProfilesForRoleRequest,
    ) -> Result<ListInstanceProfilesForRoleResponse, ApiError> {
        let page = self.read(|s| {
            s.list_instance_profiles(
                Some(&input.role_name),
                None,
                input.marker.as_deref(),
                input.max_items,
            )
        })?;
        let (instance_profiles, is_truncated, marker) = paged(page);
        Ok(ListInstanceProfilesForRoleResponse {
            instance_profiles,
            is_truncated,
            marker,
        })
    }

    fn tag_instance_profile(
        &self,
        _: &RequestContext,
        input: TagInstanceProfileRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| s.tag_instance_profile(&input.instance_profile_name, input.tags))
    }

    fn untag_instance_profile(
        &self,
        _: &RequestContext,
        input: UntagInstanceProfileRequest,
    ) -> Result<Empty, ApiError> {
        self.change(|s, _| s.untag_instance_profile(&input.instance_profile_name, &input.tag_keys))
    }

    fn list_instance_profile_tags(
        &self,
        _: &RequestContext,
        input: ListInstanceProfileTagsRequest,
    ) -> Result<ListInstanceProfileTagsResponse, ApiError> {
        let tags = self.read(|s| s.instance_profile_tags(&input.instance_profile_name))?;
        Ok(ListInstanceProfileTagsResponse {
            tags,
            is_truncated: Some(false),
            marker: None,
        })
    }

    // Service-linked roles.

    fn create_service_linked_role(
        &self,
        _: &RequestContext,
        input: CreateServiceLinkedRoleRequest,
    ) -> Result<CreateServiceLinkedRoleResponse, ApiError> {
        let role = self.write(|s, now| {
            s.create_service_linked_role(
                &input.aws_service_name,
                input.custom_suffix.as_deref(),
                input.description,
                now,
            )
        })?;
        Ok(CreateServiceLinkedRoleResponse { role: Some(role) })
    }

    fn delete_service_linked_role(
        &self,
        _: &RequestContext,
        input: DeleteServiceLinkedRoleRequest,
    ) -> Result<DeleteServiceLinkedRoleResponse, ApiError> {
        let task = self.write(|s, _| s.delete_service_linked_role(&input.role_name))?;
        Ok(DeleteServiceLinkedRoleResponse {
            deletion_task_id: task,
        })
    }

    fn get_service_linked_role_deletion_status(
        &self,
        _: &RequestContext,
        input: GetServiceLinkedRoleDeletionStatusRequest,
    ) -> Result<GetServiceLinkedRoleDeletionStatusResponse, ApiError> {
        let status = self.read(|s| s.deletion_status(&input.deletion_task_id))?;
        Ok(GetServiceLinkedRoleDeletionStatusResponse {
            status,
            reason: None,
        })
    }

    // Users: berth has none; the caller is the account root.

    fn get_user(
        &self,
        ctx: &RequestContext,
        input: GetUserRequest,
    ) -> Result<GetUserResponse, ApiError> {
        if let Some(name) = input.user_name {
            return Err(api_err!(
                iam::NoSuchEntityException,
                "The user with name {name} cannot be found."
            ));
        }
        Ok(GetUserResponse {
            user: User {
                arn: crate::aws::arn::root_principal(&ctx.account_id),
                user_id: ctx.account_id.clone(),
                path: "/".to_owned(),
                create_date: Timestamp::default(),
                ..Default::default()
            },
        })
    }
}
