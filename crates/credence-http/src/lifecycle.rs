//! Where the server is in its life: serving, or draining before it stops. The composition
//! root flips it on SIGTERM; readiness reads it, so a load balancer stops sending traffic while
//! the listener still accepts what is already on its way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A shared switch, cheap to clone: every worker and the signal handler hold the same one.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    draining: Arc<AtomicBool>,
}

impl Lifecycle {
    /// Marks the server as shutting down; from now on `/health/ready` answers `503`.
    pub fn begin_drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown has begun.
    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::Lifecycle;

    #[test]
    fn clones_share_the_switch() {
        let lifecycle = Lifecycle::default();
        let seen_by_a_worker = lifecycle.clone();
        assert!(!seen_by_a_worker.is_draining());
        lifecycle.begin_drain();
        assert!(seen_by_a_worker.is_draining());
    }
}
