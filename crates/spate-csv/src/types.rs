//! The type lattice and the rules that classify one text value.
//!
//! ```text
//!                 string
//!       /      |       \        \
//!   boolean  float   datetime   array
//!              |        |
//!           integer   date
//!       \      |       /        /
//!                 null
//! ```
//!
//! `null` joins anything (it is the identity), `integer ⊂ float`, `date ⊂ datetime`; any other
//! mix of two different types is `string`. The rules for one value (see `docs/schema.md`):
//!
//! - integer: optional sign and ASCII digits; a leading zero followed by more digits (`007`,
//!   `01234`, `-01`) makes it a string, because such values are identifiers whose zeros matter.
//!   Integers beyond the range of `i64` are still integers; their minimum and maximum are kept
//!   as exact decimal text (see [`crate::Int`]).
//! - float: decimal with a fraction and/or an exponent: `1.5`, `1e5`, `.5`, `5.`, `-2.5E-3`; the
//!   same leading-zero rule applies to the integer part (`00.5` is a string). `NaN`, `inf`,
//!   `infinity` (any case; `inf`/`infinity` with an optional sign) are floats; they are counted
//!   but left out of the minimum and maximum.
//! - boolean: `true` and `false` in any case. `yes`/`no`, `y`/`n`, `t`/`f` are strings, and `0`/`1`
//!   are integers.
//! - date: `YYYY-MM-DD` that exists in the proleptic Gregorian calendar (`2023-02-29` is a
//!   string).
//! - datetime: a date, `T`, `t` or a space, `HH:MM`, optional `:SS` (00-60, RFC 3339 allows a
//!   leap second), optional fraction `.f+`, and an optional zone `Z`, `z`, `±HH:MM`, `±HHMM` or
//!   `±HH`.
//! - anything else is a string. Values are classified exactly as written: no trimming, so
//!   `" 12"` is a string.

use std::fmt;

/// The inferred type of a column or field. The order of the variants is not the lattice order;
/// use [`Type::join`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    /// Every value is null (or there are no values).
    Null,
    Boolean,
    Integer,
    Float,
    Date,
    Datetime,
    /// A JSON array (only from JSON input); it is a leaf, not flattened.
    Array,
    String,
}

impl Type {
    /// The least upper bound of two types in the lattice.
    #[inline]
    pub fn join(self, other: Type) -> Type {
        use Type::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Null, x) | (x, Null) => x,
            (Integer, Float) | (Float, Integer) => Float,
            (Date, Datetime) | (Datetime, Date) => Datetime,
            _ => String,
        }
    }

    /// spate's name of the type (`float`, not Frictionless' `number`).
    pub fn name(self) -> &'static str {
        match self {
            Type::Null => "null",
            Type::Boolean => "boolean",
            Type::Integer => "integer",
            Type::Float => "float",
            Type::Date => "date",
            Type::Datetime => "datetime",
            Type::Array => "array",
            Type::String => "string",
        }
    }

    /// The Frictionless Table Schema type: `float` is `number`, an all-null column is `any`.
    pub fn frictionless(self) -> &'static str {
        match self {
            Type::Null => "any",
            Type::Float => "number",
            other => other.name(),
        }
    }

    /// Parses spate's or Frictionless' name of a type (`number` is `float`, `any` is `null`).
    pub fn from_name(name: &str) -> Option<Type> {
        Some(match name {
            "null" | "any" => Type::Null,
            "boolean" => Type::Boolean,
            "integer" => Type::Integer,
            "float" | "number" => Type::Float,
            "date" => Type::Date,
            "datetime" => Type::Datetime,
            "array" => Type::Array,
            "string" => Type::String,
            _ => return None,
        })
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one non-null text value is, with what the statistics need from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Boolean(bool),
    /// Fits in `i64`.
    Integer(i64),
    /// An integer too large for `i64`; the text is the value itself.
    BigInteger,
    /// A float; not finite for `NaN` and the infinities.
    Float(f64),
    /// Days since 0000-01-01 would do; we keep `year*10000 + month*100 + day`, which orders the same.
    Date(u32),
    Datetime(DatetimeKey),
    String,
}

impl Value {
    /// The type of this value.
    pub fn ty(&self) -> Type {
        match self {
            Value::Boolean(_) => Type::Boolean,
            Value::Integer(_) | Value::BigInteger => Type::Integer,
            Value::Float(_) => Type::Float,
            Value::Date(_) => Type::Date,
            Value::Datetime(_) => Type::Datetime,
            Value::String => Type::String,
        }
    }
}

