//! The type of the elements of a JSON array field, inferred exactly over every element of
//! every array of the field (so that a columnar writer can store the arrays as lists).
//!
//! A field of type `array` is one leaf for the table's inference (its arrays are not
//! flattened); its elements are typed here, by the same rules as a column's values
//! ([`ColumnState`]: integers widen to floats, dates to datetimes, a JSON string is a date,
//! a datetime or `NaN` by the same tests). What the elements allow:
//!
//! - every element a scalar of one JSON kind (numbers, strings or booleans; `null` anywhere):
//!   [`ElementState::finish`] gives their [`FieldSchema`] (named `item`; `nulls` counts the
//!   null elements, `values` the others). Empty arrays add nothing; arrays of `null` only (or
//!   only empty ones) give the type `null`;
//! - a nested array or object among the elements, or scalars of different JSON kinds whose
//!   types do not join (`[1, "x"]`, `[true, 1]`): no element type (`None`). Numbers and the
//!   strings `"NaN"`/`"Infinity"` join into `float`, as in a column.
//!
//! The state merges exactly (the parts of a file read on several threads give the answer of
//! one sequential read). `spate schema` does not print it.

use std::collections::HashMap;

use spate_json::walk::{Event, Walker};

use crate::column::{ColumnState, FieldSchema};
use crate::json::{json_string_value, MAX_FLATTEN_DEPTH};
use crate::nested::{Element, ElementField};
use crate::types::{classify_number, Type, Value};

/// A JSON string element was seen.
const KIND_STRING: u8 = 1;
/// A number.
const KIND_NUMBER: u8 = 2;
/// `true` or `false`.
const KIND_BOOL: u8 = 4;
/// An array or object nested deeper than [`MAX_FLATTEN_DEPTH`] (or the "array" was an
/// object kept whole by the flattening): no type.
const KIND_DEEP: u8 = 8;
/// An array.
const KIND_ARRAY: u8 = 16;
/// An object.
const KIND_OBJECT: u8 = 32;
const SCALARS: u8 = KIND_STRING | KIND_NUMBER | KIND_BOOL;

/// The name of the element field of a list.
pub const ITEM_NAME: &str = "item";

/// Mergeable inference state over the values at one place below an array field: the
/// elements of its arrays, or (recursively) the elements of arrays among them and the
/// members of objects among them.
#[derive(Debug, Clone, Default)]
pub struct ElementState {
    /// The non-null scalar elements.
    pub col: ColumnState,
    /// Null elements.
    pub nulls: u64,
    /// The JSON kinds seen (bit flags).
    kinds: u8,
    /// Arrays among the values.
    arrays: u64,
    /// The elements of those arrays.
    items: Option<Box<ElementState>>,
    /// Objects among the values.
    objects: u64,
    /// The members of those objects.
    members: Option<Box<Members>>,
}

impl PartialEq for ElementState {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.col,
            self.nulls,
            self.kinds,
            self.arrays,
            &self.items,
            self.objects,
            &self.members,
        ) == (
            &other.col,
            other.nulls,
            other.kinds,
            other.arrays,
            &other.items,
            other.objects,
            &other.members,
        )
    }
}

/// The members of the objects at one place: one state per key, with where the key was first
/// seen (the row's position, then the rank of the key's discovery in that row), so that the
/// fields of merged partial states are in the order of a sequential read.
#[derive(Debug, Clone, Default)]
struct Members {
    fields: Vec<Member>,
    index: HashMap<Box<[u8]>, usize>,
}

impl PartialEq for Members {
    fn eq(&self, other: &Self) -> bool {
        fn sorted(m: &Members) -> Vec<&Member> {
            let mut v: Vec<&Member> = m.fields.iter().collect();
            v.sort_by_key(|f| f.first);
            v
        }
        sorted(self) == sorted(other)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Member {
    name: Box<[u8]>,
    first: (u64, u32),
    state: ElementState,
}

/// The walk of one array: where its row is, the rank of the next new key, a buffer.
struct Walk<'t> {
    position: u64,
    rank: u32,
    text: &'t mut Vec<u8>,
}

impl ElementState {
    /// True when no later array can give the elements a type (nested too deep, kinds that
    /// share no type, or arrays among them whose own elements have none).
    #[inline]
    pub fn is_settled_untyped(&self) -> bool {
        self.kinds & KIND_DEEP != 0
            || self.mixed()
            || (self.kinds & SCALARS != 0 && self.kinds & (KIND_ARRAY | KIND_OBJECT) != 0)
            || (self.kinds & KIND_ARRAY != 0 && self.kinds & KIND_OBJECT != 0)
            || self.items.as_ref().is_some_and(|i| i.is_settled_untyped())
    }

