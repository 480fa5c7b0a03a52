//! The sans-I/O validating scanner.
//!
//! [`Scanner::scan`] is handed consecutive slices of the input (of any size, down to one
//! byte) and validates every byte against RFC 8259: structure, strings (escapes, control
//! characters), numbers, literals and UTF-8 (checked inside strings only, where non-ASCII
//! bytes may appear: see the `utf8` module). Its state (inside a string, an escape, a number,
//! a literal, the container stack) carries across slice boundaries, so a token may be split
//! anywhere. Nesting is tracked with a bit-stack, never recursion.
//!
//! The scanner tells a [`Handler`] where values begin and end, but only for values at depths
//! the handler asked to watch: a subtree nobody watches is validated without any callback,
//! which is what makes skipping and counting fast. A handler can pause the scan after a value
//! ends, so a caller can hand out an item before scanning on.

use crate::error::{ErrorKind, Expected, SyntaxError};
use crate::strings::{find_special, find_special_or_high, skip_whitespace};
use crate::utf8::{check_run, Pending};

/// Default limit on nesting depth. Deep enough for any real document (serde_json stops at
/// 128), small enough that the stack of a hostile input stays tiny.
pub const DEFAULT_MAX_DEPTH: u32 = 1024;

/// A container opened at this depth or deeper is an *outlier* (see [`Scanner::last_outlier`]).
pub const OUTLIER_DEPTH: u32 = 256;

/// A number longer than this many bytes is an *outlier* (see [`Scanner::last_outlier`]).
pub const OUTLIER_NUMBER_LEN: usize = 256;

/// How a value appears in its parent, as passed to [`Handler::begin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member<'a> {
    /// A top-level value.
    Root,
    /// An object member, with its name as written (without quotes, escapes not decoded).
    Key(&'a [u8]),
    /// An array element (handlers count elements themselves).
    Element,
}

/// Whether the handler wants to hear about the children of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// Report the container's children (and their keys) to the handler.
    Children,
    /// Validate the container silently; only its end is reported.
    Quiet,
}

/// Whether the scan goes on after a reported value ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep scanning.
    Continue,
    /// Return from [`Scanner::scan`] now; the next call resumes right after the value.
    Pause,
}

/// Receives the begin and end of every watched value.
pub trait Handler {
    /// A value at `depth` (0 for top-level values) begins at absolute byte `offset`;
    /// `container` says whether it is an object or array. The return value matters only for
    /// containers.
    fn begin(&mut self, depth: u32, offset: u64, member: Member<'_>, container: bool) -> Watch;
    /// The value that began at `depth` ends; `end` is the offset just past its last byte.
    fn end(&mut self, depth: u32, end: u64) -> Flow;
}

/// Options of a [`Scanner`].
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    /// Containers may nest this deep; deeper is an error.
    pub max_depth: u32,
    /// Accept a sequence of top-level values separated by whitespace (JSON Lines, concatenated
    /// JSON) instead of exactly one.
    pub multiple_values: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_depth: DEFAULT_MAX_DEPTH,
            multiple_values: false,
        }
    }
}

/// Where a scan call stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scanned {
    /// Every byte of the slice was consumed; hand over the next one.
    NeedInput,
    /// The handler paused the scan after consuming this many bytes of the slice.
    Paused(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    /// After `-`.
    Minus,
    /// After a leading `0`.
    Zero,
    /// In the integer digits.
    Int,
    /// After `.`.
    Dot,
    /// In the fraction digits.
    Frac,
    /// After `e`/`E`.
    Exp,
    /// After the exponent's sign.
    ExpSign,
    /// In the exponent digits.
    ExpDigits,
}

