//! Evaluating RFC 9535 segments on a value that is held whole: the part of a JSONPath that
//! cannot be decided while streaming (a filter's candidate, a union, a negative index, a
//! descendant segment) runs here on the held value's bytes.
//!
//! The value is parsed into a small tree that remembers each node's byte range, so the
//! results are spans of the input, as streamed items are. The evaluation is the RFC's
//! definition applied directly, so its result order is the RFC's.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::jsonpath::{Arg, Call, Choice, CmpOp, FilterQuery, Function, Literal, Logical};
use crate::jsonpath::{Operand, Segment};
use crate::selector::unescape;

/// A node of a held value.
#[derive(Debug)]
struct Node {
    start: usize,
    end: usize,
    kind: Kind,
}

/// A string of the held bytes: decoded only when a filter looks at it.
#[derive(Debug, Clone, Copy)]
struct Str {
    start: usize,
    end: usize,
    escaped: bool,
}

#[derive(Debug)]
enum Kind {
    Null,
    Bool(bool),
    Number(f64),
    String(Str),
    Array(Vec<usize>),
    Object(Vec<(Str, usize)>),
}

/// A held JSON value (already validated by the scanner) as a tree of byte ranges.
#[derive(Debug)]
pub(crate) struct Tree<'b> {
    bytes: &'b [u8],
    nodes: Vec<Node>,
}

impl<'b> Tree<'b> {
    /// Parses `bytes`, one valid JSON value (the scanner has validated it).
    pub(crate) fn parse(bytes: &'b [u8]) -> Tree<'b> {
        let mut tree = Tree {
            bytes,
            nodes: Vec::new(),
        };
        let mut at = 0;
        tree.value(&mut at);
        tree
    }

    fn value(&mut self, at: &mut usize) -> usize {
        let b = self.bytes;
        skip_blank(b, at);
        let start = *at;
        let id = self.nodes.len();
        self.nodes.push(Node {
            start,
            end: start,
            kind: Kind::Null,
        });
        let kind = match b[*at] {
            b'{' => {
                *at += 1;
                let mut members = Vec::new();
                loop {
                    skip_blank(b, at);
                    if b[*at] == b'}' {
                        *at += 1;
                        break;
                    }
                    if b[*at] == b',' {
                        *at += 1;
                        continue;
                    }
                    let key = string(b, at);
                    skip_blank(b, at);
                    *at += 1; // ':'
                    let child = self.value(at);
                    members.push((key, child));
                }
                Kind::Object(members)
            }
            b'[' => {
                *at += 1;
                let mut elements = Vec::new();
                loop {
                    skip_blank(b, at);
                    if b[*at] == b']' {
                        *at += 1;
                        break;
                    }
                    if b[*at] == b',' {
                        *at += 1;
                        continue;
                    }
                    elements.push(self.value(at));
                }
                Kind::Array(elements)
            }
            b'"' => Kind::String(string(b, at)),
            b't' => {
                *at += 4;
                Kind::Bool(true)
            }
            b'f' => {
                *at += 5;
                Kind::Bool(false)
            }
            b'n' => {
                *at += 4;
                Kind::Null
            }
            _ => {
                let s = *at;
                while *at < b.len()
                    && matches!(b[*at], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    *at += 1;
                }
                let text = std::str::from_utf8(&b[s..*at]).unwrap_or("0");
                Kind::Number(text.parse().unwrap_or(f64::NAN))
            }
        };
        self.nodes[id].kind = kind;
        self.nodes[id].end = *at;
        id
    }

    /// Byte range of node `id` within the held bytes.
    pub(crate) fn span(&self, id: usize) -> (usize, usize) {
        (self.nodes[id].start, self.nodes[id].end)
    }

    /// The children of node `id`, in order.
    fn children(&self, id: usize) -> Children<'_> {
        match &self.nodes[id].kind {
            Kind::Array(v) => Children::Array(v.iter()),
            Kind::Object(m) => Children::Object(m.iter()),
            _ => Children::Array([].iter()),
        }
    }

    /// A string decoded (borrowed from the held bytes when it has no escapes).
    fn text(&self, s: Str) -> Cow<'b, str> {
        let raw = &self.bytes[s.start..s.end];
        if s.escaped {
            let mut out = Vec::new();
            unescape(raw, &mut out);
            Cow::Owned(String::from_utf8_lossy(&out).into_owned())
        } else {
            String::from_utf8_lossy(raw)
        }
    }

    /// True when the string is `name`.
    fn is(&self, s: Str, name: &str) -> bool {
        if s.escaped {
            self.text(s) == name
        } else {
            &self.bytes[s.start..s.end] == name.as_bytes()
        }
    }
}

