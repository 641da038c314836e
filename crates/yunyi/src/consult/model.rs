//! Consultation types and invariants: the lifecycle as one transition function, the kinds of
//! consultation, and the intake a patient fills in before a doctor sees the request.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::directory::model::{PrivilegeKind, ServiceKind};
use crate::error::FieldError;

crate::text_enum! {
    /// Where a consultation is in its life. Ended states never change again.
    pub enum Status {
        /// Waiting for a doctor (the named one, or anyone of the department's queue).
        Requested = "requested",
        /// A doctor took it; the conversation has not begun.
        Accepted = "accepted",
        InProgress = "in_progress",
        Completed = "completed",
        /// Ended because the patient must be seen in person; the reason says why.
        ReferredOffline = "referred_offline",
        Cancelled = "cancelled",
        /// No doctor accepted in time.
        Expired = "expired",
    }
}

impl Status {
    pub fn is_ended(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::ReferredOffline | Status::Cancelled | Status::Expired
        )
    }
}

/// What someone does to a consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    /// The conversation begins: the doctor's first message or call.
    Start,
    Complete,
    ReferOffline,
    Cancel,
    Expire,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Start => "start",
            Action::Complete => "complete",
            Action::ReferOffline => "refer offline",
            Action::Cancel => "cancel",
            Action::Expire => "expire",
        }
    }
}

/// The one place that says which moves are legal.
pub fn transition(from: Status, action: Action) -> Result<Status, IllegalTransition> {
    use Action as A;
    use Status as S;
    let to = match (from, action) {
        (S::Requested, A::Accept) => S::Accepted,
        (S::Requested | S::Accepted, A::Cancel) => S::Cancelled,
        (S::Requested, A::Expire) => S::Expired,
        (S::Accepted, A::Start) => S::InProgress,
        (S::InProgress, A::Complete) => S::Completed,
        // A doctor may send the patient to a hospital as soon as the intake shows it is needed.
        (S::Accepted | S::InProgress, A::ReferOffline) => S::ReferredOffline,
        _ => return Err(IllegalTransition { from, action }),
    };
    Ok(to)
}

/// A move the lifecycle does not allow; its message says why in words a user understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalTransition {
    pub from: Status,
    pub action: Action,
}

impl std::fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hint = match (self.from, self.action) {
            (s, _) if s.is_ended() => "it has ended",
            (Status::Requested, Action::Start | Action::Complete) => {
                "no doctor has accepted it yet"
            }
            (Status::InProgress, Action::Cancel) => {
                "the conversation has begun: the doctor completes it or refers the patient offline"
            }
            (Status::Accepted | Status::InProgress, Action::Accept) => "it is already accepted",
            (Status::Accepted, Action::Complete) => "the conversation has not begun",
            _ => "that step does not apply now",
        };
        write!(
            f,
            "cannot {} a consultation that is {}: {hint}",
            self.action.as_str(),
            self.from.as_str().replace('_', " ")
        )
    }
}

crate::text_enum! {
    /// What kind of consultation, which decides what the doctor may do in it.
    pub enum Kind {
        /// 咨询: advice only; no diagnosis, no prescription.
        Consultation = "consultation",
        /// 复诊: internet diagnosis of a condition already diagnosed offline; may prescribe.
        FollowUp = "follow_up",
        /// 义诊: free, unlimited, volunteer doctors.
        FreeClinic = "free_clinic",
        /// 心理疏导: counselling intake; never prescribes.
        Counselling = "counselling",
    }
}

impl Kind {
    /// The privilege a doctor needs at the hospital to take a consultation of this kind.
    pub fn required_privilege(self) -> PrivilegeKind {
        match self {
            Kind::FollowUp => PrivilegeKind::InternetDiagnosis,
            _ => PrivilegeKind::Consult,
        }
    }

    /// The kind a service offers, and the channel it is held on unless the patient asks.
    pub fn of_service(kind: ServiceKind) -> (Kind, Channel) {
        match kind {
            ServiceKind::TextConsult => (Kind::Consultation, Channel::Text),
            ServiceKind::VideoConsult => (Kind::Consultation, Channel::Video),
            ServiceKind::FollowUp => (Kind::FollowUp, Channel::Text),
            ServiceKind::FreeClinic => (Kind::FreeClinic, Channel::Text),
            ServiceKind::Counselling => (Kind::Counselling, Channel::Text),
        }
    }
}

