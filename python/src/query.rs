//! `query`: a query run by spate's executor — jq filter, parent fields (`with`), group-by
//! aggregates — over one input, its results pulled lazily into Python.
//!
//! The whole run (every core, for a big JSON Lines file) happens on the engine's side; only
//! the results cross into Python, as compact JSON texts turned into values.

use std::io;
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use spate::output::ResultSink;
use spate::parallel::{Observer, RunError};
use spate::query::{execute, Query};

use crate::build::{Builder, Floats};
use crate::engine::{self, Failure, Handoff, Results};
use crate::errors::to_py;
use crate::source;

/// The results of a query over `source`, lazily. See `spate.items` and `spate.aggregate`.
#[pyfunction]
#[pyo3(signature = (
    source, path, *, filter=None, with_=Vec::new(), group_by=Vec::new(), count=false,
    sum=Vec::new(), min=Vec::new(), max=Vec::new(), mean=Vec::new(), limit=None,
    max_depth, max_item_size, json_lines=None, threads=0, decimal=false
))]
#[allow(clippy::too_many_arguments)]
pub fn query(
    source: &Bound<'_, PyAny>,
    path: &str,
    filter: Option<&str>,
    with_: Vec<(String, String)>,
    group_by: Vec<String>,
    count: bool,
    sum: Vec<String>,
    min: Vec<String>,
    max: Vec<String>,
    mean: Vec<String>,
    limit: Option<u64>,
    max_depth: u32,
    max_item_size: usize,
    json_lines: Option<bool>,
    threads: usize,
    decimal: bool,
) -> PyResult<Results> {
    if max_item_size == 0 {
        return Err(PyValueError::new_err("max_item_size must be at least 1"));
    }
    let query = build_query(
        path,
        filter,
        &with_,
        &group_by,
        count,
        [&sum, &min, &max, &mean],
    )
    .map_err(to_py)?
    .max_held(max_item_size);
    let format = json_lines.map(|lines| {
        if lines {
            spate::Format::Jsonl
        } else {
            spate::Format::Json
        }
    });
    let (input, pending) = source::open_input(source, format)?;
    let cancel = spate::Cancel::new();
    let floats = Floats::decimal_if(decimal);
    let (handoff, receiver) = engine::handoff(Some(cancel.clone()), floats);
    let options = spate::RunOptions {
        threads,
        limit,
        items: spate::ItemsOptions {
            max_depth,
            max_item_size,
            ..spate::ItemsOptions::default()
        },
        cancel,
        ..spate::RunOptions::default()
    };
    let inputs = spate::Inputs::new(vec![input]);
    engine::start(
        handoff,
        receiver,
        Builder::new(floats),
        pending,
        None,
        move |h| run(&query, &inputs, &options, h),
    )
}

fn build_query(
    path: &str,
    filter: Option<&str>,
    with_: &[(String, String)],
    group_by: &[String],
    count: bool,
    [sum, min, max, mean]: [&Vec<String>; 4],
) -> Result<Query, spate::Error> {
    let mut query = Query::new(path)?;
    for (name, with_path) in with_ {
        query = query.with(name, with_path)?;
    }
    if let Some(program) = filter {
        query = query.jq(program)?;
    }
    for key in group_by {
        query = query.group_by(key)?;
    }
    if count {
        query = query.count();
    }
    for e in sum {
        query = query.sum(e)?;
    }
    for e in min {
        query = query.min(e)?;
    }
    for e in max {
        query = query.max(e)?;
    }
    for e in mean {
        query = query.mean(e)?;
    }
    Ok(query)
}

/// Pushes results into the handoff.
struct Push(Arc<Handoff>);

fn closed() -> io::Error {
    io::Error::other("the iteration was closed")
}

impl ResultSink for Push {
    fn result(&mut self, result: &[u8]) -> io::Result<()> {
        self.0.push(result).then_some(()).ok_or_else(closed)
    }

    /// A block of results from the executor; a waiting Python side gets them at once (the
    /// executor reads the input itself, so there is no read to hand them over before).
    fn results(&mut self, lines: &[u8], _count: u64) -> io::Result<()> {
        if let Some(body) = lines.strip_suffix(b"\n") {
            for line in body.split(|&b| b == b'\n') {
                self.result(line)?;
            }
        }
        self.0.flush_if_waiting().then_some(()).ok_or_else(closed)
    }
}

/// Keeps the first error the run reported and went past (an unreadable input).
#[derive(Default)]
struct FirstError(Option<RunError>);

impl Observer for FirstError {
    fn error(&mut self, error: RunError) {
        self.0.get_or_insert(error);
    }
}

fn run(query: &Query, inputs: &spate::Inputs, options: &spate::RunOptions, handoff: Arc<Handoff>) {
    let mut sink = Push(handoff.clone());
    let mut reported = FirstError::default();
    match execute(query, inputs, options, &mut sink, &mut reported) {
        // What is left in the batch is sent by `engine::start` when this returns.
        Ok(_) => {
            if let Some(e) = reported.0 {
                handoff.fail(Failure::Run(e));
            }
        }
        // The Python side went away.
        Err(_) if handoff.cancelled() => {}
        // `halt` in the filter: the results so far, then the end.
        Err(RunError::Halted(halt)) if halt.code == 0 => {}
        Err(e) => handoff.fail(Failure::Run(e)),
    }
}
