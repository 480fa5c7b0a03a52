//! The byte route of jq filters (`Query::byte_filters`) against the jaq route: random
//! programs of its grammar (and some outside it) on random documents give the same results
//! and the same errors, byte for byte, through both; plus one test per construct and for
//! the fallbacks.

use proptest::prelude::*;
use spate::query::{OnError, Query};

/// What a run gives: its output lines, its aggregates, or its error (with the lines
/// written before it), and how many items went the byte route.
fn run(q: &Query, doc: &str) -> (String, u64) {
    let mut out = Vec::new();
    let result = q.run(doc.as_bytes(), &mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    match result {
        Ok(runner) => {
            let on_bytes = runner.items_on_bytes();
            let skipped = runner.skipped();
            let report = runner
                .into_aggregates()
                .map(|a| spate::query::Report::new(q, a).to_json_lines())
                .unwrap_or_default();
            (format!("{text}{report}skipped {skipped}"), on_bytes)
        }
        Err(e) => (format!("{text}error: {e}"), 0),
    }
}

/// Runs `q` both ways; returns the answer and the items that went the byte route.
fn both(q: Query, doc: &str) -> (String, u64) {
    let (jaq, jaq_bytes) = run(&q.clone().byte_filters(false), doc);
    assert_eq!(jaq_bytes, 0);
    let (fast, on_bytes) = run(&q, doc);
    assert_eq!(fast, jaq, "program {q:?} on {doc}");
    (fast, on_bytes)
}

fn filter(path: &str, program: &str) -> Query {
    Query::new(path).unwrap().jq(program).unwrap()
}

/// Asserts the answer of `program` on the items at `item` of `doc`, and that every item
/// went the byte route.
fn check(program: &str, doc: &str, expected: &str) {
    let (answer, on_bytes) = both(filter("item", program), doc);
    assert_eq!(answer, format!("{expected}skipped 0"), "{program} on {doc}");
    let items = serde_json::from_str::<Vec<serde_json::Value>>(doc)
        .unwrap()
        .len() as u64;
    assert_eq!(on_bytes, items, "{program}: not all items on bytes");
}

/// Asserts that `program` gives the same answer both ways and that no item of `doc` went
/// the byte route.
fn falls_back(program: &str, doc: &str) {
    let (_, on_bytes) = both(filter("item", program), doc);
    assert_eq!(on_bytes, 0, "{program} on {doc}");
}

#[test]
fn comparisons() {
    let doc = r#"[{"a": 1, "s": "x"}, {"a": 2, "s": "é"}, {"a": "2"}, {"a": null}, {}]"#;
    check("select(.a == 2) | .s", doc, "\"é\"\n");
    check("select(.a != 2) | .a", doc, "1\n\"2\"\nnull\nnull\n");
    check("select(.a < 2) | .a", doc, "1\nnull\nnull\n");
    check("select(.a >= 2) | .a", doc, "2\n\"2\"\n");
    check("select(.a > null) | .a", doc, "1\n2\n\"2\"\n");
    check("select(.s <= \"y\") | .s", doc, "\"x\"\nnull\nnull\nnull\n");
    check("select(.s > \"y\") | .s", doc, "\"é\"\n");
    check("select(.a == .a) | .a", doc, "1\n2\n\"2\"\nnull\nnull\n");
    check("select(.a != null) | .a", doc, "1\n2\n\"2\"\n");
    check("select(-1 < .a) | .a", doc, "1\n2\n\"2\"\n");
}

#[test]
fn logic_and_alternatives() {
    let doc = r#"[{"a": true, "b": 1}, {"a": false, "b": null}, {"b": 0}]"#;
    check("select(.a and .b) | .b", doc, "1\n");
    check("select(.a or .b) | .b", doc, "1\n0\n");
    check("select(.a | not) | .b", doc, "null\n0\n");
    check(
        "select((.b == 1) | not)",
        doc,
        "{\"a\":false,\"b\":null}\n{\"b\":0}\n",
    );
    check(".b // \"none\"", doc, "1\n\"none\"\n0\n");
    check(".a // .b", doc, "true\nnull\n0\n");
    // `false and (error)` is false in jq: the right side is not run
    check("select(.a and (.b | length > 0)) | .b", doc, "1\n");
}

#[test]
fn functions() {
    let doc = r#"[{"d": [1, 2, 3], "s": "héllo", "o": {"x": 1, "x": 2, "y": 3}}, {"d": [], "s": "", "o": {}}, {"d": null}]"#;
    check(".d | length", doc, "3\n0\n0\n");
    check(".s | length", doc, "5\n0\n0\n");
    check(".o | length", doc, "2\n0\n0\n");
    check(".d | type", doc, "\"array\"\n\"array\"\n\"null\"\n");
    check(
        "select(has(\"s\")) | .s | type",
        doc,
        "\"string\"\n\"string\"\n",
    );
    check(
        "select(has(\"o\") and (.o | has(\"y\"))) | .o",
        doc,
        "{\"x\":2,\"y\":3}\n",
    );
    let doc = r#"[{"s": "héllo"}, {"s": ""}]"#;
    check("select(.s | startswith(\"hé\")) | .s", doc, "\"héllo\"\n");
    check("select(.s | endswith(\"lo\")) | .s", doc, "\"héllo\"\n");
    check("select(.s | contains(\"él\")) | .s", doc, "\"héllo\"\n");
    check("select(.s | contains(\"\")) | .s", doc, "\"héllo\"\n\"\"\n");
}

#[test]
fn outputs() {
    let doc = r#"[{"id": "a\"b\u0001\u007f", "d": [{"k": 1.50}, -0, 1e3, 12345678901234567890123], "n": {"b": 1, "a": [true]}}]"#;
    check(".", doc, "{\"id\":\"a\\\"b\\u0001\\u007f\",\"d\":[{\"k\":1.50},0,1e3,12345678901234567890123],\"n\":{\"b\":1,\"a\":[true]}}\n");
    check(
        "{id, n: (.d | length), \"x y\": .n.a[0], id: 1}",
        doc,
        "{\"id\":1,\"n\":4,\"x y\":true}\n",
    );
    check(".d[1]", doc, "0\n");
    check(".d[9]", doc, "null\n");
    check(".n", doc, "{\"b\":1,\"a\":[true]}\n");
}

#[test]
fn options_and_aggregates() {
    let doc = r#"[{"t": "x", "n": 1}, {"t": "y", "n": 2}, {"t": "x", "n": 3.5}]"#;
    let q = filter("item", "select(.t == \"x\") | .n");
    assert_eq!(both(q.clone().count_only(true), doc).0, "\n\nskipped 0");
    assert_eq!(
        both(q.clone().sum(".").unwrap(), doc).0,
        "{\"sum(.)\":4.5}\nskipped 0"
    );
    let q = filter("item", "select(.n > 1)")
        .group_by(".t")
        .unwrap()
        .count()
        .sum(".n")
        .unwrap();
    let (answer, on_bytes) = both(q, doc);
    assert_eq!(
        answer,
        "{\".t\":\"x\",\"count\":1,\"sum(.n)\":3.5}\n{\".t\":\"y\",\"count\":1,\"sum(.n)\":2}\nskipped 0"
    );
    // (3.5 > 1 is a float comparison: that item went the jaq route)
    assert_eq!(on_bytes, 2);
    let q = filter("item", ".t").raw_output(true);
    assert_eq!(both(q, doc).0, "x\ny\nx\nskipped 0");
}

#[test]
fn with_fields() {
    let doc = r#"{"s": [{"id": "s1", "d": [{"a": "dev"}, {"a": "qa"}]}, {"d": [{"a": "dev", "id": 0}], "id": "s2"}]}"#;
    let q = Query::new("s.item.d.item")
        .unwrap()
        .with("sid", "s.item.id")
        .unwrap()
        .jq("select(.a == \"dev\") | .sid")
        .unwrap();
    let (answer, on_bytes) = both(q, doc);
    assert_eq!(answer, "\"s1\"\n\"s2\"\nskipped 0");
    assert_eq!(on_bytes, 3);
}

#[test]
fn with_fields_are_joined_as_members() {
    // a non-object item is the member `value`; a field named as one of the item's keys
    // takes that key's place with the field's value, as in the joined text
    let doc = r#"{"s": [{"id": "s1", "d": [1, {"a": "dev", "sid": "own", "b": 2}, "x", {}]}]}"#;
    let q = Query::new("s.item.d.item")
        .unwrap()
        .with("sid", "s.item.id")
        .unwrap()
        .jq(".")
        .unwrap();
    let (answer, on_bytes) = both(q, doc);
    assert_eq!(
        answer,
        "{\"value\":1,\"sid\":\"s1\"}\n{\"a\":\"dev\",\"sid\":\"s1\",\"b\":2}\n\
         {\"value\":\"x\",\"sid\":\"s1\"}\n{\"sid\":\"s1\"}\nskipped 0"
    );
    assert_eq!(on_bytes, 4);
    let q = Query::new("s.item.d.item")
        .unwrap()
        .with("sid", "s.item.id")
        .unwrap()
        .jq("select(has(\"value\") or (.sid | length) > 2) | {v: .value, n: length}")
        .unwrap();
    let (answer, on_bytes) = both(q, doc);
    assert_eq!(
        answer,
        "{\"v\":1,\"n\":2}\n{\"v\":\"x\",\"n\":2}\nskipped 0"
    );
    assert_eq!(on_bytes, 4);
}

#[test]
fn errors_and_uncertain_items_go_the_jaq_route() {
    // jq errors: indexing a string, length of a boolean, startswith on a number
    falls_back(".a.b", r#"[{"a": "x"}]"#);
    falls_back(".a | length", r#"[{"a": true}]"#);
    falls_back("select(.a | startswith(\"x\"))", r#"[{"a": 1}]"#);
    // numbers other than machine integers, arrays or objects compared
    falls_back(
        "select(.a > 1)",
        r#"[{"a": 1.5}, {"a": 1e2}, {"a": 99999999999999999999}]"#,
    );
    falls_back(
        "select(.a == .b)",
        r#"[{"a": [1], "b": [1]}, {"a": {}, "b": {}}]"#,
    );
    // items the jaq route refuses
    falls_back(".a", r#"[{"a": 1, "b": "\ud800"}]"#);
    // programs outside the grammar
    falls_back(".a?", r#"[{"a": 1}]"#);
    falls_back("select(.s | test(\"a\"))", r#"[{"s": "a"}]"#);
    falls_back("select(.a > 1.5)", r#"[{"a": 2}]"#);
    // an error stops the run (or skips the item) exactly as on the jaq route
    let doc = r#"[{"a": {"b": 1}}, {"a": "x"}, {"a": {"b": 2}}]"#;
    let (answer, _) = both(filter("item", ".a.b"), doc);
    assert!(answer.starts_with("1\nerror: "), "{answer}");
    let (answer, on_bytes) = both(filter("item", ".a.b").on_error(OnError::Skip), doc);
    assert_eq!(answer, "1\n2\nskipped 1");
    assert_eq!(on_bytes, 2);
}

#[test]
fn the_benchmark_shapes_run_on_bytes() {
    let doc = r#"[{"session_id": "a", "delegations": [1, 2, 3]}, {"session_id": "b", "delegations": []}]"#;
    check(
        "select(.delegations | length > 2) | .session_id",
        doc,
        "\"a\"\n",
    );
    let line = r#"[{"type": "assistant", "message": {"usage": {"output_tokens": 7}, "content": "x\ny"}}, {"type": "user"}]"#;
    check(
        "select(.type == \"assistant\") | .message.usage.output_tokens",
        line,
        "7\n",
    );
}

// ---- the property test ----

fn path() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        ".",
        ".a",
        ".b",
        ".c",
        ".a.b",
        ".c[0]",
        ".c[1].a",
        ".\"a b\"",
        ".[\"é\"]",
        ".d",
    ])
    .prop_map(str::to_owned)
}

fn literal() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "null", "true", "false", "0", "1", "-1", "2", "20", "\"\"", "\"a\"", "\"ab\"", "\"é\"",
        "\"b\\n\"", "1.5",
    ])
    .prop_map(str::to_owned)
}

fn operand() -> impl Strategy<Value = String> {
    prop_oneof![
        path(),
        literal(),
        path().prop_map(|p| format!("({p} | length)")),
        path().prop_map(|p| format!("({p} | type)")),
        (path(), literal()).prop_map(|(p, l)| format!("({p} // {l})")),
    ]
}

fn predicate() -> impl Strategy<Value = String> {
    let cmp = prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]);
    let fun = prop::sample::select(vec!["startswith", "endswith", "contains", "has"]);
    let leaf = prop_oneof![
        (operand(), cmp, operand()).prop_map(|(l, c, r)| format!("{l} {c} {r}")),
        (path(), fun, literal()).prop_map(|(p, f, l)| format!("({p} | {f}({l}))")),
        path(),
        path().prop_map(|p| format!("{p} != null")),
        // outside the grammar: the whole program goes the jaq route
        path().prop_map(|p| format!("({p} | test(\"a\"))")),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| format!("({l}) and ({r})")),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| format!("({l}) or ({r})")),
            inner.prop_map(|p| format!("({p}) | not")),
        ]
    })
}

