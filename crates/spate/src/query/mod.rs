//! Queries on the stream: jq filters, parent context, aggregations.
//!
//! A [`Query`] says which items to select, which fields of enclosing values to attach to
//! them (`--with`), which jq program or Rust predicate to run on them, and how to group and
//! aggregate the results. [`Query::plan`] compiles it into the paths one selector matches in
//! a single pass; a [`QueryRunner`] (one per worker) turns the selected spans into results.
//!
//! ```
//! use spate::query::Query;
//!
//! let doc = br#"{"sessions": [
//!     {"id": "a", "delegations": [{"agent": "dev", "tokens": 5}, {"agent": "qa", "tokens": 2}]},
//!     {"id": "b", "delegations": [{"agent": "dev", "tokens": 7}]}]}"#;
//! let report = Query::new("sessions.item.delegations.item")?
//!     .with("session", "sessions.item.id")?
//!     .group_by(".agent")?
//!     .count()
//!     .sum(".tokens")?
//!     .aggregate(&doc[..])?;
//! assert_eq!(report.to_json_lines(), "{\".agent\":\"dev\",\"count\":2,\"sum(.tokens)\":12}\n\
//!                                     {\".agent\":\"qa\",\"count\":1,\"sum(.tokens)\":2}\n");
//! # Ok::<(), spate::Error>(())
//! ```

pub mod aggregate;
mod bytefilter;
pub mod decimal;
pub mod jq;
mod paths;
mod pipeline;
pub mod print;
mod projection;
mod pull;
mod runner;
pub mod spec;
mod val;

use std::fmt;
use std::io::Read;
use std::sync::Arc;

use spate_json::{Path, Step};

/// What to do when a filter fails on one item: the executor's policy, shared.
pub use crate::parallel::OnError;
pub use aggregate::{AggregateError, AggregateKind, Aggregates, GroupRow, Ignored};
pub use jq::{JqCompileError, JqFailure, JqProgram, JqRuntimeError};
pub use paths::{select_paths, PathsOutcome, PathsOutput};
pub use pipeline::{execute, QueryOutcome};
pub use print::{print, write_path_counts, PrintError, Printed, Printing};
pub use pull::{results, QueryResults};
pub use runner::{Emit, QueryError, QueryErrorKind, QueryRunner};
pub use spec::{QuerySpec, SpecError, SpecPart};
pub use val::MAX_VALUE_DEPTH;

use crate::error::Error;
use crate::items::{Items, ItemsOptions};

/// A Rust predicate on items (as `serde_json::Value`).
pub type Predicate = Arc<dyn Fn(&serde_json::Value) -> bool + Send + Sync>;

/// An expression of `--group-by` and the aggregates: always a compiled jq program, plus a
/// fast way to read it straight from the item's bytes when it is a plain path (`.a.b`,
/// `.a[0]`) and no filter reshapes the item.
#[derive(Debug)]
pub struct Expr {
    text: String,
    jq: JqProgram,
    /// The path relative to the item, when the expression is a plain path.
    relative: Option<Vec<Step>>,
}

impl Expr {
    /// Compiles an expression.
    pub fn compile(text: &str) -> Result<Expr, JqCompileError> {
        Ok(Expr {
            text: text.to_owned(),
            jq: JqProgram::compile(text)?,
            relative: plain_path(text),
        })
    }

