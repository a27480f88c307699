//! Filter patterns, as the CloudWatch Logs user guide's FilterAndPatternSyntax defines them:
//! terms, JSON expressions and space-delimited fields.

use super::*;

/// A parsed `filterPattern`.
#[derive(Debug)]
pub(super) struct FilterPattern(Pattern);

impl FilterPattern {
    pub(super) fn parse(text: &str) -> Result<FilterPattern, ApiError> {
        Pattern::parse(text).map(FilterPattern)
    }

    pub(super) fn matches(&self, message: &str) -> bool {
        self.0.matches(message)
    }
}

#[derive(Debug)]
enum Pattern {
    /// Empty: every event.
    All,
    /// Unstructured terms: every plain term, at least one `?term` (if any), no `-term`.
    Terms {
        all: Vec<Term>,
        any: Vec<Term>,
        none: Vec<Term>,
    },
    /// `{ $.selector op value && … }` over events that are JSON objects.
    Json(JsonExpr),
    /// `[field, name = value, …]` over whitespace-delimited events.
    Delimited(Vec<Field>),
}

#[derive(Debug)]
enum Term {
    /// A word or quoted phrase, matched case-sensitively as whole terms: its alphanumeric ends
    /// may not continue into more letters or digits of the message.
    Text(String),
    /// `%regex%`.
    Regex(Regex),
}

impl Term {
    fn matches(&self, message: &str) -> bool {
        match self {
            Term::Regex(re) => re.is_match(message),
            Term::Text(t) => contains_term(message, t),
        }
    }
}

fn contains_term(message: &str, term: &str) -> bool {
    if term.is_empty() {
        return true;
    }
    let starts_word = term.chars().next().is_some_and(char::is_alphanumeric);
    let ends_word = term.chars().next_back().is_some_and(char::is_alphanumeric);
    message.match_indices(term).any(|(i, _)| {
        let before = message[..i].chars().next_back();
        let after = message[i + term.len()..].chars().next();
        (!starts_word || before.is_none_or(|c| !c.is_alphanumeric()))
            && (!ends_word || after.is_none_or(|c| !c.is_alphanumeric()))
    })
}

fn bad_pattern(detail: impl std::fmt::Display) -> ApiError {
    invalid(format!("Invalid filter pattern: {detail}"))
}

fn pattern_regex(body: &str) -> Result<Regex, ApiError> {
    RegexBuilder::new(body)
        .size_limit(1 << 20)
        .build()
        .map_err(|_| bad_pattern(format!("invalid regular expression %{body}%")))
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, ApiError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(Pattern::All);
        }
        if let Some(body) = trimmed.strip_prefix('{') {
            let body = body
                .strip_suffix('}')
                .ok_or_else(|| bad_pattern("a JSON pattern must end with '}'"))?;
            let mut p = JsonParser {
                tokens: lex_json(body)?,
                pos: 0,
            };
            let expr = p.or()?;
            if p.pos != p.tokens.len() {
                return Err(bad_pattern("unexpected text after the JSON condition"));
            }
            return Ok(Pattern::Json(expr));
        }
        if let Some(body) = trimmed.strip_prefix('[') {
            let body = body
                .strip_suffix(']')
                .ok_or_else(|| bad_pattern("a space-delimited pattern must end with ']'"))?;
            return Ok(Pattern::Delimited(parse_fields(body)?));
        }
        let mut all = Vec::new();
        let mut any = Vec::new();
        let mut none = Vec::new();
        for word in split_terms(trimmed)? {
            // A lone `?` or `-` is a literal character, not a modifier of nothing.
            let (list, word) = if let Some(rest) = word.strip_prefix('?').filter(|r| !r.is_empty())
            {
                (&mut any, rest)
            } else if let Some(rest) = word.strip_prefix('-').filter(|r| !r.is_empty()) {
                (&mut none, rest)
            } else {
                (&mut all, word.as_str())
            };
            let term = if let Some(q) = word.strip_prefix('"') {
                Term::Text(unquote(q)?)
            } else if word.len() >= 2 && word.starts_with('%') && word.ends_with('%') {
                Term::Regex(pattern_regex(&word[1..word.len() - 1])?)
            } else {
                Term::Text(word.to_owned())
            };
            list.push(term);
        }
        Ok(Pattern::Terms { all, any, none })
    }

    fn matches(&self, message: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Terms { all, any, none } => {
                all.iter().all(|t| t.matches(message))
                    && (any.is_empty() || any.iter().any(|t| t.matches(message)))
                    && !none.iter().any(|t| t.matches(message))
            }
            Pattern::Json(expr) => {
                serde_json::from_str::<serde_json::Value>(message).is_ok_and(|doc| expr.eval(&doc))
            }
            Pattern::Delimited(fields) => {
                let tokens = split_message_fields(message);
                match_fields(fields, &tokens)
            }
        }
    }
}

