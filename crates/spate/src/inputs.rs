//! The inputs of a run: files, directories walked recursively, glob filters, standard input,
//! and the format of each one (a JSON document or JSON Lines).
//!
//! [`discover`] turns what a user named into an ordered list of [`InputFile`]s. Named files
//! are always taken; directories are walked in name order (so every run sees the same order)
//! and keep the files matching `--glob` patterns, or, without patterns, the files named
//! `*.json`, `*.jsonl` or `*.ndjson` (also under `.gz` / `.zst`).
//!
//! The format is [`Format::Jsonl`] for `.jsonl` / `.ndjson` names; for other names it is
//! decided by [`sniff`]ing the first bytes: a first line that is one complete JSON value
//! followed by more values on later lines is JSON Lines, anything else a JSON document.
//!
//! ```
//! use spate::inputs::{format_from_name, sniff, Format};
//! assert_eq!(format_from_name("logs/a.ndjson.zst"), Some(Format::Jsonl));
//! assert_eq!(format_from_name("doc.json"), None); // decided by content
//! assert_eq!(sniff(b"{\"a\": 1}\n{\"a\": 2}\n"), Format::Jsonl);
//! assert_eq!(sniff(b"{\n  \"a\": 1\n}\n"), Format::Json);
//! ```

use std::fs;
use std::io::{self, Read};
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use globset::{Glob, GlobSet, GlobSetBuilder};
use spate_json::{Path, PathError};

use crate::buffer::BufferSelector;
use crate::error::Error;
use crate::source::STDIN_NAME;

/// How many decompressed bytes [`sniff`] looks at.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The format of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// One JSON document (the path applies to the whole document).
    Json,
    /// JSON Lines: one JSON value per line (the path applies inside each line).
    Jsonl,
}

impl Format {
    /// `json` or `jsonl`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Jsonl => "jsonl",
        }
    }
}

/// Compression of an input: by its name, or by its magic bytes
/// ([`crate::source::compression_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes (as far as the name says; magic bytes are checked when the file is read).
    None,
    /// `.gz`
    Gzip,
    /// `.zst` / `.zstd`
    Zstd,
}

/// Where an input's bytes come from when it is not the file (or standard input) named by
/// [`InputFile::path`].
#[derive(Clone)]
pub enum InputData {
    /// Bytes in memory (compressed or not).
    Bytes(Arc<[u8]>),
    /// A reader (a socket, a Python file object, ...), read once: the run that opens it
    /// first takes it.
    Reader(Arc<Mutex<Option<Box<dyn Read + Send>>>>),
}

impl std::fmt::Debug for InputData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputData::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            InputData::Reader(_) => f.write_str("Reader"),
        }
    }
}

/// One input of a run: a file, standard input, a reader or bytes in memory.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Where to read it; `-` is standard input.
    pub path: PathBuf,
    /// The name used in messages (the path as given or found, or `<stdin>`).
    pub name: String,
    /// The file's size on disk when known (not for standard input).
    pub len: Option<u64>,
    /// The format when known before reading (forced, or by extension); `None`: sniff it.
    pub format: Option<Format>,
    /// Compression by extension.
    pub compression: Compression,
    /// The bytes, when they do not come from `path` (a reader, or bytes in memory).
    pub data: Option<InputData>,
}

impl InputFile {
    /// True for standard input.
    pub fn is_stdin(&self) -> bool {
        self.data.is_none() && self.path.as_os_str() == "-"
    }

    /// True for a file on disk (which can be read in byte ranges).
    pub fn is_seekable_file(&self) -> bool {
        self.data.is_none() && self.path.as_os_str() != "-"
    }

    /// An input of bytes in memory, named `name` in messages; `format`: `None` to decide
    /// by name, then content. Compressed bytes are decompressed.
    pub fn from_bytes(name: &str, bytes: impl Into<Arc<[u8]>>, format: Option<Format>) -> Self {
        let bytes: Arc<[u8]> = bytes.into();
        InputFile {
            path: PathBuf::from(name),
            name: name.to_owned(),
            len: Some(bytes.len() as u64),
            format: format.or_else(|| format_from_name(name)),
            compression: Compression::None,
            data: Some(InputData::Bytes(bytes)),
        }
    }

    /// An input read from `reader` (once), named `name` in messages; `format`: `None` to
    /// decide by name, then content. Compressed bytes are decompressed.
    pub fn from_reader(
        name: &str,
        reader: Box<dyn Read + Send>,
        format: Option<Format>,
    ) -> InputFile {
        InputFile {
            path: PathBuf::from(name),
            name: name.to_owned(),
            len: None,
            format: format.or_else(|| format_from_name(name)),
            compression: Compression::None,
            data: Some(InputData::Reader(Arc::new(Mutex::new(Some(reader))))),
        }
    }
}