impl Number {
    /// True when the number may end here.
    fn complete(self) -> bool {
        matches!(
            self,
            Number::Zero | Number::Int | Number::Frac | Number::ExpDigits
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a top-level value (or between top-level values in sequence mode).
    Start,
    /// After `:` or after `,` in an array.
    Value,
    /// Right after `[`.
    ValueOrArrayEnd,
    /// Right after `{`.
    KeyOrObjectEnd,
    /// After `,` in an object.
    Key,
    /// After a member name.
    Colon,
    /// After a value inside a container, or after the top-level value (depth 0).
    AfterValue,
    /// Inside a string; `key` says whether it is a member name.
    Str { key: bool },
    /// After a backslash in a string.
    Escape { key: bool },
    /// Inside `\uXXXX`, `left` hex digits to go.
    Unicode { key: bool, left: u8 },
    /// Inside a number.
    Num(Number),
    /// Inside `true`/`false`/`null`: which literal and how many bytes matched.
    Literal { word: u8, matched: u8 },
    /// After the top-level value: only whitespace may follow.
    End,
}

/// Where a value being started sits, to build its [`Member`].
#[derive(Debug, Clone, Copy)]
enum Parent {
    Root,
    Object,
    Array,
}

#[inline(always)]
fn member_of(parent: Parent, key: &[u8]) -> Member<'_> {
    match parent {
        Parent::Root => Member::Root,
        Parent::Object => Member::Key(key),
        Parent::Array => Member::Element,
    }
}

const LITERALS: [&[u8]; 3] = [b"true", b"false", b"null"];

/// Whether `rest` (at least as long as the literal) begins with literal `word` (an index of
/// [`LITERALS`]): fixed-size loads rather than a call to `memcmp`, which a slice comparison
/// of a length known only at run time becomes.
#[inline(always)]
fn is_literal(rest: &[u8], word: u8) -> bool {
    let four = |at: usize| u32::from_le_bytes([rest[at], rest[at + 1], rest[at + 2], rest[at + 3]]);
    match word {
        0 => four(0) == u32::from_le_bytes(*b"true"),
        1 => four(1) == u32::from_le_bytes(*b"alse") && rest[0] == b'f',
        _ => four(0) == u32::from_le_bytes(*b"null"),
    }
}
const LITERAL_NAMES: [&str; 3] = ["true", "false", "null"];

/// A scanner's state between two tokens inside the top-level value: the open containers,
/// which depths are watched, and what may come next. Taken with [`Scanner::snapshot`] and
/// resumed at another offset with [`Scanner::resume`]: a scanner resumed in the state
/// another scanner had at that offset goes on exactly as that one would (same callbacks,
/// same errors). This is what lets one document be scanned in pieces, each piece starting
/// from a guessed state that a scan of the piece before confirms (or refutes) by comparing
/// its own snapshot there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanState {
    state: State,
    depth: u32,
    in_object: bool,
    /// The kind bits of the open containers only (bits past `depth` cleared).
    kinds: Vec<u64>,
    watch: u32,
}

impl ScanState {
    /// Number of open containers.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// True when the next token is an array element that follows another (after `,`).
    pub fn expects_next_element(&self) -> bool {
        self.state == State::Value && !self.in_object && self.depth > 0
    }

    /// The state at an array element that follows another one: from the state before the
    /// first element (right after `[`) or before a later one. `None` when not before an
    /// array element.
    pub fn as_next_element(&self) -> Option<ScanState> {
        if self.in_object || self.depth == 0 {
            return None;
        }
        match self.state {
            State::Value | State::ValueOrArrayEnd => Some(ScanState {
                state: State::Value,
                ..self.clone()
            }),
            _ => None,
        }
    }
}

/// A resumable, validating JSON scanner. See the module docs.
#[derive(Debug, Clone)]
pub struct Scanner {
    state: State,
    options: ScanOptions,
    /// Number of open containers.
    depth: u32,
    /// Whether the innermost open container is an object.
    in_object: bool,
    /// One bit per open container: 1 for an object, 0 for an array.
    kinds: Vec<u64>,
    /// Values at depth <= watch are reported to the handler.
    watch: u32,
    /// Absolute offset of the next byte to scan.
    offset: u64,
    /// Name of the watched member being read, when it could not be handed over in place:
    /// cut by a slice's end, or with escapes or non-ASCII bytes (a name whole in the slice
    /// is passed as a range of it; see `key_in_input` in [`Scanner::run`]).
    key: Vec<u8>,
    /// Whether the member name being read is at a watched depth (its value is reported).
    key_watched: bool,
    /// Start offset of the watched scalar being read, reported at its end.
    scalar_watched: bool,
    /// The start of a UTF-8 sequence inside a string, cut by the last slice's end.
    pending: Pending,
    /// A sticky error: once invalid, always invalid.
    failed: Option<SyntaxError>,
    /// Offset of the last outlier token ([`NO_OUTLIER`] when none yet).
    last_outlier: u64,
    /// Depth from which [`Scanner::open`] takes its slow path: the smaller of the depth
    /// limit and [`OUTLIER_DEPTH`].
    slow_depth: u32,
}

/// [`Scanner::last_outlier`] when no outlier was met.
const NO_OUTLIER: u64 = u64::MAX;

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new(ScanOptions::default())
    }
}

