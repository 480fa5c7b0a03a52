//! ijson's event interfaces on spate's scanner: `basic_parse` (`(event, value)`), `parse`
//! (`(prefix, event, value)`) and `kvitems` (`(key, value)` for the members of the objects at
//! a prefix), for `spate.ijson`.
//!
//! The validating [`Scanner`] reports where every value begins and ends (and each member's
//! name); a [`Recorder`] notes those reports while a block of input is scanned, and the
//! Python side then turns them into ijson's tuples, taking each scalar's text from the block.
//! Only the text of a scalar still open at the end of a block (or, for `kvitems`, of a member
//! value still open) is kept for the next one, so memory stays the read block plus the
//! largest such value, bounded by `max_item_size`. `kvitems` asks the scanner for the
//! children of only the containers on the way to the prefix: member values are validated
//! quietly and built in one go, as `items` builds an item.
//!
//! Prefixes are ijson's: member names joined with `.`, `item` for an array element; a
//! `kvitems` prefix matches an object whose prefix text is equal to it (so `a.b` matches both
//! `{"a.b": {..}}` and `{"a": {"b": {..}}}`, as in ijson).

use std::io::Read;
use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use pyo3::IntoPyObjectExt;
use spate_json::{
    excerpt, Flow, Handler, LineCounter, Member, ScanOptions, Scanned, Scanner, SyntaxError, Watch,
};

use crate::build::{text_value, Builder, Floats};
use crate::errors::to_py;
use crate::source::{self, Pending};

/// Bytes read and scanned per step (each step's events go to Python as one list).
const BLOCK: usize = 64 << 10;
/// Bytes shown before an error's offset at most.
const EXCERPT_CONTEXT: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    BasicParse,
    Parse,
    KvItems,
}

/// One report of the scanner, in order.
enum Report {
    /// A value begins at `offset`; `key` is its member name (raw, in the recorder's
    /// arena), `container` whether it is an object or array, `build` (`kvitems`) whether
    /// it is a member of an object at the prefix, to be built whole at its end.
    Begin {
        offset: u64,
        key: Option<(usize, usize)>,
        container: bool,
        build: bool,
    },
    /// The innermost open value ends just before `end`.
    End { end: u64 },
}

/// Notes the scanner's reports of one block.
struct Recorder {
    mode: Mode,
    reports: Vec<Report>,
    /// Raw member names of this block's reports.
    arena: Vec<u8>,
    /// `kvitems` only: the prefix, and the prefix text of each open value (`None` for a
    /// scalar or a container that is not watched).
    target: String,
    open: Vec<Option<String>>,
    scratch: Vec<u8>,
}

impl Recorder {
    /// The prefix text of a value beginning in the innermost open (watched) container.
    fn child_prefix(&mut self, member: Member<'_>) -> String {
        let parent = self.open.last().and_then(|p| p.as_deref()).unwrap_or("");
        match member {
            Member::Root => String::new(),
            Member::Element => join(parent, "item"),
            Member::Key(raw) => {
                self.scratch.clear();
                spate_json::walk::unescape_into(raw, &mut self.scratch);
                // Validated UTF-8 (a lone surrogate escape decodes to U+FFFD here).
                join(parent, &String::from_utf8_lossy(&self.scratch))
            }
        }
    }
}

fn join(parent: &str, part: &str) -> String {
    if parent.is_empty() {
        part.to_owned()
    } else {
        format!("{parent}.{part}")
    }
}

impl Handler for Recorder {
    fn begin(&mut self, _depth: u32, offset: u64, member: Member<'_>, container: bool) -> Watch {
        let key = match member {
            Member::Key(raw) => {
                let start = self.arena.len();
                self.arena.extend_from_slice(raw);
                Some((start, raw.len()))
            }
            _ => None,
        };
        let mut build = false;
        let watch = if self.mode == Mode::KvItems {
            build = matches!(member, Member::Key(_))
                && self
                    .open
                    .last()
                    .is_some_and(|p| p.as_deref() == Some(&self.target));
            // Only the containers on the way to the prefix are watched (their children
            // reported); everything else, the members to build included, is validated
            // quietly. One entry per reported value, popped at its end.
            let prefix = container
                .then(|| self.child_prefix(member))
                .filter(|prefix| {
                    prefix.is_empty()
                        || *prefix == self.target
                        || self
                            .target
                            .strip_prefix(prefix.as_str())
                            .is_some_and(|rest| rest.starts_with('.'))
                });
            let watch = if prefix.is_some() {
                Watch::Children
            } else {
                Watch::Quiet
            };
            self.open.push(prefix);
            watch
        } else {
            Watch::Children
        };
        self.reports.push(Report::Begin {
            offset,
            key,
            container,
            build,
        });
        watch
    }

