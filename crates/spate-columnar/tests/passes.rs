//! The first pass of a conversion with fields attached (`--with`) or a jq filter runs on
//! spate's executor when the input is a plain file (a JSON document cut into pieces scanned
//! on every core, JSON Lines into ranges), and sequentially otherwise (compressed input,
//! standard input). Both must give the same file; an error found by the executor is
//! reported as the sequential pass reports it. Also: the Parquet codec's level.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;
use spate_columnar::{convert, ConvertOptions, Error, ParquetOptions, ScanOptions};
use spate_csv::ReadOptions;

mod common;
use common::{read_parquet, rows, types, write};

/// A gzip copy of `path` (read by the sequential pass).
fn gzip(path: &Path) -> PathBuf {
    let out = path.with_extension("json.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&out).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(path).unwrap()).unwrap();
    enc.finish().unwrap();
    out
}

/// A sessions document whose delegations change shape as it goes (new members late, a
/// member that is an integer first and a float later, one that turns into an object), so
/// that the schema depends on every piece and on the order they are seen in.
fn sessions(n: usize) -> String {
    let mut sessions = Vec::new();
    for s in 0..n {
        let mut delegations = Vec::new();
        for d in 0..(s % 5) + 1 {
            let mut item = json!({
                "agent": format!("a{}", (s + d) % 4),
                "tokens": if s > n / 2 { json!(d as f64 + 0.5) } else { json!(d) },
                "text": "x".repeat((s * 7 + d) % 90),
            });
            if s > n / 3 {
                item["late"] = json!(s % 2 == 0);
            }
            if s > 2 * n / 3 {
                item["usage"] = json!({"in": s, "out": d});
            }
            delegations.push(item);
        }
        sessions.push(json!({"id": format!("s{s}"), "delegations": delegations}));
    }
    serde_json::to_string_pretty(&json!({"sessions": sessions})).unwrap()
}

fn options(path: &str, piece: u64) -> ConvertOptions {
    ConvertOptions {
        scan: ScanOptions {
            read: ReadOptions {
                json_path: Some(path.into()),
                ..ReadOptions::default()
            },
            with: vec![("session".into(), "sessions.item.id".into())],
            document_piece: piece,
            ..ScanOptions::default()
        },
        ..ConvertOptions::default()
    }
}

#[test]
fn first_pass_on_every_core_gives_the_sequential_file() {
    let dir = tempfile::tempdir().unwrap();
    let doc = sessions(3000);
    let plain = write(dir.path(), "s.json", &doc);
    let packed = gzip(&plain);
    let path = "sessions.item.delegations.item";
    let want = dir.path().join("sequential.parquet");
    convert(&packed, &want, &options(path, 0)).unwrap();
    let want_bytes = std::fs::read(&want).unwrap();
    // Pieces of 4 KiB to 256 KiB: tens of pieces, the members first seen in a late one.
    for piece in [4 << 10, 37 << 10, 256 << 10] {
        let got = dir.path().join(format!("cut-{piece}.parquet"));
        let report = convert(&plain, &got, &options(path, piece)).unwrap();
        assert_eq!(
            std::fs::read(&got).unwrap(),
            want_bytes,
            "pieces of {piece} bytes"
        );
        assert_eq!(report.rows, rows(&read_parquet(&got)).len() as u64);
    }
    let names: Vec<String> = types(&read_parquet(&want))
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(
        names,
        // (serde_json writes members in name order; `session` is attached to the first rows)
        ["agent", "text", "tokens", "session", "late", "usage"],
        "first-seen order"
    );
}

#[test]
fn json_lines_first_pass_gives_the_sequential_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..5000 {
        let mut line = json!({"run": {"id": i % 17, "items": [{"k": i}, {"k": i + 1}]}});
        if i > 4000 {
            line["run"]["extra"] = json!("late");
        }
        text.push_str(&line.to_string());
        text.push('\n');
    }
    let plain = write(dir.path(), "r.jsonl", &text);
    let packed = dir.path().join("r.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&packed).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
    let mut opts = options("run.items.item", 0);
    opts.scan.read.from = Some(spate_csv::InputKind::JsonLines);
    opts.scan.with = vec![
        ("rid".into(), "run.id".into()),
        ("extra".into(), "run.extra".into()),
    ];
    let want = dir.path().join("sequential.parquet");
    let got = dir.path().join("ranges.parquet");
    convert(&packed, &want, &opts).unwrap();
    let report = convert(&plain, &got, &opts).unwrap();
    // (the path applies inside each line: two items a line, not the lines themselves)
    assert_eq!(report.rows, 10_000);
    let names: Vec<String> = types(&read_parquet(&got))
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(names, ["k", "rid", "extra"]);
    assert_eq!(std::fs::read(&got).unwrap(), std::fs::read(&want).unwrap());
}

#[test]
fn an_error_in_a_late_piece_is_reported_as_the_sequential_pass_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = sessions(2000);
    // Damage a value far into the document: `"tokens": 1.5` → `"tokens": 1.5x`.
    let at = doc.rfind("\"tokens\": ").unwrap() + "\"tokens\": ".len();
    let end = at + doc[at..].find(',').unwrap();
    doc.insert(end, 'x');
    let plain = write(dir.path(), "bad.json", &doc);
    let packed = gzip(&plain);
    let path = "sessions.item.delegations.item";
    let cut = convert(
        &plain,
        &dir.path().join("a.parquet"),
        &options(path, 4 << 10),
    );
    let one = convert(&packed, &dir.path().join("b.parquet"), &options(path, 0));
    let (Err(cut), Err(one)) = (cut, one) else {
        panic!("both conversions must fail");
    };
    assert!(cut.is_invalid_data() && one.is_invalid_data());
    let line = doc[..end].matches('\n').count() + 1;
    let cut = cut.to_string();
    assert!(cut.contains(&format!("bad.json:{line}:")), "{cut}");
    assert_eq!(
        cut.replacen("bad.json", "", 1),
        one.to_string().replacen("bad.json.gz", "", 1)
    );
    assert!(!dir.path().join("a.parquet").exists());
}

#[test]
fn a_codec_level_changes_the_bytes_not_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let plain = write(dir.path(), "s.json", &sessions(800));
    let path = "sessions.item.delegations.item";
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    for level in [Some(1), None, Some(19)] {
        let mut opts = options(path, 0);
        opts.parquet = ParquetOptions {
            compression_level: level,
            ..ParquetOptions::default()
        };
        let out = dir.path().join(format!("l{level:?}.parquet"));
        convert(&plain, &out, &opts).unwrap();
        sizes.push(std::fs::metadata(&out).unwrap().len());
        seen.push(rows(&read_parquet(&out)));
    }
    assert!(sizes[0] > sizes[2], "{sizes:?}");
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
    for (codec, level, words) in [
        ("zstd", 0, "zstd takes 1 to 22"),
        ("zstd", 23, "zstd takes 1 to 22"),
        ("gzip", 11, "gzip takes 0 to 10"),
        ("snappy", 1, "only zstd and gzip take a level"),
    ] {
        let mut opts = options(path, 0);
        opts.parquet = ParquetOptions {
            compression: codec.parse().unwrap(),
            compression_level: Some(level),
            ..ParquetOptions::default()
        };
        let out = dir.path().join("bad-level.parquet");
        let err = convert(&plain, &out, &opts).unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err:?}");
        assert!(err.to_string().contains(words), "{err}");
        assert!(!out.exists());
    }
}
