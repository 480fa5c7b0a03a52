//! The seed analyses computed on the stream equal the same analyses computed from a full
//! `serde_json::Value` load of the document (the sample shipped in testdata, and a document
//! whose context fields come after the items).

use std::collections::BTreeMap;

use serde_json::{json, Value};
use spate::query::Query;

fn sample() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/sample/sessions.json"
    ))
    .unwrap()
}

fn full(doc: &[u8]) -> Value {
    serde_json::from_slice(doc).unwrap()
}

fn sessions(v: &Value) -> &Vec<Value> {
    v["sessions"].as_array().unwrap()
}

#[test]
fn marathons() {
    let doc = sample();
    let mut got = Query::new("sessions.item")
        .unwrap()
        .jq("select(.delegations | length > 20) | {session_id, n: (.delegations | length)}")
        .unwrap()
        .results(&doc[..])
        .unwrap();
    let v = full(&doc);
    let mut want: Vec<Value> = sessions(&v)
        .iter()
        .filter(|s| s["delegations"].as_array().unwrap().len() > 20)
        .map(|s| json!({"session_id": s["session_id"], "n": s["delegations"].as_array().unwrap().len()}))
        .collect();
    let key = |m: &Value| {
        (
            m["n"].as_u64(),
            m["session_id"].as_str().unwrap().to_owned(),
        )
    };
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert!(!want.is_empty(), "the sample has marathons");
    assert_eq!(got, want);
}

#[test]
fn p4_marathons() {
    let doc = sample();
    let got = Query::new("sessions.item")
        .unwrap()
        .with("periods", "metadata.periods")
        .unwrap()
        .jq("select((.delegations | length) > 20 and (.delegations[0].timestamp[0:7] == .periods.P4)) | .session_id")
        .unwrap()
        .results(&doc[..])
        .unwrap();
    let v = full(&doc);
    let p4 = v["metadata"]["periods"]["P4"].as_str().unwrap();
    let want: Vec<Value> = sessions(&v)
        .iter()
        .filter(|s| {
            let d = s["delegations"].as_array().unwrap();
            d.len() > 20 && d[0]["timestamp"].as_str().unwrap().starts_with(p4)
        })
        .map(|s| s["session_id"].clone())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn developer_delegations_with_session_id() {
    let doc = sample();
    let got = Query::new("sessions.item.delegations.item")
        .unwrap()
        .with("session_id", "sessions.item.session_id")
        .unwrap()
        .jq(r#"select(.agent_type == "developer") | {session_id, delegation_id}"#)
        .unwrap()
        .results(&doc[..])
        .unwrap();
    // The same with a Rust predicate instead of jq's select.
    let by_closure = Query::new("sessions.item.delegations.item")
        .unwrap()
        .with("session_id", "sessions.item.session_id")
        .unwrap()
        .filter(|d| d["agent_type"] == "developer")
        .jq("{session_id, delegation_id}")
        .unwrap()
        .results(&doc[..])
        .unwrap();
    let v = full(&doc);
    let want: Vec<Value> = sessions(&v)
        .iter()
        .flat_map(|s| {
            s["delegations"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["agent_type"] == "developer")
                .map(move |d| json!({"session_id": s["session_id"], "delegation_id": d["delegation_id"]}))
        })
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    assert_eq!(by_closure, want);
}

#[test]
fn per_agent_statistics() {
    let doc = sample();
    let report = Query::new("sessions.item.delegations.item")
        .unwrap()
        .group_by(".agent_type")
        .unwrap()
        .count()
        .sum(".input_tokens")
        .unwrap()
        .aggregate(&doc[..])
        .unwrap();
    let got: Vec<Value> = report
        .to_json_lines()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let v = full(&doc);
    let mut want: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for s in sessions(&v) {
        for d in s["delegations"].as_array().unwrap() {
            let e = want
                .entry(d["agent_type"].as_str().unwrap().to_owned())
                .or_default();
            e.0 += 1;
            e.1 += d["input_tokens"].as_u64().unwrap();
        }
    }
    let want: Vec<Value> = want
        .into_iter()
        .map(|(k, (n, sum))| json!({".agent_type": k, "count": n, "sum(.input_tokens)": sum}))
        .collect();
    assert_eq!(got, want);
    // The jq path (a filter reshaping the items) gives the same report.
    let via_jq = Query::new("sessions.item.delegations.item")
        .unwrap()
        .jq("{agent_type, input_tokens}")
        .unwrap()
        .group_by(".agent_type")
        .unwrap()
        .count()
        .sum(".input_tokens")
        .unwrap()
        .aggregate(&doc[..])
        .unwrap();
    assert_eq!(via_jq.to_json_lines(), report.to_json_lines());
}

#[test]
fn context_fields_after_the_items_are_waited_for() {
    // `owner` comes after the items of its session; `late` only in the second session;
    // `top` after everything.
    let doc = br#"{"sessions": [
        {"items": [{"n": 1}, {"n": 2}], "owner": "a"},
        {"owner": "b", "items": [{"n": 3}], "late": true},
        {"items": [7]}
      ], "top": "t"}"#;
    let got = Query::new("sessions.item.items.item")
        .unwrap()
        .with("owner", "sessions.item.owner")
        .unwrap()
        .with("late", "sessions.item.late")
        .unwrap()
        .with("top", "top")
        .unwrap()
        .results(&doc[..])
        .unwrap();
    assert_eq!(
        got,
        [
            json!({"n": 1, "owner": "a", "late": null, "top": "t"}),
            json!({"n": 2, "owner": "a", "late": null, "top": "t"}),
            json!({"n": 3, "owner": "b", "late": true, "top": "t"}),
            json!({"value": 7, "owner": null, "late": null, "top": "t"}),
        ]
    );
    // Held items are bounded.
    let err = Query::new("sessions.item.items.item")
        .unwrap()
        .with("top", "top")
        .unwrap()
        .max_held(10)
        .results(&doc[..])
        .unwrap_err();
    assert!(err.to_string().contains("wait for a `with` field"), "{err}");
}

#[test]
fn exact_sums_and_ungrouped_aggregates() {
    let doc =
        br#"[{"t": "x", "v": 0.1}, {"t": "y", "v": 0.2}, {"t": "x", "v": 18446744073709551615},
                   {"t": "x", "v": 18446744073709551615}, {"t": "x", "v": null}]"#;
    let report = Query::new("item")
        .unwrap()
        .jq(r#"select(.t == "x")"#)
        .unwrap()
        .count()
        .sum(".v")
        .unwrap()
        .aggregate(&doc[..])
        .unwrap();
    assert_eq!(
        report.to_json_lines(),
        "{\"count\":4,\"sum(.v)\":36893488147419103230.1}\n"
    );
    assert_eq!(report.aggregates.ignored()[1].nulls, 1);
}