/// Splits unstructured terms on whitespace; a quoted phrase (after an optional `?`/`-`) is one
/// term, its quotes kept so the caller knows it was quoted.
fn split_terms(text: &str) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        let mut quoted = false;
        while let Some(&c) = chars.peek() {
            if c == '"' {
                quoted = !quoted;
            } else if c == '\\' && quoted {
                word.push(c);
                chars.next();
                if let Some(escaped) = chars.next() {
                    word.push(escaped);
                }
                continue;
            } else if c.is_whitespace() && !quoted {
                break;
            }
            word.push(c);
            chars.next();
        }
        if quoted {
            return Err(bad_pattern("unterminated quoted term"));
        }
        out.push(word);
    }
    Ok(out)
}

/// The text of a quoted term whose opening quote is already stripped.
fn unquote(rest: &str) -> Result<String, ApiError> {
    let body = rest
        .strip_suffix('"')
        .ok_or_else(|| bad_pattern("text after a quoted term"))?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else if c == '"' {
            return Err(bad_pattern("text after a quoted term"));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// `*` matches any run of characters; everything else literally.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    if !text.ends_with(last) {
        return false;
    }
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug)]
enum Value {
    Number(f64),
    /// A string, with `*` wildcards when it was not quoted.
    Text {
        text: String,
        glob: bool,
    },
    Regex(Regex),
}

impl Value {
    fn parse(raw: &str, quoted: bool) -> Result<Value, ApiError> {
        if quoted {
            return Ok(Value::Text {
                text: raw.to_owned(),
                glob: false,
            });
        }
        if raw.len() >= 2 && raw.starts_with('%') && raw.ends_with('%') {
            return Ok(Value::Regex(pattern_regex(&raw[1..raw.len() - 1])?));
        }
        if let Ok(n) = raw.parse::<f64>() {
            return Ok(Value::Number(n));
        }
        Ok(Value::Text {
            text: raw.to_owned(),
            glob: true,
        })
    }

    /// Compares a field's text (a JSON string or number rendered, or a delimited field).
    fn compare(&self, op: Op, field: &str, field_number: Option<f64>) -> bool {
        match self {
            Value::Number(n) => match field_number.or_else(|| field.parse::<f64>().ok()) {
                Some(f) => match op {
                    Op::Eq => f == *n,
                    Op::Ne => f != *n,
                    Op::Lt => f < *n,
                    Op::Le => f <= *n,
                    Op::Gt => f > *n,
                    Op::Ge => f >= *n,
                },
                None => op == Op::Ne,
            },
            Value::Text { text, glob } => {
                let eq = if *glob {
                    glob_matches(text, field)
                } else {
                    text == field
                };
                match op {
                    Op::Eq => eq,
                    Op::Ne => !eq,
                    _ => false,
                }
            }
            Value::Regex(re) => match op {
                Op::Eq => re.is_match(field),
                Op::Ne => !re.is_match(field),
                _ => false,
            },
        }
    }
}

#[derive(Debug)]
enum JsonExpr {
    Or(Box<JsonExpr>, Box<JsonExpr>),
    And(Box<JsonExpr>, Box<JsonExpr>),
    Compare(Vec<Step>, Op, Value),
    IsTrue(Vec<Step>),
    IsFalse(Vec<Step>),
    IsNull(Vec<Step>),
    NotExists(Vec<Step>),
}

#[derive(Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn select<'a>(doc: &'a serde_json::Value, path: &[Step]) -> Option<&'a serde_json::Value> {
    path.iter().try_fold(doc, |v, step| match step {
        Step::Key(k) => v.get(k.as_str()),
        Step::Index(i) => v.get(*i),
    })
}

