//! Turning selected spans into results: attaching context, filtering, aggregating.
//!
//! A [`QueryRunner`] receives every span the plan's selector yields, in the order the spans
//! end: `with` fields, plain-path fields inside the current item, markers of enclosing
//! values, and the items. Fields end before the item (or enclosing value) holding them, so
//! by the time an item ends, its own fields are known, and so are the `with` fields written
//! before it. Items whose `with` field comes later are held, in order, until it is read or
//! its enclosing value ends (the field is then `null`).

use std::collections::VecDeque;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

use jaq_json::Val;

use super::aggregate::{AggregateError, Aggregates};
use super::decimal::NumberError;
use super::jq::{parse_with_need, JqFailure, JqRuntimeError};
use super::{FieldSource, OnError, Plan, Query};
use crate::items::{ItemRef, Shape};

/// An error while running a query on one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// Index of the item (from 0, in the order the items end in the input).
    pub item: u64,
    /// Byte offset of the item in its input (for JSON Lines: within its line).
    pub offset: u64,
    /// What went wrong.
    pub message: String,
    /// Which kind of failure it is.
    pub kind: QueryErrorKind,
}

/// The kinds of [`QueryError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryErrorKind {
    /// The filter or an aggregate failed on the item (a jq error, a number that cannot be
    /// summed).
    Failed,
    /// More bytes of items wait for a `with` field than [`super::Query::max_held`] allows.
    TooMuchHeld {
        /// The limit in bytes.
        limit: usize,
    },
    /// The filter halted (`halt`, `halt_error`): the run ends whatever the error policy.
    Halted {
        /// The exit code the filter asked for.
        code: i32,
    },
    /// The results fall into more groups than [`super::Query::max_groups`] allows: the
    /// run ends whatever the error policy.
    TooManyGroups {
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Where the item is (input, line, byte) is said by whoever knows the input.
        write!(f, "item {}: {}", self.item, self.message)
    }
}

impl std::error::Error for QueryError {}

struct Held {
    json: Vec<u8>,
    fields: Vec<Option<Vec<u8>>>,
    offset: u64,
    index: u64,
    /// The `with` values, `None` while still unknown.
    with: Vec<Option<Vec<u8>>>,
}

/// Runs a query on the spans of one input stream (one per worker). See the module docs.
pub struct QueryRunner {
    query: Query,
    plan: Arc<Plan>,
    /// Path index → role.
    roles: Vec<Role>,
    with_values: Vec<Option<Vec<u8>>>,
    field_values: Vec<Option<Vec<u8>>>,
    /// Buffers of field values already used, for the next fields: a field's text is
    /// compacted into one of these instead of a new allocation per field of every item.
    spare: Vec<Vec<u8>>,
    /// Where the item's members named in [`Plan::members`] are in its text (reused).
    members: Vec<Option<std::ops::Range<usize>>>,
    /// For decoding member names with escapes.
    scratch: Vec<u8>,
    held: VecDeque<Held>,
    held_bytes: usize,
    aggregates: Option<Aggregates>,
    /// The group-by expressions, then the aggregates' expressions (as in `plan.fields`).
    exprs: Vec<Arc<super::Expr>>,
    /// What the expressions run by jaq on the item read of it (see `super::projection`).
    item_need: super::projection::Need,
    results: u64,
    /// Results of the current span already handed to its `emit`.
    emitted: u64,
    /// The group limit was reached (the error is made where the item is known).
    too_many_groups: Option<usize>,
    items: u64,
    skipped: u64,
    /// Items the filter ran on by the byte route.
    on_bytes: u64,
    /// The objects the byte route reads in its first pass over an item: those the filter
    /// and the expressions run on its output read by paths.
    byte_keys: super::bytefilter::Keys,
    /// The names of the `with` fields, as the byte route joins them to the item.
    with_names: Arc<Vec<Vec<u8>>>,
    /// The same names as JSON strings (quoted, escaped), as the joined text writes them.
    quoted_names: Vec<Vec<u8>>,
}

/// Told of result lines as a filter makes them: see [`QueryRunner::span_streaming`].
pub type Emit<'e> = dyn FnMut(&mut Vec<u8>, u64) -> ControlFlow<()> + 'e;

