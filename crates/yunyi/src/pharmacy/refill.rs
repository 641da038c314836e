//! The refill journey (续方): from a chronic-disease prescription the patient has taken,
//! "renew my medicine" asks its doctor for a follow-up visit of the same condition. The
//! doctor's prescribing form then starts from the last prescription's lines; nothing is issued
//! until the doctor checks and signs, and the pharmacist reviews, as for any prescription.

use super::prescription::Status;
use super::prescription_store::{self as store, ItemRow, PrescriptionRow};
use crate::app::AppState;
use crate::consult::model::same_condition;
use crate::consult::service::{self as consult, ConsultationView, RequestInput};
use crate::error::{AppError, AppResult, Reason};
use crate::identity::Actor;

/// Whether `p` may be renewed: a chronic prescription whose medicine was bought (or whose
/// approval lapsed unpaid). The reason when not, in words for the patient.
pub fn renewable(p: &PrescriptionRow) -> Result<(), &'static str> {
    if p.duration == "ordinary" {
        return Err("only prescriptions for a chronic condition are renewed online");
    }
    match p.status() {
        Status::Paid | Status::Dispensed | Status::Expired => Ok(()),
        Status::Approved => Err("it is approved and waiting to be paid; pay for it instead"),
        Status::Submitted => Err("it is still waiting for the pharmacist"),
        _ => Err("it was never approved; ask the doctor in a follow-up visit"),
    }
}

/// Which of a patient's prescriptions (most recent first) carry "renew my medicine": the
/// most recent renewable one of each condition.
pub fn offers(prescriptions: &[PrescriptionRow]) -> Vec<bool> {
    let mut offered = std::collections::HashSet::new();
    prescriptions
        .iter()
        .map(|p| renewable(p).is_ok() && offered.insert(p.diagnosis_icd10.as_str()))
        .collect()
}

/// The follow-up request rule: prescription `id` is `person`'s, for `condition`, renewable.
/// `Ok(Err(why))` when it is not.
pub async fn check_renewable(
    state: &AppState,
    id: i64,
    person: i64,
    condition: &str,
) -> AppResult<Result<(), String>> {
    let Some(p) = store::prescription(&state.db, id)
        .await?
        .filter(|p| p.person_id == person)
    else {
        return Ok(Err(format!("no prescription {id} of this patient")));
    };
    if !same_condition(&p.diagnosis_icd10, condition) {
        return Ok(Err(format!(
            "prescription {id} is for {} ({}), not {condition}",
            p.diagnosis_name, p.diagnosis_icd10
        )));
    }
    Ok(renewable(&p).map_err(str::to_owned))
}

/// "Renew my medicine": a follow-up visit with the prescription's doctor for its condition,
/// the medicine listed in the intake. The patient may add a line about how they are.
pub async fn renew(
    state: &AppState,
    actor: &Actor,
    id: i64,
    note: Option<&str>,
) -> AppResult<ConsultationView> {
    let p = super::prescribing::read(state, actor, id)
        .await?
        .prescription;
    renewable(&p).map_err(|why| {
        AppError::refused(Reason::NotRenewable, format!("cannot renew it: {why}"))
    })?;
    let service = crate::directory::store::services(&state.db, Some(p.doctor_id), None, 50)
        .await?
        .into_iter()
        .find(|s| s.kind == "follow_up" && s.active && s.hospital_id == p.hospital_id)
        .ok_or_else(|| {
            AppError::refused(
                Reason::NoFollowUpService,
                "the doctor who wrote it no longer offers follow-up visits online; choose another doctor's follow-up service",
            )
        })?;
    let items = store::items(&state.db, p.id).await?;
    let medicine: Vec<String> = items.iter().map(describe).collect();
    let mut complaint = format!("申请续方 (renewal): {}", medicine.join("；"));
    if let Some(note) = note.map(str::trim).filter(|n| !n.is_empty()) {
        // The patient's words, as much as the intake holds.
        let room = 480usize.saturating_sub(complaint.chars().count());
        let note: String = note.chars().take(room).collect();
        complaint = format!("{complaint}。{note}");
    }
    let mut input = RequestInput {
        service_id: Some(service.id),
        person_id: Some(p.person_id),
        condition_icd10: Some(p.diagnosis_icd10.clone()),
        renews_prescription_id: Some(p.id),
        ..Default::default()
    };
    input.intake.chief_complaint = complaint;
    input.intake.medications = medicine;
    input.intake.allergies = serde_json::from_str(&p.allergies).unwrap_or_default();
    consult::request(state, actor, &input).await
}

/// A line as the patient and doctor read it: 苯磺酸氨氯地平片 5mg 5 mg 每日一次 × 28 天.
fn describe(item: &ItemRow) -> String {
    format!(
        "{} {} {} {} {} × {} 天",
        item.drug_name, item.strength, item.dose, item.dose_unit, item.frequency, item.days
    )
}