/// An ordering key and the shape of one datetime value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatetimeKey {
    /// Seconds since 1970-01-01T00:00:00 in UTC; a value without zone is read as UTC.
    pub seconds: i64,
    /// Nanoseconds (fractions beyond 9 digits are cut).
    pub nanos: u32,
    /// Shape flags: [`DT_SPACE`], [`DT_ZONE`], [`DT_FRACTION`], [`DT_NO_SECONDS`], [`DT_UTC_Z`].
    pub shape: u8,
}

impl DatetimeKey {
    /// The ordering of two instants.
    pub fn cmp_instant(&self, other: &Self) -> std::cmp::Ordering {
        (self.seconds, self.nanos).cmp(&(other.seconds, other.nanos))
    }
}

/// The date and time are separated by a space (not `T`).
pub const DT_SPACE: u8 = 1;
/// A zone (`Z` or an offset) is present.
pub const DT_ZONE: u8 = 2;
/// A fraction of a second is present.
pub const DT_FRACTION: u8 = 4;
/// Seconds are absent (`HH:MM`).
pub const DT_NO_SECONDS: u8 = 8;
/// The zone is exactly `Z`.
pub const DT_UTC_Z: u8 = 16;

/// Classifies one non-null text value by the rules in the module documentation.
#[inline]
pub fn classify(v: &[u8]) -> Value {
    let Some(&first) = v.first() else {
        return Value::String;
    };
    match first {
        b'0'..=b'9' => {
            if v.len() >= 10 && v[4] == b'-' {
                return classify_temporal(v);
            }
            classify_number(v)
        }
        b'-' | b'+' | b'.' => classify_number(v),
        b't' | b'T' | b'f' | b'F' => classify_bool(v),
        b'n' | b'N' | b'i' | b'I' => classify_special_float(v),
        _ => Value::String,
    }
}

/// The common integer shape, checked fast: `-`? and 1 to 18 digits without a leading zero.
/// `None` means "ask [`classify`]" (not "not an integer").
#[inline]
pub fn plain_int(v: &[u8]) -> Option<i64> {
    let (neg, digits) = match v.first()? {
        b'-' => (true, &v[1..]),
        _ => (false, v),
    };
    if digits.is_empty() || digits.len() > 18 || (digits[0] == b'0' && digits.len() > 1) {
        return None;
    }
    let mut acc: i64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        acc = acc * 10 + i64::from(d);
    }
    Some(if neg { -acc } else { acc })
}

/// A `YYYY-MM-DD` date's key, or `None` ("ask [`classify`]").
#[inline]
pub fn plain_date(v: &[u8]) -> Option<u32> {
    if v.len() != 10 {
        return None;
    }
    parse_date(v).map(|(y, m, d)| y * 10_000 + m * 100 + d)
}

#[inline]
fn classify_bool(v: &[u8]) -> Value {
    if v.eq_ignore_ascii_case(b"true") {
        Value::Boolean(true)
    } else if v.eq_ignore_ascii_case(b"false") {
        Value::Boolean(false)
    } else {
        Value::String
    }
}