impl Scanner {
    /// A scanner at the start of an input.
    pub fn new(options: ScanOptions) -> Self {
        Scanner {
            state: State::Start,
            options,
            depth: 0,
            in_object: false,
            kinds: Vec::new(),
            watch: 0,
            offset: 0,
            key: Vec::new(),
            key_watched: false,
            scalar_watched: false,
            pending: Pending::default(),
            failed: None,
            last_outlier: NO_OUTLIER,
            slow_depth: options.max_depth.min(OUTLIER_DEPTH),
        }
    }

    /// Starts over at the beginning of a new input, keeping the options and the buffers
    /// (cheaper than a new scanner per JSON Lines line).
    pub fn reset(&mut self) {
        self.state = State::Start;
        self.depth = 0;
        self.in_object = false;
        self.watch = 0;
        self.offset = 0;
        self.key.clear();
        self.key_watched = false;
        self.scalar_watched = false;
        self.pending = Pending::default();
        self.failed = None;
        self.last_outlier = NO_OUTLIER;
    }

    /// The state between tokens, for [`Scanner::resume`]; `None` inside a token (a string,
    /// number, literal, member name), outside the top-level value, or after an error.
    pub fn snapshot(&self) -> Option<ScanState> {
        if self.failed.is_some() || self.depth == 0 || !self.pending.is_empty() {
            return None;
        }
        match self.state {
            State::Value
            | State::ValueOrArrayEnd
            | State::KeyOrObjectEnd
            | State::Key
            | State::AfterValue => {}
            _ => return None,
        }
        let words = (self.depth as usize).div_ceil(64);
        let mut kinds = self.kinds[..words].to_vec();
        let rest = self.depth as usize % 64;
        if rest != 0 {
            kinds[words - 1] &= (1u64 << rest) - 1;
        }
        Some(ScanState {
            state: self.state,
            depth: self.depth,
            in_object: self.in_object,
            kinds,
            watch: self.watch,
        })
    }

    /// A scanner that goes on from `state` at absolute `offset`, as the scanner that was in
    /// that state at that offset would (see [`ScanState`]).
    pub fn resume(options: ScanOptions, state: &ScanState, offset: u64) -> Scanner {
        let mut scanner = Scanner::new(options);
        scanner.state = state.state;
        scanner.depth = state.depth;
        scanner.in_object = state.in_object;
        scanner.kinds = state.kinds.clone();
        scanner.watch = state.watch;
        scanner.offset = offset;
        scanner
    }

    /// Offset of the last *outlier* scanned so far: a container opened at depth
    /// [`OUTLIER_DEPTH`] or deeper, a number of more than [`OUTLIER_NUMBER_LEN`] bytes, or a
    /// `\u` escape of a UTF-16 surrogate (paired or not); `None` when there was none.
    /// Tokens split across two slices may count as outliers too. A consumer that reads a
    /// value again (spate's filters on an item's bytes) and must refuse such tokens knows
    /// that a value starting after this offset, and ended already, holds none of them,
    /// without looking.
    pub fn last_outlier(&self) -> Option<u64> {
        (self.last_outlier != NO_OUTLIER).then_some(self.last_outlier)
    }

    /// Absolute offset of the next byte to scan (the number of bytes consumed so far).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Current nesting depth (open containers).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// True when nothing is open: the input so far is a complete sequence of values (in
    /// sequence mode) or one complete value.
    pub fn at_value_boundary(&self) -> bool {
        matches!(self.state, State::Start | State::End)
            || (self.depth == 0 && self.state == State::AfterValue)
    }

