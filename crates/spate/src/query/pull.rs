//! Pulling a query's results as an iterator: the run goes on a background thread and
//! feeds a bounded channel; dropping the iterator cancels the run.

use std::io;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use super::pipeline::{execute, QueryOutcome};
use super::Query;
use crate::inputs::Inputs;
use crate::output::ResultSink;
use crate::parallel::{Cancel, InputReport, Observer, RunError, RunOptions};

/// Blocks of results in flight between the run and the reader (each up to the executor's
/// block size, 256 KiB): memory stays bounded whatever the reader's pace.
const CHANNEL_BLOCKS: usize = 4;

/// What the run thread sends.
enum Event {
    /// Results, one per line (each ending in `\n`).
    Lines(Vec<u8>),
    /// One result (an aggregate row).
    One(Vec<u8>),
    /// An error reported and gone past (an unreadable input, a skipped bad line).
    Error(RunError),
}

/// A query's results, pulled: each item is one result (a compact JSON text, or a line of
/// text with raw output), or an error the run reported and went past; the error that ends
/// the run comes last. Dropping it cancels the run and waits for its threads to end.
///
/// ```
/// use spate::inputs::{InputFile, Inputs};
/// use spate::parallel::RunOptions;
/// use spate::query::{results, Query};
///
/// let lines = b"{\"n\": 1}\n{\"n\": 2}\n{\"n\": 3}\n".to_vec();
/// let inputs = Inputs::new(vec![InputFile::from_bytes("mem.jsonl", lines, None)]);
/// let query = Query::new("n")?.jq(". * 10")?;
/// let mut pulled = results(query, inputs, RunOptions::default());
/// let first: Vec<Vec<u8>> = pulled.by_ref().take(2).collect::<Result<_, _>>()?;
/// assert_eq!(first, [b"10".to_vec(), b"20".to_vec()]);
/// drop(pulled); // cancels the rest of the run
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct QueryResults {
    receiver: Option<Receiver<Event>>,
    cancel: Cancel,
    run: Option<JoinHandle<Result<QueryOutcome, RunError>>>,
    /// The current block and how far it was read.
    block: Vec<u8>,
    pos: usize,
    /// The run's end, once the channel is closed.
    outcome: Option<Result<QueryOutcome, RunError>>,
    fatal_reported: bool,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Lines(b) => write!(f, "Lines({} bytes)", b.len()),
            Event::One(b) => write!(f, "One({} bytes)", b.len()),
            Event::Error(e) => write!(f, "Error({e})"),
        }
    }
}

/// Starts `query` over `inputs` on a background thread and returns its results to pull.
/// `options.cancel` is replaced by the iterator's own token ([`QueryResults::cancel`]).
pub fn results(query: Query, inputs: Inputs, mut options: RunOptions) -> QueryResults {
    let cancel = Cancel::new();
    options.cancel = cancel.clone();
    let (sender, receiver) = crossbeam_channel::bounded(CHANNEL_BLOCKS);
    let run = std::thread::spawn(move || {
        let mut sink = Feed(sender.clone());
        let mut observer = Feed(sender);
        execute(&query, &inputs, &options, &mut sink, &mut observer)
    });
    QueryResults {
        receiver: Some(receiver),
        cancel,
        run: Some(run),
        block: Vec::new(),
        pos: 0,
        outcome: None,
        fatal_reported: false,
    }
}

/// The run thread's end of the channel (as the results' sink and the errors' observer).
struct Feed(Sender<Event>);

impl Feed {
    fn send(&self, event: Event) -> io::Result<()> {
        // The reader is gone: stop the run (as writing to a closed pipe does).
        self.0
            .send(event)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the results were dropped"))
    }
}

impl ResultSink for Feed {
    fn result(&mut self, result: &[u8]) -> io::Result<()> {
        self.send(Event::One(result.to_vec()))
    }

    fn results(&mut self, lines: &[u8], _count: u64) -> io::Result<()> {
        self.send(Event::Lines(lines.to_vec()))
    }
}

impl Observer for Feed {
    fn error(&mut self, error: RunError) {
        let _ = self.send(Event::Error(error));
    }

    fn input_done(&mut self, _report: &InputReport<'_>) {}
}

impl QueryResults {
    /// A token that cancels the run (from any thread); the iterator then ends with
    /// [`RunError::Cancelled`].
    pub fn cancel(&self) -> Cancel {
        self.cancel.clone()
    }

    /// Waits for the end of the run (results not read yet are dropped) and returns what it
    /// did, or the error that ended it.
    pub fn finish(mut self) -> Result<QueryOutcome, RunError> {
        while self.next_event().is_some() {}
        self.outcome.take().unwrap_or(Err(RunError::Cancelled))
    }

    /// The next event, or `None` once the run is over (its outcome then kept).
    fn next_event(&mut self) -> Option<Event> {
        let event = self.receiver.as_ref()?.recv().ok();
        if event.is_none() {
            self.receiver = None;
            self.outcome = self
                .run
                .take()
                .map(|run| run.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        event
    }
}

impl Iterator for QueryResults {
    type Item = Result<Vec<u8>, RunError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.pos < self.block.len() {
                let rest = &self.block[self.pos..];
                let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                let result = rest[..end].to_vec();
                self.pos += end + 1;
                return Some(Ok(result));
            }
            match self.next_event() {
                Some(Event::Lines(block)) => {
                    self.block = block;
                    self.pos = 0;
                }
                Some(Event::One(result)) => return Some(Ok(result)),
                Some(Event::Error(e)) => return Some(Err(e)),
                None => {
                    if self.fatal_reported {
                        return None;
                    }
                    self.fatal_reported = true;
                    return match self.outcome.take() {
                        Some(Err(e)) => Some(Err(e)),
                        other => {
                            self.outcome = other;
                            None
                        }
                    };
                }
            }
        }
    }
}

impl Drop for QueryResults {
    fn drop(&mut self) {
        self.cancel.cancel();
        // A closed channel fails the run's next send: it stops even while it waits on us.
        self.receiver = None;
        if let Some(run) = self.run.take() {
            let _ = run.join();
        }
    }
}
