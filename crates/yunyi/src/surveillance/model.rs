//! A suspected case's escalation (疑似病例处置) as one explicit state machine, with the time each
//! step is due, and the officer's input for each step, validated field by field.
//!
//! flagged → contacted → transport arranged (ambulance, or the patient comes by themselves
//! with instructions) → test booked → result recorded (positive / negative) → closed; until
//! the result is in, a case may be dismissed with a reason (a false alarm). A positive result
//! makes the notifiable-disease report (传染病报告卡).

use serde::Deserialize;

use crate::error::FieldError;

crate::text_enum! {
    pub enum Status {
        Flagged = "flagged",
        Contacted = "contacted",
        TransportArranged = "transport_arranged",
        TestBooked = "test_booked",
        ResultRecorded = "result_recorded",
        Closed = "closed",
        Dismissed = "dismissed",
    }
}

crate::text_enum! {
    pub enum Action {
        Contact = "contact",
        ArrangeTransport = "arrange_transport",
        BookTest = "book_test",
        RecordResult = "record_result",
        Close = "close",
        Dismiss = "dismiss",
    }
}

/// How long each step may take before a reminder, in minutes: the patient is called within
/// half an hour of the flag (the seed's doctor acted "at once"), transport within two hours,
/// the test booked within six, its result within two days, and the case closed within a day
/// of its result (a positive one's report card is due within 24 hours for class B diseases
/// under the Law on the Prevention and Control of Infectious Diseases; class A within 2).
pub const DUE_MINUTES: [(Status, i64); 5] = [
    (Status::Flagged, 30),
    (Status::Contacted, 120),
    (Status::TransportArranged, 360),
    (Status::TestBooked, 48 * 60),
    (Status::ResultRecorded, 24 * 60),
];

impl Status {
    /// Still to be worked (the dashboard's open cases).
    pub const OPEN: [Status; 5] = [
        Status::Flagged,
        Status::Contacted,
        Status::TransportArranged,
        Status::TestBooked,
        Status::ResultRecorded,
    ];

    /// The i18n key of its name.
    pub fn label_key(self) -> String {
        format!("epi.status.{}", self.as_str())
    }

    pub fn is_open(self) -> bool {
        Status::OPEN.contains(&self)
    }

    /// When the next step is due, counted from entering this status; `None` once it ended.
    pub fn due_at(self, entered_at: i64) -> Option<i64> {
        DUE_MINUTES
            .iter()
            .find(|(s, _)| *s == self)
            .map(|(_, m)| entered_at + m * 60_000)
    }

    /// The action that moves a case on from here, for the page's next-step form.
    pub fn next_action(self) -> Option<Action> {
        match self {
            Status::Flagged => Some(Action::Contact),
            Status::Contacted => Some(Action::ArrangeTransport),
            Status::TransportArranged => Some(Action::BookTest),
            Status::TestBooked => Some(Action::RecordResult),
            Status::ResultRecorded => Some(Action::Close),
            Status::Closed | Status::Dismissed => None,
        }
    }
}

/// The one place that says which action may move a case from which status, and where to.
pub fn transition(from: Status, action: Action) -> Result<Status, String> {
    use Action as A;
    use Status as S;
    let to = match (from, action) {
        (S::Flagged, A::Contact) => S::Contacted,
        (S::Contacted, A::ArrangeTransport) => S::TransportArranged,
        (S::TransportArranged, A::BookTest) => S::TestBooked,
        (S::TestBooked, A::RecordResult) => S::ResultRecorded,
        (S::ResultRecorded, A::Close) => S::Closed,
        (S::Flagged | S::Contacted | S::TransportArranged | S::TestBooked, A::Dismiss) => {
            S::Dismissed
        }
        (from, action) => {
            let why = match from {
                S::Closed | S::Dismissed => "the case has ended".to_owned(),
                S::ResultRecorded if action == A::Dismiss => {
                    "a case with a recorded result is closed, not dismissed".to_owned()
                }
                _ => match from.next_action() {
                    Some(next) => format!("the next step is {}", next.as_str().replace('_', " ")),
                    None => "the case has ended".to_owned(),
                },
            };
            return Err(format!(
                "cannot {} a case that is {}: {why}",
                action.as_str().replace('_', " "),
                from.as_str().replace('_', " ")
            ));
        }
    };
    Ok(to)
}