    /// The expression as given.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// `.a.b[0]` as steps; `None` for anything that is not a plain path.
fn plain_path(text: &str) -> Option<Vec<Step>> {
    let t = text.trim();
    let rest = t.strip_prefix('.')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let mut steps = Vec::new();
    for (n, segment) in rest.split('.').enumerate() {
        let (name, mut index) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        let ident = |s: &str| {
            let mut chars = s.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if name.is_empty() && (n != 0 || index.is_empty()) {
            return None;
        }
        if !name.is_empty() {
            if !ident(name) {
                return None;
            }
            steps.push(Step::Key(name.as_bytes().to_vec()));
        }
        while !index.is_empty() {
            let close = index.find(']')?;
            let digits = index.get(1..close)?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            steps.push(Step::Index(digits.parse().ok()?));
            index = &index[close + 1..];
        }
    }
    Some(steps)
}

/// A query: items at a path, with context, a filter and aggregations. See the module docs.
#[derive(Clone)]
pub struct Query {
    pub(crate) items: Path,
    pub(crate) with: Vec<(String, Path)>,
    pub(crate) filter: Option<Arc<JqProgram>>,
    pub(crate) predicate: Option<Predicate>,
    pub(crate) group_by: Vec<Arc<Expr>>,
    pub(crate) aggregates: Vec<(AggregateKind, Option<Arc<Expr>>)>,
    pub(crate) raw_output: bool,
    pub(crate) count_only: bool,
    pub(crate) on_error: OnError,
    pub(crate) max_held: usize,
    pub(crate) max_groups: usize,
    pub(crate) byte_filters: bool,
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Query")
            .field("items", &self.items.as_str())
            .field("with", &self.with)
            .field("filter", &self.filter.as_ref().map(|p| p.code().to_owned()))
            .field("predicate", &self.predicate.is_some())
            .field("group_by", &self.group_by)
            .field("aggregates", &self.aggregates)
            .finish()
    }
}

impl Query {
    /// Items at `path` (ijson prefix or JSONPath; `.` is the whole value, as `""` and `$`).
    pub fn new(path: &str) -> Result<Query, Error> {
        Ok(Query {
            items: crate::inputs::parse_path(path)?,
            with: Vec::new(),
            filter: None,
            predicate: None,
            group_by: Vec::new(),
            aggregates: Vec::new(),
            raw_output: false,
            count_only: false,
            on_error: OnError::Fail,
            max_held: crate::items::DEFAULT_MAX_ITEM_SIZE,
            max_groups: aggregate::DEFAULT_MAX_GROUPS,
            byte_filters: true,
        })
    }

    /// Attaches the value at `path` (a field of a value enclosing the items, such as
    /// `sessions.item.session_id` for items at `sessions.item.delegations.item`) to each
    /// item as the member `name`. A field that comes after the items in the document makes
    /// the items wait (bounded by [`Query::max_held`]) until it is read.
    pub fn with(mut self, name: &str, path: &str) -> Result<Query, Error> {
        let path = Path::parse(path)?;
        if !self.items.is_simple() || !path.is_simple() {
            return Err(Error::Usage(format!(
                "{name}={path}: the items' path and the field's path must be made of \
                 names, wildcards and indexes (filters, unions, slices and '..' are not \
                 supported here)"
            )));
        }
        let common = common_prefix(self.items.steps(), path.steps());
        if path.steps()[common..]
            .iter()
            .any(|s| !matches!(s, Step::Key(_) | Step::Index(_)))
        {
            return Err(Error::Usage(format!(
                "{name}={path}: after the part it shares with the items' path ({}), \
                 the path must name one value (no [*] or item steps)",
                self.items
            )));
        }
        if path.steps().len() == common {
            return Err(Error::Usage(format!(
                "{name}={path}: the path selects the items or a value holding them, \
                 not a field"
            )));
        }
        self.with.push((name.to_owned(), path));
        Ok(self)
    }

    /// Runs a jq program on each item; its outputs are the results.
    pub fn jq(mut self, program: &str) -> Result<Query, Error> {
        self.filter = Some(Arc::new(JqProgram::compile(program)?));
        Ok(self)
    }

    /// Keeps only the items for which `keep` is true (before any jq program).
    pub fn filter(
        mut self,
        keep: impl Fn(&serde_json::Value) -> bool + Send + Sync + 'static,
    ) -> Query {
        self.predicate = Some(Arc::new(keep));
        self
    }

    /// Groups results by the value of a jq expression (repeatable: composite keys).
    pub fn group_by(mut self, expr: &str) -> Result<Query, Error> {
        self.group_by.push(Arc::new(Expr::compile(expr)?));
        Ok(self)
    }

    /// Counts results per group.
    pub fn count(mut self) -> Query {
        self.aggregates.push((AggregateKind::Count, None));
        self
    }

    /// Exact sum of an expression per group.
    pub fn sum(self, expr: &str) -> Result<Query, Error> {
        self.aggregate_of(AggregateKind::Sum, expr)
    }

    /// Smallest value of an expression per group.
    pub fn min(self, expr: &str) -> Result<Query, Error> {
        self.aggregate_of(AggregateKind::Min, expr)
    }

    /// Largest value of an expression per group.
    pub fn max(self, expr: &str) -> Result<Query, Error> {
        self.aggregate_of(AggregateKind::Max, expr)
    }

    /// Mean of an expression per group.
    pub fn mean(self, expr: &str) -> Result<Query, Error> {
        self.aggregate_of(AggregateKind::Mean, expr)
    }

    /// Adds an aggregate of `kind` over `expr`.
    pub fn aggregate_of(mut self, kind: AggregateKind, expr: &str) -> Result<Query, Error> {
        self.aggregates
            .push((kind, Some(Arc::new(Expr::compile(expr)?))));
        Ok(self)
    }

