//! Throughput of schema inference on a generated CSV shaped like `gen_data.py csv` (integers,
//! a float, a date, a datetime, a boolean, names, zero-padded codes, nullable integers, quoted
//! text with commas, newlines and doubled quotes).
//!
//! `cargo bench -p spate-csv`

use std::io::Write;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spate_csv::{infer_csv_path, infer_csv_reader, CsvOptions};

/// A small deterministic generator (64-bit LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn generate(rows: usize) -> Vec<u8> {
    let mut r = Lcg(42);
    let mut out = Vec::with_capacity(rows * 92);
    out.extend_from_slice(b"id,amount,ratio,day,ts,flag,name,zip,maybe_int,note\n");
    let names = [
        "Ada Lovelace",
        "Grace Hopper",
        "Ken Thompson",
        "Barbara Liskov",
    ];
    for i in 0..rows {
        let (y, m, d) = (2020 + r.next(5), 1 + r.next(12), 1 + r.next(28));
        let maybe = if r.next(10) == 0 {
            String::new()
        } else {
            format!("{}", r.next(2_000_000) as i64 - 1_000_000)
        };
        let note = match r.next(100) {
            0..=4 => "\"has, comma\"",
            5..=6 => "\"line\nbreak\"",
            7..=8 => "\"say \"\"hi\"\"\"",
            _ => "",
        };
        writeln!(
            out,
            "{i},{},{}.{:06},{y}-{m:02}-{d:02},{y}-{m:02}-{d:02} {:02}:{:02}:{:02},{},{},{:05},{maybe},{note}",
            r.next(100_001) as i64 - 50_000,
            if r.next(2) == 0 { "-0" } else { "0" },
            r.next(1_000_000),
            r.next(24),
            r.next(60),
            r.next(60),
            if r.next(2) == 0 { "true" } else { "false" },
            names[r.next(4) as usize],
            r.next(100_000),
        )
        .unwrap();
    }
    out
}

fn bench(c: &mut Criterion) {
    let data = generate(100_000);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&data).unwrap();
    let path = file.path().to_path_buf();

    let mut g = c.benchmark_group("schema");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    g.bench_function("fast splitter, 1 thread", |b| {
        let opts = CsvOptions {
            threads: 1,
            ..CsvOptions::default()
        };
        b.iter(|| infer_csv_path(&path, &opts).unwrap())
    });
    g.bench_function("fast splitter, all cores", |b| {
        let opts = CsvOptions {
            parallel_min: 0,
            ..CsvOptions::default()
        };
        b.iter(|| infer_csv_path(&path, &opts).unwrap())
    });
    g.bench_function("general splitter (reader)", |b| {
        let opts = CsvOptions::default();
        b.iter(|| infer_csv_reader(&data[..], None, &opts).unwrap())
    });
    g.finish();

    let values: Vec<&[u8]> = vec![
        b"123456",
        b"-42",
        b"0.123456",
        b"2024-02-29",
        b"2024-02-29 10:11:12",
        b"true",
        b"Ada Lovelace",
        b"01234",
    ];
    let bytes: usize = values.iter().map(|v| v.len()).sum();
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("mixed values", |b| {
        b.iter(|| {
            values
                .iter()
                .map(|v| spate_csv::classify(std::hint::black_box(v)).ty() as u8 as u32)
                .sum::<u32>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
