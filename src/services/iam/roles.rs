//! Roles: their trust policy, inline policies, attached managed policies, permissions boundary
//! and tags; service-linked roles.

use super::{
    State, check_document, check_name, check_path, check_tags, encode_document, key, merge_tags,
    new_id, page, some_tags, under, validation,
};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::wire::iam as wire;
use std::collections::BTreeMap;

const DEFAULT_MAX_SESSION: i32 = 3600;

pub(super) struct Role {
    pub name: String,
    pub id: String,
    pub arn: String,
    pub path: String,
    pub trust_policy: String,
    pub description: Option<String>,
    pub max_session: i32,
    pub boundary: Option<String>,
    pub tags: Vec<wire::Tag>,
    pub created: Timestamp,
    /// Inline policies by lowercased name: (name, document).
    pub inline: BTreeMap<String, (String, String)>,
    /// Attached managed policies' ARNs, in attachment order.
    pub attached: Vec<String>,
}

/// What CreateRole asks for.
pub struct NewRole {
    pub name: String,
    pub path: Option<String>,
    pub trust_policy: String,
    pub description: Option<String>,
    pub max_session: Option<i32>,
    pub boundary: Option<String>,
    pub tags: Vec<wire::Tag>,
}

impl Role {
    /// The role as GetRole and CreateRole describe it.
    pub fn describe(&self) -> wire::Role {
        wire::Role {
            permissions_boundary: self.boundary.as_ref().map(|arn| {
                wire::AttachedPermissionsBoundary {
                    permissions_boundary_arn: Some(arn.clone()),
                    permissions_boundary_type: Some(
                        wire::PermissionsBoundaryAttachmentType::PermissionsBoundaryPolicy,
                    ),
                }
            }),
            tags: some_tags(&self.tags),
            role_last_used: Some(wire::RoleLastUsed::default()),
            ..self.listed()
        }
    }

    /// The role as ListRoles and instance profiles list it (no tags, boundary or last use).
    pub fn listed(&self) -> wire::Role {
        wire::Role {
            arn: self.arn.clone(),
            assume_role_policy_document: Some(encode_document(&self.trust_policy)),
            create_date: self.created,
            description: self.description.clone(),
            max_session_duration: Some(self.max_session),
            path: self.path.clone(),
            role_id: self.id.clone(),
            role_name: self.name.clone(),
            ..Default::default()
        }
    }
}

fn check_max_session(seconds: i32) -> Result<(), ApiError> {
    if !(3600..=43200).contains(&seconds) {
        return Err(validation(format_args!(
            "Value '{seconds}' at 'maxSessionDuration' failed to satisfy constraint: Member must \
             have value between 3600 and 43200"
        )));
    }
    Ok(())
}

fn check_description(description: Option<&str>) -> Result<(), ApiError> {
    if description.is_some_and(|d| d.chars().count() > 1000) {
        return Err(validation(
            "Value at 'description' failed to satisfy constraint: Member must have length less \
             than or equal to 1000",
        ));
    }
    Ok(())
}

fn no_such_role(name: &str) -> ApiError {
    api_err!(
        iam::NoSuchEntityException,
        "The role with name {name} cannot be found."
    )
}

impl State {
    pub(super) fn role(&self, name: &str) -> Result<&Role, ApiError> {
        self.roles.get(&key(name)).ok_or_else(|| no_such_role(name))
    }

    pub(super) fn role_mut(&mut self, name: &str) -> Result<&mut Role, ApiError> {
        self.roles
            .get_mut(&key(name))
            .ok_or_else(|| no_such_role(name))
    }

    pub fn create_role(&mut self, req: NewRole, now: Timestamp) -> Result<wire::Role, ApiError> {
        check_name("roleName", &req.name, 64)?;
        let path = req.path.unwrap_or_else(|| "/".to_owned());
        check_path(&path)?;
        check_document(&req.trust_policy)?;
        check_description(req.description.as_deref())?;
        if let Some(s) = req.max_session {
            check_max_session(s)?;
        }
        check_tags(&[], &req.tags)?;
        if let Some(arn) = &req.boundary {
            self.check_boundary(arn)?;
        }
        if self.roles.contains_key(&key(&req.name)) {
            return Err(api_err!(
                iam::EntityAlreadyExistsException,
                "Role with name {} already exists.",
                req.name
            ));
        }
        let role = Role {
            arn: self.arn("role", &path, &req.name),
            id: new_id("AROA"),
            name: req.name,
            path,
            trust_policy: req.trust_policy,
            description: req.description,
            max_session: req.max_session.unwrap_or(DEFAULT_MAX_SESSION),
            boundary: req.boundary,
            tags: req.tags,
            created: now,
            inline: BTreeMap::new(),
            attached: Vec::new(),
        };
        let out = role.describe();
        self.roles.insert(key(&role.name), role);
        Ok(out)
    }

