//! ECR's control plane: repositories (tag mutability, scanning and encryption settings recorded,
//! policies, tags), images put by manifest (PutImage, BatchGetImage, BatchDeleteImage,
//! DescribeImages, ListImages, with real digests and sizes read from the manifest), lifecycle
//! policies applied when they or an image change, and authorization tokens. berth serves no
//! registry yet: repository URIs are ECR's names, which a client cannot push to.

pub mod api;
mod images;
mod lifecycle;
#[cfg(test)]
mod tests;

use crate::api_err;
use crate::aws::{ApiError, Timestamp};
use crate::store::{Part, Region, RegionInfo};
use crate::wire::ecr as wire;
use std::collections::BTreeMap;

pub struct Repository {
    pub data: wire::Repository,
    pub tags: Vec<wire::Tag>,
    pub policy: Option<String>,
    pub lifecycle: Option<(String, lifecycle::Policy)>,
    pub lifecycle_evaluated: Option<Timestamp>,
    /// Images by digest.
    pub images: BTreeMap<String, images::StoredImage>,
}

pub struct State {
    region: String,
    account_id: String,
    repositories: BTreeMap<String, Repository>,
    registry_policy: Option<String>,
}

impl Part for State {
    /// The reconcile loop reads no ECR state.
    const WAKES_SCHEDULER: bool = false;

    fn new(info: &RegionInfo) -> Self {
        State {
            region: info.name.to_owned(),
            account_id: info.account_id.to_owned(),
            repositories: BTreeMap::new(),
            registry_policy: None,
        }
    }

    fn of(region: &Region) -> &Self {
        &region.ecr
    }

