//! Time as the database stores it: UTC epoch milliseconds in a signed 64-bit integer.
//! Milliseconds survive a round trip through both SQLite and PostgreSQL unchanged, which
//! `TIMESTAMPTZ` (microseconds) and floating-point SQLite dates do not.
//!
//! Application code asks its [`Clock`] (`AppState::now_ms`, `JobContext::now_ms`), never the
//! wall clock directly, so a test can move one application's time forward — a token
//! expiring, a hold lapsing, a job coming due — without sleeping and without touching the
//! other tests running in the same process. The layering test holds code to this.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The wall clock: milliseconds since the Unix epoch, UTC. For the few places that must
/// record when something really happened whatever a test did to its clock (audit events),
/// and for programs without an application (benchmarks, the demo's bulk data).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        // A clock before 1970 is a broken machine; 0 keeps ordering sane rather than panicking.
        .unwrap_or(0)
}

/// One application's time: the wall clock plus an offset that only tests move. Time keeps
/// flowing (timeouts and leases still work); moving it forward is never undone.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Milliseconds since the Unix epoch, UTC, as this application sees them.
    pub fn now_ms(&self) -> i64 {
        now_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every copy of it) forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_is_ahead_by_the_amount_in_every_copy() {
        let clock = Clock::default();
        let copy = clock.clone();
        let before = now_ms();
        clock.advance(Duration::from_secs(3600));
        let seen = copy.now_ms();
        assert!(seen >= before + 3_600_000, "{seen} vs {before}");
        assert!(seen <= now_ms() + 3_600_000);
    }
}