crate::text_enum! {
    pub enum Channel {
        Text = "text",
        Video = "video",
    }
}

/// How long a request waits for a doctor before it expires.
pub const REQUEST_TTL_MS: i64 = 24 * 3_600_000;
/// The first reply is due within this many minutes unless the service says otherwise.
pub const DEFAULT_REPLY_WITHIN_MIN: i64 = 10;

/// The first-reply target of a consultation requested through `service`, in minutes.
pub fn reply_target(service: &crate::directory::model::Service) -> i64 {
    service.reply_within_min.unwrap_or(DEFAULT_REPLY_WITHIN_MIN)
}

/// One symptom as the patient names it, with when it began.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Symptom {
    #[serde(default)]
    pub name: String,
    /// `YYYY-MM-DD`, when known.
    #[serde(default)]
    pub onset: Option<String>,
}

/// Counselling-specific intake: the concern in the patient's words, the two PHQ-2 screening
/// answers (0–3 each), and whether they have thoughts of harming themselves.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CounsellingIntake {
    #[serde(default)]
    pub concern: String,
    #[serde(default)]
    pub little_interest: Option<u8>,
    #[serde(default)]
    pub feeling_down: Option<u8>,
    #[serde(default)]
    pub self_harm_thoughts: bool,
}

/// The intake as submitted (every field optional so that missing ones get a field error,
/// not a parse failure).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct IntakeInput {
    #[serde(default)]
    pub chief_complaint: String,
    #[serde(default)]
    pub symptoms: Vec<Symptom>,
    /// Degrees Celsius, when measured.
    #[serde(default)]
    pub temperature_c: Option<f64>,
    /// Travel to or from an area with an outbreak in the last 14 days.
    #[serde(default)]
    pub outbreak_area_travel: bool,
    #[serde(default)]
    pub travel_region: Option<String>,
    #[serde(default)]
    pub travel_returned_on: Option<String>,
    /// Contact with a confirmed case in the last 14 days.
    #[serde(default)]
    pub confirmed_case_contact: bool,
    /// Others around the patient (family, class, workplace) ill with the same.
    #[serde(default)]
    pub cluster: bool,
    #[serde(default)]
    pub allergies: Vec<String>,
    #[serde(default)]
    pub medications: Vec<String>,
    /// Ids of uploaded prior records (门诊病历, 出院小结, 诊断证明).
    #[serde(default)]
    pub prior_record_ids: Vec<i64>,
    #[serde(default)]
    pub counselling: Option<CounsellingIntake>,
}

/// A validated intake, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Intake {
    pub chief_complaint: String,
    pub symptoms: Vec<Symptom>,
    /// Tenths of a degree Celsius.
    pub temperature_dc: Option<i64>,
    pub outbreak_area_travel: bool,
    pub travel_region: Option<String>,
    pub travel_returned_on: Option<String>,
    pub confirmed_case_contact: bool,
    pub cluster: bool,
    pub allergies: Vec<String>,
    pub medications: Vec<String>,
    pub prior_record_ids: Vec<i64>,
    pub counselling: Option<CounsellingIntake>,
}

const MAX_LIST: usize = 20;

fn check_list(errors: &mut Vec<FieldError>, field: &str, items: &[String], max_chars: usize) {
    if items.len() > MAX_LIST {
        errors.push(FieldError::new(
            field,
            format!("at most {MAX_LIST} entries"),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        let n = item.trim().chars().count();
        if n == 0 || n > max_chars {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("must be 1 to {max_chars} characters"),
            ));
        }
    }
}

pub(crate) fn past_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, &'static str> {
    let day = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| "must be a date like 2026-11-20")?;
    if day > today {
        return Err("cannot be in the future");
    }
    Ok(day)
}

