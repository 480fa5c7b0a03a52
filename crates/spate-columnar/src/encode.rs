//! Parquet with its row groups encoded on several threads.
//!
//! Encoding and compressing (zstd) the columns is most of the work of a Parquet conversion,
//! and it is often one column's: on the delegations of the sessions document the `prompt`
//! text takes 99% of the encoding time, so encoding the columns of a row group side by side
//! gains nothing. Row groups are independent, though: this writer hands each row group to
//! one of its encoding threads in turn — the batches of the next row group go to the next
//! thread while the previous one is still compressing — and appends the finished row groups
//! to the file in order. The file is the one parquet's `ArrowWriter` writes with the same
//! row groups: the same column writers, pages, statistics and embedded Arrow schema (a test
//! compares the bytes); the row group boundaries follow this writer's rules (at most
//! `row_group_rows` rows; cut after a batch once the batches given reach `row_group_bytes`
//! of Arrow memory).
//!
//! Memory: per encoding thread, the row group it encodes (its compressed pages); and at most
//! 12 MB of batches waiting for the encoders or being encoded (one batch more when it is
//! the only one).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use parquet::arrow::ArrowWriter;
use parquet::errors::ParquetError;
use parquet::file::writer::SerializedFileWriter;

use crate::error::Error;
use crate::write::ParquetOptions;

/// The threads a conversion encodes on: the machine's cores, at most four (past that the
/// reading thread cannot keep them busy).
pub fn encode_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// What an encoding thread is told.
enum Job {
    /// Encode the row group these column writers belong to.
    Start(Vec<ArrowColumnWriter>),
    /// Rows of the current row group.
    Rows(RecordBatch),
    /// The row group is complete: close its column chunks and send them back.
    Close,
}

/// Bytes of batches handed to the encoders and not yet encoded, and a signal when that
/// drops: the coordinator waits while too many wait, so that memory stays bounded while the
/// encoders overlap.
#[derive(Default)]
struct InFlight {
    bytes: Mutex<usize>,
    less: Condvar,
}

impl InFlight {
    fn add(&self, n: usize, limit: usize) {
        let Ok(mut bytes) = self.bytes.lock() else {
            return;
        };
        while *bytes > 0 && *bytes + n > limit {
            bytes = match self.less.wait(bytes) {
                Ok(b) => b,
                Err(_) => return,
            };
        }
        *bytes += n;
    }

    fn done(&self, n: usize) {
        if let Ok(mut bytes) = self.bytes.lock() {
            *bytes = bytes.saturating_sub(n);
            self.less.notify_all();
        }
    }
}

/// Bytes of batches waiting for or being encoded, at most (one batch more when it is the
/// only one): what lets the next row group start while the previous one is compressed.
const IN_FLIGHT_BYTES: usize = 12 << 20;

/// One encoding thread.
struct Encoder {
    /// Unbounded: what bounds the batches waiting is [`InFlight`], over all encoders, so
    /// that handing rows to one encoder never waits for that encoder while another one has
    /// nothing to do (with a one-job channel each, the row groups were encoded one after
    /// the other, not side by side).
    jobs: Sender<Job>,
    chunks: Receiver<Result<Vec<ArrowColumnChunk>, ParquetError>>,
    thread: Option<JoinHandle<()>>,
}

impl Encoder {
    fn start(schema: SchemaRef, in_flight: Arc<InFlight>) -> Result<Encoder, Error> {
        let (jobs, received) = channel::<Job>();
        let (done, chunks) = sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("spate-encoder".into())
            .spawn(move || encode(&schema, received, done, &in_flight))
            .map_err(|e| Error::Usage(format!("cannot start an encoding thread: {e}")))?;
        Ok(Encoder {
            jobs,
            chunks,
            thread: Some(thread),
        })
    }

    fn send(&self, job: Job) -> Result<(), Error> {
        self.jobs
            .send(job)
            .map_err(|_| Error::Usage("an encoding thread stopped".into()))
    }

