//! UTF-8 is checked where the scanner meets non-ASCII bytes: inside strings (names and
//! values), the only place JSON allows them. On documents whose non-ASCII bytes are all
//! inside strings, the scanner must accept exactly what `std::str::from_utf8` accepts and
//! reject the rest with `InvalidUtf8` at its `valid_up_to`; a non-ASCII byte outside a
//! string is a syntax error at that byte. Both whatever the slicing: every cut point, tiny
//! pieces, and a handler that pauses after every value.

use proptest::prelude::*;
use spate_json::{
    ErrorKind, Flow, Handler, Member, ScanOptions, Scanned, Scanner, SyntaxError, Watch,
};

/// Watches everything and records every callback; pauses after every value, so that scans
/// resume mid-slice too.
#[derive(Default)]
struct Record(Vec<(bool, u32, u64, Vec<u8>)>);

impl Handler for Record {
    fn begin(&mut self, depth: u32, offset: u64, member: Member<'_>, _: bool) -> Watch {
        let key = match member {
            Member::Key(k) => k.to_vec(),
            _ => Vec::new(),
        };
        self.0.push((true, depth, offset, key));
        Watch::Children
    }
    fn end(&mut self, depth: u32, end: u64) -> Flow {
        self.0.push((false, depth, end, Vec::new()));
        Flow::Pause
    }
}

type Outcome = (Result<(), SyntaxError>, Vec<(bool, u32, u64, Vec<u8>)>);

/// Scans `doc` cut at `cuts` (increasing offsets).
fn scan_cut(doc: &[u8], cuts: &[usize]) -> Outcome {
    let mut scanner = Scanner::new(ScanOptions::default());
    let mut record = Record::default();
    let mut bounds = cuts.to_vec();
    bounds.push(doc.len());
    let mut from = 0;
    let result = (|| {
        for &to in &bounds {
            let mut rest = &doc[from..to];
            from = to;
            while let Scanned::Paused(used) = scanner.scan(rest, &mut record)? {
                rest = &rest[used..];
            }
        }
        scanner.finish(&mut record)
    })();
    (result, record.0)
}

fn scan_pieces(doc: &[u8], size: usize) -> Outcome {
    let cuts: Vec<usize> = (size..doc.len()).step_by(size).collect();
    scan_cut(doc, &cuts)
}

/// What the scanner must say of `doc`, whose non-ASCII bytes are all inside strings and
/// which is otherwise valid JSON: std's answer.
fn oracle(doc: &[u8]) -> Result<(), SyntaxError> {
    match std::str::from_utf8(doc) {
        Ok(_) => Ok(()),
        Err(e) => Err(SyntaxError {
            kind: ErrorKind::InvalidUtf8,
            offset: e.valid_up_to() as u64,
        }),
    }
}

/// The scan whole agrees with `want`, and every slicing gives the same answer and the same
/// callbacks (up to the error) as the scan whole.
fn check_every_slicing(doc: &[u8], want: &Result<(), SyntaxError>) {
    let whole = scan_cut(doc, &[]);
    assert_eq!(&whole.0, want, "whole: {}", String::from_utf8_lossy(doc));
    for cut in 1..doc.len() {
        assert_eq!(scan_cut(doc, &[cut]), whole, "cut at {cut}: {doc:?}");
    }
    for size in [1, 2, 3, 5, 7] {
        assert_eq!(scan_pieces(doc, size), whole, "pieces of {size}: {doc:?}");
    }
}

/// Documents with `contents` as a member name, a value, and an array element.
fn documents(contents: &[u8]) -> Vec<Vec<u8>> {
    let mut docs = Vec::new();
    let mut value = b"{\"k\": \"".to_vec();
    value.extend_from_slice(contents);
    value.extend_from_slice(b"\", \"n\": 1}");
    docs.push(value);
    let mut key = b"{\"".to_vec();
    key.extend_from_slice(contents);
    key.extend_from_slice(b"\": [true]}");
    docs.push(key);
    let mut element = b"[\"".to_vec();
    element.extend_from_slice(contents);
    element.extend_from_slice(b"\",\"\xc3\xa9\"]");
    docs.push(element);
    docs
}

#[test]
fn non_ascii_strings_agree_with_std_at_every_slicing() {
    let contents: &[&[u8]] = &[
        "café ✓ 😀 中文".as_bytes(),
        "é".as_bytes(),
        "😀".as_bytes(),
        b"\\n\xc3\xa9\\\"\xe2\x82\xac\\\\",    // escapes next to multi-byte characters
        b"\\u00e9\xc3\xa9\\ud83d\\ude00\xf0\x9f\x98\x80",
        b"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 long run",
        b"ab\xffcd",                       // never valid
        b"\x80",                           // a lone continuation byte
        b"x\xe2\x82",                      // cut by the closing quote
        b"x\xe2\x82\\n",                   // cut by an escape
        b"\xc3\\u00e9",                    // cut by a \u escape
        b"\xed\xa0\x80",                   // an encoded surrogate
        b"\xed\xbf\xbf",
        b"\xc0\x80",                       // overlong
        b"\xc1\xbf",
        b"\xe0\x80\xaf",
        b"\xf0\x80\x80\xaf",
        b"\xf4\x90\x80\x80",               // above U+10FFFF
        b"\xf5\x80\x80\x80",               // never a lead byte
        b"\xf0\x9f\x98",                   // truncated four-byte sequence
        "é😀".as_bytes(),
    ];
    for &c in contents {
        for doc in documents(c) {
            check_every_slicing(&doc, &oracle(&doc));
        }
    }
}

