//! Fuzz the cut of one JSON document into pieces (see `docs/parallel.md`): selecting items
//! from pieces scanned at once, each starting at a guessed element start in an assumed
//! state, must answer exactly as one sequential scan — items, counts, errors with their
//! positions and excerpts — whatever the document, the piece size and the thread count.
//!
//! Input: a byte of settings (piece size, threads, error mode), then the document. Run:
//! `cargo +nightly fuzz run split_document` from `fuzz/` (seeds in `seeds/split_document`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use spate::inputs::{parse_path, Inputs};
use spate::output::ResultSink;
use spate::parallel::{Observer, OnError, RunError, RunOptions};
use spate::query::{select_paths, PathsOutput};

#[derive(Default)]
struct Collect(Vec<Vec<u8>>);

impl ResultSink for Collect {
    fn result(&mut self, result: &[u8]) -> std::io::Result<()> {
        self.0.push(result.to_vec());
        Ok(())
    }
}

#[derive(Default)]
struct Errors(Vec<String>);

impl Observer for Errors {
    fn error(&mut self, error: RunError) {
        self.0.push(describe(&error));
    }
}

fn describe(e: &RunError) -> String {
    match e {
        RunError::Input(inner) => match inner.location() {
            Some(l) => format!("{e} | {} | {:?}", l.excerpt, l.position),
            None => e.to_string(),
        },
        _ => e.to_string(),
    }
}

fn answer(file: &std::path::Path, options: &RunOptions) -> String {
    let inputs = Inputs::from_files(&[file], None);
    let paths: Vec<_> = ["sessions.item", "sessions.item.d.item", "$.sessions[*].id"]
        .iter()
        .map(|p| parse_path(p).unwrap())
        .collect();
    let mut sink = Collect::default();
    let mut errors = Errors::default();
    let out = select_paths(
        &paths,
        &inputs,
        options,
        PathsOutput::Labelled,
        &mut sink,
        &mut errors,
    );
    let outcome = match out {
        Ok(o) => format!("ok {} {:?}", o.summary.items, o.summary.path_matched),
        Err(e) => format!("err {}", describe(&e)),
    };
    format!("{outcome}\n{:?}\n{:?}", sink.0, errors.0)
}

fuzz_target!(|input: &[u8]| {
    let Some((&settings, doc)) = input.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.json");
    std::fs::write(&file, doc).unwrap();
    let on_error = if settings & 0x80 != 0 {
        OnError::Skip
    } else {
        OnError::Fail
    };
    let sequential = RunOptions {
        threads: 1,
        on_error,
        ..RunOptions::default()
    };
    let cut = RunOptions {
        threads: 2 + (settings >> 6 & 1) as usize,
        document_piece: 1 + (settings & 0x3f) as u64 * 4,
        on_error,
        ..RunOptions::default()
    };
    assert_eq!(answer(&file, &cut), answer(&file, &sequential));
});
