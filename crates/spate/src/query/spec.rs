//! A query described by plain values — what a front end collects from its flags or
//! arguments — and turned into a [`Query`] in one place, so that the command line and the
//! Python package build the same query from the same description.

use super::{AggregateKind, OnError, Query};
use crate::Error;

/// The parts of a query, as text. [`QuerySpec::build`] compiles them in a fixed order:
/// the path, the `with` fields, the filter, the group keys, the count, then the aggregates
/// in the order sum, min, max, mean (the order of the columns of a group row).
#[derive(Debug, Clone, Default)]
pub struct QuerySpec {
    /// The items' path (ijson prefix or JSONPath).
    pub path: String,
    /// Fields of enclosing values attached to each item: (member name, path).
    pub with: Vec<(String, String)>,
    /// A jq program run on each item.
    pub filter: Option<String>,
    /// Group keys (jq expressions).
    pub group_by: Vec<String>,
    /// Count the results: a count column when aggregating, else only the number.
    pub count: bool,
    /// Exact sums (jq expressions).
    pub sum: Vec<String>,
    /// Smallest values (jq expressions).
    pub min: Vec<String>,
    /// Largest values (jq expressions).
    pub max: Vec<String>,
    /// Means (jq expressions).
    pub mean: Vec<String>,
    /// String results without quotes.
    pub raw_output: bool,
    /// What a failing item does to the run.
    pub on_error: OnError,
    /// Bound of the items held while waiting for a `with` field, in bytes; `None`: the
    /// default.
    pub max_held: Option<usize>,
    /// Most groups held; `None`: the default.
    pub max_groups: Option<usize>,
}

/// Which part of a [`QuerySpec`] could not be compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecPart {
    /// The path.
    Path,
    /// A `with` field.
    With,
    /// The filter.
    Filter,
    /// A group key.
    GroupBy,
    /// An aggregate's expression.
    Aggregate,
}

/// A part of a [`QuerySpec`] that does not compile: the error says why, `part` says which
/// part (a front end names its flag from it).
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct SpecError {
    /// The part that failed.
    pub part: SpecPart,
    /// Why.
    #[source]
    pub error: Error,
}

impl QuerySpec {
    /// True when there are group keys or aggregates other than the count.
    pub fn aggregating(&self) -> bool {
        !(self.group_by.is_empty()
            && self.sum.is_empty()
            && self.min.is_empty()
            && self.max.is_empty()
            && self.mean.is_empty())
    }

    /// A count and nothing else to aggregate: the result is only the number of results.
    pub fn count_only(&self) -> bool {
        self.count && !self.aggregating()
    }

    /// The query; a part that does not compile is an error naming the part.
    pub fn build(&self) -> Result<Query, SpecError> {
        let at = |part| move |error| SpecError { part, error };
        let mut q = Query::new(&self.path)
            .map_err(at(SpecPart::Path))?
            .raw_output(self.raw_output)
            .on_error(self.on_error)
            .count_only(self.count_only());
        if let Some(bytes) = self.max_held {
            q = q.max_held(bytes);
        }
        if let Some(groups) = self.max_groups {
            q = q.max_groups(groups);
        }
        for (name, path) in &self.with {
            q = q.with(name, path).map_err(at(SpecPart::With))?;
        }
        if let Some(program) = &self.filter {
            q = q.jq(program).map_err(at(SpecPart::Filter))?;
        }
        for key in &self.group_by {
            q = q.group_by(key).map_err(at(SpecPart::GroupBy))?;
        }
        if self.count && self.aggregating() {
            q = q.count();
        }
        let aggregates = [
            (AggregateKind::Sum, &self.sum),
            (AggregateKind::Min, &self.min),
            (AggregateKind::Max, &self.max),
            (AggregateKind::Mean, &self.mean),
        ];
        for (kind, exprs) in aggregates {
            for e in exprs {
                q = q.aggregate_of(kind, e).map_err(at(SpecPart::Aggregate))?;
            }
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_same_query_as_the_builder() {
        let spec = QuerySpec {
            path: "a.item".into(),
            group_by: vec![".k".into()],
            count: true,
            sum: vec![".n".into()],
            mean: vec![".n".into()],
            ..QuerySpec::default()
        };
        let q = spec.build().unwrap();
        let by_hand = Query::new("a.item")
            .unwrap()
            .group_by(".k")
            .unwrap()
            .count()
            .sum(".n")
            .unwrap()
            .mean(".n")
            .unwrap();
        assert_eq!(q.column_names(), by_hand.column_names());
        let doc = br#"{"a":[{"k":"x","n":1},{"k":"y","n":2},{"k":"x","n":3}]}"#;
        assert_eq!(
            q.results(&doc[..]).unwrap(),
            by_hand.results(&doc[..]).unwrap()
        );
    }

    #[test]
    fn count_alone_is_count_only() {
        let spec = QuerySpec {
            path: ".".into(),
            count: true,
            ..QuerySpec::default()
        };
        assert!(spec.count_only());
        assert!(!spec.aggregating());
    }

    #[test]
    fn errors_name_the_part() {
        let bad = |spec: QuerySpec| spec.build().unwrap_err().part;
        let base = QuerySpec {
            path: "a.item".into(),
            ..QuerySpec::default()
        };
        assert_eq!(
            bad(QuerySpec {
                path: "$[".into(),
                ..QuerySpec::default()
            }),
            SpecPart::Path
        );
        assert_eq!(
            bad(QuerySpec {
                filter: Some("select(".into()),
                ..base.clone()
            }),
            SpecPart::Filter
        );
        assert_eq!(
            bad(QuerySpec {
                with: vec![("s".into(), "a.item".into())],
                ..base.clone()
            }),
            SpecPart::With
        );
        assert_eq!(
            bad(QuerySpec {
                sum: vec![".[".into()],
                ..base.clone()
            }),
            SpecPart::Aggregate
        );
        // the library names no flag: the front end says which one
        let e = QuerySpec {
            with: vec![("s".into(), "$..id".into())],
            ..base
        }
        .build()
        .unwrap_err();
        assert_eq!(e.part, SpecPart::With);
        assert!(e.to_string().starts_with("s="), "{e}");
        assert!(!e.to_string().contains("--"), "{e}");
    }
}