    /// As a struct's member: true when its values can only be JSON text (kinds that share
    /// no type), whatever comes later.
    fn is_settled_json(&self) -> bool {
        let containers = self.kinds & (KIND_ARRAY | KIND_OBJECT);
        self.kinds & KIND_DEEP != 0
            || (self.kinds & SCALARS != 0 && containers != 0)
            || containers == KIND_ARRAY | KIND_OBJECT
    }

    fn mixed(&self) -> bool {
        self.col.ty == Type::String && self.kinds & (KIND_NUMBER | KIND_BOOL) != 0
    }

    /// Adds the elements of one array as written (validated JSON; an object, which the
    /// flattening keeps whole below its depth limit, has no type). `text` is a buffer for
    /// decoded strings. The members of objects among the elements are listed in the order
    /// they are first seen; [`ElementState::observe_array_at`] orders them over parts of an
    /// input read apart.
    pub fn observe_array(&mut self, raw: &[u8], text: &mut Vec<u8>) {
        self.observe_array_at(raw, text, 0);
    }

    /// [`ElementState::observe_array`] for the array of the row at `position` (its byte
    /// offset: it must grow from row to row, as [`crate::json::JsonState::observe`]'s).
    pub fn observe_array_at(&mut self, raw: &[u8], text: &mut Vec<u8>, position: u64) {
        if self.is_settled_untyped() {
            return;
        }
        let mut w = Walker::new(raw);
        if w.next() != Some(Event::BeginArray) {
            self.kinds |= KIND_DEEP;
            return;
        }
        let mut walk = Walk {
            position,
            rank: 0,
            text,
        };
        self.elements(&mut w, &mut walk, 1);
    }

    /// The elements of the array just begun, up to its end.
    fn elements(&mut self, w: &mut Walker<'_>, walk: &mut Walk<'_>, depth: usize) {
        loop {
            if self.is_settled_untyped() {
                // No type any more: step over the rest.
                while w.skip_value().is_some() {}
                w.next();
                return;
            }
            match w.next() {
                Some(Event::EndArray) | None => return,
                Some(event) => self.value(event, w, walk, depth),
            }
        }
    }

    /// One value that began with `event` (an element, or a member's value).
    fn value(&mut self, event: Event<'_>, w: &mut Walker<'_>, walk: &mut Walk<'_>, depth: usize) {
        match event {
            Event::Null => self.nulls += 1,
            Event::Bool(b) => {
                self.kinds |= KIND_BOOL;
                self.col.values += 1;
                self.col.observe_value(Value::Boolean(b), b"");
            }
            Event::Number(n) => {
                self.kinds |= KIND_NUMBER;
                self.col.values += 1;
                self.col.observe_value(classify_number(n), n);
            }
            Event::String(s) => {
                self.kinds |= KIND_STRING;
                self.col.values += 1;
                if self.col.ty != Type::String {
                    let s = s.decode(walk.text);
                    self.col.observe_value(json_string_value(s), s);
                }
            }
            Event::BeginArray | Event::BeginObject if depth >= MAX_FLATTEN_DEPTH => {
                self.kinds |= KIND_DEEP;
                self.count(event, w);
            }
            Event::BeginArray => {
                self.kinds |= KIND_ARRAY;
                self.arrays += 1;
                self.items
                    .get_or_insert_with(Default::default)
                    .elements(w, walk, depth + 1);
            }
            Event::BeginObject => {
                self.kinds |= KIND_OBJECT;
                self.objects += 1;
                let members = self.members.get_or_insert_with(Default::default);
                members.object(w, walk, depth + 1);
            }
            Event::Key(_) | Event::EndArray | Event::EndObject => {}
        }
    }

    /// Counts a value that began with `event` without typing it (its type is settled),
    /// stepping over it.
    fn count(&mut self, event: Event<'_>, w: &mut Walker<'_>) {
        match event {
            Event::Null => self.nulls += 1,
            Event::Bool(_) | Event::Number(_) | Event::String(_) => self.col.values += 1,
            Event::BeginArray => {
                self.arrays += 1;
                w.skip_container();
            }
            Event::BeginObject => {
                self.objects += 1;
                w.skip_container();
            }
            Event::Key(_) | Event::EndArray | Event::EndObject => {}
        }
    }