/// The children of a node, without allocating.
enum Children<'t> {
    Array(std::slice::Iter<'t, usize>),
    Object(std::slice::Iter<'t, (Str, usize)>),
}

impl DoubleEndedIterator for Children<'_> {
    fn next_back(&mut self) -> Option<usize> {
        match self {
            Children::Array(i) => i.next_back().copied(),
            Children::Object(i) => i.next_back().map(|(_, c)| *c),
        }
    }
}

impl Iterator for Children<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            Children::Array(i) => i.next().copied(),
            Children::Object(i) => i.next().map(|(_, c)| *c),
        }
    }
}

fn skip_blank(b: &[u8], at: &mut usize) {
    while *at < b.len() && matches!(b[*at], b' ' | b'\t' | b'\n' | b'\r') {
        *at += 1;
    }
}

/// A string at `at` (on its opening quote); `at` moves past the closing quote.
fn string(b: &[u8], at: &mut usize) -> Str {
    let start = *at + 1;
    let mut i = start;
    let mut escaped = false;
    loop {
        match memchr::memchr2(b'"', b'\\', &b[i..]) {
            Some(k) if b[i + k] == b'"' => {
                i += k;
                break;
            }
            Some(k) => {
                escaped = true;
                i += k + 2;
            }
            None => {
                i = b.len();
                break;
            }
        }
    }
    *at = i + 1;
    Str {
        start,
        end: i,
        escaped,
    }
}

/// Compiled patterns kept per function (`match`, `search`).
const MAX_CACHED_PATTERNS: usize = 64;

/// A value in a filter: a node, a literal, a computed number, or Nothing.
#[derive(Debug, Clone, Copy)]
enum Val<'q> {
    Nothing,
    Node(usize),
    Literal(&'q Literal),
    Number(f64),
}

/// Evaluates segments on a held tree; caches the compiled regular expressions.
#[derive(Debug, Default)]
pub(crate) struct Evaluator {
    /// Compiled patterns of `match` (anchored) and of `search`, by pattern text.
    regexes: [HashMap<String, Option<regex::Regex>>; 2],
}

impl Evaluator {
    /// The nodes that `segments` select from `start`; `root` is the node `$` refers to
    /// (only used when a filter has an absolute query, and then it is the document).
    pub(crate) fn select(
        &mut self,
        tree: &Tree,
        root: usize,
        start: usize,
        segments: &[Segment],
    ) -> Vec<usize> {
        let mut nodes = vec![start];
        for segment in segments {
            let mut next = Vec::new();
            for &n in &nodes {
                self.segment(tree, root, n, segment, &mut next);
            }
            nodes = next;
            if nodes.is_empty() {
                break;
            }
        }
        nodes
    }

    /// True when the filter expression holds for the current node `at`.
    pub(crate) fn test(&mut self, tree: &Tree, root: usize, at: usize, l: &Logical) -> bool {
        match l {
            Logical::Or(v) => v.iter().any(|x| self.test(tree, root, at, x)),
            Logical::And(v) => v.iter().all(|x| self.test(tree, root, at, x)),
            Logical::Not(x) => !self.test(tree, root, at, x),
            Logical::Exists(q) => !self.query(tree, root, at, q).is_empty(),
            Logical::Test(c) => self.logical_call(tree, root, at, c),
            Logical::Compare(a, op, b) => {
                let a = self.operand(tree, root, at, a);
                let b = self.operand(tree, root, at, b);
                compare(tree, a, *op, b)
            }
        }
    }