impl fmt::Debug for QueryRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryRunner")
            .field("items", &self.items)
            .field("results", &self.results)
            .field("skipped", &self.skipped)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Item,
    With(usize),
    Field(usize),
    /// The end of an enclosing value: the `with` fields it holds are final.
    Marker,
}

impl QueryRunner {
    /// A runner for `query`, compiled as `plan`.
    pub fn new(query: Query, plan: Arc<Plan>) -> QueryRunner {
        let mut roles = vec![Role::Marker; plan.paths.len()];
        roles[0] = Role::Item;
        for (w, &(index, _)) in plan.with.iter().enumerate() {
            roles[index] = Role::With(w);
        }
        for (f, source) in plan.fields.iter().enumerate() {
            if let FieldSource::Path(index) = source {
                roles[*index] = Role::Field(f);
            }
        }
        let aggregates = query.aggregates().then(|| {
            Aggregates::new(query.aggregates.iter().map(|(k, _)| *k).collect())
                .with_max_groups(query.max_groups)
        });
        let exprs = query
            .group_by
            .iter()
            .cloned()
            .chain(query.aggregates.iter().filter_map(|(_, e)| e.clone()))
            .collect::<Vec<Arc<super::Expr>>>();
        let item_need = exprs
            .iter()
            .zip(&plan.fields)
            .filter(|(_, source)| matches!(source, FieldSource::Jq))
            .fold(None, |acc: Option<super::projection::Need>, (e, _)| {
                Some(match acc {
                    None => e.jq.need().clone(),
                    Some(n) => super::projection::union(&n, e.jq.need()),
                })
            })
            .unwrap_or(super::projection::Need::All);
        let mut byte_keys = super::bytefilter::Keys::default();
        if let Some(f) = query.filter.as_ref().and_then(|p| p.byte_filter()) {
            byte_keys.merge(f.keys());
            for e in &exprs {
                if let Some(f) = e.jq.byte_filter() {
                    byte_keys.merge(f.keys());
                }
            }
        }
        let with_names = Arc::new(
            query
                .with
                .iter()
                .map(|(name, _)| name.as_bytes().to_vec())
                .collect(),
        );
        let quoted_names = query
            .with
            .iter()
            .map(|(name, _)| serde_json::to_string(name).unwrap_or_default().into_bytes())
            .collect();
        QueryRunner {
            byte_keys,
            with_names,
            quoted_names,
            item_need,
            with_values: vec![None; plan.with.len()],
            field_values: vec![None; plan.fields.len()],
            spare: Vec::new(),
            members: Vec::new(),
            scratch: Vec::new(),
            query,
            plan,
            roles,
            held: VecDeque::new(),
            held_bytes: 0,
            aggregates,
            exprs,
            results: 0,
            emitted: 0,
            too_many_groups: None,
            items: 0,
            skipped: 0,
            on_bytes: 0,
        }
    }

    /// Handles one span from the plan's selector; appends result lines (JSON, one per line)
    /// to `out` and returns how many.
    pub fn span(&mut self, span: ItemRef<'_>, out: &mut Vec<u8>) -> Result<u64, QueryError> {
        self.span_streaming(span, out, &mut |_, _| ControlFlow::Continue(()))
    }

