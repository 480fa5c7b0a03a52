//! The Arrow schema of a table, from spate's exact inference (or a given schema).
//!
//! Each inferred field becomes one column; the rules (also in `docs/columnar.md`):
//!
//! | spate type | Arrow / Parquet type |
//! |---|---|
//! | boolean | `Boolean` / BOOLEAN |
//! | integer within `i64` | `Int64` / INT64 |
//! | integer beyond `i64`, at most 38 digits | `Decimal128(38, 0)` / DECIMAL(38,0) |
//! | integer of more than 38 digits | `Utf8` / STRING, the exact digits |
//! | float | `Float64` / DOUBLE (`NaN` and the infinities kept) |
//! | date | `Date32` / DATE |
//! | datetime, every value without a zone | `Timestamp(µs)` / TIMESTAMP(MICROS, not adjusted to UTC) |
//! | datetime with zones (or mixed shapes) | `Timestamp(µs, "UTC")` / TIMESTAMP(MICROS, adjusted to UTC) |
//! | string | `Utf8` / STRING |
//! | array (JSON), elements scalars of one type | `List<T>` / LIST of the elements' type |
//! | array (JSON) of objects, or of arrays whose elements have one type | `List<Struct<..>>`, `List<List<..>>` ([`crate::nested`]) |
//! | array (JSON), otherwise (mixed kinds) | `Utf8` / STRING holding the array's compact JSON text |
//! | null (every value null) | `Utf8` / STRING, all null |
//!
//! Nested objects are flattened as spate's inference flattens them: a column per leaf path,
//! named `a.b.c`. A column is nullable when the inference saw a null (or a missing field) in
//! it; with a given schema every column is nullable. A list's elements are nullable when a
//! null element was seen. With [`Arrays::Json`] (or a given schema whose `array` field names
//! no element type, `spate.items`) every array is JSON text.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};
use spate_csv::{Bound, Element, ElementField, FieldSchema, GivenSchema, Int, Schema, Type};

use crate::nested::{NestedField, NestedType};

/// The most digits a `Decimal128` holds.
pub const DECIMAL_DIGITS: u8 = 38;

/// How a column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ColumnType {
    Boolean,
    Int64,
    /// `Decimal128(38, 0)`: integers beyond `i64`.
    Decimal,
    Float64,
    Date,
    /// Microseconds since the epoch; `utc`: the values are instants (they had zones), else
    /// wall-clock times without a zone.
    Timestamp {
        utc: bool,
    },
    Utf8,
    /// A JSON array kept as its compact JSON text (a `Utf8` column).
    JsonText,
    /// JSON arrays whose elements are scalars of one type: `List<item>`; `nullable`: an
    /// element may be null.
    List {
        item: ItemType,
        nullable: bool,
    },
    /// JSON arrays of objects or of arrays (lists of structs, lists of lists, recursively):
    /// the type is the column's [`Column::nested`].
    Nested,
    /// A JSON object (a member holding one): `Struct<..>`, its fields the object's members
    /// (recursively); the type is the column's [`Column::nested`]. See [`crate::structs`].
    Struct,
}

/// The type of the elements of a list column: a scalar column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemType {
    Boolean,
    Int64,
    Decimal,
    Float64,
    Date,
    Timestamp { utc: bool },
    Utf8,
}

impl ItemType {
    /// The column type the elements are stored as.
    pub fn column(self) -> ColumnType {
        match self {
            ItemType::Boolean => ColumnType::Boolean,
            ItemType::Int64 => ColumnType::Int64,
            ItemType::Decimal => ColumnType::Decimal,
            ItemType::Float64 => ColumnType::Float64,
            ItemType::Date => ColumnType::Date,
            ItemType::Timestamp { utc } => ColumnType::Timestamp { utc },
            ItemType::Utf8 => ColumnType::Utf8,
        }
    }

