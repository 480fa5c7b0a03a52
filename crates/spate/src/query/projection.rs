//! Which parts of its input a jq program can read, so that the rest of an item is skipped
//! instead of turned into a jq value.
//!
//! A filter such as `select(.type == "assistant") | .message.usage.output_tokens` reads
//! two fields of lines that are mostly message text; building the whole value cost most of
//! its time. The analysis walks the program's syntax tree and follows the value that flows
//! from the input: `.a.b` on it narrows it to a field, `select(f)` passes it on, and any
//! other use (a comparison, a function call, an output, a variable binding...) *consumes*
//! it: that part of the input is then needed whole. Whatever the analysis does not know
//! consumes the whole input, so an unknown construct only costs speed, never a different
//! answer. Only object fields are ever left out: a value needed in part that is not an
//! object (an array, a string...) is kept whole, so indexing it fails or succeeds exactly as
//! on the full item, and a missing field reads as `null` both ways.

use std::collections::BTreeMap;

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Term};
use jaq_core::path::Part;

/// The parts of a value a program needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Need {
    /// The value whole.
    All,
    /// Only these fields, if it is an object (any other value is kept whole).
    Fields(BTreeMap<String, Need>),
    /// Only its length (`length`): an array's elements or an object's values may be
    /// replaced by `null`; any other value is kept whole.
    Length,
}

impl Need {
    fn nothing() -> Self {
        Need::Fields(BTreeMap::new())
    }

    /// Marks the value at `path` as needed at least in part: present, with its type (so
    /// that indexing it fails or not as on the whole input), and whole if not an object.
    fn touch(&mut self, path: &[String]) {
        match (self, path.split_first()) {
            (Need::Fields(fields), Some((first, rest))) => fields
                .entry(first.clone())
                .or_insert_with(Need::nothing)
                .touch(rest),
            // indexing a value kept only for its length: a failed index prints the value
            // in its error, so keep it whole
            (me @ Need::Length, _) => *me = Need::All,
            _ => {}
        }
    }

    /// Marks the value at `path` as needed for its length. Only a value nothing else
    /// touched can be kept as a shape (one that is also indexed, or the input itself, whose
    /// indexing is not recorded, is kept whole).
    fn add_length(&mut self, path: &[String]) {
        match (self, path.split_first()) {
            (Need::All, _) => {}
            (me, None) => *me = Need::All,
            (me @ Need::Length, Some(_)) => *me = Need::All,
            (Need::Fields(fields), Some((first, []))) => match fields.get_mut(first) {
                None => {
                    fields.insert(first.clone(), Need::Length);
                }
                Some(Need::Length | Need::All) => {}
                Some(other) => *other = Need::All,
            },
            (Need::Fields(fields), Some((first, rest))) => fields
                .entry(first.clone())
                .or_insert_with(Need::nothing)
                .add_length(rest),
        }
    }

    /// Marks the value at `path` as needed whole.
    fn add(&mut self, path: &[String]) {
        match (self, path.split_first()) {
            (Need::All, _) => {}
            (me, None) => *me = Need::All,
            (me @ Need::Length, Some(_)) => *me = Need::All,
            (Need::Fields(fields), Some((first, rest))) => fields
                .entry(first.clone())
                .or_insert_with(Need::nothing)
                .add(rest),
        }
    }
}

/// What either `a` or `b` needs.
pub(crate) fn union(a: &Need, b: &Need) -> Need {
    match (a, b) {
        (Need::All, _) | (_, Need::All) => Need::All,
        (Need::Length, Need::Length) => Need::Length,
        // (a field node, even without fields, is a value that is indexed: see `touch`)
        (Need::Length, Need::Fields(_)) | (Need::Fields(_), Need::Length) => Need::All,
        (Need::Fields(x), Need::Fields(y)) => {
            let mut merged = x.clone();
            for (k, v) in y {
                let both = match merged.get(k) {
                    Some(mine) => union(mine, v),
                    None => v.clone(),
                };
                merged.insert(k.clone(), both);
            }
            Need::Fields(merged)
        }
    }
}

/// What a sub-program outputs: a part of the input, unchanged (the part at this path of
/// fields), or anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Input(Vec<String>),
    Other,
}

/// The parts of its input `code` needs ([`Need::All`] when it cannot tell).
pub(crate) fn needed(code: &str) -> Need {
    let Some(term) = jaq_core::load::parse(code, |p| p.term()) else {
        return Need::All;
    };
    let mut analysis = Analysis {
        need: Need::nothing(),
    };
    let out = analysis.term(&term, &Out::Input(Vec::new()));
    analysis.consume(out);
    analysis.need
}

struct Analysis {
    need: Need,
}

