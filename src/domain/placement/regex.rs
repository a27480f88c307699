//! The patterns behind the cluster query language's `=~` (matches) and `!~` (not_matches). ECS
//! documents them as Java regular expressions (`java.util.regex.Pattern`), and a Java `matches`
//! tests the whole value, so `t2.*` selects `t2.micro` but `2.m` selects nothing.
//!
//! berth takes no regex crate for this: a pattern compiles to a small program run by a Pike VM,
//! which keeps matching linear in the value whatever the pattern (no catastrophic backtracking on
//! a user's `(a*)*b`). Supported: literals, `.`, classes (`[a-z]`, `[^...]`, `\d \w \s` and their
//! negations), groups (`(...)`, `(?:...)`, `(?<name>...)`), alternation, the greedy, lazy and
//! possessive quantifiers `* + ? {n} {n,} {n,m}` (all the same for a yes/no whole match), anchors
//! `^ $ \A \z \Z \b \B`, escapes (`\t \n \r \f \e \a \xhh \uhhhh \Q...\E`) and the `(?i)` flag.
//! Look-around and back-references are refused as invalid, never silently ignored.

use std::fmt;

/// A compiled pattern.
#[derive(Clone)]
pub struct Regex {
    prog: Vec<Inst>,
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Regex({} instructions)", self.prog.len())
    }
}

/// The longest program a pattern may compile to; a bound on `x{1000}{1000}` style blow-ups.
const MAX_PROGRAM: usize = 50_000;
/// The largest count in `{n,m}`.
const MAX_REPEAT: u32 = 1000;

#[derive(Clone, Debug)]
enum Inst {
    Char { c: char, fold: bool },
    Any,
    Class { class: Class, fold: bool },
    Split(usize, usize),
    Jmp(usize),
    Start,
    End,
    WordBoundary(bool),
    Match,
}

#[derive(Clone, Debug)]
struct Class {
    items: Vec<ClassItem>,
    negated: bool,
}

#[derive(Clone, Debug)]
enum ClassItem {
    Range(char, char),
    Digit(bool),
    Word(bool),
    Space(bool),
}

impl ClassItem {
    fn contains(&self, c: char) -> bool {
        match *self {
            ClassItem::Range(lo, hi) => lo <= c && c <= hi,
            ClassItem::Digit(neg) => c.is_ascii_digit() != neg,
            ClassItem::Word(neg) => is_word(c) != neg,
            ClassItem::Space(neg) => is_space(c) != neg,
        }
    }
}

impl Class {
    fn contains(&self, c: char, fold: bool) -> bool {
        let hit = |c: char| self.items.iter().any(|i| i.contains(c));
        let found = if fold {
            hit(c) || c.to_lowercase().any(hit) || c.to_uppercase().any(hit)
        } else {
            hit(c)
        };
        found != self.negated
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}')
}

fn chars_eq(a: char, b: char, fold: bool) -> bool {
    a == b || (fold && a.to_lowercase().eq(b.to_lowercase()))
}

#[derive(Clone, Debug)]
enum Node {
    Empty,
    Char {
        c: char,
        fold: bool,
    },
    Any,
    Class {
        class: Class,
        fold: bool,
    },
    Start,
    End,
    WordBoundary(bool),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

impl Regex {
    /// Compiles `pattern`; the error says what is wrong, in the words Java uses where it can.
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let mut parser = Parser {
            chars: pattern.chars().collect(),
            pos: 0,
            fold: false,
        };
        let node = parser.alternation()?;
        if parser.pos < parser.chars.len() {
            // Only an unbalanced ')' stops the top-level alternation early.
            return Err(format!("unmatched closing ')' near index {}", parser.pos));
        }
        let mut prog = Vec::new();
        compile(&node, &mut prog)?;
        prog.push(Inst::Match);
        Ok(Regex { prog })
    }

