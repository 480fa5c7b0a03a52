//! Writing record batches: Parquet (row groups of bounded size, a compression codec) and the
//! Arrow IPC file format. Each writer holds at most one row group (Parquet) or nothing
//! (IPC writes each batch as it comes).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::str::FromStr;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::Error;

/// Rows per Parquet row group unless told otherwise (DuckDB's default, so that files
/// compare).
pub const DEFAULT_ROW_GROUP_ROWS: usize = 122_880;
/// A row group is closed early once the rows given to it hold this many bytes as Arrow
/// arrays. (The writer's own estimate of what it holds, `memory_size`, was measured well
/// under the memory it takes: 16 MB reported for 64 MB peak on the sessions document.)
pub const DEFAULT_ROW_GROUP_BYTES: usize = 16 << 20;
/// A column's dictionary past this size gives way to the fallback encoding.
pub const DICTIONARY_PAGE_BYTES: usize = 128 << 10;
/// The size from which glibc's `malloc` should map a buffer of its own in a process that
/// converts (`spate::memory::return_freed_memory_above`): above the parquet crate's 1 MiB
/// data page buffers, which come and go for every page, and which otherwise were a fresh
/// mapping each, every page of it faulted in (measured on the 1.1 GB sessions document:
/// 6 % less CPU than at 128 KiB, 1 MB more peak memory).
pub const CONVERT_MMAP_THRESHOLD: usize = 1280 << 10;
/// zstd level of Parquet pages unless told otherwise.
pub const ZSTD_LEVEL: i32 = 3;

/// The compression of Parquet pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    #[default]
    Zstd,
    Snappy,
    Gzip,
    None,
}

impl FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "zstd" => Compression::Zstd,
            "snappy" => Compression::Snappy,
            "gzip" => Compression::Gzip,
            "none" | "uncompressed" => Compression::None,
            _ => {
                return Err(format!(
                    "{s:?}: unknown compression (zstd, snappy, gzip, none)"
                ))
            }
        })
    }
}

impl Compression {
    /// The parquet crate's codec at `level` (`None`: the codec's default); a level the codec
    /// does not take is an error naming the codec's range.
    fn parquet(self, level: Option<i32>) -> Result<parquet::basic::Compression, Error> {
        use parquet::basic::Compression as C;
        let bad = |range: &str| {
            Error::Usage(format!(
                "compression level {}: {range}",
                level.unwrap_or_default()
            ))
        };
        Ok(match (self, level) {
            (Compression::Zstd, level) => C::ZSTD(
                Some(level.unwrap_or(ZSTD_LEVEL))
                    .filter(|l| (1..=22).contains(l))
                    .and_then(|l| ZstdLevel::try_new(l).ok())
                    .ok_or_else(|| bad("zstd takes 1 to 22"))?,
            ),
            (Compression::Gzip, None) => C::GZIP(GzipLevel::default()),
            (Compression::Gzip, Some(l)) => C::GZIP(
                u32::try_from(l)
                    .ok()
                    .and_then(|l| GzipLevel::try_new(l).ok())
                    .ok_or_else(|| bad("gzip takes 0 to 10"))?,
            ),
            (Compression::Snappy, None) => C::SNAPPY,
            (Compression::None, None) => C::UNCOMPRESSED,
            (Compression::Snappy | Compression::None, Some(_)) => {
                return Err(bad("only zstd and gzip take a level"))
            }
        })
    }
}

/// Settings of Parquet output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParquetOptions {
    pub compression: Compression,
    /// The codec's level (zstd 1-22, gzip 0-10); `None`: zstd [`ZSTD_LEVEL`], gzip 6.
    pub compression_level: Option<i32>,
    /// Most rows in one row group.
    pub row_group_rows: usize,
    /// Most bytes (as Arrow arrays) of the rows of one row group: past it, the row group is
    /// written out. This bounds the memory the writer holds.
    pub row_group_bytes: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            compression: Compression::default(),
            compression_level: None,
            row_group_rows: DEFAULT_ROW_GROUP_ROWS,
            row_group_bytes: DEFAULT_ROW_GROUP_BYTES,
        }
    }
}

impl ParquetOptions {
    pub(crate) fn properties(&self) -> Result<WriterProperties, Error> {
        Ok(WriterProperties::builder()
            .set_compression(self.compression.parquet(self.compression_level)?)
            .set_max_row_group_row_count(Some(self.row_group_rows.max(1)))
            .set_max_row_group_bytes(Some(self.row_group_bytes.max(1)))
            .set_created_by(format!("spate {}", env!("CARGO_PKG_VERSION")))
            // Format 2.0 encodings: a column whose dictionary grows past the limit (many
            // distinct values) falls back to delta encodings rather than plain. The small
            // limit makes such columns fall back early; few-valued ones keep their dictionary.
            .set_writer_version(parquet::file::properties::WriterVersion::PARQUET_2_0)
            .set_dictionary_page_size_limit(DICTIONARY_PAGE_BYTES)
            .build())
    }
}

