//! Filters at the speed of plain paths: the common shapes of jq programs run on the item's
//! JSON text, building no jq value.
//!
//! `select(.agent_type == "developer") | .session_id` turned every selected item into a jaq
//! value (only the fields it reads, see [`super::projection`]) and ran jaq's interpreter on
//! it; most of a filter's time went there. Programs of a small grammar (see
//! [`compile::compile`] and docs/filters.md) are compiled here into an expression run on the
//! item's bytes: paths read members in place, comparisons look at the bytes of strings and
//! at machine integers, and the result is written as jaq would print it.
//!
//! Answers never change. Where the byte route cannot be certain of jaq's answer — a jq
//! error (indexing a string, `length` of a boolean...), a number that is not a machine
//! integer in a comparison, arrays or objects compared, an item the jaq route would refuse
//! (escaped lone surrogates, too deep, numbers too long) — it says [`walk::Unsure`] before
//! writing anything, and that item goes the jaq route. A program outside the grammar always
//! goes the jaq route.

mod compile;
mod eval;
mod print;
mod skip;
mod walk;

pub(crate) use compile::Keys;
pub(crate) use eval::{Walker, V};
pub(crate) use print::print;
pub(crate) use walk::{Sure, Unsure};

use crate::items::Shape;

/// A jq program compiled for the byte route.
#[derive(Debug, Clone)]
pub(crate) struct ByteFilter {
    expr: compile::Expr,
    keys: Keys,
}

impl ByteFilter {
    /// `code` compiled for the byte route; `None` when it is outside the grammar.
    pub(crate) fn compile(code: &str) -> Option<ByteFilter> {
        compile::compile(code).map(|expr| {
            let mut keys = Keys::default();
            compile::keys(&expr, &mut keys);
            ByteFilter { expr, keys }
        })
    }

