//! Remote consultation (远程会诊) types and invariants: the lifecycle as one transition
//! function, urgency and due times, the shared record items, and the draft and report as
//! submitted.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

crate::text_enum! {
    /// Where a remote consultation is in its life.
    pub enum Status {
        /// Written by the inviting doctor; the patient's consent is recorded here.
        Draft = "draft",
        /// Sent to the invited hospital, waiting for its answer.
        Requested = "requested",
        /// A specialist of the invited hospital took it.
        Accepted = "accepted",
        /// The session has a time.
        Scheduled = "scheduled",
        /// The session took place with the inviting physician present; the report is due.
        Held = "held",
        /// The specialist signed the opinion report.
        Reported = "reported",
        /// The inviting doctor received the report and recorded their decision.
        Received = "received",
        /// The invited hospital declined, with a reason.
        Declined = "declined",
        /// The inviting doctor withdrew it (or the patient withdrew consent).
        Cancelled = "cancelled",
    }
}

impl Status {
    pub fn is_ended(self) -> bool {
        matches!(
            self,
            Status::Received | Status::Declined | Status::Cancelled
        )
    }

    /// While the specialist may read the shared items (after the report only within the
    /// configured window, which the service checks).
    pub fn specialist_reads(self) -> bool {
        matches!(
            self,
            Status::Accepted
                | Status::Scheduled
                | Status::Held
                | Status::Reported
                | Status::Received
        )
    }
}

/// What someone does to a remote consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Send,
    Accept,
    Decline,
    /// Sets (or moves) the session's time.
    Schedule,
    /// Records that the session took place.
    Hold,
    /// The specialist signs the report.
    Report,
    Receive,
    Cancel,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Send => "send",
            Action::Accept => "accept",
            Action::Decline => "decline",
            Action::Schedule => "schedule",
            Action::Hold => "hold",
            Action::Report => "sign the report of",
            Action::Receive => "receive",
            Action::Cancel => "cancel",
        }
    }

    /// The audit trail's name for it.
    pub fn audit(self) -> &'static str {
        match self {
            Action::Send => "teleconsult.send",
            Action::Accept => "teleconsult.accept",
            Action::Decline => "teleconsult.decline",
            Action::Schedule => "teleconsult.schedule",
            Action::Hold => "teleconsult.hold",
            Action::Report => "teleconsult.report.sign",
            Action::Receive => "teleconsult.receive",
            Action::Cancel => "teleconsult.cancel",
        }
    }
}

/// The one place that says which moves are legal.
pub fn transition(from: Status, action: Action) -> Result<Status, IllegalTransition> {
    use Action as A;
    use Status as S;
    let to = match (from, action) {
        (S::Draft, A::Send) => S::Requested,
        (S::Requested, A::Accept) => S::Accepted,
        (S::Requested, A::Decline) => S::Declined,
        // A time is set once accepted, and may be moved until the session is held.
        (S::Accepted | S::Scheduled, A::Schedule) => S::Scheduled,
        (S::Scheduled, A::Hold) => S::Held,
        (S::Held, A::Report) => S::Reported,
        (S::Reported, A::Receive) => S::Received,
        (S::Draft | S::Requested | S::Accepted | S::Scheduled, A::Cancel) => S::Cancelled,
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
        use Action as A;
        use Status as S;
        let hint = match (self.from, self.action) {
            (s, _) if s.is_ended() => "it has ended",
            (S::Draft, _) => "it has not been sent yet",
            (_, A::Send) => "it was sent already",
            (S::Accepted | S::Scheduled | S::Held | S::Reported, A::Accept | A::Decline) => {
                "it was answered already"
            }
            (S::Requested, A::Schedule | A::Hold | A::Report) => "nobody has accepted it yet",
            (S::Accepted, A::Hold) => "the session has no time yet",
            (S::Accepted | S::Scheduled, A::Report) => "the session has not been held yet",
            (S::Held | S::Reported, A::Cancel) => {
                "the session was held: the report is the specialist's to sign"
            }
            (S::Held | S::Reported, A::Schedule | A::Hold) => "the session was held already",
            (_, A::Receive) => "the report is not signed yet",
            _ => "that step does not apply now",
        };
        write!(
            f,
            "cannot {} a remote consultation that is {}: {hint}",
            self.action.as_str(),
            self.from.as_str()
        )
    }
}

crate::text_enum! {
    pub enum TeleconsultUrgency {
        /// 常规: the opinion within the pair's routine window (48 hours by default).
        Routine = "routine",
        /// 急会诊: within the urgent window (2 hours by default).
        Urgent = "urgent",
    }
}

