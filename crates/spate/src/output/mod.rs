//! The output layer: results (one compact JSON value each) written as JSON Lines, a JSON
//! array, CSV (through the `csv` crate) or an aligned [`Table`].
//!
//! CSV and table flatten the top-level members of object results into columns (see
//! [`flatten`]). CSV streams with the first result's members as its header; the table
//! takes its columns from the first [`SAMPLE_ROWS`] results and then streams too. Members
//! that later results add are counted ([`Written::dropped_cells`]), not silently lost.
//!
//! ```
//! use spate::output::{OutputFormat, ResultSink, ResultWriter};
//!
//! let mut out = Vec::new();
//! let mut writer = ResultWriter::new(&mut out, OutputFormat::Csv);
//! writer.result(br#"{"k":"a,b","n":1}"#)?;
//! writer.result(br#"{"k":"c","n":null}"#)?;
//! writer.finish()?;
//! assert_eq!(out, b"k,n\n\"a,b\",1\nc,\n");
//! # Ok::<(), std::io::Error>(())
//! ```

mod flatten;
mod table;

use std::io::{self, Write};

pub use flatten::{cell, flatten};
pub use table::{Align, Table, SAMPLE_ROWS};

/// Output formats of result-producing runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// One JSON value per line.
    Jsonl,
    /// One JSON array.
    Json,
    /// Comma-separated values with a header.
    Csv,
    /// An aligned table for people.
    Table,
}

/// Takes the results of a run, in order.
pub trait ResultSink {
    /// One result: a compact JSON text (or, for raw output, a line of text), without its
    /// newline.
    fn result(&mut self, result: &[u8]) -> io::Result<()>;

    /// A block of `count` results, one per line, each line ending in `\n` (as the executor
    /// hands them over). The default takes them one by one.
    fn results(&mut self, lines: &[u8], count: u64) -> io::Result<()> {
        let _ = count;
        each_line(lines, |line| self.result(line))
    }
}

/// Calls `f` on each line of a block of `\n`-terminated lines (without the `\n`).
fn each_line(lines: &[u8], f: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let body = lines.strip_suffix(b"\n").unwrap_or(lines);
    body.split(|&b| b == b'\n').try_for_each(f)
}

/// What a [`ResultWriter`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Written {
    /// Results written.
    pub results: u64,
    /// CSV and table: cells left out because their member name is not a column (columns
    /// come from the first result for CSV, the first [`SAMPLE_ROWS`] for the table).
    pub dropped_cells: u64,
}

/// Writes results in an [`OutputFormat`] to `W`.
#[derive(Debug)]
pub struct ResultWriter<W: Write> {
    format: OutputFormat,
    written: Written,
    state: State<W>,
}

#[derive(Debug)]
enum State<W: Write> {
    /// JSON Lines and JSON.
    Plain(W),
    Csv {
        csv: Box<csv::Writer<W>>,
        header: Option<Vec<String>>,
    },
    /// The table's first results, held until the columns are known.
    TableSample {
        out: W,
        rows: Vec<Vec<(String, String)>>,
    },
    Table(Table<W>),
    /// Between states.
    Moved,
}

impl<W: Write> ResultWriter<W> {
    /// A writer of `format` to `out`.
    pub fn new(out: W, format: OutputFormat) -> Self {
        let state = match format {
            OutputFormat::Jsonl | OutputFormat::Json => State::Plain(out),
            OutputFormat::Csv => State::Csv {
                csv: Box::new(
                    csv::WriterBuilder::new()
                        .has_headers(false)
                        .terminator(csv::Terminator::Any(b'\n'))
                        .from_writer(out),
                ),
                header: None,
            },
            OutputFormat::Table => State::TableSample {
                out,
                rows: Vec::new(),
            },
        };
        ResultWriter {
            format,
            written: Written::default(),
            state,
        }
    }

    /// The format written.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// Finishes the output (closes the array, prints the table) and flushes.
    pub fn finish(mut self) -> io::Result<Written> {
        match std::mem::replace(&mut self.state, State::Moved) {
            State::Plain(mut out) => {
                if self.format == OutputFormat::Json {
                    let end: &[u8] = if self.written.results == 0 {
                        b"[]\n"
                    } else {
                        b"\n]\n"
                    };
                    out.write_all(end)?;
                }
                out.flush()?;
            }
            State::Csv { mut csv, .. } => csv.flush()?,
            State::TableSample { out, rows } => {
                if let Some(table) = self.start_table(out, rows)? {
                    table.finish()?;
                }
            }
            State::Table(table) => {
                table.finish()?;
            }
            State::Moved => {}
        }
        Ok(self.written)
    }

