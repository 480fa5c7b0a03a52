//! Timestamps and calendar periods.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Parses an RFC 3339 timestamp into milliseconds since the epoch. The common Claude Code
/// form `YYYY-MM-DDTHH:MM:SS(.fff)Z` takes a fast path; anything else goes through jiff.
pub fn parse_timestamp_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[b.len() - 1] == b'Z'
    {
        let (y, mo, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
        let (h, mi, sec) = (
            digits(&b[11..13])?,
            digits(&b[14..16])?,
            digits(&b[17..19])?,
        );
        let frac = &b[19..b.len() - 1];
        let ms = match frac {
            [] => Some(0),
            [b'.', rest @ ..] if !rest.is_empty() && rest.len() <= 9 => {
                let mut v = digits(rest)?;
                for _ in rest.len()..3 {
                    v *= 10;
                }
                for _ in 3..rest.len() {
                    v /= 10;
                }
                Some(v)
            }
            _ => None,
        };
        if let Some(ms) = ms {
            if (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && sec < 61 {
                let days = days_from_civil(y, mo, d);
                return Some(((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + ms);
            }
            return None;
        }
    }
    let ts: Timestamp = s.parse().ok()?;
    Some(ts.as_millisecond())
}

/// Formats milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_ms(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => String::from("invalid"),
    }
}

/// Turns instants into local calendar dates, caching per UTC hour (time zones change
/// offsets on hour or half-hour boundaries; a 15-minute granularity is used to be safe).
#[derive(Debug)]
pub struct LocalDates {
    tz: TimeZone,
    last_slot: i64,
    last_date: Option<Date>,
}

impl LocalDates {
    /// Dates in time zone `tz`.
    pub fn new(tz: TimeZone) -> Self {
        LocalDates {
            tz,
            last_slot: i64::MIN,
            last_date: None,
        }
    }

    /// The local date of an instant, or `None` when it is out of range.
    pub fn date(&mut self, ms: i64) -> Option<Date> {
        let slot = ms.div_euclid(15 * 60_000);
        if slot == self.last_slot {
            return self.last_date;
        }
        let date = Timestamp::from_millisecond(ms)
            .ok()
            .map(|ts| ts.to_zoned(self.tz.clone()).date());
        self.last_slot = slot;
        self.last_date = date;
        date
    }
}

/// First day of the week that contains `d`.
pub fn week_start(d: Date, first: Weekday) -> Date {
    let back = i32::from(d.weekday().since(first));
    d.checked_sub(jiff::Span::new().days(back)).unwrap_or(d)
}

/// Parses `YYYY-MM-DD` (or `YYYYMMDD`, as ccusage accepts).
pub fn parse_date(s: &str) -> Option<Date> {
    if s.len() == 8 && s.bytes().all(|c| c.is_ascii_digit()) {
        let y: i16 = s[0..4].parse().ok()?;
        let m: i8 = s[4..6].parse().ok()?;
        let d: i8 = s[6..8].parse().ok()?;
        return Date::new(y, m, d).ok();
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_jiff() {
        for s in [
            "2025-05-06T03:05:47.123Z",
            "2025-05-06T03:05:47Z",
            "2024-02-29T23:59:59.9Z",
            "1999-12-31T00:00:00.123456Z",
            "2025-01-01T00:00:00.000Z",
        ] {
            let want = s.parse::<Timestamp>().unwrap().as_millisecond();
            assert_eq!(parse_timestamp_ms(s), Some(want), "{s}");
        }
        assert_eq!(
            parse_timestamp_ms("2025-05-06T05:05:47.123+02:00"),
            parse_timestamp_ms("2025-05-06T03:05:47.123Z")
        );
        for bad in [
            "",
            "yesterday",
            "2025-13-06T03:05:47Z",
            "2025-05-06T03:05:4xZ",
        ] {
            assert_eq!(parse_timestamp_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn weeks_and_dates() {
        let d: Date = "2025-05-07".parse().unwrap(); // a Wednesday
        assert_eq!(week_start(d, Weekday::Sunday).to_string(), "2025-05-04");
        assert_eq!(week_start(d, Weekday::Monday).to_string(), "2025-05-05");
        assert_eq!(parse_date("20250507"), Some(d));
        assert_eq!(parse_date("2025-05-07"), Some(d));
        assert_eq!(parse_date("2025-5-7x"), None);
        let mut dates = LocalDates::new(TimeZone::get("Asia/Tokyo").unwrap());
        let ms = parse_timestamp_ms("2025-05-06T20:00:00Z").unwrap();
        assert_eq!(dates.date(ms).unwrap().to_string(), "2025-05-07");
    }
}
