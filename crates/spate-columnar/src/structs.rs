//! Nested JSON objects as struct columns.
//!
//! spate's inference flattens objects: a field per leaf path (`usage.input_tokens`), and it
//! records which paths held objects ([`spate_csv::Schema::objects`]). A table for an engine
//! that reads nested data (Parquet, Arrow, DuckDB, Polars, Spark) is more useful with the
//! objects kept: [`TableSchema::into_structs`] regroups the flattened columns into one
//! `Struct` column per top-level member that holds objects, recursively
//! (`usage: struct<input_tokens: int64, ...>`). The object paths say which dots of a name are
//! nesting, so a member whose own name has a dot (`{"a.b": 1}`) stays one field `a.b`.
//!
//! The fields of each struct are typed exactly as the flattened columns were (the same
//! column types, lists and lists of structs included), in the order they were first seen. A
//! struct is nullable when one of its fields is (the inference counts missing and null
//! values per leaf, not per object, so an object that was always there but sometimes lacked
//! a member is still marked nullable; never the reverse). A path seen both as an object and
//! as a value stays the `string` column the inference made it, holding each object's compact
//! JSON text; the flattened columns below it are not kept. An object that never had any
//! member has no column (Parquet has no struct without fields), as when flattened.
//!
//! When rows are written, each object at a struct column's path is handed to the column
//! whole ([`spate_csv::json::JsonVisitor::whole`]) and built by [`crate::nested`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use spate_csv::ObjectPath;

use crate::nested::{NestedField, NestedType};
use crate::schema::{Column, ColumnType, TableSchema, LIST_ITEM};

/// Every proper dotted prefix of `names` (`a.b.c` gives `a` and `a.b`), for the names of a
/// given schema: there every dot is taken as nesting, as nothing else says otherwise.
pub(crate) fn dotted_prefixes<'a>(names: impl Iterator<Item = &'a String>) -> Vec<ObjectPath> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (k, name) in names.enumerate() {
        for (i, b) in name.bytes().enumerate() {
            if b == b'.' && i > 0 && seen.insert(&name[..i]) {
                out.push(ObjectPath {
                    name: name[..i].to_owned(),
                    before: k,
                });
            }
        }
    }
    out
}

/// A node of the tree the flattened columns are regrouped into.
enum Node {
    Leaf(Column),
    Object(Object),
}

/// An object: its members in the order they were first seen.
#[derive(Default)]
struct Object {
    members: Vec<(String, Node)>,
    index: HashMap<String, usize>,
}

impl Object {
    /// The object member `name`, made when new.
    fn object(&mut self, name: &str) -> &mut Object {
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                self.members
                    .push((name.to_owned(), Node::Object(Object::default())));
                self.index.insert(name.to_owned(), self.members.len() - 1);
                self.members.len() - 1
            }
        };
        match &mut self.members[i].1 {
            Node::Object(o) => o,
            // A name is a leaf or an object, never both: a path that is both is a leaf
            // whose descendants are dropped before they get here.
            Node::Leaf(_) => unreachable!("object paths that are columns are leaves"),
        }
    }

    fn leaf(&mut self, name: &str, column: Column) {
        self.index.insert(name.to_owned(), self.members.len());
        self.members.push((name.to_owned(), Node::Leaf(column)));
    }

    /// The struct type of the object, and whether it is nullable (one of its fields is);
    /// `None` for an object without any field.
    fn finish(self) -> Option<(NestedType, bool)> {
        let fields: Vec<NestedField> = self
            .members
            .into_iter()
            .filter_map(|(name, node)| {
                let (ty, nullable) = match node {
                    Node::Leaf(c) => (nested_type(&c), c.nullable),
                    Node::Object(o) => o.finish()?,
                };
                Some(NestedField { name, ty, nullable })
            })
            .collect();
        if fields.is_empty() {
            return None;
        }
        let nullable = fields.iter().any(|f| f.nullable);
        Some((NestedType::Struct(fields), nullable))
    }
}

/// The nested type of a flattened column, as a struct's field.
fn nested_type(c: &Column) -> NestedType {
    match c.ty {
        ColumnType::Nested | ColumnType::Struct => match &c.nested {
            Some(n) => (**n).clone(),
            None => NestedType::Scalar(ColumnType::JsonText),
        },
        ColumnType::List { item, nullable } => NestedType::List(Box::new(NestedField {
            name: LIST_ITEM.to_owned(),
            ty: NestedType::Scalar(item.column()),
            nullable,
        })),
        other => NestedType::Scalar(other),
    }
}

