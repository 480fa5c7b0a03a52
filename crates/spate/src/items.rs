//! Streaming the items at paths out of a reader, in bounded memory.
//!
//! [`Items`] owns one buffer, the *window*. It reads the input into the window, hands the
//! window to the scanner, and hands out items as slices of the window. When the window is
//! used up, the bytes of an item still being read are moved to its front and the rest is
//! discarded; only an item larger than the window makes the buffer grow, up to
//! [`ItemsOptions::max_item_size`]. Peak memory is therefore about the window (4 MiB at most)
//! plus the largest selected item, whatever the input's size.
//!
//! A plain file may instead be scanned in place ([`Items::with_mapping`]): the window is then
//! a view of the file's mapping that each refill extends over the next window's bytes
//! (prefaulted), and the pages behind what is still needed are given back (see
//! [`crate::mapped`]). The view moves exactly as the buffer would, so items, errors and
//! limits are the same as when the file is read.

use std::io::{self, Read};
use std::path::Path as FsPath;

use serde::Deserialize;
use spate_json::{
    excerpt, LineCounter, Path, ScanOptions, ScanState, Scanned, Scanner, Selector, SelectorState,
    SyntaxError, MAX_PATHS,
};

use crate::error::{Error, Location, SyntaxErrorKindOnly};
use crate::source::{self, Input};

/// Smallest window; the window starts here and doubles while reads fill it.
pub const MIN_WINDOW: usize = 64 * 1024;
/// Largest window.
pub const MAX_WINDOW: usize = 4 * 1024 * 1024;
/// Default limit on one selected item's size.
pub const DEFAULT_MAX_ITEM_SIZE: usize = 256 * 1024 * 1024;

/// Bytes kept before the window's new data, to show in error excerpts.
const EXCERPT_CONTEXT: usize = 64;

/// Settings of an [`Items`] stream.
#[derive(Debug, Clone, Copy)]
pub struct ItemsOptions {
    /// A fixed window size in bytes; `None` adapts between [`MIN_WINDOW`] and
    /// [`MAX_WINDOW`]. Tests use tiny windows to exercise every split of the input.
    pub window: Option<usize>,
    /// An item larger than this is an error (never an out-of-memory kill).
    pub max_item_size: usize,
    /// Nesting deeper than this is an error.
    pub max_depth: u32,
    /// Accept several top-level values in a row (concatenated JSON, JSON Lines).
    pub multiple_values: bool,
}

impl Default for ItemsOptions {
    fn default() -> Self {
        ItemsOptions {
            window: None,
            max_item_size: DEFAULT_MAX_ITEM_SIZE,
            max_depth: spate_json::DEFAULT_MAX_DEPTH,
            multiple_values: false,
        }
    }
}

/// An item borrowed from the window: valid until the next call to [`Items::next_item`].
#[derive(Debug, Clone, Copy)]
pub struct ItemRef<'a> {
    bytes: &'a [u8],
    path: usize,
    offset: u64,
    shape: Shape<'a>,
}

/// What the scan found out about an item, handed over with it so that a consumer reading
/// the item again (the byte route of filters) need not find it out a second time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Shape<'a> {
    /// The item's direct children, when recorded (see
    /// [`Selector::record_children`](spate_json::Selector::record_children)); their
    /// offsets count in the scan's offsets, where the item starts at `base`.
    pub children: Option<spate_json::Children<'a>>,
    pub base: u64,
    /// The item holds no outlier token (see [`Scanner::last_outlier`]): nothing nested
    /// deeper than [`spate_json::scanner::OUTLIER_DEPTH`] levels, no number longer than
    /// [`spate_json::scanner::OUTLIER_NUMBER_LEN`] bytes, no `\u` escape of a surrogate.
    pub plain: bool,
}

