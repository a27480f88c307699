//! What the generated dispatch needs from a protocol: read an operation's input into its typed
//! struct and write its typed output back, in that protocol's encoding.

use super::error::ApiError;
use super::model::OpDef;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub trait Codec {
    fn decode<T: DeserializeOwned>(&self, op: &'static OpDef) -> Result<T, ApiError>;
    fn encode<T: Serialize>(&self, op: &'static OpDef, output: &T) -> Result<Vec<u8>, ApiError>;
}

/// Who asks: what every handler may need besides its input.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// From the SigV4 credential scope, else the configured default.
    pub region: String,
    pub account_id: String,
    pub request_id: String,
    /// The access key id of the SigV4 credential, when the request was signed.
    pub access_key: Option<String>,
}
