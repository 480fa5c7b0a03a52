//! Selecting items in a JSON text that is wholly in memory (one JSON Lines line, a small
//! document), reusing the scanner and selector from one text to the next.

use std::ops::ControlFlow;

use spate_json::{Path, ScanOptions, Scanned, Scanner, Selector, Span, SyntaxError, MAX_PATHS};

use crate::error::Error;
use crate::items::{ItemRef, Shape};

/// Selects the items at paths of in-memory JSON texts. Unlike [`crate::Items`] it does no
/// I/O and no buffering: items are slices of the text passed in.
///
/// ```
/// use std::ops::ControlFlow;
/// let mut sel = spate::BufferSelector::new(vec![spate::Path::parse("message.usage").unwrap()])?;
/// let mut found = Vec::new();
/// for line in [&br#"{"message": {"usage": {"n": 1}}}"#[..], br#"{"type": "user"}"#] {
///     sel.select(line, |item| {
///         found.push(item.raw().to_vec());
///         ControlFlow::Continue(())
///     })
///     .unwrap();
/// }
/// assert_eq!(found, [br#"{"n": 1}"#.to_vec()]);
/// # Ok::<(), spate::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BufferSelector {
    scanner: Scanner,
    selector: Selector,
}

impl BufferSelector {
    /// A selector for `paths` (one text holds exactly one top-level value).
    pub fn new(paths: Vec<Path>) -> Result<Self, Error> {
        Self::with_options(paths, ScanOptions::default())
    }

    /// A selector for `paths` with scanner options.
    pub fn with_options(paths: Vec<Path>, options: ScanOptions) -> Result<Self, Error> {
        Self::with_markers(paths, 0, options)
    }

    /// A selector whose paths with their bit set in `markers` yield empty items that only
    /// say where a value was (see [`crate::Items::with_markers`]).
    pub fn with_markers(
        paths: Vec<Path>,
        markers: u64,
        options: ScanOptions,
    ) -> Result<Self, Error> {
        if paths.len() > MAX_PATHS {
            return Err(Error::TooManyPaths {
                max: MAX_PATHS,
                given: paths.len(),
            });
        }
        Ok(BufferSelector {
            scanner: Scanner::new(options),
            selector: Selector::with_markers(paths, markers),
        })
    }

    /// The paths, in the order given.
    pub fn paths(&self) -> &[Path] {
        self.selector.paths()
    }

    /// True when path `index` selected an item in any text so far.
    pub fn path_matched(&self, index: usize) -> bool {
        self.selector.path_matched(index)
    }

    /// Validates `text` and calls `f` for each selected item, in order of their ends.
    /// Returns `Ok(true)` when `f` asked to stop (the rest of the text is then neither
    /// selected nor validated). An error's offset is relative to `text`.
    pub fn select<F>(&mut self, text: &[u8], mut f: F) -> Result<bool, SyntaxError>
    where
        F: FnMut(ItemRef<'_>) -> ControlFlow<()>,
    {
        self.scanner.reset();
        self.selector.reset();
        let mut pos = 0;
        loop {
            let step = self.scanner.scan(&text[pos..], &mut self.selector)?;
            if self.drain(text, &mut f) {
                return Ok(true);
            }
            match step {
                Scanned::Paused(used) => pos += used,
                Scanned::NeedInput => break,
            }
        }
        self.scanner.finish(&mut self.selector)?;
        if self.drain(text, &mut f) {
            return Ok(true);
        }
        Ok(false)
    }

    /// Hands every item ready so far to `f` (evaluating held values first); true when `f`
    /// asked to stop.
    fn drain<F>(&mut self, text: &[u8], f: &mut F) -> bool
    where
        F: FnMut(ItemRef<'_>) -> ControlFlow<()>,
    {
        loop {
            if let Some(span) = self.selector.take() {
                let item = self.item(text, span);
                if f(item).is_break() {
                    return true;
                }
            } else if let Some(held) = self.selector.held() {
                self.selector
                    .expand(&text[held.start as usize..held.end as usize]);
            } else {
                return false;
            }
        }
    }

    fn item<'t>(&'t self, text: &'t [u8], span: Span) -> ItemRef<'t> {
        if self.selector.is_marker(span.path) {
            return ItemRef::new(&[][..], span.path, span.start);
        }
        let bytes = &text[span.start as usize..span.end as usize];
        ItemRef::new(bytes, span.path, span.start).with_shape(self.shape(&span))
    }

    /// Hands over, with the items the paths whose bit is set in `paths` select, their
    /// direct children as the scan found them (see
    /// [`Selector::record_children`](spate_json::Selector::record_children)).
    pub(crate) fn record_children(&mut self, paths: u64) {
        self.selector.record_children(paths);
    }

    /// What the scan of the last text found out about its item at `span` (offsets in the
    /// text): its children if recorded, and whether it holds an outlier token. After the
    /// whole text was scanned, for an item that is not the text's last, it may say that an
    /// item holds an outlier that comes after it (never the reverse).
    pub(crate) fn shape(&self, span: &Span) -> Shape<'_> {
        Shape::of(&self.selector, &self.scanner, span)
    }
}
