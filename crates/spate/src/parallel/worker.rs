//! The workers: each takes the next task, reads its JSON Lines lines or JSON document,
//! hands every selected item to its visitor, and sends its output to the merger in blocks.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use crossbeam_channel::Sender;
use spate_json::{Path, ScanOptions};

use super::budget::Budget;
use super::plan::{ByteRange, Task};
use super::split::Piece;
use super::{ItemVisitor, OnError, RunError, RunOptions, BLOCK};
use crate::buffer::BufferSelector;
use crate::error::Error;
use crate::inputs::{Format, Inputs};
use crate::items::{ItemRef, Items, ItemsOptions, Resume};
use crate::jsonl::{self, Lines, LinesOptions};
use crate::source;

/// State shared by the workers and the merger.
pub(super) struct Shared<'a> {
    pub inputs: &'a Inputs,
    pub tasks: &'a [Task],
    pub paths: &'a [Path],
    pub options: &'a RunOptions,
    /// Next task to take.
    pub next: AtomicUsize,
    /// Tasks after this one are not needed (an error or the limit was reached in it).
    pub cutoff: AtomicUsize,
    /// Everything stops.
    pub stop: AtomicBool,
    /// Bytes read so far (for progress reports).
    pub bytes: AtomicU64,
    pub budget: Budget,
    /// Emptied output buffers the merger gave back, for the workers' next blocks.
    pub spare: Spare,
    /// Per task: its start is known to be in the sequential scan's state (every task but
    /// the pieces of a cut document from the start; a piece once the piece before it
    /// reached its start in the assumed state).
    pub confirmed: Vec<AtomicBool>,
    /// Per task: a piece whose start was passed in another state (its results are
    /// dropped).
    pub void: Vec<AtomicBool>,
}

impl Shared<'_> {
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.budget.wake();
    }

    pub fn should_stop(&self, task: usize) -> bool {
        self.stop.load(Ordering::Relaxed)
            || task > self.cutoff.load(Ordering::Relaxed)
            || self.options.cancel.is_cancelled()
            || self.void[task].load(Ordering::Relaxed)
    }

    /// Tasks after `task` are not needed (the limit or an error was reached in it). Not
    /// said of a piece not yet confirmed: its results may be void, the later ones needed.
    pub fn cut_after(&self, task: usize) {
        if self.confirmed[task].load(Ordering::Acquire) {
            self.cutoff.fetch_min(task, Ordering::Relaxed);
        }
    }
}

/// Output buffers going round between the workers and the merger. A block's buffer is
/// about [`BLOCK`] bytes, above glibc's threshold for a mapping of its own where a process
/// fixes it (`spate convert`, `spate serve`): a fresh buffer per block was a fresh mapping
/// whose every page faulted in, then unmapped — a fifth more CPU for a conversion's first
/// pass. At most a few are kept, none much larger than a block.
#[derive(Debug, Default)]
pub(super) struct Spare(std::sync::Mutex<Vec<Vec<u8>>>);

impl Spare {
    /// Buffers kept at most.
    const KEEP: usize = 8;

    /// An empty buffer for a block: a spare one, or a new one of a block's size.
    pub fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .ok()
            .and_then(|mut v| v.pop())
            .unwrap_or_else(|| Vec::with_capacity(BLOCK + BLOCK / 4))
    }

    /// Gives a written block's buffer back.
    pub fn give(&self, mut bytes: Vec<u8>) {
        if bytes.capacity() < BLOCK || bytes.capacity() > 4 * BLOCK {
            return;
        }
        bytes.clear();
        if let Ok(mut v) = self.0.lock() {
            if v.len() < Self::KEEP {
                v.push(bytes);
            }
        }
    }
}

/// Output lines of a task handed to the merger: whole lines, and how many, and the errors
/// met while making them. Errors travel with the output (and count against the same budget)
/// so that a task with millions of bad lines holds a block of them at a time, not all.
#[derive(Debug, Default)]
pub(super) struct Block {
    pub bytes: Vec<u8>,
    pub lines: u64,
    pub errors: Vec<TaskError>,
    /// About how much memory `errors` holds (for the budget).
    pub error_bytes: usize,
}

