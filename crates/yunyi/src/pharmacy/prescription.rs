//! A prescription's life as one explicit state machine, and the prescription as the doctor
//! writes it, validated field by field before any check or database work.

use serde::Deserialize;

use super::checks::{Duration, Frequency};
use crate::error::FieldError;

crate::text_enum! {
    /// Where a prescription is.
    pub enum Status {
        /// Signed by the doctor, waiting for a pharmacist (待审方).
        Submitted = "submitted",
        /// Passed review: it may be paid for, until `pay_by`.
        Approved = "approved",
        /// Sent back by the pharmacist with the reason.
        Rejected = "rejected",
        /// The doctor wrote a new version instead.
        Superseded = "superseded",
        /// Withdrawn by the doctor before payment.
        Cancelled = "cancelled",
        /// Approved but not paid in time.
        Expired = "expired",
        Paid = "paid",
        /// Handed over by the pharmacy (to the patient or a courier).
        Dispensed = "dispensed",
    }
}

/// What may happen to a prescription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Reject,
    Supersede,
    Cancel,
    Expire,
    Pay,
    Dispense,
}

impl Status {
    /// Its medicine is (or will be) taken: what the checks count as current therapy.
    pub fn in_therapy(self) -> bool {
        matches!(
            self,
            Status::Submitted | Status::Approved | Status::Paid | Status::Dispensed
        )
    }
}

/// The one place that says which move is legal from where. Only an approved prescription is
/// paid, and only a paid one dispensed: 监管细则 — pharmacist review before payment or
/// dispensing.
pub fn transition(from: Status, action: Action) -> Result<Status, IllegalMove> {
    use Action as A;
    use Status as S;
    Ok(match (from, action) {
        (S::Submitted, A::Approve) => S::Approved,
        (S::Submitted, A::Reject) => S::Rejected,
        (S::Submitted | S::Approved | S::Rejected, A::Supersede) => S::Superseded,
        (S::Submitted | S::Approved, A::Cancel) => S::Cancelled,
        (S::Approved, A::Expire) => S::Expired,
        (S::Approved, A::Pay) => S::Paid,
        (S::Paid, A::Dispense) => S::Dispensed,
        _ => return Err(IllegalMove { from, action }),
    })
}

/// A move the life of a prescription does not allow, in words a user understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalMove {
    pub from: Status,
    pub action: Action,
}

impl std::fmt::Display for IllegalMove {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match (self.from, self.action) {
            (Status::Submitted, Action::Pay | Action::Dispense) => {
                "a pharmacist has not reviewed it yet"
            }
            (Status::Rejected, Action::Pay | Action::Dispense | Action::Approve) => {
                "the pharmacist rejected it; the doctor writes a new version"
            }
            (Status::Approved, Action::Dispense) => "it has not been paid",
            (Status::Paid | Status::Dispensed, Action::Cancel | Action::Supersede) => {
                "it has been paid; a refund comes first"
            }
            (Status::Superseded, _) => "a newer version replaced it",
            (Status::Expired, _) => "it expired unpaid; the doctor writes a new one",
            (Status::Cancelled, _) => "it was cancelled",
            _ => "that does not follow from where it is",
        };
        write!(
            f,
            "the prescription is {}: {why}",
            self.from.as_str().replace('_', " ")
        )
    }
}

impl Duration {
    pub fn as_str(self) -> &'static str {
        match self {
            Duration::Ordinary => "ordinary",
            Duration::Chronic => "chronic",
            Duration::StableChronic => "stable_chronic",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "ordinary" => Some(Duration::Ordinary),
            "chronic" => Some(Duration::Chronic),
            "stable_chronic" => Some(Duration::StableChronic),
            _ => None,
        }
    }
}

/// At most five drugs on one prescription (处方管理办法: 每张处方不得超过5种药品).
pub const MAX_ITEMS: usize = 5;

/// Most dispensing units one line may hold.
pub const MAX_QUANTITY: i64 = 100;

/// One line as the doctor writes it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ItemInput {
    pub drug_id: Option<i64>,
    /// In the drug's dose unit (mg, μg, 吸 …).
    pub dose: Option<f64>,
    #[serde(default)]
    pub frequency: String,
    pub days: Option<i64>,
    /// Dispensing units (boxes, bottles); the pack count the days need when absent.
    pub quantity: Option<i64>,
}

/// A prescription as the doctor writes it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PrescriptionInput {
    pub consultation_id: Option<i64>,
    /// The condition treated; the follow-up visit's condition when absent.
    #[serde(default)]
    pub diagnosis_icd10: Option<String>,
    #[serde(default)]
    pub diagnosis_name: String,
    /// `ordinary`, `chronic` (the default in a follow-up visit) or `stable_chronic`.
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub pregnant: bool,
    /// A child under six: the guardian took part in the visit.
    #[serde(default)]
    pub guardian_present: bool,
    /// The version this one replaces.
    #[serde(default)]
    pub supersedes: Option<i64>,
    #[serde(default)]
    pub items: Vec<ItemInput>,
}

/// A line that passed validation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemValid {
    pub drug_id: i64,
    pub dose: f64,
    pub frequency: Frequency,
    pub days: i64,
    pub quantity: Option<i64>,
}

/// A prescription that passed validation (the rules that need the database come after).
#[derive(Debug, Clone, PartialEq)]
pub struct PrescriptionValid {
    pub consultation_id: i64,
    pub diagnosis_icd10: Option<String>,
    pub diagnosis_name: String,
    pub duration: Duration,
    pub pregnant: bool,
    pub guardian_present: bool,
    pub supersedes: Option<i64>,
    pub items: Vec<ItemValid>,
}

