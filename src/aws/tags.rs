//! Resource tags as AWS limits them on every service: at most 50 per resource, keys of 1 to 128
//! characters, values of up to 256. Services word the errors their own way.

pub const MAX_PER_RESOURCE: usize = 50;
pub const MAX_KEY_CHARS: usize = 128;
pub const MAX_VALUE_CHARS: usize = 256;

/// A key of 1 to 128 characters.
pub fn key_length_ok(key: &str) -> bool {
    (1..=MAX_KEY_CHARS).contains(&key.chars().count())
}

/// A value of up to 256 characters.
pub fn value_length_ok(value: &str) -> bool {
    value.chars().count() <= MAX_VALUE_CHARS
}

/// Keys that start with `aws:` (in any case) are AWS's own.
pub fn is_reserved(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
}

/// How many tags a resource has after `new_keys` are added to or overwrite its `existing` ones.
pub fn count_after_merge<'a>(
    existing: usize,
    has: impl Fn(&str) -> bool,
    new_keys: impl IntoIterator<Item = &'a str>,
) -> usize {
    let mut added: Vec<&str> = new_keys.into_iter().filter(|k| !has(k)).collect();
    added.sort_unstable();
    added.dedup();
    existing + added.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_limits() {
        assert!(key_length_ok("k") && value_length_ok("") && value_length_ok(&"v".repeat(256)));
        assert!(!key_length_ok("") && !key_length_ok(&"k".repeat(129)));
        assert!(!value_length_ok(&"v".repeat(257)));
        assert!(is_reserved("AWS:x") && !is_reserved("aw") && !is_reserved("awsx"));
        assert_eq!(count_after_merge(2, |k| k == "a", ["a", "b", "b"]), 3);
    }
}
