//! The demo's prescriptions: in patient1's completed hypertension follow-up with doctor4, the
//! amlodipine increase the note plans, reviewed and approved by pharmacist1 (waiting for
//! payment); and a follow-up of patient1's today, in progress, whose prescription (indapamide
//! added) waits in pharmacist1's review queue. Written through the pharmacy store with the
//! checks' findings, as the doctor's signing would have.

use super::consultations::{MINUTE, intake, moves, new_request, patient, request, service_of};
use super::{account_id, bad_demo_data};
use crate::app::AppState;
use crate::clock::now_ms;
use crate::consult::model::{Kind, Status};
use crate::consult::store as consult_store;
use crate::db::Tx;
use crate::error::AppResult;
use crate::pharmacy::prescription::Status as RxStatus;
use crate::pharmacy::prescription_store::{self as rx, ItemRow, NewPrescription};
use crate::pharmacy::store::{self as formulary, DrugQuery};

/// A line of `code` from the hospital's formulary: `dose` once a day for `days`, in `boxes`.
async fn line(
    state: &AppState,
    hospital: i64,
    line: i64,
    code: &str,
    dose: f64,
    days: i64,
    boxes: i64,
) -> AppResult<ItemRow> {
    let query = DrugQuery {
        text: Some(code.to_owned()),
        limit: 1,
        ..Default::default()
    };
    let drug = formulary::drugs(&state.db, hospital, &query)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| bad_demo_data(&format!("no drug {code} in the demo formulary")))?;
    Ok(ItemRow {
        line,
        drug_id: drug.id,
        drug_name: drug.generic_name,
        strength: drug.strength,
        dose,
        dose_unit: drug.dose_unit,
        frequency: "qd".to_owned(),
        route: drug.route,
        days,
        quantity: boxes,
        unit: drug.unit,
        unit_price_fen: drug.price_fen,
        amount_fen: drug.price_fen * boxes,
    })
}

/// A visit the demo prescribes in.
struct Visit {
    id: i64,
    person: i64,
    hospital: i64,
    doctor: i64,
}

/// Stores a prescription for `visit` signed at `at` by its doctor, with its lines.
async fn signed(tx: &mut Tx, visit: &Visit, items: &[ItemRow], at: i64) -> AppResult<i64> {
    let doctor = visit.doctor;
    let id = rx::insert(
        tx,
        &NewPrescription {
            consultation: visit.id,
            person: visit.person,
            hospital: visit.hospital,
            doctor,
            supersedes: None,
            version: 1,
            diagnosis_icd10: "I10",
            diagnosis_name: "原发性高血压",
            duration: "chronic",
            age_years: Some(41),
            pregnant: false,
            guardian_present: false,
            allergies: "[]",
            total_fen: items.iter().map(|i| i.amount_fen).sum(),
        },
        at,
    )
    .await?;
    for item in items {
        rx::insert_item(tx, id, item).await?;
    }
    rx::insert_event(tx, id, None, RxStatus::Submitted, Some(doctor), None, at).await?;
    Ok(id)
}

pub(super) async fn seed(state: &AppState, tx: &mut Tx) -> AppResult<()> {
    let now = now_ms();
    let doctor4 = account_id(&state.db, "doctor4").await?;
    let pharmacist = account_id(&state.db, "pharmacist1").await?;
    let p1 = patient(state, "patient1").await?;
    let visits = consult_store::of_person(&state.db, p1.person, 50).await?;
    let done = visits
        .iter()
        .find(|c| c.kind == "follow_up" && c.status == "completed" && c.doctor_id == Some(doctor4))
        .ok_or_else(|| bad_demo_data("patient1's completed follow-up is missing"))?;
    let hospital = done.hospital_id;
    let at = done.ended_at.unwrap_or(now) - MINUTE;
    // 10 mg a day of the 5 mg tablets for four weeks: two boxes of 28.
    let amlodipine = line(state, hospital, 1, "XY001", 10.0, 28, 2).await?;
    let earlier = Visit {
        id: done.id,
        person: p1.person,
        hospital,
        doctor: doctor4,
    };
    let id = signed(tx, &earlier, &[amlodipine], at).await?;
    let reviewed = at + 12 * MINUTE;
    let pay_by = now + state.config.pharmacy.pay_within.as_millis() as i64;
    if !rx::review(
        tx,
        id,
        RxStatus::Approved,
        pharmacist,
        Some("剂量合理"),
        Some(pay_by),
        reviewed,
    )
    .await?
    {
        return Err(bad_demo_data(
            "the demo prescription was not waiting for review",
        ));
    }
    rx::insert_event(
        tx,
        id,
        Some(RxStatus::Submitted),
        RxStatus::Approved,
        Some(pharmacist),
        Some("剂量合理"),
        reviewed,
    )
    .await?;

    // Today: a follow-up in progress; the doctor adds indapamide, waiting for review.
    let follow_up = service_of(state, doctor4, "follow_up").await?;
    let started = now - 20 * MINUTE;
    let diagnosis = done
        .offline_diagnosis_id
        .ok_or_else(|| bad_demo_data("the demo follow-up rests on no diagnosis"))?;
    let new = new_request(
        &p1,
        &follow_up,
        Kind::FollowUp,
        "text",
        Some(("I10", diagnosis)),
        started,
    );
    let input = intake(
        "加量后血压仍偏高，晨起 142/90",
        &[("头晕", "2026-11-18")],
        &["氨氯地平片 10mg 每日一次"],
    )?;
    let visit = request(tx, &new, &input, started).await?;
    moves(
        tx,
        visit,
        Status::Requested,
        Status::Accepted,
        doctor4,
        started + 3 * MINUTE,
    )
    .await?;
    moves(
        tx,
        visit,
        Status::Accepted,
        Status::InProgress,
        doctor4,
        started + 4 * MINUTE,
    )
    .await?;
    consult_store::mark_first_reply(tx, visit, started + 4 * MINUTE).await?;
    let today = Visit {
        id: visit,
        person: p1.person,
        hospital,
        doctor: doctor4,
    };
    let indapamide = line(state, hospital, 1, "XY016", 1.5, 28, 3).await?;
    signed(tx, &today, &[indapamide], now - 6 * MINUTE).await?;
    Ok(())
}
