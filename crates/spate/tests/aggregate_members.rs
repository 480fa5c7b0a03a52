//! Aggregates that read members of the item (`--group-by .a --sum .b`) take them from the
//! item's own text: from the children the scan recorded, or by walking the item when there
//! is no record (an item held for a later `with` field, an item with more children than are
//! recorded). Oracle: the same aggregation over the same items rewritten plainly (each item
//! replaced by `{"a": A, "b": B}` as serde_json reads its members: the last of repeated
//! names, escapes decoded, `null` for an item that is not an object).

use proptest::prelude::*;
use spate::query::Query;

/// The items' `a` and `b` members as serde_json reads them, written without anything
/// tricky: the oracle's document.
fn plain(items: &[String]) -> String {
    let rewritten: Vec<String> = items
        .iter()
        .map(|item| {
            let v: serde_json::Value = serde_json::from_str(item).expect("valid item");
            let member = |name: &str| match v.as_object().and_then(|o| o.get(name)) {
                Some(m) => format!(",\"{name}\":{m}"),
                None => String::new(),
            };
            format!("{{\"_\":0{}{}}}", member("a"), member("b"))
        })
        .collect();
    format!("[{}]", rewritten.join(","))
}

/// `--group-by .a --count --sum .b` over the items at `path` of `doc`, each joined with
/// the `with` field given (if any).
fn report_of(path: &str, with: Option<(&str, &str)>, doc: &str) -> String {
    let mut query = Query::new(path).unwrap();
    if let Some((name, field)) = with {
        query = query.with(name, field).unwrap();
    }
    query
        .group_by(".a")
        .unwrap()
        .count()
        .sum(".b")
        .unwrap()
        .aggregate(doc.as_bytes())
        .expect("aggregates")
        .to_json_lines()
}

fn report(doc: &str) -> String {
    report_of("$[*]", None, doc)
}

/// A member name as written: `a` and `b` plainly or through escapes, and near misses.
fn name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a", "b", "\\u0061", "\\u0062", "a ", "ab", "ba", "", "\\\\a", "A", "\\\"a",
    ])
}

/// A member value: `a` values group (strings with escapes, containers compacted), `b`
/// values sum (integers; other values are ignored, as they are by either route).
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..5).prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "\"x\"",
            "\"\\u0078\"",
            "\"é\"",
            "null",
            "true",
            "[ 1 , [2] ]",
            "{ \"k\" : [ ] }",
            "{}",
            "\"a\\\"b\"",
        ])
        .prop_map(str::to_owned),
    ]
}

fn blank() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", " ", "\n  ", "\t"])
}

/// An item: mostly objects (repeated names included), some arrays and scalars.
fn item() -> impl Strategy<Value = String> {
    let member = (name(), blank(), blank(), value())
        .prop_map(|(n, b1, b2, v)| format!("{b1}\"{n}\"{b2}:{b1}{v}{b2}"));
    prop_oneof![
        6 => prop::collection::vec(member, 0..6).prop_map(|m| format!("{{{}}}", m.join(","))),
        1 => prop::collection::vec(value(), 0..3).prop_map(|v| format!("[{}]", v.join(","))),
        1 => value(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn members_read_off_the_item_agree_with_a_full_parse(items in prop::collection::vec(item(), 0..12)) {
        let doc = format!("[{}]", items.join(" , "));
        prop_assert_eq!(report(&doc), report(&plain(&items)), "document: {}", doc);
    }
}

/// An item held until a `with` field after it is read has no recorded children: its
/// members are found by walking it, with the same answers.
#[test]
fn items_held_for_a_later_with_field_are_walked() {
    let doc = r#"{"items": [{"a": "x", "b": 1, "a": "y"}, {"\u0061": "y", "b": 2}, [1], "s"],
                  "meta": {"run": 7}}"#;
    let held = report_of("items.item", Some(("run", "meta.run")), doc);
    assert_eq!(
        held,
        "{\".a\":null,\"count\":2,\"sum(.b)\":0}\n{\".a\":\"y\",\"count\":2,\"sum(.b)\":3}\n"
    );
}

/// More children than the scan records (4,096): the item is walked instead.
#[test]
fn an_item_with_more_children_than_recorded_is_walked() {
    let mut item = String::from("{");
    for i in 0..5000 {
        item.push_str(&format!("\"k{i}\": {i}, "));
    }
    item.push_str("\"a\": \"many\", \"b\": 5}");
    let doc = format!("[{item}, {{\"a\": \"few\", \"b\": 1}}, {item}]");
    assert_eq!(
        report(&doc),
        "{\".a\":\"few\",\"count\":1,\"sum(.b)\":1}\n{\".a\":\"many\",\"count\":2,\"sum(.b)\":10}\n"
    );
}
