//! The executor: runs the items of many inputs through per-worker visitors on every core,
//! and writes their output in input order.
//!
//! # Work
//!
//! The inputs are cut into *tasks*, numbered in input order: one task per input, except
//! that a plain (uncompressed) JSON Lines file larger than [`RunOptions::range_size`] is cut
//! into byte ranges, each its own task (see [`crate::jsonl`] for how ranges own lines).
//! A JSON document is one task, streamed with [`crate::Items`]; compressed inputs and
//! standard input are one task each. Workers (`threads` of them) take the next task
//! number from a shared counter, so tasks start in order.
//!
//! # Visitors
//!
//! Each worker owns one [`ItemVisitor`], made by the caller's `make_visitor`, and hands it
//! every item of the tasks it runs. A visitor appends output lines to a buffer and may keep
//! a partial aggregate; there is no lock on this path. [`run`] returns the visitors, one
//! per worker, for the caller to merge their partials (in worker order). Which worker saw
//! which item depends on timing, so merged aggregates equal a sequential run's exactly
//! when merging is exact (counts, integer and decimal sums, min, max), as the aggregation
//! stage's are.
//!
//! # Output order
//!
//! - Ordered (the default): lines are written in the order of the inputs and, inside an
//!   input, of the items, exactly as with one thread: `-j1` and `-jN` give byte-identical
//!   output, errors and line numbers. A worker that runs ahead keeps its output in memory up
//!   to a budget ([`OUTPUT_BUDGET`]), then waits for the others to catch up (the oldest
//!   task never waits, so the run always progresses).
//! - Unordered: each block of output (up to [`BLOCK`] bytes, whole lines, in input order
//!   inside the block) is written as soon as it is ready. Faster when one input is slow;
//!   the set of lines is the same, their order is not, and with `--limit` *which* lines are
//!   written is not fixed either.
//!
//! Errors are always reported in input order, with absolute line numbers.
//!
//! # Limits and errors
//!
//! With a `limit`, exactly that many output lines are written (the first ones in ordered
//! mode) and the workers stop as soon as they are out. A bad JSON Lines line is an error
//! naming the input, line and column: with [`OnError::Fail`] the run ends there (output of
//! earlier lines is written, later output is not, as in a sequential run); with
//! [`OnError::Skip`] the line is reported, counted and left out entirely (lines are
//! validated before any of their items reach the visitor). An invalid JSON document is the
//! same, at the level of the document. An input that cannot be opened or read is reported
//! and the run goes on with the others.
//!
//! # Front ends
//!
//! The executor draws nothing and never ends the process: progress goes to the
//! [`RunOptions::progress`] callback (the CLI draws a bar with it), a [`Cancel`] token in
//! [`RunOptions::cancel`] stops the workers at their next item or line
//! ([`RunError::Cancelled`]), a visitor may end the run with [`Halt`]
//! ([`RunError::Halted`]), and output goes to any [`LineSink`] in blocks of whole lines
//! ([`run_into`]). Inputs may be files, standard input, readers or bytes in memory
//! ([`crate::inputs::InputFile`]). Queries, their sinks and a pulled iterator of results
//! are built on this in [`crate::query`].
//!
//! # Example
//!
//! ```
//! use spate::inputs::{parse_path, Inputs};
//! use spate::parallel::{run, ItemVisitor, RunOptions, VisitError};
//! use spate::ItemRef;
//!
//! /// Counts items and prints the `id` of each one.
//! #[derive(Default)]
//! struct Ids(u64);
//!
//! impl ItemVisitor for Ids {
//!     fn visit(&mut self, item: ItemRef<'_>, out: &mut Vec<u8>) -> Result<u64, VisitError> {
//!         self.0 += 1;
//!         item.compact_into(out);
//!         out.push(b'\n');
//!         Ok(1)
//!     }
//! }
//!
//! let dir = tempfile::tempdir()?;
//! let file = dir.path().join("log.jsonl");
//! std::fs::write(&file, "{\"id\": 1}\r\n\n{\"id\": 2}\n{\"x\": 0}\n{\"id\": 3}")?;
//! let inputs = Inputs::from_files(&[&file], None);
//! // Ranges of 4 bytes: every line is cut somewhere; the answer does not change.
//! let options = RunOptions { threads: 3, range_size: 4, ..RunOptions::default() };
//! let mut out = Vec::new();
//! let (partials, summary) = run(&inputs, &[parse_path("id")?], &options, Ids::default, &mut out)?;
//! assert_eq!(out, b"1\n2\n3\n"); // in input order
//! assert_eq!(partials.iter().map(|p| p.0).sum::<u64>(), 3); // one partial per worker
//! assert_eq!((summary.lines, summary.bytes), (5, 40)); // blank line counted, every byte once
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod budget;
mod cancel;
mod merge;
mod plan;
mod split;
mod worker;

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::time::{Duration, Instant};

