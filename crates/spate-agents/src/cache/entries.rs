//! The entries file: the individual requests of each transcript, one checksummed section
//! per file, append-only; read section by section, only when a file grows or shares a
//! request with another file.

use std::path::{Path, PathBuf};

use super::varint::{checksum, Reader, Writer};
use super::{ENTRIES_MAGIC, FORMAT_VERSION};
use crate::model::{UsageEntry, NONE};

/// The cache's entries file; each section is read on its own.
///
/// A store read with the main file is opened at once (while the cache is locked), so that
/// its sections stay those of the file as it was then: another process may later append to
/// the file (which leaves the sections in place) or replace it whole (a new file: this one
/// keeps reading the old one).
#[derive(Debug)]
pub struct EntryStore {
    pub(super) path: PathBuf,
    file: std::sync::Mutex<Option<Option<std::fs::File>>>,
}

impl PartialEq for EntryStore {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl Eq for EntryStore {}

/// Which file on disk an open file is (device and inode), to tell a replaced entries file
/// from the one a store has open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileId(u64, u64);

impl FileId {
    /// The identity of `meta`'s file; `None` where the platform has no inode numbers.
    pub(super) fn of(meta: &std::fs::Metadata) -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(FileId(meta.dev(), meta.ino()))
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            None
        }
    }
}

impl EntryStore {
    /// The store at `path` (opened when a section is first needed).
    pub fn new(path: PathBuf) -> Self {
        EntryStore {
            path,
            file: std::sync::Mutex::new(None),
        }
    }

    /// The store at `path`, opened now (see the type's documentation).
    pub fn open_now(path: PathBuf) -> Self {
        let file = Self::open(&path);
        EntryStore {
            path,
            file: std::sync::Mutex::new(Some(file)),
        }
    }

    fn open(path: &Path) -> Option<std::fs::File> {
        use std::io::Read;
        let mut f = std::fs::File::open(path).ok()?;
        let mut header = [0u8; 12];
        f.read_exact(&mut header).ok()?;
        (header[..8] == ENTRIES_MAGIC[..] && header[8..] == FORMAT_VERSION.to_le_bytes())
            .then_some(f)
    }

    /// Whether this store reads the file that is now at `path` with identity `now` (its
    /// sections can then be named in a new main file). Where files have no identity, the
    /// same path is taken as the same file.
    pub(super) fn is_current(&self, path: &Path, now: Option<FileId>) -> bool {
        if self.path != path {
            return false;
        }
        let Some(now) = now else {
            return true;
        };
        let Ok(mut guard) = self.file.lock() else {
            return false;
        };
        let file = guard.get_or_insert_with(|| Self::open(&self.path));
        file.as_ref()
            .and_then(|f| f.metadata().ok())
            .and_then(|m| FileId::of(&m))
            == Some(now)
    }

    /// The bytes of a section, if the file has them and they match the checksum.
    pub fn section(&self, start: u64, len: u64, sum: u64) -> Option<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut guard = self.file.lock().ok()?;
        let file = guard
            .get_or_insert_with(|| Self::open(&self.path))
            .as_mut()?;
        let file_len = file.metadata().ok()?.len();
        if start.checked_add(len)? > file_len {
            return None;
        }
        let mut bytes = vec![0u8; usize::try_from(len).ok()?];
        file.seek(SeekFrom::Start(start)).ok()?;
        file.read_exact(&mut bytes).ok()?;
        (checksum(&bytes) == sum).then_some(bytes)
    }
}

/// Where a file's entries are in the entries file: start, length, count, checksum.
pub(super) type EntryRef = (u64, u64, u64, u64);

pub(super) fn encode_entries(w: &mut Writer, entries: &[UsageEntry]) {
    for e in entries {
        w.zig(e.ts_ms);
        w.idx(e.model);
        w.idx(e.session);
        w.idx(e.agent);
        w.tokens(&e.tokens);
        let flags = u8::from(e.cost_usd.is_some())
            | u8::from(e.dedup_key.is_some()) << 1
            | u8::from(e.sidechain) << 2;
        w.0.push(flags);
        if let Some(c) = e.cost_usd {
            w.var(c);
        }
        if let Some(k) = e.dedup_key {
            w.0.extend_from_slice(&k.to_le_bytes());
        }
        w.idx(e.prev_delegation);
    }
}

/// Decodes `count` entries of the cache format, checking every index against the file's
/// `n_strings` strings and `n_delegations` delegations.
pub(crate) fn decode_entries(
    buf: &[u8],
    count: usize,
    n_strings: usize,
    n_delegations: usize,
) -> Option<Vec<UsageEntry>> {
    let mut r = Reader { buf, pos: 0 };
    let ok_str = |i: u32| i == NONE || (i as usize) < n_strings;
    let mut entries = Vec::with_capacity(count.min(buf.len()));
    for _ in 0..count {
        let ts_ms = r.zig()?;
        let (model, session, agent) = (r.idx()?, r.idx()?, r.idx()?);
        let tokens = r.tokens()?;
        let flags = r.byte()?;
        if flags & !0b111 != 0 {
            return None;
        }
        let cost_usd = if flags & 1 != 0 { Some(r.var()?) } else { None };
        let dedup_key = if flags & 2 != 0 {
            Some(r.u128()?)
        } else {
            None
        };
        let prev_delegation = r.idx()?;
        if !(ok_str(model) && ok_str(session) && ok_str(agent))
            || (prev_delegation != NONE && prev_delegation as usize >= n_delegations)
        {
            return None;
        }
        entries.push(UsageEntry {
            ts_ms,
            model,
            session,
            agent,
            tokens,
            cost_usd,
            dedup_key,
            sidechain: flags & 4 != 0,
            prev_delegation,
        });
    }
    (r.pos == buf.len()).then_some(entries)
}

pub(super) fn entries_header() -> Vec<u8> {
    let mut h = ENTRIES_MAGIC.to_vec();
    h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

pub(super) fn encode_section(entries: &[UsageEntry]) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(entries.len() * 24));
    encode_entries(&mut w, entries);
    w.0
}
