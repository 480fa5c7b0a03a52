//! Appending rows to Arrow arrays and cutting them into record batches of bounded size.
//!
//! A [`BatchBuilder`] takes rows one at a time: JSON values (validated by spate's scanner,
//! flattened as spate's inference flattens them) or CSV records, each value read by the
//! column's type. A value that does not fit is a [`Fault`] naming the column; the caller adds
//! the position. After a fault the builder is left in an undefined state: the run ends.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder,
    TimestampMicrosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, ListArray, RecordBatch, StringArray};
use arrow_buffer::{Buffer, MutableBuffer, NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{Field, FieldRef, SchemaRef};
use spate_csv::json::{Flattener, JsonVisitor, Leaf};
use spate_csv::split::{unescape, FieldRange};
use spate_csv::{ErrorKind, NullTokens};
use spate_json::walk::{Event, Walker};

use crate::nested::{Ctx, NestedBuilder, NestedType};
use crate::schema::{ColumnType, TableSchema, DECIMAL_DIGITS, LIST_ITEM};
use crate::value::{self, excerpt, Stored};

/// Rows per batch unless told otherwise.
pub const DEFAULT_BATCH_ROWS: usize = 65_536;
/// A batch is cut early once its text and binary values reach this many bytes (so that a
/// batch of long strings stays bounded, and `Utf8` offsets never overflow). Each element of
/// a list counts [`LIST_ELEMENT_BYTES`] more. Small enough that several batches fit in what
/// may wait for Parquet's encoding threads (`crate::encode`), so that two row groups are
/// encoded side by side: with 8 MB batches one batch filled that allowance, and the row
/// groups were encoded one after the other.
pub const DEFAULT_BATCH_BYTES: usize = 2 << 20;
/// What each list element counts toward [`DEFAULT_BATCH_BYTES`] besides its text (its value
/// or offset, and the list's offset), so that a batch of long lists stays bounded too.
pub const LIST_ELEMENT_BYTES: usize = 8;

/// The text of a batch's string columns, given back once the batch is written
/// ([`recycle_text`]) and taken by the next batches' string columns. A batch's text is most
/// of its memory, and a fresh buffer per batch was a fresh mapping whose every page faulted
/// in and was unmapped again: a third of a conversion's page faults (the Parquet encoders'
/// page buffers and zstd's tables are most of the rest). Process-wide, at most
/// [`RECYCLED_KEPT`] buffers, each at most four times the batch cap.
static RECYCLED_TEXT: Mutex<Vec<MutableBuffer>> = Mutex::new(Vec::new());
/// Buffers kept by [`RECYCLED_TEXT`] at most.
const RECYCLED_KEPT: usize = 2;

/// Gives the text buffers of a written batch back for the next batches (those no one else
/// holds: a buffer still shared with a slice of the batch elsewhere is just dropped).
pub fn recycle_text(batch: RecordBatch) {
    let texts: Vec<Buffer> = batch
        .columns()
        .iter()
        .filter_map(|c| c.as_string_opt::<i32>().map(|a| a.values().clone()))
        .collect();
    drop(batch);
    for text in texts {
        let Ok(mut buffer) = text.into_mutable() else {
            continue;
        };
        if !(DEFAULT_BATCH_BYTES / 4..=4 * DEFAULT_BATCH_BYTES).contains(&buffer.capacity()) {
            continue;
        }
        buffer.clear();
        if let Ok(mut kept) = RECYCLED_TEXT.lock() {
            if kept.len() < RECYCLED_KEPT {
                kept.push(buffer);
            }
        }
    }
}

/// An empty buffer for a string column's text: a recycled one when there is one.
fn text_buffer() -> MutableBuffer {
    RECYCLED_TEXT
        .lock()
        .ok()
        .and_then(|mut kept| kept.pop())
        .unwrap_or_else(|| MutableBuffer::new(0))
}

/// A string column being built: Arrow's `StringBuilder`, on a buffer that may be recycled
/// ([`recycle_text`]).
pub(crate) struct TextBuilder {
    values: MutableBuffer,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
}

impl TextBuilder {
    pub(crate) fn new() -> Self {
        TextBuilder {
            values: MutableBuffer::new(0),
            offsets: vec![0],
            nulls: NullBufferBuilder::new(0),
        }
    }

    fn end_value(&mut self) {
        // (a batch is cut at DEFAULT_BATCH_BYTES, and one value is at most the item size
        // limit, far under 2 GiB unless it was raised that far: Arrow's StringBuilder
        // panics there too)
        let end = i32::try_from(self.values.len()).expect("a batch's text under 2 GiB");
        self.offsets.push(end);
    }

    pub(crate) fn append_value(&mut self, value: &str) {
        self.values.extend_from_slice(value.as_bytes());
        self.end_value();
        self.nulls.append_non_null();
    }

    pub(crate) fn append_null(&mut self) {
        self.end_value();
        self.nulls.append_null();
    }

    pub(crate) fn finish(&mut self) -> StringArray {
        // (only a column whose text is large takes a recycled buffer: a short one would
        // hold it, and its capacity counts against the memory of batches in flight)
        let next = match self.values.len() >= DEFAULT_BATCH_BYTES / 8 {
            true => text_buffer(),
            false => MutableBuffer::new(0),
        };
        let values: Buffer = std::mem::replace(&mut self.values, next).into();
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let nulls = self.nulls.finish();
        // SAFETY: the offsets start at 0 and never decrease, the last is the text's length,
        // and every value appended was a `&str`: the text at every offset is UTF-8.
        unsafe {
            StringArray::new_unchecked(
                OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)),
                values,
                nulls,
            )
        }
    }
}

