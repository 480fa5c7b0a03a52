//! Compact string tables. A transcript tree has tens of thousands of short strings (tool use
//! ids, session ids, model names); keeping each in its own allocation made decoding the
//! cache and interning them dominated by the allocator. Here a table keeps all its strings
//! in one buffer, so a table costs two allocations however many strings it holds.

use crate::usage::FastMap;

/// Strings numbered from 0 in the order added, stored end to end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringTable {
    text: String,
    /// `ends[i]` is where string `i` ends in `text` (it starts where string `i - 1` ends).
    ends: Vec<usize>,
}

impl StringTable {
    /// An empty table with room for `strings` strings of `bytes` bytes in all.
    pub fn with_capacity(strings: usize, bytes: usize) -> Self {
        StringTable {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(strings),
        }
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The string numbered `i` (`None` when out of range).
    pub fn get(&self, i: u32) -> Option<&str> {
        let i = i as usize;
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    /// Adds `s` (even if already present) and returns its number.
    pub fn push(&mut self, s: &str) -> u32 {
        self.text.push_str(s);
        self.ends.push(self.text.len());
        (self.ends.len() - 1) as u32
    }

    /// The strings in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let s = &self.text[start..end];
            start = end;
            s
        })
    }
}

/// A [`StringTable`] that gives every distinct string one number.
#[derive(Debug, Default)]
pub struct Interner {
    table: StringTable,
    /// Hash of a string → the last string added with that hash.
    heads: FastMap<u64, u32>,
    /// For string `i`, the previous string with the same hash ([`u32::MAX`] for none).
    previous: Vec<u32>,
}

impl Interner {
    /// An interner that numbers the strings of `table` as it does (which must be distinct,
    /// as an interner's table is).
    pub fn from_table(table: StringTable) -> Self {
        let mut interner = Interner {
            heads: FastMap::with_capacity_and_hasher(table.len(), Default::default()),
            previous: Vec::with_capacity(table.len()),
            table: StringTable::default(),
        };
        for (i, s) in table.iter().enumerate() {
            let h = hash(s);
            let prev = interner.heads.insert(h, i as u32).unwrap_or(u32::MAX);
            interner.previous.push(prev);
        }
        interner.table = table;
        interner
    }

    /// The number of `s`, adding it if new.
    pub fn id(&mut self, s: &str) -> u32 {
        let h = hash(s);
        let head = self.heads.get(&h).copied();
        let mut at = head.unwrap_or(u32::MAX);
        while at != u32::MAX {
            if self.table.get(at) == Some(s) {
                return at;
            }
            at = self.previous[at as usize];
        }
        let i = self.table.push(s);
        self.previous.push(head.unwrap_or(u32::MAX));
        self.heads.insert(h, i);
        i
    }

    /// The string numbered `id` (empty when out of range).
    pub fn get(&self, id: u32) -> &str {
        self.table.get(id).unwrap_or("")
    }

    /// The number of `s`, if it was added.
    pub fn find(&self, s: &str) -> Option<u32> {
        let mut at = self.heads.get(&hash(s)).copied().unwrap_or(u32::MAX);
        while at != u32::MAX {
            if self.table.get(at) == Some(s) {
                return Some(at);
            }
            at = self.previous[at as usize];
        }
        None
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The table, numbered as the interner numbered it.
    pub fn into_table(self) -> StringTable {
        self.table
    }
}

/// A 64-bit hash of a short string, a word at a time.
fn hash(s: &str) -> u64 {
    let bytes = s.as_bytes();
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(0x517c_c1b7_2722_0a95);
    h ^ (h >> 29)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_keeps_order_and_duplicates() {
        let mut t = StringTable::default();
        assert_eq!(t.push("a"), 0);
        assert_eq!(t.push(""), 1);
        assert_eq!(t.push("a"), 2);
        assert_eq!(t.push("été"), 3);
        assert_eq!(t.len(), 4);
        assert_eq!(t.get(1), Some(""));
        assert_eq!(t.get(3), Some("été"));
        assert_eq!(t.get(4), None);
        assert_eq!(t.iter().collect::<Vec<_>>(), ["a", "", "a", "été"]);
    }

    #[test]
    fn interner_numbers_each_string_once() {
        let mut i = Interner::default();
        let words: Vec<String> = (0..2000).map(|n| format!("w{}", n % 700)).collect();
        let ids: Vec<u32> = words.iter().map(|w| i.id(w)).collect();
        assert_eq!(i.len(), 700);
        for (w, id) in words.iter().zip(&ids) {
            assert_eq!(i.get(*id), w);
        }
        // resumed from its table, the numbering is the same
        let mut again = Interner::from_table(i.into_table());
        for (w, id) in words.iter().zip(&ids) {
            assert_eq!(again.id(w), *id);
        }
        assert_eq!(again.id("new"), 700);
        assert_eq!(again.id(""), 701);
        assert_eq!(again.id(""), 701);
    }
}