use spate_json::Path;

pub use cancel::Cancel;

use crate::error::Error;
use crate::inputs::{Format, Inputs};
use crate::items::{ItemRef, ItemsOptions};
use budget::Budget;
use merge::{Merged, Merger};
use worker::{Shared, Worker, WorkerResult};

/// Default size of the byte ranges one big JSON Lines file is cut into. It does not depend
/// on the number of threads, so every thread count cuts the same tasks.
pub const DEFAULT_RANGE_SIZE: u64 = 8 << 20;
/// Default size of the pieces a big plain JSON document is cut into to be scanned on
/// several cores (see [`RunOptions::document_piece`]).
pub const DEFAULT_DOCUMENT_PIECE: u64 = 32 << 20;
/// A worker hands its output over in blocks of about this many bytes.
pub const BLOCK: usize = 256 * 1024;
/// A worker's stack: values handed to jq (up to [`crate::query::MAX_VALUE_DEPTH`] levels)
/// are built, printed and dropped recursively, by jaq too. Only the pages used are resident.
const WORKER_STACK: usize = 32 << 20;
/// Output bytes that workers ahead of the oldest task may hold before they wait.
pub const OUTPUT_BUDGET: usize = 16 << 20;

/// What a visitor's error is.
pub type VisitError = Box<dyn std::error::Error + Send + Sync>;

