//! The inferred schema of a table, and its Frictionless Table Schema form.

use serde_json::{json, Map, Value as Json};

use crate::column::{format_date, Bound, FieldSchema, Int};
use crate::nested::ElementField;
use crate::types::Type;

/// What kind of input the schema describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Csv {
        delimiter: u8,
        header: bool,
    },
    JsonLines,
    /// The items at a path of a JSON document.
    JsonItems {
        path: String,
    },
}

impl Format {
    pub fn name(&self) -> &'static str {
        match self {
            Format::Csv {
                delimiter: b'\t', ..
            } => "tsv",
            Format::Csv { .. } => "csv",
            Format::JsonLines => "jsonl",
            Format::JsonItems { .. } => "json",
        }
    }
}

/// The inferred schema: one [`FieldSchema`] per column (CSV) or field path (JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub fields: Vec<FieldSchema>,
    /// Rows (records, lines, items) read.
    pub rows: u64,
    pub format: Format,
    /// `--sample N`, when given.
    pub sample: Option<u64>,
    /// False when reading stopped before the end of the input (the sample was reached, or
    /// every column became a string with `--types-only`).
    pub complete: bool,
    /// The null tokens in force (CSV), the empty string first.
    pub null_tokens: Vec<String>,
    /// Bytes read.
    pub bytes: u64,
    /// JSON inputs: the members seen holding an object, in the order they were first seen.
    /// They tell which dots of a field's name are nesting, so a writer can rebuild the
    /// objects (struct columns) from the flattened fields; a path that is also a field was
    /// seen both as an object and as a value. Empty for CSV.
    pub objects: Vec<ObjectPath>,
}

/// A member that held an object (see [`Schema::objects`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath {
    /// Its flattened path (`a`, `a.b`).
    pub name: String,
    /// The index in [`Schema::fields`] of the first field first seen after it (so the
    /// member's place among the fields is known even when its first value was `null`).
    pub before: usize,
}

fn bound_json(b: &Bound) -> Json {
    match b {
        Bound::Int(Int::Small(i)) => json!(i),
        // Beyond i64: exact decimal text, as a string (JSON consumers would round a number).
        Bound::Int(Int::Big(s)) => json!(s.as_ref()),
        Bound::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Bound::Date(d) => json!(format_date(*d)),
        Bound::Text(t) => json!(t.as_ref()),
    }
}

impl Schema {
    /// The Frictionless Table Schema (`fields[]` with `name`, `type`, `format`,
    /// `constraints.required`; `missingValues`), with spate's statistics under `spate` keys:
    /// per field `type` (spate's name), `nullable`, `nulls`, `count`, `min`, `max`, `items`
    /// (an `array` field whose elements have one type: their type, [`crate::nested`]), and for
    /// the table `rows`, `format`, `delimiter` and `header` (CSV), `jsonPath` (JSON items),
    /// `complete`, `sample`, `bytes`.
    pub fn to_frictionless(&self) -> Json {
        let fields: Vec<Json> = self
            .fields
            .iter()
            .map(|f| {
                let mut stats = Map::new();
                stats.insert("type".into(), json!(f.ty.name()));
                stats.insert("nullable".into(), json!(f.nullable()));
                stats.insert("nulls".into(), json!(f.nulls));
                stats.insert("count".into(), json!(f.values));
                if let Some(m) = &f.min {
                    stats.insert("min".into(), bound_json(m));
                }
                if let Some(m) = &f.max {
                    stats.insert("max".into(), bound_json(m));
                }
                if f.ty == Type::Float {
                    stats.insert("nonFinite".into(), json!(f.non_finite));
                }
                if f.ty == Type::Boolean {
                    stats.insert("trues".into(), json!(f.trues));
                    stats.insert("falses".into(), json!(f.falses));
                }
                if let Some(element) = &f.element {
                    stats.insert("items".into(), element.to_json());
                }
                json!({
                    "name": f.name,
                    "type": f.ty.frictionless(),
                    "format": f.format,
                    "constraints": { "required": f.values > 0 && !f.nullable() },
                    "spate": stats,
                })
            })
            .collect();
        let mut table = Map::new();
        table.insert("rows".into(), json!(self.rows));
        table.insert("format".into(), json!(self.format.name()));
        match &self.format {
            Format::Csv { delimiter, header } => {
                table.insert("delimiter".into(), json!((*delimiter as char).to_string()));
                table.insert("header".into(), json!(header));
            }
            Format::JsonItems { path } => {
                table.insert("jsonPath".into(), json!(path));
            }
            Format::JsonLines => {}
        }
        table.insert("complete".into(), json!(self.complete));
        table.insert("sample".into(), json!(self.sample));
        table.insert("bytes".into(), json!(self.bytes));
        let mut out = Map::new();
        out.insert("fields".into(), Json::Array(fields));
        if !self.null_tokens.is_empty() {
            out.insert("missingValues".into(), json!(self.null_tokens));
        }
        out.insert("spate".into(), Json::Object(table));
        Json::Object(out)
    }
}

