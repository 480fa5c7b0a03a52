//! Running a compiled [`Expr`] on an item's text: values stay spans of the text (an
//! object is read member by member only when a path goes into it), and every operation
//! answers exactly as jaq does or says [`Unsure`] — a jq error, a number that is not a
//! machine integer in a comparison, arrays or objects compared — so that the item goes the
//! jaq route.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::rc::Rc;

use jaq_core::ops::Cmp;

use super::compile::{Expr, Fun, Keys, Lit, Step};
use super::walk::{
    elements, elements_at, members, members_at, string, unescape, Member, Sure, Unsure,
};

/// A value during a run.
#[derive(Debug, Clone)]
pub(crate) enum V<'a> {
    Null,
    Bool(bool),
    /// A number that fits a machine integer (as jaq reads it: no fraction or exponent).
    Int(i64),
    /// Any other number: its text (jaq prints it back as written).
    Num(&'a [u8]),
    /// A string, unescaped.
    Str(Cow<'a, [u8]>),
    /// An array of the item: its text, and how deep it is in the item.
    Arr(&'a [u8], usize),
    /// An object of the item: its text, and how deep it is in the item.
    Obj(&'a [u8], usize),
    /// An object made by the program, keys unique, in jaq's order.
    Made(Vec<(Cow<'a, [u8]>, V<'a>)>),
    /// An item with its `with` fields: the object whose members are these (in order,
    /// repeated keys kept as in an object's text), at the item's root. The members' values
    /// are spans of the item and of the fields' texts: the item is not copied to join them.
    Joined(Rc<Vec<Member<'a>>>),
}

impl V<'_> {
    fn truthy(&self) -> bool {
        !matches!(self, V::Null | V::Bool(false))
    }

    /// jq's order of types: null, booleans, numbers, strings, arrays, objects.
    fn rank(&self) -> u8 {
        match self {
            V::Null => 0,
            V::Bool(_) => 1,
            V::Int(_) | V::Num(_) => 2,
            V::Str(_) => 3,
            V::Arr(..) => 4,
            V::Obj(..) | V::Made(_) | V::Joined(_) => 5,
        }
    }
}

/// The value of the JSON text `t` (one value, no whitespace around it), `depth` levels
/// inside the item.
pub(crate) fn value(t: &[u8], depth: usize) -> Sure<V<'_>> {
    Ok(match t.first().ok_or(Unsure)? {
        b'"' => {
            let (end, escaped) = string(t, 0)?;
            if end != t.len() {
                return Err(Unsure);
            }
            let raw = &t[1..end - 1];
            V::Str(if escaped {
                Cow::Owned(unescape(raw)?)
            } else {
                Cow::Borrowed(raw)
            })
        }
        b'{' => V::Obj(t, depth),
        b'[' => V::Arr(t, depth),
        b'n' if t == b"null" => V::Null,
        b't' if t == b"true" => V::Bool(true),
        b'f' if t == b"false" => V::Bool(false),
        b'-' | b'0'..=b'9' => {
            if t.len() > 300 {
                return Err(Unsure);
            }
            if t.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
                V::Num(t)
            } else {
                match std::str::from_utf8(t)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                {
                    Some(i) => V::Int(i),
                    None => V::Num(t),
                }
            }
        }
        _ => return Err(Unsure),
    })
}

/// Runs expressions on the values of one item, remembering the members of the objects
/// it read (a filter and the expressions after it often read the same object).
#[derive(Default)]
pub(crate) struct Walker<'a> {
    objects: Vec<Read<Member<'a>>>,
    arrays: Vec<Read<&'a [u8]>>,
}

/// The parts of a container already read: where its text starts, its length, its parts.
type Read<T> = (usize, usize, Vec<T>);

/// Most containers a walker remembers (the oldest is read again if asked for again).
const REMEMBERED: usize = 32;