    /// [`QueryRunner::span`], handing results over as they come: after each result of the
    /// filter, `emit(out, n)` is told that `out` holds `n` more lines (it may take them out
    /// of `out`), and a `Break` from it ends the filter's run on this item — how an endless
    /// program (`repeat(1)`) stops at the output limit instead of filling memory. Returns
    /// the lines appended and not yet handed to `emit`.
    pub fn span_streaming(
        &mut self,
        span: ItemRef<'_>,
        out: &mut Vec<u8>,
        emit: &mut Emit<'_>,
    ) -> Result<u64, QueryError> {
        let before = self.results;
        self.emitted = 0;
        match self.roles[span.path_index()] {
            Role::With(w) => {
                let mut v = Vec::with_capacity(span.raw().len());
                span.compact_into(&mut v);
                for h in self.held.iter_mut() {
                    if h.with[w].is_none() {
                        h.with[w] = Some(v.clone());
                    }
                }
                self.with_values[w] = Some(v);
                self.release(out, emit)?;
            }
            Role::Field(f) => {
                let mut v = self.spare.pop().unwrap_or_default();
                v.clear();
                span.compact_into(&mut v);
                if let Some(old) = self.field_values[f].replace(v) {
                    self.recycle(old);
                }
            }
            Role::Marker => {
                // An enclosing value ended: the fields it holds are final (missing ones are
                // null) for the items waiting on them, and start over for the next one.
                let index = span.path_index();
                for (w, &(_, marker)) in self.plan.with.iter().enumerate() {
                    if marker == Some(index) {
                        for h in self.held.iter_mut() {
                            h.with[w].get_or_insert_with(|| b"null".to_vec());
                        }
                        self.with_values[w] = None;
                    }
                }
                self.release(out, emit)?;
            }
            Role::Item => {
                self.items += 1;
                // A field inside the item that ended before it is known: missing means null.
                let known = self
                    .plan
                    .with
                    .iter()
                    .zip(&self.with_values)
                    .all(|((_, marker), v)| v.is_some() || marker.is_none());
                let index = self.items - 1;
                if self.held.is_empty() && known {
                    // (the values are lent to the item, not copied: `None` reads as null;
                    // the fields' buffers go back to `spare` afterwards)
                    let mut fields = std::mem::take(&mut self.field_values);
                    let with = std::mem::take(&mut self.with_values);
                    let at = (index, span.offset());
                    let item = (span.raw(), span.shape());
                    let recorded = self.record(item, &fields, &with, at, out, emit);
                    self.with_values = with;
                    for v in fields.iter_mut().filter_map(Option::take) {
                        self.recycle(v);
                    }
                    self.field_values = fields;
                    recorded?;
                } else {
                    let fields = std::mem::replace(
                        &mut self.field_values,
                        vec![None; self.plan.fields.len()],
                    );
                    let with: Vec<Option<Vec<u8>>> = self
                        .plan
                        .with
                        .iter()
                        .zip(&self.with_values)
                        .map(|((_, marker), v)| match (v, marker) {
                            (Some(v), _) => Some(v.clone()),
                            (None, None) => Some(b"null".to_vec()),
                            (None, Some(_)) => None,
                        })
                        .collect();
                    self.held_bytes += span.raw().len();
                    if self.held_bytes > self.query.max_held {
                        return Err(QueryError {
                            item: self.items - 1,
                            offset: span.offset(),
                            message: format!(
                                "more than {} bytes of items wait for a `with` field that comes \
                                 after them in the document",
                                self.query.max_held
                            ),
                            kind: QueryErrorKind::TooMuchHeld {
                                limit: self.query.max_held,
                            },
                        });
                    }
                    self.held.push_back(Held {
                        json: span.raw().to_vec(),
                        fields,
                        offset: span.offset(),
                        index,
                        with,
                    });
                }
                // Fields inside the item end with it.
                for (w, &(_, marker)) in self.plan.with.iter().enumerate() {
                    if marker.is_none() {
                        self.with_values[w] = None;
                    }
                }
            }
        }
        Ok(self.results - before - self.emitted)
    }

    /// Keeps a field's buffer for the next field, unless it grew large (one big field must
    /// not hold its memory for the rest of the run).
    fn recycle(&mut self, v: Vec<u8>) {
        const KEEP: usize = 64 * 1024;
        if v.capacity() <= KEEP {
            self.spare.push(v);
        }
    }

    /// Releases held items, in order, as long as the first one has all its `with` fields.
    fn release(&mut self, out: &mut Vec<u8>, emit: &mut Emit<'_>) -> Result<(), QueryError> {
        while self
            .held
            .front()
            .is_some_and(|h| h.with.iter().all(Option::is_some))
        {
            let h = self.held.pop_front().expect("checked");
            self.held_bytes -= h.json.len();
            let item = (&h.json[..], Shape::default());
            self.record(item, &h.fields, &h.with, (h.index, h.offset), out, emit)?;
        }
        Ok(())
    }

