//! The merger: on the calling thread, writes the workers' output in input order (or as it
//! comes), applies the output limit, and reports errors and finished inputs in order.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::worker::{Block, Msg, Shared, TaskError, TaskReport};
use super::{InputReport, LineSink, Observer, Progress, RunError, Summary};
use crate::inputs::Format;

/// How often the merger looks at the cancel token and reports progress while no worker
/// sends anything.
const TICK: Duration = Duration::from_millis(50);

/// Output of a task not written yet.
#[derive(Default)]
struct Pending {
    blocks: VecDeque<Block>,
    done: Option<(Block, TaskReport)>,
}

/// The current input's totals (an input may be cut into several tasks).
#[derive(Default)]
struct InputTotals {
    bytes: u64,
    items: u64,
    errors: u64,
    failed: bool,
    format: Option<Format>,
}

/// How the merger ended the run.
#[derive(Debug)]
pub(super) struct Merged {
    pub summary: Summary,
    /// The error that ended the run (fail mode).
    pub fatal: Option<RunError>,
    /// The caller cancelled the run.
    pub cancelled: bool,
    /// The document pieces written (not void).
    pub kept: HashSet<usize>,
    /// Bit per path: whether the kept pieces selected anything.
    pub matched: u64,
}

/// Writes output in order (or as it comes), reports errors in order.
pub(super) struct Merger<'m, 's, 'a> {
    shared: &'s Shared<'a>,
    out: &'m mut dyn LineSink,
    observer: &'m mut dyn Observer,
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
    cancelled: bool,
    /// Lines of the current input in finished tasks (to make line numbers absolute).
    input_lines: u64,
    /// The current input's totals.
    current: InputTotals,
    data_errors: u64,
    total_bytes: u64,
    /// Items counted by the visitors of the kept pieces of the current document before the
    /// piece being written (added to the item numbers of its errors).
    piece_items: u64,
    kept: HashSet<usize>,
    matched: u64,
}

impl<'m, 's, 'a> Merger<'m, 's, 'a> {
    pub fn new(
        shared: &'s Shared<'a>,
        out: &'m mut dyn LineSink,
        observer: &'m mut dyn Observer,
    ) -> Self {
        Merger {
            total_bytes: shared.inputs.total_len(),
            shared,
            out,
            observer,
            pending: BTreeMap::new(),
            head: 0,
            written: 0,
            closed: false,
            limit_reached: false,
            task_base: 0,
            summary: Summary::default(),
            fatal: None,
            cancelled: false,
            input_lines: 0,
            current: InputTotals::default(),
            data_errors: 0,
            piece_items: 0,
            kept: HashSet::new(),
            matched: 0,
        }
    }

    fn report_progress(&self) {
        if let Some(progress) = &self.shared.options.progress {
            progress(Progress {
                bytes: self.shared.bytes.load(Ordering::Relaxed),
                total_bytes: self.total_bytes,
                files: self.summary.files,
            });
        }
    }

    /// Stops the run when the caller cancelled it; true then.
    fn check_cancel(&mut self) -> bool {
        if self.shared.options.cancel.is_cancelled() && !self.cancelled {
            self.cancelled = true;
            self.closed = true;
            self.summary.stopped_early = true;
            self.shared.stop();
        }
        self.cancelled
    }

