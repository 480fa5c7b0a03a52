//! RFC 9535 JSONPath: the syntax tree and a strict parser.
//!
//! The parser follows the RFC's grammar (section 2 and its ABNF) and its well-typedness rules
//! for function expressions (section 2.4.3): what the RFC calls invalid is refused, with the
//! position (a character count from 1) and what the grammar expects there.

use crate::path::PathError;

/// The largest index or slice bound the RFC allows: ±(2^53 − 1), "I-JSON" exact integers.
pub const MAX_INT: i64 = (1 << 53) - 1;

/// A parsed RFC 9535 query: its segments, applied in order from the root (`$`) or, inside a
/// filter, from the current node (`@`).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The segments, in order.
    pub segments: Vec<Segment>,
}

/// One segment: a list of selectors applied to the children of each input node (child
/// segment, `[..]` or `.name`) or to the input node and all its descendants (`..`).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// True for a descendant segment (`..`).
    pub descendant: bool,
    /// The selectors, in order (several form a union, `[0,2,'a']`).
    pub selectors: Vec<Choice>,
}

/// One RFC 9535 selector (named `Choice` so as not to clash with the streaming
/// [`crate::Selector`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// `'name'`, `"name"` or `.name`: the object member with this name.
    Name(String),
    /// `*`: every child.
    Wildcard,
    /// `N` or `-N`: the array element at this index (negative: from the end).
    Index(i64),
    /// `start:end:step`.
    Slice {
        /// First index (default: the start in the direction of `step`).
        start: Option<i64>,
        /// Index just past the last (default: the end in the direction of `step`).
        end: Option<i64>,
        /// Step (default 1; 0 selects nothing).
        step: Option<i64>,
    },
    /// `?expr`: the children for which the expression is true.
    Filter(Logical),
}

/// A filter's logical expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Logical {
    /// `a || b || ...`
    Or(Vec<Logical>),
    /// `a && b && ...`
    And(Vec<Logical>),
    /// `!a`
    Not(Box<Logical>),
    /// `a OP b` between values.
    Compare(Operand, CmpOp, Operand),
    /// A query used as a test: true when it selects at least one node.
    Exists(FilterQuery),
    /// A function returning a logical value (`match`, `search`) used as a test.
    Test(Call),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A query inside a filter, relative to the current node (`@`) or absolute (`$`).
#[derive(Debug, Clone, PartialEq)]
pub struct FilterQuery {
    /// True for `$...`, false for `@...`.
    pub absolute: bool,
    /// The query's segments.
    pub query: Query,
}

impl FilterQuery {
    /// True when the query selects at most one node (only single names and indexes).
    pub fn is_singular(&self) -> bool {
        self.query.segments.iter().all(|s| {
            !s.descendant
                && s.selectors.len() == 1
                && matches!(s.selectors[0], Choice::Name(_) | Choice::Index(_))
        })
    }
}

/// A literal value in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number (compared by value).
    Number(f64),
    /// A string (escapes decoded).
    String(String),
}

/// Something compared or passed to a function as a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A literal.
    Literal(Literal),
    /// A singular query (its node's value, or Nothing).
    Query(FilterQuery),
    /// A function returning a value (`length`, `count`, `value`).
    Call(Call),
}

/// The standard functions of RFC 9535 section 2.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `length(value)`: characters of a string, elements of an array, members of an object.
    Length,
    /// `count(nodes)`: how many nodes a query selects.
    Count,
    /// `match(string, iregexp)`: the whole string matches.
    Match,
    /// `search(string, iregexp)`: some substring matches.
    Search,
    /// `value(nodes)`: the value of a single node, else Nothing.
    Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Value,
    Logical,
    Nodes,
}

impl Function {
    fn from_name(name: &str) -> Option<Function> {
        Some(match name {
            "length" => Function::Length,
            "count" => Function::Count,
            "match" => Function::Match,
            "search" => Function::Search,
            "value" => Function::Value,
            _ => return None,
        })
    }