impl Block {
    /// The bytes of budget this block holds.
    pub fn held(&self) -> usize {
        self.bytes.len() + self.error_bytes
    }
}

/// What one held error is counted for in the budget: its size and its message, roughly.
const ERROR_COST: usize = 256;

/// What workers send to the merger.
pub(super) enum Msg {
    /// A block of output lines of a task (more follow).
    Block { task: usize, block: Block },
    /// A task is over: its last output and its report.
    Done {
        task: usize,
        block: Block,
        report: Box<TaskReport>,
    },
}

/// An error of a task, with the number of lines the task had output before it (to drop
/// errors a sequential run would not have reached, past the limit).
#[derive(Debug)]
pub(super) struct TaskError {
    pub error: RunError,
    pub after_lines: u64,
}

/// What one task did. Line numbers in its errors count from the task's first line.
#[derive(Debug, Default)]
pub(super) struct TaskReport {
    pub format: Option<Format>,
    pub bytes: u64,
    pub lines: u64,
    pub items: u64,
    pub skipped: u64,
    pub skipped_items: u64,
    /// Data errors met so far (they travel in blocks).
    pub data_errors: u64,
    pub io_error: bool,
    /// The error that ends the run (fail mode).
    pub fatal: Option<TaskError>,
    /// Stopped before its end (limit, stop).
    pub cut: bool,
    /// A document piece that reached the start of a later piece in the assumed state:
    /// that piece's task number (the pieces between are void). `None` when the piece read
    /// to the document's end, or stopped.
    pub confirms: Option<usize>,
    /// A document piece: the items its visitor counted (see
    /// [`super::ItemVisitor::text_items`]).
    pub text_items: u64,
    /// A document piece: bit per path, whether it selected anything.
    pub matched: u64,
}

/// What became of one item (or the end of a JSON text) handed to the visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visited {
    /// Go on.
    Continue,
    /// The task has output enough lines for the limit.
    Enough,
    /// The visitor failed and the error ends the run.
    Fatal,
}

/// Where an item (or the end of a text) is, for error messages.
#[derive(Debug, Clone, Copy)]
struct At<'n> {
    name: &'n str,
    /// The line (JSON Lines only).
    line: Option<u64>,
    offset: u64,
}

/// Where an item sits in a validated JSON Lines line.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    len: usize,
    path: usize,
}

/// One worker: its visitor, its selector and buffers, reused from task to task.
pub(super) struct Worker<'s, 'a, V> {
    shared: &'s Shared<'a>,
    make: &'s (dyn Fn() -> V + Sync),
    visitor: V,
    /// The visitors of the document pieces this worker ran, by task.
    pieces: Vec<(usize, V)>,
    sender: Sender<Msg>,
    selector: Option<BufferSelector>,
    buf: Vec<u8>,
    out: Block,
    /// Lines output by the current task.
    task_lines: u64,
    spans: Vec<Span>,
    /// Bit per path: whether it selected anything.
    matched: u64,
    id: usize,
}

/// What a worker gives back when the run is over.
pub(super) struct WorkerResult<V> {
    pub visitor: V,
    pub matched: u64,
    pub pieces: Vec<(usize, V)>,
}

impl<'s, 'a, V: ItemVisitor> Worker<'s, 'a, V> {
    pub fn new(
        shared: &'s Shared<'a>,
        make: &'s (dyn Fn() -> V + Sync),
        sender: Sender<Msg>,
        id: usize,
    ) -> Self {
        Worker {
            shared,
            visitor: make(),
            make,
            pieces: Vec::new(),
            sender,
            selector: None,
            buf: Vec::new(),
            out: Block::default(),
            task_lines: 0,
            spans: Vec::new(),
            matched: 0,
            id,
        }
    }

