//! Fuzz `spate` against serde_json as the oracle:
//! - accept/reject must agree with `serde_json::from_slice::<Value>`, except for the
//!   documented differences: numbers beyond f64's range, escaped lone surrogates (grammatical
//!   JSON that spate accepts) and nesting deeper than serde_json's recursion limit of 128
//!   (spate's limit is 1,024);
//! - when accepted, the items at the path must equal what a full parse selects. Both sides
//!   are compared as trees whose numbers are their text (`common_json::Json`): a float round
//!   trip would turn two different numbers into one, or one into two;
//! - the answer must not depend on the window size.
//!
//! Run: `cargo +nightly fuzz run items_oracle` from `fuzz/`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use spate::{Items, ItemsOptions, Path};

#[path = "common_json.rs"]
mod common_json;
use common_json::Json;

const PATHS: [&str; 6] = ["", "item", "a.item", "$.a[*].b", "$[*][*]", "$.a[0]"];

fn run(doc: &[u8], path: &str, window: Option<usize>) -> Result<Vec<Vec<u8>>, String> {
    let options = ItemsOptions {
        window,
        ..ItemsOptions::default()
    };
    let mut items = Items::with_options(doc, "fuzz", vec![Path::parse(path).unwrap()], options)
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    loop {
        match items.next_item() {
            Ok(Some(item)) => out.push(item.raw().to_vec()),
            Ok(None) => return Ok(out),
            Err(e) => return Err(e.to_string().lines().next().unwrap_or("").to_owned()),
        }
    }
}

fn select<'v>(v: &'v Json, path: &str) -> Vec<&'v Json> {
    match path {
        "" => vec![v],
        "item" => {
            let mut out: Vec<&Json> = v.elements().iter().collect();
            out.extend(v.members("item"));
            out
        }
        "a.item" => v.members("a").flat_map(|a| a.elements()).collect(),
        "$.a[*].b" => v
            .members("a")
            .flat_map(|a| a.children())
            .flat_map(|c| c.members("b"))
            .collect(),
        "$[*][*]" => v.children().into_iter().flat_map(|c| c.children()).collect(),
        "$.a[0]" => v.members("a").filter_map(|a| a.elements().first()).collect(),
        _ => unreachable!(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, doc)) = data.split_first() else {
        return;
    };
    let path = PATHS[selector as usize % PATHS.len()];
    let small = run(doc, path, Some(1 + (selector as usize / PATHS.len()) % 7));
    let large = run(doc, path, None);
    assert_eq!(small, large, "the window size changed the answer");
    let oracle = serde_json::from_slice::<serde_json::Value>(doc);
    match (&large, &oracle) {
        (Ok(items), _) => {
            if let Err(e) = &oracle {
                let msg = e.to_string();
                assert!(
                    msg.contains("number out of range")
                        || msg.contains("surrogate")
                        || msg.contains("recursion limit exceeded"),
                    "spate accepted what serde_json rejects: {msg}"
                );
            }
            let tree = Json::parse(doc).expect("accepted JSON parses");
            let want: Vec<&Json> = select(&tree, path);
            let got: Vec<Json> = items
                .iter()
                .map(|raw| Json::parse(raw).expect("an item is JSON"))
                .collect();
            // Paths that name a member: spate streams every duplicate, as `members` does;
            // the order of items is the order in which they end, which for nested matches
            // ("item" of an object holding arrays) the tree walk also gives.
            assert_eq!(
                got.iter().collect::<Vec<_>>(),
                want,
                "items differ from the full parse's selection"
            );
        }
        (Err(e), Ok(_)) => panic!("spate rejected what serde_json accepts: {e}"),
        (Err(_), Err(_)) => {}
    }
});