/// The text of a string literal without interpolation (also read by the byte route's
/// compiler).
pub(crate) fn literal(t: &Term<&str>) -> Option<String> {
    let Term::Str(None, parts) = t else {
        return None;
    };
    let mut s = String::new();
    for part in parts {
        match part {
            StrPart::Str(text) => s.push_str(text),
            StrPart::Char(c) => s.push(*c),
            StrPart::Term(_) => return None,
        }
    }
    Some(s)
}

impl Analysis {
    /// The field `name` of `out`: indexing needs `out` itself (its type decides whether
    /// indexing fails).
    fn field(&mut self, out: &Out, name: String) -> Out {
        match out {
            Out::Input(path) => {
                self.need.touch(path);
                let mut path = path.clone();
                path.push(name);
                Out::Input(path)
            }
            Out::Other => Out::Other,
        }
    }

    /// The value `out` is used whole.
    fn consume(&mut self, out: Out) {
        if let Out::Input(path) = out {
            self.need.add(&path);
        }
    }

    /// Analyses `t` run on `input`, consuming what it uses; returns what it outputs.
    fn term(&mut self, t: &Term<&str>, input: &Out) -> Out {
        match t {
            Term::Id => input.clone(),
            Term::Num(_) | Term::Var(_) | Term::Break(_) | Term::Arr(None) => Out::Other,
            Term::Str(format, parts) => {
                if format.is_some() {
                    // a format such as `@csv` applies to its input
                    self.consume(input.clone());
                }
                for part in parts {
                    if let StrPart::Term(t) = part {
                        let out = self.term(t, input);
                        self.consume(out);
                    }
                }
                Out::Other
            }
            Term::Arr(Some(t)) | Term::Neg(t) => {
                let out = self.term(t, input);
                self.consume(out);
                Out::Other
            }
            Term::Obj(entries) => {
                for (key, value) in entries {
                    match (literal(key), value) {
                        // `{a}` is `{a: .a}`
                        (Some(name), None) => {
                            let out = self.field(input, name);
                            self.consume(out);
                        }
                        // `{$x}` needs nothing; `{"\(f)"}` and `{@fmt "..."}` are
                        // `{(k): .[k]}` with a key known only when run
                        (None, None) if !matches!(key, Term::Var(_)) => {
                            self.consume(input.clone());
                        }
                        _ => {
                            if !matches!(key, Term::Var(_)) {
                                let out = self.term(key, input);
                                self.consume(out);
                            }
                            if let Some(value) = value {
                                let out = self.term(value, input);
                                self.consume(out);
                            }
                        }
                    }
                }
                Out::Other
            }
            Term::BinOp(l, BinaryOp::Pipe(None), r) => {
                let mid = self.term(l, input);
                self.term(r, &mid)
            }
            Term::BinOp(l, op, r) => {
                if !matches!(
                    op,
                    BinaryOp::Comma
                        | BinaryOp::Alt
                        | BinaryOp::Or
                        | BinaryOp::And
                        | BinaryOp::Math(_)
                        | BinaryOp::Cmp(_)
                ) {
                    // `l as $x | r` (patterns may hold sub-programs), assignments and
                    // updates (which output a changed copy of the input)
                    self.consume(input.clone());
                }
                let out = self.term(l, input);
                self.consume(out);
                let out = self.term(r, input);
                self.consume(out);
                Out::Other
            }
            Term::Label(_, t) => self.term(t, input),
            Term::TryCatch(t, catch) => {
                let out = self.term(t, input);
                self.consume(out);
                if let Some(c) = catch {
                    let out = self.term(c, &Out::Other);
                    self.consume(out);
                }
                Out::Other
            }
            Term::IfThenElse(branches, otherwise) => {
                for (cond, then) in branches {
                    let out = self.term(cond, input);
                    self.consume(out);
                    let out = self.term(then, input);
                    self.consume(out);
                }
                match otherwise {
                    Some(e) => {
                        let out = self.term(e, input);
                        self.consume(out);
                    }
                    // `if c then t end` outputs its input when `c` is false
                    None => self.consume(input.clone()),
                }
                Out::Other
            }
            Term::Call(name, args) if *name == "select" && args.len() == 1 => {
                let out = self.term(&args[0], input);
                self.consume(out);
                input.clone()
            }
            Term::Call(name, args) if *name == "empty" && args.is_empty() => Out::Other,
            Term::Call(name, args) if *name == "length" && args.is_empty() => {
                if let Out::Input(path) = input {
                    self.need.add_length(path);
                }
                Out::Other
            }
            Term::Call(_, args) => {
                // a function may read its input in any way; its arguments run on its
                // input or on values taken from it
                self.consume(input.clone());
                for a in args {
                    let out = self.term(a, input);
                    self.consume(out);
                }
                Out::Other
            }
            Term::Path(base, path) => {
                let mut out = self.term(base, input);
                for (part, _optional) in &path.0 {
                    match part {
                        Part::Index(key) => match literal(key) {
                            Some(name) => out = self.field(&out, name),
                            None => {
                                // `.[0]`, `.[$k]`...: the indexed value is kept whole
                                let k = self.term(key, input);
                                self.consume(k);
                                self.consume(out);
                                out = Out::Other;
                            }
                        },
                        Part::Range(from, to) => {
                            for bound in [from, to].into_iter().flatten() {
                                let b = self.term(bound, input);
                                self.consume(b);
                            }
                            self.consume(out);
                            out = Out::Other;
                        }
                    }
                }
                out
            }
            // `..`, `reduce`/`foreach`, local definitions: the input whole
            Term::Recurse | Term::Fold(..) | Term::Def(..) => {
                self.consume(input.clone());
                Out::Other
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(spec: &[(&str, Need)]) -> Need {
        Need::Fields(
            spec.iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn follows_fields_through_select_and_pipes() {
        assert_eq!(
            needed(r#"select(.type == "assistant") | .message.usage.output_tokens"#),
            fields(&[
                ("type", Need::All),
                (
                    "message",
                    fields(&[("usage", fields(&[("output_tokens", Need::All)]))])
                ),
            ])
        );
        assert_eq!(
            needed("select(.delegations | length > 20) | .session_id"),
            fields(&[("delegations", Need::Length), ("session_id", Need::All)])
        );
        assert_eq!(needed("(.d | length), .d.x"), fields(&[("d", Need::All)]));
        assert_eq!(needed(".d.x, (.d | length)"), fields(&[("d", Need::All)]));
        assert_eq!(
            needed("(.d.x | 1), (.d | length)"),
            fields(&[("d", Need::All)])
        );
        assert_eq!(
            needed("(.d | length), (.d.x | 1)"),
            fields(&[("d", Need::All)])
        );
        assert_eq!(
            needed(r#"{id, n: .a.b, "q": ."x y"}"#),
            fields(&[
                ("id", Need::All),
                ("a", fields(&[("b", Need::All)])),
                ("x y", Need::All)
            ])
        );
    }

    #[test]
    fn anything_else_needs_the_whole_input() {
        for code in [
            ".",
            "select(.a)",
            "keys",
            "length, .",
            // found by review: a shape printed in an error, a key known only when run
            "(select(length)).b | 1",
            r#"{"\("a")"}"#,
            "{@text \"a\"}",
            ".[]",
            "..",
            ". as $x | $x.a",
            ".a = 1",
            "if .a then .b end",
            "def f: .a; f",
            "reduce .[] as $x (0; . + $x)",
            "tojson",
            "@csv",
            ".a, .",
            "not syntax (",
        ] {
            assert_eq!(needed(code), Need::All, "{code}");
        }
    }

    /// Programs built from the constructs the analysis knows and some it does not.
    fn program() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(".".to_owned()),
            Just(".a".to_owned()),
            Just(".b".to_owned()),
            Just(".a.b".to_owned()),
            Just(".c.a?".to_owned()),
            Just(r#"."a\"b""#.to_owned()),
            Just(".a[0]?".to_owned()),
            Just(".b[]?".to_owned()),
            Just("1".to_owned()),
            Just("\"a\"".to_owned()),
            Just("null".to_owned()),
            Just("empty".to_owned()),
            Just("length".to_owned()),
            Just("keys?".to_owned()),
            Just("$__loc__".to_owned()),
            Just(r#"{"\("a")"}"#.to_owned()),
            Just("{$__loc__}".to_owned()),
        ];
        leaf.prop_recursive(3, 24, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(x, y)| format!("({x}) | ({y})")),
                (inner.clone(), inner.clone()).prop_map(|(x, y)| format!("({x}), ({y})")),
                (inner.clone(), inner.clone()).prop_map(|(x, y)| format!("({x}) == ({y})")),
                (inner.clone(), inner.clone()).prop_map(|(x, y)| format!("({x}) // ({y})")),
                (inner.clone(), inner.clone()).prop_map(|(x, y)| format!("({x}) and ({y})")),
                inner.clone().prop_map(|x| format!("select({x})")),
                inner.clone().prop_map(|x| format!("[{x}]")),
                inner.clone().prop_map(|x| format!("{{a: ({x}), b}}")),
                inner.clone().prop_map(|x| format!("\"s\\({x})\"")),
                inner.clone().prop_map(|x| format!("try ({x}) catch .")),
                inner.clone().prop_map(|x| format!("({x})?")),
                inner.clone().prop_map(|x| format!("if ({x}) then .a end")),
                inner
                    .clone()
                    .prop_map(|x| format!(". as $v | ({x}) | $v.b")),
                inner.clone().prop_map(|x| format!("map({x})?")),
                inner.clone().prop_map(|x| format!("tostring | ({x})")),
                inner.clone().prop_map(|x| format!("-({x})?")),
                inner.clone().prop_map(|x| format!("({x}) | .a")),
                // a value dropped after being computed: only its errors can tell
                inner.prop_map(|x| format!("({x}) | 1")),
            ]
        })
    }

    /// JSON with few keys, so that programs find what they look for.
    fn document() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            (-3i64..3).prop_map(serde_json::Value::from),
            "[ab]{0,2}".prop_map(serde_json::Value::from),
            // quotes, backslashes, brackets and control characters inside strings, which
            // skipping must step over
            "[a\"\\\\\\[\\]{}\n\u{1}é]{0,4}".prop_map(serde_json::Value::from),
            (-1e3f64..1e3).prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 40, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::vec(
                    (
                        prop_oneof!["[abcd]", Just("a\"b".to_owned()), Just("b\\".to_owned())],
                        inner
                    ),
                    0..5,
                )
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn outputs(
        program: &crate::query::JqProgram,
        input: jaq_json::Val,
    ) -> (Vec<String>, Option<String>) {
        let mut out = Vec::new();
        let error = program
            .run(input, |v| {
                out.push(v.to_string());
                Ok(())
            })
            .err()
            .map(|e| e.0);
        (out, error)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The oracle: every program gives the same outputs and errors on the projected
        /// value as on the whole one.
        #[test]
        fn projected_values_give_the_same_answers(code in program(), doc in document()) {
            let Ok(p) = crate::query::JqProgram::compile(&code) else { return Ok(()) };
            let text = serde_json::to_string_pretty(&doc).unwrap();
            let whole = crate::query::jq::parse_val(text.as_bytes()).unwrap();
            let projected = p.parse_input(text.as_bytes()).unwrap();
            proptest::prop_assert_eq!(
                outputs(&p, projected),
                outputs(&p, whole),
                "program {} on {}", code, text
            );
        }
    }

    /// Found by review: escaped lone surrogates (accepted by the scanner, refused by jaq)
    /// in a skipped or length-only value must fail as on the whole value.
    #[test]
    fn skipped_lone_surrogates_fail_as_on_the_whole_value() {
        for (code, doc) in [
            (".a", r#"{"a":1,"b":"\ud800"}"#),
            (".a", r#"{"a":1,"b":["x\udc00"]}"#),
            (".b | length", r#"{"b":["\udc00",2]}"#),
            (".a", r#"{"a":1,"b":"\ud83d\ude00 \u00e9"}"#),
        ] {
            let p = crate::query::JqProgram::compile(code).unwrap();
            let whole = crate::query::jq::parse_val(doc.as_bytes());
            let projected = p.parse_input(doc.as_bytes());
            match (whole, projected) {
                (Ok(w), Ok(pr)) => assert_eq!(outputs(&p, pr), outputs(&p, w), "{code} {doc}"),
                (Err(w), Err(pr)) => assert_eq!(w.0, pr.0, "{code} {doc}"),
                (w, pr) => panic!("{code} on {doc}: whole {w:?}, projected {pr:?}"),
            }
        }
    }

    #[test]
    fn unions() {
        let ab = needed(".a.b");
        let ac = needed(".a.c | length");
        assert_eq!(
            union(&ab, &ac),
            fields(&[("a", fields(&[("b", Need::All), ("c", Need::Length)]))])
        );
        assert_eq!(union(&ab, &Need::All), Need::All);
        let a_len = needed(".a | length");
        assert_eq!(union(&a_len, &needed("1")), a_len);
        assert_eq!(union(&a_len, &ab), fields(&[("a", Need::All)]));
    }

    #[test]
    fn parts_used_whole_inside_fields() {
        assert_eq!(needed(".a | keys"), fields(&[("a", Need::All)]));
        assert_eq!(needed(".a[0].b"), fields(&[("a", Need::All)]));
        assert_eq!(
            needed(".a.b // .c"),
            fields(&[("a", fields(&[("b", Need::All)])), ("c", Need::All)])
        );
        assert_eq!(needed("length"), Need::All);
        assert_eq!(needed(".a | length"), fields(&[("a", Need::Length)]));
        assert_eq!(needed(r#"empty"#), Need::nothing());
        assert_eq!(needed(r#""x""#), Need::nothing());
    }
}
