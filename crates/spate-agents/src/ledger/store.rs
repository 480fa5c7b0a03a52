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
    self, body_ok, check_header, decode_dir, dir_ok, frame_at, parse_head, FrameHead, FrameLens,
    HeaderState, Watermark, FRAME_HEAD, FRAME_TAG, G_IMPORTED, G_RESTART, HEADER_LEN,
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

/// A frame of the roots of interest: its directory, and where its body is.
#[derive(Debug)]
pub(super) struct FrameRef {
    pub head: FrameHead,
    pub body_at: u64,
    pub lens: FrameLens,
}

/// The ledger file as read, indexed for the roots of interest.
#[derive(Debug)]
pub(super) struct Store {
    pub path: PathBuf,
    /// Bytes of the file known to be whole (header and frames).
    pub len: u64,
    /// Frames of the roots of interest.
    pub frames: Vec<FrameRef>,
    pub groups: Vec<GroupRef>,
    pub sources: super::record::IdMap<SourceState>,
    /// Groups merged in from other ledgers.
    pub imported: Vec<u32>,
    /// Sub-agent links learned from transcripts: `agentId` → agent type.
    pub links: HashMap<String, String>,
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

/// What is at an offset of the ledger.
enum FrameRead {
    /// A whole frame (its directory checked; its body too when asked or last), decoded
    /// (`None`: intact but inconsistent).
    Frame {
        lens: FrameLens,
        head: Option<FrameHead>,
        end: u64,
    },
    /// Not a whole, intact frame.
    Bad,
}

fn read_at(file: &mut File, at: u64, len: usize) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(at))?;
    let mut buf = vec![0u8; len];
    file.read_exact(&mut buf)?;
    Ok(buf)
}

/// Reads the frame at `at` of a file of `file_len` bytes.
fn read_frame(
    file: &mut File,
    at: u64,
    file_len: u64,
    check_body: bool,
) -> std::io::Result<FrameRead> {
    if at + FRAME_HEAD as u64 > file_len {
        return Ok(FrameRead::Bad);
    }
    let head = read_at(file, at, FRAME_HEAD)?;
    let Some(lens) = parse_head(&head) else {
        return Ok(FrameRead::Bad);
    };
    let end = at + lens.total() as u64;
    if end > file_len {
        return Ok(FrameRead::Bad);
    }
    let dir = read_at(file, at + FRAME_HEAD as u64, lens.dir_len)?;
    if !dir_ok(&head, &lens, &dir) {
        return Ok(FrameRead::Bad);
    }
    // the last frame is the one a crash may have torn: its body is always checked
    if check_body || end == file_len {
        let body = read_at(file, at + (FRAME_HEAD + lens.dir_len) as u64, lens.body_len)?;
        if !body_ok(&lens, &body) {
            return Ok(FrameRead::Bad);
        }
    }
    Ok(FrameRead::Frame {
        head: decode_dir(&dir, lens.body_len),
        lens,
        end,
    })
}

impl Store {
    fn empty(path: &Path, roots: &[u64]) -> Store {
        Store {
            path: path.to_owned(),
            len: 0,
            frames: Vec::new(),
            groups: Vec::new(),
            sources: Default::default(),
            imported: Vec::new(),
            links: HashMap::new(),
            roots: roots.to_vec(),
            unlocked: false,
        }
    }

    /// Reads (and repairs) the ledger at `path`, indexing the groups of `roots`; a missing
    /// file is an empty ledger (created at the first append).
    pub fn open(
        path: &Path,
        roots: &[u64],
        notices: &mut Vec<LedgerNotice>,
    ) -> Result<Store, LedgerError> {
        let mut store = Store::empty(path, roots);
        if let Some(mut lock) = open_locked(path, false)? {
            store.unlocked = !lock.locked;
            store.catch_up(&mut lock, notices)?;
        }
        Ok(store)
    }

