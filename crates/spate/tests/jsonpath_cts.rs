//! The RFC 9535 JSONPath Compliance Test Suite (testdata/jsonpath-cts/cts.json), every case:
//! - a selector the suite calls invalid must be refused by `Path::parse`;
//! - a valid selector must parse, and streaming its document through `spate::Items` (windows
//!   of 1, 2, 7 and 4096 bytes and the default) must give the expected nodes in order (or in
//!   one of the orders the suite allows, `results`).
//!
//! A valid selector that spate refuses counts as unsupported; the test fails when that count
//! rises above `MAX_UNSUPPORTED`, so progress stays locked in.

use std::path::PathBuf;

use serde_json::Value;
use spate::{Items, ItemsOptions, Path};

/// Valid selectors of the suite that spate refuses. Lower it when support grows; never
/// raise it.
const MAX_UNSUPPORTED: usize = 0;

const WINDOWS: [Option<usize>; 5] = [Some(1), Some(2), Some(7), Some(4096), None];

fn cts_bytes() -> Vec<u8> {
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/jsonpath-cts/cts.json");
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// Every item at `path` of `doc`, raw, with a fixed window.
fn select(doc: &[u8], path: &Path, window: Option<usize>) -> Result<Vec<Vec<u8>>, spate::Error> {
    let options = ItemsOptions {
        window,
        ..Default::default()
    };
    let mut items = Items::with_options(doc, "<cts>", vec![path.clone()], options)?;
    let mut out = Vec::new();
    while let Some(item) = items.next_item()? {
        out.push(item.raw().to_vec());
    }
    Ok(out)
}

struct Case {
    name: String,
    selector: String,
    invalid: bool,
    /// The document's text exactly as in the suite (member order kept).
    document: Option<Vec<u8>>,
    /// Allowed results: one list, or several when the order is not determined.
    expected: Vec<Vec<Value>>,
}

fn cases() -> Vec<Case> {
    let bytes = cts_bytes();
    let tests = Path::parse("$.tests[*]").unwrap();
    let document = Path::parse("$.document").unwrap();
    let mut out = Vec::new();
    for raw in select(&bytes, &tests, None).unwrap() {
        let v: Value = serde_json::from_slice(&raw).unwrap();
        let expected = match (&v.get("result"), v.get("results")) {
            (Some(r), _) => vec![r.as_array().unwrap().clone()],
            (None, Some(rs)) => rs
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_array().unwrap().clone())
                .collect(),
            _ => Vec::new(),
        };
        out.push(Case {
            name: v["name"].as_str().unwrap().to_owned(),
            selector: v["selector"].as_str().unwrap().to_owned(),
            invalid: v.get("invalid_selector") == Some(&Value::Bool(true)),
            document: select(&raw, &document, None).unwrap().pop(),
            expected,
        });
    }
    out
}

#[test]
// `MAX_UNSUPPORTED` is 0 today: every case is supported; the bound stays for the future.
#[allow(clippy::absurd_extreme_comparisons)]
fn compliance_test_suite() {
    let cases = cases();
    assert!(cases.len() >= 700, "the suite has {} cases", cases.len());
    let mut passed = 0;
    let mut failures = Vec::new();
    let mut unsupported = Vec::new();
    for case in &cases {
        let parsed = Path::parse(&case.selector);
        if case.invalid {
            match parsed {
                Err(e) if e.at >= 1 && !e.message.is_empty() => passed += 1,
                Err(e) => failures.push(format!("{}: refused without a position: {e}", case.name)),
                Ok(_) => failures.push(format!(
                    "{}: invalid selector {:?} accepted",
                    case.name, case.selector
                )),
            }
            continue;
        }
        let path = match parsed {
            Ok(p) => p,
            Err(e) => {
                unsupported.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        let doc = case.document.as_ref().expect("a valid case has a document");
        let mut ok = true;
        for window in WINDOWS {
            match select(doc, &path, window) {
                Ok(items) => {
                    let got: Vec<Value> = items
                        .iter()
                        .map(|raw| serde_json::from_slice(raw).unwrap())
                        .collect();
                    if !case.expected.contains(&got) {
                        failures.push(format!(
                            "{}: {:?} window {window:?}: got {}, expected {}",
                            case.name,
                            case.selector,
                            Value::Array(got),
                            serde_json::to_string(&case.expected).unwrap()
                        ));
                        ok = false;
                        break;
                    }
                }
                Err(e) => {
                    failures.push(format!("{}: {:?}: error {e}", case.name, case.selector));
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            passed += 1;
        }
    }
    eprintln!(
        "JSONPath CTS: {} cases, {passed} pass, {} fail, {} unsupported",
        cases.len(),
        failures.len(),
        unsupported.len()
    );
    for u in &unsupported {
        eprintln!("unsupported: {u}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        unsupported.len() <= MAX_UNSUPPORTED,
        "{} unsupported valid selectors (at most {MAX_UNSUPPORTED} allowed)",
        unsupported.len()
    );
}
