//! `ItemsIter`: a lazy Python iterator over the items at a path, and `validate`.
//!
//! The engine runs on its own thread, ahead of Python: it scans the input and hands the
//! selected items' bytes over in batches through a channel of two batches, while the Python
//! thread builds values from the previous batch. Scanning (half of the time on a typical
//! document) thus overlaps with building Python objects (the other half), and the GIL is
//! free while the engine works: other Python threads run, and two threads scanning two files
//! use two cores.
//!
//! Memory stays bounded: at most two batches of about [`BATCH_BYTES`] (or one item, when an
//! item is larger) wait in the channel, plus the engine's read window. A batch is handed over
//! early whenever the Python side is waiting, so the first item of a slow stream (a pipe, a
//! socket) is not held back. Dropping the iterator (a `break`, garbage collection) or
//! `close()` stops the engine thread at its next read and closes the input.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::build::{Builder, Floats};
use crate::errors::to_py;
use crate::source::{self, Pending};

/// A batch is handed over once it holds this many bytes of items...
const BATCH_BYTES: usize = 1 << 20;
/// ...or this many items.
const BATCH_ITEMS: usize = 4096;
/// How often a waiting Python thread looks for Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Items' bytes one after the other; `ends[i]` is where item `i` ends.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

enum Message {
    Items(Batch),
    Failed(spate::Error),
}

/// What the engine thread and the Python side share.
#[derive(Default)]
struct Signals {
    /// The Python side is done: stop at the next read.
    cancel: AtomicBool,
    /// The Python side is waiting for a batch: hand over what there is.
    hungry: AtomicBool,
}

/// Where the engine thread collects items for the Python side.
struct Handoff {
    batch: Mutex<Batch>,
    sender: SyncSender<Message>,
    signals: Arc<Signals>,
}

impl Handoff {
    /// Sends what the batch holds, if anything; false when the Python side is gone.
    fn flush(&self) -> bool {
        let batch = std::mem::take(&mut *self.batch.lock().unwrap_or_else(|p| p.into_inner()));
        batch.ends.is_empty() || self.sender.send(Message::Items(batch)).is_ok()
    }
}

/// The engine's reader: fails once the Python side has gone away, and before it may block
/// on more input hands over the items found so far if the Python side is waiting for them
/// (so that a slow stream's items are not held back, while a fast one still goes in whole
/// batches rather than one item at a time).
struct EngineReader {
    inner: Box<dyn Read + Send>,
    handoff: Arc<Handoff>,
}

impl Read for EngineReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let signals = &self.handoff.signals;
        // Not `ErrorKind::Interrupted` for these: readers retry those.
        if signals.cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other("the iteration was closed"));
        }
        if signals.hungry.swap(false, Ordering::AcqRel) && !self.handoff.flush() {
            return Err(io::Error::other("the iteration was closed"));
        }
        self.inner.read(buf)
    }
}

fn produce(mut items: spate::Items<EngineReader>, limit: u64, handoff: Arc<Handoff>) {
    let mut left = limit;
    while left > 0 {
        match items.next_item() {
            Ok(Some(item)) => {
                left -= 1;
                let full = {
                    let mut batch = handoff.batch.lock().unwrap_or_else(|p| p.into_inner());
                    batch.bytes.extend_from_slice(item.raw());
                    let end = batch.bytes.len();
                    batch.ends.push(end);
                    end >= BATCH_BYTES || batch.ends.len() >= BATCH_ITEMS
                };
                if full && !handoff.flush() {
                    return;
                }
            }
            Ok(None) => break,
            Err(e) => {
                if handoff.flush() {
                    let _ = handoff.sender.send(Message::Failed(e));
                }
                return;
            }
        }
    }
    handoff.flush();
    // Dropping the sender (with the handoff) tells the Python side that the items are over.
}

struct State {
    receiver: Receiver<Message>,
    engine: Option<JoinHandle<()>>,
    signals: Arc<Signals>,
    builder: Builder,
    batch: Batch,
    next: usize,
}

