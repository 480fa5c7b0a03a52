//! Line parsing: turns the bytes of a transcript into a [`FileRecord`].
//!
//! Lines are split with `memchr`; a line that mentions none of `"usage"`, `"tool_use"` or
//! `"agentId"` cannot contribute and is only checked for shape (it must look like `{...}`).
//! The others are decoded into borrowed typed structs, everything not needed is skipped by
//! serde without being built.

use std::borrow::Cow;

use memchr::memmem;
use serde::Deserialize;

use crate::lenient::{Keep, Lenient, LenientSeq};
use crate::model::{AgentLink, Delegation, Entries, FileRecord, StrIdx, Tokens, UsageEntry, NONE};
use crate::strings::Interner;
use crate::time::parse_timestamp_ms;

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

/// Parses transcript bytes into a [`FileRecord`], possibly continuing an earlier one.
#[derive(Debug)]
pub struct LineParser<'r> {
    rec: &'r mut FileRecord,
    /// The record's strings while parsing (given back when the parser ends).
    interned: Option<Interner>,
    usage: memmem::Finder<'static>,
    tool_use: memmem::Finder<'static>,
    agent_id: memmem::Finder<'static>,
}

/// What [`LineParser::feed`] left unparsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedOutcome {
    /// A non-blank last line without newline that is not complete JSON (a session being
    /// written); its bytes stay unparsed, to be read again next time.
    pub pending_tail: bool,
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
        }
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

    /// Parses `buf`, which starts at byte `rec.parsed_offset` of the file and runs to the
    /// file's current end. Advances `parsed_offset` past every complete line, and past a
    /// last line without newline when that line is complete JSON.
    pub fn feed(&mut self, buf: &[u8]) -> FeedOutcome {
        let start = self.rec.parsed_offset;
        let mut pos = 0usize;
        while let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) {
            let line = &buf[pos..pos + nl];
            self.rec.lines += 1;
            self.line(line);
            pos += nl + 1;
        }
        let mut outcome = FeedOutcome {
            pending_tail: false,
        };
        let tail = &buf[pos..];
        if !tail.is_empty() {
            let trimmed = tail.trim_ascii();
            if trimmed.is_empty() {
                pos = buf.len();
            } else if serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok() {
                self.rec.lines += 1;
                self.line(tail);
                pos = buf.len();
            } else {
                outcome.pending_tail = true;
            }
        }
        self.rec.parsed_offset = start + pos as u64;
        outcome
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
                    _ => None,
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

    /// Records the fingerprint of the bytes before `parsed_offset`; `file_bytes` is the
    /// whole file as far as it was read (from offset `base`).
    pub fn finish(mut self, file_bytes: &[u8], base: u64) {
        self.restore_strings();
        let end = self.rec.parsed_offset;
        let from = end.saturating_sub(TAIL_HASH_LEN).max(base);
        let lo = (from - base) as usize;
        let hi = (end - base) as usize;
        self.rec.tail_hash = fnv64(file_bytes.get(lo..hi).unwrap_or(&[]));
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
    parser.finish(bytes, 0);
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
        // absurd token counts are corrupt lines, not sums to saturate
        let huge = LINE.replace(
            "\"input_tokens\":1,",
            "\"input_tokens\":18446744073709551615,",
        );
        let (rec, _) = parse_all(huge.as_bytes());
        assert_eq!((rec.entries.len(), rec.skips.malformed), (0, 1));
    }

    proptest::proptest! {
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
            p.finish(text.as_bytes(), 0);
            let offset = rec.parsed_offset as usize;
            let mut p = LineParser::new(&mut rec);
            p.feed(&text.as_bytes()[offset..]);
            p.finish(text.as_bytes(), 0);
            proptest::prop_assert_eq!(rec.entries.len(), whole.entries.len());
            proptest::prop_assert_eq!(rec.buckets, whole.buckets);
            proptest::prop_assert_eq!(rec.parsed_offset, whole.parsed_offset);
        }
    }
}