    pub fn run(mut self) -> WorkerResult<V> {
        loop {
            let t = self.shared.next.fetch_add(1, Ordering::Relaxed);
            if t >= self.shared.tasks.len() {
                break;
            }
            if self.shared.void[t].load(Ordering::Relaxed) {
                // A piece already known to be void: the merger drops it unseen.
                continue;
            }
            if self.shared.should_stop(t) {
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
            let fresh = self.fresh_block();
            let block = std::mem::replace(&mut self.out, fresh);
            // The last output of a task counts against the budget too: thousands of small
            // inputs done while the oldest one is still running must not pile up unbounded.
            self.shared.budget.take(t, block.held());
            let done = Msg::Done {
                task: t,
                block,
                report: Box::new(report),
            };
            if self.sender.send(done).is_err() {
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
        WorkerResult {
            visitor: self.visitor,
            matched: self.matched,
            pieces: self.pieces,
        }
    }

    /// An empty block whose buffer is a spare one when there is one.
    fn fresh_block(&self) -> Block {
        Block {
            bytes: self.shared.spare.take(),
            ..Block::default()
        }
    }

    /// Hands a full block of output to the merger.
    fn flush(&mut self, task: usize) {
        if self.out.held() < BLOCK {
            return;
        }
        let fresh = self.fresh_block();
        let block = std::mem::replace(&mut self.out, fresh);
        self.shared.budget.take(task, block.held());
        // A closed channel means the merger is gone: the stop flag ends the task.
        let _ = self.sender.send(Msg::Block { task, block });
    }

    /// Counts `n` output lines of task `t`; true when the task has output enough (the
    /// limit is reached by this task alone, so no later task is needed either).
    fn count_output(&mut self, t: usize, n: u64) -> bool {
        self.out.lines += n;
        self.task_lines += n;
        match self.shared.options.limit {
            Some(limit) if self.task_lines >= limit => {
                if self.shared.options.ordered {
                    self.shared.cut_after(t);
                }
                true
            }
            _ => false,
        }
    }

    /// Adds the bytes read since the last report to the shared count, once per MiB.
    fn report_bytes(&self, read: u64, reported: &mut u64, force: bool) {
        if force || read - *reported >= 1 << 20 {
            self.shared
                .bytes
                .fetch_add(read.saturating_sub(*reported), Ordering::Relaxed);
            *reported = read;
        }
    }

    fn run_task(&mut self, t: usize) -> TaskReport {
        let task = &self.shared.tasks[t];
        let file = &self.shared.inputs.files[task.input];
        let mut report = TaskReport {
            format: task.format,
            ..TaskReport::default()
        };
        let max_line = self.shared.options.items.max_item_size;
        if let Some(piece) = &task.piece {
            // A fresh visitor: its partial is kept only if the piece is.
            let fresh = (self.make)();
            let own = std::mem::replace(&mut self.visitor, fresh);
            self.piece(t, &file.name, &file.path, piece, &mut report);
            let visitor = std::mem::replace(&mut self.visitor, own);
            self.pieces.push((t, visitor));
            return report;
        }
        if let Some(ByteRange { start, end }) = task.range {
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
                        max_line,
                        ..LinesOptions::default()
                    };
                    // Read in place (see `crate::mapped`): the ranges are of plain files.
                    let mapping = self.map(&f);
                    self.lines(t, &file.name, f, mapping, options, &mut report);
                }
                Err(source) => self.error(
                    RunError::Input(Error::Io {
                        input: file.name.clone(),
                        source,
                    }),
                    &mut report,
                ),
            }
            return report;
        }
        match source::open_input(file, task.format) {
            Ok(input) => {
                report.format = Some(input.format);
                // A plain file on disk is scanned in place (see `crate::mapped`); one too
                // small to map (by the size found when the inputs were listed) is not
                // opened a second time.
                let big_enough = file
                    .len
                    .zip(self.shared.options.map_files_from)
                    .is_some_and(|(len, min)| len >= min);
                let mapping = if big_enough
                    && file.is_seekable_file()
                    && input.compression == crate::inputs::Compression::None
                {
                    File::open(&file.path).ok().and_then(|f| self.map(&f))
                } else {
                    None
                };
                match input.format {
                    Format::Jsonl => {
                        let options = LinesOptions {
                            max_line,
                            ..LinesOptions::default()
                        };
                        self.lines(t, &input.name, input.reader, mapping, options, &mut report);
                    }
                    Format::Json => {
                        self.document(t, &input.name, input.reader, mapping, &mut report)
                    }
                }
            }
            Err(e) => self.error(RunError::Input(e), &mut report),
        }
        report
    }

