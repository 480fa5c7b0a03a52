//! Which jq programs the byte route runs: the syntax tree jaq parses, matched against a
//! small grammar. Anything outside it (or a construct whose meaning here is not exactly
//! jaq's) is `None`: the program then always goes the jaq route.

use jaq_core::load::parse::{BinaryOp, Term};
use jaq_core::ops::Cmp;
use jaq_core::path::{Opt, Part};

/// A program of the byte route's grammar.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// `.`
    Id,
    /// `BASE.a[0]."b"`
    Path(Box<Expr>, Vec<Step>),
    /// `null`, `true`, `false`, an integer, a string without interpolation.
    Lit(Lit),
    /// `l | r`
    Pipe(Box<Expr>, Box<Expr>),
    /// `l == r`, `l < r`, ...
    Cmp(Box<Expr>, Cmp, Box<Expr>),
    /// `l and r`
    And(Box<Expr>, Box<Expr>),
    /// `l or r`
    Or(Box<Expr>, Box<Expr>),
    /// `l // r`
    Alt(Box<Expr>, Box<Expr>),
    /// `select(f)`
    Select(Box<Expr>),
    /// `not`
    Not,
    /// `length`
    Length,
    /// `type`
    Type,
    /// `has(f)`, `startswith(f)`, `endswith(f)`, `contains(f)`
    Call(Fun, Box<Expr>),
    /// `{a: f, "b": g, c}`: keys in the order written.
    Obj(Vec<(Vec<u8>, Expr)>),
}

/// A step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(Vec<u8>),
    Index(usize),
}

/// A literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Str(Vec<u8>),
}

/// The functions of one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fun {
    Has,
    StartsWith,
    EndsWith,
    Contains,
}

/// The object members a program reads by paths from its input, as a tree: the objects
/// the byte route reads in the same pass as the item (see `Walker::index_at`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Keys(Vec<(Vec<u8>, Keys)>);

impl Keys {
    /// The keys read below member `key`, when it is read.
    pub(crate) fn child(&self, key: &[u8]) -> Option<&Keys> {
        self.0
            .iter()
            .find(|(k, _)| k[..] == key[..])
            .map(|(_, c)| c)
    }

    fn add(&mut self, steps: &[Step]) {
        if let Some((Step::Key(k), rest)) = steps.split_first() {
            let at = match self.0.iter().position(|(n, _)| n == k) {
                Some(at) => at,
                None => {
                    self.0.push((k.clone(), Keys::default()));
                    self.0.len() - 1
                }
            };
            self.0[at].1.add(rest);
        }
    }

    /// Adds the keys of `other`.
    pub(crate) fn merge(&mut self, other: &Keys) {
        for (k, c) in &other.0 {
            match self.0.iter_mut().find(|(n, _)| n == k) {
                Some((_, mine)) => mine.merge(c),
                None => self.0.push((k.clone(), c.clone())),
            }
        }
    }
}

/// The paths from `.` anywhere in `e` (more than it may read on the item itself: reading an
/// object ahead costs little more than skipping it).
pub(crate) fn keys(e: &Expr, out: &mut Keys) {
    match e {
        Expr::Path(base, steps) => {
            if **base == Expr::Id {
                out.add(steps);
            }
            keys(base, out);
        }
        Expr::Pipe(l, r)
        | Expr::Cmp(l, _, r)
        | Expr::And(l, r)
        | Expr::Or(l, r)
        | Expr::Alt(l, r) => {
            keys(l, out);
            keys(r, out);
        }
        Expr::Select(f) | Expr::Call(_, f) => keys(f, out),
        Expr::Obj(fields) => fields.iter().for_each(|(_, f)| keys(f, out)),
        Expr::Id | Expr::Lit(_) | Expr::Not | Expr::Length | Expr::Type => {}
    }
}

/// `code` as an [`Expr`], or `None` when it is outside the grammar.
pub(crate) fn compile(code: &str) -> Option<Expr> {
    let term = jaq_core::load::parse(code, |p| p.term())?;
    expr(&term)
}

/// The bytes of a string literal without interpolation or format.
fn literal(t: &Term<&str>) -> Option<Vec<u8>> {
    crate::query::projection::literal(t).map(String::into_bytes)
}