fn program() -> impl Strategy<Value = String> {
    let tail = prop_oneof![
        Just(String::new()),
        path().prop_map(|p| format!(" | {p}")),
        (path(), path()).prop_map(|(p, q)| format!(" | {{id: {p}, n: ({q} | length), b}}")),
        (path(), literal()).prop_map(|(p, l)| format!(" | {p} // {l}")),
    ];
    prop_oneof![
        4 => (predicate(), tail).prop_map(|(p, t)| format!("select({p}){t}")),
        1 => operand(),
        1 => (predicate(), predicate()).prop_map(|(p, q)| format!("select({p}) | select({q})")),
    ]
}

/// JSON text with what the byte route must get right: repeated keys, escaped keys,
/// numbers of every kind, strings jaq prints with escapes, and now and then what the jaq
/// route refuses.
fn json(depth: u32) -> BoxedStrategy<String> {
    let scalar = prop::sample::select(vec![
        "null",
        "true",
        "false",
        "0",
        "-0",
        "1",
        "2",
        "20",
        "-1",
        "1.5",
        "2.0",
        "1e1",
        "-2E-1",
        "9223372036854775807",
        "-9223372036854775807",
        "9223372036854775808",
        "123456789012345678901234567890",
        "\"\"",
        "\"a\"",
        "\"ab\"",
        "\"é\"",
        "\"b\\n\"",
        "\"\\u0061\"",
        "\"a\\\"b\"",
        "\"\\u007f\u{7f}\"",
        "\"\\ud83d\\ude00\"",
        "\"x\\/y\"",
        "\"\\ud800\"",
    ])
    .prop_map(str::to_owned);
    if depth == 0 {
        return scalar.boxed();
    }
    // (names with escaped quotes and backslashes, and blanks around the colon: the byte
    // route reads the names back from before the values the scan hands over)
    let key = prop::sample::select(vec![
        "a", "b", "c", "d", "a b", "é", "\\u0061", "\\u00e9", "q\\\"", "\\\\",
    ]);
    let colon = prop::sample::select(vec![": ", ":", " :\n ", "\t:"]);
    prop_oneof![
        2 => scalar,
        1 => prop::collection::vec(json(depth - 1), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
        2 => prop::collection::vec((key, colon, json(depth - 1)), 0..5).prop_map(|m| {
            let members: Vec<String> =
                m.iter().map(|(k, c, v)| format!("\"{k}\"{c}{v}")).collect();
            format!("{{{}}}", members.join(","))
        }),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn both_routes_give_the_same_answers(
        program in program(),
        items in prop::collection::vec(json(3), 1..4),
        mode in 0u8..6,
        skip in any::<bool>(),
    ) {
        let doc = format!("[{}]", items.join(",\n"));
        let Ok(q) = Query::new("item").unwrap().jq(&program) else { return Ok(()) };
        let q = with_mode(q, mode, skip);
        let (jaq, _) = run(&q.clone().byte_filters(false), &doc);
        let (fast, _) = run(&q, &doc);
        prop_assert_eq!(fast, jaq, "program {} on {}", program, doc);
    }
}

/// A query's output modes and error policy, as the property tests pick them.
fn with_mode(mut q: Query, mode: u8, skip: bool) -> Query {
    q = match mode {
        1 => q.raw_output(true),
        2 => q.count_only(true),
        3 => q.sum(".a").unwrap().count(),
        4 => q.group_by(".b").unwrap().max("(.c | length)").unwrap(),
        5 => q.group_by("type").unwrap().min(".").unwrap(),
        _ => q,
    };
    if skip {
        q = q.on_error(OnError::Skip);
    }
    q
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// With `with` fields, which the byte route joins to the item as it reads it (the jaq
    /// route gets the joined text): names that repeat the item's own keys, fields before
    /// and after the items (held items), missing fields (null), a field inside the item,
    /// items that are not objects (joined as `value`).
    #[test]
    fn both_routes_give_the_same_answers_with_fields(
        program in program(),
        groups in prop::collection::vec(
            (prop::option::of(json(2)), prop::collection::vec(json(3), 0..3), any::<bool>()),
            1..3,
        ),
        name in prop::sample::select(vec!["a", "b", "c", "w", "a b", "é"]),
        inner in any::<bool>(),
        mode in 0u8..6,
        skip in any::<bool>(),
    ) {
        let groups: Vec<String> = groups
            .iter()
            .map(|(w, items, after)| {
                let d = format!("\"d\": [{}]", items.join(", "));
                match (w, after) {
                    (None, _) => format!("{{{d}}}"),
                    (Some(w), false) => format!("{{\"w\": {w}, {d}}}"),
                    (Some(w), true) => format!("{{{d}, \"w\": {w}}}"),
                }
            })
            .collect();
        let doc = format!("{{\"s\": [{}]}}", groups.join(",\n"));
        let mut q = Query::new("s.item.d.item").unwrap().with(name, "s.item.w").unwrap();
        if inner {
            q = q.with("b", "s.item.d.item.a").unwrap();
        }
        let Ok(q) = q.jq(&program) else { return Ok(()) };
        let q = with_mode(q, mode, skip);
        let (jaq, _) = run(&q.clone().byte_filters(false), &doc);
        let (fast, _) = run(&q, &doc);
        prop_assert_eq!(fast, jaq, "program {} on {}", program, doc);
    }
}

/// The property test's programs do go the byte route (a comparison that always fell back
/// would prove nothing).
#[test]
fn random_programs_mostly_run_on_bytes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut items, mut on_bytes, mut compiled) = (0u64, 0u64, 0u64);
    for _ in 0..500 {
        let program = program().new_tree(&mut runner).unwrap().current();
        let doc = format!(
            r#"{{"a": {}, "b": {}, "c": [{}], "d": "s"}}"#,
            json(1).new_tree(&mut runner).unwrap().current(),
            json(2).new_tree(&mut runner).unwrap().current(),
            json(2).new_tree(&mut runner).unwrap().current(),
        );
        let Ok(q) = Query::new(".").unwrap().jq(&program) else {
            continue;
        };
        items += 1;
        compiled += u64::from(q.filter_runs_on_bytes());
        on_bytes += run(&q, &doc).1;
    }
    eprintln!("{on_bytes} of {items} items on bytes, {compiled} programs of the grammar");
    assert!(
        on_bytes * 2 > compiled,
        "{on_bytes} of {compiled} items on bytes"
    );
}
