//! Images, by digest: a manifest (Docker v2 schema 2, OCI image manifest or index) with its
//! tags. The digest is the manifest's SHA-256 (sha2); the size is what the manifest lists.

use super::{State, invalid};
use crate::api_err;
use crate::aws::{ApiError, Timestamp};
use crate::wire::ecr as wire;
use sha2::{Digest, Sha256};

pub struct StoredImage {
    pub digest: String,
    pub manifest: String,
    pub media_type: String,
    pub tags: Vec<String>,
    pub pushed_at: Timestamp,
    pub size: i64,
}

/// A tag: up to 300 of letters, digits, `_`, `.` and `-`, not starting with `.` or `-`.
fn check_tag(tag: &str) -> Result<(), ApiError> {
    let ok = (1..=300).contains(&tag.len())
        && !tag.starts_with(['.', '-'])
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "Invalid parameter at 'imageTag' failed to satisfy constraint: 'must satisfy regular \
             expression '[a-zA-Z0-9_][a-zA-Z0-9_.-]{{0,299}}'' ({tag})"
        )))
    }
}

/// The manifest's media type and the bytes it accounts for (its config and layers, or the
/// manifests an index lists).
fn read_manifest(manifest: &str, given: Option<&str>) -> Result<(String, i64), ApiError> {
    let value: serde_json::Value = serde_json::from_str(manifest).map_err(|_| {
        invalid("Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'")
    })?;
    let declared = value.get("mediaType").and_then(|m| m.as_str());
    let media_type = match (given, declared) {
        (Some(g), Some(d)) if g != d => {
            return Err(invalid(format!(
                "Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: \
                 'the manifest's media type {d} is not {g}'"
            )));
        }
        (Some(t), _) | (None, Some(t)) => t.to_owned(),
        (None, None) if value.get("schemaVersion").and_then(|v| v.as_i64()) == Some(1) => {
            "application/vnd.docker.distribution.manifest.v1+json".to_owned()
        }
        (None, None) => "application/vnd.oci.image.manifest.v1+json".to_owned(),
    };
    let size_of = |v: &serde_json::Value| v.get("size").and_then(|s| s.as_i64()).unwrap_or(0);
    let listed = |key: &str| -> i64 {
        value
            .get(key)
            .and_then(|l| l.as_array())
            .map(|l| l.iter().map(size_of).sum())
            .unwrap_or(0)
    };
    let size =
        value.get("config").map(size_of).unwrap_or(0) + listed("layers") + listed("manifests");
    Ok((media_type, size))
}