impl<'a> Walker<'a> {
    /// Reads the object whose `{` is at `at` in `t` (`depth` levels inside the item) and,
    /// in the same pass, the objects below it that `keys` names; remembers their members.
    /// Returns the object's end.
    pub(crate) fn index_at(
        &mut self,
        t: &'a [u8],
        at: usize,
        depth: usize,
        keys: &Keys,
    ) -> Sure<usize> {
        let (m, end) = members_at(t, at, depth, |key, value_at| match keys.child(key) {
            Some(child) if t.get(value_at) == Some(&b'{') => {
                self.index_at(t, value_at, depth + 1, child).map(Some)
            }
            // (an array the program reads: its elements, for `length` or an index)
            Some(_) if t.get(value_at) == Some(&b'[') => {
                let (e, end) = elements_at(t, value_at, depth + 1)?;
                remember(&mut self.arrays, &t[value_at..end], e);
                Ok(Some(end))
            }
            _ => Ok(None),
        })?;
        remember(&mut self.objects, &t[at..end], m);
        Ok(end)
    }

    /// Takes the parts of the object or array `t` (the whole item) from the children the
    /// scan recorded, whose offsets count from `base` (where `t` starts), instead of reading
    /// them; remembers them. A member's name is read back from just before its value.
    pub(crate) fn adopt(
        &mut self,
        t: &'a [u8],
        children: spate_json::Children<'a>,
        base: u64,
    ) -> Sure<()> {
        if t.first() == Some(&b'[') {
            let mut e = Vec::with_capacity(children.len());
            if !children.read(t, base, |_, value| e.push(value)) {
                return Err(Unsure);
            }
            remember(&mut self.arrays, t, e);
            return Ok(());
        }
        let mut m = Vec::with_capacity(children.len());
        adopt_members(t, children, base, &mut m)?;
        remember(&mut self.objects, t, m);
        Ok(())
    }

    /// The elements of the array `t`.
    fn elements(&mut self, t: &'a [u8], depth: usize) -> Sure<&[&'a [u8]]> {
        let key = (t.as_ptr() as usize, t.len());
        match self.arrays.iter().position(|(p, l, _)| (*p, *l) == key) {
            Some(i) => Ok(&self.arrays[i].2),
            None => Ok(remember(&mut self.arrays, t, elements(t, depth)?)),
        }
    }

    /// The members of the object `t`.
    pub(crate) fn members(&mut self, t: &'a [u8], depth: usize) -> Sure<&[Member<'a>]> {
        let key = (t.as_ptr() as usize, t.len());
        match self.objects.iter().position(|(p, l, _)| (*p, *l) == key) {
            Some(i) => Ok(&self.objects[i].2),
            None => Ok(remember(&mut self.objects, t, members(t, depth)?)),
        }
    }

