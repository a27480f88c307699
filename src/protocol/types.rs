//! The value types the generated wire structs are built from. Every protocol goes through serde's
//! JSON data model: JSON 1.1 directly, Query/EC2 through a shape-guided translation (see `query`).
//! So a timestamp serializes as JSON 1.1 wants it (epoch seconds with fraction) and the XML writer
//! reformats it as ISO 8601 where the shape says it is a timestamp.

use aws_smithy_types::DateTime;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A point in time, as `aws_smithy_types::DateTime` (the type the SDKs parse into).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(DateTime::from(std::time::SystemTime::now()))
    }
    /// To the nearest millisecond: what AWS keeps, and what a client's float round-trips to
    /// (`from_secs_f64` truncates, so 1795608000.123 would come back as .122).
    pub fn from_secs_f64(secs: f64) -> Self {
        Timestamp(DateTime::from_millis((secs * 1000.0).round() as i64))
    }
    pub fn as_secs_f64(&self) -> f64 {
        self.0.as_secs_f64()
    }
}

impl Default for Timestamp {
    fn default() -> Self {
        Timestamp(DateTime::from_secs(0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Milliseconds are what AWS emits (e.g. 1732536000.123); keep the fraction exact to that.
        let millis = self.0.to_millis().unwrap_or(0);
        if millis % 1000 == 0 {
            s.serialize_i64(millis / 1000)
        } else {
            s.serialize_f64(millis as f64 / 1000.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a timestamp (epoch seconds or ISO 8601)")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                if v.is_finite() && v.abs() < 1e15 {
                    Ok(Timestamp::from_secs_f64(v))
                } else {
                    Err(E::custom("timestamp out of range"))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(DateTime::from_secs(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .map(|v| Timestamp(DateTime::from_secs(v)))
                    .map_err(|_| E::custom("timestamp out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                use aws_smithy_types::date_time::Format;
                DateTime::from_str(v, Format::DateTimeWithOffset)
                    .or_else(|_| DateTime::from_str(v, Format::DateTime))
                    .or_else(|_| DateTime::from_str(v, Format::EpochSeconds))
                    .or_else(|_| DateTime::from_str(v, Format::HttpDate))
                    .map(Timestamp)
                    .map_err(|_| E::custom(format!("invalid timestamp: {v}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// Binary data: base64 on every wire we speak.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Blob(pub Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&aws_smithy_types::base64::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        aws_smithy_types::base64::decode(&s)
            .map(Blob)
            .map_err(|_| de::Error::custom("invalid base64"))
    }
}

/// The input or output of an operation that has none in the model: `{}` on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Empty {}

/// Declares a string enum of the model. Unknown values are kept (`Unknown`), not rejected by the
/// decoder: AWS validates enum values in the service with its own error, and so do we.
#[macro_export]
macro_rules! string_enum {
    ($name:ident { $($variant:ident = $value:literal),* $(,)? }) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant,)*
            Unknown(String),
        }

        impl $name {
            pub const VALUES: &'static [&'static str] = &[$($value),*];

            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Unknown(s) => s.as_str(),
                }
            }

            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($value => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::Unknown(String::new())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok(Self::from(s.as_ref()))
            }
        }
    };
}
