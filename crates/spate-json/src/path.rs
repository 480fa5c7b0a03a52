//! The path language: ijson prefixes and RFC 9535 JSONPath.
//!
//! - ijson prefixes: `""` is the top-level value; otherwise member names joined by dots,
//!   where `item` stands for the elements of an array (`sessions.item`, `item`,
//!   `a.item.b.item`). As in ijson, a value matches when the dot-joined text of its path
//!   equals the prefix: `item` also matches an object member literally named `item`, and
//!   `a.b` matches both `{"a": {"b": ..}}` and `{"a.b": ..}`.
//! - JSONPath, starting with `$`: the whole of RFC 9535 (see [`crate::jsonpath`]), parsed
//!   strictly. Paths made only of names, wildcards and non-negative indexes compile to
//!   [`Step`]s and stream with no holding; the other constructs are described in
//!   `docs/jsonpath.md` with what each one holds.

use std::fmt;

use crate::jsonpath::{self, Choice, Query};

/// One step from a value to some of its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The object member with this name (UTF-8, escapes decoded).
    Key(Vec<u8>),
    /// The array element at this index (from 0).
    Index(u64),
    /// Every child: array elements and object member values (`[*]`, `.*`).
    Any,
    /// ijson's `item`: array elements, and an object member named `item`.
    Item,
}

/// A compiled path: the steps from the top-level value to the selected values.
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    steps: Vec<Step>,
    /// The RFC 9535 query, for JSONPath.
    query: Option<Query>,
    /// True when `steps` is the whole path.
    simple: bool,
}

impl PartialEq for Path {
    fn eq(&self, other: &Path) -> bool {
        // The text determines the rest.
        self.text == other.text
    }
}

impl Eq for Path {}

/// A path that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// The path as given.
    pub path: String,
    /// Character position, counted from 1, where the problem is (0: the path as a whole).
    pub at: usize,
    /// What is wrong, and what is expected there.
    pub message: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at == 0 {
            write!(f, "invalid path {:?}: {}", self.path, self.message)
        } else {
            write!(
                f,
                "invalid path {:?} at character {}: {}",
                self.path, self.at, self.message
            )
        }
    }
}

impl std::error::Error for PathError {}

impl Path {
    /// Parses a path in either syntax (JSONPath when it starts with `$`).
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r']);
        if trimmed.starts_with('$') && trimmed.len() != text.len() {
            return Err(PathError {
                path: text.to_owned(),
                at: 1,
                message: "a JSONPath query starts with '$', with no blank space before it"
                    .to_owned(),
            });
        }
        if !text.starts_with('$') {
            return Ok(Path {
                text: text.to_owned(),
                steps: parse_prefix(text),
                query: None,
                simple: true,
            });
        }
        let query = jsonpath::parse(text)?;
        let mut steps = Vec::new();
        for segment in &query.segments {
            let step = match (segment.descendant, &segment.selectors[..]) {
                (false, [Choice::Name(name)]) => Step::Key(name.as_bytes().to_vec()),
                (false, [Choice::Wildcard]) => Step::Any,
                (false, [Choice::Index(i)]) if *i >= 0 => Step::Index(*i as u64),
                _ => break,
            };
            steps.push(step);
        }
        let simple = steps.len() == query.segments.len();
        Ok(Path {
            text: text.to_owned(),
            steps,
            query: Some(query),
            simple,
        })
    }

    /// The path as it was given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The compiled steps. For a JSONPath that uses more than names, wildcards and
    /// non-negative indexes ([`Path::is_simple`] is false) these are only the steps before
    /// the first other segment; [`Path::query`] has the whole query.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// True when [`Path::steps`] is the whole path (every ijson prefix, and JSONPaths made
    /// of names, wildcards and non-negative indexes).
    pub fn is_simple(&self) -> bool {
        self.simple
    }

    /// True for an ijson prefix (matched by the dot-joined text of a value's path).
    pub fn is_ijson(&self) -> bool {
        self.query.is_none()
    }

    /// The RFC 9535 query of a JSONPath.
    pub fn query(&self) -> Option<&Query> {
        self.query.as_ref()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_prefix(text: &str) -> Vec<Step> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split('.')
        .map(|part| {
            if part == "item" {
                Step::Item
            } else {
                Step::Key(part.as_bytes().to_vec())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Step {
        Step::Key(s.as_bytes().to_vec())
    }

    #[test]
    fn ijson_prefixes() {
        assert_eq!(Path::parse("").unwrap().steps(), &[]);
        assert_eq!(Path::parse("item").unwrap().steps(), &[Step::Item]);
        assert_eq!(
            Path::parse("sessions.item.delegations.item")
                .unwrap()
                .steps(),
            &[key("sessions"), Step::Item, key("delegations"), Step::Item]
        );
    }

    #[test]
    fn jsonpath_subset() {
        assert_eq!(Path::parse("$").unwrap().steps(), &[]);
        assert_eq!(
            Path::parse("$.sessions[*]").unwrap().steps(),
            &[key("sessions"), Step::Any]
        );
        assert_eq!(
            Path::parse("$['key.with.dots'][*]").unwrap().steps(),
            &[key("key.with.dots"), Step::Any]
        );
        assert_eq!(
            Path::parse("$.a[0]").unwrap().steps(),
            &[key("a"), Step::Index(0)]
        );
        assert_eq!(
            Path::parse("$.a[*].b").unwrap().steps(),
            &[key("a"), Step::Any, key("b")]
        );
        assert_eq!(
            Path::parse(r#"$["it's \"x\""].*"#).unwrap().steps(),
            &[key("it's \"x\""), Step::Any]
        );
    }

    #[test]
    fn jsonpath_errors_are_clear() {
        let cases = [
            ("$.a[", 5, "a selector"),
            ("$a", 2, "segment"),
            ("$.", 3, "member name"),
            ("$['x", 5, "closing '"),
            ("$[01]", 3, "leading zeros"),
            ("$.1", 3, "member name"),
            ("$.a-b", 4, "segment"),
            ("$. a", 3, "no blank space"),
            ("$[\"\\'\"]", 5, "an escape"),
            ("$[9007199254740992]", 3, "2^53"),
            ("$[\"\n\"]", 4, "must be escaped"),
            ("$[?@.a]x", 8, "end of the query"),
            ("$[?length(@.a)]", 4, "returns a value"),
            ("$[?@.* == 1]", 4, "singular query"),
            ("$[?foo(@)]", 4, "known function"),
        ];
        for (bad, at, says) in cases {
            let e = Path::parse(bad).unwrap_err();
            assert_eq!(e.at, at, "{bad}: {e}");
            assert!(e.message.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn rfc_escapes_and_blank_space() {
        let p = Path::parse("$ .a [ 'b\\u00e9\\n\\ud83d\\ude00' ] ['c']").unwrap();
        assert!(p.is_simple());
        assert_eq!(p.steps(), &[key("a"), key("bé\n😀"), key("c")]);
        let p = Path::parse("$..a[?@.b > 1]").unwrap();
        assert!(!p.is_simple());
        assert!(p.steps().is_empty());
        let p = Path::parse("$.a[-1]").unwrap();
        assert_eq!(p.steps(), &[key("a")]);
    }
}
