//! A small pretty JSON writer, so that costs can be written as exact decimals.

use std::fmt::Write;

/// A JSON value to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// An object, keys in the given order.
    Obj(Vec<(&'static str, Json)>),
    /// An array.
    Arr(Vec<Json>),
    /// A string.
    Str(String),
    /// An integer.
    Int(u128),
    /// A number written as given (must be valid JSON number text).
    Num(String),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Null.
    Null,
}

impl Json {
    /// Pretty text with two-space indentation and a final newline.
    pub fn to_pretty(&self) -> String {
        // sized up front: growing a string of a megabyte copies it again and again
        let mut out = String::with_capacity(self.nodes() * 48);
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    /// Number of values in the tree.
    fn nodes(&self) -> usize {
        1 + match self {
            Json::Obj(fields) => fields.iter().map(|(_, v)| v.nodes()).sum(),
            Json::Arr(items) => items.iter().map(Json::nodes).sum(),
            _ => 0,
        }
    }

    fn write(&self, out: &mut String, depth: usize) {
        let pad = |out: &mut String, d: usize| {
            for _ in 0..d {
                out.push_str("  ");
            }
        };
        match self {
            Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Obj(fields) => {
                out.push_str("{\n");
                for (i, (k, v)) in fields.iter().enumerate() {
                    pad(out, depth + 1);
                    write_str(out, k);
                    out.push_str(": ");
                    v.write(out, depth + 1);
                    if i + 1 < fields.len() {
                        out.push(',');
                    }
                    out.push('\n');
                }
                pad(out, depth);
                out.push('}');
            }
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Arr(items) => {
                out.push_str("[\n");
                for (i, v) in items.iter().enumerate() {
                    pad(out, depth + 1);
                    v.write(out, depth + 1);
                    if i + 1 < items.len() {
                        out.push(',');
                    }
                    out.push('\n');
                }
                pad(out, depth);
                out.push(']');
            }
            Json::Str(s) => write_str(out, s),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Num(n) => out.push_str(n),
            Json::Float(f) if f.is_finite() => {
                let _ = write!(out, "{f}");
            }
            Json::Float(_) | Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }
}

/// Writes `s` as a JSON string, escaped as serde_json does: `"`, `\` and control
/// characters only (short escapes where JSON has them, else `\u00XX`).
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        plain = i + 1;
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_pretty_json() {
        let j = Json::Obj(vec![
            ("a", Json::Arr(vec![Json::Int(1), Json::Num("0.25".into())])),
            ("b", Json::Str("q\"\n".into())),
            ("c", Json::Obj(vec![])),
            ("d", Json::Arr(vec![])),
            ("e", Json::Float(f64::NAN)),
            ("f", Json::Bool(true)),
        ]);
        let text = j.to_pretty();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"a":[1,0.25],"b":"q\"\n","c":{},"d":[],"e":null,"f":true})
        );
        assert!(text.starts_with("{\n  \"a\": [\n    1,"));
    }

    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        let all: String = (0u32..0x80)
            .filter_map(char::from_u32)
            .chain("é€😀\u{2028}".chars())
            .collect();
        for s in [all.as_str(), "", "plain", "a\"b\\c\u{7f}"] {
            let mut out = String::new();
            write_str(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }
}