    /// The function's name as written.
    pub fn name(self) -> &'static str {
        match self {
            Function::Length => "length",
            Function::Count => "count",
            Function::Match => "match",
            Function::Search => "search",
            Function::Value => "value",
        }
    }

    fn params(self) -> &'static [Type] {
        match self {
            Function::Length => &[Type::Value],
            Function::Count | Function::Value => &[Type::Nodes],
            Function::Match | Function::Search => &[Type::Value, Type::Value],
        }
    }

    fn result(self) -> Type {
        match self {
            Function::Match | Function::Search => Type::Logical,
            _ => Type::Value,
        }
    }
}

/// A function call with well-typed arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Which function.
    pub function: Function,
    /// The arguments, one per parameter.
    pub args: Vec<Arg>,
}

/// A function argument, typed by the parameter it is passed to.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A value (literal, singular query, value-returning function).
    Value(Operand),
    /// A node list (any query).
    Nodes(FilterQuery),
}

/// Parses an RFC 9535 query (`text` starts with `$`).
pub fn parse(text: &str) -> Result<Query, PathError> {
    let mut p = Parser {
        text,
        chars: text.chars().collect(),
        i: 0,
    };
    p.expect(
        '$',
        "'$' (a JSONPath query starts with the root identifier)",
    )?;
    let query = p.segments()?;
    if p.i < p.chars.len() {
        return Err(p.err("'.', '..' or '[' (a segment), or the end of the query"));
    }
    Ok(query)
}

/// What a filter sub-expression parsed to before it is known how it is used.
enum Parsed {
    Bare(Operand, usize),
    Logic(Logical),
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    i: usize,
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_name_first(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c as u32 >= 0x80
}

impl Parser<'_> {
    fn err_at(&self, at: usize, message: impl Into<String>) -> PathError {
        PathError {
            path: self.text.to_owned(),
            at: at + 1,
            message: message.into(),
        }
    }