    fn of_mut(region: &mut Region) -> &mut Self {
        &mut region.ecr
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::from_def(&wire::errors::InvalidParameterException, message)
}

/// ECR's repository names: lowercase letters, digits and `._-/` separators, 2 to 256 long.
fn check_name(name: &str) -> Result<(), ApiError> {
    let parts_ok = name.split('/').all(|part| {
        !part.is_empty()
            && part.split(['.', '_', '-']).all(|w| {
                !w.is_empty()
                    && w.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
    });
    if !(2..=256).contains(&name.len()) || !parts_ok {
        return Err(invalid(
            "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy \
             regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''",
        ));
    }
    Ok(())
}

fn check_tags(existing: &[wire::Tag], new: &[wire::Tag]) -> Result<(), ApiError> {
    for t in new {
        if !crate::aws::tags::key_length_ok(&t.key) || !crate::aws::tags::value_length_ok(&t.value)
        {
            return Err(api_err!(
                ecr::InvalidTagParameterException,
                "Invalid parameter at 'tags' failed to satisfy constraint: key or value length"
            ));
        }
    }
    let count = crate::aws::tags::count_after_merge(
        existing.len(),
        |k| existing.iter().any(|t| t.key == k),
        new.iter().map(|t| t.key.as_str()),
    );
    if count > crate::aws::tags::MAX_PER_RESOURCE {
        return Err(api_err!(
            ecr::TooManyTagsException,
            "Exceeded the maximum number of tags for a resource (50)"
        ));
    }
    Ok(())
}

fn merge_tags(tags: &mut Vec<wire::Tag>, new: Vec<wire::Tag>) {
    for t in new {
        match tags.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value,
            None => tags.push(t),
        }
    }
}

impl State {
    fn registry(&self, given: Option<&str>) -> Result<(), ApiError> {
        match given {
            Some(id) if id != self.account_id => Err(invalid(format!(
                "Invalid parameter at 'registryId' failed to satisfy constraint: 'registry {id} \
                 is not this account's'"
            ))),
            _ => Ok(()),
        }
    }

    fn not_found(&self, name: &str) -> ApiError {
        api_err!(
            ecr::RepositoryNotFoundException,
            "The repository with name '{name}' does not exist in the registry with id '{}'",
            self.account_id
        )
    }

    pub(crate) fn repo(&self, name: &str) -> Result<&Repository, ApiError> {
        self.repositories
            .get(name)
            .ok_or_else(|| self.not_found(name))
    }

    pub(crate) fn repo_mut(&mut self, name: &str) -> Result<&mut Repository, ApiError> {
        let missing = self.not_found(name);
        self.repositories.get_mut(name).ok_or(missing)
    }

    /// `<account>.dkr.ecr.<region>.amazonaws.com`: where ECR's names point.
    pub fn registry_host(&self) -> String {
        format!("{}.dkr.ecr.{}.amazonaws.com", self.account_id, self.region)
    }

    pub fn create_repository(
        &mut self,
        req: wire::CreateRepositoryRequest,
        now: Timestamp,
    ) -> Result<wire::Repository, ApiError> {
        self.registry(req.registry_id.as_deref())?;
        check_name(&req.repository_name)?;
        let tags = req.tags.unwrap_or_default();
        check_tags(&[], &tags)?;
        if self.repositories.contains_key(&req.repository_name) {
            return Err(api_err!(
                ecr::RepositoryAlreadyExistsException,
                "The repository with name '{}' already exists in the registry with id '{}'",
                req.repository_name,
                self.account_id
            ));
        }
        let name = req.repository_name;
        let data = wire::Repository {
            created_at: Some(now),
            encryption_configuration: Some(req.encryption_configuration.unwrap_or(
                wire::EncryptionConfiguration {
                    encryption_type: wire::EncryptionType::Aes256,
                    kms_key: None,
                },
            )),
            image_scanning_configuration: Some(req.image_scanning_configuration.unwrap_or(
                wire::ImageScanningConfiguration {
                    scan_on_push: Some(false),
                },
            )),
            image_tag_mutability: Some(
                req.image_tag_mutability
                    .unwrap_or(wire::ImageTagMutability::Mutable),
            ),
            image_tag_mutability_exclusion_filters: req.image_tag_mutability_exclusion_filters,
            registry_id: Some(self.account_id.clone()),
            repository_arn: Some(format!(
                "arn:aws:ecr:{}:{}:repository/{name}",
                self.region, self.account_id
            )),
            repository_uri: Some(format!("{}/{name}", self.registry_host())),
            repository_name: Some(name.clone()),
        };
        self.repositories.insert(
            name,
            Repository {
                data: data.clone(),
                tags,
                policy: None,
                lifecycle: None,
                lifecycle_evaluated: None,
                images: BTreeMap::new(),
            },
        );
        Ok(data)
    }

    pub fn delete_repository(
        &mut self,
        name: &str,
        force: bool,
        registry: Option<&str>,
    ) -> Result<wire::Repository, ApiError> {
        self.registry(registry)?;
        let repo = self.repo(name)?;
        if !repo.images.is_empty() && !force {
            return Err(api_err!(
                ecr::RepositoryNotEmptyException,
                "The repository with name '{name}' in registry with id '{}' cannot be deleted \
                 because it still contains images",
                self.account_id
            ));
        }
        let repo = self
            .repositories
            .remove(name)
            .ok_or_else(|| self.not_found(name))?;
        Ok(repo.data)
    }

    pub fn describe_repositories(
        &self,
        names: &[String],
        registry: Option<&str>,
    ) -> Result<Vec<wire::Repository>, ApiError> {
        self.registry(registry)?;
        if names.is_empty() {
            return Ok(self.repositories.values().map(|r| r.data.clone()).collect());
        }
        names
            .iter()
            .map(|n| self.repo(n).map(|r| r.data.clone()))
            .collect()
    }

    pub fn set_tag_mutability(
        &mut self,
        name: &str,
        mutability: wire::ImageTagMutability,
        filters: Option<Vec<wire::ImageTagMutabilityExclusionFilter>>,
    ) -> Result<(), ApiError> {
        if !mutability.is_known() {
            return Err(invalid(format!(
                "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: \
                 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE, \
                 IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]' ({mutability})"
            )));
        }
        let repo = self.repo_mut(name)?;
        repo.data.image_tag_mutability = Some(mutability);
        repo.data.image_tag_mutability_exclusion_filters = filters;
        Ok(())
    }

    pub fn set_scanning(
        &mut self,
        name: &str,
        config: wire::ImageScanningConfiguration,
    ) -> Result<(), ApiError> {
        self.repo_mut(name)?.data.image_scanning_configuration = Some(config);
        Ok(())
    }

    // Repository and registry policies.

    pub fn set_policy(&mut self, name: &str, text: String) -> Result<(), ApiError> {
        check_policy(&text)?;
        self.repo_mut(name)?.policy = Some(text);
        Ok(())
    }

    pub fn policy(&self, name: &str) -> Result<String, ApiError> {
        self.repo(name)?.policy.clone().ok_or_else(|| {
            api_err!(
                ecr::RepositoryPolicyNotFoundException,
                "Repository policy does not exist for the repository with name '{name}' in the \
                 registry with id '{}'",
                self.account_id
            )
        })
    }

    pub fn delete_policy(&mut self, name: &str) -> Result<String, ApiError> {
        let text = self.policy(name)?;
        self.repo_mut(name)?.policy = None;
        Ok(text)
    }

    pub fn set_registry_policy(&mut self, text: String) -> Result<(), ApiError> {
        check_policy(&text)?;
        self.registry_policy = Some(text);
        Ok(())
    }

    pub fn registry_policy(&self) -> Result<String, ApiError> {
        self.registry_policy.clone().ok_or_else(|| {
            api_err!(
                ecr::RegistryPolicyNotFoundException,
                "Registry policy does not exist in the registry with id '{}'",
                self.account_id
            )
        })
    }

    pub fn delete_registry_policy(&mut self) -> Result<String, ApiError> {
        let text = self.registry_policy()?;
        self.registry_policy = None;
        Ok(text)
    }

    // Tags, by repository ARN.

    fn repo_by_arn(&mut self, arn: &str) -> Result<&mut Repository, ApiError> {
        let name = arn
            .split_once(":repository/")
            .map(|(_, n)| n.to_owned())
            .ok_or_else(|| invalid(format!("Invalid parameter at 'resourceArn': {arn}")))?;
        self.repo_mut(&name)
    }

    pub fn tag(&mut self, arn: &str, tags: Vec<wire::Tag>) -> Result<(), ApiError> {
        let repo = self.repo_by_arn(arn)?;
        check_tags(&repo.tags, &tags)?;
        merge_tags(&mut repo.tags, tags);
        Ok(())
    }

    pub fn untag(&mut self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        self.repo_by_arn(arn)?
            .tags
            .retain(|t| !keys.contains(&t.key));
        Ok(())
    }

    pub fn tags(&mut self, arn: &str) -> Result<Vec<wire::Tag>, ApiError> {
        Ok(self.repo_by_arn(arn)?.tags.clone())
    }

    /// GetAuthorizationToken: base64 `AWS:<password>` valid for 12 hours. berth checks no
    /// password; the token has ECR's shape.
    pub fn authorization(&self, now: Timestamp) -> wire::AuthorizationData {
        let password = uuid::Uuid::new_v4().simple().to_string();
        wire::AuthorizationData {
            authorization_token: Some(aws_smithy_types::base64::encode(format!("AWS:{password}"))),
            expires_at: Some(Timestamp::from_secs_f64(now.as_secs_f64() + 12.0 * 3600.0)),
            proxy_endpoint: Some(format!("https://{}", self.registry_host())),
        }
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }
}

/// Repository and registry policies are IAM policy documents: JSON with statements.
fn check_policy(text: &str) -> Result<(), ApiError> {
    let ok = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .is_some_and(|v| v.get("Statement").is_some());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository \
             policy provided'",
        ))
    }
}
