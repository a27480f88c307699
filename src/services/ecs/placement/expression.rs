//! The cluster query language: the expressions of `memberOf` placement constraints and of
//! ListContainerInstances' `filter`, as the ECS Developer Guide's "Cluster query language" page
//! defines them.
//!
//! ```text
//! expression  := or
//! or          := and (("or" | "||") and)*
//! and         := unary (("and" | "&&") unary)*
//! unary       := ("not" | "!") unary | "(" expression ")" | comparison
//! comparison  := subject operator [argument]
//! subject     := agentConnected | agentVersion | attribute:<name> | ec2InstanceId
//!              | registeredAt | runningTasksCount | task:group
//! operator    := == equals | != not_equals | > greater_than | >= greater_than_equal
//!              | < less_than | <= less_than_equal | exists | !exists not_exists
//!              | in | !in not_in | =~ matches | !~ not_matches
//! argument    := value | "[" value ("," value)* "]"        (a list for in / not_in)
//! value       := 'quoted' | "quoted" | unquoted
//! ```
//!
//! "A single expression can't contain parentheses", so `(attribute:x) == y` is refused, while
//! parentheses group compound expressions. Keywords and word operators are case-insensitive.
//! `=~` / `!~` take regular expressions matched against the whole value, as Java's
//! `String.matches` does (see `compile_pattern`).

use super::{Candidate, InstanceFacts, MAX_EXPRESSION_LEN, PlacementError};
use regex::{Regex, RegexBuilder};
use std::cmp::Ordering;

/// The most memory one `=~` / `!~` pattern may compile to, and the most its lazy DFA may cache:
/// a hostile pattern such as `a{1000}{1000}` is refused as invalid instead of eating memory.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// A parsed cluster query language expression.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Compare(Comparison),
}

#[derive(Debug, Clone)]
struct Comparison {
    subject: Subject,
    op: Op,
    arg: Arg,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    AgentConnected,
    AgentVersion,
    Attribute(String),
    Ec2InstanceId,
    RegisteredAt,
    RunningTasksCount,
    TaskGroup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Exists,
    NotExists,
    In,
    NotIn,
    Matches,
    NotMatches,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Exists => "exists",
            Op::NotExists => "not_exists",
            Op::In => "in",
            Op::NotIn => "not_in",
            Op::Matches => "=~",
            Op::NotMatches => "!~",
        }
    }

    fn ordering(self) -> bool {
        matches!(self, Op::Gt | Op::Ge | Op::Lt | Op::Le)
    }

    /// Whether `ord` (value compared with argument) satisfies an equality or ordering operator.
    fn accepts(self, ord: Ordering) -> bool {
        match self {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            _ => false,
        }
    }
}

/// The argument, parsed once for the subject it is compared with.
#[derive(Debug, Clone)]
enum Arg {
    Nothing,
    Text(Vec<String>),
    Pattern(Regex),
    Version(Vec<u64>),
    Count(i64),
    /// Epoch seconds and the argument's precision in seconds (86400 for a date alone).
    Time(i64, i64),
}

impl Expression {
    /// Parses `source`; a malformed expression is `PlacementError::Invalid`.
    pub fn parse(source: &str) -> Result<Expression, PlacementError> {
        if source.chars().count() > MAX_EXPRESSION_LEN {
            return Err(PlacementError::Invalid(format!(
                "The expression must be at most {MAX_EXPRESSION_LEN} characters long."
            )));
        }
        let mut parser = Parser {
            chars: source.chars().collect(),
            pos: 0,
        };
        let parsed = parser.expression().and_then(|root| {
            parser.skip_ws();
            if parser.pos < parser.chars.len() {
                Err(parser.unexpected())
            } else {
                Ok(root)
            }
        });
        match parsed {
            Ok(root) => Ok(Expression {
                source: source.to_owned(),
                root,
            }),
            Err(detail) => Err(PlacementError::Invalid(format!(
                "Invalid expression '{source}': {detail}"
            ))),
        }
    }

    /// The text the expression was parsed from.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `candidate` belongs to the group of container instances the expression selects,
    /// its agent facts being the defaults (connected, version and registration time unknown).
    pub fn matches(&self, candidate: &Candidate) -> bool {
        self.matches_with(candidate, &InstanceFacts::default())
    }

    /// Like [`Expression::matches`], with what is known of the instance's agent: the subjects
    /// agentConnected, agentVersion and registeredAt read `facts`.
    pub fn matches_with(&self, candidate: &Candidate, facts: &InstanceFacts) -> bool {
        eval(&self.root, candidate, facts)
    }
}

fn eval(node: &Node, c: &Candidate, f: &InstanceFacts) -> bool {
    match node {
        Node::And(a, b) => eval(a, c, f) && eval(b, c, f),
        Node::Or(a, b) => eval(a, c, f) || eval(b, c, f),
        Node::Not(a) => !eval(a, c, f),
        Node::Compare(cmp) => compare(cmp, c, f),
    }
}

