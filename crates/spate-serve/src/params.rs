//! The query parameters of the report endpoints, checked one by one: a bad value is an
//! HTTP 400 whose JSON body names the parameter.
//!
//! | parameter | value | as the command line's |
//! |---|---|---|
//! | `since`, `until` | `YYYY-MM-DD` or `YYYYMMDD` | `--since`, `--until` |
//! | `tz` | an IANA time zone name | `--timezone` |
//! | `mode` | `auto`, `calculate`, `display` | `--mode` |
//! | `project` | a project folder name or its last part (repeatable) | `--project` |
//! | `order` | `asc`, `desc` (daily, weekly, monthly, session, blocks) | `--order` |
//! | `marathon` | a whole number (delegations) | `--marathon` |
//! | `recent`, `active` | `true`/`false` (blocks) | `--recent`, `--active` |
//! | `token_limit` | a number of tokens or `max` (blocks) | `--token-limit` |
//! | `session_length` | hours, above 0, at most 168 (blocks) | `--session-length` |
//!
//! A parameter the endpoint does not use is refused, as the command line refuses a flag a
//! report does not take. `token` is the access token (see [`crate::auth`]) and is not a
//! report parameter.

use serde::Serialize;
use spate_agents::blocks::TokenLimit;
use spate_agents::jiff::civil::Date;
use spate_agents::report::Period;
use spate_agents::usage::{CostMode, Query};

use crate::api::Endpoint;

/// How a report is shaped beyond its [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// Lines in descending time order.
    pub descending: bool,
    /// The marathon threshold of the delegations report.
    pub marathon: u64,
    /// Only these projects (empty: all), as `spate_agents::usage::retain_projects` matches
    /// them.
    pub projects: Vec<String>,
    /// The blocks report's options.
    pub blocks: BlockParams,
}

/// The parameters of `/api/blocks` beyond the query (see
/// [`spate_agents::blocks::BlockOptions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockParams {
    /// Only the blocks of the last days, and the active one.
    pub recent: bool,
    /// Only the active block.
    pub active: bool,
    /// The limit to measure the active block against.
    pub token_limit: Option<TokenLimit>,
    /// Block length in milliseconds.
    pub session_ms: i64,
    /// First local start date of a block to keep (the request's `since`: blocks are cut
    /// from all requests, then selected by date).
    pub since: Option<Date>,
    /// Last local start date of a block to keep.
    pub until: Option<Date>,
}

impl Default for BlockParams {
    fn default() -> Self {
        BlockParams {
            recent: false,
            active: false,
            token_limit: None,
            // the command line's default: 5 hours
            session_ms: 5 * 3_600_000,
            since: None,
            until: None,
        }
    }
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            descending: false,
            // the command line's default
            marathon: 20,
            projects: Vec::new(),
            blocks: BlockParams::default(),
        }
    }
}

/// A parameter with a value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamError {
    /// The parameter's name.
    pub parameter: String,
    /// What is wrong.
    pub error: String,
}

impl ParamError {
    fn new(parameter: &str, error: impl Into<String>) -> Self {
        ParamError {
            parameter: parameter.to_owned(),
            error: error.into(),
        }
    }
}

/// A request's report parameters.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The query to analyse the corpus with; `None`: the daemon's default query (the
    /// snapshot answers).
    pub query: Option<Query>,
    /// The report's shape.
    pub shape: Shape,
}

/// Whether `endpoint` takes the parameter `name` (the command line's flags of that report).
fn takes(endpoint: Endpoint, name: &str) -> bool {
    match name {
        "since" | "until" | "tz" | "mode" | "project" => true,
        "order" => matches!(
            endpoint,
            Endpoint::Blocks
                | Endpoint::Report(
                    Period::Daily | Period::Weekly | Period::Monthly | Period::Session
                )
        ),
        "marathon" => endpoint == Endpoint::Delegations,
        "recent" | "active" | "token_limit" | "session_length" => endpoint == Endpoint::Blocks,
        _ => false,
    }
}

fn flag(name: &str, value: &str) -> Result<bool, ParamError> {
    match value {
        "" | "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ParamError::new(
            name,
            format!("{value:?}: expected true or false"),
        )),
    }
}

