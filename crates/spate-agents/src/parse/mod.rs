//! Line parsing: turns the bytes of a transcript into a [`FileRecord`].
//!
//! Lines come from spate's bounded line reader ([`spate::jsonl::Lines`]): a transcript is
//! read in windows, never whole, and a line longer than [`MAX_LINE`] is skipped (counted as
//! malformed and reported), so memory is bounded by that limit. A line that mentions none of
//! `"usage"`, `"tool_use"` or
//! `"agentId"` cannot contribute and is only checked for shape (it must look like `{...}`).
//! The others are decoded into borrowed typed structs, everything not needed is skipped by
//! serde without being built.

use std::borrow::Cow;
use std::io::Read;

use memchr::memmem;
use serde::Deserialize;
use spate::jsonl::{Lines, LinesOptions};

use crate::lenient::{Keep, Lenient, LenientSeq};
use crate::model::{AgentLink, Delegation, Entries, FileRecord, StrIdx, Tokens, UsageEntry, NONE};
use crate::strings::Interner;
use crate::time::parse_timestamp_ms;
use stream::{Consumed, ReadState, TailWindow, Tracked};

mod stream;

#[derive(Deserialize)]
struct RawLine<'a> {
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "sessionId", borrow, default)]
    session_id: Option<Cow<'a, str>>,
    #[serde(rename = "requestId", borrow, default)]
    request_id: Option<Cow<'a, str>>,
    #[serde(rename = "isSidechain", default)]
    is_sidechain: Option<bool>,
    #[serde(rename = "agentId", borrow, default)]
    agent_id: Option<Cow<'a, str>>,
    #[serde(rename = "costUSD", default)]
    cost_usd: Option<f64>,
    #[serde(borrow, default)]
    message: Option<Lenient<RawMessage<'a>>>,
    #[serde(rename = "toolUseResult", borrow, default)]
    tool_use_result: Option<Lenient<RawToolUseResult<'a>>>,
}

#[derive(Deserialize)]
struct RawMessage<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Lenient<RawUsage>>,
    #[serde(borrow, default)]
    content: Option<LenientSeq<RawBlock<'a>>>,
}

#[derive(Deserialize)]
struct RawUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation: Option<Lenient<RawCacheCreation>>,
}

#[derive(Deserialize)]
struct RawCacheCreation {
    #[serde(default)]
    ephemeral_5m_input_tokens: Option<u64>,
    #[serde(default)]
    ephemeral_1h_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct RawBlock<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    input: Option<Lenient<RawTaskInput<'a>>>,
    #[serde(borrow, default)]
    tool_use_id: Option<Cow<'a, str>>,
}

impl Keep for RawBlock<'_> {
    /// Only tool uses and tool results matter; text and thinking blocks are dropped.
    fn keep(&self) -> bool {
        matches!(self.kind.as_deref(), Some("tool_use") | Some("tool_result"))
    }
}

#[derive(Deserialize)]
struct RawTaskInput<'a> {
    #[serde(borrow, default)]
    subagent_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    prompt: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawToolUseResult<'a> {
    #[serde(rename = "agentId", borrow, default)]
    agent_id: Option<Cow<'a, str>>,
}

/// The `<synthetic>` model marks messages Claude Code made up itself (no API call).
pub const SYNTHETIC_MODEL: &str = "<synthetic>";

/// Token counts above this (per field of one request) mark a corrupt line.
pub const MAX_TOKENS: u64 = u32::MAX as u64;

/// Tool names that hand work to a sub-agent.
fn is_delegation_tool(name: &str) -> bool {
    name == "Task" || name == "Agent"
}

/// 128-bit FNV-1a over `message.id`, a separator and `requestId`.
pub fn dedup_key(message_id: &str, request_id: &str) -> u128 {
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
    };
    eat(message_id.as_bytes());
    eat(&[0xff]);
    eat(request_id.as_bytes());
    h
}