/// A value that does not fit the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The column (or the field's path, for a field the schema does not have).
    pub column: String,
    /// What is wrong.
    pub message: String,
    /// The field is not in the schema.
    pub unknown: bool,
}

pub(crate) enum ColumnBuilder {
    Bool(BooleanBuilder),
    I64(Int64Builder),
    I128(Decimal128Builder),
    F64(Float64Builder),
    Date(Date32Builder),
    Micros(TimestampMicrosecondBuilder),
    Text(TextBuilder),
    List(Box<ListColumn>),
    /// Structs, lists of structs or of lists ([`crate::nested`]).
    Nested(Box<NestedColumn>),
}

/// A nested column being built, with its buffers.
pub(crate) struct NestedColumn {
    root: NestedBuilder,
    text: Vec<u8>,
    scratch: Vec<u8>,
}

impl NestedColumn {
    fn append_raw(&mut self, raw: &[u8], bytes: &mut usize) -> Result<(), String> {
        let mut ctx = Ctx {
            text: &mut self.text,
            scratch: &mut self.scratch,
            bytes,
        };
        self.root.append_raw(raw, &mut ctx)
    }
}

/// A list column being built: its elements in one builder of the element type, the offsets
/// and validity of the lists.
pub(crate) struct ListColumn {
    field: FieldRef,
    item: ColumnType,
    item_nullable: bool,
    values: ColumnBuilder,
    offsets: Vec<i32>,
    validity: NullBufferBuilder,
    /// Decoded strings of elements.
    text: Vec<u8>,
}

impl ListColumn {
    fn new(item: ColumnType, item_nullable: bool) -> ListColumn {
        ListColumn {
            field: Arc::new(Field::new(LIST_ITEM, item.arrow(), item_nullable)),
            item,
            item_nullable,
            values: ColumnBuilder::new(item),
            offsets: vec![0],
            validity: NullBufferBuilder::new(0),
            text: Vec::new(),
        }
    }

    fn null(&mut self) {
        self.offsets
            .push(*self.offsets.last().expect("offsets start at 0"));
        self.validity.append_null();
    }