impl JsonExpr {
    fn eval(&self, doc: &serde_json::Value) -> bool {
        use serde_json::Value as J;
        match self {
            JsonExpr::Or(a, b) => a.eval(doc) || b.eval(doc),
            JsonExpr::And(a, b) => a.eval(doc) && b.eval(doc),
            JsonExpr::IsTrue(p) => matches!(select(doc, p), Some(J::Bool(true))),
            JsonExpr::IsFalse(p) => matches!(select(doc, p), Some(J::Bool(false))),
            JsonExpr::IsNull(p) => matches!(select(doc, p), Some(J::Null)),
            JsonExpr::NotExists(p) => select(doc, p).is_none(),
            JsonExpr::Compare(p, op, value) => match select(doc, p) {
                Some(J::String(s)) => value.compare(*op, s, None),
                Some(J::Number(n)) => value.compare(*op, &n.to_string(), n.as_f64()),
                Some(J::Bool(b)) => value.compare(*op, &b.to_string(), None),
                _ => false,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum JsonToken {
    Open,
    Close,
    And,
    Or,
    Op(Op),
    /// A selector, keyword or bare value.
    Word(String),
    Quoted(String),
}

fn lex_json(text: &str) -> Result<Vec<JsonToken>, ApiError> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let pair = at(i + 1);
        let (token, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => (JsonToken::Open, 1),
            ')' => (JsonToken::Close, 1),
            '&' if pair == Some('&') => (JsonToken::And, 2),
            '|' if pair == Some('|') => (JsonToken::Or, 2),
            '=' => (JsonToken::Op(Op::Eq), 1),
            '!' if pair == Some('=') => (JsonToken::Op(Op::Ne), 2),
            '<' if pair == Some('=') => (JsonToken::Op(Op::Le), 2),
            '<' => (JsonToken::Op(Op::Lt), 1),
            '>' if pair == Some('=') => (JsonToken::Op(Op::Ge), 2),
            '>' => (JsonToken::Op(Op::Gt), 1),
            '"' => {
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match at(j) {
                        Some('"') => break,
                        Some('\\') => {
                            s.extend(at(j + 1));
                            j += 2;
                        }
                        Some(c) => {
                            s.push(c);
                            j += 1;
                        }
                        None => return Err(bad_pattern("unterminated string")),
                    }
                }
                (JsonToken::Quoted(s), j + 1 - i)
            }
            _ => {
                // A selector, keyword or bare value runs to whitespace, a bracket, an operator
                // or `&&` / `||`.
                let mut j = i;
                while let Some(n) = at(j) {
                    let doubled = (n == '&' || n == '|') && at(j + 1) == Some(n);
                    if n.is_whitespace()
                        || doubled
                        || matches!(n, '(' | ')' | '=' | '!' | '<' | '>' | '"')
                    {
                        break;
                    }
                    j += 1;
                }
                if j == i {
                    return Err(bad_pattern(format!("unexpected '{c}'")));
                }
                (JsonToken::Word(chars[i..j].iter().collect()), j - i)
            }
        };
        out.push(token);
        i += len;
    }
    Ok(out)
}

struct JsonParser {
    tokens: Vec<JsonToken>,
    pos: usize,
}

impl JsonParser {
    fn next(&mut self) -> Option<JsonToken> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek(&self) -> Option<&JsonToken> {
        self.tokens.get(self.pos)
    }

    fn or(&mut self) -> Result<JsonExpr, ApiError> {
        self.left_assoc(&JsonToken::Or, Self::and, JsonExpr::Or)
    }

    fn and(&mut self) -> Result<JsonExpr, ApiError> {
        self.left_assoc(&JsonToken::And, Self::unary, JsonExpr::And)
    }

