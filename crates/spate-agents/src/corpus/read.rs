//! Reading one transcript: whole, or only the bytes appended since it was last parsed
//! (when the 64 bytes before the parsed offset still hash the same).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::cache::CachedFile;
use crate::discover::FoundFile;
use crate::error::{Error, Result};
use crate::model::FileRecord;
use crate::parse::{fnv64, LineParser, MAX_LINE, TAIL_HASH_LEN};
use crate::warning::Warning;

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
    /// Lines skipped as too long.
    pub(super) warnings: Vec<Warning>,
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
        warnings: Vec::new(),
    }
}

thread_local! {
    /// One line-reader buffer per worker thread, reused from file to file: a fresh
    /// allocation per file would be zero-filled and page-faulted anew each time.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Parses `file` from the record's parsed offset with this thread's buffer.
fn parse_with_buffer(
    parser: &mut LineParser<'_>,
    file: File,
) -> std::io::Result<crate::parse::FeedOutcome> {
    READ_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            let (outcome, back) = parser.read(file, std::mem::take(&mut *buf));
            *buf = back;
            outcome
        }
        Err(_) => parser.read(file, Vec::new()).0,
    })
}

/// A line too long to read, as a warning.
fn too_long_warnings(path: &Path, outcome: &crate::parse::FeedOutcome) -> Vec<Warning> {
    outcome
        .too_long
        .iter()
        .map(|&(line, offset)| Warning::LineTooLong {
            path: path.to_owned(),
            line,
            offset,
            limit: MAX_LINE,
        })
        .collect()
}

pub(super) fn parse_full(found: FoundFile) -> Done {
    let file = match File::open(&found.path) {
        Ok(file) => file,
        Err(e) => {
            let err = Error::io(&found.path, e);
            return unreadable(found, err);
        }
    };
    let mut record = FileRecord::default();
    let mut parser = LineParser::new(&mut record);
    let outcome = match parse_with_buffer(&mut parser, file) {
        Ok(outcome) => outcome,
        Err(e) => {
            drop(parser);
            let err = Error::io(&found.path, e);
            return unreadable(found, err);
        }
    };
    parser.finish();
    let warnings = too_long_warnings(&found.path, &outcome);
    Done {
        file: CachedFile {
            path: found.path,
            size: outcome.end,
            mtime_ns: found.mtime_ns,
            shared: false,
            meta: found.meta,
            record,
        },
        kind: ReadKind::Whole,
        bytes: outcome.end,
        pending_tail: outcome.pending_tail,
        error: None,
        warnings,
    }
}

/// Parses only what was appended; `Ok(None)` when the old prefix no longer matches.
fn parse_appended(old: &CachedFile, found: &FoundFile) -> Result<Option<Done>> {
    let offset = old.record.parsed_offset;
    let base = offset.saturating_sub(TAIL_HASH_LEN);
    let io = |e| Error::io(&found.path, e);
    let mut f = File::open(&found.path).map_err(io)?;
    f.seek(SeekFrom::Start(base)).map_err(io)?;
    let mut before = [0u8; TAIL_HASH_LEN as usize];
    let before = &mut before[..(offset - base) as usize];
    match f.read_exact(before) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io(e)),
    }
    if fnv64(before) != old.record.tail_hash {
        return Ok(None);
    }
    let mut record = old.record.clone();
    if record.make_entries_mut().is_none() {
        return Ok(None);
    }
    let mut parser = LineParser::continuing(&mut record, before);
    let outcome = parse_with_buffer(&mut parser, f).map_err(io)?;
    parser.finish();
    let warnings = too_long_warnings(&found.path, &outcome);
    Ok(Some(Done {
        file: CachedFile {
            path: found.path.clone(),
            size: outcome.end,
            mtime_ns: found.mtime_ns,
            shared: false,
            meta: found.meta.clone(),
            record,
        },
        kind: ReadKind::Appended,
        bytes: outcome.end - offset,
        pending_tail: outcome.pending_tail,
        error: None,
        warnings,
    }))
}