    /// Records an input that cannot be read: reported, and the run goes on.
    fn error(&mut self, error: RunError, report: &mut TaskReport) {
        report.io_error = true;
        self.hold_error(error);
    }

    /// Puts an error in the block being filled.
    fn hold_error(&mut self, error: RunError) {
        self.out.error_bytes += ERROR_COST;
        self.out.errors.push(TaskError {
            error,
            after_lines: self.task_lines,
        });
    }

    /// Records a data error: fatal in fail mode, counted and reported in skip mode.
    /// Breaks when the task must stop: in fail mode, and once the task alone has met
    /// `max_errors` data errors (the merger stops the run at the last of them anyway, so
    /// reading on would only hold errors nobody reports).
    fn data_error(
        &mut self,
        t: usize,
        error: RunError,
        report: &mut TaskReport,
    ) -> ControlFlow<()> {
        match self.shared.options.on_error {
            OnError::Fail => {
                self.shared.cut_after(t);
                report.fatal = Some(TaskError {
                    error,
                    after_lines: self.task_lines,
                });
                ControlFlow::Break(())
            }
            OnError::Skip => {
                let data = error.is_invalid_data();
                self.hold_error(error);
                if data {
                    report.data_errors += 1;
                    if let Some(max) = self.shared.options.max_errors {
                        if report.data_errors >= max {
                            if self.shared.options.ordered {
                                self.shared.cut_after(t);
                            }
                            report.cut = true;
                            return ControlFlow::Break(());
                        }
                    }
                }
                self.flush(t);
                ControlFlow::Continue(())
            }
        }
    }

    /// The one item loop body: hands an item to the visitor and accounts for its output
    /// or its error.
    fn visit(
        &mut self,
        t: usize,
        item: ItemRef<'_>,
        at: At<'_>,
        report: &mut TaskReport,
    ) -> Visited {
        report.items += 1;
        // The visitor's lines go into `bytes`; the rest of the block, the counts and the
        // channel are the emitter's, which hands full blocks over as the lines come (one
        // item may make any number of them).
        let mut bytes = std::mem::take(&mut self.out.bytes);
        let mut enough = false;
        let visited = {
            let shared = self.shared;
            let sender = &self.sender;
            let out = &mut self.out;
            let task_lines = &mut self.task_lines;
            let mut emit = |buf: &mut Vec<u8>, n: u64| {
                out.lines += n;
                *task_lines += n;
                if shared
                    .options
                    .limit
                    .is_some_and(|limit| *task_lines >= limit)
                {
                    if shared.options.ordered {
                        shared.cut_after(t);
                    }
                    enough = true;
                }
                if buf.len() + out.error_bytes >= BLOCK {
                    let mut block = std::mem::take(out);
                    block.bytes = std::mem::replace(buf, shared.spare.take());
                    shared.budget.take(t, block.held());
                    let _ = sender.send(Msg::Block { task: t, block });
                }
                if enough || shared.should_stop(t) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            };
            self.visitor.visit_streaming(item, &mut bytes, &mut emit)
        };
        self.out.bytes = bytes;
        match visited {
            Ok(n) if self.count_output(t, n) || enough => Visited::Enough,
            Ok(_) => Visited::Continue,
            Err(source) => self.visit_error(t, at, source, report, true),
        }
    }

    /// Tells the visitor a JSON text (a line, a document) is over.
    fn end_text(&mut self, t: usize, at: At<'_>, report: &mut TaskReport) -> Visited {
        match self.visitor.end_text(&mut self.out.bytes) {
            Ok(n) if self.count_output(t, n) => Visited::Enough,
            Ok(_) => Visited::Continue,
            Err(source) => self.visit_error(t, at, source, report, false),
        }
    }

