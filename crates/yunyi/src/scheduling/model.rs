//! Scheduling types.

use chrono::{FixedOffset, NaiveDate, NaiveTime, TimeZone as _};
use serde::{Deserialize, Serialize};

use crate::error::FieldError;

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

/// A session of slots to open on one day.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SessionInput {
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date: String,
    /// `HH:MM`, local time.
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    pub slot_minutes: Option<i64>,
    pub capacity: Option<i64>,
    /// When the slots become bookable (RFC 3339). Default: 08:00 seven days before the day
    /// (放号), or at once if that time has passed.
    pub release_at: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SessionValid {
    pub day: NaiveDate,
    pub start_ms: i64,
    pub end_ms: i64,
    pub slot_ms: i64,
    pub capacity: i64,
    pub release_at: i64,
}

/// Days ahead slots are released at 08:00, by default.
pub const RELEASE_DAYS_AHEAD: i64 = 7;

impl SessionInput {
    pub fn validate(&self, now_ms: i64) -> Result<SessionValid, Vec<FieldError>> {
        let mut errors = Vec::new();
        let day = NaiveDate::parse_from_str(self.date.trim(), "%Y-%m-%d")
            .map_err(|_| errors.push(FieldError::new("date", "must be a date like 2026-12-01")))
            .ok();
        let time = |field: &str, raw: &str, errors: &mut Vec<FieldError>| {
            NaiveTime::parse_from_str(raw.trim(), "%H:%M")
                .map_err(|_| errors.push(FieldError::new(field, "must be a time like 08:30")))
                .ok()
        };
        let start = time("start", &self.start, &mut errors);
        let end = time("end", &self.end, &mut errors);
        let minutes = self.slot_minutes.unwrap_or(15);
        if !(5..=240).contains(&minutes) {
            errors.push(FieldError::new("slot_minutes", "must be 5 to 240"));
        }
        let capacity = self.capacity.unwrap_or(1);
        if !(1..=100).contains(&capacity) {
            errors.push(FieldError::new("capacity", "must be 1 to 100"));
        }
        let (Some(day), Some(start), Some(end)) = (day, start, end) else {
            return Err(errors);
        };
        let (Some(start_ms), Some(end_ms)) = (cst_ms(day, start), cst_ms(day, end)) else {
            return Err(vec![FieldError::new("date", "is not a valid local time")]);
        };
        if end_ms <= start_ms {
            errors.push(FieldError::new("end", "must be after start"));
        }
        if start_ms <= now_ms {
            errors.push(FieldError::new("date", "the session must be in the future"));
        }
        if end_ms - start_ms > 24 * 3_600_000 / 2 && errors.is_empty() {
            errors.push(FieldError::new("end", "a session lasts at most 12 hours"));
        }
        let release_at = match self
            .release_at
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            Some(raw) => match chrono::DateTime::parse_from_rfc3339(raw) {
                Ok(t) if t.timestamp_millis() < start_ms => t.timestamp_millis(),
                Ok(_) => {
                    errors.push(FieldError::new(
                        "release_at",
                        "must be before the session starts",
                    ));
                    0
                }
                Err(_) => {
                    errors.push(FieldError::new(
                        "release_at",
                        "must be a time like 2026-11-23T08:00:00+08:00",
                    ));
                    0
                }
            },
            None => {
                let release_day = day - chrono::Duration::days(RELEASE_DAYS_AHEAD);
                cst_ms(
                    release_day,
                    NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
                )
                .unwrap_or(now_ms)
                .max(now_ms.min(start_ms))
            }
        };
        if errors.is_empty() {
            Ok(SessionValid {
                day,
                start_ms,
                end_ms,
                slot_ms: minutes * 60_000,
                capacity,
                release_at,
            })
        } else {
            Err(errors)
        }
    }
}

/// A slot as patients and the API see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Slot {
    pub id: i64,
    pub schedule_id: i64,
    pub doctor_id: i64,
    pub hospital_id: i64,
    pub service_id: i64,
    pub start_at: i64,
    pub end_at: i64,
    pub day: String,
    pub capacity: i64,
    pub booked: i64,
    pub release_at: i64,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Appointment {
    pub id: i64,
    pub slot_id: i64,
    pub person_id: i64,
    pub booked_by: i64,
    pub doctor_id: i64,
    pub day: String,
    pub status: String,
    pub created_at: i64,
    pub start_at: i64,
    pub hospital_id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_validated_in_china_standard_time() {
        let now = cst_ms(
            NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default(),
            NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default(),
        )
        .unwrap_or(0);
        let input = SessionInput {
            date: "2026-11-30".into(),
            start: "08:00".into(),
            end: "09:00".into(),
            slot_minutes: Some(20),
            capacity: None,
            release_at: None,
        };
        let s = input.validate(now).expect("valid");
        assert_eq!(cst_rfc3339(s.start_ms), "2026-11-30T08:00:00+08:00");
        assert_eq!((s.end_ms - s.start_ms) / s.slot_ms, 3);
        // Released at 08:00 seven days before.
        assert_eq!(cst_rfc3339(s.release_at), "2026-11-23T08:00:00+08:00");
        let past = SessionInput {
            date: "2026-11-01".into(),
            ..input.clone()
        };
        assert!(past.validate(now).is_err());
        let backwards = SessionInput {
            start: "10:00".into(),
            ..input
        };
        let fields: Vec<String> = backwards
            .validate(now)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["end"]);
    }
}