    fn segment(
        &mut self,
        tree: &Tree,
        root: usize,
        node: usize,
        segment: &Segment,
        out: &mut Vec<usize>,
    ) {
        if !segment.descendant {
            for choice in &segment.selectors {
                self.choice(tree, root, node, choice, out);
            }
            return;
        }
        // The input node and its descendants, parents before children, arrays in order
        // (a stack, so depth costs no recursion).
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            for choice in &segment.selectors {
                self.choice(tree, root, n, choice, out);
            }
            stack.extend(tree.children(n).rev());
        }
    }

    fn choice(
        &mut self,
        tree: &Tree,
        root: usize,
        node: usize,
        choice: &Choice,
        out: &mut Vec<usize>,
    ) {
        let kind = &tree.nodes[node].kind;
        match choice {
            Choice::Name(name) => {
                if let Kind::Object(members) = kind {
                    out.extend(
                        members
                            .iter()
                            .filter(|(k, _)| tree.is(*k, name))
                            .map(|(_, c)| *c),
                    );
                }
            }
            Choice::Wildcard => out.extend(tree.children(node)),
            Choice::Index(i) => {
                if let Kind::Array(v) = kind {
                    let len = v.len() as i64;
                    let i = if *i < 0 { len + i } else { *i };
                    if (0..len).contains(&i) {
                        out.push(v[i as usize]);
                    }
                }
            }
            Choice::Slice { start, end, step } => {
                if let Kind::Array(v) = kind {
                    for i in slice_indexes(v.len() as i64, *start, *end, step.unwrap_or(1)) {
                        out.push(v[i]);
                    }
                }
            }
            Choice::Filter(l) => {
                for c in tree.children(node) {
                    if self.test(tree, root, c, l) {
                        out.push(c);
                    }
                }
            }
        }
    }

    fn query(&mut self, tree: &Tree, root: usize, at: usize, q: &FilterQuery) -> Vec<usize> {
        let start = if q.absolute { root } else { at };
        self.select(tree, root, start, &q.query.segments)
    }

    fn operand<'q>(&mut self, tree: &Tree, root: usize, at: usize, o: &'q Operand) -> Val<'q> {
        match o {
            Operand::Literal(l) => Val::Literal(l),
            Operand::Query(q) => match self.query(tree, root, at, q)[..] {
                [n] => Val::Node(n),
                _ => Val::Nothing,
            },
            Operand::Call(c) => self.value_call(tree, root, at, c),
        }
    }

    fn arg_value<'q>(&mut self, tree: &Tree, root: usize, at: usize, a: &'q Arg) -> Val<'q> {
        match a {
            Arg::Value(o) => self.operand(tree, root, at, o),
            Arg::Nodes(q) => match self.query(tree, root, at, q)[..] {
                [n] => Val::Node(n),
                _ => Val::Nothing,
            },
        }
    }

    fn value_call<'q>(&mut self, tree: &Tree, root: usize, at: usize, c: &'q Call) -> Val<'q> {
        match c.function {
            Function::Length => match self.arg_value(tree, root, at, &c.args[0]) {
                Val::Node(n) => match &tree.nodes[n].kind {
                    Kind::String(s) => Val::Number(tree.text(*s).chars().count() as f64),
                    Kind::Array(v) => Val::Number(v.len() as f64),
                    Kind::Object(m) => Val::Number(m.len() as f64),
                    _ => Val::Nothing,
                },
                Val::Literal(Literal::String(s)) => Val::Number(s.chars().count() as f64),
                _ => Val::Nothing,
            },
            Function::Count => match &c.args[0] {
                Arg::Nodes(q) => Val::Number(self.query(tree, root, at, q).len() as f64),
                Arg::Value(_) => Val::Nothing,
            },
            Function::Value => self.arg_value(tree, root, at, &c.args[0]),
            Function::Match | Function::Search => Val::Nothing,
        }
    }

    fn logical_call(&mut self, tree: &Tree, root: usize, at: usize, c: &Call) -> bool {
        let text = self.arg_value(tree, root, at, &c.args[0]);
        let pattern = self.arg_value(tree, root, at, &c.args[1]);
        let (Some(text), Some(pattern)) = (as_str(tree, text), as_str(tree, pattern)) else {
            return false;
        };
        let whole = c.function == Function::Match;
        let cache = &mut self.regexes[usize::from(whole)];
        if !cache.contains_key(pattern.as_ref()) {
            if cache.len() >= MAX_CACHED_PATTERNS {
                // Patterns taken from the data could be endless: keep the cache bounded.
                cache.clear();
            }
            cache.insert(pattern.clone().into_owned(), iregexp(&pattern, whole));
        }
        cache[pattern.as_ref()]
            .as_ref()
            .is_some_and(|r| r.is_match(&text))
    }
}

fn as_str<'a>(tree: &Tree<'a>, v: Val<'a>) -> Option<Cow<'a, str>> {
    match v {
        Val::Node(n) => match &tree.nodes[n].kind {
            Kind::String(s) => Some(tree.text(*s)),
            _ => None,
        },
        Val::Literal(Literal::String(s)) => Some(Cow::Borrowed(s)),
        _ => None,
    }
}

