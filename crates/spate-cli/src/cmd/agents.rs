//! `spate agents`: usage, cost and delegation reports over Claude Code transcripts.
//!
//! The work is in the `spate-agents` library; this module parses flags, picks the output
//! form (JSON, or a table coloured only on a terminal and never with `NO_COLOR`) and maps
//! the outcome to an exit code.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use spate_agents::load::{self, UsageRequest};
use spate_agents::pricing::PriceTable;
use spate_agents::report::Period;
use spate_agents::request;
use spate_agents::usage::{CostMode, Query};
use spate_agents::{delegations, render, report, report_json, usage};

use super::ledger;
use crate::exit::InvalidData;

#[path = "agents_blocks.rs"]
mod blocks_cmd;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AgentsArgs {
    #[command(subcommand)]
    report: Option<ReportCommand>,
    /// Without a report name: the daily report, with these options.
    #[command(flatten)]
    daily: PeriodArgs,
}

#[derive(Debug, clap::Subcommand)]
enum ReportCommand {
    /// Usage and cost per day (JSON shaped like `ccusage claude daily --json`); the default.
    Daily(PeriodArgs),
    /// Usage and cost per week.
    Weekly(WeeklyArgs),
    /// Usage and cost per month.
    Monthly(PeriodArgs),
    /// Usage and cost per session.
    Session(SessionArgs),
    /// Usage and cost per model.
    Model(CommonArgs),
    /// Usage and cost per project.
    Project(ProjectArgs),
    /// 5-hour billing blocks, as ccusage's `blocks` (active block, burn rate, projection).
    Blocks(BlocksArgs),
    /// One status line for Claude Code's `statusLine` command (reads its JSON on stdin).
    Statusline(StatuslineArgs),
    /// Delegations to sub-agents: per agent type, per month, and marathon sessions.
    Delegations(DelegationArgs),
    /// The price table in use and where it comes from.
    Prices(PricesArgs),
    /// The usage ledger: export it, import other machines' ledgers, print its path.
    Ledger(super::ledger::LedgerArgs),
}

#[derive(Debug, Clone, clap::Args)]
struct PeriodArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    breakdown: BreakdownFlag,
    /// Time order of the lines.
    #[arg(long, short = 'o', value_enum, default_value_t = Order::Asc)]
    order: Order,
    /// Only the last N lines (the most recent ones).
    #[arg(long, value_name = "N")]
    last: Option<usize>,
}

#[derive(Debug, Clone, Copy, clap::Args)]
struct BreakdownFlag {
    /// Add a line per model (`-b`, `--breakdown models`) or per agent (`--breakdown agents`:
    /// the main conversation and each sub-agent type) under each line.
    #[arg(long, short = 'b', value_enum, num_args = 0..=1, default_missing_value = "models", value_name = "BY")]
    breakdown: Option<Breakdown>,
}

#[derive(Debug, clap::Args)]
struct WeeklyArgs {
    #[command(flatten)]
    period: PeriodArgs,
    /// First day of the week.
    #[arg(long, value_enum, default_value_t = WeekStart::Sunday)]
    start_of_week: WeekStart,
}

#[derive(Debug, clap::Args)]
struct SessionArgs {
    #[command(flatten)]
    period: PeriodArgs,
    /// Only this session (its id, or a unique prefix of at least 4 characters; repeatable).
    #[arg(long, value_name = "ID")]
    id: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct ProjectArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    breakdown: BreakdownFlag,
}

#[derive(Debug, clap::Args)]
struct BlocksArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Time order of the blocks.
    #[arg(long, short = 'o', value_enum, default_value_t = Order::Asc)]
    order: Order,
    /// Only the blocks of the last 3 days, and the active one.
    #[arg(long, short = 'r')]
    recent: bool,
    /// Only the active block, with its burn rate and projection.
    #[arg(long, short = 'a')]
    active: bool,
    /// Token limit to measure the active block against: a number, or `max` (the most tokens
    /// of a finished block).
    #[arg(long, short = 't', value_name = "N|max")]
    token_limit: Option<String>,
    /// Redraw a compact view of the active block every --interval seconds until Ctrl-C.
    #[arg(long, conflicts_with = "json")]
    live: bool,
    /// Seconds between redraws with --live.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, requires = "live")]
    interval: f64,
    /// Block length in hours.
    #[arg(long, short = 'n', value_name = "HOURS", default_value_t = 5.0)]
    session_length: f64,
}

