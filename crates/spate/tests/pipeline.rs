//! Queries driven through the library as a daemon or a Python module would: inputs from
//! readers and bytes, results pushed into a sink or pulled as an iterator, cancelled
//! midway by dropping the iterator or through the token.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use spate::inputs::{InputFile, Inputs};
use spate::output::ResultSink;
use spate::parallel::{Observer, RunError, RunOptions};
use spate::query::{execute, results, Query};

/// JSON Lines `{"n": i, "tag": "a"|"b"}` for i in 0..n.
fn lines(n: u64) -> Vec<u8> {
    let mut text = Vec::new();
    for i in 0..n {
        let tag = if i % 3 == 0 { "a" } else { "b" };
        text.extend_from_slice(format!("{{\"n\": {i}, \"tag\": \"{tag}\"}}\n").as_bytes());
    }
    text
}

/// An endless reader of JSON Lines that counts the bytes it was asked for: a run that is
/// not stopped would never end.
struct Endless {
    next: u64,
    pending: Vec<u8>,
    read: Arc<AtomicU64>,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pending.len() < buf.len() {
            self.pending
                .extend_from_slice(format!("{{\"n\": {}}}\n", self.next).as_bytes());
            self.next += 1;
        }
        let n = buf.len();
        buf.copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn endless(read: &Arc<AtomicU64>) -> Inputs {
    let reader = Endless {
        next: 0,
        pending: Vec::new(),
        read: read.clone(),
    };
    Inputs::new(vec![InputFile::from_reader(
        "endless",
        Box::new(reader),
        Some(spate::Format::Jsonl),
    )])
}

#[test]
fn pulled_results_from_an_in_memory_reader_in_order() {
    let text = lines(10_000);
    let inputs = Inputs::new(vec![InputFile::from_reader(
        "mem",
        Box::new(io::Cursor::new(text)),
        None,
    )]);
    let query = Query::new("")
        .unwrap()
        .jq("select(.tag == \"a\") | .n")
        .unwrap();
    let pulled = results(query, inputs, RunOptions::default());
    let got: Vec<u64> = pulled
        .map(|r| std::str::from_utf8(&r.unwrap()).unwrap().parse().unwrap())
        .collect();
    let want: Vec<u64> = (0..10_000).filter(|i| i % 3 == 0).collect();
    assert_eq!(got, want);
}

#[test]
fn dropping_the_iterator_midway_stops_an_endless_run() {
    let read = Arc::new(AtomicU64::new(0));
    let query = Query::new("n").unwrap();
    let options = RunOptions {
        threads: 2,
        ..RunOptions::default()
    };
    let mut pulled = results(query, endless(&read), options);
    let first: Vec<Vec<u8>> = pulled.by_ref().take(3).map(Result::unwrap).collect();
    assert_eq!(first, [b"0".to_vec(), b"1".to_vec(), b"2".to_vec()]);
    let started = Instant::now();
    drop(pulled); // cancels, and waits for the run's threads
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "drop took {:?}",
        started.elapsed()
    );
    // Nothing reads any more.
    let after = read.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(read.load(Ordering::Relaxed), after);
}

#[test]
fn the_cancel_token_ends_the_iterator_with_cancelled() {
    let read = Arc::new(AtomicU64::new(0));
    let mut pulled = results(
        Query::new("n").unwrap(),
        endless(&read),
        RunOptions::default(),
    );
    assert_eq!(pulled.next().unwrap().unwrap(), b"0");
    let cancel = pulled.cancel();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut last = None;
        for r in pulled.by_ref() {
            last = Some(r);
        }
        done_tx.send(()).unwrap();
        last
    });
    std::thread::sleep(Duration::from_millis(20));
    cancel.cancel();
    assert!(
        done_rx.recv_timeout(Duration::from_secs(5)).is_ok(),
        "the iterator did not end after cancel"
    );
    let last = reader.join().unwrap();
    assert!(matches!(last, Some(Err(RunError::Cancelled))), "{last:?}");
}

/// Collects pushed results.
#[derive(Default)]
struct Collect(Vec<String>);

impl ResultSink for Collect {
    fn result(&mut self, result: &[u8]) -> io::Result<()> {
        self.0.push(String::from_utf8(result.to_vec()).unwrap());
        Ok(())
    }
}

/// Keeps the errors reported.
#[derive(Default)]
struct Errors(Vec<String>);

impl Observer for Errors {
    fn error(&mut self, error: RunError) {
        self.0.push(error.to_string());
    }
}

