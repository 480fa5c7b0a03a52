//! `items`: the items at a path of one JSON document (or a sequence of JSON values), as a
//! lazy iterator, and `validate`.

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::build::{Builder, Floats};
use crate::engine::{self, EngineReader, Failure, Handoff, Results};
use crate::errors::to_py;
use crate::source;
use crate::whole::Whole;
use crate::whole_items::{Stop, WholeItems};

pub fn parse_path(path: &str) -> PyResult<spate::Path> {
    spate::inputs::parse_path(path)
        .map_err(|e| PyValueError::new_err(format!("path {path:?}: {e}")))
}

/// The items at `path` of `source`, lazily.
#[pyfunction]
#[pyo3(signature = (source, path, *, max_depth, max_item_size, limit=None, decimal=false, multiple_values=false))]
#[allow(clippy::too_many_arguments)]
pub fn items(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    path: &str,
    max_depth: u32,
    max_item_size: usize,
    limit: Option<u64>,
    decimal: bool,
    multiple_values: bool,
) -> PyResult<Results> {
    if max_item_size == 0 {
        return Err(PyValueError::new_err("max_item_size must be at least 1"));
    }
    let path = parse_path(path)?;
    let options = spate::ItemsOptions {
        max_depth,
        max_item_size,
        multiple_values,
        ..spate::ItemsOptions::default()
    };
    let floats = Floats::decimal_if(decimal);
    let limit = limit.unwrap_or(u64::MAX);
    let (input, pending) = source::open_input(source, Some(spate::Format::Json))?;
    let whole = match crate::whole::of_file_object(source)? {
        Some(whole) => Some(whole),
        None => py.detach(|| crate::whole::whole(&input)),
    };
    if let Some(whole) = whole {
        // A plain file or bytes: scanned where they lie, items handed over as ranges.
        let whole = Arc::new(whole);
        let items =
            WholeItems::new(whole.clone(), &input.name, vec![path], options).map_err(to_py)?;
        let (handoff, receiver) = engine::handoff(None, floats);
        let engine_whole = whole.clone();
        return engine::start(
            handoff,
            receiver,
            Builder::new(floats),
            pending,
            Some(whole),
            move |h| produce_whole(items, &engine_whole, limit, h),
        );
    }
    let source::Source {
        name,
        reader,
        pending,
    } = source::open_opened(py, &input, pending)?;
    let (handoff, receiver) = engine::handoff(None, floats);
    let reader = EngineReader::new(reader, handoff.clone());
    let items = spate::Items::with_options(reader, &name, vec![path], options).map_err(to_py)?;
    engine::start(
        handoff,
        receiver,
        Builder::new(floats),
        pending,
        None,
        move |h| produce(items, limit, h),
    )
}

/// [`produce`] for an input read whole: items go over as ranges of it, and the pages behind
/// what anyone still needs are given back as the scan moves on.
fn produce_whole(mut items: WholeItems, whole: &Whole, limit: u64, handoff: Arc<Handoff>) {
    let mut left = limit;
    let mut released = 0;
    let mut before_slice = |items: &WholeItems, slice: std::ops::Range<usize>| {
        if handoff.before_read().is_err() {
            return false;
        }
        handoff.release_behind(whole, items.needed_from(), &mut released);
        whole.prefetch(slice);
        true
    };
    while left > 0 {
        match items.next_span(&mut before_slice) {
            Ok(Some(span)) => {
                left -= 1;
                if !handoff.push_span(
                    span.start as usize,
                    span.end as usize,
                    &whole.bytes()[span.start as usize..span.end as usize],
                ) {
                    return;
                }
            }
            Ok(None) => break,
            Err(Stop::Closed) => return,
            Err(Stop::Invalid(e)) => return handoff.fail(Failure::Items(e)),
        }
    }
    // What is left in the batch is sent by `engine::start` when this returns.
}

fn produce(mut items: spate::Items<EngineReader>, limit: u64, handoff: Arc<Handoff>) {
    let mut left = limit;
    while left > 0 {
        match items.next_item() {
            Ok(Some(item)) => {
                left -= 1;
                if !handoff.push(item.raw()) {
                    return;
                }
            }
            Ok(None) => break,
            Err(e) => return handoff.fail(Failure::Items(e)),
        }
    }
    // What is left in the batch is sent by `engine::start` when this returns.
}

/// Validates a whole input against RFC 8259; returns its size in bytes or raises
/// `JSONError` at the first error.
#[pyfunction]
#[pyo3(signature = (source, *, max_depth, multiple_values=false))]
pub fn validate(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    max_depth: u32,
    multiple_values: bool,
) -> PyResult<u64> {
    let options = spate::ItemsOptions {
        max_depth,
        multiple_values,
        ..spate::ItemsOptions::default()
    };
    let (input, pending) = source::open_input(source, Some(spate::Format::Json))?;
    let whole = match crate::whole::of_file_object(source)? {
        Some(whole) => Some(whole),
        None => py.detach(|| crate::whole::whole(&input)),
    };
    if let Some(whole) = whole {
        return validate_whole(py, Arc::new(whole), &input.name, options);
    }
    let source::Source {
        name,
        reader,
        pending,
    } = source::open_opened(py, &input, pending)?;
    let reader = source::Interruptible {
        inner: reader,
        pending: pending.clone(),
    };
    py.detach(move || spate::validate_with(reader, &name, options))
        .map_err(|e| pending.take().unwrap_or_else(|| to_py(e)))
}

/// [`validate`] of an input read whole, with the GIL released; Ctrl-C is looked for
/// between slices, and the pages behind the scan are given back.
fn validate_whole(
    py: Python<'_>,
    whole: Arc<Whole>,
    name: &str,
    options: spate::ItemsOptions,
) -> PyResult<u64> {
    let mut items = WholeItems::new(whole.clone(), name, Vec::new(), options).map_err(to_py)?;
    let mut interrupted = None;
    let mut released = 0;
    let outcome = py.detach(|| loop {
        let step = items.next_span(|items, slice| {
            if let Err(e) = Python::attach(|py| py.check_signals()) {
                interrupted = Some(e);
                return false;
            }
            let needed = items.needed_from();
            if needed > released {
                whole.release(released..needed);
                released = needed;
            }
            whole.prefetch(slice);
            true
        });
        match step {
            Ok(Some(_)) => continue,
            Ok(None) => break Ok(items.bytes_scanned()),
            Err(stop) => break Err(stop),
        }
    });
    match outcome {
        Ok(n) => Ok(n),
        Err(Stop::Invalid(e)) => Err(to_py(e)),
        Err(Stop::Closed) => {
            Err(interrupted
                .unwrap_or_else(|| PyValueError::new_err("the validation was interrupted")))
        }
    }
}
