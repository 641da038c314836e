//! Scheduling types.

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::time::cst_ms;

/// A session of slots to open on one day.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
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
    /// `online` (default) or `in_person`.
    pub mode: Option<String>,
    pub location: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SessionValid {
    pub day: NaiveDate,
    pub start_ms: i64,
    pub end_ms: i64,
    pub slot_ms: i64,
    pub capacity: i64,
    pub release_at: i64,
    pub mode: Mode,
    pub location: Option<String>,
}

/// Days ahead slots are released at 08:00, by default.
pub const RELEASE_DAYS_AHEAD: i64 = 7;

impl SessionInput {
    pub fn validate(&self, now_ms: i64) -> Result<SessionValid, Vec<FieldError>> {
        let mut errors = Vec::new();
        let day = NaiveDate::parse_from_str(self.date.trim(), "%Y-%m-%d")
            .map_err(|_| errors.push(FieldError::date("date", "2026-12-01")))
            .ok();
        let shape = SessionShape::check(
            (&self.start, &self.end),
            (self.slot_minutes, self.capacity),
            (self.mode.as_deref(), self.location.as_deref()),
            &mut errors,
        );
        let SessionShape {
            start,
            end,
            slot_minutes: minutes,
            capacity,
            mode,
            location,
        } = shape;
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
                mode,
                location,
            })
        } else {
            Err(errors)
        }
    }
}

crate::text_enum! {
    /// Whether a slot takes bookings (a leave or a holiday blocks it).
    pub enum SlotStatus {
        Open = "open",
        Blocked = "blocked",
    }
}

crate::text_enum! {
    /// Online (chat or video) or in person at a location in the hospital.
    #[derive(Default)]
    pub enum Mode {
        #[default]
        Online = "online",
        InPerson = "in_person",
    }
}

impl Mode {
    fn field(raw: Option<&str>, errors: &mut Vec<FieldError>) -> Mode {
        match raw.map(str::trim).filter(|r| !r.is_empty()) {
            None | Some("online") => Mode::Online,
            Some("in_person") => Mode::InPerson,
            Some(_) => {
                errors.push(FieldError::new("mode", "must be online or in_person"));
                Mode::Online
            }
        }
    }
}

fn location_field(raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let location = raw.map(str::trim).filter(|r| !r.is_empty())?;
    if location.chars().count() > 100 {
        errors.push(FieldError::new("location", "at most 100 characters"));
    }
    Some(location.to_owned())
}

fn clock_field(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M")
        .map_err(|_| errors.push(FieldError::new(field, "must be a time like 08:30")))
        .ok()
}

/// What a session and a weekly template share: clock times, slot length (5–240 minutes,
/// default 15), places per slot (1–100, default 1), mode and room.
struct SessionShape {
    start: Option<NaiveTime>,
    end: Option<NaiveTime>,
    slot_minutes: i64,
    capacity: i64,
    mode: Mode,
    location: Option<String>,
}

impl SessionShape {
    fn check(
        (start, end): (&str, &str),
        (slot_minutes, capacity): (Option<i64>, Option<i64>),
        (mode, location): (Option<&str>, Option<&str>),
        errors: &mut Vec<FieldError>,
    ) -> Self {
        let start = clock_field("start", start, errors);
        let end = clock_field("end", end, errors);
        let slot_minutes = slot_minutes.unwrap_or(15);
        if !(5..=240).contains(&slot_minutes) {
            errors.push(FieldError::new("slot_minutes", "must be 5 to 240"));
        }
        let capacity = capacity.unwrap_or(1);
        if !(1..=100).contains(&capacity) {
            errors.push(FieldError::range("capacity", 1, 100));
        }
        Self {
            start,
            end,
            slot_minutes,
            capacity,
            mode: Mode::field(mode, errors),
            location: location_field(location, errors),
        }
    }
}

/// One session of a doctor's week: every `weekday` from `start` to `end`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct TemplateInput {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: Option<i64>,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    pub slot_minutes: Option<i64>,
    pub capacity: Option<i64>,
    pub mode: Option<String>,
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateValid {
    pub weekday: i64,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub slot_minutes: i64,
    pub capacity: i64,
    pub mode: Mode,
    pub location: Option<String>,
}

impl TemplateInput {
    pub fn validate(&self) -> Result<TemplateValid, Vec<FieldError>> {
        let mut errors = Vec::new();
        let weekday = self.weekday.unwrap_or(0);
        if !(1..=7).contains(&weekday) {
            errors.push(FieldError::new(
                "weekday",
                "must be 1 (Monday) to 7 (Sunday)",
            ));
        }
        let SessionShape {
            start,
            end,
            slot_minutes,
            capacity,
            mode,
            location,
        } = SessionShape::check(
            (&self.start, &self.end),
            (self.slot_minutes, self.capacity),
            (self.mode.as_deref(), self.location.as_deref()),
            &mut errors,
        );
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                errors.push(FieldError::new("end", "must be after start"));
            } else if (e - s).num_minutes() < slot_minutes {
                errors.push(FieldError::new(
                    "end",
                    "the session is shorter than one slot",
                ));
            }
        }
        match (start, end) {
            (Some(start), Some(end)) if errors.is_empty() => Ok(TemplateValid {
                weekday,
                start,
                end,
                slot_minutes,
                capacity,
                mode,
                location,
            }),
            _ => Err(errors),
        }
    }
}

/// When slots are generated and released, per schedule.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ReleaseRulesInput {
    pub horizon_days: Option<i64>,
    pub release_days: Option<i64>,
    pub release_time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRules {
    pub horizon_days: i64,
    pub release_days: i64,
    pub release_time: NaiveTime,
}

