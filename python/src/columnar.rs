//! `convert` and `arrow_batches`: spate-columnar from Python. Batches are handed to pyarrow
//! through the Arrow C data interface (the `__arrow_c_array__` PyCapsule protocol): no copy,
//! and pyarrow is needed only by whoever asks for batches.
//!
//! The scan runs on a thread of its own and sends batches through a channel of two: memory
//! is the window, the batch being built and two finished ones, whatever the input's size.
//! Dropping the iterator stops the scan at its next batch.

use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use arrow_array::ffi::{to_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{Array, RecordBatch, StructArray};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict, PyTuple};
use spate_columnar::{
    Arrays, BatchConsumer, Compression, ConvertOptions, FileFormat, ParquetOptions,
    PartitionOptions, ScanOptions, TableSchema,
};
use spate_csv::{GivenSchema, ReadOptions};

use crate::errors::to_py;

/// How often a waiting Python thread looks for Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

fn columnar_to_py(error: spate_columnar::Error) -> PyErr {
    let message = error.to_string();
    match error {
        spate_columnar::Error::Input(e) => match e.kind {
            spate_csv::ErrorKind::Json(inner) => to_py(*inner),
            spate_csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
                PyFileNotFoundError::new_err((2, message))
            }
            spate_csv::ErrorKind::Io(_) | spate_csv::ErrorKind::Output(_) => {
                PyOSError::new_err(message)
            }
            _ => PyValueError::new_err(message),
        },
        spate_columnar::Error::Output { .. } => PyOSError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

#[allow(clippy::too_many_arguments)]
fn scan_options(
    path: Option<String>,
    with_: Vec<(String, String)>,
    filter: Option<String>,
    schema: Option<String>,
    batch_size: usize,
    arrays: &str,
    flatten: bool,
) -> PyResult<ScanOptions> {
    let arrays: Arrays = arrays.parse().map_err(PyValueError::new_err)?;
    let given = match schema {
        Some(text) => Some(
            GivenSchema::from_json(text.as_bytes())
                .map_err(|e| PyValueError::new_err(e.to_string()))?,
        ),
        None => None,
    };
    Ok(ScanOptions {
        read: ReadOptions {
            from: None,
            json_path: path,
        },
        with: with_,
        filter,
        given,
        batch_rows: batch_size.max(1),
        arrays,
        flatten,
        ..ScanOptions::default()
    })
}

/// Converts `source` into a Parquet or Arrow IPC file (or a folder of partitions); returns
/// the report as a dict.
#[pyfunction]
#[pyo3(signature = (source, output, *, path=None, with_=Vec::new(), filter=None, schema=None,
                    format=None, compression="zstd", row_group_size=None, partition_by=Vec::new(),
                    arrays="list", flatten=false, compression_level=None))]
#[allow(clippy::too_many_arguments)]
pub fn convert<'py>(
    py: Python<'py>,
    source: PathBuf,
    output: PathBuf,
    path: Option<String>,
    with_: Vec<(String, String)>,
    filter: Option<String>,
    schema: Option<String>,
    format: Option<String>,
    compression: &str,
    row_group_size: Option<usize>,
    partition_by: Vec<String>,
    arrays: &str,
    flatten: bool,
    compression_level: Option<i32>,
) -> PyResult<Bound<'py, PyDict>> {
    let format = match format.as_deref() {
        Some("parquet") => FileFormat::Parquet,
        Some("arrow") | Some("ipc") | Some("feather") => FileFormat::ArrowIpc,
        Some(other) => {
            return Err(PyValueError::new_err(format!(
                "format {other:?}: expected \"parquet\" or \"arrow\""
            )))
        }
        None if partition_by.is_empty() => FileFormat::from_file_name(&output.to_string_lossy())
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "cannot tell the format from {:?}: name it .parquet or .arrow, or give format=",
                    output.display().to_string()
                ))
            })?,
        None => FileFormat::Parquet,
    };
    let compression: Compression = compression.parse().map_err(PyValueError::new_err)?;
    let options = ConvertOptions {
        scan: scan_options(
            path,
            with_,
            filter,
            schema,
            spate_columnar::builder::DEFAULT_BATCH_ROWS,
            arrays,
            flatten,
        )?,
        format,
        parquet: ParquetOptions {
            compression,
            compression_level,
            row_group_rows: row_group_size
                .unwrap_or(spate_columnar::write::DEFAULT_ROW_GROUP_ROWS)
                .max(1),
            ..ParquetOptions::default()
        },
        partition: PartitionOptions {
            columns: partition_by,
            ..PartitionOptions::default()
        },
        ..ConvertOptions::default()
    };
    let report = py
        .detach(|| spate_columnar::convert(&source, &output, &options))
        .map_err(columnar_to_py)?;
    let d = PyDict::new(py);
    d.set_item("rows", report.rows)?;
    d.set_item("bytes_in", report.bytes_in)?;
    d.set_item("bytes_out", report.bytes_out)?;
    d.set_item("files", report.files)?;
    Ok(d)
}

enum Message {
    Batch(RecordBatch),
    Failed(spate_columnar::Error),
}

