//! A sans-I/O CSV record splitter: it is handed bytes, finds whole records and the byte ranges
//! of their fields, and says how far it got. No allocation per record, no I/O.
//!
//! What it accepts (RFC 4180 plus what real files contain):
//! - records end with `\n`, `\r\n` or a lone `\r`; empty lines are skipped;
//! - a field that starts with `"` is quoted: it may hold delimiters, newlines and doubled
//!   quotes `""`. The range handed out is the text between the quotes, still with its doubled
//!   quotes (a value with a quote in it is a string whatever else it holds, so inference never
//!   needs to unescape);
//! - lenient like the `csv` crate: a quote inside an unquoted field is a literal character, and
//!   text after a closing quote runs on to the delimiter. Either case is flagged
//!   ([`Parsed::stray_quote`]), because it breaks the quote-parity analysis that the parallel
//!   reader relies on, and the range handed out is then the raw field text;
//! - a quoted field still open at the end of input is an error.

/// The byte range of one field in the buffer, and whether it was quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRange {
    pub start: usize,
    pub end: usize,
    /// The field was quoted (its range may contain doubled quotes).
    pub quoted: bool,
}

/// Receives whole records.
pub trait RecordSink {
    /// One record: `fields` index into `buf`. Return false to stop after this record.
    fn record(&mut self, buf: &[u8], fields: &[FieldRange]) -> bool;
}

/// How far one call to [`parse_records`] got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Bytes consumed: the end of the last whole record handed out (and the empty lines after it).
    pub consumed: usize,
    /// The sink asked to stop; `last_record_start` is where the record it stopped at begins.
    pub stopped: bool,
    pub last_record_start: usize,
    /// A quote appeared inside an unquoted field or text followed a closing quote.
    pub stray_quote: bool,
    /// A record ended with a lone `\r`.
    pub bare_cr: bool,
    /// Records handed out.
    pub records: u64,
}

/// A quoted field was still open at the end of the input; the offset is where it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unterminated {
    pub field_start: usize,
}

/// Bytes that end an unquoted field or need attention in it.
struct Specials([bool; 256]);

impl Specials {
    fn new(delim: u8) -> Self {
        let mut t = [false; 256];
        t[usize::from(delim)] = true;
        t[usize::from(b'\n')] = true;
        t[usize::from(b'\r')] = true;
        t[usize::from(b'"')] = true;
        Specials(t)
    }
}

/// Parses whole records from `buf` and hands each to `sink`. When `eof` is false, a record that
/// reaches the end of `buf` is left for the next call (it is not consumed); when true, the end
/// of `buf` ends the last record. `fields` is scratch space reused across calls.
pub fn parse_records<S: RecordSink>(
    buf: &[u8],
    eof: bool,
    delim: u8,
    fields: &mut Vec<FieldRange>,
    sink: &mut S,
) -> Result<Parsed, Unterminated> {
    let specials = Specials::new(delim);
    let len = buf.len();
    let mut out = Parsed::default();
    let mut pos = 0;
    'records: loop {
        // Skip empty lines.
        while pos < len && (buf[pos] == b'\n' || buf[pos] == b'\r') {
            if buf[pos] == b'\r' && pos + 1 < len && buf[pos + 1] != b'\n' {
                out.bare_cr = true;
            }
            pos += 1;
        }
        out.consumed = pos;
        if pos >= len {
            return Ok(out);
        }
        let record_start = pos;
        fields.clear();
        loop {
            // At the start of a field.
            let field_start = pos;
            let mut quoted = false;
            let mut end;
            if pos < len && buf[pos] == b'"' {
                let mut p = pos + 1;
                loop {
                    match memchr::memchr(b'"', &buf[p..]) {
                        None => {
                            if eof {
                                return Err(Unterminated { field_start });
                            }
                            out.consumed = record_start;
                            return Ok(out);
                        }
                        Some(i) => {
                            let q = p + i;
                            if q + 1 < len && buf[q + 1] == b'"' {
                                p = q + 2;
                                continue;
                            }
                            if q + 1 >= len && !eof {
                                out.consumed = record_start;
                                return Ok(out);
                            }
                            end = q;
                            pos = q + 1;
                            break;
                        }
                    }
                }
                quoted = true;
                let at_boundary = pos >= len || {
                    let b = buf[pos];
                    b == delim || b == b'\n' || b == b'\r'
                };
                if at_boundary {
                    fields.push(FieldRange {
                        start: field_start + 1,
                        end,
                        quoted,
                    });
                } else {
                    // Text after the closing quote: keep the raw field text up to the delimiter.
                    out.stray_quote = true;
                    quoted = false;
                    while pos < len
                        && !(buf[pos] == delim || buf[pos] == b'\n' || buf[pos] == b'\r')
                    {
                        pos += 1;
                    }
                    end = pos;
                    if pos >= len && !eof {
                        out.consumed = record_start;
                        return Ok(out);
                    }
                    fields.push(FieldRange {
                        start: field_start,
                        end,
                        quoted,
                    });
                }
            } else {
                loop {
                    while pos < len && !specials.0[usize::from(buf[pos])] {
                        pos += 1;
                    }
                    if pos < len && buf[pos] == b'"' {
                        out.stray_quote = true;
                        pos += 1;
                        continue;
                    }
                    break;
                }
                end = pos;
                if pos >= len && !eof {
                    out.consumed = record_start;
                    return Ok(out);
                }
                fields.push(FieldRange {
                    start: field_start,
                    end,
                    quoted,
                });
            }
            // After a field: delimiter, record terminator, or end of input.
            if pos >= len {
                break;
            }
            let b = buf[pos];
            if b == delim {
                pos += 1;
                if pos >= len && !eof {
                    out.consumed = record_start;
                    return Ok(out);
                }
                continue;
            }
            // b is \n or \r
            if b == b'\r' {
                if pos + 1 < len {
                    if buf[pos + 1] == b'\n' {
                        pos += 1;
                    } else {
                        out.bare_cr = true;
                    }
                } else if !eof {
                    out.consumed = record_start;
                    return Ok(out);
                }
            }
            pos += 1;
            break;
        }
        out.records += 1;
        out.consumed = pos;
        if !sink.record(buf, fields) {
            out.stopped = true;
            out.last_record_start = record_start;
            return Ok(out);
        }
        continue 'records;
    }
}

