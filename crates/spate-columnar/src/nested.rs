//! Nested columns: JSON arrays whose elements are objects (`List<Struct<..>>`) or arrays
//! (`List<List<..>>`), recursively, from the element types of spate's inference
//! ([`spate_csv::ElementField`]) or of a given schema.
//!
//! The types ([`NestedType`]) follow the rules of columns: a struct's field and a list's
//! elements are stored as a column of their type would be (integers as `Int64`,
//! `Decimal128(38, 0)` or text by their bounds, datetimes with or without a zone by their
//! shape, dates, floats), a field whose values share no type is their compact JSON text.
//! The [`NestedBuilder`] appends one JSON value at a time, read with spate-json's walker
//! (the value was validated by spate's scanner), and refuses a value that does not fit with
//! a message naming where it is (`element 3: field "tokens": "x" is not an integer within
//! 64 bits`).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, ListArray, StructArray};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer};
use arrow_schema::{DataType, Field, FieldRef, Fields};
use spate_csv::json::Leaf;
use spate_csv::{Element, ElementField};
use spate_json::walk::{Event, Walker};

use crate::builder::{append_scalar, ColumnBuilder, LIST_ELEMENT_BYTES};
use crate::schema::{inferred_type, ColumnType, LIST_ITEM};

/// The type of a nested value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NestedType {
    /// A scalar column type (`JsonText`: the values' compact JSON text).
    Scalar(ColumnType),
    /// `List<item>`.
    List(Box<NestedField>),
    /// `Struct<fields>`.
    Struct(Vec<NestedField>),
}

/// A named nested type: a list's elements (`item`) or a struct's field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NestedField {
    pub name: String,
    pub ty: NestedType,
    pub nullable: bool,
}

impl NestedType {
    /// The Arrow type.
    pub fn arrow(&self) -> DataType {
        match self {
            NestedType::Scalar(t) => t.arrow(),
            NestedType::List(item) => DataType::List(Arc::new(item.arrow())),
            NestedType::Struct(fields) => DataType::Struct(struct_fields(fields)),
        }
    }

    /// The type of an element type; `given`: every value nullable (a given schema's, read
    /// in one pass, cannot know).
    pub fn of(element: &Element, given: bool) -> NestedType {
        match element {
            Element::Scalar(f) => NestedType::Scalar(inferred_type(f)),
            Element::List(item) => NestedType::List(Box::new(NestedField::of(item, given))),
            Element::Struct(fields) => {
                NestedType::Struct(fields.iter().map(|f| NestedField::of(f, given)).collect())
            }
            Element::Json => NestedType::Scalar(ColumnType::JsonText),
        }
    }
}

impl NestedField {
    /// The Arrow field.
    pub fn arrow(&self) -> Field {
        Field::new(&self.name, self.ty.arrow(), self.nullable)
    }

    /// From an element type (see [`NestedType::of`]).
    pub fn of(element: &ElementField, given: bool) -> NestedField {
        NestedField {
            name: element.name.clone(),
            ty: NestedType::of(&element.element, given),
            nullable: given || element.nullable(),
        }
    }

    /// The list column type of an array field whose elements are `element`, named
    /// [`LIST_ITEM`].
    pub fn list_of(element: &ElementField, given: bool) -> NestedType {
        let mut item = NestedField::of(element, given);
        item.name = LIST_ITEM.to_owned();
        NestedType::List(Box::new(item))
    }
}

fn struct_fields(fields: &[NestedField]) -> Fields {
    fields.iter().map(NestedField::arrow).collect()
}

/// The buffers and the byte count shared by the nodes of one column's builder.
pub(crate) struct Ctx<'a> {
    /// Decoded strings and member names.
    pub text: &'a mut Vec<u8>,
    /// Compact JSON text.
    pub scratch: &'a mut Vec<u8>,
    /// Bytes of the batch (text, and [`LIST_ELEMENT_BYTES`] per value).
    pub bytes: &'a mut usize,
}

/// Builds the arrays of one nested type.
pub(crate) enum NestedBuilder {
    Scalar(ColumnType, ColumnBuilder),
    List(Box<ListNode>),
    Struct(Box<StructNode>),
}

pub(crate) struct ListNode {
    field: FieldRef,
    item: NestedBuilder,
    item_nullable: bool,
    offsets: Vec<i32>,
    validity: NullBufferBuilder,
}

