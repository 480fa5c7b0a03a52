//! A small pretty JSON writer, so that costs can be written as exact decimals.

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
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
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
            Json::Int(n) => out.push_str(&n.to_string()),
            Json::Num(n) => out.push_str(n),
            Json::Float(f) if f.is_finite() => out.push_str(&f.to_string()),
            Json::Float(_) | Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    // serde_json's escaping is the reference; a str always serializes
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\"")));
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
}