    /// Whether the pattern matches the whole of `text`, as Java's `String.matches` does.
    pub fn is_match(&self, text: &str) -> bool {
        let input: Vec<char> = text.chars().collect();
        let n = self.prog.len();
        let mut marks = vec![usize::MAX; n];
        let mut current = Vec::with_capacity(n);
        let mut next = Vec::with_capacity(n);
        let mut stack = Vec::new();
        self.add_thread(&mut current, &mut marks, &mut stack, 0, 0, &input);
        for pos in 0..=input.len() {
            if current.is_empty() {
                return false;
            }
            next.clear();
            for &pc in &current {
                let step = match &self.prog[pc] {
                    Inst::Match => {
                        if pos == input.len() {
                            return true;
                        }
                        false
                    }
                    Inst::Char { c, fold } => {
                        input.get(pos).is_some_and(|&x| chars_eq(x, *c, *fold))
                    }
                    Inst::Any => pos < input.len(),
                    Inst::Class { class, fold } => {
                        input.get(pos).is_some_and(|&x| class.contains(x, *fold))
                    }
                    // Control instructions never sit in a thread list.
                    _ => false,
                };
                if step {
                    self.add_thread(&mut next, &mut marks, &mut stack, pc + 1, pos + 1, &input);
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        false
    }

    /// Follows jumps, splits and assertions from `pc` at `pos`, adding the consuming instructions
    /// reached to `list` once each (the mark is the position, so each step has a fresh set).
    fn add_thread(
        &self,
        list: &mut Vec<usize>,
        marks: &mut [usize],
        stack: &mut Vec<usize>,
        pc: usize,
        pos: usize,
        input: &[char],
    ) {
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if marks[pc] == pos {
                continue;
            }
            marks[pc] = pos;
            match self.prog[pc] {
                Inst::Jmp(to) => stack.push(to),
                Inst::Split(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Inst::Start => {
                    if pos == 0 {
                        stack.push(pc + 1);
                    }
                }
                Inst::End => {
                    if pos == input.len() {
                        stack.push(pc + 1);
                    }
                }
                Inst::WordBoundary(want) => {
                    let before = pos > 0 && input.get(pos - 1).is_some_and(|&c| is_word(c));
                    let after = input.get(pos).is_some_and(|&c| is_word(c));
                    if (before != after) == want {
                        stack.push(pc + 1);
                    }
                }
                _ => list.push(pc),
            }
        }
    }
}

fn emit(prog: &mut Vec<Inst>, inst: Inst) -> Result<usize, String> {
    if prog.len() >= MAX_PROGRAM {
        return Err("pattern is too large".to_owned());
    }
    prog.push(inst);
    Ok(prog.len() - 1)
}

fn compile(node: &Node, prog: &mut Vec<Inst>) -> Result<(), String> {
    match node {
        Node::Empty => {}
        Node::Char { c, fold } => {
            emit(prog, Inst::Char { c: *c, fold: *fold })?;
        }
        Node::Any => {
            emit(prog, Inst::Any)?;
        }
        Node::Class { class, fold } => {
            emit(
                prog,
                Inst::Class {
                    class: class.clone(),
                    fold: *fold,
                },
            )?;
        }
        Node::Start => {
            emit(prog, Inst::Start)?;
        }
        Node::End => {
            emit(prog, Inst::End)?;
        }
        Node::WordBoundary(want) => {
            emit(prog, Inst::WordBoundary(*want))?;
        }
        Node::Concat(nodes) => {
            for n in nodes {
                compile(n, prog)?;
            }
        }
        Node::Alt(nodes) => {
            let mut jumps = Vec::new();
            for (i, n) in nodes.iter().enumerate() {
                if i + 1 < nodes.len() {
                    let split = emit(prog, Inst::Split(0, 0))?;
                    compile(n, prog)?;
                    jumps.push(emit(prog, Inst::Jmp(0))?);
                    prog[split] = Inst::Split(split + 1, prog.len());
                } else {
                    compile(n, prog)?;
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Node::Repeat { node, min, max } => {
            for _ in 0..*min {
                compile(node, prog)?;
            }
            match max {
                None => {
                    let split = emit(prog, Inst::Split(0, 0))?;
                    compile(node, prog)?;
                    emit(prog, Inst::Jmp(split))?;
                    prog[split] = Inst::Split(split + 1, prog.len());
                }
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(emit(prog, Inst::Split(0, 0))?);
                        compile(node, prog)?;
                    }
                    let end = prog.len();
                    for s in splits {
                        prog[s] = Inst::Split(s + 1, end);
                    }
                }
            }
        }
    }
    Ok(())
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// `(?i)` in force: case-insensitive matching until the end of the enclosing group.
    fold: bool,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn next(&mut self) -> Result<char, String> {
        let c = self
            .peek()
            .ok_or_else(|| "unexpected end of pattern".to_owned())?;
        self.pos += 1;
        Ok(c)
    }

    fn alternation(&mut self) -> Result<Node, String> {
        let mut branches = vec![self.sequence()?];
        while self.eat('|') {
            branches.push(self.sequence()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn sequence(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            if let Some(atom) = self.atom()? {
                let atom = self.quantified(atom)?;
                items.push(atom);
            }
        }
        Ok(Node::Concat(items))
    }

    fn quantified(&mut self, mut atom: Node) -> Result<Node, String> {
        loop {
            let (min, max) = match self.peek() {
                Some('*') => {
                    self.pos += 1;
                    (0, None)
                }
                Some('+') => {
                    self.pos += 1;
                    (1, None)
                }
                Some('?') => {
                    self.pos += 1;
                    (0, Some(1))
                }
                Some('{') => match self.counted()? {
                    Some(bounds) => bounds,
                    None => return Ok(atom),
                },
                _ => return Ok(atom),
            };
            if matches!(atom, Node::Start | Node::End | Node::WordBoundary(_)) {
                return Err(format!("dangling meta character near index {}", self.pos));
            }
            // Lazy (`*?`) and possessive (`*+`) forms accept the same whole strings here.
            if !self.eat('?') {
                self.eat('+');
            }
            atom = Node::Repeat {
                node: Box::new(atom),
                min,
                max,
            };
        }
    }

    /// `{n}`, `{n,}` or `{n,m}` at the current `{`.
    fn counted(&mut self) -> Result<Option<(u32, Option<u32>)>, String> {
        let start = self.pos;
        self.pos += 1;
        let min = self.number();
        let Some(min) = min else {
            return Err(format!("illegal repetition near index {start}"));
        };
        let max = if self.eat(',') {
            if self.peek() == Some('}') {
                None
            } else {
                match self.number() {
                    Some(m) => Some(m),
                    None => return Err(format!("illegal repetition near index {start}")),
                }
            }
        } else {
            Some(min)
        };
        if !self.eat('}') {
            return Err(format!("unclosed counted closure near index {start}"));
        }
        if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT) {
            return Err(format!(
                "repetition count above {MAX_REPEAT} near index {start}"
            ));
        }
        if max.is_some_and(|m| m < min) {
            return Err(format!("illegal repetition range near index {start}"));
        }
        Ok(Some((min, max)))
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if start == self.pos {
            return None;
        }
        let digits: String = self.chars[start..self.pos].iter().collect();
        // Anything too long for u32 is far above MAX_REPEAT anyway.
        Some(digits.parse().unwrap_or(u32::MAX))
    }

    /// One atom, or `None` for something that matches nothing by itself (a flag group).
    fn atom(&mut self) -> Result<Option<Node>, String> {
        let c = self.next()?;
        let fold = self.fold;
        let node = match c {
            '(' => return self.group(),
            '[' => Node::Class {
                class: self.class()?,
                fold,
            },
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '\\' => return self.escape(),
            '*' | '+' | '?' => {
                return Err(format!(
                    "dangling meta character '{c}' near index {}",
                    self.pos - 1
                ));
            }
            '{' => return Err(format!("illegal repetition near index {}", self.pos - 1)),
            c => Node::Char { c, fold },
        };
        Ok(Some(node))
    }

    fn group(&mut self) -> Result<Option<Node>, String> {
        let saved_fold = self.fold;
        if self.eat('?') {
            match self.peek() {
                Some(':') => {
                    self.pos += 1;
                }
                Some('<')
                    if self
                        .chars
                        .get(self.pos + 1)
                        .is_some_and(|c| c.is_ascii_alphabetic()) =>
                {
                    // A named group captures; capture does not matter for a yes/no match.
                    self.pos += 1;
                    while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
                        self.pos += 1;
                    }
                    if !self.eat('>') {
                        return Err("named capturing group is missing trailing '>'".to_owned());
                    }
                }
                Some('=' | '!' | '<' | '>') => {
                    return Err("look-around and atomic groups are not supported".to_owned());
                }
                _ => {
                    // Inline flags: (?i) for the rest of the group, or (?i:...) for its body.
                    let mut on = true;
                    let mut fold = self.fold;
                    loop {
                        match self.next()? {
                            'i' => fold = on,
                            '-' if on => on = false,
                            'm' | 's' | 'u' | 'x' | 'd' | 'U' => {}
                            ')' => {
                                self.fold = fold;
                                return Ok(None);
                            }
                            ':' => {
                                self.fold = fold;
                                break;
                            }
                            other => {
                                return Err(format!("unknown inline modifier '{other}'"));
                            }
                        }
                    }
                }
            }
        }
        let inner = self.alternation()?;
        self.fold = saved_fold;
        if !self.eat(')') {
            return Err("unclosed group".to_owned());
        }
        Ok(Some(inner))
    }

    fn escape(&mut self) -> Result<Option<Node>, String> {
        let fold = self.fold;
        let c = self
            .peek()
            .ok_or_else(|| "unexpected internal error: trailing '\\'".to_owned())?;
        self.pos += 1;
        let class = |item| Node::Class {
            class: Class {
                items: vec![item],
                negated: false,
            },
            fold,
        };
        let node = match c {
            'd' => class(ClassItem::Digit(false)),
            'D' => class(ClassItem::Digit(true)),
            'w' => class(ClassItem::Word(false)),
            'W' => class(ClassItem::Word(true)),
            's' => class(ClassItem::Space(false)),
            'S' => class(ClassItem::Space(true)),
            'A' => Node::Start,
            'z' | 'Z' => Node::End,
            'b' => Node::WordBoundary(true),
            'B' => Node::WordBoundary(false),
            'Q' => {
                // Quote everything up to \E (or the end).
                let mut items = Vec::new();
                while self.pos < self.chars.len() {
                    if self.chars[self.pos] == '\\' && self.chars.get(self.pos + 1) == Some(&'E') {
                        self.pos += 2;
                        break;
                    }
                    items.push(Node::Char {
                        c: self.chars[self.pos],
                        fold,
                    });
                    self.pos += 1;
                }
                Node::Concat(items)
            }
            'E' => Node::Empty,
            _ => Node::Char {
                c: self.escaped_char(c)?,
                fold,
            },
        };
        Ok(Some(node))
    }

    /// The character an escape stands for, after the backslash and `c` were read.
    fn escaped_char(&mut self, c: char) -> Result<char, String> {
        Ok(match c {
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'f' => '\u{c}',
            'a' => '\u{7}',
            'e' => '\u{1b}',
            'x' => self.hex(2)?,
            'u' => self.hex(4)?,
            '0' => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 3 && self.peek().is_some_and(|d| ('0'..='7').contains(&d)) {
                    value = value * 8 + self.peek().and_then(|d| d.to_digit(8)).unwrap_or(0);
                    self.pos += 1;
                    digits += 1;
                }
                if digits == 0 {
                    return Err("illegal octal escape sequence".to_owned());
                }
                char::from_u32(value).ok_or_else(|| "illegal octal escape sequence".to_owned())?
            }
            '1'..='9' => return Err("back-references are not supported".to_owned()),
            c if c.is_ascii_alphabetic() => {
                return Err(format!("illegal/unsupported escape sequence '\\{c}'"));
            }
            c => c,
        })
    }

    fn hex(&mut self, len: usize) -> Result<char, String> {
        let mut value = 0u32;
        for _ in 0..len {
            let d = self
                .peek()
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| "illegal hexadecimal escape sequence".to_owned())?;
            value = value * 16 + d;
            self.pos += 1;
        }
        char::from_u32(value).ok_or_else(|| "illegal hexadecimal escape sequence".to_owned())
    }

    /// A class after its `[`.
    fn class(&mut self) -> Result<Class, String> {
        let negated = self.eat('^');
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self
                .peek()
                .ok_or_else(|| "unclosed character class".to_owned())?;
            if c == ']' && !first {
                self.pos += 1;
                break;
            }
            first = false;
            self.pos += 1;
            let lo = match c {
                '\\' => {
                    let e = self.next()?;
                    match e {
                        'd' => {
                            items.push(ClassItem::Digit(false));
                            continue;
                        }
                        'D' => {
                            items.push(ClassItem::Digit(true));
                            continue;
                        }
                        'w' => {
                            items.push(ClassItem::Word(false));
                            continue;
                        }
                        'W' => {
                            items.push(ClassItem::Word(true));
                            continue;
                        }
                        's' => {
                            items.push(ClassItem::Space(false));
                            continue;
                        }
                        'S' => {
                            items.push(ClassItem::Space(true));
                            continue;
                        }
                        e => self.escaped_char(e)?,
                    }
                }
                '[' => return Err("nested character classes are not supported".to_owned()),
                c => c,
            };
            // A range `lo-hi`, unless the '-' is the last thing before ']'.
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&n| n != ']') {
                self.pos += 1;
                let hi = match self.next()? {
                    '\\' => {
                        let e = self.next()?;
                        self.escaped_char(e)?
                    }
                    '[' => return Err("nested character classes are not supported".to_owned()),
                    h => h,
                };
                if hi < lo {
                    return Err(format!("illegal character range {lo}-{hi}"));
                }
                items.push(ClassItem::Range(lo, hi));
            } else {
                items.push(ClassItem::Range(lo, lo));
            }
        }
        Ok(Class { items, negated })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        match Regex::new(pattern) {
            Ok(re) => re.is_match(text),
            Err(e) => panic!("pattern {pattern:?} did not compile: {e}"),
        }
    }