/// The windows when a hospital pair has not set its own: the opinion 48 hours (routine) or
/// 2 hours (urgent) after sending, as the 远程医疗服务管理规范 practice sets them.
pub const DEFAULT_ROUTINE_MINUTES: i64 = 48 * 60;
pub const DEFAULT_URGENT_MINUTES: i64 = 2 * 60;
/// The longest window a pair may set (14 days) and the shortest (30 minutes).
pub const MAX_WINDOW_MINUTES: i64 = 14 * 24 * 60;
pub const MIN_WINDOW_MINUTES: i64 = 30;

/// Due times inside a window: the answer (accept or decline) within a quarter of it, a time
/// for the session within the next quarter, the report by its end; the inviting doctor has a
/// quarter of it again to receive the report.
pub fn step_due(status: Status, since: i64, window_ms: i64, report_due: i64) -> Option<i64> {
    let quarter = window_ms / 4;
    match status {
        Status::Requested | Status::Accepted => Some((since + quarter).min(report_due)),
        Status::Held => Some(report_due),
        Status::Reported => Some(since + quarter),
        _ => None,
    }
}

/// When a step's reminder goes out: a quarter of the time left before it is due, at most an
/// hour before, and never in the past.
pub fn reminder_at(now: i64, due: i64) -> i64 {
    let lead = ((due - now) / 4).min(3_600_000);
    (due - lead).max(now)
}

crate::text_enum! {
    /// A kind of record item the inviting doctor may share.
    pub enum ItemKind {
        /// The clinical note (SOAP) of one of the inviting hospital's consultations.
        Note = "note",
        /// A prescription written at the inviting hospital.
        Prescription = "prescription",
        /// A record the patient uploaded (门诊病历, 出院小结, 诊断证明), with its file.
        PriorRecord = "prior_record",
        /// An offline diagnosis the inviting hospital recorded.
        OfflineDiagnosis = "offline_diagnosis",
    }
}

/// One shared item as chosen: the kind and the id of the record it names (a note by its
/// consultation's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ItemRef {
    pub kind: ItemKind,
    pub id: i64,
}

/// At most this many shared items.
pub const MAX_ITEMS: usize = 50;

/// A remote consultation as the inviting doctor drafts it (every field defaulted, so that a
/// missing one is a field error after the permission check, not a parse failure).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct TeleconsultDraft {
    /// The patient (a person in the inviting doctor's care).
    #[serde(default)]
    pub person_id: Option<i64>,
    /// The invited hospital (受邀方).
    #[serde(default)]
    pub invited_hospital_id: Option<i64>,
    /// A department of the invited hospital, or
    #[serde(default)]
    pub department_id: Option<i64>,
    /// a specialist there by name (account id).
    #[serde(default)]
    pub specialist_id: Option<i64>,
    /// `routine` or `urgent`.
    #[serde(default)]
    pub urgency: String,
    /// What the inviting doctor asks (10–2,000 characters).
    #[serde(default)]
    pub question: String,
    /// The case summary (病情摘要, 10–5,000 characters).
    #[serde(default)]
    pub summary: String,
    /// The record items shared with the specialist, and nothing else.
    #[serde(default)]
    pub items: Vec<ItemRef>,
}

/// The validated draft.
#[derive(Debug, Clone)]
pub struct Draft {
    pub person_id: i64,
    pub invited_hospital_id: i64,
    pub department_id: Option<i64>,
    pub specialist_id: Option<i64>,
    pub urgency: TeleconsultUrgency,
    pub question: String,
    pub summary: String,
    pub items: Vec<ItemRef>,
}

