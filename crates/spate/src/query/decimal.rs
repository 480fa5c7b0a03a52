//! Exact decimal numbers for sums: no float drift, no overflow.
//!
//! A JSON number's text is read exactly as `mantissa × 10^-scale`. The mantissa is an
//! `i128` while it fits (the fast, common case) and a big integer beyond, so sums of
//! integers are exact at any size and sums of decimals are exact in decimal.

use std::cmp::Ordering;
use std::fmt;

use num_bigint::BigInt;

/// Exponents beyond this are refused: `1e1000000000` would need a billion digits.
pub const MAX_EXPONENT: i64 = 4096;

/// Numbers with more digits than this are refused (by sums, min/max, group keys and the
/// values handed to jq): reading a big integer takes time that grows with the square of
/// its length, so a number of millions of digits would take minutes.
pub const MAX_DIGITS: usize = 10_000;

/// An exact decimal number.
#[derive(Debug, Clone)]
pub struct Decimal {
    mantissa: Mantissa,
    scale: u32,
}

#[derive(Debug, Clone)]
enum Mantissa {
    Small(i128),
    Big(BigInt),
}

/// A value that is not a number that can be summed exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberError {
    /// Not a JSON number.
    NotANumber,
    /// A number whose exponent is too large to expand exactly.
    ExponentTooLarge,
    /// A number with more than [`MAX_DIGITS`] digits.
    TooLong,
}

impl Default for Decimal {
    fn default() -> Self {
        Decimal::ZERO
    }
}

impl Decimal {
    /// Zero.
    pub const ZERO: Decimal = Decimal {
        mantissa: Mantissa::Small(0),
        scale: 0,
    };

    /// Reads a JSON number's text exactly.
    pub fn parse(text: &[u8]) -> Result<Decimal, NumberError> {
        let mut i = 0;
        let negative = text.first() == Some(&b'-');
        if negative {
            i += 1;
        }
        let int_start = i;
        while i < text.len() && text[i].is_ascii_digit() {
            i += 1;
        }
        let int_digits = &text[int_start..i];
        if int_digits.is_empty() {
            return Err(NumberError::NotANumber);
        }
        let mut frac_digits: &[u8] = &[];
        if text.get(i) == Some(&b'.') {
            let start = i + 1;
            i = start;
            while i < text.len() && text[i].is_ascii_digit() {
                i += 1;
            }
            frac_digits = &text[start..i];
            if frac_digits.is_empty() {
                return Err(NumberError::NotANumber);
            }
        }
        let mut exponent: i64 = 0;
        if matches!(text.get(i), Some(b'e' | b'E')) {
            i += 1;
            let negative_exp = match text.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let start = i;
            while i < text.len() && text[i].is_ascii_digit() {
                if exponent > MAX_EXPONENT {
                    return Err(NumberError::ExponentTooLarge);
                }
                exponent = exponent * 10 + i64::from(text[i] - b'0');
                i += 1;
            }
            if start == i {
                return Err(NumberError::NotANumber);
            }
            if exponent > MAX_EXPONENT {
                return Err(NumberError::ExponentTooLarge);
            }
            if negative_exp {
                exponent = -exponent;
            }
        }
        if i != text.len() {
            return Err(NumberError::NotANumber);
        }
        let scale = frac_digits.len() as i64 - exponent;
        let digits = int_digits.len() + frac_digits.len();
        if digits > MAX_DIGITS {
            return Err(NumberError::TooLong);
        }
        let mut d = if digits <= 36 {
            let mut m: i128 = 0;
            for &b in int_digits.iter().chain(frac_digits) {
                m = m * 10 + i128::from(b - b'0');
            }
            Decimal {
                mantissa: Mantissa::Small(if negative { -m } else { m }),
                scale: 0,
            }
        } else {
            let mut s = String::with_capacity(digits + 1);
            if negative {
                s.push('-');
            }
            s.extend(int_digits.iter().chain(frac_digits).map(|&b| b as char));
            Decimal {
                mantissa: Mantissa::Big(s.parse().expect("digits")),
                scale: 0,
            }
        };
        if scale >= 0 {
            d.scale = scale as u32;
        } else {
            d.rescale_up((-scale) as u32);
        }
        Ok(d)
    }

    /// Multiplies the mantissa by 10^by (the value times 10^by when the scale is kept).
    fn rescale_up(&mut self, by: u32) {
        if by == 0 {
            return;
        }
        if let Mantissa::Small(m) = self.mantissa {
            if let Some(v) = 10i128.checked_pow(by).and_then(|p| m.checked_mul(p)) {
                self.mantissa = Mantissa::Small(v);
                return;
            }
            self.mantissa = Mantissa::Big(BigInt::from(m));
        }
        if let Mantissa::Big(b) = &mut self.mantissa {
            *b *= BigInt::from(10u8).pow(by);
        }
    }

    /// The same value with scale `scale` (which must not be smaller than the current one).
    fn with_scale(&self, scale: u32) -> Decimal {
        let mut d = self.clone();
        d.rescale_up(scale - self.scale);
        d.scale = scale;
        d
    }

