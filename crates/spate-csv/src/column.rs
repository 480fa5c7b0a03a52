//! Per-column inference state: the joined type and the statistics, mergeable.

use std::cmp::Ordering;

use crate::types::{classify, DatetimeKey, Type, Value, DT_FRACTION, DT_SPACE, DT_UTC_Z, DT_ZONE};

/// An integer bound: an `i64`, or the exact decimal text of an integer beyond `i64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Int {
    Small(i64),
    /// Canonical text: optional `-`, digits without leading zeros (and without `+`).
    Big(Box<str>),
}

impl Int {
    /// Canonical text of a big integer value (strips `+` and leading zeros).
    pub fn big_from_text(v: &[u8]) -> Int {
        let (neg, body) = match v.first() {
            Some(b'-') => (true, &v[1..]),
            Some(b'+') => (false, &v[1..]),
            _ => (false, v),
        };
        let start = body
            .iter()
            .position(|&b| b != b'0')
            .unwrap_or(body.len().saturating_sub(1));
        let digits = String::from_utf8_lossy(&body[start..]);
        Int::Big(
            if neg {
                format!("-{digits}")
            } else {
                digits.into_owned()
            }
            .into_boxed_str(),
        )
    }

    fn sign_len_text(&self) -> (bool, usize, &[u8]) {
        match self {
            Int::Big(s) => {
                let b = s.as_bytes();
                if b.first() == Some(&b'-') {
                    (true, b.len() - 1, &b[1..])
                } else {
                    (false, b.len(), b)
                }
            }
            Int::Small(_) => unreachable!("only called on big integers"),
        }
    }

    /// The value as a float (rounded).
    pub fn to_f64(&self) -> f64 {
        match self {
            Int::Small(i) => *i as f64,
            Int::Big(s) => s.parse().unwrap_or(f64::NAN),
        }
    }
}

impl std::fmt::Display for Int {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Int::Small(i) => write!(f, "{i}"),
            Int::Big(s) => f.write_str(s),
        }
    }
}

impl Ord for Int {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Int::Small(a), Int::Small(b)) => a.cmp(b),
            // A big integer is beyond i64: above every small one when positive, below when negative.
            (Int::Small(_), Int::Big(_)) => other.cmp(self).reverse(),
            (Int::Big(s), Int::Small(_)) => {
                if s.starts_with('-') {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (Int::Big(_), Int::Big(_)) => {
                let (na, la, ta) = self.sign_len_text();
                let (nb, lb, tb) = other.sign_len_text();
                match (na, nb) {
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => la.cmp(&lb).then_with(|| ta.cmp(tb)),
                    (true, true) => lb.cmp(&la).then_with(|| tb.cmp(ta)),
                }
            }
        }
    }
}

impl PartialOrd for Int {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A datetime bound: its ordering key and its text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatetimeBound {
    pub key: DatetimeKey,
    pub text: Box<str>,
}

/// The inference state of one column: mergeable (`merge` of the states of two parts of the
/// data equals the state of the whole).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnState {
    /// Join of the types of the non-null values seen.
    pub ty: Type,
    /// Number of non-null values. Nulls are `rows - values` (a missing field is a null).
    pub values: u64,
    /// Bounds of the integers that fit in i64 (`small_min > small_max` until one is seen).
    pub small_min: i64,
    pub small_max: i64,
    /// Bounds of the integers beyond i64.
    pub int_min: Option<Int>,
    pub int_max: Option<Int>,
    /// Over the finite float values.
    pub float_min: Option<f64>,
    pub float_max: Option<f64>,
    /// `NaN` and infinities seen.
    pub non_finite: u64,
    pub date_min: Option<u32>,
    pub date_max: Option<u32>,
    pub dt_min: Option<DatetimeBound>,
    pub dt_max: Option<DatetimeBound>,
    /// OR of the datetime shape flags seen (`types::DT_*`).
    pub dt_shapes_any: u8,
    /// AND of the datetime shape flags seen (all bits set until a datetime is seen).
    pub dt_shapes_all: u8,
    pub trues: u64,
    pub falses: u64,
}