fn text_between(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> String {
    let value = value.trim();
    let n = value.chars().count();
    if n == 0 {
        errors.push(FieldError::required(field));
    } else if n < min || n > max {
        errors.push(FieldError::length(field, min, max));
    }
    value.to_owned()
}

impl TeleconsultDraft {
    pub fn validate(&self) -> Result<Draft, Vec<FieldError>> {
        let mut errors = Vec::new();
        let positive = |errors: &mut Vec<FieldError>, field: &str, v: Option<i64>| match v {
            Some(id) if id > 0 => Some(id),
            Some(_) => {
                errors.push(
                    FieldError::new(field, "must be a positive id")
                        .localized("field.positive_id", vec![]),
                );
                None
            }
            None => None,
        };
        let person_id = positive(&mut errors, "person_id", self.person_id);
        if self.person_id.is_none() {
            errors.push(FieldError::required("person_id"));
        }
        let invited = positive(&mut errors, "invited_hospital_id", self.invited_hospital_id);
        if self.invited_hospital_id.is_none() {
            errors.push(FieldError::required("invited_hospital_id"));
        }
        let department_id = positive(&mut errors, "department_id", self.department_id);
        let specialist_id = positive(&mut errors, "specialist_id", self.specialist_id);
        if self.department_id.is_none() && self.specialist_id.is_none() {
            errors.push(
                FieldError::new(
                    "department_id",
                    "name a department of the invited hospital or a specialist there",
                )
                .localized("teleconsult.err.department_or_specialist", vec![]),
            );
        }
        let urgency = match self.urgency.trim() {
            "" => {
                errors.push(FieldError::required("urgency"));
                None
            }
            u => match TeleconsultUrgency::parse(u) {
                Some(u) => Some(u),
                None => {
                    errors.push(
                        FieldError::new("urgency", "must be routine or urgent").localized(
                            "field.choice",
                            vec![("allowed", "routine, urgent".to_owned())],
                        ),
                    );
                    None
                }
            },
        };
        let question = text_between(&mut errors, "question", &self.question, 10, 2_000);
        let summary = text_between(&mut errors, "summary", &self.summary, 10, 5_000);
        let mut items = self.items.clone();
        items.sort_by_key(|i| (i.kind.as_str(), i.id));
        items.dedup();
        if items.len() > MAX_ITEMS {
            errors.push(
                FieldError::new("items", format!("share at most {MAX_ITEMS} items"))
                    .localized("field.too_many", vec![("max", MAX_ITEMS.to_string())]),
            );
        }
        for (i, item) in self.items.iter().enumerate() {
            if item.id <= 0 {
                errors.push(
                    FieldError::new(format!("items[{i}].id"), "must be a positive id")
                        .localized("field.positive_id", vec![]),
                );
            }
        }
        match (person_id, invited, urgency) {
            (Some(person_id), Some(invited_hospital_id), Some(urgency)) if errors.is_empty() => {
                Ok(Draft {
                    person_id,
                    invited_hospital_id,
                    department_id,
                    specialist_id,
                    urgency,
                    question,
                    summary,
                    items,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The specialist's opinion as written (the draft may be saved many times before signing).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct OpinionInput {
    /// 会诊所见: what the specialist found in the material and the session.
    #[serde(default)]
    pub findings: String,
    /// ICD-10 code of the diagnosis, e.g. `J18.9`.
    #[serde(default)]
    pub diagnosis_icd10: String,
    #[serde(default)]
    pub diagnosis_name: String,
    /// 会诊意见: what the specialist recommends the inviting doctor do.
    #[serde(default)]
    pub recommendations: String,
}

/// The validated report.
#[derive(Debug, Clone)]
pub struct Report {
    pub findings: String,
    pub diagnosis_icd10: String,
    pub diagnosis_name: String,
    pub recommendations: String,
}

/// An ICD-10 code as hospitals write it: a letter, two digits, optionally a dot and one to
/// four more characters (`J18.9`, `U07.1`, `E11.900`).
pub fn is_icd10(code: &str) -> bool {
    let b = code.as_bytes();
    if b.len() < 3 || !b[0].is_ascii_uppercase() || !b[1].is_ascii_digit() {
        return false;
    }
    if !(b[2].is_ascii_digit() || b[2] == b'A' || b[2] == b'B') {
        return false;
    }
    match &b[3..] {
        [] => true,
        [b'.', rest @ ..] => {
            (1..=4).contains(&rest.len()) && rest.iter().all(|c| c.is_ascii_alphanumeric())
        }
        _ => false,
    }
}

impl OpinionInput {
    pub fn validate(&self) -> Result<Report, Vec<FieldError>> {
        let mut errors = Vec::new();
        let findings = text_between(&mut errors, "findings", &self.findings, 2, 10_000);
        let code = self.diagnosis_icd10.trim().to_ascii_uppercase();
        if code.is_empty() {
            errors.push(FieldError::required("diagnosis_icd10"));
        } else if !is_icd10(&code) {
            errors.push(
                FieldError::new("diagnosis_icd10", "must be an ICD-10 code such as J18.9")
                    .localized("field.icd10", vec![]),
            );
        }
        let diagnosis_name =
            text_between(&mut errors, "diagnosis_name", &self.diagnosis_name, 2, 200);
        let recommendations = text_between(
            &mut errors,
            "recommendations",
            &self.recommendations,
            2,
            10_000,
        );
        if errors.is_empty() {
            Ok(Report {
                findings,
                diagnosis_icd10: code,
                diagnosis_name,
                recommendations,
            })
        } else {
            Err(errors)
        }
    }
}

crate::text_enum! {
    /// A participant's part in the session.
    pub enum SessionPart {
        Inviting = "inviting",
        Specialist = "specialist",
        Patient = "patient",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Status; 9] = [
        Status::Draft,
        Status::Requested,
        Status::Accepted,
        Status::Scheduled,
        Status::Held,
        Status::Reported,
        Status::Received,
        Status::Declined,
        Status::Cancelled,
    ];
    const ACTIONS: [Action; 8] = [
        Action::Send,
        Action::Accept,
        Action::Decline,
        Action::Schedule,
        Action::Hold,
        Action::Report,
        Action::Receive,
        Action::Cancel,
    ];

    #[test]
    fn the_legal_moves_and_only_those() {
        use Action as A;
        use Status as S;
        let legal = [
            (S::Draft, A::Send, S::Requested),
            (S::Requested, A::Accept, S::Accepted),
            (S::Requested, A::Decline, S::Declined),
            (S::Accepted, A::Schedule, S::Scheduled),
            (S::Scheduled, A::Schedule, S::Scheduled),
            (S::Scheduled, A::Hold, S::Held),
            (S::Held, A::Report, S::Reported),
            (S::Reported, A::Receive, S::Received),
            (S::Draft, A::Cancel, S::Cancelled),
            (S::Requested, A::Cancel, S::Cancelled),
            (S::Accepted, A::Cancel, S::Cancelled),
            (S::Scheduled, A::Cancel, S::Cancelled),
        ];
        for from in ALL {
            for action in ACTIONS {
                let expected = legal
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (transition(from, action), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want, "{from:?} {action:?}"),
                    (Err(e), None) => {
                        let msg = e.to_string();
                        assert!(msg.starts_with("cannot "), "{msg}");
                        assert!(msg.contains(from.as_str()), "{msg}");
                    }
                    (got, want) => panic!("{from:?} {action:?}: got {got:?}, want {want:?}"),
                }
            }
        }
        for s in ALL {
            if s.is_ended() {
                assert!(ACTIONS.iter().all(|a| transition(s, *a).is_err()));
            }
        }
    }

    #[test]
    fn due_times_divide_the_window() {
        let hour = 3_600_000;
        let window = 48 * hour;
        let report_due = 1_000 + window;
        assert_eq!(
            step_due(Status::Requested, 1_000, window, report_due),
            Some(1_000 + 12 * hour)
        );
        // Accepted late: the time to schedule never runs past the report's due time.
        assert_eq!(
            step_due(Status::Accepted, 1_000 + 47 * hour, window, report_due),
            Some(report_due)
        );
        assert_eq!(
            step_due(Status::Held, 5, window, report_due),
            Some(report_due)
        );
        assert_eq!(step_due(Status::Draft, 5, window, report_due), None);
        assert_eq!(step_due(Status::Received, 5, window, report_due), None);
        // A reminder a quarter before, at most an hour before, never in the past.
        assert_eq!(reminder_at(0, 2 * hour), 2 * hour - hour / 2);
        assert_eq!(reminder_at(0, 48 * hour), 47 * hour);
        assert_eq!(reminder_at(10, 5), 10);
    }

    #[test]
    fn icd10_codes() {
        for ok in ["J18.9", "U07.1", "E11", "E11.900", "C34.1", "Z00.0A"] {
            assert!(is_icd10(ok), "{ok}");
        }
        for bad in [
            "",
            "J1",
            "j18.9",
            "18.9",
            "J18.",
            "J18.12345",
            "J18-9",
            "JJ8",
        ] {
            assert!(!is_icd10(bad), "{bad}");
        }
    }

    #[test]
    fn a_draft_names_every_missing_field() {
        let errors = TeleconsultDraft::default().validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "person_id",
            "invited_hospital_id",
            "department_id",
            "urgency",
            "question",
            "summary",
        ] {
            assert!(fields.contains(&f), "{f} missing in {fields:?}");
        }
        let input = TeleconsultDraft {
            person_id: Some(3),
            invited_hospital_id: Some(1),
            department_id: Some(2),
            specialist_id: None,
            urgency: "urgent".to_owned(),
            question: "请协助明确肺部阴影性质".to_owned(),
            summary: "男，74岁，咳嗽两周，CT示右下肺阴影。".to_owned(),
            items: vec![
                ItemRef {
                    kind: ItemKind::Note,
                    id: 4,
                },
                ItemRef {
                    kind: ItemKind::Note,
                    id: 4,
                },
                ItemRef {
                    kind: ItemKind::PriorRecord,
                    id: 1,
                },
            ],
        };
        let draft = input.validate().expect("valid");
        assert_eq!(draft.items.len(), 2, "a repeated item is shared once");
        assert_eq!(draft.urgency, TeleconsultUrgency::Urgent);
        let bad = TeleconsultDraft {
            urgency: "soon".to_owned(),
            items: vec![ItemRef {
                kind: ItemKind::Note,
                id: 0,
            }],
            ..input
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["urgency", "items[0].id"]);
    }
}
