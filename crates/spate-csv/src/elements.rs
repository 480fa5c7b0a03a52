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

use spate_json::walk::{Event, Walker};

use crate::column::{ColumnState, FieldSchema};
use crate::json::json_string_value;
use crate::types::{classify_number, Type, Value};

/// A JSON string element was seen.
const KIND_STRING: u8 = 1;
/// A number.
const KIND_NUMBER: u8 = 2;
/// `true` or `false`.
const KIND_BOOL: u8 = 4;
/// An array or object (or the "array" was an object kept whole, nested too deep).
const KIND_NESTED: u8 = 8;

/// The name of the element field of a list.
pub const ITEM_NAME: &str = "item";

/// Mergeable inference state over the elements of the arrays of one field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ElementState {
    /// The non-null scalar elements.
    pub col: ColumnState,
    /// Null elements.
    pub nulls: u64,
    /// The JSON kinds seen (bit flags).
    kinds: u8,
}

impl ElementState {
    /// True when no later array can give the elements a type (nested, or mixed kinds).
    #[inline]
    pub fn is_settled_untyped(&self) -> bool {
        self.kinds & KIND_NESTED != 0 || self.mixed()
    }

    fn mixed(&self) -> bool {
        self.col.ty == Type::String && self.kinds & (KIND_NUMBER | KIND_BOOL) != 0
    }

    /// Adds the elements of one array as written (validated JSON; an object, which the
    /// flattening keeps whole below its depth limit, counts as nested). `text` is a buffer
    /// for decoded strings.
    pub fn observe_array(&mut self, raw: &[u8], text: &mut Vec<u8>) {
        if self.is_settled_untyped() {
            return;
        }
        let mut w = Walker::new(raw);
        if w.next() != Some(Event::BeginArray) {
            self.kinds |= KIND_NESTED;
            return;
        }
        loop {
            match w.next() {
                Some(Event::Null) => self.nulls += 1,
                Some(Event::Bool(b)) => {
                    self.kinds |= KIND_BOOL;
                    self.col.values += 1;
                    self.col.observe_value(Value::Boolean(b), b"");
                }
                Some(Event::Number(n)) => {
                    self.kinds |= KIND_NUMBER;
                    self.col.values += 1;
                    self.col.observe_value(classify_number(n), n);
                }
                Some(Event::String(s)) => {
                    self.kinds |= KIND_STRING;
                    self.col.values += 1;
                    if self.col.ty != Type::String {
                        let s = s.decode(text);
                        self.col.observe_value(json_string_value(s), s);
                    }
                }
                Some(Event::BeginArray | Event::BeginObject) => {
                    self.kinds |= KIND_NESTED;
                    return;
                }
                // The end of the array (or, on input that is not valid, the end of the walk).
                _ => return,
            }
            if self.mixed() {
                return;
            }
        }
    }

    /// Merges the state of the same field's arrays in another part of the input.
    pub fn merge(&mut self, other: ElementState) {
        self.nulls += other.nulls;
        self.kinds |= other.kinds;
        self.col.merge(other.col);
    }

    /// The elements' schema (named [`ITEM_NAME`]), or `None` when they have no one type.
    pub fn finish(&self) -> Option<FieldSchema> {
        if self.is_settled_untyped() {
            return None;
        }
        Some(
            self.col
                .finish(ITEM_NAME.to_owned(), self.col.values + self.nulls),
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
}
