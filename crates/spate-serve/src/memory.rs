//! The daemon's memory: glibc's thresholds and the resident size, from
//! [`spate::memory`] (shared with the converter).

pub use spate::memory::{resident, return_freed_memory, MMAP_THRESHOLD, TRIM_THRESHOLD};