impl Default for ColumnState {
    fn default() -> Self {
        ColumnState {
            ty: Type::Null,
            values: 0,
            small_min: i64::MAX,
            small_max: i64::MIN,
            int_min: None,
            int_max: None,
            float_min: None,
            float_max: None,
            non_finite: 0,
            date_min: None,
            date_max: None,
            dt_min: None,
            dt_max: None,
            dt_shapes_any: 0,
            dt_shapes_all: 0xff,
            trues: 0,
            falses: 0,
        }
    }
}

fn min_opt<T: PartialOrd>(a: &mut Option<T>, b: Option<T>) {
    if let Some(b) = b {
        match a {
            Some(x) if *x <= b => {}
            _ => *a = Some(b),
        }
    }
}

fn max_opt<T: PartialOrd>(a: &mut Option<T>, b: Option<T>) {
    if let Some(b) = b {
        match a {
            Some(x) if *x >= b => {}
            _ => *a = Some(b),
        }
    }
}

impl ColumnState {
    /// Records one non-null text value (null tokens are filtered by the caller).
    #[inline]
    pub fn observe(&mut self, v: &[u8]) {
        self.values += 1;
        match self.ty {
            // Early stop for this column: nothing can change its type or statistics.
            Type::String => return,
            // The column's current type first, on its common shape (same answer as classify).
            Type::Integer => {
                if let Some(i) = crate::types::plain_int(v) {
                    self.small_min = self.small_min.min(i);
                    self.small_max = self.small_max.max(i);
                    return;
                }
            }
            Type::Date => {
                if let Some(d) = crate::types::plain_date(v) {
                    min_opt(&mut self.date_min, Some(d));
                    max_opt(&mut self.date_max, Some(d));
                    return;
                }
            }
            _ => {}
        }
        let value = classify(v);
        self.observe_value(value, v);
    }

    /// Records a non-null value whose type is known without statistics (a JSON string that is
    /// not a date, an array).
    pub fn observe_type(&mut self, ty: Type) {
        self.values += 1;
        self.join_type(ty);
    }

    /// Records a classified value; `values` is not counted here.
    #[inline]
    pub fn observe_value(&mut self, value: Value, text: &[u8]) {
        let joined = self.ty.join(value.ty());
        if joined == Type::String {
            // Statistics of a string column are not kept (and are reset when it becomes one).
            self.force_string();
            return;
        }
        self.ty = joined;
        match value {
            Value::Integer(i) => {
                self.small_min = self.small_min.min(i);
                self.small_max = self.small_max.max(i);
            }
            Value::BigInteger => {
                let i = Int::big_from_text(text);
                min_opt(&mut self.int_min, Some(i.clone()));
                max_opt(&mut self.int_max, Some(i));
            }
            Value::Float(f) => {
                if f.is_finite() {
                    min_opt(&mut self.float_min, Some(f));
                    max_opt(&mut self.float_max, Some(f));
                } else {
                    self.non_finite += 1;
                }
            }
            Value::Boolean(b) => {
                if b {
                    self.trues += 1;
                } else {
                    self.falses += 1;
                }
            }
            Value::Date(d) => {
                min_opt(&mut self.date_min, Some(d));
                max_opt(&mut self.date_max, Some(d));
            }
            Value::Datetime(key) => {
                self.dt_shapes_any |= key.shape;
                self.dt_shapes_all &= key.shape;
                let lower = self
                    .dt_min
                    .as_ref()
                    .is_none_or(|m| key.cmp_instant(&m.key).is_lt());
                let higher = self
                    .dt_max
                    .as_ref()
                    .is_none_or(|m| key.cmp_instant(&m.key).is_gt());
                if lower || higher {
                    let text: Box<str> = String::from_utf8_lossy(text).into();
                    if lower {
                        self.dt_min = Some(DatetimeBound {
                            key,
                            text: text.clone(),
                        });
                    }
                    if higher {
                        self.dt_max = Some(DatetimeBound { key, text });
                    }
                }
            }
            Value::String => {}
        }
    }