    /// Scans `input`, the bytes that follow everything scanned so far. Returns when all of
    /// it is consumed, when the handler pauses, or at the first error.
    pub fn scan<H: Handler>(&mut self, input: &[u8], h: &mut H) -> Result<Scanned, SyntaxError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.run(input, h)
    }

    /// Declares the end of the input: checks that the document is complete.
    pub fn finish<H: Handler>(&mut self, h: &mut H) -> Result<(), SyntaxError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if !self.pending.is_empty() {
            // A sequence cut by the end of the input.
            let at = self.offset - self.pending.len() as u64;
            return Err(self.fail(ErrorKind::InvalidUtf8, at));
        }
        let end = self.offset;
        let expected = match self.state {
            State::End => return Ok(()),
            State::Start if self.options.multiple_values => return Ok(()),
            State::AfterValue if self.depth == 0 => return Ok(()),
            State::Num(n) if n.complete() && self.depth == 0 => {
                if self.scalar_watched {
                    self.scalar_watched = false;
                    h.end(0, end);
                }
                self.state = State::End;
                return Ok(());
            }
            State::Start | State::Value => Expected::Value,
            State::ValueOrArrayEnd => Expected::ValueOrArrayEnd,
            State::KeyOrObjectEnd => Expected::KeyOrObjectEnd,
            State::Key => Expected::Key,
            State::Colon => Expected::Colon,
            State::AfterValue => {
                if self.in_object {
                    Expected::CommaOrObjectEnd
                } else {
                    Expected::CommaOrArrayEnd
                }
            }
            State::Str { .. } => Expected::ClosingQuote,
            State::Escape { .. } => Expected::Escape,
            State::Unicode { .. } => Expected::HexDigit,
            State::Num(n) if n.complete() => {
                if self.in_object {
                    Expected::CommaOrObjectEnd
                } else {
                    Expected::CommaOrArrayEnd
                }
            }
            State::Num(_) => Expected::Digit,
            State::Literal { word, .. } => Expected::Literal(LITERAL_NAMES[word as usize]),
        };
        Err(self.fail(ErrorKind::UnexpectedEnd { expected }, end))
    }

    fn fail(&mut self, kind: ErrorKind, offset: u64) -> SyntaxError {
        let e = SyntaxError { kind, offset };
        self.failed = Some(e.clone());
        e
    }

    /// The main loop over `input`.
    ///
    /// The state lives in a local while the loop runs, and the common token sequences
    /// (a member name and its colon, a whole string, number or literal within the slice)
    /// are handled in place without a round through the state dispatch; the states exist
    /// for tokens split across slices.
    fn run<H: Handler>(&mut self, input: &[u8], h: &mut H) -> Result<Scanned, SyntaxError> {
        let base = self.offset;
        let n = input.len();
        let mut i = 0usize;
        let mut state = self.state;
        // Where the name of the watched member being read lies in `input`, when it lies
        // there whole (the common case: no copy); `None` when it is in `self.key` (cut by a
        // slice's end, or carried over from the slice before). Set for watched members only,
        // the ones whose values `key!` is asked about. See `member_name!`.
        let mut key_in_input: Option<(usize, usize)> = None;
        // An error for the byte at `i`.
        macro_rules! unexpected {
            ($i:expr, $expected:expr) => {{
                let at = base + $i as u64;
                return Err(self.fail(
                    ErrorKind::Unexpected {
                        found: input[$i],
                        expected: $expected,
                    },
                    at,
                ));
            }};
        }
        // Reports the end of a watched value at depth `d` ending before index `e`, and
        // pauses if the handler says so; the next byte to scan is `e`.
        macro_rules! value_end {
            ($d:expr, $e:expr) => {{
                let d = $d;
                let e = $e;
                if d <= self.watch {
                    self.watch = d;
                    if h.end(d, base + e as u64) == Flow::Pause {
                        self.state = state;
                        self.offset = base + e as u64;
                        return Ok(Scanned::Paused(e));
                    }
                }
            }};
        }
        // The name of the (watched) member whose value begins (see `key_in_input`).
        macro_rules! key {
            () => {
                match key_in_input {
                    Some((start, end)) => &input[start..end],
                    None => &self.key[..],
                }
            };
        }
        // A member name at `i` (its opening quote), and its colon when near: then the
        // member's value is next (`State::Value`).
        macro_rules! member_name {
            () => {{
                i += 1;
                self.key_watched = self.depth <= self.watch;
                let j = i + find_special_or_high(&input[i..]);
                if j < n && input[j] == b'"' {
                    // The whole name is here: note where it is (nothing is written for a
                    // member nobody watches), and take its colon if near.
                    if self.key_watched {
                        key_in_input = Some((i, j));
                    }
                    i = skip_whitespace(input, j + 1);
                    if i < n && input[i] == b':' {
                        i += 1;
                        state = State::Value;
                    } else {
                        state = State::Colon;
                    }
                } else {
                    // Cut by the slice's end, or with escapes to check one by one: collected
                    // into `self.key` by the string states.
                    self.key.clear();
                    key_in_input = None;
                    state = State::Str { key: true };
                }
            }};
        }
        macro_rules! skip_ws {
            () => {
                i = skip_whitespace(input, i);
                if i == n {
                    break;
                }
            };
        }

        while i < n {
            // The values first, through a plain branch (the most frequent state, and the
            // one after every member name): the other states go through the dispatch.
            if matches!(
                state,
                State::Start | State::End | State::Value | State::ValueOrArrayEnd
            ) {
                skip_ws!();
                let b = input[i];
                if state == State::End {
                    if self.options.multiple_values {
                        state = State::Start;
                        continue;
                    }
                    unexpected!(i, Expected::EndOfInput);
                }
                if b == b']' && state == State::ValueOrArrayEnd {
                    self.close();
                    i += 1;
                    state = State::AfterValue;
                    value_end!(self.depth, i);
                    continue;
                }
                let parent = if state == State::Start {
                    Parent::Root
                } else if self.in_object {
                    Parent::Object
                } else {
                    Parent::Array
                };
                let depth = self.depth;
                let watched = depth <= self.watch;
                let at = base + i as u64;
                match b {
                    b'{' | b'[' => {
                        let object = b == b'{';
                        self.open(object, at)?;
                        if watched {
                            let key = member_of(parent, key!());
                            let watch = h.begin(depth, at, key, true);
                            self.watch = if watch == Watch::Children {
                                depth + 1
                            } else {
                                depth
                            };
                        }
                        i += 1;
                        state = if object {
                            State::KeyOrObjectEnd
                        } else {
                            State::ValueOrArrayEnd
                        };
                    }
                    b'"' => {
                        if watched {
                            h.begin(depth, at, member_of(parent, key!()), false);
                        }
                        i += 1;
                        let j = i + find_special_or_high(&input[i..]);
                        if j < n && input[j] == b'"' {
                            i = j + 1;
                            state = State::AfterValue;
                            if watched {
                                value_end!(depth, i);
                            }
                        } else {
                            // (nothing is collected from a value: go on from `j`)
                            i = j;
                            self.scalar_watched = watched;
                            state = State::Str { key: false };
                        }
                    }
                    b'-' | b'0'..=b'9' => {
                        if watched {
                            h.begin(depth, at, member_of(parent, key!()), false);
                        }
                        if let Some(end) = number_end(input, i) {
                            if end - i > OUTLIER_NUMBER_LEN {
                                self.last_outlier = at;
                            }
                            i = end;
                            state = State::AfterValue;
                            if watched {
                                value_end!(depth, i);
                            }
                            continue;
                        }
                        let first = if b == b'-' {
                            Number::Minus
                        } else if b == b'0' {
                            Number::Zero
                        } else {
                            Number::Int
                        };
                        // (cut by the slice's end or malformed: taken for an outlier)
                        self.last_outlier = at;
                        let (j, num) = scan_number(input, i + 1, first);
                        i = j;
                        if i == n {
                            self.scalar_watched = watched;
                            state = State::Num(num);
                            break;
                        }
                        if !num.complete() {
                            unexpected!(i, Expected::Digit);
                        }
                        state = State::AfterValue;
                        if watched {
                            value_end!(depth, i);
                        }
                    }
                    b't' | b'f' | b'n' => {
                        if watched {
                            h.begin(depth, at, member_of(parent, key!()), false);
                        }
                        let word = match b {
                            b't' => 0,
                            b'f' => 1,
                            _ => 2,
                        };
                        let lit = LITERALS[word as usize];
                        if i + lit.len() <= n && is_literal(&input[i..], word) {
                            i += lit.len();
                            state = State::AfterValue;
                            if watched {
                                value_end!(depth, i);
                            }
                        } else {
                            i += 1;
                            self.scalar_watched = watched;
                            state = State::Literal { word, matched: 1 };
                        }
                    }
                    _ => {
                        let expected = if state == State::ValueOrArrayEnd {
                            Expected::ValueOrArrayEnd
                        } else {
                            Expected::Value
                        };
                        unexpected!(i, expected);
                    }
                }
                continue;
            }
            match state {
                State::Start | State::End | State::Value | State::ValueOrArrayEnd => {
                    unreachable!("the values are read above")
                }
                State::KeyOrObjectEnd | State::Key => {
                    skip_ws!();
                    match input[i] {
                        b'"' => member_name!(),
                        b'}' if state == State::KeyOrObjectEnd => {
                            self.close();
                            i += 1;
                            state = State::AfterValue;
                            value_end!(self.depth, i);
                        }
                        _ => {
                            let expected = if state == State::Key {
                                Expected::Key
                            } else {
                                Expected::KeyOrObjectEnd
                            };
                            unexpected!(i, expected);
                        }
                    }
                }
                State::Colon => {
                    skip_ws!();
                    if input[i] != b':' {
                        unexpected!(i, Expected::Colon);
                    }
                    i += 1;
                    state = State::Value;
                }
                State::AfterValue => {
                    skip_ws!();
                    if self.depth == 0 {
                        state = State::End;
                        continue;
                    }
                    match (input[i], self.in_object) {
                        (b',', true) => {
                            i += 1;
                            // The next member's name, read here when it follows at once
                            // (compact JSON): one trip through the state dispatch less.
                            if i < n && input[i] == b'"' {
                                member_name!();
                            } else {
                                state = State::Key;
                            }
                        }
                        (b',', false) => {
                            i += 1;
                            state = State::Value;
                        }
                        (b'}', true) | (b']', false) => {
                            self.close();
                            i += 1;
                            value_end!(self.depth, i);
                        }
                        (_, true) => unexpected!(i, Expected::CommaOrObjectEnd),
                        (_, false) => unexpected!(i, Expected::CommaOrArrayEnd),
                    }
                }
                State::Str { key } => {
                    let start = i;
                    if !self.pending.is_empty() {
                        // A sequence cut by the last slice's end (so `i` is 0 here).
                        match self.pending.resume(&input[i..]) {
                            Ok(took) => i += took,
                            Err(()) => {
                                let at = base + i as u64 - self.pending.len() as u64;
                                return Err(self.fail(ErrorKind::InvalidUtf8, at));
                            }
                        }
                    }
                    loop {
                        i += find_special_or_high(&input[i..]);
                        if i == n {
                            break;
                        }
                        match input[i] {
                            b'"' => break,
                            b'\\' => {
                                // Most escapes are complete within the slice: check them in
                                // place and carry on in the fast loop.
                                if i + 1 < n {
                                    match input[i + 1] {
                                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                                            i += 2;
                                            continue;
                                        }
                                        b'u' if i + 5 < n
                                            && input[i + 2..i + 6]
                                                .iter()
                                                .all(u8::is_ascii_hexdigit) =>
                                        {
                                            // (D800-DFFF: `d` or `D`, then 8-9, a-f or A-F)
                                            if input[i + 2] | 0x20 == b'd' && input[i + 3] >= b'8' {
                                                self.last_outlier = base + i as u64;
                                            }
                                            i += 6;
                                            continue;
                                        }
                                        _ => break,
                                    }
                                }
                                break;
                            }
                            0x80.. => {
                                // Non-ASCII: check the run up to the next special byte.
                                let end = i + find_special(&input[i..]);
                                let run = &input[i..end];
                                if let Err(bad) = check_run(run, end == n, &mut self.pending) {
                                    let at = base + (i + bad) as u64;
                                    return Err(self.fail(ErrorKind::InvalidUtf8, at));
                                }
                                i = end;
                            }
                            c => {
                                let at = base + i as u64;
                                return Err(
                                    self.fail(ErrorKind::ControlCharacterInString { found: c }, at)
                                );
                            }
                        }
                    }
                    if key && self.key_watched {
                        self.key.extend_from_slice(&input[start..i]);
                    }
                    if i == n {
                        break;
                    }
                    if input[i] == b'"' {
                        i += 1;
                        if key {
                            state = State::Colon;
                        } else {
                            state = State::AfterValue;
                            if self.scalar_watched {
                                self.scalar_watched = false;
                                value_end!(self.depth, i);
                            }
                        }
                    } else {
                        // A backslash whose escape is incomplete in this slice, or invalid.
                        if key && self.key_watched {
                            self.key.push(b'\\');
                        }
                        i += 1;
                        state = State::Escape { key };
                    }
                }
                State::Escape { key } => {
                    let b = input[i];
                    if key && self.key_watched {
                        self.key.push(b);
                    }
                    i += 1;
                    state = match b {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                            State::Str { key }
                        }
                        b'u' => {
                            // (an escape cut by the slice's end: taken for an outlier)
                            self.last_outlier = base + i as u64 - 1;
                            State::Unicode { key, left: 4 }
                        }
                        _ => unexpected!(i - 1, Expected::Escape),
                    };
                }
                State::Unicode { key, left } => {
                    let b = input[i];
                    if !b.is_ascii_hexdigit() {
                        unexpected!(i, Expected::HexDigit);
                    }
                    if key && self.key_watched {
                        self.key.push(b);
                    }
                    i += 1;
                    state = if left == 1 {
                        State::Str { key }
                    } else {
                        State::Unicode {
                            key,
                            left: left - 1,
                        }
                    };
                }
                State::Num(num) => {
                    self.last_outlier = base + i as u64;
                    let (next, num) = scan_number(input, i, num);
                    i = next;
                    if i == n {
                        state = State::Num(num);
                        break;
                    }
                    // The byte at `i` is not part of the number.
                    if !num.complete() {
                        unexpected!(i, Expected::Digit);
                    }
                    state = State::AfterValue;
                    if self.scalar_watched {
                        self.scalar_watched = false;
                        value_end!(self.depth, i);
                    }
                }
                State::Literal { word, matched } => {
                    let lit = LITERALS[word as usize];
                    let mut m = matched as usize;
                    while m < lit.len() && i < n {
                        if input[i] != lit[m] {
                            unexpected!(i, Expected::Literal(LITERAL_NAMES[word as usize]));
                        }
                        m += 1;
                        i += 1;
                    }
                    if m < lit.len() {
                        state = State::Literal {
                            word,
                            matched: m as u8,
                        };
                        break;
                    }
                    state = State::AfterValue;
                    if self.scalar_watched {
                        self.scalar_watched = false;
                        value_end!(self.depth, i);
                    }
                }
            }
        }
        if let Some((start, end)) = key_in_input {
            if self.key_watched && matches!(state, State::Colon | State::Value) {
                // The value of this member comes in the next slice: keep its name.
                self.key.clear();
                self.key.extend_from_slice(&input[start..end]);
            }
        }
        self.state = state;
        self.offset = base + n as u64;
        Ok(Scanned::NeedInput)
    }

    /// Opens a container (checking the depth limit).
    #[inline(always)]
    fn open(&mut self, object: bool, at: u64) -> Result<(), SyntaxError> {
        if self.depth >= self.slow_depth {
            self.open_deep(at)?;
        }
        let i = self.depth as usize;
        if i / 64 >= self.kinds.len() {
            self.kinds.push(0);
        }
        let bit = 1u64 << (i % 64);
        if object {
            self.kinds[i / 64] |= bit;
        } else {
            self.kinds[i / 64] &= !bit;
        }
        self.depth += 1;
        self.in_object = object;
        Ok(())
    }

    /// [`Scanner::open`] at [`Scanner::slow_depth`] or deeper: an outlier, or too deep.
    #[cold]
    #[inline(never)]
    fn open_deep(&mut self, at: u64) -> Result<(), SyntaxError> {
        if self.depth >= self.options.max_depth {
            return Err(self.fail(
                ErrorKind::TooDeep {
                    max_depth: self.options.max_depth,
                },
                at,
            ));
        }
        self.last_outlier = at;
        Ok(())
    }

    /// Closes the innermost container.
    #[inline(always)]
    fn close(&mut self) {
        self.depth -= 1;
        self.in_object = if self.depth == 0 {
            false
        } else {
            let i = (self.depth - 1) as usize;
            self.kinds[i / 64] >> (i % 64) & 1 == 1
        };
    }
}

