//! Phase timings through `tracing`: each phase of a load and an analysis is a span, and
//! when debug events of this crate are on (`SPATE_LOG=spate_agents=debug` with the command
//! line), its end is an event with its duration, so that a plain log shows where the time
//! goes without a subscriber that times spans.

use std::time::Instant;

/// A phase in progress: a span entered until the value is dropped.
#[derive(Debug)]
pub(crate) struct Phase {
    name: &'static str,
    /// Only when the end event is wanted (the clock is not read otherwise).
    start: Option<Instant>,
    _span: tracing::span::EnteredSpan,
}

/// Starts phase `name` on this thread.
pub(crate) fn phase(name: &'static str) -> Phase {
    let span = tracing::debug_span!("agents", phase = name).entered();
    Phase {
        name,
        start: tracing::enabled!(tracing::Level::DEBUG).then(Instant::now),
        _span: span,
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some(start) = self.start {
            tracing::debug!(
                phase = self.name,
                ms = (start.elapsed().as_secs_f64() * 1e4).round() / 10.0,
                "phase done"
            );
        }
    }
}

/// When [`timer_start`] was called: the origin of [`timer_lap`]'s times.
static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Starts the process clock of [`timer_lap`] (call it first thing in `main`).
pub fn timer_start() {
    T0.get_or_init(Instant::now);
}

/// A debug event with the time since [`timer_start`], for a front end's own phases
/// (`SPATE_LOG=spate_agents=debug` shows it).
pub fn timer_lap(what: &str) {
    if let Some(t0) = T0.get() {
        tracing::debug!(
            phase = what,
            since_start_ms = (t0.elapsed().as_secs_f64() * 1e4).round() / 10.0,
            "lap"
        );
    }
}