    #[inline]
    fn join_type(&mut self, ty: Type) {
        if self.ty != ty {
            self.ty = self.ty.join(ty);
            if self.ty == Type::String {
                self.clear_bounds();
            }
        }
    }

    /// A string column keeps only its count: every other statistic is reset, so that stopping
    /// early (sequential) and merging parts (parallel) give the same state.
    fn clear_bounds(&mut self) {
        self.non_finite = 0;
        self.trues = 0;
        self.falses = 0;
        self.dt_shapes_any = 0;
        self.dt_shapes_all = 0xff;
        self.small_min = i64::MAX;
        self.small_max = i64::MIN;
        self.int_min = None;
        self.int_max = None;
        self.float_min = None;
        self.float_max = None;
        self.date_min = None;
        self.date_max = None;
        self.dt_min = None;
        self.dt_max = None;
    }

    /// Makes the column a string (a JSON path seen both as an object and as a value).
    pub fn force_string(&mut self) {
        if self.ty != Type::String {
            self.ty = Type::String;
            self.clear_bounds();
        }
    }

    /// Merges the state of another part of the same column into this one.
    pub fn merge(&mut self, other: ColumnState) {
        self.values += other.values;
        self.ty = self.ty.join(other.ty);
        if self.ty == Type::String {
            self.clear_bounds();
            return;
        }
        {
            self.small_min = self.small_min.min(other.small_min);
            self.small_max = self.small_max.max(other.small_max);
            min_opt(&mut self.int_min, other.int_min);
            max_opt(&mut self.int_max, other.int_max);
            min_opt(&mut self.float_min, other.float_min);
            max_opt(&mut self.float_max, other.float_max);
            min_opt(&mut self.date_min, other.date_min);
            max_opt(&mut self.date_max, other.date_max);
            if let Some(b) = other.dt_min {
                if self
                    .dt_min
                    .as_ref()
                    .is_none_or(|m| b.key.cmp_instant(&m.key).is_lt())
                {
                    self.dt_min = Some(b);
                }
            }
            if let Some(b) = other.dt_max {
                if self
                    .dt_max
                    .as_ref()
                    .is_none_or(|m| b.key.cmp_instant(&m.key).is_gt())
                {
                    self.dt_max = Some(b);
                }
            }
        }
        self.non_finite += other.non_finite;
        self.dt_shapes_any |= other.dt_shapes_any;
        self.dt_shapes_all &= other.dt_shapes_all;
        self.trues += other.trues;
        self.falses += other.falses;
    }

    /// The bounds over all integers, small and big.
    fn int_bounds(&self) -> (Option<Int>, Option<Int>) {
        let mut lo = self.int_min.clone();
        let mut hi = self.int_max.clone();
        if self.small_min <= self.small_max {
            min_opt(&mut lo, Some(Int::Small(self.small_min)));
            max_opt(&mut hi, Some(Int::Small(self.small_max)));
        }
        (lo, hi)
    }

