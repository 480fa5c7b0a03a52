//! Moving entries between ledgers: `export` writes every entry of a set of transcript
//! folders (one per key) to a new ledger file; `import` merges ledger files into this one as
//! a set union on the de-duplication key.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::format::{self, decode_group, frame_str, PayloadBuilder, RawEntry, G_IMPORTED};
use super::record::RootInfo;
use super::store::Store;
use super::LedgerError;
use crate::usage::KeyMap;

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Entries written (one per key).
    pub entries: u64,
    /// Bytes of the file.
    pub bytes: u64,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Ledger files read.
    pub files: usize,
    /// Entries read from them.
    pub read: u64,
    /// Entries added to this ledger (new keys, or copies that outrank the one held: more
    /// tokens, or as many and a sub-agent's copy of a main-chain one).
    pub added: u64,
    /// Entries this ledger already held (or that appeared twice in the files).
    pub already: u64,
}

/// One entry to write, with the strings of the ledger it comes from.
struct Item<'a> {
    root: u64,
    source: u64,
    flags: u8,
    project: &'a str,
    model: &'a str,
    session: &'a str,
    agent: Option<(&'a str, &'a str)>,
    entry: RawEntry,
}

/// Batches of items, a group per run of items of one source.
struct Batches {
    max: usize,
    frames: Vec<Vec<u8>>,
    builder: Option<PayloadBuilder>,
    in_frame: usize,
    /// The group being filled: root, source, flags, project index, entries.
    group: Option<(u64, u64, u8, u32, Vec<RawEntry>)>,
}

impl Batches {
    fn new(max: usize) -> Self {
        Batches {
            max: max.max(1),
            frames: Vec::new(),
            builder: None,
            in_frame: 0,
            group: None,
        }
    }

    fn end_group(&mut self) {
        if let (Some((_, source, flags, project, entries)), Some(b)) =
            (self.group.take(), self.builder.as_mut())
        {
            b.group(source, flags, project, 0, None, &[], &entries);
        }
    }

    fn end_frame(&mut self) {
        self.end_group();
        if let Some(b) = self.builder.take() {
            if !b.is_empty() {
                self.frames.push(b.finish());
            }
        }
        self.in_frame = 0;
    }

    fn push(&mut self, it: Item<'_>) {
        let new_frame = match &self.builder {
            None => true,
            Some(b) => b.root() != it.root || self.in_frame >= self.max,
        };
        if new_frame {
            self.end_frame();
            self.builder = Some(PayloadBuilder::new(it.root));
        }
        let same_group = matches!(&self.group,
            Some((r, s, f, _, _)) if *r == it.root && *s == it.source && *f == it.flags);
        let Some(b) = self.builder.as_mut() else {
            return;
        };
        let project = b.string(it.project);
        if !same_group || self.group.as_ref().is_some_and(|g| g.3 != project) {
            self.end_group();
            self.group = Some((it.root, it.source, it.flags, project, Vec::new()));
        }
        let Some(b) = self.builder.as_mut() else {
            return;
        };
        let mut e = it.entry;
        e.model = b.string(it.model);
        e.session = b.string(it.session);
        if let Some((ty, id)) = it.agent {
            e.agent_type = b.string(ty);
            e.agent_id = b.string(id);
        }
        if let Some(g) = self.group.as_mut() {
            g.4.push(e);
        }
        self.in_frame += 1;
    }

    /// Adds a batch of sub-agent links (`agentId`, agent type).
    fn links(&mut self, root: u64, flags: u8, links: &[(&str, &str)]) {
        if links.is_empty() {
            return;
        }
        self.end_frame();
        let mut b = PayloadBuilder::new(root);
        let project = b.string("");
        let pairs: Vec<(u32, u32)> = links
            .iter()
            .map(|(a, t)| (b.string(a), b.string(t)))
            .collect();
        b.group(0, flags, project, 0, None, &pairs, &[]);
        self.frames.push(b.finish());
    }

    fn finish(mut self) -> Vec<Vec<u8>> {
        self.end_frame();
        self.frames
    }
}

/// Every entry of `store`'s groups, decoded, in file order: `(group id, entry)`; a damaged
/// batch is an error (nothing is exported or imported from a damaged ledger).
fn all_entries(store: &Store) -> Result<Vec<(u32, RawEntry)>, LedgerError> {
    let mut out = Vec::new();
    let mut body: Option<(u32, Vec<u8>)> = None;
    for id in 0..store.groups.len() as u32 {
        let (frame_id, frame, g) = store.group(id);
        let damaged = || LedgerError::Damaged {
            path: store.path.clone(),
            offset: store.frames[frame_id as usize].body_at,
        };
        if body.as_ref().is_none_or(|(f, _)| *f != frame_id) {
            body = Some((frame_id, store.body(frame_id)?.ok_or_else(damaged)?));
        }
        let Some((_, bytes)) = &body else {
            continue;
        };
        let entries = decode_group(bytes, frame, g).ok_or_else(damaged)?;
        out.extend(entries.into_iter().map(|e| (id, e)));
    }
    Ok(out)
}