    #[test]
    fn whole_value_like_java_matches() {
        assert!(m("t2.*", "t2.micro"));
        assert!(m("t2.*", "t2"));
        assert!(!m("t2.*", "m5.t2.large"));
        assert!(!m("2.m", "t2.micro"));
        assert!(m("g2.*", "g2.2xlarge"));
        assert!(m("", ""));
        assert!(!m("", "x"));
    }

    #[test]
    fn classes_and_escapes() {
        assert!(m("us-east-1[a-c]", "us-east-1b"));
        assert!(!m("us-east-1[a-c]", "us-east-1d"));
        assert!(m("us-east-1[^a-c]", "us-east-1d"));
        assert!(m("t2\\.\\w+", "t2.micro"));
        assert!(!m("t2\\.\\w+", "t2-micro"));
        assert!(m("\\d{4}-\\d{2}-\\d{2}", "2018-06-18"));
        assert!(!m("\\d{4}", "201"));
        assert!(m("[\\d.]+", "1.14.5"));
        assert!(m("a\\sb", "a b"));
        assert!(m("\\S+", "abc"));
        assert!(m("[a-]+", "a-a"));
        assert!(m("\\x41\\u0042", "AB"));
        assert!(m("\\Qa.b\\E", "a.b"));
        assert!(!m("\\Qa.b\\E", "axb"));
        assert!(m("[]a]+", "]a"));
    }