    /// The final statistics of this column over `rows` rows.
    pub fn finish(&self, name: String, rows: u64) -> FieldSchema {
        let (int_lo, int_hi) = self.int_bounds();
        let (min, max) = match self.ty {
            Type::Integer => (int_lo.map(Bound::Int), int_hi.map(Bound::Int)),
            Type::Float => {
                let mut lo = self.float_min;
                let mut hi = self.float_max;
                min_opt(&mut lo, int_lo.as_ref().map(Int::to_f64));
                max_opt(&mut hi, int_hi.as_ref().map(Int::to_f64));
                (lo.map(Bound::Float), hi.map(Bound::Float))
            }
            Type::Date => (
                self.date_min.map(Bound::Date),
                self.date_max.map(Bound::Date),
            ),
            Type::Datetime => {
                // Plain dates in a datetime column are midnight UTC of that day.
                let mut lo = self.dt_min.clone();
                let mut hi = self.dt_max.clone();
                if let Some(d) = self.date_min {
                    let b = date_bound(d);
                    if lo
                        .as_ref()
                        .is_none_or(|m| b.key.cmp_instant(&m.key).is_lt())
                    {
                        lo = Some(b);
                    }
                }
                if let Some(d) = self.date_max {
                    let b = date_bound(d);
                    if hi
                        .as_ref()
                        .is_none_or(|m| b.key.cmp_instant(&m.key).is_gt())
                    {
                        hi = Some(b);
                    }
                }
                (
                    lo.map(|b| Bound::Text(b.text)),
                    hi.map(|b| Bound::Text(b.text)),
                )
            }
            _ => (None, None),
        };
        let format = match self.ty {
            Type::Datetime
                if self.date_min.is_none() && self.dt_shapes_any == self.dt_shapes_all =>
            {
                datetime_format(self.dt_shapes_all)
            }
            Type::Datetime => "any",
            _ => "default",
        };
        FieldSchema {
            name,
            ty: self.ty,
            format,
            nulls: rows.saturating_sub(self.values),
            values: self.values,
            min,
            max,
            non_finite: self.non_finite,
            trues: self.trues,
            falses: self.falses,
            items: None,
            element: None,
        }
    }
}

/// The Frictionless format of a datetime column whose values all have this shape: `default`
/// is `YYYY-MM-DDTHH:MM:SSZ`; other uniform shapes get a strptime pattern; mixed shapes `any`.
fn datetime_format(shape: u8) -> &'static str {
    match shape {
        s if s == DT_ZONE | DT_UTC_Z => "default",
        s if s == DT_ZONE | DT_UTC_Z | DT_FRACTION => "%Y-%m-%dT%H:%M:%S.%fZ",
        0 => "%Y-%m-%dT%H:%M:%S",
        DT_FRACTION => "%Y-%m-%dT%H:%M:%S.%f",
        DT_SPACE => "%Y-%m-%d %H:%M:%S",
        s if s == DT_SPACE | DT_FRACTION => "%Y-%m-%d %H:%M:%S.%f",
        s if s == DT_ZONE => "%Y-%m-%dT%H:%M:%S%z",
        _ => "any",
    }
}

fn date_bound(d: u32) -> DatetimeBound {
    let text = format_date(d);
    let Value::Datetime(key) = classify(format!("{text}T00:00:00").as_bytes()) else {
        unreachable!("a valid date at midnight is a datetime")
    };
    DatetimeBound {
        key,
        text: text.into_boxed_str(),
    }
}

/// `YYYY-MM-DD` of a date key.
pub fn format_date(d: u32) -> String {
    format!("{:04}-{:02}-{:02}", d / 10_000, d / 100 % 100, d % 100)
}

/// A minimum or maximum.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Int(Int),
    Float(f64),
    Date(u32),
    /// A datetime, as written in the data.
    Text(Box<str>),
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::Int(i) => write!(f, "{i}"),
            Bound::Float(x) => write!(f, "{x}"),
            Bound::Date(d) => f.write_str(&format_date(*d)),
            Bound::Text(t) => f.write_str(t),
        }
    }
}