impl<'a> Shape<'a> {
    /// The shape of the item `span` that `selector` and `scanner` just gave (the scan has
    /// not gone past the item's end by more than the other items ended with it).
    pub(crate) fn of(selector: &'a Selector, scanner: &Scanner, span: &spate_json::Span) -> Self {
        if selector.recorded_paths() == 0 {
            // (nobody reads the item again: no need to say)
            return Shape::default();
        }
        Shape {
            children: selector.children(span),
            base: span.start,
            plain: scanner.last_outlier().is_none_or(|at| at < span.start),
        }
    }
}

impl<'a> ItemRef<'a> {
    pub(crate) fn new(bytes: &'a [u8], path: usize, offset: u64) -> Self {
        ItemRef {
            bytes,
            path,
            offset,
            shape: Shape::default(),
        }
    }

    /// The item with what the scan found out about it.
    pub(crate) fn with_shape(mut self, shape: Shape<'a>) -> Self {
        self.shape = shape;
        self
    }

    /// What the scan found out about the item (nothing, for items made otherwise).
    pub(crate) fn shape(&self) -> Shape<'a> {
        self.shape
    }

    /// The same item `by` bytes further into the input: an item of a JSON text read on its
    /// own (a line of JSON Lines, whose items' offsets are relative to the line) placed in
    /// its file.
    pub fn shifted(mut self, by: u64) -> Self {
        self.offset += by;
        self
    }

    /// The item's JSON text exactly as in the input (whitespace included).
    pub fn raw(&self) -> &'a [u8] {
        self.bytes
    }

    /// Index of the path that selected this item, in the order the paths were given.
    pub fn path_index(&self) -> usize {
        self.path
    }

    /// Byte offset of the item's first byte in the (decompressed) input.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Appends the item without insignificant whitespace to `out`.
    pub fn compact_into(&self, out: &mut Vec<u8>) {
        spate_json::compact::compact_into(self.bytes, out);
    }

    /// Decodes the item into any `T: Deserialize`, borrowing strings from the window where
    /// `T` allows it.
    pub fn decode<T: Deserialize<'a>>(&self) -> Result<T, Error> {
        serde_json::from_slice(self.bytes).map_err(|source| Error::Decode {
            offset: self.offset,
            source,
        })
    }

    /// Decodes the item into a `serde_json::Value`.
    pub fn to_value(&self) -> Result<serde_json::Value, Error> {
        self.decode()
    }

    /// An owned copy.
    pub fn to_item(&self) -> Item {
        Item {
            bytes: self.bytes.to_vec(),
            path: self.path,
            offset: self.offset,
        }
    }
}

/// An owned item, as produced by the [`Iterator`] implementation of [`Items`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    bytes: Vec<u8>,
    path: usize,
    offset: u64,
}

impl Item {
    /// The item's JSON text exactly as in the input.
    pub fn raw(&self) -> &[u8] {
        &self.bytes
    }

    /// Index of the path that selected this item.
    pub fn path_index(&self) -> usize {
        self.path
    }

    /// Byte offset of the item's first byte in the input.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Decodes the item into any `T: Deserialize`.
    pub fn decode<'a, T: Deserialize<'a>>(&'a self) -> Result<T, Error> {
        serde_json::from_slice(&self.bytes).map_err(|source| Error::Decode {
            offset: self.offset,
            source,
        })
    }

    /// Decodes the item into a `serde_json::Value`.
    pub fn to_value(&self) -> Result<serde_json::Value, Error> {
        self.decode()
    }
}