/// The stage that handles items, one instance per worker.
pub trait ItemVisitor: Send {
    /// Handles one selected item; appends zero or more output lines (each ending in `\n`)
    /// to `out`; returns how many lines it appended. `item.offset()` is the item's byte
    /// offset in the (decompressed) input. Errors are wrapped by the executor with the
    /// input's name, line and offset.
    fn visit(&mut self, item: ItemRef<'_>, out: &mut Vec<u8>) -> Result<u64, VisitError>;

    /// [`ItemVisitor::visit`] for visitors that may make many lines of one item (a jq
    /// program): after appending `n` lines to `out` they call `emit(out, n)`, which may
    /// take them out of `out` (handing a full block to the writer) and answers `Break`
    /// when no more output is wanted (the limit is reached, the run stops). Returns the
    /// lines appended and not handed to `emit`. The default calls `visit`.
    fn visit_streaming(
        &mut self,
        item: ItemRef<'_>,
        out: &mut Vec<u8>,
        emit: &mut crate::query::Emit<'_>,
    ) -> Result<u64, VisitError> {
        let _ = emit;
        self.visit(item, out)
    }

    /// Called after the last item of each JSON text: each line of JSON Lines, each JSON
    /// document (to flush items held for context, or to forget per-text state). Same
    /// contract as [`ItemVisitor::visit`].
    fn end_text(&mut self, out: &mut Vec<u8>) -> Result<u64, VisitError> {
        let _ = out;
        Ok(0)
    }

    /// How many items of the current JSON text the visitor has counted, when its errors
    /// number items (a [`crate::query::QueryError`]'s `item`). A document cut into pieces
    /// is visited by one fresh visitor per piece: the executor adds the counts of the
    /// pieces before to the item numbers of a piece's errors. The default: 0.
    fn text_items(&self) -> u64 {
        0
    }
}

impl<F> ItemVisitor for F
where
    F: FnMut(ItemRef<'_>, &mut Vec<u8>) -> Result<u64, VisitError> + Send,
{
    fn visit(&mut self, item: ItemRef<'_>, out: &mut Vec<u8>) -> Result<u64, VisitError> {
        self(item, out)
    }
}

/// What to do with a bad line (or document, or an item the visitor fails on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// End the run at the first one (in input order).
    #[default]
    Fail,
    /// Report it, count it, leave it out, go on.
    Skip,
}

/// Default of [`RunOptions::map_files_from`]: mapping and unmapping a smaller file costs
/// about what reading it does.
pub const DEFAULT_MAP_FILES_FROM: u64 = 1 << 20;

/// Settings of a run.
#[derive(Clone)]
pub struct RunOptions {
    /// Worker threads; 0: one per available core.
    pub threads: usize,
    /// Write output in input order (see the module docs).
    pub ordered: bool,
    /// Write at most this many output lines, then stop.
    pub limit: Option<u64>,
    /// Bad lines and documents: fail or skip.
    pub on_error: OnError,
    /// Stop after this many data errors were reported (with [`OnError::Skip`]).
    pub max_errors: Option<u64>,
    /// Size of the byte ranges big JSON Lines files are cut into (at least 1).
    pub range_size: u64,
    /// A plain JSON document file larger than this is cut into pieces of about this size
    /// that several workers scan at once, when more than one thread runs and the paths
    /// allow it (names and wildcards, all through the same first wildcard step); the
    /// answers are those of one sequential scan (see `docs/parallel.md`). 0: never.
    pub document_piece: u64,
    /// Item size and nesting limits; `max_item_size` also bounds a JSON Lines line.
    pub items: ItemsOptions,
    /// Paths whose bit is set only mark where their values are (see
    /// [`crate::Items::with_markers`]).
    pub markers: u64,
    /// Paths whose selected objects and arrays are handed over with their direct children
    /// as the scan found them (what the byte route of filters reads first; see
    /// `spate_json::Selector::record_children`).
    pub record_children: u64,
    /// Called on the calling thread as the run goes (a few times a second, and as output
    /// is written) with the bytes read so far; the front end decides whether to draw a bar.
    pub progress: Option<ProgressFn>,
    /// Stops the run when cancelled (from any thread): workers stop at the next item or
    /// line and the run ends with [`RunError::Cancelled`].
    pub cancel: Cancel,
    /// Plain (uncompressed) regular files of at least this many bytes are scanned in place,
    /// mapped, instead of read (see [`crate::mapped`]; answers are the same); `None`: every
    /// file is read. `SPATE_NO_MMAP=1` in the environment turns mapping off whatever this
    /// says. JSON documents (whole, or cut into pieces) and JSON Lines (whole, or in ranges).
    pub map_files_from: Option<u64>,
}

/// A progress callback (see [`RunOptions::progress`]).
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// How far a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Progress {
    /// Bytes read so far (decompressed for compressed inputs).
    pub bytes: u64,
    /// Size on disk of the inputs whose size is known (0 when none is, e.g. standard input).
    pub total_bytes: u64,
    /// Inputs done.
    pub files: u64,
}

impl fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunOptions")
            .field("threads", &self.threads)
            .field("ordered", &self.ordered)
            .field("limit", &self.limit)
            .field("on_error", &self.on_error)
            .field("max_errors", &self.max_errors)
            .field("range_size", &self.range_size)
            .field("document_piece", &self.document_piece)
            .field("items", &self.items)
            .field("markers", &self.markers)
            .field("record_children", &self.record_children)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .field("map_files_from", &self.map_files_from)
            .finish()
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            threads: 0,
            ordered: true,
            limit: None,
            on_error: OnError::Fail,
            max_errors: None,
            range_size: DEFAULT_RANGE_SIZE,
            document_piece: DEFAULT_DOCUMENT_PIECE,
            items: ItemsOptions::default(),
            markers: 0,
            record_children: 0,
            progress: None,
            cancel: Cancel::default(),
            map_files_from: Some(DEFAULT_MAP_FILES_FROM),
        }
    }
}

