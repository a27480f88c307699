//! AWS JSON 1.1: the body is the input structure as JSON, the response the output structure,
//! errors `{"__type": code, "message": …}`.

use super::codec::Codec;
use super::error::ApiError;
use super::model::{OpDef, ServiceDef};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

pub struct JsonCodec<'a> {
    pub service: &'static ServiceDef,
    pub body: &'a [u8],
}

impl Codec for JsonCodec<'_> {
    fn decode<T: DeserializeOwned>(&self, _op: &'static OpDef) -> Result<T, ApiError> {
        // The SDKs send `{}` for an empty input, but curl users and some tools send nothing.
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            self.body
        };
        serde_json::from_slice(body).map_err(|e| decode_error(self.service, &e))
    }

    fn encode<T: Serialize>(&self, _op: &'static OpDef, output: &T) -> Result<Vec<u8>, ApiError> {
        serde_json::to_vec(output).map_err(|e| ApiError::internal(e.to_string()))
    }
}

/// A body that is not JSON, or JSON of the wrong shape, is a SerializationException on AWS; a
/// missing required member is the service's own validation error.
fn decode_error(service: &ServiceDef, e: &serde_json::Error) -> ApiError {
    let text = e.to_string();
    if let Some(field) = text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        return validation_error(
            service,
            format!(
                "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
            ),
        );
    }
    match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::serialization(format!("Unable to deserialize the request body: {text}"))
        }
        _ => ApiError::serialization("Start of structure or map found where not expected."),
    }
}

/// The error each service answers for an input that breaks the model's constraints.
pub fn validation_error(service: &ServiceDef, message: impl Into<String>) -> ApiError {
    let name = match service.module {
        "servicediscovery" => "InvalidInput",
        "application_autoscaling" => "ValidationException",
        _ => "InvalidParameterException",
    };
    match service.errors.iter().find(|e| e.name == name) {
        Some(def) => ApiError::from_def(def, message),
        None => ApiError::common("ValidationException", 400, message),
    }
}

pub fn error_body(err: &ApiError) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        #[serde(rename = "__type")]
        code: &'a str,
        message: &'a str,
    }
    serde_json::to_vec(&Body {
        code: &err.code,
        message: &err.message,
    })
    .unwrap_or_default()
}