    pub fn run(&mut self, receiver: &Receiver<Msg>) -> Result<(), RunError> {
        let ordered = self.shared.options.ordered;
        loop {
            if self.check_cancel() {
                return Ok(());
            }
            let msg = match receiver.recv_timeout(TICK) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => {
                    self.report_progress();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let task = match &msg {
                Msg::Block { task, .. } | Msg::Done { task, .. } => *task,
            };
            if task < self.head {
                // A void piece's output, passed by already: dropped.
                let held = match &msg {
                    Msg::Block { block, .. } | Msg::Done { block, .. } => block.held(),
                };
                self.shared.budget.release(held);
                continue;
            }
            // A piece's output waits for the piece to be confirmed, in either mode.
            let ordered = ordered || self.shared.tasks[task].piece.is_some();
            match msg {
                Msg::Block { task, block } => {
                    let block = if ordered {
                        block
                    } else {
                        self.emit_unordered(block)?
                    };
                    self.pending
                        .entry(task)
                        .or_default()
                        .blocks
                        .push_back(block);
                }
                Msg::Done {
                    task,
                    block,
                    report,
                } => {
                    let block = if ordered {
                        block
                    } else {
                        self.emit_unordered(block)?
                    };
                    self.pending.entry(task).or_default().done = Some((block, *report));
                }
            }
            self.advance()?;
            self.report_progress();
        }
        self.check_cancel();
        Ok(())
    }

    /// Writes and finishes the tasks that can be, in order. Once the run is closed (limit,
    /// failure, `max_errors`), later tasks are neither written nor reported: what a
    /// sequential run would not have reached stays out, whatever the timing.
    fn advance(&mut self) -> Result<(), RunError> {
        while !self.closed {
            let head = self.head;
            if head < self.shared.tasks.len() && self.shared.void[head].load(Ordering::Relaxed) {
                // A void piece: its output so far and whatever it still sends is dropped.
                if let Some(p) = self.pending.remove(&head) {
                    let held = p.blocks.iter().map(Block::held).sum::<usize>()
                        + p.done.as_ref().map_or(0, |(b, _)| b.held());
                    self.shared.budget.release(held);
                }
                self.head += 1;
                self.shared.budget.advance(self.head);
                continue;
            }
            let Some(pending) = self.pending.get_mut(&head) else {
                return Ok(());
            };
            let blocks = std::mem::take(&mut pending.blocks);
            let done = pending.done.take();
            if done.is_some() {
                self.pending.remove(&head);
            }
            for block in blocks {
                self.emit_block(block)?;
            }
            let Some((block, report)) = done else {
                return Ok(());
            };
            self.emit_block(block)?;
            self.finish_task(head, report);
            self.head += 1;
            self.task_base = self.written;
            self.shared.budget.advance(self.head);
        }
        Ok(())
    }

    /// Writes a block (as far as the limit allows), reports its errors and gives its budget
    /// back. Called for the task being written (its errors' line numbers need the lines of
    /// the tasks before it).
    fn emit_block(&mut self, mut block: Block) -> Result<(), RunError> {
        let written = self.emit(&block.bytes, block.lines);
        let mut errors = std::mem::take(&mut block.errors);
        for e in &mut errors {
            self.piece_error(&mut e.error);
        }
        self.report_errors(errors);
        self.shared.budget.release(block.held());
        self.shared.spare.give(block.bytes);
        written
    }

    /// Unordered: writes a block's lines now; what is left (its errors, reported in input
    /// order) waits for its task's turn.
    fn emit_unordered(&mut self, mut block: Block) -> Result<Block, RunError> {
        let written = self.emit(&block.bytes, block.lines);
        self.shared.budget.release(block.bytes.len());
        self.shared.spare.give(std::mem::take(&mut block.bytes));
        block.lines = 0;
        written.map(|()| block)
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
        if bytes.is_empty() {
            return Ok(());
        }
        self.out.write_lines(bytes, lines).map_err(|e| {
            self.closed = true;
            self.shared.stop();
            RunError::Output(e)
        })
    }

    /// In the task where the limit was reached, only what came before the last line
    /// written counts (a worker may have gone further before it saw the stop).
    fn horizon(&self) -> u64 {
        match self.shared.options.limit {
            Some(limit) if self.limit_reached => limit - self.task_base,
            _ => u64::MAX,
        }
    }

    /// Reports the errors of the task being written, up to the limit and `max_errors`.
    fn report_errors(&mut self, errors: Vec<TaskError>) {
        let horizon = self.horizon();
        let max_errors = self.shared.options.max_errors;
        for TaskError {
            mut error,
            after_lines,
        } in errors
        {
            let full = max_errors.is_some_and(|m| self.data_errors >= m);
            if after_lines >= horizon || full {
                // After the limit, or once `max_errors` were reported.
                continue;
            }
            error.add_lines(self.input_lines);
            self.current.errors += 1;
            let data = error.is_invalid_data();
            self.observer.error(error);
            if data {
                self.data_errors += 1;
                if max_errors.is_some_and(|max| self.data_errors >= max) {
                    self.summary.stopped_early = true;
                    self.closed = true;
                    self.shared.stop();
                }
            }
        }
    }

    /// An error of the piece being written, told as the sequential scan tells it: item
    /// numbers count from the document's start, positions are read again from the file.
    fn piece_error(&self, error: &mut RunError) {
        let Some(piece) = &self.shared.tasks[self.head].piece else {
            return;
        };
        match error {
            RunError::Input(e) if piece.start() > 0 => {
                let path = &self.shared.inputs.files[self.shared.tasks[self.head].input].path;
                super::split::relocate(e, path);
            }
            RunError::Visit { source, .. } => {
                if let Some(q) = source.downcast_mut::<crate::query::QueryError>() {
                    q.item += self.piece_items;
                }
            }
            _ => {}
        }
    }

    /// A piece is written: the pieces up to the one it confirmed are void, or all later
    /// ones when it read to the end or stopped (it is then its document's last).
    fn finish_piece(&mut self, t: usize, report: &TaskReport) -> bool {
        let Some(piece) = &self.shared.tasks[t].piece else {
            return false;
        };
        self.kept.insert(t);
        self.matched |= report.matched;
        let last = piece.last_task();
        match report.confirms {
            Some(j) => {
                for v in t + 1..j {
                    self.shared.void[v].store(true, Ordering::Relaxed);
                }
                self.shared.confirmed[j].store(true, Ordering::Release);
                self.piece_items += report.text_items;
                false
            }
            None => {
                for v in t + 1..=last {
                    self.shared.void[v].store(true, Ordering::Relaxed);
                }
                self.piece_items = 0;
                true
            }
        }
    }

    fn finish_task(&mut self, t: usize, mut report: TaskReport) {
        if let Some(fatal) = &mut report.fatal {
            self.piece_error(&mut fatal.error);
        }
        let ends_document = self.finish_piece(t, &report);
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
        let horizon = self.horizon();
        if let Some(TaskError { mut error, .. }) =
            report.fatal.take().filter(|e| e.after_lines < horizon)
        {
            error.add_lines(self.input_lines);
            self.current.errors += 1;
            self.fatal = Some(error);
            self.summary.stopped_early = true;
            self.closed = true;
            self.shared.stop();
        }
        self.input_lines += report.lines;
        if report.cut {
            self.summary.stopped_early = true;
        }
        if task.last_of_input || ends_document || self.fatal.is_some() {
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
        }
    }

    pub fn finish(&mut self) -> Result<Merged, RunError> {
        self.out.flush().map_err(RunError::Output)?;
        self.summary.output_lines = self.written;
        Ok(Merged {
            summary: std::mem::take(&mut self.summary),
            fatal: self.fatal.take(),
            cancelled: self.cancelled,
            kept: std::mem::take(&mut self.kept),
            matched: self.matched,
        })
    }
}
