//! The demo's prescriptions, all patient1's hypertension with doctor4: eight weeks ago, a
//! follow-up whose amlodipine 5 mg was reviewed, paid and delivered to patient1's address
//! (received the next day); in the recent completed follow-up, the amlodipine increase the
//! note plans, reviewed and approved by pharmacist1 (waiting for payment); and a follow-up of
//! today, in progress, whose prescription (indapamide added) waits in pharmacist1's review
//! queue. Written through the stores, as signing, review, payment and delivery would have.

use super::consultations::{MINUTE, intake, moves, new_request, patient, request, service_of};
use super::{account_id, bad_demo_data};
use crate::app::AppState;
use crate::consult::model::{Kind, Status};
use crate::consult::store as consult_store;
use crate::db::Tx;
use crate::error::AppResult;
use crate::pharmacy::prescription::Status as RxStatus;
use crate::pharmacy::prescription_store::{self as rx, ItemRow, NewPrescription};
use crate::pharmacy::store::{self as formulary, DrugQuery};

const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

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
    let now = state.now_ms();
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
    let pay_by = now + state.config.pharmacy.pay_within.as_millis() as i64;
    approve(tx, id, pharmacist, at + 12 * MINUTE, pay_by).await?;

    let diagnosis = done
        .offline_diagnosis_id
        .ok_or_else(|| bad_demo_data("the demo follow-up rests on no diagnosis"))?;

    // Eight weeks ago: amlodipine 5 mg, reviewed, paid and delivered.
    let started = now - 58 * DAY;
    let visit = follow_up_visit(
        state,
        tx,
        &p1,
        doctor4,
        diagnosis,
        &intake("血压平稳，续开降压药", &[], &["氨氯地平片 5mg 每日一次"])?,
        started,
    )
    .await?;
    moves(
        tx,
        visit,
        Status::InProgress,
        Status::Completed,
        doctor4,
        started + 20 * MINUTE,
    )
    .await?;
    let first = Visit {
        id: visit,
        person: p1.person,
        hospital,
        doctor: doctor4,
    };
    let amlodipine_5 = line(state, hospital, 1, "XY001", 5.0, 28, 1).await?;
    let signed_at = started + 15 * MINUTE;
    let id = signed(tx, &first, std::slice::from_ref(&amlodipine_5), signed_at).await?;
    approve(
        tx,
        id,
        pharmacist,
        signed_at + 10 * MINUTE,
        signed_at + 3 * DAY,
    )
    .await?;
    delivered(
        state,
        tx,
        &p1,
        &first,
        id,
        &amlodipine_5,
        signed_at + 25 * MINUTE,
    )
    .await?;

    // Today: a follow-up in progress; the doctor adds indapamide, waiting for review.
    let started = now - 20 * MINUTE;
    let visit = follow_up_visit(
        state,
        tx,
        &p1,
        doctor4,
        diagnosis,
        &intake(
            "加量后血压仍偏高，晨起 142/90",
            &[("头晕", "2026-11-18")],
            &["氨氯地平片 10mg 每日一次"],
        )?,
        started,
    )
    .await?;
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

/// A follow-up of patient `p`'s hypertension with `doctor`, accepted and in progress from
/// `started` (the caller completes it when it is over).
async fn follow_up_visit(
    state: &AppState,
    tx: &mut Tx,
    p: &super::consultations::Party,
    doctor: i64,
    diagnosis: i64,
    input: &crate::consult::model::IntakeInput,
    started: i64,
) -> AppResult<i64> {
    let follow_up = service_of(state, doctor, "follow_up").await?;
    let new = new_request(
        p,
        &follow_up,
        Kind::FollowUp,
        "text",
        Some(("I10", diagnosis)),
        started,
    );
    let visit = request(state, tx, &new, input, started).await?;
    moves(
        tx,
        visit,
        Status::Requested,
        Status::Accepted,
        doctor,
        started + 3 * MINUTE,
    )
    .await?;
    moves(
        tx,
        visit,
        Status::Accepted,
        Status::InProgress,
        doctor,
        started + 4 * MINUTE,
    )
    .await?;
    consult_store::mark_first_reply(tx, visit, started + 4 * MINUTE).await?;
    Ok(visit)
}

/// pharmacist1 approves prescription `id` at `at`, to be paid by `pay_by`.
async fn approve(tx: &mut Tx, id: i64, pharmacist: i64, at: i64, pay_by: i64) -> AppResult<()> {
    if !rx::review(
        tx,
        id,
        RxStatus::Approved,
        pharmacist,
        Some("剂量合理"),
        Some(pay_by),
        at,
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
        at,
    )
    .await?;
    Ok(())
}

