//! `ItemsIter`: a lazy Python iterator over the items at a path, and `validate`.
//!
//! Each `__next__` releases the GIL while the engine scans to the next item (other Python
//! threads run meanwhile, and two threads scanning two files use two cores), then builds the
//! item's Python value from its bytes, still in the read window: nothing is copied in
//! between. Memory is the window plus the item being built, whatever the input's size.
//! Dropping the iterator (a `break`, garbage collection) or calling `close()` closes the
//! input.

use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::build::{Builder, Floats};
use crate::errors::to_py;
use crate::source::{self, Pending};

type Reader = Box<dyn std::io::Read + Send>;

struct State {
    items: spate::Items<Reader>,
    builder: Builder,
    /// Items still to hand out (`limit`).
    left: u64,
}

/// The items at a path of a JSON document, as Python values, one at a time.
#[pyclass(module = "spate._native")]
pub struct ItemsIter {
    state: Mutex<Option<State>>,
    pending: Pending,
}

fn options(max_depth: u32, max_item_size: usize) -> PyResult<spate::ItemsOptions> {
    if max_item_size == 0 {
        return Err(PyValueError::new_err("max_item_size must be at least 1"));
    }
    Ok(spate::ItemsOptions {
        max_depth,
        max_item_size,
        ..spate::ItemsOptions::default()
    })
}

fn parse_paths(paths: Vec<String>) -> PyResult<Vec<spate::Path>> {
    paths
        .iter()
        .map(|p| spate::inputs::parse_path(p).map_err(|e| PyValueError::new_err(format!("path {p:?}: {e}"))))
        .collect()
}

#[pymethods]
impl ItemsIter {
    #[new]
    #[pyo3(signature = (source, path, *, max_depth, max_item_size, limit=None, decimal=false, multiple_values=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        path: String,
        max_depth: u32,
        max_item_size: usize,
        limit: Option<u64>,
        decimal: bool,
        multiple_values: bool,
    ) -> PyResult<Self> {
        let paths = parse_paths(vec![path])?;
        let mut options = options(max_depth, max_item_size)?;
        options.multiple_values = multiple_values;
        let source::Source {
            name,
            reader,
            pending,
        } = source::open(py, source)?;
        let items = spate::Items::with_options(reader, &name, paths, options)
            .map_err(to_py)?;
        let floats = if decimal { Floats::Decimal } else { Floats::Float };
        Ok(ItemsIter {
            state: Mutex::new(Some(State {
                items,
                builder: Builder::new(floats),
                left: limit.unwrap_or(u64::MAX),
            })),
            pending,
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let mut guard = self
            .state
            .lock()
            .map_err(|_| PyValueError::new_err("the iterator failed earlier"))?;
        let Some(state) = guard.as_mut() else {
            return Ok(None);
        };
        if state.left == 0 {
            *guard = None;
            return Ok(None);
        }
        let State { items, builder, left } = state;
        let next = py.detach(move || items.next_item());
        match next {
            Ok(Some(item)) => {
                *left -= 1;
                builder.build(py, item.raw()).map(Some)
            }
            Ok(None) => {
                *guard = None;
                Ok(None)
            }
            Err(e) => {
                *guard = None;
                Err(self.pending.take().unwrap_or_else(|| to_py(e)))
            }
        }
    }

    /// Stops the iteration and closes the input now (it is also closed when the iterator
    /// is dropped).
    fn close(&self) {
        if let Ok(mut guard) = self.state.lock() {
            *guard = None;
        }
    }

    /// Bytes of the (decompressed) input scanned so far.
    #[getter]
    fn bytes_scanned(&self) -> u64 {
        self.state
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|s| s.items.bytes_scanned()))
            .unwrap_or(0)
    }
}

/// Validates a whole input against RFC 8259; returns its size in bytes or raises
/// `JSONError` at the first error.
#[pyfunction]
#[pyo3(signature = (source, *, max_depth, multiple_values=false))]
pub fn validate(py: Python<'_>, source: &Bound<'_, PyAny>, max_depth: u32, multiple_values: bool) -> PyResult<u64> {
    let source::Source {
        name,
        reader,
        pending,
    } = source::open(py, source)?;
    let options = spate::ItemsOptions {
        max_depth,
        multiple_values,
        ..spate::ItemsOptions::default()
    };
    py.detach(move || spate::validate_with(reader, &name, options))
        .map_err(|e| pending.take().unwrap_or_else(|| to_py(e)))
}
