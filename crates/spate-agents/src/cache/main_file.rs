//! The main cache file: every transcript's record, length-prefixed, with a checksum; read
//! together with the delta file beside it into one buffer.

use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::delta::apply_delta;
use super::entries::{EntryRef, EntryStore};
use super::record::{decode_file, encode_file};
use super::varint::{checksum, Reader, Writer};
use super::{
    delta_path, entries_path, CacheProblem, CachedFile, DELTA_MAGIC, FORMAT_VERSION, MAGIC,
};
use crate::error::{Error, Result};

/// Encodes the main cache file; `refs[i]` says where file `i`'s entries are, `raw[i]` is
/// its record as last written, when it can be copied as is.
pub(super) fn encode(files: &[&CachedFile], refs: &[EntryRef], raw: &[Option<&[u8]>]) -> Vec<u8> {
    let blobs: Vec<std::borrow::Cow<'_, [u8]>> = files
        .par_iter()
        .zip(refs.par_iter())
        .zip(raw.par_iter())
        .map(|((f, r), raw)| match raw {
            Some(bytes) => std::borrow::Cow::Borrowed(*bytes),
            None => std::borrow::Cow::Owned(encode_file(f, *r)),
        })
        .collect();
    let mut w = Writer(Vec::with_capacity(
        blobs.iter().map(|b| b.len() + 4).sum::<usize>() + 32,
    ));
    w.0.extend_from_slice(MAGIC);
    w.0.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    w.var(files.len() as u64);
    for blob in &blobs {
        w.var(blob.len() as u64);
        w.0.extend_from_slice(blob);
    }
    drop(blobs);
    let sum = checksum(&w.0);
    w.0.extend_from_slice(&sum.to_le_bytes());
    w.0
}

/// Where each file's record is in the main cache file's bytes.
pub(super) type RecordRanges = Vec<(usize, usize)>;

/// A decoded main cache file.
#[derive(Debug)]
pub struct Decoded {
    /// The files, sorted by path as written.
    pub files: Vec<CachedFile>,
    /// Where each file's record is in `bytes` (reused verbatim when the file is unchanged).
    pub ranges: Vec<(usize, usize)>,
    /// The main file's bytes, followed by the delta file's when one applied.
    pub bytes: Arc<Vec<u8>>,
    /// What the main file alone holds (a delta is written against it).
    pub base: Base,
}

/// The main cache file as read, against which a delta file is written.
#[derive(Debug, Clone, Default)]
pub struct Base {
    /// Length of the main file (ranges below it are records of the main file).
    pub main_len: usize,
    /// The main file's checksum (its last 8 bytes).
    pub main_sum: u64,
    /// Where the main file's records are (in the order written, sorted by path).
    pub records: Vec<(usize, usize)>,
}

/// Which of the two cache files a [`CacheProblem`] from [`read`] comes from: the delta
/// file when there is one and the main file decodes on its own, else the main file (so
/// that a damaged `.delta` is not reported as a damaged `.bin`).
pub fn faulty_file(path: &Path) -> std::path::PathBuf {
    let delta = delta_path(path);
    if delta.exists() {
        if let Ok(bytes) = std::fs::read(path) {
            let store = Arc::new(EntryStore::open_now(entries_path(path)));
            if decode(&bytes, &store).is_ok() {
                return delta;
            }
        }
    }
    path.to_owned()
}

/// Decodes a main cache file's bytes; entries stay in `store` (see [`Entries::Lazy`]).
pub fn decode(
    buf: &[u8],
    store: &Arc<EntryStore>,
) -> std::result::Result<Vec<CachedFile>, CacheProblem> {
    let whole = Arc::new(buf.to_vec());
    decode_with_ranges(&whole, buf.len(), store).map(|(files, _)| files)
}

