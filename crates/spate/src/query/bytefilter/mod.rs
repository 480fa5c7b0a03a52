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
mod walk;

pub(crate) use compile::Keys;
pub(crate) use eval::{Walker, V};
pub(crate) use print::print;
pub(crate) use walk::{Sure, Unsure};

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
    /// program's [`ByteFilter::keys`], and those of what runs on its output).
    pub(crate) fn run<'a>(
        &'a self,
        json: &'a [u8],
        with: &[(&'a [u8], &'a [u8])],
        walker: &mut Walker<'a>,
        keys: &Keys,
    ) -> Sure<Option<V<'a>>> {
        let text = json.trim_ascii();
        if walk::lone_surrogates(text) {
            return Err(Unsure);
        }
        // (a non-object item joined with fields is the member `value` of the joined object)
        let depth = usize::from(!with.is_empty() && text.first() != Some(&b'{'));
        let item = eval::value(text, depth)?;
        match &item {
            V::Obj(t, d) if walker.index_at(t, 0, *d, keys)? != t.len() => return Err(Unsure),
            V::Arr(t, d) => drop(walk::elements(t, *d)?),
            _ => {}
        }
        if with.is_empty() {
            return walker.eval(&self.expr, &item);
        }
        let mut members = match item {
            V::Obj(t, _) => walker.members(t, 0)?.to_vec(),
            _ => vec![walk::Member {
                key: std::borrow::Cow::Borrowed(b"value"),
                value: text,
            }],
        };
        for &(name, value) in with {
            if walk::lone_surrogates(value) || walk::value_end(value, 0, 1)? != value.len() {
                return Err(Unsure);
            }
            members.push(walk::Member {
                key: std::borrow::Cow::Borrowed(name),
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
