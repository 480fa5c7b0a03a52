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

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use spate_json::{Path, ScanOptions};

use crate::buffer::BufferSelector;
use crate::error::Error;
use crate::inputs::{read_head, sniff, Compression, Format, InputFile, Inputs};
use crate::items::{ItemRef, Items, ItemsOptions};
use crate::jsonl::{self, Lines, LinesOptions};
use crate::source;

/// Default size of the byte ranges one big JSON Lines file is cut into. It does not depend
/// on the number of threads, so every thread count cuts the same tasks.
pub const DEFAULT_RANGE_SIZE: u64 = 8 << 20;
/// A worker hands its output over in blocks of about this many bytes.
pub const BLOCK: usize = 256 * 1024;
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

    /// Called after the last item of each JSON text: each line of JSON Lines, each JSON
    /// document (to flush items held for context, or to forget per-text state). Same
    /// contract as [`ItemVisitor::visit`].
    fn end_text(&mut self, out: &mut Vec<u8>) -> Result<u64, VisitError> {
        let _ = out;
        Ok(0)
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

/// Settings of a run.
#[derive(Debug, Clone)]
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
    /// Item size and nesting limits; `max_item_size` also bounds a JSON Lines line.
    pub items: ItemsOptions,
    /// Paths whose bit is set only mark where their values are (see
    /// [`crate::Items::with_markers`]).
    pub markers: u64,
    /// Draw a progress bar on standard error.
    pub progress: bool,
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
            items: ItemsOptions::default(),
            markers: 0,
            progress: false,
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
}

impl RunError {
    /// True for invalid data (bad lines, documents, items the visitor rejected), false for
    /// I/O problems.
    pub fn is_invalid_data(&self) -> bool {
        match self {
            RunError::Input(e) => e.is_invalid_data(),
            RunError::Visit { .. } => true,
            RunError::Output(_) => false,
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
#[derive(Debug, Default)]
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
    /// Wall time.
    pub elapsed: Duration,
    /// Bad lines and documents left out ([`OnError::Skip`]).
    pub skipped: u64,
    /// Items the visitor failed on and that were left out ([`OnError::Skip`]).
    pub skipped_items: u64,
    /// Inputs that could not be opened or read.
    pub io_errors: u64,
    /// Errors of [`run`] (with [`run_with`] they go to the observer instead).
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
    let started = Instant::now();
    if paths.len() > spate_json::MAX_PATHS {
        return Err(RunError::Input(Error::TooManyPaths {
            max: spate_json::MAX_PATHS,
            given: paths.len(),
        }));
    }
    let tasks = plan(inputs, options);
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, tasks.len().max(1));
    tracing::debug!(
        inputs = inputs.files.len(),
        tasks = tasks.len(),
        threads,
        range_size = options.range_size,
        "planned"
    );
    let progress = options.progress.then(|| progress_bar(inputs));
    let shared = Shared {
        inputs,
        tasks: &tasks,
        paths,
        options,
        next: AtomicUsize::new(0),
        cutoff: AtomicUsize::new(usize::MAX),
        stop: AtomicBool::new(false),
        bytes: AtomicU64::new(0),
        budget: Budget::new(options.ordered),
    };
    let (sender, receiver) = crossbeam_channel::unbounded();
    let outcome = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|w| {
                let sender = sender.clone();
                let shared = &shared;
                let make_visitor = &make_visitor;
                scope.spawn(move || Worker::new(shared, make_visitor(), sender, w).run())
            })
            .collect();
        drop(sender);
        let mut merger = Merger::new(&shared, out, observer, progress.as_ref());
        let merged = merger.run(&receiver);
        // Whatever happened, let the workers finish.
        shared.stop();
        drop(receiver);
        let workers: Vec<(V, u64)> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        (merged.and_then(|()| merger.finish()), workers)
    });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let (merged, workers) = outcome;
    let (mut summary, fatal) = merged?;
    let matched = workers.iter().fold(0u64, |m, (_, w)| m | w);
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
    Ok((workers.into_iter().map(|(v, _)| v).collect(), summary))
}

