//! The items at paths of a [`Whole`] input, as ranges of it: what `spate::Items` does for a
//! reader, without the window (nothing is copied; see [`crate::whole`]).
//!
//! The same scanner and selector as `spate::Items` run over the input in slices of
//! [`SLICE`] bytes, so validation, selection, the order of items, the limits and the errors
//! (with the same offset, line, column and excerpt) are the stream's; the differential tests
//! compare the two routes item by item and error by error.

use std::sync::Arc;

use spate_json::{
    excerpt, LineCounter, Path, ScanOptions, Scanned, Scanner, Selector, Span, SyntaxError,
};

use crate::whole::Whole;

/// Bytes handed to the scanner at a time; between slices the engine looks whether Python
/// is waiting or gone, and gives back pages no one needs.
pub const SLICE: usize = 2 << 20;

/// Bytes shown before an error's offset at most (as the stream keeps before a read).
const EXCERPT_CONTEXT: usize = 64;

/// Why [`WholeItems::next_span`] stopped without an item.
pub enum Stop {
    /// The input is invalid, or an item is over the size limit.
    Invalid(spate::Error),
    /// The caller's hook said to stop (the Python side went away).
    Closed,
}

pub struct WholeItems {
    whole: Arc<Whole>,
    name: String,
    scanner: Scanner,
    selector: Selector,
    max_item_size: usize,
    /// Bytes consumed by the scanner.
    scanned: usize,
    /// End of the bytes handed to the scanner so far.
    fed: usize,
    finished: bool,
}

impl WholeItems {
    pub fn new(
        whole: Arc<Whole>,
        name: &str,
        paths: Vec<Path>,
        options: spate::ItemsOptions,
    ) -> Result<Self, spate::Error> {
        if paths.len() > spate_json::MAX_PATHS {
            return Err(spate::Error::TooManyPaths {
                max: spate_json::MAX_PATHS,
                given: paths.len(),
            });
        }
        let mut selector = Selector::new(paths);
        selector.set_hold_limit(options.max_item_size as u64);
        Ok(WholeItems {
            whole,
            name: name.to_owned(),
            scanner: Scanner::new(ScanOptions {
                max_depth: options.max_depth,
                multiple_values: options.multiple_values,
            }),
            selector,
            max_item_size: options.max_item_size,
            scanned: 0,
            fed: 0,
            finished: false,
        })
    }

    /// Bytes scanned so far (all of a valid input at its end).
    pub fn bytes_scanned(&self) -> u64 {
        self.scanned as u64
    }

    /// The first byte the engine still needs: the start of a selected value not yet handed
    /// out, or what is not scanned yet.
    pub fn needed_from(&self) -> usize {
        let pending = self
            .selector
            .retain_from()
            .map_or(usize::MAX, |s| s as usize);
        pending.min(self.scanned)
    }

    /// The next item's range; `None` at the end of a valid input. `before_slice` runs before
    /// each new slice is scanned, with the slice; it returns false to stop.
    pub fn next_span(
        &mut self,
        mut before_slice: impl FnMut(&Self, std::ops::Range<usize>) -> bool,
    ) -> Result<Option<Span>, Stop> {
        let len = self.whole.bytes().len();
        loop {
            if let Some(span) = self.selector.take() {
                if (span.end - span.start) as usize > self.max_item_size {
                    return Err(self.too_large(span.start));
                }
                return Ok(Some(span));
            }
            if let Some(held) = self.selector.held() {
                if (held.end - held.start) as usize > self.max_item_size {
                    return Err(self.too_large(held.start));
                }
                let bytes = &self.whole.bytes()[held.start as usize..held.end as usize];
                self.selector.expand(bytes);
                continue;
            }
            if self.finished {
                return Ok(None);
            }
            if self.scanned < self.fed {
                let slice = &self.whole.bytes()[self.scanned..self.fed];
                match self.scanner.scan(slice, &mut self.selector) {
                    Ok(Scanned::NeedInput) => self.scanned = self.fed,
                    Ok(Scanned::Paused(used)) => self.scanned += used,
                    Err(e) => return Err(self.syntax_error(e)),
                }
                if let Some(start) = self.selector.hold_exceeded() {
                    return Err(self.too_large(start));
                }
                continue;
            }
            if self.fed == len {
                if let Err(e) = self.scanner.finish(&mut self.selector) {
                    return Err(self.syntax_error(e));
                }
                self.finished = true;
                continue;
            }
            // A value still open spans more than the limit allows (the stream finds this
            // when it would have to keep more than the limit in its window).
            if let Some(start) = self.selector.retain_from() {
                if self.fed - start as usize > self.max_item_size {
                    // As the stream says it: its window then begins at the value.
                    self.finished = true;
                    return Err(Stop::Invalid(spate::Error::ItemTooLarge {
                        location: self.location_from(start, start as usize),
                        limit: self.max_item_size,
                    }));
                }
            }
            let next = (self.fed + SLICE).min(len);
            if !before_slice(self, self.fed..next) {
                self.finished = true;
                return Err(Stop::Closed);
            }
            self.fed = next;
        }
    }

    fn location(&self, offset: u64) -> spate::Location {
        let at = (offset as usize).min(self.whole.bytes().len());
        self.location_from(offset, at.saturating_sub(EXCERPT_CONTEXT))
    }

    /// The location of `offset`, its excerpt showing nothing before byte `from`.
    fn location_from(&self, offset: u64, from: usize) -> spate::Location {
        let bytes = self.whole.bytes();
        let at = (offset as usize).min(bytes.len());
        let mut lines = LineCounter::default();
        lines.count(&bytes[..at], 0);
        let to = (at + EXCERPT_CONTEXT).min(self.fed.max(at));
        spate::Location {
            input: self.name.clone(),
            offset,
            position: lines.position(offset, &[]),
            excerpt: excerpt(&bytes[from..to], at - from),
        }
    }

    fn syntax_error(&mut self, error: SyntaxError) -> Stop {
        self.finished = true;
        Stop::Invalid(spate::Error::Syntax {
            location: self.location(error.offset),
            error: spate::SyntaxErrorKindOnly(error),
        })
    }

    fn too_large(&mut self, start: u64) -> Stop {
        self.finished = true;
        Stop::Invalid(spate::Error::ItemTooLarge {
            location: self.location(start),
            limit: self.max_item_size,
        })
    }
}
