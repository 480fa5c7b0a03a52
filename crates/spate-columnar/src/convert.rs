//! The conversion a front end calls: an input into a Parquet or Arrow IPC file (or a folder
//! of hive-style partitions), written to a temporary file renamed at the end.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use arrow_array::RecordBatch;

use crate::error::Error;
use crate::output::{check_not_input, PendingDir, PendingFile};
use crate::partition::{PartitionOptions, PartitionSink};
use crate::scan::{scan, BatchConsumer, ScanOptions};
use crate::schema::TableSchema;
use crate::write::{BatchWriter, FileFormat, ParquetOptions};

/// Settings of a conversion.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// How the input is read.
    pub scan: ScanOptions,
    pub format: FileFormat,
    pub parquet: ParquetOptions,
    /// Hive-style partitions (when columns are given): `output` is then a folder.
    pub partition: PartitionOptions,
    /// Threads encoding the row groups of a single Parquet file ([`crate::encode`]; default:
    /// the machine's cores, at most four; 1: parquet's own sequential writer).
    pub threads: usize,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            scan: ScanOptions::default(),
            format: FileFormat::Parquet,
            parquet: ParquetOptions::default(),
            partition: PartitionOptions::default(),
            threads: crate::encode::encode_threads(),
        }
    }
}

/// What a conversion did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ConvertReport {
    /// Rows written.
    pub rows: u64,
    /// Bytes read by the writing pass (decompressed).
    pub bytes_in: u64,
    /// Bytes written (all files).
    pub bytes_out: u64,
    /// Files written.
    pub files: u64,
    /// Columns.
    pub columns: u64,
}

/// Converts `input` (`-`: standard input) into the file `output`. Refuses an output that is
/// the input; on any error nothing is left at `output` (an existing file there is kept).
pub fn convert(
    input: &Path,
    output: &Path,
    options: &ConvertOptions,
) -> Result<ConvertReport, Error> {
    if output.as_os_str() == "-" {
        return Err(Error::Usage(
            "Parquet and Arrow output is written to a file (a name, not standard output)".into(),
        ));
    }
    check_not_input(&[input], output)?;
    if !options.partition.columns.is_empty() {
        return convert_partitioned(input, output, options);
    }
    let mut sink = FileSink {
        dest: output,
        format: options.format,
        parquet: options.parquet,
        threads: options.threads,
        open: None,
        columns: 0,
    };
    let scanned = scan(input, &options.scan, &mut sink);
    let Some((writer, pending)) = sink.open.take() else {
        return Err(scanned
            .err()
            .unwrap_or_else(|| Error::Usage("no schema: the input was not read".into())));
    };
    // the writer's own error first: a failed write ends the scan with "the writer stopped"
    let mut file = writer.finish()?;
    let report = scanned?;
    let columns = sink.columns;
    file.flush().map_err(|source| Error::Output {
        path: output.to_path_buf(),
        source,
    })?;
    drop(file);
    let bytes_out = pending.commit()?;
    Ok(ConvertReport {
        rows: report.rows,
        bytes_in: report.bytes_in,
        bytes_out,
        files: 1,
        columns,
    })
}

/// Converts into a folder of partitions, filled under a temporary name and renamed at the end.
fn convert_partitioned(
    input: &Path,
    output: &Path,
    options: &ConvertOptions,
) -> Result<ConvertReport, Error> {
    let pending = PendingDir::create(output)?;
    let mut sink = PartitionSink::new(
        pending.path(),
        options.partition.clone(),
        options.format,
        options.parquet,
    );
    let report = scan(input, &options.scan, &mut sink)?;
    let columns = sink.columns() as u64;
    let (files, bytes_out) = sink.finish()?;
    pending.commit()?;
    Ok(ConvertReport {
        rows: report.rows,
        bytes_in: report.bytes_in,
        bytes_out,
        files,
        columns,
    })
}

/// Writes the batches into one file, created once the schema is known (so that a bad input
/// fails before anything is created).
struct FileSink<'a> {
    dest: &'a Path,
    format: FileFormat,
    parquet: ParquetOptions,
    threads: usize,
    open: Option<(WriterThread, PendingFile)>,
    columns: u64,
}

impl BatchConsumer for FileSink<'_> {
    fn schema(&mut self, table: &TableSchema) -> Result<(), Error> {
        let pending = PendingFile::create(self.dest)?;
        let writer = BatchWriter::with_threads(
            pending.writer()?,
            table.arrow(),
            self.format,
            &self.parquet,
            self.threads,
        )?;
        self.columns = table.columns.len() as u64;
        self.open = Some((WriterThread::start(writer)?, pending));
        Ok(())
    }

    fn batch(&mut self, batch: RecordBatch) -> Result<(), Error> {
        match &mut self.open {
            Some((w, _)) => w.write(batch),
            None => Err(Error::Usage("a batch before the schema".into())),
        }
    }
}

/// A [`BatchWriter`] on a thread of its own: encoding and compressing a batch (about half
/// the work of a Parquet conversion) overlaps reading and building the next one. The
/// channel holds no batch: a batch is handed over only when the writer is ready for it, so
/// at most two batches exist at once (one being built, one being written).
struct WriterThread {
    batches: Option<std::sync::mpsc::SyncSender<RecordBatch>>,
    thread: std::thread::JoinHandle<Result<BatchWriter<BufWriter<File>>, Error>>,
}

impl WriterThread {
    fn start(mut writer: BatchWriter<BufWriter<File>>) -> Result<Self, Error> {
        let (batches, received) = std::sync::mpsc::sync_channel::<RecordBatch>(0);
        let thread = std::thread::Builder::new()
            .name("spate-writer".into())
            .spawn(move || {
                for batch in received {
                    writer.write(&batch)?;
                    crate::builder::recycle_text(batch);
                }
                Ok(writer)
            })
            .map_err(|e| Error::Usage(format!("cannot start the writer thread: {e}")))?;
        Ok(WriterThread {
            batches: Some(batches),
            thread,
        })
    }

    /// Hands `batch` to the writer. Fails when the writer has stopped (on an error, which
    /// [`WriterThread::finish`] returns).
    fn write(&mut self, batch: RecordBatch) -> Result<(), Error> {
        match &self.batches {
            Some(tx) if tx.send(batch).is_ok() => Ok(()),
            _ => Err(Error::Usage("the writer stopped".into())),
        }
    }

    /// Waits for the writer to write what it was given; then writes the footer and returns
    /// the output. The writer's error, if it stopped on one.
    fn finish(mut self) -> Result<BufWriter<File>, Error> {
        self.batches = None;
        match self.thread.join() {
            Ok(writer) => writer?.finish(),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
