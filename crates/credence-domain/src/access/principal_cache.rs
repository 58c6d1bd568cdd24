//! Principals recently authenticated, so that most requests do not read the key store.
//!
//! Every request presents a key; looking it up is a database round trip (and a hop to the
//! blocking pool) on each one, more than the rest of a simple read costs. An entry answers for
//! at most `ttl` after it was read from the store, so a key revoked or a user changed on any
//! replica stops working everywhere within that bound; a revocation through this service
//! empties the cache at once. Only keys that authenticated are kept: a guessed key is never
//! cached, so guessing cannot fill memory (and is rate-limited before it gets here).
//!
//! The clock is the service's [`Clock`](crate::ports::Clock), whole seconds: an entry read at
//! `t` is used while `now - t < ttl`, which is never longer than `ttl` of real time.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use crate::access::credentials::KeyHash;
use crate::access::principal::Principal;

/// Beyond this many keys, the cache starts over rather than grow: live keys are far fewer.
const CAPACITY: usize = 100_000;

/// Authenticated principals by key hash, each with when it was read.
#[derive(Debug)]
pub(crate) struct PrincipalCache {
    ttl: TimeDelta,
    entries: Mutex<Entries>,
}

/// The entries, and how many times they were cleared: a principal read from the store before
/// a clear (a revocation) is not put back after it.
#[derive(Debug, Default)]
struct Entries {
    by_hash: HashMap<KeyHash, (Principal, DateTime<Utc>)>,
    generation: u64,
}

/// Which clear a lookup in the store began after ([`PrincipalCache::generation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Generation(u64);

impl PrincipalCache {
    pub(crate) fn new(ttl: TimeDelta) -> Self {
        Self {
            ttl,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// Taken before a lookup in the store, and given to [`PrincipalCache::put`] with what it
    /// found.
    pub(crate) fn generation(&self) -> Option<Generation> {
        self.entries.lock().ok().map(|e| Generation(e.generation))
    }

    /// The principal `hash` stood for, if it was read from the store less than `ttl` ago.
    pub(crate) fn get(&self, hash: &KeyHash, now: DateTime<Utc>) -> Option<Principal> {
        let entries = self.entries.lock().ok()?;
        let (principal, read_at) = entries.by_hash.get(hash)?;
        (now - *read_at < self.ttl && now >= *read_at).then(|| principal.clone())
    }

    /// Keeps what a lookup that began at `looked_up` found, unless the cache was cleared
    /// since: the key it found may be the one just revoked.
    pub(crate) fn put(
        &self,
        hash: KeyHash,
        principal: Principal,
        read_at: DateTime<Utc>,
        looked_up: Generation,
    ) {
        if let Ok(mut entries) = self.entries.lock() {
            if Generation(entries.generation) != looked_up {
                return;
            }
            let by_hash = &mut entries.by_hash;
            if by_hash.len() >= CAPACITY {
                by_hash.retain(|_, (_, at)| read_at - *at < self.ttl);
                if by_hash.len() >= CAPACITY {
                    by_hash.clear();
                }
            }
            by_hash.insert(hash, (principal, read_at));
        }
    }

    /// Forgets every entry (after a revocation through this process), and what lookups that
    /// began before would put back.
    pub(crate) fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.by_hash.clear();
            entries.generation += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::principal::Role;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn an_entry_answers_for_less_than_its_ttl() {
        let cache = PrincipalCache::new(TimeDelta::seconds(1));
        let hash = KeyHash::from_stored("ab".into());
        let principal = Principal::new(None, Role::Admin, None);
        let looked_up = cache.generation().unwrap();
        cache.put(hash.clone(), principal.clone(), at(0), looked_up);
        assert_eq!(cache.get(&hash, at(0)), Some(principal));
        assert_eq!(cache.get(&hash, at(1)), None, "expired after the ttl");
        assert_eq!(cache.get(&hash, at(-1)), None, "a clock that went back");
    }

    #[test]
    fn clear_forgets_everything() {
        let cache = PrincipalCache::new(TimeDelta::seconds(60));
        let hash = KeyHash::from_stored("ab".into());
        let principal = Principal::new(None, Role::Admin, None);
        cache.put(
            hash.clone(),
            principal.clone(),
            at(0),
            cache.generation().unwrap(),
        );
        cache.clear();
        assert_eq!(cache.get(&hash, at(0)), None);
    }

    /// A lookup that began before a revocation cleared the cache found the key still valid;
    /// what it found is not put back.
    #[test]
    fn a_lookup_from_before_a_clear_is_not_kept() {
        let cache = PrincipalCache::new(TimeDelta::seconds(60));
        let hash = KeyHash::from_stored("ab".into());
        let principal = Principal::new(None, Role::Admin, None);
        let looked_up = cache.generation().unwrap();
        cache.clear();
        cache.put(hash.clone(), principal.clone(), at(0), looked_up);
        assert_eq!(cache.get(&hash, at(0)), None);
        cache.put(
            hash.clone(),
            principal.clone(),
            at(0),
            cache.generation().unwrap(),
        );
        assert_eq!(cache.get(&hash, at(0)), Some(principal));
    }
}
