//! Lifecycle policies: rules by priority, each selecting images (tagged with a prefix or a
//! pattern, untagged, any) and expiring those beyond a count or older than some days. Each image
//! is judged by the first rule that selects it, as ECR documents. berth evaluates the policy
//! when it is put and after each image push (ECR does it within a day).

use super::{State, invalid};
use crate::api_err;
use crate::aws::wildcard;
use crate::aws::{ApiError, Timestamp};
use serde::Deserialize;

#[derive(Deserialize, Clone)]
pub struct Policy {
    rules: Vec<Rule>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Rule {
    rule_priority: i64,
    selection: Selection,
    action: Action,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Selection {
    tag_status: String,
    #[serde(default)]
    tag_prefix_list: Vec<String>,
    #[serde(default)]
    tag_pattern_list: Vec<String>,
    count_type: String,
    #[serde(default)]
    count_unit: Option<String>,
    count_number: i64,
}

#[derive(Deserialize, Clone)]
struct Action {
    #[serde(rename = "type")]
    kind: String,
}

fn failure(why: &str) -> ApiError {
    invalid(format!(
        "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle \
         policy validation failure: {why}'"
    ))
}

impl Policy {
    pub fn parse(text: &str) -> Result<Policy, ApiError> {
        let policy: Policy = serde_json::from_str(text).map_err(|e| failure(&e.to_string()))?;
        if policy.rules.is_empty() {
            return Err(failure("at least one rule is required"));
        }
        let mut priorities: Vec<i64> = policy.rules.iter().map(|r| r.rule_priority).collect();
        priorities.sort_unstable();
        priorities.dedup();
        if priorities.len() != policy.rules.len() || priorities.first().is_some_and(|p| *p < 1) {
            return Err(failure("rulePriority must be unique and positive"));
        }
        for r in &policy.rules {
            let s = &r.selection;
            if !matches!(s.tag_status.as_str(), "tagged" | "untagged" | "any") {
                return Err(failure("tagStatus must be tagged, untagged or any"));
            }
            if s.tag_status == "tagged"
                && s.tag_prefix_list.is_empty()
                && s.tag_pattern_list.is_empty()
            {
                return Err(failure(
                    "tagPrefixList or tagPatternList is required when tagStatus is tagged",
                ));
            }
            match (s.count_type.as_str(), s.count_unit.as_deref()) {
                ("imageCountMoreThan", None) | ("sinceImagePushed", Some("days")) => {}
                _ => {
                    return Err(failure(
                        "countType must be imageCountMoreThan, or sinceImagePushed with \
                         countUnit days",
                    ));
                }
            }
            if s.count_number < 1 {
                return Err(failure("countNumber must be at least 1"));
            }
            if r.action.kind != "expire" {
                return Err(failure("action type must be expire"));
            }
        }
        Ok(policy)
    }
}

impl Selection {
    fn selects(&self, tags: &[String]) -> bool {
        match self.tag_status.as_str() {
            "untagged" => tags.is_empty(),
            "any" => true,
            _ => tags.iter().any(|t| {
                self.tag_prefix_list
                    .iter()
                    .any(|p| t.starts_with(p.as_str()))
                    || self
                        .tag_pattern_list
                        .iter()
                        .any(|p| wildcard::matches(p, t, false))
            }),
        }
    }
}

impl State {
    pub fn put_lifecycle_policy(
        &mut self,
        repo: &str,
        text: String,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let policy = Policy::parse(&text)?;
        self.repo_mut(repo)?.lifecycle = Some((text, policy));
        self.apply_lifecycle(repo, now);
        Ok(())
    }

    pub fn lifecycle_policy(&self, repo: &str) -> Result<(String, Option<Timestamp>), ApiError> {
        let r = self.repo(repo)?;
        match &r.lifecycle {
            Some((text, _)) => Ok((text.clone(), r.lifecycle_evaluated)),
            None => Err(api_err!(
                ecr::LifecyclePolicyNotFoundException,
                "Lifecycle policy does not exist for the repository with name '{repo}' in the \
                 registry with id '{}'",
                self.account_id
            )),
        }
    }

    pub fn delete_lifecycle_policy(
        &mut self,
        repo: &str,
    ) -> Result<(String, Option<Timestamp>), ApiError> {
        let out = self.lifecycle_policy(repo)?;
        self.repo_mut(repo)?.lifecycle = None;
        Ok(out)
    }

    /// Expires what the repository's policy says is expired.
    pub(super) fn apply_lifecycle(&mut self, repo: &str, now: Timestamp) {
        let Ok(r) = self.repo_mut(repo) else { return };
        let Some((_, policy)) = r.lifecycle.clone() else {
            return;
        };
        r.lifecycle_evaluated = Some(now);
        let mut rules = policy.rules;
        rules.sort_by_key(|rule| rule.rule_priority);
        // Newest first: a count keeps the newest images.
        let mut images: Vec<(String, Vec<String>, f64)> = r
            .images
            .values()
            .map(|i| (i.digest.clone(), i.tags.clone(), i.pushed_at.as_secs_f64()))
            .collect();
        images.sort_by(|a, b| b.2.total_cmp(&a.2));
        let mut judged = vec![false; images.len()];
        let mut expired = Vec::new();
        for rule in &rules {
            let s = &rule.selection;
            let mut kept = 0;
            for (i, (digest, tags, pushed)) in images.iter().enumerate() {
                if judged[i] || !s.selects(tags) {
                    continue;
                }
                judged[i] = true;
                let expire = match s.count_type.as_str() {
                    "imageCountMoreThan" => {
                        kept += 1;
                        kept > s.count_number
                    }
                    _ => now.as_secs_f64() - pushed > s.count_number as f64 * 86400.0,
                };
                if expire {
                    expired.push(digest.clone());
                }
            }
        }
        for d in expired {
            r.images.remove(&d);
        }
    }
}
