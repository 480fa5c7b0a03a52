//! The cache store: the cache files of one set of transcript folders, used under a lock.
//!
//! Two processes (or a long-running one and a command) may use the same cache at once. A
//! store is opened by taking an exclusive lock on `agents-<hash>.lock` beside the cache
//! files (waiting while another process holds it), and the lock is held until the store is
//! dropped, so that reading the cache, deciding what to write and writing it is one step:
//! entries appended to the entries file are at the offsets the main file records, and a
//! main or delta file is never written against a cache that changed underneath.
//!
//! The lock file itself is never removed (removing it would let two processes lock two
//! different files). Temporary files of a write that a killed process left behind are
//! removed when the store is next opened.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{cache_path, write_reusing, Base, CacheProblem, CachedFile, Decoded, Written};
use crate::error::{Error, Result};

/// Temporary files in the cache folder without this cache's name (written by versions
/// before the lock) are removed once they are this old: no write takes that long.
const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// The cache files of one set of transcript folders, locked for this process.
#[derive(Debug)]
pub struct CacheStore {
    main: PathBuf,
    /// Held (and locked) until the store is dropped; `None` where the file system cannot
    /// lock files or the folder cannot be written: the cache is then read but never
    /// written.
    lock: Option<File>,
}

/// What opening a store noticed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Leftover temporary files removed.
    pub removed_temp_files: usize,
    /// The cache cannot be locked (the file system cannot lock files, or the folder is
    /// read-only): it is read-only for this process.
    pub read_only: bool,
}

impl CacheStore {
    /// Opens (creating the folder if needed) and locks the cache of `roots` under `dir`,
    /// waiting while another process holds it; removes temporary files left behind.
    pub fn open(dir: &Path, roots: &[PathBuf]) -> Result<(CacheStore, OpenReport)> {
        Self::open_at(cache_path(dir, roots))
    }

    /// [`CacheStore::open`] for the main cache file `main`.
    pub fn open_at(main: PathBuf) -> Result<(CacheStore, OpenReport)> {
        let _span = crate::trace::phase("lock cache");
        let dir = main.parent().unwrap_or(Path::new(".")).to_owned();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let lock_path = main.with_extension("lock");
        let opened = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path);
        let mut report = OpenReport::default();
        let lock = match opened {
            Ok(file) => match file.lock() {
                Ok(()) => Some(file),
                Err(e) if e.kind() == std::io::ErrorKind::Unsupported => None,
                Err(e) => return Err(Error::io(&lock_path, e)),
            },
            // a cache folder that cannot be written is still read
            Err(e)
                if main.exists()
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::PermissionDenied
                            | std::io::ErrorKind::ReadOnlyFilesystem
                    ) =>
            {
                None
            }
            Err(e) => return Err(Error::io(&lock_path, e)),
        };
        report.read_only = lock.is_none();
        if lock.is_some() {
            report.removed_temp_files = remove_stale_temp_files(&dir, &main);
        }
        Ok((CacheStore { main, lock }, report))
    }

    /// The main cache file.
    pub fn main_path(&self) -> &Path {
        &self.main
    }

    /// Whether this process may write the cache (it holds the lock).
    pub fn writable(&self) -> bool {
        self.lock.is_some()
    }

    /// Reads the cache: `Ok(None)` when there is none yet (see [`super::read`]).
    pub fn read(&self) -> Result<Option<std::result::Result<Decoded, CacheProblem>>> {
        let _span = crate::trace::phase("read cache");
        super::read(&self.main)
    }

    /// Writes the cache (see [`write_reusing`]); nothing when the store is read-only.
    pub fn write(
        &self,
        files: &[&CachedFile],
        raw: &[Option<(usize, usize)>],
        old: Option<(&[u8], &Base)>,
    ) -> Result<Option<Written>> {
        if !self.writable() {
            return Ok(None);
        }
        let _span = crate::trace::phase("write cache");
        write_reusing(&self.main, files, raw, old).map(Some)
    }
}

/// The name prefix of the temporary files written for the cache file `main`.
pub(super) fn temp_prefix(main: &Path) -> String {
    let name = main.file_name().map(|n| n.to_string_lossy().into_owned());
    format!("{}.tmp", name.unwrap_or_default())
}

/// Removes, in `dir`, this cache's temporary files (none can be in use: the lock is held)
/// and other `.tmp*` files older than [`STALE_TEMP_AGE`]; returns how many.
fn remove_stale_temp_files(dir: &Path, main: &Path) -> usize {
    let ours = temp_prefix(main);
    let Ok(listing) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in listing.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale = if name.starts_with(&ours) {
            true
        } else if name.starts_with(".tmp") {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age >= STALE_TEMP_AGE)
        } else {
            false
        };
        if stale
            && entry.file_type().is_ok_and(|t| t.is_file())
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temp_files_are_removed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("agents-00.bin");
        let ours = dir.path().join("agents-00.bin.tmpAbC123");
        let other_cache = dir.path().join("agents-11.bin.tmpXyZ");
        let old_anon = dir.path().join(".tmpOld42");
        let new_anon = dir.path().join(".tmpNew42");
        for p in [&ours, &other_cache, &old_anon, &new_anon] {
            std::fs::write(p, b"half").unwrap();
        }
        let hour_ago = SystemTime::now() - Duration::from_secs(7200);
        File::options()
            .write(true)
            .open(&old_anon)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        let (store, report) = CacheStore::open_at(main).unwrap();
        assert!(store.writable());
        assert_eq!(report.removed_temp_files, 2);
        assert!(!ours.exists() && !old_anon.exists());
        // another cache's file may be written right now, and a fresh one too
        assert!(other_cache.exists() && new_anon.exists());
    }

    #[test]
    fn a_second_store_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("agents-00.bin");
        let (first, _) = CacheStore::open_at(main.clone()).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let (second, _) = CacheStore::open_at(main).unwrap();
            tx.send(()).unwrap();
            drop(second);
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "the second store must wait while the first holds the lock"
        );
        drop(first);
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the second store gets the lock once the first is dropped");
        waiter.join().unwrap();
    }
}
