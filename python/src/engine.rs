//! The engine on a thread of its own, ahead of Python, and `Results`: the lazy Python
//! iterator that takes what it finds.
//!
//! The engine (an item stream, or a whole query run on every core) hands results over in
//! batches through a channel of two batches — as bytes (JSON texts), or as ranges of an
//! input read in place ([`crate::whole`]), not copied at all — while the Python thread
//! builds values from the previous batch. Scanning thus overlaps with building Python
//! objects (for a file read in place, about three quarters of the work), and the GIL is
//! free while the engine works: other Python threads run, and two threads scanning two
//! files use two cores.
//!
//! Memory stays bounded: at most two batches of about [`BATCH_BYTES`] (or one result, when a
//! result is larger) wait in the channel, plus the engine's own bounded buffers. A batch is
//! handed over early whenever the Python side is waiting, before the engine's next read, so
//! the first item of a slow stream (a pipe, a socket) is not held back, while a fast input
//! still goes over in whole batches. Dropping the iterator (a `break`, garbage collection) or
//! `close()` stops the engine at its next read and closes the input.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{
    sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError,
};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::build::{Builder, Floats};
use crate::errors::{run_error_to_py, to_py};
use crate::source::Pending;
use crate::tape::Tape;
use crate::whole::Whole;

/// A batch is handed over once it holds this many bytes of results...
const BATCH_BYTES: usize = 1 << 20;
/// ...or this many results.
const BATCH_ITEMS: usize = 4096;
/// How often a waiting Python thread looks for Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// A batch's results over a span of the whole input longer than this is handed over (its
/// pages stay resident until Python has built it).
const BATCH_EXTENT: usize = 8 << 20;
/// Used batches kept for the engine to fill again (fresh buffers of a megabyte cost page
/// faults every time).
const SPARE_BATCHES: usize = 3;

/// Results, either copied — their bytes one after the other, `ends[i]` where result `i`
/// ends — or, when the engine reads a [`Whole`] input, as ranges of it (`spans`).
pub struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    spans: Vec<(usize, usize)>,
    /// Bytes of the spans.
    span_bytes: usize,
    /// The smallest start of the spans (`usize::MAX` without any).
    first: usize,
    /// Each result walked on the engine thread (see [`crate::tape`]).
    tape: Tape,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            bytes: Vec::new(),
            ends: Vec::new(),
            spans: Vec::new(),
            span_bytes: 0,
            first: usize::MAX,
            tape: Tape::default(),
        }
    }
}

impl Batch {
    fn len(&self) -> usize {
        self.ends.len() + self.spans.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Result `i`; `whole` is the input the spans are ranges of.
    fn item<'a>(&'a self, i: usize, whole: Option<&'a Whole>) -> &'a [u8] {
        match whole {
            Some(whole) => {
                let (start, end) = self.spans[i];
                &whole.bytes()[start..end]
            }
            None => {
                let start = if i == 0 { 0 } else { self.ends[i - 1] };
                &self.bytes[start..self.ends[i]]
            }
        }
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.spans.clear();
        self.span_bytes = 0;
        self.first = usize::MAX;
        self.tape.clear();
    }
}

/// Why the engine stopped early.
pub enum Failure {
    Items(spate::Error),
    Run(spate::parallel::RunError),
}

pub enum Message {
    Results(Batch),
    Failed(Failure),
    /// Every result was sent. (The channel does not close by itself: the iterator keeps a
    /// reference to the handoff, and so to its sender.)
    Done,
}

/// What the engine thread and the Python side share.
pub struct Handoff {
    batch: Mutex<Batch>,
    sender: SyncSender<Message>,
    /// The Python side is done: stop at the next read.
    cancel: AtomicBool,
    /// The Python side is waiting for a batch: hand over what there is.
    hungry: AtomicBool,
    /// Cancels a query run (the executor's own token).
    run_cancel: Option<spate::parallel::Cancel>,
    /// Used batches, emptied, for the engine to fill again.
    spare: Mutex<Vec<Batch>>,
    /// Batches sent so far, and the first byte each one's spans need: see
    /// [`Handoff::release_behind`].
    sent: Mutex<Sent>,
    /// Batches the Python side has built every result of.
    built: AtomicU64,
    /// How the tapes record non-integer numbers.
    floats: Floats,
    /// The engine walks results for the Python side ([`crate::tape`]). On while the Python
    /// side is the slower one (the channel is full when a batch is sent), off while it waits
    /// for batches: the walking goes to whichever thread has time for it.
    taping: AtomicBool,
    /// False when `SPATE_TAPE` fixed the choice (`always`/`never`: for tests and profiles).
    adaptive: bool,
}

#[derive(Default)]
struct Sent {
    count: u64,
    /// (batch number, first byte its spans need) of the batches not known to be built.
    pending: VecDeque<(u64, usize)>,
}

impl Handoff {
    /// Adds one result; false when the Python side is gone.
    pub fn push(&self, result: &[u8]) -> bool {
        let full = {
            let mut batch = self.batch.lock().unwrap_or_else(|p| p.into_inner());
            self.record(&mut batch, result);
            batch.bytes.extend_from_slice(result);
            let end = batch.bytes.len();
            batch.ends.push(end);
            end >= BATCH_BYTES || batch.ends.len() >= BATCH_ITEMS
        };
        !full || self.flush()
    }