/// What [`discover`] found: the inputs in order, and the problems met while walking
/// directories (unreadable entries), which a caller reports and goes on.
#[derive(Debug, Default)]
pub struct Inputs {
    /// The inputs, in the order they are read and their results written.
    pub files: Vec<InputFile>,
    /// Problems met while walking directories.
    pub errors: Vec<Error>,
}

impl Inputs {
    /// Inputs from a list of files (no directory walking): for tests and library users.
    pub fn from_files<P: AsRef<FsPath>>(files: &[P], format: Option<Format>) -> Inputs {
        let files = files
            .iter()
            .map(|p| {
                let p = p.as_ref();
                let len = fs::metadata(p)
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| m.len());
                input_file(p.to_path_buf(), format, len)
            })
            .collect();
        Inputs {
            files,
            errors: Vec::new(),
        }
    }

    /// Inputs from a list of [`InputFile`]s (files, readers, bytes).
    pub fn new(files: Vec<InputFile>) -> Inputs {
        Inputs {
            files,
            errors: Vec::new(),
        }
    }

    /// Total size on disk of the inputs whose size is known.
    pub fn total_len(&self) -> u64 {
        self.files.iter().filter_map(|f| f.len).sum()
    }
}

/// Settings of [`discover`].
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// Glob patterns (`**/*.jsonl`) that files found in directories must match (any of them);
    /// matched against the path relative to the directory named. Empty: JSON-looking names.
    pub globs: Vec<String>,
    /// Forces the format of every input; `None` decides per file.
    pub format: Option<Format>,
}

/// Expands `args` (files, directories, `-` for standard input; none means standard input)
/// into the inputs of a run.
pub fn discover<P: AsRef<FsPath>>(args: &[P], options: &DiscoverOptions) -> Result<Inputs, Error> {
    let globs = build_globs(&options.globs)?;
    let mut inputs = Inputs::default();
    if args.is_empty() {
        inputs
            .files
            .push(input_file(PathBuf::from("-"), options.format, None));
        return Ok(inputs);
    }
    for arg in args {
        let arg = arg.as_ref();
        let meta = if arg.as_os_str() == "-" {
            None
        } else {
            fs::metadata(arg).ok()
        };
        match meta {
            Some(m) if m.is_dir() => walk(arg, globs.as_ref(), options.format, &mut inputs),
            Some(m) => {
                inputs
                    .files
                    .push(input_file(arg.to_path_buf(), options.format, Some(m.len())))
            }
            // Standard input, or a file that cannot be read: opening it reports the error in
            // its place in the order.
            None => inputs
                .files
                .push(input_file(arg.to_path_buf(), options.format, None)),
        }
    }
    Ok(inputs)
}

fn build_globs(patterns: &[String]) -> Result<Option<GlobSet>, Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p).map_err(|e| {
            Error::Path(PathError {
                path: p.clone(),
                at: 0,
                message: format!("invalid glob pattern: {e}"),
            })
        })?;
        builder.add(glob);
    }
    builder.build().map(Some).map_err(|e| {
        Error::Path(PathError {
            path: patterns.join(" "),
            at: 0,
            message: format!("invalid glob patterns: {e}"),
        })
    })
}

fn walk(root: &FsPath, globs: Option<&GlobSet>, format: Option<Format>, inputs: &mut Inputs) {
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let name = e.path().unwrap_or(root).display().to_string();
                let source = e
                    .into_io_error()
                    .unwrap_or_else(|| io::Error::other("file system loop"));
                inputs.errors.push(Error::Io {
                    input: name,
                    source,
                });
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let keep = match globs {
            Some(set) => {
                let rel = path.strip_prefix(root).unwrap_or(path);
                set.is_match(rel) || set.is_match(path)
            }
            None => looks_like_json(path),
        };
        if keep {
            let len = entry.metadata().ok().map(|m| m.len());
            inputs
                .files
                .push(input_file(path.to_path_buf(), format, len));
        }
    }
}

pub(crate) fn input_file(path: PathBuf, forced: Option<Format>, len: Option<u64>) -> InputFile {
    let (name, compression) = if path.as_os_str() == "-" {
        (STDIN_NAME.to_owned(), Compression::None)
    } else {
        let name = path.display().to_string();
        let compression = compression_from_name(&name);
        (name, compression)
    };
    let format = forced.or_else(|| format_from_name(&name));
    InputFile {
        path,
        name,
        len,
        format,
        compression,
        data: None,
    }
}

