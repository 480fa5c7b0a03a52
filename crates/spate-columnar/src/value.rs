//! Turning one value's text into the stored value of a column type, by spate's own rules
//! ([`spate_csv::classify`]): the write pass reads values exactly as the inference typed them.

use spate_csv::types::{classify, classify_number, Value, DT_ZONE};

use crate::schema::{ColumnType, DECIMAL_DIGITS};

/// A stored value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Stored {
    Bool(bool),
    I64(i64),
    I128(i128),
    F64(f64),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00 (UTC, or the wall clock).
    Micros(i64),
}

/// Why a value does not fit.
pub(crate) type Misfit = String;

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of days since 1970-01-01 (the inverse of [`days_from_civil`]).
pub(crate) fn civil_from_days(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The days of spate's date key (`y*10000 + m*100 + d`).
pub(crate) fn date_key_days(key: u32) -> i32 {
    let (y, m, d) = (key / 10_000, key / 100 % 100, key % 100);
    days_from_civil(i64::from(y), i64::from(m), i64::from(d)) as i32
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A numeric text (as JSON or CSV writes it) for a numeric column.
pub(crate) fn number(text: &[u8], ty: ColumnType) -> Result<Stored, Misfit> {
    let v = classify_number(text);
    match (ty, v) {
        (ColumnType::Int64, Value::Integer(i)) => Ok(Stored::I64(i)),
        (ColumnType::Decimal, Value::Integer(i)) => Ok(Stored::I128(i128::from(i))),
        (ColumnType::Decimal, Value::BigInteger) => decimal(text),
        (ColumnType::Float64, Value::Float(f)) => Ok(Stored::F64(f)),
        (ColumnType::Float64, Value::Integer(i)) => Ok(Stored::F64(i as f64)),
        (ColumnType::Float64, Value::BigInteger) => std::str::from_utf8(text)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .map(Stored::F64)
            .ok_or_else(|| misfit(text, ty)),
        _ => Err(misfit(text, ty)),
    }
}

/// An integer of at most 38 digits.
fn decimal(text: &[u8]) -> Result<Stored, Misfit> {
    let digits = text
        .iter()
        .filter(|b| b.is_ascii_digit())
        .skip_while(|&&b| b == b'0')
        .count();
    if digits > usize::from(DECIMAL_DIGITS) {
        return Err(misfit(text, ColumnType::Decimal));
    }
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<i128>().ok())
        .map(Stored::I128)
        .ok_or_else(|| misfit(text, ColumnType::Decimal))
}

/// A text value (a JSON string, or CSV text) for a column that is not a string column.
pub(crate) fn text(text: &[u8], ty: ColumnType, json: bool) -> Result<Stored, Misfit> {
    let v = if json {
        spate_csv::json::json_string_value(text)
    } else {
        classify(text)
    };
    match (ty, v) {
        (ColumnType::Boolean, Value::Boolean(b)) => Ok(Stored::Bool(b)),
        (ColumnType::Float64, Value::Float(f)) if !json => Ok(Stored::F64(f)),
        (ColumnType::Int64 | ColumnType::Decimal | ColumnType::Float64, _) if !json => {
            number(text, ty)
        }
        (ColumnType::Float64, Value::Float(f)) => Ok(Stored::F64(f)),
        (ColumnType::Date, Value::Date(key)) => Ok(Stored::Date(date_key_days(key))),
        (ColumnType::Timestamp { .. }, Value::Date(key)) => Ok(Stored::Micros(
            i64::from(date_key_days(key)) * MICROS_PER_DAY,
        )),
        (ColumnType::Timestamp { utc }, Value::Datetime(k)) => {
            if !utc && k.shape & DT_ZONE != 0 {
                return Err(format!(
                    "{} has a zone, but the column's datetimes have none",
                    excerpt(text)
                ));
            }
            if k.nanos % 1000 != 0 {
                return Err(format!(
                    "{} has a fraction of a second finer than microseconds, which a \
                     Parquet/Arrow timestamp column here does not keep",
                    excerpt(text)
                ));
            }
            k.seconds
                .checked_mul(1_000_000)
                .and_then(|m| m.checked_add(i64::from(k.nanos / 1000)))
                .map(Stored::Micros)
                .ok_or_else(|| format!("{} is out of the timestamp range", excerpt(text)))
        }
        _ => Err(misfit(text, ty)),
    }
}

/// The value's text, shortened, for messages.
pub(crate) fn excerpt(text: &[u8]) -> String {
    let s = String::from_utf8_lossy(&text[..text.len().min(60)]);
    if text.len() > 60 {
        format!("{s:?}...")
    } else {
        format!("{s:?}")
    }
}

pub(crate) fn misfit(text: &[u8], ty: ColumnType) -> Misfit {
    format!("{} is not {}", excerpt(text), ty.describe())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(date_key_days(20240229), 19_782);
        for d in [-719_162, -1, 0, 59, 19_782, 2_932_896] {
            let text = civil_from_days(d);
            let key: u32 = text.replace('-', "").parse().unwrap();
            assert_eq!(i64::from(date_key_days(key)), d, "{text}");
        }
        assert_eq!(i64::from(date_key_days(10101)), days_from_civil(1, 1, 1));
    }

    #[test]
    fn values() {
        assert_eq!(number(b"12", ColumnType::Int64), Ok(Stored::I64(12)));
        assert!(number(b"1.5", ColumnType::Int64).is_err());
        assert!(number(b"9223372036854775808", ColumnType::Int64).is_err());
        assert_eq!(
            number(b"-99999999999999999999999", ColumnType::Decimal),
            Ok(Stored::I128(-99_999_999_999_999_999_999_999))
        );
        assert!(number(&[b'9'; 39], ColumnType::Decimal).is_err());
        assert_eq!(number(b"3", ColumnType::Float64), Ok(Stored::F64(3.0)));
        assert!(
            matches!(text(b"NaN", ColumnType::Float64, true), Ok(Stored::F64(f)) if f.is_nan())
        );
        assert_eq!(
            text(b"1970-01-02", ColumnType::Date, true),
            Ok(Stored::Date(1))
        );
        assert_eq!(
            text(
                b"1970-01-01T00:00:01.5+00:00",
                ColumnType::Timestamp { utc: true },
                true
            ),
            Ok(Stored::Micros(1_500_000))
        );
        assert!(text(
            b"1970-01-01T00:00:01Z",
            ColumnType::Timestamp { utc: false },
            true
        )
        .is_err());
        assert!(text(
            b"1970-01-01T00:00:01.0000001",
            ColumnType::Timestamp { utc: false },
            true
        )
        .is_err());
        assert_eq!(
            text(b"TRUE", ColumnType::Boolean, false),
            Ok(Stored::Bool(true))
        );
        assert_eq!(text(b"+7", ColumnType::Int64, false), Ok(Stored::I64(7)));
        assert!(text(b"12", ColumnType::Int64, true).is_err());
    }
}
