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

/// Turns instants into local calendar dates. The UTC offset is looked up once per
/// 15-minute slot (zones change offsets on quarter-hour boundaries at the finest), and the
/// date follows from plain day arithmetic.
#[derive(Debug)]
pub struct LocalDates {
    tz: TimeZone,
    last_slot: i64,
    last_offset_s: Option<i64>,
}

impl LocalDates {
    /// Dates in time zone `tz`.
    pub fn new(tz: TimeZone) -> Self {
        LocalDates {
            tz,
            last_slot: i64::MIN,
            last_offset_s: None,
        }
    }

    /// The local date of an instant, or `None` when it is out of range.
    pub fn date(&mut self, ms: i64) -> Option<Date> {
        let slot = ms.div_euclid(15 * 60_000);
        if slot != self.last_slot {
            self.last_slot = slot;
            self.last_offset_s = Timestamp::from_millisecond(ms)
                .ok()
                .map(|ts| i64::from(self.tz.to_offset(ts).seconds()));
        }
        let offset = self.last_offset_s?;
        let days = (ms.div_euclid(1000) + offset).div_euclid(86_400);
        civil_from_days(days)
    }
}

/// The date `days` days after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> Option<Date> {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Date::new(i16::try_from(y).ok()?, m as i8, d as i8).ok()
}

/// First day of the week that contains `d`.
pub fn week_start(d: Date, first: Weekday) -> Date {
    let back = i32::from(d.weekday().since(first));
    d.checked_sub(jiff::Span::new().days(back)).unwrap_or(d)
}

/// The system's time zone. Where `TZ` is unset and `/etc/localtime` is a TZif file, the
/// zone is read from it directly: [`TimeZone::system`] (and [`TimeZone::get`]) would first
/// index the whole zoneinfo database, hundreds of system calls that cost more than the rest
/// of a cached report.
pub fn system_time_zone() -> TimeZone {
    const LOCALTIME: &str = "/etc/localtime";
    if std::env::var_os("TZ").is_none() {
        if let Ok(data) = std::fs::read(LOCALTIME) {
            let target = std::fs::read_link(LOCALTIME).ok();
            let name = target
                .as_deref()
                .and_then(|t| t.to_str())
                .and_then(|t| t.rsplit_once("zoneinfo/"))
                .map_or("Local", |(_, name)| name);
            if let Ok(tz) = TimeZone::tzif(name, &data) {
                return tz;
            }
        }
    }
    TimeZone::system()
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
    fn system_time_zone_agrees_with_jiff() {
        let ours = system_time_zone();
        let jiffs = TimeZone::system();
        // a span of years, hour by hour around the transitions of most zones
        for day in (0..3 * 366).step_by(7) {
            for hour in 0..24 {
                let ts =
                    Timestamp::from_second(1_700_000_000 + day * 86_400 + hour * 3_600).unwrap();
                assert_eq!(ours.to_offset(ts), jiffs.to_offset(ts), "{ts}");
            }
        }
    }

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
        let mut utc = LocalDates::new(TimeZone::UTC);
        for s in [
            "1969-12-31T23:59:59.999Z",
            "2000-02-29T12:00:00Z",
            "2025-12-31T23:59:59Z",
        ] {
            let ms = parse_timestamp_ms(s).unwrap();
            assert_eq!(utc.date(ms).unwrap().to_string(), &s[..10], "{s}");
        }
        // New York changes its offset during 2025-03-09 (DST)
        let mut ny = LocalDates::new(TimeZone::get("America/New_York").unwrap());
        let ms = parse_timestamp_ms("2025-03-09T04:30:00Z").unwrap();
        assert_eq!(ny.date(ms).unwrap().to_string(), "2025-03-08");
        let ms = parse_timestamp_ms("2025-07-01T03:59:00Z").unwrap();
        assert_eq!(ny.date(ms).unwrap().to_string(), "2025-06-30");
    }
}
