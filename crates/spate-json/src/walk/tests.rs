use super::*;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Rebuilds a `serde_json::Value` from the walker's events (iteratively, like the walker).
fn rebuild(bytes: &[u8]) -> Vec<Value> {
    enum Frame {
        Array(Vec<Value>),
        Object(Map<String, Value>, Option<String>),
    }
    let mut w = Walker::new(bytes);
    let mut stack: Vec<Frame> = Vec::new();
    let mut done = Vec::new();
    let mut buf = Vec::new();
    while let Some(ev) = w.next() {
        let value = match ev {
            Event::BeginObject => {
                stack.push(Frame::Object(Map::new(), None));
                continue;
            }
            Event::BeginArray => {
                stack.push(Frame::Array(Vec::new()));
                continue;
            }
            Event::Key(k) => {
                let Some(Frame::Object(_, key)) = stack.last_mut() else {
                    panic!("key outside an object")
                };
                *key = Some(String::from_utf8(k.decode(&mut buf).to_vec()).unwrap());
                continue;
            }
            Event::EndObject => match stack.pop() {
                Some(Frame::Object(m, None)) => Value::Object(m),
                _ => panic!("unbalanced object"),
            },
            Event::EndArray => match stack.pop() {
                Some(Frame::Array(a)) => Value::Array(a),
                _ => panic!("unbalanced array"),
            },
            Event::String(s) => {
                Value::String(String::from_utf8(s.decode(&mut buf).to_vec()).unwrap())
            }
            Event::Number(n) => serde_json::from_slice(n).unwrap(),
            Event::Bool(b) => Value::Bool(b),
            Event::Null => Value::Null,
        };
        match stack.last_mut() {
            None => done.push(value),
            Some(Frame::Array(a)) => a.push(value),
            Some(Frame::Object(m, key)) => {
                m.insert(key.take().expect("a value without a key"), value);
            }
        }
    }
    assert!(stack.is_empty());
    assert_eq!(w.depth(), 0);
    done
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[\"\\\\/\n\t\u{1}\u{7f}é😀 {}\\[\\],:]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z\"\\\\é ]{0,6}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Writes each character of `s` in one of the forms JSON allows, chosen by `forms`.
fn escape_every_way(s: &str, forms: &[u8]) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        let form = forms.get(i % forms.len().max(1)).copied().unwrap_or(0) % 3;
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '/' => Some("\\/"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            _ => None,
        };
        let must_escape = c == '"' || c == '\\' || (c as u32) < 0x20;
        match (form, short) {
            (0, _) if !must_escape => out.push(c),
            (1, Some(e)) => out.push_str(e),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    // Upper or lower case hex digits.
                    if i % 2 == 0 {
                        out.push_str(&format!("\\u{u:04x}"));
                    } else {
                        out.push_str(&format!("\\u{u:04X}"));
                    }
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The events rebuild exactly what serde_json reads, compact or pretty-printed.
    #[test]
    fn events_agree_with_serde_json(v in json_value()) {
        for text in [serde_json::to_string(&v).unwrap(), serde_json::to_string_pretty(&v).unwrap()] {
            let expected: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(rebuild(text.as_bytes()), vec![expected]);
        }
    }

    /// Skipping an element hands back exactly its bytes; compacting them gives serde_json's
    /// compact form.
    #[test]
    fn skip_returns_each_subtree(items in proptest::collection::vec(json_value(), 0..6)) {
        let pretty = serde_json::to_string_pretty(&Value::Array(items.clone())).unwrap();
        let mut w = Walker::new(pretty.as_bytes());
        prop_assert_eq!(w.next(), Some(Event::BeginArray));
        for item in &items {
            let raw = w.skip_value().unwrap();
            let mut out = Vec::new();
            compact_into(raw, &mut out);
            let reparsed: Value = serde_json::from_slice(raw).unwrap();
            prop_assert_eq!(&reparsed, &serde_json::from_str::<Value>(&serde_json::to_string(item).unwrap()).unwrap());
            // Pretty and compact printing write the same number text.
            prop_assert_eq!(out, serde_json::to_vec(item).unwrap());
        }
        prop_assert_eq!(w.skip_value(), None);
        prop_assert_eq!(w.next(), Some(Event::EndArray));
        prop_assert_eq!(w.next(), None);
    }

    /// Any character in any escape form decodes to itself, as serde_json decodes it.
    #[test]
    fn unescape_agrees_with_serde_json(s in any::<String>(), forms in proptest::collection::vec(any::<u8>(), 1..8)) {
        let body = escape_every_way(&s, &forms);
        let quoted = format!("\"{body}\"");
        let via_serde: String = serde_json::from_str(&quoted).unwrap();
        prop_assert_eq!(&via_serde, &s);
        let mut w = Walker::new(quoted.as_bytes());
        let Some(Event::String(js)) = w.next() else { panic!("not a string") };
        let mut buf = Vec::new();
        prop_assert_eq!(js.decode(&mut buf), s.as_bytes());
    }

    /// Garbage: no panic, no endless loop, and every event makes progress.
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(proptest::sample::select(&b"{}[]\":,\\ 1-.eEtrufnal\n"[..]), 0..300)) {
        let mut w = Walker::new(&bytes);
        let mut n = 0;
        while w.next().is_some() {
            n += 1;
            prop_assert!(n <= bytes.len() + 1);
        }
        let mut w = Walker::new(&bytes);
        while w.skip_value().is_some() || w.next().is_some() {}
    }
}

#[test]
fn every_escape_form() {
    let raw = br#"q\" bs\\ sl\/ b\b f\f n\n r\r t\t e\u00e9 E\u00C9 pair\ud83d\ude00 PAIR\uD83D\uDE00 nul\u0000"#;
    let mut out = Vec::new();
    unescape_into(raw, &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "q\" bs\\ sl/ b\u{8} f\u{c} n\n r\r t\t e\u{e9} E\u{c9} pair😀 PAIR😀 nul\u{0}"
    );
    // Lone surrogates (valid JSON, not representable in UTF-8) become U+FFFD.
    for (raw, want) in [
        (&br"\ud800"[..], "\u{fffd}"),
        (br"\udc00x", "\u{fffd}x"),
        (br"\ud800\u0041", "\u{fffd}A"),
        (br"\ud800\ud800\udc00", "\u{fffd}\u{10000}"),
    ] {
        let mut out = Vec::new();
        unescape_into(raw, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), want, "{raw:?}");
    }
}

