//! A schema as front ends show it: inferred from a file in one call, as the JSON document
//! (`spate schema --json`, the Python package's dict), and as the summary line and fields
//! table for people (drawn by [`spate::output::Table`], the one table renderer).

use std::io::{self, Write};
use std::path::Path;

use spate::output::{Align, Table};

use crate::{CsvOptions, Error, Format, ReadOptions, Schema, TableInput, Type};

/// Infers the schema of the file at `path` (`-`: standard input).
pub fn infer_file(path: &Path, read: &ReadOptions, csv: &CsvOptions) -> Result<Schema, Error> {
    let mut input = TableInput::open(path, read, false)?;
    crate::infer(&mut input, csv)
}

/// The name of an input in messages and documents: `<stdin>` for `-`, else the path.
pub fn input_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// The schema as a Frictionless Table Schema with spate's statistics, naming the file it
/// describes (`spate.file`).
pub fn schema_document(schema: &Schema, file: &str) -> serde_json::Result<serde_json::Value> {
    let mut v = serde_json::to_value(schema)?;
    v["spate"]["file"] = serde_json::Value::String(file.to_owned());
    Ok(v)
}

/// How the rows were read: `csv, delimiter ',', header`, `json lines`, `items at PATH`.
pub fn format_description(schema: &Schema) -> String {
    match &schema.format {
        Format::Csv { delimiter, header } => {
            let d = match delimiter {
                b'\t' => "tab".to_string(),
                d => format!("'{}'", *d as char),
            };
            format!(
                "{}, delimiter {d}, {}",
                schema.format.name(),
                if *header { "header" } else { "no header" }
            )
        }
        Format::JsonLines => "json lines".to_string(),
        Format::JsonItems { path } => format!("items at {path}"),
    }
}

/// The first line for people: `NAME: 3 rows, 2 columns (csv, delimiter ',', header)`.
pub fn summary_line(name: &str, schema: &Schema) -> String {
    let csv = matches!(schema.format, Format::Csv { .. });
    let columns = match (csv, schema.fields.len() == 1) {
        (true, true) => "column",
        (true, false) => "columns",
        (false, true) => "field",
        (false, false) => "fields",
    };
    format!(
        "{name}: {} {}, {} {columns} ({})",
        schema.rows,
        if schema.rows == 1 { "row" } else { "rows" },
        schema.fields.len(),
        format_description(schema)
    )
}

/// The fields as a table: column, type, nullable, nulls, min, max.
pub fn write_fields_table(out: &mut impl Write, schema: &Schema) -> io::Result<()> {
    let header = ["column", "type", "nullable", "nulls", "min", "max"];
    let mut table = Table::new(header.map(String::from).to_vec(), &mut *out);
    table.set_align(vec![Align::Left; header.len()]);
    table.set_rule(false);
    for f in &schema.fields {
        let ty = if f.format != "default" && f.ty == Type::Datetime {
            format!("{} ({})", f.ty, f.format)
        } else {
            f.ty.to_string()
        };
        let nullable = if f.nullable() { "yes" } else { "no" };
        table.row(vec![
            f.name.clone(),
            ty,
            nullable.into(),
            f.nulls.to_string(),
            f.min.as_ref().map(|b| b.to_string()).unwrap_or_default(),
            f.max.as_ref().map(|b| b.to_string()).unwrap_or_default(),
        ])?;
    }
    table.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_a_small_csv() {
        let dir = std::env::temp_dir().join(format!("spate-describe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("t.csv");
        std::fs::write(&file, "a,b\n1,x\n2,\n").unwrap();
        let schema = infer_file(&file, &ReadOptions::default(), &CsvOptions::default()).unwrap();
        assert_eq!(
            summary_line("t.csv", &schema),
            "t.csv: 2 rows, 2 columns (csv, delimiter ',', header)"
        );
        let mut table = Vec::new();
        write_fields_table(&mut table, &schema).unwrap();
        let table = String::from_utf8(table).unwrap();
        assert!(table.starts_with("column"), "{table}");
        assert!(table.contains("integer"), "{table}");
        let doc = schema_document(&schema, "t.csv").unwrap();
        assert_eq!(doc["spate"]["file"], "t.csv");
        assert_eq!(input_name(Path::new("-")), "<stdin>");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