/// Checks the parameters of a request to `endpoint` against the daemon's default query.
pub fn parse(
    endpoint: Endpoint,
    pairs: &[(String, String)],
    default: &Query,
) -> Result<Parsed, ParamError> {
    let mut query = default.clone();
    let mut shape = Shape::default();
    let mut any = false;
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in pairs {
        let name = name.as_str();
        if name == "token" {
            continue;
        }
        if name != "project" {
            if seen.contains(&name) {
                return Err(ParamError::new(name, "given more than once"));
            }
            seen.push(name);
        }
        any = true;
        if !takes(endpoint, name) {
            let why = if takes(Endpoint::Blocks, name) || takes(Endpoint::Delegations, name) {
                format!("not a parameter of {}", endpoint.path())
            } else {
                String::from("unknown parameter")
            };
            return Err(ParamError::new(name, why));
        }
        match name {
            "since" | "until" => {
                let date = spate_agents::time::parse_date(value).ok_or_else(|| {
                    ParamError::new(name, format!("{value:?} is not a date (YYYY-MM-DD)"))
                })?;
                if name == "since" {
                    query.since = Some(date);
                } else {
                    query.until = Some(date);
                }
            }
            "tz" => {
                query.tz = spate_agents::request::time_zone(Some(value))
                    .map_err(|e| ParamError::new(name, e.to_string()))?;
            }
            "mode" => {
                query.mode = match value.as_str() {
                    "auto" => CostMode::Auto,
                    "calculate" => CostMode::Calculate,
                    "display" => CostMode::Display,
                    _ => {
                        return Err(ParamError::new(
                            name,
                            format!("{value:?}: expected auto, calculate or display"),
                        ))
                    }
                };
            }
            "order" => {
                shape.descending = match value.as_str() {
                    "asc" => false,
                    "desc" => true,
                    _ => {
                        return Err(ParamError::new(
                            name,
                            format!("{value:?}: expected asc or desc"),
                        ))
                    }
                };
            }
            "marathon" => {
                shape.marathon = value.parse().map_err(|_| {
                    ParamError::new(name, format!("{value:?} is not a whole number"))
                })?;
            }
            "project" => {
                if value.is_empty() {
                    return Err(ParamError::new(name, "empty project name"));
                }
                shape.projects.push(value.clone());
            }
            "recent" => shape.blocks.recent = flag(name, value)?,
            "active" => shape.blocks.active = flag(name, value)?,
            "token_limit" => {
                shape.blocks.token_limit = Some(TokenLimit::parse(value).ok_or_else(|| {
                    ParamError::new(
                        name,
                        format!("{value:?}: expected a number of tokens or max"),
                    )
                })?);
            }
            "session_length" => {
                let hours: f64 = value.parse().unwrap_or(f64::NAN);
                if !(hours > 0.0 && hours <= 168.0) {
                    return Err(ParamError::new(
                        name,
                        format!("{value:?}: expected a number of hours above 0 (at most 168)"),
                    ));
                }
                shape.blocks.session_ms = (hours * 3_600_000.0).round() as i64;
            }
            _ => return Err(ParamError::new(name, "unknown parameter")),
        }
    }
    if let (Some(s), Some(u)) = (query.since, query.until) {
        if s > u {
            return Err(ParamError::new(
                "since",
                format!("{s} is after until ({u})"),
            ));
        }
    }
    Ok(Parsed {
        query: any.then_some(query),
        shape,
    })
}

/// The decoded `name=value` pairs of a URL query string; `None` when it is not
/// URL-encoded.
pub fn decode_query(query: &str) -> Option<Vec<(String, String)>> {
    let uri: axum::http::Uri = format!("/?{query}").parse().ok()?;
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .ok()
        .map(|q| q.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAILY: Endpoint = Endpoint::Report(Period::Daily);

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn no_parameters_is_the_default_query() {
        let p = parse(DAILY, &pairs(&[("token", "x")]), &Query::default()).unwrap();
        assert!(p.query.is_none());
        assert_eq!(p.shape, Shape::default());
    }

    #[test]
    fn each_bad_value_names_its_parameter() {
        for (endpoint, name, value) in [
            (DAILY, "since", "yesterday"),
            (DAILY, "until", "2025-13-01"),
            (DAILY, "tz", "Mars/Olympus"),
            (DAILY, "mode", "cheap"),
            (DAILY, "order", "up"),
            (Endpoint::Delegations, "marathon", "-1"),
            (DAILY, "project", ""),
            (DAILY, "colour", "red"),
            (Endpoint::Blocks, "recent", "yes please"),
            (Endpoint::Blocks, "active", "2"),
            (Endpoint::Blocks, "token_limit", "lots"),
            (Endpoint::Blocks, "token_limit", "-5"),
            (Endpoint::Blocks, "session_length", "0"),
            (Endpoint::Blocks, "session_length", "NaN"),
            (Endpoint::Blocks, "marathon", "3"),
            // a parameter of another report, as the command line refuses its flag
            (DAILY, "active", "true"),
            (DAILY, "marathon", "3"),
            (Endpoint::Report(Period::Model), "order", "desc"),
            (Endpoint::Delegations, "order", "desc"),
        ] {
            let e = parse(endpoint, &pairs(&[(name, value)]), &Query::default()).unwrap_err();
            assert_eq!(e.parameter, name, "{name}={value}: {e:?}");
        }
        let e = parse(
            DAILY,
            &pairs(&[("since", "2025-02-01"), ("until", "2025-01-01")]),
            &Query::default(),
        )
        .unwrap_err();
        assert_eq!(e.parameter, "since");
        let e = parse(
            DAILY,
            &pairs(&[("tz", "UTC"), ("tz", "UTC")]),
            &Query::default(),
        )
        .unwrap_err();
        assert_eq!(e.parameter, "tz");
    }

    #[test]
    fn good_values_set_the_query() {
        let p = parse(
            DAILY,
            &pairs(&[
                ("since", "20250101"),
                ("tz", "Europe/Paris"),
                ("mode", "calculate"),
                ("project", "a"),
                ("project", "b"),
            ]),
            &Query::default(),
        )
        .unwrap();
        let q = p.query.unwrap();
        assert_eq!(q.since.unwrap().to_string(), "2025-01-01");
        assert_eq!(q.mode, CostMode::Calculate);
        assert_eq!(p.shape.projects, ["a", "b"]);
    }

    #[test]
    fn block_parameters_set_the_block_options() {
        let p = parse(
            Endpoint::Blocks,
            &pairs(&[
                ("active", "true"),
                ("recent", ""),
                ("token_limit", "max"),
                ("session_length", "2.5"),
                ("order", "desc"),
            ]),
            &Query::default(),
        )
        .unwrap();
        let b = &p.shape.blocks;
        assert!(b.active && b.recent && p.shape.descending);
        assert_eq!(b.token_limit, Some(TokenLimit::Max));
        assert_eq!(b.session_ms, 9_000_000);
        let p = parse(
            Endpoint::Blocks,
            &pairs(&[("token_limit", "500000"), ("active", "false")]),
            &Query::default(),
        )
        .unwrap();
        assert_eq!(
            p.shape.blocks.token_limit,
            Some(TokenLimit::Tokens(500_000))
        );
        assert!(!p.shape.blocks.active);
    }
}