/// One entry per key: the copy of the highest [`RawEntry::rank`] (the first on a tie).
fn one_per_key(entries: Vec<(u32, RawEntry)>) -> Vec<(u32, RawEntry)> {
    let mut best: KeyMap<usize> = KeyMap::default();
    let mut out: Vec<(u32, RawEntry)> = Vec::with_capacity(entries.len());
    for (g, e) in entries {
        match best.get(&e.key) {
            Some(&i) => {
                if e.rank() > out[i].1.rank() {
                    out[i] = (g, e);
                }
            }
            None => {
                best.insert(e.key, out.len());
                out.push((g, e));
            }
        }
    }
    out
}

fn item<'a>(store: &'a Store, group: u32, e: RawEntry, root: Option<u64>, flags: u8) -> Item<'a> {
    let (_, frame, g) = store.group(group);
    let s = |i: u32| frame_str(frame, i);
    Item {
        root: root.unwrap_or(frame.root),
        source: g.source,
        flags: flags | (g.flags & G_IMPORTED),
        project: s(g.project),
        model: s(e.model),
        session: s(e.session),
        agent: e.has_agent().then(|| (s(e.agent_type), s(e.agent_id))),
        entry: e,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Writes every entry of `store` (the groups of `roots`) to `to`, one per key.
pub(super) fn export(
    store: &Store,
    roots: &[RootInfo],
    to: &Path,
    max: usize,
) -> Result<ExportStats, LedgerError> {
    if same_file(to, &store.path) {
        return Err(LedgerError::SameFile(to.to_owned()));
    }
    let chosen = one_per_key(all_entries(store)?);
    let mut batches = Batches::new(max);
    for &(g, e) in &chosen {
        batches.push(item(store, g, e, None, 0));
    }
    let mut links: Vec<(&str, &str)> = store
        .links
        .iter()
        .map(|(a, t)| (a.as_str(), t.as_str()))
        .collect();
    links.sort_unstable();
    batches.links(roots.first().map_or(0, |r| r.id), 0, &links);
    let frames = batches.finish();
    let io = |e: std::io::Error| LedgerError::Io {
        path: to.to_owned(),
        source: e,
    };
    let dir = match to.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io)?;
    let mut bytes = format::header().len() as u64;
    tmp.write_all(&format::header()).map_err(io)?;
    for f in &frames {
        tmp.write_all(f).map_err(io)?;
        bytes += f.len() as u64;
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(to).map_err(|e| io(e.error))?;
    Ok(ExportStats {
        entries: chosen.len() as u64,
        bytes,
    })
}

/// The batches that merge the ledger files `from` into `store` (under root `root`).
pub(super) fn import_frames(
    store: &Store,
    root: u64,
    from: &[PathBuf],
    max: usize,
) -> Result<(Vec<Vec<u8>>, ImportStats), LedgerError> {
    let mut stats = ImportStats {
        files: from.len(),
        ..ImportStats::default()
    };
    let mut held: KeyMap<(u64, bool)> = KeyMap::default();
    for (_, e) in all_entries(store)? {
        let t = held.entry(e.key).or_insert((0, false));
        *t = (*t).max(e.rank());
    }
    let others: Vec<Store> = from
        .iter()
        .map(|p| Store::read_only(p))
        .collect::<Result<_, _>>()?;
    // (file, group, entry) to add, one per key
    let mut adds: Vec<(usize, u32, RawEntry)> = Vec::new();
    let mut at: KeyMap<usize> = KeyMap::default();
    for (fi, other) in others.iter().enumerate() {
        for (g, e) in all_entries(other)? {
            stats.read += 1;
            let rank = e.rank();
            if held.get(&e.key).is_some_and(|&t| t >= rank) {
                stats.already += 1;
                continue;
            }
            match at.get(&e.key) {
                Some(&i) => {
                    stats.already += 1;
                    if rank > adds[i].2.rank() {
                        adds[i] = (fi, g, e);
                    }
                }
                None => {
                    at.insert(e.key, adds.len());
                    adds.push((fi, g, e));
                }
            }
        }
    }
    stats.added = adds.len() as u64;
    let mut batches = Batches::new(max);
    for &(fi, g, e) in &adds {
        batches.push(item(&others[fi], g, e, Some(root), G_IMPORTED));
    }
    // links this ledger does not know yet
    let mut links: std::collections::BTreeMap<&str, &str> = Default::default();
    for other in &others {
        for (a, t) in &other.links {
            if !store.links.contains_key(a) {
                links.entry(a).or_insert(t);
            }
        }
    }
    let links: Vec<(&str, &str)> = links.into_iter().collect();
    batches.links(root, G_IMPORTED, &links);
    Ok((batches.finish(), stats))
}
