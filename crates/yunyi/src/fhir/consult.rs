//! Consultations in FHIR: `Encounter` (class `VR`, virtual, with its status history) and the
//! conversation's `Communication`s (id `<consultation>-<message number>`). Read and search,
//! for the same people and with the same audit as the JSON API.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{
    Bundle, Order, fhir_json, params, parse_paging, parse_resource_id, parse_search, reference,
    unsupported,
};
use crate::app::AppState;
use crate::consult::model::{Kind, Status};
use crate::consult::service::ConsultationView;
use crate::consult::store::{ConsultationRow, MessageRow};
use crate::consult::{conversation, service};
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::notification::service as notification_service;
use crate::time::cst_rfc3339;
use crate::web::i18n::Lang;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/Encounter", get(search_encounters))
        .route("/fhir/Encounter/{id}", get(read_encounter))
        .route("/fhir/Communication", get(search_communications))
        .route("/fhir/Communication/{id}", get(read_communication))
}

/// Encounter.status for a consultation's status. Ending offline (referred) is `finished`: the
/// online encounter ended; the history and the reason say where the patient went.
fn encounter_status(status: Status) -> &'static str {
    match status {
        Status::Requested => "planned",
        Status::Accepted => "arrived",
        Status::InProgress => "in-progress",
        Status::Completed | Status::ReferredOffline => "finished",
        Status::Cancelled | Status::Expired => "cancelled",
    }
}

fn kind_text(kind: Kind) -> &'static str {
    match kind {
        Kind::FollowUp => "复诊 follow-up visit",
        Kind::FreeClinic => "义诊 free clinic",
        Kind::Counselling => "心理疏导 counselling",
        Kind::Consultation => "咨询 consultation",
    }
}

pub fn encounter(v: &ConsultationView) -> Value {
    let c = &v.consultation;
    // Each status lasted from its change to the next one (or is still current).
    let history: Vec<Value> = v
        .history
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut period = json!({"start": cst_rfc3339(e.at)});
            if let Some(next) = v.history.get(i + 1) {
                period["end"] = json!(cst_rfc3339(next.at));
            }
            json!({"status": encounter_status(e.to_status), "period": period})
        })
        .collect();
    let mut period = json!({"start": cst_rfc3339(c.created_at)});
    if let Some(end) = c.ended_at {
        period["end"] = json!(cst_rfc3339(end));
    }
    let mut r = json!({
        "resourceType": "Encounter",
        "id": c.id.to_string(),
        "status": encounter_status(c.status),
        "statusHistory": history,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR", "display": "virtual"},
        "type": [{"coding": [{"system": "urn:yunyi:consultation-kind", "code": c.kind}], "text": kind_text(c.kind)}],
        "subject": {"reference": format!("Patient/{}", c.person_id)},
        "period": period,
        "serviceProvider": {"reference": format!("Organization/{}", c.hospital_id)},
    });
    let Some(obj) = r.as_object_mut() else {
        return r;
    };
    if let Some(doctor) = c.doctor_id {
        obj.insert(
            "participant".into(),
            json!([{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PPRF", "display": "primary performer"}]}],
                    "individual": {"reference": format!("Practitioner/{doctor}")}}]),
        );
    }
    if let Some(a) = c.appointment_id {
        obj.insert(
            "appointment".into(),
            json!([{"reference": format!("Appointment/{a}")}]),
        );
    }
    if let Some(intake) = &v.intake {
        obj.insert(
            "reasonCode".into(),
            json!([{"text": intake.chief_complaint}]),
        );
    }
    if let Some(reason) = &c.end_reason {
        // Why it ended (referred offline, returned, expired), kept with the status history.
        obj.insert(
            "hospitalization".into(),
            json!({"dischargeDisposition": {"text": reason}}),
        );
    }
    r
}

/// A message as a `Communication` of the consultation's encounter.
pub fn communication(c: &ConsultationRow, m: &MessageRow) -> Value {
    let doctor_ref = c
        .doctor_id
        .map(|d| json!({"reference": format!("Practitioner/{d}")}));
    let patient_ref = json!({"reference": format!("Patient/{}", c.person_id)});
    let from_doctor = m.sender_id.is_some() && m.sender_id == c.doctor_id;
    let (sender, recipient) = match m.sender_id {
        None => (None, None),
        Some(_) if from_doctor => (doctor_ref, Some(patient_ref)),
        // The patient or a family member writing for them: the patient's side.
        Some(_) => (Some(patient_ref), doctor_ref),
    };
    let payload = match (&m.content_type, m.kind.as_str()) {
        (Some(content_type), "image") => json!([{"contentAttachment": {
            "contentType": content_type,
            "url": format!("/api/v1/consultations/{}/messages/{}/image", c.id, m.seq),
        }}]),
        _ => json!([{"contentString": m.body}]),
    };
    let mut r = json!({
        "resourceType": "Communication",
        "id": format!("{}-{}", c.id, m.seq),
        "status": "completed",
        "subject": {"reference": format!("Patient/{}", c.person_id)},
        "encounter": {"reference": format!("Encounter/{}", c.id)},
        "sent": cst_rfc3339(m.created_at),
        "payload": payload,
    });
    if let Some(obj) = r.as_object_mut() {
        if let Some(s) = sender {
            obj.insert("sender".into(), s);
        }
        if let Some(to) = recipient {
            obj.insert("recipient".into(), json!([to]));
        }
        if m.kind == "system" || m.kind == "call" {
            obj.insert(
                "category".into(),
                json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/communication-category", "code": "notification"}]}]),
            );
        }
    }
    r
}

