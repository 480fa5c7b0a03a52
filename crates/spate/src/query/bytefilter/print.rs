//! Writing a value as jaq prints it (`Val`'s `Display`): compact, object keys in the order
//! jaq keeps them (first place of a key, last value), machine integers in their shortest
//! form, other numbers as written, strings escaped as jaq escapes them.

use std::collections::HashMap;

use super::eval::{value, V};
use super::walk::{elements, members, string as string_span, Member, Sure};

/// Writes `v`; with `raw`, a string is written as its bytes, without quotes (`jq -r`).
pub(crate) fn print(v: &V<'_>, raw: bool, out: &mut Vec<u8>) -> Sure<()> {
    match v {
        V::Null => out.extend_from_slice(b"null"),
        V::Bool(true) => out.extend_from_slice(b"true"),
        V::Bool(false) => out.extend_from_slice(b"false"),
        V::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        V::Num(text) => out.extend_from_slice(text),
        V::Str(s) if raw => out.extend_from_slice(s),
        V::Str(s) => string(s, out),
        V::Arr(t, d) | V::Obj(t, d) => text(t, *d, out)?,
        V::Joined(m) => object(m, 0, out)?,
        V::Made(fields) => {
            out.push(b'{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(k, out);
                out.push(b':');
                print(v, false, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Writes the value of the JSON text `t` as jaq prints it.
fn text(t: &[u8], depth: usize, out: &mut Vec<u8>) -> Sure<()> {
    match t.first() {
        Some(b'"') => {
            let (_, escaped) = string_span(t, 0)?;
            if !escaped && !t.contains(&0x7f) {
                // nothing to unescape, nothing jaq escapes: as written
                out.extend_from_slice(t);
                return Ok(());
            }
            print(&value(t, depth)?, false, out)
        }
        Some(b'[') => {
            out.push(b'[');
            for (i, e) in elements(t, depth)?.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                text(e, depth + 1, out)?;
            }
            out.push(b']');
            Ok(())
        }
        Some(b'{') => object(&members(t, depth)?, depth, out),
        _ => print(&value(t, depth)?, false, out),
    }
}

/// The object of members `m` (`depth` levels inside the item) as jaq prints it: a repeated
/// key where it first came, with the last value.
fn object(m: &[Member<'_>], depth: usize, out: &mut Vec<u8>) -> Sure<()> {
    let mut order: Vec<usize> = Vec::with_capacity(m.len());
    let mut last: HashMap<&[u8], usize> = HashMap::with_capacity(m.len());
    for (i, member) in m.iter().enumerate() {
        match last.insert(&member.key[..], i) {
            Some(_) => {}
            None => order.push(i),
        }
    }
    out.push(b'{');
    for (n, &first) in order.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        let key = &m[first].key[..];
        string(key, out);
        out.push(b':');
        text(m[last[key]].value, depth + 1, out)?;
    }
    out.push(b'}');
    Ok(())
}

/// A string as jaq writes it: `\b \f \t \n \r \\ \"` and `\u00XX` for other control
/// characters and DEL; everything else as is.
fn string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let mut start = 0;
    for (i, &c) in s.iter().enumerate() {
        let escape: &[u8] = match c {
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\\' => b"\\\\",
            b'"' => b"\\\"",
            0x00..=0x1f | 0x7f => b"",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(format!("\\u{c:04x}").as_bytes());
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}