pub(crate) struct StructNode {
    fields: Fields,
    names: Vec<String>,
    children: Vec<NestedBuilder>,
    nullable: Vec<bool>,
    index: HashMap<Box<[u8]>, usize>,
    /// The object (counted over the builder's life) that last set each field.
    stamp: Vec<u64>,
    /// The field tried first for the next member: the one after the last found (objects of
    /// one kind repeat their key order, so the hash lookup is rarely needed).
    guess: usize,
    objects: u64,
    validity: NullBufferBuilder,
}

/// What a value is, for messages.
fn what(event: &Event<'_>) -> &'static str {
    match event {
        Event::BeginArray => "an array",
        Event::BeginObject => "an object",
        Event::String(_) => "a string",
        Event::Number(_) => "a number",
        Event::Bool(_) => "a boolean",
        Event::Null => "null",
        _ => "a value",
    }
}

impl NestedBuilder {
    pub(crate) fn new(ty: &NestedType) -> NestedBuilder {
        match ty {
            NestedType::Scalar(t) => NestedBuilder::Scalar(*t, ColumnBuilder::new(*t)),
            NestedType::List(item) => NestedBuilder::List(Box::new(ListNode {
                field: Arc::new(item.arrow()),
                item: NestedBuilder::new(&item.ty),
                item_nullable: item.nullable,
                offsets: vec![0],
                validity: NullBufferBuilder::new(0),
            })),
            NestedType::Struct(fields) => NestedBuilder::Struct(Box::new(StructNode {
                fields: struct_fields(fields),
                names: fields.iter().map(|f| f.name.clone()).collect(),
                children: fields.iter().map(|f| NestedBuilder::new(&f.ty)).collect(),
                nullable: fields.iter().map(|f| f.nullable).collect(),
                index: fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (f.name.as_bytes().into(), i))
                    .collect(),
                stamp: vec![0; fields.len()],
                guess: 0,
                objects: 0,
                validity: NullBufferBuilder::new(0),
            })),
        }
    }

    /// Appends a null (the caller checked that one may be there).
    pub(crate) fn null(&mut self) {
        match self {
            NestedBuilder::Scalar(_, b) => b.null(),
            NestedBuilder::List(l) => {
                l.offsets
                    .push(*l.offsets.last().expect("offsets start at 0"));
                l.validity.append_null();
            }
            NestedBuilder::Struct(s) => {
                // Every field gets a slot, hidden by the struct's null.
                for c in &mut s.children {
                    c.null();
                }
                s.validity.append_null();
            }
        }
    }

    /// Appends one whole JSON value (validated) as written.
    pub(crate) fn append_raw(&mut self, raw: &[u8], ctx: &mut Ctx<'_>) -> Result<(), String> {
        let mut w = Walker::new(raw);
        match w.next() {
            Some(event) => self.append(event, &mut w, ctx),
            None => Err("no value".into()),
        }
    }

    /// Appends the value that began with `event` (null: the caller checked that it may be).
    fn append(
        &mut self,
        event: Event<'_>,
        w: &mut Walker<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        *ctx.bytes += LIST_ELEMENT_BYTES;
        if event == Event::Null {
            self.null();
            return Ok(());
        }
        match self {
            NestedBuilder::Scalar(ty, b) => scalar(*ty, b, event, w, ctx),
            NestedBuilder::List(l) => {
                if event != Event::BeginArray {
                    return Err(format!("{} is not an array", what(&event)));
                }
                let mut n: usize = 0;
                loop {
                    let item = match w.next() {
                        Some(Event::EndArray) | None => break,
                        Some(Event::Null) if !l.item_nullable => Err(
                            "null, but the list's elements had no nulls (did the input change \
                             between the passes?)"
                                .to_string(),
                        ),
                        Some(e) => l.item.append(e, w, ctx),
                    };
                    item.map_err(|m| format!("element {}: {m}", n + 1))?;
                    n += 1;
                }
                let end = i32::try_from(l.offsets.last().copied().unwrap_or(0) as usize + n)
                    .map_err(|_| {
                        "more list elements in one batch than 32-bit offsets hold".to_string()
                    })?;
                l.offsets.push(end);
                l.validity.append_non_null();
                Ok(())
            }
            NestedBuilder::Struct(s) => {
                if event != Event::BeginObject {
                    return Err(format!("{} is not an object", what(&event)));
                }
                s.objects += 1;
                let object = s.objects;
                s.guess = 0;
                while let Some(Event::Key(key)) = w.next() {
                    let name = key.decode(ctx.text);
                    let found = match s.names.get(s.guess) {
                        Some(n) if n.as_bytes() == name => Some(s.guess),
                        _ => s.index.get(name).copied(),
                    };
                    let Some(i) = found else {
                        let name = String::from_utf8_lossy(name).into_owned();
                        // An object without any value (`{}`, `{"a": {}}`) has no field:
                        // nothing is left out by stepping over it.
                        if w.next() == Some(Event::BeginObject) && holds_no_value(w) {
                            continue;
                        }
                        return Err(format!("field {name:?} is not in the schema"));
                    };
                    if s.stamp[i] == object {
                        return Err(format!("field {:?} appears twice", s.names[i]));
                    }
                    s.stamp[i] = object;
                    s.guess = i + 1;
                    let value = w.next().ok_or_else(|| "a truncated object".to_string())?;
                    let set = if value == Event::Null && !s.nullable[i] {
                        Err(
                            "null, but the field had no nulls (did the input change between \
                             the passes?)"
                                .to_string(),
                        )
                    } else {
                        s.children[i].append(value, w, ctx)
                    };
                    set.map_err(|m| format!("field {:?}: {m}", s.names[i]))?;
                }
                for i in 0..s.children.len() {
                    if s.stamp[i] != object {
                        if !s.nullable[i] {
                            return Err(format!(
                                "field {:?}: missing, but the field was in every object (did \
                                 the input change between the passes?)",
                                s.names[i]
                            ));
                        }
                        s.children[i].null();
                    }
                }
                s.validity.append_non_null();
                Ok(())
            }
        }
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        match self {
            NestedBuilder::Scalar(_, b) => b.finish(),
            NestedBuilder::List(l) => {
                let offsets = std::mem::replace(&mut l.offsets, vec![0]);
                Arc::new(ListArray::new(
                    l.field.clone(),
                    OffsetBuffer::new(offsets.into()),
                    l.item.finish(),
                    l.validity.finish(),
                ))
            }
            NestedBuilder::Struct(s) => {
                let arrays: Vec<ArrayRef> = s.children.iter_mut().map(|c| c.finish()).collect();
                Arc::new(StructArray::new(
                    s.fields.clone(),
                    arrays,
                    s.validity.finish(),
                ))
            }
        }
    }
}