impl IntakeInput {
    /// Checks every field and reports all problems at once. `kind` decides whether the
    /// counselling answers are expected.
    pub fn validate(&self, kind: Kind, today: NaiveDate) -> Result<Intake, Vec<FieldError>> {
        let mut errors = Vec::new();
        let complaint = self.chief_complaint.trim();
        let n = complaint.chars().count();
        if !(2..=500).contains(&n) {
            errors.push(FieldError::new(
                "intake.chief_complaint",
                "say in 2 to 500 characters what brings you here",
            ));
        }
        if self.symptoms.len() > MAX_LIST {
            errors.push(FieldError::new(
                "intake.symptoms",
                format!("at most {MAX_LIST} symptoms"),
            ));
        }
        let mut symptoms = Vec::with_capacity(self.symptoms.len());
        for (i, s) in self.symptoms.iter().enumerate() {
            let name = s.name.trim();
            if name.is_empty() || name.chars().count() > 50 {
                errors.push(FieldError::length(
                    format!("intake.symptoms[{i}].name"),
                    1,
                    50,
                ));
            }
            let onset = match s.onset.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
                None => None,
                Some(raw) => match past_date(raw, today) {
                    Ok(day) => Some(day.to_string()),
                    Err(m) => {
                        errors.push(FieldError::new(format!("intake.symptoms[{i}].onset"), m));
                        None
                    }
                },
            };
            symptoms.push(Symptom {
                name: name.to_owned(),
                onset,
            });
        }
        let temperature_dc = match self.temperature_c {
            None => None,
            Some(t) if t.is_finite() && (34.0..=43.0).contains(&t) => {
                // Stored in tenths: 38.25 is recorded as 38.3 (a thermometer's precision).
                Some((t * 10.0).round() as i64)
            }
            Some(_) => {
                errors.push(FieldError::new(
                    "intake.temperature_c",
                    "must be a body temperature between 34.0 and 43.0 °C",
                ));
                None
            }
        };
        let region = self
            .travel_region
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let returned = self
            .travel_returned_on
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let (travel_region, travel_returned_on) = if self.outbreak_area_travel {
            match region {
                Some(r) if r.chars().count() <= 100 => {}
                Some(_) => errors.push(FieldError::new(
                    "intake.travel_region",
                    "at most 100 characters",
                )),
                None => errors.push(FieldError::new(
                    "intake.travel_region",
                    "say where you travelled (city or district)",
                )),
            }
            let returned = match returned {
                None => {
                    errors.push(FieldError::new(
                        "intake.travel_returned_on",
                        "say when you came back",
                    ));
                    None
                }
                Some(raw) => match past_date(raw, today) {
                    Ok(day) => Some(day.to_string()),
                    Err(m) => {
                        errors.push(FieldError::new("intake.travel_returned_on", m));
                        None
                    }
                },
            };
            (region.map(str::to_owned), returned)
        } else {
            (None, None)
        };
        check_list(&mut errors, "intake.allergies", &self.allergies, 50);
        check_list(&mut errors, "intake.medications", &self.medications, 100);
        if self.prior_record_ids.len() > 10 {
            errors.push(FieldError::new(
                "intake.prior_record_ids",
                "at most 10 records",
            ));
        }
        let counselling = match (kind, &self.counselling) {
            (Kind::Counselling, None) => {
                errors.push(FieldError::new(
                    "intake.counselling",
                    "counselling needs the counselling questions answered",
                ));
                None
            }
            (Kind::Counselling, Some(c)) => {
                let concern = c.concern.trim();
                if !(2..=1000).contains(&concern.chars().count()) {
                    errors.push(FieldError::new(
                        "intake.counselling.concern",
                        "say in 2 to 1000 characters what troubles you",
                    ));
                }
                for (field, value) in [
                    ("little_interest", c.little_interest),
                    ("feeling_down", c.feeling_down),
                ] {
                    if !matches!(value, Some(0..=3)) {
                        errors.push(FieldError::new(
                            format!("intake.counselling.{field}"),
                            "answer 0 (not at all) to 3 (nearly every day)",
                        ));
                    }
                }
                Some(CounsellingIntake {
                    concern: concern.to_owned(),
                    ..c.clone()
                })
            }
            (_, Some(_)) => {
                errors.push(FieldError::new(
                    "intake.counselling",
                    "only counselling requests have counselling answers",
                ));
                None
            }
            (_, None) => None,
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut prior_record_ids = self.prior_record_ids.clone();
        prior_record_ids.sort_unstable();
        prior_record_ids.dedup();
        Ok(Intake {
            chief_complaint: complaint.to_owned(),
            symptoms,
            temperature_dc,
            outbreak_area_travel: self.outbreak_area_travel,
            travel_region,
            travel_returned_on,
            confirmed_case_contact: self.confirmed_case_contact,
            cluster: self.cluster,
            allergies: trimmed(&self.allergies),
            medications: trimmed(&self.medications),
            prior_record_ids,
            counselling,
        })
    }
}

