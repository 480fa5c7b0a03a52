//! What a table input is and how to read it: the kind (CSV, TSV, JSON Lines, the items of a
//! JSON document), whether it is a plain file (readable in parallel, and twice), and a reader.
//!
//! Opening and decompressing are spate's ([`spate::source`]); telling a JSON document from
//! JSON Lines is spate's sniffer ([`spate::inputs::sniff`]). Only what is particular to
//! tables is decided here: names such as `.csv` and `.tsv`, and content that is not JSON is
//! CSV (its dialect is sniffed by [`crate::dialect`]).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use spate::inputs::{format_from_name, read_head, sniff, Compression, Format as JsonFormat};
use spate::source::STDIN_NAME;

use crate::error::{Error, ErrorKind};

/// The kind of a table input.
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

    /// By extension, ignoring a trailing `.gz`, `.zst` or `.zstd`.
    pub fn from_file_name(name: &str) -> Option<InputKind> {
        if format_from_name(name) == Some(JsonFormat::Jsonl) {
            return Some(InputKind::JsonLines);
        }
        let lower = name.to_ascii_lowercase();
        let stem = [".gz", ".zst", ".zstd"]
            .iter()
            .find_map(|ext| lower.strip_suffix(ext))
            .unwrap_or(&lower);
        InputKind::from_name(stem.rsplit_once('.')?.1)
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

/// Resolves the kind: an explicit one wins; a JSON path means a JSON document (or, in a file
/// named as JSON Lines, a path inside each line); then the
/// name (`.csv`, `.tsv`, `.jsonl`, `.ndjson`; a `.json` file is a document or JSON Lines by
/// its content); then the content: JSON (a document or JSON Lines, as spate's sniffer says)
/// when it starts with `{` or `[`, else CSV. `head` is the first decompressed bytes.
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
        // (a path inside each line of a file named as JSON Lines)
        return match InputKind::from_file_name(file_name) {
            Some(InputKind::JsonLines) => InputKind::JsonLines,
            _ => InputKind::Json,
        };
    }
    match InputKind::from_file_name(file_name) {
        Some(InputKind::Json) => json_kind(head),
        Some(k) => k,
        None if matches!(first_byte(head), Some(b'{' | b'[')) => json_kind(head),
        None => InputKind::Csv,
    }
}

fn strip_bom(head: &[u8]) -> &[u8] {
    head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head)
}

fn first_byte(head: &[u8]) -> Option<u8> {
    strip_bom(head)
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied()
}

/// A document or JSON Lines, by spate's sniffer; and, as before spate's sniffer decided it,
/// one object alone on one line is a one-row JSON Lines input (a document of one line would
/// be the same rows either way).
fn json_kind(head: &[u8]) -> InputKind {
    let head = strip_bom(head);
    match sniff(head) {
        JsonFormat::Jsonl => InputKind::JsonLines,
        JsonFormat::Json if first_byte(head) == Some(b'{') && one_complete_line(head) => {
            InputKind::JsonLines
        }
        JsonFormat::Json => InputKind::Json,
    }
}

/// True when `head` holds one line (and blank ones) that is a complete JSON value.
fn one_complete_line(head: &[u8]) -> bool {
    let text = head.trim_ascii();
    if memchr::memchr(b'\n', text).is_some() {
        return false;
    }
    spate::validate(text).is_ok()
}

/// The default path of the items of a JSON document: the elements of a top-level array, or
/// the document itself.
pub fn default_json_path(head: &[u8]) -> &'static str {
    if first_byte(head) == Some(b'[') {
        "$[*]"
    } else {
        "$"
    }
}

/// How to read an input.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The kind, when not detected.
    pub from: Option<InputKind>,
    /// The path of the items of a JSON document (then the input is one).
    pub json_path: Option<String>,
}

/// An input opened for a table command: its kind and where its bytes are.
#[derive(Debug)]
pub struct TableInput {
    /// The name for messages: the path as given, or `<stdin>`.
    pub name: String,
    pub kind: InputKind,
    /// The path of the items: for a JSON document (its default when none was given), or
    /// inside each line of JSON Lines (when given).
    pub json_path: Option<String>,
    body: Body,
}

