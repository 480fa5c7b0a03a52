//! Writing results (one compact JSON value each) as JSON Lines, a JSON array, CSV or an
//! aligned table.
//!
//! CSV and table flatten the top-level members of object results into columns (strings
//! unquoted, `null` empty, other values as JSON text); a result that is not an object is
//! one column named `value`. CSV streams with the first result's members as its header;
//! members that later results add are counted and reported, not silently dropped. The
//! table is for people: it holds all rows to align them.

use std::io::{self, Write};

use spate_json::{Flow, Handler, Member, ScanOptions, Scanner, Watch};

/// Output formats of result-producing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON value per line.
    Jsonl,
    /// One JSON array.
    Json,
    /// Comma-separated values with a header.
    Csv,
    /// An aligned table for people.
    Table,
}

/// Writes results in a [`Format`].
pub struct ResultWriter<W: Write> {
    out: W,
    format: Format,
    written: u64,
    header: Option<Vec<String>>,
    rows: Vec<Vec<(String, String)>>,
    dropped_columns: u64,
}

impl<W: Write> ResultWriter<W> {
    pub fn new(out: W, format: Format) -> Self {
        ResultWriter {
            out,
            format,
            written: 0,
            header: None,
            rows: Vec::new(),
            dropped_columns: 0,
        }
    }

    /// Writes one result (a compact JSON text, without newline).
    pub fn result(&mut self, json: &[u8]) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                self.out.write_all(json)?;
                self.out.write_all(b"\n")?;
            }
            Format::Json => {
                self.out
                    .write_all(if self.written == 0 { b"[\n" } else { b",\n" })?;
                self.out.write_all(json)?;
            }
            Format::Csv => {
                let fields = flatten(json);
                if self.header.is_none() {
                    let names: Vec<String> = fields.iter().map(|(k, _)| k.clone()).collect();
                    write_csv_row(&mut self.out, names.iter().map(String::as_str))?;
                    self.header = Some(names);
                }
                let header = self.header.as_ref().expect("set above");
                let extra = fields.iter().filter(|(k, _)| !header.contains(k)).count();
                self.dropped_columns += extra as u64;
                let row: Vec<&str> = header
                    .iter()
                    .map(|h| {
                        fields
                            .iter()
                            .find(|(k, _)| k == h)
                            .map_or("", |(_, v)| v.as_str())
                    })
                    .collect();
                write_csv_row(&mut self.out, row.into_iter())?;
            }
            Format::Table => self.rows.push(flatten(json)),
        }
        self.written += 1;
        Ok(())
    }

    /// Writes one line holding a raw string (`-r` output): only JSON Lines shows it as is.
    pub fn raw_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.out.write_all(line)?;
        self.out.write_all(b"\n")?;
        self.written += 1;
        Ok(())
    }

    /// Finishes the output (closes the array, prints the table) and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        match self.format {
            Format::Json => {
                self.out
                    .write_all(if self.written == 0 { b"[]\n" } else { b"\n]\n" })?;
            }
            Format::Table => write_table(&mut self.out, &self.rows)?,
            Format::Csv if self.dropped_columns > 0 => eprintln!(
                "spate: warning: {} values were left out of the CSV because their member \
                 names are not in the header (taken from the first result); use -o jsonl or \
                 -o table to see them",
                self.dropped_columns
            ),
            _ => {}
        }
        self.out.flush()
    }
}

/// The top-level members of an object result as (name, cell text); a non-object result is
/// one member named `value`.
fn flatten(json: &[u8]) -> Vec<(String, String)> {
    let mut members = Members::default();
    let mut scanner = Scanner::new(ScanOptions::default());
    let ok = scanner.scan(json, &mut members).is_ok() && scanner.finish(&mut members).is_ok();
    if !ok || !members.object {
        return vec![("value".to_owned(), cell(json))];
    }
    members
        .spans
        .into_iter()
        .map(|(key, start, end)| {
            let name = serde_json::from_slice::<String>(&[b"\"", &key[..], b"\""].concat())
                .unwrap_or_else(|_| String::from_utf8_lossy(&key).into_owned());
            (name, cell(&json[start..end]))
        })
        .collect()
}

