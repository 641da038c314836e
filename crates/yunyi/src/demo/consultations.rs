//! The demo's consultations: patient1's completed follow-up visit for hypertension with
//! doctor4 (text, a photo of the blood-pressure log, a video call, the signed note), and
//! requests waiting in doctors' queues (patient2 with doctor5, patient3's diabetes follow-up
//! with doctor6). Written straight through the consultation store, as it would have been.

use super::{account_id, bad_demo_data};
use crate::app::AppState;
use crate::consult::model::{Diagnosis, IntakeInput, Kind, Note, Status, Symptom};
use crate::consult::store::{self, NewConsultation, NewMessage};
use crate::db::Tx;
use crate::directory::store as directory_store;
use crate::error::AppResult;
use crate::identity::{service as identity_service, store as identity_store};

pub(super) const MINUTE: i64 = 60_000;

pub(super) struct Party {
    pub(super) account: i64,
    pub(super) person: i64,
}

pub(super) async fn patient(state: &AppState, username: &str) -> AppResult<Party> {
    let account = identity_store::account_by_username(&state.db, username)
        .await?
        .ok_or_else(|| bad_demo_data(&format!("no account {username}")))?;
    let person = account
        .person_id
        .ok_or_else(|| bad_demo_data(&format!("{username} has no person record")))?;
    Ok(Party {
        account: account.id,
        person,
    })
}

/// `doctor`'s service of `kind` (its hospital and department come with it).
pub(super) async fn service_of(
    state: &AppState,
    doctor: i64,
    kind: &str,
) -> AppResult<crate::directory::model::Service> {
    directory_store::services(&state.db, Some(doctor), None, 50)
        .await?
        .into_iter()
        .find(|s| s.kind == kind)
        .ok_or_else(|| bad_demo_data(&format!("doctor {doctor} offers no {kind}")))
}

pub(super) fn intake(
    complaint: &str,
    symptoms: &[(&str, &str)],
    medications: &[&str],
) -> AppResult<IntakeInput> {
    Ok(IntakeInput {
        chief_complaint: complaint.to_owned(),
        symptoms: symptoms
            .iter()
            .map(|(name, onset)| Symptom {
                name: (*name).to_owned(),
                onset: Some((*onset).to_owned()),
            })
            .collect(),
        medications: medications.iter().map(|m| (*m).to_owned()).collect(),
        ..Default::default()
    })
}

/// A request of `p` for `service` (its doctor, hospital and department) made at `at`; a
/// follow-up names its condition and the offline diagnosis it rests on.
pub(super) fn new_request<'a>(
    p: &Party,
    service: &'a crate::directory::model::Service,
    kind: Kind,
    channel: &'a str,
    follow_up: Option<(&'a str, i64)>,
    at: i64,
) -> NewConsultation<'a> {
    NewConsultation {
        person: p.person,
        requested_by: p.account,
        hospital: service.hospital_id,
        department: service.department_id,
        service: service.id,
        doctor: service.doctor_id,
        appointment: None,
        kind: kind.as_str(),
        channel,
        condition_icd10: follow_up.map(|(code, _)| code),
        offline_diagnosis: follow_up.map(|(_, d)| d),
        prior_record: None,
        reply_within_min: crate::consult::model::reply_target(service),
        campaign: None,
        quota_day: None,
        renews_prescription: None,
        expires_at: at + crate::consult::model::REQUEST_TTL_MS,
    }
}

