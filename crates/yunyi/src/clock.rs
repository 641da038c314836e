//! Time as the database stores it: UTC epoch milliseconds in a signed 64-bit integer.
//! Milliseconds survive a round trip through both SQLite and PostgreSQL unchanged, which
//! `TIMESTAMPTZ` (microseconds) and floating-point SQLite dates do not.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, UTC.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        // A clock before 1970 is a broken machine; 0 keeps ordering sane rather than panicking.
        .unwrap_or(0)
}