impl PrescriptionInput {
    pub fn validate(&self) -> Result<PrescriptionValid, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.consultation_id.is_none() {
            errors.push(FieldError::required("consultation_id"));
        }
        let diagnosis_icd10 = match self.diagnosis_icd10.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match crate::consult::model::parse_icd10(raw) {
                Some(code) => Some(code),
                None => {
                    errors.push(FieldError::new(
                        "diagnosis_icd10",
                        "must be an ICD-10 code such as I10 or E11.9",
                    ));
                    None
                }
            },
        };
        let diagnosis_name = self.diagnosis_name.trim().to_owned();
        if diagnosis_name.is_empty() || diagnosis_name.chars().count() > 60 {
            errors.push(FieldError::new(
                "diagnosis_name",
                "name the diagnosis treated (1 to 60 characters), e.g. 原发性高血压",
            ));
        }
        let duration = match self.duration.as_deref() {
            None | Some("") => Duration::Chronic,
            Some(raw) => Duration::parse(raw).unwrap_or_else(|| {
                errors.push(FieldError::new(
                    "duration",
                    "must be ordinary, chronic or stable_chronic",
                ));
                Duration::Chronic
            }),
        };
        if self.items.is_empty() || self.items.len() > MAX_ITEMS {
            errors.push(FieldError::new(
                "items",
                format!("a prescription holds 1 to {MAX_ITEMS} drugs"),
            ));
        }
        let mut items = Vec::new();
        for (i, item) in self.items.iter().enumerate().take(MAX_ITEMS) {
            let field = |name: &str| format!("items[{i}].{name}");
            let drug_id = item.drug_id.filter(|d| *d > 0);
            if drug_id.is_none() {
                errors.push(FieldError::required(field("drug_id")));
            }
            let dose = item.dose.filter(|d| d.is_finite() && *d > 0.0 && *d < 1e6);
            if dose.is_none() {
                errors.push(FieldError::new(
                    field("dose"),
                    "must be a dose above 0 in the drug's dose unit",
                ));
            }
            let frequency = Frequency::from_input(&item.frequency);
            if frequency.is_none() {
                errors.push(FieldError::new(
                    field("frequency"),
                    "must be one of qd, bid, tid, qid, qn, q8h, q12h, qw, prn",
                ));
            }
            let days = item.days.filter(|d| (1..=365).contains(d));
            if days.is_none() {
                errors.push(FieldError::new(field("days"), "must be 1 to 365 days"));
            }
            if item
                .quantity
                .is_some_and(|q| !(1..=MAX_QUANTITY).contains(&q))
            {
                errors.push(FieldError::new(
                    field("quantity"),
                    "must be 1 to 100 units, or absent for what the days need",
                ));
            }
            if let (Some(drug_id), Some(dose), Some(frequency), Some(days)) =
                (drug_id, dose, frequency, days)
            {
                items.push(ItemValid {
                    drug_id,
                    dose,
                    frequency,
                    days,
                    quantity: item.quantity,
                });
            }
        }
        match (self.consultation_id, errors.is_empty()) {
            (Some(consultation_id), true) => Ok(PrescriptionValid {
                consultation_id,
                diagnosis_icd10,
                diagnosis_name,
                duration,
                pregnant: self.pregnant,
                guardian_present: self.guardian_present,
                supersedes: self.supersedes,
                items,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_approved_prescription_is_paid_and_only_a_paid_one_dispensed() {
        for from in Status::ALL {
            let pay = transition(from, Action::Pay);
            assert_eq!(pay.is_ok(), from == Status::Approved, "{from:?}");
            let dispense = transition(from, Action::Dispense);
            assert_eq!(dispense.is_ok(), from == Status::Paid, "{from:?}");
        }
        let e = transition(Status::Submitted, Action::Pay).unwrap_err();
        assert!(e.to_string().contains("not reviewed"), "{e}");
        assert_eq!(
            transition(Status::Submitted, Action::Approve),
            Ok(Status::Approved)
        );
        assert!(transition(Status::Paid, Action::Cancel).is_err());
        assert!(transition(Status::Rejected, Action::Approve).is_err());
        assert_eq!(
            transition(Status::Rejected, Action::Supersede),
            Ok(Status::Superseded)
        );
    }

    #[test]
    fn every_bad_field_is_named_by_its_line() {
        let input = PrescriptionInput {
            consultation_id: Some(1),
            diagnosis_icd10: Some("高血压".into()),
            items: vec![
                ItemInput {
                    drug_id: Some(3),
                    dose: Some(5.0),
                    frequency: "qd".into(),
                    days: Some(28),
                    quantity: None,
                },
                ItemInput {
                    drug_id: None,
                    dose: Some(-1.0),
                    frequency: "daily".into(),
                    days: Some(0),
                    quantity: Some(0),
                },
            ],
            ..Default::default()
        };
        let fields: Vec<String> = input
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "diagnosis_icd10",
                "diagnosis_name",
                "items[1].drug_id",
                "items[1].dose",
                "items[1].frequency",
                "items[1].days",
                "items[1].quantity"
            ]
        );
        let six = PrescriptionInput {
            consultation_id: Some(1),
            diagnosis_name: "高血压".into(),
            items: vec![ItemInput::default(); 6],
            ..Default::default()
        };
        assert!(six.validate().unwrap_err()[0].message.contains("1 to 5"));
    }
}
