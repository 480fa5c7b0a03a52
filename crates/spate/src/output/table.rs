//! One table renderer for people: headers, a rule, rows of strings, each column aligned
//! left or right, in bounded memory.
//!
//! Column widths are measured on the first [`SAMPLE_ROWS`] rows, which are held; then
//! the table is printed and every later row is written as it comes, padded to the same
//! widths (a wider cell pushes its row's later cells right instead of re-laying out what
//! was printed). Up to [`SAMPLE_ROWS`] rows the result is the same as measuring all.
//!
//! ```
//! use spate::output::{Align, Table};
//!
//! let mut out = Vec::new();
//! let mut table = Table::new(vec!["agent".into(), "count".into()], &mut out);
//! table.set_align(vec![Align::Left, Align::Right]);
//! table.row(vec!["dev".into(), "12".into()])?;
//! table.row(vec!["qa".into(), "3".into()])?;
//! table.finish()?;
//! assert_eq!(String::from_utf8(out).unwrap(), "agent  count\n─────  ─────\ndev       12\nqa         3\n");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Write};

/// Rows held to measure the columns before the table starts streaming.
pub const SAMPLE_ROWS: usize = 1000;

/// How a column's cells are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Padded on the right (text).
    Left,
    /// Padded on the left (numbers).
    Right,
    /// Right when every measured cell is empty or a number, else left.
    Auto,
}

/// An aligned table written to `out` (see the module docs).
#[derive(Debug)]
pub struct Table<W: Write> {
    out: W,
    headers: Vec<String>,
    align: Vec<Align>,
    /// Rows held until the widths are known (`None` once streaming).
    held: Option<Vec<Vec<String>>>,
    widths: Vec<usize>,
    right: Vec<bool>,
    /// Draw a rule (`─`) under the headers.
    rule: bool,
}

impl<W: Write> Table<W> {
    /// A table with these column headers; every column [`Align::Auto`].
    pub fn new(headers: Vec<String>, out: W) -> Self {
        let align = vec![Align::Auto; headers.len()];
        Table {
            out,
            headers,
            align,
            held: Some(Vec::new()),
            widths: Vec::new(),
            right: Vec::new(),
            rule: true,
        }
    }

    /// Whether a rule (`─`) is drawn under the headers (by default it is).
    pub fn set_rule(&mut self, rule: bool) {
        self.rule = rule;
    }

    /// Sets the alignment per column (missing columns are [`Align::Auto`]).
    pub fn set_align(&mut self, align: Vec<Align>) {
        self.align = align;
        self.align.resize(self.headers.len(), Align::Auto);
    }

    /// The column headers.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Adds a row (missing cells are empty; tabs and line breaks show as spaces).
    pub fn row(&mut self, mut cells: Vec<String>) -> io::Result<()> {
        cells.resize(self.headers.len(), String::new());
        for c in &mut cells {
            if c.contains(['\n', '\r', '\t']) {
                *c = c.replace(['\n', '\r', '\t'], " ");
            }
        }
        match &mut self.held {
            Some(held) => {
                held.push(cells);
                if held.len() >= SAMPLE_ROWS {
                    self.start()?;
                }
                Ok(())
            }
            None => self.line(&cells),
        }
    }

    /// Measures the held rows, prints the header, rule and held rows, and streams on.
    fn start(&mut self) -> io::Result<()> {
        let held = self.held.take().unwrap_or_default();
        let width = |s: &str| s.chars().count();
        self.widths = (0..self.headers.len())
            .map(|i| {
                held.iter()
                    .map(|r| width(&r[i]))
                    .chain([width(&self.headers[i])])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        self.right = (0..self.headers.len())
            .map(|i| match self.align[i] {
                Align::Left => false,
                Align::Right => true,
                Align::Auto => held
                    .iter()
                    .all(|r| r[i].is_empty() || r[i].parse::<f64>().is_ok()),
            })
            .collect();
        let headers = std::mem::take(&mut self.headers);
        self.line(&headers)?;
        self.headers = headers;
        if self.rule {
            let rule: Vec<String> = self.widths.iter().map(|&w| "─".repeat(w)).collect();
            writeln!(self.out, "{}", rule.join("  "))?;
        }
        for row in &held {
            self.line(row)?;
        }
        Ok(())
    }

    fn line(&mut self, row: &[String]) -> io::Result<()> {
        let mut text = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let pad = " ".repeat(self.widths[i].saturating_sub(cell.chars().count()));
            if self.right[i] {
                text.push_str(&pad);
                text.push_str(cell);
            } else {
                text.push_str(cell);
                if i + 1 < row.len() {
                    text.push_str(&pad);
                }
            }
        }
        writeln!(self.out, "{}", text.trim_end())
    }

    /// Prints what is held (a table with no column prints nothing) and flushes.
    pub fn finish(mut self) -> io::Result<W> {
        if self.held.is_some() && !self.headers.is_empty() {
            self.start()?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}