/// The columnar file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileFormat {
    Parquet,
    /// The Arrow IPC file format (`.arrow`, Feather v2).
    ArrowIpc,
}

impl FileFormat {
    /// By extension: `.parquet` (`.pq`), `.arrow` (`.feather`, `.ipc`).
    pub fn from_file_name(name: &str) -> Option<FileFormat> {
        let lower = name.to_ascii_lowercase();
        let ext = lower.rsplit_once('.')?.1;
        match ext {
            "parquet" | "pq" => Some(FileFormat::Parquet),
            "arrow" | "feather" | "ipc" => Some(FileFormat::ArrowIpc),
            _ => None,
        }
    }

    /// The extension of partition files.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::ArrowIpc => "arrow",
        }
    }
}

/// Writes batches of one schema into one file.
pub enum BatchWriter<W: Write + Send = BufWriter<File>> {
    /// The writer, the Arrow bytes one row group may take, and those given to it so far.
    Parquet(Box<ArrowWriter<W>>, usize, usize),
    /// Parquet whose row groups are encoded on several threads ([`crate::encode`]).
    ParallelParquet(Box<crate::encode::ParallelParquet<W>>),
    Ipc(Box<arrow_ipc::writer::FileWriter<W>>),
}

impl<W: Write + Send> std::fmt::Debug for BatchWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BatchWriter::Parquet(..) => "BatchWriter::Parquet",
            BatchWriter::ParallelParquet(..) => "BatchWriter::ParallelParquet",
            BatchWriter::Ipc(_) => "BatchWriter::Ipc",
        })
    }
}

impl<W: Write + Send> BatchWriter<W> {
    /// [`BatchWriter::new`], Parquet encoding its row groups on `threads` threads
    /// ([`crate::encode`]; one thread: the sequential writer).
    pub fn with_threads(
        out: W,
        schema: SchemaRef,
        format: FileFormat,
        parquet: &ParquetOptions,
        threads: usize,
    ) -> Result<Self, Error> {
        match format {
            FileFormat::Parquet if threads > 1 => Ok(BatchWriter::ParallelParquet(Box::new(
                crate::encode::ParallelParquet::new(out, schema, parquet, threads)?,
            ))),
            _ => BatchWriter::new(out, schema, format, parquet),
        }
    }

    /// A writer of `format` into `out`.
    pub fn new(
        out: W,
        schema: SchemaRef,
        format: FileFormat,
        parquet: &ParquetOptions,
    ) -> Result<Self, Error> {
        Ok(match format {
            FileFormat::Parquet => BatchWriter::Parquet(
                Box::new(ArrowWriter::try_new(
                    out,
                    schema,
                    Some(parquet.properties()?),
                )?),
                parquet.row_group_bytes.max(1),
                0,
            ),
            FileFormat::ArrowIpc => BatchWriter::Ipc(Box::new(
                arrow_ipc::writer::FileWriter::try_new(out, &schema)?,
            )),
        })
    }

    /// Writes one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        match self {
            BatchWriter::Parquet(w, budget, given) => {
                w.write(batch)?;
                *given += batch.get_array_memory_size();
                if *given >= *budget || w.in_progress_rows() == 0 {
                    // Written out (or the writer started a row group by its own limits).
                    if w.in_progress_rows() > 0 {
                        w.flush()?;
                    }
                    *given = 0;
                }
            }
            BatchWriter::ParallelParquet(w) => w.write(batch)?,
            BatchWriter::Ipc(w) => w.write(batch)?,
        }
        Ok(())
    }

    /// Memory held for the row group being written (Parquet), in bytes.
    pub fn buffered(&self) -> usize {
        match self {
            BatchWriter::Parquet(w, ..) => w.memory_size(),
            BatchWriter::ParallelParquet(w) => w.buffered(),
            BatchWriter::Ipc(_) => 0,
        }
    }

    /// Writes out the row group being built (Parquet; nothing for IPC).
    pub fn flush_row_group(&mut self) -> Result<(), Error> {
        match self {
            BatchWriter::Parquet(w, _, given) => {
                w.flush()?;
                *given = 0;
            }
            BatchWriter::ParallelParquet(w) => w.flush_row_group()?,
            BatchWriter::Ipc(_) => {}
        }
        Ok(())
    }

    /// Writes the footer and returns the output.
    pub fn finish(self) -> Result<W, Error> {
        match self {
            // Writes the last row group and the footer.
            BatchWriter::Parquet(w, ..) => Ok(w.into_inner()?),
            BatchWriter::ParallelParquet(w) => w.finish(),
            BatchWriter::Ipc(mut w) => {
                w.finish()?;
                Ok(w.into_inner()?)
            }
        }
    }
}