fn progress_bar(inputs: &Inputs) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(inputs.total_len()),
        indicatif::ProgressDrawTarget::stderr(),
    );
    let style = indicatif::ProgressStyle::with_template(
        "{bar:30} {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} {msg} [{elapsed}]",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// One unit of work.
#[derive(Debug, Clone)]
struct Task {
    input: usize,
    /// `None`: the whole input; else the byte range of the lines it owns (`end` is `None`
    /// for the last range, which reads to the end).
    range: Option<(u64, Option<u64>)>,
    /// Known format (forced, by name, or sniffed while planning).
    format: Option<Format>,
    last_of_input: bool,
}

/// Cuts the inputs into tasks. Only plain JSON Lines files larger than the range size are
/// cut; the format of a large file with an undecided format is sniffed here.
fn plan(inputs: &Inputs, options: &RunOptions) -> Vec<Task> {
    let range = options.range_size.max(1);
    let mut tasks = Vec::with_capacity(inputs.files.len());
    for (i, file) in inputs.files.iter().enumerate() {
        let whole = Task {
            input: i,
            range: None,
            format: file.format,
            last_of_input: true,
        };
        let splittable = !file.is_stdin()
            && file.compression == Compression::None
            && file.format != Some(Format::Json)
            && file.len.is_some_and(|len| len > range);
        if !splittable {
            tasks.push(whole);
            continue;
        }
        let len = file.len.unwrap_or(0);
        let format = match (file.format, sniff_plain(file)) {
            // Compressed despite its name, or unreadable: one task, which reports it.
            (_, None) => {
                tasks.push(whole);
                continue;
            }
            (Some(f), Some(_)) => f,
            (None, Some(f)) => f,
        };
        if format != Format::Jsonl {
            tasks.push(Task {
                format: Some(format),
                ..whole
            });
            continue;
        }
        let mut start = 0;
        while start < len {
            let end = start.saturating_add(range);
            let last = end >= len;
            tasks.push(Task {
                input: i,
                range: Some((start, if last { None } else { Some(end) })),
                format: Some(Format::Jsonl),
                last_of_input: last,
            });
            start = end;
        }
    }
    tasks
}

/// The sniffed format of a file when it is not compressed; `None` when it is (by magic
/// bytes) or cannot be read.
fn sniff_plain(file: &InputFile) -> Option<Format> {
    let mut f = File::open(&file.path).ok()?;
    let head = read_head(&mut f).ok()?;
    if head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return None;
    }
    Some(file.format.unwrap_or_else(|| sniff(&head)))
}

/// State shared by the workers and the merger.
struct Shared<'a> {
    inputs: &'a Inputs,
    tasks: &'a [Task],
    paths: &'a [Path],
    options: &'a RunOptions,
    /// Next task to take.
    next: AtomicUsize,
    /// Tasks after this one are not needed (an error or the limit was reached in it).
    cutoff: AtomicUsize,
    /// Everything stops.
    stop: AtomicBool,
    /// Bytes read so far (for the progress bar).
    bytes: AtomicU64,
    budget: Budget,
}

impl Shared<'_> {
    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.budget.wake();
    }

    fn should_stop(&self, task: usize) -> bool {
        self.stop.load(Ordering::Relaxed) || task > self.cutoff.load(Ordering::Relaxed)
    }
}

/// Bounds the output held for tasks the merger cannot write yet.
struct Budget {
    ordered: bool,
    state: Mutex<BudgetState>,
    changed: Condvar,
}

struct BudgetState {
    /// The task the merger writes now (ordered mode).
    head: usize,
    held: usize,
    stopped: bool,
}

