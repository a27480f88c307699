//! `--init-dir DIR`: what a test suite wants in place before its first test (clusters, task
//! definitions, log groups …), applied once at start, before `/_berth/health` says `"init":
//! "done"`.
//!
//! The files run in name order (`10-cluster.yaml` before `20-service.sh`):
//! - `.json`, `.yaml`, `.yml`: one API call, or a list of them, each
//!   `{service, operation, input, region?}`. `service` is the name clients sign with (`ecs`,
//!   `logs`, `servicediscovery` …) or the SDK's (`elbv2`); `operation` the API's name
//!   (`CreateCluster`) or the CLI's or boto3's spelling of it (`create-cluster`,
//!   `create_cluster`). Calls go straight to the service's handler, as a request would.
//! - an executable file: run with `AWS_ENDPOINT_URL` pointing at this berth, dummy credentials
//!   and the default region; its output goes to berth's log, and a non-zero exit fails it.
//! - anything else is skipped, and the log says so.
//!
//! The first file that fails stops the rest; health shows it with its error.

use crate::aws::{ApiError, RequestContext};
use crate::executor::deferred::{Readiness, ReadinessWatch};
use crate::http::FrontDoor;
use crate::protocol::model::ServiceDef;
use crate::services::Handlers;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where the init files are, as `/_berth/health` tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Not started, or running this file.
    Running {
        file: Option<String>,
    },
    Done {
        files: usize,
    },
    Failed {
        file: String,
        error: String,
    },
}

/// Shared by the init run (which writes it) and the health endpoint (which reads it).
#[derive(Debug)]
pub struct Status(Mutex<Progress>);

impl Status {
    /// With nothing to run, init is done from the start.
    pub fn new(has_init: bool) -> Self {
        Status(Mutex::new(if has_init {
            Progress::Running { file: None }
        } else {
            Progress::Done { files: 0 }
        }))
    }

    pub fn get(&self) -> Progress {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, p: Progress) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = p;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("not a list of API calls ({{service, operation, input}}): {0}")]
    Parse(String),
    #[error("unknown service {0:?}")]
    UnknownService(String),
    #[error("{service} has no operation {operation:?}")]
    UnknownOperation { service: String, operation: String },
    #[error("{service} {operation}: {code}: {message}")]
    Api {
        service: String,
        operation: String,
        code: String,
        message: String,
    },
    #[error("cannot run: {0}")]
    Spawn(std::io::Error),
    #[error("exited with {status}: {tail}")]
    Script { status: String, tail: String },
}

/// One API call of a JSON or YAML file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Call {
    service: String,
    operation: String,
    #[serde(default)]
    input: serde_json::Value,
    region: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Calls {
    One(Call),
    Many(Vec<Call>),
}

/// What the files run against.
pub(crate) struct Target {
    pub(crate) front: Arc<FrontDoor>,
    /// `http://…` of the API port, for scripts.
    pub(crate) endpoint_url: String,
    pub region: String,
    pub account_id: String,
    /// The files may place tasks, which needs the executor's hosts.
    pub(crate) readiness: ReadinessWatch,
}

/// Runs every file of `dir` in name order and records the progress in `status`.
pub(crate) async fn run(dir: PathBuf, mut target: Target, status: Arc<Status>) {
    let _ = target
        .readiness
        .wait_for(|r| *r != Readiness::Connecting)
        .await;
    let files = match list(&dir) {
        Ok(files) => files,
        Err(e) => {
            tracing::error!("init: {e}");
            status.set(Progress::Failed {
                file: dir.display().to_string(),
                error: e.to_string(),
            });
            return;
        }
    };
    let mut applied = 0;
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        status.set(Progress::Running {
            file: Some(name.clone()),
        });
        match apply(&path, &target).await {
            Ok(Applied::Calls(n)) => {
                applied += 1;
                tracing::info!("init: {name}: {n} API call(s) applied");
            }
            Ok(Applied::Script) => {
                applied += 1;
                tracing::info!("init: {name}: script succeeded");
            }
            Ok(Applied::Skipped) => {
                tracing::info!("init: {name}: skipped (not JSON or YAML, and not executable)");
            }
            Err(e) => {
                tracing::error!("init: {name} failed, the files after it are not run: {e}");
                status.set(Progress::Failed {
                    file: name,
                    error: e.to_string(),
                });
                return;
            }
        }
    }
    tracing::info!("init: done ({applied} file(s) from {})", dir.display());
    status.set(Progress::Done { files: applied });
}