    #[test]
    fn groups_alternation_and_quantifiers() {
        assert!(m("(t2|m5)\\..*", "m5.large"));
        assert!(!m("(t2|m5)\\..*", "c5.large"));
        assert!(m("(?:ab)+", "ababab"));
        assert!(!m("(?:ab)+", "ababa"));
        assert!(m("a{2,3}", "aaa"));
        assert!(!m("a{2,3}", "aaaa"));
        assert!(m("a{2,}", "aaaaa"));
        assert!(m("a{2}", "aa"));
        assert!(m("colou?r", "color"));
        assert!(m("a.*?b", "axxb"));
        assert!(m("a++b", "aab"));
        assert!(m("(?<kind>t2)\\.micro", "t2.micro"));
        assert!(m("x|", ""));
        assert!(m("^t2.*$", "t2.small"));
        assert!(m("\\At2\\b.*\\z", "t2.small"));
        assert!(!m("a\\Bb", "a b"));
    }

    #[test]
    fn case_insensitive_flag() {
        assert!(m("(?i)linux", "LINUX"));
        assert!(!m("linux", "LINUX"));
        assert!(m("(?i:WIN)dows", "windows"));
        assert!(!m("(?i:win)DOWS", "windows"));
        assert!(m("(?i)[a-c]+", "ABC"));
    }

    #[test]
    fn pathological_patterns_stay_linear() {
        let text = "a".repeat(5000);
        assert!(!m("(a*)*b", &text));
        assert!(m("(a|aa)*", &text));
    }

    #[test]
    fn invalid_patterns() {
        for p in [
            "(a", "a)", "[a-", "[z-a]", "*a", "a{2", "a{3,1}", "a{,2}", "\\", "\\1", "(?=a)",
            "(?<=a)b", "\\k", "a{5000}", "+", "[[a]]",
        ] {
            assert!(Regex::new(p).is_err(), "{p:?} should be invalid");
        }
    }
}
