//! A short memory of slots found full, so that the losers of a release rush get their 409
//! without a database query. The database still decides every winner (the conditional update);
//! this only answers "full" for a second after the database said so. A place freed in that
//! second (a cancellation) is offered to the waitlist first anyway, and is bookable again
//! once the second has passed.
//!
//! It also remembers, per doctor, the next free times offered to those losers: in a rush
//! thousands of refusals for one doctor within a second would otherwise each search the
//! doctor's two weeks of slots (measured on PostgreSQL: 1.7 ms of database time per refusal,
//! more than half of the rush's). The offer is a hint; slots found full since are left out.

use crate::ttl_cache::TtlCache;

/// How long "full" is believed without asking the database again.
pub const FRESH_MS: i64 = 1000;
/// More entries than this and the memory starts afresh (a rush touches thousands at most).
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone)]
pub struct FullGate {
    full: TtlCache<i64, String>,
    /// Doctor → the start time and id of their next free slots, as last searched.
    next_free: TtlCache<i64, Vec<(i64, i64)>>,
}

impl Default for FullGate {
    fn default() -> Self {
        Self {
            full: TtlCache::new(FRESH_MS, MAX_ENTRIES),
            next_free: TtlCache::new(FRESH_MS, MAX_ENTRIES),
        }
    }
}

impl FullGate {
    /// The answer given when the slot was last found full, if that was less than a second ago.
    pub fn check(&self, slot: i64, now: i64) -> Option<String> {
        self.full.get(&slot, now)
    }

    /// Remembers that the slot is full, with the message its losers get.
    pub fn remember(&self, slot: i64, now: i64, message: &str) {
        self.full.put(slot, message.to_owned(), now);
    }

    /// Forgets a slot whose place was given back (cancel, reschedule) in this process.
    pub fn forget(&self, slot: i64) {
        self.full.forget(&slot);
    }

    /// The doctor's next free slots (start, id) searched less than a second ago, without
    /// those found full since.
    pub fn next_free(&self, doctor: i64, now: i64) -> Option<Vec<(i64, i64)>> {
        let mut slots = self.next_free.get(&doctor, now)?;
        slots.retain(|(_, slot)| self.check(*slot, now).is_none());
        Some(slots)
    }

    /// Remembers the result of a search for the doctor's next free slots.
    pub fn remember_next_free(&self, doctor: i64, slots: Vec<(i64, i64)>, now: i64) {
        self.next_free.put(doctor, slots, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_is_believed_for_a_second_then_asked_again() {
        let gate = FullGate::default();
        assert_eq!(gate.check(7, 0), None);
        gate.remember(7, 0, "taken");
        assert_eq!(gate.check(7, 999).as_deref(), Some("taken"));
        assert_eq!(gate.check(7, 1000), None);
        gate.remember(7, 2000, "taken");
        gate.forget(7);
        assert_eq!(gate.check(7, 2001), None);
    }

    #[test]
    fn next_free_times_leave_out_slots_found_full_since() {
        let gate = FullGate::default();
        assert_eq!(gate.next_free(3, 0), None);
        gate.remember_next_free(3, vec![(100, 7), (200, 8)], 0);
        gate.remember(7, 10, "taken");
        assert_eq!(gate.next_free(3, 500), Some(vec![(200, 8)]));
        assert_eq!(gate.next_free(4, 500), None);
        assert_eq!(gate.next_free(3, 1000), None);
    }
}