    /// Prints string results without quotes (like `jq -r`).
    pub fn raw_output(mut self, raw: bool) -> Query {
        self.raw_output = raw;
        self
    }

    /// Only the number of results matters: each result is written as an empty line (the
    /// line count stays right, and no time goes into formatting values).
    pub fn count_only(mut self, count_only: bool) -> Query {
        self.count_only = count_only;
        self
    }

    /// Whether a jq program of the common shapes (`select(...)` with comparisons, `and`,
    /// `or`, `not`, `length`, `has`, `type`, `startswith`, `endswith`, `contains`, `//`,
    /// then paths or an object made of them: see docs/filters.md) runs on the item's bytes
    /// without building a jq value. On by default. The results and errors are the same
    /// either way: an item whose answer the byte route cannot be certain of goes the jaq
    /// route. `false` sends every item the jaq route (to compare the two).
    pub fn byte_filters(mut self, on: bool) -> Query {
        self.byte_filters = on;
        self
    }

    /// Whether the query's jq program is of the shapes the byte route runs (see
    /// [`Query::byte_filters`]); `false` without a program.
    pub fn filter_runs_on_bytes(&self) -> bool {
        self.filter.as_ref().is_some_and(|p| p.runs_on_bytes())
    }

    /// The paths whose items the scan hands over with their direct children (the item
    /// path, when the filter runs on the items' bytes, or when aggregates read members of
    /// the item: both read them first).
    pub fn children_wanted(&self) -> u64 {
        let members = || self.plan().is_ok_and(|p| !p.members.is_empty());
        u64::from(self.byte_filters && self.filter_runs_on_bytes() || members())
    }

    /// What to do when the filter fails on an item.
    pub fn on_error(mut self, on_error: OnError) -> Query {
        self.on_error = on_error;
        self
    }

    /// Aggregations hold at most this many groups; one more is an error
    /// ([`QueryErrorKind::TooManyGroups`], [`RunError::TooManyGroups`](crate::parallel::RunError::TooManyGroups)).
    /// Default [`aggregate::DEFAULT_MAX_GROUPS`].
    pub fn max_groups(mut self, groups: usize) -> Query {
        self.max_groups = groups;
        self
    }

    /// Most bytes of items held while waiting for a `with` field that comes after them.
    pub fn max_held(mut self, bytes: usize) -> Query {
        self.max_held = bytes;
        self
    }

    /// The items' path.
    pub fn path(&self) -> &Path {
        &self.items
    }

    /// True when results are aggregated (group-by or any aggregate).
    pub fn aggregates(&self) -> bool {
        !self.group_by.is_empty() || !self.aggregates.is_empty()
    }

    /// The output field names of an aggregated result: the group-by expressions, then
    /// `count`, `sum(EXPR)`, ...
    pub fn column_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.group_by.iter().map(|e| e.text.clone()).collect();
        names.extend(self.aggregates.iter().map(|(kind, expr)| match expr {
            None => kind.name().to_owned(),
            Some(e) => format!("{}({})", kind.name(), e.text),
        }));
        names
    }

    /// Compiles the query into the paths of one selector pass.
    pub fn plan(&self) -> Result<Plan, Error> {
        Plan::new(self)
    }

    /// Runs the query over a JSON document read from `reader`, writing one result per line
    /// (JSON) to `out`; returns the runner (for its aggregates and counts).
    pub fn run<R: Read>(
        &self,
        reader: R,
        out: &mut dyn std::io::Write,
    ) -> Result<QueryRunner, Error> {
        let plan = Arc::new(self.plan()?);
        let mut items = Items::with_markers(
            reader,
            "<input>",
            plan.paths.clone(),
            plan.markers,
            ItemsOptions::default(),
        )?;
        items.record_children(self.children_wanted());
        let mut runner = QueryRunner::new(self.clone(), plan);
        let mut buf = Vec::new();
        while let Some(item) = items.next_item()? {
            buf.clear();
            runner.span(item, &mut buf).map_err(|error| Error::Filter {
                input: "<input>".to_owned(),
                error,
            })?;
            out.write_all(&buf).map_err(|source| Error::Io {
                input: "<output>".to_owned(),
                source,
            })?;
        }
        Ok(runner)
    }

    /// Runs the query over a JSON document and returns its results as values.
    pub fn results<R: Read>(&self, reader: R) -> Result<Vec<serde_json::Value>, Error> {
        let mut out = Vec::new();
        self.run(reader, &mut out)?;
        out.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                serde_json::from_slice(l).map_err(|source| Error::Decode { offset: 0, source })
            })
            .collect()
    }

    /// Runs the query over a JSON document and returns the aggregated report.
    pub fn aggregate<R: Read>(&self, reader: R) -> Result<Report, Error> {
        let runner = self.run(reader, &mut std::io::sink())?;
        Ok(Report {
            columns: self.column_names(),
            aggregates: runner
                .into_aggregates()
                .unwrap_or_else(|| Aggregates::new(Vec::new())),
            group_by: self.group_by.len(),
        })
    }
}

