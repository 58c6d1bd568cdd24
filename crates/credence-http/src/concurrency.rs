//! How many requests this process works on at once: never more than `max_in_flight`, and
//! fewer while the requests let in are queueing.
//!
//! A fixed limit is right for only one speed. A request let in waits about `in flight ÷
//! throughput`, and the throughput of a loaded server moves (the mix of requests, the
//! database, the CPU that refusals themselves take), so with 512 places a server answering
//! 800 requests a second makes each wait most of a second. So the limit follows the latency,
//! as `CoDel` does for packets: every [`INTERVAL`], the fastest request completed in it says
//! whether a queue stands (if even the fastest took longer than [`TARGET`], every request
//! waited). While one stands, the limit shrinks by a tenth per interval, down to [`FLOOR`];
//! once the fastest are quick again, it grows back by a tenth per interval up to
//! `max_in_flight`. The fastest request, not a percentile, is the signal so that a few slow
//! requests (a large list) do not read as a queue: only a server where nothing is fast does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the limit is reconsidered.
const INTERVAL: Duration = Duration::from_millis(100);

/// A standing queue: even the fastest request of an interval took longer than this.
const TARGET: Duration = Duration::from_millis(50);

/// The limit never shrinks below this many places (nor above `max_in_flight`): enough to keep
/// every pooled connection busy and batches of admissions forming.
const FLOOR: usize = 32;

/// The in-flight count and its limit; shared by every worker of the process.
#[derive(Debug)]
pub(crate) struct Concurrency {
    ceiling: usize,
    floor: usize,
    limit: AtomicUsize,
    in_flight: AtomicUsize,
    interval: Mutex<Interval>,
}

/// What the current interval has seen so far.
#[derive(Debug)]
struct Interval {
    started: Instant,
    fastest: Option<Duration>,
}

impl Concurrency {
    /// At most `max_in_flight` at once (and at least one).
    pub(crate) fn new(max_in_flight: usize) -> Arc<Self> {
        let ceiling = max_in_flight.max(1);
        Arc::new(Self {
            ceiling,
            floor: FLOOR.min(ceiling),
            limit: AtomicUsize::new(ceiling),
            in_flight: AtomicUsize::new(0),
            interval: Mutex::new(Interval {
                started: Instant::now(),
                fastest: None,
            }),
        })
    }

    /// How many requests are being processed now.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// How many may be processed at once now.
    pub(crate) fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    /// Takes a place, or `None` when all are taken. The place is given back, and the time it
    /// was held counted, when the guard drops (the response is ready, or the client left).
    pub(crate) fn enter(self: &Arc<Self>) -> Option<InFlight> {
        let limit = self.limit();
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()?;
        Some(InFlight {
            concurrency: Arc::clone(self),
            entered: Instant::now(),
        })
    }

    /// Counts one request that took `latency`, finished at `now`; at the end of an interval,
    /// moves the limit.
    fn complete(&self, latency: Duration, now: Instant) {
        let mut interval = self
            .interval
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        interval.fastest = Some(interval.fastest.map_or(latency, |f| f.min(latency)));
        if now.saturating_duration_since(interval.started) < INTERVAL {
            return;
        }
        let fastest = interval.fastest.take().unwrap_or_default();
        interval.started = now;
        drop(interval);
        let limit = self.limit();
        let next = if fastest > TARGET {
            limit.saturating_sub(limit / 10).max(self.floor)
        } else if fastest < TARGET / 2 {
            limit.saturating_add(limit / 10 + 1).min(self.ceiling)
        } else {
            limit
        };
        if next != limit {
            self.limit.store(next, Ordering::Relaxed);
            tracing::debug!(
                limit = next,
                fastest_ms = fastest.as_millis(),
                "in-flight limit moved"
            );
        }
    }
}

/// One taken place among the requests in flight; dropping it gives the place back.
#[derive(Debug)]
pub(crate) struct InFlight {
    concurrency: Arc<Concurrency>,
    entered: Instant,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.concurrency.in_flight.fetch_sub(1, Ordering::AcqRel);
        let now = Instant::now();
        self.concurrency
            .complete(now.saturating_duration_since(self.entered), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Completes one request of `latency` in each of `intervals` consecutive intervals.
    fn intervals(concurrency: &Concurrency, start: &mut Instant, latency: Duration, n: usize) {
        for _ in 0..n {
            *start += INTERVAL;
            concurrency.complete(latency, *start);
        }
    }

    #[test]
    fn places_are_taken_up_to_the_limit_and_given_back() {
        let concurrency = Concurrency::new(2);
        let a = concurrency.enter().unwrap();
        let b = concurrency.enter().unwrap();
        assert!(concurrency.enter().is_none());
        assert_eq!(concurrency.in_flight(), 2);
        drop(a);
        let c = concurrency.enter().unwrap();
        drop((b, c));
        assert_eq!(concurrency.in_flight(), 0);
    }

    #[test]
    fn a_standing_queue_shrinks_the_limit_to_the_floor_and_its_end_restores_it() {
        let concurrency = Concurrency::new(512);
        let mut now = Instant::now();
        intervals(&concurrency, &mut now, Duration::from_millis(400), 5);
        assert_eq!(concurrency.limit(), 304, "a tenth less per interval");
        intervals(&concurrency, &mut now, Duration::from_millis(400), 100);
        assert_eq!(concurrency.limit(), FLOOR);
        // Between half the target and the target: held where it is.
        intervals(&concurrency, &mut now, TARGET * 3 / 4, 10);
        assert_eq!(concurrency.limit(), FLOOR);
        intervals(&concurrency, &mut now, Duration::from_millis(2), 100);
        assert_eq!(concurrency.limit(), 512, "never above max_in_flight");
    }

    #[test]
    fn one_fast_request_in_an_interval_means_no_queue() {
        let concurrency = Concurrency::new(512);
        let mut now = Instant::now();
        for _ in 0..20 {
            // Slow requests, and one quick one, in every interval.
            for _ in 0..10 {
                concurrency.complete(Duration::from_millis(900), now);
            }
            concurrency.complete(Duration::from_millis(1), now);
            now += INTERVAL;
            concurrency.complete(Duration::from_millis(1), now);
        }
        assert_eq!(concurrency.limit(), 512);
    }

    #[test]
    fn a_small_max_in_flight_is_its_own_floor() {
        let concurrency = Concurrency::new(4);
        let mut now = Instant::now();
        intervals(&concurrency, &mut now, Duration::from_secs(1), 10);
        assert_eq!(concurrency.limit(), 4);
    }
}
