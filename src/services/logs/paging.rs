//! Paging: a `nextToken` per listing, and GetLogEvents' cursors (`f/…`, `b/…`).

use super::*;

/// A `limit` outside `1..=max`, as the model's validation words it.
pub(super) fn bad_limit(n: i32, max: usize) -> ApiError {
    if n < 1 {
        validation(
            "limit",
            n,
            "Member must have value greater than or equal to 1",
        )
    } else {
        validation(
            "limit",
            n,
            &format!("Member must have value less than or equal to {max}"),
        )
    }
}

/// Paging of one kind of listing: a token of one operation is not taken by another.
pub(super) const fn pager(kind: &'static str) -> Pager {
    Pager {
        kind,
        bad_size: bad_limit,
        bad_token: invalid_token,
    }
}

pub(super) const GROUPS: Pager = pager("logs:groups");
pub(super) const GROUP_LIST: Pager = pager("logs:list");
pub(super) const STREAMS: Pager = pager("logs:streams");
pub(super) const FILTER: Pager = pager("logs:filter");
/// GetLogEvents pages by cursor (`f/…`, `b/…`): only its limit is checked this way.
pub(super) const EVENTS: Pager = pager("logs:events");

/// A GetLogEvents position: the gap after or before the event with that key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cursor {
    /// Forward: events with a greater key.
    After(u128),
    /// Backward: events with a smaller key.
    Before(u128),
}

impl Cursor {
    /// `f/<digits>/s` or `b/<digits>/s`, AWS's shape (older tokens had no `/s`; both parse).
    pub(super) fn token(self) -> String {
        match self {
            Cursor::After(k) => format!("f/{}/s", digits(k)),
            Cursor::Before(k) => format!("b/{}/s", digits(k)),
        }
    }

    pub(super) fn parse(token: &str) -> Result<Cursor, ApiError> {
        let (forward, rest) = if let Some(rest) = token.strip_prefix("f/") {
            (true, rest)
        } else if let Some(rest) = token.strip_prefix("b/") {
            (false, rest)
        } else {
            return Err(invalid_token());
        };
        let number = rest.strip_suffix("/s").unwrap_or(rest);
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid_token());
        }
        let k = number.parse::<u128>().map_err(|_| invalid_token())?;
        Ok(if forward {
            Cursor::After(k)
        } else {
            Cursor::Before(k)
        })
    }
}