enum Body {
    /// A file that can be opened again (maybe compressed; maybe standard input spooled).
    File {
        path: PathBuf,
        plain: bool,
        _spool: Option<tempfile::NamedTempFile>,
    },
    /// A stream that is read once: its first bytes, then the rest.
    Stream(Option<Box<dyn Read + Send>>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::File { path, plain, .. } => f
                .debug_struct("File")
                .field("path", path)
                .field("plain", plain)
                .finish(),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl TableInput {
    /// Opens `path` (`-`: standard input) and decides its kind. With `rereadable`, standard
    /// input is first copied to a temporary file (removed when this is dropped), for commands
    /// that read their input twice.
    pub fn open(path: &Path, options: &ReadOptions, rereadable: bool) -> Result<Self, Error> {
        let stdin = path.as_os_str() == "-";
        let has_path = options.json_path.is_some();
        let (body, name) = if stdin && rereadable {
            let spool = spool_stdin()?;
            let body = Body::File {
                path: spool.path().to_path_buf(),
                plain: true,
                _spool: Some(spool),
            };
            (body, STDIN_NAME.to_owned())
        } else if stdin {
            (Body::Stream(None), STDIN_NAME.to_owned())
        } else {
            let plain = spate::source::file_compression(path).map_err(|source| {
                Error::from(spate::Error::Io {
                    input: path.display().to_string(),
                    source,
                })
            })? == Compression::None;
            let body = Body::File {
                path: path.to_path_buf(),
                plain,
                _spool: None,
            };
            (body, path.display().to_string())
        };
        let mut input = TableInput {
            name,
            kind: InputKind::Csv,
            json_path: None,
            body,
        };
        // The content decides the kind, and the default path of a document's items.
        let needs_head = !has_path && matches!(options.from, None | Some(InputKind::Json));
        let head = if needs_head {
            match &mut input.body {
                Body::File { path, .. } => {
                    let mut reader = spate::source::open(path)?.reader;
                    read_head(&mut reader).map_err(|e| input_io(&input.name, e))?
                }
                Body::Stream(stream) => {
                    let mut reader = spate::source::open(Path::new("-"))?.reader;
                    let head = read_head(&mut reader).map_err(|e| input_io(STDIN_NAME, e))?;
                    *stream = Some(Box::new(std::io::Cursor::new(head.clone()).chain(reader)));
                    head
                }
            }
        } else {
            Vec::new()
        };
        let file_name = if stdin {
            "-".to_string()
        } else {
            input.name.clone()
        };
        input.kind = detect(options.from, &file_name, &head, has_path);
        if input.kind == InputKind::JsonLines {
            input.json_path = options.json_path.clone();
        }
        if input.kind == InputKind::Json {
            input.json_path = Some(
                options
                    .json_path
                    .clone()
                    .unwrap_or_else(|| default_json_path(&head).to_string()),
            );
        }
        Ok(input)
    }

    /// The file to read again (a spooled copy for standard input), when there is one.
    pub fn file(&self) -> Option<&Path> {
        match &self.body {
            Body::File { path, .. } => Some(path),
            Body::Stream(_) => None,
        }
    }

    /// True for an uncompressed file, which can be read in parallel byte ranges.
    pub fn is_plain_file(&self) -> bool {
        matches!(self.body, Body::File { plain: true, .. })
    }

    /// The (decompressed) bytes, from the start. A stream can be taken once only.
    pub fn reader(&mut self) -> Result<Box<dyn Read + Send>, Error> {
        match &mut self.body {
            Body::File { path, .. } => Ok(spate::source::open(path)?.reader),
            Body::Stream(stream) => match stream.take() {
                Some(r) => Ok(r),
                None => Ok(spate::source::open(Path::new("-"))?.reader),
            },
        }
    }
}

fn input_io(name: &str, source: std::io::Error) -> Error {
    Error::from(spate::Error::Io {
        input: name.to_owned(),
        source,
    })
}

/// Copies standard input (decompressed later, like any file) to a temporary file.
fn spool_stdin() -> Result<tempfile::NamedTempFile, Error> {
    let mut spool = tempfile::Builder::new()
        .prefix("spate-spool-")
        .tempfile()
        .map_err(|e| Error::new(ErrorKind::Io(e)))?;
    std::io::copy(&mut std::io::stdin().lock(), spool.as_file_mut())
        .and_then(|_| spool.as_file_mut().flush())
        .map_err(|e| input_io(STDIN_NAME, e))?;
    Ok(spool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(detect(None, "a.CSV", b"", false), InputKind::Csv);
        assert_eq!(detect(None, "a.tsv.gz", b"", false), InputKind::Tsv);
        assert_eq!(detect(None, "a.ndjson", b"", false), InputKind::JsonLines);
        // A path: a document, or a path inside each line of a file named as JSON Lines.
        assert_eq!(detect(None, "a.jsonl.gz", b"", true), InputKind::JsonLines);
        assert_eq!(
            detect(None, "a.json", b"{\"a\":1}\n", true),
            InputKind::Json
        );
        assert_eq!(detect(None, "a.csv", b"", true), InputKind::Json);
        assert_eq!(
            detect(None, "a.jsonl.zstd", b"", false),
            InputKind::JsonLines
        );
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
            detect(None, "a.json", b"{\"a\": 1}\n", false),
            InputKind::JsonLines
        );
        assert_eq!(
            detect(None, "-", b"  {\"a\":1}", false),
            InputKind::JsonLines
        );
        // A pretty-printed document on standard input is a document, not JSON Lines.
        assert_eq!(
            detect(None, "-", b"\xEF\xBB\xBF{\n  \"a\": [1,\n 2]\n}\n", false),
            InputKind::Json
        );
        assert_eq!(detect(None, "-", b"[1,\n2]", false), InputKind::Json);
        assert_eq!(
            detect(None, "-", b"[1]\n[2]\n", false),
            InputKind::JsonLines
        );
        assert_eq!(detect(None, "data", b"a,b\n", false), InputKind::Csv);
        assert_eq!(detect(None, "data.csv", b"", true), InputKind::Json);
        assert_eq!(
            detect(Some(InputKind::Tsv), "x.json", b"", true),
            InputKind::Tsv
        );
        assert_eq!(default_json_path(b" [1]"), "$[*]");
        assert_eq!(default_json_path(b"{}"), "$");
    }
}