/// A value as a cell: strings unquoted, null empty, anything else as its JSON text.
fn cell(value: &[u8]) -> String {
    match value.first() {
        Some(b'"') => serde_json::from_slice::<String>(value)
            .unwrap_or_else(|_| String::from_utf8_lossy(value).into_owned()),
        _ if value == b"null" => String::new(),
        _ => String::from_utf8_lossy(value).into_owned(),
    }
}

/// Collects the member names and value spans of a top-level object.
#[derive(Default)]
struct Members {
    object: bool,
    spans: Vec<(Vec<u8>, usize, usize)>,
}

impl Handler for Members {
    fn begin(&mut self, depth: u32, offset: u64, member: Member<'_>, container: bool) -> Watch {
        match (depth, member) {
            (0, _) => {
                self.object = container && member == Member::Root;
                Watch::Children
            }
            (1, Member::Key(key)) => {
                self.spans
                    .push((key.to_vec(), offset as usize, offset as usize));
                Watch::Quiet
            }
            _ => {
                self.object = false;
                Watch::Quiet
            }
        }
    }

    fn end(&mut self, depth: u32, end: u64) -> Flow {
        if depth == 1 {
            if let Some(last) = self.spans.last_mut() {
                last.2 = end as usize;
            }
        }
        Flow::Continue
    }
}

fn write_csv_row<'a>(out: &mut impl Write, cells: impl Iterator<Item = &'a str>) -> io::Result<()> {
    for (i, c) in cells.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        if c.contains([',', '"', '\n', '\r']) {
            out.write_all(b"\"")?;
            out.write_all(c.replace('"', "\"\"").as_bytes())?;
            out.write_all(b"\"")?;
        } else {
            out.write_all(c.as_bytes())?;
        }
    }
    out.write_all(b"\n")
}

fn write_table(out: &mut impl Write, rows: &[Vec<(String, String)>]) -> io::Result<()> {
    let mut columns: Vec<String> = Vec::new();
    for row in rows {
        for (k, _) in row {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    if columns.is_empty() {
        return Ok(());
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| {
                    row.iter()
                        .find(|(k, _)| k == c)
                        .map_or(String::new(), |(_, v)| v.replace(['\n', '\r', '\t'], " "))
                })
                .collect()
        })
        .collect();
    let width = |s: &str| s.chars().count();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| width(&r[i]))
                .chain([width(c)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = (0..columns.len())
        .map(|i| {
            cells
                .iter()
                .all(|r| r[i].is_empty() || r[i].parse::<f64>().is_ok())
        })
        .collect();
    let line = |out: &mut dyn Write, row: &[String]| -> io::Result<()> {
        let mut text = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let pad = " ".repeat(widths[i] - width(cell));
            if numeric[i] {
                text.push_str(&pad);
                text.push_str(cell);
            } else {
                text.push_str(cell);
                if i + 1 < row.len() {
                    text.push_str(&pad);
                }
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, &columns)?;
    let rule: Vec<String> = widths.iter().map(|&w| "─".repeat(w)).collect();
    writeln!(out, "{}", rule.join("  "))?;
    for row in &cells {
        line(out, row)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(format: Format, results: &[&str]) -> String {
        let mut buf = Vec::new();
        let mut w = ResultWriter::new(&mut buf, format);
        for r in results {
            w.result(r.as_bytes()).unwrap();
        }
        w.finish().unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn formats() {
        let rows = [
            r#"{"k":"a,b","n":1,"x":null}"#,
            r#"{"k":"say \"hi\"","n":22.5,"x":[1]}"#,
        ];
        assert_eq!(
            render(Format::Jsonl, &rows),
            format!("{}\n{}\n", rows[0], rows[1])
        );
        assert_eq!(
            render(Format::Json, &rows),
            format!("[\n{},\n{}\n]\n", rows[0], rows[1])
        );
        assert_eq!(render(Format::Json, &[]), "[]\n");
        assert_eq!(
            render(Format::Csv, &rows),
            "k,n,x\n\"a,b\",1,\n\"say \"\"hi\"\"\",22.5,[1]\n"
        );
        assert_eq!(
            render(Format::Table, &rows),
            "k            n  x\n────────  ────  ───\na,b          1\nsay \"hi\"  22.5  [1]\n"
        );
        assert_eq!(render(Format::Csv, &["1", "\"s\""]), "value\n1\ns\n");
    }
}
