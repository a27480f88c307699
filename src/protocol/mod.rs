//! The wire protocols: AWS JSON 1.1 and AWS Query (with its EC2 variant). Decoding a request into
//! the generated types, encoding responses and errors the way the SDKs parse them.

pub mod codec;
pub mod json;
pub mod model;
pub mod query;

pub use codec::Codec;