fn trimmed(items: &[String]) -> Vec<String> {
    items.iter().map(|s| s.trim().to_owned()).collect()
}

/// An ICD-10 code as hospitals write it: a letter, two digits, optionally a dot and up to four
/// more characters (`I10`, `E11.9`, `J45.901`). Returned upper-cased.
pub fn parse_icd10(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    let bytes = code.as_bytes();
    let head_ok = bytes.len() >= 3
        && bytes[0].is_ascii_uppercase()
        && bytes[1].is_ascii_digit()
        && bytes[2].is_ascii_digit();
    let tail_ok = match &code.get(3..) {
        Some("") => true,
        Some(rest) => {
            rest.len() >= 2
                && rest.len() <= 5
                && rest.starts_with('.')
                && rest[1..].bytes().all(|b| b.is_ascii_alphanumeric())
        }
        None => false,
    };
    (head_ok && tail_ok).then_some(code)
}

/// Two codes name the same condition for the follow-up rule when their three-character
/// categories agree: an offline `I10` covers a follow-up for `I10.x` and the reverse.
pub fn same_condition(a: &str, b: &str) -> bool {
    a.get(..3).is_some() && a.get(..3) == b.get(..3)
}

/// The kinds of record that prove an earlier offline diagnosis.
pub const PRIOR_RECORD_KINDS: [&str; 3] = [
    "outpatient_record",
    "discharge_summary",
    "diagnosis_certificate",
];

/// One diagnosis of a note: an ICD-10 code and its name as the doctor writes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Diagnosis {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
}

/// The clinical note as the doctor submits it (SOAP).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NoteInput {
    #[serde(default)]
    pub subjective: String,
    #[serde(default)]
    pub objective: String,
    #[serde(default)]
    pub assessment: String,
    #[serde(default)]
    pub diagnoses: Vec<Diagnosis>,
    #[serde(default)]
    pub plan: String,
}

/// A validated note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub subjective: String,
    pub objective: String,
    pub assessment: String,
    pub diagnoses: Vec<Diagnosis>,
    pub plan: String,
}

