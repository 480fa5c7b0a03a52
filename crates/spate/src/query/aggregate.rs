//! Group-by aggregations whose partial states merge.
//!
//! Each worker keeps its own [`Aggregates`]; merging the partials in any grouping gives the
//! same answer as one sequential run (counts and exact sums commute; min and max are
//! idempotent), so parallel and sequential runs share this code.

use std::cmp::Ordering;

use super::decimal::{Decimal, NumberError};

/// The groups by their key: foldhash rather than the standard SipHash, which was a tenth
/// of an aggregation's CPU on short keys. foldhash's state is seeded at random per
/// process, so the keys of one input cannot be chosen to collide (and the number of
/// groups is bounded besides).
type GroupMap = std::collections::HashMap<Box<[u8]>, Box<[State]>, foldhash::fast::RandomState>;

/// What to compute per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateKind {
    /// Number of results.
    Count,
    /// Exact sum of the numbers.
    Sum,
    /// Smallest value (jq's ordering of values).
    Min,
    /// Largest value.
    Max,
    /// Mean of the numbers (exact sum divided by their count).
    Mean,
}

impl AggregateKind {
    /// The name used in output field names.
    pub fn name(self) -> &'static str {
        match self {
            AggregateKind::Count => "count",
            AggregateKind::Sum => "sum",
            AggregateKind::Min => "min",
            AggregateKind::Max => "max",
            AggregateKind::Mean => "mean",
        }
    }
}

/// A JSON value ordered as jq orders values: null < false < true < numbers < strings <
/// arrays < objects. Numbers compare exactly, strings by their decoded text; arrays and
/// objects by their compact text (a documented simplification).
///
/// Kept small (it is held per group for `min` and `max`): strings are compared by their
/// text, decoded only when either has an escape.
#[derive(Debug, Clone)]
pub struct Scalar {
    rank: u8,
    number: Option<Box<Decimal>>,
    /// The value's compact JSON text, as it is printed.
    text: Box<[u8]>,
}

/// jq's rank of a value's type, from its first byte.
fn rank_of(text: &[u8]) -> u8 {
    match text.first().copied().unwrap_or(b'n') {
        b'n' => 0,
        b'f' => 1,
        b't' => 2,
        b'-' | b'0'..=b'9' => 3,
        b'"' => 4,
        b'[' => 5,
        _ => 6,
    }
}

