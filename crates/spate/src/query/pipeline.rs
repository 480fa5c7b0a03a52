//! Running a [`Query`] over many inputs on every core: the executor, one
//! [`QueryRunner`] per worker, the merge of their partial aggregates, and the results
//! pushed into a [`ResultSink`] (or pulled, see [`super::pull`]).

use std::io;
use std::ops::ControlFlow;
use std::sync::Arc;

use super::{Aggregates, Emit, Query, QueryErrorKind, QueryRunner, Report};
use crate::inputs::Inputs;
use crate::items::ItemRef;
use crate::output::ResultSink;
use crate::parallel::{
    run_into, Halt, ItemVisitor, LineSink, Observer, RunError, RunOptions, Summary, VisitError,
    WriteLines,
};

/// What a query run did, besides the results it pushed.
#[derive(Debug, serde::Serialize)]
pub struct QueryOutcome {
    /// The executor's totals (`output_lines` is the number of results).
    pub summary: Summary,
    /// Items the filter failed on and that were left out (the query's
    /// [`OnError::Skip`](super::OnError::Skip)).
    pub skipped_items: u64,
    /// The merged aggregates, when the query aggregates (their rows were pushed as results
    /// too, one JSON object per group, sorted by key).
    pub report: Option<Report>,
}

impl QueryOutcome {
    /// Number of results (with [`Query::count_only`], the count asked for).
    pub fn results(&self) -> u64 {
        self.summary.output_lines
    }
}

/// The query stage as the executor's per-worker visitor.
struct QueryVisitor {
    runner: QueryRunner,
    /// Items the runner had seen when the current JSON text (document or line) began.
    text_start: u64,
}

impl ItemVisitor for QueryVisitor {
    fn visit(&mut self, item: ItemRef<'_>, out: &mut Vec<u8>) -> Result<u64, VisitError> {
        self.visit_streaming(item, out, &mut |_, _| ControlFlow::Continue(()))
    }

    fn visit_streaming(
        &mut self,
        item: ItemRef<'_>,
        out: &mut Vec<u8>,
        emit: &mut Emit<'_>,
    ) -> Result<u64, VisitError> {
        // The runner counts items over everything its worker saw; the index in messages
        // counts from the start of the document (or line), the same whatever the threads.
        self.runner
            .span_streaming(item, out, emit)
            .map_err(|mut e| {
                if let QueryErrorKind::Halted { code } = e.kind {
                    return Box::new(Halt { code }) as VisitError;
                }
                e.item = e.item.saturating_sub(self.text_start);
                e.into()
            })
    }

    fn end_text(&mut self, _out: &mut Vec<u8>) -> Result<u64, VisitError> {
        self.text_start = self.runner.items();
        Ok(0)
    }

    fn text_items(&self) -> u64 {
        self.runner.items() - self.text_start
    }
}

/// Hands the executor's blocks of result lines to a [`ResultSink`].
pub(super) struct SinkLines<'s>(pub &'s mut dyn ResultSink);

impl LineSink for SinkLines<'_> {
    fn write_lines(&mut self, lines: &[u8], count: u64) -> io::Result<()> {
        self.0.results(lines, count)
    }
}

/// Runs `query` over `inputs` on every core and pushes its results into `sink`, in input
/// order unless `options.ordered` is false: the filter's outputs (or the items), or, when
/// the query aggregates, one row per group once all inputs are read. A count-only query
/// pushes nothing: its count is [`QueryOutcome::results`]. Errors met and gone past
/// (unreadable inputs, skipped bad lines) go to `observer`; the error that ends the run
/// is returned.
///
/// `options.markers` is set from the query's plan; `options.on_error` applies to bad input
/// and, through the query, to items the filter fails on.
pub fn execute(
    query: &Query,
    inputs: &Inputs,
    options: &RunOptions,
    sink: &mut dyn ResultSink,
    observer: &mut dyn Observer,
) -> Result<QueryOutcome, RunError> {
    let plan = Arc::new(query.plan()?);
    let query = query.clone().on_error(options.on_error);
    let mut options = options.clone();
    options.markers = plan.markers;
    options.record_children = query.children_wanted();
    let make = || QueryVisitor {
        runner: QueryRunner::new(query.clone(), plan.clone()),
        text_start: 0,
    };
    let (visitors, summary) = if query.count_only && !query.aggregates() {
        run_into(
            inputs,
            &plan.paths,
            &options,
            make,
            &mut WriteLines(io::sink()),
            observer,
        )?
    } else {
        run_into(
            inputs,
            &plan.paths,
            &options,
            make,
            &mut SinkLines(sink),
            observer,
        )?
    };
    let mut skipped_items = 0;
    let mut merged: Option<Aggregates> = None;
    // Partials merge in worker order.
    for QueryVisitor { runner, .. } in visitors {
        skipped_items += runner.skipped();
        if let Some(partial) = runner.into_aggregates() {
            match &mut merged {
                Some(m) => m.merge(partial),
                None => merged = Some(partial),
            }
        }
    }
    if let Some(m) = &merged {
        // Each partial kept within the limit; together they may not.
        if m.len() > query.max_groups {
            return Err(RunError::TooManyGroups {
                limit: query.max_groups,
            });
        }
    }
    let report = merged.map(|aggregates| Report::new(&query, aggregates));
    if let Some(report) = &report {
        for row in report.aggregates.sorted_rows() {
            sink.result(&report.row_json(&row))
                .map_err(RunError::Output)?;
        }
    }
    Ok(QueryOutcome {
        // (items skipped by the runner in skip mode, and those whose error reached the
        // executor: items that could not be held for a `with` field)
        skipped_items: skipped_items + summary.skipped_items,
        summary,
        report,
    })
}