impl NoteInput {
    /// Diagnoses belong to follow-up visits only — a consultation (咨询) gives advice, and
    /// internet diagnosis is allowed only for a condition already diagnosed offline — and a
    /// follow-up visit's note names at least one.
    pub fn validate(&self, kind: Kind) -> Result<Note, Vec<FieldError>> {
        let mut errors = Vec::new();
        for (field, value, min, max) in [
            ("subjective", &self.subjective, 0, 4000),
            ("objective", &self.objective, 0, 4000),
            ("assessment", &self.assessment, 1, 2000),
            ("plan", &self.plan, 1, 2000),
        ] {
            let n = value.trim().chars().count();
            if n < min || n > max {
                errors.push(FieldError::new(
                    field,
                    if min == 0 {
                        format!("at most {max} characters")
                    } else {
                        format!("must be {min} to {max} characters")
                    },
                ));
            }
        }
        let mut diagnoses = Vec::with_capacity(self.diagnoses.len());
        match (kind, self.diagnoses.len()) {
            (Kind::FollowUp, 0) => errors.push(FieldError::new(
                "diagnoses",
                "a follow-up visit records at least one diagnosis (ICD-10)",
            )),
            (Kind::FollowUp, n) if n > 10 => {
                errors.push(FieldError::new("diagnoses", "at most 10 diagnoses"));
            }
            (Kind::FollowUp, _) => {}
            (_, 0) => {}
            (_, _) => errors.push(FieldError::new(
                "diagnoses",
                "only a follow-up visit (复诊) may diagnose online; write your impression in the assessment",
            )),
        }
        if kind == Kind::FollowUp {
            for (i, d) in self.diagnoses.iter().enumerate() {
                let code = parse_icd10(&d.code);
                if code.is_none() {
                    errors.push(FieldError::new(
                        format!("diagnoses[{i}].code"),
                        "must be an ICD-10 code such as I10",
                    ));
                }
                let name = d.name.trim();
                if !(1..=100).contains(&name.chars().count()) {
                    errors.push(FieldError::length(format!("diagnoses[{i}].name"), 1, 100));
                }
                diagnoses.push(Diagnosis {
                    code: code.unwrap_or_default(),
                    name: name.to_owned(),
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Note {
            subjective: self.subjective.trim().to_owned(),
            objective: self.objective.trim().to_owned(),
            assessment: self.assessment.trim().to_owned(),
            diagnoses,
            plan: self.plan.trim().to_owned(),
        })
    }
}

/// What describes an uploaded record of an earlier diagnosis (the file is the request body).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PriorRecordInput {
    #[serde(default)]
    pub person_id: Option<i64>,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub hospital_name: String,
    #[serde(default)]
    pub diagnosed_on: String,
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub icd10: Option<String>,
}

/// A validated description of a prior record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorRecordValid {
    pub kind: String,
    pub hospital_name: String,
    pub diagnosed_on: String,
    pub condition: String,
    pub icd10: Option<String>,
}

impl PriorRecordInput {
    pub fn validate(&self, today: NaiveDate) -> Result<PriorRecordValid, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !PRIOR_RECORD_KINDS.contains(&self.kind.as_str()) {
            errors.push(FieldError::new(
                "kind",
                "must be outpatient_record, discharge_summary or diagnosis_certificate",
            ));
        }
        for (field, value) in [
            ("hospital_name", &self.hospital_name),
            ("condition", &self.condition),
        ] {
            if !(1..=100).contains(&value.trim().chars().count()) {
                errors.push(FieldError::length(field, 1, 100));
            }
        }
        let diagnosed_on = match past_date(&self.diagnosed_on, today) {
            Ok(day) => day.to_string(),
            Err(m) => {
                errors.push(FieldError::new("diagnosed_on", m));
                String::new()
            }
        };
        let icd10 = match self
            .icd10
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(raw) => {
                let code = parse_icd10(raw);
                if code.is_none() {
                    errors.push(FieldError::new(
                        "icd10",
                        "must be an ICD-10 code such as I10",
                    ));
                }
                code
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PriorRecordValid {
            kind: self.kind.clone(),
            hospital_name: self.hospital_name.trim().to_owned(),
            diagnosed_on,
            condition: self.condition.trim().to_owned(),
            icd10,
        })
    }
}

/// A reason a person gives (returning a request, referring offline, cancelling).
pub const MAX_REASON_CHARS: usize = 500;

/// A required reason, trimmed: 2 to 500 characters.
pub fn required_reason(reason: Option<&str>) -> Result<&str, FieldError> {
    match reason.map(str::trim) {
        Some(r) if (2..=MAX_REASON_CHARS).contains(&r.chars().count()) => Ok(r),
        _ => Err(FieldError::new(
            "reason",
            format!("say in 2 to {MAX_REASON_CHARS} characters why"),
        )),
    }
}