    /// The column chunks of the row group it was told to close.
    fn chunks(&self) -> Result<Vec<ArrowColumnChunk>, Error> {
        match self.chunks.recv() {
            Ok(chunks) => Ok(chunks?),
            Err(_) => Err(Error::Usage("an encoding thread stopped".into())),
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // (closing `jobs` ends the thread's loop)
        let (jobs, _) = channel();
        drop(std::mem::replace(&mut self.jobs, jobs));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An encoding thread's loop: the row groups it is given, one at a time. After an error it
/// reports it for the row group and skips the rest of that row group.
fn encode(
    schema: &SchemaRef,
    jobs: Receiver<Job>,
    done: SyncSender<Result<Vec<ArrowColumnChunk>, ParquetError>>,
    in_flight: &InFlight,
) {
    let mut writers: Vec<ArrowColumnWriter> = Vec::new();
    let mut failed: Option<ParquetError> = None;
    for job in jobs {
        match job {
            Job::Start(w) => {
                writers = w;
                failed = None;
            }
            Job::Rows(batch) => {
                if failed.is_none() {
                    if let Err(e) = write_rows(schema, &mut writers, &batch) {
                        failed = Some(e);
                    }
                }
                let size = batch.get_array_memory_size();
                crate::builder::recycle_text(batch);
                in_flight.done(size);
            }
            Job::Close => {
                let result = match failed.take() {
                    Some(e) => Err(e),
                    None => std::mem::take(&mut writers)
                        .into_iter()
                        .map(ArrowColumnWriter::close)
                        .collect(),
                };
                if done.send(result).is_err() {
                    return;
                }
            }
        }
    }
}

/// Each leaf column of `batch` written by its column writer (as `ArrowWriter` does).
fn write_rows(
    schema: &SchemaRef,
    writers: &mut [ArrowColumnWriter],
    batch: &RecordBatch,
) -> Result<(), ParquetError> {
    let mut writers = writers.iter_mut();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        for leaf in compute_leaves(field, column)? {
            let writer = writers
                .next()
                .ok_or_else(|| ParquetError::General("more leaf columns than writers".into()))?;
            writer.write(&leaf)?;
        }
    }
    Ok(())
}

/// A Parquet file whose row groups are encoded on `threads` threads. See the module docs.
pub struct ParallelParquet<W: Write + Send> {
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    encoders: Vec<Encoder>,
    in_flight: Arc<InFlight>,
    /// The encoders of the row groups told to close and not yet appended, oldest first.
    closing: VecDeque<usize>,
    /// The encoder of the row group in progress, when one is.
    current: Option<usize>,
    /// Row groups started.
    started: usize,
    rows: usize,
    given: usize,
    options: ParquetOptions,
}

impl<W: Write + Send> std::fmt::Debug for ParallelParquet<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelParquet")
            .field("row_groups", &self.started)
            .field("threads", &self.encoders.len())
            .finish()
    }
}

impl<W: Write + Send> ParallelParquet<W> {
    /// A writer of `schema` into `out`, encoding on `threads` threads of its own.
    pub fn new(
        out: W,
        schema: SchemaRef,
        options: &ParquetOptions,
        threads: usize,
    ) -> Result<Self, Error> {
        // (the properties and the embedded Arrow schema exactly as ArrowWriter sets them)
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(options.properties()?))?;
        let (file, factory) = writer.into_serialized_writer()?;
        let in_flight = Arc::new(InFlight::default());
        let encoders = (0..threads.max(1))
            .map(|_| Encoder::start(schema.clone(), in_flight.clone()))
            .collect::<Result<_, _>>()?;
        Ok(ParallelParquet {
            file,
            factory,
            encoders,
            in_flight,
            closing: VecDeque::new(),
            current: None,
            started: 0,
            rows: 0,
            given: 0,
            options: *options,
        })
    }

    /// Hands `batch` to the encoders (cut where a row group is full).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        let max_rows = self.options.row_group_rows.max(1);
        let mut rest = batch.clone();
        while rest.num_rows() > 0 {
            let encoder = match self.current {
                Some(e) => e,
                None => self.start_row_group()?,
            };
            let take = rest.num_rows().min(max_rows - self.rows);
            let part = rest.slice(0, take);
            self.rows += take;
            let size = part.get_array_memory_size();
            self.given += size;
            self.in_flight.add(size, IN_FLIGHT_BYTES);
            self.encoders[encoder].send(Job::Rows(part))?;
            rest = rest.slice(take, rest.num_rows() - take);
            if self.rows >= max_rows || self.given >= self.options.row_group_bytes {
                self.flush_row_group()?;
            }
        }
        Ok(())
    }

    /// Starts a row group on the next encoder, once that encoder's previous row group (the
    /// oldest one still closing) is appended.
    fn start_row_group(&mut self) -> Result<usize, Error> {
        let encoder = self.started % self.encoders.len();
        while self.closing.contains(&encoder) {
            self.append_oldest()?;
        }
        let writers = self.factory.create_column_writers(self.started)?;
        self.encoders[encoder].send(Job::Start(writers))?;
        self.started += 1;
        self.current = Some(encoder);
        Ok(encoder)
    }

    fn append_oldest(&mut self) -> Result<(), Error> {
        let Some(encoder) = self.closing.pop_front() else {
            return Ok(());
        };
        let chunks = self.encoders[encoder].chunks()?;
        let mut row_group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        Ok(())
    }

    /// Bytes of Arrow data given to the row group in progress.
    pub fn buffered(&self) -> usize {
        self.given
    }

    /// Ends the row group in progress: its encoder closes it (the file gets it in order).
    pub fn flush_row_group(&mut self) -> Result<(), Error> {
        if let Some(encoder) = self.current.take() {
            self.encoders[encoder].send(Job::Close)?;
            self.closing.push_back(encoder);
        }
        self.rows = 0;
        self.given = 0;
        Ok(())
    }

    /// Writes the row groups still being encoded and the footer; returns the output.
    pub fn finish(mut self) -> Result<W, Error> {
        self.flush_row_group()?;
        while !self.closing.is_empty() {
            self.append_oldest()?;
        }
        self.encoders.clear();
        Ok(self.file.into_inner()?)
    }
}