    /// One item (its text, and what the scan found out about it) with its context (`with`
    /// values: `None` is null): filter, then output or aggregate.
    fn record(
        &mut self,
        item: (&[u8], Shape<'_>),
        fields: &[Option<Vec<u8>>],
        with: &[Option<Vec<u8>>],
        at: (u64, u64),
        out: &mut Vec<u8>,
        emit: &mut Emit<'_>,
    ) -> Result<(), QueryError> {
        let mut result = self.filtered(item, fields, with, at, out, emit);
        if let Some(limit) = self.too_many_groups.take() {
            result = Err(QueryError {
                item: at.0,
                offset: at.1,
                message: format!(
                    "the results fall into more than {limit} groups, the most an aggregation \
                     holds"
                ),
                kind: QueryErrorKind::TooManyGroups { limit },
            });
        }
        match (result, self.query.on_error) {
            (Ok(()), _) => Ok(()),
            (Err(e), OnError::Skip)
                if !matches!(
                    e.kind,
                    QueryErrorKind::Halted { .. } | QueryErrorKind::TooManyGroups { .. }
                ) =>
            {
                self.skipped += 1;
                Ok(())
            }
            (Err(e), OnError::Skip) => Err(e),
            (Err(e), OnError::Fail) => Err(e),
        }
    }

    /// The item `raw` joined with its `with` fields (see [`QueryRunner::attach_context`]):
    /// the byte route joins them as it reads the item; the others get the joined text.
    fn filtered(
        &mut self,
        (raw, shape): (&[u8], Shape<'_>),
        fields: &[Option<Vec<u8>>],
        with: &[Option<Vec<u8>>],
        (item, offset): (u64, u64),
        out: &mut Vec<u8>,
        emit: &mut Emit<'_>,
    ) -> Result<(), QueryError> {
        let fail = |message: String| QueryError {
            item,
            offset,
            message,
            kind: QueryErrorKind::Failed,
        };
        let mut joined: Option<Vec<u8>> = None;
        if let Some(keep) = &self.query.predicate {
            let json = match self.plan.with.is_empty() {
                true => raw,
                false => joined.get_or_insert_with(|| self.attach_context(raw, with)),
            };
            let value: serde_json::Value =
                serde_json::from_slice(json).map_err(|e| fail(e.to_string()))?;
            if !keep(&value) {
                return Ok(());
            }
        }
        let program = self.query.filter.clone();
        if let (Some(program), true) = (&program, self.query.byte_filters) {
            if let Some(done) = self.byte_route(program, (raw, shape), with, out, emit) {
                return done.map_err(fail);
            }
        }
        if program.is_none() && self.aggregates.is_none() && joined.is_none() {
            // The item itself with its fields: compacted and joined in one pass over it.
            self.results += 1;
            if !self.query.count_only {
                self.write_joined(raw, with, out);
            }
            out.push(b'\n');
            return Ok(());
        }
        let json: &[u8] = match self.plan.with.is_empty() {
            true => raw,
            false => joined.get_or_insert_with(|| self.attach_context(raw, with)),
        };
        match program {
            Some(program) => {
                let input = program.parse_input(json).map_err(|e| fail(e.0))?;
                let mut failure = None;
                let mut enough = false;
                let ran = program.run_halting(input, |v| {
                    let before = self.results;
                    if let Err(e) = self.result_val(&v, out) {
                        failure = Some(e);
                        return Err(JqRuntimeError(String::new()));
                    }
                    let n = self.results - before;
                    self.emitted += n;
                    if emit(out, n).is_break() {
                        enough = true;
                        return Err(JqRuntimeError(String::new()));
                    }
                    Ok(())
                });
                if enough {
                    return Ok(());
                }
                ran.map_err(|e| match e {
                    JqFailure::Error(e) => fail(failure.take().unwrap_or(e.0)),
                    JqFailure::Halt(code) => QueryError {
                        item,
                        offset,
                        message: format!("the filter halted with exit code {code}"),
                        kind: QueryErrorKind::Halted { code },
                    },
                })?;
                Ok(())
            }
            None => self
                .result_raw((json, raw, shape), fields, with, out)
                .map_err(fail),
        }
    }

    /// The filter run on the item's bytes (see [`super::bytefilter`]): `None` when the
    /// program or this item must go the jaq route (nothing was written then). Results are
    /// made as [`QueryRunner::result_val`] makes them from jaq's value.
    fn byte_route(
        &mut self,
        program: &super::JqProgram,
        (raw, shape): (&[u8], Shape<'_>),
        with: &[Option<Vec<u8>>],
        out: &mut Vec<u8>,
        emit: &mut Emit<'_>,
    ) -> Option<Result<(), String>> {
        use super::bytefilter::{print, Walker};
        let filter = program.byte_filter()?;
        let names = self.with_names.clone();
        let mut walker = Walker::default();
        let Some(v) = filter
            .run(
                (raw, shape),
                (&names[..], with),
                &mut walker,
                &self.byte_keys,
            )
            .ok()?
        else {
            self.on_bytes += 1;
            return Some(Ok(()));
        };
        // everything is worked out before anything is written or counted
        let made = if self.aggregates.is_some() {
            let mut texts: Vec<Vec<u8>> = Vec::with_capacity(self.exprs.len());
            for expr in &self.exprs {
                let r = expr.jq.byte_filter()?.run_on(&v, &mut walker).ok()?;
                let mut text = Vec::new();
                match r {
                    Some(r) => print(&r, false, &mut text).ok()?,
                    // (an expression without output counts as `null`, as `first` says)
                    None => text.extend_from_slice(b"null"),
                }
                texts.push(text);
            }
            Err(texts)
        } else {
            // (written in place, taken back if the byte route cannot print it)
            let mark = out.len();
            if !self.query.count_only && print(&v, self.query.raw_output, out).is_err() {
                out.truncate(mark);
                return None;
            }
            Ok(())
        };
        self.on_bytes += 1;
        self.results += 1;
        match made {
            Ok(()) => out.push(b'\n'),
            Err(texts) => {
                let texts: Vec<Option<&[u8]>> = texts.iter().map(|t| Some(&t[..])).collect();
                if let Err(e) = self.add_to_aggregates(&texts) {
                    return Some(Err(e));
                }
            }
        }
        self.emitted += 1;
        // (a program of this grammar has one output at most: a stop changes nothing)
        let _ = emit(out, 1);
        Some(Ok(()))
    }

    /// A result that is the item itself (no jq program).
    /// `json` is the item as the filter sees it (with its `with` fields joined), `raw` the
    /// item's own text and `shape` what the scan found out about it.
    fn result_raw(
        &mut self,
        (json, raw, shape): (&[u8], &[u8], Shape<'_>),
        fields: &[Option<Vec<u8>>],
        with: &[Option<Vec<u8>>],
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        self.results += 1;
        if self.aggregates.is_none() {
            if !self.query.count_only {
                spate_json::compact::compact_into(json, out);
            }
            out.push(b'\n');
            return Ok(());
        }
        // The fields the selector read are lent, not copied, and so are the item's members
        // (a container compacted first); only what is computed here (the item itself, a jq
        // expression's result) is owned.
        let mut members = std::mem::take(&mut self.members);
        find_members(
            (raw, shape),
            &self.plan.members,
            &mut members,
            &mut self.scratch,
        );
        // (allocated only when a field is computed: most aggregates need none)
        let mut made: Vec<Option<Vec<u8>>> = Vec::new();
        let mut parsed: Option<Val> = None;
        for (i, expr) in self.exprs.iter().enumerate() {
            let compact = |text: &[u8]| {
                let mut v = Vec::new();
                spate_json::compact::compact_into(text, &mut v);
                v
            };
            let text = match self.plan.fields[i] {
                FieldSource::Member(m) => match &members[m] {
                    Some(r) if matches!(raw[r.start], b'{' | b'[') => compact(&raw[r.clone()]),
                    _ => continue,
                },
                FieldSource::Item => compact(json),
                FieldSource::Jq => {
                    if parsed.is_none() {
                        parsed = Some(parse_with_need(json, &self.item_need).map_err(|e| e.0)?);
                    }
                    let input = parsed.clone().expect("parsed above");
                    let v = expr.jq.first(input).map_err(|e| e.0)?;
                    v.to_string().into_bytes()
                }
                FieldSource::Path(_) | FieldSource::With(_) => continue,
            };
            made.resize(self.exprs.len(), None);
            made[i] = Some(text);
        }
        let texts: Vec<Option<&[u8]>> = (0..self.exprs.len())
            .map(|i| match self.plan.fields[i] {
                FieldSource::Path(_) => fields.get(i).and_then(|v| v.as_deref()),
                FieldSource::With(w) => {
                    Some(with.get(w).and_then(|v| v.as_deref()).unwrap_or(b"null"))
                }
                FieldSource::Member(m) => made
                    .get(i)
                    .and_then(|v| v.as_deref())
                    .or_else(|| members[m].clone().map(|r| &raw[r])),
                FieldSource::Item | FieldSource::Jq => made.get(i).and_then(|v| v.as_deref()),
            })
            .collect();
        let added = self.add_to_aggregates(&texts);
        self.members = members;
        added
    }

    /// A result produced by the jq program.
    fn result_val(&mut self, v: &Val, out: &mut Vec<u8>) -> Result<(), String> {
        self.results += 1;
        if self.aggregates.is_none() && self.query.count_only {
            out.push(b'\n');
            return Ok(());
        }
        if self.aggregates.is_none() {
            match v {
                Val::TStr(s) if self.query.raw_output => out.extend_from_slice(s),
                _ => out.extend_from_slice(v.to_string().as_bytes()),
            }
            out.push(b'\n');
            return Ok(());
        }
        let mut texts = Vec::with_capacity(self.exprs.len());
        for expr in &self.exprs {
            let r = expr.jq.first(v.clone()).map_err(|e| e.0)?;
            texts.push(r.to_string().into_bytes());
        }
        let texts: Vec<Option<&[u8]>> = texts.iter().map(|t| Some(&t[..])).collect();
        self.add_to_aggregates(&texts)
    }

    /// One result's group keys, then its aggregates' values (the expressions in `exprs`'
    /// order; `None` is null), added to the aggregates.
    fn add_to_aggregates(&mut self, texts: &[Option<&[u8]>]) -> Result<(), String> {
        let groups = self.query.group_by.len();
        let keys = texts[..groups].iter().map(|t| t.unwrap_or(b"null"));
        // `count` has no expression: line the values up with the aggregates (on the stack
        // for the usual few).
        let n = self.query.aggregates.len();
        let mut small = [None; 8];
        let mut large = Vec::new();
        let values: &mut [Option<&[u8]>] = if n <= small.len() {
            &mut small[..n]
        } else {
            large.resize(n, None);
            &mut large
        };
        let mut next = groups;
        for (slot, (_, expr)) in values.iter_mut().zip(&self.query.aggregates) {
            if expr.is_some() {
                *slot = texts[next];
                next += 1;
            }
        }
        let aggregates = self.aggregates.as_mut().expect("aggregating");
        let e = match aggregates.try_add_keyed(keys, values) {
            Ok(()) => return Ok(()),
            Err(AggregateError::TooManyGroups { limit }) => {
                self.too_many_groups = Some(limit);
                return Err(String::new());
            }
            Err(AggregateError::Number(e)) => e,
        };
        Err(match e {
            NumberError::ExponentTooLarge => format!(
                "a number's exponent is beyond ±{} and cannot be summed exactly",
                super::decimal::MAX_EXPONENT
            ),
            NumberError::NotANumber => "not a number".to_owned(),
            NumberError::TooLong => format!(
                "a number has more than {} digits, the most a sum, a minimum, a maximum or a \
                 group key takes",
                super::decimal::MAX_DIGITS
            ),
        })
    }

    /// The compact text of the item with the `with` fields added as members (see
    /// [`QueryRunner::attach_context`]), appended to `out` in one pass over the item.
    fn write_joined(&self, raw: &[u8], with: &[Option<Vec<u8>>], out: &mut Vec<u8>) {
        if self.quoted_names.is_empty() {
            spate_json::compact::compact_into(raw, out);
            return;
        }
        let start = out.len();
        spate_json::compact::compact_into(raw, out);
        if out.get(start) == Some(&b'{') {
            out.pop(); // its `}`
            if out.len() > start + 1 {
                out.push(b',');
            }
        } else {
            let item = out.split_off(start);
            out.extend_from_slice(b"{\"value\":");
            out.extend_from_slice(&item);
            out.push(b',');
        }
        for (i, name) in self.quoted_names.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(name);
            out.push(b':');
            out.extend_from_slice(with[i].as_deref().unwrap_or(b"null"));
        }
        out.push(b'}');
    }

    /// The item with the `with` fields added as members (a non-object item becomes
    /// `{"value": ITEM, ...}`; missing fields are `null`), as compact text.
    fn attach_context(&self, raw: &[u8], with: &[Option<Vec<u8>>]) -> Vec<u8> {
        let mut json = Vec::with_capacity(raw.len() + 64);
        self.write_joined(raw, with, &mut json);
        json
    }

    /// Number of items seen.
    pub fn items(&self) -> u64 {
        self.items
    }

    /// Number of results produced (filter outputs, or items without a filter).
    pub fn results(&self) -> u64 {
        self.results
    }

    /// Items the filter ran on by the byte route, building no jq value (see
    /// [`Query::byte_filters`](super::Query::byte_filters)); the others went the jaq route.
    pub fn items_on_bytes(&self) -> u64 {
        self.on_bytes
    }

    /// Items skipped because the filter failed on them (with `OnError::Skip`).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The aggregates (when the query aggregates), to merge with other workers'.
    pub fn into_aggregates(self) -> Option<Aggregates> {
        self.aggregates
    }

    /// The aggregates so far.
    pub fn aggregates(&self) -> Option<&Aggregates> {
        self.aggregates.as_ref()
    }
}

/// Finds the members of the object `item` (validated JSON text) named in `names`: sets
/// `found[i]` to where the value of `names[i]` is in `item`, or `None` when the item has no
/// such member or is not an object. A name given twice takes its last value, as jq does.
/// The members are read off the children the scan recorded (see [`Shape`]); an item
/// without them (too many children, an item held for a later `with` field) is walked.
fn find_members(
    (item, shape): (&[u8], Shape<'_>),
    names: &[Vec<u8>],
    found: &mut Vec<Option<std::ops::Range<usize>>>,
    scratch: &mut Vec<u8>,
) {
    use spate_json::walk::{unescape_into, Event, Walker};
    use std::cmp::Ordering;
    found.clear();
    found.resize(names.len(), None);
    // (an array's elements are recorded with empty names, like a member named "")
    let object = item
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{');
    if names.is_empty() || !object {
        return;
    }
    let at = |value: &[u8]| {
        let start = value.as_ptr() as usize - item.as_ptr() as usize;
        start..start + value.len()
    };
    if let Some(children) = shape.children {
        let read = children.read(item, shape.base, |key, value| {
            // A name as written is as long as its text only without escapes, longer with
            // them: most names are told apart by their length, the rest byte for byte.
            let hit = names
                .iter()
                .position(|name| match key.len().cmp(&name.len()) {
                    Ordering::Less => false,
                    Ordering::Equal => key == &name[..] && !name.contains(&b'\\'),
                    // (the bytes before the first escape are the name's first bytes)
                    Ordering::Greater => {
                        (name.first() == key.first() || key[0] == b'\\')
                            && key.contains(&b'\\')
                            && {
                                scratch.clear();
                                unescape_into(key, scratch);
                                scratch == name
                            }
                    }
                });
            if let Some(i) = hit {
                found[i] = Some(at(value));
            }
        });
        if read {
            return;
        }
        found.fill(None);
    }
    let mut walker = Walker::new(item);
    if walker.next() != Some(Event::BeginObject) {
        return;
    }
    while let Some(Event::Key(key)) = walker.next() {
        let name = key.decode(scratch);
        let hit = names.iter().position(|n| n[..] == *name);
        let Some(value) = walker.skip_value() else {
            return;
        };
        if let Some(i) = hit {
            found[i] = Some(at(value));
        }
    }
}