/// An optional reason, trimmed; empty is none, longer than 500 characters is refused.
pub fn optional_reason(reason: Option<&str>) -> Result<Option<&str>, FieldError> {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) if r.chars().count() > MAX_REASON_CHARS => Err(FieldError::new(
            "reason",
            format!("at most {MAX_REASON_CHARS} characters"),
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn the_lifecycle_allows_exactly_its_moves() {
        let legal = [
            (Status::Requested, Action::Accept, Status::Accepted),
            (Status::Requested, Action::Cancel, Status::Cancelled),
            (Status::Requested, Action::Expire, Status::Expired),
            (Status::Accepted, Action::Start, Status::InProgress),
            (Status::Accepted, Action::Cancel, Status::Cancelled),
            (
                Status::Accepted,
                Action::ReferOffline,
                Status::ReferredOffline,
            ),
            (Status::InProgress, Action::Complete, Status::Completed),
            (
                Status::InProgress,
                Action::ReferOffline,
                Status::ReferredOffline,
            ),
        ];
        let actions = [
            Action::Accept,
            Action::Start,
            Action::Complete,
            Action::ReferOffline,
            Action::Cancel,
            Action::Expire,
        ];
        for from in Status::ALL {
            for action in actions {
                let expected = legal
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                assert_eq!(
                    transition(from, action).ok(),
                    expected,
                    "{from:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn ended_consultations_say_so() {
        let e = transition(Status::Completed, Action::Cancel).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot cancel a consultation that is completed: it has ended"
        );
        let e = transition(Status::InProgress, Action::Cancel).unwrap_err();
        assert!(e.to_string().contains("refers the patient offline"));
    }

    #[test]
    fn icd10_codes_are_recognised_and_compared_by_category() {
        assert_eq!(parse_icd10(" i10 ").as_deref(), Some("I10"));
        assert_eq!(parse_icd10("E11.9").as_deref(), Some("E11.9"));
        assert_eq!(parse_icd10("J45.901").as_deref(), Some("J45.901"));
        for bad in ["", "I1", "110", "I10.", "I10x", "高血压", "I10.123456"] {
            assert_eq!(parse_icd10(bad), None, "{bad}");
        }
        assert!(same_condition("I10", "I10.X01"));
        assert!(!same_condition("I10", "I11.0"));
    }

    #[test]
    fn an_intake_reports_every_problem_with_its_field() {
        let input = IntakeInput {
            chief_complaint: " ".into(),
            temperature_c: Some(45.0),
            outbreak_area_travel: true,
            symptoms: vec![Symptom {
                name: "发热".into(),
                onset: Some("2027-01-01".into()),
            }],
            counselling: Some(CounsellingIntake::default()),
            ..Default::default()
        };
        let errors = input.validate(Kind::Consultation, today()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "intake.chief_complaint",
                "intake.symptoms[0].onset",
                "intake.temperature_c",
                "intake.travel_region",
                "intake.travel_returned_on",
                "intake.counselling",
            ]
        );
    }

    #[test]
    fn a_valid_intake_is_normalised() {
        let input = IntakeInput {
            chief_complaint: " 发热两天 ".into(),
            temperature_c: Some(38.25),
            outbreak_area_travel: true,
            travel_region: Some("武汉市".into()),
            travel_returned_on: Some("2026-11-20".into()),
            allergies: vec![" 青霉素 ".into()],
            prior_record_ids: vec![3, 1, 3],
            ..Default::default()
        };
        let intake = input.validate(Kind::Consultation, today()).unwrap();
        assert_eq!(intake.chief_complaint, "发热两天");
        assert_eq!(intake.temperature_dc, Some(383));
        assert_eq!(intake.travel_region.as_deref(), Some("武汉市"));
        assert_eq!(intake.allergies, ["青霉素"]);
        assert_eq!(intake.prior_record_ids, [1, 3]);
    }

    #[test]
    fn only_follow_up_notes_diagnose_and_they_must() {
        let mut input = NoteInput {
            assessment: "血压控制尚可".into(),
            plan: "继续原方案".into(),
            ..Default::default()
        };
        assert!(input.validate(Kind::Consultation).is_ok());
        let errors = input.validate(Kind::FollowUp).unwrap_err();
        assert_eq!(errors[0].field, "diagnoses");
        input.diagnoses = vec![Diagnosis {
            code: "i10".into(),
            name: "原发性高血压".into(),
        }];
        assert_eq!(
            input.validate(Kind::FollowUp).unwrap().diagnoses[0].code,
            "I10"
        );
        let errors = input.validate(Kind::Consultation).unwrap_err();
        assert_eq!(errors[0].field, "diagnoses");
        input.diagnoses[0].code = "高血压".into();
        input.plan = String::new();
        let fields: Vec<String> = input
            .validate(Kind::FollowUp)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["plan", "diagnoses[0].code"]);
    }

    #[test]
    fn counselling_needs_its_own_answers() {
        let mut input = IntakeInput {
            chief_complaint: "睡不着".into(),
            ..Default::default()
        };
        assert!(input.validate(Kind::Counselling, today()).is_err());
        input.counselling = Some(CounsellingIntake {
            concern: "最近压力大，失眠".into(),
            little_interest: Some(2),
            feeling_down: Some(4),
            self_harm_thoughts: false,
        });
        let errors = input.validate(Kind::Counselling, today()).unwrap_err();
        assert_eq!(errors[0].field, "intake.counselling.feeling_down");
    }
}