    /// Appends one JSON array (validated) whose elements are scalars of the item type.
    fn array(&mut self, raw: &[u8], bytes: &mut usize) -> Result<(), String> {
        let mut w = Walker::new(raw);
        if w.next() != Some(Event::BeginArray) {
            return Err("an object is not an array".into());
        }
        let mut n: usize = 0;
        loop {
            let leaf = match w.next() {
                Some(Event::EndArray) | None => break,
                Some(Event::Null) if !self.item_nullable => {
                    return Err(format!(
                        "element {}: null, but the list's elements had none",
                        n + 1
                    ))
                }
                Some(Event::Null) => Leaf::Null,
                Some(Event::Bool(b)) => Leaf::Bool(b),
                Some(Event::Number(x)) => Leaf::Number(x),
                Some(Event::String(s)) => Leaf::String(s.decode(&mut self.text)),
                Some(_) => {
                    return Err(format!(
                        "an array holding an array or an object is not a list of {}",
                        self.item.name()
                    ))
                }
            };
            append_scalar(&mut self.values, self.item, self.item_nullable, leaf, bytes)
                .map_err(|m| format!("element {}: {m}", n + 1))?;
            n += 1;
        }
        let end = i32::try_from(self.offsets.last().copied().unwrap_or(0) as usize + n)
            .map_err(|_| "more list elements in one batch than 32-bit offsets hold".to_string())?;
        self.offsets.push(end);
        self.validity.append_non_null();
        *bytes += (n + 1) * LIST_ELEMENT_BYTES;
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        Arc::new(ListArray::new(
            self.field.clone(),
            OffsetBuffer::new(offsets.into()),
            self.values.finish(),
            self.validity.finish(),
        ))
    }
}

/// Appends one scalar (or null) to a builder of type `ty`; `Err`: why it does not fit.
pub(crate) fn append_scalar(
    b: &mut ColumnBuilder,
    ty: ColumnType,
    nullable: bool,
    leaf: Leaf<'_>,
    bytes: &mut usize,
) -> Result<(), String> {
    match (b, leaf) {
        (b, Leaf::Null) => {
            if !nullable {
                return Err("null, but the column has no nulls".into());
            }
            b.null();
        }
        (ColumnBuilder::Bool(b), Leaf::Bool(v)) => b.append_value(v),
        (ColumnBuilder::Text(b), Leaf::Bool(v)) if ty == ColumnType::Utf8 => {
            b.append_value(if v { "true" } else { "false" })
        }
        (ColumnBuilder::Text(b), Leaf::Number(text)) if ty == ColumnType::Utf8 => {
            // A number in a string column keeps its text as written.
            *bytes += text.len();
            b.append_value(std::str::from_utf8(text).unwrap_or_default());
        }
        (b, Leaf::Number(text)) => b.stored(value::number(text, ty)?),
        (ColumnBuilder::Text(b), Leaf::String(s)) => {
            let s =
                std::str::from_utf8(s).map_err(|_| format!("{} is not valid UTF-8", excerpt(s)))?;
            *bytes += s.len();
            b.append_value(s);
        }
        (b, Leaf::String(s)) => b.stored(value::text(s, ty, true)?),
        (_, Leaf::Bool(v)) => return Err(format!("{v} is not {}", ty.describe())),
        (_, Leaf::Array(_)) => return Err(format!("an array is not {}", ty.describe())),
    }
    Ok(())
}

impl ColumnBuilder {
    /// A builder of a column of type `ty` (a nested column: of `nested`).
    pub(crate) fn of(ty: ColumnType, nested: Option<&NestedType>) -> ColumnBuilder {
        match nested {
            Some(n) if matches!(ty, ColumnType::Nested | ColumnType::Struct) => {
                ColumnBuilder::Nested(Box::new(NestedColumn {
                    root: NestedBuilder::new(n),
                    text: Vec::new(),
                    scratch: Vec::new(),
                }))
            }
            _ => ColumnBuilder::new(ty),
        }
    }

    /// Appends a text value (a string column's).
    pub(crate) fn text(&mut self, text: &[u8], bytes: &mut usize) -> Result<(), String> {
        let ColumnBuilder::Text(b) = self else {
            return Err("text for a column that is not a string".into());
        };
        let s = std::str::from_utf8(text)
            .map_err(|_| format!("{} is not valid UTF-8", excerpt(text)))?;
        *bytes += s.len();
        b.append_value(s);
        Ok(())
    }