fn list(dir: &Path) -> Result<Vec<PathBuf>, InitError> {
    let entries = std::fs::read_dir(dir).map_err(|e| InitError::Read(dir.to_owned(), e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

enum Applied {
    Calls(usize),
    Script,
    Skipped,
}

async fn apply(path: &Path, target: &Target) -> Result<Applied, InitError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("json" | "yaml" | "yml") => {
            let text =
                std::fs::read_to_string(path).map_err(|e| InitError::Read(path.to_owned(), e))?;
            let calls = parse(&text, ext.as_deref() == Some("json"))?;
            let n = calls.len();
            for call in calls {
                invoke(call, target)?;
            }
            Ok(Applied::Calls(n))
        }
        _ if is_executable(path) => {
            script(path, target).await?;
            Ok(Applied::Script)
        }
        _ => Ok(Applied::Skipped),
    }
}

fn parse(text: &str, json: bool) -> Result<Vec<Call>, InitError> {
    let calls: Calls = if json {
        serde_json::from_str(text).map_err(|e| InitError::Parse(e.to_string()))?
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| InitError::Parse(e.to_string()))?
    };
    Ok(match calls {
        Calls::One(c) => vec![c],
        Calls::Many(cs) => cs,
    })
}

/// `ecs`, `elasticloadbalancing` (signing names), `elbv2`, `application-autoscaling` (SDK
/// names) all name their service.
fn service(name: &str) -> Option<&'static ServiceDef> {
    let module = name.replace('-', "_");
    Handlers::SERVICES
        .iter()
        .copied()
        .find(|s| s.signing_name == name || s.module == module)
}

/// `CreateCluster`, `create-cluster` and `create_cluster` name one operation.
fn operation(service: &ServiceDef, name: &str) -> Option<&'static str> {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let wanted = squash(name);
    service
        .operations
        .iter()
        .find(|op| squash(op.name) == wanted)
        .map(|op| op.name)
}

fn invoke(call: Call, target: &Target) -> Result<(), InitError> {
    let Some(svc) = service(&call.service) else {
        return Err(InitError::UnknownService(call.service));
    };
    let op = operation(svc, &call.operation).ok_or_else(|| InitError::UnknownOperation {
        service: svc.signing_name.to_owned(),
        operation: call.operation.clone(),
    })?;
    let input = match call.input {
        serde_json::Value::Null => serde_json::Value::Object(Default::default()),
        other => other,
    };
    let ctx = RequestContext {
        region: call.region.unwrap_or_else(|| target.region.clone()),
        account_id: target.account_id.clone(),
        request_id: uuid::Uuid::new_v4().to_string(),
        access_key: None,
    };
    let body = serde_json::to_vec(&input).map_err(|e| InitError::Parse(e.to_string()))?;
    target
        .front
        .call(svc, &ctx, op, &body)
        .map(|_| ())
        .map_err(|e: ApiError| InitError::Api {
            service: svc.signing_name.to_owned(),
            operation: op.to_owned(),
            code: e.code.into_owned(),
            message: e.message,
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// Runs a script in the init directory with the environment an AWS CLI or SDK needs to reach
/// this berth; each line it prints goes to the log.
async fn script(path: &Path, target: &Target) -> Result<(), InitError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut command = tokio::process::Command::new(path);
    if let Some(dir) = path.parent() {
        command.current_dir(dir);
    }
    let output = command
        .env("AWS_ENDPOINT_URL", &target.endpoint_url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", &target.region)
        .env("AWS_REGION", &target.region)
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(InitError::Spawn)?;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        tracing::info!("init: {name}: {line}");
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    for line in stderr.lines() {
        tracing::info!("init: {name} (stderr): {line}");
    }
    if output.status.success() {
        return Ok(());
    }
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(5)..].join("\n");
    Err(InitError::Script {
        status: output.status.to_string(),
        tail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_operations_are_found_by_any_of_their_spellings() {
        let ecs = service("ecs").expect("ecs");
        assert_eq!(operation(ecs, "CreateCluster"), Some("CreateCluster"));
        assert_eq!(operation(ecs, "create-cluster"), Some("CreateCluster"));
        assert_eq!(operation(ecs, "create_cluster"), Some("CreateCluster"));
        assert_eq!(operation(ecs, "CreateBucket"), None);
        assert!(service("elbv2").is_some());
        assert!(service("elasticloadbalancing").is_some());
        assert!(service("application-autoscaling").is_some());
        assert!(service("s3").is_none());
    }

    #[test]
    fn a_file_holds_one_call_or_a_list() {
        let one = parse(
            r#"{"service": "ecs", "operation": "CreateCluster", "input": {"clusterName": "a"}}"#,
            true,
        )
        .expect("one call");
        assert_eq!(one.len(), 1);
        let many = parse(
            "- service: ecs\n  operation: CreateCluster\n  input: {clusterName: a}\n\
             - service: logs\n  operation: CreateLogGroup\n  input: {logGroupName: /x}\n",
            false,
        )
        .expect("two calls");
        assert_eq!(many.len(), 2);
        assert!(parse(r#"{"service": "ecs"}"#, true).is_err());
    }
}
