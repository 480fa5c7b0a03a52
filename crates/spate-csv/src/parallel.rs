//! Parallel inference over byte ranges of one CSV file.
//!
//! The difficulty is finding record boundaries in the middle of a file: a newline may be inside
//! a quoted field. We use **quote parity**: in RFC 4180 CSV a `"` only opens or closes a quoted
//! field, and a literal quote inside one is doubled (`""`), which adds two. So a byte is inside
//! a quoted field exactly when the number of quotes before it in the file is odd.
//!
//! 1. The data (after the header) is cut into segments. In parallel, each segment's quotes are
//!    counted (a vectorized byte count, far faster than parsing); a prefix sum gives the parity
//!    at each segment start.
//! 2. Each segment's first record starts after the first newline at or after the segment start
//!    that is outside quotes (scanning from the known parity). These starts cut the file into
//!    ranges of whole records.
//! 3. Each range is parsed by its own worker into its own [`TableState`]; the states are merged
//!    in file order.
//!
//! The parity argument needs the file to follow the quoting rules and to end records with
//! `\n`. A worker that sees a quote inside an unquoted field, text after a closing quote, a
//! record ended by a lone `\r`, a ragged row (without `--flexible`), invalid UTF-8 or an open
//! quote at the end of its range gives up, and the whole file is read sequentially instead,
//! which is always right and reports errors with line numbers.

use std::fs::File;
use std::io::Read;

use rayon::prelude::*;

use crate::dialect::{CsvOptions, Dialect};
use crate::error::Error;
use crate::infer::{drive, finish, InferSink, TableState, BLOCK};
use crate::schema::Schema;
use crate::split::{parse_records, FieldRange, RecordSink};

/// Files smaller than this are read sequentially.
pub const PARALLEL_MIN: u64 = 4 << 20;

/// Reads a byte range of a file through `pread`, so workers share one file handle.
#[derive(Debug)]
pub(crate) struct RangeReader<'a> {
    pub file: &'a File,
    pub pos: u64,
    pub end: u64,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = (self.end - self.pos).min(buf.len() as u64) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = read_at(self.file, &mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Reads at an offset without moving a cursor that other workers share (`pread`).
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, pos)
}

/// Reads at an offset (Windows moves the handle's cursor, but each call names its offset).
#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, pos)
}

/// Elsewhere: seek, then read, one worker at a time (the cursor is shared).
#[cfg(not(any(unix, windows)))]
fn read_at(mut file: &File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    use std::io::{Seek, SeekFrom};
    static CURSOR: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = CURSOR.lock().unwrap_or_else(|e| e.into_inner());
    file.seek(SeekFrom::Start(pos))?;
    file.read(buf)
}

/// Number of worker threads to use.
pub fn threads(opts: &CsvOptions) -> usize {
    if opts.threads > 0 {
        opts.threads
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// Counts the quote bytes in `[start, end)`.
fn count_quotes(file: &File, start: u64, end: u64) -> std::io::Result<u64> {
    let mut buf = vec![0u8; BLOCK];
    let mut reader = RangeReader {
        file,
        pos: start,
        end,
    };
    let mut quotes = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(quotes);
        }
        quotes += crate::fast::count_quotes(&buf[..n]);
    }
}

/// The first record start at or after `start`, given whether `start` is inside quotes: the
/// byte after the first `\n` outside quotes, or `len` when there is none.
fn first_record_start(
    file: &File,
    start: u64,
    mut in_quotes: bool,
    len: u64,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 << 10];
    let mut reader = RangeReader {
        file,
        pos: start,
        end: len,
    };
    let mut offset = start;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(len);
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'"' {
                in_quotes = !in_quotes;
            } else if b == b'\n' && !in_quotes {
                return Ok(offset + i as u64 + 1);
            }
        }
        offset += n as u64;
    }
}

/// Finds the header record in the sniffed prefix: its field count and the byte length of it.
struct FirstRecord {
    fields: usize,
}

impl RecordSink for FirstRecord {
    fn record(&mut self, _: &[u8], fields: &[FieldRange]) -> bool {
        self.fields = fields.len();
        false
    }
}

