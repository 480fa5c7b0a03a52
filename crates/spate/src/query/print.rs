//! A query run written out in an output format: what `spate items` does with its results,
//! for any front end that writes them to a byte stream (a file, a pipe, an HTTP body).
//! Pulling results instead is [`super::results`].

use std::io::{self, Write};

use super::{execute, Query, QueryOutcome};
use crate::output::{OutputFormat, RawLines, ResultWriter, Written};
use crate::parallel::{Observer, RunError};
use crate::{Inputs, RunOptions};

/// How the results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Printing {
    /// In an output format ([`ResultWriter`]).
    Format(OutputFormat),
    /// One result per line, string results without quotes (jq's `-r`).
    Raw,
}

/// A finished run: its outcome and what the writer left out.
#[derive(Debug)]
pub struct Printed {
    /// Totals, skipped items and the aggregates' report.
    pub outcome: QueryOutcome,
    /// Cells the table or CSV writer left out (nothing in the raw form).
    pub written: Written,
}

/// Why a printed run ended early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrintError {
    /// The run failed.
    #[error(transparent)]
    Run(RunError),
    /// The filter halted (jq's `halt`, `halt_error`) asking for this exit code; the results
    /// before it are written.
    #[error("the filter halted with exit code {code}")]
    Halted {
        /// The exit code asked for.
        code: i32,
    },
    /// Writing the results failed.
    #[error(transparent)]
    Write(io::Error),
}

impl Query {
    /// True when the query gives only the number of results ([`Query::count_only`]).
    pub fn is_count_only(&self) -> bool {
        self.count_only
    }
}

/// Runs `query` ([`execute`]) and writes its results into `out` as `printing` says; a
/// count-only query writes its count as one line. `out` is not flushed.
pub fn print<W: Write>(
    query: &Query,
    inputs: &Inputs,
    options: &RunOptions,
    printing: Printing,
    out: &mut W,
    observer: &mut dyn Observer,
) -> Result<Printed, PrintError> {
    let count_only = query.is_count_only();
    let (result, written) = match printing {
        Printing::Raw => {
            let result = execute(query, inputs, options, &mut RawLines(&mut *out), observer);
            (result, Ok(Written::default()))
        }
        Printing::Format(format) => {
            let mut writer = ResultWriter::new(&mut *out, format);
            let result = execute(query, inputs, options, &mut writer, observer);
            // A count-only query writes no result: the count is all there is.
            let written = match (&result, count_only) {
                (Ok(_) | Err(RunError::Halted(_)), false) => writer.finish(),
                _ => Ok(Written::default()),
            };
            (result, written)
        }
    };
    match result {
        Err(RunError::Halted(halt)) => {
            written.map_err(PrintError::Write)?;
            Err(PrintError::Halted { code: halt.code })
        }
        Err(e) => Err(PrintError::Run(e)),
        Ok(outcome) => {
            let written = written.map_err(PrintError::Write)?;
            if count_only {
                writeln!(out, "{}", outcome.results()).map_err(PrintError::Write)?;
            }
            Ok(Printed { outcome, written })
        }
    }
}

/// Writes the counts of a several-path run ([`super::PathsOutput::Counts`]): one
/// `{"path": PATH, "count": N}` line per path, in the order of the paths.
pub fn write_path_counts(
    out: &mut impl Write,
    paths: &[crate::Path],
    counts: &[u64],
) -> io::Result<()> {
    for (path, n) in paths.iter().zip(counts) {
        let p = serde_json::to_string(path.as_str()).map_err(io::Error::other)?;
        writeln!(out, "{{\"path\":{p},\"count\":{n}}}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{discover, DiscoverOptions};
    use crate::parallel::InputReport;

    struct Quiet;

    impl Observer for Quiet {
        fn error(&mut self, _error: RunError) {}
        fn input_done(&mut self, _report: &InputReport<'_>) {}
    }

    fn run(query: &Query, printing: Printing) -> (Result<Printed, PrintError>, String) {
        let dir = std::env::temp_dir().join(format!("spate-print-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("d.json");
        std::fs::write(&file, r#"{"a":[{"k":"x"},{"k":"y"},{"k":"x"}]}"#).unwrap();
        let inputs = discover(&[file], &DiscoverOptions::default()).unwrap();
        let mut out = Vec::new();
        let r = print(
            query,
            &inputs,
            &RunOptions::default(),
            printing,
            &mut out,
            &mut Quiet,
        );
        (r, String::from_utf8(out).unwrap())
    }

    #[test]
    fn writes_results_counts_and_halts() {
        let q = Query::new("a.item").unwrap().jq(".k").unwrap();
        let (r, text) = run(&q, Printing::Format(OutputFormat::Jsonl));
        assert_eq!(text, "\"x\"\n\"y\"\n\"x\"\n");
        assert_eq!(r.unwrap().outcome.results(), 3);
        let raw = q.clone().raw_output(true);
        assert_eq!(run(&raw, Printing::Raw).1, "x\ny\nx\n");
        let count = Query::new("a.item").unwrap().count_only(true);
        assert_eq!(run(&count, Printing::Format(OutputFormat::Jsonl)).1, "3\n");
        let halting = Query::new("a.item")
            .unwrap()
            .jq(r#"if .k == "y" then halt_error(5) else .k end"#)
            .unwrap();
        let (r, text) = run(&halting, Printing::Format(OutputFormat::Jsonl));
        assert!(matches!(r, Err(PrintError::Halted { code: 5 })), "{r:?}");
        assert_eq!(text, "\"x\"\n");
    }

    #[test]
    fn path_counts_are_json_lines() {
        let paths = [
            crate::inputs::parse_path("a.item").unwrap(),
            crate::inputs::parse_path("$.b").unwrap(),
        ];
        let mut out = Vec::new();
        write_path_counts(&mut out, &paths, &[3, 0]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"path\":\"a.item\",\"count\":3}\n{\"path\":\"$.b\",\"count\":0}\n"
        );
    }
}
