//! The one error type every handler returns: an AWS error code, its HTTP status and a message.
//! Codecs turn it into `{"__type", "message"}` (JSON 1.1) or `<ErrorResponse>` (Query/EC2).

use crate::protocol::model::ErrorDef;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: Cow<'static, str>,
    pub message: String,
    pub status: u16,
    /// Query protocols send `<Type>Sender</Type>` or `Receiver`.
    pub sender_fault: bool,
}

impl ApiError {
    /// An error shape of a service model (`wire::ecs::errors::ClusterNotFoundException`).
    pub fn from_def(def: &'static ErrorDef, message: impl Into<String>) -> Self {
        ApiError {
            code: Cow::Borrowed(def.code),
            message: message.into(),
            status: def.status,
            sender_fault: def.sender_fault,
        }
    }

    /// An error that is common to all AWS services and not in the models.
    pub fn common(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        ApiError {
            code: Cow::Borrowed(code),
            message: message.into(),
            status,
            sender_fault: status < 500,
        }
    }

    pub fn unknown_operation(op: &str) -> Self {
        Self::common(
            "UnknownOperationException",
            400,
            format!("Unknown operation {op}"),
        )
    }

    /// A modelled operation that berth does not implement yet: AWS's code for "not here".
    pub fn not_implemented(op: &str) -> Self {
        Self::common(
            "NotImplementedException",
            501,
            format!("The operation {op} is not implemented by berth yet"),
        )
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::common("SerializationException", 400, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::common("InternalFailure", 500, message)
    }
}

/// `api_err!(ecs::ClusterNotFoundException, "Cluster not found.")`, with `format!` arguments.
#[macro_export]
macro_rules! api_err {
    ($svc:ident :: $code:ident, $($fmt:tt)+) => {
        $crate::aws::ApiError::from_def(
            &$crate::wire::$svc::errors::$code,
            format!($($fmt)+),
        )
    };
}
