//! A whole input in memory — a regular file mapped with `mmap`, or `bytes` the caller gave —
//! so that the engine scans it where it lies and items go to Python as ranges of it.
//!
//! Read through a reader, every byte of a file is copied twice before Python sees it: by the
//! kernel into the engine's window, then from the window into the batch handed to Python.
//! Profiles of `items` over a 1.1 GB file showed those copies (and the page faults of fresh
//! batch buffers) as a fifth of the CPU time. A mapped file is read in place instead.
//!
//! Memory stays bounded: pages of the mapping that neither the engine nor Python needs any
//! more are given back with `madvise(MADV_DONTNEED)` as the scan moves on (they stay in the
//! page cache; the process's resident size is the window of pages in use, not the file).
//!
//! Only a plain (not gzip/zstd) regular file is mapped; anything else is read as before. A
//! mapped file that another process truncates while it is scanned would fault (`SIGBUS`),
//! as with any tool that maps files: `SPATE_NO_MMAP=1` in the environment turns mapping off.

use std::sync::Arc;

use pyo3::prelude::*;

/// The bytes of a whole input.
pub enum Whole {
    #[cfg(unix)]
    Mapped(Mapping),
    Bytes(Arc<[u8]>),
}

impl Whole {
    pub fn bytes(&self) -> &[u8] {
        match self {
            #[cfg(unix)]
            Whole::Mapped(m) => m.bytes(),
            Whole::Bytes(b) => b,
        }
    }

    /// Prefaults `range` (a mapped file only): one system call instead of a page fault every
    /// few pages. Only a hint: failure (an older kernel) changes nothing.
    pub fn prefetch(&self, range: std::ops::Range<usize>) {
        #[cfg(unix)]
        if let Whole::Mapped(m) = self {
            m.advise(range, mapping::POPULATE_READ);
        }
        #[cfg(not(unix))]
        let _ = range;
    }

    /// Gives back the pages wholly inside `range` (a mapped file only); they are read again
    /// from the page cache should they be touched later, so this never changes what is read.
    pub fn release(&self, range: std::ops::Range<usize>) {
        #[cfg(unix)]
        if let Whole::Mapped(m) = self {
            m.advise(range, libc::MADV_DONTNEED);
        }
        #[cfg(not(unix))]
        let _ = range;
    }
}

/// The whole of `input` in memory when that is possible without reading it: `bytes` given
/// by the caller, or a plain regular file (mapped). `None`: read it as a stream. Compressed
/// data is never taken (the stream decompresses it).
pub fn whole(input: &spate::InputFile) -> Option<Whole> {
    match &input.data {
        Some(spate::inputs::InputData::Bytes(bytes)) => {
            plain(bytes).then(|| Whole::Bytes(bytes.clone()))
        }
        Some(_) => None,
        None if input.is_stdin() => None,
        None => map_file(&input.path),
    }
}

fn plain(head: &[u8]) -> bool {
    spate::source::compression_of(&head[..head.len().min(4)]) == spate::inputs::Compression::None
}

/// The file of a file object that `open(path, "rb")` gave (an `io.BufferedReader` over an
/// `io.FileIO`, or the `FileIO` itself), still at its start, mapped as [`whole`] maps a
/// path; `None` for any other object (their `read` may not return the file's bytes: a
/// `gzip`/`bz2` file object's `fileno()` is the compressed file's) or position.
pub fn of_file_object(obj: &Bound<'_, PyAny>) -> PyResult<Option<Whole>> {
    #[cfg(unix)]
    {
        use std::os::fd::{FromRawFd, RawFd};
        let io = obj.py().import("io")?;
        let file_io = io.getattr("FileIO")?;
        let plain = if obj.get_type().is(&io.getattr("BufferedReader")?) {
            obj.getattr("raw")?.get_type().is(&file_io)
        } else {
            obj.get_type().is(&file_io)
        };
        if !plain
            || obj.getattr("closed")?.is_truthy()?
            || !obj.call_method0("seekable")?.is_truthy()?
            || obj.call_method0("tell")?.extract::<u64>()? != 0
        {
            return Ok(None);
        }
        let fd: RawFd = obj.call_method0("fileno")?.extract()?;
        // SAFETY: `dup` of an open descriptor; the copy is owned by the `File` below.
        let own = unsafe { libc::dup(fd) };
        if own < 0 {
            return Ok(None);
        }
        // SAFETY: `own` is a fresh descriptor nothing else owns.
        let file = unsafe { std::fs::File::from_raw_fd(own) };
        Ok(obj.py().detach(|| map_open_file(&file)))
    }
    #[cfg(not(unix))]
    {
        let _ = obj;
        Ok(None)
    }
}

#[cfg(unix)]
fn map_file(path: &std::path::Path) -> Option<Whole> {
    map_open_file(&std::fs::File::open(path).ok()?)
}

#[cfg(unix)]
fn map_open_file(file: &std::fs::File) -> Option<Whole> {
    // (a non-empty plain regular file, and mapping not turned off)
    Mapping::of_plain_file(file, 1).map(Whole::Mapped)
}

#[cfg(not(unix))]
fn map_file(_path: &std::path::Path) -> Option<Whole> {
    None
}

#[cfg(unix)]
pub use spate::mapped::Mapping;

/// The library's mapping (shared with the executor, which maps plain files the same way).
#[cfg(unix)]
use spate::mapped as mapping;