/// De-duplication key of a usage line that has a `message.id` but no `requestId` (some
/// Claude Code versions write none): the message id and the line's time, as ccusage 20
/// merges such lines (copies written at another time stay apart), kept apart from every
/// [`dedup_key`] by its separator.
pub fn dedup_key_message_only(message_id: &str, ts_ms: i64) -> u128 {
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    let ts = ts_ms.to_le_bytes();
    for &b in message_id.as_bytes().iter().chain(&[0xfe]).chain(&ts) {
        h ^= u128::from(b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// 64-bit FNV-1a, used to fingerprint the bytes before a parsed offset.
pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// How many bytes before `parsed_offset` the tail fingerprint covers.
pub const TAIL_HASH_LEN: u64 = 64;

/// Converts a `costUSD` value to picodollars; negative or non-finite values are ignored.
fn usd_to_pico(usd: f64) -> Option<u64> {
    if (0.0..1.0e7).contains(&usd) {
        Some((usd * 1e12).round() as u64)
    } else {
        None
    }
}

/// The longest line read (64 MiB; Claude Code's longest lines carry pasted images of a few
/// megabytes). A longer line is skipped, counted as malformed and reported, so that a
/// transcript's memory is bounded by this limit whatever its size.
pub const MAX_LINE: usize = 64 << 20;

/// Parses transcript bytes into a [`FileRecord`], possibly continuing an earlier one.
#[derive(Debug)]
pub struct LineParser<'r> {
    rec: &'r mut FileRecord,
    /// The record's strings while parsing (given back when the parser ends).
    interned: Option<Interner>,
    usage: memmem::Finder<'static>,
    tool_use: memmem::Finder<'static>,
    agent_id: memmem::Finder<'static>,
    /// The bytes before `parsed_offset`, for its fingerprint.
    tail: TailWindow,
    /// Longer lines are skipped ([`MAX_LINE`] unless set).
    max_line: usize,
}

/// What [`LineParser::read`] left unparsed or skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedOutcome {
    /// A non-blank last line without newline that is not complete JSON (a session being
    /// written); its bytes stay unparsed, to be read again next time.
    pub pending_tail: bool,
    /// Lines longer than [`MAX_LINE`], skipped: (line number, byte offset).
    pub too_long: Vec<(u64, u64)>,
    /// Absolute offset of the end of what was read (the file's size as read).
    pub end: u64,
}

impl<'r> LineParser<'r> {
    /// A parser that appends to `rec` (whose entries must be decoded: see
    /// [`FileRecord::make_entries_mut`]; lazy ones are replaced by an empty list).
    pub fn new(rec: &'r mut FileRecord) -> Self {
        if let Entries::Lazy { .. } = rec.entries {
            rec.entries = Entries::Decoded(Vec::new());
        }
        let interned = Some(Interner::from_table(std::mem::take(&mut rec.strings)));
        LineParser {
            rec,
            interned,
            usage: memmem::Finder::new(b"\"usage\""),
            tool_use: memmem::Finder::new(b"\"tool_use\""),
            agent_id: memmem::Finder::new(b"\"agentId\""),
            tail: TailWindow::default(),
            max_line: MAX_LINE,
        }
    }

    /// Skips lines longer than `max_line` bytes instead of [`MAX_LINE`].
    pub fn with_max_line(mut self, max_line: usize) -> Self {
        self.max_line = max_line;
        self
    }

    /// A parser continuing `rec`, whose parsed offset is preceded by `before` (up to
    /// [`TAIL_HASH_LEN`] bytes, checked against the record's fingerprint by the caller).
    pub fn continuing(rec: &'r mut FileRecord, before: &[u8]) -> Self {
        let mut p = Self::new(rec);
        p.tail.push(before);
        p
    }

    fn intern(&mut self, s: &str) -> StrIdx {
        self.interned.get_or_insert_with(Interner::default).id(s)
    }

    /// Gives the strings back to the record.
    fn restore_strings(&mut self) {
        if let Some(interned) = self.interned.take() {
            self.rec.strings = interned.into_table();
        }
    }

    fn intern_opt(&mut self, s: Option<&str>) -> StrIdx {
        match s {
            Some(s) => self.intern(s),
            None => NONE,
        }
    }

    /// Parses `bytes`, which start at byte `rec.parsed_offset` of the file and run to the
    /// file's current end (see [`LineParser::read`]).
    pub fn feed(&mut self, bytes: &[u8]) -> FeedOutcome {
        let (outcome, _) = self.read(bytes, Vec::new());
        // reading from memory cannot fail
        outcome.unwrap_or_default()
    }

    /// Parses what `reader` gives, which starts at byte `rec.parsed_offset` of the file and
    /// runs to the file's current end, through the bounded line reader (with `buf` as its
    /// buffer, given back for the next file). Advances `parsed_offset` past every complete
    /// line, and past a last line without newline when that line is complete JSON.
    pub fn read<R: Read>(
        &mut self,
        reader: R,
        buf: Vec<u8>,
    ) -> (std::io::Result<FeedOutcome>, Vec<u8>) {
        let start = self.rec.parsed_offset;
        let state = ReadState::default();
        let options = LinesOptions {
            max_line: self.max_line,
            offset: start,
            ..LinesOptions::default()
        };
        let mut lines = Lines::with_buffer(
            Tracked {
                inner: reader,
                state: &state,
            },
            options,
            buf,
        );
        let mut outcome = FeedOutcome::default();
        let mut last: Option<Consumed> = None;
        let result = loop {
            let line = match lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            // the previous line ends where this one starts
            if let Some(prev) = last.take() {
                self.consumed(&prev, line.offset);
            }
            let text_end = line.offset + line.text.len() as u64;
            let data_end = start + state.total.get();
            let unterminated =
                state.eof.get() && text_end + 1 >= data_end && state.last.get() != Some(b'\n');
            // (the line reader hands over a longer line when it fits in what was read at
            // once: skipped all the same, so that the limit does not depend on buffering)
            if !line.complete || line.text.len() > self.max_line {
                self.rec.lines += 1;
                self.rec.skips.malformed += 1;
                outcome.too_long.push((self.rec.lines, line.offset));
                last = Some(Consumed {
                    text_end,
                    unterminated,
                    skipped: true,
                });
                continue;
            }
            if unterminated {
                let trimmed = line.text.trim_ascii();
                if !trimmed.is_empty() {
                    if serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_err() {
                        outcome.pending_tail = true;
                        break Ok(());
                    }
                    self.rec.lines += 1;
                    self.line(line.text);
                }
            } else {
                self.rec.lines += 1;
                self.line(line.text);
            }
            self.tail_text(line.text);
            last = Some(Consumed {
                text_end,
                unterminated,
                skipped: false,
            });
        };
        if let Some(prev) = last.take() {
            let end = start + lines.line_bytes();
            self.consumed(&prev, end);
        }
        let buf = lines.into_buffer();
        outcome.end = start + state.total.get();
        (result.map(|()| outcome), buf)
    }

    /// Keeps the end of a consumed line's text for the fingerprint.
    fn tail_text(&mut self, text: &[u8]) {
        let cap = TAIL_HASH_LEN as usize;
        self.tail.push(&text[text.len().saturating_sub(cap)..]);
    }

    /// A consumed line that ends at `end`: its line end goes into the fingerprint, and the
    /// parsed offset moves past it.
    fn consumed(&mut self, line: &Consumed, end: u64) {
        if line.skipped {
            self.tail.forget();
        } else {
            let ending: &[u8] = match (end.saturating_sub(line.text_end), line.unterminated) {
                (0, _) => b"",
                (1, true) => b"\r",
                (1, false) => b"\n",
                _ => b"\r\n",
            };
            self.tail.push(ending);
        }
        self.rec.parsed_offset = end;
    }

    fn line(&mut self, line: &[u8]) {
        let line = line
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(line)
            .trim_ascii();
        if line.is_empty() {
            return;
        }
        if line[0] != b'{' || line[line.len() - 1] != b'}' {
            self.rec.skips.malformed += 1;
            return;
        }
        let has_usage = self.usage.find(line).is_some();
        if !has_usage && self.tool_use.find(line).is_none() && self.agent_id.find(line).is_none() {
            return;
        }
        let raw: RawLine<'_> = match serde_json::from_slice(line) {
            Ok(raw) => raw,
            Err(_) => {
                self.rec.skips.malformed += 1;
                return;
            }
        };
        let Some(msg) = raw.message.and_then(|m| m.0) else {
            return;
        };
        let prev_delegation = match self.rec.delegations.len() {
            0 => NONE,
            n => (n - 1) as u32,
        };
        let ts = raw.timestamp.as_deref().and_then(parse_timestamp_ms);
        let session = self.intern_opt(raw.session_id.as_deref());

        // `usage` present but not an object (`null` reads as absent): a corrupt line,
        // counted as one, not silently neither usage nor skipped.
        if matches!(msg.usage, Some(Lenient(None))) {
            self.rec.skips.malformed += 1;
        }
        if let Some(usage) = msg.usage.and_then(|u| u.0) {
            let model = msg.model.as_deref();
            if model == Some(SYNTHETIC_MODEL) {
                self.rec.skips.synthetic += 1;
            } else if [
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_creation_input_tokens,
                usage.cache_read_input_tokens,
            ]
            .iter()
            .any(|t| t.is_some_and(|t| t > MAX_TOKENS))
            {
                // no request has billions of tokens: a corrupt line, not usage to add up
                self.rec.skips.malformed += 1;
            } else if let Some(ts_ms) = ts {
                let cc_total = usage.cache_creation_input_tokens;
                let (e5, e1) = match usage.cache_creation.and_then(|c| c.0) {
                    Some(c) => (c.ephemeral_5m_input_tokens, c.ephemeral_1h_input_tokens),
                    None => (None, None),
                };
                let total_cc =
                    cc_total.unwrap_or_else(|| e5.unwrap_or(0).saturating_add(e1.unwrap_or(0)));
                let w1h = e1.unwrap_or(0).min(total_cc);
                let tokens = Tokens {
                    input: usage.input_tokens.unwrap_or(0),
                    output: usage.output_tokens.unwrap_or(0),
                    cache_write_5m: total_cc - w1h,
                    cache_write_1h: w1h,
                    cache_read: usage.cache_read_input_tokens.unwrap_or(0),
                };
                let dedup_key = match (msg.id.as_deref(), raw.request_id.as_deref()) {
                    (Some(m), Some(r)) => Some(dedup_key(m, r)),
                    (Some(m), None) => Some(dedup_key_message_only(m, ts_ms)),
                    (None, _) => None,
                };
                let model = self.intern_opt(model);
                let agent = self.intern_opt(raw.agent_id.as_deref());
                let Entries::Decoded(entries) = &mut self.rec.entries else {
                    return;
                };
                entries.push(UsageEntry {
                    ts_ms,
                    model,
                    session,
                    agent,
                    tokens,
                    cost_usd: raw.cost_usd.and_then(usd_to_pico),
                    dedup_key,
                    sidechain: raw.is_sidechain.unwrap_or(false),
                    prev_delegation,
                });
            } else {
                self.rec.skips.no_timestamp += 1;
            }
        }

        let link_agent = raw
            .tool_use_result
            .and_then(|r| r.0)
            .and_then(|r| r.agent_id);
        for block in msg.content.map(|c| c.0).unwrap_or_default() {
            match block.kind.as_deref() {
                Some("tool_use") if block.name.as_deref().is_some_and(is_delegation_tool) => {
                    let input = block.input.and_then(|i| i.0);
                    let (agent_type, prompt_len) = match &input {
                        Some(i) => (
                            i.subagent_type.as_deref(),
                            i.prompt.as_deref().map_or(0, str::len),
                        ),
                        None => (None, 0),
                    };
                    let agent_type = self.intern_opt(agent_type);
                    let tool_use_id = self.intern_opt(block.id.as_deref());
                    self.rec.delegations.push(Delegation {
                        tool_use_id,
                        agent_type,
                        session,
                        ts_ms: ts.unwrap_or(i64::MIN),
                        prompt_len: u32::try_from(prompt_len).unwrap_or(u32::MAX),
                    });
                }
                Some("tool_result") => {
                    if let (Some(agent), Some(id)) = (link_agent.as_deref(), block.tool_use_id) {
                        let agent = self.intern(agent);
                        let tool_use_id = self.intern(&id);
                        self.rec.links.push(AgentLink { agent, tool_use_id });
                    }
                }
                _ => {}
            }
        }
    }

    /// Records the fingerprint of the bytes before `parsed_offset` and sums the record.
    pub fn finish(mut self) {
        self.restore_strings();
        self.rec.tail_hash = self.tail.hash();
        self.rec.summarize();
    }
}