/// Splits a compression extension off a lower-cased name.
fn strip_compression(lower: &str) -> (&str, Compression) {
    for (ext, c) in [
        (".gz", Compression::Gzip),
        (".zst", Compression::Zstd),
        (".zstd", Compression::Zstd),
    ] {
        if let Some(stem) = lower.strip_suffix(ext) {
            return (stem, c);
        }
    }
    (lower, Compression::None)
}

/// Compression by the file name's extension.
pub fn compression_from_name(name: &str) -> Compression {
    strip_compression(&name.to_ascii_lowercase()).1
}

/// The format a name implies: JSON Lines for `.jsonl` / `.ndjson` (under `.gz` / `.zst`
/// too); `None` otherwise (the content decides).
pub fn format_from_name(name: &str) -> Option<Format> {
    let lower = name.to_ascii_lowercase();
    let (stem, _) = strip_compression(&lower);
    if stem.ends_with(".jsonl") || stem.ends_with(".ndjson") {
        Some(Format::Jsonl)
    } else {
        None
    }
}

fn looks_like_json(path: &FsPath) -> bool {
    let lower = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let (stem, _) = strip_compression(&lower);
    stem.ends_with(".json") || stem.ends_with(".jsonl") || stem.ends_with(".ndjson")
}

/// Decides the format from the first (decompressed) bytes of an input (up to
/// [`SNIFF_BYTES`] of them).
///
/// JSON Lines when the first non-blank line is one complete JSON value and another value
/// follows on a later line; a JSON document otherwise (a pretty-printed document's first
/// line is not a complete value; a single line is the same either way).
pub fn sniff(head: &[u8]) -> Format {
    let start = head
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .unwrap_or(head.len());
    let rest = &head[start..];
    let Some(nl) = memchr::memchr(b'\n', rest) else {
        // One line (or a first line longer than the sniffed bytes): a document.
        return Format::Json;
    };
    let first = &rest[..nl];
    let after = &rest[nl + 1..];
    if after
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        return Format::Json;
    }
    let Ok(mut selector) = BufferSelector::new(Vec::new()) else {
        return Format::Json;
    };
    match selector.select(first, |_| std::ops::ControlFlow::Continue(())) {
        Ok(_) => Format::Jsonl,
        Err(_) => Format::Json,
    }
}

/// Reads up to [`SNIFF_BYTES`] from `reader` (fewer only at the end of input).
pub fn read_head(reader: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    Read::take(reader, SNIFF_BYTES as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Parses a path for a run: `.` (like jq) and `$` mean the whole value, as `""` does;
/// anything else is an ijson prefix or a JSONPath.
pub fn parse_path(text: &str) -> Result<Path, PathError> {
    if text == "." {
        Path::parse("")
    } else {
        Path::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(format_from_name("a.jsonl"), Some(Format::Jsonl));
        assert_eq!(format_from_name("A.NDJSON.GZ"), Some(Format::Jsonl));
        assert_eq!(format_from_name("a.jsonl.zst"), Some(Format::Jsonl));
        assert_eq!(format_from_name("a.json"), None);
        assert_eq!(format_from_name("a.txt"), None);
        assert_eq!(compression_from_name("a.json.gz"), Compression::Gzip);
        assert_eq!(compression_from_name("a.jsonl.zstd"), Compression::Zstd);
        assert_eq!(compression_from_name("a.jsonl"), Compression::None);
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"{\"a\":1}\n{\"a\":2}"), Format::Jsonl);
        assert_eq!(sniff(b"\n\n1\r\n2\r\n"), Format::Jsonl);
        assert_eq!(sniff(b"[1,\n2]\n"), Format::Json);
        assert_eq!(sniff(b"{\"a\":1}\n"), Format::Json);
        assert_eq!(sniff(b"{\"a\":1}"), Format::Json);
        assert_eq!(sniff(b""), Format::Json);
        assert_eq!(sniff(b"{\"a\":\n"), Format::Json);
        // A bad first line followed by more lines: a document (its error is reported there).
        assert_eq!(sniff(b"{x}\n{}\n"), Format::Json);
    }

    #[test]
    fn dot_and_dollar_are_the_whole_value() {
        assert!(parse_path(".").unwrap().steps().is_empty());
        assert!(parse_path("$").unwrap().steps().is_empty());
        assert!(parse_path("").unwrap().steps().is_empty());
        assert_eq!(parse_path("message.usage").unwrap().steps().len(), 2);
    }
}