    /// Merges the state of the same field's arrays in another part of the input.
    pub fn merge(&mut self, other: ElementState) {
        self.nulls += other.nulls;
        self.kinds |= other.kinds;
        self.col.merge(other.col);
        self.arrays += other.arrays;
        self.objects += other.objects;
        match (&mut self.items, other.items) {
            (Some(a), Some(b)) => a.merge(*b),
            (a @ None, b) => *a = b,
            (Some(_), None) => {}
        }
        match (&mut self.members, other.members) {
            (Some(a), Some(b)) => a.merge(*b),
            (a @ None, b) => *a = b,
            (Some(_), None) => {}
        }
    }

    /// The elements' schema (named [`ITEM_NAME`]) when they are scalars of one type, or
    /// `None` (see [`ElementState::finish_element`] for lists and structs).
    pub fn finish(&self) -> Option<FieldSchema> {
        match self.finish_element()?.element {
            Element::Scalar(f) => Some(f),
            _ => None,
        }
    }

    /// The elements' type (named [`ITEM_NAME`]): scalars of one type, arrays whose own
    /// elements have one type, or objects (a struct of every key seen); `None` when they
    /// share no type.
    pub fn finish_element(&self) -> Option<ElementField> {
        if self.is_settled_untyped() {
            return None;
        }
        let values = self.col.values + self.arrays + self.objects;
        let element = if self.arrays > 0 {
            Element::List(Box::new(self.items.as_ref()?.finish_element()?))
        } else if self.objects > 0 {
            self.members.as_ref()?.finish(self.objects)
        } else {
            Element::Scalar(self.col.finish(ITEM_NAME.to_owned(), values + self.nulls))
        };
        Some(ElementField {
            name: ITEM_NAME.to_owned(),
            element,
            nulls: self.nulls,
            values,
        })
    }

    /// The type of a struct's member named `name`, over `objects` objects (those without
    /// the key count as nulls), by the rules of a column: scalars join (`1` and `"x"` are
    /// strings), arrays are lists when their elements have one type, objects structs, and
    /// anything else JSON text.
    fn finish_member(&self, name: String, objects: u64) -> ElementField {
        let values = self.col.values + self.arrays + self.objects;
        let element = if self.is_settled_json() {
            Element::Json
        } else if self.arrays > 0 {
            match self.items.as_ref().and_then(|i| i.finish_element()) {
                Some(item) => Element::List(Box::new(item)),
                None => Element::Json,
            }
        } else if self.objects > 0 {
            match &self.members {
                Some(m) => m.finish(self.objects),
                None => Element::Json,
            }
        } else {
            Element::Scalar(self.col.finish(name.clone(), objects))
        };
        ElementField {
            name,
            element,
            nulls: objects.saturating_sub(values),
            values,
        }
    }
}

impl Members {
    /// The members of the object just begun, up to its end.
    fn object(&mut self, w: &mut Walker<'_>, walk: &mut Walk<'_>, depth: usize) {
        while let Some(Event::Key(key)) = w.next() {
            let name = key.decode(walk.text);
            let i = match self.index.get(name) {
                Some(&i) => i,
                None => {
                    let i = self.fields.len();
                    self.fields.push(Member {
                        name: name.into(),
                        first: (walk.position, walk.rank),
                        state: ElementState::default(),
                    });
                    walk.rank += 1;
                    self.index.insert(name.into(), i);
                    i
                }
            };
            let state = &mut self.fields[i].state;
            match w.next() {
                Some(event) if state.is_settled_json() => state.count(event, w),
                Some(event) => state.value(event, w, walk, depth),
                None => return,
            }
        }
    }

    fn merge(&mut self, other: Members) {
        for m in other.fields {
            match self.index.get(&m.name) {
                Some(&i) => {
                    let mine = &mut self.fields[i];
                    mine.first = mine.first.min(m.first);
                    mine.state.merge(m.state);
                }
                None => {
                    self.index.insert(m.name.clone(), self.fields.len());
                    self.fields.push(m);
                }
            }
        }
    }