async fn read_encounter(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("Encounter", &id)?;
    let view = service::read(&state, &actor, id).await?;
    Ok(fhir_json(encounter(&view)))
}

/// `Encounter[?patient=Patient/…][&status=…]`: the consultations of a patient the actor may
/// see (for a doctor, those they hold); without `patient`, of everyone the actor may search.
/// What an encounter search may `_include`.
pub const ENCOUNTER_INCLUDES: [super::include::Include; 2] = [
    super::include::ENCOUNTER_PATIENT,
    super::include::ENCOUNTER_SUBJECT,
];

async fn search_encounters(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let (paging, order) = parse_search(query.as_deref(), Some("date"))?;
    let includes = super::include::parse(query.as_deref(), &ENCOUNTER_INCLUDES)?;
    let mut person = None;
    let mut status = None;
    for (k, v) in params(query.as_deref()) {
        match k.as_str() {
            "patient" | "subject" => person = Some(reference(&k, "Patient", &v)?),
            "status" => {
                const KNOWN: [&str; 5] =
                    ["planned", "arrived", "in-progress", "finished", "cancelled"];
                if !KNOWN.contains(&v.as_str()) {
                    return Err(AppError::invalid(
                        "status",
                        "must be planned, arrived, in-progress, finished or cancelled",
                    ));
                }
                status = Some(v);
            }
            "_count" | "_offset" | "_include" | "_summary" | "_sort" => {}
            other => return Err(unsupported(other)),
        }
    }
    let mut views = Vec::new();
    for person in super::people_in_scope(&state, &actor, person).await? {
        views.extend(service::for_person(&state, &actor, person, 100).await?);
    }
    if let Some(order) = order {
        // The period starts when the consultation was requested.
        views.sort_by_key(|v| (v.consultation.created_at, v.consultation.id));
        if order == Order::Descending {
            views.reverse();
        }
    }
    let mut bundle = Bundle::searchset("Encounter", query.as_deref(), paging);
    for v in views
        .iter()
        .filter(|v| {
            status
                .as_deref()
                .is_none_or(|s| encounter_status(v.consultation.status) == s)
        })
        .skip(paging.offset)
        .take(paging.count + 1)
    {
        bundle.push(encounter(v));
    }
    super::include::add(&state, &actor, &mut bundle, &includes).await?;
    Ok(fhir_json(bundle.finish()?))
}

/// `Communication/<consultation>-<number>`.
async fn read_communication(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let not_found = || AppError::NotFound(format!("no Communication with id '{id}'"));
    if let Some(n) = id.strip_prefix('n') {
        let n = parse_resource_id("Communication", n)?;
        let lang = Lang::negotiate(&headers);
        let sent = notification_service::sent(&state, &actor, lang, (Some(n), 1)).await?;
        let first = sent.first().ok_or_else(not_found)?;
        let to = super::notification::recipient(&actor);
        return Ok(fhir_json(super::notification::communication(first, &to)));
    }
    let (consultation, seq) = id.split_once('-').ok_or_else(not_found)?;
    let consultation = parse_resource_id("Communication", consultation)?;
    let seq = parse_resource_id("Communication", seq)?;
    let (c, page) = conversation::messages_of(&state, &actor, consultation, seq - 1, 1).await?;
    let m = page.messages.first().ok_or_else(not_found)?;
    Ok(fhir_json(communication(&c, m)))
}

/// `Communication?encounter=Encounter/…`: the conversation, in order;
/// `Communication?category=notification`: the signed-in person's notifications, newest first.
async fn search_communications(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let paging = parse_paging(query.as_deref())?;
    let mut encounter = None;
    let mut category = None;
    for (k, v) in params(query.as_deref()) {
        match k.as_str() {
            "encounter" => encounter = Some(reference("encounter", "Encounter", &v)?),
            "category" if v == "notification" => category = Some(v),
            "category" => {
                return Err(AppError::invalid(
                    "category",
                    "only notification is searched",
                ));
            }
            "_count" | "_offset" | "_summary" | "_sort" => {}
            other => return Err(unsupported(other)),
        }
    }
    if encounter.is_none() && category.is_some() {
        let lang = Lang::negotiate(&headers);
        let sent =
            notification_service::sent(&state, &actor, lang, (None, paging.fetch_limit())).await?;
        let to = super::notification::recipient(&actor);
        let mut bundle = Bundle::searchset("Communication", query.as_deref(), paging);
        for n in paging.window(&sent) {
            bundle.push(super::notification::communication(n, &to));
        }
        return Ok(fhir_json(bundle.finish()?));
    }
    let id = encounter.ok_or_else(|| {
        AppError::invalid(
            "encounter",
            "is required (Encounter/123), or category=notification",
        )
    })?;
    let limit = paging.fetch_limit();
    let (c, page) = conversation::messages_of(&state, &actor, id, 0, limit).await?;
    let mut bundle = Bundle::searchset("Communication", query.as_deref(), paging);
    for m in paging.window(&page.messages) {
        bundle.push(communication(&c, m));
    }
    Ok(fhir_json(bundle.finish()?))
}
