//! Item selection cases, each run with windows of 1, 2, 7, 4096 bytes and the default.

mod common;

use common::items_all_windows;
use spate::{Items, ItemsOptions, Path};

fn raw(doc: &str, paths: &[&str]) -> Vec<(usize, String)> {
    items_all_windows(doc.as_bytes(), paths)
        .unwrap_or_else(|e| panic!("{doc}: {e}"))
        .into_iter()
        .map(|(p, bytes)| (p, String::from_utf8(bytes).unwrap()))
        .collect()
}

fn texts(doc: &str, path: &str) -> Vec<String> {
    raw(doc, &[path]).into_iter().map(|(_, s)| s).collect()
}

#[test]
fn ijson_prefixes() {
    let doc = r#"{"a": [1, {"b": [true, null]}, "x"], "item": 7}"#;
    assert_eq!(texts(doc, ""), [doc]);
    assert_eq!(
        texts(doc, "a.item"),
        ["1", r#"{"b": [true, null]}"#, r#""x""#]
    );
    assert_eq!(texts(doc, "a.item.b.item"), ["true", "null"]);
    // As in ijson, `item` also matches a member literally named "item".
    assert_eq!(texts(doc, "item"), ["7"]);
    assert_eq!(texts("[[1, 2], [3]]", "item.item"), ["1", "2", "3"]);
    assert!(texts(doc, "nothing.item").is_empty());
}

#[test]
fn jsonpath_steps() {
    let doc =
        r#"{"a.b": [10, 20, 30], "s": [{"k": 1}, {"k": 2, "j": 3}], "o": {"x": 1, "y": [2]}}"#;
    assert_eq!(texts(doc, "$['a.b'][*]"), ["10", "20", "30"]);
    assert_eq!(texts(doc, "$['a.b'][1]"), ["20"]);
    assert_eq!(texts(doc, "$.s[*].k"), ["1", "2"]);
    assert_eq!(texts(doc, "$.o.*"), ["1", "[2]"]);
    assert_eq!(texts(doc, "$.o[*]"), ["1", "[2]"]);
    assert_eq!(texts(doc, "$.s[5]"), Vec::<String>::new());
    assert_eq!(texts(doc, "$"), [doc]);
}

#[test]
fn escaped_member_names_match_decoded_paths() {
    let doc = r#"{"se\u0073sions": [1], "a\"b": [2], "\u00e9": [3]}"#;
    assert_eq!(texts(doc, "sessions.item"), ["1"]);
    assert_eq!(texts(doc, r#"$['a"b'][*]"#), ["2"]);
    assert_eq!(texts(doc, "$.é[0]"), ["3"]);
}

#[test]
fn several_paths_including_nested_ones() {
    let doc = r#"{"a": [{"b": 1}, {"b": 2}]}"#;
    // Items come out in the order they end: inner values before the value holding them.
    assert_eq!(
        raw(doc, &["a", "a.item.b"]),
        [
            (1, "1".to_owned()),
            (1, "2".to_owned()),
            (0, r#"[{"b": 1}, {"b": 2}]"#.to_owned())
        ]
    );
    // The same value selected by two paths comes out once for each.
    assert_eq!(
        raw("[5]", &["item", "$[0]"]),
        [(0, "5".to_owned()), (1, "5".to_owned())]
    );
}

#[test]
fn scalars_of_every_kind_and_position() {
    assert_eq!(texts("12", ""), ["12"]);
    assert_eq!(texts(" -0.5e+10 ", ""), ["-0.5e+10"]);
    assert_eq!(texts(r#""a\nb""#, ""), [r#""a\nb""#]);
    assert_eq!(
        texts(
            r#"[0, -1, 2.5, 1E3, "s\\", "\u0041", true, false, null, {}, []]"#,
            "item"
        ),
        [
            "0",
            "-1",
            "2.5",
            "1E3",
            r#""s\\""#,
            r#""\u0041""#,
            "true",
            "false",
            "null",
            "{}",
            "[]"
        ]
    );
}

#[test]
fn sequence_mode_reads_many_top_level_values() {
    let doc = "{\"a\": 1}\n{\"a\": 2}\n\n[3] 4\n";
    let paths = vec![Path::parse("a").unwrap()];
    for window in common::WINDOWS {
        let options = ItemsOptions {
            window,
            multiple_values: true,
            ..ItemsOptions::default()
        };
        let got: Vec<_> = Items::with_options(doc.as_bytes(), "t", paths.clone(), options)
            .unwrap()
            .map(|i| String::from_utf8(i.unwrap().raw().to_vec()).unwrap())
            .collect();
        assert_eq!(got, ["1", "2"]);
    }
    // Without sequence mode, a second value is trailing data.
    assert!(items_all_windows(doc.as_bytes(), &["a"]).is_err());
}

#[test]
fn a_limit_below_the_excerpt_context_still_accepts_small_items() {
    // 20,000 items of 1 byte and of 48 bytes; the limits are under the 64 bytes of context
    // the reader keeps before a new read, which must not count as part of an item
    let ones = format!("[{}1]", "1,".repeat(19_999));
    let objects = format!(
        "[{}{{\"k\":\"{}\"}}]",
        format!("{{\"k\":\"{}\"}},", "x".repeat(40)).repeat(19_999),
        "x".repeat(40)
    );
    for (doc, limit) in [(&ones, 1), (&ones, 5), (&objects, 48), (&objects, 60)] {
        for window in common::WINDOWS {
            let options = ItemsOptions {
                window,
                max_item_size: limit,
                ..ItemsOptions::default()
            };
            let items = Items::with_options(
                doc.as_bytes(),
                "t",
                vec![Path::parse("item").unwrap()],
                options,
            )
            .unwrap();
            let n = items.map(|i| i.map(|_| ())).collect::<Result<Vec<_>, _>>();
            assert_eq!(
                n.map(|v| v.len()).map_err(|e| e.to_string()),
                Ok(20_000),
                "limit {limit}, window {window:?}"
            );
        }
    }
    // and the limit is still a limit: the 48-byte objects under a 47-byte one
    let options = ItemsOptions {
        max_item_size: 47,
        ..ItemsOptions::default()
    };
    let mut items = Items::with_options(
        objects.as_bytes(),
        "t",
        vec![Path::parse("item").unwrap()],
        options,
    )
    .unwrap();
    let err = items.next_item().unwrap_err();
    assert!(
        err.to_string().contains("larger than the 47-byte limit"),
        "{err}"
    );
}

#[test]
fn item_size_limit_holds_with_every_window() {
    let doc = format!("[\"{}\", 1]", "x".repeat(10_000));
    for window in common::WINDOWS {
        let options = ItemsOptions {
            window,
            max_item_size: 5_000,
            ..ItemsOptions::default()
        };
        let mut items = Items::with_options(
            doc.as_bytes(),
            "t",
            vec![Path::parse("item").unwrap()],
            options,
        )
        .unwrap();
        let err = loop {
            match items.next_item() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the 10 kB item must exceed the limit (window {window:?})"),
                Err(e) => break e,
            }
        };
        assert!(
            err.to_string().contains("larger than the 5000-byte limit"),
            "{err}"
        );
        assert!(err.is_invalid_data());
    }
}

#[test]
fn decode_into_types_and_values() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct S<'a> {
        id: &'a str,
        n: u32,
    }
    let doc = br#"{"s": [{"id": "x", "n": 1}, {"id": "y", "n": 2}]}"#;
    let mut items = Items::new(&doc[..], "s.item").unwrap();
    let first = items.next_item().unwrap().unwrap();
    assert_eq!(first.decode::<S>().unwrap(), S { id: "x", n: 1 });
    assert_eq!(first.offset(), 7);
    let all: Vec<serde_json::Value> = Items::new(&doc[..], "s.item")
        .unwrap()
        .map(|i| i.unwrap().to_value().unwrap())
        .collect();
    assert_eq!(all[1]["id"], "y");
}