#[test]
fn pushed_into_a_sink_results_and_aggregates_agree_across_threads() {
    let bytes = lines(5_000);
    for threads in [1, 3] {
        // Bytes in memory, and the same bytes as a reader.
        let inputs = Inputs::new(vec![
            InputFile::from_bytes("a.jsonl", bytes.clone(), None),
            InputFile::from_reader("b", Box::new(io::Cursor::new(bytes.clone())), None),
        ]);
        let options = RunOptions {
            threads,
            ..RunOptions::default()
        };
        let query = Query::new("")
            .unwrap()
            .group_by(".tag")
            .unwrap()
            .count()
            .sum(".n")
            .unwrap();
        let mut sink = Collect::default();
        let mut errors = Errors::default();
        let outcome = execute(&query, &inputs, &options, &mut sink, &mut errors).unwrap();
        assert!(errors.0.is_empty(), "{:?}", errors.0);
        let sum_a: u64 = (0..5_000).filter(|i| i % 3 == 0).sum::<u64>() * 2;
        let sum_b: u64 = (0..5_000).filter(|i| i % 3 != 0).sum::<u64>() * 2;
        assert_eq!(
            sink.0,
            [
                format!("{{\".tag\":\"a\",\"count\":3334,\"sum(.n)\":{sum_a}}}"),
                format!("{{\".tag\":\"b\",\"count\":6666,\"sum(.n)\":{sum_b}}}"),
            ]
        );
        assert_eq!(outcome.summary.files, 2);
        assert_eq!(outcome.summary.lines, 10_000);
        // Every front end shows the same JSON: the outcome serializes with its report.
        let json = serde_json::to_value(&outcome).unwrap();
        assert_eq!(json["report"][0]["count"], 3334);
        assert_eq!(json["summary"]["files"], 2);
    }
}

#[test]
fn bad_lines_are_reported_and_skipped_or_fatal() {
    let text = b"{\"n\": 1}\n{\"n\": tru}\n{\"n\": 3}\n".to_vec();
    let inputs = || Inputs::new(vec![InputFile::from_bytes("bad.jsonl", text.clone(), None)]);
    // Skip: the iterator yields the error (after the output of the input, or of the range of
    // lines, it was found in) and goes on.
    let skip = RunOptions {
        on_error: spate::OnError::Skip,
        ..RunOptions::default()
    };
    let got: Vec<Result<Vec<u8>, String>> = results(Query::new("n").unwrap(), inputs(), skip)
        .map(|r| r.map_err(|e| e.to_string()))
        .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0], Ok(b"1".to_vec()));
    assert_eq!(got[1], Ok(b"3".to_vec()));
    assert!(
        got[2].as_ref().unwrap_err().starts_with("bad.jsonl:2:"),
        "{got:?}"
    );
    // Fail: the error ends the iterator.
    let got: Vec<Result<Vec<u8>, String>> =
        results(Query::new("n").unwrap(), inputs(), RunOptions::default())
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[1].as_ref().unwrap_err().starts_with("bad.jsonl:2:"));
}

#[test]
fn progress_is_reported_through_the_callback() {
    let calls = Arc::new(AtomicU64::new(0));
    let last = Arc::new(AtomicU64::new(0));
    let (c, l) = (calls.clone(), last.clone());
    let bytes = lines(1000);
    let len = bytes.len() as u64;
    let options = RunOptions {
        progress: Some(Arc::new(move |p: spate::parallel::Progress| {
            c.fetch_add(1, Ordering::Relaxed);
            l.store(p.bytes, Ordering::Relaxed);
            assert_eq!(p.total_bytes, len);
        })),
        ..RunOptions::default()
    };
    let inputs = Inputs::new(vec![InputFile::from_bytes("p.jsonl", bytes, None)]);
    let outcome = execute(
        &Query::new("n").unwrap().count_only(true),
        &inputs,
        &options,
        &mut Collect::default(),
        &mut Errors::default(),
    )
    .unwrap();
    assert_eq!(outcome.results(), 1000);
    assert!(calls.load(Ordering::Relaxed) > 0);
    assert_eq!(last.load(Ordering::Relaxed), len);
}

#[test]
fn a_halting_filter_ends_the_run_with_a_value_not_the_process() {
    let text = b"[1, 2, 3, 4]".to_vec();
    for (program, code) in [
        ("if . == 3 then halt_error else . end", 5),
        ("if . == 3 then halt else . end", 0),
        (". , (if . == 3 then halt_error(7) else empty end)", 7),
    ] {
        for on_error in [spate::OnError::Fail, spate::OnError::Skip] {
            for threads in [1, 2] {
                let inputs =
                    Inputs::new(vec![InputFile::from_bytes("doc.json", text.clone(), None)]);
                let options = RunOptions {
                    on_error,
                    threads,
                    ..RunOptions::default()
                };
                let query = Query::new("item").unwrap().jq(program).unwrap();
                let mut sink = Collect::default();
                let result = execute(&query, &inputs, &options, &mut sink, &mut Errors::default());
                match result {
                    Err(RunError::Halted(halt)) => assert_eq!(halt.code, code, "{program}"),
                    other => panic!("{program}: {other:?}"),
                }
                // What came before the halt is out, nothing after it.
                let want: &[&str] = if code == 7 {
                    &["1", "2", "3"]
                } else {
                    &["1", "2"]
                };
                assert_eq!(sink.0, want, "{program}");
            }
        }
    }
}