    fn visit_error(
        &mut self,
        t: usize,
        at: At<'_>,
        source: super::VisitError,
        report: &mut TaskReport,
        item: bool,
    ) -> Visited {
        if let Some(&halt) = source.downcast_ref::<super::Halt>() {
            // Ends the run as a failure would, whatever the error policy.
            self.shared.cut_after(t);
            report.fatal = Some(TaskError {
                error: RunError::Halted(halt),
                after_lines: self.task_lines,
            });
            return Visited::Fatal;
        }
        // A limit of the whole run (the groups of an aggregation) ends it in skip mode too.
        let run_limit = source
            .downcast_ref::<crate::query::QueryError>()
            .is_some_and(|e| matches!(e.kind, crate::query::QueryErrorKind::TooManyGroups { .. }));
        let error = RunError::Visit {
            input: at.name.to_owned(),
            line: at.line,
            offset: at.offset,
            source,
        };
        if run_limit {
            self.shared.cut_after(t);
            report.fatal = Some(TaskError {
                error,
                after_lines: self.task_lines,
            });
            return Visited::Fatal;
        }
        let flow = self.data_error(t, error, report);
        if item && report.fatal.is_none() {
            report.skipped_items += 1;
        }
        if flow.is_break() {
            return Visited::Fatal;
        }
        Visited::Continue
    }

