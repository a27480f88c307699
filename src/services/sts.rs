//! STS, enough for "who am I": SDKs and Terraform call GetCallerIdentity before anything else.

use crate::aws::{ApiError, RequestContext};
use crate::wire::sts::{Api, GetCallerIdentityRequest, GetCallerIdentityResponse};

pub struct Sts;

impl crate::services::Handler for Sts {
    fn new(_: &crate::store::Store) -> Self {
        Sts
    }
}

impl Api for Sts {
    fn get_caller_identity(
        &self,
        ctx: &RequestContext,
        _input: GetCallerIdentityRequest,
    ) -> Result<GetCallerIdentityResponse, ApiError> {
        // berth has one principal: the account root, whatever access key signed the request.
        Ok(GetCallerIdentityResponse {
            account: Some(ctx.account_id.clone()),
            arn: Some(crate::aws::arn::root_principal(&ctx.account_id)),
            user_id: Some(ctx.account_id.clone()),
        })
    }
}
