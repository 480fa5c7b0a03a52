//! Member names of JSON Lines rows recognised as written, without building their paths.
//!
//! The scan route ([`crate::json_scan`]) hears of every member of a flattened object with its
//! name as written (escapes not decoded). Finding its field by its flattened path costs a
//! path (the parent's path, a `.`, the decoded name), an escape check and a look-up in the
//! [`JsonState`] for every member of every row. Rows of JSON Lines repeat their names, so
//! here each distinct member, *(the object it is in, its name as written)*, becomes a node
//! that remembers its field: the path is built once, when the member is first seen, and a
//! member seen before is recognised by comparing its name as written with a guess, the node
//! that followed the previous member the last time (rows of one kind repeat their key
//! order, and rows of several kinds each keep their own order), or else by a hash look-up
//! of the parent and the name.
//!
//! Two names as written may decode to one path (`"a"` and `"\u0061"`; `"a.b"` at the top and
//! `b` inside `a`): they are two nodes of the same field, as the path look-up would give.
//! The nodes hold field indexes of one [`JsonState`], so a table serves that state only
//! ([`Members::clear`] before another).

use std::collections::HashMap;

use spate_json::walk::unescape_into;

use crate::json::{has_backslash, JsonState, JsonVisitor, TOP_LEVEL_FIELD};

/// The parent of the members of the top-level object; also "no node".
pub(crate) const ROOT: u32 = u32::MAX;

/// One distinct member: a name as written inside one object (by node).
#[derive(Debug, Clone)]
struct Node {
    /// The node of the object the member is in ([`ROOT`] for the top-level object).
    parent: u32,
    /// The name as written: `names[name.0..name.1]`.
    name: (usize, usize),
    /// The flattened path (decoded): `paths[path.0..path.1]`.
    path: (usize, usize),
    /// The member's field in the state.
    field: usize,
    /// The state knows the path is an object (told once: telling it again changes nothing).
    object: bool,
    /// The node that followed this one in a row the last time (a guess).
    next: u32,
    /// The node that followed it before that, when another (the second guess: rows of two
    /// kinds that share a key go on differently after it).
    other: u32,
}

/// The nodes of the members seen, with the guess for the next member. See the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Members {
    nodes: Vec<Node>,
    /// The names as written, one after another.
    names: Vec<u8>,
    /// The paths, one after another.
    paths: Vec<u8>,
    /// The node of each parent and name as written (the parent's number, little-endian,
    /// then the name).
    index: HashMap<Box<[u8]>, u32>,
    /// The member last recognised in the row being read ([`ROOT`] at its start).
    prev: u32,
    /// The first member of the last row (the guess for the first member of the next one).
    first_of_row: u32,
    /// The field of a top-level value that is not an object, once known.
    value_field: Option<usize>,
    /// A buffer for index keys, decoded names and paths being built.
    scratch: Vec<u8>,
}

impl Default for Members {
    fn default() -> Self {
        Members {
            nodes: Vec::new(),
            names: Vec::new(),
            paths: Vec::new(),
            index: HashMap::new(),
            prev: ROOT,
            first_of_row: ROOT,
            value_field: None,
            scratch: Vec::new(),
        }
    }
}

impl Members {
    /// Forgets every node (before serving another state).
    pub(crate) fn clear(&mut self) {
        self.nodes.clear();
        self.names.clear();
        self.paths.clear();
        self.index.clear();
        self.prev = ROOT;
        self.first_of_row = ROOT;
        self.value_field = None;
    }

    /// A new row begins: its first member is guessed to be the last row's first.
    #[inline]
    pub(crate) fn begin_row(&mut self) {
        self.prev = ROOT;
    }

    /// The node of the member `name` (as written) of the object `parent` (a node, or
    /// [`ROOT`]), made when new (its field too, in `state`).
    #[inline(always)]
    pub(crate) fn member(&mut self, state: &mut JsonState, parent: u32, name: &[u8]) -> u32 {
        let guess = match self.prev {
            ROOT => self.first_of_row,
            p => self.nodes[p as usize].next,
        };
        let id = if self.is(guess, parent, name) {
            guess
        } else {
            self.miss(state, parent, name)
        };
        match self.prev {
            ROOT => self.first_of_row = id,
            p => self.nodes[p as usize].next = id,
        }
        self.prev = id;
        id
    }

    /// Whether node `id` (or [`ROOT`]: none) is the member `name` of `parent`.
    #[inline(always)]
    fn is(&self, id: u32, parent: u32, name: &[u8]) -> bool {
        match self.nodes.get(id as usize) {
            Some(n) => n.parent == parent && same_bytes(&self.names[n.name.0..n.name.1], name),
            None => false,
        }
    }