/// An error of a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// An input could not be read, or its data is invalid.
    #[error(transparent)]
    Input(#[from] Error),
    /// The visitor failed on an item.
    #[error("{input}{} (byte {offset}): {source}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Visit {
        /// The input's name.
        input: String,
        /// The line (JSON Lines only).
        line: Option<u64>,
        /// Byte offset of the item in the input.
        offset: u64,
        /// The visitor's error.
        source: VisitError,
    },
    /// The output could not be written.
    #[error("writing the output: {0}")]
    Output(#[source] io::Error),
    /// The run was cancelled through [`RunOptions::cancel`].
    #[error("the run was cancelled")]
    Cancelled,
    /// A visitor halted the run ([`Halt`]); the output before it was written.
    #[error("halted with exit code {}", .0.code)]
    Halted(Halt),
    /// The groups of an aggregation, merged, are more than the limit allows.
    #[error("the results fall into more than {limit} groups, the most an aggregation holds")]
    TooManyGroups {
        /// The limit.
        limit: usize,
    },
}

/// A visitor's request to end the run (as jq's `halt`): return it, boxed, as the error of
/// [`ItemVisitor::visit`]. Whatever [`RunOptions::on_error`] says, the output of the items
/// before it (in input order) is written, nothing after it, and the run returns
/// [`RunError::Halted`]. The process is not ended: the front end decides what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("halted with exit code {code}")]
pub struct Halt {
    /// The exit code asked for.
    pub code: i32,
}

impl RunError {
    /// True for invalid data (bad lines, documents, items the visitor rejected), false for
    /// I/O problems.
    pub fn is_invalid_data(&self) -> bool {
        match self {
            RunError::Input(e) => e.is_invalid_data(),
            RunError::Visit { .. } | RunError::TooManyGroups { .. } => true,
            RunError::Output(_) | RunError::Cancelled | RunError::Halted(_) => false,
        }
    }

    fn add_lines(&mut self, base: u64) {
        match self {
            RunError::Input(Error::Syntax { location, .. })
            | RunError::Input(Error::ItemTooLarge { location, .. }) => {
                location.position.line += base
            }
            RunError::Visit {
                line: Some(line), ..
            } => *line += base,
            _ => {}
        }
    }
}

/// Receives what a run reports, in input order, on the calling thread.
pub trait Observer {
    /// An error (an unreadable input, a bad line or document, an item the visitor rejected).
    fn error(&mut self, error: RunError);
    /// An input is done.
    fn input_done(&mut self, report: &InputReport<'_>) {
        let _ = report;
    }
}

/// What a run did with one input.
#[derive(Debug, Clone)]
pub struct InputReport<'a> {
    /// Index in [`Inputs::files`].
    pub index: usize,
    /// The input's name.
    pub name: &'a str,
    /// Its format, when it was opened.
    pub format: Option<Format>,
    /// Bytes read (decompressed).
    pub bytes: u64,
    /// Lines (JSON Lines).
    pub lines: u64,
    /// Items selected.
    pub items: u64,
    /// Errors reported for it.
    pub errors: u64,
    /// True when it could not be read, or ended at an error.
    pub failed: bool,
}

