//! Driving the sans-I/O selector with JSONPaths that hold a value: the caller hands the held
//! value's bytes to `Selector::expand` when `Selector::held` asks, feeding the input in
//! slices of every size from one byte up.

use spate_json::{Path, ScanOptions, Scanned, Scanner, Selector};

/// Takes every ready item, expanding held values as they come.
fn drain(doc: &[u8], selector: &mut Selector, out: &mut Vec<(usize, String)>) {
    loop {
        if let Some(span) = selector.take() {
            let text = &doc[span.start as usize..span.end as usize];
            out.push((span.path, String::from_utf8(text.to_vec()).unwrap()));
        } else if let Some(held) = selector.held() {
            selector.expand(&doc[held.start as usize..held.end as usize]);
        } else {
            return;
        }
    }
}

/// The selected texts of `doc` at `paths`, as `(path index, text)`, feeding `chunk` bytes
/// at a time (the whole input stays in memory, as a caller's window would keep it).
fn select(doc: &[u8], paths: &[&str], chunk: usize) -> Vec<(usize, String)> {
    let paths = paths.iter().map(|p| Path::parse(p).unwrap()).collect();
    let mut scanner = Scanner::new(ScanOptions::default());
    let mut selector = Selector::new(paths);
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < doc.len() {
        let end = (pos + chunk).min(doc.len());
        let mut rest = &doc[pos..end];
        loop {
            let step = scanner.scan(rest, &mut selector).unwrap();
            drain(doc, &mut selector, &mut out);
            match step {
                Scanned::Paused(used) => rest = &rest[used..],
                Scanned::NeedInput => break,
            }
        }
        pos = end;
    }
    scanner.finish(&mut selector).unwrap();
    drain(doc, &mut selector, &mut out);
    out
}

#[test]
fn held_values_expand_in_rfc_order_at_every_chunk_size() {
    let doc = br#"{"s": [{"n": 1, "d": ["x", "y"]}, {"n": 25, "d": ["z"]}, {"n": 30}], "t": "k"}"#;
    let paths = [
        "$.s[?@.n > 20].n",
        "$.s[-1]",
        "$.s[*].d[1,0]",
        "$..n",
        "$.s[?@.n == $.s[0].n]",
        "s.item.n",
    ];
    let got = select(doc, &paths, doc.len());
    for chunk in [1, 2, 7] {
        assert_eq!(select(doc, &paths, chunk), got, "chunk {chunk}");
    }
    let of = |p: usize| -> Vec<&str> {
        got.iter()
            .filter(|(i, _)| *i == p)
            .map(|(_, t)| t.as_str())
            .collect()
    };
    assert_eq!(of(0), ["25", "30"]);
    assert_eq!(of(1), [r#"{"n": 30}"#]);
    assert_eq!(of(2), [r#""y""#, r#""x""#, r#""z""#]);
    assert_eq!(of(3), ["1", "25", "30"]);
    assert_eq!(of(4), [r#"{"n": 1, "d": ["x", "y"]}"#]);
    assert_eq!(of(5), ["1", "25", "30"]);
}