    /// The object members the program reads by paths from its input.
    pub(crate) fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The output of the program on the item `json` (`None` when it outputs nothing),
    /// joined with the fields `with` (name, JSON text) as members after its own (a
    /// non-object item is the member `value`), as if the item had been written so; the
    /// item is not copied to join them.
    /// The whole item is walked (the checks of [`walk`] apply to all of it, as the jaq
    /// route reads all of it), in one pass that also reads the objects `keys` names (the
    /// program's [`ByteFilter::keys`], and those of what runs on its output) — unless the
    /// scan found that the item holds nothing those checks look for (`shape.plain`): then
    /// the item's members are those the scan recorded (`shape.children`), if it did, and
    /// the objects below are read when the program goes into them.
    pub(crate) fn run<'a>(
        &'a self,
        (json, shape): (&'a [u8], Shape<'a>),
        with: (&'a [Vec<u8>], &'a [Option<Vec<u8>>]),
        walker: &mut Walker<'a>,
        keys: &Keys,
    ) -> Sure<Option<V<'a>>> {
        let text = json.trim_ascii();
        if !shape.plain && walk::lone_surrogates(text) {
            return Err(Unsure);
        }
        // (a non-object item joined with fields is the member `value` of the joined object)
        let (names, values) = with;
        let joined = !names.is_empty();
        let depth = usize::from(joined && text.first() != Some(&b'{'));
        let item = eval::value(text, depth)?;
        // (recorded offsets count from the item's first byte, which `text` must start at)
        let children = shape
            .children
            .filter(|_| shape.plain && text.len() == json.len());
        let mut members = Vec::new();
        match (&item, children) {
            (V::Obj(t, _), Some(children)) if joined => {
                // (the members go straight into the joined object)
                members.reserve_exact(children.len() + names.len());
                eval::adopt_members(t, children, shape.base, &mut members)?;
            }
            (V::Obj(t, _) | V::Arr(t, _), Some(children)) => {
                walker.adopt(t, children, shape.base)?;
            }
            (V::Obj(t, d), None) if !shape.plain && walker.index_at(t, 0, *d, keys)? != t.len() => {
                return Err(Unsure);
            }
            (V::Arr(t, d), None) if !shape.plain => drop(walk::elements(t, *d)?),
            _ => {}
        }
        if !joined {
            return walker.eval(&self.expr, &item);
        }
        match item {
            V::Obj(..) if !members.is_empty() => {}
            V::Obj(t, _) => {
                let m = walker.members(t, 0)?;
                members.reserve_exact(m.len() + names.len());
                members.extend_from_slice(m);
            }
            _ => members.push(walk::Member {
                key: std::borrow::Cow::Borrowed(b"value"),
                value: text,
            }),
        }
        for (name, value) in names.iter().zip(values) {
            let value = value.as_deref().unwrap_or(b"null");
            if walk::lone_surrogates(value) || walk::value_end(value, 0, 1)? != value.len() {
                return Err(Unsure);
            }
            members.push(walk::Member {
                key: std::borrow::Cow::Borrowed(&name[..]),
                value,
            });
        }
        walker.eval(&self.expr, &V::Joined(std::rc::Rc::new(members)))
    }

    /// The output of the program on a value of an item already run.
    pub(crate) fn run_on<'a>(
        &'a self,
        input: &V<'a>,
        walker: &mut Walker<'a>,
    ) -> Sure<Option<V<'a>>> {
        walker.eval(&self.expr, input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::{Items, ItemsOptions};

    /// What the program gives on every item at `path` of `doc` read in windows of
    /// `window` bytes, with what the scan handed over (`shape`) or without it.
    fn outputs(program: &str, doc: &str, path: &str, window: usize, shape: bool) -> Vec<String> {
        let filter = ByteFilter::compile(program).expect(program);
        let options = ItemsOptions {
            window: Some(window),
            ..Default::default()
        };
        let paths = vec![spate_json::Path::parse(path).unwrap()];
        let mut items = Items::with_options(doc.as_bytes(), "doc", paths, options).unwrap();
        items.record_children(1);
        let mut out = Vec::new();
        while let Some(item) = items.next_item().unwrap() {
            let given = if shape {
                item.shape()
            } else {
                Shape::default()
            };
            let mut walker = Walker::default();
            let answer = filter.run((item.raw(), given), (&[], &[]), &mut walker, filter.keys());
            out.push(match answer {
                Err(Unsure) => "unsure".to_owned(),
                Ok(None) => "empty".to_owned(),
                Ok(Some(v)) => {
                    let mut text = Vec::new();
                    match print(&v, false, &mut text) {
                        Ok(()) => String::from_utf8(text).unwrap(),
                        Err(Unsure) => "unprintable".to_owned(),
                    }
                }
            });
        }
        out
    }

    /// The members the scan hands over give the answers of reading the item, in windows
    /// that cut every token, and items holding what the jaq route refuses still say so.
    #[test]
    fn handed_over_members_give_the_same_answers() {
        let deep = format!("{}1{}", "[".repeat(1001), "]".repeat(1001));
        let long = "9".repeat(400);
        let doc = format!(
            r#"[{{"a" : 1 , "b\"c":[2, {{"x": 3}}],"a":"z", "\u0064": {{"e": [1, 2, 3]}}}},
            {{ "a":"x\"y" ,"b\\":true,"d":{{"e":[]}}, "n": -0 }},
            {{}}, [], [1, {{"a": 2}}], "s", 5, null,
            {{"a": "\ud800"}}, {{"a": 1, "z": "\ud83d\ude00"}},
            {{"a": 1, "deep": {deep}}}, {{"a": 2, "long": {long}}},
            {{"a": {{"a": {{"a": 1}}}}, "k": "v"}}]"#
        );
        let programs = [
            ".",
            ".a",
            "select(.a == 1) | .d",
            ".d.e | length",
            "length",
            r#"has("a")"#,
            r#"{a, n: (.d.e | length), t: (.a | type)}"#,
            ".a.a // .k",
            ".[1]",
            r#"select(."b\"c" != null) | ."b\"c""#,
        ];
        for program in programs {
            let want = outputs(program, &doc, "item", 1 << 20, false);
            for window in [1, 2, 7, 4096, 1 << 20] {
                let got = outputs(program, &doc, "item", window, true);
                assert_eq!(got, want, "{program} in windows of {window}");
            }
        }
        // the items holding a lone surrogate, a deep array or a long number stay unsure
        let got = outputs(".a", &doc, "item", 7, true);
        assert_eq!(got[8], "unsure");
        assert_eq!(got[10], "unsure");
        assert_eq!(got[11], "unsure");
        assert_eq!(got[9], "1");
    }
}