    /// The output of `e` on `input`: `None` when it outputs nothing.
    pub(crate) fn eval(&mut self, e: &'a Expr, input: &V<'a>) -> Sure<Option<V<'a>>> {
        Ok(Some(match e {
            Expr::Id => input.clone(),
            Expr::Lit(l) => match l {
                Lit::Null => V::Null,
                Lit::Bool(b) => V::Bool(*b),
                Lit::Int(i) => V::Int(*i),
                Lit::Str(s) => V::Str(Cow::Borrowed(s)),
            },
            Expr::Path(base, steps) => {
                let Some(mut v) = self.eval(base, input)? else {
                    return Ok(None);
                };
                for step in steps {
                    v = self.step(&v, step)?;
                }
                v
            }
            Expr::Pipe(l, r) => match self.eval(l, input)? {
                Some(mid) => return self.eval(r, &mid),
                None => return Ok(None),
            },
            Expr::Cmp(l, op, r) => {
                let (l, r) = (self.eval(l, input)?, self.eval(r, input)?);
                let (Some(l), Some(r)) = (l, r) else {
                    return Ok(None);
                };
                let ord = compare(&l, &r)?;
                V::Bool(match op {
                    Cmp::Eq => ord == Ordering::Equal,
                    Cmp::Ne => ord != Ordering::Equal,
                    Cmp::Lt => ord == Ordering::Less,
                    Cmp::Le => ord != Ordering::Greater,
                    Cmp::Gt => ord == Ordering::Greater,
                    Cmp::Ge => ord != Ordering::Less,
                })
            }
            Expr::And(l, r) => match self.eval(l, input)? {
                None => return Ok(None),
                Some(l) if !l.truthy() => V::Bool(false),
                Some(_) => match self.eval(r, input)? {
                    None => return Ok(None),
                    Some(r) => V::Bool(r.truthy()),
                },
            },
            Expr::Or(l, r) => match self.eval(l, input)? {
                None => return Ok(None),
                Some(l) if l.truthy() => V::Bool(true),
                Some(_) => match self.eval(r, input)? {
                    None => return Ok(None),
                    Some(r) => V::Bool(r.truthy()),
                },
            },
            Expr::Alt(l, r) => match self.eval(l, input)? {
                Some(l) if l.truthy() => l,
                _ => return self.eval(r, input),
            },
            Expr::Select(f) => match self.eval(f, input)? {
                Some(c) if c.truthy() => input.clone(),
                _ => return Ok(None),
            },
            Expr::Not => V::Bool(!input.truthy()),
            Expr::Length => self.length(input)?,
            Expr::Type => V::Str(Cow::Borrowed(match input {
                V::Null => b"null",
                V::Bool(_) => b"boolean",
                V::Int(_) | V::Num(_) => b"number",
                V::Str(_) => b"string",
                V::Arr(..) => b"array",
                V::Obj(..) | V::Made(_) | V::Joined(_) => b"object",
            })),
            Expr::Call(fun, arg) => {
                let Some(arg) = self.eval(arg, input)? else {
                    return Ok(None);
                };
                V::Bool(match (fun, input, &arg) {
                    (Fun::Has, V::Obj(t, d), V::Str(k)) => {
                        self.members(t, *d)?.iter().any(|m| m.key == *k)
                    }
                    (Fun::Has, V::Made(fields), V::Str(k)) => fields.iter().any(|(n, _)| n == k),
                    (Fun::Has, V::Joined(m), V::Str(k)) => m.iter().any(|m| m.key == *k),
                    (Fun::StartsWith, V::Str(s), V::Str(p)) => s.starts_with(p),
                    (Fun::EndsWith, V::Str(s), V::Str(p)) => s.ends_with(p),
                    (Fun::Contains, V::Str(s), V::Str(p)) => memchr::memmem::find(s, p).is_some(),
                    _ => return Err(Unsure),
                })
            }
            Expr::Obj(entries) => {
                let mut fields: Vec<(Cow<'a, [u8]>, V<'a>)> = Vec::with_capacity(entries.len());
                for (name, e) in entries {
                    let Some(v) = self.eval(e, input)? else {
                        return Ok(None);
                    };
                    // a repeated key keeps its first place and takes the last value
                    match fields.iter_mut().find(|(n, _)| n[..] == name[..]) {
                        Some(field) => field.1 = v,
                        None => fields.push((Cow::Borrowed(name), v)),
                    }
                }
                V::Made(fields)
            }
        }))
    }

    /// `v.key` or `v[i]`.
    fn step(&mut self, v: &V<'a>, step: &Step) -> Sure<V<'a>> {
        match (v, step) {
            (V::Null, _) => Ok(V::Null),
            // the last of repeated keys wins, as when jaq reads the object
            (V::Obj(t, d), Step::Key(k)) => match self
                .members(t, *d)?
                .iter()
                .rev()
                .find(|m| m.key[..] == k[..])
            {
                Some(m) => value(m.value, d + 1),
                None => Ok(V::Null),
            },
            (V::Joined(m), Step::Key(k)) => match m.iter().rev().find(|m| m.key[..] == k[..]) {
                Some(m) => value(m.value, 1),
                None => Ok(V::Null),
            },
            (V::Made(fields), Step::Key(k)) => Ok(fields
                .iter()
                .find(|(n, _)| n[..] == k[..])
                .map_or(V::Null, |(_, v)| v.clone())),
            (V::Arr(t, d), Step::Index(i)) => match self.elements(t, *d)?.get(*i) {
                Some(e) => value(e, d + 1),
                None => Ok(V::Null),
            },
            _ => Err(Unsure),
        }
    }

    fn length(&mut self, v: &V<'a>) -> Sure<V<'a>> {
        let n = match v {
            V::Null => 0,
            V::Int(i) => return i.checked_abs().map(V::Int).ok_or(Unsure),
            V::Str(s) => s.iter().filter(|&&b| (b as i8) >= -0x40).count(),
            V::Arr(t, d) => self.elements(t, *d)?.len(),
            V::Obj(t, d) => distinct_keys(self.members(t, *d)?),
            V::Joined(m) => distinct_keys(m),
            V::Made(fields) => fields.len(),
            V::Bool(_) | V::Num(_) => return Err(Unsure),
        };
        i64::try_from(n).map(V::Int).map_err(|_| Unsure)
    }
}

/// Appends the members of the object `t` (the whole item) that the scan recorded as
/// `children` (offsets counting from `base`, where `t` starts) to `out`.
pub(crate) fn adopt_members<'a>(
    t: &'a [u8],
    children: spate_json::Children<'a>,
    base: u64,
    out: &mut Vec<Member<'a>>,
) -> Sure<()> {
    let mut unsure = false;
    let read = children.read(t, base, |raw, value| {
        let key = if !has_backslash(raw) {
            Cow::Borrowed(raw)
        } else if let Ok(key) = unescape(raw) {
            Cow::Owned(key)
        } else {
            unsure = true;
            Cow::Borrowed(raw)
        };
        out.push(Member { key, value });
    });
    if !read || unsure {
        return Err(Unsure);
    }
    Ok(())
}

