//! The output formats of result-producing commands, as flags; the writers are
//! [`spate::output`].

use spate::output::OutputFormat;

/// Output formats of result-producing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON value per line.
    Jsonl,
    /// One JSON array.
    Json,
    /// Comma-separated values with a header.
    Csv,
    /// An aligned table for people.
    Table,
}

impl From<Format> for OutputFormat {
    fn from(f: Format) -> OutputFormat {
        match f {
            Format::Jsonl => OutputFormat::Jsonl,
            Format::Json => OutputFormat::Json,
            Format::Csv => OutputFormat::Csv,
            Format::Table => OutputFormat::Table,
        }
    }
}