impl Budget {
    fn new(ordered: bool) -> Self {
        Budget {
            ordered,
            state: Mutex::new(BudgetState {
                head: 0,
                held: 0,
                stopped: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// Takes `n` bytes of budget for a block of `task`, waiting while the budget is spent
    /// (never for the task being written).
    fn take(&self, task: usize, n: usize) {
        if n == 0 {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while !s.stopped && s.held > OUTPUT_BUDGET && !(self.ordered && s.head == task) {
            s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.held += n;
    }

    fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.held = s.held.saturating_sub(n);
        self.changed.notify_all();
    }

    fn advance(&self, head: usize) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.head = head;
        self.changed.notify_all();
    }

    fn wake(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.stopped = true;
        self.changed.notify_all();
    }
}

/// What workers send to the merger.
enum Msg {
    /// A block of output lines of a task (more follow).
    Block {
        task: usize,
        bytes: Vec<u8>,
        lines: u64,
    },
    /// A task is over: its last output and its report.
    Done {
        task: usize,
        bytes: Vec<u8>,
        lines: u64,
        report: TaskReport,
    },
}

/// What one task did. Line numbers in its errors count from the task's first line.
#[derive(Debug, Default)]
struct TaskReport {
    format: Option<Format>,
    bytes: u64,
    lines: u64,
    items: u64,
    skipped: u64,
    skipped_items: u64,
    /// Errors, each with the number of lines the task had output before it.
    errors: Vec<(RunError, u64)>,
    io_error: bool,
    /// The error that ends the run (fail mode), with the task's output lines before it.
    fatal: Option<(RunError, u64)>,
    /// Stopped before its end (limit, stop).
    cut: bool,
}

/// One worker: its visitor, its selector and buffers, reused from task to task.
struct Worker<'s, 'a, V> {
    shared: &'s Shared<'a>,
    visitor: V,
    sender: Sender<Msg>,
    selector: Option<BufferSelector>,
    buf: Vec<u8>,
    out: Vec<u8>,
    out_lines: u64,
    /// Lines output by the current task.
    task_lines: u64,
    spans: Vec<(u64, usize, usize)>,
    matched: u64,
    id: usize,
}

impl<'s, 'a, V: ItemVisitor> Worker<'s, 'a, V> {
    fn new(shared: &'s Shared<'a>, visitor: V, sender: Sender<Msg>, id: usize) -> Self {
        Worker {
            shared,
            visitor,
            sender,
            selector: None,
            buf: Vec::new(),
            out: Vec::new(),
            out_lines: 0,
            task_lines: 0,
            spans: Vec::new(),
            matched: 0,
            id,
        }
    }

    fn run(mut self) -> (V, u64) {
        loop {
            let t = self.shared.next.fetch_add(1, Ordering::Relaxed);
            if t >= self.shared.tasks.len() || self.shared.should_stop(t) {
                break;
            }
            let started = Instant::now();
            self.task_lines = 0;
            let report = self.run_task(t);
            tracing::debug!(
                worker = self.id,
                task = t,
                input = %self.shared.inputs.files[self.shared.tasks[t].input].name,
                range = ?self.shared.tasks[t].range,
                bytes = report.bytes,
                lines = report.lines,
                items = report.items,
                micros = started.elapsed().as_micros() as u64,
                "task done"
            );
            let bytes = std::mem::take(&mut self.out);
            let lines = std::mem::take(&mut self.out_lines);
            // The last output of a task counts against the budget too: thousands of small
            // inputs done while the oldest one is still running must not pile up unbounded.
            self.shared.budget.take(t, bytes.len());
            if self
                .sender
                .send(Msg::Done {
                    task: t,
                    bytes,
                    lines,
                    report,
                })
                .is_err()
            {
                break;
            }
        }
        if let Some(sel) = &self.selector {
            for i in 0..self.shared.paths.len() {
                if sel.path_matched(i) {
                    self.matched |= 1 << i;
                }
            }
        }
        (self.visitor, self.matched)
    }

    /// Hands a full block of output to the merger.
    fn flush(&mut self, task: usize) {
        if self.out.len() < BLOCK {
            return;
        }
        let bytes = std::mem::take(&mut self.out);
        let lines = std::mem::take(&mut self.out_lines);
        self.shared.budget.take(task, bytes.len());
        // A closed channel means the merger is gone: the stop flag ends the task.
        let _ = self.sender.send(Msg::Block { task, bytes, lines });
    }

    /// Counts `n` output lines of task `t`; true when the task has output enough (the
    /// limit is reached by this task alone, so no later task is needed either).
    fn count_output(&mut self, t: usize, n: u64) -> bool {
        self.out_lines += n;
        self.task_lines += n;
        match self.shared.options.limit {
            Some(limit) if self.task_lines >= limit => {
                if self.shared.options.ordered {
                    self.shared.cutoff.fetch_min(t, Ordering::Relaxed);
                }
                true
            }
            _ => false,
        }
    }

    fn run_task(&mut self, t: usize) -> TaskReport {
        let task = &self.shared.tasks[t];
        let file = &self.shared.inputs.files[task.input];
        let mut report = TaskReport {
            format: task.format,
            ..TaskReport::default()
        };
        match task.range {
            Some((start, end)) => {
                let from = start.saturating_sub(1);
                let opened = File::open(&file.path).and_then(|mut f| {
                    f.seek(SeekFrom::Start(from))?;
                    Ok(f)
                });
                match opened {
                    Ok(f) => {
                        let options = LinesOptions {
                            offset: from,
                            end,
                            skip_partial_line: start > 0,
                            max_line: self.shared.options.items.max_item_size,
                            ..LinesOptions::default()
                        };
                        self.lines(t, &file.name, f, options, &mut report);
                    }
                    Err(source) => self.io_error(&file.name, source, &mut report),
                }
            }
            None => match source::open(&file.path) {
                Ok(input) => {
                    let mut reader = input.reader;
                    let format = match task.format {
                        Some(f) => f,
                        None => match read_head(&mut reader) {
                            Ok(head) => {
                                let f = sniff(&head);
                                reader = Box::new(io::Cursor::new(head).chain(reader));
                                f
                            }
                            Err(source) => {
                                self.io_error(&file.name, source, &mut report);
                                return report;
                            }
                        },
                    };
                    report.format = Some(format);
                    match format {
                        Format::Jsonl => {
                            let options = LinesOptions {
                                max_line: self.shared.options.items.max_item_size,
                                ..LinesOptions::default()
                            };
                            self.lines(t, &input.name, reader, options, &mut report);
                        }
                        Format::Json => self.document(t, &input.name, reader, &mut report),
                    }
                }
                Err(e) => {
                    report.io_error = true;
                    report.errors.push((RunError::Input(e), self.task_lines));
                }
            },
        }
        report
    }

    fn io_error(&self, name: &str, source: io::Error, report: &mut TaskReport) {
        report.io_error = true;
        let error = RunError::Input(Error::Io {
            input: name.to_owned(),
            source,
        });
        report.errors.push((error, self.task_lines));
    }

    /// Records a data error: fatal in fail mode, counted and reported in skip mode.
    fn data_error(&self, t: usize, error: RunError, report: &mut TaskReport) -> ControlFlow<()> {
        match self.shared.options.on_error {
            OnError::Fail => {
                self.shared.cutoff.fetch_min(t, Ordering::Relaxed);
                report.fatal = Some((error, self.task_lines));
                ControlFlow::Break(())
            }
            OnError::Skip => {
                report.errors.push((error, self.task_lines));
                ControlFlow::Continue(())
            }
        }
    }

    fn lines<R: Read>(
        &mut self,
        t: usize,
        name: &str,
        reader: R,
        options: LinesOptions,
        report: &mut TaskReport,
    ) {
        let max_line = options.max_line;
        let mut lines = Lines::with_buffer(reader, options, std::mem::take(&mut self.buf));
        let mut selector = match self.selector.take() {
            Some(s) => s,
            None => match BufferSelector::with_markers(
                self.shared.paths.to_vec(),
                self.shared.options.markers,
                ScanOptions {
                    max_depth: self.shared.options.items.max_depth,
                    multiple_values: false,
                },
            ) {
                Ok(s) => s,
                // Path count was checked before the run.
                Err(e) => {
                    report.fatal = Some((RunError::Input(e), 0));
                    return;
                }
            },
        };
        let mut reported = 0u64;
        loop {
            let line = match lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(source) => {
                    self.io_error(name, source, report);
                    break;
                }
            };
            if self.shared.should_stop(t) {
                report.cut = true;
                break;
            }
            if line.is_blank() {
                continue;
            }
            // Validate the whole line first: a bad line gives the visitor nothing.
            self.spans.clear();
            let spans = &mut self.spans;
            let selected = jsonl::select_line(&mut selector, name, &line, max_line, |item| {
                spans.push((item.offset(), item.raw().len(), item.path_index()));
                ControlFlow::Continue(())
            });
            if let Err(e) = selected {
                report.skipped += 1;
                if self.data_error(t, RunError::Input(e), report).is_break() {
                    break;
                }
                continue;
            }
            let mut done = false;
            for i in 0..self.spans.len() {
                let (start, len, path) = self.spans[i];
                let bytes = &line.text[start as usize..start as usize + len];
                let item = ItemRef::new(bytes, path, line.offset + start);
                report.items += 1;
                match self.visitor.visit(item, &mut self.out) {
                    Ok(n) => done |= self.count_output(t, n),
                    Err(source) => {
                        report.skipped_items += 1;
                        let error = RunError::Visit {
                            input: name.to_owned(),
                            line: Some(line.number),
                            offset: line.offset + start,
                            source,
                        };
                        if self.data_error(t, error, report).is_break() {
                            done = true;
                            report.skipped_items -= 1;
                            break;
                        }
                    }
                }
                if done {
                    break;
                }
            }
            if report.fatal.is_none() {
                match self.visitor.end_text(&mut self.out) {
                    Ok(n) => done |= self.count_output(t, n),
                    Err(source) => {
                        let error = RunError::Visit {
                            input: name.to_owned(),
                            line: Some(line.number),
                            offset: line.offset,
                            source,
                        };
                        done |= self.data_error(t, error, report).is_break();
                    }
                }
            }
            if done || report.fatal.is_some() {
                report.cut = report.fatal.is_none();
                break;
            }
            let read = lines.bytes_read();
            if read - reported >= 1 << 20 {
                self.shared
                    .bytes
                    .fetch_add(read - reported, Ordering::Relaxed);
                reported = read;
            }
            self.flush(t);
        }
        report.lines = lines.line_count();
        report.bytes = lines.line_bytes();
        self.shared.bytes.fetch_add(
            lines.bytes_read().saturating_sub(reported),
            Ordering::Relaxed,
        );
        self.selector = Some(selector);
        self.buf = lines.into_buffer();
        if self.buf.capacity() > 4 * jsonl::DEFAULT_READ_SIZE {
            // A long line grew it: do not keep that much for every later input.
            self.buf = Vec::new();
        }
    }

    fn document(
        &mut self,
        t: usize,
        name: &str,
        reader: Box<dyn Read + Send>,
        report: &mut TaskReport,
    ) {
        let options = ItemsOptions {
            multiple_values: false,
            ..self.shared.options.items
        };
        let mut items = match Items::with_markers(
            reader,
            name,
            self.shared.paths.to_vec(),
            self.shared.options.markers,
            options,
        ) {
            Ok(items) => items,
            Err(e) => {
                report.fatal = Some((RunError::Input(e), 0));
                return;
            }
        };
        let mut reported = 0u64;
        let mut ended = true;
        loop {
            if self.shared.should_stop(t) {
                report.cut = true;
                ended = false;
                break;
            }
            let item = match items.next_item() {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(e) => {
                    ended = false;
                    if matches!(e, Error::Io { .. }) && !e.is_invalid_data() {
                        report.io_error = true;
                        report.errors.push((RunError::Input(e), self.task_lines));
                    } else {
                        report.skipped += 1;
                        let _ = self.data_error(t, RunError::Input(e), report);
                    }
                    break;
                }
            };
            report.items += 1;
            let offset = item.offset();
            match self.visitor.visit(item, &mut self.out) {
                Ok(n) => {
                    if self.count_output(t, n) {
                        report.cut = true;
                        ended = false;
                        break;
                    }
                }
                Err(source) => {
                    report.skipped_items += 1;
                    let error = RunError::Visit {
                        input: name.to_owned(),
                        line: None,
                        offset,
                        source,
                    };
                    if self.data_error(t, error, report).is_break() {
                        report.skipped_items -= 1;
                        ended = false;
                        break;
                    }
                }
            }
            let read = items.bytes_scanned();
            if read - reported >= 1 << 20 {
                self.shared
                    .bytes
                    .fetch_add(read - reported, Ordering::Relaxed);
                reported = read;
            }
            self.flush(t);
        }
        if ended {
            match self.visitor.end_text(&mut self.out) {
                Ok(n) => {
                    self.count_output(t, n);
                }
                Err(source) => {
                    let error = RunError::Visit {
                        input: name.to_owned(),
                        line: None,
                        offset: items.bytes_scanned(),
                        source,
                    };
                    let _ = self.data_error(t, error, report);
                }
            }
        }
        report.bytes = items.bytes_scanned();
        self.shared
            .bytes
            .fetch_add(report.bytes.saturating_sub(reported), Ordering::Relaxed);
        for i in 0..self.shared.paths.len() {
            if items.path_matched(i) {
                self.matched |= 1 << i;
            }
        }
    }
}

/// Output of a task not written yet.
#[derive(Default)]
struct Pending {
    blocks: VecDeque<(Vec<u8>, u64)>,
    done: Option<(Vec<u8>, u64, TaskReport)>,
}

/// Writes output in order (or as it comes), reports errors in order.
struct Merger<'m, 's, 'a> {
    shared: &'s Shared<'a>,
    out: &'m mut dyn Write,
    observer: &'m mut dyn Observer,
    progress: Option<&'m indicatif::ProgressBar>,
    /// Tasks in flight (started, not yet finished in order), by number.
    pending: BTreeMap<usize, Pending>,
    head: usize,
    written: u64,
    /// No more output is written (limit reached, or the run failed).
    closed: bool,
    /// The limit was reached in the output of the task at `head`.
    limit_reached: bool,
    /// Lines written before the task at `head`.
    task_base: u64,
    summary: Summary,
    fatal: Option<RunError>,
    /// Lines of the current input in finished tasks (to make line numbers absolute).
    input_lines: u64,
    /// The current input's totals.
    current: InputTotals,
    data_errors: u64,
}

#[derive(Default)]
struct InputTotals {
    bytes: u64,
    items: u64,
    errors: u64,
    failed: bool,
    format: Option<Format>,
}

impl<'m, 's, 'a> Merger<'m, 's, 'a> {
    fn new(
        shared: &'s Shared<'a>,
        out: &'m mut dyn Write,
        observer: &'m mut dyn Observer,
        progress: Option<&'m indicatif::ProgressBar>,
    ) -> Self {
        Merger {
            shared,
            out,
            observer,
            progress,
            pending: BTreeMap::new(),
            head: 0,
            written: 0,
            closed: false,
            limit_reached: false,
            task_base: 0,
            summary: Summary::default(),
            fatal: None,
            input_lines: 0,
            current: InputTotals::default(),
            data_errors: 0,
        }
    }

    fn run(&mut self, receiver: &Receiver<Msg>) -> Result<(), RunError> {
        let ordered = self.shared.options.ordered;
        loop {
            let msg = match self.progress {
                Some(bar) => match receiver.recv_timeout(Duration::from_millis(100)) {
                    Ok(msg) => msg,
                    Err(RecvTimeoutError::Timeout) => {
                        bar.set_position(self.shared.bytes.load(Ordering::Relaxed));
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match receiver.recv() {
                    Ok(msg) => msg,
                    Err(_) => break,
                },
            };
            match msg {
                Msg::Block { task, bytes, lines } => {
                    if ordered {
                        self.pending
                            .entry(task)
                            .or_default()
                            .blocks
                            .push_back((bytes, lines));
                    } else {
                        let n = bytes.len();
                        self.emit(&bytes, lines)?;
                        self.shared.budget.release(n);
                    }
                }
                Msg::Done {
                    task,
                    bytes,
                    lines,
                    report,
                } => {
                    if ordered {
                        self.pending.entry(task).or_default().done = Some((bytes, lines, report));
                    } else {
                        let n = bytes.len();
                        let written = self.emit(&bytes, lines);
                        self.shared.budget.release(n);
                        written?;
                        self.pending.entry(task).or_default().done = Some((Vec::new(), 0, report));
                    }
                }
            }
            self.advance()?;
            if let Some(bar) = self.progress {
                bar.set_position(self.shared.bytes.load(Ordering::Relaxed));
            }
        }
        Ok(())
    }

    /// Writes and finishes the tasks that can be, in order. Once the run is closed (limit,
    /// failure, `max_errors`), later tasks are neither written nor reported: what a
    /// sequential run would not have reached stays out, whatever the timing.
    fn advance(&mut self) -> Result<(), RunError> {
        while !self.closed {
            let head = self.head;
            let Some(pending) = self.pending.get_mut(&head) else {
                return Ok(());
            };
            let blocks = std::mem::take(&mut pending.blocks);
            let done = pending.done.take();
            if done.is_some() {
                self.pending.remove(&head);
            }
            for (bytes, lines) in blocks {
                let n = bytes.len();
                let written = self.emit(&bytes, lines);
                self.shared.budget.release(n);
                written?;
            }
            let Some((bytes, lines, report)) = done else {
                return Ok(());
            };
            let written = self.emit(&bytes, lines);
            self.shared.budget.release(bytes.len());
            written?;
            self.finish_task(head, report);
            self.head += 1;
            self.task_base = self.written;
            self.shared.budget.advance(self.head);
        }
        Ok(())
    }

    fn emit(&mut self, bytes: &[u8], lines: u64) -> Result<(), RunError> {
        if self.closed || bytes.is_empty() {
            return Ok(());
        }
        let (bytes, lines) = match self.shared.options.limit {
            Some(limit) if self.written + lines >= limit => {
                let keep = limit - self.written;
                let cut = memchr::memchr_iter(b'\n', bytes)
                    .nth((keep as usize).saturating_sub(1))
                    .map_or(bytes.len(), |i| i + 1);
                self.closed = true;
                self.limit_reached = true;
                self.summary.stopped_early = true;
                self.shared.stop();
                (
                    if keep == 0 {
                        &bytes[..0]
                    } else {
                        &bytes[..cut]
                    },
                    keep,
                )
            }
            _ => (bytes, lines),
        };
        self.written += lines;
        self.out.write_all(bytes).map_err(|e| {
            self.closed = true;
            self.shared.stop();
            RunError::Output(e)
        })
    }

    fn finish_task(&mut self, t: usize, mut report: TaskReport) {
        let task = &self.shared.tasks[t];
        let s = &mut self.summary;
        s.bytes += report.bytes;
        s.lines += report.lines;
        s.items += report.items;
        s.skipped += report.skipped;
        s.skipped_items += report.skipped_items;
        if report.io_error {
            s.io_errors += 1;
        }
        let c = &mut self.current;
        c.bytes += report.bytes;
        c.items += report.items;
        c.format = c.format.or(report.format);
        c.failed |= report.io_error || report.fatal.is_some();
        // In the task where the limit was reached, only what came before the last line
        // written counts (a worker may have gone further before it saw the stop).
        let horizon = match self.shared.options.limit {
            Some(limit) if self.limit_reached => limit - self.task_base,
            _ => u64::MAX,
        };
        let errors = std::mem::take(&mut report.errors);
        for (mut e, at) in errors {
            let full = (self.shared.options.max_errors).is_some_and(|m| self.data_errors >= m);
            if at >= horizon || full {
                // After the limit, or once `max_errors` were reported.
                continue;
            }
            e.add_lines(self.input_lines);
            self.current.errors += 1;
            let data = e.is_invalid_data();
            self.observer.error(e);
            if data {
                self.data_errors += 1;
                if self
                    .shared
                    .options
                    .max_errors
                    .is_some_and(|max| self.data_errors >= max)
                {
                    self.summary.stopped_early = true;
                    self.closed = true;
                    self.shared.stop();
                }
            }
        }
        if let Some((mut e, _)) = report.fatal.take().filter(|(_, at)| *at < horizon) {
            e.add_lines(self.input_lines);
            self.current.errors += 1;
            self.fatal = Some(e);
            self.summary.stopped_early = true;
            self.closed = true;
            self.shared.stop();
        }
        self.input_lines += report.lines;
        if report.cut {
            self.summary.stopped_early = true;
        }
        if task.last_of_input || self.fatal.is_some() {
            let c = std::mem::take(&mut self.current);
            let name = &self.shared.inputs.files[task.input].name;
            if !report.io_error {
                self.summary.files += 1;
            }
            self.observer.input_done(&InputReport {
                index: task.input,
                name,
                format: c.format,
                bytes: c.bytes,
                lines: self.input_lines,
                items: c.items,
                errors: c.errors,
                failed: c.failed,
            });
            self.input_lines = 0;
            if let Some(bar) = self.progress {
                bar.set_message(format!("{} files", self.summary.files));
            }
        }
    }

    fn finish(&mut self) -> Result<(Summary, Option<RunError>), RunError> {
        self.out.flush().map_err(RunError::Output)?;
        self.summary.output_lines = self.written;
        Ok((std::mem::take(&mut self.summary), self.fatal.take()))
    }
}
