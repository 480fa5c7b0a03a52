//! The blocks report for people: a table of blocks, and a compact view of the active block
//! (what `blocks --active` prints and `blocks --live` redraws) that fits 80 columns.

use jiff::tz::TimeZone;

use crate::blocks::{Block, BlocksReport};
use crate::pricing::{format_usd_cents, group_thousands};
use crate::render::{short_model, Style};

/// Local `YYYY-MM-DD HH:MM` of an instant.
pub fn local_minute(ms: i64, tz: &TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts
            .to_zoned(tz.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => String::from("invalid"),
    }
}

fn hm(minutes: i64) -> String {
    let m = minutes.max(0);
    format!("{}h {:02}m", m / 60, m % 60)
}

fn status(b: &Block, now_ms: i64) -> String {
    if b.is_gap {
        return format!("gap {}", hm((b.end_ms - b.start_ms) / 60_000));
    }
    if b.is_active {
        return format!("ACTIVE, {} left", hm((b.end_ms - now_ms) / 60_000));
    }
    let dur = b.actual_end_ms.unwrap_or(b.start_ms) - b.start_ms;
    hm(dur / 60_000)
}

fn cost(b: &Block) -> String {
    let c = format_usd_cents(b.cost);
    if b.unpriced > 0 {
        format!("{c}*")
    } else {
        c
    }
}

/// The blocks as a table. Under 100 columns (`width`) the model names are left out and the
/// token column holds the total only; never is a number cut.
pub fn blocks_table(rep: &BlocksReport, tz: &TimeZone, width: usize, style: Style) -> String {
    let compact = width < 100;
    let mut headers = vec!["Block Start", "Status", "Entries"];
    if !compact {
        headers.push("Models");
    }
    headers.push("Tokens");
    if rep.token_limit.is_some() {
        headers.push("% Limit");
    }
    headers.push("Cost (USD)");
    let right: Vec<bool> = headers
        .iter()
        .map(|h| matches!(*h, "Entries" | "Tokens" | "% Limit" | "Cost (USD)"))
        .collect();
    let mut rows: Vec<(bool, Vec<String>)> = Vec::new();
    let mut any_unpriced = false;
    for b in &rep.blocks {
        let mut cells = vec![
            local_minute(b.start_ms, tz),
            status(b, rep.now_ms),
            if b.is_gap {
                "-".into()
            } else {
                group_thousands(b.entries.into())
            },
        ];
        if !compact {
            let mut names: Vec<String> = b.models.iter().map(|m| short_model(m)).collect();
            names.dedup();
            cells.push(if names.is_empty() {
                "-".into()
            } else {
                names.join(", ")
            });
        }
        cells.push(if b.is_gap {
            "-".into()
        } else {
            group_thousands(b.total_tokens().into())
        });
        if let Some(limit) = rep.token_limit {
            cells.push(if b.is_gap {
                String::new()
            } else {
                format!("{:.1}%", b.total_tokens() as f64 / limit as f64 * 100.0)
            });
        }
        cells.push(if b.is_gap { "-".into() } else { cost(b) });
        any_unpriced |= b.unpriced > 0;
        rows.push((b.is_active, cells));
    }
    let mut t = spate::output::Table::new(
        headers.iter().map(|h| (*h).to_owned()).collect(),
        Vec::new(),
    );
    t.set_align(
        right
            .iter()
            .map(|&r| {
                if r {
                    spate::output::Align::Right
                } else {
                    spate::output::Align::Left
                }
            })
            .collect(),
    );
    t.set_sample(usize::MAX);
    if style.color {
        t.set_header_paint("1;36");
    }
    for (active, cells) in rows {
        let code = if active && style.color { "1;32" } else { "" };
        let _ = t.row_painted(cells, code);
    }
    let mut out = String::from("Claude Code usage by 5-hour block\n\n");
    out.push_str(&String::from_utf8(t.finish().unwrap_or_default()).unwrap_or_default());
    if let Some(limit) = rep.token_limit {
        out.push_str(&format!("Token limit: {}\n", group_thousands(limit.into())));
    }
    if any_unpriced {
        out.push_str(
            "* includes requests of models without a known price (not counted in the cost)\n",
        );
    }
    out
}

/// A progress bar of `width` cells for `share` (0..=1, more is shown full).
fn bar(share: f64, width: usize) -> String {
    let filled = ((share.clamp(0.0, 1.0)) * width as f64).round() as usize;
    format!("[{}{}]", "#".repeat(filled), "-".repeat(width - filled))
}

/// The active block in a few lines of at most `width` (≥ 40) columns: its time, a bar of
/// tokens toward the limit (or of time elapsed without one), cost, burn rate, projection and
/// models. Without an active block, one line saying so.
pub fn active_view(rep: &BlocksReport, tz: &TimeZone, width: usize) -> String {
    let Some(b) = rep.active() else {
        return String::from("No active 5-hour block (no request in the last 5 hours).\n");
    };
    let width = width.clamp(40, 100);
    let mut out = String::new();
    let elapsed = (rep.now_ms - b.start_ms) / 60_000;
    let left = (b.end_ms - rep.now_ms) / 60_000;
    out.push_str(&format!(
        "Block {} - {}  {} elapsed, {} left\n",
        local_minute(b.start_ms, tz),
        &local_minute(b.end_ms, tz)[11..],
        hm(elapsed),
        hm(left)
    ));
    let bar_width = width.saturating_sub(30).max(10);
    match rep.token_limit {
        Some(limit) => {
            let share = b.total_tokens() as f64 / limit as f64;
            out.push_str(&format!(
                "Tokens {} {:>5.1}% of {}\n",
                bar(share, bar_width),
                share * 100.0,
                compact_count(limit)
            ));
        }
        None => {
            let share = elapsed as f64 / ((b.end_ms - b.start_ms) / 60_000).max(1) as f64;
            out.push_str(&format!(
                "Time   {} {:>5.1}%\n",
                bar(share, bar_width),
                share * 100.0
            ));
        }
    }
    out.push_str(&format!(
        "Used   {} tokens, {} in {} requests\n",
        group_thousands(b.total_tokens().into()),
        cost(b),
        group_thousands(b.entries.into())
    ));
    match b.burn_rate() {
        Some(r) => out.push_str(&format!(
            "Burn   {} tokens/min, ${:.2}/h\n",
            group_thousands((r.tokens_per_minute.round() as u64).into()),
            r.cost_per_hour
        )),
        None => out.push_str("Burn   (one request so far)\n"),
    }
    if let Some(p) = b.projection(rep.now_ms) {
        let mut line = format!(
            "Ends   {} tokens, ${:.2}",
            group_thousands(p.total_tokens.into()),
            p.total_cost
        );
        if let Some(l) = rep.limit_status(b) {
            line.push_str(&format!(" ({:.0}% of limit: {})", l.percent_used, l.status));
        }
        out.push_str(&line);
        out.push('\n');
    }
    let mut models = String::from("Models ");
    for (i, m) in b.models.iter().enumerate() {
        let name = short_model(m);
        let sep = if i == 0 { "" } else { ", " };
        if models.len() + sep.len() + name.len() + 4 > width {
            models.push_str(", ...");
            break;
        }
        models.push_str(sep);
        models.push_str(&name);
    }
    out.push_str(&models);
    out.push('\n');
    out
}

/// `1234567` → `1.2M`, `45000` → `45k`.
fn compact_count(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1}M", n as f64 / 1e6)
    } else if n >= 1_000 {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}
