//! One handler set per service. Handlers are thin: they turn a wire request into a domain call
//! and the result back. A service without handlers yet still answers every modelled operation
//! with a proper AWS error (the generated traits' default bodies).

use super::{ecs, logs, sts};
use crate::aws::{ApiError, RequestContext};
use crate::protocol::Codec;
use crate::protocol::model::ServiceDef;
use crate::store::Store;
use crate::wire;

pub struct Apis {
    ecs: ecs::api::Ecs,
    logs: logs::api::Logs,
    sts: sts::Sts,
}

/// Stands in for the services whose issue has not landed yet.
struct NotYet;

impl wire::servicediscovery::Api for NotYet {}
impl wire::elbv2::Api for NotYet {}
impl wire::application_autoscaling::Api for NotYet {}
impl wire::ecr::Api for NotYet {}
impl wire::iam::Api for NotYet {}
impl wire::ec2::Api for NotYet {}

impl Apis {
    pub fn new(store: Store) -> Self {
        Apis {
            ecs: ecs::api::Ecs::new(store.clone()),
            logs: logs::api::Logs::new(store),
            sts: sts::Sts,
        }
    }

    /// Whether berth serves this service (as opposed to answering NotImplemented).
    pub fn implements(&self, service: &ServiceDef) -> bool {
        matches!(service.module, "ecs" | "logs" | "sts")
    }

    pub fn dispatch<C: Codec>(
        &self,
        service: &ServiceDef,
        ctx: &RequestContext,
        op: &str,
        codec: &C,
    ) -> Result<Vec<u8>, ApiError> {
        match service.module {
            "ecs" => wire::ecs::dispatch(&self.ecs, ctx, op, codec),
            "sts" => wire::sts::dispatch(&self.sts, ctx, op, codec),
            "servicediscovery" => wire::servicediscovery::dispatch(&NotYet, ctx, op, codec),
            "logs" => wire::logs::dispatch(&self.logs, ctx, op, codec),
            "elbv2" => wire::elbv2::dispatch(&NotYet, ctx, op, codec),
            "application_autoscaling" => {
                wire::application_autoscaling::dispatch(&NotYet, ctx, op, codec)
            }
            "ecr" => wire::ecr::dispatch(&NotYet, ctx, op, codec),
            "iam" => wire::iam::dispatch(&NotYet, ctx, op, codec),
            "ec2" => wire::ec2::dispatch(&NotYet, ctx, op, codec),
            _ => Err(ApiError::unknown_operation(op)),
        }
    }
}