/// Compiles an I-Regexp (RFC 9485) as a `regex` pattern: `.` matches any character but
/// line feed and carriage return; `match` must match the whole string. An expression that
/// does not compile matches nothing (the RFC's functions then return false).
fn iregexp(pattern: &str, whole: bool) -> Option<regex::Regex> {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                out.push(chars.next()?);
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '.' if !in_class => out.push_str("[^\\n\\r]"),
            _ => out.push(c),
        }
    }
    let pattern = if whole {
        format!("\\A(?:{out})\\z")
    } else {
        out
    };
    regex::Regex::new(&pattern).ok()
}

/// The indexes a slice selects, in its order (RFC 9535 section 2.3.4.2.2).
pub(crate) fn slice_indexes(
    len: i64,
    start: Option<i64>,
    end: Option<i64>,
    step: i64,
) -> Vec<usize> {
    let normalize = |i: i64| if i >= 0 { i } else { len + i };
    let mut out = Vec::new();
    if step > 0 {
        let lower = normalize(start.unwrap_or(0)).clamp(0, len);
        let upper = normalize(end.unwrap_or(len)).clamp(0, len);
        let mut i = lower;
        while i < upper {
            out.push(i as usize);
            i += step;
        }
    } else if step < 0 {
        let upper = normalize(start.unwrap_or(len - 1)).clamp(-1, len - 1);
        let lower = end.map_or(-1, |e| normalize(e).clamp(-1, len - 1));
        let mut i = upper;
        while lower < i {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

fn compare(tree: &Tree, a: Val<'_>, op: CmpOp, b: Val<'_>) -> bool {
    match op {
        CmpOp::Eq => equal(tree, a, b),
        CmpOp::Ne => !equal(tree, a, b),
        CmpOp::Lt => less(tree, a, b),
        CmpOp::Gt => less(tree, b, a),
        CmpOp::Le => less(tree, a, b) || equal(tree, a, b),
        CmpOp::Ge => less(tree, b, a) || equal(tree, a, b),
    }
}

/// A scalar view of a value for comparisons.
enum Scalar<'a> {
    Nothing,
    Null,
    Bool(bool),
    Number(f64),
    String(Cow<'a, str>),
    Node(usize),
}

fn scalar<'a>(tree: &'a Tree, v: Val<'a>) -> Scalar<'a> {
    match v {
        Val::Nothing => Scalar::Nothing,
        Val::Number(n) => Scalar::Number(n),
        Val::Literal(l) => match l {
            Literal::Null => Scalar::Null,
            Literal::Bool(b) => Scalar::Bool(*b),
            Literal::Number(n) => Scalar::Number(*n),
            Literal::String(s) => Scalar::String(Cow::Borrowed(s)),
        },
        Val::Node(n) => match &tree.nodes[n].kind {
            Kind::Null => Scalar::Null,
            Kind::Bool(b) => Scalar::Bool(*b),
            Kind::Number(x) => Scalar::Number(*x),
            Kind::String(s) => Scalar::String(tree.text(*s)),
            _ => Scalar::Node(n),
        },
    }
}

fn equal(tree: &Tree, a: Val<'_>, b: Val<'_>) -> bool {
    match (scalar(tree, a), scalar(tree, b)) {
        (Scalar::Nothing, Scalar::Nothing) | (Scalar::Null, Scalar::Null) => true,
        (Scalar::Bool(x), Scalar::Bool(y)) => x == y,
        (Scalar::Number(x), Scalar::Number(y)) => x == y,
        (Scalar::String(x), Scalar::String(y)) => x == y,
        (Scalar::Node(x), Scalar::Node(y)) => nodes_equal(tree, x, y),
        _ => false,
    }
}

fn nodes_equal(tree: &Tree, x: usize, y: usize) -> bool {
    match (&tree.nodes[x].kind, &tree.nodes[y].kind) {
        (Kind::Array(a), Kind::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(p, q)| nodes_equal(tree, *p, *q))
        }
        (Kind::Object(a), Kind::Object(b)) => {
            a.len() == b.len()
                && a.iter().all(|(k, v)| {
                    b.iter().any(|(k2, v2)| {
                        tree.text(*k) == tree.text(*k2) && nodes_equal(tree, *v, *v2)
                    })
                })
        }
        (Kind::Array(_) | Kind::Object(_), _) | (_, Kind::Array(_) | Kind::Object(_)) => false,
        _ => equal(tree, Val::Node(x), Val::Node(y)),
    }
}

fn less(tree: &Tree, a: Val<'_>, b: Val<'_>) -> bool {
    match (scalar(tree, a), scalar(tree, b)) {
        (Scalar::Number(x), Scalar::Number(y)) => x < y,
        (Scalar::String(x), Scalar::String(y)) => x < y,
        _ => false,
    }
}