/// The aggregated result of a query. Serializes as its rows: an array of objects, one per
/// group sorted by key, with the numbers exactly as computed (sums of any size).
#[derive(Debug, Clone)]
pub struct Report {
    /// Output field names (group-by expressions, then aggregates).
    pub columns: Vec<String>,
    /// The merged aggregates.
    pub aggregates: Aggregates,
    group_by: usize,
}

impl Report {
    /// A report over merged `aggregates` of `query`.
    pub fn new(query: &Query, aggregates: Aggregates) -> Report {
        Report {
            columns: query.column_names(),
            aggregates,
            group_by: query.group_by.len(),
        }
    }

    /// One JSON object per group, sorted by key, one per line.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for row in self.aggregates.rows() {
            out.push_str(&String::from_utf8_lossy(&self.row_json(&row)));
            out.push('\n');
        }
        out
    }

    /// A group as a JSON object (field order: keys, then aggregates).
    pub fn row_json(&self, row: &GroupRow) -> Vec<u8> {
        let mut out = vec![b'{'];
        for (i, (name, value)) in self
            .columns
            .iter()
            .zip(row.keys.iter().take(self.group_by).chain(&row.values))
            .enumerate()
        {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(serde_json::to_string(name).unwrap_or_default().as_bytes());
            out.push(b':');
            out.extend_from_slice(value);
        }
        out.push(b'}');
        out
    }
}

impl serde::Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let rows = self.aggregates.rows();
        let raw = rows
            .iter()
            .map(|row| {
                let text = String::from_utf8(self.row_json(row)).map_err(S::Error::custom)?;
                serde_json::value::RawValue::from_string(text).map_err(S::Error::custom)
            })
            .collect::<Result<Vec<_>, _>>()?;
        serializer.collect_seq(raw)
    }
}

/// The compiled selector paths of a query.
///
/// Path 0 selects the items. Then come the `with` fields, the plain-path expressions read
/// from the items' bytes (`fields`), and the markers of the values enclosing a `with`
/// field (to know when such a value ends).
#[derive(Debug, Clone)]
pub struct Plan {
    /// All paths, in selector order.
    pub paths: Vec<Path>,
    /// Bit mask of the marker paths.
    pub markers: u64,
    /// Per `with` field: its path index and the path index of its enclosing value's
    /// marker (`None` when the enclosing value is the item itself).
    pub(crate) with: Vec<(usize, Option<usize>)>,
    /// Per plain-path expression (group-by first, then aggregates): its path index, or
    /// where it reads from instead.
    pub(crate) fields: Vec<FieldSource>,
    /// The names of the [`FieldSource::Member`] fields.
    pub(crate) members: Vec<Vec<u8>>,
}

/// Where a plain-path expression's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldSource {
    /// A selector path inside the item.
    Path(usize),
    /// A member of the item itself (`.name`): read from the item's text when the item
    /// ends, by the name at this index of [`Plan::members`].
    Member(usize),
    /// A `with` field of that index.
    With(usize),
    /// The item itself (`.`).
    Item,
    /// Not a plain path: run the jq program.
    Jq,
}