    pub(crate) fn new(ty: ColumnType) -> ColumnBuilder {
        match ty {
            ColumnType::Boolean => ColumnBuilder::Bool(BooleanBuilder::new()),
            ColumnType::Int64 => ColumnBuilder::I64(Int64Builder::new()),
            ColumnType::Decimal => ColumnBuilder::I128(
                Decimal128Builder::new()
                    .with_precision_and_scale(DECIMAL_DIGITS, 0)
                    .expect("38 digits, scale 0 is a valid decimal"),
            ),
            ColumnType::Float64 => ColumnBuilder::F64(Float64Builder::new()),
            ColumnType::Date => ColumnBuilder::Date(Date32Builder::new()),
            ColumnType::Timestamp { utc } => {
                let b = TimestampMicrosecondBuilder::new();
                ColumnBuilder::Micros(if utc { b.with_timezone("UTC") } else { b })
            }
            // (A nested column without its type: text, never reached; see `of`.)
            ColumnType::Utf8 | ColumnType::JsonText | ColumnType::Nested | ColumnType::Struct => {
                ColumnBuilder::Text(TextBuilder::new())
            }
            ColumnType::List { item, nullable } => {
                ColumnBuilder::List(Box::new(ListColumn::new(item.column(), nullable)))
            }
        }
    }

    pub(crate) fn null(&mut self) {
        match self {
            ColumnBuilder::Bool(b) => b.append_null(),
            ColumnBuilder::I64(b) => b.append_null(),
            ColumnBuilder::I128(b) => b.append_null(),
            ColumnBuilder::F64(b) => b.append_null(),
            ColumnBuilder::Date(b) => b.append_null(),
            ColumnBuilder::Micros(b) => b.append_null(),
            ColumnBuilder::Text(b) => b.append_null(),
            ColumnBuilder::List(b) => b.null(),
            ColumnBuilder::Nested(b) => b.root.null(),
        }
    }

    fn stored(&mut self, v: Stored) {
        match (self, v) {
            (ColumnBuilder::Bool(b), Stored::Bool(x)) => b.append_value(x),
            (ColumnBuilder::I64(b), Stored::I64(x)) => b.append_value(x),
            (ColumnBuilder::I128(b), Stored::I128(x)) => b.append_value(x),
            (ColumnBuilder::F64(b), Stored::F64(x)) => b.append_value(x),
            (ColumnBuilder::Date(b), Stored::Date(x)) => b.append_value(x),
            (ColumnBuilder::Micros(b), Stored::Micros(x)) => b.append_value(x),
            _ => unreachable!("values are converted for their column's type"),
        }
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::I64(b) => Arc::new(b.finish()),
            ColumnBuilder::I128(b) => Arc::new(b.finish()),
            ColumnBuilder::F64(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Micros(b) => Arc::new(b.finish()),
            ColumnBuilder::Text(b) => Arc::new(b.finish()),
            ColumnBuilder::List(b) => b.finish(),
            ColumnBuilder::Nested(b) => b.root.finish(),
        }
    }
}

/// Builds record batches from rows. See the module docs.
pub struct BatchBuilder {
    schema: SchemaRef,
    table: TableSchema,
    builders: Vec<ColumnBuilder>,
    index: HashMap<Box<[u8]>, usize>,
    /// The paths that held objects: a `null` there sets nothing (the columns below it are
    /// null, or the struct column there is).
    objects: HashSet<Box<[u8]>>,
    /// Where the next field of a row likely is (rows usually repeat the key order).
    cursor: usize,
    /// The row (1-based, over the builder's life) that last set each column.
    stamp: Vec<u64>,
    row: u64,
    rows: usize,
    bytes: usize,
    max_rows: usize,
    max_bytes: usize,
    fault: Option<Fault>,
    flattener: Flattener,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for BatchBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("columns", &self.table.columns.len())
            .field("rows", &self.rows)
            .finish()
    }
}

