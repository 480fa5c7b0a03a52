//! RFC 9535 constructs against a reference: random JSONPath queries (unions, negative
//! indexes, slices with any step, descendant segments, filters with comparisons, `&&` `||`
//! `!`, existence tests, relative and absolute queries, and the functions length, count,
//! value, match and search) on random documents. `spate::Items` (windows of 1, 2, 7 and
//! 4096 bytes and the default) must give the nodes a reference selector written here over a
//! full `serde_json::Value` gives, in the same order.
//!
//! Also: ijson prefixes match member names containing dots as ijson does, and a held value
//! larger than the item size limit is an error naming the limit.

mod common;

use proptest::prelude::*;
use serde_json::Value;
use spate::{Items, ItemsOptions, Path};

const KEYS: [&str; 5] = ["a", "b", "item", "k.dot", "é\"q"];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..4).prop_map(Value::from),
        prop::sample::select(vec![0.5f64, -1.5, 2.0]).prop_map(Value::from),
        prop::sample::select(vec!["", "a", "ab", "abc", "B", "é", "a\nb"])
            .prop_map(|s| Value::String(s.to_owned())),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(&KEYS[..]), inner), 0..5).prop_map(
                |members| {
                    Value::Object(
                        members
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect(),
                    )
                }
            ),
        ]
    })
}

// ---- the query model, its text, and the reference selector ----

