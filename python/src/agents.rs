//! `agents`: the usage reports of Claude Code transcripts, as the CLI's `--json` prints them.

use std::path::PathBuf;

use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use spate_agents::jiff::civil::{Date, Weekday};
use spate_agents::load::{load_usage, UsageRequest};
use spate_agents::report::Period;
use spate_agents::usage::{CostMode, Query};
use spate_agents::{delegations, report, report_json, request};

fn date(name: &str, value: Option<&str>) -> PyResult<Option<Date>> {
    value
        .map(|s| {
            spate_agents::time::parse_date(s).ok_or_else(|| {
                PyValueError::new_err(format!("{name} {s:?}: expected a date as YYYY-MM-DD"))
            })
        })
        .transpose()
}

fn agents_error(e: spate_agents::Error) -> PyErr {
    match e {
        spate_agents::Error::NoTranscripts { .. } => {
            PyFileNotFoundError::new_err(format!("{e}; pass path=... or set CLAUDE_CONFIG_DIR"))
        }
        e => PyOSError::new_err(e.to_string()),
    }
}

/// One report (`daily`, `weekly`, `monthly`, `session`, `model`, `project`,
/// `delegations`) as the JSON text of `spate agents REPORT --json`, and the warnings.
#[pyfunction]
#[pyo3(signature = (report, *, path=Vec::new(), since=None, until=None, tz=None, mode="auto",
                    cache=true, cache_dir=None, pricing=None, start_of_week="sunday",
                    descending=false, marathon=20))]
#[allow(clippy::too_many_arguments)]
pub fn agents_report(
    py: Python<'_>,
    report: &str,
    path: Vec<PathBuf>,
    since: Option<&str>,
    until: Option<&str>,
    tz: Option<&str>,
    mode: &str,
    cache: bool,
    cache_dir: Option<PathBuf>,
    pricing: Option<PathBuf>,
    start_of_week: &str,
    descending: bool,
    marathon: u64,
) -> PyResult<(String, Vec<String>)> {
    let period = match report {
        "daily" => Some(Period::Daily),
        "weekly" => Some(Period::Weekly),
        "monthly" => Some(Period::Monthly),
        "session" => Some(Period::Session),
        "model" => Some(Period::Model),
        "project" => Some(Period::Project),
        "delegations" => None,
        other => return Err(PyValueError::new_err(format!("unknown report {other:?}"))),
    };
    let tz = request::time_zone(tz).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let mode = match mode {
        "auto" => CostMode::Auto,
        "calculate" => CostMode::Calculate,
        "display" => CostMode::Display,
        other => {
            return Err(PyValueError::new_err(format!(
                "mode {other:?}: expected auto, calculate or display"
            )))
        }
    };
    let week_start = match start_of_week {
        "sunday" => Weekday::Sunday,
        "monday" => Weekday::Monday,
        other => {
            return Err(PyValueError::new_err(format!(
                "start_of_week {other:?}: expected sunday or monday"
            )))
        }
    };
    let (since, until) = (date("since", since)?, date("until", until)?);
    let prices = request::price_table(pricing.as_deref())
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let request = UsageRequest::from_env(path, cache, cache_dir);
    let query = Query {
        tz,
        since,
        until,
        mode,
        prices,
        week_start,
        per_request: false,
    };
    let (text, warnings) = py.detach(|| -> PyResult<(String, Vec<String>)> {
        let loaded = load_usage(&request, query).map_err(agents_error)?;
        let usage = &loaded.usage;
        let mut warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        for (model, (requests, tokens)) in &usage.summary.unpriced {
            warnings.push(format!(
                "no price for model {model:?} ({requests} requests, {tokens} tokens): not counted in the cost"
            ));
        }
        if spate_agents::anything_skipped(&usage.summary) {
            warnings.push(spate_agents::summary_line(&usage.summary));
        }
        let text = match period {
            Some(period) => report_json::to_pretty(&report::build(usage, period, descending)),
            None => report_json::to_pretty(&delegations::build(usage, marathon)),
        };
        let text = text.map_err(|e| PyValueError::new_err(format!("spate internal error: {e}")))?;
        Ok((text, warnings))
    })?;
    Ok((text, warnings))
}
