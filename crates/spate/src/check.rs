//! Validating many inputs on every core: the executor with a stage that selects nothing
//! (the scanner checks every byte anyway). Errors and per-input verdicts reach the
//! caller's [`Observer`] in input order.

use std::io;

use crate::parallel::{run_with, ItemVisitor, Observer, RunError, Summary, VisitError};
use crate::{Inputs, ItemRef, RunOptions};

/// Validation selects nothing.
struct NoItems;

impl ItemVisitor for NoItems {
    fn visit(&mut self, _item: ItemRef<'_>, _out: &mut Vec<u8>) -> Result<u64, VisitError> {
        Ok(0)
    }
}

/// Validates every input against RFC 8259 (and JSON Lines framing); bad lines and
/// documents are reported to `observer` as the run's `options` say (`on_error`,
/// `max_errors`), each finished input through [`Observer::input_done`].
pub fn validate_inputs(
    inputs: &Inputs,
    options: &RunOptions,
    observer: &mut dyn Observer,
) -> Result<Summary, RunError> {
    let (_, summary) = run_with(inputs, &[], options, || NoItems, &mut io::sink(), observer)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{discover, DiscoverOptions};
    use crate::parallel::{InputReport, OnError};

    #[derive(Default)]
    struct Seen {
        errors: Vec<String>,
        valid: Vec<String>,
    }

    impl Observer for Seen {
        fn error(&mut self, error: RunError) {
            self.errors.push(error.to_string());
        }
        fn input_done(&mut self, report: &InputReport<'_>) {
            if !report.failed && report.errors == 0 {
                self.valid.push(report.name.to_string());
            }
        }
    }

    #[test]
    fn reports_bad_lines_and_valid_inputs() {
        let dir = std::env::temp_dir().join(format!("spate-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("good.jsonl"), "{\"a\":1}\n[2]\n").unwrap();
        std::fs::write(dir.join("bad.jsonl"), "{\"a\":1}\n{\"b\":}\n").unwrap();
        let inputs = discover(
            &[dir.join("bad.jsonl"), dir.join("good.jsonl")],
            &DiscoverOptions::default(),
        )
        .unwrap();
        let options = RunOptions {
            on_error: OnError::Skip,
            ..RunOptions::default()
        };
        let mut seen = Seen::default();
        let summary = validate_inputs(&inputs, &options, &mut seen).unwrap();
        assert_eq!(seen.errors.len(), 1, "{:?}", seen.errors);
        assert!(seen.errors[0].contains("bad.jsonl:2:"), "{:?}", seen.errors);
        assert_eq!(seen.valid.len(), 1);
        assert!(seen.valid[0].ends_with("good.jsonl"));
        assert_eq!(summary.skipped, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