    fn of(ty: ColumnType) -> Option<ItemType> {
        Some(match ty {
            ColumnType::Boolean => ItemType::Boolean,
            ColumnType::Int64 => ItemType::Int64,
            ColumnType::Decimal => ItemType::Decimal,
            ColumnType::Float64 => ItemType::Float64,
            ColumnType::Date => ItemType::Date,
            ColumnType::Timestamp { utc } => ItemType::Timestamp { utc },
            ColumnType::Utf8 => ItemType::Utf8,
            ColumnType::JsonText
            | ColumnType::List { .. }
            | ColumnType::Nested
            | ColumnType::Struct => return None,
        })
    }
}

/// How JSON arrays are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Arrays {
    /// As lists when their elements are scalars of one type (else JSON text).
    #[default]
    List,
    /// Always as their compact JSON text (a string column), as before lists existed.
    Json,
}

impl std::str::FromStr for Arrays {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "list" | "lists" => Ok(Arrays::List),
            "json" => Ok(Arrays::Json),
            _ => Err(format!("{s:?}: unknown way to store arrays (list, json)")),
        }
    }
}

/// The name of the element field of list columns (Arrow's and Parquet's usual one).
pub const LIST_ITEM: &str = "item";

impl ColumnType {
    /// The Arrow type.
    pub fn arrow(self) -> DataType {
        match self {
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Decimal => DataType::Decimal128(DECIMAL_DIGITS, 0),
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp { utc: true } => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            }
            ColumnType::Timestamp { utc: false } => {
                DataType::Timestamp(TimeUnit::Microsecond, None)
            }
            ColumnType::Utf8 | ColumnType::JsonText => DataType::Utf8,
            ColumnType::List { item, nullable } => DataType::List(Arc::new(Field::new(
                LIST_ITEM,
                item.column().arrow(),
                nullable,
            ))),
            // Its type is in the column (`Column::arrow_type`); alone, text.
            ColumnType::Nested | ColumnType::Struct => DataType::Utf8,
        }
    }

    /// The type's short name, for messages ("value \"x\" is not a valid integer").
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Boolean => "boolean",
            ColumnType::Int64 => "integer (64 bits)",
            ColumnType::Decimal => "integer of at most 38 digits",
            ColumnType::Float64 => "float",
            ColumnType::Date => "date",
            ColumnType::Timestamp { utc: true } => "datetime",
            ColumnType::Timestamp { utc: false } => "datetime without a zone",
            ColumnType::Utf8 => "string",
            ColumnType::JsonText => "array",
            ColumnType::List { .. } => "list",
            ColumnType::Nested => "nested list",
            ColumnType::Struct => "struct",
        }
    }

    /// What a value must be, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            ColumnType::Boolean => "a boolean",
            ColumnType::Int64 => "an integer within 64 bits",
            ColumnType::Decimal => "an integer of at most 38 digits",
            ColumnType::Float64 => "a number",
            ColumnType::Date => "a date (YYYY-MM-DD)",
            ColumnType::Timestamp { utc: true } => "a datetime",
            ColumnType::Timestamp { utc: false } => "a datetime without a zone",
            ColumnType::Utf8 => "a string",
            ColumnType::JsonText => "an array",
            ColumnType::List { .. } => "an array of scalars of the list's type",
            ColumnType::Nested => "an array of the list's type",
            ColumnType::Struct => "an object",
        }
    }
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
    pub nullable: bool,
    /// The type of a [`ColumnType::Nested`] column (a list) or of a [`ColumnType::Struct`]
    /// column; `None` for the others.
    pub nested: Option<Arc<NestedType>>,
}

impl Column {
    /// A column of a type that is not nested.
    pub fn new(name: &str, ty: ColumnType, nullable: bool) -> Column {
        Column {
            name: name.to_owned(),
            ty,
            nullable,
            nested: None,
        }
    }