/// Totals of a run.
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    /// Inputs read to the end (or to the limit).
    pub files: u64,
    /// JSON Lines lines read (blank lines included).
    pub lines: u64,
    /// Items selected.
    pub items: u64,
    /// Output lines written.
    pub output_lines: u64,
    /// Bytes read (decompressed).
    pub bytes: u64,
    /// Wall time (in seconds when serialized).
    #[serde(serialize_with = "seconds")]
    pub elapsed: Duration,
    /// Bad lines and documents left out ([`OnError::Skip`]).
    pub skipped: u64,
    /// Items the visitor failed on and that were left out ([`OnError::Skip`]).
    pub skipped_items: u64,
    /// Inputs that could not be opened or read.
    pub io_errors: u64,
    /// Errors of [`run`] (with [`run_with`] they go to the observer instead); serialized
    /// as their messages.
    #[serde(serialize_with = "messages")]
    pub errors: Vec<RunError>,
    /// Per path: whether it selected anything.
    pub path_matched: Vec<bool>,
    /// True when the run stopped before the end (limit, error, `max_errors`).
    pub stopped_early: bool,
    /// Worker threads used.
    pub threads: usize,
    /// Tasks the inputs were cut into.
    pub tasks: usize,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn messages<S: serde::Serializer>(errors: &[RunError], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(errors.iter().map(|e| e.to_string()))
}

/// Receives the output of a run, in order: blocks of whole lines (each ending in `\n`),
/// each block with its number of lines. A block never holds part of a line, so a sink
/// that turns lines into values needs no buffer of its own.
pub trait LineSink {
    /// Takes `count` whole lines.
    fn write_lines(&mut self, lines: &[u8], count: u64) -> io::Result<()>;
    /// Called once at the end of the run.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A [`Write`] as a [`LineSink`]: the lines are written as they are.
#[derive(Debug)]
pub struct WriteLines<W>(pub W);

impl<W: Write> LineSink for WriteLines<W> {
    fn write_lines(&mut self, lines: &[u8], _count: u64) -> io::Result<()> {
        self.0.write_all(lines)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Summary {
    /// Read throughput in MB/s (10^6 bytes).
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64().max(1e-9) / 1e6
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} files, {} lines, {} items, {} output lines, {} bytes in {:.3} s ({:.0} MB/s, {} threads, {} tasks)",
            self.files,
            self.lines,
            self.items,
            self.output_lines,
            self.bytes,
            self.elapsed.as_secs_f64(),
            self.mb_per_s(),
            self.threads,
            self.tasks
        )?;
        if self.skipped > 0 || self.skipped_items > 0 {
            write!(f, "; skipped {} bad lines/documents", self.skipped)?;
            if self.skipped_items > 0 {
                write!(f, " and {} items", self.skipped_items)?;
            }
        }
        Ok(())
    }
}

/// Runs `inputs` through visitors made by `make_visitor` (one per worker), writing their
/// output to `out`; errors are collected in [`Summary::errors`]. In [`OnError::Fail`]
/// mode the first data error ends the run and is returned.
pub fn run<V, F>(
    inputs: &Inputs,
    paths: &[Path],
    options: &RunOptions,
    make_visitor: F,
    out: &mut dyn Write,
) -> Result<(Vec<V>, Summary), RunError>
where
    V: ItemVisitor,
    F: Fn() -> V + Sync,
{
    let mut collect = Collect(Vec::new());
    let (visitors, mut summary) =
        run_with(inputs, paths, options, make_visitor, out, &mut collect)?;
    summary.errors = collect.0;
    Ok((visitors, summary))
}

struct Collect(Vec<RunError>);

impl Observer for Collect {
    fn error(&mut self, error: RunError) {
        self.0.push(error);
    }
}

/// [`run`], reporting errors and finished inputs to `observer` as they happen (in input
/// order).
pub fn run_with<V, F>(
    inputs: &Inputs,
    paths: &[Path],
    options: &RunOptions,
    make_visitor: F,
    out: &mut dyn Write,
    observer: &mut dyn Observer,
) -> Result<(Vec<V>, Summary), RunError>
where
    V: ItemVisitor,
    F: Fn() -> V + Sync,
{
    let mut sink = WriteLines(out);
    run_into(inputs, paths, options, make_visitor, &mut sink, observer)
}