/// The index of the first byte at or after `i` that is not an ASCII digit (or the length).
///
/// Eight bytes at a time: a byte is a digit when its high nibble is 3 and its low nibble
/// is at most 9, so `(b ^ 0x30) | ((b ^ 0x30) + 6)` has a zero high nibble exactly for
/// digits. A carry out of a non-digit byte can only disturb the bytes after it, so the
/// first flagged byte is the first non-digit.
#[inline(always)]
fn digits_end(input: &[u8], mut i: usize) -> usize {
    const REPEAT: u64 = 0x0101_0101_0101_0101;
    while i + 8 <= input.len() {
        let word = u64::from_le_bytes(input[i..i + 8].try_into().expect("8 bytes"));
        let t = word ^ (REPEAT * 0x30);
        let flags = (t | t.wrapping_add(REPEAT * 0x06)) & (REPEAT * 0xf0);
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < input.len() && input[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// The end of a number starting at `input[i]` when it is complete and followed by another
/// byte within the slice; `None` when it is cut by the slice's end or malformed, which the
/// resumable [`scan_number`] then handles (and reports).
#[inline(always)]
fn number_end(input: &[u8], mut i: usize) -> Option<usize> {
    let digits = |i: usize| digits_end(input, i);
    if input[i] == b'-' {
        i += 1;
    }
    match input.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(i + 1),
        _ => return None,
    }
    if input.get(i)? == &b'.' {
        let j = digits(i + 1);
        if j == i + 1 {
            return None;
        }
        i = j;
    }
    if matches!(input.get(i)?, b'e' | b'E') {
        i += 1;
        if matches!(input.get(i)?, b'+' | b'-') {
            i += 1;
        }
        let j = digits(i);
        if j == i {
            return None;
        }
        i = j;
    }
    // The byte after the number must exist (else the number may go on in the next slice)
    // and must not continue it (`01`, `1.` and the like go the slow way and fail there).
    match input.get(i)? {
        b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-' => None,
        _ => Some(i),
    }
}

/// Advances through number bytes from `i`; returns the index of the first byte that is not
/// part of the number (or `input.len()`) and the state there. A byte that cannot continue
/// the number is left for the caller, which decides whether the number was complete.
#[inline(always)]
fn scan_number(input: &[u8], mut i: usize, mut num: Number) -> (usize, Number) {
    let n = input.len();
    while i < n {
        let b = input[i];
        num = match (num, b) {
            (Number::Minus, b'0') => Number::Zero,
            (Number::Minus, b'1'..=b'9') => Number::Int,
            (Number::Int, b'0'..=b'9') => {
                i = digits_end(input, i + 1);
                continue;
            }
            (Number::Zero | Number::Int, b'.') => Number::Dot,
            (Number::Zero | Number::Int | Number::Frac, b'e' | b'E') => Number::Exp,
            (Number::Dot | Number::Frac, b'0'..=b'9') => Number::Frac,
            (Number::Exp, b'+' | b'-') => Number::ExpSign,
            (Number::Exp | Number::ExpSign | Number::ExpDigits, b'0'..=b'9') => Number::ExpDigits,
            _ => return (i, num),
        };
        i += 1;
    }
    (i, num)
}

#[cfg(test)]
mod tests {
    use super::digits_end;

    #[test]
    fn digits_end_agrees_with_a_plain_loop() {
        for b in 0u8..=255 {
            for pos in 0..20 {
                let mut s = vec![b'7'; 20];
                s[pos] = b;
                let want = s
                    .iter()
                    .position(|c| !c.is_ascii_digit())
                    .unwrap_or(s.len());
                for start in 0..=pos.min(3) {
                    assert_eq!(digits_end(&s, start), want.max(start), "byte {b} at {pos}");
                }
            }
        }
    }
}

#[cfg(test)]
mod outlier_tests {
    use super::*;

    struct Nobody;
    impl Handler for Nobody {
        fn begin(&mut self, _: u32, _: u64, _: Member<'_>, _: bool) -> Watch {
            Watch::Quiet
        }
        fn end(&mut self, _: u32, _: u64) -> Flow {
            Flow::Continue
        }
    }

    /// The last outlier of `doc` scanned whole, and scanned in slices of `size` bytes.
    fn last_outlier(doc: &[u8], size: usize) -> Option<u64> {
        let mut scanner = Scanner::new(ScanOptions::default());
        for chunk in doc.chunks(size) {
            scanner.scan(chunk, &mut Nobody).unwrap();
        }
        scanner.finish(&mut Nobody).unwrap();
        scanner.last_outlier()
    }

    #[test]
    fn outliers_are_deep_containers_long_numbers_and_surrogate_escapes() {
        let whole = |doc: &[u8]| last_outlier(doc, doc.len());
        assert_eq!(
            whole(br#"[1, "\u00e9\n", {"a": [-12.5e3]}, "\ud7ff"]"#),
            None
        );
        // (the last one: the low half of the pair)
        assert_eq!(whole(br#"["a", "\ud83d\ude00", 1]"#), Some(13));
        assert_eq!(whole(br#"{"\uDC00": 1}"#), Some(2));
        let long = format!("[1, {}, 2]", "7".repeat(OUTLIER_NUMBER_LEN + 1));
        assert_eq!(whole(long.as_bytes()), Some(4));
        let fits = format!("[1, {}, 2]", "7".repeat(OUTLIER_NUMBER_LEN));
        assert_eq!(whole(fits.as_bytes()), None);
        let depth = OUTLIER_DEPTH as usize;
        let deep = format!("[0, {}{}]", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(whole(deep.as_bytes()), Some(4 + depth as u64 - 1));
        let shallow = format!("[0, {}{}]", "[".repeat(depth - 1), "]".repeat(depth - 1));
        assert_eq!(whole(shallow.as_bytes()), None);
        // a token cut by a slice's end may count as an outlier, never the reverse
        for size in 1..6 {
            let doc = br#"["\ud800", 12345, "\u0041"]"#;
            assert!(last_outlier(doc, size) >= Some(2), "slices of {size}");
        }
    }
}