/// Whether the short text `s` holds a backslash (eight bytes at a time).
#[inline]
fn has_backslash(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut words = s.chunks_exact(8);
    for w in words.by_ref() {
        let x = u64::from_le_bytes(w.try_into().expect("8 bytes")) ^ (ONES * u64::from(b'\\'));
        if x.wrapping_sub(ONES) & !x & (ONES * 0x80) != 0 {
            return true;
        }
    }
    words.remainder().contains(&b'\\')
}

/// Remembers the parts of the container `t`; returns them.
fn remember<'w, T>(read: &'w mut Vec<Read<T>>, t: &[u8], parts: Vec<T>) -> &'w [T] {
    if read.len() >= REMEMBERED {
        read.remove(0);
    }
    read.push((t.as_ptr() as usize, t.len(), parts));
    &read.last().expect("pushed").2
}

/// How many distinct keys the members have (an object's `length`).
fn distinct_keys(m: &[Member<'_>]) -> usize {
    let mut keys: Vec<&[u8]> = m.iter().map(|m| &m.key[..]).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.len()
}

/// jq's order, where it is certain: across types, and within null, booleans, machine
/// integers and strings (by bytes, which for UTF-8 is the order of code points).
fn compare(a: &V<'_>, b: &V<'_>) -> Sure<Ordering> {
    let ranks = a.rank().cmp(&b.rank());
    if ranks != Ordering::Equal {
        return Ok(ranks);
    }
    match (a, b) {
        (V::Null, V::Null) => Ok(Ordering::Equal),
        (V::Bool(x), V::Bool(y)) => Ok(x.cmp(y)),
        (V::Int(x), V::Int(y)) => Ok(x.cmp(y)),
        (V::Str(x), V::Str(y)) => Ok(x[..].cmp(&y[..])),
        _ => Err(Unsure),
    }
}
