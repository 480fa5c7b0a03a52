//! What one transcript file contributes: usage entries, delegations, agent links and counts
//! of skipped lines. A [`FileRecord`] is what the parser produces and what the cache stores.

/// Index into a [`FileRecord`]'s own string table; [`NONE`] means absent.
pub type StrIdx = u32;

/// Marks an absent string or delegation index.
pub const NONE: u32 = u32::MAX;

/// The five token counts of one API response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Uncached input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Cache writes with the 5-minute lifetime (or of unknown lifetime).
    pub cache_write_5m: u64,
    /// Cache writes with the 1-hour lifetime.
    pub cache_write_1h: u64,
    /// Cache reads.
    pub cache_read: u64,
}

impl Tokens {
    /// All cache writes, 5-minute and 1-hour.
    pub fn cache_creation(&self) -> u64 {
        self.cache_write_5m.saturating_add(self.cache_write_1h)
    }

    /// Input as the long-context rule sees it: uncached input plus cache reads and writes.
    pub fn prompt(&self) -> u64 {
        self.input
            .saturating_add(self.cache_creation())
            .saturating_add(self.cache_read)
    }

    /// Every token of the response.
    pub fn total(&self) -> u64 {
        self.prompt().saturating_add(self.output)
    }

    /// Adds another set of counts.
    pub fn add(&mut self, other: &Tokens) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.cache_write_5m = self.cache_write_5m.saturating_add(other.cache_write_5m);
        self.cache_write_1h = self.cache_write_1h.saturating_add(other.cache_write_1h);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
    }
}

/// One usage line (an assistant API response with `message.usage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEntry {
    /// `timestamp`, in milliseconds since the Unix epoch.
    pub ts_ms: i64,
    /// `message.model` (string index); [`NONE`] when the line has none.
    pub model: StrIdx,
    /// `sessionId` (string index); [`NONE`] falls back to the file's session.
    pub session: StrIdx,
    /// `agentId` of a sidechain line (string index) or [`NONE`].
    pub agent: StrIdx,
    /// Token counts.
    pub tokens: Tokens,
    /// `costUSD` in picodollars, when the line carries it.
    pub cost_usd: Option<u64>,
    /// De-duplication key (hash of `message.id` and `requestId`), when both are present.
    pub dedup_key: Option<u128>,
    /// `isSidechain` was true.
    pub sidechain: bool,
    /// Index in the file's delegations of the latest delegation before this line, or [`NONE`].
    pub prev_delegation: u32,
}

/// One `Task`/`Agent` tool use: a hand-off to a sub-agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// The tool use id (string index) or [`NONE`].
    pub tool_use_id: StrIdx,
    /// `input.subagent_type` (string index) or [`NONE`].
    pub agent_type: StrIdx,
    /// `sessionId` (string index) or [`NONE`].
    pub session: StrIdx,
    /// Timestamp in milliseconds.
    pub ts_ms: i64,
    /// Length of `input.prompt` in bytes.
    pub prompt_len: u32,
}

/// A tool result that names the sub-agent that answered a tool use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLink {
    /// The sub-agent's `agentId` (string index).
    pub agent: StrIdx,
    /// The tool use it answered (string index).
    pub tool_use_id: StrIdx,
}

/// Why lines were not used, counted per file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SkipCounts {
    /// Lines that are not valid JSON or have fields of the wrong type.
    pub malformed: u64,
    /// Usage lines without a valid `timestamp`.
    pub no_timestamp: u64,
    /// Usage lines of the `<synthetic>` model (not API calls).
    pub synthetic: u64,
    /// A last line without newline that is not (yet) complete JSON.
    pub incomplete_tail: u64,
}

impl SkipCounts {
    /// Adds another file's counts.
    pub fn add(&mut self, o: &SkipCounts) {
        self.malformed += o.malformed;
        self.no_timestamp += o.no_timestamp;
        self.synthetic += o.synthetic;
        self.incomplete_tail += o.incomplete_tail;
    }

    /// Lines that were skipped as unusable (synthetic lines are not counted: they are not usage).
    pub fn skipped(&self) -> u64 {
        self.malformed + self.no_timestamp + self.incomplete_tail
    }
}

/// Where a file sits in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// Project folder name (directly under `projects/`).
    pub project: String,
    /// Session id from the path: the file stem, or for sub-agent files the session folder.
    pub session: String,
    /// For `subagents/agent-<id>.jsonl`: the `<id>`.
    pub agent_id: Option<String>,
    /// `agentType`/`subagent_type` from the `.meta.json` beside a sub-agent file.
    pub meta_agent_type: Option<String>,
    /// `toolUseId` from the `.meta.json` beside a sub-agent file.
    pub meta_tool_use_id: Option<String>,
}

/// Everything parsed from one transcript file (up to `parsed_offset`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileRecord {
    /// Bytes parsed: the end of the last complete line.
    pub parsed_offset: u64,
    /// Hash of the (up to 64) bytes before `parsed_offset`, to notice a rewritten file.
    pub tail_hash: u64,
    /// Lines read (complete lines, blank ones included).
    pub lines: u64,
    /// The file's string table.
    pub strings: Vec<String>,
    /// Usage lines in file order.
    pub entries: Vec<UsageEntry>,
    /// Delegations in file order.
    pub delegations: Vec<Delegation>,
    /// Agent links found in tool results.
    pub links: Vec<AgentLink>,
    /// Skipped lines.
    pub skips: SkipCounts,
}

impl FileRecord {
    /// The string at `idx`, or `None` for [`NONE`] (or an out-of-range index).
    pub fn str(&self, idx: StrIdx) -> Option<&str> {
        self.strings.get(idx as usize).map(String::as_str)
    }
}
