//! `spate convert` into Parquet, Arrow and compressed text through the binary, and the
//! guarantees of every output (issue 11, rows 6 and 7): an output that is the input is
//! refused (also through a symlink), and an error leaves no partial output behind.

use std::path::Path;

use assert_cmd::Command;

fn spate() -> Command {
    Command::cargo_bin("spate").unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn the_input_as_output_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("s.csv");
    let jsonl = dir.path().join("s.jsonl");
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    std::fs::write(&jsonl, "{\"a\":1}\n").unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&csv, &link).unwrap();
    for (input, output) in [(&csv, &csv), (&jsonl, &jsonl), (&csv, &link), (&link, &csv)] {
        let out = spate()
            .arg("convert")
            .arg(input)
            .arg(output)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{input:?} -> {output:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("is the same file as the input"), "{err}");
    }
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "a,b\n1,2\n");
    assert_eq!(std::fs::read_to_string(&jsonl).unwrap(), "{\"a\":1}\n");
    let parquet_in = dir.path().join("p.parquet");
    std::fs::write(&parquet_in, "a\n1\n").unwrap();
    let out = spate()
        .args(["convert", "--from", "csv"])
        .arg(&parquet_in)
        .arg(&parquet_in)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&parquet_in).unwrap(), "a\n1\n");
}

#[test]
fn an_error_leaves_no_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let e = dir.path().join("e.csv");
    std::fs::write(&e, "a,b\n1,2,3,4\n5,6\n").unwrap();
    // A record longer than the header cannot be written without dropping fields.
    let out = spate()
        .args(["convert", "--flexible"])
        .arg(&e)
        .arg(dir.path().join("o.csv"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("line 2") && err.contains("record has 4 fields, expected 2"),
        "{err}"
    );
    assert!(!err.contains("UnequalLengths"), "{err}");
    assert_eq!(entries(dir.path()), ["e.csv"]);

    // A short record is padded with nulls; the output exists only once complete.
    std::fs::write(&e, "a,b,c\n1,2,3\n5\n").unwrap();
    let o = dir.path().join("o.csv");
    let out = spate()
        .args(["convert", "--flexible"])
        .arg(&e)
        .arg(&o)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&o).unwrap(), "a,b,c\n1,2,3\n5,,\n");

    // Invalid JSON half-way: no Parquet file, no temporary file.
    let bad = dir.path().join("bad.jsonl");
    let mut text = "{\"a\": 1}\n".repeat(100_000);
    text.push_str("{\"a\": tru}\n");
    std::fs::write(&bad, text).unwrap();
    for name in ["bad.parquet", "bad.arrow", "bad.csv.gz"] {
        let out = spate()
            .arg("convert")
            .arg(&bad)
            .arg(dir.path().join(name))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("bad.jsonl:100001:"), "{err}");
    }
    assert_eq!(entries(dir.path()), ["bad.jsonl", "e.csv", "o.csv"]);
}

#[test]
fn parquet_arrow_and_compressed_text_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("d.json");
    std::fs::write(
        &doc,
        r#"{"sessions": [{"id": "s1", "ds": [{"n": 1}, {"n": 2}]}, {"id": "s2", "ds": [{"n": 3}]}]}"#,
    )
    .unwrap();
    let pq = dir.path().join("d.parquet");
    let out = spate()
        .arg("convert")
        .arg(&doc)
        .arg(&pq)
        .args([
            "--path",
            "sessions.item.ds.item",
            "--with",
            "sid=sessions.item.id",
        ])
        .args([
            "--stats",
            "--compression",
            "snappy",
            "--row-group-size",
            "1",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("rows 3,") && err.contains("peak memory"),
        "{err}"
    );
    assert!(std::fs::read(&pq).unwrap().starts_with(b"PAR1"));
    let arrow = dir.path().join("d.arrow");
    let out = spate()
        .arg("convert")
        .arg(&doc)
        .arg(&arrow)
        .args(["--path", "sessions.item.ds.item"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(std::fs::read(&arrow).unwrap().starts_with(b"ARROW1"));

    for (name, decode) in [
        ("i.jsonl.gz", 0),
        ("i.jsonl.zst", 1),
        ("i.csv.gz", 0),
        ("i.json.zst", 1),
    ] {
        let path = dir.path().join(name);
        let out = spate()
            .arg("convert")
            .arg(&doc)
            .arg(&path)
            .args(["--path", "sessions.item.ds.item"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}");
        let bytes = std::fs::read(&path).unwrap();
        let text = if decode == 0 {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut s)
                .unwrap();
            s
        } else {
            String::from_utf8(zstd::decode_all(&bytes[..]).unwrap()).unwrap()
        };
        let want = match name {
            "i.csv.gz" => "n\n1\n2\n3\n",
            "i.json.zst" => "[\n{\"n\":1},\n{\"n\":2},\n{\"n\":3}\n]\n",
            _ => "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n",
        };
        assert_eq!(text, want, "{name}");
    }
}

#[test]
fn an_interrupted_conversion_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.jsonl");
    let line = "{\"a\": 12345, \"b\": \"some text to write\", \"c\": [1, 2, 3]}\n";
    std::fs::write(&input, line.repeat(1_000_000)).unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("spate");
    let mut child = std::process::Command::new(bin)
        .arg("convert")
        .arg(&input)
        .arg(out_dir.join("o.parquet"))
        .spawn()
        .unwrap();
    // Wait for the temporary output to appear (the writing pass has begun).
    let start = std::time::Instant::now();
    while entries(&out_dir).is_empty() {
        assert!(
            start.elapsed().as_secs() < 120,
            "no temporary output appeared"
        );
        if child.try_wait().unwrap().is_some() {
            panic!("the conversion ended before it could be interrupted");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(entries(&out_dir)[0].ends_with(".partial"));
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(entries(&out_dir).is_empty(), "{:?}", entries(&out_dir));
}

#[test]
fn a_compression_level_out_of_range_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("s.csv");
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    for (codec, level, words) in [
        ("zstd", "23", "zstd takes 1 to 22"),
        ("snappy", "1", "only zstd and gzip take a level"),
    ] {
        let out = spate()
            .args([
                "convert",
                "--compression",
                codec,
                "--compression-level",
                level,
            ])
            .arg(&csv)
            .arg(dir.path().join("o.parquet"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{codec} {level}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(words), "{err}");
    }
    assert_eq!(entries(dir.path()), ["s.csv"]);
    let out = spate()
        .args(["convert", "--compression-level", "1"])
        .arg(&csv)
        .arg(dir.path().join("o.parquet"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}