/// Decodes the main file in `whole[..main_len]`.
fn decode_with_ranges(
    whole: &Arc<Vec<u8>>,
    main_len: usize,
    store: &Arc<EntryStore>,
) -> std::result::Result<(Vec<CachedFile>, RecordRanges), CacheProblem> {
    let buf = whole.get(..main_len).ok_or(CacheProblem::Corrupt)?;
    if buf.len() < 12 || &buf[..8] != MAGIC {
        return Err(CacheProblem::ForeignVersion);
    }
    if buf[8..12] != FORMAT_VERSION.to_le_bytes() {
        return Err(CacheProblem::ForeignVersion);
    }
    if buf.len() < 20 {
        return Err(CacheProblem::Corrupt);
    }
    let body_len = buf.len() - 8;
    if checksum(&buf[..body_len]).to_le_bytes() != buf[body_len..] {
        return Err(CacheProblem::Corrupt);
    }
    let mut r = Reader {
        buf: &buf[..body_len],
        pos: 12,
    };
    let n = r.len().ok_or(CacheProblem::Corrupt)?;
    let mut blobs = Vec::with_capacity(n);
    for _ in 0..n {
        let len = r.len().ok_or(CacheProblem::Corrupt)?;
        let start = r.pos;
        r.bytes(len).ok_or(CacheProblem::Corrupt)?;
        blobs.push((start, start + len));
    }
    if r.pos != body_len {
        return Err(CacheProblem::Corrupt);
    }
    // Sequential on purpose: entries stay undecoded, so the rest is small, and allocating
    // on worker threads costs more (their heaps grow page by page) than it saves.
    let mut files = Vec::with_capacity(blobs.len());
    for &(start, end) in &blobs {
        files.push(decode_file(whole, start, end, store).ok_or(CacheProblem::Corrupt)?);
    }
    Ok((files, blobs))
}

/// Reads a main cache file and the delta file beside it: `Ok(None)` when there is none yet.
/// A delta written against another main file is ignored; a damaged one makes the whole
/// cache corrupt.
pub fn read(path: &Path) -> Result<Option<std::result::Result<Decoded, CacheProblem>>> {
    use std::io::Read;
    // one buffer for both files, so that records of either can point into it, allocated
    // once (growing it would copy the main file's bytes)
    let delta_file = std::fs::File::open(delta_path(path)).ok();
    let delta_len = delta_file
        .as_ref()
        .and_then(|f| f.metadata().ok())
        .map_or(0, |m| usize::try_from(m.len()).unwrap_or(0));
    let mut bytes = match read_reserving(path, delta_len.saturating_add(1)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let main_len = bytes.len();
    let main_sum = main_len
        .checked_sub(8)
        .and_then(|at| bytes[at..].try_into().ok())
        .map_or(0, u64::from_le_bytes);
    let has_delta = match delta_file {
        Some(mut f) => {
            if let Err(e) = f.read_to_end(&mut bytes) {
                return Err(Error::io(delta_path(path), e));
            }
            true
        }
        None => false,
    };
    let mut apply = false;
    if has_delta {
        let delta = &bytes[main_len..];
        if delta.len() < 20
            || delta[..8] != DELTA_MAGIC[..]
            || delta[8..12] != FORMAT_VERSION.to_le_bytes()
        {
            return Ok(Some(Err(CacheProblem::ForeignVersion)));
        }
        // one written against an older main file, replaced since, is left out
        apply = delta[12..20] == main_sum.to_le_bytes();
        if !apply {
            bytes.truncate(main_len);
        }
    }
    let bytes = Arc::new(bytes);
    let store = Arc::new(EntryStore::open_now(entries_path(path)));
    let (files, ranges) = match decode_with_ranges(&bytes, main_len, &store) {
        Ok(d) => d,
        Err(p) => return Ok(Some(Err(p))),
    };
    let base = Base {
        main_len,
        main_sum,
        records: ranges.clone(),
    };
    if !apply {
        return Ok(Some(Ok(Decoded {
            files,
            ranges,
            bytes,
            base,
        })));
    }
    Ok(Some(
        apply_delta(&bytes, main_len, files, ranges, &store)
            .ok_or(CacheProblem::Corrupt)
            .map(|(files, ranges)| Decoded {
                files,
                ranges,
                bytes,
                base,
            }),
    ))
}

/// A file's bytes, in a buffer with room for `extra` more.
fn read_reserving(path: &Path, extra: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(extra));
    f.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The checksum of the main cache file at `path` (its last 8 bytes), to tell whether it is
/// still the one a [`Base`] was read from.
pub fn main_checksum(path: &Path) -> Option<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    f.seek(SeekFrom::End(-8)).ok()?;
    let mut sum = [0u8; 8];
    f.read_exact(&mut sum).ok()?;
    Some(u64::from_le_bytes(sum))
}
