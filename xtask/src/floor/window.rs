//! The measured window both sides of a ratio share: the load runs through a warm-up, then
//! answers are counted for a fixed time while the server's CPU time is read at both ends.
//!
//! Whoever makes the requests (the HTTP client's tasks or the bare-connection floor's
//! threads) records each outcome here; only outcomes that arrive inside the window count,
//! so requests in flight at its edges neither inflate nor deflate the rate.

use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Warming up, or past the window: outcomes are not counted.
const UNCOUNTED: u8 = 0;
const MEASURING: u8 = 1;
const STOPPED: u8 = 2;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A `2xx` (for the bare-connection floor: the transaction committed an admission).
    Done,
    /// A `422`: the credit did not cover the request, answered correctly (the bare floor:
    /// the conditional `UPDATE` matched no row).
    Refused,
    /// Any other status.
    Other(u16),
    /// No answer at all (connection or database error).
    Failed,
}

/// Shared by every request maker of one run.
#[derive(Debug, Default)]
pub(crate) struct Window {
    phase: AtomicU8,
    next: AtomicUsize,
    done: AtomicU64,
    refused: AtomicU64,
    other: AtomicU64,
    last_other: AtomicU16,
    failed: AtomicU64,
}

/// What one side of a ratio did inside the window.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    pub(crate) done: u64,
    pub(crate) refused: u64,
    pub(crate) other: u64,
    /// The last status counted in `other`, to say what went wrong.
    pub(crate) last_other: u16,
    pub(crate) failed: u64,
    pub(crate) elapsed: Duration,
}

impl Tally {
    /// Requests answered as they should be: admitted, or refused for lack of credit.
    pub(crate) fn correct(&self) -> u64 {
        self.done + self.refused
    }

    pub(crate) fn total(&self) -> u64 {
        self.correct() + self.other + self.failed
    }

    #[expect(clippy::cast_precision_loss, reason = "a rate for humans to read")]
    pub(crate) fn per_second(&self) -> f64 {
        self.correct() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

impl Window {
    /// Whether request makers should keep going.
    pub(crate) fn running(&self) -> bool {
        self.phase.load(Ordering::Relaxed) != STOPPED
    }

    /// A ticket for the next request: request makers spread over their targets with it.
    pub(crate) fn ticket(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts an outcome if it arrived inside the window.
    pub(crate) fn record(&self, outcome: Outcome) {
        if self.phase.load(Ordering::Relaxed) != MEASURING {
            return;
        }
        let counter = match outcome {
            Outcome::Done => &self.done,
            Outcome::Refused => &self.refused,
            Outcome::Other(status) => {
                self.last_other.store(status, Ordering::Relaxed);
                &self.other
            }
            Outcome::Failed => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs on the calling thread while the load runs elsewhere: warms up, reads `sample`,
    /// counts for `length`, reads `sample` again, then tells the load to stop. Returns the
    /// tally and the two samples.
    pub(crate) fn drive<S>(
        &self,
        warm_up: Duration,
        length: Duration,
        mut sample: impl FnMut() -> anyhow::Result<S>,
    ) -> anyhow::Result<(Tally, S, S)> {
        std::thread::sleep(warm_up);
        let before = sample();
        self.phase.store(MEASURING, Ordering::Relaxed);
        let started = Instant::now();
        std::thread::sleep(length);
        self.phase.store(UNCOUNTED, Ordering::Relaxed);
        let elapsed = started.elapsed();
        let after = sample();
        self.phase.store(STOPPED, Ordering::Relaxed);
        let tally = Tally {
            done: self.done.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            other: self.other.load(Ordering::Relaxed),
            last_other: self.last_other.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            elapsed,
        };
        Ok((tally, before?, after?))
    }
}
