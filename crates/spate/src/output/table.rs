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

/// A held line of a table.
#[derive(Debug)]
enum Held {
    /// Cells, and the ANSI SGR code the whole line is painted with (empty: none).
    Row(Vec<String>, &'static str),
    /// A rule, as under the headers.
    Rule,
}

/// An aligned table written to `out` (see the module docs).
#[derive(Debug)]
pub struct Table<W: Write> {
    out: W,
    headers: Vec<String>,
    align: Vec<Align>,
    /// Lines held until the widths are known (`None` once streaming).
    held: Option<Vec<Held>>,
    widths: Vec<usize>,
    right: Vec<bool>,
    /// Draw a rule (`─`) under the headers.
    rule: bool,
    /// The ANSI SGR code the header line is painted with (empty: none).
    header_paint: &'static str,
    /// Lines held to measure the columns ([`SAMPLE_ROWS`] unless set).
    sample: usize,
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
            header_paint: "",
            sample: SAMPLE_ROWS,
        }
    }

    /// Measures the columns on the first `lines` lines instead of [`SAMPLE_ROWS`]: for a
    /// caller whose rows are in memory already (a report), `usize::MAX` measures them all.
    pub fn set_sample(&mut self, lines: usize) {
        self.sample = lines.max(1);
    }

    /// Paints the header line with an ANSI SGR code (`"1;36"`: bold cyan); the front end
    /// decides whether the terminal gets colours.
    pub fn set_header_paint(&mut self, code: &'static str) {
        self.header_paint = code;
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
    pub fn row(&mut self, cells: Vec<String>) -> io::Result<()> {
        self.row_painted(cells, "")
    }

    /// Adds a row painted with an ANSI SGR code (`"2"`: dim; empty: none).
    pub fn row_painted(&mut self, mut cells: Vec<String>, code: &'static str) -> io::Result<()> {
        cells.resize(self.headers.len(), String::new());
        for c in &mut cells {
            if c.contains(['\n', '\r', '\t']) {
                *c = c.replace(['\n', '\r', '\t'], " ");
            }
        }
        self.hold_or_write(Held::Row(cells, code))
    }

    /// Adds a rule line (as under the headers), e.g. above a totals row.
    pub fn rule(&mut self) -> io::Result<()> {
        self.hold_or_write(Held::Rule)
    }

    fn hold_or_write(&mut self, line: Held) -> io::Result<()> {
        match &mut self.held {
            Some(held) => {
                held.push(line);
                if held.len() >= self.sample {
                    self.start()?;
                }
                Ok(())
            }
            None => self.write_held(&line),
        }
    }

    fn write_held(&mut self, line: &Held) -> io::Result<()> {
        match line {
            Held::Row(cells, code) => self.line(cells, code),
            Held::Rule => self.rule_line(),
        }
    }

    fn rule_line(&mut self) -> io::Result<()> {
        let rule: Vec<String> = self.widths.iter().map(|&w| "─".repeat(w)).collect();
        writeln!(self.out, "{}", rule.join("  "))
    }

    /// Measures the held rows, prints the header, rule and held rows, and streams on.
    fn start(&mut self) -> io::Result<()> {
        let held = self.held.take().unwrap_or_default();
        let rows = || {
            held.iter().filter_map(|line| match line {
                Held::Row(cells, _) => Some(cells),
                Held::Rule => None,
            })
        };
        let width = |s: &str| s.chars().count();
        self.widths = (0..self.headers.len())
            .map(|i| {
                rows()
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
                Align::Auto => rows().all(|r| r[i].is_empty() || r[i].parse::<f64>().is_ok()),
            })
            .collect();
        let headers = std::mem::take(&mut self.headers);
        self.line(&headers, self.header_paint)?;
        self.headers = headers;
        if self.rule {
            self.rule_line()?;
        }
        for line in &held {
            self.write_held(line)?;
        }
        Ok(())
    }

    fn line(&mut self, row: &[String], code: &str) -> io::Result<()> {
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
        let text = text.trim_end();
        if code.is_empty() {
            writeln!(self.out, "{text}")
        } else {
            writeln!(self.out, "\x1b[{code}m{text}\x1b[0m")
        }
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

#[cfg(test)]
mod painted_tests {
    use super::*;

    fn text(table: Table<Vec<u8>>) -> String {
        String::from_utf8(table.finish().unwrap()).unwrap()
    }

    #[test]
    fn rules_paint_and_no_rule_under_headers() {
        let mut t = Table::new(vec!["a".into(), "n".into()], Vec::new());
        t.set_align(vec![Align::Left, Align::Right]);
        t.set_header_paint("1");
        t.row(vec!["x".into(), "1".into()]).unwrap();
        t.rule().unwrap();
        t.row_painted(vec!["total".into(), "10".into()], "33")
            .unwrap();
        assert_eq!(
            text(t),
            "\x1b[1ma       n\x1b[0m\n─────  ──\nx       1\n─────  ──\n\x1b[33mtotal  10\x1b[0m\n"
        );
        let mut t = Table::new(vec!["a".into(), "b".into()], Vec::new());
        t.set_rule(false);
        t.row(vec!["long".into(), "z".into()]).unwrap();
        assert_eq!(text(t), "a     b\nlong  z\n");
    }

    #[test]
    fn sample_decides_which_rows_are_measured() {
        let rows = |sample: usize| {
            let mut t = Table::new(vec!["c".into(), "d".into()], Vec::new());
            t.set_sample(sample);
            t.row(vec!["1".into(), "x".into()]).unwrap();
            t.row(vec!["12345".into(), "y".into()]).unwrap();
            text(t)
        };
        // Measured on the first row only: the wider one that follows pushes its cells right.
        assert_eq!(rows(1), "c  d\n─  ─\n1  x\n12345  y\n");
        assert_eq!(rows(usize::MAX), "    c  d\n─────  ─\n    1  x\n12345  y\n");
    }
}
