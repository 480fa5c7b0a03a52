//! What a Python caller may hand over as input — a path, `bytes`, or a binary file object —
//! as one `Read` for spate's engine.
//!
//! The engine runs with the GIL released. Two things still need Python while it runs: a file
//! object's `read`, and Ctrl-C (Python only runs its signal handler when the interpreter
//! gets control). [`FileObject`] and [`Interruptible`] take the GIL briefly once per read — a
//! window of 64 KiB to 4 MiB — so a `KeyboardInterrupt` stops even a scan that yields nothing
//! for seconds. A Python exception raised there is kept and re-raised as itself once the
//! engine returns. Paths and bytes are read without the GIL.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

/// A Python exception raised inside a read, waiting to be re-raised.
#[derive(Clone, Default)]
pub struct Pending(Arc<Mutex<Option<PyErr>>>);

impl Pending {
    fn keep(&self, err: PyErr) -> io::Error {
        let message = err.to_string();
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
        io::Error::other(message)
    }

    /// The kept exception, if any.
    pub fn take(&self) -> Option<PyErr> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// An input opened for the engine.
pub struct Source {
    /// The name used in messages: the path, `<bytes>` or the file object's `name`.
    pub name: String,
    pub reader: Box<dyn Read + Send>,
    pub pending: Pending,
}

/// Opens an input [`open_input`] gave — a path (a file; `.gz`/`.zst` decompressed by
/// content), bytes, or a file object — as one JSON document read through spate's one `open`.
pub fn open_opened(py: Python<'_>, input: &spate::InputFile, pending: Pending) -> PyResult<Source> {
    let opened = py
        .detach(|| spate::source::open_input(input, Some(spate::Format::Json)))
        .map_err(|e| pending.take().unwrap_or_else(|| crate::errors::to_py(e)))?;
    Ok(Source {
        name: opened.name,
        reader: opened.reader,
        pending,
    })
}

/// Opens `obj` as an input of spate's executor (for queries): a path stays a path, so that
/// the executor picks the format by name and content and splits a big JSON Lines file
/// between threads; bytes and file objects are read once.
pub fn open_input(
    obj: &Bound<'_, PyAny>,
    format: Option<spate::Format>,
) -> PyResult<(spate::InputFile, Pending)> {
    let pending = Pending::default();
    if obj.is_instance_of::<PyString>() || obj.hasattr("__fspath__")? {
        let path: std::path::PathBuf = obj.extract()?;
        if !path.exists() && path.as_os_str() != "-" {
            return Err(pyo3::exceptions::PyFileNotFoundError::new_err((
                2,
                format!("{}: No such file or directory", path.display()),
            )));
        }
        let mut inputs = spate::Inputs::from_files(&[path], format);
        return Ok((inputs.files.remove(0), pending));
    }
    if let Ok(bytes) = obj.cast::<PyBytes>() {
        let input = spate::InputFile::from_bytes("<bytes>", bytes.as_bytes().to_vec(), format);
        return Ok((input, pending));
    }
    if let Ok(array) = obj.cast::<PyByteArray>() {
        return Ok((
            spate::InputFile::from_bytes("<bytes>", array.to_vec(), format),
            pending,
        ));
    }
    if obj.hasattr("read")? {
        let name = file_object_name(obj);
        let reader = FileObject {
            file: obj.clone().unbind(),
            pending: pending.clone(),
        };
        let input = spate::InputFile::from_reader(&name, Box::new(reader), format);
        return Ok((input, pending));
    }
    if let Ok(view) = obj.extract::<Vec<u8>>() {
        return Ok((
            spate::InputFile::from_bytes("<bytes>", view, format),
            pending,
        ));
    }
    Err(PyTypeError::new_err(format!(
        "expected a path, bytes or a binary file object, got {}",
        obj.get_type().name()?
    )))
}

/// The name of a file object for messages: its `name` when it has one (as `open` gives).
fn file_object_name(obj: &Bound<'_, PyAny>) -> String {
    obj.getattr("name")
        .ok()
        .and_then(|n| n.extract::<String>().ok())
        .unwrap_or_else(|| "<file object>".to_owned())
}

/// A reader that gives Python a chance to raise `KeyboardInterrupt` before each read: for
/// work done on the calling (main) thread with the GIL released, such as `validate`. (The
/// items iterator runs the engine on a thread of its own and watches for Ctrl-C itself.)
pub struct Interruptible {
    pub inner: Box<dyn Read + Send>,
    pub pending: Pending,
}

impl Read for Interruptible {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| py.check_signals()).map_err(|e| self.pending.keep(e))?;
        self.inner.read(buf)
    }
}

/// A Python binary file object (anything with `read(n)` returning bytes).
struct FileObject {
    file: Py<PyAny>,
    pending: Pending,
}

impl Read for FileObject {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| -> PyResult<usize> {
            py.check_signals()?;
            let chunk = self.file.bind(py).call_method1("read", (buf.len(),))?;
            if chunk.is_none() {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "the file object is non-blocking and had no data: spate reads blocking streams",
                ));
            }
            let bytes: &[u8] = if let Ok(b) = chunk.cast::<PyBytes>() {
                b.as_bytes()
            } else if chunk.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err(
                    "the file object returned str: open it in binary mode ('rb')",
                ));
            } else {
                let v: Vec<u8> = chunk.extract()?;
                let n = v.len().min(buf.len());
                buf[..n].copy_from_slice(&v[..n]);
                return Ok(n);
            };
            let n = bytes.len().min(buf.len());
            buf[..n].copy_from_slice(&bytes[..n]);
            Ok(n)
        })
        .map_err(|e| self.pending.keep(e))
    }
}
