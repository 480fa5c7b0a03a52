//! The ledger file on disk: reading and indexing its frames, cutting a torn tail, and
//! appending batches under an exclusive lock.
//!
//! The lock is the same as the cache's (see [`crate::cache::CacheStore`]): an exclusive
//! `flock`-style lock, here on the ledger file itself (it is only ever appended to or cut at
//! a torn tail, never replaced), taken for reading at open and for each append, and
//! released in between so that a long-running process does not keep others waiting. Before
//! appending, a writer reads what other processes appended since (and cuts a torn frame a
//! killed process left): writes of two processes never interleave.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::format::{
    self, check_header, decode_frame, frame_at, FrameHead, HeaderState, Watermark, FRAME_TAG,
    G_IMPORTED, G_RESTART, HEADER_LEN,
};
use super::{FsyncPolicy, LedgerError, LedgerNotice};

/// A group of the roots of interest, by place.
#[derive(Debug, Clone, Copy)]
pub(super) struct GroupRef {
    pub frame: u32,
    pub group: u32,
}

/// What the ledger holds for one transcript.
#[derive(Debug, Default)]
pub(super) struct SourceState {
    /// Its groups, in file order (indices into [`Store::groups`]).
    pub groups: Vec<u32>,
    /// Where its latest generation starts in `groups`.
    pub gen_start: usize,
    /// How far its latest generation was recorded.
    pub watermark: Option<Watermark>,
}

/// The ledger file as read, indexed for the roots of interest.
#[derive(Debug)]
pub(super) struct Store {
    pub path: PathBuf,
    /// The file's bytes up to `bytes.len()` (its valid part as last read or written).
    pub bytes: Vec<u8>,
    /// Frames of the roots of interest.
    pub frames: Vec<FrameHead>,
    pub groups: Vec<GroupRef>,
    pub sources: HashMap<u64, SourceState>,
    /// Groups merged in from other ledgers.
    pub imported: Vec<u32>,
    roots: Vec<u64>,
    /// Whether the file system cannot lock the file (then the ledger is used unlocked).
    pub unlocked: bool,
}

fn io(path: &Path, e: std::io::Error) -> LedgerError {
    LedgerError::Io {
        path: path.to_owned(),
        source: e,
    }
}

/// An open ledger file, locked while this lives.
struct Locked {
    file: File,
    /// False where the file system cannot lock.
    locked: bool,
}

impl Drop for Locked {
    fn drop(&mut self) {
        if self.locked {
            let _ = self.file.unlock();
        }
    }
}

fn open_locked(path: &Path, create: bool) -> Result<Option<Locked>, LedgerError> {
    if create {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
    }
    let file = match OpenOptions::new()
        .read(true)
        .append(true)
        .create(create)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if !create && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path, e)),
    };
    let locked = match file.lock() {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => false,
        Err(e) => return Err(io(path, e)),
    };
    Ok(Some(Locked { file, locked }))
}

impl Store {
    /// Reads (and repairs) the ledger at `path`, indexing the groups of `roots`; a missing
    /// file is an empty ledger (created at the first append).
    pub fn open(
        path: &Path,
        roots: &[u64],
        notices: &mut Vec<LedgerNotice>,
    ) -> Result<Store, LedgerError> {
        let mut store = Store {
            path: path.to_owned(),
            bytes: Vec::new(),
            frames: Vec::new(),
            groups: Vec::new(),
            sources: HashMap::new(),
            imported: Vec::new(),
            roots: roots.to_vec(),
            unlocked: false,
        };
        if let Some(mut lock) = open_locked(path, false)? {
            store.unlocked = !lock.locked;
            store.catch_up(&mut lock, notices)?;
        }
        Ok(store)
    }

    /// Reads a ledger file that is not to be written (an import): every root, no repair.
    pub fn read_only(path: &Path) -> Result<Store, LedgerError> {
        let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
        let mut store = Store {
            path: path.to_owned(),
            bytes: Vec::new(),
            frames: Vec::new(),
            groups: Vec::new(),
            sources: HashMap::new(),
            imported: Vec::new(),
            roots: Vec::new(),
            unlocked: true,
        };
        match check_header(&bytes) {
            HeaderState::Valid => {}
            HeaderState::OtherVersion(v) => {
                return Err(LedgerError::Version {
                    path: path.to_owned(),
                    version: v,
                })
            }
            _ => return Err(LedgerError::NotALedger(path.to_owned())),
        }
        store.bytes = bytes;
        let mut at = HEADER_LEN;
        while at < store.bytes.len() {
            let damaged = || LedgerError::Damaged {
                path: path.to_owned(),
                offset: at as u64,
            };
            let r = frame_at(&store.bytes, at).ok_or_else(damaged)?;
            let end = r.end;
            let f = decode_frame(&store.bytes, r).ok_or_else(damaged)?;
            store.index(f, true);
            at = end;
        }
        Ok(store)
    }

