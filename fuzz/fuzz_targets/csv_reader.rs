//! Fuzz the CSV reader against the `csv` crate, and inference against itself:
//! - the records and fields of spate-csv's splitter (`split::parse_records`, unescaped) must
//!   be the csv crate's (flexible, no header), except where spate-csv documents a difference:
//!   a quoted field open at the end of input is an error for it, and after a stray quote it
//!   hands out the raw field text (it flags that);
//! - the same records must come out when the input arrives in small pieces;
//! - inference through the general (streaming) reader and through the fast file path,
//!   split over byte ranges on two threads, must give the same schema or the same error.
//!
//! Input: a byte of settings, then the CSV. Run: `cargo +nightly fuzz run csv_reader`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use spate_csv::split::{parse_records, unescape, FieldRange, RecordSink};
use spate_csv::{infer_csv_path, infer_csv_reader, CsvOptions};

#[derive(Default)]
struct Collect(Vec<Vec<Vec<u8>>>);

impl RecordSink for Collect {
    fn record(&mut self, buf: &[u8], fields: &[FieldRange]) -> bool {
        self.0.push(
            fields
                .iter()
                .map(|f| unescape(&buf[f.start..f.end], f.quoted).into_owned())
                .collect(),
        );
        true
    }
}

/// The records handed out when the input comes `piece` bytes at a time.
fn in_pieces(data: &[u8], delim: u8, piece: usize) -> Option<Vec<Vec<Vec<u8>>>> {
    let mut sink = Collect::default();
    let mut fields = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    loop {
        let eof = fed >= data.len();
        let parsed = parse_records(&buf, eof, delim, &mut fields, &mut sink).ok()?;
        buf.drain(..parsed.consumed);
        if eof {
            return Some(sink.0);
        }
        let next = (fed + piece).min(data.len());
        buf.extend_from_slice(&data[fed..next]);
        fed = next;
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&settings, data)) = input.split_first() else {
        return;
    };
    let delim = [b',', b';', b'\t', b'|'][(settings & 3) as usize];
    let mut sink = Collect::default();
    let mut fields = Vec::new();
    let whole = parse_records(data, true, delim, &mut fields, &mut sink);
    if let Ok(parsed) = whole {
        let ours = sink.0;
        assert_eq!(
            in_pieces(data, delim, 1 + (settings >> 2) as usize % 9).as_ref(),
            Some(&ours),
            "pieces changed the records"
        );
        // The splitter is handed text after the byte order mark (its callers strip it);
        // the csv crate strips it itself.
        if !parsed.stray_quote && !data.starts_with(b"\xEF\xBB\xBF") {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(delim)
                .from_reader(data);
            let theirs: Vec<Vec<Vec<u8>>> = reader
                .byte_records()
                .map(|r| r.expect("csv reads from memory").iter().map(<[u8]>::to_vec).collect())
                .collect();
            assert_eq!(ours, theirs, "records differ from the csv crate's");
        }
    }
    // Inference: the streaming reader and the fast parallel file path agree.
    let opts = CsvOptions {
        flexible: settings & 0x80 != 0,
        threads: 2,
        parallel_min: 0,
        ..CsvOptions::default()
    };
    let streamed = infer_csv_reader(data, None, &opts).map_err(|e| e.kind.to_string());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.csv");
    std::fs::write(&path, data).unwrap();
    let fast = infer_csv_path(&path, &opts).map_err(|e| e.kind.to_string());
    match (&streamed, &fast) {
        (Ok(a), Ok(b)) => assert_eq!(a.fields, b.fields, "schemas differ"),
        (Err(a), Err(b)) => assert_eq!(a, b, "errors differ"),
        _ => panic!("one path failed: streamed {streamed:?}, fast {fast:?}"),
    }
});
