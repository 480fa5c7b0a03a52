//! Which files share a request (a de-duplication key) with another file: those files are
//! de-duplicated request by request, the others are taken from their per-slot sums.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::cache::CachedFile;
use crate::usage::KeyHasher;

type Owners = HashMap<u64, u32, BuildHasherDefault<KeyHasher>>;

/// [`mark_shared`] when the flags are right for every file except those that grew
/// (`grown[i]`), none of which shared a request before: a file can only have become shared
/// through a key of a grown file.
pub(super) fn mark_shared_grown(files: &mut [CachedFile], grown: &[bool]) {
    let mut owner = Owners::default();
    let mut shared = vec![false; files.len()];
    for (fi, f) in files.iter().enumerate().filter(|(i, _)| grown[*i]) {
        for k in f.record.keys.iter() {
            let first = *owner.entry(k).or_insert(fi as u32) as usize;
            if first != fi {
                shared[first] = true;
                shared[fi] = true;
            }
        }
    }
    if !owner.is_empty() {
        for (fi, f) in files.iter().enumerate().filter(|(i, _)| !grown[*i]) {
            for k in f.record.keys.iter() {
                if let Some(&g) = owner.get(&k) {
                    shared[g as usize] = true;
                    shared[fi] = true;
                }
            }
        }
    }
    for ((f, s), g) in files.iter_mut().zip(shared).zip(grown) {
        if *g {
            f.shared = s;
        } else {
            f.shared |= s;
        }
    }
}

/// Marks the files that share a request (de-duplication key) with another file.
pub(super) fn mark_shared(files: &mut [CachedFile]) {
    let n: usize = files.iter().map(|f| f.record.keys.len()).sum();
    let mut owner = Owners::with_capacity_and_hasher(n, Default::default());
    let mut shared = vec![false; files.len()];
    for (fi, f) in files.iter().enumerate() {
        for k in f.record.keys.iter() {
            match owner.entry(k) {
                std::collections::hash_map::Entry::Occupied(o) => {
                    let first = *o.get() as usize;
                    if first != fi {
                        shared[first] = true;
                        shared[fi] = true;
                    }
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(fi as u32);
                }
            }
        }
    }
    for (f, s) in files.iter_mut().zip(shared) {
        f.shared = s;
    }
}