#[derive(Debug, clap::Args)]
struct StatuslineArgs {
    #[command(flatten)]
    tree: TreeFlags,
    /// IANA time zone for "today" (default: the system's; `local` is the system's).
    #[arg(long, short = 'z', value_name = "TZ")]
    timezone: Option<String>,
    #[command(flatten)]
    pricing: PricingFlag,
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
struct PricesArgs {
    #[command(flatten)]
    pricing: PricingFlag,
    /// Write JSON instead of a table.
    #[arg(long, short = 'j')]
    json: bool,
}

/// Where the transcripts are, and the cache: the flags of every command that reads them
/// (the reports, `statusline`, `ledger export|import`, `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct TreeFlags {
    /// Transcript folder: a Claude config folder with `projects/`, or a `projects/` folder
    /// (repeatable). Default: CLAUDE_CONFIG_DIR (comma-separated), else ~/.config/claude and
    /// ~/.claude.
    #[arg(long, value_name = "DIR")]
    path: Vec<PathBuf>,
    /// Do not read or write the incremental cache.
    #[arg(long)]
    no_cache: bool,
    /// Cache folder (default: the user cache folder's `spate/`).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

impl TreeFlags {
    pub fn request(&self) -> UsageRequest {
        UsageRequest::from_env(self.path.clone(), !self.no_cache, self.cache_dir.clone())
    }
}

/// `--pricing FILE`.
#[derive(Debug, Clone, clap::Args)]
pub struct PricingFlag {
    /// Prices from a LiteLLM-style JSON file, overriding the embedded table.
    #[arg(long, value_name = "FILE")]
    pricing: Option<PathBuf>,
}

impl PricingFlag {
    pub fn table(&self) -> anyhow::Result<PriceTable> {
        Ok(request::price_table(self.pricing.as_deref())?)
    }
}

#[derive(Debug, Clone, clap::Args)]
struct CommonArgs {
    #[command(flatten)]
    tree: TreeFlags,
    /// Write JSON instead of a table.
    #[arg(long, short = 'j')]
    json: bool,
    /// First date to include (YYYY-MM-DD or YYYYMMDD, in --timezone).
    #[arg(long, short = 's', value_name = "DATE")]
    since: Option<String>,
    /// Last date to include (YYYY-MM-DD or YYYYMMDD, in --timezone).
    #[arg(long, short = 'u', value_name = "DATE")]
    until: Option<String>,
    /// IANA time zone for dates, or `local` (default: the system's).
    #[arg(long, short = 'z', value_name = "TZ")]
    timezone: Option<String>,
    /// Only these projects: a project folder name (`-home-me-app`) or its last part (`app`);
    /// repeatable.
    #[arg(long, value_name = "NAME")]
    project: Vec<String>,
    /// Cost source: auto (the line's costUSD if any, else computed), calculate (always
    /// computed from tokens), display (costUSD only).
    #[arg(long, short = 'm', value_enum, default_value_t = Mode::Auto)]
    mode: Mode,
    #[command(flatten)]
    pricing: PricingFlag,
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
enum Breakdown {
    Models,
    Agents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[allow(clippy::enum_variant_names)]
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
    /// The transcripts, kept for `blocks --live` (which refreshes them).
    corpus: Option<load::Corpus>,
    request: Query,
}

/// `--timezone`.
fn time_zone(name: Option<&str>) -> anyhow::Result<spate_agents::jiff::tz::TimeZone> {
    Ok(request::time_zone(name)?)
}

fn date_flag(
    flag: &str,
    v: &Option<String>,
) -> anyhow::Result<Option<spate_agents::jiff::civil::Date>> {
    match v {
        None => Ok(None),
        Some(s) => spate_agents::time::parse_date(s)
            .map(Some)
            .with_context(|| format!("{flag} {s:?}: expected a date as YYYY-MM-DD")),
    }
}

/// What a command needs besides the common flags.
#[derive(Clone, Copy)]
struct Need {
    week_start: spate_agents::jiff::civil::Weekday,
    /// One row per request and every date (blocks select by date themselves).
    blocks: bool,
    /// Keep the corpus for refreshing.
    keep_corpus: bool,
}

impl Default for Need {
    fn default() -> Self {
        Need {
            week_start: spate_agents::jiff::civil::Weekday::Sunday,
            blocks: false,
            keep_corpus: false,
        }
    }
}

fn load_usage(c: &CommonArgs, need: Need) -> anyhow::Result<Loaded> {
    let query = Query {
        tz: time_zone(c.timezone.as_deref())?,
        since: date_flag("--since", &c.since)?.filter(|_| !need.blocks),
        until: date_flag("--until", &c.until)?.filter(|_| !need.blocks),
        mode: match c.mode {
            Mode::Auto => CostMode::Auto,
            Mode::Calculate => CostMode::Calculate,
            Mode::Display => CostMode::Display,
        },
        prices: c.pricing.table()?,
        week_start: need.week_start,
        per_request: c.per_request || need.blocks,
    };
    let ledger = c.ledger.options();
    let (loaded, ledger) = request::load_report(
        &c.tree.request(),
        query.clone(),
        &c.project,
        ledger.as_ref(),
    )
    .map_err(no_transcripts_hint)?;
    ledger::keep(ledger);
    let corpus = if need.keep_corpus {
        Some(loaded.corpus)
    } else {
        // The process ends after the report: freeing every file's record piece by piece
        // would cost more than the report itself.
        std::mem::forget(loaded.corpus);
        None
    };
    Ok(Loaded {
        usage: loaded.usage,
        warnings: loaded.warnings.iter().map(ToString::to_string).collect(),
        corpus,
        request: query,
    })
}

/// The library names no flag: the hint is the command line's.
pub fn no_transcripts_hint(e: spate_agents::Error) -> anyhow::Error {
    match e {
        spate_agents::Error::NoTranscripts { .. } => {
            anyhow::anyhow!("{e}; pass --path DIR or set CLAUDE_CONFIG_DIR")
        }
        e => e.into(),
    }
}

/// The terminal's width in columns: `COLUMNS` when set, else the terminal's, else (output
/// to a file or pipe) unlimited.
fn terminal_width() -> usize {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
    {
        return n;
    }
    let term = console::Term::stdout();
    if term.is_term() {
        if let Some((_, cols)) = term.size_checked() {
            return usize::from(cols);
        }
    }
    usize::MAX
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
            "spate: warning: no price for model {model:?} ({requests} requests, {tokens} tokens): not counted in the cost (`spate agents prices` lists the known models; pass --pricing FILE with a LiteLLM model_prices_and_context_window.json to add it)"
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

/// Set while `blocks --live` runs: Ctrl-C then ends the loop instead of the process.
static LIVE: AtomicBool = AtomicBool::new(false);
/// Ctrl-C was pressed during `blocks --live`.
static STOP: AtomicBool = AtomicBool::new(false);

pub fn run(args: AgentsArgs) -> anyhow::Result<ExitCode> {
    // phase timings with SPATE_LOG=spate_agents=debug
    super::inputs::init_logging(None);
    // Ctrl-C or SIGTERM in the middle of a cache write: remove its temporary file, then end
    // as an interrupted process does (130), or end the live view. Without a handler (it
    // could not be installed) a leftover is removed when the cache is next opened.
    let _ = ctrlc::set_handler(|| {
        spate_agents::cache::remove_temp_files_in_progress();
        spate_agents::ledger::flush_all();
        if LIVE.load(Ordering::SeqCst) {
            STOP.store(true, Ordering::SeqCst);
        } else {
            std::process::exit(130);
        }
    });
    let style = render::Style { color: use_color() };
    let sunday = Need::default();
    match args.report {
        None => report_cmd(Period::Daily, args.daily, sunday, style),
        Some(ReportCommand::Prices(a)) => {
            let prices = a.pricing.table()?;
            if a.json {
                emit(&report_json::to_pretty(&report_json::prices_json(&prices))?)?;
            } else {
                emit(&render::prices_table(&prices, style))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(ReportCommand::Delegations(a)) => {
            let loaded = load_usage(&a.common, sunday)?;
            let rep = delegations::build(&loaded.usage, a.marathon);
            if a.common.json {
                emit(&report_json::to_pretty(&rep)?)?;
            } else if rep.delegations == 0 && rep.subagent_usage.requests == 0 {
                emit("No delegations found.\n")?;
            } else {
                emit(&render::delegations_table(&rep, style))?;
            }
            finish(&loaded, a.common.strict)
        }
        Some(ReportCommand::Daily(a)) => report_cmd(Period::Daily, a, sunday, style),
        Some(ReportCommand::Weekly(a)) => {
            let need = Need {
                week_start: match a.start_of_week {
                    WeekStart::Sunday => spate_agents::jiff::civil::Weekday::Sunday,
                    WeekStart::Monday => spate_agents::jiff::civil::Weekday::Monday,
                },
                ..Need::default()
            };
            report_cmd(Period::Weekly, a.period, need, style)
        }
        Some(ReportCommand::Monthly(a)) => report_cmd(Period::Monthly, a, sunday, style),
        Some(ReportCommand::Session(a)) => {
            let mut loaded = load_usage(&a.period.common, sunday)?;
            usage::retain_sessions(&mut loaded.usage, &a.id);
            print_report(Period::Session, &a.period, &loaded, style)
        }
        Some(ReportCommand::Model(common)) => {
            let p = PeriodArgs {
                common,
                breakdown: BreakdownFlag { breakdown: None },
                order: Order::Asc,
                last: None,
            };
            report_cmd(Period::Model, p, sunday, style)
        }
        Some(ReportCommand::Project(a)) => {
            let p = PeriodArgs {
                common: a.common,
                breakdown: a.breakdown,
                order: Order::Asc,
                last: None,
            };
            report_cmd(Period::Project, p, sunday, style)
        }
        Some(ReportCommand::Blocks(a)) => blocks_cmd::blocks_cmd(a, style),
        Some(ReportCommand::Statusline(a)) => Ok(blocks_cmd::statusline_cmd(a)),
        Some(ReportCommand::Ledger(a)) => ledger::run(a),
    }
}

fn report_cmd(
    period: Period,
    a: PeriodArgs,
    need: Need,
    style: render::Style,
) -> anyhow::Result<ExitCode> {
    let loaded = load_usage(&a.common, need)?;
    print_report(period, &a, &loaded, style)
}

fn print_report(
    period: Period,
    a: &PeriodArgs,
    loaded: &Loaded,
    style: render::Style,
) -> anyhow::Result<ExitCode> {
    spate_agents::timer_lap("analyzed");
    let mut rep = report::build(&loaded.usage, period, a.order == Order::Desc);
    if let Some(n) = a.last {
        report::keep_last(&mut rep, n, a.order == Order::Desc);
    }
    spate_agents::timer_lap("report built");
    if a.common.json {
        let text = report_json::to_pretty(&rep)?;
        spate_agents::timer_lap("json built");
        emit(&text)?;
    } else if rep.groups.is_empty() {
        emit("No usage found (no requests in the transcripts for these dates and filters).\n")?;
    } else {
        let by = match a.breakdown.breakdown {
            None => render::Breakdown::None,
            Some(Breakdown::Models) => render::Breakdown::Models,
            Some(Breakdown::Agents) => render::Breakdown::Agents,
        };
        emit(&render::report_table_fit(&rep, by, style, terminal_width()))?;
    }
    spate_agents::timer_lap("written");
    finish(loaded, a.common.strict)
}
