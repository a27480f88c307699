//! `maxResults` / `nextToken` paging as every AWS list call does it. A token is opaque to
//! clients and names the last item returned, so a page continues after it even when items were
//! added in between. Each service (and operation, where tokens must not cross) has a [`Pager`]:
//! the kind its tokens carry and the errors it answers for a bad page size or token, since
//! services word those differently (ECS's InvalidParameterException, CloudWatch Logs' model
//! validation message).

use super::ApiError;

pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

impl<T> Page<T> {
    /// The same page with each item turned into what the response lists.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_token: self.next_token,
        }
    }
}

/// How one service pages: its token kind and its errors.
pub struct Pager {
    /// Written into every token; a token of another kind is refused as invalid.
    pub kind: &'static str,
    /// `maxResults` (or `limit`) outside `1..=max`: `(given, max)`.
    pub bad_size: fn(i32, usize) -> ApiError,
    pub bad_token: fn() -> ApiError,
}

impl Pager {
    /// Pages `items`, which must be sorted so that `key` grows (or shrinks, when `descending`)
    /// along them. `limit` is the operation's largest `maxResults` and its default page size.
    pub fn paginate<T>(
        &self,
        items: impl IntoIterator<Item = T>,
        key: impl Fn(&T) -> String,
        descending: bool,
        max_results: Option<i32>,
        next_token: Option<&str>,
        limit: usize,
    ) -> Result<Page<T>, ApiError> {
        let size = self.size(max_results, limit, limit)?;
        let after = self.after(next_token)?;
        let rest = items.into_iter().filter(|item| match &after {
            None => true,
            Some(after) => {
                let k = key(item);
                if descending { k < *after } else { k > *after }
            }
        });
        Ok(self.page(rest, &key, size))
    }

    /// Pages `items` in the order of `key` (they need not come sorted): the page's items and
    /// the token for the next.
    pub fn sorted_page<T>(
        &self,
        items: Vec<T>,
        key: impl Fn(&T) -> String,
        max_results: Option<i32>,
        next_token: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<T>, Option<String>), ApiError> {
        let mut keyed: Vec<(String, T)> = items.into_iter().map(|t| (key(&t), t)).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let page = self.paginate(
            keyed,
            |(k, _)| k.clone(),
            false,
            max_results,
            next_token,
            limit,
        )?;
        Ok((
            page.items.into_iter().map(|(_, t)| t).collect(),
            page.next_token,
        ))
    }

    /// Pages `items` in the order given (a token names a position).
    pub fn ordered_page<T>(
        &self,
        items: Vec<T>,
        max_results: Option<i32>,
        next_token: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<T>, Option<String>), ApiError> {
        let numbered = items
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("{i:08}"), t));
        self.sorted_page(
            numbered.collect(),
            |(k, _)| k.clone(),
            max_results,
            next_token,
            limit,
        )
        .map(|(items, token)| (items.into_iter().map(|(_, t)| t).collect(), token))
    }

    /// The page size asked for, within `1..=max`; `default` when none is asked for.
    pub fn size(
        &self,
        max_results: Option<i32>,
        default: usize,
        max: usize,
    ) -> Result<usize, ApiError> {
        match max_results {
            None => Ok(default),
            Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
            Some(n) => Err((self.bad_size)(n, max)),
        }
    }

    /// The key a `nextToken` continues after.
    pub fn after(&self, next_token: Option<&str>) -> Result<Option<String>, ApiError> {
        next_token.map(|t| self.decode(t)).transpose()
    }

    /// The first `size` items of `rest` (which already starts after the token's key), and the
    /// token for the next page when more remain.
    pub fn page<T>(
        &self,
        mut rest: impl Iterator<Item = T>,
        key: impl Fn(&T) -> String,
        size: usize,
    ) -> Page<T> {
        let page: Vec<T> = rest.by_ref().take(size).collect();
        let next_token = match (rest.next(), page.last()) {
            (Some(_), Some(last)) => Some(self.token(&key(last))),
            _ => None,
        };
        Page {
            items: page,
            next_token,
        }
    }

    /// The token that continues after `key`.
    pub fn token(&self, key: &str) -> String {
        aws_smithy_types::base64::encode(format!("berth:{}:{key}", self.kind))
    }

    fn decode(&self, token: &str) -> Result<String, ApiError> {
        aws_smithy_types::base64::decode(token)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|s| {
                s.strip_prefix("berth:")?
                    .strip_prefix(self.kind)?
                    .strip_prefix(':')
                    .map(str::to_owned)
            })
            .ok_or_else(self.bad_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST: Pager = Pager {
        kind: "test",
        bad_size: |n, max| ApiError::common("BadSize", 400, format!("{n} not in 1..={max}")),
        bad_token: || ApiError::common("BadToken", 400, "bad token"),
    };

    #[test]
    fn pages_cover_everything_once() {
        let items: Vec<String> = (0..25).map(|i| format!("{i:03}")).collect();
        let mut token = None;
        let mut seen = Vec::new();
        loop {
            let page = TEST
                .paginate(
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
    fn a_bad_size_or_token_gets_the_services_own_error() {
        let page = |max, token| TEST.paginate(vec![1], |i| i.to_string(), false, max, token, 100);
        let code = |r: Result<Page<i32>, ApiError>| r.err().map(|e| e.code.into_owned());
        assert_eq!(code(page(Some(0), None)), Some("BadSize".into()));
        assert_eq!(code(page(Some(101), None)), Some("BadSize".into()));
        assert_eq!(code(page(None, Some("!!"))), Some("BadToken".into()));
    }

    #[test]
    fn a_token_of_another_kind_is_refused() {
        let other = Pager {
            kind: "other",
            ..TEST
        };
        let token = other.token("k");
        assert_eq!(other.after(Some(&token)).ok(), Some(Some("k".into())));
        assert!(TEST.after(Some(&token)).is_err());
    }
}