fn digest_of(manifest: &str) -> String {
    let hash = Sha256::digest(manifest.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

impl StoredImage {
    fn id(&self, tag: Option<&str>) -> wire::ImageIdentifier {
        wire::ImageIdentifier {
            image_digest: Some(self.digest.clone()),
            image_tag: tag.map(str::to_owned),
        }
    }

    fn matches(&self, id: &wire::ImageIdentifier) -> bool {
        id.image_digest.as_ref().is_none_or(|d| *d == self.digest)
            && id.image_tag.as_ref().is_none_or(|t| self.tags.contains(t))
    }
}

impl State {
    fn image_missing(&self, repo: &str, id: &wire::ImageIdentifier) -> ApiError {
        api_err!(
            ecr::ImageNotFoundException,
            "The image with imageId {{imageDigest:'{}', imageTag:'{}'}} does not exist within \
             the repository with name '{repo}' in the registry with id '{}'",
            id.image_digest.as_deref().unwrap_or("null"),
            id.image_tag.as_deref().unwrap_or("null"),
            self.account_id
        )
    }

    pub fn put_image(
        &mut self,
        repo_name: &str,
        manifest: String,
        media_type: Option<&str>,
        tag: Option<String>,
        digest: Option<&str>,
        now: Timestamp,
    ) -> Result<wire::Image, ApiError> {
        let (media_type, size) = read_manifest(&manifest, media_type)?;
        let computed = digest_of(&manifest);
        if let Some(d) = digest
            && d != computed
        {
            return Err(api_err!(
                ecr::ImageDigestDoesNotMatchException,
                "Invalid parameter at 'imageDigest' failed to satisfy constraint: 'the digest \
                 {d} does not match the manifest's {computed}'"
            ));
        }
        if let Some(t) = &tag {
            check_tag(t)?;
        }
        let account = self.account_id.clone();
        let repo = self.repo_mut(repo_name)?;
        let immutable = matches!(
            repo.data.image_tag_mutability,
            Some(wire::ImageTagMutability::Immutable)
        );
        let existing = repo.images.get(&computed);
        let already = match &tag {
            Some(t) => existing.is_some_and(|i| i.tags.contains(t)),
            None => existing.is_some(),
        };
        if already {
            return Err(api_err!(
                ecr::ImageAlreadyExistsException,
                "Image with digest '{computed}' and tag '{}' already exists in the repository \
                 with name '{repo_name}' in registry with id '{account}'",
                tag.as_deref().unwrap_or("null")
            ));
        }
        if let Some(t) = &tag {
            let elsewhere = repo
                .images
                .values()
                .any(|i| i.digest != computed && i.tags.contains(t));
            if elsewhere && immutable {
                return Err(api_err!(
                    ecr::ImageTagAlreadyExistsException,
                    "The image tag '{t}' already exists in the '{repo_name}' repository and \
                     cannot be overwritten because the repository is immutable."
                ));
            }
            // A mutable tag moves to the new image.
            for i in repo.images.values_mut() {
                i.tags.retain(|x| x != t);
            }
        }
        let image = repo
            .images
            .entry(computed.clone())
            .or_insert_with(|| StoredImage {
                digest: computed.clone(),
                manifest: manifest.clone(),
                media_type: media_type.clone(),
                tags: Vec::new(),
                pushed_at: now,
                size,
            });
        if let Some(t) = &tag {
            image.tags.push(t.clone());
        }
        let out = wire::Image {
            image_id: Some(image.id(tag.as_deref())),
            image_manifest: Some(manifest),
            image_manifest_media_type: Some(media_type),
            registry_id: Some(account),
            repository_name: Some(repo_name.to_owned()),
        };
        self.apply_lifecycle(repo_name, now);
        Ok(out)
    }

    pub fn batch_get_image(
        &self,
        repo_name: &str,
        ids: &[wire::ImageIdentifier],
    ) -> Result<(Vec<wire::Image>, Vec<wire::ImageFailure>), ApiError> {
        let repo = self.repo(repo_name)?;
        let mut images = Vec::new();
        let mut failures = Vec::new();
        for id in ids {
            if let Some(f) = missing_digest_and_tag(id) {
                failures.push(f);
                continue;
            }
            match repo.images.values().find(|i| i.matches(id)) {
                Some(i) => images.push(wire::Image {
                    image_id: Some(i.id(id.image_tag.as_deref())),
                    image_manifest: Some(i.manifest.clone()),
                    image_manifest_media_type: Some(i.media_type.clone()),
                    registry_id: Some(self.account_id.clone()),
                    repository_name: Some(repo_name.to_owned()),
                }),
                None => failures.push(failure(
                    id,
                    wire::ImageFailureCode::ImageNotFound,
                    "Requested image not found",
                )),
            }
        }
        Ok((images, failures))
    }

    /// Deletes images (by digest) or tags (by tag: the image goes with its last tag).
    pub fn batch_delete_image(
        &mut self,
        repo_name: &str,
        ids: &[wire::ImageIdentifier],
    ) -> Result<(Vec<wire::ImageIdentifier>, Vec<wire::ImageFailure>), ApiError> {
        let repo = self.repo_mut(repo_name)?;
        let mut deleted = Vec::new();
        let mut failures = Vec::new();
        for id in ids {
            if let Some(f) = missing_digest_and_tag(id) {
                failures.push(f);
                continue;
            }
            let Some(digest) = repo
                .images
                .values()
                .find(|i| i.matches(id))
                .map(|i| i.digest.clone())
            else {
                failures.push(failure(
                    id,
                    wire::ImageFailureCode::ImageNotFound,
                    "Requested image not found",
                ));
                continue;
            };
            match (&id.image_tag, repo.images.get_mut(&digest)) {
                (Some(tag), Some(image)) if image.tags.len() > 1 => {
                    image.tags.retain(|t| t != tag);
                    deleted.push(image.id(Some(tag)));
                }
                _ => {
                    if let Some(image) = repo.images.remove(&digest) {
                        deleted.push(image.id(id.image_tag.as_deref()));
                    }
                }
            }
        }
        Ok((deleted, failures))
    }

    pub fn describe_images(
        &self,
        repo_name: &str,
        ids: &[wire::ImageIdentifier],
        tag_status: Option<&wire::TagStatus>,
    ) -> Result<Vec<wire::ImageDetail>, ApiError> {
        let repo = self.repo(repo_name)?;
        let mut found: Vec<&StoredImage> = Vec::new();
        for id in ids {
            match repo.images.values().find(|i| i.matches(id)) {
                Some(i) => found.push(i),
                None => return Err(self.image_missing(repo_name, id)),
            }
        }
        if ids.is_empty() {
            found = repo
                .images
                .values()
                .filter(|i| tag_ok(i, tag_status))
                .collect();
        }
        found.sort_by(|a, b| {
            a.pushed_at
                .as_secs_f64()
                .total_cmp(&b.pushed_at.as_secs_f64())
        });
        found.dedup_by(|a, b| a.digest == b.digest);
        Ok(found
            .into_iter()
            .map(|i| wire::ImageDetail {
                image_digest: Some(i.digest.clone()),
                image_manifest_media_type: Some(i.media_type.clone()),
                image_pushed_at: Some(i.pushed_at),
                image_size_in_bytes: Some(i.size),
                image_tags: (!i.tags.is_empty()).then(|| i.tags.clone()),
                image_status: Some(wire::ImageStatus::Active),
                registry_id: Some(self.account_id.clone()),
                repository_name: Some(repo_name.to_owned()),
                ..Default::default()
            })
            .collect())
    }

    pub fn list_images(
        &self,
        repo_name: &str,
        tag_status: Option<&wire::TagStatus>,
    ) -> Result<Vec<wire::ImageIdentifier>, ApiError> {
        let repo = self.repo(repo_name)?;
        let mut out = Vec::new();
        for i in repo.images.values().filter(|i| tag_ok(i, tag_status)) {
            if i.tags.is_empty() {
                out.push(i.id(None));
            }
            out.extend(i.tags.iter().map(|t| i.id(Some(t))));
        }
        Ok(out)
    }
}

fn tag_ok(image: &StoredImage, status: Option<&wire::TagStatus>) -> bool {
    match status {
        Some(wire::TagStatus::Tagged) => !image.tags.is_empty(),
        Some(wire::TagStatus::Untagged) => image.tags.is_empty(),
        _ => true,
    }
}

/// An identifier with neither a digest nor a tag names nothing.
fn missing_digest_and_tag(id: &wire::ImageIdentifier) -> Option<wire::ImageFailure> {
    (id.image_digest.is_none() && id.image_tag.is_none()).then(|| {
        failure(
            id,
            wire::ImageFailureCode::MissingDigestAndTag,
            "Invalid request parameters: both tag and digest cannot be null",
        )
    })
}

fn failure(
    id: &wire::ImageIdentifier,
    code: wire::ImageFailureCode,
    reason: &str,
) -> wire::ImageFailure {
    wire::ImageFailure {
        failure_code: Some(code),
        failure_reason: Some(reason.to_owned()),
        image_id: Some(id.clone()),
    }
}
