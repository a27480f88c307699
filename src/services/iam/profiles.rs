//! Instance profiles: the container of (at most) one role that an EC2 instance is launched with.

use super::{
    State, check_name, check_path, check_tags, key, merge_tags, new_id, page, some_tags, under,
};
use crate::api_err;
use crate::aws::pagination::Page;
use crate::aws::{ApiError, Timestamp};
use crate::wire::iam as wire;

pub(super) struct InstanceProfile {
    pub name: String,
    pub id: String,
    pub arn: String,
    pub path: String,
    pub created: Timestamp,
    /// The role's name, if one was added.
    pub role: Option<String>,
    pub tags: Vec<wire::Tag>,
}

impl InstanceProfile {
    pub fn has_role(&self, role: &str) -> bool {
        self.role
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(role))
    }

    pub fn remove_role(&mut self, role: &str) {
        if self.has_role(role) {
            self.role = None;
        }
    }
}

fn no_such_profile(name: &str) -> ApiError {
    api_err!(
        iam::NoSuchEntityException,
        "Instance Profile {name} cannot be found."
    )
}

impl State {
    fn profile(&self, name: &str) -> Result<&InstanceProfile, ApiError> {
        self.profiles
            .get(&key(name))
            .ok_or_else(|| no_such_profile(name))
    }

    fn profile_mut(&mut self, name: &str) -> Result<&mut InstanceProfile, ApiError> {
        self.profiles
            .get_mut(&key(name))
            .ok_or_else(|| no_such_profile(name))
    }

    fn describe_profile(&self, p: &InstanceProfile, with_tags: bool) -> wire::InstanceProfile {
        wire::InstanceProfile {
            arn: p.arn.clone(),
            create_date: p.created,
            instance_profile_id: p.id.clone(),
            instance_profile_name: p.name.clone(),
            path: p.path.clone(),
            roles: p
                .role
                .iter()
                .filter_map(|r| self.roles.get(&key(r)))
                .map(|r| r.listed())
                .collect(),
            tags: if with_tags { some_tags(&p.tags) } else { None },
        }
    }

    pub fn create_instance_profile(
        &mut self,
        name: &str,
        path: Option<String>,
        tags: Vec<wire::Tag>,
        now: Timestamp,
    ) -> Result<wire::InstanceProfile, ApiError> {
        check_name("instanceProfileName", name, 128)?;
        let path = path.unwrap_or_else(|| "/".to_owned());
        check_path(&path)?;
        check_tags(&[], &tags)?;
        if self.profiles.contains_key(&key(name)) {
            return Err(api_err!(
                iam::EntityAlreadyExistsException,
                "Instance Profile {name} already exists."
            ));
        }
        let profile = InstanceProfile {
            name: name.to_owned(),
            id: new_id("AIPA"),
            arn: self.arn("instance-profile", &path, name),
            path,
            created: now,
            role: None,
            tags,
        };
        let out = self.describe_profile(&profile, true);
        self.profiles.insert(key(name), profile);
        Ok(out)
    }

    pub fn get_instance_profile(&self, name: &str) -> Result<wire::InstanceProfile, ApiError> {
        self.profile(name).map(|p| self.describe_profile(p, true))
    }

    pub fn delete_instance_profile(&mut self, name: &str) -> Result<(), ApiError> {
        if self.profile(name)?.role.is_some() {
            return Err(api_err!(
                iam::DeleteConflictException,
                "Cannot delete entity, must remove roles from instance profile first."
            ));
        }
        self.profiles.remove(&key(name));
        Ok(())
    }

    pub fn add_role_to_instance_profile(
        &mut self,
        profile: &str,
        role: &str,
    ) -> Result<(), ApiError> {
        let role_name = self.role(role)?.name.clone();
        let p = self.profile_mut(profile)?;
        if p.role.is_some() {
            return Err(api_err!(
                iam::LimitExceededException,
                "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"
            ));
        }
        p.role = Some(role_name);
        Ok(())
    }

    pub fn remove_role_from_instance_profile(
        &mut self,
        profile: &str,
        role: &str,
    ) -> Result<(), ApiError> {
        self.role(role)?;
        let p = self.profile_mut(profile)?;
        if !p.has_role(role) {
            return Err(api_err!(
                iam::NoSuchEntityException,
                "The role with name {role} cannot be found in instance profile {profile}."
            ));
        }
        p.role = None;
        Ok(())
    }

    pub fn list_instance_profiles(
        &self,
        role: Option<&str>,
        prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i32>,
    ) -> Result<Page<wire::InstanceProfile>, ApiError> {
        if let Some(r) = role {
            self.role(r)?;
        }
        let profiles = self
            .profiles
            .iter()
            .filter(|(_, p)| under(&p.path, prefix) && role.is_none_or(|r| p.has_role(r)));
        Ok(page(
            "instance-profiles",
            profiles,
            |(k, _)| (*k).clone(),
            marker,
            max_items,
        )?
        .map(|(_, p)| self.describe_profile(p, false)))
    }

    pub fn tag_instance_profile(
        &mut self,
        name: &str,
        tags: Vec<wire::Tag>,
    ) -> Result<(), ApiError> {
        let p = self.profile_mut(name)?;
        check_tags(&p.tags, &tags)?;
        merge_tags(&mut p.tags, tags);
        Ok(())
    }

    pub fn untag_instance_profile(&mut self, name: &str, keys: &[String]) -> Result<(), ApiError> {
        self.profile_mut(name)?
            .tags
            .retain(|t| !keys.contains(&t.key));
        Ok(())
    }

    pub fn instance_profile_tags(&self, name: &str) -> Result<Vec<wire::Tag>, ApiError> {
        Ok(self.profile(name)?.tags.clone())
    }
}