    fn lines<R: Read>(
        &mut self,
        t: usize,
        name: &str,
        reader: R,
        mapping: Option<Mapping>,
        options: LinesOptions,
        report: &mut TaskReport,
    ) {
        let max_line = options.max_line;
        let lines = Lines::with_buffer(reader, options, std::mem::take(&mut self.buf));
        let mut lines = Mapping::lines(lines, mapping);
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
                Ok(mut s) => {
                    s.record_children(self.shared.options.record_children);
                    s
                }
                // Path count was checked before the run.
                Err(e) => {
                    report.fatal = Some(TaskError {
                        error: RunError::Input(e),
                        after_lines: 0,
                    });
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
                    let input = name.to_owned();
                    self.error(RunError::Input(Error::Io { input, source }), report);
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
                spans.push(Span {
                    start: item.offset() as usize,
                    len: item.raw().len(),
                    path: item.path_index(),
                });
                ControlFlow::Continue(())
            });
            if let Err(e) = selected {
                report.skipped += 1;
                if self.data_error(t, RunError::Input(e), report).is_break() {
                    break;
                }
                continue;
            }
            let mut visited = Visited::Continue;
            for i in 0..self.spans.len() {
                let Span { start, len, path } = self.spans[i];
                let offset = line.offset + start as u64;
                let span = spate_json::Span {
                    start: start as u64,
                    end: (start + len) as u64,
                    path,
                };
                let item = ItemRef::new(&line.text[start..start + len], path, offset)
                    .with_shape(selector.shape(&span));
                let at = At {
                    name,
                    line: Some(line.number),
                    offset,
                };
                visited = self.visit(t, item, at, report);
                if visited != Visited::Continue {
                    break;
                }
            }
            if report.fatal.is_none() {
                let at = At {
                    name,
                    line: Some(line.number),
                    offset: line.offset,
                };
                if self.end_text(t, at, report) != Visited::Continue {
                    visited = Visited::Enough;
                }
            }
            if visited != Visited::Continue || report.fatal.is_some() {
                report.cut = report.fatal.is_none();
                break;
            }
            self.report_bytes(lines.bytes_read(), &mut reported, false);
            self.flush(t);
        }
        report.lines = lines.line_count();
        report.bytes = lines.line_bytes();
        self.report_bytes(lines.bytes_read(), &mut reported, true);
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
        mapping: Option<Mapping>,
        report: &mut TaskReport,
    ) {
        let options = ItemsOptions {
            multiple_values: false,
            ..self.shared.options.items
        };
        let made = Items::with_markers(
            reader,
            name,
            self.shared.paths.to_vec(),
            self.shared.options.markers,
            options,
        )
        .map(|items| Mapping::scan(items, mapping));
        let Some(mut items) = self.ready(made, report) else {
            return;
        };
        let mut reported = 0u64;
        // Whether the document was read to its end (then the visitor hears of it).
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
                    self.item_failed(t, e, report);
                    break;
                }
            };
            if !self.visit_document_item(t, name, item, report) {
                ended = false;
                break;
            }
            self.report_bytes(items.bytes_scanned(), &mut reported, false);
            self.flush(t);
        }
        if ended {
            self.end_document(t, name, items.bytes_scanned(), report);
        }
        report.bytes = items.bytes_scanned();
        self.report_bytes(report.bytes, &mut reported, true);
        for i in 0..self.shared.paths.len() {
            if items.path_matched(i) {
                self.matched |= 1 << i;
            }
        }
    }

    /// An item of a document (or of a piece of one) could not be read: an I/O error ends
    /// the task, invalid data is reported as the error policy says.
    /// The items of a document (or piece) as opened, recording the children the query's
    /// byte route reads; `None` when they could not be opened (the error is in `report`).
    fn ready<R: Read>(
        &self,
        made: Result<Items<R>, Error>,
        report: &mut TaskReport,
    ) -> Option<Items<R>> {
        match made {
            Ok(mut items) => {
                items.record_children(self.shared.options.record_children);
                Some(items)
            }
            Err(e) => {
                report.fatal = Some(TaskError {
                    error: RunError::Input(e),
                    after_lines: 0,
                });
                None
            }
        }
    }

    fn item_failed(&mut self, t: usize, e: Error, report: &mut TaskReport) {
        if matches!(e, Error::Io { .. }) && !e.is_invalid_data() {
            self.error(RunError::Input(e), report);
        } else {
            report.skipped += 1;
            let _ = self.data_error(t, RunError::Input(e), report);
        }
    }

    /// Visits an item of a document; false when the task stops here (enough output, or
    /// a fatal error).
    fn visit_document_item(
        &mut self,
        t: usize,
        name: &str,
        item: ItemRef<'_>,
        report: &mut TaskReport,
    ) -> bool {
        let at = At {
            name,
            line: None,
            offset: item.offset(),
        };
        match self.visit(t, item, at, report) {
            Visited::Continue => true,
            Visited::Enough => {
                report.cut = true;
                false
            }
            Visited::Fatal => false,
        }
    }

    /// Tells the visitor a document read to its end is over.
    fn end_document(&mut self, t: usize, name: &str, offset: u64, report: &mut TaskReport) {
        let at = At {
            name,
            line: None,
            offset,
        };
        self.end_text(t, at, report);
    }

    /// `file` mapped, when the run scans it in place (see [`RunOptions::map_files_from`]).
    fn map(&self, file: &File) -> Option<Mapping> {
        Mapping::of_plain(file, self.shared.options.map_files_from?)
    }

    /// Scans one piece of a cut document (see [`super::split`]): from its start, in the
    /// true state (piece 0) or the assumed one, up to the start of a later piece that it
    /// reaches in the assumed state, or to the end.
    fn piece(
        &mut self,
        t: usize,
        name: &str,
        path: &std::path::Path,
        piece: &Piece,
        report: &mut TaskReport,
    ) {
        let cut = &piece.cut;
        let start = piece.start();
        let options = ItemsOptions {
            multiple_values: false,
            ..self.shared.options.items
        };
        let opened = File::open(path).and_then(|mut f| {
            f.seek(SeekFrom::Start(start))?;
            Ok(f)
        });
        let file = match opened {
            Ok(f) => f,
            Err(source) => {
                let input = name.to_owned();
                self.error(RunError::Input(Error::Io { input, source }), report);
                return;
            }
        };
        let paths = self.shared.paths.to_vec();
        let markers = self.shared.options.markers;
        // A plain file is scanned in place (see `crate::mapped`).
        let mapping = self.map(&file);
        let made = if piece.index == 0 {
            Items::with_markers(file, name, paths, markers, options)
        } else {
            let at = Resume {
                offset: start,
                ..cut.assumed.clone()
            };
            Items::resumed(file, name, paths, markers, options, &at)
        }
        .map(|items| Mapping::scan(items, mapping));
        let Some(mut items) = self.ready(made, report) else {
            return;
        };
        let mut next = piece.index + 1;
        items.set_checkpoint(cut.starts.get(next).copied());
        let mut reported = 0u64;
        let mut ended = true;
        loop {
            if self.shared.should_stop(t) {
                report.cut = true;
                ended = false;
                break;
            }
            let span = match items.next_span() {
                Ok(span) => span,
                Err(e) => {
                    ended = false;
                    self.item_failed(t, e, report);
                    break;
                }
            };
            let item = match span {
                Some(span) => items.item(span),
                None if items.at_checkpoint() => {
                    let here = items.snapshot();
                    let same = here.as_ref().is_some_and(|(scan, select)| {
                        *scan == cut.assumed.scan && *select == cut.assumed.select
                    });
                    if same {
                        report.confirms = Some(cut.first_task + next);
                        ended = false;
                        break;
                    }
                    // Passed in another state: that piece is void, if this one is real.
                    if self.shared.confirmed[t].load(Ordering::Acquire) {
                        self.shared.void[cut.first_task + next].store(true, Ordering::Relaxed);
                    }
                    next += 1;
                    items.set_checkpoint(cut.starts.get(next).copied());
                    continue;
                }
                None => break,
            };
            if !self.visit_document_item(t, name, item, report) {
                ended = false;
                break;
            }
            self.report_bytes(items.bytes_scanned() - start, &mut reported, false);
            self.flush(t);
        }
        if ended {
            self.end_document(t, name, items.bytes_scanned(), report);
        }
        report.bytes = items.bytes_scanned() - start;
        self.report_bytes(report.bytes, &mut reported, true);
        report.text_items = self.visitor.text_items();
        for i in 0..self.shared.paths.len() {
            if items.path_matched(i) {
                report.matched |= 1 << i;
            }
        }
    }
}

