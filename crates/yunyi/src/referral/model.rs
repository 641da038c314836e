//! Two-way referral (双向转诊) types and invariants: the lifecycle as one transition function,
//! the direction and what is asked, and the referral as the doctor writes it.

use serde::Deserialize;

use crate::error::FieldError;
use crate::teleconsult::model::ItemRef;

crate::text_enum! {
    /// Where a referral is in its life.
    pub enum Status {
        /// Sent to the receiving hospital, waiting for its answer.
        Sent = "sent",
        /// The receiving hospital accepted and said what it arranged.
        Accepted = "accepted",
        Declined = "declined",
        /// The patient arrived at the receiving hospital.
        Arrived = "arrived",
        /// The referring doctor or the patient side withdrew it.
        Cancelled = "cancelled",
    }
}

impl Status {
    pub fn is_ended(self) -> bool {
        matches!(self, Status::Declined | Status::Arrived | Status::Cancelled)
    }
}

/// What someone does to a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Decline,
    Arrive,
    Cancel,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Decline => "decline",
            Action::Arrive => "record the arrival of",
            Action::Cancel => "cancel",
        }
    }

    pub fn audit(self) -> &'static str {
        match self {
            Action::Accept => "referral.accept",
            Action::Decline => "referral.decline",
            Action::Arrive => "referral.arrive",
            Action::Cancel => "referral.cancel",
        }
    }
}

/// The one place that says which moves are legal.
pub fn transition(from: Status, action: Action) -> Result<Status, IllegalTransition> {
    use Action as A;
    use Status as S;
    let to = match (from, action) {
        (S::Sent, A::Accept) => S::Accepted,
        (S::Sent, A::Decline) => S::Declined,
        (S::Accepted, A::Arrive) => S::Arrived,
        (S::Sent | S::Accepted, A::Cancel) => S::Cancelled,
        _ => return Err(IllegalTransition { from, action }),
    };
    Ok(to)
}

/// A move the lifecycle does not allow, said in words a user understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalTransition {
    pub from: Status,
    pub action: Action,
}

impl std::fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hint = match (self.from, self.action) {
            (s, _) if s.is_ended() => "it has ended",
            (Status::Accepted, Action::Accept | Action::Decline) => "it was answered already",
            (Status::Sent, Action::Arrive) => "the receiving hospital has not accepted it yet",
            _ => "that step does not apply now",
        };
        write!(
            f,
            "cannot {} a referral that is {}: {hint}",
            self.action.as_str(),
            self.from.as_str()
        )
    }
}

crate::text_enum! {
    pub enum Direction {
        /// 上转: to a hospital of a higher level, for what the referring one cannot do.
        Up = "up",
        /// 下转: back to a grassroots or county hospital, for rehabilitation and follow-up.
        Down = "down",
    }
}

crate::text_enum! {
    /// What is asked of the receiving hospital.
    pub enum ReferralKind {
        /// An outpatient visit (门诊).
        Outpatient = "outpatient",
        /// A bed (住院).
        Inpatient = "inpatient",
    }
}

/// A referral as the doctor writes it (every field defaulted: a missing one is a field error).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ReferralInput {
    #[serde(default)]
    pub person_id: Option<i64>,
    /// The receiving hospital.
    #[serde(default)]
    pub to_hospital_id: Option<i64>,
    /// A department there, when known.
    #[serde(default)]
    pub department_id: Option<i64>,
    /// `up` or `down`.
    #[serde(default)]
    pub direction: String,
    /// `outpatient` or `inpatient`.
    #[serde(default)]
    pub kind: String,
    /// 转诊摘要 (10–5,000 characters).
    #[serde(default)]
    pub summary: String,
    /// What is asked: the visit or the bed (2–500 characters).
    #[serde(default)]
    pub request: String,
    /// The online consultation it comes out of (its doctor refers).
    #[serde(default)]
    pub consultation_id: Option<i64>,
    /// Record items shared with the receiving hospital.
    #[serde(default)]
    pub items: Vec<ItemRef>,
}

/// The validated referral.
#[derive(Debug, Clone)]
pub struct Referral {
    pub person_id: i64,
    pub to_hospital_id: i64,
    pub department_id: Option<i64>,
    pub direction: Direction,
    pub kind: ReferralKind,
    pub summary: String,
    pub request: String,
    pub consultation_id: Option<i64>,
    pub items: Vec<ItemRef>,
}