crate::text_enum! {
    pub enum Transport {
        /// 120 ambulance or the hospital's negative-pressure transfer.
        Ambulance = "ambulance",
        /// The patient comes to the fever clinic themselves, with instructions (mask, no public
        /// transport).
        OnTheirOwn = "self",
    }
}

/// Notifiable diseases' classes (甲类, 乙类, 丙类, 其他).
pub const DISEASE_CLASSES: [&str; 4] = ["A", "B", "C", "other"];
/// 病例分类: suspected, clinically diagnosed, laboratory confirmed, pathogen carrier.
pub const CLASSIFICATIONS: [&str; 4] = ["suspected", "clinical", "confirmed", "carrier"];

/// One step as the officer submits it (every field optional, so a missing one gets a field
/// error, not a parse failure).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct StepInput {
    #[serde(default)]
    pub action: String,
    /// What was said or done (contact, close); the reason to dismiss.
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub transport: Option<String>,
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub test_name: Option<String>,
    /// `YYYY-MM-DDTHH:MM` in China Standard Time.
    #[serde(default)]
    pub test_at: Option<String>,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub disease: Option<String>,
    #[serde(default)]
    pub disease_class: Option<String>,
    #[serde(default)]
    pub classification: Option<String>,
    /// `YYYY-MM-DD`, when known.
    #[serde(default)]
    pub onset_on: Option<String>,
}

/// A step, validated for its action.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Contact {
        note: String,
    },
    ArrangeTransport {
        transport: Transport,
        instructions: String,
    },
    BookTest {
        test_name: String,
        test_at: i64,
    },
    RecordResult {
        positive: bool,
        report: Option<ReportInput>,
    },
    Close {
        note: String,
    },
    Dismiss {
        reason: String,
    },
}

/// What the report card needs beyond the patient's record.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInput {
    pub disease: String,
    pub disease_class: &'static str,
    pub classification: &'static str,
    pub onset_on: Option<String>,
}

impl Step {
    pub fn action(&self) -> Action {
        match self {
            Step::Contact { .. } => Action::Contact,
            Step::ArrangeTransport { .. } => Action::ArrangeTransport,
            Step::BookTest { .. } => Action::BookTest,
            Step::RecordResult { .. } => Action::RecordResult,
            Step::Close { .. } => Action::Close,
            Step::Dismiss { .. } => Action::Dismiss,
        }
    }

    /// The note kept in the case's history.
    pub fn note(&self) -> String {
        match self {
            Step::Contact { note } | Step::Close { note } => note.clone(),
            Step::Dismiss { reason } => reason.clone(),
            Step::ArrangeTransport {
                transport,
                instructions,
            } => format!("{}: {instructions}", transport.as_str()),
            Step::BookTest { test_name, .. } => test_name.clone(),
            Step::RecordResult { positive, report } => match (positive, report) {
                (true, Some(r)) => format!("positive: {}", r.disease),
                (true, None) => "positive".to_owned(),
                (false, _) => "negative".to_owned(),
            },
        }
    }
}

const MAX_NOTE: usize = 500;

fn text(
    errors: &mut Vec<FieldError>,
    field: &str,
    raw: &Option<String>,
    required: bool,
    max: usize,
) -> String {
    let value = raw.as_deref().map(str::trim).unwrap_or_default();
    let n = value.chars().count();
    if (required && n == 0) || n > max {
        let need = if required { 1 } else { 0 };
        errors.push(FieldError::new(
            field,
            format!("must be {need} to {max} characters"),
        ));
    }
    value.to_owned()
}

