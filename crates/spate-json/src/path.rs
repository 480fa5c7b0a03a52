//! The path language: ijson prefixes and a JSONPath subset, compiled to the same steps.
//!
//! - ijson prefixes: `""` is the top-level value; otherwise dot-separated member names, where
//!   `item` stands for the elements of an array (`sessions.item`, `item`, `a.item.b.item`).
//!   As in ijson, `item` also matches an object member literally named `item`, and a member
//!   name containing a dot cannot be written (use JSONPath for that).
//! - JSONPath (RFC 9535 subset), starting with `$`: `.name`, `['name']` or `["name"]` (with
//!   `\'`, `\"` and `\\` escapes), `[N]` (an array index from 0), `[*]` and `.*` (every child
//!   of an array or object). Recursive descent (`..`), filters, slices and negative indices
//!   need more than one pass or unbounded memory and are rejected with a clear error.

use std::fmt;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    text: String,
    steps: Vec<Step>,
}

/// A path that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// The path as given.
    pub path: String,
    /// Character position (from 0) where the problem is.
    pub at: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid path {:?} at character {}: {}",
            self.path, self.at, self.message
        )
    }
}

impl std::error::Error for PathError {}

impl Path {
    /// Parses a path in either syntax (JSONPath when it starts with `$`).
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let steps = if text.starts_with('$') {
            parse_jsonpath(text)?
        } else {
            parse_prefix(text)
        };
        Ok(Path {
            text: text.to_owned(),
            steps,
        })
    }

    /// The path as it was given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The compiled steps.
    pub fn steps(&self) -> &[Step] {
        &self.steps
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

fn parse_jsonpath(text: &str) -> Result<Vec<Step>, PathError> {
    let chars: Vec<char> = text.chars().collect();
    let err = |at: usize, message: &str| PathError {
        path: text.to_owned(),
        at,
        message: message.to_owned(),
    };
    let mut steps = Vec::new();
    let mut i = 1; // after '$'
    while i < chars.len() {
        match chars[i] {
            '.' => {
                if chars.get(i + 1) == Some(&'.') {
                    return Err(err(i, "recursive descent '..' is not supported"));
                }
                i += 1;
                if chars.get(i) == Some(&'*') {
                    steps.push(Step::Any);
                    i += 1;
                    continue;
                }
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                if start == i {
                    return Err(err(start, "expected a member name after '.'"));
                }
                let name: String = chars[start..i].iter().collect();
                steps.push(Step::Key(name.into_bytes()));
            }
            '[' => {
                i += 1;
                match chars.get(i) {
                    Some('*') => {
                        i += 1;
                        steps.push(Step::Any);
                    }
                    Some(&q @ ('\'' | '"')) => {
                        i += 1;
                        let mut name = String::new();
                        loop {
                            match chars.get(i) {
                                None => return Err(err(i, "unterminated quoted member name")),
                                Some('\\') => {
                                    match chars.get(i + 1) {
                                        Some(&c @ ('\\' | '\'' | '"')) => name.push(c),
                                        _ => {
                                            return Err(err(
                                                i,
                                                "only \\\\, \\' and \\\" escapes are supported",
                                            ))
                                        }
                                    }
                                    i += 2;
                                }
                                Some(&c) if c == q => {
                                    i += 1;
                                    break;
                                }
                                Some(&c) => {
                                    name.push(c);
                                    i += 1;
                                }
                            }
                        }
                        steps.push(Step::Key(name.into_bytes()));
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let start = i;
                        while i < chars.len() && chars[i].is_ascii_digit() {
                            i += 1;
                        }
                        let digits: String = chars[start..i].iter().collect();
                        let index = digits
                            .parse::<u64>()
                            .map_err(|_| err(start, "array index is too large"))?;
                        steps.push(Step::Index(index));
                    }
                    Some('-') => {
                        return Err(err(
                            i,
                            "negative indices need the whole array; they are not supported",
                        ))
                    }
                    Some('?') => return Err(err(i, "filter expressions are not supported")),
                    _ => {
                        return Err(err(
                            i,
                            "expected '*', an index or a quoted member name after '['",
                        ))
                    }
                }
                if chars.get(i) != Some(&']') {
                    return Err(err(i, "expected ']'"));
                }
                i += 1;
            }
            _ => return Err(err(i, "expected '.' or '['")),
        }
    }
    Ok(steps)
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
        for bad in ["$..a", "$.a[-1]", "$.a[?(@.x)]", "$.a[", "$a", "$.", "$['x"] {
            let e = Path::parse(bad).unwrap_err();
            assert!(!e.message.is_empty(), "{bad}");
        }
        assert_eq!(Path::parse("$..a").unwrap_err().at, 1);
    }
}
