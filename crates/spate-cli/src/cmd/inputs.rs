//! Flags shared by the commands that read many inputs in parallel (`items`, `validate`):
//! input discovery, format, threads, output order, progress, statistics, logs.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use indicatif::ProgressBar;

use spate::inputs::{discover, DiscoverOptions, Inputs};
use spate::parallel::{InputReport, Observer, Progress, ProgressFn, RunError, RunOptions, Summary};
use spate::query::{QueryError, QueryErrorKind};
use spate::Format;

use crate::exit;

/// Input and execution flags (flattened into a command's arguments).
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Input format: json (one document per input), jsonl (one value per line; the path
    /// applies inside each line) or auto (.jsonl/.ndjson names, else the content decides).
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        value_name = "json|jsonl|auto"
    )]
    pub format: FormatArg,

    /// In directories, read only files matching this glob (repeatable), e.g. '**/*.jsonl'.
    /// Without it, directories yield their *.json, *.jsonl, *.ndjson files (also .gz/.zst).
    #[arg(long = "glob", value_name = "GLOB")]
    pub globs: Vec<String>,

    /// Worker threads (default: all cores). -j1 is a sequential run; ordered output is
    /// byte-identical whatever N.
    #[arg(
        short = 'j',
        long = "threads",
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    pub threads: usize,

    /// Write results as soon as they are ready instead of in input order (faster when
    /// inputs differ in size; the set of results is the same, their order is not).
    #[arg(long)]
    pub unordered: bool,

    /// Print a summary on stderr at the end: files, lines, items, bytes, time, MB/s.
    #[arg(long)]
    pub stats: bool,

    /// Show a progress bar on stderr (default: when stderr is a terminal).
    #[arg(long, overrides_with = "no_progress")]
    pub progress: bool,

    /// Never show a progress bar.
    #[arg(long, overrides_with = "progress")]
    pub no_progress: bool,

    /// Deepest nesting accepted.
    #[arg(long, value_name = "N", default_value_t = spate_json::DEFAULT_MAX_DEPTH)]
    pub max_depth: u32,

    /// Size of the byte ranges one big JSON Lines file is split into (K, M, G suffixes).
    #[arg(long, value_name = "SIZE", hide = true, env = "SPATE_RANGE_SIZE", value_parser = super::common::parse_size)]
    pub range_size: Option<usize>,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// One JSON document per input.
    Json,
    /// JSON Lines.
    Jsonl,
    /// By name, then by content.
    Auto,
}

impl InputArgs {
    /// The forced format, if any.
    pub fn format(&self) -> Option<Format> {
        match self.format {
            FormatArg::Json => Some(Format::Json),
            FormatArg::Jsonl => Some(Format::Jsonl),
            FormatArg::Auto => None,
        }
    }