    /// "expected X" at the current character (naming what is found there).
    fn err(&self, expected: &str) -> PathError {
        let found = match self.peek() {
            None => "the end of the query".to_owned(),
            Some(c) if c.is_control() => format!("control character U+{:04X}", c as u32),
            Some(c) => format!("{c:?}"),
        };
        self.err_at(self.i, format!("expected {expected}, found {found}"))
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        if self.chars.len() >= self.i + n
            && self.chars[self.i..self.i + n].iter().copied().eq(s.chars())
        {
            self.i += n;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char, expected: &str) -> Result<(), PathError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(expected))
        }
    }

    fn blank(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.i += 1;
        }
    }

    /// `*(S segment)`: stops (before the blank space) where no segment follows.
    fn segments(&mut self) -> Result<Query, PathError> {
        let mut segments = Vec::new();
        loop {
            let save = self.i;
            self.blank();
            match self.peek() {
                Some('.') | Some('[') => segments.push(self.segment()?),
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        Ok(Query { segments })
    }

    fn segment(&mut self) -> Result<Segment, PathError> {
        if self.eat('[') {
            return Ok(Segment {
                descendant: false,
                selectors: self.bracketed()?,
            });
        }
        self.i += 1; // '.'
        let descendant = self.eat('.');
        let selectors =
            match self.peek() {
                Some('*') => {
                    self.i += 1;
                    vec![Choice::Wildcard]
                }
                Some('[') if descendant => {
                    self.i += 1;
                    self.bracketed()?
                }
                Some(c) if is_name_first(c) => vec![Choice::Name(self.shorthand())],
                _ if descendant => {
                    return Err(self.err("a member name, '*' or '[' after '..'"));
                }
                _ => return Err(self.err(
                    "a member name (a letter, '_' or a non-ASCII character first, no blank space) \
                     or '*' after '.'",
                )),
            };
        Ok(Segment {
            descendant,
            selectors,
        })
    }

    fn shorthand(&mut self) -> String {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| is_name_first(c) || c.is_ascii_digit())
        {
            self.i += 1;
        }
        self.chars[start..self.i].iter().collect()
    }

    /// After `[`: `S selector *(S "," S selector) S "]"`.
    fn bracketed(&mut self) -> Result<Vec<Choice>, PathError> {
        let mut selectors = Vec::new();
        loop {
            self.blank();
            selectors.push(self.selector()?);
            self.blank();
            if self.eat(']') {
                return Ok(selectors);
            }
            if !self.eat(',') {
                return Err(self.err(match selectors.last() {
                    Some(Choice::Filter(_)) => {
                        "an operator ('==', '!=', '<', '<=', '>', '>=', '&&', '||'), ',' or ']' \
                         in a filter"
                    }
                    _ => "',' or ']' after a selector",
                }));
            }
        }
    }

    fn selector(&mut self) -> Result<Choice, PathError> {
        match self.peek() {
            Some('\'' | '"') => Ok(Choice::Name(self.string()?)),
            Some('*') => {
                self.i += 1;
                Ok(Choice::Wildcard)
            }
            Some('?') => {
                self.i += 1;
                self.blank();
                Ok(Choice::Filter(self.logical()?))
            }
            Some(':') => self.slice(None),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let n = self.int()?;
                let save = self.i;
                self.blank();
                if self.peek() == Some(':') {
                    self.slice(Some(n))
                } else {
                    self.i = save;
                    Ok(Choice::Index(n))
                }
            }
            _ => Err(self.err(
                "a selector: a quoted name, '*', an index, a slice 'start:end:step' or a filter '?'",
            )),
        }
    }

    /// At ':' after the optional start.
    fn slice(&mut self, start: Option<i64>) -> Result<Choice, PathError> {
        self.i += 1;
        self.blank();
        let end = self.opt_int()?;
        self.blank();
        let mut step = None;
        if self.eat(':') {
            self.blank();
            step = self.opt_int()?;
        }
        Ok(Choice::Slice { start, end, step })
    }

    fn opt_int(&mut self) -> Result<Option<i64>, PathError> {
        match self.peek() {
            Some(c) if c == '-' || c.is_ascii_digit() => Ok(Some(self.int()?)),
            _ => Ok(None),
        }
    }

    /// `int = "0" / (["-"] DIGIT1 *DIGIT)`, within ±(2^53 − 1).
    fn int(&mut self) -> Result<i64, PathError> {
        let start = self.i;
        let negative = self.eat('-');
        let digits = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i == digits {
            return Err(self.err("a digit"));
        }
        if self.chars[digits] == '0' && (self.i - digits > 1 || negative) {
            return Err(self.err_at(
                start,
                "an integer has no leading zeros and '-0' is not an index (RFC 9535 int)",
            ));
        }
        let text: String = self.chars[start..self.i].iter().collect();
        match text.parse::<i64>() {
            Ok(n) if (-MAX_INT..=MAX_INT).contains(&n) => Ok(n),
            _ => Err(self.err_at(
                start,
                format!("integer {text} is outside the range ±(2^53−1) that RFC 9535 allows"),
            )),
        }
    }

    /// A quoted string literal, escapes decoded.
    fn string(&mut self) -> Result<String, PathError> {
        let quote = self.chars[self.i];
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err(&format!("a closing {quote}")));
            };
            if c == quote {
                self.i += 1;
                return Ok(out);
            }
            if (c as u32) < 0x20 {
                return Err(self.err(
                    "a character of a string: control characters U+0000 to U+001F must be \
                     escaped (\\n, \\t, \\u000A ...)",
                ));
            }
            if c != '\\' {
                out.push(c);
                self.i += 1;
                continue;
            }
            self.i += 1;
            let e = self.peek();
            let decoded = match e {
                Some('b') => '\u{8}',
                Some('f') => '\u{c}',
                Some('n') => '\n',
                Some('r') => '\r',
                Some('t') => '\t',
                Some('/') => '/',
                Some('\\') => '\\',
                Some(q) if q == quote => q,
                Some('u') => {
                    self.i += 1;
                    out.push(self.unicode_escape()?);
                    continue;
                }
                _ => {
                    let other = if quote == '\'' { "\\'" } else { "\\\"" };
                    return Err(self.err(&format!(
                        "an escape: \\b \\f \\n \\r \\t \\/ \\\\ {other} or \\uXXXX"
                    )));
                }
            };
            out.push(decoded);
            self.i += 1;
        }
    }

    fn hex4(&mut self) -> Result<u32, PathError> {
        let mut v = 0;
        for _ in 0..4 {
            match self.peek().and_then(|c| c.to_digit(16)) {
                Some(d) => v = v * 16 + d,
                None => return Err(self.err("a hexadecimal digit (\\u takes four)")),
            }
            self.i += 1;
        }
        Ok(v)
    }

    /// After `\u`: a non-surrogate, or a high surrogate followed by `\u` and a low one.
    fn unicode_escape(&mut self) -> Result<char, PathError> {
        let start = self.i;
        let unit = self.hex4()?;
        if (0xdc00..0xe000).contains(&unit) {
            return Err(self.err_at(start, "a low surrogate must follow a high surrogate"));
        }
        if !(0xd800..0xdc00).contains(&unit) {
            return Ok(char::from_u32(unit).expect("not a surrogate"));
        }
        if !self.eat_str("\\u") {
            return Err(self.err("'\\u' and a low surrogate after a high surrogate"));
        }
        let low_at = self.i;
        let low = self.hex4()?;
        if !(0xdc00..0xe000).contains(&low) {
            return Err(self.err_at(low_at, "a low surrogate (DC00 to DFFF)"));
        }
        Ok(char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)).expect("pair"))
    }

    // ---- filter expressions ----

    fn logical(&mut self) -> Result<Logical, PathError> {
        let parsed = self.or()?;
        self.to_logical(parsed)
    }

    fn to_logical(&self, parsed: Parsed) -> Result<Logical, PathError> {
        match parsed {
            Parsed::Logic(l) => Ok(l),
            Parsed::Bare(Operand::Query(q), _) => Ok(Logical::Exists(q)),
            Parsed::Bare(Operand::Call(c), at) => {
                if c.function.result() == Type::Logical {
                    Ok(Logical::Test(c))
                } else {
                    Err(self.err_at(
                        at,
                        format!(
                            "{}() returns a value, not a test: compare it (e.g. {}(...) > 0)",
                            c.function.name(),
                            c.function.name()
                        ),
                    ))
                }
            }
            Parsed::Bare(Operand::Literal(_), at) => Err(self.err_at(
                at,
                "a literal is not a test: expected a comparison, a query or a function such as \
                 match()",
            )),
        }
    }

    fn or(&mut self) -> Result<Parsed, PathError> {
        let first = self.and()?;
        let mut terms = Vec::new();
        loop {
            let save = self.i;
            self.blank();
            if !self.eat_str("||") {
                self.i = save;
                break;
            }
            self.blank();
            terms.push(self.and()?);
        }
        if terms.is_empty() {
            return Ok(first);
        }
        let mut all = vec![self.to_logical(first)?];
        for t in terms {
            all.push(self.to_logical(t)?);
        }
        Ok(Parsed::Logic(Logical::Or(all)))
    }

    fn and(&mut self) -> Result<Parsed, PathError> {
        let first = self.basic()?;
        let mut terms = Vec::new();
        loop {
            let save = self.i;
            self.blank();
            if !self.eat_str("&&") {
                self.i = save;
                break;
            }
            self.blank();
            terms.push(self.basic()?);
        }
        if terms.is_empty() {
            return Ok(first);
        }
        let mut all = vec![self.to_logical(first)?];
        for t in terms {
            all.push(self.to_logical(t)?);
        }
        Ok(Parsed::Logic(Logical::And(all)))
    }

    fn basic(&mut self) -> Result<Parsed, PathError> {
        if self.eat('!') {
            self.blank();
            let at = self.i;
            if self.eat('(') {
                let inner = self.paren_rest()?;
                return Ok(Parsed::Logic(Logical::Not(Box::new(inner))));
            }
            let operand = self.operand()?;
            if matches!(operand, Operand::Literal(_)) {
                return Err(self.err_at(at, "a query, a function or '(' after '!'"));
            }
            let test = self.to_logical(Parsed::Bare(operand, at))?;
            return Ok(Parsed::Logic(Logical::Not(Box::new(test))));
        }
        if self.eat('(') {
            return Ok(Parsed::Logic(self.paren_rest()?));
        }
        let at = self.i;
        let left = self.operand()?;
        let save = self.i;
        self.blank();
        let Some(op) = self.cmp_op() else {
            self.i = save;
            return Ok(Parsed::Bare(left, at));
        };
        self.check_comparable(&left, at)?;
        self.blank();
        let right_at = self.i;
        let right = self.operand()?;
        self.check_comparable(&right, right_at)?;
        Ok(Parsed::Logic(Logical::Compare(left, op, right)))
    }

    /// After `(`: a logical expression and `)`.
    fn paren_rest(&mut self) -> Result<Logical, PathError> {
        self.blank();
        let inner = self.logical()?;
        self.blank();
        self.expect(')', "')' or an operator ('&&', '||', '==' ...)")?;
        Ok(inner)
    }

    fn cmp_op(&mut self) -> Option<CmpOp> {
        for (s, op) in [
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ] {
            if self.eat_str(s) {
                return Some(op);
            }
        }
        None
    }

    fn check_comparable(&self, operand: &Operand, at: usize) -> Result<(), PathError> {
        match operand {
            Operand::Literal(_) => Ok(()),
            Operand::Query(q) if q.is_singular() => Ok(()),
            Operand::Query(_) => Err(self.err_at(
                at,
                "a singular query (only .name, ['name'] and [index] segments) in a comparison",
            )),
            Operand::Call(c) if c.function.result() == Type::Value => Ok(()),
            Operand::Call(c) => Err(self.err_at(
                at,
                format!(
                    "{}() returns a logical value, which cannot be compared",
                    c.function.name()
                ),
            )),
        }
    }

    /// A literal, a query (`@...`, `$...`) or a function call.
    fn operand(&mut self) -> Result<Operand, PathError> {
        match self.peek() {
            Some('@') | Some('$') => {
                let absolute = self.peek() == Some('$');
                self.i += 1;
                Ok(Operand::Query(FilterQuery {
                    absolute,
                    query: self.segments()?,
                }))
            }
            Some('\'' | '"') => Ok(Operand::Literal(Literal::String(self.string()?))),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_lowercase() => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    self.i += 1;
                }
                let name: String = self.chars[start..self.i].iter().collect();
                if self.peek() != Some('(') {
                    return match name.as_str() {
                        "true" => Ok(Operand::Literal(Literal::Bool(true))),
                        "false" => Ok(Operand::Literal(Literal::Bool(false))),
                        "null" => Ok(Operand::Literal(Literal::Null)),
                        _ => Err(self.err_at(
                            start,
                            "a literal (true, false, null, a number or a string), a query \
                             ('@' or '$') or a function call",
                        )),
                    };
                }
                let Some(function) = Function::from_name(&name) else {
                    return Err(self.err_at(
                        start,
                        format!(
                            "a known function (length, count, match, search, value), not {name}()"
                        ),
                    ));
                };
                self.i += 1;
                Ok(Operand::Call(self.call(function)?))
            }
            _ => Err(self.err(
                "a literal (true, false, null, a number or a string), a query ('@' or '$'), a \
                 function call, '!' or '('",
            )),
        }
    }

    /// After `name(`: the arguments, type-checked, and `)`.
    fn call(&mut self, function: Function) -> Result<Call, PathError> {
        let mut args = Vec::new();
        let params = function.params();
        self.blank();
        if self.peek() != Some(')') {
            loop {
                let at = self.i;
                let parsed = self.or()?;
                let Some(&param) = params.get(args.len()) else {
                    return Err(self.err_at(
                        at,
                        format!(
                            "')': {}() takes {} argument(s)",
                            function.name(),
                            params.len()
                        ),
                    ));
                };
                args.push(self.arg(function, param, parsed, at)?);
                self.blank();
                if !self.eat(',') {
                    break;
                }
                self.blank();
            }
        }
        if args.len() != params.len() {
            return Err(self.err(&format!(
                "{} argument(s) for {}()",
                params.len(),
                function.name()
            )));
        }
        self.expect(')', "',' or ')' in a function call")?;
        Ok(Call { function, args })
    }

    fn arg(
        &self,
        function: Function,
        param: Type,
        parsed: Parsed,
        at: usize,
    ) -> Result<Arg, PathError> {
        let name = function.name();
        match (param, parsed) {
            (Type::Nodes, Parsed::Bare(Operand::Query(q), _)) => Ok(Arg::Nodes(q)),
            (Type::Nodes, _) => Err(self.err_at(at, format!("a query as the argument of {name}()"))),
            (Type::Value, Parsed::Bare(operand, _)) => match operand {
                Operand::Query(q) if !q.is_singular() => Err(self.err_at(
                    at,
                    format!("a value as the argument of {name}(): a singular query, a literal or a function returning a value"),
                )),
                Operand::Call(c) if c.function.result() != Type::Value => Err(self.err_at(
                    at,
                    format!("a value as the argument of {name}(), not the logical result of {}()", c.function.name()),
                )),
                operand => Ok(Arg::Value(operand)),
            },
            (Type::Value, Parsed::Logic(_)) => Err(self.err_at(
                at,
                format!("a value as the argument of {name}(), not a logical expression"),
            )),
            (Type::Logical, _) => unreachable!("no standard function takes a logical argument"),
        }
    }

    /// `number = (int / "-0") [ frac ] [ exp ]`
    fn number(&mut self) -> Result<Operand, PathError> {
        let start = self.i;
        self.eat('-');
        let digits = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i == digits {
            return Err(self.err("a digit"));
        }
        if self.chars[digits] == '0' && self.i - digits > 1 {
            return Err(self.err_at(start, "a number without leading zeros"));
        }
        if self.peek() == Some('.') {
            self.i += 1;
            let f = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i == f {
                return Err(self.err("a digit after the decimal point"));
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.i += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.i += 1;
            }
            let e = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i == e {
                return Err(self.err("a digit in the exponent"));
            }
        }
        let text: String = self.chars[start..self.i].iter().collect();
        let value: f64 = text.parse().expect("checked number syntax");
        Ok(Operand::Literal(Literal::Number(value)))
    }
}

