//! The query parameters of the report endpoints, checked one by one: a bad value is an
//! HTTP 400 whose JSON body names the parameter.
//!
//! | parameter | value | as the command line's |
//! |---|---|---|
//! | `since`, `until` | `YYYY-MM-DD` or `YYYYMMDD` | `--since`, `--until` |
//! | `tz` | an IANA time zone name | `--timezone` |
//! | `mode` | `auto`, `calculate`, `display` | `--mode` |
//! | `order` | `asc`, `desc` | `--order` |
//! | `marathon` | a whole number (delegations) | `--marathon` |
//! | `project` | a project folder name (repeatable) | — |
//!
//! `token` is the access token (see [`crate::auth`]) and is not a report parameter.

use serde::Serialize;
use spate_agents::jiff::tz::TimeZone;
use spate_agents::usage::{CostMode, Query, Usage};

/// How a report is shaped beyond its [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// Lines in descending time order.
    pub descending: bool,
    /// The marathon threshold of the delegations report.
    pub marathon: u64,
    /// Only these projects (empty: all).
    pub projects: Vec<String>,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            descending: false,
            // the command line's default
            marathon: 20,
            projects: Vec::new(),
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

/// Checks the parameters of a request against the daemon's default query.
pub fn parse(pairs: &[(String, String)], default: &Query) -> Result<Parsed, ParamError> {
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
                query.tz = TimeZone::get(value).map_err(|_| {
                    ParamError::new(
                        name,
                        format!(
                            "unknown time zone {value:?} (use an IANA name such as Europe/Paris)"
                        ),
                    )
                })?;
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

/// Keeps only the usage and delegations of `projects` (all when empty).
///
/// INTEGRATION POINT (issue 13): spate-agents is gaining a `--project` filter in its
/// query; when it lands, set it on the [`Query`] in [`parse`] and delete this function,
/// so that the daemon filters exactly as the command line does.
pub fn keep_projects(usage: &mut Usage, projects: &[String]) {
    if projects.is_empty() {
        return;
    }
    let Usage {
        names,
        rows,
        delegations,
        ..
    } = usage;
    let wanted = |id: u32| projects.iter().any(|p| p == names.get(id));
    rows.retain(|r| wanted(r.project));
    delegations.retain(|d| wanted(d.project));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn no_parameters_is_the_default_query() {
        let p = parse(&pairs(&[("token", "x")]), &Query::default()).unwrap();
        assert!(p.query.is_none());
        assert_eq!(p.shape, Shape::default());
    }

    #[test]
    fn each_bad_value_names_its_parameter() {
        for (name, value) in [
            ("since", "yesterday"),
            ("until", "2025-13-01"),
            ("tz", "Mars/Olympus"),
            ("mode", "cheap"),
            ("order", "up"),
            ("marathon", "-1"),
            ("project", ""),
            ("colour", "red"),
        ] {
            let e = parse(&pairs(&[(name, value)]), &Query::default()).unwrap_err();
            assert_eq!(e.parameter, name, "{name}={value}: {e:?}");
        }
        let e = parse(
            &pairs(&[("since", "2025-02-01"), ("until", "2025-01-01")]),
            &Query::default(),
        )
        .unwrap_err();
        assert_eq!(e.parameter, "since");
        let e = parse(&pairs(&[("tz", "UTC"), ("tz", "UTC")]), &Query::default()).unwrap_err();
        assert_eq!(e.parameter, "tz");
    }

    #[test]
    fn good_values_set_the_query() {
        let p = parse(
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
}