/// The inferred schema of one column or field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSchema {
    pub name: String,
    pub ty: Type,
    /// Frictionless `format`: `default`, `any`, or a strptime pattern for datetimes.
    pub format: &'static str,
    /// Null (empty, null token, or missing) values.
    pub nulls: u64,
    /// Non-null values.
    pub values: u64,
    pub min: Option<Bound>,
    pub max: Option<Bound>,
    /// `NaN` and infinities (floats only; not part of min/max).
    pub non_finite: u64,
    pub trues: u64,
    pub falses: u64,
    /// The elements of an `array` field (JSON) when they are scalars of one type
    /// ([`crate::elements`]); `None` otherwise. Not part of the Frictionless output.
    pub items: Option<Box<FieldSchema>>,
    /// The elements of an `array` field (JSON) when they have one type: scalars (as
    /// `items`), arrays whose elements have one type, or objects (a struct of every key
    /// seen), recursively ([`crate::nested`]); `None` otherwise.
    pub element: Option<Box<crate::nested::ElementField>>,
}

impl FieldSchema {
    /// True when some value is null.
    pub fn nullable(&self) -> bool {
        self.nulls > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(values: &[&str]) -> ColumnState {
        let mut s = ColumnState::default();
        for v in values {
            s.observe(v.as_bytes());
        }
        s
    }

    #[test]
    fn int_order_with_big_values() {
        let big = |s: &str| Int::big_from_text(s.as_bytes());
        let mut v = [
            big("-100000000000000000000"),
            Int::Small(5),
            big("99999999999999999999"),
            big("+100000000000000000000"),
            Int::Small(i64::MIN),
            big("-99999999999999999999"),
        ];
        v.sort();
        let text: Vec<String> = v.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            text,
            [
                "-100000000000000000000",
                "-99999999999999999999",
                "-9223372036854775808",
                "5",
                "99999999999999999999",
                "100000000000000000000"
            ]
        );
    }

    #[test]
    fn stats_and_widening() {
        let f = state(&["3", "-2", "10"]).finish("a".into(), 4);
        assert_eq!(f.ty, Type::Integer);
        assert_eq!(f.nulls, 1);
        assert_eq!(f.min, Some(Bound::Int(Int::Small(-2))));
        assert_eq!(f.max, Some(Bound::Int(Int::Small(10))));
        let f = state(&["3", "-2.5", "10", "NaN"]).finish("a".into(), 4);
        assert_eq!(f.ty, Type::Float);
        assert_eq!(
            (f.min, f.max, f.non_finite),
            (Some(Bound::Float(-2.5)), Some(Bound::Float(10.0)), 1)
        );
        let f = state(&["2024-01-02", "2024-01-01T10:00:00Z", "2023-12-31 23:00:00"])
            .finish("a".into(), 3);
        assert_eq!(f.ty, Type::Datetime);
        assert_eq!(f.min.unwrap().to_string(), "2023-12-31 23:00:00");
        assert_eq!(f.max.unwrap().to_string(), "2024-01-02");
        let f = state(&["1", "x", "2"]).finish("a".into(), 3);
        assert_eq!((f.ty, f.min), (Type::String, None));
    }

    #[test]
    fn merge_equals_sequential() {
        let vals = ["1", "2.5", "", "2024-01-01", "7", "-3", "1e3"];
        for split in 0..=vals.len() {
            let mut a = state(&vals[..split]);
            let b = state(&vals[split..]);
            a.merge(b);
            assert_eq!(a, state(&vals), "split at {split}");
        }
    }

    proptest::proptest! {
        /// Splitting a column anywhere and merging the parts' states gives the whole's state.
        #[test]
        fn merge_is_exact(idx in proptest::collection::vec(0usize..16, 0..40), at in 0usize..40) {
            const V: [&str; 16] = ["1", "-3", "2.5", "NaN", "true", "false", "2024-01-01", "2024-01-01T00:00:00Z",
                "x", "99999999999999999999", "-inf", "1e3", "2023-12-31 10:00", "007", "0", ".5"];
            let vals: Vec<&str> = idx.iter().map(|&i| V[i]).collect();
            let at = at.min(vals.len());
            let mut a = state(&vals[..at]);
            a.merge(state(&vals[at..]));
            proptest::prop_assert_eq!(a.finish("c".into(), 50), state(&vals).finish("c".into(), 50));
        }
    }
}
