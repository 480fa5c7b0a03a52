//! Back-pressure: bounds the output held for tasks the merger cannot write yet.
//!
//! In ordered mode a worker that runs ahead of the oldest task keeps its output in memory
//! up to [`OUTPUT_BUDGET`](super::OUTPUT_BUDGET) bytes, then waits for the merger to catch
//! up. The task being written never waits, so the run always progresses.

use std::sync::{Condvar, Mutex};

use super::OUTPUT_BUDGET;

/// The output budget shared by the workers (who take) and the merger (who releases).
pub(super) struct Budget {
    state: Mutex<BudgetState>,
    changed: Condvar,
}

struct BudgetState {
    /// The task the merger writes now (ordered mode).
    head: usize,
    /// Bytes handed to the merger and not written yet.
    held: usize,
    /// The run is over: nobody waits any more.
    stopped: bool,
}

impl Budget {
    pub fn new() -> Self {
        Budget {
            state: Mutex::new(BudgetState {
                head: 0,
                held: 0,
                stopped: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// Takes `n` bytes of budget for a block of `task`, waiting while the budget is spent
    /// (never for the task being written).
    pub fn take(&self, task: usize, n: usize) {
        if n == 0 {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // The head task never waits, in either mode: unordered runs hold the errors of later
        // tasks until their turn, and those must not block the head.
        while !s.stopped && s.held > OUTPUT_BUDGET && s.head != task {
            s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.held += n;
    }

    /// Gives back `n` bytes (written or dropped by the merger).
    pub fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.held = s.held.saturating_sub(n);
        self.changed.notify_all();
    }

    /// The merger now writes task `head`.
    pub fn advance(&self, head: usize) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.head = head;
        self.changed.notify_all();
    }

    /// Wakes every waiting worker for good (the run stops).
    pub fn wake(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.stopped = true;
        self.changed.notify_all();
    }
}