fn common_prefix(a: &[Step], b: &[Step]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl Plan {
    fn new(q: &Query) -> Result<Plan, Error> {
        let mut paths = vec![q.items.clone()];
        let mut with = Vec::new();
        let mut markers = 0u64;
        let mut marker_paths: Vec<(usize, usize)> = Vec::new(); // (common length, index)
        let item_steps = q.items.steps();
        for (_, path) in &q.with {
            let index = paths.len();
            paths.push(path.clone());
            let common = common_prefix(item_steps, path.steps());
            let marker = if common == item_steps.len() {
                None
            } else {
                match marker_paths.iter().find(|(c, _)| *c == common) {
                    Some(&(_, m)) => Some(m),
                    None => {
                        let m = paths.len();
                        let text = steps_to_jsonpath(&item_steps[..common]);
                        paths.push(Path::parse(&text)?);
                        markers |= 1 << m;
                        marker_paths.push((common, m));
                        Some(m)
                    }
                }
            };
            with.push((index, marker));
        }
        // Fields read by their own paths extend the items' steps: only when those are the
        // whole path (a JSONPath with filters, unions, slices or '..' reads fields by jq).
        let fast = q.filter.is_none() && q.predicate.is_none() && q.items.is_simple();
        let mut fields = Vec::new();
        let mut members: Vec<Vec<u8>> = Vec::new();
        let exprs = q
            .group_by
            .iter()
            .chain(q.aggregates.iter().filter_map(|(_, e)| e.as_ref()));
        for expr in exprs {
            let source = match (&expr.relative, fast) {
                (Some(rel), true) if rel.is_empty() => FieldSource::Item,
                (Some(rel), true) => {
                    let with_index = match &rel[0] {
                        Step::Key(k) => q
                            .with
                            .iter()
                            .position(|(name, _)| name.as_bytes() == &k[..]),
                        _ => None,
                    };
                    match (with_index, &rel[..]) {
                        (Some(w), [_]) => FieldSource::With(w),
                        (Some(_), _) => FieldSource::Jq,
                        // A member of the item is read off the positions of the item's
                        // members that the scan notes (see `runner::find_members`): the
                        // selector then tests no member name against the fields' paths
                        // and the scan pauses once per item, not once per field as well
                        // (about a tenth of an aggregation's CPU). Deeper paths stay with
                        // the selector.
                        (None, [Step::Key(name)]) => {
                            let at = match members.iter().position(|m| m == name) {
                                Some(at) => at,
                                None => {
                                    members.push(name.clone());
                                    members.len() - 1
                                }
                            };
                            FieldSource::Member(at)
                        }
                        (None, _) => {
                            let mut steps = item_steps.to_vec();
                            steps.extend(rel.iter().cloned());
                            let index = paths.len();
                            paths.push(Path::parse(&steps_to_jsonpath(&steps))?);
                            FieldSource::Path(index)
                        }
                    }
                }
                _ => FieldSource::Jq,
            };
            fields.push(source);
        }
        if paths.len() > spate_json::MAX_PATHS {
            return Err(Error::TooManyPaths {
                max: spate_json::MAX_PATHS,
                given: paths.len(),
            });
        }
        Ok(Plan {
            paths,
            markers,
            with,
            fields,
            members,
        })
    }
}

/// Writes steps as a JSONPath that parses back to the same steps (`item` stays `item` in
/// an ijson prefix when every step can be written so).
fn steps_to_jsonpath(steps: &[Step]) -> String {
    let ijson = steps.iter().all(|s| match s {
        Step::Item => true,
        Step::Key(k) => {
            k != b"item" && !k.is_empty() && !k.contains(&b'.') && std::str::from_utf8(k).is_ok()
        }
        _ => false,
    });
    if ijson {
        return steps
            .iter()
            .map(|s| match s {
                Step::Key(k) => String::from_utf8_lossy(k).into_owned(),
                _ => "item".to_owned(),
            })
            .collect::<Vec<_>>()
            .join(".");
    }
    let mut text = "$".to_owned();
    for s in steps {
        match s {
            Step::Key(k) => {
                let k = String::from_utf8_lossy(k);
                text.push_str(&format!(
                    "['{}']",
                    k.replace('\\', "\\\\").replace('\'', "\\'")
                ));
            }
            Step::Index(i) => text.push_str(&format!("[{i}]")),
            Step::Any => text.push_str("[*]"),
            // `item` mixed with steps only JSONPath can write: JSONPath has no exact
            // spelling for it; `[*]` is the same on arrays, which is what `item` is for.
            Step::Item => text.push_str("[*]"),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths() {
        assert_eq!(plain_path("."), Some(vec![]));
        assert_eq!(
            plain_path(".a.b_2"),
            Some(vec![Step::Key(b"a".to_vec()), Step::Key(b"b_2".to_vec())])
        );
        assert_eq!(
            plain_path(".a[0][12]"),
            Some(vec![
                Step::Key(b"a".to_vec()),
                Step::Index(0),
                Step::Index(12)
            ])
        );
        assert_eq!(plain_path(".[3]"), Some(vec![Step::Index(3)]));
        for not in [
            ".a | length",
            ".a[]",
            "1",
            ".a.",
            ".a-b",
            ".[\"x\"]",
            "..",
            "length",
        ] {
            assert_eq!(plain_path(not), None, "{not}");
        }
    }

    #[test]
    fn steps_round_trip_through_text() {
        for text in ["sessions.item", "$['a.b'][0]", "$.a[*].b", "item.item"] {
            let p = Path::parse(text).unwrap();
            let again = Path::parse(&steps_to_jsonpath(p.steps())).unwrap();
            assert_eq!(again.steps(), p.steps(), "{text}");
        }
    }
}
