//! `spate agents`: usage, cost and delegation reports over Claude Code transcripts.
//!
//! The work is in the `spate-agents` library; this module parses flags, picks the output
//! form (JSON, or a table coloured only on a terminal and never with `NO_COLOR`) and maps
//! the outcome to an exit code.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use spate_agents::load::UsageRequest;
use spate_agents::pricing::PriceTable;
use spate_agents::report::Period;
use spate_agents::usage::{CostMode, Query};
use spate_agents::{delegations, render, report, report_json, usage};

use super::ledger;
use crate::exit::InvalidData;

#[derive(Debug, clap::Args)]
pub struct AgentsArgs {
    #[command(subcommand)]
    report: ReportCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ReportCommand {
    /// Usage and cost per day (JSON shaped like `ccusage claude daily --json`).
    Daily(ReportArgs),
    /// Usage and cost per week.
    Weekly(ReportArgs),
    /// Usage and cost per month.
    Monthly(ReportArgs),
    /// Usage and cost per session.
    Session(ReportArgs),
    /// Usage and cost per model.
    Model(ReportArgs),
    /// Usage and cost per project.
    Project(ReportArgs),
    /// Delegations to sub-agents: per agent type, per month, and marathon sessions.
    Delegations(DelegationArgs),
    /// The usage ledger: export it, import other machines' ledgers, print its path.
    Ledger(super::ledger::LedgerArgs),
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Add a line per model under each line.
    #[arg(long, short = 'b')]
    breakdown: bool,
    /// Time order of the lines.
    #[arg(long, short = 'o', value_enum, default_value_t = Order::Asc)]
    order: Order,
}

#[derive(Debug, clap::Args)]
struct DelegationArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Sessions with more than this many delegations are listed as marathons.
    #[arg(long, default_value_t = 20, value_name = "N")]
    marathon: u64,
}

#[derive(Debug, clap::Args)]
struct CommonArgs {
    /// Transcript folder: a Claude config folder with `projects/`, or a `projects/` folder
    /// (repeatable). Default: CLAUDE_CONFIG_DIR (comma-separated), else ~/.config/claude and
    /// ~/.claude.
    #[arg(long, value_name = "DIR")]
    path: Vec<PathBuf>,
    /// Write JSON instead of a table.
    #[arg(long, short = 'j')]
    json: bool,
    /// First date to include (YYYY-MM-DD or YYYYMMDD, in --timezone).
    #[arg(long, short = 's', value_name = "DATE")]
    since: Option<String>,
    /// Last date to include (YYYY-MM-DD or YYYYMMDD, in --timezone).
    #[arg(long, short = 'u', value_name = "DATE")]
    until: Option<String>,
    /// IANA time zone for dates (default: the system's).
    #[arg(long, short = 'z', value_name = "TZ")]
    timezone: Option<String>,
    /// Cost source: auto (the line's costUSD if any, else computed), calculate (always
    /// computed from tokens), display (costUSD only).
    #[arg(long, short = 'm', value_enum, default_value_t = Mode::Auto)]
    mode: Mode,
    /// Prices from a LiteLLM-style JSON file, overriding the embedded table.
    #[arg(long, value_name = "FILE")]
    pricing: Option<PathBuf>,
    /// First day of the week for `weekly`.
    #[arg(long, value_enum, default_value_t = WeekStart::Sunday)]
    start_of_week: WeekStart,
    /// Do not read or write the incremental cache.
    #[arg(long)]
    no_cache: bool,
    /// Cache folder (default: the user cache folder's `spate/`).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Sum every request individually instead of using per-file partial sums (slower; the
    /// answer is the same, which this flag lets you check).
    #[arg(long, hide = true)]
    per_request: bool,
    /// Exit with code 1 when lines were skipped (malformed, incomplete, no timestamp) or a
    /// file was unreadable.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    ledger: super::ledger::LedgerFlags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Order {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    Auto,
    Calculate,
    Display,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum WeekStart {
    Sunday,
    Monday,
}

struct Loaded {
    usage: usage::Usage,
    warnings: Vec<String>,
}

fn load_usage(c: &CommonArgs) -> anyhow::Result<Loaded> {
    let tz = match &c.timezone {
        Some(name) => spate_agents::jiff::tz::TimeZone::get(name).with_context(|| {
            format!("unknown time zone {name:?} (use an IANA name such as Europe/Paris)")
        })?,
        None => spate_agents::time::system_time_zone(),
    };
    let date = |flag: &str,
                v: &Option<String>|
     -> anyhow::Result<Option<spate_agents::jiff::civil::Date>> {
        match v {
            None => Ok(None),
            Some(s) => spate_agents::time::parse_date(s)
                .map(Some)
                .with_context(|| format!("{flag} {s:?}: expected a date as YYYY-MM-DD")),
        }
    };
    let since = date("--since", &c.since)?;
    let until = date("--until", &c.until)?;
    let mut prices = PriceTable::embedded();
    if let Some(file) = &c.pricing {
        prices = prices.with_litellm_file(file)?;
    }
    let request = UsageRequest {
        paths: c.path.clone(),
        config_env: std::env::var("CLAUDE_CONFIG_DIR").ok(),
        cache: !c.no_cache,
        cache_dir: c.cache_dir.clone(),
    };
    let query = Query {
        tz,
        since,
        until,
        mode: match c.mode {
            Mode::Auto => CostMode::Auto,
            Mode::Calculate => CostMode::Calculate,
            Mode::Display => CostMode::Display,
        },
        prices,
        week_start: match c.start_of_week {
            WeekStart::Sunday => spate_agents::jiff::civil::Weekday::Sunday,
            WeekStart::Monday => spate_agents::jiff::civil::Weekday::Monday,
        },
        per_request: c.per_request,
    };
    let (loaded, ledger) = ledger::load(&request, query, &c.ledger).map_err(|e| match e {
        // the library names no flag: the hint is the command line's
        spate_agents::Error::NoTranscripts { .. } => {
            anyhow::anyhow!("{e}; pass --path DIR or set CLAUDE_CONFIG_DIR")
        }
        e => e.into(),
    })?;
    // The process ends after the report: freeing every file's record piece by piece would
    // cost more than the report itself.
    std::mem::forget(loaded.corpus);
    ledger::keep(ledger);
    let warnings = loaded.warnings.iter().map(ToString::to_string).collect();
    let usage = loaded.usage;
    Ok(Loaded { usage, warnings })
}

fn use_color() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stdout().is_terminal()
}

fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Warnings, unpriced models and the skipped-lines summary go to stderr; with `--strict`,
/// skipped lines make the exit code 1.
fn finish(loaded: &Loaded, strict: bool) -> anyhow::Result<ExitCode> {
    ledger::finish();
    for w in &loaded.warnings {
        eprintln!("spate: warning: {w}");
    }
    let s = &loaded.usage.summary;
    for (model, (requests, tokens)) in &s.unpriced {
        eprintln!(
            "spate: warning: no price for model {model:?} ({requests} requests, {tokens} tokens): not counted in the cost; pass --pricing FILE"
        );
    }
    if s.undecodable_cache_files > 0 {
        eprintln!(
            "spate: warning: {} cached files had unreadable entries; their partial sums were used (run with --no-cache to re-read them)",
            s.undecodable_cache_files
        );
    }
    let skipped = spate_agents::anything_skipped(s);
    if skipped {
        eprintln!("spate: {}", spate_agents::summary_line(s));
    }
    if skipped && strict {
        return Err(anyhow::Error::new(InvalidData(String::from(
            "lines were skipped (see the summary above) and --strict is set",
        ))));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: AgentsArgs) -> anyhow::Result<ExitCode> {
    // phase timings with SPATE_LOG=spate_agents=debug
    super::inputs::init_logging();
    // Ctrl-C or SIGTERM in the middle of a cache write: remove its temporary file, then end
    // as an interrupted process does (130). Without a handler (it could not be installed)
    // a leftover is removed when the cache is next opened.
    let _ = ctrlc::set_handler(|| {
        spate_agents::cache::remove_temp_files_in_progress();
        spate_agents::ledger::flush_all();
        std::process::exit(130);
    });
    let style = render::Style { color: use_color() };
    match args.report {
        ReportCommand::Delegations(a) => {
            let loaded = load_usage(&a.common)?;
            let rep = delegations::build(&loaded.usage, a.marathon);
            if a.common.json {
                emit(&report_json::to_pretty(&rep)?)?;
            } else {
                emit(&render::delegations_table(&rep, style))?;
            }
            finish(&loaded, a.common.strict)
        }
        ReportCommand::Daily(a) => report_cmd(Period::Daily, a, style),
        ReportCommand::Weekly(a) => report_cmd(Period::Weekly, a, style),
        ReportCommand::Monthly(a) => report_cmd(Period::Monthly, a, style),
        ReportCommand::Session(a) => report_cmd(Period::Session, a, style),
        ReportCommand::Model(a) => report_cmd(Period::Model, a, style),
        ReportCommand::Project(a) => report_cmd(Period::Project, a, style),
        ReportCommand::Ledger(a) => ledger::run(a),
    }
}

fn report_cmd(period: Period, a: ReportArgs, style: render::Style) -> anyhow::Result<ExitCode> {
    let loaded = load_usage(&a.common)?;
    spate_agents::timer_lap("analyzed");
    let rep = report::build(&loaded.usage, period, a.order == Order::Desc);
    spate_agents::timer_lap("report built");
    if a.common.json {
        let text = report_json::to_pretty(&rep)?;
        spate_agents::timer_lap("json built");
        emit(&text)?;
    } else {
        emit(&render::report_table(&rep, a.breakdown, style))?;
    }
    spate_agents::timer_lap("written");
    finish(&loaded, a.common.strict)
}