/// Stores a request (with its intake and first history row) created at `at`, its fee paid in
/// the sandbox a minute later when the service charges one.
pub(super) async fn request(
    state: &AppState,
    tx: &mut Tx,
    new: &NewConsultation<'_>,
    input: &IntakeInput,
    at: i64,
) -> AppResult<i64> {
    let kind = Kind::parse(new.kind).unwrap_or(Kind::Consultation);
    let intake = input
        .validate(kind, crate::time::cst_today(state.now_ms()))
        .map_err(|e| bad_demo_data(&format!("demo intake: {e:?}")))?;
    let id = store::insert(tx, new, at).await?;
    store::insert_intake(tx, id, &intake, at).await?;
    store::insert_event(
        tx,
        id,
        None,
        Status::Requested,
        Some(new.requested_by),
        None,
        at,
    )
    .await?;
    if let Some(doctor) = new.doctor {
        identity_service::link_care(
            tx,
            doctor,
            new.person,
            new.hospital,
            "consultation",
            Some(&id.to_string()),
            state.now_ms(),
        )
        .await?;
    }
    let service = directory_store::service(&state.db, new.service)
        .await?
        .ok_or_else(|| bad_demo_data("a demo consultation's service is missing"))?;
    if kind != Kind::FreeClinic && service.price_fen > 0 {
        use crate::billing::store as billing;
        let order = billing::insert_with_lines(
            tx,
            &billing::NewOrder {
                person: new.person,
                payer: new.requested_by,
                hospital: new.hospital,
                subject_type: "consultation",
                subject_id: id,
                total_fen: service.price_fen,
                gateway: state.payments.name(),
            },
            &[billing::LineRow {
                line: 1,
                description: service.name.clone(),
                quantity: 1,
                unit_price_fen: service.price_fen,
                amount_fen: service.price_fen,
            }],
            at,
        )
        .await?;
        billing::mark_paid(tx, order, &format!("SBXDEMO-C{id}"), at + MINUTE).await?;
    }
    Ok(id)
}

pub(super) async fn says(
    tx: &mut Tx,
    id: i64,
    from: i64,
    kind: &str,
    body: &str,
    at: i64,
) -> AppResult<()> {
    let message = NewMessage {
        sender: Some(from),
        kind,
        body,
        blob_key: None,
        content_type: None,
    };
    store::append_message(tx, id, &message, at)
        .await?
        .ok_or_else(|| bad_demo_data("a demo message went into an ended consultation"))?;
    Ok(())
}

pub(super) async fn moves(
    tx: &mut Tx,
    id: i64,
    from: Status,
    to: Status,
    by: i64,
    at: i64,
) -> AppResult<()> {
    if !store::set_status(tx, id, from, to, None, at).await? {
        return Err(bad_demo_data("a demo consultation moved unexpectedly"));
    }
    store::insert_event(tx, id, Some(from), to, Some(by), None, at).await?;
    Ok(())
}

