//! The vocabulary every AWS service berth speaks shares, whatever its protocol: the error a
//! handler returns ([`ApiError`], built with `api_err!`), who asks ([`RequestContext`]), the
//! wire's value types ([`Timestamp`], [`Blob`], [`Empty`], string enums), ARNs, `nextToken`
//! paging, tag limits, and describe-many calls that report what they did not find.

pub mod arn;
pub mod error;
pub mod pagination;
pub mod tags;
pub mod time;
pub mod values;
pub mod wildcard;

pub use error::ApiError;
pub use time::{Timestamp, now_millis};
pub use values::{Blob, Empty};

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

/// What a describe-many call (DescribeClusters, DescribeTasks …) found of the identifiers it was
/// given, in their order, and what it reports for each one it did not find.
pub fn found_and_missing<'a, T, M>(
    ids: impl IntoIterator<Item = &'a String>,
    mut find: impl FnMut(&str) -> Option<T>,
    mut missing: impl FnMut(&str) -> M,
) -> (Vec<T>, Vec<M>) {
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for id in ids {
        match find(id) {
            Some(t) => found.push(t),
            None => failures.push(missing(id)),
        }
    }
    (found, failures)
}