impl Query {
    /// True when some filter in the query uses an absolute (`$`) query.
    pub fn has_absolute_filter(&self) -> bool {
        self.segments.iter().any(|s| {
            s.selectors.iter().any(|c| match c {
                Choice::Filter(l) => logical_has_absolute(l),
                _ => false,
            })
        })
    }
}

fn logical_has_absolute(l: &Logical) -> bool {
    match l {
        Logical::Or(v) | Logical::And(v) => v.iter().any(logical_has_absolute),
        Logical::Not(x) => logical_has_absolute(x),
        Logical::Compare(a, _, b) => operand_has_absolute(a) || operand_has_absolute(b),
        Logical::Exists(q) => query_has_absolute(q),
        Logical::Test(c) => call_has_absolute(c),
    }
}

fn query_has_absolute(q: &FilterQuery) -> bool {
    q.absolute || q.query.has_absolute_filter()
}

fn operand_has_absolute(o: &Operand) -> bool {
    match o {
        Operand::Literal(_) => false,
        Operand::Query(q) => query_has_absolute(q),
        Operand::Call(c) => call_has_absolute(c),
    }
}

fn call_has_absolute(c: &Call) -> bool {
    c.args.iter().any(|a| match a {
        Arg::Value(o) => operand_has_absolute(o),
        Arg::Nodes(q) => query_has_absolute(q),
    })
}
