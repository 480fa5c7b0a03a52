//! What a conversion writes and where, decided once for every front end: the target format
//! from a name or from the output's file name, a given schema read from its file, and the
//! text conversions (spate-csv's writers) put into a file that appears only when complete,
//! as the columnar ones are.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use spate_csv::convert::{ConvertOptions, OutFormat};
use spate_csv::{GivenSchema, InputKind};

use crate::output::{check_not_input, TextOutput};
use crate::{Error, FileFormat};

/// The format a conversion writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// CSV, TSV, JSON Lines or a JSON array (spate-csv).
    Text(OutFormat),
    /// Parquet or Arrow IPC.
    Columnar(FileFormat),
}

impl Target {
    /// The target called `name`: csv, tsv, jsonl (ndjson), json, parquet, arrow (ipc,
    /// feather); any case.
    pub fn from_name(name: &str) -> Option<Target> {
        Some(match name.to_ascii_lowercase().as_str() {
            "csv" => Target::Text(OutFormat::Csv),
            "tsv" => Target::Text(OutFormat::Tsv),
            "jsonl" | "ndjson" => Target::Text(OutFormat::JsonLines),
            "json" => Target::Text(OutFormat::JsonArray),
            "parquet" => Target::Columnar(FileFormat::Parquet),
            "arrow" | "ipc" | "feather" => Target::Columnar(FileFormat::ArrowIpc),
            _ => return None,
        })
    }

    /// The target an output file's name implies (its extension, after a `.gz` or `.zst`),
    /// if any.
    pub fn from_file_name(name: &str) -> Option<Target> {
        let name = name.to_ascii_lowercase();
        if let Some(f) = FileFormat::from_file_name(&name) {
            return Some(Target::Columnar(f));
        }
        Some(Target::Text(match InputKind::from_file_name(&name)? {
            InputKind::Csv => OutFormat::Csv,
            InputKind::Tsv => OutFormat::Tsv,
            InputKind::JsonLines => OutFormat::JsonLines,
            InputKind::Json => OutFormat::JsonArray,
        }))
    }
}

/// A schema file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GivenSchemaError {
    /// It cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// It is not a Table Schema.
    #[error("{}: {source}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: Box<spate_csv::Error>,
    },
}

/// The column types given in a Frictionless Table Schema file (such as `spate schema
/// --json` prints).
pub fn read_given_schema(path: &Path) -> Result<GivenSchema, GivenSchemaError> {
    let text = std::fs::read(path).map_err(|source| GivenSchemaError::Read {
        path: path.to_owned(),
        source,
    })?;
    GivenSchema::from_json(&text).map_err(|source| GivenSchemaError::Invalid {
        path: path.to_owned(),
        source: Box::new(source),
    })
}

/// What a text conversion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextReport {
    /// Rows written.
    pub rows: u64,
    /// Bytes read (decompressed).
    pub bytes_in: u64,
    /// Bytes written (compressed, in a file; 0 on standard output).
    pub bytes_out: u64,
}

/// Converts `input` into a text format at `output`: `-` is standard output; a file is
/// written under a temporary name and renamed when complete (compressed when its name ends
/// in `.gz` or `.zst`), and an output that is the input is refused.
pub fn convert_text(
    input: &Path,
    output: &Path,
    options: &ConvertOptions,
) -> Result<TextReport, Error> {
    if output.as_os_str() == "-" {
        let open = || -> io::Result<Box<dyn Write>> { Ok(Box::new(io::stdout().lock())) };
        let r = spate_csv::convert::run(input, open, options)?;
        return Ok(TextReport {
            rows: r.rows,
            bytes_in: r.bytes_in,
            bytes_out: r.bytes_out,
        });
    }
    check_not_input(&[input], output)?;
    let mut out: Option<TextOutput> = None;
    let slot = &mut out;
    let open = move || -> io::Result<&mut TextOutput> {
        let slot = slot; // moved in: the closure is called once
        let created = TextOutput::create(output)
            .map_err(|e| io::Error::other(format!("cannot create {}: {e}", output.display())))?;
        Ok(slot.insert(created))
    };
    let report = spate_csv::convert::run(input, open, options)?;
    let bytes_out = match out {
        Some(o) => o.commit()?,
        None => 0,
    };
    Ok(TextReport {
        rows: report.rows,
        bytes_in: report.bytes_in,
        bytes_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_by_name_and_file_name() {
        assert_eq!(
            Target::from_name("NDJSON"),
            Some(Target::Text(OutFormat::JsonLines))
        );
        assert_eq!(
            Target::from_name("feather"),
            Some(Target::Columnar(FileFormat::ArrowIpc))
        );
        assert_eq!(Target::from_name("xlsx"), None);
        assert_eq!(
            Target::from_file_name("out.tsv.gz"),
            Some(Target::Text(OutFormat::Tsv))
        );
        assert_eq!(
            Target::from_file_name("out.Parquet"),
            Some(Target::Columnar(FileFormat::Parquet))
        );
        assert_eq!(
            Target::from_file_name("items.jsonl.zst"),
            Some(Target::Text(OutFormat::JsonLines))
        );
        assert_eq!(Target::from_file_name("out"), None);
    }

    #[test]
    fn a_missing_schema_file_says_so() {
        let e = read_given_schema(Path::new("/nonexistent/schema.json")).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("cannot read /nonexistent/schema.json"));
    }
}
