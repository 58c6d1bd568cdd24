//! When a failed webhook delivery is tried again: exponential backoff from a base delay,
//! for a bounded number of attempts, then the delivery has failed for good.

use chrono::TimeDelta;

/// The retry rule of webhook deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    base: TimeDelta,
    max_attempts: u32,
}

/// The longest wait between two attempts, whatever the base and the attempt.
const LONGEST_WAIT: TimeDelta = TimeDelta::days(1);

impl RetryPolicy {
    /// Waits `base`, then twice as long after each failure, for at most `max_attempts`
    /// attempts in all (at least one).
    #[must_use]
    pub fn new(base: TimeDelta, max_attempts: u32) -> Self {
        Self {
            base: base.max(TimeDelta::seconds(1)),
            max_attempts: max_attempts.max(1),
        }
    }

    /// After attempt number `attempt` (1 for the first) failed: the wait before the next
    /// one, or `None` when that was the last.
    #[must_use]
    pub fn after_failure(&self, attempt: u32) -> Option<TimeDelta> {
        if attempt >= self.max_attempts {
            return None;
        }
        let doublings = attempt.saturating_sub(1).min(30);
        let factor = 1_i32 << doublings;
        Some(
            self.base
                .checked_mul(factor)
                .map_or(LONGEST_WAIT, |wait| wait.min(LONGEST_WAIT)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_until_the_last_attempt() {
        let policy = RetryPolicy::new(TimeDelta::seconds(10), 4);
        let waits: Vec<_> = (1..=4).map(|a| policy.after_failure(a)).collect();
        assert_eq!(
            waits,
            [
                Some(TimeDelta::seconds(10)),
                Some(TimeDelta::seconds(20)),
                Some(TimeDelta::seconds(40)),
                None
            ]
        );
    }

    #[test]
    fn a_wait_never_passes_a_day() {
        let policy = RetryPolicy::new(TimeDelta::hours(1), 100);
        assert_eq!(policy.after_failure(60), Some(LONGEST_WAIT));
        assert_eq!(
            RetryPolicy::new(TimeDelta::zero(), 0).after_failure(1),
            None
        );
    }
}
