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
//! pipes, devices, compressed files, or small files (for them a mapping saves nothing; the
//! executor's threshold is `RunOptions::map_files_from`, 1 MiB by default). A mapped file that another process truncates while it is scanned makes
//! the process fault (`SIGBUS`), as with any tool that maps files: a program can turn that
//! into an I/O error with a message ([`exit_on_truncation`], which the `spate` binary calls);
//! `SPATE_NO_MMAP=1` in the environment turns mapping off and every file is read with
//! `read()` as before.

use std::fs::File;
use std::ops::Range;
use std::os::fd::AsRawFd;

use spate_json::{LineCounter, Position};

/// `MADV_POPULATE_READ` (Linux 5.14); not in every `libc` release yet. Elsewhere the
/// nearest advice, `MADV_WILLNEED`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const POPULATE_READ: libc::c_int = 22;
/// `MADV_POPULATE_READ` (Linux 5.14); not in every `libc` release yet. Elsewhere the
/// nearest advice, `MADV_WILLNEED`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const POPULATE_READ: libc::c_int = libc::MADV_WILLNEED;

/// What a front end prints when a mapped file shrinks under the scan (see
/// [`exit_on_truncation`]).
const TRUNCATED: &[u8] = b"spate: an input file shrank while it was read (another process \
truncated it), so the rest of it could not be read; nothing after this point was checked. \
SPATE_NO_MMAP=1 reads files instead of mapping them.\n";