    pub fn get_role(&self, name: &str) -> Result<wire::Role, ApiError> {
        self.role(name).map(Role::describe)
    }

    pub fn delete_role(&mut self, name: &str) -> Result<(), ApiError> {
        let role = self.role(name)?;
        let conflict = |what: &str| {
            Err(api_err!(
                iam::DeleteConflictException,
                "Cannot delete entity, must {what} first."
            ))
        };
        if self.profiles.values().any(|p| p.has_role(&role.name)) {
            return conflict("remove roles from instance profile");
        }
        if !role.attached.is_empty() {
            return conflict("detach all policies");
        }
        if !role.inline.is_empty() {
            return conflict("delete policies");
        }
        self.roles.remove(&key(name));
        Ok(())
    }

    pub fn list_roles(
        &self,
        prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i32>,
    ) -> Result<Page<wire::Role>, ApiError> {
        let roles = self.roles.iter().filter(|(_, r)| under(&r.path, prefix));
        Ok(
            page("roles", roles, |(k, _)| (*k).clone(), marker, max_items)?
                .map(|(_, r)| r.listed()),
        )
    }

    pub fn update_role(
        &mut self,
        name: &str,
        description: Option<String>,
        max_session: Option<i32>,
    ) -> Result<wire::Role, ApiError> {
        check_description(description.as_deref())?;
        if let Some(s) = max_session {
            check_max_session(s)?;
        }
        let role = self.role_mut(name)?;
        if description.is_some() {
            role.description = description;
        }
        if let Some(s) = max_session {
            role.max_session = s;
        }
        Ok(role.describe())
    }

    pub fn update_trust_policy(&mut self, name: &str, document: String) -> Result<(), ApiError> {
        check_document(&document)?;
        self.role_mut(name)?.trust_policy = document;
        Ok(())
    }

    pub fn put_boundary(&mut self, name: &str, arn: Option<String>) -> Result<(), ApiError> {
        if let Some(arn) = &arn {
            self.check_boundary(arn)?;
        }
        self.role_mut(name)?.boundary = arn;
        Ok(())
    }

    fn check_boundary(&self, arn: &str) -> Result<(), ApiError> {
        if self.policy_exists(arn) {
            Ok(())
        } else {
            Err(api_err!(
                iam::InvalidInputException,
                "Scope ARN: {arn} does not exist or is not attachable."
            ))
        }
    }

    pub fn tag_role(&mut self, name: &str, tags: Vec<wire::Tag>) -> Result<(), ApiError> {
        let role = self.role_mut(name)?;
        check_tags(&role.tags, &tags)?;
        merge_tags(&mut role.tags, tags);
        Ok(())
    }

    pub fn untag_role(&mut self, name: &str, keys: &[String]) -> Result<(), ApiError> {
        self.role_mut(name)?.tags.retain(|t| !keys.contains(&t.key));
        Ok(())
    }

    pub fn role_tags(&self, name: &str) -> Result<Vec<wire::Tag>, ApiError> {
        Ok(self.role(name)?.tags.clone())
    }

    // Inline policies.

    pub fn put_role_policy(
        &mut self,
        role: &str,
        policy: &str,
        document: String,
    ) -> Result<(), ApiError> {
        check_name("policyName", policy, 128)?;
        check_document(&document)?;
        self.role_mut(role)?
            .inline
            .insert(key(policy), (policy.to_owned(), document));
        Ok(())
    }

    /// The inline policy's (role name, policy name, URL-encoded document).
    pub fn get_role_policy(
        &self,
        role: &str,
        policy: &str,
    ) -> Result<(String, String, String), ApiError> {
        let r = self.role(role)?;
        let (name, doc) = r
            .inline
            .get(&key(policy))
            .ok_or_else(|| no_such_inline(role, policy))?;
        Ok((r.name.clone(), name.clone(), encode_document(doc)))
    }

    pub fn delete_role_policy(&mut self, role: &str, policy: &str) -> Result<(), ApiError> {
        self.role_mut(role)?
            .inline
            .remove(&key(policy))
            .map(|_| ())
            .ok_or_else(|| no_such_inline(role, policy))
    }