    /// Reads a ledger file that is not to be written (an import), every root, checking
    /// every frame whole: a damaged file is an error.
    pub fn read_only(path: &Path) -> Result<Store, LedgerError> {
        let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
        let mut store = Store::empty(path, &[]);
        store.unlocked = true;
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
        let mut at = HEADER_LEN;
        while at < bytes.len() {
            let damaged = || LedgerError::Damaged {
                path: path.to_owned(),
                offset: at as u64,
            };
            let lens = frame_at(&bytes, at).ok_or_else(damaged)?;
            let dir_at = at + FRAME_HEAD;
            let head = decode_dir(&bytes[dir_at..dir_at + lens.dir_len], lens.body_len)
                .ok_or_else(damaged)?;
            store.index(head, (dir_at + lens.dir_len) as u64, lens, true);
            at += lens.total();
        }
        store.len = at as u64;
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
        let ioe = |e| io(&path, e);
        let file_len = lock.file.metadata().map_err(ioe)?.len();
        if file_len < self.len {
            self.reset();
        }
        if file_len == self.len && self.len > 0 {
            return Ok(());
        }
        let mut at = self.len;
        if at < HEADER_LEN as u64 {
            let start = read_at(&mut lock.file, 0, file_len.min(HEADER_LEN as u64) as usize)
                .map_err(ioe)?;
            match check_header(&start) {
                HeaderState::Valid => at = HEADER_LEN as u64,
                HeaderState::Torn => {
                    // a crash while the file was created: start it again
                    if file_len > 0 {
                        notices.push(LedgerNotice::Repaired {
                            path: path.clone(),
                            cut_bytes: file_len,
                        });
                    }
                    lock.file.set_len(0).map_err(ioe)?;
                    self.len = 0;
                    return Ok(());
                }
                HeaderState::Foreign => return Err(LedgerError::NotALedger(path)),
                HeaderState::OtherVersion(v) => {
                    return Err(LedgerError::Version { path, version: v })
                }
            }
        }
        while at < file_len {
            match read_frame(&mut lock.file, at, file_len, false).map_err(ioe)? {
                FrameRead::Frame { lens, head, end } => {
                    match head {
                        Some(h) => {
                            self.index(h, at + (FRAME_HEAD + lens.dir_len) as u64, lens, false)
                        }
                        None => notices.push(LedgerNotice::Damaged {
                            path: path.clone(),
                            offset: at,
                            bytes: end - at,
                        }),
                    }
                    at = end;
                }
                FrameRead::Bad => {
                    let rest =
                        read_at(&mut lock.file, at, (file_len - at) as usize).map_err(ioe)?;
                    match next_frame(&rest, 1) {
                        Some(next) => {
                            // damage in the middle: later frames are intact, nothing is cut
                            notices.push(LedgerNotice::Damaged {
                                path: path.clone(),
                                offset: at,
                                bytes: next as u64,
                            });
                            at += next as u64;
                        }
                        None => {
                            // a torn last frame (a crash while appending): cut it
                            notices.push(LedgerNotice::Repaired {
                                path: path.clone(),
                                cut_bytes: file_len - at,
                            });
                            lock.file.set_len(at).map_err(ioe)?;
                            lock.file.sync_all().map_err(ioe)?;
                            break;
                        }
                    }
                }
            }
        }
        self.len = at;
        Ok(())
    }

    fn reset(&mut self) {
        self.len = 0;
        self.frames.clear();
        self.groups.clear();
        self.sources.clear();
        self.imported.clear();
        self.links.clear();
    }

    /// Adds a frame's groups to the index (when it belongs to a root of interest, or to any
    /// root with `all`).
    fn index(&mut self, f: FrameHead, body_at: u64, lens: FrameLens, all: bool) {
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
            for &(a, t) in &g.links {
                let (a, t) = (format::frame_str(&f, a), format::frame_str(&f, t));
                // this machine's links win over imported ones
                if g.flags & G_IMPORTED == 0 || !self.links.contains_key(a) {
                    self.links.insert(a.to_owned(), t.to_owned());
                }
            }
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
        self.frames.push(FrameRef {
            head: f,
            body_at,
            lens,
        });
    }

    /// The frame and group header of a group.
    pub fn group(&self, id: u32) -> (u32, &FrameHead, &format::GroupHead) {
        let r = self.groups[id as usize];
        let f = &self.frames[r.frame as usize].head;
        (r.frame, f, &f.groups[r.group as usize])
    }

    /// The body of frame `frame`, read and checked (`None` when damaged).
    pub fn body(&self, frame: u32) -> Result<Option<Vec<u8>>, LedgerError> {
        let f = &self.frames[frame as usize];
        let mut file = File::open(&self.path).map_err(|e| io(&self.path, e))?;
        let body = read_at(&mut file, f.body_at, f.lens.body_len).map_err(|e| io(&self.path, e))?;
        Ok(body_ok(&f.lens, &body).then_some(body))
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
        if self.len == 0 {
            let h = format::header();
            lock.file.write_all(&h).map_err(|e| io(&path, e))?;
            self.len = h.len() as u64;
        }
        for fr in frames {
            lock.file.write_all(fr).map_err(|e| io(&path, e))?;
            if fsync == FsyncPolicy::Always {
                sync(&lock.file)?;
            }
            let at = self.len;
            self.len += fr.len() as u64;
            if let Some(lens) = frame_at(fr, 0) {
                let dir = &fr[FRAME_HEAD..FRAME_HEAD + lens.dir_len];
                if let Some(h) = decode_dir(dir, lens.body_len) {
                    self.index(h, at + (FRAME_HEAD + lens.dir_len) as u64, lens, false);
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
