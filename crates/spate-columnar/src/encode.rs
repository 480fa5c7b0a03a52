//! Parquet with its column chunks encoded on several threads.
//!
//! Encoding and compressing (zstd) the columns is most of the work of a Parquet conversion:
//! measured on the delegations of the sessions document, 58% of all instructions against
//! 42% for reading the input and building the batches. parquet's `ArrowWriter` encodes the
//! columns of a batch one after the other on the thread that calls it; this writer hands
//! each column's leaves to whichever of its threads is free (the columns that took longest
//! in the previous batch first, so that one long text column does not finish last), then
//! closes the row group's column chunks the same way and appends them in order. The file is
//! the one `ArrowWriter` would write with the same row groups: the same encoders, pages,
//! statistics and embedded Arrow schema; only the row group boundaries follow this writer's
//! rules (at most `row_group_rows` rows; cut after a batch once the batches given reach
//! `row_group_bytes` of Arrow memory, or the encoded estimate does).
//!
//! Memory: the row group being encoded (as `ArrowWriter` holds it), and the batch.

use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn,
    ArrowRowGroupWriterFactory,
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

/// A Parquet file whose columns are encoded on `threads` threads. See the module docs.
pub struct ParallelParquet<W: Write + Send> {
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// The column writers of the row group in progress (one per leaf column); empty
    /// between row groups.
    writers: Vec<Mutex<Option<ArrowColumnWriter>>>,
    /// Nanoseconds each leaf column took in the last batch: the order they are handed out.
    cost: Vec<AtomicU64>,
    rows: usize,
    given: usize,
    row_groups: usize,
    options: ParquetOptions,
    threads: usize,
}

impl<W: Write + Send> std::fmt::Debug for ParallelParquet<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelParquet")
            .field("row_groups", &self.row_groups)
            .field("threads", &self.threads)
            .finish()
    }
}

impl<W: Write + Send> ParallelParquet<W> {
    /// A writer of `schema` into `out`, encoding on `threads` threads (the caller's and
    /// `threads - 1` more, started for each batch).
    pub fn new(
        out: W,
        schema: SchemaRef,
        options: &ParquetOptions,
        threads: usize,
    ) -> Result<Self, Error> {
        // (the properties and the embedded Arrow schema exactly as ArrowWriter sets them)
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(options.properties()))?;
        let (file, factory) = writer.into_serialized_writer()?;
        Ok(ParallelParquet {
            file,
            factory,
            schema,
            writers: Vec::new(),
            cost: Vec::new(),
            rows: 0,
            given: 0,
            row_groups: 0,
            options: *options,
            threads: threads.max(1),
        })
    }

    /// Encodes `batch` (cut where a row group is full).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        let max_rows = self.options.row_group_rows.max(1);
        let mut rest = batch.clone();
        while rest.num_rows() > 0 {
            if self.writers.is_empty() {
                let writers = self.factory.create_column_writers(self.row_groups)?;
                self.cost.resize_with(writers.len(), || AtomicU64::new(0));
                self.writers = writers.into_iter().map(|w| Mutex::new(Some(w))).collect();
            }
            let take = rest.num_rows().min(max_rows - self.rows);
            let part = rest.slice(0, take);
            self.encode(&part)?;
            self.rows += take;
            self.given += part.get_array_memory_size();
            rest = rest.slice(take, rest.num_rows() - take);
            let full = self.rows >= max_rows
                || self.given >= self.options.row_group_bytes
                || self.estimated_bytes() >= self.options.row_group_bytes;
            if full {
                self.flush_row_group()?;
            }
        }
        Ok(())
    }

    /// Bytes the row group in progress holds (encoded pages and values not yet encoded).
    pub fn buffered(&self) -> usize {
        self.each_writer(|w| w.memory_size())
    }

    fn estimated_bytes(&self) -> usize {
        self.each_writer(|w| w.get_estimated_total_bytes())
    }

    fn each_writer(&self, f: impl Fn(&ArrowColumnWriter) -> usize) -> usize {
        self.writers
            .iter()
            .map(|w| w.lock().ok().and_then(|w| w.as_ref().map(&f)).unwrap_or(0))
            .sum()
    }

    /// Each leaf of `part` written by its column writer, on the threads.
    fn encode(&mut self, part: &RecordBatch) -> Result<(), Error> {
        let mut leaves: Vec<ArrowLeafColumn> = Vec::with_capacity(self.writers.len());
        for (field, column) in self.schema.fields().iter().zip(part.columns()) {
            leaves.extend(compute_leaves(field, column)?);
        }
        if leaves.len() != self.writers.len() {
            return Err(ParquetError::General(format!(
                "{} leaf columns for {} column writers",
                leaves.len(),
                self.writers.len()
            ))
            .into());
        }
        let writers = &self.writers;
        let cost = &self.cost;
        self.run(|i| {
            let mut w = writers[i].lock().map_err(|_| poisoned())?;
            let w = w.as_mut().ok_or_else(poisoned)?;
            let start = Instant::now();
            w.write(&leaves[i])?;
            cost[i].store(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
            Ok(())
        })
    }

    /// Runs `job` on every leaf index, the costliest first, on the threads; the first
    /// error wins.
    fn run(&self, job: impl Fn(usize) -> Result<(), ParquetError> + Sync) -> Result<(), Error> {
        let mut order: Vec<usize> = (0..self.writers.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.cost[i].load(Ordering::Relaxed)));
        let next = AtomicUsize::new(0);
        let failure: Mutex<Option<ParquetError>> = Mutex::new(None);
        let work = || {
            while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                if let Err(e) = job(i) {
                    if let Ok(mut f) = failure.lock() {
                        f.get_or_insert(e);
                    }
                    next.store(order.len(), Ordering::Relaxed);
                }
            }
        };
        let helpers = (self.threads - 1).min(order.len().saturating_sub(1));
        std::thread::scope(|s| {
            for _ in 0..helpers {
                s.spawn(work);
            }
            work();
        });
        match failure.into_inner().ok().flatten() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Closes the row group in progress (its column chunks closed on the threads) and
    /// appends it to the file.
    pub fn flush_row_group(&mut self) -> Result<(), Error> {
        if self.writers.is_empty() {
            return Ok(());
        }
        let chunks: Vec<Mutex<Option<ArrowColumnChunk>>> =
            (0..self.writers.len()).map(|_| Mutex::new(None)).collect();
        let writers = &self.writers;
        self.run(|i| {
            let w = writers[i]
                .lock()
                .map_err(|_| poisoned())?
                .take()
                .ok_or_else(poisoned)?;
            let chunk = w.close()?;
            *chunks[i].lock().map_err(|_| poisoned())? = Some(chunk);
            Ok(())
        })?;
        self.writers.clear();
        let mut row_group = self.file.next_row_group()?;
        for chunk in chunks {
            let chunk = chunk
                .into_inner()
                .map_err(|_| poisoned())?
                .ok_or_else(poisoned)?;
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        self.row_groups += 1;
        self.rows = 0;
        self.given = 0;
        Ok(())
    }

    /// Writes the last row group and the footer; returns the output.
    pub fn finish(mut self) -> Result<W, Error> {
        self.flush_row_group()?;
        Ok(self.file.into_inner()?)
    }
}

fn poisoned() -> ParquetError {
    ParquetError::General("a column writer was lost by a failed thread".into())
}
