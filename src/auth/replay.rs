#![forbid(unsafe_code)]
//! The replay cache: every accepted token's `jti` is remembered until the token expires, so the
//! same token cannot be used twice. Bounded by an entry cap and a byte cap; entries leave in
//! expiry order. When the cache is full of unexpired entries it **refuses** new tokens rather
//! than forgetting one that could then be replayed.

use std::collections::{BTreeSet, HashMap};

/// Bytes counted per entry besides the `jti` itself: the two index entries and their headers.
const ENTRY_OVERHEAD: usize = 96;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayError {
    /// This `jti` was seen and has not expired.
    Replayed,
    /// The cache is full of unexpired tokens; try again when some expire.
    Full,
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReplayError::Replayed => "token replayed: its `jti` was already used",
            ReplayError::Full => {
                "the replay cache is full of unexpired tokens; the token is refused, not remembered"
            }
        })
    }
}

#[derive(Debug)]
pub struct ReplayCache {
    max_entries: usize,
    max_bytes: usize,
    bytes: usize,
    /// `jti` → the time after which it may be forgotten.
    by_jti: HashMap<String, u64>,
    by_expiry: BTreeSet<(u64, String)>,
}

impl ReplayCache {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        ReplayCache {
            max_entries,
            max_bytes,
            bytes: 0,
            by_jti: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    /// Records `jti`, remembered until `forget_after` (the token's `exp` plus the clock skew, so
    /// that it stays refused for as long as any check would accept it). `now` first drops what
    /// has expired.
    pub fn check_and_insert(
        &mut self,
        jti: &str,
        forget_after: u64,
        now: u64,
    ) -> Result<(), ReplayError> {
        self.expire(now);
        if self.by_jti.contains_key(jti) {
            return Err(ReplayError::Replayed);
        }
        let cost = jti.len() * 2 + ENTRY_OVERHEAD;
        if self.by_jti.len() >= self.max_entries || self.bytes + cost > self.max_bytes {
            return Err(ReplayError::Full);
        }
        self.by_jti.insert(jti.to_string(), forget_after);
        self.by_expiry.insert((forget_after, jti.to_string()));
        self.bytes += cost;
        Ok(())
    }

    fn expire(&mut self, now: u64) {
        while let Some(first) = self.by_expiry.first() {
            if first.0 >= now {
                break;
            }
            if let Some((_, jti)) = self.by_expiry.pop_first() {
                self.by_jti.remove(&jti);
                self.bytes -= jti.len() * 2 + ENTRY_OVERHEAD;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.by_jti.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_jti.is_empty()
    }

    /// The bytes the caps count (an estimate of the heap the entries hold).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_refused_until_it_expires() {
        let mut c = ReplayCache::new(10, 1 << 20);
        assert!(c.is_empty());
        assert_eq!(c.check_and_insert("a", 100, 50), Ok(()));
        assert_eq!(c.check_and_insert("a", 100, 99), Err(ReplayError::Replayed));
        assert_eq!(
            c.check_and_insert("a", 100, 100),
            Err(ReplayError::Replayed)
        );
        // Past its time it is forgotten, and may be used again (its token no longer verifies).
        assert_eq!(c.check_and_insert("a", 300, 101), Ok(()));
    }

    #[test]
    fn a_full_cache_refuses_rather_than_forgets() {
        let mut c = ReplayCache::new(3, 1 << 20);
        for (i, jti) in ["a", "b", "c"].iter().enumerate() {
            assert_eq!(c.check_and_insert(jti, 100 + i as u64, 10), Ok(()));
        }
        assert_eq!(c.check_and_insert("d", 200, 10), Err(ReplayError::Full));
        // Nothing was forgotten to make room.
        assert_eq!(c.check_and_insert("a", 100, 10), Err(ReplayError::Replayed));
        // Once the earliest expires, there is room again, in expiry order.
        assert_eq!(c.check_and_insert("d", 200, 101), Ok(()));
        assert_eq!(c.len(), 3);
        assert_eq!(
            c.check_and_insert("b", 101, 101),
            Err(ReplayError::Replayed)
        );
    }

    #[test]
    fn a_flood_of_unique_jtis_stays_within_the_byte_cap() {
        let cap = 64 * 1024;
        let mut c = ReplayCache::new(1_000_000, cap);
        let mut refused = 0;
        for i in 0..100_000u64 {
            if c.check_and_insert(&format!("jti-{i:0>200}"), 1_000 + i, 0) == Err(ReplayError::Full)
            {
                refused += 1;
            }
            assert!(c.bytes() <= cap);
        }
        assert!(refused > 99_000, "{refused}");
        assert!(c.len() < 200, "{}", c.len());
    }
}