/// The items at one or more paths of a JSON input, read once, in bounded memory, validating
/// every byte. Items come out in the order they end in the input (document order for items
/// of one path; for a JSONPath that holds a value — filter, union, descendant... — that
/// value's results come when it ends, in RFC 9535 order).
///
/// ```
/// let doc = br#"{"sessions": [{"id": "a", "n": 3}, {"id": "b", "n": 5}]}"#;
/// let mut items = spate::Items::new(&doc[..], "sessions.item")?;
/// let mut total = 0;
/// while let Some(item) = items.next_item()? {
///     #[derive(serde::Deserialize)]
///     struct Session<'a> { id: &'a str, n: u64 }
///     let s: Session = item.decode()?;
///     assert!(!s.id.is_empty());
///     total += s.n;
/// }
/// assert_eq!(total, 8);
/// # Ok::<(), spate::Error>(())
/// ```
#[derive(Debug)]
pub struct Items<R> {
    reader: R,
    name: String,
    scanner: Scanner,
    selector: Selector,
    options: ItemsOptions,
    buf: Window,
    /// Absolute offset of `buf[0]`.
    buf_offset: u64,
    /// Bytes of `buf` holding input.
    filled: usize,
    /// Bytes of `buf` already scanned.
    scanned: usize,
    window: usize,
    lines: LineCounter,
    eof: bool,
    finished: bool,
    /// The scan stops here (see [`Items::set_checkpoint`]).
    checkpoint: Option<u64>,
}

/// Where a stream resumed in the middle of a document starts: the offset, and the states
/// the scanner and the selector are assumed to have there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resume {
    pub offset: u64,
    pub scan: ScanState,
    pub select: SelectorState,
}

impl<R: Read> Items<R> {
    /// Items at `path` (ijson prefix or JSONPath) of `reader`, with default options.
    pub fn new(reader: R, path: &str) -> Result<Self, Error> {
        let path = Path::parse(path)?;
        Self::with_options(reader, "<input>", vec![path], ItemsOptions::default())
    }

    /// Items at any of `paths` of `reader`; `name` is used in error messages.
    pub fn with_options(
        reader: R,
        name: &str,
        paths: Vec<Path>,
        options: ItemsOptions,
    ) -> Result<Self, Error> {
        Self::with_markers(reader, name, paths, 0, options)
    }

    /// Like [`Items::with_options`]; the paths whose bit is set in `markers` yield empty
    /// items that only say where a value was (used to learn where an enclosing value ends
    /// without keeping its bytes).
    pub fn with_markers(
        reader: R,
        name: &str,
        paths: Vec<Path>,
        markers: u64,
        options: ItemsOptions,
    ) -> Result<Self, Error> {
        if paths.len() > MAX_PATHS {
            return Err(Error::TooManyPaths {
                max: MAX_PATHS,
                given: paths.len(),
            });
        }
        let scanner = Scanner::new(ScanOptions {
            max_depth: options.max_depth,
            multiple_values: options.multiple_values,
        });
        let mut selector = Selector::with_markers(paths, markers);
        selector.set_hold_limit(options.max_item_size as u64);
        Ok(Items {
            reader,
            name: name.to_owned(),
            scanner,
            selector,
            options,
            buf: Window::Owned(Vec::new()),
            buf_offset: 0,
            filled: 0,
            scanned: 0,
            window: options.window.unwrap_or(MIN_WINDOW).max(1),
            lines: LineCounter::default(),
            eof: false,
            finished: false,
            checkpoint: None,
        })
    }

    /// Like [`Items::with_markers`], for a `reader` positioned at `at.offset` of a document
    /// whose scan is resumed there in the states of `at`. Offsets are absolute; line
    /// numbers in errors count from `at.offset` (the caller knows the lines before).
    pub(crate) fn resumed(
        reader: R,
        name: &str,
        paths: Vec<Path>,
        markers: u64,
        options: ItemsOptions,
        at: &Resume,
    ) -> Result<Self, Error> {
        let mut items = Self::with_markers(reader, name, paths.clone(), markers, options)?;
        items.scanner = Scanner::resume(
            ScanOptions {
                max_depth: options.max_depth,
                multiple_values: options.multiple_values,
            },
            &at.scan,
            at.offset,
        );
        items.selector = Selector::resume(paths, markers, &at.select);
        items.selector.set_hold_limit(options.max_item_size as u64);
        items.buf_offset = at.offset;
        Ok(items)
    }

