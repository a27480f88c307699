//! Time as AWS services carry it: [`Timestamp`] (what the JSON and XML codecs write as epoch
//! seconds or ISO 8601, exactly as the SDKs parse them) and epoch milliseconds, the unit of
//! CloudWatch Logs and of the awslogs driver.

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

/// Milliseconds since the epoch, now.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
