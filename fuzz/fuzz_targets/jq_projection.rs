//! Fuzz the jq projection (`spate::query`): for any program and any JSON document, the
//! program must give the same outputs and the same error on the value built with only the
//! fields it can read (`JqProgram::parse_input`) as on the whole value (`parse_val`).
//!
//! The input is the program, a NUL byte, then the document (documents that are not JSON,
//! and programs that do not compile, are skipped).
//!
//! Run: `cargo +nightly fuzz run jq_projection` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use spate::query::jq::parse_val;
use spate::query::jq::{JqFailure, JqRuntimeError};
use spate::query::JqProgram;

/// Outputs past this many end the run (an endless program is not a finding).
const MAX_OUTPUTS: usize = 1_000;

/// The program's outputs and how it stopped: a halt is a value returned by
/// `run_halting` (the process is never ended from the library), compared like an error.
fn outputs(program: &JqProgram, input: jaq_json::Val) -> (Vec<String>, Option<JqFailure>) {
    let mut out = Vec::new();
    let failure = program
        .run_halting(input, |v| {
            out.push(v.to_string());
            if out.len() >= MAX_OUTPUTS {
                return Err(JqRuntimeError("enough outputs".into()));
            }
            Ok(())
        })
        .err();
    (out, failure)
}

fuzz_target!(|data: &[u8]| {
    let Some(nul) = data.iter().position(|&b| b == 0) else { return };
    let (Ok(code), doc) = (std::str::from_utf8(&data[..nul]), &data[nul + 1..]) else { return };
    if serde_json::from_slice::<serde_json::Value>(doc).is_err() {
        return;
    }
    let Ok(program) = JqProgram::compile(code) else { return };
    let (Ok(whole), Ok(projected)) = (parse_val(doc), program.parse_input(doc)) else {
        return;
    };
    // (programs that loop forever are the fuzzer's timeout, not a finding)
    assert_eq!(outputs(&program, projected), outputs(&program, whole), "{code}");
});
