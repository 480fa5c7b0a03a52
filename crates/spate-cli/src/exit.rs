//! Mapping outcomes to exit codes, in one place.

use std::fmt;
use std::io;
use std::process::ExitCode;

/// Exit code for invalid input data.
pub const INVALID_DATA: u8 = 1;
/// Exit code for usage and I/O errors.
pub const USAGE_OR_IO: u8 = 2;

/// Marks an error as "the input data is invalid" (exit code 1) rather than a usage or I/O
/// problem (exit code 2). Wrap it in `anyhow::Error` and return it from a command.
#[derive(Debug)]
pub struct InvalidData(pub String);

impl fmt::Display for InvalidData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidData {}

/// True when the error is (or wraps) a closed output pipe: the reader went away, which is not
/// a failure of ours.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints the error (if any) and turns the outcome into the process exit code.
pub fn finish(outcome: anyhow::Result<ExitCode>) -> ExitCode {
    match outcome {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("spate: {}", message(&err));
            ExitCode::from(code_for(&err))
        }
    }
}

/// The error and its causes, `: `-separated, each said once: many errors already show
/// their source in their own message ("{path}: {source}"), which `{:#}` would repeat.
pub fn message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Exit code for an error: 1 when any cause says the data is invalid (the library errors
/// say so themselves), else 2.
pub fn code_for(err: &anyhow::Error) -> u8 {
    let invalid = err.chain().any(|cause| {
        cause.is::<InvalidData>()
            || cause
                .downcast_ref::<crate::cmd::inputs::RunFailure>()
                .is_some_and(|f| f.error.is_invalid_data())
            || cause
                .downcast_ref::<spate::Error>()
                .is_some_and(|e| e.is_invalid_data())
            || cause
                .downcast_ref::<spate_agents::ledger::LedgerError>()
                .is_some_and(|e| e.is_invalid_data())
            || cause
                .downcast_ref::<spate_columnar::Error>()
                .is_some_and(|e| e.is_invalid_data())
    });
    if invalid {
        INVALID_DATA
    } else {
        USAGE_OR_IO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_said_once() {
        let io = io::Error::other("No space left on device (os error 28)");
        let err = anyhow::Error::new(spate::Error::Io {
            input: "out.jsonl".into(),
            source: io,
        })
        .context("writing the output");
        assert_eq!(
            message(&err),
            "writing the output: out.jsonl: No space left on device (os error 28)"
        );
    }
}
