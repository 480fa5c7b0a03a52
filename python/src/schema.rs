//! `schema`: the exact schema of a CSV/TSV file, a JSON Lines file or the items of a JSON
//! document — what `spate schema --json` prints, as a dict.

use std::path::PathBuf;

use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use spate_csv::{describe, CsvOptions, ErrorKind, ReadOptions};

use crate::errors::to_py;

/// The schema of the file at `path` as JSON text (a Frictionless Table Schema with spate's
/// statistics); the Python side turns it into a dict.
#[pyfunction]
#[pyo3(signature = (path, *, json_path=None, sample=None, delimiter=None, header=None, threads=0))]
pub fn schema(
    py: Python<'_>,
    path: PathBuf,
    json_path: Option<String>,
    sample: Option<u64>,
    delimiter: Option<char>,
    header: Option<bool>,
    threads: usize,
) -> PyResult<String> {
    let delimiter = match delimiter {
        None => None,
        Some(c) if c.is_ascii() => Some(c as u8),
        Some(c) => {
            return Err(PyValueError::new_err(format!(
                "delimiter {c:?} is not one ASCII byte"
            )))
        }
    };
    let name = path.display().to_string();
    let options = ReadOptions {
        from: None,
        json_path,
    };
    let csv = CsvOptions {
        delimiter,
        header,
        sample,
        threads,
        ..CsvOptions::default()
    };
    let schema = py
        .detach(|| describe::infer_file(&path, &options, &csv))
        .map_err(csv_to_py)?;
    let value = describe::schema_document(&schema, &name)
        .map_err(|e| PyValueError::new_err(format!("spate internal error: {e}")))?;
    Ok(value.to_string())
}

/// JSON errors keep their `JSONError` with the position; invalid CSV is a `ValueError` whose
/// message says where (`FILE:LINE:COL`).
fn csv_to_py(error: spate_csv::Error) -> PyErr {
    let message = error.to_string();
    match error.kind {
        ErrorKind::Json(e) => to_py(*e),
        ErrorKind::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err((2, message))
        }
        ErrorKind::Io(_) | ErrorKind::Output(_) => PyOSError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}
