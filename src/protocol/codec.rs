//! What the generated dispatch needs from a protocol: read an operation's input into its typed
//! struct and write its typed output back, in that protocol's encoding.

use super::model::OpDef;
use crate::aws::ApiError;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub trait Codec {
    fn decode<T: DeserializeOwned>(&self, op: &'static OpDef) -> Result<T, ApiError>;
    fn encode<T: Serialize>(&self, op: &'static OpDef, output: &T) -> Result<Vec<u8>, ApiError>;
}
