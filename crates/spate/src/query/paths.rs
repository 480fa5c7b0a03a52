//! Selecting the items at several paths in one pass: each result says which path it
//! belongs to, or the results are counted per path.

use std::io;
use std::sync::Arc;

use spate_json::Path;

use crate::inputs::Inputs;
use crate::items::ItemRef;
use crate::output::ResultSink;
use crate::parallel::{
    run_into, ItemVisitor, LineSink, Observer, RunError, RunOptions, Summary, VisitError,
};

/// What [`select_paths`] does with the items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathsOutput {
    /// Each item as `{"path": PATH, "value": ITEM}`, in the order the items end.
    Labelled,
    /// Only the number of items per path (with a limit, of the first items in order).
    Counts,
}

/// What [`select_paths`] did.
#[derive(Debug, serde::Serialize)]
pub struct PathsOutcome {
    /// The executor's totals.
    pub summary: Summary,
    /// With [`PathsOutput::Counts`]: the items per path, in the order of the paths.
    pub counts: Option<Vec<u64>>,
}

/// Labels each item with its path, or tags it with its path's index to be counted.
struct Labelled {
    labels: Arc<Vec<Vec<u8>>>,
    output: PathsOutput,
}

impl ItemVisitor for Labelled {
    fn visit(&mut self, item: ItemRef<'_>, out: &mut Vec<u8>) -> Result<u64, VisitError> {
        match self.output {
            PathsOutput::Counts => {
                // One line per item holding its path index as one byte (below 64, so never
                // a newline: see `TAG`): counted as output, so that a limit cuts the
                // counts exactly where a sequential run would.
                out.push(TAG + item.path_index() as u8);
                out.push(b'\n');
            }
            PathsOutput::Labelled => {
                out.extend_from_slice(b"{\"path\":");
                out.extend_from_slice(&self.labels[item.path_index()]);
                out.extend_from_slice(b",\"value\":");
                item.compact_into(out);
                out.extend_from_slice(b"}\n");
            }
        }
        Ok(1)
    }
}

/// The first tag byte: path indexes (at most [`spate_json::MAX_PATHS`]) are written as
/// `TAG + index`, which stays clear of `\n`.
const TAG: u8 = 0x40;

/// Counts the tagged lines of [`PathsOutput::Counts`] per path.
struct Counter(Vec<u64>);

impl LineSink for Counter {
    fn write_lines(&mut self, lines: &[u8], _count: u64) -> io::Result<()> {
        for tagged in lines.chunks_exact(2) {
            if let Some(c) = self.0.get_mut(usize::from(tagged[0] - TAG)) {
                *c += 1;
            }
        }
        Ok(())
    }
}

/// Selects the items at `paths` of `inputs` in one pass on every core. Labelled items are
/// pushed into `sink` (in input order unless `options.ordered` is false); with
/// [`PathsOutput::Counts`] the sink gets nothing and the counts are in the outcome.
pub fn select_paths(
    paths: &[Path],
    inputs: &Inputs,
    options: &RunOptions,
    output: PathsOutput,
    sink: &mut dyn ResultSink,
    observer: &mut dyn Observer,
) -> Result<PathsOutcome, RunError> {
    let labels = Arc::new(
        paths
            .iter()
            .map(|p| serde_json::to_vec(p.as_str()).expect("a string serializes"))
            .collect::<Vec<_>>(),
    );
    let make = || Labelled {
        labels: labels.clone(),
        output,
    };
    match output {
        PathsOutput::Labelled => {
            let (_, summary) = run_into(
                inputs,
                paths,
                options,
                make,
                &mut super::pipeline::SinkLines(sink),
                observer,
            )?;
            Ok(PathsOutcome {
                summary,
                counts: None,
            })
        }
        PathsOutput::Counts => {
            let mut counter = Counter(vec![0; paths.len()]);
            let (_, summary) = run_into(inputs, paths, options, make, &mut counter, observer)?;
            Ok(PathsOutcome {
                summary,
                counts: Some(counter.0),
            })
        }
    }
}
