//! spate's errors as the Python exceptions a caller expects to catch.
//!
//! - invalid JSON, an item over the size limit: `spate.JSONError` (a `ValueError`) with
//!   `file`, `offset`, `line`, `column` and `excerpt`;
//! - a bad path or jq program: `ValueError` naming the position;
//! - a missing file: `FileNotFoundError`; other I/O problems: `OSError` (with `errno`).

use pyo3::exceptions::{
    PyFileNotFoundError, PyIsADirectoryError, PyOSError, PyPermissionError, PyValueError,
};
use pyo3::prelude::*;

pyo3::create_exception!(
    _native,
    JSONError,
    PyValueError,
    "Invalid JSON (or an item over the size limit) at a position of an input: `.file`, \
     `.offset` (bytes from the start of the decompressed input), `.line` and `.column` (from 1) \
     and `.excerpt` (the line with a caret under the byte)."
);

/// The Python exception for a spate error.
pub fn to_py(error: spate::Error) -> PyErr {
    let message = error.to_string();
    if let Some(location) = error.location() {
        let err = JSONError::new_err(message);
        Python::attach(|py| {
            let value = err.value(py);
            let _ = value.setattr("file", location.input.clone());
            let _ = value.setattr("offset", location.offset);
            let _ = value.setattr("line", location.position.line);
            let _ = value.setattr("column", location.position.column);
            let _ = value.setattr("excerpt", location.excerpt.clone());
        });
        return err;
    }
    match error {
        spate::Error::Io { source, .. } => {
            let errno = source.raw_os_error();
            let args = (errno.unwrap_or(0), message);
            match source.kind() {
                std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(args),
                std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(args),
                std::io::ErrorKind::IsADirectory => PyIsADirectoryError::new_err(args),
                std::io::ErrorKind::InvalidData => JSONError::new_err(args.1),
                _ if errno.is_some() => PyOSError::new_err(args),
                _ => PyOSError::new_err(args.1),
            }
        }
        e if e.is_invalid_data() => JSONError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// The Python exception for an error that ended a query run.
pub fn run_error_to_py(error: spate::parallel::RunError) -> PyErr {
    use spate::parallel::RunError;
    match error {
        RunError::Input(e) => to_py(e),
        RunError::Output(e) => PyOSError::new_err(e.to_string()),
        // A filter failing on an item, a halt with an error code, a cancelled run.
        other => PyValueError::new_err(other.to_string()),
    }
}
