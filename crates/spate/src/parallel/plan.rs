//! Planning: cutting the inputs into tasks, numbered in input order.
//!
//! One task per input, except that a plain (uncompressed) JSON Lines file larger than the
//! range size is cut into byte ranges, each its own task (see [`crate::jsonl`] for how
//! ranges own lines). The cut does not depend on the number of threads, so every thread
//! count runs the same tasks.

use std::fs::File;
use std::sync::Arc;

use spate_json::Path;

use super::split::{self, Cut, Piece};
use super::RunOptions;
use crate::inputs::{read_head, sniff, Compression, Format, InputFile, Inputs};
use crate::source;

/// The bytes of a JSON Lines file one task owns: the lines that start in `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ByteRange {
    pub start: u64,
    /// `None` for the last range, which reads to the end of the file.
    pub end: Option<u64>,
}

/// One unit of work.
#[derive(Debug, Clone)]
pub(super) struct Task {
    /// Index of the input in [`Inputs::files`].
    pub input: usize,
    /// `None`: the whole input; else the byte range of the lines it owns.
    pub range: Option<ByteRange>,
    /// Known format (forced, by name, or sniffed while planning).
    pub format: Option<Format>,
    /// The last task of its input (the input's report is due when it is done). For the
    /// pieces of a document, the last piece (an earlier one may turn out to be the last:
    /// see [`split`]).
    pub last_of_input: bool,
    /// A piece of a JSON document cut by [`split`].
    pub piece: Option<Piece>,
}

/// Cuts the inputs into tasks. Plain JSON Lines files larger than the range size are cut
/// into ranges; plain JSON documents larger than [`RunOptions::document_piece`] are cut
/// into pieces when several threads run and the paths allow it (see [`split`]); the format
/// of a large file with an undecided format is sniffed here.
pub(super) fn plan(
    inputs: &Inputs,
    options: &RunOptions,
    paths: &[Path],
    threads: usize,
) -> Vec<Task> {
    let range = options.range_size.max(1);
    let mut tasks = Vec::with_capacity(inputs.files.len());
    for (i, file) in inputs.files.iter().enumerate() {
        let whole = Task {
            input: i,
            range: None,
            format: file.format,
            last_of_input: true,
            piece: None,
        };
        let piece = options.document_piece;
        // With a limit, a piece that reaches it alone would have visited (and aggregated)
        // items past the horizon the merger cuts at: a limited run is stopped soon anyway.
        if piece > 0
            && threads > 1
            && options.limit.is_none()
            && file.is_seekable_file()
            && file.compression == Compression::None
            && file.format != Some(Format::Jsonl)
            && file.len.is_some_and(|len| len > piece)
            && sniff_plain(file) == Some(Format::Json)
        {
            let len = file.len.unwrap_or(0);
            if let Some((starts, assumed)) = split::cut(&file.path, len, piece, paths, options) {
                let cut = Arc::new(Cut {
                    first_task: tasks.len(),
                    starts,
                    assumed,
                });
                let n = cut.starts.len();
                for index in 0..n {
                    tasks.push(Task {
                        format: Some(Format::Json),
                        last_of_input: index + 1 == n,
                        piece: Some(Piece {
                            cut: cut.clone(),
                            index,
                        }),
                        ..whole.clone()
                    });
                }
                continue;
            }
        }
        let splittable = file.is_seekable_file()
            && file.compression == Compression::None
            && file.format != Some(Format::Json)
            && file.len.is_some_and(|len| len > range);
        if !splittable {
            tasks.push(whole);
            continue;
        }
        let len = file.len.unwrap_or(0);
        let format = match (file.format, sniff_plain(file)) {
            // Compressed despite its name, or unreadable: one task, which reports it.
            (_, None) => {
                tasks.push(whole);
                continue;
            }
            (Some(f), Some(_)) => f,
            (None, Some(f)) => f,
        };
        if format != Format::Jsonl {
            tasks.push(Task {
                format: Some(format),
                ..whole
            });
            continue;
        }
        let mut start = 0;
        while start < len {
            let end = start.saturating_add(range);
            let last = end >= len;
            tasks.push(Task {
                input: i,
                range: Some(ByteRange {
                    start,
                    end: (!last).then_some(end),
                }),
                format: Some(Format::Jsonl),
                last_of_input: last,
                piece: None,
            });
            start = end;
        }
    }
    tasks
}

/// The sniffed format of a file when it is not compressed; `None` when it is (by magic
/// bytes) or cannot be read.
fn sniff_plain(file: &InputFile) -> Option<Format> {
    let mut f = File::open(&file.path).ok()?;
    let head = read_head(&mut f).ok()?;
    if source::compression_of(&head) != Compression::None {
        return None;
    }
    Some(file.format.unwrap_or_else(|| sniff(&head)))
}