/// A schema serializes as its Frictionless Table Schema ([`Schema::to_frictionless`]), so that
/// every front end (the CLI's `--json`, a server, a Python module) shows the same JSON.
impl serde::Serialize for Schema {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_frictionless().serialize(serializer)
    }
}

/// A schema given by the user (`--schema FILE`): field names and types, read from a
/// Frictionless Table Schema (ours or anyone's; `number` is float, `any` is string).
#[derive(Debug, Clone, PartialEq)]
pub struct GivenSchema {
    pub fields: Vec<(String, Type)>,
    /// The element types of `array` fields that name them (`spate.items`, as
    /// [`Schema::to_frictionless`] writes it).
    pub elements: Vec<(String, ElementField)>,
}

/// Equality is reflexive: a given schema's element types carry no statistics (no float
/// bound that could be `NaN`).
impl Eq for GivenSchema {}

impl GivenSchema {
    /// Parses `{"fields": [{"name": .., "type": ..}, ..]}`.
    pub fn from_json(text: &[u8]) -> Result<GivenSchema, crate::Error> {
        let bad = |m: String| crate::Error::new(crate::ErrorKind::Schema(m));
        let v: Json = serde_json::from_slice(text).map_err(|e| bad(e.to_string()))?;
        let fields = v
            .get("fields")
            .and_then(Json::as_array)
            .ok_or_else(|| bad("no \"fields\" array".into()))?;
        let mut out = Vec::with_capacity(fields.len());
        let mut elements = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            let name = f
                .get("name")
                .and_then(Json::as_str)
                .ok_or_else(|| bad(format!("field {} has no \"name\"", i + 1)))?;
            let ty = match f.get("type").and_then(Json::as_str) {
                None | Some("any") => Type::String,
                Some(t) => Type::from_name(t)
                    .ok_or_else(|| bad(format!("field {name:?}: unknown type {t:?}")))?,
            };
            if ty == Type::Array {
                if let Some(items) = f.get("spate").and_then(|s| s.get("items")) {
                    let element = ElementField::from_json(items, crate::elements::ITEM_NAME, 0)
                        .map_err(|m| bad(format!("field {name:?}: {m}")))?;
                    elements.push((name.to_string(), element));
                }
            }
            out.push((
                name.to_string(),
                if ty == Type::Null { Type::String } else { ty },
            ));
        }
        Ok(GivenSchema {
            fields: out,
            elements,
        })
    }

    /// The element type of an `array` field, when the schema names one.
    pub fn element_of(&self, name: &str) -> Option<&ElementField> {
        self.elements
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| e)
    }

    /// The type of a field (string when not listed).
    pub fn type_of(&self, name: &str) -> Type {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map_or(Type::String, |(_, t)| *t)
    }
}