    /// Reads what was appended since this store last read or wrote the file (all of it
    /// when the file is shorter than that: it was replaced), cutting a torn last frame.
    fn catch_up(
        &mut self,
        lock: &mut Locked,
        notices: &mut Vec<LedgerNotice>,
    ) -> Result<(), LedgerError> {
        let path = self.path.clone();
        let len = lock.file.metadata().map_err(|e| io(&path, e))?.len() as usize;
        if len < self.bytes.len() {
            self.reset();
        }
        if len == self.bytes.len() && !self.bytes.is_empty() {
            return Ok(());
        }
        let from = self.bytes.len();
        lock.file
            .seek(SeekFrom::Start(from as u64))
            .map_err(|e| io(&path, e))?;
        self.bytes.reserve(len - from);
        lock.file
            .read_to_end(&mut self.bytes)
            .map_err(|e| io(&path, e))?;
        let mut at = from;
        if from < HEADER_LEN {
            match check_header(&self.bytes) {
                HeaderState::Valid => at = HEADER_LEN,
                HeaderState::Torn => {
                    // a crash while the file was created: start it again
                    if !self.bytes.is_empty() {
                        notices.push(LedgerNotice::Repaired {
                            path: path.clone(),
                            cut_bytes: self.bytes.len() as u64,
                        });
                    }
                    lock.file.set_len(0).map_err(|e| io(&path, e))?;
                    self.bytes.clear();
                    return Ok(());
                }
                HeaderState::Foreign => return Err(LedgerError::NotALedger(path)),
                HeaderState::OtherVersion(v) => {
                    return Err(LedgerError::Version { path, version: v })
                }
            }
        }
        while at < self.bytes.len() {
            if let Some(r) = frame_at(&self.bytes, at) {
                let end = r.end;
                match decode_frame(&self.bytes, r) {
                    Some(f) => self.index(f, false),
                    None => notices.push(LedgerNotice::Damaged {
                        path: path.clone(),
                        offset: at as u64,
                        bytes: (end - at) as u64,
                    }),
                }
                at = end;
                continue;
            }
            match next_frame(&self.bytes, at + 1) {
                Some(next) => {
                    // damage in the middle: later frames are intact, so nothing is cut
                    notices.push(LedgerNotice::Damaged {
                        path: path.clone(),
                        offset: at as u64,
                        bytes: (next - at) as u64,
                    });
                    at = next;
                }
                None => {
                    // a torn last frame (a crash while appending): cut it
                    notices.push(LedgerNotice::Repaired {
                        path: path.clone(),
                        cut_bytes: (self.bytes.len() - at) as u64,
                    });
                    lock.file.set_len(at as u64).map_err(|e| io(&path, e))?;
                    lock.file.sync_all().map_err(|e| io(&path, e))?;
                    self.bytes.truncate(at);
                }
            }
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.bytes.clear();
        self.frames.clear();
        self.groups.clear();
        self.sources.clear();
        self.imported.clear();
    }

    /// Adds a frame's groups to the index (when it belongs to a root of interest, or to any
    /// root with `all`).
    fn index(&mut self, f: FrameHead, all: bool) {
        if !all && !self.roots.contains(&f.root) {
            return;
        }
        let frame = self.frames.len() as u32;
        for (gi, g) in f.groups.iter().enumerate() {
            let id = self.groups.len() as u32;
            self.groups.push(GroupRef {
                frame,
                group: gi as u32,
            });
            if g.flags & G_IMPORTED != 0 {
                self.imported.push(id);
                continue;
            }
            let s = self.sources.entry(g.source).or_default();
            if g.flags & G_RESTART != 0 {
                s.gen_start = s.groups.len();
                s.watermark = None;
            }
            s.groups.push(id);
            if g.watermark.is_some() {
                s.watermark = g.watermark;
            }
        }
        self.frames.push(f);
    }

    /// The frame and group header of a group.
    pub fn group(&self, id: u32) -> (&FrameHead, &format::GroupHead) {
        let r = self.groups[id as usize];
        let f = &self.frames[r.frame as usize];
        (f, &f.groups[r.group as usize])
    }

    /// Appends `frames` (each one write), under the lock, after reading what others
    /// appended; syncs as `fsync` says.
    pub fn append(
        &mut self,
        frames: &[Vec<u8>],
        fsync: FsyncPolicy,
        notices: &mut Vec<LedgerNotice>,
    ) -> Result<(), LedgerError> {
        if frames.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let existed = path.exists();
        let mut lock = open_locked(&path, true)?.ok_or_else(|| LedgerError::Io {
            path: path.clone(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        self.unlocked = !lock.locked;
        self.catch_up(&mut lock, notices)?;
        let sync = |f: &File| f.sync_data().map_err(|e| io(&path, e));
        if self.bytes.is_empty() {
            let h = format::header();
            lock.file.write_all(&h).map_err(|e| io(&path, e))?;
            self.bytes.extend_from_slice(&h);
        }
        for fr in frames {
            lock.file.write_all(fr).map_err(|e| io(&path, e))?;
            if fsync == FsyncPolicy::Always {
                sync(&lock.file)?;
            }
            let at = self.bytes.len();
            self.bytes.extend_from_slice(fr);
            if let Some(r) = frame_at(&self.bytes, at) {
                if let Some(f) = decode_frame(&self.bytes, r) {
                    self.index(f, false);
                }
            }
        }
        if fsync == FsyncPolicy::Batch {
            sync(&lock.file)?;
        }
        if !existed && fsync != FsyncPolicy::Never {
            // the new file's name must survive a crash too
            if let Some(dir) = path.parent() {
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
        }
        Ok(())
    }
}

/// The start of the next intact frame at or after `from`.
fn next_frame(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = bytes
        .get(at..)
        .and_then(|rest| memchr::memmem::find(rest, FRAME_TAG))
    {
        let start = at + i;
        if frame_at(bytes, start).is_some() {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

/// The byte range of a path's bytes, for hashing.
pub(super) fn path_bytes(p: &Path) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::borrow::Cow::Borrowed(p.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::borrow::Cow::Owned(p.to_string_lossy().into_owned().into_bytes())
    }
}