impl ReleaseRulesInput {
    pub fn validate(&self) -> Result<ReleaseRules, Vec<FieldError>> {
        let mut errors = Vec::new();
        let horizon_days = self.horizon_days.unwrap_or(14);
        if !(1..=60).contains(&horizon_days) {
            errors.push(FieldError::range("horizon_days", 1, 60));
        }
        let release_days = self.release_days.unwrap_or(RELEASE_DAYS_AHEAD);
        if !(0..=60).contains(&release_days) {
            errors.push(FieldError::new("release_days", "must be 0 to 60"));
        }
        let release_time = clock_field(
            "release_time",
            self.release_time.as_deref().unwrap_or("08:00"),
            &mut errors,
        );
        match release_time {
            Some(release_time) if errors.is_empty() => Ok(ReleaseRules {
                horizon_days,
                release_days,
                release_time,
            }),
            _ => Err(errors),
        }
    }
}

/// When a slot on `day` is released under these rules: `release_days` before, at
/// `release_time`, but never after the slot starts.
pub fn release_instant(day: NaiveDate, release_days: i64, release_time: NaiveTime) -> i64 {
    cst_ms(day - chrono::Duration::days(release_days), release_time).unwrap_or(0)
}

/// Closing a whole day (leave, holiday) or part of it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CloseInput {
    #[serde(default)]
    pub date: String,
    pub start: Option<String>,
    pub end: Option<String>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseValid {
    pub day: NaiveDate,
    /// `None` for the whole day.
    pub times: Option<(NaiveTime, NaiveTime)>,
    pub reason: String,
}

impl CloseValid {
    /// [start, end) in epoch ms.
    pub fn range_ms(&self) -> (i64, i64) {
        let (s, e) = self.times.unwrap_or((
            NaiveTime::MIN,
            NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN),
        ));
        let end = cst_ms(self.day, e).unwrap_or(0);
        (
            cst_ms(self.day, s).unwrap_or(0),
            if self.times.is_none() {
                end + 1000
            } else {
                end
            },
        )
    }
}

impl CloseInput {
    pub fn validate(&self, today: NaiveDate) -> Result<CloseValid, Vec<FieldError>> {
        let mut errors = Vec::new();
        let day = NaiveDate::parse_from_str(self.date.trim(), "%Y-%m-%d")
            .map_err(|_| errors.push(FieldError::date("date", "2026-12-01")))
            .ok();
        if day.is_some_and(|d| d < today) {
            errors.push(FieldError::new("date", "must be today or later"));
        }
        let blank = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").is_empty();
        let times = match (blank(&self.start), blank(&self.end)) {
            (true, true) => None,
            (false, false) => {
                let s = clock_field("start", self.start.as_deref().unwrap_or(""), &mut errors);
                let e = clock_field("end", self.end.as_deref().unwrap_or(""), &mut errors);
                match (s, e) {
                    (Some(s), Some(e)) if e > s => Some((s, e)),
                    (Some(_), Some(_)) => {
                        errors.push(FieldError::new("end", "must be after start"));
                        None
                    }
                    _ => None,
                }
            }
            (true, false) => {
                errors.push(FieldError::new("start", "is required with end"));
                None
            }
            (false, true) => {
                errors.push(FieldError::new("end", "is required with start"));
                None
            }
        };
        let reason = self.reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            errors.push(FieldError::new(
                "reason",
                "is required (at most 200 characters): patients are told why",
            ));
        }
        match day {
            Some(day) if errors.is_empty() => Ok(CloseValid {
                day,
                times,
                reason: reason.to_owned(),
            }),
            _ => Err(errors),
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
    pub status: SlotStatus,
    pub released: bool,
    pub held: i64,
    pub mode: Mode,
    pub location: Option<String>,
}

impl Slot {
    /// Places a patient can book now or after release.
    pub fn free(&self) -> i64 {
        (self.capacity - self.booked - self.held).max(0)
    }

    pub fn bookable(&self, now: i64) -> bool {
        self.status == SlotStatus::Open
            && self.released
            && self.release_at <= now
            && self.start_at > now
    }
}

crate::text_enum! {
    /// Where an appointment is in its life.
    pub enum AppointmentStatus {
        Booked = "booked",
        Cancelled = "cancelled",
        CheckedIn = "checked_in",
        NoShow = "no_show",
        Completed = "completed",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Appointment {
    pub id: i64,
    pub slot_id: i64,
    pub person_id: i64,
    pub booked_by: i64,
    pub doctor_id: i64,
    pub day: String,
    pub status: AppointmentStatus,
    pub created_at: i64,
    pub start_at: i64,
    pub end_at: i64,
    pub hospital_id: i64,
    /// The service the appointment's schedule offers.
    pub service_id: i64,
    pub mode: Mode,
    pub cancelled_by: Option<String>,
    pub checked_in_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{cst_display, cst_rfc3339};

    #[test]
    fn china_standard_time_has_no_daylight_saving() {
        // Where daylight-saving zones jump (March, October/November), CST stays at +08:00:
        // 08:00 local is always 00:00 UTC, and every day is 24 hours long.
        for date in [
            "2026-03-08",
            "2026-03-29",
            "2026-10-25",
            "2026-11-01",
            "2027-03-14",
        ] {
            let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap_or_default();
            let eight = NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default();
            let ms = cst_ms(day, eight).unwrap_or(0);
            assert_eq!(cst_rfc3339(ms), format!("{date}T08:00:00+08:00"));
            assert_eq!(ms % 86_400_000, 0, "{date}");
            let next = cst_ms(day.succ_opt().unwrap_or(day), eight).unwrap_or(0);
            assert_eq!(next - ms, 86_400_000, "{date}");
            assert_eq!(cst_display(ms), format!("{date} 08:00"));
        }
    }

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
            mode: None,
            location: None,
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
