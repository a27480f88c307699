//! AWS JSON 1.1: the body is the input structure as JSON, the response the output structure,
//! errors `{"__type": code, "message": …}`.

use super::codec::Codec;
use super::model::{OpDef, ServiceDef, Shape, ShapeId};
use crate::aws::ApiError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

pub struct JsonCodec<'a> {
    pub service: &'static ServiceDef,
    pub body: &'a [u8],
}

impl Codec for JsonCodec<'_> {
    fn decode<T: DeserializeOwned>(&self, op: &'static OpDef) -> Result<T, ApiError> {
        // The SDKs send `{}` for an empty input, but curl users and some tools send nothing.
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            self.body
        };
        let value: Value =
            serde_json::from_slice(body).map_err(|e| decode_error(self.service, &e))?;
        // serde's derived structs also take a JSON array (positionally); AWS does not.
        if let Some(id) = op.input {
            check_shape(self.service, id, &value, "")?;
        }
        T::deserialize(&value).map_err(|e| decode_error(self.service, &e))
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

/// Checks that every value has the JSON type its shape needs (null counts as absent).
fn check_shape(service: &ServiceDef, id: ShapeId, v: &Value, path: &str) -> Result<(), ApiError> {
    let Some(shape) = service.shapes.get(usize::from(id)) else {
        return Ok(());
    };
    if v.is_null() {
        return Ok(());
    }
    let wrong = |expected: &str| {
        let at = if path.is_empty() {
            "the request body"
        } else {
            path
        };
        Err(ApiError::serialization(format!(
            "Unexpected value at {at}: expected {expected}"
        )))
    };
    match shape {
        Shape::Structure { members } => {
            let Some(obj) = v.as_object() else {
                return wrong("an object");
            };
            for (key, value) in obj {
                if let Some(m) = members.iter().find(|m| m.name == key) {
                    let sub = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    check_shape(service, m.shape, value, &sub)?;
                }
            }
            Ok(())
        }
        Shape::List { member, .. } => {
            let Some(items) = v.as_array() else {
                return wrong("a list");
            };
            for (i, item) in items.iter().enumerate() {
                check_shape(service, *member, item, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        Shape::Map { value, .. } => {
            let Some(obj) = v.as_object() else {
                return wrong("a map");
            };
            for (k, item) in obj {
                check_shape(service, *value, item, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        Shape::String | Shape::Blob if !v.is_string() => wrong("a string"),
        Shape::Integer | Shape::Long if !(v.is_i64() || v.is_u64()) => wrong("an integer"),
        Shape::Float | Shape::Double if !v.is_number() => wrong("a number"),
        Shape::Boolean if !v.is_boolean() => wrong("a boolean"),
        Shape::Timestamp if !(v.is_number() || v.is_string()) => wrong("a timestamp"),
        _ => Ok(()),
    }
}