pub(super) async fn seed(state: &AppState, tx: &mut Tx) -> AppResult<()> {
    let now = state.now_ms();
    let doctor4 = account_id(&state.db, "doctor4").await?;
    let doctor5 = account_id(&state.db, "doctor5").await?;
    let doctor6 = account_id(&state.db, "doctor6").await?;
    let p1 = patient(state, "patient1").await?;

    // patient1's follow-up visit three days ago, on the offline hypertension diagnosis.
    let follow_up = service_of(state, doctor4, "follow_up").await?;
    let diagnosis = store::offline_diagnoses(&state.db, p1.person)
        .await?
        .into_iter()
        .find(|d| d.icd10 == "I10")
        .ok_or_else(|| bad_demo_data("patient1 has no offline hypertension diagnosis"))?;
    let start = now - 3 * 24 * 60 * MINUTE;
    let new = new_request(
        &p1,
        &follow_up,
        Kind::FollowUp,
        "video",
        Some(("I10", diagnosis.id)),
        start,
    );
    let input = intake(
        "高血压复诊，想续开降压药",
        &[("头晕", "2026-11-10")],
        &["氨氯地平片 5mg 每日一次"],
    )?;
    let id = request(state, tx, &new, &input, start).await?;
    moves(
        tx,
        id,
        Status::Requested,
        Status::Accepted,
        doctor4,
        start + 4 * MINUTE,
    )
    .await?;
    moves(
        tx,
        id,
        Status::Accepted,
        Status::InProgress,
        doctor4,
        start + 5 * MINUTE,
    )
    .await?;
    store::mark_first_reply(tx, id, start + 5 * MINUTE).await?;
    says(
        tx,
        id,
        doctor4,
        "text",
        "您好，我是周医生。最近一周血压大概多少？",
        start + 5 * MINUTE,
    )
    .await?;
    says(
        tx,
        id,
        p1.account,
        "text",
        "早上一般 145/92 左右，偶尔头晕。这是我的血压记录。",
        start + 7 * MINUTE,
    )
    .await?;
    let key = state
        .blobs
        .put(&super::picture::blood_pressure_chart())
        .await
        .map_err(crate::error::AppError::Internal)?;
    let photo = NewMessage {
        sender: Some(p1.account),
        kind: "image",
        body: "",
        blob_key: Some(&key),
        content_type: Some("image/png"),
    };
    store::append_message(tx, id, &photo, start + 8 * MINUTE)
        .await?
        .ok_or_else(|| bad_demo_data("a demo picture went into an ended consultation"))?;
    says(tx, id, doctor4, "call", "视频通话开始", start + 10 * MINUTE).await?;
    says(
        tx,
        id,
        doctor4,
        "call",
        "视频通话结束，时长 6 分 12 秒",
        start + 16 * MINUTE,
    )
    .await?;
    says(
        tx,
        id,
        doctor4,
        "text",
        "血压控制欠佳，建议氨氯地平加量至 10mg，两周后复测；如头晕加重请到门诊。",
        start + 17 * MINUTE,
    )
    .await?;
    let note = Note {
        subjective: "高血压病史 3 年，服氨氯地平 5mg，近一周晨起血压 145/92 mmHg，偶有头晕。"
            .to_owned(),
        objective: "视频问诊：神志清，言语流利。患者自测血压记录见图片。".to_owned(),
        assessment: "原发性高血压，控制欠佳。".to_owned(),
        diagnoses: vec![Diagnosis {
            code: "I10".to_owned(),
            name: "原发性高血压".to_owned(),
        }],
        plan: "氨氯地平加量至 10mg 每日一次；低盐饮食；两周后复测血压，不适随诊。".to_owned(),
    };
    store::put_note(tx, id, doctor4, &note, start + 18 * MINUTE).await?;
    moves(
        tx,
        id,
        Status::InProgress,
        Status::Completed,
        doctor4,
        start + 19 * MINUTE,
    )
    .await?;
    store::sign_note(tx, id, start + 19 * MINUTE).await?;

    // Waiting: patient2 asks doctor5 about chest tightness, twelve minutes ago.
    let p2 = patient(state, "patient2").await?;
    let text = service_of(state, doctor5, "text_consult").await?;
    let asked = now - 12 * MINUTE;
    let new = new_request(&p2, &text, Kind::Consultation, "text", None, asked);
    let input = intake(
        "最近爬楼梯时胸闷，休息后缓解",
        &[("胸闷", "2026-11-15")],
        &[],
    )?;
    request(state, tx, &new, &input, asked).await?;

    // Waiting: patient3's diabetes follow-up with doctor6, on the offline diagnosis.
    let p3 = patient(state, "patient3").await?;
    let diabetes = service_of(state, doctor6, "follow_up").await?;
    let diagnosis = store::offline_diagnoses(&state.db, p3.person)
        .await?
        .into_iter()
        .find(|d| d.icd10 == "E11.9")
        .ok_or_else(|| bad_demo_data("patient3 has no offline diabetes diagnosis"))?;
    let asked = now - 25 * MINUTE;
    let new = new_request(
        &p3,
        &diabetes,
        Kind::FollowUp,
        "text",
        Some(("E11.9", diagnosis.id)),
        asked,
    );
    let input = intake(
        "糖尿病复诊，二甲双胍快吃完了",
        &[("口干", "2026-11-01")],
        &["二甲双胍缓释片 0.5g 每日两次"],
    )?;
    request(state, tx, &new, &input, asked).await?;
    Ok(())
}
