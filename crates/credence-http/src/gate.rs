//! What the request gate keeps between requests: the requests in flight and their limit
//! ([`crate::concurrency`]), the token buckets of each credential and the failed-authentication buckets of each client address.
//!
//! The limits are per process (in memory, per replica), while actix runs one app per
//! worker thread. So this state sits behind one `Arc` that the [`crate::HttpConfig`] carries
//! into every worker, made on first use from that config's numbers (a config built with
//! `..HttpConfig::default()` and other limits still gets its own limits).
//!
//! The buckets are `governor`'s keyed GCRA limiters. Memory stays bounded: every
//! [`MAINTAIN_EVERY`] authentications the limiters forget keys whose bucket is full again
//! (`retain_recent`), and the addresses blocked for failed authentications that have served
//! their wait are dropped.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::HttpConfig;
use crate::concurrency::{Concurrency, InFlight};

/// How many authentications pass between two clean-ups of the limiters' memory.
const MAINTAIN_EVERY: u64 = 1024;

/// A credential as the rate limiter knows it: the SHA-256 of the presented key, so the key
/// itself is never kept.
pub(crate) type Credential = [u8; 32];

/// The shared state of the gate; cheap to clone, every clone is the same state.
#[derive(Clone, Default)]
pub struct Gate {
    limits: Arc<OnceLock<Limits>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("in_flight", &self.limits.get().map(Limits::in_flight))
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// The limits, made from `config`'s numbers by the first request that asks.
    pub(crate) fn limits(&self, config: &HttpConfig) -> &Limits {
        self.limits.get_or_init(|| Limits::new(config))
    }
}

/// The counters and buckets themselves.
pub(crate) struct Limits {
    concurrency: Arc<Concurrency>,
    per_credential: DefaultKeyedRateLimiter<Credential>,
    failures: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses whose failure bucket is empty, until when: they are answered `429` before
    /// their key is looked up. `governor` cannot tell whether a bucket is empty without taking
    /// a token from it, so the wait it gave is remembered here.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    authentications: AtomicU64,
}

impl Limits {
    fn new(config: &HttpConfig) -> Self {
        let one = NonZeroU32::MIN;
        let rate = NonZeroU32::new(config.rate_limit_per_second).unwrap_or(one);
        let burst = NonZeroU32::new(config.rate_limit_burst).unwrap_or(one);
        let failures = NonZeroU32::new(config.auth_failures_per_minute).unwrap_or(one);
        Self {
            concurrency: Concurrency::new(config.max_in_flight),
            per_credential: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            failures: RateLimiter::keyed(Quota::per_minute(failures)),
            blocked: Mutex::new(HashMap::new()),
            authentications: AtomicU64::new(0),
        }
    }

    /// How many requests are being processed now.
    pub(crate) fn in_flight(&self) -> usize {
        self.concurrency.in_flight()
    }

    /// Takes one of the places (at most `max_in_flight`, fewer while requests queue), or
    /// `None` when all are taken. The place is given back when the returned guard drops (the
    /// response is ready, or the client left).
    pub(crate) fn enter(&self) -> Option<InFlight> {
        self.concurrency.enter()
    }

    /// Takes a token from `credential`'s bucket, or says how long until one is there.
    pub(crate) fn charge(&self, credential: &Credential) -> Result<(), Duration> {
        self.maintain();
        self.per_credential
            .check_key(credential)
            .map_err(|not_until| not_until.wait_time_from(self.per_credential.clock().now()))
    }

    /// How long `address` must still wait after too many failed authentications, if it must.
    pub(crate) fn blocked(&self, address: IpAddr) -> Option<Duration> {
        let mut blocked = self
            .blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let until = *blocked.get(&address)?;
        let now = Instant::now();
        if until > now {
            Some(until - now)
        } else {
            blocked.remove(&address);
            None
        }
    }

    /// Counts a failed authentication of `address`; once its bucket is empty, says how long
    /// the address must wait, and remembers that so the next request is refused at once.
    pub(crate) fn record_failure(&self, address: IpAddr) -> Result<(), Duration> {
        self.maintain();
        let wait = match self.failures.check_key(&address) {
            Ok(()) => return Ok(()),
            Err(not_until) => not_until.wait_time_from(self.failures.clock().now()),
        };
        self.blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(address, Instant::now() + wait);
        Err(wait)
    }

    /// Now and then, forgets what no longer limits anyone.
    fn maintain(&self) {
        let n = self.authentications.fetch_add(1, Ordering::Relaxed);
        if n % MAINTAIN_EVERY != MAINTAIN_EVERY - 1 {
            return;
        }
        self.per_credential.retain_recent();
        self.failures.retain_recent();
        let now = Instant::now();
        self.blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, until| *until > now);
    }

    /// How many keys the limiters and the block list hold (for tests of the clean-up).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.per_credential.len()
            + self.failures.len()
            + self
                .blocked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_in_flight: usize, per_second: u32, burst: u32, failures: u32) -> HttpConfig {
        HttpConfig {
            max_in_flight,
            rate_limit_per_second: per_second,
            rate_limit_burst: burst,
            auth_failures_per_minute: failures,
            ..HttpConfig::default()
        }
    }

    #[test]
    fn clones_of_the_config_share_one_gate() {
        let config = config(1, 1, 1, 1);
        let worker = config.clone();
        let _held = config.gate.limits(&config).enter().unwrap();
        assert!(worker.gate.limits(&worker).enter().is_none());
    }

    #[test]
    fn a_credential_gets_its_burst_then_waits_a_refill() {
        let config = config(1, 1, 3, 1);
        let limits = config.gate.limits(&config);
        let (a, b) = ([1; 32], [2; 32]);
        for _ in 0..3 {
            limits.charge(&a).unwrap();
        }
        let wait = limits.charge(&a).unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        // Another credential has its own bucket.
        limits.charge(&b).unwrap();
    }

    #[test]
    fn an_address_over_its_failures_is_blocked_until_a_token_returns() {
        let config = config(1, 1, 1, 2);
        let limits = config.gate.limits(&config);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert_eq!(limits.blocked(a), None);
        limits.record_failure(a).unwrap();
        limits.record_failure(a).unwrap();
        let wait = limits.record_failure(a).unwrap_err();
        // Two a minute: the next token is 30 s away.
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert!(limits.blocked(a).is_some());
        assert_eq!(limits.blocked(b), None);
    }

    #[test]
    fn memory_is_cleaned_up_now_and_then() {
        // A huge refill rate: every bucket is full again by the time the clean-up runs.
        let config = config(1, 1_000_000_000, 1, 1_000_000_000);
        let limits = config.gate.limits(&config);
        for i in 0..MAINTAIN_EVERY - 1 {
            let mut credential = [0; 32];
            credential[..8].copy_from_slice(&i.to_le_bytes());
            limits.charge(&credential).unwrap();
        }
        assert!(limits.remembered() > 1000);
        limits.charge(&[0xff; 32]).unwrap();
        assert!(limits.remembered() < 10, "{}", limits.remembered());
    }
}