#[test]
fn a_sequence_cut_by_the_end_of_the_input_is_invalid() {
    for doc in [&b"[\"ab\xe2\x82"[..], b"[\"\xf0", b"{\"\xc3"] {
        let want = Err(SyntaxError {
            kind: ErrorKind::InvalidUtf8,
            offset: doc.iter().position(|&b| b >= 0x80).unwrap() as u64,
        });
        check_every_slicing(doc, &want);
    }
    // A complete character at the end is no error of UTF-8.
    let (result, _) = scan_cut(b"[\"ab\xc3\xa9", &[5]);
    assert!(matches!(
        result.unwrap_err().kind,
        ErrorKind::UnexpectedEnd { .. }
    ));
}

#[test]
fn non_ascii_outside_strings_is_a_syntax_error_at_that_byte() {
    let docs: &[&[u8]] = &[
        b"\xc3\xa9",
        b"[1, \xc3\xa9]",
        b"[1\xc3\xa9]",
        b"[tr\xc3\xbae]",
        b"{\"a\" \xc3\xa9: 1}",
        b"{\"a\": 1\xff}",
        b"[\"\\\xc3\xa9\"]", // after a backslash
        b"[\"\\u00\xc3\xa9\"]",
        b"[\"\\u00\xff\"]",
        b"1 \xe2\x82\xac",
        b"1\xff",
        b"[-\xff]",
        b"[1.\x80]",
        b"{\xf0\x9f\x98\x80: 1}",
    ];
    for &doc in docs {
        let at = doc.iter().position(|&b| b >= 0x80).unwrap();
        let (result, _) = scan_cut(doc, &[]);
        let e = result.unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::Unexpected { found, .. } if found == doc[at]),
            "{doc:?}: {e:?}"
        );
        assert_eq!(e.offset, at as u64, "{doc:?}");
        check_every_slicing(doc, &Err(e));
    }
}

/// Pieces of string contents: ASCII, escapes, valid characters, and bytes that may not be.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => "[a-z ]{0,20}".prop_map(String::into_bytes),
        2 => prop::sample::select(vec!["\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\ud83d\\ude00"])
            .prop_map(|s| s.as_bytes().to_vec()),
        4 => prop::sample::select(vec!["é", "€", "😀", "中文", "ß"]).prop_map(|s| s.as_bytes().to_vec()),
        1 => (0x80u8..=0xff).prop_map(|b| vec![b]),
        1 => (prop::sample::select(vec!["€", "😀", "é"]), 1usize..4)
            .prop_map(|(s, k)| s.as_bytes()[..k.min(s.len() - 1)].to_vec()),
        1 => prop::sample::select(vec![
            &b"\xed\xa0\x80"[..], b"\xc0\xaf", b"\xe0\x9f\xbf", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80",
        ]).prop_map(<[u8]>::to_vec),
    ]
}

fn contents() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(piece(), 0..8).prop_map(|ps| ps.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_strings_agree_with_std_however_cut(
        a in contents(),
        b in contents(),
        c in contents(),
        cuts in prop::collection::vec(0usize..200, 0..4),
        size in 1usize..9,
    ) {
        let mut doc = b"{\"".to_vec();
        doc.extend_from_slice(&a);
        doc.extend_from_slice(b"\": [\"");
        doc.extend_from_slice(&b);
        doc.extend_from_slice(b"\", {\"x\": \"");
        doc.extend_from_slice(&c);
        doc.extend_from_slice(b"\"}, 12]}");
        let whole = scan_cut(&doc, &[]);
        prop_assert_eq!(&whole.0, &oracle(&doc));
        let mut cuts: Vec<usize> = cuts.into_iter().filter(|&k| k > 0 && k < doc.len()).collect();
        cuts.sort_unstable();
        cuts.dedup();
        prop_assert_eq!(&scan_cut(&doc, &cuts), &whole);
        prop_assert_eq!(&scan_pieces(&doc, size), &whole);
    }
}

/// Member names reach the handler as written whether they lie whole in one slice (handed
/// over in place) or are cut by a slice's end (kept by the scanner): empty and escaped
/// names, whitespace around the colon, the value in the next slice; literals too, whole or
/// cut. Every slicing gives the callbacks of the scan whole.
#[test]
fn member_names_and_literals_at_every_slicing() {
    let docs: [&[u8]; 4] = [
        b"{\"a\" : 1, \"\": true, \"b\\\"c\": {\"d\":null, \"e\":[false,\"x\"]}, \"f\"\n:\n\"g\"}",
        b"{\"name\":{\"inner\":{\"deep\":[1,{\"k\":false}]}},\"after\":null,\"z\":\"\"}",
        b"[true,false,null,{\"t\":true,\"f\":false,\"n\":null},\"\\u0041\"]",
        b"{\"\\u00e9t\\u00e9\": {\"x\": -1.5e3}, \"\xc3\xa9\": [], \"k\": {}}",
    ];
    for doc in docs {
        check_every_slicing(doc, &Ok(()));
    }
    // A literal that is not one, whole or cut: the same error at every slicing.
    for doc in [&b"[tru]"[..], b"[falsy]", b"{\"a\": nul}", b"[nulll]"] {
        let whole = scan_cut(doc, &[]);
        assert!(whole.0.is_err());
        check_every_slicing(doc, &whole.0);
    }
}
