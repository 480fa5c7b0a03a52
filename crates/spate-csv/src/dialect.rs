//! Options, null tokens, delimiter sniffing and header detection.

use crate::split::{parse_records, FieldRange, RecordSink};
use crate::types::{classify, Type};

/// The values read as null. The empty field is always null; the default tokens are `NULL`,
/// `null` and `NA`, matched exactly (case-sensitive, no trimming). `n/a`, `None`, `-` are not
/// null by default: say so with `--null`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NullTokens {
    tokens: Vec<Vec<u8>>,
    max_len: usize,
    /// Bit `b` set when some token starts with byte `b`: most values are rejected by one load.
    first: [u64; 4],
}

impl Default for NullTokens {
    fn default() -> Self {
        NullTokens::new(
            ["NULL", "null", "NA"]
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect(),
        )
    }
}

impl NullTokens {
    /// These tokens (besides the empty field, which is always null).
    pub fn new(tokens: Vec<Vec<u8>>) -> Self {
        let tokens: Vec<Vec<u8>> = tokens.into_iter().filter(|t| !t.is_empty()).collect();
        let max_len = tokens.iter().map(Vec::len).max().unwrap_or(0);
        let mut first = [0u64; 4];
        for t in &tokens {
            first[usize::from(t[0] >> 6)] |= 1 << (t[0] & 63);
        }
        NullTokens {
            tokens,
            max_len,
            first,
        }
    }

    /// True when the value is null.
    #[inline]
    pub fn is_null(&self, v: &[u8]) -> bool {
        match v.first() {
            None => true,
            Some(&b) => {
                self.first[usize::from(b >> 6)] & (1 << (b & 63)) != 0
                    && v.len() <= self.max_len
                    && self.tokens.iter().any(|t| t == v)
            }
        }
    }

    /// The tokens, for the schema's `missingValues` (the empty string first).
    pub fn tokens(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(&b""[..]).chain(self.tokens.iter().map(Vec::as_slice))
    }
}

/// How to read a CSV file; `None` means "detect".
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Field delimiter; sniffed among `,` `;` tab `|` when `None`.
    pub delimiter: Option<u8>,
    /// Whether the first record is a header; detected when `None`.
    pub header: Option<bool>,
    /// Accept records with a different number of fields: missing fields are null, extra fields
    /// become columns `field_N`.
    pub flexible: bool,
    pub nulls: NullTokens,
    /// Read only the first N data rows.
    pub sample: Option<u64>,
    /// Worker threads for a file (0: one per core).
    pub threads: usize,
    /// Stop reading once every column is a string (row and null counts then cover only the
    /// rows read).
    pub types_only: bool,
    /// Files smaller than this are read sequentially (parallel start-up does not pay).
    pub parallel_min: u64,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: None,
            header: None,
            flexible: false,
            nulls: NullTokens::default(),
            sample: None,
            threads: 0,
            types_only: false,
            parallel_min: crate::parallel::PARALLEL_MIN,
        }
    }
}

/// The dialect of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub delimiter: u8,
    pub header: bool,
}

/// Candidate delimiters, in order of preference on ties.
pub const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];

/// Records of a sample, as field counts and (for the chosen delimiter) the field texts.
#[derive(Default)]
struct SampleRecords {
    counts: Vec<usize>,
    rows: Vec<Vec<Vec<u8>>>,
    keep_text: bool,
    limit: usize,
}

impl RecordSink for SampleRecords {
    fn record(&mut self, buf: &[u8], fields: &[FieldRange]) -> bool {
        self.counts.push(fields.len());
        if self.keep_text {
            self.rows.push(
                fields
                    .iter()
                    .map(|f| crate::split::unescape(&buf[f.start..f.end], f.quoted).into_owned())
                    .collect(),
            );
        }
        self.counts.len() < self.limit
    }
}

fn sample_records(sample: &[u8], eof: bool, delim: u8, keep_text: bool) -> SampleRecords {
    let mut s = SampleRecords {
        keep_text,
        limit: 200,
        ..Default::default()
    };
    // An unterminated quote in a truncated sample only means the sample ended inside a field.
    let _ = parse_records(sample, eof, delim, &mut Vec::new(), &mut s);
    s
}