    /// Scans `mapping` (the whole input `reader` reads, mapped) in place instead of reading
    /// `reader`, from where the stream stands (its start, or where it was resumed): nothing is
    /// copied; see [`crate::mapped`]. Items, errors and limits are the same as when reading.
    /// Call before the first item; `reader` is not read any more.
    #[cfg(unix)]
    pub fn with_mapping(mut self, mapping: crate::mapped::Mapping) -> Self {
        debug_assert_eq!(self.filled, 0, "mapped before the first read");
        self.buf = Window::Mapped(crate::mapped::View::new(mapping, self.buf_offset));
        self
    }

    /// Makes the scan stop at absolute offset `at` (ahead of the scan): once every item
    /// ending before it was handed out, [`Items::next_item`] answers `None` and
    /// [`Items::at_checkpoint`] is true, until the checkpoint is moved or removed.
    pub(crate) fn set_checkpoint(&mut self, at: Option<u64>) {
        self.checkpoint = at;
    }

    /// True when the scan stands at its checkpoint (and did not fail or end).
    pub(crate) fn at_checkpoint(&self) -> bool {
        !self.finished && self.checkpoint == Some(self.scanner.offset())
    }

    /// The scanner's and the selector's states here, when they can be resumed from.
    pub(crate) fn snapshot(&self) -> Option<(ScanState, SelectorState)> {
        Some((self.scanner.snapshot()?, self.selector.snapshot()?))
    }

