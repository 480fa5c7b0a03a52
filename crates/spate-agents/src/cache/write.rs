//! The write policy: new entries appended to the entries file (rewritten whole when mostly
//! dead), then a small delta file when few records changed, else the main file rewritten;
//! each replaced through a temporary file renamed over the old one.

use std::io::Write;
use std::path::Path;

use super::delta::encode_delta;
use super::entries::{encode_section, entries_header, EntryRef, FileId};
use super::main_file::{encode, Base};
use super::varint::checksum;
use super::{delta_path, entries_path, CachedFile};
use crate::error::{Error, Result};
use crate::model::Entries;

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    // named after the cache file, so that one left behind by a killed process is known
    // as this cache's and removed when the cache is next opened (see `super::store`)
    let mut tmp = tempfile::Builder::new()
        .prefix(&super::store::temp_prefix(path))
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let _pending = PendingTemp::new(tmp.path());
    // test hook, debug builds only: keeps the temporary file in place for a while, so that
    // a test can interrupt the process in the middle of a write
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("SPATE_AGENTS_TEST_TEMP_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Temporary files being written, for [`remove_temp_files_in_progress`].
static IN_PROGRESS: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// A temporary file listed in [`IN_PROGRESS`] while it lives (it is renamed or removed by
/// the time this is dropped).
struct PendingTemp(std::path::PathBuf);

impl PendingTemp {
    fn new(path: &Path) -> Self {
        if let Ok(mut list) = IN_PROGRESS.lock() {
            list.push(path.to_owned());
        }
        PendingTemp(path.to_owned())
    }
}

impl Drop for PendingTemp {
    fn drop(&mut self) {
        if let Ok(mut list) = IN_PROGRESS.lock() {
            list.retain(|p| *p != self.0);
        }
    }
}

/// Removes the temporary files of cache writes in progress in this process: for a front
/// end's interrupt handler, just before it exits (a process killed outright leaves them;
/// they are then removed when the cache is next opened). Returns how many were removed.
pub fn remove_temp_files_in_progress() -> usize {
    let Ok(list) = IN_PROGRESS.lock() else {
        return 0;
    };
    list.iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_in_progress_can_be_removed() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("agents-00.bin.tmpXYZ");
        std::fs::write(&tmp, b"half").unwrap();
        let pending = PendingTemp::new(&tmp);
        assert!(remove_temp_files_in_progress() >= 1);
        assert!(!tmp.exists());
        drop(pending);
        assert!(!IN_PROGRESS.lock().unwrap().contains(&tmp));
        // a finished write leaves nothing listed
        let main = dir.path().join("agents-00.bin");
        write_atomically(&main, b"data").unwrap();
        assert_eq!(std::fs::read(&main).unwrap(), b"data");
        // (other tests may be writing caches of their own at the same time)
        assert!(!IN_PROGRESS
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.starts_with(dir.path())));
    }
}

/// Writes the cache: new entries are appended to the entries file (rewritten whole when more
/// than half of it is dead), then the main file is written atomically. Files whose entries
/// can no longer be read are left out (they are parsed again next time).
pub fn write(path: &Path, files: &[&CachedFile]) -> Result<()> {
    write_reusing(path, files, &vec![None; files.len()], None).map(|_| ())
}

/// Which file a cache write replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Only the delta file: the main file, and records read from it, are unchanged.
    Delta,
    /// The main file (and the delta file was removed).
    Main,
}