/// The start of a record as written (at most 60 characters), for error messages.
pub fn excerpt(buf: &[u8], fields: &[FieldRange]) -> String {
    let (Some(first), Some(last)) = (fields.first(), fields.last()) else {
        return String::new();
    };
    let start = first.start.saturating_sub(usize::from(first.quoted));
    let end = (last.end + usize::from(last.quoted))
        .min(buf.len())
        .max(start);
    let text = String::from_utf8_lossy(&buf[start..end]);
    let mut out: String = text
        .chars()
        .take(60)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}

/// Removes the doubling of quotes in a quoted field's text.
pub fn unescape(raw: &[u8], quoted: bool) -> std::borrow::Cow<'_, [u8]> {
    if quoted && memchr::memchr(b'"', raw).is_some() {
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            out.push(raw[i]);
            if raw[i] == b'"' && i + 1 < raw.len() && raw[i + 1] == b'"' {
                i += 1;
            }
            i += 1;
        }
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<Vec<String>>);

    impl RecordSink for Collect {
        fn record(&mut self, buf: &[u8], fields: &[FieldRange]) -> bool {
            self.0.push(
                fields
                    .iter()
                    .map(|f| {
                        String::from_utf8(unescape(&buf[f.start..f.end], f.quoted).into_owned())
                            .unwrap()
                    })
                    .collect(),
            );
            true
        }
    }

    /// Feeds `input` in windows of `step` bytes, carrying the unconsumed tail like a reader does.
    fn split_in_windows(
        input: &[u8],
        step: usize,
    ) -> Result<(Vec<Vec<String>>, bool), Unterminated> {
        let mut sink = Collect::default();
        let mut scratch = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        let mut stray = false;
        loop {
            let take = step.min(input.len() - fed);
            buf.extend_from_slice(&input[fed..fed + take]);
            fed += take;
            let eof = fed == input.len();
            let p = parse_records(&buf, eof, b',', &mut scratch, &mut sink)?;
            stray |= p.stray_quote;
            buf.drain(..p.consumed);
            if eof {
                assert!(buf.is_empty());
                return Ok((sink.0, stray));
            }
        }
    }

    fn split(input: &str) -> Vec<Vec<String>> {
        let whole = split_in_windows(input.as_bytes(), usize::MAX / 2).unwrap();
        for step in [1, 2, 3, 7, 64] {
            assert_eq!(
                split_in_windows(input.as_bytes(), step).unwrap(),
                whole,
                "window {step}"
            );
        }
        whole.0
    }

    #[test]
    fn rfc4180_and_real_files() {
        assert_eq!(split("a,b\n1,2\n"), [["a", "b"], ["1", "2"]]);
        assert_eq!(split("a,b\r\n1,2\r\n"), [["a", "b"], ["1", "2"]]);
        assert_eq!(split("a,b\r1,2"), [["a", "b"], ["1", "2"]]);
        assert_eq!(split("a,b\n\n\r\n1,2\n\n"), [["a", "b"], ["1", "2"]]);
        assert_eq!(
            split("\"x\ny\",\"say \"\"hi\"\"\"\n"),
            [["x\ny", "say \"hi\""]]
        );
        assert_eq!(split("a,,\n,\"\",\n"), [["a", "", ""], ["", "", ""]]);
        assert_eq!(split("\"a,b\",c"), [["a,b", "c"]]);
        assert_eq!(split("a,b,"), [["a", "b", ""]]);
        assert_eq!(split("\"\"\"\""), [["\""]]);
    }

    #[test]
    fn stray_quotes_are_literal_and_flagged() {
        let (rows, stray) = split_in_windows(b"5'11\",x\n\"ab\"cd,y\n", 3).unwrap();
        assert_eq!(rows, [["5'11\"", "x"], ["\"ab\"cd", "y"]]);
        assert!(stray);
        let (_, stray) = split_in_windows(b"\"a\"\"b\",c\n", 3).unwrap();
        assert!(!stray);
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        let input = b"a,b\n1,\"open\n";
        let r = parse_records(input, true, b',', &mut Vec::new(), &mut Collect::default());
        assert_eq!(r, Err(Unterminated { field_start: 6 }));
        for step in [1, 4, 64] {
            assert!(split_in_windows(input, step).is_err());
        }
    }

    #[test]
    fn sink_can_stop() {
        struct StopAfterOne(usize);
        impl RecordSink for StopAfterOne {
            fn record(&mut self, _: &[u8], _: &[FieldRange]) -> bool {
                self.0 += 1;
                false
            }
        }
        let mut s = StopAfterOne(0);
        let p = parse_records(b"a\nb\nc\n", true, b',', &mut Vec::new(), &mut s).unwrap();
        assert_eq!(
            (s.0, p.stopped, p.consumed, p.last_record_start),
            (1, true, 2, 0)
        );
        let p = parse_records(
            b"a\nb\nc\n",
            true,
            b',',
            &mut Vec::new(),
            &mut StopAfterOne(1),
        );
        assert_eq!(p.unwrap().records, 1);
    }
}