fn choice<T>(
    errors: &mut Vec<FieldError>,
    field: &str,
    raw: &str,
    parse: fn(&str) -> Option<T>,
    allowed: &str,
) -> Option<T> {
    match raw.trim() {
        "" => {
            errors.push(FieldError::required(field));
            None
        }
        v => {
            let parsed = parse(v);
            if parsed.is_none() {
                errors.push(
                    FieldError::new(field, format!("must be {allowed}")).localized(
                        "field.choice",
                        vec![("allowed", allowed.replace(" or ", ", "))],
                    ),
                );
            }
            parsed
        }
    }
}

fn text(
    errors: &mut Vec<FieldError>,
    field: &str,
    raw: &str,
    (min, max): (usize, usize),
) -> String {
    let v = raw.trim();
    let n = v.chars().count();
    if n == 0 {
        errors.push(FieldError::required(field));
    } else if n < min || n > max {
        errors.push(FieldError::length(field, min, max));
    }
    v.to_owned()
}

impl ReferralInput {
    pub fn validate(&self) -> Result<Referral, Vec<FieldError>> {
        let mut errors = Vec::new();
        let id = |errors: &mut Vec<FieldError>, field: &str, v: Option<i64>, required: bool| match v
        {
            Some(n) if n > 0 => Some(n),
            Some(_) => {
                errors.push(
                    FieldError::new(field, "must be a positive id")
                        .localized("field.positive_id", vec![]),
                );
                None
            }
            None => {
                if required {
                    errors.push(FieldError::required(field));
                }
                None
            }
        };
        let person_id = id(&mut errors, "person_id", self.person_id, true);
        let to_hospital_id = id(&mut errors, "to_hospital_id", self.to_hospital_id, true);
        let department_id = id(&mut errors, "department_id", self.department_id, false);
        let consultation_id = id(&mut errors, "consultation_id", self.consultation_id, false);
        let direction = choice(
            &mut errors,
            "direction",
            &self.direction,
            Direction::parse,
            "up or down",
        );
        let kind = choice(
            &mut errors,
            "kind",
            &self.kind,
            ReferralKind::parse,
            "outpatient or inpatient",
        );
        let summary = text(&mut errors, "summary", &self.summary, (10, 5_000));
        let request = text(&mut errors, "request", &self.request, (2, 500));
        let mut items = self.items.clone();
        items.sort_by_key(|i| (i.kind.as_str(), i.id));
        items.dedup();
        if items.len() > crate::teleconsult::model::MAX_ITEMS {
            errors.push(
                FieldError::new("items", "share at most 50 items")
                    .localized("field.too_many", vec![("max", "50".to_owned())]),
            );
        }
        match (person_id, to_hospital_id, direction, kind) {
            (Some(person_id), Some(to_hospital_id), Some(direction), Some(kind))
                if errors.is_empty() =>
            {
                Ok(Referral {
                    person_id,
                    to_hospital_id,
                    department_id,
                    direction,
                    kind,
                    summary,
                    request,
                    consultation_id,
                    items,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legal_moves_and_only_those() {
        use Action as A;
        use Status as S;
        let legal = [
            (S::Sent, A::Accept, S::Accepted),
            (S::Sent, A::Decline, S::Declined),
            (S::Accepted, A::Arrive, S::Arrived),
            (S::Sent, A::Cancel, S::Cancelled),
            (S::Accepted, A::Cancel, S::Cancelled),
        ];
        for from in Status::ALL {
            for action in [A::Accept, A::Decline, A::Arrive, A::Cancel] {
                let want = legal
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (transition(from, action), want) {
                    (Ok(to), Some(w)) => assert_eq!(to, w),
                    (Err(e), None) => assert!(e.to_string().contains(from.as_str())),
                    (got, want) => panic!("{from:?} {action:?}: {got:?} vs {want:?}"),
                }
            }
        }
    }

    #[test]
    fn every_missing_or_wrong_field_is_named() {
        let fields: Vec<String> = ReferralInput {
            direction: "sideways".to_owned(),
            ..ReferralInput::default()
        }
        .validate()
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect();
        assert_eq!(
            fields,
            [
                "person_id",
                "to_hospital_id",
                "direction",
                "kind",
                "summary",
                "request"
            ]
        );
    }
}