impl StepInput {
    /// The step, or every field's problem at once. `today` bounds the onset date.
    pub fn validate(&self, today: chrono::NaiveDate) -> Result<Step, Vec<FieldError>> {
        let mut errors = Vec::new();
        let Some(action) = Action::parse(self.action.trim()) else {
            return Err(vec![FieldError::new(
                "action",
                "must be one of contact, arrange_transport, book_test, record_result, close, dismiss",
            )]);
        };
        let step = match action {
            Action::Contact => Step::Contact {
                note: text(&mut errors, "note", &self.note, true, MAX_NOTE),
            },
            Action::Close => Step::Close {
                note: text(&mut errors, "note", &self.note, false, MAX_NOTE),
            },
            Action::Dismiss => {
                let reason = text(&mut errors, "note", &self.note, false, MAX_NOTE);
                if reason.chars().count() < 4 {
                    errors.push(FieldError::new(
                        "note",
                        "say why the case is dismissed (at least 4 characters)",
                    ));
                }
                Step::Dismiss { reason }
            }
            Action::ArrangeTransport => {
                let transport = self.transport.as_deref().and_then(Transport::parse);
                if transport.is_none() {
                    errors.push(FieldError::new("transport", "must be ambulance or self"));
                }
                let required = transport == Some(Transport::OnTheirOwn);
                let instructions = text(
                    &mut errors,
                    "instructions",
                    &self.instructions,
                    required,
                    MAX_NOTE,
                );
                Step::ArrangeTransport {
                    transport: transport.unwrap_or(Transport::Ambulance),
                    instructions,
                }
            }
            Action::BookTest => {
                let test_name = text(&mut errors, "test_name", &self.test_name, true, 60);
                let test_at = match self.test_at.as_deref().map(str::trim) {
                    Some(raw) if !raw.is_empty() => match cst_minute(raw) {
                        Some(at) => at,
                        None => {
                            errors.push(FieldError::new(
                                "test_at",
                                "must be a time like 2026-11-23T15:30",
                            ));
                            0
                        }
                    },
                    _ => {
                        errors.push(FieldError::required("test_at"));
                        0
                    }
                };
                Step::BookTest { test_name, test_at }
            }
            Action::RecordResult => {
                let positive = match self.result.as_deref() {
                    Some("positive") => true,
                    Some("negative") => false,
                    _ => {
                        errors.push(FieldError::new("result", "must be positive or negative"));
                        false
                    }
                };
                let report = positive.then(|| self.report(&mut errors, today));
                Step::RecordResult { positive, report }
            }
        };
        if errors.is_empty() {
            Ok(step)
        } else {
            Err(errors)
        }
    }

    fn report(&self, errors: &mut Vec<FieldError>, today: chrono::NaiveDate) -> ReportInput {
        let disease = text(errors, "disease", &self.disease, true, 60);
        let pick = |errors: &mut Vec<FieldError>,
                    field: &str,
                    raw: &Option<String>,
                    allowed: &[&'static str]|
         -> &'static str {
            match allowed.iter().find(|a| raw.as_deref() == Some(**a)) {
                Some(a) => a,
                None => {
                    errors.push(FieldError::new(
                        field,
                        format!("must be one of {}", allowed.join(", ")),
                    ));
                    allowed[0]
                }
            }
        };
        let disease_class = pick(
            errors,
            "disease_class",
            &self.disease_class,
            &DISEASE_CLASSES,
        );
        let classification = pick(
            errors,
            "classification",
            &self.classification,
            &CLASSIFICATIONS,
        );
        let onset_on = match self.onset_on.as_deref().map(str::trim) {
            Some(raw) if !raw.is_empty() => {
                match chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                    Ok(d) if d <= today => Some(d.to_string()),
                    Ok(_) => {
                        errors.push(FieldError::not_future("onset_on"));
                        None
                    }
                    Err(_) => {
                        errors.push(FieldError::date("onset_on", "2026-11-20"));
                        None
                    }
                }
            }
            _ => None,
        };
        ReportInput {
            disease,
            disease_class,
            classification,
            onset_on,
        }
    }
}

