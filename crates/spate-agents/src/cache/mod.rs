//! The incremental cache: per transcript file, its size, modification time, parsed offset
//! and everything parsed from it, in a compact versioned binary file.
//!
//! Two files. The main file (`agents-<roots hash>.bin`): magic `SPATEAGC`, format version
//! (u32 LE), the number of files, then per file its byte length and record (LEB128 varints;
//! strings as varint length + UTF-8 bytes), then a checksum of all preceding bytes (u64 LE,
//! a word-wise FNV-style hash). A file with another magic, version or checksum is not used.
//! It holds everything a report needs: per-file partial sums ([`crate::model::Bucket`]),
//! de-duplication keys, delegations.
//!
//! The entries file (`.entries` beside it) holds the individual requests, needed only when a
//! file grows or shares requests with another file. It is append-only: a changed file's
//! entries are appended as a new section, whose offset, length and checksum the main file
//! records; when more than half of it is dead, it is rewritten whole. A section whose
//! checksum does not match is treated as missing (the file is then parsed again).
//!
//! The delta file (`.delta` beside it) holds what changed since the main file was written:
//! magic `SPATEAGD`, version, the main file's checksum, the paths of the main file's files
//! that are gone, the records of the files that changed or are new (as in the main file),
//! and a checksum. A re-run after a few files changed writes only this small file, replacing
//! the previous delta; when the delta would exceed an eighth of the main file (at least
//! 64 KiB), the main file is rewritten whole and the delta removed. A delta naming another
//! main file's checksum (left behind by a crash between the two) is ignored; a damaged one
//! makes the cache corrupt.
//!
//! The main and delta files are written to a temporary file in the same folder and renamed
//! over the old one (after the entries file was extended), so a reader never sees a
//! half-written cache.
//!
//! The files are used through a [`CacheStore`], which holds an exclusive lock on the
//! `.lock` file beside them from reading the cache to writing it back: two processes never
//! interleave their writes (see the `store` module).
//!
//! Modules: `varint` (the byte codec and checksum), `record` (one transcript's record),
//! `entries` (the entries file), `main_file` (reading and encoding the main file), `delta`
//! (the delta file), `write` (when to write what), `store` (the lock and leftovers).

mod delta;
mod entries;
mod main_file;
mod record;
mod store;
mod varint;
mod write;

use std::path::{Path, PathBuf};

use crate::model::{FileMeta, FileRecord};
use crate::parse::fnv64;

pub(crate) use entries::decode_entries;
pub use entries::EntryStore;
pub use main_file::{decode, faulty_file, main_checksum, read, Base, Decoded};
pub(crate) use record::decode_buckets;
pub use store::{CacheStore, OpenReport};
pub use write::{remove_temp_files_in_progress, write, write_reusing, Written};

const MAGIC: &[u8; 8] = b"SPATEAGC";
const ENTRIES_MAGIC: &[u8; 8] = b"SPATEAGE";
const DELTA_MAGIC: &[u8; 8] = b"SPATEAGD";
/// Bump when the layout or the meaning of any field changes.
pub const FORMAT_VERSION: u32 = 15;

/// What the cache remembers about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedFile {
    /// Full path.
    pub path: PathBuf,
    /// Size when parsed.
    pub size: u64,
    /// Modification time (ns since the epoch) when parsed.
    pub mtime_ns: i128,
    /// Identity from the path.
    pub meta: FileMeta,
    /// Parsed content.
    pub record: FileRecord,
    /// Some request of this file also appears in another file (so the file's rows must be
    /// de-duplicated request by request rather than taken from its buckets).
    pub shared: bool,
}

/// Why a cache file was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheProblem {
    /// Another program's file or an older/newer spate.
    ForeignVersion,
    /// Truncated, checksum mismatch or inconsistent content.
    Corrupt,
}

/// The cache file for a set of roots, under `dir`.
pub fn cache_path(dir: &Path, roots: &[PathBuf]) -> PathBuf {
    let mut key = Vec::new();
    for r in roots {
        let abs = std::fs::canonicalize(r).unwrap_or_else(|_| r.clone());
        key.extend_from_slice(abs.to_string_lossy().as_bytes());
        key.push(0);
    }
    dir.join(format!("agents-{:016x}.bin", fnv64(&key)))
}

/// The delta file beside a main cache file: the records that changed since the main file
/// was written.
pub fn delta_path(main: &Path) -> PathBuf {
    main.with_extension("delta")
}

/// The entries file beside a main cache file.
pub fn entries_path(main: &Path) -> PathBuf {
    main.with_extension("entries")
}