impl Drop for LineParser<'_> {
    fn drop(&mut self) {
        self.restore_strings();
    }
}

/// Parses a whole file's bytes into a new record.
pub fn parse_all(bytes: &[u8]) -> (FileRecord, FeedOutcome) {
    let mut rec = FileRecord::default();
    let mut parser = LineParser::new(&mut rec);
    let outcome = parser.feed(bytes);
    parser.finish();
    (rec, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"type":"assistant","timestamp":"2025-05-06T03:05:47.123Z","sessionId":"s1","requestId":"r1","message":{"id":"m1","model":"claude-sonnet-4-5","usage":{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":30,"cache_read_input_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":10,"ephemeral_1h_input_tokens":50}}}}"#;

    #[test]
    fn one_hour_writes_are_capped_at_the_total() {
        let (rec, _) = parse_all(format!("{LINE}\n").as_bytes());
        let e = &rec.entries().unwrap().into_owned()[0];
        assert_eq!((e.tokens.cache_write_5m, e.tokens.cache_write_1h), (0, 30));
        assert!(e.dedup_key.is_some());
    }

    #[test]
    fn tails_and_shapes() {
        // a byte-order mark and CRLF line ends are fine
        let text = format!("\u{feff}{LINE}\r\n{}\r\n", LINE.replace("m1", "m9"));
        let (rec, _) = parse_all(text.as_bytes());
        assert_eq!((rec.entries.len(), rec.skips.malformed), (2, 0));
        // complete last line without newline: parsed, offset at the end
        let (rec, out) = parse_all(LINE.as_bytes());
        assert_eq!((rec.entries.len(), out.pending_tail), (1, false));
        assert_eq!(rec.parsed_offset, LINE.len() as u64);
        // incomplete last line: pending, offset before it
        let text = format!("{LINE}\n{}", &LINE[..40]);
        let (rec, out) = parse_all(text.as_bytes());
        assert_eq!((rec.entries.len(), out.pending_tail), (1, true));
        assert_eq!(rec.parsed_offset, LINE.len() as u64 + 1);
        // wrong field types and non-objects are malformed, not fatal
        let text = concat!(
            r#"{"message":{"usage":{"input_tokens":"many"}}}"#,
            "\n[1,2]\n\"usage\"\n",
            r#"{"toolUseResult":"plain","agentId":"a","message":{"content":"text","usage":null}}"#,
            "\n"
        );
        let (rec, _) = parse_all(text.as_bytes());
        assert_eq!(rec.skips.malformed, 3);
        assert!(rec.entries.is_empty());
        // usage that is not an object is malformed too (issue 11 row 16: it was counted
        // neither as usage nor as skipped)
        for usage in ["\"notanobject\"", "[1]", "5", "true"] {
            let line = format!(
                "{{\"timestamp\":\"2025-05-06T03:05:47Z\",\"message\":{{\"usage\":{usage}}}}}\n"
            );
            let (rec, _) = parse_all(line.as_bytes());
            assert_eq!((rec.skips.malformed, rec.entries.len()), (1, 0), "{usage}");
        }
        // absurd token counts are corrupt lines, not sums to saturate
        let huge = LINE.replace(
            "\"input_tokens\":1,",
            "\"input_tokens\":18446744073709551615,",
        );
        let (rec, _) = parse_all(huge.as_bytes());
        assert_eq!((rec.entries.len(), rec.skips.malformed), (0, 1));
    }

    /// A reader that gives at most `step` bytes at a time.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_line_over_the_limit_is_skipped_and_reported() {
        let long = format!(r#"{{"pad":"{}","usage":1}}"#, "x".repeat(500));
        let text = format!("{LINE}\n{long}\n{}\n", LINE.replace("m1", "m2"));
        let mut rec = FileRecord::default();
        let mut p = LineParser::new(&mut rec).with_max_line(400);
        let (out, _) = p.read(text.as_bytes(), Vec::new());
        p.finish();
        let out = out.unwrap();
        assert_eq!(out.too_long, vec![(2, LINE.len() as u64 + 1)]);
        assert_eq!(
            (rec.entries.len(), rec.skips.malformed, rec.lines),
            (2, 1, 3)
        );
        assert_eq!(rec.parsed_offset, text.len() as u64);
        // the fingerprint covers the last line's bytes only: it is known again
        let before = &text.as_bytes()[text.len() - TAIL_HASH_LEN as usize..];
        assert_eq!(rec.tail_hash, fnv64(before));
        // when the skipped line is within the last 64 bytes, it is unknown (never matches)
        let text = format!("{LINE}\n{long}\n");
        let mut rec = FileRecord::default();
        let mut p = LineParser::new(&mut rec).with_max_line(400);
        let _ = p.read(text.as_bytes(), Vec::new());
        p.finish();
        let before = &text.as_bytes()[text.len() - TAIL_HASH_LEN as usize..];
        assert_ne!(rec.tail_hash, fnv64(before));
        assert_eq!(rec.parsed_offset, text.len() as u64);
    }

    proptest::proptest! {
        #[test]
        fn any_read_size_gives_the_same_record(
            parts in proptest::collection::vec(0usize..6, 0..8),
            step in 1usize..9,
        ) {
            // lines of every kind (LF, CRLF, blank, malformed, a last line with or without
            // newline, complete or not), read a few bytes at a time
            let pieces = [
                format!("{LINE}\n"),
                format!("{}\r\n", LINE.replace("m1", "m3")),
                String::from("  \n"),
                String::from("{\"usage\": [}\n"),
                LINE[..50].to_owned(),
                String::from("\r"),
            ];
            let text: String = parts.iter().map(|&i| pieces[i].as_str()).collect();
            let (whole, out) = parse_all(text.as_bytes());
            let mut rec = FileRecord::default();
            let mut p = LineParser::new(&mut rec);
            let (trickled, _) = p.read(Trickle { bytes: text.as_bytes(), step }, Vec::new());
            p.finish();
            proptest::prop_assert_eq!(trickled.unwrap(), out);
            proptest::prop_assert_eq!(rec.parsed_offset, whole.parsed_offset);
            proptest::prop_assert_eq!(rec.lines, whole.lines);
            proptest::prop_assert_eq!(rec.skips, whole.skips);
            proptest::prop_assert_eq!(rec.tail_hash, whole.tail_hash);
            // the fingerprint is that of the bytes before the parsed offset
            let off = whole.parsed_offset as usize;
            let before = &text.as_bytes()[off.saturating_sub(TAIL_HASH_LEN as usize)..off];
            proptest::prop_assert_eq!(whole.tail_hash, fnv64(before));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let (rec, _) = parse_all(&bytes);
            proptest::prop_assert!(rec.parsed_offset <= bytes.len() as u64);
        }

        #[test]
        fn any_split_point_gives_the_same_record(cut in 0usize..=2 * LINE.len() + 2) {
            // feeding a prefix, then the rest (as an append does), equals one pass
            let text = format!("{LINE}\n{}\n", LINE.replace("m1", "m2"));
            let cut = cut.min(text.len());
            let (whole, _) = parse_all(text.as_bytes());
            let mut rec = FileRecord::default();
            let mut p = LineParser::new(&mut rec);
            p.feed(&text.as_bytes()[..cut]);
            p.finish();
            let offset = rec.parsed_offset as usize;
            let before = &text.as_bytes()[offset.saturating_sub(TAIL_HASH_LEN as usize)..offset];
            proptest::prop_assert_eq!(rec.tail_hash, fnv64(before));
            let mut p = LineParser::continuing(&mut rec, before);
            p.feed(&text.as_bytes()[offset..]);
            p.finish();
            proptest::prop_assert_eq!(rec.tail_hash, whole.tail_hash);
            proptest::prop_assert_eq!(rec.entries.len(), whole.entries.len());
            proptest::prop_assert_eq!(rec.buckets, whole.buckets);
            proptest::prop_assert_eq!(rec.parsed_offset, whole.parsed_offset);
        }
    }
}