/// An integer literal that fits a machine integer (jq reads others as floats).
fn int(t: &Term<&str>) -> Option<i64> {
    match t {
        Term::Num(n) if !n.is_empty() && n.len() <= 18 && n.bytes().all(|b| b.is_ascii_digit()) => {
            n.parse().ok()
        }
        _ => None,
    }
}

fn expr(t: &Term<&str>) -> Option<Expr> {
    let bx = |t: &Term<&str>| expr(t).map(Box::new);
    Some(match t {
        Term::Id => Expr::Id,
        Term::Num(_) => Expr::Lit(Lit::Int(int(t)?)),
        Term::Neg(inner) => Expr::Lit(Lit::Int(-int(inner)?)),
        Term::Str(..) => Expr::Lit(Lit::Str(literal(t)?)),
        Term::Call(name, args) => match (*name, &args[..]) {
            ("null", []) => Expr::Lit(Lit::Null),
            ("true", []) => Expr::Lit(Lit::Bool(true)),
            ("false", []) => Expr::Lit(Lit::Bool(false)),
            ("not", []) => Expr::Not,
            ("length", []) => Expr::Length,
            ("type", []) => Expr::Type,
            ("select", [f]) => Expr::Select(bx(f)?),
            ("has", [f]) => Expr::Call(Fun::Has, bx(f)?),
            ("startswith", [f]) => Expr::Call(Fun::StartsWith, bx(f)?),
            ("endswith", [f]) => Expr::Call(Fun::EndsWith, bx(f)?),
            ("contains", [f]) => Expr::Call(Fun::Contains, bx(f)?),
            _ => return None,
        },
        Term::BinOp(l, op, r) => {
            let (l, r) = (bx(l)?, bx(r)?);
            match op {
                BinaryOp::Pipe(None) => Expr::Pipe(l, r),
                BinaryOp::Cmp(c) => Expr::Cmp(l, *c, r),
                BinaryOp::And => Expr::And(l, r),
                BinaryOp::Or => Expr::Or(l, r),
                BinaryOp::Alt => Expr::Alt(l, r),
                _ => return None,
            }
        }
        Term::Path(base, path) => {
            let mut steps = Vec::new();
            for (part, opt) in &path.0 {
                if !matches!(opt, Opt::Essential) {
                    return None;
                }
                match part {
                    Part::Index(key) => match (literal(key), int(key)) {
                        (Some(name), _) => steps.push(Step::Key(name)),
                        (None, Some(i)) => steps.push(Step::Index(usize::try_from(i).ok()?)),
                        _ => return None,
                    },
                    Part::Range(..) => return None,
                }
            }
            Expr::Path(bx(base)?, steps)
        }
        Term::Obj(entries) => {
            let mut fields = Vec::new();
            for (key, value) in entries {
                let name = literal(key)?;
                let value = match value {
                    Some(v) => expr(v)?,
                    // `{a}` is `{a: .a}`
                    None => Expr::Path(Box::new(Expr::Id), vec![Step::Key(name.clone())]),
                };
                fields.push((name, value));
            }
            Expr::Obj(fields)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_the_grammar() {
        for code in [
            ".",
            ".a.b[0]",
            r#"select(.agent_type == "developer") | .session_id"#,
            "select(.delegations | length > 20) | .session_id",
            r#"select(.a != null and (.b | not) or .c >= -3) | {id: .x, n: (.d | length), e}"#,
            r#"select(has("a") and (.s | startswith("x")) and (.s | endswith("y")))"#,
            r#"select(.s | contains("z")) | .a // .b"#,
            r#"select(type == "object") | ."a b".c"#,
            "select(.a < .b)",
        ] {
            assert!(compile(code).is_some(), "{code}");
        }
    }

    #[test]
    fn leaves_the_rest_to_jaq() {
        for code in [
            ".[]",
            ".a?",
            ".[-1]",
            ".[1:2]",
            "1.5",
            "select(.a > 1.5)",
            r#"select(.s | test("a"))"#,
            "def f: .; f",
            ".a, .b",
            ". as $x | $x",
            "map(.a)",
            r#"{"\(.a)": 1}"#,
            "{(.a): 1}",
            "{$__loc__}",
            ".a + 1",
            "if .a then 1 else 2 end",
            "try .a",
            "99999999999999999999",
            "not syntax (",
        ] {
            assert!(compile(code).is_none(), "{code}");
        }
    }
}
