//! The delta file: what changed since the main file was written (paths gone, records
//! changed or new), naming the checksum of the main file it applies to.

use std::path::Path;
use std::sync::Arc;

use super::entries::{EntryRef, EntryStore};
use super::main_file::{Base, RecordRanges};
use super::record::{decode_file, encode_file, record_path};
use super::varint::{checksum, Reader, Writer};
use super::{CachedFile, DELTA_MAGIC, FORMAT_VERSION};

/// Applies the delta file at `bytes[main_len..]` (its magic, version and base checked) to
/// the main file's records.
pub(super) fn apply_delta(
    bytes: &Arc<Vec<u8>>,
    main_len: usize,
    files: Vec<CachedFile>,
    ranges: RecordRanges,
    store: &Arc<EntryStore>,
) -> Option<(Vec<CachedFile>, RecordRanges)> {
    let body_len = bytes.len().checked_sub(8)?;
    if body_len < main_len + 20
        || checksum(&bytes[main_len..body_len]).to_le_bytes() != bytes[body_len..]
    {
        return None;
    }
    let mut r = Reader {
        buf: &bytes[..body_len],
        pos: main_len + 20,
    };
    // paths as bytes: hashing and comparing `Path`s component by component costs more
    // than the rest of applying a delta
    let n_removed = r.len()?;
    let mut removed: std::collections::HashSet<Vec<u8>> =
        std::collections::HashSet::with_capacity(n_removed);
    for _ in 0..n_removed {
        removed.insert(r.str()?.into_bytes());
    }
    let n = r.len()?;
    let mut added: Vec<(CachedFile, (usize, usize))> = Vec::with_capacity(n);
    for _ in 0..n {
        let len = r.len()?;
        let start = r.pos;
        r.bytes(len)?;
        let f = decode_file(bytes, start, start + len, store)?;
        if added.last().is_some_and(|(p, _)| {
            crate::discover::path_cmp(&p.path, &f.path) != std::cmp::Ordering::Less
        }) {
            return None;
        }
        removed.insert(f.path.as_os_str().as_encoded_bytes().to_vec());
        added.push((f, (start, start + len)));
    }
    if r.pos != body_len {
        return None;
    }
    let (mut files, mut ranges) = (files, ranges);
    // The common case: every record of the delta replaces one of the main file's and none
    // was removed. Replaced in place: moving every record to a new list costs more.
    if n_removed == 0 {
        let at: Option<Vec<usize>> = added
            .iter()
            .map(|(a, _)| {
                files
                    .binary_search_by(|f| crate::discover::path_cmp(&f.path, &a.path))
                    .ok()
            })
            .collect();
        if let Some(at) = at {
            for ((a, ar), i) in added.into_iter().zip(at) {
                files[i] = a;
                ranges[i] = ar;
            }
            return Some((files, ranges));
        }
    }
    // both sorted by path: merge
    let mut out_files = Vec::with_capacity(files.len() + added.len());
    let mut out_ranges = Vec::with_capacity(files.len() + added.len());
    let mut add = added.into_iter().peekable();
    for (f, range) in files.into_iter().zip(ranges) {
        if removed.contains(f.path.as_os_str().as_encoded_bytes()) {
            continue;
        }
        while let Some((a, _)) = add.peek() {
            if crate::discover::path_cmp(&a.path, &f.path) == std::cmp::Ordering::Less {
                let (a, ar) = add.next()?;
                out_files.push(a);
                out_ranges.push(ar);
            } else {
                break;
            }
        }
        out_files.push(f);
        out_ranges.push(range);
    }
    for (a, ar) in add {
        out_files.push(a);
        out_ranges.push(ar);
    }
    Some((out_files, out_ranges))
}

/// The delta file for `files` against the main file `base`, unless it would be large (then
/// the main file is rewritten instead).
pub(super) fn encode_delta(
    files: &[&CachedFile],
    refs: &[EntryRef],
    raw: &[Option<(usize, &[u8])>],
    base: &Base,
    bytes: &[u8],
) -> Option<Vec<u8>> {
    // a small main file is cheap to rewrite, but a delta keeps the kernel work constant
    let limit = (base.main_len / 8).max(1 << 16);
    let mut w = Writer(Vec::new());
    w.0.extend_from_slice(DELTA_MAGIC);
    w.0.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    w.0.extend_from_slice(&base.main_sum.to_le_bytes());
    // the main file's paths no longer present (both lists sorted by path)
    let mut removed: Vec<&Path> = Vec::new();
    let mut fi = files.iter().map(|f| f.path.as_path()).peekable();
    for &range in &base.records {
        let p = record_path(bytes, range)?;
        // equal bytes first: the common case, and cheaper than comparing components
        if fi.next_if(|f| f.as_os_str() == p.as_os_str()).is_some() {
            continue;
        }
        while fi.next_if(|f| *f < p).is_some() {}
        if fi.next_if(|f| *f == p).is_none() {
            removed.push(p);
        }
    }
    w.var(removed.len() as u64);
    for p in removed {
        w.str(&p.to_string_lossy());
    }
    let changed: Vec<usize> = (0..files.len())
        .filter(|&i| !matches!(raw[i], Some((start, _)) if start < base.main_len))
        .collect();
    w.var(changed.len() as u64);
    for i in changed {
        match raw[i] {
            Some((_, bytes)) => {
                w.var(bytes.len() as u64);
                w.0.extend_from_slice(bytes);
            }
            None => {
                let blob = encode_file(files[i], refs[i]);
                w.var(blob.len() as u64);
                w.0.extend_from_slice(&blob);
            }
        }
        if w.0.len() > limit {
            return None;
        }
    }
    let sum = checksum(&w.0);
    w.0.extend_from_slice(&sum.to_le_bytes());
    Some(w.0)
}