/// Sends each batch; a closed channel (the iterator was dropped) stops the scan.
struct Feed(SyncSender<Message>);

impl BatchConsumer for Feed {
    fn schema(&mut self, _: &TableSchema) -> Result<(), spate_columnar::Error> {
        Ok(())
    }

    fn batch(&mut self, batch: RecordBatch) -> Result<(), spate_columnar::Error> {
        self.0
            .send(Message::Batch(batch))
            .map_err(|_| spate_columnar::Error::Cancelled)
    }
}

/// One record batch, exported through `__arrow_c_array__` (pyarrow: `pa.record_batch(b)`).
#[pyclass(module = "spate._native")]
pub struct ArrowBatch {
    batch: Option<RecordBatch>,
}

#[pymethods]
impl ArrowBatch {
    /// The batch as (schema capsule, array capsule), a struct array of its columns. It can be
    /// taken once.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_array__<'py>(
        &mut self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let _ = requested_schema; // the batch is given in its own schema
        let batch = self
            .batch
            .take()
            .ok_or_else(|| PyValueError::new_err("this batch was already exported"))?;
        let data = StructArray::from(batch).to_data();
        let (array, schema) =
            to_ffi(&data).map_err(|e| PyValueError::new_err(format!("Arrow: {e}")))?;
        // The consumer moves the structures' contents out; dropping what is left (when it
        // did not, or released them) is what the C data interface asks of the producer.
        let schema = PyCapsule::new_with_value(py, schema, c"arrow_schema")?;
        let array = PyCapsule::new_with_value(py, array, c"arrow_array")?;
        PyTuple::new(py, [schema.into_any(), array.into_any()])
    }

    /// Rows in the batch.
    #[getter]
    fn num_rows(&self) -> usize {
        self.batch.as_ref().map_or(0, |b| b.num_rows())
    }
}

// The capsules hold these types; checked at compile time to be what PyCapsule can hold.
const _: fn() = || {
    fn send<T: Send + 'static>() {}
    send::<FFI_ArrowArray>();
    send::<FFI_ArrowSchema>();
};

/// The batches of an input, pulled; the scan runs ahead on its own thread.
#[pyclass(module = "spate._native")]
pub struct ArrowBatches {
    /// (A `Mutex` only so that the class is `Sync`; one thread takes from it at a time.)
    receiver: Option<Mutex<Receiver<Message>>>,
    thread: Option<JoinHandle<Result<(), spate_columnar::Error>>>,
}

impl Drop for ArrowBatches {
    fn drop(&mut self) {
        // Closing the channel makes the scan stop at its next batch.
        self.receiver = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[pymethods]
impl ArrowBatches {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<ArrowBatch>> {
        loop {
            let Some(receiver) = &self.receiver else {
                return Ok(None);
            };
            let got = py.detach(|| match receiver.lock() {
                Ok(r) => r.recv_timeout(SIGNAL_CHECK),
                Err(_) => Err(RecvTimeoutError::Disconnected),
            });
            match got {
                Ok(Message::Batch(b)) => return Ok(Some(ArrowBatch { batch: Some(b) })),
                Ok(Message::Failed(e)) => {
                    self.close();
                    return Err(columnar_to_py(e));
                }
                Err(RecvTimeoutError::Timeout) => py.check_signals()?,
                Err(RecvTimeoutError::Disconnected) => {
                    self.receiver = None;
                    if let Some(t) = self.thread.take() {
                        match t.join() {
                            Ok(Ok(())) | Ok(Err(spate_columnar::Error::Cancelled)) => {}
                            Ok(Err(e)) => return Err(columnar_to_py(e)),
                            Err(_) => {
                                return Err(PyValueError::new_err("spate: the scan panicked"))
                            }
                        }
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// Stops the scan and closes the input.
    fn close(&mut self) {
        self.receiver = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts scanning `source` into record batches of at most `batch_size` rows.
#[pyfunction]
#[pyo3(signature = (source, path=None, *, batch_size=65536, with_=Vec::new(), filter=None, schema=None,
                    arrays="list", flatten=false, byte_range=None))]
#[allow(clippy::too_many_arguments)]
pub fn arrow_batches(
    source: PathBuf,
    path: Option<String>,
    batch_size: usize,
    with_: Vec<(String, String)>,
    filter: Option<String>,
    schema: Option<String>,
    arrays: &str,
    flatten: bool,
    byte_range: Option<(u64, u64)>,
) -> PyResult<ArrowBatches> {
    let mut options = scan_options(path, with_, filter, schema, batch_size, arrays, flatten)?;
    options.range = byte_range;
    let (sender, receiver) = sync_channel(2);
    let thread = std::thread::spawn(move || {
        let mut feed = Feed(sender.clone());
        match spate_columnar::scan(&source, &options, &mut feed) {
            Ok(_) | Err(spate_columnar::Error::Cancelled) => Ok(()),
            Err(e) => {
                let _ = sender.send(Message::Failed(e));
                Ok(())
            }
        }
    });
    Ok(ArrowBatches {
        receiver: Some(Mutex::new(receiver)),
        thread: Some(thread),
    })
}