/// Prescription `id` (one line, `item`) paid in the sandbox at `at` and delivered to the
/// patient's home address, which the patient confirmed the next day.
async fn delivered(
    state: &AppState,
    tx: &mut Tx,
    p: &super::consultations::Party,
    visit: &Visit,
    id: i64,
    item: &ItemRow,
    at: i64,
) -> AppResult<()> {
    use crate::billing::store as billing;
    use crate::dispensing::model::{Method, Status as Step};
    use crate::dispensing::store as dispensing;

    let order = billing::insert(
        tx,
        &billing::NewOrder {
            person: p.person,
            payer: p.account,
            hospital: visit.hospital,
            subject_type: "prescription",
            subject_id: id,
            total_fen: item.amount_fen,
            gateway: state.payments.name(),
        },
        at,
    )
    .await?;
    billing::insert_line(
        tx,
        order,
        &billing::LineRow {
            line: 1,
            description: format!("{} {}", item.drug_name, item.strength),
            quantity: item.quantity,
            unit_price_fen: item.unit_price_fen,
            amount_fen: item.amount_fen,
        },
    )
    .await?;
    let paid = at + 2 * MINUTE;
    billing::mark_paid(tx, order, &format!("SBXDEMO{order}"), paid).await?;
    rx::set_status(tx, id, RxStatus::Approved, RxStatus::Paid, paid).await?;
    let reason = format!("order {order}");
    rx::insert_event(
        tx,
        id,
        Some(RxStatus::Approved),
        RxStatus::Paid,
        None,
        Some(&reason),
        paid,
    )
    .await?;

    let phone =
        crate::identity::model::Phone::parse("13800000001").map_err(|e| bad_demo_data(&e))?;
    let address = dispensing::insert_address(
        tx,
        &dispensing::NewAddress {
            person: p.person,
            recipient: "张伟",
            phone_enc: state.keys.encrypt(phone.as_str()),
            phone_mask: phone.masked(),
            region: "广东省广州市越秀区",
            detail_enc: state.keys.encrypt("中山二路 58 号 3 栋 502 室"),
            is_default: true,
        },
        at,
    )
    .await?;
    let pharmacy = formulary::pharmacies(&state.db, visit.hospital)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| bad_demo_data("the demo hospital has no pharmacy"))?;
    dispensing::choose(
        tx,
        &dispensing::Choice {
            prescription: id,
            person: p.person,
            hospital: visit.hospital,
            pharmacy: pharmacy.id,
            method: Method::Delivery,
            address: Some(address),
        },
        at,
    )
    .await?;
    let f = dispensing::of_prescription_in(tx, id)
        .await?
        .ok_or_else(|| bad_demo_data("the demo delivery was not recorded"))?;
    let tracking = format!("SBX{:06}DEMO", f.id);
    let dispatched = paid + 3 * HOUR;
    // (step, when, who, source, note)
    let steps: [(Step, i64, &str, Option<String>); 8] = [
        (Step::Queued, paid, "system", Some("paid".to_owned())),
        (Step::Picked, paid + 2 * HOUR, "pharmacy", None),
        (
            Step::Packed,
            paid + 2 * HOUR + 10 * MINUTE,
            "pharmacy",
            None,
        ),
        (
            Step::Dispatched,
            dispatched,
            "pharmacy",
            Some(format!("sandbox {tracking}")),
        ),
        (Step::PickedUp, dispatched + HOUR, "courier", None),
        (Step::InTransit, dispatched + 3 * HOUR, "courier", None),
        (Step::Delivered, paid + DAY + 2 * HOUR, "courier", None),
        (Step::Received, paid + DAY + 3 * HOUR, "patient", None),
    ];
    let pharmacist = super::account_id(&state.db, "pharmacist1").await?;
    let mut from = Step::AwaitingPayment;
    for (to, when, source, note) in steps {
        if !dispensing::advance(tx, f.id, from, to, when).await? {
            return Err(bad_demo_data("the demo delivery skipped a step"));
        }
        let by = match source {
            "pharmacy" => Some(pharmacist),
            "patient" => Some(p.account),
            _ => None,
        };
        dispensing::insert_event(
            tx,
            &dispensing::NewEvent {
                fulfilment: f.id,
                from: Some(from),
                to,
                by,
                source,
                note: note.as_deref(),
            },
            when,
        )
        .await?;
        if to == Step::Dispatched {
            dispensing::set_tracking(tx, f.id, state.courier.name(), &tracking).await?;
            rx::set_status(tx, id, RxStatus::Paid, RxStatus::Dispensed, when).await?;
            rx::insert_event(
                tx,
                id,
                Some(RxStatus::Paid),
                RxStatus::Dispensed,
                None,
                Some("handed over by the pharmacy"),
                when,
            )
            .await?;
        }
        from = to;
    }
    // The medicine left the pharmacy's shelf.
    dispensing::take_stock(tx, pharmacy.id, item.drug_id, item.quantity).await?;
    Ok(())
}