impl State {
    /// Stops the engine thread and waits for it (it closes the input on its way out).
    fn stop(&mut self, py: Python<'_>) {
        self.signals.cancel.store(true, Ordering::Relaxed);
        // Dropping the receiver fails the engine's next send, should it wait on a full channel.
        self.receiver = sync_channel(0).1;
        if let Some(engine) = self.engine.take() {
            // The engine may need the GIL for a Python file object's read.
            py.detach(move || {
                let _ = engine.join();
            });
        }
    }
}

/// The items at a path of a JSON document, as Python values, one at a time.
#[pyclass(module = "spate._native")]
pub struct ItemsIter {
    state: Mutex<Option<State>>,
    pending: Pending,
}

fn parse_path(path: &str) -> PyResult<spate::Path> {
    spate::inputs::parse_path(path)
        .map_err(|e| PyValueError::new_err(format!("path {path:?}: {e}")))
}

#[pymethods]
impl ItemsIter {
    #[new]
    #[pyo3(signature = (source, path, *, max_depth, max_item_size, limit=None, decimal=false, multiple_values=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        path: &str,
        max_depth: u32,
        max_item_size: usize,
        limit: Option<u64>,
        decimal: bool,
        multiple_values: bool,
    ) -> PyResult<Self> {
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
        let source::Source {
            name,
            reader,
            pending,
        } = source::open(py, source)?;
        let signals = Arc::new(Signals::default());
        let (sender, receiver) = sync_channel(2);
        let handoff = Arc::new(Handoff {
            batch: Mutex::new(Batch::default()),
            sender,
            signals: signals.clone(),
        });
        let reader = EngineReader {
            inner: reader,
            handoff: handoff.clone(),
        };
        let items =
            spate::Items::with_options(reader, &name, vec![path], options).map_err(to_py)?;
        let engine = {
            let limit = limit.unwrap_or(u64::MAX);
            std::thread::Builder::new()
                .name("spate-items".into())
                .spawn(move || produce(items, limit, handoff))
                .map_err(|e| {
                    PyValueError::new_err(format!("cannot start the engine thread: {e}"))
                })?
        };
        let floats = if decimal {
            Floats::Decimal
        } else {
            Floats::Float
        };
        Ok(ItemsIter {
            state: Mutex::new(Some(State {
                receiver,
                engine: Some(engine),
                signals,
                builder: Builder::new(floats),
                batch: Batch::default(),
                next: 0,
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
        loop {
            if state.next < state.batch.ends.len() {
                let start = if state.next == 0 {
                    0
                } else {
                    state.batch.ends[state.next - 1]
                };
                let end = state.batch.ends[state.next];
                state.next += 1;
                return state
                    .builder
                    .build(py, &state.batch.bytes[start..end])
                    .map(Some);
            }
            let next = match state.receiver.try_recv() {
                Ok(message) => Next::Message(message),
                Err(TryRecvError::Disconnected) => Next::Over,
                Err(TryRecvError::Empty) => {
                    state.signals.hungry.store(true, Ordering::Release);
                    wait(py, &mut state.receiver)
                }
            };
            match next {
                Next::Message(Message::Items(batch)) => {
                    state.batch = batch;
                    state.next = 0;
                }
                Next::Message(Message::Failed(e)) => {
                    let err = self.pending.take().unwrap_or_else(|| to_py(e));
                    finish(py, &mut guard);
                    return Err(err);
                }
                Next::Over => {
                    finish(py, &mut guard);
                    return Ok(None);
                }
                Next::Interrupted(err) => {
                    finish(py, &mut guard);
                    return Err(err);
                }
            }
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

impl Drop for ItemsIter {
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
    /// The engine thread is done and every batch was taken.
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
    let source::Source {
        name,
        reader,
        pending,
    } = source::open(py, source)?;
    let reader = source::Interruptible {
        inner: reader,
        pending: pending.clone(),
    };
    let options = spate::ItemsOptions {
        max_depth,
        multiple_values,
        ..spate::ItemsOptions::default()
    };
    py.detach(move || spate::validate_with(reader, &name, options))
        .map_err(|e| pending.take().unwrap_or_else(|| to_py(e)))
}