    /// Adds `other` exactly.
    pub fn add(&mut self, other: &Decimal) {
        if other.scale > self.scale {
            let s = other.scale;
            *self = self.with_scale(s);
        }
        let other = if other.scale < self.scale {
            other.with_scale(self.scale)
        } else {
            other.clone()
        };
        self.mantissa = match (&self.mantissa, other.mantissa) {
            (Mantissa::Small(a), Mantissa::Small(b)) => match a.checked_add(b) {
                Some(v) => Mantissa::Small(v),
                None => Mantissa::Big(BigInt::from(*a) + BigInt::from(b)),
            },
            (Mantissa::Small(a), Mantissa::Big(b)) => Mantissa::Big(BigInt::from(*a) + b),
            (Mantissa::Big(a), Mantissa::Small(b)) => Mantissa::Big(a + BigInt::from(b)),
            (Mantissa::Big(a), Mantissa::Big(b)) => Mantissa::Big(a + b),
        };
    }

    fn big(&self) -> BigInt {
        match &self.mantissa {
            Mantissa::Small(m) => BigInt::from(*m),
            Mantissa::Big(b) => b.clone(),
        }
    }

    /// The value's shortest exact text, the same for every way of writing it: `1E2`,
    /// `100` and `100.0` are all `100`, `-0` is `0`, `1.50` is `1.5`.
    pub fn canonical(&self) -> String {
        let mut d = self.clone();
        while d.scale > 0 {
            let ten = match &d.mantissa {
                Mantissa::Small(m) => m % 10 == 0,
                Mantissa::Big(b) => (b % BigInt::from(10u8)) == BigInt::from(0u8),
            };
            if !ten {
                break;
            }
            d.mantissa = match d.mantissa {
                Mantissa::Small(m) => Mantissa::Small(m / 10),
                Mantissa::Big(b) => Mantissa::Big(b / BigInt::from(10u8)),
            };
            d.scale -= 1;
        }
        d.to_string()
    }

    /// `self / n` as JSON number text, for a value beyond `f64`'s range (`1e400`): the
    /// leading 17 digits divided as a float, with the decimal exponent written out.
    pub fn div_text(&self, n: u64) -> String {
        let text = self.to_string();
        let (sign, text) = match text.strip_prefix('-') {
            Some(t) => ("-", t),
            None => ("", &text[..]),
        };
        let int_len = text.find('.').unwrap_or(text.len());
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let k = digits.len().min(17);
        let lead: f64 = digits[..k].parse().unwrap_or(0.0);
        let mut exponent = int_len as i64 - k as i64;
        let mut mean = lead / n as f64;
        while mean >= 10.0 {
            mean /= 10.0;
            exponent += 1;
        }
        format!("{sign}{mean}e{exponent}")
    }

    /// The nearest `f64` (for means).
    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let scale = self.scale.max(other.scale);
        let (a, b) = (self.with_scale(scale), other.with_scale(scale));
        match (&a.mantissa, &b.mantissa) {
            (Mantissa::Small(x), Mantissa::Small(y)) => x.cmp(y),
            _ => a.big().cmp(&b.big()),
        }
    }
}

impl fmt::Display for Decimal {
    /// Plain decimal notation (no exponent), keeping the scale: `1.50 + 2.25` is `3.75`,
    /// `1.5 + 1.5` is `3.0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = match &self.mantissa {
            Mantissa::Small(m) => m.to_string(),
            Mantissa::Big(b) => b.to_string(),
        };
        let (sign, digits) = match digits.strip_prefix('-') {
            Some(d) => ("-", d),
            None => ("", &digits[..]),
        };
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
        } else {
            digits.to_owned()
        };
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s.as_bytes()).unwrap()
    }

    fn sum(xs: &[&str]) -> String {
        let mut total = Decimal::ZERO;
        for x in xs {
            total.add(&d(x));
        }
        total.to_string()
    }

    #[test]
    fn parses_exactly() {
        assert_eq!(d("0").to_string(), "0");
        assert_eq!(d("-12").to_string(), "-12");
        assert_eq!(d("1.50").to_string(), "1.50");
        assert_eq!(d("-0.001").to_string(), "-0.001");
        assert_eq!(d("1e3").to_string(), "1000");
        assert_eq!(d("1.5E-3").to_string(), "0.0015");
        assert_eq!(d("25e-1").to_string(), "2.5");
        assert!(Decimal::parse(b"abc").is_err());
        assert!(Decimal::parse(b"1.").is_err());
        assert!(Decimal::parse(b"\"1\"").is_err());
        assert_eq!(
            Decimal::parse(b"1e999999"),
            Err(NumberError::ExponentTooLarge)
        );
    }

    #[test]
    fn sums_without_drift() {
        assert_eq!(sum(&["0.1", "0.2"]), "0.3");
        assert_eq!(sum(&["1.5", "1.5"]), "3.0");
        assert_eq!(sum(&["1.50", "2.25", "-0.75"]), "3.00");
        // Beyond i64 and i128.
        assert_eq!(
            sum(&["9223372036854775807", "9223372036854775807"]),
            "18446744073709551614"
        );
        let big = "170141183460469231731687303715884105727"; // i128::MAX
        assert_eq!(
            sum(&[big, big, "1"]),
            "340282366920938463463374607431768211455"
        );
        assert_eq!(
            sum(&["123456789012345678901234567890123456789012.5", "0.5"]),
            "123456789012345678901234567890123456789013.0"
        );
    }

    #[test]
    fn orders_exactly() {
        assert!(d("0.30") == d("0.3"));
        assert!(d("1e2") > d("99.999"));
        assert!(d("-1") < d("0"));
        assert!(d("12345678901234567890123456789012345678901") > d("1e40"));
    }
}