    fn end(&mut self, _depth: u32, end: u64) -> Flow {
        if self.mode == Mode::KvItems {
            self.open.pop();
        }
        self.reports.push(Report::End { end });
        Flow::Continue
    }
}

/// An open value, as the Python side follows the reports.
struct Open {
    offset: u64,
    kind: Kind,
    /// Its member name (decoded), for a `kvitems` member.
    key: Option<Py<PyString>>,
    /// Its prefix as text and as a `str` (`parse` only).
    text: String,
    prefix: Option<Py<PyString>>,
    /// An array's element prefix, made once.
    item: Option<(String, Py<PyString>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Array,
    Scalar,
    /// `kvitems`: a member of an object at the prefix (built whole at its end).
    Member,
    /// `kvitems`: any other value, only followed to its end.
    Followed,
}

struct State {
    mode: Mode,
    reader: Box<dyn Read + Send>,
    name: String,
    pending: Pending,
    scanner: Scanner,
    recorder: Recorder,
    builder: Builder,
    max_item_size: usize,
    /// Input bytes from absolute offset `base` on that are still needed.
    buf: Vec<u8>,
    base: u64,
    /// Lines of the bytes before `base`.
    lines: LineCounter,
    stack: Vec<Open>,
    scratch: Vec<u8>,
    /// Event names, made once.
    names: Names,
    /// An error found after the events handed out last; raised next.
    failed: Option<PyErr>,
    done: bool,
}

struct Names {
    start_map: Py<PyString>,
    end_map: Py<PyString>,
    start_array: Py<PyString>,
    end_array: Py<PyString>,
    map_key: Py<PyString>,
    string: Py<PyString>,
    number: Py<PyString>,
    boolean: Py<PyString>,
    null: Py<PyString>,
    empty: Py<PyString>,
}

impl Names {
    fn new(py: Python<'_>) -> Self {
        let s = |t: &str| PyString::intern(py, t).unbind();
        Names {
            start_map: s("start_map"),
            end_map: s("end_map"),
            start_array: s("start_array"),
            end_array: s("end_array"),
            map_key: s("map_key"),
            string: s("string"),
            number: s("number"),
            boolean: s("boolean"),
            null: s("null"),
            empty: s(""),
        }
    }
}

/// ijson's events of a JSON document, a list of them per block of input.
#[pyclass(module = "spate._native")]
pub struct Events {
    state: Mutex<State>,
}

/// The events of `source` (a path, bytes or a binary file object): `mode` is
/// `"basic_parse"`, `"parse"` or `"kvitems"` (with `prefix`).
#[pyfunction]
#[pyo3(signature = (source, mode, prefix="", *, max_depth, max_item_size, decimal=true, multiple_values=false))]
#[allow(clippy::too_many_arguments)]
pub fn events(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    mode: &str,
    prefix: &str,
    max_depth: u32,
    max_item_size: usize,
    decimal: bool,
    multiple_values: bool,
) -> PyResult<Events> {
    let mode = match mode {
        "basic_parse" => Mode::BasicParse,
        "parse" => Mode::Parse,
        "kvitems" => Mode::KvItems,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown event mode {other:?}"
            )))
        }
    };
    if max_item_size == 0 {
        return Err(PyValueError::new_err("max_item_size must be at least 1"));
    }
    let (input, pending) = source::open_input(source, Some(spate::Format::Json))?;
    let opened = source::open_opened(py, &input, pending)?;
    let floats = Floats::decimal_if(decimal);
    Ok(Events {
        state: Mutex::new(State {
            mode,
            reader: opened.reader,
            name: opened.name,
            pending: opened.pending,
            scanner: Scanner::new(ScanOptions {
                max_depth,
                multiple_values,
            }),
            recorder: Recorder {
                mode,
                reports: Vec::new(),
                arena: Vec::new(),
                target: prefix.to_owned(),
                open: Vec::new(),
                scratch: Vec::new(),
            },
            builder: Builder::new(floats),
            max_item_size,
            buf: Vec::new(),
            base: 0,
            lines: LineCounter::default(),
            stack: Vec::new(),
            scratch: Vec::new(),
            names: Names::new(py),
            failed: None,
            done: false,
        }),
    })
}

#[pymethods]
impl Events {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The events of the next block of input (never an empty list); `StopIteration` at the
    /// end.
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| PyValueError::new_err("the iterator failed earlier"))?;
        let out = PyList::empty(py);
        loop {
            if let Some(err) = state.failed.take() {
                state.done = true;
                return Err(err);
            }
            if state.done {
                return Ok(None);
            }
            state.step(py, &out)?;
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
    }
}