fn classify_special_float(v: &[u8]) -> Value {
    let (neg, rest) = match v.first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    if rest.len() == v.len() && rest.eq_ignore_ascii_case(b"nan") {
        return Value::Float(f64::NAN);
    }
    if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
        return Value::Float(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    Value::String
}

/// Classifies a value that starts like a number: integer, big integer, float or string.
/// Also used for the raw text of JSON numbers.
///
/// The common shapes are decided first, each in one pass: an integer of up to 18 digits
/// ([`plain_int`]) and a decimal of up to 15 digits with a fraction ([`plain_decimal`]);
/// anything else goes the general way (same answers: the fast paths only answer where the
/// general way gives the same value).
#[inline]
pub fn classify_number(v: &[u8]) -> Value {
    if let Some(i) = plain_int(v) {
        return Value::Integer(i);
    }
    if let Some(f) = plain_decimal(v) {
        return Value::Float(f);
    }
    classify_number_general(v)
}

/// `-`? then an integer part without a leading zero (or `0`), `.` and at least one fraction
/// digit, at most 15 digits in all, no exponent: exactly `mantissa / 10^fraction digits`
/// (Clinger's fast path, as [`fast_decimal`] computes it). `None`: ask the general way.
#[inline]
fn plain_decimal(v: &[u8]) -> Option<f64> {
    let (neg, body) = match v.first()? {
        b'-' => (true, &v[1..]),
        _ => (false, v),
    };
    if body.len() > 16 || body.first() == Some(&b'0') && body.get(1) != Some(&b'.') {
        return None;
    }
    let mut m: u64 = 0;
    let mut dot = None;
    for (i, &b) in body.iter().enumerate() {
        let d = b.wrapping_sub(b'0');
        if d <= 9 {
            m = m * 10 + u64::from(d);
        } else if b == b'.' && dot.is_none() {
            dot = Some(i);
        } else {
            return None;
        }
    }
    let dot = dot?;
    let frac = body.len() - dot - 1;
    // At least one digit on each side of the dot; at most 15 digits (16 bytes with the dot).
    if dot == 0 || frac == 0 {
        return None;
    }
    let f = m as f64 / POW10[frac];
    Some(if neg { -f } else { f })
}

/// Powers of ten exact in an `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// [`classify_number`] for every shape.
#[inline(never)]
fn classify_number_general(v: &[u8]) -> Value {
    let (neg, body) = match v.first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    // Integer part, accumulated as we go (one pass for the common case). Up to 19 digits fit
    // in a u64 without overflow; 20 or more are beyond i64 whatever they are.
    let mut acc: u64 = 0;
    let mut int_len = 0;
    while int_len < body.len() {
        let d = body[int_len].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        acc = acc.wrapping_mul(10).wrapping_add(u64::from(d));
        int_len += 1;
    }
    if int_len > 1 && body[0] == b'0' {
        return Value::String;
    }
    if int_len == body.len() {
        if int_len == 0 {
            return Value::String;
        }
        if int_len > 19 {
            return Value::BigInteger;
        }
        return if neg {
            if acc <= i64::MAX as u64 + 1 {
                Value::Integer((acc as i64).wrapping_neg())
            } else {
                Value::BigInteger
            }
        } else {
            i64::try_from(acc).map_or(Value::BigInteger, Value::Integer)
        };
    }
    if int_len == 0 && (body.first() == Some(&b'i') || body.first() == Some(&b'I')) {
        return classify_special_float(v);
    }
    // Fraction.
    let mut i = int_len;
    let mut frac_len = 0;
    if body[i] == b'.' {
        i += 1;
        frac_len = body[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        i += frac_len;
    }
    if int_len + frac_len == 0 {
        return Value::String;
    }
    let mut has_exp = false;
    if i < body.len() && (body[i] == b'e' || body[i] == b'E') {
        i += 1;
        if i < body.len() && (body[i] == b'-' || body[i] == b'+') {
            i += 1;
        }
        let exp_len = body[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if exp_len == 0 {
            return Value::String;
        }
        i += exp_len;
        has_exp = true;
    }
    if i != body.len() {
        return Value::String;
    }
    if !has_exp {
        if let Some(f) = fast_decimal(neg, &body[..int_len], &body[int_len + 1..]) {
            return Value::Float(f);
        }
    }
    // SAFETY-free: the bytes checked above are ASCII.
    match std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        Some(f) => Value::Float(f),
        None => Value::String,
    }
}

/// Clinger's fast path: a decimal with at most 15 significant digits and at most 22 fraction
/// digits is exactly `mantissa / 10^k`, correctly rounded by one division.
#[inline]
fn fast_decimal(neg: bool, int: &[u8], frac: &[u8]) -> Option<f64> {
    if int.len() + frac.len() > 15 || frac.len() > 22 {
        return None;
    }
    let mut m: u64 = 0;
    for &d in int.iter().chain(frac) {
        m = m * 10 + u64::from(d - b'0');
    }
    let f = m as f64 / POW10[frac.len()];
    Some(if neg { -f } else { f })
}

#[inline]
fn two(b: &[u8]) -> Option<u32> {
    let (a, c) = (b[0].wrapping_sub(b'0'), b[1].wrapping_sub(b'0'));
    if a < 10 && c < 10 {
        Some(u32::from(a) * 10 + u32::from(c))
    } else {
        None
    }
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `YYYY-MM-DD` at the start of `v`, returning (year, month, day). The eight digits
/// are checked together (one test), and the month's length only past the 28th.
#[inline]
fn parse_date(v: &[u8]) -> Option<(u32, u32, u32)> {
    if v.len() < 10 || v[4] != b'-' || v[7] != b'-' {
        return None;
    }
    let d = |i: usize| u32::from(v[i].wrapping_sub(b'0'));
    let (y0, y1, y2, y3, m0, m1, d0, d1) = (d(0), d(1), d(2), d(3), d(5), d(6), d(8), d(9));
    // A byte that is not a digit gives a "digit" above 9 (wrapping below '0').
    if (y0 > 9) | (y1 > 9) | (y2 > 9) | (y3 > 9) | (m0 > 9) | (m1 > 9) | (d0 > 9) | (d1 > 9) {
        return None;
    }
    let y = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
    let m = m0 * 10 + m1;
    let day = d0 * 10 + d1;
    if !(1..=12).contains(&m) || day == 0 || (day > 28 && day > days_in_month(y, m)) {
        return None;
    }
    Some((y, m, day))
}

/// Days from 1970-01-01 to the given civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: u32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn classify_temporal(v: &[u8]) -> Value {
    let Some((y, m, d)) = parse_date(v) else {
        return Value::String;
    };
    if v.len() == 10 {
        return Value::Date(y * 10_000 + m * 100 + d);
    }
    match parse_time(&v[10..]) {
        Some((secs_of_day, nanos, offset, shape)) => Value::Datetime(DatetimeKey {
            seconds: days_from_civil(y, m, d) * 86_400 + secs_of_day - offset,
            nanos,
            shape,
        }),
        None => Value::String,
    }
}

/// Parses `T|t|' '` `HH:MM[:SS[.f+]][zone]`; returns (seconds of day, nanos, offset seconds, shape).
fn parse_time(t: &[u8]) -> Option<(i64, u32, i64, u8)> {
    let mut shape = 0u8;
    match t.first()? {
        b'T' | b't' => {}
        b' ' => shape |= DT_SPACE,
        _ => return None,
    }
    if t.len() < 6 || t[3] != b':' {
        return None;
    }
    let h = two(&t[1..3])?;
    let mi = two(&t[4..6])?;
    if h > 23 || mi > 59 {
        return None;
    }
    let mut i = 6;
    let mut s = 0;
    let mut nanos = 0u32;
    if t.len() > i && t[i] == b':' {
        if t.len() < i + 3 {
            return None;
        }
        s = two(&t[i + 1..i + 3])?;
        if s > 60 {
            return None;
        }
        i += 3;
        if t.len() > i && t[i] == b'.' {
            i += 1;
            let n = t[i..].iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            for (k, &dgt) in t[i..i + n].iter().enumerate().take(9) {
                nanos += u32::from(dgt - b'0') * 10u32.pow(8 - k as u32);
            }
            i += n;
            shape |= DT_FRACTION;
        }
    } else {
        shape |= DT_NO_SECONDS;
    }
    let zone = &t[i..];
    let offset = match zone {
        [] => 0,
        [b'Z' | b'z'] => {
            shape |= DT_ZONE | DT_UTC_Z;
            0
        }
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (oh, om) = match rest {
                [a, b] => (two(&[*a, *b])?, 0),
                [a, b, b':', c, d] | [a, b, c, d] => (two(&[*a, *b])?, two(&[*c, *d])?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            shape |= DT_ZONE;
            let off = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    Some((i64::from(h * 3600 + mi * 60 + s), nanos, offset, shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The date parser as it was before the digits were checked together.
    fn parse_date_reference(v: &[u8]) -> Option<(u32, u32, u32)> {
        if v.len() < 10 || v[4] != b'-' || v[7] != b'-' {
            return None;
        }
        let y = two(&v[0..2])? * 100 + two(&v[2..4])?;
        let m = two(&v[5..7])?;
        let d = two(&v[8..10])?;
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        Some((y, m, d))
    }

    /// Same value, NaN included, and the same sign of zero.
    fn same_value(a: Value, b: Value) -> bool {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            (a, b) => a == b,
        }
    }

    #[test]
    fn the_fast_number_paths_agree_with_the_general_one() {
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "+0",
            "00",
            "01",
            "-01",
            "0.5",
            "-0.0",
            "00.5",
            ".5",
            "5.",
            "-.5",
            "-",
            "+",
            ".",
            "1.2.3",
            "1e5",
            "1.5e3",
            "123456789012345678",
            "1234567890123456789",
            "-9223372036854775808",
            "9223372036854775808",
            "12345678901234.5",
            "1234567890123.45",
            "123456789012345.6",
            "0.000000000000001",
            "0.1234567890123456",
            "1-2",
            "1 ",
            " 1",
            "1.5x",
            "nan",
            "-inf",
            "Infinity",
            "12a",
            "-0.826122",
            "21482",
            "999999999999999.9",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every string of up to four bytes over the characters that matter.
        let alphabet = b"-+.0159eE";
        let mut level = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for p in &level {
                for &c in alphabet {
                    next.push(format!("{p}{}", c as char));
                }
            }
            cases.extend(next.iter().cloned());
            level = next;
        }
        for c in &cases {
            let (fast, general) = (
                classify_number(c.as_bytes()),
                classify_number_general(c.as_bytes()),
            );
            assert!(same_value(fast, general), "{c}: {fast:?} vs {general:?}");
        }
    }

    #[test]
    fn the_date_parser_agrees_with_the_reference() {
        let mut cases = Vec::new();
        for y in [
            "2024", "1900", "2000", "2023", "0000", "9999", "20a4", "2 24",
        ] {
            for m in [
                "00", "01", "02", "04", "09", "10", "12", "13", "1a", "/1", ":1",
            ] {
                for d in ["00", "01", "28", "29", "30", "31", "32", "3:", "/9", "99"] {
                    cases.push(format!("{y}-{m}-{d}"));
                    cases.push(format!("{y}-{m}-{d}T10:00:00Z"));
                    cases.push(format!("{y}/{m}-{d}"));
                }
            }
        }
        for c in &cases {
            assert_eq!(
                parse_date(c.as_bytes()),
                parse_date_reference(c.as_bytes()),
                "{c}"
            );
        }
    }

    fn ty(s: &str) -> Type {
        classify(s.as_bytes()).ty()
    }

    #[test]
    fn join_is_the_lattice() {
        use Type::*;
        let all = [Null, Boolean, Integer, Float, Date, Datetime, Array, String];
        for a in all {
            assert_eq!(Null.join(a), a);
            assert_eq!(a.join(a), a);
            assert_eq!(String.join(a), String);
            for b in all {
                assert_eq!(a.join(b), b.join(a), "{a} {b}");
                for c in all {
                    assert_eq!(a.join(b).join(c), a.join(b.join(c)));
                }
            }
        }
        assert_eq!(Integer.join(Float), Float);
        assert_eq!(Date.join(Datetime), Datetime);
        assert_eq!(Boolean.join(Integer), String);
        assert_eq!(Date.join(Integer), String);
        assert_eq!(Float.join(Datetime), String);
    }

    #[test]
    fn integers() {
        for s in [
            "0",
            "1",
            "-1",
            "+5",
            "-0",
            "1234567890",
            "9223372036854775807",
        ] {
            assert_eq!(ty(s), Type::Integer, "{s}");
        }
        assert_eq!(classify(b"-9223372036854775808"), Value::Integer(i64::MIN));
        assert_eq!(classify(b"9223372036854775808"), Value::BigInteger);
        assert_eq!(classify(b"-9223372036854775809"), Value::BigInteger);
        assert_eq!(classify(b"18446744073709551615"), Value::BigInteger);
        assert_eq!(classify(b"18446744073709551616"), Value::BigInteger);
        assert_eq!(classify(b"9999999999999999999"), Value::BigInteger);
        assert_eq!(
            classify(b"-999999999999999999"),
            Value::Integer(-999_999_999_999_999_999)
        );
        assert_eq!(classify(b"-99999999999999999999999"), Value::BigInteger);
        for s in [
            "007", "01234", "-01", "00", "+", "-", "1-2", "1 ", " 1", "1_000", "1,000", "0x1f",
        ] {
            assert_eq!(ty(s), Type::String, "{s}");
        }
    }

    #[test]
    fn fast_shapes_agree_with_classify() {
        for s in [
            "0",
            "-0",
            "7",
            "-12",
            "123456789012345678",
            "1234567890123456789",
            "007",
            "+5",
            "1x",
            "-",
            "",
        ] {
            if let Some(i) = plain_int(s.as_bytes()) {
                assert_eq!(classify(s.as_bytes()), Value::Integer(i), "{s}");
            }
        }
        assert_eq!(plain_int(b"-123"), Some(-123));
        assert_eq!(plain_int(b"007"), None);
        for s in [
            "2024-02-29",
            "2023-02-29",
            "2024-01-01T00:00:00",
            "20240101",
        ] {
            if let Some(d) = plain_date(s.as_bytes()) {
                assert_eq!(classify(s.as_bytes()), Value::Date(d), "{s}");
            }
        }
        assert_eq!(plain_date(b"2023-02-29"), None);
    }

    #[test]
    fn floats() {
        for s in [
            "1.5", "1e5", ".5", "5.", "-2.5E-3", "0.0", "-.5", "+1.", "1E+10", "0e0",
        ] {
            assert_eq!(ty(s), Type::Float, "{s}");
        }
        for s in ["NaN", "nan", "inf", "-inf", "+Infinity", "INF", "-INFINITY"] {
            assert!(
                matches!(classify(s.as_bytes()), Value::Float(f) if !f.is_finite()),
                "{s}"
            );
        }
        for s in [
            ".", "-.", "1e", "1e+", "e5", "1.2.3", "00.5", "1.5x", "-nan", "infinit", "1..2",
        ] {
            assert_eq!(ty(s), Type::String, "{s}");
        }
        assert_eq!(classify(b"-0.123456"), Value::Float(-0.123456));
        assert_eq!(classify(b"5."), Value::Float(5.0));
        assert_eq!(classify(b"1.7976931348623157e308"), Value::Float(f64::MAX));
    }

    #[test]
    fn booleans() {
        for s in ["true", "false", "TRUE", "False", "tRuE"] {
            assert_eq!(ty(s), Type::Boolean, "{s}");
        }
        for s in ["yes", "no", "t", "f", "Y", "N", "truee"] {
            assert_eq!(ty(s), Type::String, "{s}");
        }
        assert_eq!(ty("0"), Type::Integer);
        assert_eq!(ty("1"), Type::Integer);
    }

    #[test]
    fn dates() {
        for s in ["2024-02-29", "2000-02-29", "1999-12-31", "0001-01-01"] {
            assert_eq!(ty(s), Type::Date, "{s}");
        }
        for s in [
            "2023-02-29",
            "1900-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "2024-1-01",
            "2024/01/01",
            "2024-01-1x",
        ] {
            assert_eq!(ty(s), Type::String, "{s}");
        }
        assert!(classify(b"2024-01-02") != classify(b"2024-01-01"));
    }

    #[test]
    fn datetimes() {
        for s in [
            "2024-01-01T00:00:00",
            "2024-01-01 23:59:59",
            "2024-01-01T12:30",
            "2024-01-01T12:30:00Z",
            "2024-01-01t12:30:00z",
            "2024-01-01T12:30:00.123456789+02:00",
            "2024-01-01T12:30:00-0530",
            "2024-01-01T12:30:00+01",
            "2016-12-31T23:59:60Z",
        ] {
            assert_eq!(ty(s), Type::Datetime, "{s}");
        }
        for s in [
            "2024-01-01T24:00:00",
            "2024-01-01T12:60:00",
            "2024-01-01T12:00:61",
            "2024-01-01X12:00:00",
            "2024-01-01T12:00:00.",
            "2024-01-01T12:00:00+25:00",
            "2024-01-01T12:00:00 UTC",
            "2023-02-29T00:00:00",
            "2024-01-01T",
        ] {
            assert_eq!(ty(s), Type::String, "{s}");
        }
        let Value::Datetime(a) = classify(b"2024-01-01T12:00:00+02:00") else {
            panic!()
        };
        let Value::Datetime(b) = classify(b"2024-01-01T10:00:00Z") else {
            panic!()
        };
        assert_eq!(a.cmp_instant(&b), std::cmp::Ordering::Equal);
        let Value::Datetime(e) = classify(b"1970-01-01T00:00:01") else {
            panic!()
        };
        assert_eq!(e.seconds, 1);
        let Value::Datetime(f) = classify(b"1969-12-31 23:59:59.5") else {
            panic!()
        };
        assert_eq!((f.seconds, f.nanos), (-1, 500_000_000));
    }

    #[test]
    fn other_strings() {
        for s in ["", "abc", "n/a", "-", "2024", "12:30", "€"] {
            assert_eq!(
                classify(s.as_bytes()).ty(),
                if s == "2024" {
                    Type::Integer
                } else {
                    Type::String
                },
                "{s}"
            );
        }
    }
}