    /// The first guess was wrong: the second guess, else a look-up. The member that
    /// followed the previous one last time becomes the second guess.
    #[inline(never)]
    fn miss(&mut self, state: &mut JsonState, parent: u32, name: &[u8]) -> u32 {
        if self.prev == ROOT {
            return self.find(state, parent, name);
        }
        let prev = &self.nodes[self.prev as usize];
        let (next, other) = (prev.next, prev.other);
        let id = if self.is(other, parent, name) {
            other
        } else {
            self.find(state, parent, name)
        };
        if next != ROOT {
            self.nodes[self.prev as usize].other = next;
        }
        id
    }

    /// The field of node `id`.
    #[inline(always)]
    pub(crate) fn field(&self, id: u32) -> usize {
        self.nodes[id as usize].field
    }

    /// Node `id` is a flattened object in this row: the state is told so the first time.
    #[inline(always)]
    pub(crate) fn open_object(&mut self, state: &mut JsonState, id: u32) {
        let node = &mut self.nodes[id as usize];
        if !node.object {
            node.object = true;
            state.object(&self.paths[node.path.0..node.path.1]);
        }
    }

    /// The field of a top-level value that is not an object.
    #[inline]
    pub(crate) fn value_field(&mut self, state: &mut JsonState) -> usize {
        *self
            .value_field
            .get_or_insert_with(|| state.field_index(TOP_LEVEL_FIELD.as_bytes()))
    }

    /// The node of a member that is not a guess: looked up, or made.
    fn find(&mut self, state: &mut JsonState, parent: u32, name: &[u8]) -> u32 {
        self.scratch.clear();
        self.scratch.extend_from_slice(&parent.to_le_bytes());
        self.scratch.extend_from_slice(name);
        if let Some(&id) = self.index.get(&self.scratch[..]) {
            return id;
        }
        let key: Box<[u8]> = self.scratch.as_slice().into();
        // The path: the parent's path, a dot, the decoded name; as the flattening builds it,
        // the members of an object whose path is empty (`{"": {"x": 1}}`) get no dot.
        let start = self.paths.len();
        if parent != ROOT {
            let (a, b) = self.nodes[parent as usize].path;
            if a < b {
                self.paths.extend_from_within(a..b);
                self.paths.push(b'.');
            }
        }
        if has_backslash(name) {
            self.scratch.clear();
            unescape_into(name, &mut self.scratch);
            self.paths.extend_from_slice(&self.scratch);
        } else {
            self.paths.extend_from_slice(name);
        }
        let path = (start, self.paths.len());
        let field = state.field_index(&self.paths[path.0..path.1]);
        let name_start = self.names.len();
        self.names.extend_from_slice(name);
        let id = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&id| id != ROOT)
            .expect("fewer than 2^32 - 1 distinct members");
        self.nodes.push(Node {
            parent,
            name: (name_start, self.names.len()),
            path,
            field,
            object: false,
            next: ROOT,
            other: ROOT,
        });
        self.index.insert(key, id);
        id
    }
}

/// `a == b`, inline for the short names members usually have (two overlapping loads instead
/// of a call to `memcmp`).
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8"));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4"));
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=8 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        9..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_agrees_with_eq() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_bytes(&a, &a.clone()));
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 1;
                assert!(!same_bytes(&a, &b), "{n} {at}");
            }
            assert!(!same_bytes(&a, &a[..n.saturating_sub(1)]) || n == 0);
        }
    }

    #[test]
    fn names_as_written_share_fields_by_path() {
        let mut state = JsonState::default();
        let mut m = Members::default();
        state.begin_row(0);
        m.begin_row();
        let a = m.member(&mut state, ROOT, b"a");
        let escaped = m.member(&mut state, ROOT, br"\u0061");
        assert_ne!(a, escaped);
        assert_eq!(m.field(a), m.field(escaped));
        let dotted = m.member(&mut state, ROOT, b"a.b");
        m.open_object(&mut state, a);
        let b = m.member(&mut state, a, b"b");
        assert_eq!(m.field(dotted), m.field(b));
        // Seen again, in another order: the same nodes.
        m.begin_row();
        assert_eq!(m.member(&mut state, a, b"b"), b);
        assert_eq!(m.member(&mut state, ROOT, b"a"), a);
        assert_eq!(m.member(&mut state, ROOT, b"a"), a);
        assert_eq!(m.member(&mut state, ROOT, br"\u0061"), escaped);
        // Below an empty name, the path has no dot (as the flattening writes it).
        let empty = m.member(&mut state, ROOT, b"");
        m.open_object(&mut state, empty);
        let inner = m.member(&mut state, empty, b"x");
        let top_x = m.member(&mut state, ROOT, b"x");
        assert_eq!(m.field(inner), m.field(top_x));
    }
}