/// Infers with the fast splitter, over several ranges in parallel when the file is large
/// enough; `Ok(None)` when the file does not allow it (see the module documentation), and the
/// caller then reads it with the general splitter.
pub(crate) fn infer_parallel(
    file: &File,
    len: u64,
    bom: u64,
    prefix: &[u8],
    dialect: Dialect,
    opts: &CsvOptions,
) -> Result<Option<Schema>, Error> {
    let workers = threads(opts);
    let workers = if len < opts.parallel_min { 1 } else { workers };
    // The first record (header or first data row) comes from the prefix.
    let mut first = FirstRecord { fields: 0 };
    let parsed = match parse_records(
        prefix,
        false,
        dialect.delimiter,
        &mut Vec::new(),
        &mut first,
    ) {
        Ok(p) if p.stopped && !p.stray_quote && !p.bare_cr => p,
        _ => return Ok(None),
    };
    let mut header = None;
    let data_start = if dialect.header {
        // The header is not read again by a range: its UTF-8 is checked here, and invalid
        // text falls back to the general reader, which reports it with its line.
        if simdutf8::basic::from_utf8(&prefix[..parsed.consumed]).is_err() {
            return Ok(None);
        }
        let mut sink = InferSink::new(opts, true, 0);
        let _ = parse_records(
            &prefix[..parsed.consumed],
            true,
            dialect.delimiter,
            &mut Vec::new(),
            &mut sink,
        );
        header = sink.header;
        bom + parsed.consumed as u64
    } else {
        bom
    };
    let expected = first.fields;

    // One range: the fast splitter alone (no threads, no quote counting).
    let parse_range = |s: u64, e: u64| -> Result<Option<(TableState, u64)>, Error> {
        if s >= e {
            return Ok(Some((TableState::default(), 0)));
        }
        let mut sink = InferSink::new(opts, false, expected);
        let reader = RangeReader {
            file,
            pos: s,
            end: e,
        };
        let d = match drive(
            reader,
            Vec::new(),
            dialect.delimiter,
            &mut sink,
            false,
            true,
        ) {
            Ok(d) => d,
            Err(e) if e.is_invalid_data() => return Ok(None),
            Err(e) => return Err(e),
        };
        if d.unclean || d.stopped || d.stray_quote || d.bare_cr || sink.error.is_some() {
            return Ok(None);
        }
        Ok(Some((sink.state, d.bytes)))
    };
    if workers < 2 {
        return Ok(parse_range(data_start, len)?.map(|(state, bytes)| {
            finish(header, state, dialect, opts, false, data_start + bytes)
        }));
    }

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .map_err(|e| {
            Error::from(std::io::Error::other(format!(
                "cannot start worker threads: {e}"
            )))
        })?;
    let segments = (workers * 4) as u64;
    let seg_len = (len - data_start).div_ceil(segments).max(1);
    let seg_starts: Vec<u64> = (0..segments)
        .map(|k| data_start + k * seg_len)
        .filter(|&s| s < len)
        .collect();

    let result = pool.install(|| -> Result<Option<(TableState, u64)>, Error> {
        // 1. Quote counts per segment, then parity at each segment start.
        let counts: Vec<u64> = seg_starts
            .par_iter()
            .enumerate()
            .map(|(k, &s)| {
                let e = seg_starts.get(k + 1).copied().unwrap_or(len);
                count_quotes(file, s, e)
            })
            .collect::<Result<_, _>>()?;
        let mut parity = Vec::with_capacity(counts.len());
        let mut total = 0u64;
        for c in &counts {
            parity.push(total % 2 == 1);
            total += c;
        }
        // 2. Record starts.
        let mut starts: Vec<u64> = seg_starts
            .par_iter()
            .zip(&parity)
            .enumerate()
            .map(|(k, (&s, &p))| {
                if k == 0 {
                    Ok(s)
                } else {
                    first_record_start(file, s, p, len)
                }
            })
            .collect::<Result<_, std::io::Error>>()?;
        starts.push(len);
        // 3. Parse each range.
        let states: Vec<Option<(TableState, u64)>> = (0..starts.len() - 1)
            .into_par_iter()
            .map(|k| parse_range(starts[k], starts[k + 1]))
            .collect::<Result<_, _>>()?;
        let mut state = TableState::default();
        let mut bytes = data_start;
        for s in states {
            let Some((s, b)) = s else { return Ok(None) };
            state.merge(s);
            bytes += b;
        }
        Ok(Some((state, bytes)))
    })?;
    Ok(result.map(|(state, bytes)| finish(header, state, dialect, opts, false, bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CELLS: &[&str] = &[
        "",
        "1",
        "-7",
        "+3",
        "007",
        "2.5",
        ".5",
        "5.",
        "1e5",
        "true",
        "FALSE",
        "yes",
        "2024-02-29",
        "2023-02-29",
        "2024-01-01 10:00:00",
        "2024-01-01T10:00:00Z",
        "NA",
        "NULL",
        "x",
        "a,b",
        "line\nbreak",
        "say \"hi\"",
        "99999999999999999999",
        "-99999999999999999999",
        "NaN",
        "-inf",
        "\u{e9}t\u{e9}",
        "\"",
        "\r\n",
    ];

    fn csv_cell(v: &str) -> String {
        if v.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.to_string()
        }
    }

    fn table() -> impl Strategy<Value = (Vec<Vec<usize>>, bool, bool)> {
        (1usize..6).prop_flat_map(|cols| {
            (
                proptest::collection::vec(proptest::collection::vec(0..CELLS.len(), cols), 1..400),
                any::<bool>(),
                any::<bool>(),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The parallel reader (quote parity, byte ranges, bitmask splitter, merged states) gives
        /// exactly the sequential answer, and does take the parallel path on clean input.
        #[test]
        fn parallel_equals_sequential((rows, crlf, bom) in table(), threads in 2usize..6) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let cols = rows[0].len();
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            let header: Vec<String> = (0..cols).map(|c| format!("c{c}")).collect();
            text.push_str(&header.join(","));
            text.push_str(eol);
            for r in &rows {
                let cells: Vec<String> = r.iter().map(|&i| csv_cell(CELLS[i])).collect();
                text.push_str(&cells.join(","));
                text.push_str(eol);
            }
            let mut file = tempfile::NamedTempFile::new().unwrap();
            std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
            let seq_opts = CsvOptions { threads: 1, header: Some(true), delimiter: Some(b','), ..CsvOptions::default() };
            let par_opts = CsvOptions { threads, parallel_min: 0, ..seq_opts.clone() };
            let seq = crate::infer::infer_csv_general(file.path(), &seq_opts).unwrap();
            let par = crate::infer::try_parallel(file.path(), &par_opts).unwrap();
            let par = par.expect("clean input takes the parallel path");
            prop_assert_eq!(&par.fields, &seq.fields);
            // An empty line is skipped, which is an empty value of a one-column table.
            let expected = rows.iter().filter(|r| !(r.len() == 1 && CELLS[r[0]].is_empty())).count();
            prop_assert_eq!(par.rows, expected as u64);
            prop_assert_eq!(par.rows, seq.rows);
        }

        /// Unclean input (stray quotes, lone CRs) falls back, and the public entry point still
        /// gives the sequential answer.
        #[test]
        fn unclean_input_falls_back((rows, _, _) in table(), threads in 2usize..4) {
            let mut text = String::from("a,b\n");
            for r in &rows {
                let cells: Vec<String> = r.iter().map(|&i| csv_cell(CELLS[i])).collect();
                text.push_str(&cells.join(";"));
                text.push_str(if r[0] % 3 == 0 { "\r" } else { "\n" });
                if r[0] % 5 == 0 {
                    text.push_str("x\"y,z\n");
                }
            }
            let mut file = tempfile::NamedTempFile::new().unwrap();
            std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
            let base = CsvOptions { header: Some(true), delimiter: Some(b','), flexible: true, ..CsvOptions::default() };
            let seq = crate::infer::infer_csv_general(file.path(), &CsvOptions { threads: 1, ..base.clone() });
            let par = crate::infer_csv_path(file.path(), &CsvOptions { threads, parallel_min: 0, ..base });
            match (seq, par) {
                (Ok(s), Ok(p)) => prop_assert_eq!(s, p),
                (Err(s), Err(p)) => prop_assert_eq!(s.to_string(), p.to_string()),
                (s, p) => prop_assert!(false, "seq {:?} par {:?}", s.map(|x| x.rows), p.map(|x| x.rows)),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Arbitrary bytes: no panic, and the parallel entry point answers like the sequential
        /// one (the same schema, or the same error).
        #[test]
        fn arbitrary_bytes_same_answer(
            bytes in proptest::collection::vec(proptest::sample::select(&b"a1.,\"\n\r\xef\xbb\xbf-"[..]), 0..2000),
            threads in 2usize..5,
            flexible: bool,
        ) {
            let mut file = tempfile::NamedTempFile::new().unwrap();
            std::io::Write::write_all(&mut file, &bytes).unwrap();
            let base = CsvOptions { flexible, ..CsvOptions::default() };
            let seq = crate::infer::infer_csv_general(file.path(), &CsvOptions { threads: 1, ..base.clone() });
            let par = crate::infer_csv_path(file.path(), &CsvOptions { threads, parallel_min: 0, ..base.clone() });
            let rdr = crate::infer_csv_reader(&bytes[..], Some(file.path()), &base);
            let one = crate::infer_csv_path(file.path(), &CsvOptions { threads: 1, ..base.clone() });
            let seq2 = crate::infer::infer_csv_general(file.path(), &base);
            match (one, seq2) {
                (Ok(o), Ok(s)) => prop_assert_eq!(o, s),
                (Err(o), Err(s)) => prop_assert_eq!(o.to_string(), s.to_string()),
                (o, s) => prop_assert!(false, "one thread {:?} general {:?}", o.map(|x| x.rows), s.map(|x| x.rows)),
            }
            match (seq, par, rdr) {
                (Ok(s), Ok(p), Ok(r)) => {
                    prop_assert_eq!(&s, &p);
                    prop_assert_eq!(&s.fields, &r.fields);
                }
                (Err(s), Err(p), Err(r)) => {
                    prop_assert_eq!(s.to_string(), p.to_string());
                    prop_assert_eq!(s.to_string(), r.to_string());
                }
                (s, p, r) => prop_assert!(false, "seq {:?} par {:?} reader {:?}", s.map(|x| x.rows), p.map(|x| x.rows), r.map(|x| x.rows)),
            }
        }
    }
}
