//! Managed policies: the account's own (customer managed, with up to five versions) and AWS's,
//! and their attachment to roles.

use super::managed::{Managed, catalogue};
use super::{
    State, check_document, check_name, check_path, check_tags, encode_document, merge_tags, new_id,
    page, some_tags, under,
};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::wire::iam as wire;

/// The most versions a customer managed policy keeps.
const MAX_VERSIONS: usize = 5;

pub(super) struct Policy {
    pub name: String,
    pub id: String,
    pub arn: String,
    pub path: String,
    pub description: Option<String>,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub default_version: String,
    /// `(version id, document, created)`, oldest first.
    pub versions: Vec<(String, String, Timestamp)>,
    /// The number the next version gets (`v<n>`; numbers are not reused).
    pub next_version: u32,
    pub tags: Vec<wire::Tag>,
}

/// What CreatePolicy asks for.
pub struct NewPolicy {
    pub name: String,
    pub path: Option<String>,
    pub document: String,
    pub description: Option<String>,
    pub tags: Vec<wire::Tag>,
}

fn not_attachable(arn: &str) -> ApiError {
    api_err!(
        iam::NoSuchEntityException,
        "Policy {arn} does not exist or is not attachable."
    )
}

fn check_arn(arn: &str) -> Result<(), ApiError> {
    if crate::aws::arn::parse(arn).is_some_and(|a| a.service == "iam") {
        Ok(())
    } else {
        Err(api_err!(
            iam::InvalidInputException,
            "ARN {arn} is not valid."
        ))
    }
}

fn no_such_version(arn: &str, version: &str) -> ApiError {
    api_err!(
        iam::NoSuchEntityException,
        "Policy {arn} version {version} does not exist or is not attachable."
    )
}

impl State {
    /// Whether `arn` names a managed policy, the account's or AWS's.
    pub(super) fn policy_exists(&self, arn: &str) -> bool {
        self.policies.contains_key(arn) || catalogue().contains_key(arn)
    }

    fn attachments(&self, arn: &str) -> i32 {
        self.roles
            .values()
            .filter(|r| r.attached.iter().any(|a| a == arn))
            .count() as i32
    }

    fn boundary_uses(&self, arn: &str) -> i32 {
        self.roles
            .values()
            .filter(|r| r.boundary.as_deref() == Some(arn))
            .count() as i32
    }

    fn describe_own(&self, p: &Policy, with_tags: bool) -> wire::Policy {
        wire::Policy {
            arn: Some(p.arn.clone()),
            attachment_count: Some(self.attachments(&p.arn)),
            create_date: Some(p.created),
            default_version_id: Some(p.default_version.clone()),
            description: p.description.clone(),
            is_attachable: Some(true),
            path: Some(p.path.clone()),
            permissions_boundary_usage_count: Some(self.boundary_uses(&p.arn)),
            policy_id: Some(p.id.clone()),
            policy_name: Some(p.name.clone()),
            tags: if with_tags { some_tags(&p.tags) } else { None },
            update_date: Some(p.updated),
        }
    }

    fn describe_managed(&self, m: &Managed) -> wire::Policy {
        let arn = m.arn();
        wire::Policy {
            attachment_count: Some(self.attachments(&arn)),
            create_date: Some(m.created()),
            default_version_id: Some(m.version.clone()),
            is_attachable: Some(true),
            path: Some(m.path.clone()),
            permissions_boundary_usage_count: Some(self.boundary_uses(&arn)),
            // AWS managed policies' ids are AWS's; berth derives a stable one from the name.
            policy_id: Some(stable_id(&m.name)),
            policy_name: Some(m.name.clone()),
            update_date: Some(m.updated()),
            arn: Some(arn),
            ..Default::default()
        }
    }

    fn own(&self, arn: &str) -> Result<&Policy, ApiError> {
        self.policies.get(arn).ok_or_else(|| not_attachable(arn))
    }

    fn own_mut(&mut self, arn: &str) -> Result<&mut Policy, ApiError> {
        self.policies
            .get_mut(arn)
            .ok_or_else(|| not_attachable(arn))
    }

    pub fn create_policy(
        &mut self,
        req: NewPolicy,
        now: Timestamp,
    ) -> Result<wire::Policy, ApiError> {
        check_name("policyName", &req.name, 128)?;
        let path = req.path.unwrap_or_else(|| "/".to_owned());
        check_path(&path)?;
        check_document(&req.document)?;
        check_tags(&[], &req.tags)?;
        let arn = self.arn("policy", &path, &req.name);
        let taken = self
            .policies
            .values()
            .any(|p| p.name.eq_ignore_ascii_case(&req.name));
        if taken {
            return Err(api_err!(
                iam::EntityAlreadyExistsException,
                "A policy called {} already exists. Duplicate names are not allowed.",
                req.name
            ));
        }
        let policy = Policy {
            name: req.name,
            id: new_id("ANPA"),
            arn: arn.clone(),
            path,
            description: req.description,
            created: now,
            updated: now,
            default_version: "v1".to_owned(),
            versions: vec![("v1".to_owned(), req.document, now)],
            next_version: 2,
            tags: req.tags,
        };
        let out = self.describe_own(&policy, true);
        self.policies.insert(arn, policy);
        Ok(out)
    }