/// Picks the delimiter: the candidate under which the most sample records share the most
/// common field count (more than one field), ties broken by more fields, then by the order of
/// [`DELIMITERS`]. `,` when no candidate splits the records.
pub fn sniff_delimiter(sample: &[u8], eof: bool) -> u8 {
    let mut best: Option<((usize, usize), u8)> = None;
    for &d in &DELIMITERS {
        let s = sample_records(sample, eof, d, false);
        let Some(modal) = mode(&s.counts) else {
            continue;
        };
        if modal <= 1 {
            continue;
        }
        let agree = s.counts.iter().filter(|&&c| c == modal).count();
        let score = (agree, modal);
        if best.is_none_or(|(s, _)| s < score) {
            best = Some((score, d));
        }
    }
    best.map_or(b',', |(_, d)| d)
}

fn mode(counts: &[usize]) -> Option<usize> {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..].iter().take_while(|&&c| c == sorted[i]).count();
        if best.is_none_or(|(c, _)| c < j) {
            best = Some((j, sorted[i]));
        }
        i += j;
    }
    best.map(|(_, c)| c)
}

/// The first record is a header unless one of its fields is a number, boolean, date or
/// datetime (header names practically never are, data often is).
pub fn detect_header(sample: &[u8], eof: bool, delim: u8, nulls: &NullTokens) -> bool {
    let s = sample_records(sample, eof, delim, true);
    let Some(first) = s.rows.first() else {
        return true;
    };
    first
        .iter()
        .all(|f| nulls.is_null(f) || classify(f).ty() == Type::String)
}

/// Sniffs what the options leave open. `sample` is the start of the input after any BOM;
/// `eof` says whether it is the whole input. `hint` is a delimiter implied by the file name.
pub fn sniff(sample: &[u8], eof: bool, opts: &CsvOptions, hint: Option<u8>) -> Dialect {
    let delimiter = opts
        .delimiter
        .or(hint)
        .unwrap_or_else(|| sniff_delimiter(sample, eof));
    let header = opts
        .header
        .unwrap_or_else(|| detect_header(sample, eof, delimiter, &opts.nulls));
    Dialect { delimiter, header }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_tokens() {
        let n = NullTokens::default();
        for v in ["", "NULL", "null", "NA"] {
            assert!(n.is_null(v.as_bytes()), "{v}");
        }
        for v in ["n/a", "Null", "na", " ", "NaN", "None"] {
            assert!(!n.is_null(v.as_bytes()), "{v}");
        }
        let n = NullTokens::new(vec![b"-".to_vec(), b"n/a".to_vec()]);
        assert!(n.is_null(b"-") && n.is_null(b"n/a") && n.is_null(b"") && !n.is_null(b"NA"));
    }

    #[test]
    fn delimiters() {
        assert_eq!(sniff_delimiter(b"a,b,c\n1,2,3\n4,5,6\n", true), b',');
        assert_eq!(sniff_delimiter(b"a;b;c\n1,5;2;3\n4;5;6\n", true), b';');
        assert_eq!(sniff_delimiter(b"a\tb\n1\t2\n", true), b'\t');
        assert_eq!(sniff_delimiter(b"a|b|c\n\"x|y\"|2|3\n", true), b'|');
        assert_eq!(sniff_delimiter(b"single\ncolumn\n", true), b',');
        // Commas inside quoted fields do not count.
        assert_eq!(
            sniff_delimiter(b"a;b\n\"1,2,3\";x\n\"4,5\";y\n", true),
            b';'
        );
    }

    #[test]
    fn headers() {
        let n = NullTokens::default();
        assert!(detect_header(b"id,name\n1,x\n", true, b',', &n));
        assert!(!detect_header(b"1,x\n2,y\n", true, b',', &n));
        assert!(!detect_header(b"x,2024-01-01\n", true, b',', &n));
        assert!(detect_header(b"name,city\nann,oslo\n", true, b',', &n));
        assert!(detect_header(b",name\n0,x\n", true, b',', &n));
    }
}