impl State {
    /// Reads and scans one block, appending its events to `out`; an error is kept in
    /// `failed` (after the events before it).
    fn step(&mut self, py: Python<'_>, out: &Bound<'_, PyList>) -> PyResult<()> {
        let fed = self.base + self.buf.len() as u64;
        let old = self.buf.len();
        self.buf.resize(old + BLOCK, 0);
        let (reader, buf) = (&mut self.reader, &mut self.buf[old..]);
        let read = py.detach(|| loop {
            match reader.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        });
        let n = match read {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(old);
                self.failed = Some(self.pending.take().unwrap_or_else(|| {
                    to_py(spate::Error::Io {
                        input: self.name.clone(),
                        source: e,
                    })
                }));
                return Ok(());
            }
        };
        self.buf.truncate(old + n);
        let scanned = if n == 0 {
            self.done = true;
            self.scanner.finish(&mut self.recorder)
        } else {
            let block = &self.buf[(fed - self.base) as usize..];
            self.scanner.scan(block, &mut self.recorder).map(|s| {
                debug_assert_eq!(s, Scanned::NeedInput);
            })
        };
        self.follow(py, out)?;
        if let Err(e) = scanned {
            self.failed = Some(to_py(self.syntax_error(e)));
            return Ok(());
        }
        if let Some(err) = py.check_signals().err() {
            self.failed = Some(err);
            return Ok(());
        }
        // Keep only what an open scalar or member still needs...
        let end = self.base + self.buf.len() as u64;
        let keep_from = self
            .stack
            .iter()
            .find(|o| matches!(o.kind, Kind::Scalar | Kind::Member))
            .map_or(end, |o| o.offset);
        if end - keep_from > self.max_item_size as u64 {
            self.failed = Some(to_py(spate::Error::ItemTooLarge {
                location: self.location(keep_from),
                limit: self.max_item_size,
            }));
            return Ok(());
        }
        // And the bytes an error's excerpt shows before its offset.
        let keep_from = keep_from
            .min(end.saturating_sub(EXCERPT_CONTEXT as u64))
            .max(self.base);
        let drop = (keep_from - self.base) as usize;
        self.lines.count(&self.buf[..drop], self.base);
        self.buf.drain(..drop);
        self.base = keep_from;
        Ok(())
    }

    /// Turns the recorder's reports into events.
    fn follow(&mut self, py: Python<'_>, out: &Bound<'_, PyList>) -> PyResult<()> {
        let reports = std::mem::take(&mut self.recorder.reports);
        for report in &reports {
            match *report {
                Report::Begin {
                    offset,
                    key,
                    container,
                    build,
                } => self.begin(py, out, offset, key, container, build)?,
                Report::End { end } => self.end(py, out, end)?,
            }
        }
        self.recorder.reports = reports;
        self.recorder.reports.clear();
        self.recorder.arena.clear();
        Ok(())
    }

    fn key(
        &mut self,
        py: Python<'_>,
        key: Option<(usize, usize)>,
    ) -> PyResult<Option<Py<PyString>>> {
        let Some((start, len)) = key else {
            return Ok(None);
        };
        let raw = &self.recorder.arena[start..start + len];
        Ok(Some(text_value(py, raw, &mut self.scratch)?.unbind()))
    }

    fn begin(
        &mut self,
        py: Python<'_>,
        out: &Bound<'_, PyList>,
        offset: u64,
        key: Option<(usize, usize)>,
        container: bool,
        build: bool,
    ) -> PyResult<()> {
        if self.mode == Mode::KvItems {
            // Only the members the recorder marked are built (whole, at their end); the
            // other values are only followed to their end.
            let key = if build { self.key(py, key)? } else { None };
            self.stack.push(Open {
                offset,
                kind: if build { Kind::Member } else { Kind::Followed },
                key,
                text: String::new(),
                prefix: None,
                item: None,
            });
            return Ok(());
        }
        let key = self.key(py, key)?;
        let kind = match (container, self.buf[(offset - self.base) as usize]) {
            (true, b'{') => Kind::Object,
            (true, _) => Kind::Array,
            _ => Kind::Scalar,
        };
        let (text, prefix) = match self.mode {
            Mode::Parse => {
                let (text, prefix) = self.prefix_of(py, key.as_ref())?;
                (text, Some(prefix))
            }
            _ => (String::new(), None),
        };
        if let Some(key) = &key {
            let parent = self.stack.last().and_then(|p| p.prefix.as_ref());
            let name = self.names.map_key.clone_ref(py);
            self.emit(py, out, parent, &name, key.bind(py).as_any())?;
        }
        if kind != Kind::Scalar {
            let name = if kind == Kind::Object {
                self.names.start_map.clone_ref(py)
            } else {
                self.names.start_array.clone_ref(py)
            };
            self.emit(py, out, prefix.as_ref(), &name, &py.None().into_bound(py))?;
        }
        self.stack.push(Open {
            offset,
            kind,
            key: None,
            text,
            prefix,
            item: None,
        });
        Ok(())
    }

    /// The prefix (text and `str`) of a value beginning now in the innermost open container.
    fn prefix_of(
        &mut self,
        py: Python<'_>,
        key: Option<&Py<PyString>>,
    ) -> PyResult<(String, Py<PyString>)> {
        let Some(parent) = self.stack.last_mut() else {
            return Ok((String::new(), self.names.empty.clone_ref(py)));
        };
        match key {
            Some(key) => {
                let key = key.bind(py);
                match key.to_cow() {
                    Ok(name) => {
                        let text = join(&parent.text, &name);
                        let prefix = PyString::new(py, &text).unbind();
                        Ok((text, prefix))
                    }
                    Err(_) => {
                        // A lone surrogate in the name: the prefix is joined by Python, so
                        // that it holds the name exactly.
                        let text = join(&parent.text, &key.to_string_lossy());
                        let prefix = if parent.text.is_empty() {
                            key.clone()
                        } else {
                            let head = PyString::new(py, &format!("{}.", parent.text));
                            head.add(key)?.cast_into::<PyString>()?
                        };
                        Ok((text, prefix.unbind()))
                    }
                }
            }
            None => {
                let (text, prefix) = parent.item.get_or_insert_with(|| {
                    let text = join(&parent.text, "item");
                    let prefix = PyString::new(py, &text).unbind();
                    (text, prefix)
                });
                Ok((text.clone(), prefix.clone_ref(py)))
            }
        }
    }

    fn end(&mut self, py: Python<'_>, out: &Bound<'_, PyList>, end: u64) -> PyResult<()> {
        let open = self.stack.pop().expect("every end has a begin");
        // A scalar's or member's bytes are kept until its end (`step`); a container's not.
        let range = || (open.offset - self.base) as usize..(end - self.base) as usize;
        match open.kind {
            Kind::Member => {
                let value = self.builder.build(py, &self.buf[range()])?;
                let key = open.key.expect("a member has a name");
                out.append(PyTuple::new(py, [key.into_bound(py).into_any(), value])?)?;
            }
            Kind::Followed => {}
            Kind::Object | Kind::Array => {
                let name = if open.kind == Kind::Object {
                    self.names.end_map.clone_ref(py)
                } else {
                    self.names.end_array.clone_ref(py)
                };
                self.emit(
                    py,
                    out,
                    open.prefix.as_ref(),
                    &name,
                    &py.None().into_bound(py),
                )?;
            }
            Kind::Scalar => {
                let text = &self.buf[range()];
                let (name, value) = match text[0] {
                    b'"' => (
                        &self.names.string,
                        text_value(py, &text[1..text.len() - 1], &mut self.scratch)?.into_any(),
                    ),
                    b't' => (&self.names.boolean, true.into_bound_py_any(py)?),
                    b'f' => (&self.names.boolean, false.into_bound_py_any(py)?),
                    b'n' => (&self.names.null, py.None().into_bound(py)),
                    _ => (&self.names.number, self.builder.number(py, text)?),
                };
                let name = name.clone_ref(py);
                self.emit(py, out, open.prefix.as_ref(), &name, &value)?;
            }
        }
        Ok(())
    }

    fn emit(
        &self,
        py: Python<'_>,
        out: &Bound<'_, PyList>,
        prefix: Option<&Py<PyString>>,
        name: &Py<PyString>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let event = match (self.mode, prefix) {
            (Mode::Parse, Some(prefix)) => PyTuple::new(
                py,
                [prefix.bind(py).as_any(), name.bind(py).as_any(), value],
            )?,
            (Mode::Parse, None) => PyTuple::new(
                py,
                [
                    self.names.empty.bind(py).as_any(),
                    name.bind(py).as_any(),
                    value,
                ],
            )?,
            _ => PyTuple::new(py, [name.bind(py).as_any(), value])?,
        };
        out.append(event)
    }

    fn location(&self, offset: u64) -> spate::Location {
        let at = offset.clamp(self.base, self.base + self.buf.len() as u64);
        let rel = (at - self.base) as usize;
        let from = rel.saturating_sub(EXCERPT_CONTEXT);
        let to = (rel + EXCERPT_CONTEXT).min(self.buf.len());
        spate::Location {
            input: self.name.clone(),
            offset,
            position: self.lines.position(offset, &self.buf),
            excerpt: excerpt(&self.buf[from..to], rel - from),
        }
    }

    fn syntax_error(&self, error: SyntaxError) -> spate::Error {
        spate::Error::Syntax {
            location: self.location(error.offset),
            error: spate::SyntaxErrorKindOnly(error),
        }
    }
}