    /// The Arrow type of the column.
    pub fn arrow_type(&self) -> DataType {
        match &self.nested {
            Some(n) if matches!(self.ty, ColumnType::Nested | ColumnType::Struct) => n.arrow(),
            _ => self.ty.arrow(),
        }
    }
}

/// The columns of a table, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableSchema {
    pub columns: Vec<Column>,
    /// JSON inputs: the flattened paths of the members that hold objects (see
    /// [`spate_csv::Schema::objects`]); a `null` there is the null of every column below it.
    pub objects: Vec<spate_csv::ObjectPath>,
    /// Whether objects are stored as struct columns ([`TableSchema::into_structs`]): a row's
    /// object at a column's path is then handed over whole.
    pub structs: bool,
}

impl TableSchema {
    /// From spate's inferred schema (exact types and nullability over the whole input);
    /// arrays as lists where their elements allow ([`Arrays::List`]).
    pub fn from_inferred(schema: &Schema) -> TableSchema {
        TableSchema::from_inferred_arrays(schema, Arrays::List)
    }

    /// [`TableSchema::from_inferred`], with arrays stored as `arrays` says.
    pub fn from_inferred_arrays(schema: &Schema, arrays: Arrays) -> TableSchema {
        TableSchema {
            objects: schema.objects.clone(),
            structs: false,
            columns: schema
                .fields
                .iter()
                .map(|f| {
                    let nullable = f.nullable() || f.values == 0;
                    match (f.ty, arrays, &f.items, &f.element) {
                        (Type::Array, Arrays::List, Some(items), _) => {
                            Column::new(&f.name, list_type(items), nullable)
                        }
                        (Type::Array, Arrays::List, None, Some(element)) => {
                            nested_column(&f.name, element, nullable, false)
                        }
                        _ => Column::new(&f.name, inferred_type(f), nullable),
                    }
                })
                .collect(),
        }
    }

    /// From a given schema (names and types only): every column nullable, integers `Int64`,
    /// datetimes instants in UTC (a value without a zone is read as UTC).
    pub fn from_given(given: &GivenSchema) -> TableSchema {
        TableSchema::from_given_arrays(given, Arrays::List)
    }

    /// [`TableSchema::from_given`]; an `array` field whose element type the schema names
    /// (`spate.items`) is a list (with [`Arrays::List`]), every element and struct field
    /// nullable.
    pub fn from_given_arrays(given: &GivenSchema, arrays: Arrays) -> TableSchema {
        let mut table = TableSchema::from_types(&given.fields);
        table.objects = crate::structs::dotted_prefixes(given.fields.iter().map(|(n, _)| n));
        if arrays == Arrays::List {
            for c in &mut table.columns {
                if c.ty != ColumnType::JsonText {
                    continue;
                }
                if let Some(element) = given.element_of(&c.name) {
                    *c = match &element.element {
                        Element::Scalar(items) => match ItemType::of(inferred_type(items)) {
                            Some(item) => Column::new(
                                &c.name,
                                ColumnType::List {
                                    item,
                                    nullable: true,
                                },
                                true,
                            ),
                            None => continue,
                        },
                        _ => nested_column(&c.name, element, true, true),
                    };
                }
            }
        }
        table
    }

    /// From names and spate types (every column nullable).
    pub fn from_types(fields: &[(String, Type)]) -> TableSchema {
        TableSchema {
            objects: Vec::new(),
            structs: false,
            columns: fields
                .iter()
                .map(|(name, ty)| {
                    let ty = match ty {
                        Type::Datetime => ColumnType::Timestamp { utc: true },
                        other => simple_type(*other),
                    };
                    Column::new(name, ty, true)
                })
                .collect(),
        }
    }

    /// The Arrow schema.
    pub fn arrow(&self) -> SchemaRef {
        Arc::new(ArrowSchema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.arrow_type(), c.nullable))
                .collect::<Vec<_>>(),
        ))
    }

    /// The index of a column by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