/// Makes a fault on a mapped file that shrank under the scan (`SIGBUS`) end the process
/// with a message on standard error and exit code 2 (an I/O error), instead of a bare "Bus
/// error" and a core dump. For a program's `main` (the `spate` binary): a library never
/// installs it by itself, since its host may have a handler of its own (Python's
/// `faulthandler`). The handler only writes the message and exits (both async-signal-safe);
/// destructors do not run, as they would not after the fault either.
pub fn exit_on_truncation() {
    extern "C" fn on_fault(_: libc::c_int) {
        // SAFETY: write(2) and _exit(2) are async-signal-safe; TRUNCATED is a static.
        unsafe {
            libc::write(2, TRUNCATED.as_ptr().cast(), TRUNCATED.len());
            libc::_exit(2);
        }
    }
    let handler: extern "C" fn(libc::c_int) = on_fault;
    // SAFETY: installs a handler that only calls async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGBUS, handler as libc::sighandler_t);
    }
}

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

    /// The whole of `file` mapped, when it is worth it and allowed: a non-empty regular file
    /// of at least `min` bytes whose first bytes are not a gzip or zstd header, with mapping
    /// not [`disabled`]. `None`: read it as before.
    pub fn of_plain_file(file: &File, min: u64) -> Option<Mapping> {
        if disabled() {
            return None;
        }
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() < min.max(1) || meta.len() > isize::MAX as u64 {
            return None;
        }
        let mapping = Mapping::new(file, usize::try_from(meta.len()).ok()?)?;
        let head = &mapping.bytes()[..mapping.len().min(4)];
        (crate::source::compression_of(head) == crate::inputs::Compression::None).then_some(mapping)
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

/// A window of a [`Mapping`] that moves forward through it: what a reader's buffer is to a
/// stream read with `read()` ([`crate::Items`], [`crate::jsonl::Lines`]). Reading more
/// prefaults the next bytes; moving the window's start gives back the pages before it.
#[derive(Debug)]
pub(crate) struct View {
    map: Mapping,
    /// Where the scan started: lines are counted from here.
    start: u64,
    /// The pages before this offset were given back already.
    released: usize,
}

impl View {
    /// A view of `map` whose window starts at `from`.
    pub(crate) fn new(map: Mapping, from: u64) -> View {
        let page = map.page;
        let from = (from as usize).min(map.len);
        View {
            start: from as u64,
            released: from / page * page,
            map,
        }
    }

    /// Line and column of absolute offset `offset`, counting the lines from where the view
    /// started. A read stream counts newlines as its buffer moves on, since the bytes are
    /// gone afterwards; a mapping still holds them, so the count waits for an error that
    /// needs it: it cost a quarter of the scan's time, on every byte of every input. The
    /// bytes before the window are read again a few MiB at a time and given back behind
    /// the count, so memory stays bounded on this path too.
    pub(crate) fn position(&self, offset: u64) -> Position {
        const CHUNK: usize = 4 << 20;
        let mut lines = LineCounter::default();
        let end = (offset as usize).min(self.map.len);
        let mut at = (self.start as usize).min(end);
        while at < end {
            let to = end.min(at + CHUNK);
            if at < self.released {
                self.map.populate(at..to);
            }
            lines.count(&self.map.bytes()[at..to], at as u64);
            if to <= self.released {
                self.map.release(at..to);
            }
            at = to;
        }
        lines.position(offset, &[])
    }

    /// The input from absolute offset `base` on (the window when `base` is its start; the
    /// caller stays within what it has "read").
    #[inline]
    pub(crate) fn from(&self, base: u64) -> &[u8] {
        &self.map.bytes()[base as usize..]
    }

    /// "Reads" up to `want` bytes after absolute offset `at`: what a `read()` of the file
    /// there returns (`want`, or what is left; 0 at the end), prefaulted.
    pub(crate) fn read(&self, at: u64, want: usize) -> usize {
        let at = (at as usize).min(self.map.len);
        let n = want.min(self.map.len - at);
        self.map.populate(at..at + n);
        n
    }

    /// The window now starts at absolute offset `start`: the pages before it are given back.
    pub(crate) fn moved(&mut self, start: u64) {
        let start = start as usize;
        if start > self.released {
            self.map.release(self.released..start);
            self.released = start / self.map.page * self.map.page;
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
    use crate::items::{Items, ItemsOptions, Resume};
    use spate_json::Path;
    use std::io::Write;

    /// Everything a stream gives: items (path, offset, bytes), then its error or its end.
    fn run<R: std::io::Read>(mut items: Items<R>) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            match items.next_item() {
                Ok(Some(item)) => out.push(format!(
                    "{} {} {}",
                    item.path_index(),
                    item.offset(),
                    String::from_utf8_lossy(item.raw())
                )),
                Ok(None) => {
                    out.push(format!("end {}", items.bytes_scanned()));
                    return out;
                }
                Err(e) => {
                    let at = e
                        .location()
                        .map(|l| format!("{:?} {:?}", l.position, l.excerpt));
                    out.push(format!("error {e} {at:?} {e:?}"));
                    return out;
                }
            }
        }
    }

    fn file(doc: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(doc).unwrap();
        f
    }

    /// The items of `doc` at `paths`, read and mapped, with windows of every kind of size:
    /// the same, error for error.
    fn same(doc: &[u8], paths: &[&str], max_item_size: usize) {
        let f = file(doc);
        let paths: Vec<Path> = paths.iter().map(|p| Path::parse(p).unwrap()).collect();
        for window in [Some(1), Some(3), Some(64), Some(1000), None] {
            let options = ItemsOptions {
                window,
                max_item_size,
                ..ItemsOptions::default()
            };
            let open =
                || Items::with_options(f.reopen().unwrap(), "doc", paths.clone(), options).unwrap();
            let want = run(open());
            let map = Mapping::new(&f.reopen().unwrap(), doc.len()).unwrap();
            let got = run(open().with_mapping(map));
            assert_eq!(got, want, "window {window:?}");
        }
    }

    fn sessions(n: usize) -> Vec<u8> {
        let mut doc = String::from("{\"meta\": {\"v\": 1},\n \"sessions\": [");
        for i in 0..n {
            if i > 0 {
                doc.push_str(",\n  ");
            }
            doc.push_str(&format!(
                "{{\"id\": \"s{i}\", \"text\": \"{}\", \"d\": [{}]}}",
                "é\\\"x".repeat(i % 7),
                (0..i % 5)
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        doc.push_str("]}\n");
        doc.into_bytes()
    }

    #[test]
    fn mapped_and_read_give_the_same_items_and_errors() {
        let good = sessions(300);
        let paths = ["sessions.item", "meta.v", "sessions.item.d.item"];
        same(&good, &paths, 1 << 20);
        // JSONPath values held whole, and the last elements a negative index keeps.
        same(
            &good,
            &["$.sessions[?@.id == 's7']", "$.sessions[-3:]"],
            1 << 20,
        );
        same(&good, &["$.sessions[-250:]"], 4096);
        // Truncated anywhere.
        for cut in [1, good.len() / 3, good.len() - 5, good.len() - 1] {
            same(&good[..cut], &paths, 1 << 20);
        }
        // A bad byte late in the file, and early.
        for at in [good.len() - 40, good.len() / 2, 30] {
            for bad in [b'x', 0xff, b'}'] {
                let mut d = good.clone();
                d[at] = bad;
                same(&d, &paths, 1 << 20);
            }
        }
        // An item over the size limit (small enough that the limit is met mid-window and
        // across windows).
        same(&good, &["sessions"], 100);
        same(&good, &["sessions"], 5000);
        same(&good, &["sessions.item"], 60);
        // Trailing content.
        let mut d = good.clone();
        d.extend_from_slice(b" {}");
        same(&d, &paths, 1 << 20);
    }

    /// A mapped window counts lines only for an error, a few MiB at a time from where the
    /// scan started: the line and column of an error past several of those chunks, and at
    /// their edges, are those the read stream counted as it went.
    #[test]
    fn lines_counted_for_an_error_match_the_read_stream() {
        let good = sessions(150_000);
        assert!(good.len() > (8 << 20) + 100, "{}", good.len());
        let paths = ["sessions.item.d.item"];
        for at in [
            (4 << 20) - 1,
            4 << 20,
            (8 << 20) + 1,
            good.len() - 40,
            good.len() - 2,
        ] {
            let mut d = good.clone();
            d[at] = 0x01;
            let f = file(&d);
            let p: Vec<Path> = paths.iter().map(|p| Path::parse(p).unwrap()).collect();
            let open = || {
                Items::with_options(
                    f.reopen().unwrap(),
                    "doc",
                    p.clone(),
                    ItemsOptions::default(),
                )
                .unwrap()
            };
            let want = run(open());
            assert!(want.last().unwrap().starts_with("error"), "{at}");
            let map = Mapping::new(&f.reopen().unwrap(), d.len()).unwrap();
            assert_eq!(run(open().with_mapping(map)).last(), want.last(), "{at}");
        }
    }

    /// The lines of `text`, in the ranges `splits` makes, read `read_size` bytes at a time
    /// with lines longer than `max_line` skipped: numbers, offsets, texts, owned bytes.
    fn lines_of(
        f: &tempfile::NamedTempFile,
        len: usize,
        read_size: usize,
        max_line: usize,
        splits: &[u64],
        mapped: bool,
    ) -> Vec<String> {
        use crate::jsonl::{Lines, LinesOptions};
        let mut bounds = vec![0];
        bounds.extend_from_slice(splits);
        bounds.push(len as u64);
        let mut out = Vec::new();
        for w in bounds.windows(2) {
            let (start, end) = (w[0], w[1]);
            let from = start.saturating_sub(1);
            let mut r = f.reopen().unwrap();
            std::io::Seek::seek(&mut r, std::io::SeekFrom::Start(from)).unwrap();
            let options = LinesOptions {
                read_size,
                max_line,
                offset: from,
                end: Some(end),
                skip_partial_line: start > 0,
            };
            let mut lines = Lines::new(r, options);
            if mapped {
                lines = lines.with_mapping(Mapping::new(&f.reopen().unwrap(), len).unwrap());
            }
            while let Some(l) = lines.next_line().unwrap() {
                out.push(format!(
                    "{} {} {} {:?}",
                    l.number,
                    l.offset,
                    l.complete,
                    String::from_utf8_lossy(l.text)
                ));
            }
            out.push(format!(
                "range {start} lines {} bytes {} read {}",
                lines.line_count(),
                lines.line_bytes(),
                lines.bytes_read()
            ));
        }
        out
    }

    #[test]
    fn mapped_and_read_give_the_same_lines() {
        let mut text = Vec::new();
        for i in 0..400 {
            let pad = "p".repeat(i * 7 % 90);
            text.extend_from_slice(format!("{{\"i\": {i}, \"pad\": \"{pad}\"}}").as_bytes());
            text.extend_from_slice(if i % 3 == 0 { b"\r\n" } else { b"\n" });
            if i % 11 == 0 {
                text.push(b'\n');
            }
        }
        text.extend_from_slice(b"{\"last\": true}");
        let f = file(&text);
        let len = text.len() as u64;
        for read_size in [1, 5, 64, 4096, 1 << 18] {
            for max_line in [40, 1 << 20] {
                for splits in [vec![], vec![1, 2, 3], vec![len / 3, len / 2, len - 3]] {
                    let want = lines_of(&f, text.len(), read_size, max_line, &splits, false);
                    let got = lines_of(&f, text.len(), read_size, max_line, &splits, true);
                    assert_eq!(got, want, "read {read_size} max {max_line} {splits:?}");
                }
            }
        }
    }

    #[test]
    fn mapped_resumes_where_read_resumes() {
        let doc = sessions(200);
        let f = file(&doc);
        let paths = vec![Path::parse("sessions.item").unwrap()];
        let options = ItemsOptions {
            window: Some(100),
            ..ItemsOptions::default()
        };
        // Where the third session starts, and the states the scan is in there.
        let at = doc.windows(7).position(|w| w == b"{\"id\": ").unwrap();
        let at = at
            + doc[at + 1..]
                .windows(7)
                .position(|w| w == b"{\"id\": ")
                .unwrap()
            + 1;
        let mut first = Items::with_options(&doc[..], "doc", paths.clone(), options).unwrap();
        first.set_checkpoint(Some(at as u64));
        while first.next_item().unwrap().is_some() {}
        assert!(first.at_checkpoint());
        let (scan, select) = first.snapshot().unwrap();
        let resume = Resume {
            offset: at as u64,
            scan,
            select,
        };
        let open = || {
            let mut r = f.reopen().unwrap();
            std::io::Seek::seek(&mut r, std::io::SeekFrom::Start(at as u64)).unwrap();
            Items::resumed(r, "doc", paths.clone(), 0, options, &resume).unwrap()
        };
        let want = run(open());
        assert!(want.len() > 100, "{}", want.len());
        let map = Mapping::new(&f.reopen().unwrap(), doc.len()).unwrap();
        assert_eq!(run(open().with_mapping(map)), want);
        // And with a bad byte after the resume point.
        let mut bad = doc.clone();
        // (a control character inside the last member name)
        bad[doc.len() - 20] = 0x01;
        let f = file(&bad);
        let open = || {
            let mut r = f.reopen().unwrap();
            std::io::Seek::seek(&mut r, std::io::SeekFrom::Start(at as u64)).unwrap();
            Items::resumed(r, "doc", paths.clone(), 0, options, &resume).unwrap()
        };
        let want = run(open());
        assert!(
            want.last().unwrap().starts_with("error"),
            "{:?}",
            want.last()
        );
        let map = Mapping::new(&f.reopen().unwrap(), bad.len()).unwrap();
        assert_eq!(run(open().with_mapping(map)), want);
    }

    #[test]
    fn maps_plain_files_only() {
        const MIN: u64 = 1 << 20;
        let mut plain = tempfile::NamedTempFile::new().unwrap();
        let body = vec![b' '; MIN as usize + 10];
        plain.write_all(&body).unwrap();
        let m = Mapping::of_plain_file(plain.as_file(), MIN).expect("a plain file is mapped");
        assert_eq!(m.bytes(), &body[..]);
        m.populate(0..m.len());
        m.release(0..m.len());
        // released pages read again from the page cache
        assert_eq!(m.bytes(), &body[..]);

        let mut small = tempfile::NamedTempFile::new().unwrap();
        small.write_all(b"[1, 2]").unwrap();
        assert!(Mapping::of_plain_file(small.as_file(), MIN).is_none());
        assert!(Mapping::of_plain_file(small.as_file(), 0).is_some());
        let empty = tempfile::NamedTempFile::new().unwrap();
        assert!(Mapping::of_plain_file(empty.as_file(), 0).is_none());

        let mut gz = tempfile::NamedTempFile::new().unwrap();
        let mut body = vec![0x1f, 0x8b];
        body.resize(MIN as usize + 10, 0);
        gz.write_all(&body).unwrap();
        assert!(Mapping::of_plain_file(gz.as_file(), 0).is_none());
    }
}