    pub fn get_policy(&self, arn: &str) -> Result<wire::Policy, ApiError> {
        check_arn(arn)?;
        if let Some(p) = self.policies.get(arn) {
            return Ok(self.describe_own(p, true));
        }
        catalogue()
            .get(arn)
            .map(|m| self.describe_managed(m))
            .ok_or_else(|| not_attachable(arn))
    }

    pub fn delete_policy(&mut self, arn: &str) -> Result<(), ApiError> {
        check_arn(arn)?;
        let p = self.own(arn)?;
        if self.attachments(arn) > 0 || self.boundary_uses(arn) > 0 {
            return Err(api_err!(
                iam::DeleteConflictException,
                "Cannot delete a policy attached to entities."
            ));
        }
        if p.versions.len() > 1 {
            return Err(api_err!(
                iam::DeleteConflictException,
                "This policy has more than one version. Before you delete a policy, you must \
                 delete the policy's versions. The default version is deleted with the policy."
            ));
        }
        self.policies.remove(arn);
        Ok(())
    }

    pub fn list_policies(
        &self,
        scope: Option<&wire::PolicyScopeType>,
        only_attached: bool,
        prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i32>,
    ) -> Result<Page<wire::Policy>, ApiError> {
        let (aws, local) = match scope {
            Some(wire::PolicyScopeType::Aws) => (true, false),
            Some(wire::PolicyScopeType::Local) => (false, true),
            _ => (true, true),
        };
        let mut all: Vec<wire::Policy> = Vec::new();
        if local {
            all.extend(self.policies.values().map(|p| self.describe_own(p, false)));
        }
        if aws {
            all.extend(catalogue().values().map(|m| self.describe_managed(m)));
        }
        all.retain(|p| {
            under(p.path.as_deref().unwrap_or("/"), prefix)
                && (!only_attached || p.attachment_count.unwrap_or(0) > 0)
        });
        all.sort_by(|a, b| a.arn.cmp(&b.arn));
        page(
            "policies",
            all,
            |p| p.arn.clone().unwrap_or_default(),
            marker,
            max_items,
        )
    }

    pub fn tag_policy(&mut self, arn: &str, tags: Vec<wire::Tag>) -> Result<(), ApiError> {
        let p = self.own_mut(arn)?;
        check_tags(&p.tags, &tags)?;
        merge_tags(&mut p.tags, tags);
        Ok(())
    }

    pub fn untag_policy(&mut self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        self.own_mut(arn)?.tags.retain(|t| !keys.contains(&t.key));
        Ok(())
    }

    pub fn policy_tags(&self, arn: &str) -> Result<Vec<wire::Tag>, ApiError> {
        if catalogue().contains_key(arn) {
            return Ok(Vec::new());
        }
        Ok(self.own(arn)?.tags.clone())
    }

    // Versions.

    pub fn create_policy_version(
        &mut self,
        arn: &str,
        document: String,
        set_as_default: bool,
        now: Timestamp,
    ) -> Result<wire::PolicyVersion, ApiError> {
        check_arn(arn)?;
        check_document(&document)?;
        let p = self.own_mut(arn)?;
        if p.versions.len() >= MAX_VERSIONS {
            return Err(api_err!(
                iam::LimitExceededException,
                "A managed policy can have up to {MAX_VERSIONS} versions. Before you create a \
                 new version, you must delete an existing version."
            ));
        }
        let id = format!("v{}", p.next_version);
        p.next_version += 1;
        p.versions.push((id.clone(), document, now));
        p.updated = now;
        if set_as_default {
            p.default_version = id.clone();
        }
        Ok(wire::PolicyVersion {
            create_date: Some(now),
            document: None,
            is_default_version: Some(set_as_default),
            version_id: Some(id),
        })
    }

    pub fn get_policy_version(
        &self,
        arn: &str,
        version: &str,
    ) -> Result<wire::PolicyVersion, ApiError> {
        check_arn(arn)?;
        if let Some(m) = catalogue().get(arn) {
            return if m.version == version {
                Ok(wire::PolicyVersion {
                    create_date: Some(m.updated()),
                    document: Some(encode_document(&m.document)),
                    is_default_version: Some(true),
                    version_id: Some(version.to_owned()),
                })
            } else {
                Err(no_such_version(arn, version))
            };
        }
        let p = self.own(arn)?;
        p.versions
            .iter()
            .find(|(id, ..)| id == version)
            .map(|(id, doc, created)| wire::PolicyVersion {
                create_date: Some(*created),
                document: Some(encode_document(doc)),
                is_default_version: Some(*id == p.default_version),
                version_id: Some(id.clone()),
            })
            .ok_or_else(|| no_such_version(arn, version))
    }