impl BatchBuilder {
    /// A builder of batches of `table`, cut at `max_rows` rows or [`DEFAULT_BATCH_BYTES`].
    pub fn new(table: TableSchema, max_rows: usize) -> BatchBuilder {
        let index = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_bytes().into(), i))
            .collect();
        BatchBuilder {
            schema: table.arrow(),
            objects: table
                .objects
                .iter()
                .map(|o| o.name.as_bytes().into())
                .collect(),
            builders: table
                .columns
                .iter()
                .map(|c| ColumnBuilder::of(c.ty, c.nested.as_deref()))
                .collect(),
            stamp: vec![0; table.columns.len()],
            table,
            index,
            cursor: 0,
            row: 0,
            rows: 0,
            bytes: 0,
            max_rows: max_rows.max(1),
            max_bytes: DEFAULT_BATCH_BYTES,
            fault: None,
            flattener: Flattener::default(),
            scratch: Vec::new(),
        }
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The columns.
    pub fn table(&self) -> &TableSchema {
        &self.table
    }

    /// Rows in the batch being built.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when no row waits.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// True when the batch should be cut now.
    pub fn is_full(&self) -> bool {
        self.rows >= self.max_rows || self.bytes >= self.max_bytes
    }

    /// Appends one JSON value (validated; objects flattened into `a.b` paths; a value that is
    /// not an object is the column `value`). A missing field is a null.
    pub fn push_json(&mut self, raw: &[u8]) -> Result<(), Fault> {
        self.row += 1;
        self.cursor = 0;
        let mut flattener = std::mem::take(&mut self.flattener);
        flattener.flatten(raw, self);
        self.flattener = flattener;
        if let Some(f) = self.fault.take() {
            return Err(f);
        }
        self.end_row()
    }

    /// Appends one CSV record (fields index into `buf`): field `i` is column `i`; a null
    /// token or a missing field is a null. Errors are spate-csv's, with the 0-based field.
    pub fn push_csv(
        &mut self,
        buf: &[u8],
        fields: &[FieldRange],
        nulls: &NullTokens,
    ) -> Result<(), (Option<usize>, ErrorKind)> {
        self.row += 1;
        if fields.len() > self.builders.len() {
            return Err((
                None,
                ErrorKind::Ragged {
                    expected: self.builders.len(),
                    found: fields.len(),
                    record: spate_csv::split::excerpt(buf, fields),
                },
            ));
        }
        for (i, f) in fields.iter().enumerate() {
            let raw = &buf[f.start..f.end];
            if nulls.is_null(raw) {
                continue;
            }
            let text = unescape(raw, f.quoted);
            self.stamp[i] = self.row;
            let ty = self.table.columns[i].ty;
            if let ColumnBuilder::Text(b) = &mut self.builders[i] {
                let s =
                    std::str::from_utf8(&text).map_err(|_| (Some(i), ErrorKind::InvalidUtf8))?;
                self.bytes += s.len();
                b.append_value(s);
                continue;
            }
            match value::text(&text, ty, false) {
                Ok(v) => self.builders[i].stored(v),
                Err(_) => {
                    return Err((
                        Some(i),
                        ErrorKind::BadValue {
                            value: String::from_utf8_lossy(&text).into_owned(),
                            expected: ty.name(),
                        },
                    ))
                }
            }
        }
        self.end_row().map_err(|f| {
            let i = self.table.index_of(&f.column);
            (
                i,
                ErrorKind::BadValue {
                    value: String::new(),
                    expected: "non-null value (the column had no nulls when its type was inferred)",
                },
            )
        })
    }

    /// Nulls for the columns the row did not set.
    fn end_row(&mut self) -> Result<(), Fault> {
        let row = self.row;
        for (i, b) in self.builders.iter_mut().enumerate() {
            if self.stamp[i] != row {
                if !self.table.columns[i].nullable {
                    return Err(Fault {
                        column: self.table.columns[i].name.clone(),
                        message: "null or missing, but the column has no nulls (did the input \
                                  change between the passes?)"
                            .into(),
                        unknown: false,
                    });
                }
                b.null();
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Cuts the rows so far into a batch (`None` when there are none).
    pub fn finish(&mut self) -> Result<Option<RecordBatch>, arrow_schema::ArrowError> {
        if self.rows == 0 {
            return Ok(None);
        }
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(|b| b.finish()).collect();
        self.rows = 0;
        self.bytes = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).map(Some)
    }

    /// The column of a path, by the cursor or the index.
    #[inline]
    fn column_of(&mut self, path: &[u8]) -> Option<usize> {
        let i = match self.table.columns.get(self.cursor) {
            Some(c) if c.name.as_bytes() == path => self.cursor,
            _ => *self.index.get(path)?,
        };
        self.cursor = i + 1;
        Some(i)
    }

    fn fault(&self, i: usize, message: String) -> Fault {
        Fault {
            column: self.table.columns[i].name.clone(),
            message,
            unknown: false,
        }
    }

    fn leaf_inner(&mut self, i: usize, leaf: Leaf<'_>) -> Result<(), Fault> {
        let column = &self.table.columns[i];
        let (ty, nullable) = (column.ty, column.nullable);
        let result = match (&mut self.builders[i], leaf) {
            (ColumnBuilder::Text(b), Leaf::Array(raw)) => {
                self.scratch.clear();
                spate_json::compact::compact_into(raw, &mut self.scratch);
                self.bytes += self.scratch.len();
                b.append_value(std::str::from_utf8(&self.scratch).unwrap_or_default());
                Ok(())
            }
            (ColumnBuilder::List(b), Leaf::Array(raw)) => b.array(raw, &mut self.bytes),
            (ColumnBuilder::Nested(b), Leaf::Array(raw)) => b.append_raw(raw, &mut self.bytes),
            (ColumnBuilder::Nested(_), leaf) if leaf != Leaf::Null => Err(format!(
                "{} is not {}",
                leaf_name(&leaf),
                if ty == ColumnType::Struct {
                    "an object"
                } else {
                    "an array"
                }
            )),
            (b, leaf) => append_scalar(b, ty, nullable, leaf, &mut self.bytes),
        };
        result.map_err(|message| self.fault(i, message))
    }
}

/// What a leaf is, for messages.
fn leaf_name(leaf: &Leaf<'_>) -> &'static str {
    match leaf {
        Leaf::Null => "null",
        Leaf::Bool(_) => "a boolean",
        Leaf::Number(_) => "a number",
        Leaf::String(_) => "a string",
        Leaf::Array(_) => "an array",
    }
}

impl JsonVisitor for BatchBuilder {
    #[inline]
    fn leaf(&mut self, path: &[u8], leaf: Leaf<'_>) {
        if self.fault.is_some() {
            return;
        }
        let Some(i) = self.column_of(path) else {
            if leaf == Leaf::Null && self.objects.contains(path) {
                // A null object: the columns below it stay null.
                return;
            }
            self.fault = Some(Fault {
                column: String::from_utf8_lossy(path).into_owned(),
                message: "not in the schema".into(),
                unknown: true,
            });
            return;
        };
        if self.stamp[i] == self.row {
            self.fault = Some(self.fault(i, "the field appears twice in one row".into()));
            return;
        }
        self.stamp[i] = self.row;
        if let Err(f) = self.leaf_inner(i, leaf) {
            self.fault = Some(f);
        }
    }

    /// With struct columns, an object at a column's path goes to that column whole.
    #[inline]
    fn whole(&mut self, path: &[u8]) -> bool {
        self.table.structs && self.index.contains_key(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    /// A batch's large text buffer, given back once written, carries the next batch's text;
    /// a short column does not take it; every value reads back as written.
    #[test]
    fn text_buffers_are_recycled_and_values_stay_whole() {
        let table = TableSchema::from_types(&[
            ("long".to_string(), spate_csv::Type::String),
            ("short".to_string(), spate_csv::Type::String),
        ]);
        let mut builder = BatchBuilder::new(table, 1_000_000);
        let row = |i: usize| {
            let long = format!("{i}:{}", "é".repeat(700 + i % 300));
            let json = serde_json::json!({"long": long, "short": i.to_string()});
            (long, serde_json::to_vec(&json).unwrap())
        };
        let mut first_text_at = None;
        let mut reused = 0;
        let mut next = 0;
        for _ in 0..6 {
            let mut want = Vec::new();
            while !builder.is_full() {
                let (long, raw) = row(next);
                builder.push_json(&raw).unwrap();
                want.push(long);
                next += 1;
            }
            let batch = builder.finish().unwrap().unwrap();
            let long = batch.column(0).as_string::<i32>();
            let short = batch.column(1).as_string::<i32>();
            assert_eq!(long.len(), want.len());
            for (r, w) in want.iter().enumerate() {
                assert_eq!(long.value(r), w);
            }
            assert!(short.values().capacity() < DEFAULT_BATCH_BYTES / 8);
            let at = long.values().as_ptr();
            match first_text_at {
                None => first_text_at = Some(at),
                Some(p) if p == at => reused += 1,
                Some(_) => {}
            }
            recycle_text(batch);
        }
        // (other tests may take the process-wide buffers too, so not every time)
        assert!(reused > 0, "the text buffer was never reused");
    }
}