    /// Lays out the table's columns from the sampled rows (their members in order of first
    /// appearance) and hands it the rows; `None` when there is no column.
    fn start_table(
        &mut self,
        out: W,
        rows: Vec<Vec<(String, String)>>,
    ) -> io::Result<Option<Table<W>>> {
        let mut columns: Vec<String> = Vec::new();
        for row in &rows {
            for (k, _) in row {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
        if columns.is_empty() {
            return Ok(None);
        }
        let mut table = Table::new(columns, out);
        for row in rows {
            let cells = self.cells(table.headers(), row);
            table.row(cells)?;
        }
        Ok(Some(table))
    }

    /// The cells of a flattened row under `header`; members not in it are counted.
    fn cells(&mut self, header: &[String], row: Vec<(String, String)>) -> Vec<String> {
        let extra = row.iter().filter(|(k, _)| !header.contains(k)).count();
        self.written.dropped_cells += extra as u64;
        let mut row: Vec<Option<(String, String)>> = row.into_iter().map(Some).collect();
        header
            .iter()
            .map(|h| {
                row.iter_mut()
                    .find(|m| m.as_ref().is_some_and(|(k, _)| k == h))
                    .and_then(Option::take)
                    .map_or(String::new(), |(_, v)| v)
            })
            .collect()
    }
}

impl<W: Write> ResultSink for ResultWriter<W> {
    fn result(&mut self, json: &[u8]) -> io::Result<()> {
        let format = self.format;
        match std::mem::replace(&mut self.state, State::Moved) {
            State::Plain(mut out) => {
                let written = if format == OutputFormat::Json {
                    let sep: &[u8] = if self.written.results == 0 {
                        b"[\n"
                    } else {
                        b",\n"
                    };
                    out.write_all(sep).and_then(|()| out.write_all(json))
                } else {
                    out.write_all(json).and_then(|()| out.write_all(b"\n"))
                };
                self.state = State::Plain(out);
                written?;
            }
            State::Csv {
                mut csv,
                mut header,
            } => {
                let fields = flatten(json);
                let written = match &header {
                    None => {
                        let names: Vec<String> = fields.iter().map(|(k, _)| k.clone()).collect();
                        let values: Vec<&str> = fields.iter().map(|(_, v)| v.as_str()).collect();
                        let w = csv
                            .write_record(&names)
                            .and_then(|()| csv.write_record(&values));
                        header = Some(names);
                        w
                    }
                    Some(names) => {
                        let cells = self.cells(names, fields);
                        csv.write_record(&cells)
                    }
                };
                self.state = State::Csv { csv, header };
                written.map_err(io::Error::other)?;
            }
            State::TableSample { out, mut rows } => {
                rows.push(flatten(json));
                if rows.len() >= SAMPLE_ROWS && rows.iter().all(Vec::is_empty) {
                    // Results with no member (`{}`) have no cell to show, as when fewer
                    // than SAMPLE_ROWS of them make an empty table: keep sampling.
                    rows.clear();
                    self.state = State::TableSample { out, rows };
                } else if rows.len() >= SAMPLE_ROWS {
                    match self.start_table(out, rows)? {
                        Some(table) => self.state = State::Table(table),
                        None => unreachable!("a sampled row has a member"),
                    }
                } else {
                    self.state = State::TableSample { out, rows };
                }
            }
            State::Table(mut table) => {
                let cells = self.cells(table.headers(), flatten(json));
                let written = table.row(cells);
                self.state = State::Table(table);
                written?;
            }
            State::Moved => {}
        }
        self.written.results += 1;
        Ok(())
    }

    fn results(&mut self, lines: &[u8], count: u64) -> io::Result<()> {
        match (&mut self.state, self.format) {
            // Results are lines already: as they are.
            (State::Plain(out), OutputFormat::Jsonl) => {
                out.write_all(lines)?;
                self.written.results += count;
                Ok(())
            }
            _ => each_line(lines, |line| self.result(line)),
        }
    }
}

/// Raw lines (jq's `-r`): each result is written as it is, with its newline.
#[derive(Debug)]
pub struct RawLines<W: Write>(pub W);

impl<W: Write> ResultSink for RawLines<W> {
    fn result(&mut self, line: &[u8]) -> io::Result<()> {
        self.0.write_all(line)?;
        self.0.write_all(b"\n")
    }

    fn results(&mut self, lines: &[u8], _count: u64) -> io::Result<()> {
        self.0.write_all(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(format: OutputFormat, results: &[&str]) -> String {
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
            render(OutputFormat::Jsonl, &rows),
            format!("{}\n{}\n", rows[0], rows[1])
        );
        assert_eq!(
            render(OutputFormat::Json, &rows),
            format!("[\n{},\n{}\n]\n", rows[0], rows[1])
        );
        assert_eq!(render(OutputFormat::Json, &[]), "[]\n");
        assert_eq!(
            render(OutputFormat::Csv, &rows),
            "k,n,x\n\"a,b\",1,\n\"say \"\"hi\"\"\",22.5,[1]\n"
        );
        assert_eq!(
            render(OutputFormat::Table, &rows),
            "k            n  x\n────────  ────  ───\na,b          1\nsay \"hi\"  22.5  [1]\n"
        );
        assert_eq!(render(OutputFormat::Csv, &["1", "\"s\""]), "value\n1\ns\n");
        assert_eq!(render(OutputFormat::Table, &[]), "");
    }

    #[test]
    fn later_members_are_counted_not_lost_silently() {
        let mut buf = Vec::new();
        let mut w = ResultWriter::new(&mut buf, OutputFormat::Csv);
        w.result(br#"{"a":1}"#).unwrap();
        w.result(br#"{"a":2,"b":3}"#).unwrap();
        assert_eq!(w.finish().unwrap().dropped_cells, 1);
        assert_eq!(buf, b"a\n1\n2\n");
    }

    #[test]
    fn a_long_table_of_empty_objects_prints_nothing() {
        let rows = vec!["{}"; SAMPLE_ROWS + 5];
        assert_eq!(render(OutputFormat::Table, &rows), "");
    }

    #[test]
    fn a_long_table_streams_with_the_sampled_widths() {
        let rows: Vec<String> = (0..SAMPLE_ROWS + 5)
            .map(|i| format!(r#"{{"n":{i},"s":"x"}}"#))
            .collect();
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let text = render(OutputFormat::Table, &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), SAMPLE_ROWS + 5 + 2);
        assert_eq!(lines[2], "  0  x");
        assert_eq!(lines.last(), Some(&"1004  x"));
    }
}
