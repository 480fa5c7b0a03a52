//! Fuzz `spate` against serde_json as the oracle:
//! - accept/reject must agree with `serde_json::from_slice::<Value>` (except for the two
//!   documented differences: numbers beyond f64's range and escaped lone surrogates, which
//!   are grammatical JSON that spate accepts);
//! - when accepted, the items at the path must equal what the full parse selects;
//! - the answer must not depend on the window size.
//!
//! Run: `cargo +nightly fuzz run items_oracle` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use spate::{Items, ItemsOptions, Path};

const PATHS: [&str; 6] = ["", "item", "a.item", "$.a[*].b", "$[*][*]", "$.a[0]"];

fn run(doc: &[u8], path: &str, window: Option<usize>) -> Result<Vec<Value>, String> {
    let options = ItemsOptions { window, ..ItemsOptions::default() };
    let mut items = Items::with_options(doc, "fuzz", vec![Path::parse(path).unwrap()], options)
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    loop {
        match items.next_item() {
            Ok(Some(item)) => out.push(serde_json::from_slice(item.raw()).expect("items are valid JSON")),
            Ok(None) => return Ok(out),
            Err(e) => return Err(e.to_string().lines().next().unwrap_or("").to_owned()),
        }
    }
}

fn select<'v>(v: &'v Value, path: &str) -> Vec<&'v Value> {
    let a = |v: &'v Value| v.get("a");
    let elems = |v: &'v Value| -> Vec<&'v Value> {
        match v {
            Value::Array(xs) => xs.iter().collect(),
            _ => Vec::new(),
        }
    };
    let children = |v: &'v Value| -> Vec<&'v Value> {
        match v {
            Value::Array(xs) => xs.iter().collect(),
            Value::Object(m) => m.values().collect(),
            _ => Vec::new(),
        }
    };
    match path {
        "" => vec![v],
        "item" => {
            let mut out = elems(v);
            if let Value::Object(m) = v {
                out.extend(m.get("item"));
            }
            out
        }
        "a.item" => a(v).map(elems).unwrap_or_default(),
        "$.a[*].b" => a(v).map(children).unwrap_or_default().into_iter().filter_map(|c| c.get("b")).collect(),
        "$[*][*]" => children(v).into_iter().flat_map(children).collect(),
        "$.a[0]" => a(v).and_then(|a| match a {
            Value::Array(xs) => xs.first(),
            _ => None,
        }).into_iter().collect(),
        _ => unreachable!(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, doc)) = data.split_first() else { return };
    let path = PATHS[selector as usize % PATHS.len()];
    let small = run(doc, path, Some(1 + (selector as usize / PATHS.len()) % 7));
    let large = run(doc, path, None);
    assert_eq!(small, large, "the window size changed the answer");
    let oracle = serde_json::from_slice::<Value>(doc);
    match (&large, &oracle) {
        (Ok(items), Ok(v)) => {
            // Duplicate member names: serde_json keeps the last, spate streams them all.
            let want: Vec<Value> = select(v, path).into_iter().cloned().collect();
            if !has_duplicate_keys(doc) {
                let reparsed: Vec<Value> = want
                    .iter()
                    .map(|w| serde_json::from_str(&w.to_string()).unwrap())
                    .collect();
                assert_eq!(items, &reparsed, "items differ from the full parse's selection");
            }
        }
        (Ok(_), Err(e)) => {
            let msg = e.to_string();
            assert!(
                msg.contains("number out of range") || msg.contains("surrogate"),
                "spate accepted what serde_json rejects: {msg}"
            );
        }
        (Err(e), Ok(_)) => panic!("spate rejected what serde_json accepts: {e}"),
        (Err(_), Err(_)) => {}
    }
});

fn has_duplicate_keys(doc: &[u8]) -> bool {
    // Conservative: any repeated member name text anywhere skips the count comparison.
    let text = String::from_utf8_lossy(doc);
    let mut seen = std::collections::HashSet::new();
    text.split('"').skip(1).step_by(2).any(|k| !seen.insert(k.to_owned()))
}