/// Steps over the rest of an object whose `{` was just read; true when it held nothing but
/// objects (no scalar, no array, at any depth).
fn holds_no_value(w: &mut Walker<'_>) -> bool {
    let mut depth = 1usize;
    while depth > 0 {
        match w.next() {
            Some(Event::BeginObject) => depth += 1,
            Some(Event::EndObject) => depth -= 1,
            Some(Event::Key(_)) => {}
            _ => return false,
        }
    }
    true
}

/// A scalar value (not null) into a builder of type `ty`. JSON text keeps any value as its
/// compact JSON; a string column takes a number's or a boolean's text, and an array's or an
/// object's compact JSON, as a column does.
fn scalar(
    ty: ColumnType,
    b: &mut ColumnBuilder,
    event: Event<'_>,
    w: &mut Walker<'_>,
    ctx: &mut Ctx<'_>,
) -> Result<(), String> {
    let leaf = match event {
        Event::BeginArray | Event::BeginObject => {
            let raw = w.skip_container().unwrap_or_default();
            if !matches!(ty, ColumnType::Utf8 | ColumnType::JsonText) {
                return Err(format!("{} is not {}", what(&event), ty.describe()));
            }
            ctx.scratch.clear();
            spate_json::compact::compact_into(raw, ctx.scratch);
            return b.text(ctx.scratch, ctx.bytes);
        }
        Event::String(s) if ty == ColumnType::JsonText => {
            ctx.scratch.clear();
            ctx.scratch.push(b'"');
            ctx.scratch.extend_from_slice(s.raw());
            ctx.scratch.push(b'"');
            return b.text(ctx.scratch, ctx.bytes);
        }
        Event::Number(n) if ty == ColumnType::JsonText => return b.text(n, ctx.bytes),
        Event::Bool(v) if ty == ColumnType::JsonText => {
            return b.text(if v { b"true" } else { b"false" }, ctx.bytes)
        }
        Event::Bool(v) => Leaf::Bool(v),
        Event::Number(n) => Leaf::Number(n),
        Event::String(s) => Leaf::String(s.decode(ctx.text)),
        _ => return Err(format!("{} is not {}", what(&event), ty.describe())),
    };
    append_scalar(b, ty, true, leaf, ctx.bytes)
}