fn simple_type(ty: Type) -> ColumnType {
    match ty {
        Type::Boolean => ColumnType::Boolean,
        Type::Integer => ColumnType::Int64,
        Type::Float => ColumnType::Float64,
        Type::Date => ColumnType::Date,
        Type::Datetime => ColumnType::Timestamp { utc: true },
        Type::Array => ColumnType::JsonText,
        Type::Null | Type::String => ColumnType::Utf8,
    }
}

/// How the values of an inferred field (or element) are stored, by the rules above.
pub(crate) fn inferred_type(f: &FieldSchema) -> ColumnType {
    match f.ty {
        Type::Integer => integer_type(f.min.as_ref(), f.max.as_ref()),
        Type::Datetime => ColumnType::Timestamp {
            utc: datetime_has_zone(f.format),
        },
        other => simple_type(other),
    }
}

/// A column of `List<element>` (elements that are structs or lists); `given`: every value
/// nullable.
fn nested_column(name: &str, element: &ElementField, nullable: bool, given: bool) -> Column {
    Column {
        name: name.to_owned(),
        ty: ColumnType::Nested,
        nullable,
        nested: Some(Arc::new(NestedField::list_of(element, given))),
    }
}

/// The list type of an `array` field whose elements have one scalar type (`items`).
fn list_type(items: &FieldSchema) -> ColumnType {
    match ItemType::of(inferred_type(items)) {
        Some(item) => ColumnType::List {
            item,
            // As for columns: nullable when a null was seen, or when there was no value.
            nullable: items.nullable() || items.values == 0,
        },
        None => ColumnType::JsonText,
    }
}

/// `Int64` when both bounds fit; `Decimal(38, 0)` up to 38 digits; else the exact text.
fn integer_type(min: Option<&Bound>, max: Option<&Bound>) -> ColumnType {
    let digits = |b: Option<&Bound>| match b {
        Some(Bound::Int(Int::Big(s))) => Some(s.trim_start_matches('-').len()),
        _ => None,
    };
    match (digits(min), digits(max)) {
        (None, None) => ColumnType::Int64,
        (a, b) if a.unwrap_or(0).max(b.unwrap_or(0)) <= usize::from(DECIMAL_DIGITS) => {
            ColumnType::Decimal
        }
        _ => ColumnType::Utf8,
    }
}

/// True unless every value of the column has the same shape without a zone (the inference
/// names that shape with a strptime pattern without `%z`); mixed shapes (`any`) are instants,
/// a value without a zone read as UTC, as the inference orders them.
fn datetime_has_zone(format: &str) -> bool {
    !format.starts_with('%') || format.ends_with("%z") || format.ends_with('Z')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_widths() {
        let big = |s: &str| Bound::Int(Int::Big(s.into()));
        let small = Bound::Int(Int::Small(5));
        assert_eq!(integer_type(Some(&small), Some(&small)), ColumnType::Int64);
        assert_eq!(
            integer_type(Some(&small), Some(&big("99999999999999999999"))),
            ColumnType::Decimal
        );
        assert_eq!(
            integer_type(Some(&big(&format!("-{}", "9".repeat(38)))), Some(&small)),
            ColumnType::Decimal
        );
        assert_eq!(
            integer_type(Some(&small), Some(&big(&"9".repeat(39)))),
            ColumnType::Utf8
        );
    }

    #[test]
    fn zones() {
        assert!(datetime_has_zone("default"));
        assert!(datetime_has_zone("any"));
        assert!(datetime_has_zone("%Y-%m-%dT%H:%M:%S.%fZ"));
        assert!(datetime_has_zone("%Y-%m-%dT%H:%M:%S%z"));
        assert!(!datetime_has_zone("%Y-%m-%dT%H:%M:%S"));
        assert!(!datetime_has_zone("%Y-%m-%d %H:%M:%S.%f"));
    }
}
