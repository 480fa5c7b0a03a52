//! The `spate` binary: parses flags, runs one command, maps the outcome to an exit code.
//!
//! Exit codes (shared by every command):
//! - 0: success;
//! - 1: the input data is invalid (or, where a command says so, records were skipped);
//! - 2: usage error or I/O error (missing file, unreadable input, bad flag).
//!
//! A closed stdout (`spate items ... | head`) ends the run quietly with exit code 0.

mod cmd;
mod exit;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Stream, validate and query JSON, JSON Lines and CSV files of any size.
#[derive(Debug, Parser)]
#[command(name = "spate", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// made once per process: the size of its largest variant costs nothing
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Print the items at a path of JSON documents, one compact JSON value per line.
    Items(cmd::items::ItemsArgs),
    /// Check that JSON documents are valid (RFC 8259), reporting the first error.
    Validate(cmd::validate::ValidateArgs),
    /// Infer the exact schema of CSV/TSV, JSON Lines, or the items of a JSON document.
    Schema(cmd::schema::SchemaArgs),
    /// Convert between CSV, TSV, JSON Lines and the items of a JSON document.
    Convert(cmd::convert::ConvertArgs),
    /// Usage, cost and delegation reports over Claude Code transcripts.
    Agents(cmd::agents::AgentsArgs),
    /// A live usage daemon: HTTP API, event stream and web dashboard (see docs/serve.md).
    Serve(cmd::serve::ServeArgs),
}

fn main() -> ExitCode {
    spate_agents::timer_start();
    // Plain files are mapped: one that shrinks under the scan is an I/O error (exit 2).
    #[cfg(unix)]
    spate::mapped::exit_on_truncation();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Items(args) => cmd::items::run(args),
        Command::Validate(args) => cmd::validate::run(args),
        Command::Schema(args) => cmd::schema::run(args),
        Command::Convert(args) => cmd::convert::run(args),
        Command::Agents(args) => cmd::agents::run(args),
        Command::Serve(args) => cmd::serve::run(args),
    };
    exit::finish(outcome)
}