/// The default cache folder: `<user cache dir>/spate`.
pub fn default_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("spate"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::main_file::encode;
    use super::varint::checksum;
    use super::*;
    use crate::model::Entries;
    use crate::parse::parse_all;

    fn sample() -> CachedFile {
        let src = concat!(
            r#"{"type":"assistant","timestamp":"2025-05-06T03:05:47.123Z","sessionId":"s1","requestId":"r1","costUSD":0.25,"message":{"id":"m1","model":"claude-sonnet-4-5","usage":{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":30,"cache_read_input_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":10,"ephemeral_1h_input_tokens":20}},"content":[{"type":"tool_use","id":"tu1","name":"Task","input":{"subagent_type":"dev","prompt":"go"}}]}}"#,
            "\n",
            r#"{"type":"assistant","isSidechain":true,"agentId":"a1","timestamp":"2025-05-06T03:06:00Z","sessionId":"s1","message":{"model":"x","usage":{"input_tokens":5}}}"#,
            "\n",
        );
        let (record, _) = parse_all(src.as_bytes());
        CachedFile {
            path: PathBuf::from("/p/proj/s1.jsonl"),
            size: src.len() as u64,
            mtime_ns: -5,
            shared: false,
            meta: FileMeta {
                project: "proj".into(),
                session: "s1".into(),
                agent_id: None,
                meta_agent_type: Some("dev".into()),
                meta_tool_use_id: None,
            },
            record,
        }
    }

    fn dec(bytes: &[u8]) -> std::result::Result<Vec<CachedFile>, CacheProblem> {
        decode(
            bytes,
            &Arc::new(EntryStore::new(PathBuf::from("/nonexistent/x.entries"))),
        )
    }

    fn materialize(mut f: CachedFile) -> CachedFile {
        let entries = f.record.entries().unwrap().into_owned();
        f.record.entries = Entries::Decoded(entries);
        f
    }

    #[test]
    fn round_trip_and_append_only_entries() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("agents-x.bin");
        let f = sample();
        assert_eq!(f.record.entries.len(), 2);
        assert_eq!(f.record.buckets.len(), 2);
        assert_eq!(f.record.keys.len(), 1);
        assert_eq!(f.record.delegations.len(), 1);
        let mut g = sample();
        g.path = PathBuf::from("/p/proj/s2.jsonl");
        write(&main, &[&f, &g]).unwrap();
        let entries_len = std::fs::metadata(entries_path(&main)).unwrap().len();
        let decoded = read(&main).unwrap().unwrap().unwrap();
        let back = &decoded.files;
        assert!(matches!(back[0].record.entries, Entries::Lazy { .. }));
        // unchanged lazy entries are not written again; a changed file's are appended; the
        // unchanged record is copied as it was read
        let mut changed = back[1].clone();
        changed.record.entries = Entries::Decoded(f.record.entries().unwrap().into_owned());
        let raw = [Some(decoded.ranges[0]), None];
        write_reusing(
            &main,
            &[&back[0], &changed],
            &raw,
            Some((&decoded.bytes, &decoded.base)),
        )
        .unwrap();
        let grown = std::fs::metadata(entries_path(&main)).unwrap().len();
        assert!(
            grown > entries_len && grown < 2 * entries_len,
            "{entries_len} -> {grown}"
        );
        let again: Vec<CachedFile> = read(&main)
            .unwrap()
            .unwrap()
            .unwrap()
            .files
            .into_iter()
            .map(materialize)
            .collect();
        assert_eq!(again, vec![f, g]);
    }

    #[test]
    fn damaged_entries_drop_out_instead_of_lying() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("agents-x.bin");
        write(&main, &[&sample()]).unwrap();
        let epath = entries_path(&main);
        let mut bytes = std::fs::read(&epath).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0x55;
        std::fs::write(&epath, &bytes).unwrap();
        let back = read(&main).unwrap().unwrap().unwrap().files;
        assert!(back[0].record.entries().is_none(), "checksum catches it");
        // a decoded copy that cannot be re-encoded is left out of a rewrite
        let mut forgotten = back[0].clone();
        forgotten.record.entries = Entries::Lazy {
            store: Arc::new(EntryStore::new(dir.path().join("elsewhere.entries"))),
            start: 12,
            len: 5,
            count: 1,
            sum: 0,
        };
        write(&main, &[&forgotten]).unwrap();
        assert!(read(&main).unwrap().unwrap().unwrap().files.is_empty());
    }

    #[test]
    fn rejects_damage() {
        let f = sample();
        let bytes = encode(&[&f], &[(12, 0, 0, 0)], &[None]);
        assert_eq!(dec(b"garbage!"), Err(CacheProblem::ForeignVersion));
        let mut other = bytes.clone();
        other[8] = 99;
        assert_eq!(dec(&other), Err(CacheProblem::ForeignVersion));
        for cut in [12, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(dec(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x40;
        assert_eq!(dec(&flipped), Err(CacheProblem::Corrupt));
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
            bytes.extend_from_slice(&tail);
            let sum = checksum(&bytes);
            bytes.extend_from_slice(&sum.to_le_bytes());
            if let Ok(files) = dec(&bytes) {
                for f in files {
                    let _ = f.record.entries();
                }
            }
        }
    }
}
