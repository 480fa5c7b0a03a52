//! Throughput of validation and item streaming, next to serde_json on the same bytes.
//!
//! Every benchmark checks its answer before timing (a wrong count is a failure, not a fast
//! run). Data: the standard json-benchmark files from `../shared/data` (skipped when absent)
//! and the sessions sample shipped in `testdata/sample`.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde::de::IgnoredAny;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn inputs() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let bench_dir = repo().join("../shared/data/json-benchmark");
    for name in ["canada.json", "citm_catalog.json", "twitter.json"] {
        if let Ok(bytes) = std::fs::read(bench_dir.join(name)) {
            out.push((name.to_owned(), bytes));
        }
    }
    let sample = repo().join("testdata/sample/sessions.json");
    out.push((
        "sessions.json".to_owned(),
        std::fs::read(sample).expect("sample data"),
    ));
    out
}

fn validate(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate");
    for (name, bytes) in inputs() {
        assert!(spate::validate(&bytes[..]).is_ok(), "{name} must be valid");
        assert!(serde_json::from_slice::<IgnoredAny>(&bytes).is_ok());
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("spate", &name), &bytes, |b, bytes| {
            b.iter(|| spate::validate(&bytes[..]).unwrap())
        });
        group.bench_with_input(
            BenchmarkId::new("serde_json_ignored_any", &name),
            &bytes,
            |b, bytes| b.iter(|| serde_json::from_slice::<IgnoredAny>(bytes).unwrap()),
        );
    }
    group.finish();
}

fn items(c: &mut Criterion) {
    let bytes = std::fs::read(repo().join("testdata/sample/sessions.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let want = doc["sessions"].as_array().unwrap().len() as u64;
    let count = |path: &str| {
        spate::Items::new(&bytes[..], path)
            .unwrap()
            .count_items()
            .unwrap()
    };
    assert_eq!(count("sessions.item"), want);
    let mut group = c.benchmark_group("items");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("spate_count_sessions", |b| {
        b.iter(|| assert_eq!(count("sessions.item"), want))
    });
    group.bench_function("spate_compact_sessions", |b| {
        let mut out = Vec::with_capacity(bytes.len());
        b.iter(|| {
            out.clear();
            let mut items = spate::Items::new(&bytes[..], "sessions.item").unwrap();
            while let Some(item) = items.next_item().unwrap() {
                item.compact_into(&mut out);
                out.push(b'\n');
            }
            out.len()
        })
    });
    group.bench_function("serde_json_value_then_select", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(v["sessions"].as_array().unwrap().len() as u64, want);
        })
    });
    group.finish();
}

criterion_group!(benches, validate, items);
criterion_main!(benches);
