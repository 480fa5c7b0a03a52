//! Reading one transcript: whole, or only the bytes appended since it was last parsed
//! (when the 64 bytes before the parsed offset still hash the same).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::cache::CachedFile;
use crate::discover::FoundFile;
use crate::error::{Error, Result};
use crate::model::FileRecord;
use crate::parse::{fnv64, LineParser, TAIL_HASH_LEN};

/// How a file was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReadKind {
    /// Its appended bytes only, on top of its previous record.
    Appended,
    /// Whole.
    Whole,
}

/// A file just read.
pub(super) struct Done {
    pub(super) file: CachedFile,
    pub(super) kind: ReadKind,
    pub(super) bytes: u64,
    pub(super) pending_tail: bool,
    pub(super) error: Option<Error>,
}

/// Parses a file: the appended bytes on top of its cached record `old`, or whole.
pub(super) fn parse_job(old: Option<&CachedFile>, found: FoundFile) -> Done {
    match old {
        Some(old) => match parse_appended(old, &found) {
            Ok(Some(d)) => d,
            Ok(None) => parse_full(found),
            Err(e) => unreadable(found, e),
        },
        None => parse_full(found),
    }
}

fn unreadable(found: FoundFile, e: Error) -> Done {
    Done {
        file: CachedFile {
            path: found.path,
            size: 0,
            mtime_ns: 0,
            shared: false,
            meta: found.meta,
            record: FileRecord::default(),
        },
        kind: ReadKind::Whole,
        bytes: 0,
        pending_tail: false,
        error: Some(e),
    }
}

thread_local! {
    /// One read buffer per worker thread, reused from file to file: a fresh allocation per
    /// file would be zero-filled and page-faulted anew each time.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn read_into(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    let mut f = File::open(path)?;
    if let Ok(md) = f.metadata() {
        buf.reserve(usize::try_from(md.len()).unwrap_or(0).saturating_add(1));
    }
    f.read_to_end(buf)?;
    Ok(())
}

pub(super) fn parse_full(found: FoundFile) -> Done {
    READ_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => parse_full_with(found, &mut buf),
        Err(_) => parse_full_with(found, &mut Vec::new()),
    })
}

fn parse_full_with(found: FoundFile, bytes: &mut Vec<u8>) -> Done {
    if let Err(e) = read_into(&found.path, bytes) {
        let err = Error::io(&found.path, e);
        return unreadable(found, err);
    }
    let bytes: &[u8] = bytes;
    let mut record = FileRecord::default();
    let mut parser = LineParser::new(&mut record);
    let outcome = parser.feed(bytes);
    parser.finish(bytes, 0);
    Done {
        file: CachedFile {
            path: found.path,
            size: bytes.len() as u64,
            mtime_ns: found.mtime_ns,
            shared: false,
            meta: found.meta,
            record,
        },
        kind: ReadKind::Whole,
        bytes: bytes.len() as u64,
        pending_tail: outcome.pending_tail,
        error: None,
    }
}

/// Parses only what was appended; `Ok(None)` when the old prefix no longer matches.
fn parse_appended(old: &CachedFile, found: &FoundFile) -> Result<Option<Done>> {
    let offset = old.record.parsed_offset;
    let base = offset.saturating_sub(TAIL_HASH_LEN);
    let mut f = File::open(&found.path).map_err(|e| Error::io(&found.path, e))?;
    f.seek(SeekFrom::Start(base))
        .map_err(|e| Error::io(&found.path, e))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)
        .map_err(|e| Error::io(&found.path, e))?;
    let prefix = (offset - base) as usize;
    if buf.len() < prefix || fnv64(&buf[..prefix]) != old.record.tail_hash {
        return Ok(None);
    }
    let mut record = old.record.clone();
    if record.make_entries_mut().is_none() {
        return Ok(None);
    }
    let mut parser = LineParser::new(&mut record);
    let outcome = parser.feed(&buf[prefix..]);
    parser.finish(&buf, base);
    Ok(Some(Done {
        file: CachedFile {
            path: found.path.clone(),
            size: base + buf.len() as u64,
            mtime_ns: found.mtime_ns,
            shared: false,
            meta: found.meta.clone(),
            record,
        },
        kind: ReadKind::Appended,
        bytes: (buf.len() - prefix) as u64,
        pending_tail: outcome.pending_tail,
        error: None,
    }))
}
