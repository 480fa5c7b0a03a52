//! Which kind of input a file is: by its name, then by its first bytes.

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Csv,
    Tsv,
    JsonLines,
    /// One JSON document whose items (at a path) are the rows.
    Json,
}

impl InputKind {
    /// Parses `csv`, `tsv`, `jsonl` (`ndjson`), `json`.
    pub fn from_name(name: &str) -> Option<InputKind> {
        Some(match name.to_ascii_lowercase().as_str() {
            "csv" => InputKind::Csv,
            "tsv" | "tab" => InputKind::Tsv,
            "jsonl" | "ndjson" | "jsonlines" => InputKind::JsonLines,
            "json" => InputKind::Json,
            _ => return None,
        })
    }

    /// By extension, ignoring a trailing `.gz` or `.zst`.
    pub fn from_file_name(name: &str) -> Option<InputKind> {
        let lower = name.to_ascii_lowercase();
        let stem = lower
            .strip_suffix(".gz")
            .or_else(|| lower.strip_suffix(".zst"))
            .unwrap_or(&lower);
        let ext = stem.rsplit_once('.')?.1;
        InputKind::from_name(ext)
    }

    /// By content: `{` first means JSON Lines, `[` a JSON document (its array's elements are
    /// the rows), anything else CSV.
    pub fn from_content(head: &[u8]) -> InputKind {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => InputKind::JsonLines,
            Some(b'[') => InputKind::Json,
            _ => InputKind::Csv,
        }
    }

    /// The name, as the flags spell it.
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Csv => "csv",
            InputKind::Tsv => "tsv",
            InputKind::JsonLines => "jsonl",
            InputKind::Json => "json",
        }
    }
}

/// Resolves the kind: an explicit one wins; then the extension (a `.json` file that starts
/// with `{` on a line of its own is JSON Lines unless a path was given); then the content.
pub fn detect(
    explicit: Option<InputKind>,
    file_name: &str,
    head: &[u8],
    has_path: bool,
) -> InputKind {
    if let Some(k) = explicit {
        return k;
    }
    if has_path {
        return InputKind::Json;
    }
    match InputKind::from_file_name(file_name) {
        Some(InputKind::Json)
            if InputKind::from_content(head) == InputKind::JsonLines
                && first_line_is_json(head) =>
        {
            InputKind::JsonLines
        }
        Some(k) => k,
        None => InputKind::from_content(head),
    }
}

fn first_line_is_json(head: &[u8]) -> bool {
    let line = match memchr::memchr(b'\n', head) {
        Some(i) => &head[..i],
        None => head,
    };
    serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(detect(None, "a.CSV", b"", false), InputKind::Csv);
        assert_eq!(detect(None, "a.tsv.gz", b"", false), InputKind::Tsv);
        assert_eq!(detect(None, "a.ndjson", b"", false), InputKind::JsonLines);
        assert_eq!(detect(None, "a.json", b"[1,2]", false), InputKind::Json);
        assert_eq!(
            detect(None, "a.json", b"{\"a\":1}\n{\"a\":2}\n", false),
            InputKind::JsonLines
        );
        assert_eq!(
            detect(None, "a.json", b"{\n \"a\": 1\n}\n", false),
            InputKind::Json
        );
        assert_eq!(
            detect(None, "-", b"  {\"a\":1}", false),
            InputKind::JsonLines
        );
        assert_eq!(detect(None, "data", b"a,b\n", false), InputKind::Csv);
        assert_eq!(detect(None, "data.csv", b"", true), InputKind::Json);
        assert_eq!(
            detect(Some(InputKind::Tsv), "x.json", b"", true),
            InputKind::Tsv
        );
    }
}
