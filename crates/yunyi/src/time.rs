//! China Standard Time (UTC+8 all year, no daylight saving): the time people in China read,
//! and the day that counts for appointments, statistics, reports and ages. Instants are
//! stored as UTC epoch milliseconds (`clock`); these helpers turn them into China's dates and
//! times and back.

use chrono::{FixedOffset, NaiveDate, NaiveTime, TimeZone as _, Utc};

/// China Standard Time: UTC+8 all year.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("8 h is a valid offset"))
}

/// Epoch milliseconds of a local (CST) date and time.
pub fn cst_ms(day: NaiveDate, time: NaiveTime) -> Option<i64> {
    cst()
        .from_local_datetime(&day.and_time(time))
        .single()
        .map(|t| t.timestamp_millis())
}

/// RFC 3339 in CST, as people in China read times (`2026-11-23T08:00:00+08:00`).
pub fn cst_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&cst()).to_rfc3339())
        .unwrap_or_default()
}

/// Local (CST) date and time of an instant, as people read it: `2026-11-23 08:30`.
pub fn cst_display(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&cst()).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The instant of a China time as people write it (`2026-12-10 19:30`, or with a `T` as a
/// browser's `datetime-local` field sends it).
pub fn parse_cst_display(s: &str) -> Option<i64> {
    let t = chrono::NaiveDateTime::parse_from_str(&s.trim().replace('T', " "), "%Y-%m-%d %H:%M")
        .ok()?;
    cst_ms(t.date(), t.time())
}

/// Today's date in China.
pub fn cst_today(now_ms: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(now_ms)
        .map(|t| t.with_timezone(&cst()).date_naive())
        .unwrap_or_default()
}

/// Today in China Standard Time (UTC+8, no daylight saving), for ages and birth dates.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&cst()).date_naive()
}
