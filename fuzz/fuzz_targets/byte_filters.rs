//! Fuzz the byte route of jq filters (`spate::query`'s bytefilter): for any program and any
//! document, running the query on the items' bytes must print exactly what the jaq route
//! prints (outputs, aggregates, skipped counts and errors alike), with and without a `--with`
//! field, in every output mode.
//!
//! The input is a mode byte, the program, a NUL byte, then the document. The mode byte picks
//! the output mode (its low bits), skip-on-error and a `--with` field. Programs that do not
//! compile are skipped; documents that are not JSON are kept (both routes must fail alike).
//!
//! Run: `cargo +nightly fuzz run byte_filters` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use spate::query::{OnError, Query, Report};

/// Everything a run prints: the output, the report of aggregates, the skipped count, or the
/// error.
fn run(q: &Query, doc: &[u8]) -> String {
    let mut out = Vec::new();
    let result = q.run(doc, &mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    match result {
        Ok(runner) => {
            let skipped = runner.skipped();
            let report = runner
                .into_aggregates()
                .map(|a| Report::new(q, a).to_json_lines())
                .unwrap_or_default();
            format!("{text}{report}skipped {skipped}")
        }
        Err(e) => format!("{text}error: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Some(nul) = rest.iter().position(|&b| b == 0) else { return };
    let (Ok(code), doc) = (std::str::from_utf8(&rest[..nul]), &rest[nul + 1..]) else { return };
    // items of a top-level array, or of `s.item.d.item` with the enclosing `w` attached
    let with = mode & 0x10 != 0;
    let q = if with {
        Query::new("s.item.d.item").unwrap().with("w", "s.item.w").unwrap()
    } else {
        Query::new("item").unwrap()
    };
    let Ok(mut q) = q.jq(code) else { return };
    q = match mode & 0x7 {
        1 => q.raw_output(true),
        2 => q.count_only(true),
        3 => q.sum(".a").unwrap().count(),
        4 => q.group_by(".b").unwrap().max("(.c | length)").unwrap(),
        5 => q.group_by("type").unwrap().min(".").unwrap(),
        _ => q,
    };
    if mode & 0x8 != 0 {
        q = q.on_error(OnError::Skip);
    }
    let jaq = run(&q.clone().byte_filters(false), doc);
    let bytes = run(&q, doc);
    assert_eq!(bytes, jaq, "program {code:?}");
});