#[test]
fn sequences_of_values_and_members() {
    let text = b"{\"a\":{},\"b\":[[],{\"c\":null}]}\n 1 \"x\" [] false";
    let values = rebuild(text);
    assert_eq!(values.len(), 5);
    assert_eq!(values[0]["b"][1]["c"], Value::Null);
    let mut w = Walker::new(b"{\"a\": 1, \"b\": 2}");
    assert_eq!(w.next(), Some(Event::BeginObject));
    // Before a member name there is no value to skip.
    assert_eq!(w.skip_value(), None);
    assert!(matches!(w.next(), Some(Event::Key(_))));
    assert_eq!(w.skip_value(), Some(&b"1"[..]));
    assert!(matches!(w.next(), Some(Event::Key(k)) if k.raw() == b"b"));
    assert_eq!(w.next(), Some(Event::Number(b"2")));
    assert_eq!(w.skip_value(), None);
    assert_eq!(w.next(), Some(Event::EndObject));
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let n = 1_000_000;
    let mut text = "[{\"k\":".repeat(n).into_bytes();
    text.extend_from_slice(b"1");
    text.extend_from_slice(&"}]".repeat(n).into_bytes());
    let mut w = Walker::new(&text);
    let mut max = 0;
    let mut events = 0;
    while w.next().is_some() {
        max = max.max(w.depth());
        events += 1;
    }
    assert_eq!((max, events), (2 * n, 5 * n + 1));
    let mut w = Walker::new(&text);
    assert_eq!(w.skip_value().map(<[u8]>::len), Some(text.len()));
}

#[test]
fn skip_container_after_its_begin() {
    let text = b"{\"a\": [1, {\"b\": \"]}\"}], \"c\": {\"d\": 2}, \"e\": 3}";
    let mut w = Walker::new(text);
    assert_eq!(w.skip_container(), None);
    assert_eq!(w.next(), Some(Event::BeginObject));
    assert!(matches!(w.next(), Some(Event::Key(_))));
    assert_eq!(w.skip_container(), None);
    assert_eq!(w.next(), Some(Event::BeginArray));
    assert_eq!(w.skip_container(), Some(&b"[1, {\"b\": \"]}\"}]"[..]));
    assert_eq!(w.skip_container(), None);
    assert!(matches!(w.next(), Some(Event::Key(k)) if k.raw() == b"c"));
    assert_eq!(w.next(), Some(Event::BeginObject));
    assert_eq!(w.skip_container(), Some(&b"{\"d\": 2}"[..]));
    assert!(matches!(w.next(), Some(Event::Key(k)) if k.raw() == b"e"));
    assert_eq!(w.next(), Some(Event::Number(b"3")));
    assert_eq!(w.next(), Some(Event::EndObject));
    assert_eq!(w.depth(), 0);
}