    /// Expands the files and directories named into the inputs (none: standard input);
    /// problems met while walking directories are printed, and make the exit code 2.
    pub fn discover(&self, files: &[PathBuf], reporter: &mut Reporter) -> anyhow::Result<Inputs> {
        let mut inputs = discover(
            files,
            &DiscoverOptions {
                globs: self.globs.clone(),
                format: self.format(),
            },
        )?;
        for e in inputs.errors.drain(..) {
            reporter.error(RunError::Input(e));
        }
        if inputs.files.is_empty() {
            anyhow::bail!(
                "no input files found in {} (directories yield *.json, *.jsonl and *.ndjson \
                 files; choose others with --glob)",
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(inputs)
    }

    /// Run options from these flags (the caller sets limit, errors and item limits). With
    /// a progress bar, the bar is returned too: clear it when the run is over.
    pub fn run_options(&self) -> (RunOptions, Option<ProgressBar>) {
        let draw = if self.no_progress {
            false
        } else {
            self.progress || std::io::stderr().is_terminal()
        };
        let bar = draw.then(progress_bar);
        let mut options = RunOptions {
            threads: self.threads,
            ordered: !self.unordered,
            progress: bar.as_ref().map(|bar| {
                let bar = bar.clone();
                Arc::new(move |p: Progress| {
                    if bar.length() != Some(p.total_bytes) {
                        bar.set_length(p.total_bytes);
                    }
                    bar.set_position(p.bytes);
                    bar.set_message(format!("{} files", p.files));
                }) as ProgressFn
            }),
            ..RunOptions::default()
        };
        if let Some(size) = self.range_size {
            options.range_size = size.max(1) as u64;
        }
        (options, bar)
    }

    /// Prints the summary when `--stats` was given.
    pub fn print_stats(&self, summary: &Summary) {
        if self.stats {
            eprintln!("spate: stats: {summary}");
        }
    }
}

/// The bar drawn on stderr while a run reports its progress.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template(
        "{bar:30} {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} {msg} [{elapsed}]",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// Turns on structured logs on stderr when `SPATE_LOG` is set (`SPATE_LOG=debug` times the
/// plan, each task and the run), else with `default` (a filter) when given.
pub fn init_logging(default: Option<&str>) {
    let filter = match (
        tracing_subscriber::EnvFilter::try_from_env("SPATE_LOG"),
        default,
    ) {
        (Ok(filter), _) => filter,
        (Err(_), Some(default)) => tracing_subscriber::EnvFilter::new(default),
        (Err(_), None) => return,
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // no colour codes in a file or a pipe
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Prints errors on stderr as the run reports them (in input order) and keeps the worst
/// exit code they call for.
#[derive(Debug)]
pub struct Reporter {
    /// 0, 1 (invalid data) or 2 (I/O).
    pub worst: u8,
    /// Data errors printed.
    pub data_errors: u64,
    /// Inputs that could not be read.
    pub io_errors: u64,
    /// The flag that raises the item (or line) size limit, named in hints.
    size_flag: &'static str,
}

impl Reporter {
    /// A reporter whose hints name `size_flag` to raise the size limit.
    pub fn new(size_flag: &'static str) -> Reporter {
        Reporter {
            worst: 0,
            data_errors: 0,
            io_errors: 0,
            size_flag,
        }
    }

    /// What to do about an error, naming the flag (the library names none).
    fn hint(&self, error: &RunError) -> Option<String> {
        match error {
            RunError::Input(spate::Error::ItemTooLarge { .. }) => {
                Some(format!("raise it with {}", self.size_flag))
            }
            RunError::TooManyGroups { .. } => Some("raise it with --max-groups".to_owned()),
            // (--max-depth is one of these input flags)
            RunError::Input(spate::Error::Syntax { error, .. })
                if matches!(error.0.kind, spate_json::ErrorKind::TooDeep { .. }) =>
            {
                Some("raise the limit with --max-depth".to_owned())
            }
            RunError::Visit { source, .. } => match source.downcast_ref::<QueryError>()?.kind {
                QueryErrorKind::TooMuchHeld { .. } => {
                    Some(format!("raise the limit with {}", self.size_flag))
                }
                QueryErrorKind::TooManyGroups { .. } => {
                    Some("raise the limit with --max-groups".to_owned())
                }
                _ => None,
            },
            _ => None,
        }
    }
}

impl Observer for Reporter {
    fn error(&mut self, error: RunError) {
        if error.is_invalid_data() {
            self.data_errors += 1;
            self.worst = self.worst.max(exit::INVALID_DATA);
        } else {
            self.io_errors += 1;
            self.worst = self.worst.max(exit::USAGE_OR_IO);
        }
        eprintln!("spate: {}", RunFailure::new(error, self));
    }

    fn input_done(&mut self, _report: &InputReport<'_>) {}
}

/// A run's error as the binary shows it: the library's message, then a hint naming the
/// flag to use. The error itself is kept (exit codes are decided from it, see
/// [`crate::exit::code_for`]).
#[derive(Debug)]
pub struct RunFailure {
    /// The library's error.
    pub error: RunError,
    hint: Option<String>,
}

impl RunFailure {
    fn new(error: RunError, reporter: &Reporter) -> RunFailure {
        let hint = reporter.hint(&error);
        RunFailure { error, hint }
    }
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The library's message says it all (its sources are part of it): no chain.
        // The hint ends the first line (an excerpt may follow it).
        let message = self.error.to_string();
        match &self.hint {
            Some(hint) => match message.split_once('\n') {
                Some((first, rest)) => write!(f, "{first} ({hint})\n{rest}"),
                None => write!(f, "{message} ({hint})"),
            },
            None => f.write_str(&message),
        }
    }
}

impl std::error::Error for RunFailure {}

/// The error for the binary: keeps "invalid data" (exit 1), I/O (exit 2) and a closed
/// output pipe (exit 0) apart.
pub fn into_anyhow(error: RunError, reporter: &Reporter) -> anyhow::Error {
    match error {
        RunError::Output(e) => anyhow::Error::new(e).context("writing to standard output"),
        error => anyhow::Error::new(RunFailure::new(error, reporter)),
    }
}