/// Orders two compact JSON texts as [`Scalar`]s do, building nothing for the common
/// cases.
fn cmp_texts(a: &[u8], b: &[u8]) -> Ordering {
    let (ra, rb) = (rank_of(a), rank_of(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match ra {
        3 => match (Decimal::parse(a), Decimal::parse(b)) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.cmp(b),
        },
        4 => cmp_strings(a, b),
        _ => a.cmp(b),
    }
}

/// A group's place in the sorted output, made once per group for the cases that decide
/// most comparisons in one step (sorting a million groups makes some twenty million
/// comparisons): a single string key without escapes by its bytes, a single integer key
/// that fits an `i64` by its value. Anything else compares its whole id key by key.
#[derive(Clone, Copy)]
enum SortKey<'a> {
    /// The UTF-8 bytes between the quotes, whose byte order is the text's order.
    Text(&'a [u8]),
    Integer(i64),
    /// The whole group id.
    Id(&'a [u8]),
}

impl<'a> SortKey<'a> {
    fn of(id: &'a [u8]) -> Self {
        let single = id.strip_suffix(&[0]).filter(|key| !key.contains(&0));
        match single {
            Some(key) if key.len() >= 2 && key[0] == b'"' && !key.contains(&b'\\') => {
                SortKey::Text(&key[1..key.len() - 1])
            }
            Some(key) if plain_integer(key) => std::str::from_utf8(key)
                .ok()
                .and_then(|k| k.parse().ok())
                .map_or(SortKey::Id(id), SortKey::Integer),
            _ => SortKey::Id(id),
        }
    }

    /// jq's rank of the (first) key's type.
    fn rank(&self) -> u8 {
        match self {
            SortKey::Text(_) => 4,
            SortKey::Integer(_) => 3,
            SortKey::Id(id) => rank_of(id),
        }
    }
}

/// Orders groups key by key as jq orders the key values.
fn cmp_groups(a: (SortKey, &[u8]), b: (SortKey, &[u8])) -> Ordering {
    match (a.0, b.0) {
        (SortKey::Text(x), SortKey::Text(y)) => x.cmp(y),
        (SortKey::Integer(x), SortKey::Integer(y)) => x.cmp(&y),
        (x, y) if x.rank() != y.rank() => x.rank().cmp(&y.rank()),
        _ => cmp_ids(a.1, b.1),
    }
}

/// Orders group ids key by key, as jq orders the key values.
fn cmp_ids(a: &[u8], b: &[u8]) -> Ordering {
    key_texts(a)
        .zip(key_texts(b))
        .map(|(x, y)| cmp_texts(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Strings by their decoded text. Without escapes, the bytes between the quotes are the
/// UTF-8 of the text, whose byte order is its character order.
fn cmp_strings(a: &[u8], b: &[u8]) -> Ordering {
    if !a.contains(&b'\\') && !b.contains(&b'\\') && a.len() >= 2 && b.len() >= 2 {
        return a[1..a.len() - 1].cmp(&b[1..b.len() - 1]);
    }
    match (
        serde_json::from_slice::<String>(a),
        serde_json::from_slice::<String>(b),
    ) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

impl Scalar {
    /// Reads a compact JSON value's text.
    pub fn from_json(text: &[u8]) -> Scalar {
        let rank = rank_of(text);
        let number = if rank == 3 {
            Decimal::parse(text).ok().map(Box::new)
        } else {
            None
        };
        Scalar {
            rank,
            number,
            text: text.into(),
        }
    }

    /// The value's JSON text.
    pub fn text(&self) -> &[u8] {
        &self.text
    }
}

/// Appends the group id text of one key: numbers by value (`1E2`, `100.0` and `100` are
/// one group, as are `0` and `-0`), strings by their text, everything else by its compact
/// text.
fn push_key_id(id: &mut Vec<u8>, key: &[u8]) -> Result<(), NumberError> {
    match key.first() {
        Some(b'-' | b'0'..=b'9') if !plain_integer(key) => match Decimal::parse(key) {
            Ok(d) => id.extend_from_slice(d.canonical().as_bytes()),
            Err(NumberError::TooLong) => return Err(NumberError::TooLong),
            // Beyond the exponent range: by its text.
            Err(_) => id.extend_from_slice(key),
        },
        Some(b'-' | b'0'..=b'9') if key.len() > super::decimal::MAX_DIGITS + 1 => {
            return Err(NumberError::TooLong)
        }
        // A string with escapes by its text written the one way (`"\u0041"` is `"A"`), as
        // jq groups them; the few escapes JSON requires stay.
        Some(b'"') if key.contains(&b'\\') => match serde_json::from_slice::<String>(key) {
            Ok(text) => match serde_json::to_writer(&mut *id, &text) {
                Ok(()) => {}
                Err(_) => id.extend_from_slice(key),
            },
            Err(_) => id.extend_from_slice(key),
        },
        _ => id.extend_from_slice(key),
    }
    id.push(0);
    Ok(())
}

/// An integer already written the one way its value is (no sign on zero, no fraction, no
/// exponent): most keys, which then need no parsing.
fn plain_integer(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    digits.iter().all(u8::is_ascii_digit) && digits != b"0" || text == b"0"
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Scalar {}

impl PartialOrd for Scalar {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scalar {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank
            .cmp(&other.rank)
            .then_with(|| match (&self.number, &other.number) {
                (Some(a), Some(b)) => a.cmp(b),
                _ if self.rank == 4 => cmp_strings(&self.text, &other.text),
                _ => self.text.cmp(&other.text),
            })
    }
}

/// One aggregate's state in one group.
#[derive(Debug, Clone)]
enum State {
    Count(u64),
    Sum { sum: Decimal, numbers: u64 },
    Min(Option<Scalar>),
    Max(Option<Scalar>),
}

impl State {
    fn new(kind: AggregateKind) -> State {
        match kind {
            AggregateKind::Count => State::Count(0),
            AggregateKind::Sum | AggregateKind::Mean => State::Sum {
                sum: Decimal::ZERO,
                numbers: 0,
            },
            AggregateKind::Min => State::Min(None),
            AggregateKind::Max => State::Max(None),
        }
    }

    fn merge(&mut self, other: State) {
        match (self, other) {
            (State::Count(a), State::Count(b)) => *a += b,
            (State::Sum { sum, numbers }, State::Sum { sum: s, numbers: n }) => {
                sum.add(&s);
                *numbers += n;
            }
            (State::Min(a), State::Min(b)) => {
                if let Some(b) = b {
                    if a.as_ref().is_none_or(|a| b < *a) {
                        *a = Some(b);
                    }
                }
            }
            (State::Max(a), State::Max(b)) => {
                if let Some(b) = b {
                    if a.as_ref().is_none_or(|a| b > *a) {
                        *a = Some(b);
                    }
                }
            }
            _ => unreachable!("states of one aggregate have one kind"),
        }
    }
}

/// Values an aggregate could not use, counted so that nothing is dropped silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ignored {
    /// `null` (or missing) values.
    pub nulls: u64,
    /// Values that are not numbers (for sums and means).
    pub not_numbers: u64,
}

/// The partial (or final) aggregates of a run.
#[derive(Debug, Clone)]
pub struct Aggregates {
    kinds: Vec<AggregateKind>,
    /// By group id: the keys' texts, each followed by a 0 byte (compact JSON has none;
    /// numbers written as [`Decimal::canonical`] does, so it is also the keys as printed).
    groups: GroupMap,
    ignored: Vec<Ignored>,
    /// New groups past this many are an error ([`AggregateError::TooManyGroups`]).
    max_groups: usize,
    /// The group id of the result being added, built here so that a result of a group
    /// already open allocates nothing (two allocations a result showed in profiles of a
    /// 226,000-item aggregation).
    id: Vec<u8>,
}

/// Why a result could not be added to the aggregates.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AggregateError {
    /// A value that is not a number that can be summed exactly.
    Number(NumberError),
    /// The result would open one group more than the limit allows.
    TooManyGroups {
        /// The limit.
        limit: usize,
    },
}

impl From<NumberError> for AggregateError {
    fn from(e: NumberError) -> Self {
        AggregateError::Number(e)
    }
}

/// The default bound on the number of groups (each takes about 150 bytes plus its keys'
/// text and any min/max values).
pub const DEFAULT_MAX_GROUPS: usize = 10_000_000;

/// One output group.
#[derive(Debug, Clone)]
pub struct GroupRow {
    /// The group key values (one per `--group-by`), as JSON text.
    pub keys: Vec<Vec<u8>>,
    /// One JSON text per aggregate, in the order given.
    pub values: Vec<Vec<u8>>,
}

impl Aggregates {
    /// Empty aggregates computing `kinds` per group.
    pub fn new(kinds: Vec<AggregateKind>) -> Self {
        let ignored = vec![Ignored::default(); kinds.len()];
        Aggregates {
            kinds,
            groups: GroupMap::default(),
            ignored,
            max_groups: usize::MAX,
            id: Vec::new(),
        }
    }

    /// Makes [`Aggregates::try_add`] refuse to open more than `max` groups.
    pub fn with_max_groups(mut self, max: usize) -> Self {
        self.max_groups = max;
        self
    }

    /// Adds one result: its group key texts (compact JSON) and, per aggregate, the value
    /// (compact JSON text; `None` for `count` or a missing value). Ignores the group limit.
    pub fn add(&mut self, keys: &[&[u8]], values: &[Option<&[u8]>]) -> Result<(), NumberError> {
        let max = std::mem::replace(&mut self.max_groups, usize::MAX);
        let added = self.try_add(keys, values);
        self.max_groups = max;
        added.map_err(|e| match e {
            AggregateError::Number(e) => e,
            AggregateError::TooManyGroups { .. } => unreachable!("no limit"),
        })
    }

    /// [`Aggregates::add`] within the group limit ([`Aggregates::with_max_groups`]).
    pub fn try_add(
        &mut self,
        keys: &[&[u8]],
        values: &[Option<&[u8]>],
    ) -> Result<(), AggregateError> {
        self.try_add_keyed(keys.iter().copied(), values)
    }

    /// [`Aggregates::try_add`] with the keys from an iterator (a query's keys are lent by
    /// whatever holds them, without a slice of them made per result).
    pub(crate) fn try_add_keyed<'k>(
        &mut self,
        keys: impl Iterator<Item = &'k [u8]>,
        values: &[Option<&[u8]>],
    ) -> Result<(), AggregateError> {
        self.id.clear();
        for k in keys {
            push_key_id(&mut self.id, k)?;
        }
        let id = &self.id[..];
        // One look-up for a group seen before (almost every result); a new group pays a
        // second one to be inserted.
        let states = match self.groups.get_mut(id) {
            Some(states) => states,
            None => {
                if self.groups.len() >= self.max_groups {
                    return Err(AggregateError::TooManyGroups {
                        limit: self.max_groups,
                    });
                }
                let states = self.kinds.iter().map(|&k| State::new(k)).collect();
                self.groups.entry(id.into()).or_insert(states)
            }
        };
        for (i, state) in states.iter_mut().enumerate() {
            let value = values.get(i).copied().flatten();
            let is_null = value.is_none_or(|v| v == b"null");
            match state {
                State::Count(n) => *n += 1,
                State::Sum { sum, numbers } => {
                    if is_null {
                        self.ignored[i].nulls += 1;
                        continue;
                    }
                    match Decimal::parse(value.unwrap_or_default()) {
                        Ok(d) => {
                            sum.add(&d);
                            *numbers += 1;
                        }
                        Err(NumberError::NotANumber) => self.ignored[i].not_numbers += 1,
                        Err(e) => return Err(e.into()),
                    }
                }
                State::Min(best) | State::Max(best) => {
                    if is_null {
                        self.ignored[i].nulls += 1;
                        continue;
                    }
                    let value = value.unwrap_or_default();
                    let v = Scalar::from_json(value);
                    if v.rank == 3 && v.number.is_none() && value.len() > super::decimal::MAX_DIGITS
                    {
                        return Err(NumberError::TooLong.into());
                    }
                    let better = match (&*best, self.kinds[i]) {
                        (None, _) => true,
                        (Some(b), AggregateKind::Min) => v < *b,
                        (Some(b), _) => v > *b,
                    };
                    if better {
                        *best = Some(v);
                    }
                }
            }
        }
        Ok(())
    }

    /// Merges another partial into this one.
    pub fn merge(&mut self, other: Aggregates) {
        for (id, states) in other.groups {
            match self.groups.get_mut(&id) {
                Some(mine) => {
                    for (m, s) in mine.iter_mut().zip(states) {
                        m.merge(s);
                    }
                }
                None => {
                    self.groups.insert(id, states);
                }
            }
        }
        for (a, b) in self.ignored.iter_mut().zip(other.ignored) {
            a.nulls += b.nulls;
            a.not_numbers += b.not_numbers;
        }
    }

    /// Per aggregate, the values it could not use.
    pub fn ignored(&self) -> &[Ignored] {
        &self.ignored
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The groups sorted by key (jq's ordering), each with its aggregates as JSON text.
    pub fn rows(&self) -> Vec<GroupRow> {
        self.sorted_rows().collect()
    }

    /// [`Aggregates::rows`] made one at a time (only the order is held: two pointers per
    /// group, not a row).
    pub fn sorted_rows(&self) -> impl Iterator<Item = GroupRow> + '_ {
        let mut groups: Vec<(SortKey, &[u8], &[State])> = self
            .groups
            .iter()
            .map(|(id, states)| (SortKey::of(id), &id[..], &states[..]))
            .collect();
        // Ids that order equal (`[1]` and `[1.0]`) by their text, so the order never
        // depends on the hash map's.
        groups.sort_by(|a, b| cmp_groups((a.0, a.1), (b.0, b.1)).then_with(|| a.1.cmp(b.1)));
        groups.into_iter().map(|(_, id, states)| GroupRow {
            keys: key_texts(id).map(<[u8]>::to_vec).collect(),
            values: states
                .iter()
                .zip(&self.kinds)
                .map(|(s, &kind)| render(s, kind))
                .collect(),
        })
    }
}

/// The key texts of a group id.
fn key_texts(id: &[u8]) -> impl Iterator<Item = &[u8]> {
    id.strip_suffix(&[0])
        .into_iter()
        .flat_map(|s| s.split(|&b| b == 0))
}

fn render(state: &State, kind: AggregateKind) -> Vec<u8> {
    match state {
        State::Count(n) => n.to_string().into_bytes(),
        State::Sum { sum, numbers } => match kind {
            AggregateKind::Mean if *numbers == 0 => b"null".to_vec(),
            AggregateKind::Mean => {
                let mean = sum.to_f64() / *numbers as f64;
                if mean.is_finite() {
                    serde_json::to_vec(&mean).unwrap_or_else(|_| b"null".to_vec())
                } else {
                    // Beyond f64 (a sum of 1e400): the mean as text, not null.
                    sum.div_text(*numbers).into_bytes()
                }
            }
            _ => sum.to_string().into_bytes(),
        },
        State::Min(v) | State::Max(v) => v
            .as_ref()
            .map_or_else(|| b"null".to_vec(), |s| s.text().to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg(rows: &[(&str, &str)]) -> Aggregates {
        let mut a = Aggregates::new(vec![
            AggregateKind::Count,
            AggregateKind::Sum,
            AggregateKind::Min,
            AggregateKind::Max,
            AggregateKind::Mean,
        ]);
        for (k, v) in rows {
            let v = Some(v.as_bytes());
            a.add(&[k.as_bytes()], &[None, v, v, v, v]).unwrap();
        }
        a
    }

    fn table(a: &Aggregates) -> Vec<String> {
        a.rows()
            .into_iter()
            .map(|r| {
                let mut parts = vec![String::from_utf8(r.keys[0].clone()).unwrap()];
                parts.extend(r.values.into_iter().map(|v| String::from_utf8(v).unwrap()));
                parts.join(" ")
            })
            .collect()
    }

    #[test]
    fn groups_sorted_with_exact_aggregates() {
        let a = agg(&[
            ("\"b\"", "1.5"),
            ("\"a\"", "2"),
            ("\"b\"", "2.25"),
            ("null", "7"),
            ("1", "0.1"),
        ]);
        assert_eq!(
            table(&a),
            [
                "null 1 7 7 7 7.0",
                "1 1 0.1 0.1 0.1 0.1",
                "\"a\" 1 2 2 2 2.0",
                "\"b\" 2 3.75 1.5 2.25 1.875"
            ]
        );
    }

    #[test]
    fn merge_equals_sequential_in_any_split() {
        let rows: Vec<(String, String)> = (0..40)
            .map(|i| {
                (
                    format!("\"k{}\"", i % 3),
                    format!("{}.{}", i * 7 % 11, i % 10),
                )
            })
            .collect();
        let rows: Vec<(&str, &str)> = rows.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let whole = table(&agg(&rows));
        for split in [0, 1, 13, 39, 40] {
            let mut left = agg(&rows[..split]);
            left.merge(agg(&rows[split..]));
            assert_eq!(table(&left), whole, "split {split}");
        }
    }

    #[test]
    fn nulls_and_non_numbers_are_counted_not_dropped() {
        let mut a = Aggregates::new(vec![AggregateKind::Sum]);
        a.add(&[b"1"], &[Some(b"null")]).unwrap();
        a.add(&[b"1"], &[None]).unwrap();
        a.add(&[b"1"], &[Some(b"\"x\"")]).unwrap();
        a.add(&[b"1"], &[Some(b"5")]).unwrap();
        assert_eq!(
            a.ignored()[0],
            Ignored {
                nulls: 2,
                not_numbers: 1
            }
        );
        assert_eq!(table(&a)[0], "1 5");
    }

    #[test]
    fn a_string_key_is_one_group_however_it_is_escaped() {
        let a = agg(&[
            ("\"A\"", "1"),
            ("\"\\u0041\"", "2"),
            ("\"\\u00e9\"", "3"),
            ("\"é\"", "4"),
            ("\"\\\"q\"", "5"),
        ]);
        assert_eq!(
            table(&a),
            [
                "\"\\\"q\" 1 5 5 5 5.0",
                "\"A\" 2 3 1 2 1.5",
                "\"é\" 2 7 3 4 3.5"
            ]
        );
    }

    #[test]
    fn groups_sort_in_jq_order_across_types() {
        // jq's order: null < false < true < numbers (by value) < strings (by code point)
        // < arrays < objects; shuffled in, sorted out.
        let sorted = [
            "null",
            "false",
            "true",
            "-1e3",
            "-2",
            "0",
            "0.5",
            "1",
            "1e2",
            "123456789012345678901234567890",
            "\"\"",
            "\"Z\"",
            "\"a\"",
            "\"a\\u0000\"",
            "\"ab\"",
            "\"é\"",
            "\"😀\"",
            "[1]",
            "{\"a\":1}",
        ];
        let mut shuffled = sorted.to_vec();
        shuffled.reverse();
        shuffled.swap(0, 7);
        shuffled.swap(3, 12);
        let rows: Vec<(&str, &str)> = shuffled.iter().map(|k| (*k, "1")).collect();
        let keys: Vec<String> = table(&agg(&rows))
            .into_iter()
            .map(|r| r.split(' ').next().unwrap().to_owned())
            .collect();
        // Numbers print as the one way their value is written.
        let printed: Vec<&str> = sorted
            .iter()
            .map(|k| match *k {
                "-1e3" => "-1000",
                "1e2" => "100",
                other => other,
            })
            .collect();
        assert_eq!(keys, printed);
    }
}