/// `YYYY-MM-DDTHH:MM` (or with a space) in China Standard Time, as epoch milliseconds.
fn cst_minute(raw: &str) -> Option<i64> {
    let t = chrono::NaiveDateTime::parse_from_str(&raw.replace(' ', "T"), "%Y-%m-%dT%H:%M").ok()?;
    Some(
        (t - chrono::Duration::hours(8))
            .and_utc()
            .timestamp_millis(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steps_go_in_order() {
        let path = [
            (Action::Contact, Status::Contacted),
            (Action::ArrangeTransport, Status::TransportArranged),
            (Action::BookTest, Status::TestBooked),
            (Action::RecordResult, Status::ResultRecorded),
            (Action::Close, Status::Closed),
        ];
        let mut at = Status::Flagged;
        for (action, to) in path {
            assert_eq!(at.next_action(), Some(action));
            at = transition(at, action).unwrap();
            assert_eq!(at, to);
        }
        assert_eq!(at.next_action(), None);
    }

    #[test]
    fn illegal_moves_are_refused_with_the_reason() {
        let err = transition(Status::Flagged, Action::BookTest).unwrap_err();
        assert_eq!(
            err,
            "cannot book test a case that is flagged: the next step is contact"
        );
        assert!(
            transition(Status::Closed, Action::Contact)
                .unwrap_err()
                .contains("has ended")
        );
        assert!(transition(Status::Dismissed, Action::Dismiss).is_err());
        assert!(
            transition(Status::ResultRecorded, Action::Dismiss)
                .unwrap_err()
                .contains("closed, not dismissed")
        );
        // Every open status before the result may be dismissed; nothing else moves backwards.
        for s in [
            Status::Flagged,
            Status::Contacted,
            Status::TransportArranged,
            Status::TestBooked,
        ] {
            assert_eq!(transition(s, Action::Dismiss), Ok(Status::Dismissed));
        }
        for s in Status::ALL {
            for a in Action::ALL {
                if let Ok(to) = transition(s, a) {
                    assert!(s.is_open(), "{s:?} --{a:?}--> {to:?}");
                    assert_ne!(to, Status::Flagged);
                }
            }
        }
    }

    #[test]
    fn open_steps_are_due_and_ended_ones_not() {
        assert_eq!(Status::Flagged.due_at(0), Some(30 * 60_000));
        assert_eq!(Status::Closed.due_at(0), None);
        assert_eq!(Status::Dismissed.due_at(0), None);
        for s in Status::OPEN {
            assert!(s.due_at(0).is_some());
        }
    }

    #[test]
    fn steps_are_validated_field_by_field() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let fields = |input: StepInput| -> Vec<String> {
            input
                .validate(today)
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(fields(StepInput::default()), ["action"]);
        let contact = StepInput {
            action: "contact".into(),
            ..StepInput::default()
        };
        assert_eq!(fields(contact), ["note"]);
        let transport = StepInput {
            action: "arrange_transport".into(),
            transport: Some("self".into()),
            ..StepInput::default()
        };
        assert_eq!(fields(transport), ["instructions"]);
        let test = StepInput {
            action: "book_test".into(),
            test_name: Some("核酸检测".into()),
            test_at: Some("tomorrow".into()),
            ..StepInput::default()
        };
        assert_eq!(fields(test), ["test_at"]);
        let positive = StepInput {
            action: "record_result".into(),
            result: Some("positive".into()),
            disease_class: Some("Z".into()),
            onset_on: Some("2026-12-01".into()),
            ..StepInput::default()
        };
        assert_eq!(
            fields(positive),
            ["disease", "disease_class", "classification", "onset_on"]
        );
        let booked = StepInput {
            action: "book_test".into(),
            test_name: Some("核酸检测".into()),
            test_at: Some("2026-11-23T16:00".into()),
            ..StepInput::default()
        }
        .validate(today)
        .unwrap();
        // 16:00 in Beijing is 08:00 UTC (midnight UTC of 2026-11-23 is 1_795_392_000_000).
        assert_eq!(
            booked,
            Step::BookTest {
                test_name: "核酸检测".into(),
                test_at: 1_795_392_000_000 + 8 * 3_600_000
            }
        );
    }
}
