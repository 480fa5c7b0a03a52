//! `spate agents blocks` (table, JSON, active view, live view) and `spate agents statusline`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use spate_agents::blocks::{self, BlockOptions, TokenLimit};
use spate_agents::statusline::{self, StatusInput};
use spate_agents::{render, render_blocks, report_json, request};

use super::{
    date_flag, emit, finish, load_usage, no_transcripts_hint, terminal_width, time_zone,
    BlocksArgs, Need, Order, StatuslineArgs, LIVE, STOP,
};

fn now_ms() -> i64 {
    spate_agents::jiff::Timestamp::now().as_millisecond()
}

pub(super) fn blocks_cmd(a: BlocksArgs, style: render::Style) -> anyhow::Result<ExitCode> {
    if !(a.session_length > 0.0 && a.session_length <= 24.0 * 7.0) {
        anyhow::bail!(
            "--session-length {}: expected a number of hours above 0 (at most 168)",
            a.session_length
        );
    }
    if !(0.1..=3600.0).contains(&a.interval) {
        anyhow::bail!(
            "--interval {}: expected seconds from 0.1 to 3600",
            a.interval
        );
    }
    let token_limit =
        match &a.token_limit {
            None => None,
            Some(s) => Some(TokenLimit::parse(s).with_context(|| {
                format!("--token-limit {s:?}: expected a number of tokens or max")
            })?),
        };
    if a.live && !console::Term::stdout().is_term() {
        anyhow::bail!("--live redraws a terminal: standard output is not one (use --json or --active instead)");
    }
    let need = Need {
        blocks: true,
        keep_corpus: a.live,
        ..Need::default()
    };
    let mut loaded = load_usage(&a.common, need)?;
    let tz = time_zone(a.common.timezone.as_deref())?;
    let mut opts = BlockOptions {
        session_ms: (a.session_length * 3_600_000.0).round() as i64,
        now_ms: now_ms(),
        since: date_flag("--since", &a.common.since)?,
        until: date_flag("--until", &a.common.until)?,
        descending: a.order == Order::Desc,
        recent: a.recent,
        active_only: a.active,
        token_limit,
    };
    if a.live {
        let Some(mut corpus) = loaded.corpus.take() else {
            anyhow::bail!("internal: the live view has no transcripts to refresh");
        };
        opts.active_only = false;
        live(&mut corpus, &loaded.request, &a, opts, &tz)?;
        std::mem::forget(corpus);
        return finish(&loaded, a.common.strict);
    }
    let rep = blocks::build(&loaded.usage, &opts);
    if a.common.json {
        emit(&report_json::to_pretty(&rep)?)?;
    } else if a.active {
        emit(&render_blocks::active_view(
            &rep,
            &tz,
            terminal_width().min(100),
        ))?;
    } else if rep.blocks.is_empty() {
        emit("No usage found (no requests in the transcripts for these dates and filters).\n")?;
    } else {
        emit(&render_blocks::blocks_table(
            &rep,
            &tz,
            terminal_width(),
            style,
        ))?;
    }
    finish(&loaded, a.common.strict)
}

/// Redraws the active block every `--interval` seconds from the refreshed corpus until
/// Ctrl-C, then puts the cursor back.
fn live(
    corpus: &mut spate_agents::load::Corpus,
    query: &spate_agents::usage::Query,
    a: &BlocksArgs,
    mut opts: BlockOptions,
    tz: &spate_agents::jiff::tz::TimeZone,
) -> anyhow::Result<()> {
    LIVE.store(true, Ordering::SeqCst);
    let term = console::Term::stdout();
    let _ = term.hide_cursor();
    let mut out = std::io::stdout();
    let mut problem: Option<String> = None;
    let result = (|| -> anyhow::Result<()> {
        while !STOP.load(Ordering::SeqCst) {
            opts.now_ms = now_ms();
            let rep = request::blocks_of(corpus, query.clone(), &a.common.project, &opts);
            let width = terminal_width().min(100);
            let mut frame = render_blocks::active_view(&rep, tz, width);
            let now = spate_agents::jiff::Timestamp::now()
                .to_zoned(tz.clone())
                .strftime("%H:%M:%S")
                .to_string();
            frame.push_str(&format!(
                "\nupdated {now}, every {}s; Ctrl-C to quit\n",
                a.interval
            ));
            if let Some(p) = &problem {
                frame.push_str(&format!("last refresh failed: {p}\n"));
            }
            // home, clear below, the frame (lines end with "clear to end of line")
            let body = frame.replace('\n', "\x1b[K\n");
            write!(out, "\x1b[H\x1b[J{body}")?;
            out.flush()?;
            let until = std::time::Instant::now() + Duration::from_secs_f64(a.interval);
            while std::time::Instant::now() < until && !STOP.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
            problem = corpus.refresh().err().map(|e| e.to_string());
        }
        Ok(())
    })();
    let _ = term.show_cursor();
    let _ = writeln!(out);
    LIVE.store(false, Ordering::SeqCst);
    result
}

/// Prints the status line; on any problem a short fallback line. Always exit code 0: a
/// status-line command must never get in Claude Code's way.
pub(super) fn statusline_cmd(a: StatuslineArgs) -> ExitCode {
    let input = StatusInput::read(std::io::stdin().lock());
    let line = match &input {
        Err(e) => statusline::fallback_line(None, &e.to_string()),
        Ok(i) => match status_figures(&a, i) {
            Ok(f) => statusline::line(i, &f),
            Err(e) => statusline::fallback_line(Some(i), &format!("{e:#}")),
        },
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    ExitCode::SUCCESS
}

fn status_figures(
    a: &StatuslineArgs,
    input: &StatusInput,
) -> anyhow::Result<statusline::StatusFigures> {
    let query = spate_agents::usage::Query {
        tz: time_zone(a.timezone.as_deref())?,
        prices: a.pricing.table()?,
        ..spate_agents::usage::Query::default()
    };
    request::status_figures(&a.tree.request(), query, input, now_ms).map_err(no_transcripts_hint)
}
