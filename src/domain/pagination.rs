//! `maxResults` / `nextToken` as ECS pages: the token is opaque to clients and names the last
//! item returned, so a page continues after it even when items were added in between.

use crate::api_err;
use crate::protocol::ApiError;

pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// Pages `items`, which must be sorted so that `key` grows (or shrinks, when `descending`)
/// along them. `limit` is the operation's largest `maxResults` (and its default page size).
pub fn paginate<T>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> String,
    descending: bool,
    max_results: Option<i32>,
    next_token: Option<&str>,
    limit: usize,
) -> Result<Page<T>, ApiError> {
    let size = page_size(max_results, limit)?;
    let after = after_key(next_token)?;
    let rest = items.into_iter().filter(|item| match &after {
        None => true,
        Some(after) => {
            let k = key(item);
            if descending { k < *after } else { k > *after }
        }
    });
    Ok(page_from(rest, &key, size))
}

/// The page size `maxResults` asks for, within 1..=`limit` (the default).
pub fn page_size(max_results: Option<i32>, limit: usize) -> Result<usize, ApiError> {
    match max_results {
        None => Ok(limit),
        Some(n) if n >= 1 && n as usize <= limit => Ok(n as usize),
        Some(_) => Err(api_err!(
            ecs::InvalidParameterException,
            "maxResults must be between 1 and {limit}."
        )),
    }
}

/// The key a `nextToken` continues after.
pub fn after_key(next_token: Option<&str>) -> Result<Option<String>, ApiError> {
    next_token.map(decode_token).transpose()
}

/// The first `size` items of `rest` (which already starts after the token's key), and the
/// token for the next page when more remain.
pub fn page_from<T>(
    mut rest: impl Iterator<Item = T>,
    key: impl Fn(&T) -> String,
    size: usize,
) -> Page<T> {
    let page: Vec<T> = rest.by_ref().take(size).collect();
    let next_token = match (rest.next(), page.last()) {
        (Some(_), Some(last)) => Some(encode_token(&key(last))),
        _ => None,
    };
    Page {
        items: page,
        next_token,
    }
}

fn encode_token(key: &str) -> String {
    aws_smithy_types::base64::encode(format!("berth1:{key}"))
}

fn decode_token(token: &str) -> Result<String, ApiError> {
    aws_smithy_types::base64::decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.strip_prefix("berth1:").map(str::to_owned))
        .ok_or_else(|| api_err!(ecs::InvalidParameterException, "Invalid nextToken value."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_everything_once() {
        let items: Vec<String> = (0..25).map(|i| format!("{i:03}")).collect();
        let mut token = None;
        let mut seen = Vec::new();
        loop {
            let page = paginate(
                items.clone(),
                |s| s.clone(),
                false,
                Some(7),
                token.as_deref(),
                100,
            )
            .expect("page");
            seen.extend(page.items);
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(paginate(vec![1], |i| i.to_string(), false, Some(0), None, 100).is_err());
        assert!(paginate(vec![1], |i| i.to_string(), false, Some(101), None, 100).is_err());
        assert!(paginate(vec![1], |i| i.to_string(), false, None, Some("!!"), 100).is_err());
    }
}