    /// The struct of these members over `objects` objects; with no member at all, JSON text
    /// (`{}`: Parquet has no struct without fields).
    fn finish(&self, objects: u64) -> Element {
        if self.fields.is_empty() {
            return Element::Json;
        }
        let mut order: Vec<&Member> = self.fields.iter().collect();
        order.sort_by_key(|m| m.first);
        Element::Struct(
            order
                .into_iter()
                .map(|m| {
                    m.state
                        .finish_member(String::from_utf8_lossy(&m.name).into_owned(), objects)
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::{Bound, Int};

    fn infer(arrays: &[&str]) -> Option<FieldSchema> {
        let mut s = ElementState::default();
        let mut text = Vec::new();
        for a in arrays {
            s.observe_array(a.as_bytes(), &mut text);
        }
        s.finish()
    }

    fn ty(arrays: &[&str]) -> Option<Type> {
        infer(arrays).map(|f| f.ty)
    }

    #[test]
    fn one_kind_of_scalar() {
        assert_eq!(ty(&["[1, 2]", "[]", "[3, null]"]), Some(Type::Integer));
        assert_eq!(ty(&["[1]", "[2.5]"]), Some(Type::Float));
        assert_eq!(ty(&["[1, \"NaN\"]"]), Some(Type::Float));
        assert_eq!(ty(&["[true]", "[false, null]"]), Some(Type::Boolean));
        assert_eq!(ty(&["[\"a\", \"2024-01-01\"]"]), Some(Type::String));
        assert_eq!(
            ty(&["[\"2024-01-01\"]", "[\"2024-01-02\"]"]),
            Some(Type::Date)
        );
        assert_eq!(
            ty(&["[\"2024-01-01\"]", "[\"2024-01-02T00:00:00Z\"]"]),
            Some(Type::Datetime)
        );
        assert_eq!(ty(&["[]", "[null]"]), Some(Type::Null));
        assert_eq!(ty(&[]), Some(Type::Null));
        assert_eq!(ty(&["[\"a\\u0062\"]"]), Some(Type::String));
        let f = infer(&["[1, null, 99999999999999999999]", "[null]"]).unwrap();
        assert_eq!((f.values, f.nulls), (2, 2));
        assert_eq!(
            f.max,
            Some(Bound::Int(Int::Big("99999999999999999999".into())))
        );
    }

    #[test]
    fn nested_or_mixed_have_no_type() {
        assert_eq!(ty(&["[1, \"x\"]"]), None);
        assert_eq!(ty(&["[1]", "[\"x\"]"]), None);
        assert_eq!(ty(&["[true, 1]"]), None);
        assert_eq!(ty(&["[\"2024-01-01\", 1]"]), None);
        assert_eq!(ty(&["[[1]]"]), None);
        assert_eq!(ty(&["[{\"a\": 1}]"]), None);
        assert_eq!(ty(&["[1]", "{\"deep\": 1}"]), None);
        // Settled: later arrays cannot bring a type back.
        assert_eq!(ty(&["[[1]]", "[1]"]), None);
    }

    #[test]
    fn merging_parts_gives_the_whole() {
        let arrays = [
            "[1, null]",
            "[\"NaN\"]",
            "[]",
            "[2.5, -7]",
            "[null, 12345678901234567890123]",
        ];
        let mut text = Vec::new();
        let mut whole = ElementState::default();
        for a in arrays {
            whole.observe_array(a.as_bytes(), &mut text);
        }
        for cut in 0..=arrays.len() {
            let (mut a, mut b) = (ElementState::default(), ElementState::default());
            for x in &arrays[..cut] {
                a.observe_array(x.as_bytes(), &mut text);
            }
            for x in &arrays[cut..] {
                b.observe_array(x.as_bytes(), &mut text);
            }
            a.merge(b);
            assert_eq!(a.finish(), whole.finish(), "cut at {cut}");
        }
        assert_eq!(whole.finish().unwrap().ty, Type::Float);
    }

    /// The element type of arrays read in order (row `i` at position `i`).
    fn element(arrays: &[&str]) -> Option<ElementField> {
        let mut s = ElementState::default();
        let mut text = Vec::new();
        for (i, a) in arrays.iter().enumerate() {
            s.observe_array_at(a.as_bytes(), &mut text, i as u64);
        }
        s.finish_element()
    }

    /// A compact rendering of an element type: `int`, `[int]`, `{a: int?, b: [str]}`
    /// (`?`: nullable), `json`.
    fn show(f: &ElementField) -> String {
        let t = match &f.element {
            Element::Scalar(s) => s.ty.name().to_string(),
            Element::List(i) => format!("[{}]", show(i)),
            Element::Struct(fs) => format!(
                "{{{}}}",
                fs.iter()
                    .map(|f| format!("{}: {}", f.name, show(f)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Element::Json => "json".into(),
        };
        if f.nullable() {
            format!("{t}?")
        } else {
            t
        }
    }

    fn shape(arrays: &[&str]) -> Option<String> {
        element(arrays).map(|f| show(&f))
    }

    #[test]
    fn objects_are_structs_of_every_key() {
        assert_eq!(
            shape(&[
                r#"[{"a": 1, "b": "x"}, {"a": 2.5}]"#,
                r#"[{"c": [1, 2], "a": null}, null]"#,
                "[]"
            ])
            .as_deref(),
            Some("{a: float?, b: string?, c: [integer]?}?")
        );
        // Dates, datetimes, big integers and non-finite floats follow a column's rules.
        assert_eq!(
            shape(&[r#"[{"d": "2024-01-01", "t": "2024-01-01", "n": 99999999999999999999, "f": "NaN"}]"#,
                    r#"[{"d": "2024-01-02", "t": "2024-01-01T10:00:00Z", "n": 1, "f": 1}]"#])
            .as_deref(),
            Some("{d: date, t: datetime, n: integer, f: float}")
        );
        // A member's scalars join as a column's do; kinds that share no type are JSON text.
        assert_eq!(
            shape(&[
                r#"[{"a": 1, "b": [1], "c": {"x": 1}}]"#,
                r#"[{"a": "x", "b": {"y": 1}, "c": {"x": [true], "y": null}}]"#
            ])
            .as_deref(),
            Some("{a: string, b: json, c: {x: json, y: null?}}")
        );
        // Objects without any key: JSON text.
        assert_eq!(shape(&["[{}, {}]"]).as_deref(), Some("json"));
    }

    #[test]
    fn arrays_of_arrays_are_nested_lists() {
        assert_eq!(
            shape(&["[[1, 2], [], null]", "[[3]]"]).as_deref(),
            Some("[integer]?")
        );
        assert_eq!(
            shape(&[r#"[[[{"a": 1}]], [[]]]"#]).as_deref(),
            Some("[[{a: integer}]]")
        );
        // Inner elements without one type leave the whole array untyped.
        assert_eq!(shape(&["[[1], [\"x\"]]"]), None);
        assert_eq!(shape(&["[[1], 2]"]), None);
        assert_eq!(shape(&[r#"[[1], {"a": 1}]"#]), None);
        assert_eq!(shape(&[r#"[{"a": 1}, 2]"#]), None);
        // Deeper than the flattening depth: untyped.
        let deep = format!("[{}1{}]", "[".repeat(70), "]".repeat(70));
        assert_eq!(shape(&[&deep]), None);
        let deep_member = format!("[{{\"a\": {}1{}}}]", "[".repeat(70), "]".repeat(70));
        assert_eq!(shape(&[&deep_member]).as_deref(), Some("{a: json}"));
    }

    #[test]
    fn struct_parts_merge_into_the_sequential_answer() {
        let arrays = [
            r#"[{"b": 1}, {"a": [1]}]"#,
            r#"[{"c": {"x": "2024-01-01"}}, null]"#,
            "[]",
            r#"[{"a": [null, 2.5], "d": 1}, {"c": {"y": true, "x": null}}]"#,
            r#"[{"e": [[1]], "b": "x"}]"#,
        ];
        let whole = element(&arrays);
        let mut text = Vec::new();
        for cut in 0..=arrays.len() {
            let (mut a, mut b) = (ElementState::default(), ElementState::default());
            for (i, x) in arrays.iter().enumerate() {
                let part = if i < cut { &mut a } else { &mut b };
                part.observe_array_at(x.as_bytes(), &mut text, i as u64);
            }
            let (mut ab, mut ba) = (a.clone(), b.clone());
            ab.merge(b);
            ba.merge(a);
            assert_eq!(ab.finish_element(), whole, "cut at {cut}");
            assert_eq!(ba.finish_element(), whole, "cut at {cut}, reversed");
        }
        assert_eq!(
            whole.map(|f| show(&f)).as_deref(),
            Some("{b: string?, a: [float?]?, c: {x: date?, y: boolean?}?, d: integer?, e: [[integer]]?}?")
        );
    }
}