/// The mapping of a plain file the workers scan in place, where there are mappings.
#[cfg(unix)]
use crate::mapped::Mapping;

/// Where files cannot be mapped, every file is read.
#[cfg(not(unix))]
enum Mapping {}

/// Mapping where the platform has it (unix), nothing elsewhere: the workers' calls stay the
/// same on both.
trait ScanInPlace: Sized {
    /// The file at `file` mapped, when it is to be scanned in place.
    fn of_plain(file: &File, min: u64) -> Option<Self>;
    /// `items` scanning `mapping` in place when there is one.
    fn scan<R: Read>(items: Items<R>, mapping: Option<Self>) -> Items<R>;
    /// `lines` read from `mapping` in place when there is one.
    fn lines<R: Read>(lines: Lines<R>, mapping: Option<Self>) -> Lines<R>;
}

#[cfg(unix)]
impl ScanInPlace for Mapping {
    fn of_plain(file: &File, min: u64) -> Option<Self> {
        Mapping::of_plain_file(file, min)
    }

    fn scan<R: Read>(items: Items<R>, mapping: Option<Self>) -> Items<R> {
        match mapping {
            Some(m) => items.with_mapping(m),
            None => items,
        }
    }

    fn lines<R: Read>(lines: Lines<R>, mapping: Option<Self>) -> Lines<R> {
        match mapping {
            Some(m) => lines.with_mapping(m),
            None => lines,
        }
    }
}

#[cfg(not(unix))]
impl ScanInPlace for Mapping {
    fn of_plain(_file: &File, _min: u64) -> Option<Self> {
        None
    }

    fn scan<R: Read>(items: Items<R>, _mapping: Option<Self>) -> Items<R> {
        items
    }

    fn lines<R: Read>(lines: Lines<R>, _mapping: Option<Self>) -> Lines<R> {
        lines
    }
}
