//! The inferred (or given) type of the values inside JSON arrays: scalars, lists (arrays of
//! arrays) and structs (arrays of objects, the union of their keys), recursively.
//!
//! [`crate::elements::ElementState`] infers it exactly over every element of every array of a
//! field; a columnar writer stores the field as a list of it. It is also written into, and
//! read from, a Frictionless Table Schema: an `array` field carries `spate.items`, an
//! [`ElementField::to_json`] descriptor (`{"type": "integer", "nullable": false}`,
//! `{"type": "array", "nullable": true, "items": {..}}`, `{"type": "object", "nullable":
//! false, "fields": [{"name": "a", ..}, ..]}`; `"any"` is JSON text).

use serde_json::{json, Map, Value as Json};

use crate::column::{ColumnState, FieldSchema};
use crate::types::Type;

/// The type of the values at one place below an array field.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    /// Scalars (or only nulls: type `null`), with a column's statistics: the type, the
    /// bounds and the datetime format decide how they are stored, as for a column.
    Scalar(FieldSchema),
    /// Arrays whose elements have one type.
    List(Box<ElementField>),
    /// Objects: one field per key seen in any of them, in order of first appearance; a key
    /// missing from an object is a null.
    Struct(Vec<ElementField>),
    /// Values whose kinds share no type (an object here, a number there), kept as their
    /// JSON text. Only a struct's field is this; an array's elements of kinds that share no
    /// type leave the array untyped.
    Json,
}

/// A named place below an array field: the elements of a list (named `item`) or a field of
/// a struct.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementField {
    pub name: String,
    pub element: Element,
    /// Null values (a struct's field: also the objects without the key).
    pub nulls: u64,
    /// Values that are not null.
    pub values: u64,
}

impl ElementField {
    /// True when a value may be null: one was seen, or there was no value at all (as for a
    /// column).
    pub fn nullable(&self) -> bool {
        self.nulls > 0 || self.values == 0
    }

    /// A field of a given type, nullable, without statistics (a given schema's).
    pub fn given(name: &str, element: Element) -> ElementField {
        ElementField {
            name: name.to_owned(),
            element,
            nulls: 1,
            values: 0,
        }
    }

    /// The Frictionless-style descriptor (see the module docs).
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        let ty = match &self.element {
            Element::Scalar(f) => f.ty.frictionless(),
            Element::List(_) => "array",
            Element::Struct(_) => "object",
            Element::Json => "any",
        };
        m.insert("type".into(), json!(ty));
        if let Element::Scalar(f) = &self.element {
            if f.format != "default" {
                m.insert("format".into(), json!(f.format));
            }
        }
        m.insert("nullable".into(), json!(self.nullable()));
        match &self.element {
            Element::List(item) => {
                m.insert("items".into(), item.to_json());
            }
            Element::Struct(fields) => {
                m.insert(
                    "fields".into(),
                    Json::Array(fields.iter().map(ElementField::to_json).collect()),
                );
            }
            Element::Scalar(_) | Element::Json => {}
        }
        Json::Object(m)
    }

    /// Reads a descriptor (as [`ElementField::to_json`] writes it; `name` defaults to
    /// `default_name`, `nullable` to true). Types as a given schema's: `number` is a float,
    /// `any` JSON text. `depth` bounds the nesting read.
    pub fn from_json(v: &Json, default_name: &str, depth: usize) -> Result<ElementField, String> {
        if depth > crate::json::MAX_FLATTEN_DEPTH {
            return Err("element types nested too deep".into());
        }
        let name = v.get("name").and_then(Json::as_str).unwrap_or(default_name);
        let ty = v.get("type").and_then(Json::as_str).unwrap_or("any");
        let element = match ty {
            "any" => Element::Json,
            "array" => match v.get("items") {
                Some(items) => {
                    Element::List(Box::new(ElementField::from_json(items, ITEM, depth + 1)?))
                }
                None => Element::Json,
            },
            "object" => {
                let fields = v
                    .get("fields")
                    .and_then(Json::as_array)
                    .ok_or_else(|| format!("{name:?}: an object type without \"fields\""))?;
                let mut out: Vec<ElementField> = Vec::with_capacity(fields.len());
                for (i, f) in fields.iter().enumerate() {
                    let field = ElementField::from_json(f, "", depth + 1)?;
                    if field.name.is_empty() && f.get("name").is_none() {
                        return Err(format!("{name:?}: field {} has no \"name\"", i + 1));
                    }
                    if out.iter().any(|o| o.name == field.name) {
                        return Err(format!("{name:?}: field {:?} twice", field.name));
                    }
                    out.push(field);
                }
                Element::Struct(out)
            }
            t => {
                let ty =
                    Type::from_name(t).ok_or_else(|| format!("{name:?}: unknown type {t:?}"))?;
                let ty = if ty == Type::Null { Type::String } else { ty };
                let mut col = ColumnState::default();
                col.observe_type(ty);
                let mut f = col.finish(name.to_owned(), 1);
                if let Some(format) = v.get("format").and_then(Json::as_str) {
                    f.format = known_format(format);
                }
                Element::Scalar(f)
            }
        };
        let nullable = v.get("nullable").and_then(Json::as_bool).unwrap_or(true);
        Ok(ElementField {
            name: name.to_owned(),
            element,
            nulls: u64::from(nullable),
            values: 1,
        })
    }
}

/// The name of the elements of a list.
const ITEM: &str = crate::elements::ITEM_NAME;

/// A datetime format of spate's (the descriptor's text is not kept: formats are `'static`).
fn known_format(s: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "default",
        "any",
        "%Y-%m-%dT%H:%M:%S.%fZ",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S.%f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S.%f",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%d",
    ];
    KNOWN.iter().find(|k| **k == s).copied().unwrap_or("any")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_round_trip() {
        let text = r#"{"name": "item", "type": "object", "nullable": false, "fields": [
            {"name": "a", "type": "integer", "nullable": true},
            {"name": "b", "type": "array", "nullable": false,
             "items": {"name": "item", "type": "datetime", "format": "%Y-%m-%dT%H:%M:%S", "nullable": false}},
            {"name": "c", "type": "any", "nullable": true}]}"#;
        let v: Json = serde_json::from_str(text).unwrap();
        let f = ElementField::from_json(&v, "item", 0).unwrap();
        assert!(!f.nullable());
        let Element::Struct(fields) = &f.element else {
            panic!("{f:?}")
        };
        assert_eq!(fields.len(), 3);
        assert!(matches!(&fields[0].element, Element::Scalar(s) if s.ty == Type::Integer));
        assert_eq!(fields[2].element, Element::Json);
        let back = ElementField::from_json(&f.to_json(), "item", 0).unwrap();
        assert_eq!(back.to_json(), f.to_json());
        assert_eq!(f.to_json(), {
            let mut v = v.clone();
            // `to_json` writes every key in one order; compare as values
            v["fields"][1]["items"]["name"] = json!("item");
            v
        });
    }

    #[test]
    fn bad_descriptors_are_refused() {
        for bad in [
            r#"{"type": "object"}"#,
            r#"{"type": "object", "fields": [{"type": "integer"}]}"#,
            r#"{"type": "object", "fields": [{"name": "a"}, {"name": "a"}]}"#,
            r#"{"type": "decimal"}"#,
        ] {
            let v: Json = serde_json::from_str(bad).unwrap();
            assert!(ElementField::from_json(&v, "item", 0).is_err(), "{bad}");
        }
    }
}