fn compare(cmp: &Comparison, c: &Candidate, f: &InstanceFacts) -> bool {
    match &cmp.subject {
        Subject::AgentConnected => {
            let value = if f.agent_connected { "true" } else { "false" };
            text_op(cmp.op, &cmp.arg, value, true)
        }
        Subject::Ec2InstanceId => text_op(cmp.op, &cmp.arg, &c.ec2_instance_id, false),
        Subject::Attribute(name) => match (cmp.op, c.attributes.get(name)) {
            (Op::Exists, found) => found.is_some(),
            (Op::NotExists, found) => found.is_none(),
            // Every other operator needs the attribute to be there with a value: the guide's
            // `attribute:stack != prod` lists "the instances with the custom attribute stack
            // unless the attribute value is prod", not the instances without it.
            (op, Some(Some(value))) => {
                if op.ordering() {
                    match &cmp.arg {
                        Arg::Text(args) => args
                            .first()
                            .is_some_and(|arg| op.accepts(loose_cmp(value, arg))),
                        _ => false,
                    }
                } else {
                    text_op(op, &cmp.arg, value, false)
                }
            }
            _ => false,
        },
        Subject::TaskGroup => match cmp.op {
            Op::Exists => !c.tasks.is_empty(),
            Op::NotExists => c.tasks.is_empty(),
            // The instance is in the group when one of its tasks satisfies the comparison
            // ("selects instances that are hosting tasks in the service:production group").
            op => c
                .tasks
                .iter()
                .any(|t| text_op(op, &cmp.arg, &t.group, false)),
        },
        Subject::AgentVersion => match (&cmp.arg, f.agent_version.as_deref().and_then(version)) {
            (Arg::Version(arg), Some(have)) => cmp.op.accepts(version_cmp(&have, arg)),
            _ => false,
        },
        Subject::RunningTasksCount => match cmp.arg {
            Arg::Count(n) => {
                let have = i64::try_from(c.tasks.len()).unwrap_or(i64::MAX);
                cmp.op.accepts(have.cmp(&n))
            }
            _ => false,
        },
        Subject::RegisteredAt => match (&cmp.arg, f.registered_at) {
            (Arg::Time(at, precision), Some(have)) => {
                // Compared at the argument's precision: `registeredAt == 2018-06-18` is the day.
                let have = have.div_euclid(*precision) * precision;
                cmp.op.accepts(have.cmp(at))
            }
            _ => false,
        },
    }
}

fn text_op(op: Op, arg: &Arg, value: &str, ignore_case: bool) -> bool {
    let same = |a: &String| {
        if ignore_case {
            a.eq_ignore_ascii_case(value)
        } else {
            a == value
        }
    };
    match (op, arg) {
        (Op::Eq | Op::In, Arg::Text(args)) => args.iter().any(same),
        (Op::Ne | Op::NotIn, Arg::Text(args)) => !args.iter().any(same),
        (Op::Matches, Arg::Pattern(re)) => re.is_match(value),
        (Op::NotMatches, Arg::Pattern(re)) => !re.is_match(value),
        _ => false,
    }
}

/// Orders attribute values for `>`/`<`: as numbers when both are numbers, as versions when both
/// are dotted numbers (1.14.5 < 1.9 is false), else as strings.
fn loose_cmp(value: &str, arg: &str) -> Ordering {
    if let (Ok(a), Ok(b)) = (value.parse::<f64>(), arg.parse::<f64>())
        && let Some(ord) = a.partial_cmp(&b)
    {
        return ord;
    }
    if let (Some(a), Some(b)) = (version(value), version(arg)) {
        return version_cmp(&a, &b);
    }
    value.cmp(arg)
}

/// `1.14.5` (optionally `v1.14.5`) as numbers.
fn version(s: &str) -> Option<Vec<u64>> {
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    if s.is_empty() {
        return None;
    }
    s.split('.')
        .map(|part| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                part.parse().ok()
            }
        })
        .collect()
}