/// [`write()`], copying the records given in `raw` (ranges of `base.0`, the bytes as last
/// read, aligned with `files`) instead of encoding them again, when their entries did not
/// move and their shared flag is the same. With a `base`, when few records differ from the
/// main file's, only those are written, to the delta file (atomically, replacing the
/// previous delta); else the main file is rewritten whole and the delta file removed.
pub fn write_reusing(
    path: &Path,
    files: &[&CachedFile],
    raw: &[Option<(usize, usize)>],
    old: Option<(&[u8], &Base)>,
) -> Result<Written> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let epath = entries_path(path);
    let header = entries_header();
    let mut existing_id = None;
    let existing = match std::fs::File::open(&epath) {
        Ok(mut f) => {
            use std::io::Read;
            let mut h = [0u8; 12];
            let meta = f.metadata().ok();
            existing_id = meta.as_ref().and_then(FileId::of);
            let len = meta.map_or(0, |m| m.len());
            (f.read_exact(&mut h).is_ok() && h[..] == header[..]).then_some(len)
        }
        Err(_) => None,
    };
    // test hook, debug builds only: widens the window between reading the entries file's
    // length and appending to it, so that a test can show that two writers never overlap
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("SPATE_AGENTS_TEST_WRITE_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    let base = existing.unwrap_or(header.len() as u64);
    let mut kept: Vec<&CachedFile> = Vec::with_capacity(files.len());
    let mut kept_raw: Vec<Option<(usize, &[u8])>> = Vec::with_capacity(files.len());
    let mut refs: Vec<EntryRef> = Vec::with_capacity(files.len());
    let mut appended: Vec<u8> = Vec::new();
    let mut live = 0u64;
    for (i, f) in files.iter().enumerate() {
        let mut reusable = false;
        match &f.record.entries {
            Entries::Lazy {
                store,
                start,
                len,
                count,
                sum,
            } if existing.is_some_and(|l| start + len <= l)
                && store.is_current(&epath, existing_id) =>
            {
                refs.push((*start, *len, *count as u64, *sum));
                live += len;
                reusable = true;
            }
            _ => {
                let Some(entries) = f.record.entries() else {
                    continue;
                };
                let section = encode_section(&entries);
                let start = base + appended.len() as u64;
                refs.push((
                    start,
                    section.len() as u64,
                    entries.len() as u64,
                    checksum(&section),
                ));
                live += section.len() as u64;
                appended.extend_from_slice(&section);
            }
        }
        kept.push(f);
        let raw = raw
            .get(i)
            .copied()
            .flatten()
            .and_then(|(a, b)| old.map(|(bytes, _)| (a, b, bytes)))
            .and_then(|(a, b, bytes)| bytes.get(a..b).map(|r| (a, r)));
        kept_raw.push(raw.filter(|(_, b)| reusable && b.first() == Some(&u8::from(f.shared))));
    }
    let total = base + appended.len() as u64;
    if existing.is_none() || total > 2 * live + (1 << 20) {
        // rewrite the entries file with live sections only
        let mut fresh = header;
        let mut new_refs = Vec::with_capacity(kept.len());
        let mut still: Vec<&CachedFile> = Vec::with_capacity(kept.len());
        for f in &kept {
            let Some(entries) = f.record.entries() else {
                continue;
            };
            let section = encode_section(&entries);
            new_refs.push((
                fresh.len() as u64,
                section.len() as u64,
                entries.len() as u64,
                checksum(&section),
            ));
            fresh.extend_from_slice(&section);
            still.push(f);
        }
        write_atomically(&epath, &fresh)?;
        kept_raw = vec![None; still.len()];
        kept = still;
        refs = new_refs;
    } else if !appended.is_empty() {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&epath)
            .map_err(|e| Error::io(&epath, e))?;
        f.write_all(&appended).map_err(|e| Error::io(&epath, e))?;
        if let Some((bytes, main)) = old {
            if let Some(delta) = encode_delta(&kept, &refs, &kept_raw, main, bytes) {
                return write_atomically(&delta_path(path), &delta).map(|()| Written::Delta);
            }
        }
    } else if let Some((bytes, main)) = old {
        if let Some(delta) = encode_delta(&kept, &refs, &kept_raw, main, bytes) {
            return write_atomically(&delta_path(path), &delta).map(|()| Written::Delta);
        }
    }
    let raws: Vec<Option<&[u8]>> = kept_raw.iter().map(|r| r.map(|(_, b)| b)).collect();
    write_atomically(path, &encode(&kept, &refs, &raws))?;
    // the delta was written against the old main file, whose checksum it names: a delta
    // left behind is ignored
    match std::fs::remove_file(delta_path(path)) {
        Ok(()) => Ok(Written::Main),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Written::Main),
        Err(e) => Err(Error::io(delta_path(path), e)),
    }
}
