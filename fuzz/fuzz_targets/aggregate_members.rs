//! Fuzz aggregates over members of the item (`--group-by .a --sum .b`, read off the scan's
//! record of the item's children, or by walking the item): for any JSON array of items, the
//! report must equal the report over the same items rewritten plainly as
//! `{"_":0,"a":A,"b":B}`, where A and B are the members as serde_json reads them (the last of
//! repeated names, escapes decoded; absent when the item is not an object or lacks them).
//! Inputs that serde_json does not read as an array (not JSON, nested past its limit) are
//! skipped: the scanner's own handling of those is other targets' work.
//!
//! Run: `cargo +nightly fuzz run aggregate_members` from the repository root.

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use spate::query::Query;

/// The report over the items of `array`, placed in `{"items": ARRAY, "w": 1}`; with `with`,
/// each item waits for `w`, which comes after them: held items have no record of their
/// children and are walked instead.
fn report(array: &[u8], with: bool) -> String {
    let mut doc = b"{\"items\": ".to_vec();
    doc.extend_from_slice(array);
    doc.extend_from_slice(b", \"w\": 1}");
    let mut q = Query::new("items.item").unwrap();
    if with {
        q = q.with("w", "w").unwrap();
    }
    let q = q.group_by(".a").unwrap().count().sum(".b").unwrap().min(".a").unwrap();
    match q.aggregate(&doc[..]) {
        Ok(report) => report.to_json_lines(),
        Err(e) => format!("error: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(items) = serde_json::from_slice::<Vec<&RawValue>>(data) else {
        return;
    };
    let mut plain = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            plain.push(',');
        }
        plain.push_str("{\"_\":0");
        if let Ok(members) = serde_json::from_str::<HashMap<String, &RawValue>>(item.get()) {
            for name in ["a", "b"] {
                if let Some(v) = members.get(name) {
                    plain.push_str(&format!(",\"{name}\":{}", v.get()));
                }
            }
        }
        plain.push('}');
    }
    plain.push(']');
    for with in [false, true] {
        assert_eq!(
            report(data, with),
            report(plain.as_bytes(), with),
            "plain: {plain}"
        );
    }
});