    /// The next item, borrowed from the window; `None` at the end of a valid input.
    pub fn next_item(&mut self) -> Result<Option<ItemRef<'_>>, Error> {
        Ok(self.next_span()?.map(|span| self.item(span)))
    }

    /// The next item's span (checked against the size limit), for [`Items::item`].
    pub(crate) fn next_span(&mut self) -> Result<Option<spate_json::Span>, Error> {
        let span = loop {
            if let Some(span) = self.selector.take() {
                break span;
            }
            if let Some(held) = self.selector.held() {
                // A JSONPath decided on a whole value (filter candidate, union, descendant
                // segment...): the value is in the window; evaluate it.
                if (held.end - held.start) as usize > self.options.max_item_size {
                    self.finished = true;
                    return Err(Error::ItemTooLarge {
                        location: self.location(held.start),
                        limit: self.options.max_item_size,
                    });
                }
                let start = (held.start - self.buf_offset) as usize;
                let end = (held.end - self.buf_offset) as usize;
                self.selector
                    .expand(&self.buf.at(self.buf_offset)[start..end]);
                continue;
            }
            if self.finished {
                return Ok(None);
            }
            let limit = match self.checkpoint {
                Some(at) => self.filled.min((at - self.buf_offset) as usize),
                None => self.filled,
            };
            if self.scanned < limit {
                match self.scanner.scan(
                    &self.buf.at(self.buf_offset)[self.scanned..limit],
                    &mut self.selector,
                ) {
                    Ok(Scanned::NeedInput) => self.scanned = limit,
                    Ok(Scanned::Paused(used)) => self.scanned += used,
                    Err(e) => return Err(self.syntax_error(e)),
                }
                if let Some(start) = self.selector.hold_exceeded() {
                    // The last elements a negative index keeps outgrew the limit.
                    self.finished = true;
                    return Err(Error::ItemTooLarge {
                        location: self.location(start),
                        limit: self.options.max_item_size,
                    });
                }
                continue;
            }
            if self.checkpoint == Some(self.scanner.offset()) {
                return Ok(None);
            }
            if self.eof {
                if let Err(e) = self.scanner.finish(&mut self.selector) {
                    return Err(self.syntax_error(e));
                }
                self.finished = true;
                continue;
            }
            if let Err(e) = self.refill() {
                self.finished = true;
                return Err(e);
            }
        };
        if !self.selector.is_marker(span.path)
            && (span.end - span.start) as usize > self.options.max_item_size
        {
            // Caught here when the item fitted in one read; the refill check catches it
            // before memory grows when it did not.
            self.finished = true;
            return Err(Error::ItemTooLarge {
                location: self.location(span.start),
                limit: self.options.max_item_size,
            });
        }
        Ok(Some(span))
    }

    /// The item of a span [`Items::next_span`] just gave.
    pub(crate) fn item(&self, span: spate_json::Span) -> ItemRef<'_> {
        if self.selector.is_marker(span.path) {
            // A marker's bytes are not kept: only where it was.
            return ItemRef::new(&[], span.path, span.start);
        }
        let start = (span.start - self.buf_offset) as usize;
        let end = (span.end - self.buf_offset) as usize;
        ItemRef::new(
            &self.buf.at(self.buf_offset)[start..end],
            span.path,
            span.start,
        )
        .with_shape(Shape::of(&self.selector, &self.scanner, &span))
    }

    /// Hands over, with the items the paths whose bit is set in `paths` select, their
    /// direct children as the scan found them (see
    /// [`Selector::record_children`](spate_json::Selector::record_children)).
    pub(crate) fn record_children(&mut self, paths: u64) {
        self.selector.record_children(paths);
    }

    /// Reads the whole input, counting items (and validating every byte).
    pub fn count_items(&mut self) -> Result<u64, Error> {
        let mut n = 0;
        while self.next_item()?.is_some() {
            n += 1;
        }
        Ok(n)
    }

    /// The paths that have not selected any item so far (after the end of the input: the
    /// paths that matched nothing).
    pub fn unmatched_paths(&self) -> Vec<&Path> {
        self.selector
            .paths()
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.selector.path_matched(*i))
            .map(|(_, p)| p)
            .collect()
    }

    /// True when path `index` (in the order given) selected at least one item so far.
    pub fn path_matched(&self, index: usize) -> bool {
        self.selector.path_matched(index)
    }

    /// The paths, in the order given.
    pub fn paths(&self) -> &[Path] {
        self.selector.paths()
    }

    /// Bytes of input scanned so far.
    pub fn bytes_scanned(&self) -> u64 {
        self.scanner.offset()
    }

    /// Moves the bytes still needed to the front of the window and reads more input.
    fn refill(&mut self) -> Result<(), Error> {
        // Keep the bytes of an item still being read, and a little context for the excerpt
        // of an error found right at the start of the next read.
        let item_start = self.selector.retain_from();
        let keep_from = match item_start {
            Some(start) => (start - self.buf_offset) as usize,
            None => self.filled,
        }
        .min(self.filled.saturating_sub(EXCERPT_CONTEXT));
        if keep_from > 0 {
            if let Window::Owned(buf) = &mut self.buf {
                // the bytes before `keep_from` are gone after this: count their lines now
                // (a mapped window counts them only for an error, see `View::position`)
                self.lines.count(&buf[..keep_from], self.buf_offset);
                buf.copy_within(keep_from..self.filled, 0);
            }
            self.filled -= keep_from;
            self.scanned -= keep_from;
            self.buf_offset += keep_from as u64;
            #[cfg(unix)]
            if let Window::Mapped(view) = &mut self.buf {
                // The bytes before the window are never read again: give their pages back.
                view.moved(self.buf_offset);
            }
        }
        // the limit is on the item's own bytes, not on the context kept before it (a limit
        // under the context's 64 bytes must not refuse small items)
        if let Some(start) = item_start {
            let item_bytes = self.filled - (start - self.buf_offset) as usize;
            if item_bytes > self.options.max_item_size {
                return Err(Error::ItemTooLarge {
                    location: self.location(start),
                    limit: self.options.max_item_size,
                });
            }
        }
        let want = self.filled + self.window;
        let read = match &mut self.buf {
            Window::Owned(buf) => {
                if buf.len() < want {
                    buf.resize(want, 0);
                }
                loop {
                    match self.reader.read(&mut buf[self.filled..want]) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(source) => {
                            return Err(Error::Io {
                                input: self.name.clone(),
                                source,
                            })
                        }
                    }
                }
            }
            #[cfg(unix)]
            Window::Mapped(view) => view.read(self.buf_offset + self.filled as u64, self.window),
        };
        if read == 0 {
            self.eof = true;
        }
        self.filled += read;
        if self.options.window.is_none() && read == self.window && self.window < MAX_WINDOW {
            self.window *= 2;
        }
        Ok(())
    }

    fn location(&self, offset: u64) -> Location {
        let window = &self.buf.at(self.buf_offset)[..self.filled];
        let position = match &self.buf {
            Window::Owned(_) => self.lines.position(offset, window),
            #[cfg(unix)]
            Window::Mapped(view) => view.position(offset),
        };
        let excerpt = if offset >= self.buf_offset {
            excerpt(window, (offset - self.buf_offset) as usize)
        } else {
            String::new()
        };
        Location {
            input: self.name.clone(),
            offset,
            position,
            excerpt,
        }
    }

    fn syntax_error(&mut self, error: SyntaxError) -> Error {
        self.finished = true;
        Error::Syntax {
            location: self.location(error.offset),
            error: SyntaxErrorKindOnly(error),
        }
    }
}