impl TableSchema {
    /// The table with nested objects as struct columns (see the module docs); a table
    /// without object paths (CSV, flat JSON) is unchanged but for the flag that rows' objects
    /// are now handed over whole.
    pub fn into_structs(self) -> TableSchema {
        let objects: HashSet<&str> = self.objects.iter().map(|o| o.name.as_str()).collect();
        let columns: HashSet<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        // The object paths enclosing `name`, outermost first: the longest prefix (ending
        // before a dot) that is an object path is the parent, and so on up.
        let ancestors = |name: &str| {
            let mut chain = Vec::new();
            let mut end = name.len();
            while let Some(dot) = name[..end].rfind('.') {
                if objects.contains(&name[..dot]) {
                    chain.push(dot);
                }
                end = dot;
            }
            chain.reverse();
            chain
        };
        // The object at the path `name` (with its enclosing ones), made when new; `None`
        // below a path that is also a value (that column holds the object's text).
        fn place<'r>(
            root: &'r mut Object,
            name: &str,
            chain: &[usize],
            columns: &HashSet<&str>,
        ) -> Option<&'r mut Object> {
            if chain.iter().any(|&dot| columns.contains(&name[..dot])) {
                return None;
            }
            let mut object = root;
            let mut start = 0;
            for &dot in chain {
                object = object.object(&name[start..dot]);
                start = dot + 1;
            }
            Some(object)
        }
        let mut root = Object::default();
        let mut pending = self.objects.iter().peekable();
        for (k, column) in self.columns.iter().enumerate() {
            // Objects first seen before this column take their places first (their first
            // value may have been `null`, or an object whose members came later).
            while let Some(o) = pending.next_if(|o| o.before <= k) {
                if columns.contains(o.name.as_str()) {
                    continue;
                }
                let chain = ancestors(&o.name);
                let start = chain.last().map_or(0, |&dot| dot + 1);
                if let Some(parent) = place(&mut root, &o.name, &chain, &columns) {
                    parent.object(&o.name[start..]);
                }
            }
            let chain = ancestors(&column.name);
            let start = chain.last().map_or(0, |&dot| dot + 1);
            if let Some(object) = place(&mut root, &column.name, &chain, &columns) {
                object.leaf(&column.name[start..], column.clone());
            }
        }
        let columns = root
            .members
            .into_iter()
            .filter_map(|(name, node)| match node {
                Node::Leaf(c) => Some(c),
                Node::Object(o) => {
                    let (ty, nullable) = o.finish()?;
                    Some(Column {
                        name,
                        ty: ColumnType::Struct,
                        nullable,
                        nested: Some(Arc::new(ty)),
                    })
                }
            })
            .collect();
        TableSchema {
            columns,
            objects: self.objects,
            structs: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns, and objects with the index of the first column seen after them.
    fn table(columns: &[(&str, ColumnType, bool)], objects: &[(&str, usize)]) -> TableSchema {
        TableSchema {
            columns: columns
                .iter()
                .map(|(n, t, null)| Column::new(n, *t, *null))
                .collect(),
            objects: objects
                .iter()
                .map(|(s, before)| ObjectPath {
                    name: s.to_string(),
                    before: *before,
                })
                .collect(),
            structs: false,
        }
    }

    fn names(t: &TableSchema) -> Vec<(&str, ColumnType)> {
        t.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect()
    }

    #[test]
    fn objects_become_structs_in_first_seen_order() {
        let t = table(
            &[
                ("id", ColumnType::Int64, false),
                ("u.x", ColumnType::Int64, false),
                ("u.v.w", ColumnType::Utf8, true),
                ("n", ColumnType::Boolean, false),
                ("u.y", ColumnType::Float64, false),
            ],
            &[("u", 1), ("u.v", 2)],
        )
        .into_structs();
        assert_eq!(
            names(&t),
            [
                ("id", ColumnType::Int64),
                ("u", ColumnType::Struct),
                ("n", ColumnType::Boolean)
            ]
        );
        let u = &t.columns[1];
        assert!(u.nullable, "a nullable field makes the struct nullable");
        assert_eq!(
            u.arrow_type().to_string(),
            "Struct(\"x\": non-null Int64, \"v\": Struct(\"w\": Utf8), \"y\": non-null Float64)"
        );
    }

    #[test]
    fn dotted_member_names_are_not_nesting() {
        let t = table(
            &[
                ("a.b", ColumnType::Int64, false),
                ("o.c.d", ColumnType::Int64, false),
            ],
            &[("o", 1)],
        )
        .into_structs();
        assert_eq!(
            names(&t),
            [("a.b", ColumnType::Int64), ("o", ColumnType::Struct)]
        );
        assert_eq!(
            t.columns[1].arrow_type().to_string(),
            "Struct(\"c.d\": non-null Int64)"
        );
    }

    #[test]
    fn a_path_also_seen_as_a_value_stays_text() {
        let t = table(
            &[
                ("a.b", ColumnType::Int64, true),
                ("a", ColumnType::Utf8, true),
                ("c", ColumnType::Int64, false),
            ],
            &[("a", 0)],
        )
        .into_structs();
        assert_eq!(
            names(&t),
            [("a", ColumnType::Utf8), ("c", ColumnType::Int64)]
        );
    }

    #[test]
    fn given_names_nest_at_every_dot() {
        let names = ["a.b.c".to_string(), "a.d".into(), "e".into()];
        let got: Vec<(String, usize)> = dotted_prefixes(names.iter())
            .into_iter()
            .map(|o| (o.name, o.before))
            .collect();
        assert_eq!(got, [("a".to_string(), 0), ("a.b".to_string(), 0)]);
    }
}
