//! Short memories: what the database answered a moment ago, believed for a fixed time instead
//! of asking again. For facts read on every request of a rush and rarely changed (a session,
//! a doctor's privilege, a slot found full). The process that makes a change forgets the
//! affected entries at once; another process (several servers on one PostgreSQL) sees the
//! change when its memory runs out, so each use states how long that may be and why it is
//! acceptable.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// A map whose entries are believed for `ttl_ms` after they were put. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct TtlCache<K, V> {
    entries: Arc<Mutex<HashMap<K, (i64, V)>>>,
    ttl_ms: i64,
    max_entries: usize,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// More than `max_entries` and the memory starts afresh: it is a shortcut, not a store,
    /// and must not grow without bound under a flood of distinct keys.
    pub fn new(ttl_ms: i64, max_entries: usize) -> Self {
        Self {
            entries: Arc::new(Mutex::new(HashMap::new())),
            ttl_ms,
            max_entries,
        }
    }

    /// The value put less than the time-to-live before `now`, if any.
    pub fn get(&self, key: &K, now: i64) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(until, _)| *until > now)
            .map(|(_, value)| value.clone())
    }

    pub fn put(&self, key: K, value: V, now: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.max_entries {
                entries.clear();
            }
            entries.insert(key, (now + self.ttl_ms, value));
        }
    }

    pub fn forget(&self, key: &K) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }

    /// Forgets the entries `stale` picks (e.g. every session of one account).
    pub fn forget_where(&self, stale: impl Fn(&K, &V) -> bool) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|k, (_, v)| !stale(k, v));
        }
    }

    pub fn forget_all(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn believed_for_its_time_then_asked_again() {
        let memory = TtlCache::new(1000, 10);
        assert_eq!(memory.get(&7, 0), None);
        memory.put(7, "taken", 0);
        assert_eq!(memory.get(&7, 999), Some("taken"));
        assert_eq!(memory.get(&7, 1000), None);
        memory.put(7, "taken", 2000);
        memory.forget(&7);
        assert_eq!(memory.get(&7, 2001), None);
    }

    #[test]
    fn forgets_what_is_picked_and_never_grows_past_its_bound() {
        let memory = TtlCache::new(1000, 3);
        memory.put(1, 10, 0);
        memory.put(2, 20, 0);
        memory.forget_where(|_, v| *v == 10);
        assert_eq!(memory.get(&1, 1), None);
        assert_eq!(memory.get(&2, 1), Some(20));
        memory.put(3, 30, 0);
        memory.put(4, 40, 0);
        assert_eq!(memory.get(&2, 1), Some(20), "three entries fit");
        memory.put(5, 50, 0);
        assert_eq!(memory.get(&2, 1), None, "a fourth starts afresh");
        assert_eq!(memory.get(&5, 1), Some(50));
        memory.put(4, 40, 0);
        memory.forget_all();
        assert_eq!(memory.get(&4, 1), None);
    }
}