/// [`run_with`], handing the output to a [`LineSink`] in blocks of whole lines.
pub fn run_into<V, F>(
    inputs: &Inputs,
    paths: &[Path],
    options: &RunOptions,
    make_visitor: F,
    out: &mut dyn LineSink,
    observer: &mut dyn Observer,
) -> Result<(Vec<V>, Summary), RunError>
where
    V: ItemVisitor,
    F: Fn() -> V + Sync,
{
    let started = Instant::now();
    if paths.len() > spate_json::MAX_PATHS {
        return Err(RunError::Input(Error::TooManyPaths {
            max: spate_json::MAX_PATHS,
            given: paths.len(),
        }));
    }
    let wanted = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let tasks = plan::plan(inputs, options, paths, wanted);
    let threads = wanted.clamp(1, tasks.len().max(1));
    tracing::debug!(
        inputs = inputs.files.len(),
        tasks = tasks.len(),
        threads,
        range_size = options.range_size,
        "planned"
    );
    let shared = Shared {
        inputs,
        tasks: &tasks,
        paths,
        options,
        next: AtomicUsize::new(0),
        cutoff: AtomicUsize::new(usize::MAX),
        stop: AtomicBool::new(false),
        bytes: AtomicU64::new(0),
        budget: Budget::new(),
        spare: worker::Spare::default(),
        confirmed: tasks
            .iter()
            .map(|t| AtomicBool::new(t.piece.as_ref().is_none_or(|p| p.index == 0)))
            .collect(),
        void: tasks.iter().map(|_| AtomicBool::new(false)).collect(),
    };
    // Bounded: the task being written never waits for the budget, so when the merger is
    // slower than its worker (a slow reader of the output, millions of errors to print)
    // it is this queue that makes the worker wait. Every message is at most a block (and
    // one item) long.
    let (sender, receiver) = crossbeam_channel::bounded(4 * threads);
    let (merged, workers) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|w| {
                let sender = sender.clone();
                let shared = &shared;
                let make_visitor = &make_visitor;
                std::thread::Builder::new()
                    .name(format!("spate-worker-{w}"))
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(scope, move || {
                        Worker::new(shared, make_visitor, sender, w).run()
                    })
                    .expect("a worker thread starts")
            })
            .collect();
        drop(sender);
        let mut merger = Merger::new(&shared, out, observer);
        let merged = merger.run(&receiver);
        // Whatever happened, let the workers finish.
        shared.stop();
        drop(receiver);
        let workers: Vec<WorkerResult<V>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        (merged.and_then(|()| merger.finish()), workers)
    });
    let Merged {
        mut summary,
        fatal,
        cancelled,
        kept,
        matched,
    } = merged?;
    let matched = workers.iter().fold(matched, |m, w| m | w.matched);
    summary.path_matched = (0..paths.len()).map(|i| matched >> i & 1 == 1).collect();
    summary.elapsed = started.elapsed();
    summary.threads = threads;
    summary.tasks = tasks.len();
    tracing::debug!(
        elapsed_ms = summary.elapsed.as_millis() as u64,
        bytes = summary.bytes,
        items = summary.items,
        lines = summary.lines,
        "run done"
    );
    if let Some(e) = fatal {
        return Err(e);
    }
    if cancelled {
        return Err(RunError::Cancelled);
    }
    // The visitors of document pieces follow the workers', in document order: only those
    // of the pieces the merger kept (void pieces' partials are dropped).
    let mut pieces = Vec::new();
    let mut visitors = Vec::with_capacity(workers.len());
    for w in workers {
        visitors.push(w.visitor);
        pieces.extend(w.pieces.into_iter().filter(|(t, _)| kept.contains(t)));
    }
    pieces.sort_by_key(|(t, _)| *t);
    visitors.extend(pieces.into_iter().map(|(_, v)| v));
    Ok((visitors, summary))
}