fn version_cmp(a: &[u64], b: &[u64]) -> Ordering {
    let len = a.len().max(b.len());
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        match x.cmp(&y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    Ordering::Equal
}

/// The date formats the guide lists for registeredAt: `2018-06-18T22:28:28+00:00`,
/// `2018-06-18T22:28:28Z`, `2018-06-18T22:28:28` (UTC) and `2018-06-18`.
fn parse_time(s: &str) -> Option<(i64, i64)> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let date = days_from_civil(year, month, day) * 86_400;
    if b.len() == 10 {
        return Some((date, 86_400));
    }
    if b.len() < 19 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let offset = match &b[19..] {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (num(20, 2)?, num(23, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = oh * 3600 + om * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    Some((date + hour * 3600 + minute * 60 + second - offset, 1))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

/// Characters of a subject: attribute names may hold letters, digits, hyphens, underscores,
/// slashes, back slashes and periods; `attribute:` and `task:` add the colon.
fn is_subject_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '\\' | ':')
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn unexpected(&self) -> String {
        match self.peek() {
            Some(c) => format!("unexpected '{c}' at position {}", self.pos + 1),
            None => "unexpected end of expression".to_owned(),
        }
    }

    fn starts_with(&self, s: &str) -> bool {
        (self.pos..)
            .zip(s.chars())
            .all(|(i, c)| self.chars.get(i) == Some(&c))
    }

    /// Eats `word` (case-insensitive) when it stands alone: not followed by a subject character.
    fn eat_keyword(&mut self, word: &str) -> bool {
        let n = word.chars().count();
        let Some(slice) = self.chars.get(self.pos..self.pos + n) else {
            return false;
        };
        let same = slice
            .iter()
            .zip(word.chars())
            .all(|(a, b)| a.eq_ignore_ascii_case(&b));
        let bounded = self
            .chars
            .get(self.pos + n)
            .is_none_or(|&c| !is_subject_char(c));
        if same && bounded {
            self.pos += n;
            true
        } else {
            false
        }
    }

    fn eat_symbol(&mut self, s: &str) -> bool {
        if self.starts_with(s) {
            self.pos += s.chars().count();
            true
        } else {
            false
        }
    }

    fn expression(&mut self) -> Result<Node, String> {
        self.left_assoc("||", "or", Self::and, Node::Or)
    }

    fn and(&mut self) -> Result<Node, String> {
        self.left_assoc("&&", "and", Self::unary, Node::And)
    }

    /// `operand (op operand)*`, grouped from the left; the operator is a symbol or a keyword.
    fn left_assoc(
        &mut self,
        symbol: &str,
        keyword: &str,
        operand: fn(&mut Self) -> Result<Node, String>,
        join: fn(Box<Node>, Box<Node>) -> Node,
    ) -> Result<Node, String> {
        let mut left = operand(self)?;
        loop {
            self.skip_ws();
            if self.eat_symbol(symbol) || self.eat_keyword(keyword) {
                let right = operand(self)?;
                left = join(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn unary(&mut self) -> Result<Node, String> {
        self.skip_ws();
        if self.eat_symbol("!") || self.eat_keyword("not") {
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        if self.eat_symbol("(") {
            let inner = self.expression()?;
            self.skip_ws();
            if !self.eat_symbol(")") {
                return Err(format!("missing ')' at position {}", self.pos + 1));
            }
            return Ok(inner);
        }
        self.comparison().map(Node::Compare)
    }

    fn comparison(&mut self) -> Result<Comparison, String> {
        let start = self.pos;
        while self.peek().is_some_and(is_subject_char) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(if self.at_end() {
                "expected a subject such as attribute:<name>, but the expression ends".to_owned()
            } else {
                format!("expected a subject, found {}", self.unexpected())
            });
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        let subject = subject(&word)?;
        self.skip_ws();
        let op = self.operator()?;
        let allowed: &[Op] = match subject {
            Subject::AgentConnected | Subject::Ec2InstanceId => &[
                Op::Eq,
                Op::Ne,
                Op::In,
                Op::NotIn,
                Op::Matches,
                Op::NotMatches,
            ],
            Subject::AgentVersion | Subject::RegisteredAt | Subject::RunningTasksCount => {
                &[Op::Eq, Op::Ne, Op::Gt, Op::Ge, Op::Lt, Op::Le]
            }
            Subject::TaskGroup => &[
                Op::Eq,
                Op::Ne,
                Op::In,
                Op::NotIn,
                Op::Matches,
                Op::NotMatches,
                Op::Exists,
                Op::NotExists,
            ],
            Subject::Attribute(_) => &[
                Op::Eq,
                Op::Ne,
                Op::Gt,
                Op::Ge,
                Op::Lt,
                Op::Le,
                Op::Exists,
                Op::NotExists,
                Op::In,
                Op::NotIn,
                Op::Matches,
                Op::NotMatches,
            ],
        };
        if !allowed.contains(&op) {
            return Err(format!(
                "operator {} is not valid for subject {word}",
                op.name()
            ));
        }
        let values = match op {
            Op::Exists | Op::NotExists => Vec::new(),
            Op::In | Op::NotIn => self.list()?,
            _ => vec![self.value(false)?],
        };
        let arg = argument(&subject, op, values)?;
        Ok(Comparison { subject, op, arg })
    }

    fn operator(&mut self) -> Result<Op, String> {
        let symbols = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("=~", Op::Matches),
            ("!~", Op::NotMatches),
            (">", Op::Gt),
            ("<", Op::Lt),
        ];
        if let Some((_, op)) = symbols.into_iter().find(|(s, _)| self.eat_symbol(s)) {
            return Ok(op);
        }
        if self.starts_with("!") {
            self.pos += 1;
            if self.eat_keyword("exists") {
                return Ok(Op::NotExists);
            }
            if self.eat_keyword("in") {
                return Ok(Op::NotIn);
            }
            self.pos -= 1;
        }
        let words = [
            ("equals", Op::Eq),
            ("not_equals", Op::Ne),
            ("greater_than_equal", Op::Ge),
            ("greater_than", Op::Gt),
            ("less_than_equal", Op::Le),
            ("less_than", Op::Lt),
            ("exists", Op::Exists),
            ("not_exists", Op::NotExists),
            ("in", Op::In),
            ("not_in", Op::NotIn),
            ("matches", Op::Matches),
            ("not_matches", Op::NotMatches),
        ];
        if let Some((_, op)) = words.into_iter().find(|(w, _)| self.eat_keyword(w)) {
            return Ok(op);
        }
        Err(if self.at_end() {
            "expected an operator, but the expression ends".to_owned()
        } else {
            format!("expected an operator, found {}", self.unexpected())
        })
    }

    /// `[a, b, ...]`; a lone value is taken as a list of one.
    fn list(&mut self) -> Result<Vec<String>, String> {
        self.skip_ws();
        if !self.eat_symbol("[") {
            return Ok(vec![self.value(false)?]);
        }
        let mut values = Vec::new();
        loop {
            values.push(self.value(true)?);
            self.skip_ws();
            if self.eat_symbol(",") {
                continue;
            }
            if self.eat_symbol("]") {
                return Ok(values);
            }
            return Err(if self.at_end() {
                "unclosed argument list".to_owned()
            } else {
                format!("expected ',' or ']', found {}", self.unexpected())
            });
        }
    }

    /// One value, quoted or not. Unquoted, it runs to whitespace, `&&`, `||`, or a ')' (in a
    /// list also a ',' or ']') that it did not open itself, so `t2.*`, `service:production` and
    /// a regex such as `(t2|m5)\..*` need no quotes.
    fn value(&mut self, in_list: bool) -> Result<String, String> {
        self.skip_ws();
        match self.peek() {
            None => return Err("expected a value, but the expression ends".to_owned()),
            Some(q @ ('\'' | '"')) => {
                let open = self.pos;
                self.pos += 1;
                let mut out = String::new();
                loop {
                    match self.peek() {
                        None => {
                            return Err(format!("unclosed quote at position {}", open + 1));
                        }
                        Some('\\')
                            if self
                                .chars
                                .get(self.pos + 1)
                                .is_some_and(|&n| n == q || n == '\\') =>
                        {
                            out.push(self.chars[self.pos + 1]);
                            self.pos += 2;
                        }
                        Some(c) if c == q => {
                            self.pos += 1;
                            break;
                        }
                        Some(c) => {
                            out.push(c);
                            self.pos += 1;
                        }
                    }
                }
                if out.is_empty() {
                    return Err(format!("empty value at position {}", open + 1));
                }
                return Ok(out);
            }
            Some(_) => {}
        }
        let start = self.pos;
        let (mut parens, mut brackets) = (0usize, 0usize);
        while let Some(c) = self.peek() {
            if c.is_whitespace() || self.starts_with("&&") || self.starts_with("||") {
                break;
            }
            match c {
                '(' => parens += 1,
                ')' if parens == 0 => break,
                ')' => parens -= 1,
                '[' => brackets += 1,
                ']' if brackets == 0 && in_list => break,
                ']' => brackets = brackets.saturating_sub(1),
                ',' if in_list && brackets == 0 && parens == 0 => break,
                _ => {}
            }
            self.pos += 1;
        }
        if start == self.pos {
            return Err(format!("expected a value, found {}", self.unexpected()));
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }
}

fn subject(word: &str) -> Result<Subject, String> {
    let lower = word.to_ascii_lowercase();
    if let Some(name) = lower.strip_prefix("attribute:") {
        // The name keeps its case: attribute names are case-sensitive.
        let name = &word[word.len() - name.len()..];
        if name.is_empty() || name.len() > 128 || name.contains(':') {
            return Err(format!("invalid attribute name in subject {word}"));
        }
        return Ok(Subject::Attribute(name.to_owned()));
    }
    Ok(match lower.as_str() {
        "agentconnected" => Subject::AgentConnected,
        "agentversion" => Subject::AgentVersion,
        "ec2instanceid" => Subject::Ec2InstanceId,
        "registeredat" => Subject::RegisteredAt,
        "runningtaskscount" => Subject::RunningTasksCount,
        "task:group" => Subject::TaskGroup,
        _ => {
            return Err(format!(
                "unknown subject {word}; valid subjects are agentConnected, agentVersion, \
                 attribute:<name>, ec2InstanceId, registeredAt, runningTasksCount and task:group"
            ));
        }
    })
}

fn argument(subject: &Subject, op: Op, values: Vec<String>) -> Result<Arg, String> {
    if matches!(op, Op::Exists | Op::NotExists) {
        return Ok(Arg::Nothing);
    }
    if matches!(op, Op::Matches | Op::NotMatches) {
        let pattern = values.first().map(String::as_str).unwrap_or_default();
        return compile_pattern(pattern)
            .map(Arg::Pattern)
            .map_err(|e| format!("invalid regular expression '{pattern}': {e}"));
    }
    let first = values.first().cloned().unwrap_or_default();
    match subject {
        Subject::AgentConnected => {
            if let Some(bad) = values
                .iter()
                .find(|v| !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false"))
            {
                return Err(format!("agentConnected takes true or false, not '{bad}'"));
            }
            Ok(Arg::Text(values))
        }
        Subject::AgentVersion => version(&first)
            .map(Arg::Version)
            .ok_or_else(|| format!("'{first}' is not an agent version such as 1.14.5")),
        Subject::RunningTasksCount => first
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Arg::Count)
            .ok_or_else(|| format!("'{first}' is not a number of tasks")),
        Subject::RegisteredAt => parse_time(&first)
            .map(|(at, precision)| Arg::Time(at, precision))
            .ok_or_else(|| {
                format!(
                    "'{first}' is not a date; use 2018-06-18T22:28:28+00:00, \
                     2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18"
                )
            }),
        Subject::Attribute(_) | Subject::Ec2InstanceId | Subject::TaskGroup => {
            Ok(Arg::Text(values))
        }
    }
}

/// Compiles a `=~` / `!~` pattern to match whole values only: ECS documents the patterns as
/// Java regular expressions, and Java's `matches` tests the whole value, so `t2.*` selects
/// `t2.micro` but `2.m` selects nothing. The `regex` crate matches in linear time whatever the
/// pattern; look-around and back-references, which it lacks, are invalid.
fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    let build = |source: &str| {
        RegexBuilder::new(source)
            .size_limit(PATTERN_SIZE_LIMIT)
            .dfa_size_limit(PATTERN_SIZE_LIMIT)
            .build()
            .map_err(|e| describe_regex_error(&e))
    };
    // Compiled alone first, so that an unbalanced `)` (as in `a)|(b`) is refused rather than
    // closing the anchoring group early, and so that errors point into the user's pattern.
    build(pattern)?;
    build(&format!("^(?:{pattern})$"))
}

/// A one-line reason from a `regex` error (syntax errors span several lines, with a caret).
fn describe_regex_error(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(detail) => {
            let last = detail.lines().last().unwrap_or(detail);
            last.strip_prefix("error: ").unwrap_or(last).to_owned()
        }
        regex::Error::CompiledTooBig(limit) => {
            format!("the pattern is too large (it compiles to more than {limit} bytes)")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::PlacedTask;
    use super::*;

    fn instance(attrs: &[(&str, Option<&str>)]) -> Candidate {
        let mut c = Candidate::new(
            "arn:aws:ecs:us-east-1:000000000000:container-instance/c/1",
            "i-abcd1234",
        );
        for (k, v) in attrs {
            c.attributes.insert((*k).to_owned(), v.map(str::to_owned));
        }
        c
    }

    fn task(group: &str) -> PlacedTask {
        PlacedTask {
            group: group.to_owned(),
            task_definition_family: "web".to_owned(),
            task_definition_arn: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"
                .to_owned(),
            started_by: None,
        }
    }

    fn facts(agent_version: Option<&str>, registered_at: Option<i64>) -> InstanceFacts {
        InstanceFacts {
            agent_connected: true,
            agent_version: agent_version.map(str::to_owned),
            registered_at,
        }
    }

    fn parse(s: &str) -> Expression {
        match Expression::parse(s) {
            Ok(e) => e,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn t2_small_1a() -> Candidate {
        instance(&[
            ("ecs.instance-type", Some("t2.small")),
            ("ecs.availability-zone", Some("us-east-1a")),
            ("ecs.os-type", Some("linux")),
            ("stack", Some("prod")),
        ])
    }

    fn g2_1d() -> Candidate {
        instance(&[
            ("ecs.instance-type", Some("g2.2xlarge")),
            ("ecs.availability-zone", Some("us-east-1d")),
        ])
    }

    fn g2_1b() -> Candidate {
        instance(&[
            ("ecs.instance-type", Some("g2.2xlarge")),
            ("ecs.availability-zone", Some("us-east-1b")),
            ("stack", Some("dev")),
        ])
    }

    /// Every example of the guide's "Cluster query language" page, plus the constraint and
    /// list-container-instances filter examples of "Task placement constraints".
    #[test]
    fn guide_examples_parse_and_select() {
        let t2 = t2_small_1a();
        let g2d = g2_1d();
        let g2b = g2_1b();

        let e = parse("attribute:ecs.instance-type == t2.small");
        assert!(e.matches(&t2) && !e.matches(&g2d));

        let e = parse("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]");
        assert!(e.matches(&t2) && e.matches(&g2b) && !e.matches(&g2d));

        let e = parse(
            "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
        );
        assert!(e.matches(&g2b) && !e.matches(&g2d) && !e.matches(&t2));

        let e = parse(
            "attribute:ecs.instance-type == t2.small and attribute:ecs.availability-zone != us-east-1d",
        );
        assert!(e.matches(&t2) && !e.matches(&g2b));

        let mut prod = t2_small_1a();
        prod.tasks.push(task("service:production"));
        let e = parse("task:group == service:production");
        assert!(e.matches(&prod) && !e.matches(&t2));

        let mut db = t2_small_1a();
        db.tasks.push(task("database"));
        let e = parse("not(task:group == database)");
        assert!(!e.matches(&db) && e.matches(&prod) && e.matches(&t2));

        let e = parse("runningTasksCount == 1");
        assert!(e.matches(&db) && !e.matches(&t2));

        let old = facts(Some("1.14.4"), None);
        let new = facts(Some("1.90.0"), None);
        let e = parse("agentVersion < 1.14.5");
        assert!(e.matches_with(&t2, &old) && !e.matches_with(&t2, &new));

        // 2018-02-12T23:59:59Z and 2018-02-13T00:00:00Z.
        let before = facts(None, Some(1_518_479_999));
        let on = facts(None, Some(1_518_480_000));
        let e = parse("registeredAt < 2018-02-13");
        assert!(e.matches_with(&t2, &before) && !e.matches_with(&t2, &on));

        let e = parse("ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']");
        assert!(e.matches(&t2));
        let mut other = t2_small_1a();
        other.ec2_instance_id = "i-00000000".to_owned();
        assert!(!e.matches(&other));

        // Task placement constraints and list-container-instances --filter examples.
        let e = parse("attribute:ecs.instance-type =~ t2.*");
        assert!(e.matches(&t2) && !e.matches(&g2b));
        let e = parse("task:group == databases");
        assert!(!e.matches(&db));
        let mut daemon = t2_small_1a();
        daemon.tasks.push(task("service:daemon-service"));
        assert!(parse("task:group == service:daemon-service").matches(&daemon));
        assert!(parse("attribute:ecs.instance-type == g2.2xlarge").matches(&g2d));
        let e = parse("attribute:stack == prod");
        assert!(e.matches(&t2) && !e.matches(&g2b) && !e.matches(&g2d));
        let e = parse("attribute:stack != prod");
        assert!(!e.matches(&t2) && e.matches(&g2b));
        // Instances without the attribute are not "stack unless prod".
        assert!(!e.matches(&g2d));
        let e = parse("attribute:ecs.instance-type in [t2.small, t2.medium]");
        assert!(e.matches(&t2) && !e.matches(&g2b));
        let e = parse(
            "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a",
        );
        assert!(e.matches(&t2) && !e.matches(&g2b));
        assert!(parse("attribute:ecs.os-type == linux").matches(&t2));
        assert!(!parse("attribute:ecs.os-family == WINDOWS_SERVER_2019_FULL").matches(&t2));
        assert!(
            parse("attribute:ecs.availability-zone in [us-west-2a, us-west-2b]")
                .as_str()
                .contains("us-west-2b")
        );

        // "(expression1 or expression2) and expression3"
        let e = parse(
            "(attribute:ecs.availability-zone == us-east-1a or attribute:ecs.availability-zone == us-east-1b) and attribute:stack exists",
        );
        assert!(e.matches(&t2) && e.matches(&g2b) && !e.matches(&g2d));
    }

    #[test]
    fn every_operator_in_both_spellings() {
        let c = instance(&[("n", Some("5")), ("s", Some("abc")), ("flag", None)]);
        let yes = [
            "attribute:n == 5",
            "attribute:n equals 5",
            "attribute:n != 6",
            "attribute:n not_equals 6",
            "attribute:n > 4",
            "attribute:n greater_than 4",
            "attribute:n >= 5",
            "attribute:n greater_than_equal 5",
            "attribute:n < 10",
            "attribute:n less_than 10",
            "attribute:n <= 5",
            "attribute:n less_than_equal 5",
            "attribute:flag exists",
            "attribute:missing !exists",
            "attribute:missing not_exists",
            "attribute:s in [x, abc]",
            "attribute:s !in [x, y]",
            "attribute:s not_in [x, y]",
            "attribute:s =~ a.c",
            "attribute:s matches a.c",
            "attribute:s !~ x.*",
            "attribute:s not_matches x.*",
            "attribute:s EQUALS abc",
        ];
        for e in yes {
            assert!(parse(e).matches(&c), "{e} should select the instance");
        }
        let no = [
            "attribute:n == 6",
            "attribute:n > 5",
            "attribute:n < 5",
            "attribute:flag !exists",
            "attribute:missing exists",
            "attribute:s in [x, y]",
            "attribute:s not_in [abc]",
            "attribute:s =~ b",
            // Present without a value: exists, but nothing to compare.
            "attribute:flag == x",
            "attribute:flag != x",
            // Absent: only not_exists holds.
            "attribute:missing != x",
            "attribute:missing not_in [x]",
            "attribute:missing !~ x",
        ];
        for e in no {
            assert!(!parse(e).matches(&c), "{e} should not select the instance");
        }
    }

    #[test]
    fn compound_precedence_and_spellings() {
        let c = instance(&[("a", Some("1")), ("b", Some("2"))]);
        // and binds tighter than or.
        assert!(parse("attribute:a == 1 or attribute:a == 9 and attribute:b == 9").matches(&c));
        assert!(!parse("(attribute:a == 1 or attribute:a == 9) and attribute:b == 9").matches(&c));
        assert!(parse("attribute:a == 1 && attribute:b == 2").matches(&c));
        assert!(parse("attribute:a == 9 || attribute:b == 2").matches(&c));
        assert!(parse("!(attribute:a == 9)").matches(&c));
        assert!(parse("not attribute:a == 9").matches(&c));
        assert!(parse("NOT (attribute:a == 9) AND attribute:b == 2").matches(&c));
        assert!(!parse("not not attribute:a == 9").matches(&c));
        assert!(parse("((attribute:a == 1))").matches(&c));
        assert!(parse("attribute:a==1&&attribute:b==2").matches(&c));
        assert!(parse("  attribute:a   ==   1  ").matches(&c));
        assert!(parse("not(attribute:a == 9)and(attribute:b == 2)").matches(&c));
    }

    #[test]
    fn quoted_values() {
        let c = instance(&[("team", Some("red team")), ("path", Some("a\\b"))]);
        assert!(parse("attribute:team == 'red team'").matches(&c));
        assert!(parse("attribute:team == \"red team\"").matches(&c));
        assert!(parse("attribute:team in ['red team', \"blue team\"]").matches(&c));
        assert!(parse("attribute:path == 'a\\\\b'").matches(&c));
        assert!(parse("attribute:team =~ 'red\\s\\w+'").matches(&c));
        let q = instance(&[("q", Some("it's"))]);
        assert!(parse("attribute:q == 'it\\'s'").matches(&q));
        assert!(parse("attribute:q == \"it's\"").matches(&q));
    }

    #[test]
    fn regex_values_need_no_quotes() {
        let c = instance(&[("ecs.instance-type", Some("m5.large"))]);
        assert!(parse("attribute:ecs.instance-type =~ (t2|m5)\\..*").matches(&c));
        assert!(parse("not(attribute:ecs.instance-type =~ (t2|c5).*)").matches(&c));
        assert!(parse("attribute:ecs.instance-type =~ [mt][0-9]\\.large").matches(&c));
    }

    #[test]
    fn patterns_match_whole_values_in_linear_time() {
        let c = instance(&[("t", Some("t2.micro")), ("long", Some(&"a".repeat(5000)))]);
        assert!(parse("attribute:t =~ t2.*").matches(&c));
        assert!(!parse("attribute:t =~ 2.m").matches(&c));
        assert!(!parse("attribute:t =~ t2").matches(&c));
        // The whole value, not the leftmost alternative's match.
        assert!(parse("attribute:t =~ t|t2.micro").matches(&c));
        assert!(parse("attribute:t =~ (?i)T2\\.MICRO").matches(&c));
        assert!(parse("attribute:t =~ ^t2\\.\\w+$").matches(&c));
        // No catastrophic backtracking.
        assert!(!parse("attribute:long =~ (a*)*b").matches(&c));
        assert!(parse("attribute:long =~ (a|aa)*").matches(&c));
        for bad in [
            // An unbalanced ')' must not escape the anchoring group.
            "attribute:t =~ 't)|(x'",
            "attribute:t =~ (?=t)t2.*",
            "attribute:t =~ (t)\\1",
            "attribute:t =~ a{1000}{1000}",
        ] {
            match Expression::parse(bad) {
                Err(PlacementError::Invalid(msg)) => {
                    assert!(msg.contains("invalid regular expression"), "{msg}");
                    assert!(!msg.contains('\n'), "{msg}");
                }
                Ok(_) => panic!("{bad:?} should be invalid"),
            }
        }
    }

    #[test]
    fn agent_and_instance_subjects() {
        let mut c = instance(&[]);
        // Without facts the agent counts as connected, as berth's agents always are.
        assert!(parse("agentConnected == true").matches(&c));
        assert!(parse("agentConnected != false").matches(&c));
        assert!(parse("agentConnected in [TRUE]").matches(&c));
        assert!(parse("agentConnected =~ t.*").matches(&c));
        let disconnected = InstanceFacts {
            agent_connected: false,
            ..InstanceFacts::default()
        };
        assert!(parse("agentConnected == false").matches_with(&c, &disconnected));
        assert!(!parse("agentConnected == true").matches_with(&c, &disconnected));

        assert!(parse("ec2InstanceId == i-abcd1234").matches(&c));
        assert!(parse("ec2InstanceId =~ i-abcd.*").matches(&c));
        assert!(parse("ec2InstanceId != i-0").matches(&c));

        // No agent version known: no comparison holds.
        assert!(!parse("agentVersion >= 0.0.1").matches(&c));
        let v = facts(Some("1.14.5"), None);
        assert!(parse("agentVersion == 1.14.5").matches_with(&c, &v));
        assert!(parse("agentVersion >= 1.14").matches_with(&c, &v));
        assert!(parse("agentVersion > 1.9.9").matches_with(&c, &v));
        assert!(parse("agentVersion <= 1.14.5").matches_with(&c, &v));
        assert!(!parse("agentVersion < 1.14.5").matches_with(&c, &v));
        assert!(parse("agentVersion == v1.14.5").matches_with(&c, &v));

        c.tasks = vec![task("a"), task("b")];
        assert!(parse("runningTasksCount == 2").matches(&c));
        assert!(parse("runningTasksCount > 1").matches(&c));
        assert!(parse("runningTasksCount <= 2").matches(&c));
        assert!(!parse("runningTasksCount < 2").matches(&c));

        assert!(parse("task:group exists").matches(&c));
        assert!(parse("task:group in [x, b]").matches(&c));
        assert!(parse("task:group =~ [ab]").matches(&c));
        c.tasks.clear();
        assert!(parse("task:group not_exists").matches(&c));
        assert!(!parse("task:group == a").matches(&c));
        assert!(parse("runningTasksCount == 0").matches(&c));
    }

    #[test]
    fn registered_at_formats() {
        let c = instance(&[]);
        // 2018-06-18T22:28:28Z
        let f = facts(None, Some(1_529_360_908));
        for e in [
            "registeredAt == 2018-06-18T22:28:28+00:00",
            "registeredAt == 2018-06-18T22:28:28Z",
            "registeredAt == 2018-06-18T22:28:28",
            "registeredAt == 2018-06-18T23:28:28+01:00",
            "registeredAt == 2018-06-18",
            "registeredAt > 2018-06-17",
            "registeredAt >= 2018-06-18",
            "registeredAt <= 2018-06-18",
            "registeredAt < 2018-06-19",
            "registeredAt > 2018-06-18T22:28:27Z",
            "registeredAt != 2018-06-18T22:28:29Z",
        ] {
            assert!(parse(e).matches_with(&c, &f), "{e}");
        }
        for e in [
            "registeredAt < 2018-06-18",
            "registeredAt > 2018-06-18",
            "registeredAt == 2018-06-18T22:28:29Z",
        ] {
            assert!(!parse(e).matches_with(&c, &f), "{e}");
        }
        assert!(!parse("registeredAt < 2030-01-01").matches(&c));
        assert_eq!(parse_time("1970-01-01"), Some((0, 86_400)));
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Some((951_782_400, 1)));
        assert_eq!(parse_time("2001-02-29"), None);
    }

    #[test]
    fn invalid_expressions() {
        let long = format!("attribute:a == {}", "x".repeat(MAX_EXPRESSION_LEN));
        let cases = [
            "",
            "   ",
            "attribute:",
            "attribute: == x",
            "foo == bar",
            "attribute:a",
            "attribute:a ==",
            "attribute:a == x y",
            "attribute:a == x and",
            "and attribute:a == x",
            "attribute:a == x or or attribute:b == y",
            "not",
            "(attribute:a == x",
            "attribute:a == x)",
            "(attribute:a) == x",
            "attribute:a in [x, y",
            "attribute:a in []",
            "attribute:a in [x,]",
            "attribute:a in [x y]",
            "attribute:a == 'x",
            "attribute:a == ''",
            "attribute:a ~= x",
            "attribute:a === x",
            "attribute:a like x",
            "attribute:a =~ (x",
            "attribute:a =~ *x",
            "attribute:a exists x",
            "agentConnected == maybe",
            "agentConnected > true",
            "agentConnected exists",
            "agentVersion =~ 1.*",
            "agentVersion < latest",
            "runningTasksCount == many",
            "runningTasksCount == -1",
            "runningTasksCount in [1, 2]",
            "registeredAt < yesterday",
            "registeredAt < 2018-13-01",
            "registeredAt < 2018-06-18T25:00:00Z",
            "ec2InstanceId > i-1",
            "ec2InstanceId exists",
            "task:group > a",
            "attribute:a:b == x",
            long.as_str(),
        ];
        for e in cases {
            match Expression::parse(e) {
                Err(PlacementError::Invalid(msg)) => assert!(!msg.is_empty()),
                Ok(_) => panic!("{e:?} should be invalid"),
            }
        }
    }

    /// Arbitrary token soup never panics the parser, the regex compiler or evaluation.
    #[test]
    fn arbitrary_input_never_panics() {
        let tokens = [
            "attribute:",
            "a",
            "ecs.instance-type",
            " ",
            "==",
            "!=",
            "!",
            "(",
            ")",
            "[",
            "]",
            ",",
            "'",
            "\"",
            "\\",
            "=~",
            "!~",
            ">",
            "<=",
            "in",
            "!in",
            "exists",
            "and",
            "or",
            "not",
            "&&",
            "||",
            "*",
            "+",
            "?",
            "{",
            "}",
            "{2,",
            "|",
            ".",
            "-",
            "^",
            "$",
            "2",
            "task:group",
            "registeredAt",
            "2018-06-18",
            "T22:28:28",
            "+00:00",
            "agentVersion",
            "1.2",
            "runningTasksCount",
            "agentConnected",
            "true",
            "ec2InstanceId",
            "\\Q",
            "\\d",
            "(?i)",
            "(?:",
            "é",
        ];
        let mut rng = super::super::SplitMix64(1);
        let mut c = instance(&[("a", Some("1")), ("ecs.instance-type", Some("t2.micro"))]);
        c.tasks.push(task("g"));
        let f = facts(Some("1.2.3"), Some(1_529_360_908));
        let mut parsed = 0;
        for i in 0..20_000 {
            let len = rng.below(16);
            let text: String = (0..len).map(|_| tokens[rng.below(tokens.len())]).collect();
            if let Ok(e) = Expression::parse(&text) {
                parsed += 1;
                let _ = e.matches_with(&c, &f);
                let _ = e.matches(&c);
            }
            // The soup as a pattern too, on a sample: the regex crate is fuzzed upstream, and
            // compiling it unoptimised costs about a millisecond a pattern.
            if i % 20 == 0 {
                let _ = compile_pattern(&text).map(|re| re.is_match("t2.micro"));
            }
        }
        assert!(parsed > 0);
    }

    #[test]
    fn error_names_the_expression() {
        let Err(PlacementError::Invalid(msg)) = Expression::parse("attribute:a === x") else {
            panic!("should be invalid");
        };
        assert!(msg.contains("attribute:a === x"), "{msg}");
    }
}