    /// Adds one result given as the range `start..end` of the whole input (`bytes`); false
    /// when the Python side is gone.
    pub fn push_span(&self, start: usize, end: usize, bytes: &[u8]) -> bool {
        let full = {
            let mut batch = self.batch.lock().unwrap_or_else(|p| p.into_inner());
            self.record(&mut batch, bytes);
            batch.spans.push((start, end));
            batch.span_bytes += end - start;
            batch.first = batch.first.min(start);
            batch.span_bytes >= BATCH_BYTES
                || batch.spans.len() >= BATCH_ITEMS
                || end - batch.first >= BATCH_EXTENT
        };
        !full || self.flush()
    }

    fn record(&self, batch: &mut Batch, result: &[u8]) {
        if self.taping.load(Ordering::Relaxed) {
            batch.tape.record(result, self.floats);
        } else {
            batch.tape.skip();
        }
    }

    /// The Python side waits for results: it has time to walk them itself.
    fn python_waits(&self) -> bool {
        let waits = self.hungry.swap(false, Ordering::AcqRel);
        if waits && self.adaptive {
            self.taping.store(false, Ordering::Relaxed);
        }
        waits
    }

    /// Sends what the batch holds, if anything; false when the Python side is gone.
    pub fn flush(&self) -> bool {
        let spare = self
            .spare
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_default();
        let batch = std::mem::replace(
            &mut *self.batch.lock().unwrap_or_else(|p| p.into_inner()),
            spare,
        );
        if batch.is_empty() {
            self.recycle(batch);
            return true;
        }
        {
            let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
            let number = sent.count;
            sent.count += 1;
            if batch.first != usize::MAX {
                sent.pending.push_back((number, batch.first));
            }
        }
        match self.sender.try_send(Message::Results(batch)) {
            Ok(()) => true,
            Err(TrySendError::Full(message)) => {
                // The Python side is behind: walk the next results for it.
                if self.adaptive {
                    self.taping.store(true, Ordering::Relaxed);
                }
                self.sender.send(message).is_ok()
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Keeps a used batch for the engine to fill again (not one that grew for a large
    /// result: that memory goes back).
    fn recycle(&self, mut batch: Batch) {
        if batch.bytes.capacity() > 2 * BATCH_BYTES || batch.tape.capacity_bytes() > 8 * BATCH_BYTES
        {
            return;
        }
        let mut spare = self.spare.lock().unwrap_or_else(|p| p.into_inner());
        if spare.len() < SPARE_BATCHES {
            batch.clear();
            spare.push(batch);
        }
    }

    /// Gives back the pages of `whole` from `*released` up to the first byte still needed —
    /// by the engine (`engine_needs`), by the batch being filled, or by a batch sent and not
    /// yet built — and moves `*released` there.
    pub fn release_behind(&self, whole: &Whole, engine_needs: usize, released: &mut usize) {
        let built = self.built.load(Ordering::Acquire);
        let mut needed = engine_needs;
        {
            let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
            while sent.pending.front().is_some_and(|&(n, _)| n < built) {
                sent.pending.pop_front();
            }
            for &(_, first) in &sent.pending {
                needed = needed.min(first);
            }
        }
        needed = needed.min(self.batch.lock().unwrap_or_else(|p| p.into_inner()).first);
        if needed > *released {
            whole.release(*released..needed);
            *released = needed;
        }
    }

    /// Sends what the batch holds if the Python side is waiting for it (an engine that
    /// reads no input itself calls this after each block of results); false when the
    /// Python side is gone.
    pub fn flush_if_waiting(&self) -> bool {
        !self.python_waits() || self.flush()
    }

    /// Sends what the batch holds, then the failure.
    pub fn fail(&self, failure: Failure) {
        if self.flush() {
            let _ = self.sender.send(Message::Failed(failure));
        }
    }

    /// True once the Python side has gone away.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Before the engine may block on input: hands over what there is if Python waits.
    pub fn before_read(&self) -> io::Result<()> {
        // Not `ErrorKind::Interrupted`: readers retry those.
        if self.cancelled() || (self.python_waits() && !self.flush()) {
            return Err(io::Error::other("the iteration was closed"));
        }
        Ok(())
    }
}

/// The engine's reader: see [`Handoff::before_read`].
pub struct EngineReader {
    inner: Box<dyn Read + Send>,
    handoff: Arc<Handoff>,
}

impl EngineReader {
    pub fn new(inner: Box<dyn Read + Send>, handoff: Arc<Handoff>) -> Self {
        EngineReader { inner, handoff }
    }
}

impl Read for EngineReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.handoff.before_read()?;
        self.inner.read(buf)
    }
}

/// A handoff for a new engine and the receiving end for its iterator.
pub fn handoff(
    run_cancel: Option<spate::parallel::Cancel>,
    floats: Floats,
) -> (Arc<Handoff>, Receiver<Message>) {
    let (sender, receiver) = sync_channel(2);
    // `SPATE_TAPE=always|never` fixes who walks the results (see [`crate::tape`]).
    let tape = match std::env::var("SPATE_TAPE").as_deref() {
        Ok("always") => Some(true),
        Ok("never") => Some(false),
        _ => None,
    };
    let handoff = Arc::new(Handoff {
        batch: Mutex::new(Batch::default()),
        sender,
        cancel: AtomicBool::new(false),
        hungry: AtomicBool::new(false),
        run_cancel,
        spare: Mutex::new(Vec::new()),
        sent: Mutex::new(Sent::default()),
        built: AtomicU64::new(0),
        floats,
        taping: AtomicBool::new(tape == Some(true)),
        adaptive: tape.is_none(),
    });
    (handoff, receiver)
}

/// Starts `engine` on its own thread; when it returns, what it pushed is flushed and the
/// iterator told that the results are over.
pub fn start(
    handoff: Arc<Handoff>,
    receiver: Receiver<Message>,
    builder: Builder,
    pending: Pending,
    whole: Option<Arc<Whole>>,
    engine: impl FnOnce(Arc<Handoff>) + Send + 'static,
) -> PyResult<Results> {
    let shared = handoff.clone();
    let thread = std::thread::Builder::new()
        .name("spate-engine".into())
        .spawn(move || {
            engine(handoff.clone());
            // After a failure the iterator has stopped reading: this send then fails, or
            // waits in the channel unread.
            if handoff.flush() {
                let _ = handoff.sender.send(Message::Done);
            }
        })
        .map_err(|e| PyValueError::new_err(format!("cannot start the engine thread: {e}")))?;
    Ok(Results {
        state: Mutex::new(Some(State {
            receiver,
            thread: Some(thread),
            handoff: shared,
            builder,
            batch: Batch::default(),
            next: 0,
            whole,
        })),
        pending,
    })
}

struct State {
    receiver: Receiver<Message>,
    thread: Option<JoinHandle<()>>,
    handoff: Arc<Handoff>,
    builder: Builder,
    batch: Batch,
    next: usize,
    /// The input the batches' spans are ranges of, when the engine reads it whole.
    whole: Option<Arc<Whole>>,
}

impl State {
    /// Stops the engine and waits for it (it closes the input on its way out).
    fn stop(&mut self, py: Python<'_>) {
        self.handoff.cancel.store(true, Ordering::Relaxed);
        if let Some(cancel) = &self.handoff.run_cancel {
            cancel.cancel();
        }
        // Dropping the receiver fails the engine's next send, should it wait on a full channel.
        self.receiver = sync_channel(0).1;
        if let Some(thread) = self.thread.take() {
            // The engine may need the GIL for a Python file object's read.
            py.detach(move || {
                let _ = thread.join();
            });
        }
    }
}

/// Results of spate's engine as Python values, one at a time.
#[pyclass(module = "spate._native")]
pub struct Results {
    state: Mutex<Option<State>>,
    pending: Pending,
}

#[pymethods]
impl Results {
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
        loop {
            if state.next < state.batch.len() {
                let i = state.next;
                state.next += 1;
                let item = state.batch.item(i, state.whole.as_deref());
                return match state.batch.tape.item(i) {
                    Some((ops, text)) => state.builder.build_taped(py, item, ops, text),
                    None => state.builder.build(py, item),
                }
                .map(Some);
            }
            let next = match state.receiver.try_recv() {
                Ok(message) => Next::Message(message),
                Err(TryRecvError::Disconnected) => Next::Over,
                Err(TryRecvError::Empty) => {
                    state.handoff.hungry.store(true, Ordering::Release);
                    wait(py, &mut state.receiver)
                }
            };
            let err = match next {
                Next::Message(Message::Results(batch)) => {
                    let built = std::mem::replace(&mut state.batch, batch);
                    state.next = 0;
                    if !built.is_empty() {
                        state.handoff.built.fetch_add(1, Ordering::Release);
                    }
                    state.handoff.recycle(built);
                    continue;
                }
                Next::Message(Message::Failed(failure)) => {
                    self.pending.take().unwrap_or_else(|| match failure {
                        Failure::Items(e) => to_py(e),
                        Failure::Run(e) => run_error_to_py(e),
                    })
                }
                Next::Message(Message::Done) | Next::Over => {
                    finish(py, &mut guard);
                    return Ok(None);
                }
                Next::Interrupted(err) => err,
            };
            finish(py, &mut guard);
            return Err(err);
        }
    }

    /// Stops the iteration and closes the input now (it is also closed when the iterator
    /// is dropped).
    fn close(&self, py: Python<'_>) {
        if let Ok(mut guard) = self.state.lock() {
            finish(py, &mut guard);
        }
    }
}

impl Drop for Results {
    fn drop(&mut self) {
        if let Ok(state) = self.state.get_mut() {
            if let Some(mut state) = state.take() {
                Python::attach(|py| state.stop(py));
            }
        }
    }
}

fn finish(py: Python<'_>, state: &mut Option<State>) {
    if let Some(mut s) = state.take() {
        s.stop(py);
    }
}

enum Next {
    Message(Message),
    /// The engine is done and every batch was taken.
    Over,
    /// A signal handler raised while waiting (Ctrl-C: `KeyboardInterrupt`).
    Interrupted(PyErr),
}

/// Waits for the next message with the GIL released, looking for Ctrl-C every
/// [`SIGNAL_CHECK`].
fn wait(py: Python<'_>, receiver: &mut Receiver<Message>) -> Next {
    loop {
        let receiver = &mut *receiver;
        match py.detach(move || receiver.recv_timeout(SIGNAL_CHECK)) {
            Ok(message) => return Next::Message(message),
            Err(RecvTimeoutError::Disconnected) => return Next::Over,
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    return Next::Interrupted(e);
                }
            }
        }
    }
}