    /// `operand (op operand)*`, grouped from the left.
    fn left_assoc(
        &mut self,
        op: &JsonToken,
        operand: fn(&mut Self) -> Result<JsonExpr, ApiError>,
        join: fn(Box<JsonExpr>, Box<JsonExpr>) -> JsonExpr,
    ) -> Result<JsonExpr, ApiError> {
        let mut left = operand(self)?;
        while self.peek() == Some(op) {
            self.pos += 1;
            left = join(Box::new(left), Box::new(operand(self)?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<JsonExpr, ApiError> {
        match self.next() {
            Some(JsonToken::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(JsonToken::Close) => Ok(inner),
                    _ => Err(bad_pattern("missing ')'")),
                }
            }
            Some(JsonToken::Word(selector)) => self.condition(&selector),
            _ => Err(bad_pattern("expected a selector such as $.field")),
        }
    }

    fn condition(&mut self, selector: &str) -> Result<JsonExpr, ApiError> {
        let path = parse_selector(selector)?;
        match self.next() {
            Some(JsonToken::Op(op)) => {
                let value = match self.next() {
                    Some(JsonToken::Quoted(s)) => Value::parse(&s, true)?,
                    Some(JsonToken::Word(w)) => Value::parse(&w, false)?,
                    _ => return Err(bad_pattern("expected a value after the operator")),
                };
                Ok(JsonExpr::Compare(path, op, value))
            }
            Some(JsonToken::Word(w)) if w == "IS" => match self.next() {
                Some(JsonToken::Word(w)) if w == "TRUE" => Ok(JsonExpr::IsTrue(path)),
                Some(JsonToken::Word(w)) if w == "FALSE" => Ok(JsonExpr::IsFalse(path)),
                Some(JsonToken::Word(w)) if w == "NULL" => Ok(JsonExpr::IsNull(path)),
                _ => Err(bad_pattern("expected TRUE, FALSE or NULL after IS")),
            },
            Some(JsonToken::Word(w)) if w == "NOT" => match self.next() {
                Some(JsonToken::Word(w)) if w == "EXISTS" => Ok(JsonExpr::NotExists(path)),
                _ => Err(bad_pattern("expected EXISTS after NOT")),
            },
            _ => Err(bad_pattern(format!(
                "expected an operator after {selector}"
            ))),
        }
    }
}

/// `$.a.b[0].c` as steps.
fn parse_selector(selector: &str) -> Result<Vec<Step>, ApiError> {
    let bad = || bad_pattern(format!("invalid selector {selector}"));
    let mut rest = selector.strip_prefix('$').ok_or_else(bad)?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            if key.is_empty() || key == "*" {
                return Err(bad());
            }
            steps.push(Step::Key(key.to_owned()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(bad)?;
            let index = r[..end].parse::<usize>().map_err(|_| bad())?;
            steps.push(Step::Index(index));
            rest = &r[end + 1..];
        } else {
            return Err(bad());
        }
    }
    if steps.is_empty() {
        return Err(bad());
    }
    Ok(steps)
}

/// One field of a space-delimited pattern: `...`, or a name with optional conditions.
#[derive(Debug)]
enum Field {
    Ellipsis,
    /// Alternatives (`||`) of conjunctions (`&&`) of comparisons.
    Match(Vec<Vec<(Op, Value)>>),
}

fn parse_fields(body: &str) -> Result<Vec<Field>, ApiError> {
    let mut fields = Vec::new();
    for raw in split_outside_quotes(body, ',') {
        let raw = raw.trim();
        if raw == "..." {
            fields.push(Field::Ellipsis);
            continue;
        }
        let mut alternatives = Vec::new();
        for alt in raw.split("||") {
            let mut conj = Vec::new();
            for part in alt.split("&&") {
                let part = part.trim();
                let Some(at) = part.find(['=', '!', '<', '>']) else {
                    // A bare name: matches any value.
                    if part.is_empty() || part.contains(char::is_whitespace) {
                        return Err(bad_pattern(format!("invalid field '{part}'")));
                    }
                    continue;
                };
                let rest = &part[at..];
                let (op, len) = [
                    ("!=", Op::Ne),
                    ("<=", Op::Le),
                    (">=", Op::Ge),
                    ("=", Op::Eq),
                    ("<", Op::Lt),
                    (">", Op::Gt),
                ]
                .into_iter()
                .find(|(s, _)| rest.starts_with(s))
                .map(|(s, op)| (op, s.len()))
                .ok_or_else(|| bad_pattern(format!("invalid field '{part}'")))?;
                let value = rest[len..].trim();
                let value = match value.strip_prefix('"') {
                    Some(q) => Value::parse(&unquote(q)?, true)?,
                    None => Value::parse(value, false)?,
                };
                conj.push((op, value));
            }
            alternatives.push(conj);
        }
        fields.push(Field::Match(alternatives));
    }
    Ok(fields)
}

fn split_outside_quotes(text: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&text[start..]);
    out
}

/// A message's whitespace-delimited fields; text in quotes or brackets is one field, without
/// its quotes or brackets.
fn split_message_fields(message: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = message.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let close = match bytes[i] {
            b'"' => Some(b'"'),
            b'[' => Some(b']'),
            _ => None,
        };
        if let Some(close) = close
            && let Some(len) = bytes[i + 1..].iter().position(|b| *b == close)
        {
            out.push(&message[i + 1..i + 1 + len]);
            i += len + 2;
            continue;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        out.push(&message[start..i]);
    }
    out
}

fn match_fields(fields: &[Field], tokens: &[&str]) -> bool {
    match fields.split_first() {
        None => tokens.is_empty(),
        Some((Field::Ellipsis, rest)) => {
            (0..=tokens.len()).any(|skip| match_fields(rest, &tokens[skip..]))
        }
        Some((Field::Match(alternatives), rest)) => match tokens.split_first() {
            None => false,
            Some((token, more)) => {
                let ok = alternatives.is_empty()
                    || alternatives
                        .iter()
                        .any(|conj| conj.iter().all(|(op, v)| v.compare(*op, token, None)));
                ok && match_fields(rest, more)
            }
        },
    }
}