#[derive(Debug, Clone)]
enum Sel {
    Name(&'static str),
    Wild,
    Index(i64),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Filter(Expr),
}

#[derive(Debug, Clone)]
struct Seg {
    descendant: bool,
    sels: Vec<Sel>,
}

#[derive(Debug, Clone)]
struct Query {
    absolute: bool,
    segs: Vec<Seg>,
}

#[derive(Debug, Clone)]
enum Operand {
    Lit(Value),
    /// A singular query (names and indexes only).
    Query(Query),
    Length(Query),
    Count(Query),
    ValueOf(Query),
}

#[derive(Debug, Clone)]
enum Expr {
    Exists(Query),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(Operand, &'static str, Operand),
    /// `match` (true) or `search` (false) of a singular query against a pattern.
    Regex(bool, Query, &'static str),
}

fn name_text(k: &str) -> String {
    format!("['{}']", k.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn seg_text(s: &Seg) -> String {
    let sels: Vec<String> = s
        .sels
        .iter()
        .map(|sel| match sel {
            Sel::Name(k) => name_text(k)[1..name_text(k).len() - 1].to_owned(),
            Sel::Wild => "*".to_owned(),
            Sel::Index(i) => i.to_string(),
            Sel::Slice(a, b, c) => {
                let f = |x: &Option<i64>| x.map(|x| x.to_string()).unwrap_or_default();
                match c {
                    Some(_) => format!("{}:{}:{}", f(a), f(b), f(c)),
                    None => format!("{}:{}", f(a), f(b)),
                }
            }
            Sel::Filter(e) => format!("?{}", expr_text(e)),
        })
        .collect();
    let dots = if s.descendant { ".." } else { "" };
    format!("{dots}[{}]", sels.join(", "))
}

fn query_text(q: &Query) -> String {
    let mut t = if q.absolute { "$" } else { "@" }.to_owned();
    for s in &q.segs {
        t.push_str(&seg_text(s));
    }
    t
}

fn operand_text(o: &Operand) -> String {
    match o {
        Operand::Lit(v) => serde_json::to_string(v).unwrap(),
        Operand::Query(q) => query_text(q),
        Operand::Length(q) => format!("length({})", query_text(q)),
        Operand::Count(q) => format!("count({})", query_text(q)),
        Operand::ValueOf(q) => format!("value({})", query_text(q)),
    }
}

fn expr_text(e: &Expr) -> String {
    match e {
        Expr::Exists(q) => query_text(q),
        Expr::Not(x) => format!("!({})", expr_text(x)),
        Expr::And(a, b) => format!("({} && {})", expr_text(a), expr_text(b)),
        Expr::Or(a, b) => format!("({} || {})", expr_text(a), expr_text(b)),
        Expr::Cmp(a, op, b) => format!("{} {op} {}", operand_text(a), operand_text(b)),
        Expr::Regex(whole, q, p) => format!(
            "{}({}, '{p}')",
            if *whole { "match" } else { "search" },
            query_text(q)
        ),
    }
}

fn children(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(m) => m.values().collect(),
        _ => Vec::new(),
    }
}

fn slice(len: i64, a: Option<i64>, b: Option<i64>, step: i64) -> Vec<usize> {
    let norm = |i: i64| if i < 0 { len + i } else { i };
    let mut out = Vec::new();
    if step > 0 {
        let (mut i, hi) = (
            norm(a.unwrap_or(0)).clamp(0, len),
            norm(b.unwrap_or(len)).clamp(0, len),
        );
        while i < hi {
            out.push(i as usize);
            i += step;
        }
    } else if step < 0 {
        let mut i = norm(a.unwrap_or(len - 1)).clamp(-1, len - 1);
        let lo = b.map(|b| norm(b).clamp(-1, len - 1)).unwrap_or(-1);
        while i > lo {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

fn apply_sel<'v>(root: &'v Value, v: &'v Value, sel: &Sel, out: &mut Vec<&'v Value>) {
    match (sel, v) {
        (Sel::Name(k), Value::Object(m)) => out.extend(m.get(*k)),
        (Sel::Wild, _) => out.extend(children(v)),
        (Sel::Index(i), Value::Array(a)) => {
            let i = if *i < 0 { a.len() as i64 + i } else { *i };
            if i >= 0 {
                out.extend(a.get(i as usize));
            }
        }
        (Sel::Slice(s, e, st), Value::Array(a)) => {
            for i in slice(a.len() as i64, *s, *e, st.unwrap_or(1)) {
                out.push(&a[i]);
            }
        }
        (Sel::Filter(x), _) => {
            for c in children(v) {
                if test(root, c, x) {
                    out.push(c);
                }
            }
        }
        _ => {}
    }
}

fn run<'v>(root: &'v Value, start: &'v Value, segs: &[Seg]) -> Vec<&'v Value> {
    let mut nodes = vec![start];
    for seg in segs {
        let mut next = Vec::new();
        for n in nodes {
            let mut visit = vec![n];
            if seg.descendant {
                // Pre-order: a node, then its descendants, children in order.
                let mut all = Vec::new();
                let mut stack = vec![n];
                while let Some(x) = stack.pop() {
                    all.push(x);
                    let mut c = children(x);
                    c.reverse();
                    stack.extend(c);
                }
                visit = all;
            }
            for x in visit {
                for sel in &seg.sels {
                    apply_sel(root, x, sel, &mut next);
                }
            }
        }
        nodes = next;
    }
    nodes
}

fn query<'v>(root: &'v Value, at: &'v Value, q: &Query) -> Vec<&'v Value> {
    run(root, if q.absolute { root } else { at }, &q.segs)
}

/// A value, `None` standing for Nothing.
fn operand(root: &Value, at: &Value, o: &Operand) -> Option<Value> {
    let single = |q: &Query| match query(root, at, q)[..] {
        [v] => Some(v.clone()),
        _ => None,
    };
    match o {
        Operand::Lit(v) => Some(v.clone()),
        Operand::Query(q) | Operand::ValueOf(q) => single(q),
        Operand::Length(q) => match single(q)? {
            Value::String(s) => Some(Value::from(s.chars().count())),
            Value::Array(a) => Some(Value::from(a.len())),
            Value::Object(m) => Some(Value::from(m.len())),
            _ => None,
        },
        Operand::Count(q) => Some(Value::from(query(root, at, q).len())),
    }
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn lt(a: &Option<Value>, b: &Option<Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() < y.as_f64(),
        (Some(Value::String(x)), Some(Value::String(y))) => x < y,
        _ => false,
    }
}

fn eq(a: &Option<Value>, b: &Option<Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => json_eq(x, y),
        _ => false,
    }
}

fn test(root: &Value, at: &Value, e: &Expr) -> bool {
    match e {
        Expr::Exists(q) => !query(root, at, q).is_empty(),
        Expr::Not(x) => !test(root, at, x),
        Expr::And(a, b) => test(root, at, a) && test(root, at, b),
        Expr::Or(a, b) => test(root, at, a) || test(root, at, b),
        Expr::Cmp(a, op, b) => {
            let (a, b) = (operand(root, at, a), operand(root, at, b));
            match *op {
                "==" => eq(&a, &b),
                "!=" => !eq(&a, &b),
                "<" => lt(&a, &b),
                ">" => lt(&b, &a),
                "<=" => lt(&a, &b) || eq(&a, &b),
                _ => lt(&b, &a) || eq(&a, &b),
            }
        }
        Expr::Regex(whole, q, pattern) => {
            let Some(Value::String(s)) = operand(root, at, &Operand::Query(q.clone())) else {
                return false;
            };
            // The patterns used are simple enough to decide by hand.
            match (*pattern, whole) {
                ("a.*", true) => s.starts_with('a') && !s.contains('\n'),
                ("a.*", false) => s.chars().any(|c| c == 'a'),
                ("[a-z]+", true) => !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase()),
                ("[a-z]+", false) => s.chars().any(|c| c.is_ascii_lowercase()),
                ("b", true) => s == "b",
                _ => s.contains('b'),
            }
        }
    }
}

// ---- generators ----

fn singular(absolute: bool) -> impl Strategy<Value = Query> {
    let seg = prop_oneof![
        prop::sample::select(&KEYS[..]).prop_map(Sel::Name),
        (-2i64..3).prop_map(Sel::Index),
    ]
    .prop_map(|s| Seg {
        descendant: false,
        sels: vec![s],
    });
    prop::collection::vec(seg, 0..3).prop_map(move |segs| Query { absolute, segs })
}

fn any_query() -> impl Strategy<Value = Query> {
    let seg = (
        any::<bool>(),
        prop_oneof![
            prop::sample::select(&KEYS[..]).prop_map(Sel::Name),
            Just(Sel::Wild),
            (-2i64..3).prop_map(Sel::Index),
        ],
    )
        .prop_map(|(d, s)| Seg {
            descendant: d,
            sels: vec![s],
        });
    prop::collection::vec(seg, 0..3).prop_map(|segs| Query {
        absolute: false,
        segs,
    })
}

fn operand_gen() -> impl Strategy<Value = Operand> {
    prop_oneof![
        scalar().prop_map(Operand::Lit),
        singular(false).prop_map(Operand::Query),
        singular(true).prop_map(Operand::Query),
        singular(false).prop_map(Operand::Length),
        any_query().prop_map(Operand::Count),
        any_query().prop_map(Operand::ValueOf),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        any_query().prop_map(Expr::Exists),
        (
            operand_gen(),
            prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]),
            operand_gen()
        )
            .prop_map(|(a, op, b)| Expr::Cmp(a, op, b)),
        (
            any::<bool>(),
            singular(false),
            prop::sample::select(vec!["a.*", "[a-z]+", "b"])
        )
            .prop_map(|(w, q, p)| Expr::Regex(w, q, p)),
    ];
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|x| Expr::Not(Box::new(x))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn selector() -> impl Strategy<Value = Sel> {
    let bound = prop::option::of(-4i64..5);
    prop_oneof![
        3 => prop::sample::select(&KEYS[..]).prop_map(Sel::Name),
        2 => Just(Sel::Wild),
        2 => (-4i64..4).prop_map(Sel::Index),
        2 => (bound.clone(), bound, prop::option::of(-3i64..4)).prop_map(|(a, b, c)| Sel::Slice(a, b, c)),
        2 => expr().prop_map(Sel::Filter),
    ]
}

fn segments() -> impl Strategy<Value = Vec<Seg>> {
    let seg = (
        prop::bool::weighted(0.25),
        prop::collection::vec(selector(), 1..3),
    )
        .prop_map(|(descendant, sels)| Seg { descendant, sels });
    prop::collection::vec(seg, 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn items_equal_reference_selection(doc in document(), segs in segments()) {
        let text = serde_json::to_string(&doc).unwrap();
        let q = Query { absolute: true, segs };
        let path = query_text(&q);
        let want: Vec<Value> = run(&doc, &doc, &q.segs).into_iter().cloned().collect();
        let got = common::items_all_windows(text.as_bytes(), &[&path])
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let got: Vec<Value> = got.iter().map(|(_, raw)| serde_json::from_slice(raw).unwrap()).collect();
        prop_assert_eq!(got, want, "{} on {}", path, text);
    }
}

#[test]
fn fixed_cases_in_rfc_order() {
    let doc = br#"{"a": [{"b": 1, "c": [{"b": 2}]}, {"b": 3}], "b": 0}"#;
    let cases: [(&str, &[&str]); 7] = [
        ("$..b", &["0", "1", "2", "3"]),
        ("$.a[-1:]", &[r#"{"b": 3}"#]),
        ("$.a[::-1].b", &["3", "1"]),
        ("$.a[1,0].b", &["3", "1"]),
        ("$.a[?@.b > 1]", &[r#"{"b": 3}"#]),
        ("$.a[?@.c[?@.b == 2]]", &[r#"{"b": 1, "c": [{"b": 2}]}"#]),
        ("$.a[?@.b == $.b + 0]", &[]),
    ];
    for (path, want) in cases {
        let parsed = Path::parse(path);
        if path.contains('+') {
            assert!(parsed.is_err(), "{path}");
            continue;
        }
        let got = common::items_all_windows(doc, &[path]).unwrap();
        let got: Vec<String> = got
            .iter()
            .map(|(_, raw)| String::from_utf8(raw.clone()).unwrap())
            .collect();
        assert_eq!(got, want, "{path}");
    }
}

#[test]
fn ijson_prefixes_match_dotted_names_as_ijson_does() {
    // Answers checked against ijson 3 (`ijson.items(f, prefix)`).
    let cases: [(&str, &str, &[&str]); 7] = [
        (r#"{"a.b": 1, "a": {"b": 2}}"#, "a.b", &["1", "2"]),
        (
            r#"{"a": {"b.c": [{"d": 3}]}, "a.b": {"c": [{"d": 4}]}}"#,
            "a.b.c.item.d",
            &["3", "4"],
        ),
        (r#"{"a\u002eb": 1}"#, "a.b", &["1"]),
        (
            r#"{"x.item": 5, "x": [6], "y": {"x.item": 7}}"#,
            "x.item",
            &["5", "6"],
        ),
        (
            r#"[{"a.b": {"c": 1}}, {"a": {"b.c": 2}}]"#,
            "item.a.b.c",
            &["1", "2"],
        ),
        (
            r#"{"a.": {"b": 1}, "a": {"": {"b": 2}}}"#,
            "a..b",
            &["1", "2"],
        ),
        (r#"{"a.b.c": 1}"#, "a.b", &[]),
    ];
    for (doc, prefix, want) in cases {
        let got = common::items_all_windows(doc.as_bytes(), &[prefix]).unwrap();
        let got: Vec<String> = got
            .iter()
            .map(|(_, raw)| String::from_utf8(raw.clone()).unwrap())
            .collect();
        assert_eq!(got, want, "{prefix} on {doc}");
    }
}

#[test]
fn held_values_are_bounded_by_the_item_size_limit() {
    let doc = format!(r#"{{"a": [{}], "b": 1}}"#, vec!["1"; 200].join(","));
    // `[-150]` keeps the last 150 elements (300 bytes); `..` and a filter on the root's
    // children hold the document or the array.
    for path in ["$..b", "$.a[-150]", "$[?@.b]"] {
        let options = ItemsOptions {
            max_item_size: 100,
            ..Default::default()
        };
        let mut items = Items::with_options(
            doc.as_bytes(),
            "doc",
            vec![Path::parse(path).unwrap()],
            options,
        )
        .unwrap();
        let err = loop {
            match items.next_item() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("{path}: no error"),
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains("100-byte limit"), "{path}: {err}");
    }
    // `[-1]` keeps one element; a plain path holds nothing more than its items.
    let options = ItemsOptions {
        max_item_size: 100,
        ..Default::default()
    };
    let got: Vec<_> = Items::with_options(
        doc.as_bytes(),
        "doc",
        vec![Path::parse("$.a[-1]").unwrap()],
        options,
    )
    .unwrap()
    .map(|i| i.unwrap().raw().to_vec())
    .collect();
    assert_eq!(got, [b"1".to_vec()]);
    let options = ItemsOptions {
        max_item_size: 100,
        ..Default::default()
    };
    let n = Items::with_options(
        doc.as_bytes(),
        "doc",
        vec![Path::parse("$.a[*]").unwrap()],
        options,
    )
    .unwrap()
    .count_items()
    .unwrap();
    assert_eq!(n, 200);
}

#[test]
fn queries_over_held_paths_read_fields_from_the_selected_items() {
    // Fields of a filtered path are read from the items the filter keeps (not by extending
    // the streamed steps, which stop before the filter).
    let doc = br#"{"a": [{"x": 1}, {"x": 5}, {"x": 7}]}"#;
    let report = spate::query::Query::new("$.a[?@.x > 1]")
        .unwrap()
        .sum(".x")
        .unwrap()
        .aggregate(&doc[..])
        .unwrap();
    assert_eq!(report.to_json_lines(), "{\"sum(.x)\":12}\n");
    assert!(spate::query::Query::new("$.a[?@.x > 1]")
        .unwrap()
        .with("n", "$.b")
        .is_err());
}
