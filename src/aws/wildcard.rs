//! The `*` / `?` wildcards AWS uses in filters and patterns (EC2 filters, ELBv2 host and path
//! conditions, ECR lifecycle tag patterns).

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` one.
pub fn matches(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards() {
        assert!(matches("vpc-*", "vpc-123", false));
        assert!(matches("a?c", "abc", false) && !matches("a?c", "abbc", false));
        assert!(matches("*", "", false) && matches("exact", "exact", false));
        assert!(!matches("exact", "exactly", false) && matches("*-a*", "x-y-ab", false));
        assert!(matches("*.EXAMPLE.com", "api.example.com", true));
    }
}