    pub fn list_role_policies(
        &self,
        role: &str,
        marker: Option<&str>,
        max_items: Option<i32>,
    ) -> Result<Page<String>, ApiError> {
        let r = self.role(role)?;
        Ok(page(
            "role-policies",
            r.inline.iter(),
            |(k, _)| (*k).clone(),
            marker,
            max_items,
        )?
        .map(|(_, (name, _))| name.clone()))
    }

    // Service-linked roles.

    pub fn create_service_linked_role(
        &mut self,
        service: &str,
        suffix: Option<&str>,
        description: Option<String>,
        now: Timestamp,
    ) -> Result<wire::Role, ApiError> {
        let Some((role_name, policy)) = service_linked(service) else {
            return Err(api_err!(
                iam::InvalidInputException,
                "Service name {service} is not a valid service name or does not support \
                 service-linked roles."
            ));
        };
        let name = match suffix {
            Some(s) => format!("{role_name}_{s}"),
            None => role_name.to_owned(),
        };
        if self.roles.contains_key(&key(&name)) {
            return Err(api_err!(
                iam::InvalidInputException,
                "Service role name {name} has been taken in this account, please try a \
                 different suffix."
            ));
        }
        let trust = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": [service]},
                "Action": ["sts:AssumeRole"],
            }],
        });
        let created = self.create_role(
            NewRole {
                name,
                path: Some(format!("/aws-service-role/{service}/")),
                trust_policy: trust.to_string(),
                description,
                max_session: None,
                boundary: None,
                tags: Vec::new(),
            },
            now,
        )?;
        let arn = format!("arn:aws:iam::aws:policy/aws-service-role/{policy}");
        if let Ok(role) = self.role_mut(&created.role_name) {
            role.attached.push(arn);
        }
        Ok(created)
    }

    /// Deletes a service-linked role at once; the deletion task's id.
    pub fn delete_service_linked_role(&mut self, name: &str) -> Result<String, ApiError> {
        let role = self.role(name)?;
        if !role.path.starts_with("/aws-service-role/") {
            return Err(api_err!(
                iam::InvalidInputException,
                "Role {name} is not a service-linked role."
            ));
        }
        let task = format!("task{}{}/{}", role.path, role.name, uuid::Uuid::new_v4());
        let role_name = role.name.clone();
        if let Some(r) = self.roles.get_mut(&key(name)) {
            r.attached.clear();
            r.inline.clear();
        }
        self.profiles
            .values_mut()
            .for_each(|p| p.remove_role(&role_name));
        self.roles.remove(&key(name));
        self.deletion_tasks.insert(task.clone(), role_name);
        Ok(task)
    }

    pub fn deletion_status(&self, task: &str) -> Result<wire::DeletionTaskStatusType, ApiError> {
        if self.deletion_tasks.contains_key(task) {
            Ok(wire::DeletionTaskStatusType::Succeeded)
        } else {
            Err(api_err!(
                iam::NoSuchEntityException,
                "Deletion task {task} cannot be found."
            ))
        }
    }
}

fn no_such_inline(role: &str, policy: &str) -> ApiError {
    api_err!(
        iam::NoSuchEntityException,
        "The role policy with name {policy} cannot be found for role {role}."
    )
}

/// The service-linked roles of the services an ECS deployment touches: the role's name and the
/// AWS managed policy (under `aws-service-role/`) it carries.
fn service_linked(service: &str) -> Option<(&'static str, &'static str)> {
    Some(match service {
        "ecs.amazonaws.com" => ("AWSServiceRoleForECS", "AmazonECSServiceRolePolicy"),
        "elasticloadbalancing.amazonaws.com" => (
            "AWSServiceRoleForElasticLoadBalancing",
            "AWSElasticLoadBalancingServiceRolePolicy",
        ),
        "autoscaling.amazonaws.com" => (
            "AWSServiceRoleForAutoScaling",
            "AutoScalingServiceRolePolicy",
        ),
        "ecs.application-autoscaling.amazonaws.com" => (
            "AWSServiceRoleForApplicationAutoScaling_ECSService",
            "AWSApplicationAutoscalingECSServicePolicy",
        ),
        "ecr.amazonaws.com" => (
            "AWSServiceRoleForECRReplication",
            "ECRReplicationServiceRolePolicy",
        ),
        "spot.amazonaws.com" => ("AWSServiceRoleForEC2Spot", "AWSEC2SpotServiceRolePolicy"),
        _ => return None,
    })
}
