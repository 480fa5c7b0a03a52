//! Plain files read in place: a read-only mapping of a whole file, so that the scanner reads
//! the page cache's bytes where they lie instead of a copy made by `read()`.
//!
//! Profiles of the parallel executor over a 1.1 GB document in the page cache showed the
//! kernel's copy of the file into the windows (`_copy_to_iter`) as a third of all CPU time.
//! Mapped, that copy is gone; what is left is the cost of mapping the pages, which is kept
//! small by prefaulting each window with one `madvise(MADV_POPULATE_READ)` (a page fault every
//! 4 KiB otherwise costs more than the copy saved) and by the scanner's own prefetch a page
//! ahead (the hardware prefetcher stops at page boundaries).
//!
//! Memory stays bounded: pages behind what the scan still needs are given back with
//! `madvise(MADV_DONTNEED)` (they stay in the page cache; the process's resident size is the
//! window in use, not the file).
//!
//! Only plain regular files are mapped ([`Mapping::of_plain_file`]): not standard input,
//! pipes, devices, compressed files, or files under [`MIN_MAPPED`] bytes (for them a mapping
//! saves nothing). A mapped file that another process truncates while it is scanned makes
//! the process fault (`SIGBUS`), as with any tool that maps files; `SPATE_NO_MMAP=1` in the
//! environment turns mapping off and every file is read with `read()` as before.

use std::fs::File;
use std::ops::Range;
use std::os::fd::AsRawFd;

/// `MADV_POPULATE_READ` (Linux 5.14); not in every `libc` release yet. Elsewhere the
/// nearest advice, `MADV_WILLNEED`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const POPULATE_READ: libc::c_int = 22;
/// `MADV_POPULATE_READ` (Linux 5.14); not in every `libc` release yet. Elsewhere the
/// nearest advice, `MADV_WILLNEED`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const POPULATE_READ: libc::c_int = libc::MADV_WILLNEED;

/// Files smaller than this are read, not mapped: mapping and unmapping cost about what
/// copying a megabyte does.
pub const MIN_MAPPED: u64 = 1 << 20;

/// True when `SPATE_NO_MMAP` is set to something other than empty or `0`: files are then
/// always read with `read()`.
pub fn disabled() -> bool {
    std::env::var_os("SPATE_NO_MMAP").is_some_and(|v| !v.is_empty() && v != "0")
}

/// A read-only private mapping of a whole file, unmapped on drop.
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
    page: usize,
}

// SAFETY: the mapping is read-only and never written through; the pointer is valid until
// drop, whatever thread reads it.
unsafe impl Send for Mapping {}
// SAFETY: as above (shared reads only).
unsafe impl Sync for Mapping {}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping").field("len", &self.len).finish()
    }
}

impl Mapping {
    /// Maps the first `len` bytes of `file` (`len` > 0); `None` when the system refuses.
    pub fn new(file: &File, len: usize) -> Option<Mapping> {
        if len == 0 {
            return None;
        }
        // SAFETY: a fresh read-only private mapping of `len` bytes of an open file; the
        // result is checked before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: sysconf has no preconditions.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            n if n > 0 => n as usize,
            _ => 4096,
        };
        // No MADV_SEQUENTIAL: it marks the pages as the first to drop from the page cache,
        // and a second scan of the file would read the disk again. Each window is
        // prefaulted before it is scanned instead ([`Mapping::populate`]).
        Some(Mapping { ptr, len, page })
    }

    /// The whole of `file` mapped, when it is worth it and allowed: a regular file of at
    /// least [`MIN_MAPPED`] bytes whose first bytes are not a gzip or zstd header, with
    /// mapping not [`disabled`]. `None`: read it as before.
    pub fn of_plain_file(file: &File) -> Option<Mapping> {
        if disabled() {
            return None;
        }
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() < MIN_MAPPED || meta.len() > isize::MAX as u64 {
            return None;
        }
        let mapping = Mapping::new(file, usize::try_from(meta.len()).ok()?)?;
        let head = &mapping.bytes()[..4];
        (crate::source::compression_of(head) == crate::inputs::Compression::None)
            .then_some(mapping)
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until drop.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }

    /// The mapping's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false (an empty file is never mapped).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The system's page size.
    pub fn page_size(&self) -> usize {
        self.page
    }

    /// Prefaults the pages that hold any byte of `range`: one system call instead of a page
    /// fault every page. Only a hint: failure (a kernel before 5.14) changes nothing.
    pub fn populate(&self, range: Range<usize>) {
        let start = range.start / self.page * self.page;
        let end = range.end.min(self.len);
        self.madvise(start, end.div_ceil(self.page) * self.page, POPULATE_READ);
    }

    /// Gives back the pages wholly inside `range`; they are mapped again from the page
    /// cache should they be read later, so this never changes what is read.
    pub fn release(&self, range: Range<usize>) {
        self.advise(range, libc::MADV_DONTNEED);
    }

    /// `madvise` on the pages wholly inside `range` (clamped to the mapping; its last,
    /// partial page counts as whole).
    pub fn advise(&self, range: Range<usize>, advice: libc::c_int) {
        let start = range.start.div_ceil(self.page) * self.page;
        let end = if range.end >= self.len {
            self.len.div_ceil(self.page) * self.page
        } else {
            range.end / self.page * self.page
        };
        self.madvise(start, end, advice);
    }

    fn madvise(&self, start: usize, end: usize, advice: libc::c_int) {
        if start >= end || start >= self.len {
            return;
        }
        // SAFETY: a page-aligned range inside the mapping (whose length is rounded up to
        // whole pages by the system); advice only changes residency, never contents (the
        // mapping is private and never written).
        unsafe {
            libc::madvise(
                (self.ptr as *mut u8).add(start) as *mut libc::c_void,
                end - start,
                advice,
            );
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped; no slice of it outlives `self`.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn maps_plain_files_only() {
        let mut plain = tempfile::NamedTempFile::new().unwrap();
        let body = vec![b' '; MIN_MAPPED as usize + 10];
        plain.write_all(&body).unwrap();
        let m = Mapping::of_plain_file(plain.as_file()).expect("a plain file is mapped");
        assert_eq!(m.bytes(), &body[..]);
        m.populate(0..m.len());
        m.release(0..m.len());
        // released pages read again from the page cache
        assert_eq!(m.bytes(), &body[..]);

        let mut small = tempfile::NamedTempFile::new().unwrap();
        small.write_all(b"[1, 2]").unwrap();
        assert!(Mapping::of_plain_file(small.as_file()).is_none());

        let mut gz = tempfile::NamedTempFile::new().unwrap();
        let mut body = vec![0x1f, 0x8b];
        body.resize(MIN_MAPPED as usize + 10, 0);
        gz.write_all(&body).unwrap();
        assert!(Mapping::of_plain_file(gz.as_file()).is_none());
    }
}