/// The bytes an [`Items`] scans: its own buffer filled by reads, or a view of a mapped file.
#[derive(Debug)]
enum Window {
    Owned(Vec<u8>),
    #[cfg(unix)]
    Mapped(crate::mapped::View),
}

impl Window {
    /// The window's bytes, `buf[0]` first, when `buf[0]` is at absolute offset `base`
    /// (followed, for a mapping, by the rest of the input: callers stay within `filled`).
    #[inline]
    fn at(&self, base: u64) -> &[u8] {
        match self {
            Window::Owned(buf) => buf,
            #[cfg(unix)]
            Window::Mapped(view) => view.from(base),
        }
    }
}

impl Items<Box<dyn Read + Send>> {
    /// Items at `path` of the file at `file` (`-` for standard input; `.gz` and `.zst`
    /// are decompressed).
    pub fn open(file: &FsPath, path: &str) -> Result<Self, Error> {
        let path = Path::parse(path)?;
        Self::open_with(file, vec![path], ItemsOptions::default())
    }

    /// Items at `paths` of the file at `file`, with `options`.
    pub fn open_with(
        file: &FsPath,
        paths: Vec<Path>,
        options: ItemsOptions,
    ) -> Result<Self, Error> {
        Self::open_with_markers(file, paths, 0, options)
    }

    /// Items at `paths` of the file at `file`; see [`Items::with_markers`].
    pub fn open_with_markers(
        file: &FsPath,
        paths: Vec<Path>,
        markers: u64,
        options: ItemsOptions,
    ) -> Result<Self, Error> {
        let Input { name, reader } = source::open(file)?;
        Self::with_markers(reader, &name, paths, markers, options)
    }
}

impl<R: Read> Iterator for Items<R> {
    type Item = Result<Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_item() {
            Ok(Some(item)) => Some(Ok(item.to_item())),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// Validates a whole input against RFC 8259; returns the number of bytes read.
///
/// ```
/// assert!(spate::validate(&b"[1, {\"a\": null}]"[..]).is_ok());
/// assert!(spate::validate(&b"[1, 2"[..]).is_err());
/// ```
pub fn validate<R: Read>(reader: R) -> Result<u64, Error> {
    validate_with(reader, "<input>", ItemsOptions::default())
}

/// [`validate`] with a name for messages and options.
pub fn validate_with<R: Read>(reader: R, name: &str, options: ItemsOptions) -> Result<u64, Error> {
    let mut items = Items::with_options(reader, name, Vec::new(), options)?;
    while items.next_item()?.is_some() {}
    Ok(items.bytes_scanned())
}