    pub fn list_policy_versions(
        &self,
        arn: &str,
        marker: Option<&str>,
        max_items: Option<i32>,
    ) -> Result<Page<wire::PolicyVersion>, ApiError> {
        check_arn(arn)?;
        let versions: Vec<wire::PolicyVersion> = match catalogue().get(arn) {
            Some(m) => vec![wire::PolicyVersion {
                create_date: Some(m.updated()),
                document: None,
                is_default_version: Some(true),
                version_id: Some(m.version.clone()),
            }],
            None => {
                let p = self.own(arn)?;
                // Newest first, as IAM lists them.
                p.versions
                    .iter()
                    .rev()
                    .map(|(id, _, created)| wire::PolicyVersion {
                        create_date: Some(*created),
                        document: None,
                        is_default_version: Some(*id == p.default_version),
                        version_id: Some(id.clone()),
                    })
                    .collect()
            }
        };
        // Version ids sort by number only when padded; the page key keeps IAM's order.
        let keyed = versions.into_iter().enumerate();
        Ok(page(
            "policy-versions",
            keyed,
            |(i, _)| format!("{i:04}"),
            marker,
            max_items,
        )?
        .map(|(_, v)| v))
    }

    pub fn delete_policy_version(&mut self, arn: &str, version: &str) -> Result<(), ApiError> {
        check_arn(arn)?;
        let p = self.own_mut(arn)?;
        if p.default_version == version {
            return Err(api_err!(
                iam::DeleteConflictException,
                "Cannot delete the default version of a policy."
            ));
        }
        let before = p.versions.len();
        p.versions.retain(|(id, ..)| id != version);
        if p.versions.len() == before {
            return Err(no_such_version(arn, version));
        }
        Ok(())
    }

    pub fn set_default_policy_version(
        &mut self,
        arn: &str,
        version: &str,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        check_arn(arn)?;
        let p = self.own_mut(arn)?;
        if !p.versions.iter().any(|(id, ..)| id == version) {
            return Err(no_such_version(arn, version));
        }
        p.default_version = version.to_owned();
        p.updated = now;
        Ok(())
    }

    // Attachments.

    pub fn attach_role_policy(&mut self, role: &str, arn: &str) -> Result<(), ApiError> {
        check_arn(arn)?;
        self.role(role)?;
        if !self.policy_exists(arn) {
            return Err(not_attachable(arn));
        }
        let r = self.role_mut(role)?;
        if !r.attached.iter().any(|a| a == arn) {
            r.attached.push(arn.to_owned());
        }
        Ok(())
    }

    pub fn detach_role_policy(&mut self, role: &str, arn: &str) -> Result<(), ApiError> {
        check_arn(arn)?;
        let r = self.role_mut(role)?;
        let before = r.attached.len();
        r.attached.retain(|a| a != arn);
        if r.attached.len() == before {
            return Err(api_err!(
                iam::NoSuchEntityException,
                "Policy {arn} was not found."
            ));
        }
        Ok(())
    }

    pub fn list_attached_role_policies(
        &self,
        role: &str,
        prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i32>,
    ) -> Result<Page<wire::AttachedPolicy>, ApiError> {
        let attached: Vec<wire::AttachedPolicy> = self
            .role(role)?
            .attached
            .iter()
            .filter(|arn| under(&self.policy_path(arn), prefix))
            .map(|arn| wire::AttachedPolicy {
                policy_arn: Some(arn.clone()),
                policy_name: arn.rsplit('/').next().map(str::to_owned),
            })
            .collect();
        page(
            "attached-role-policies",
            attached,
            |p| p.policy_arn.clone().unwrap_or_default(),
            marker,
            max_items,
        )
    }

    fn policy_path(&self, arn: &str) -> String {
        self.policies
            .get(arn)
            .map(|p| p.path.clone())
            .or_else(|| catalogue().get(arn).map(|m| m.path.clone()))
            .unwrap_or_else(|| "/".to_owned())
    }

    /// The roles a policy is attached to (berth has no users or groups), as
    /// ListEntitiesForPolicy lists them.
    pub fn entities_for_policy(
        &self,
        arn: &str,
        marker: Option<&str>,
        max_items: Option<i32>,
    ) -> Result<Page<wire::PolicyRole>, ApiError> {
        check_arn(arn)?;
        if !self.policy_exists(arn) {
            return Err(not_attachable(arn));
        }
        let roles = self
            .roles
            .iter()
            .filter(|(_, r)| r.attached.iter().any(|a| a == arn));
        Ok(page(
            "policy-entities",
            roles,
            |(k, _)| (*k).clone(),
            marker,
            max_items,
        )?
        .map(|(_, r)| wire::PolicyRole {
            role_id: Some(r.id.clone()),
            role_name: Some(r.name.clone()),
        }))
    }
}

/// An id for an AWS managed policy that stays the same from one run to the next.
fn stable_id(name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // FNV-1a over the name: the same in every run, unlike the std hasher's random keys.
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in name.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    let tail: String = (0..17)
        .map(|i| ALPHABET[((h >> (i * 5)) & 31) as usize] as char)
        .collect();
    format!("ANPA{tail}")
}
