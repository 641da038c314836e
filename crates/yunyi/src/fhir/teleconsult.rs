//! Remote consultations in FHIR (issue #20): the request as a `ServiceRequest` (category
//! consultation, requester and performer the two hospitals), its workflow as a `Task` (the
//! fine-grained step in `businessStatus`), the patient's informed consent as a `Consent`, and
//! the specialist's signed opinion as a `Composition` (a consult note: a signed, sectioned
//! clinical document, not a diagnostic service's result — see docs/DECISIONS.md). All four
//! share the id `teleconsult-<n>`; `ServiceRequest` ids without that prefix are the
//! surveillance steps'. Reads and searches go through the remote-consultation service, so who
//! sees what (and the audit) is the same as on the API.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{Bundle, fhir_json, params, parse_paging, reference, unsupported};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::teleconsult::model::Status;
use crate::teleconsult::service::{self, TeleconsultList, TeleconsultSummary, TeleconsultView};

const PREFIX: &str = "teleconsult-";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/ServiceRequest", get(search_requests))
        .route("/fhir/ServiceRequest/{id}", get(read_request))
        .route("/fhir/Task", get(search_tasks))
        .route("/fhir/Task/{id}", get(read_task))
        .route("/fhir/Consent", get(search_consents))
        .route("/fhir/Consent/{id}", get(read_consent))
        .route("/fhir/Composition", get(search_compositions))
        .route("/fhir/Composition/{id}", get(read_composition))
}

fn id_of(t: &TeleconsultSummary) -> String {
    format!("{PREFIX}{}", t.id)
}

/// `teleconsult-<n>` → n; anything else is not one of ours (404).
fn parse(resource: &str, raw: &str) -> AppResult<i64> {
    raw.strip_prefix(PREFIX)
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::NotFound(format!("no {resource} with id {raw}")))
}

fn patient(t: &TeleconsultSummary) -> Value {
    match &t.patient {
        Some(p) => json!({"reference": format!("Patient/{}", p.id), "display": p.name}),
        // Oversight sees no patient: the reference is still the subject (no name).
        None => json!({"display": "patient"}),
    }
}

fn organization(id: i64, name: &str) -> Value {
    json!({"reference": format!("Organization/{id}"), "display": name})
}

fn practitioner(id: i64, name: &str) -> Value {
    json!({"reference": format!("Practitioner/{id}"), "display": name})
}

/// The request's status (`request-status`).
fn request_status(s: Status) -> &'static str {
    match s {
        Status::Draft => "draft",
        Status::Received => "completed",
        Status::Declined | Status::Cancelled => "revoked",
        _ => "active",
    }
}

/// The workflow's status (`task-status`); the step itself is the `businessStatus`.
fn task_status(s: Status) -> &'static str {
    match s {
        Status::Draft => "draft",
        Status::Requested => "requested",
        Status::Accepted => "accepted",
        Status::Scheduled => "ready",
        Status::Held => "in-progress",
        Status::Reported | Status::Received => "completed",
        Status::Declined => "rejected",
        Status::Cancelled => "cancelled",
    }
}

/// Text as XHTML narrative (escaped).
fn narrative(text: &str) -> Value {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', "<br/>");
    json!({
        "status": "generated",
        "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{escaped}</div>"),
    })
}

pub fn service_request(t: &TeleconsultView) -> Value {
    let s = &t.summary;
    let mut performer = vec![organization(
        s.invited_hospital.id,
        &s.invited_hospital.name,
    )];
    if let Some(sp) = &s.specialist {
        performer.push(practitioner(sp.id, &sp.name));
    }
    let mut r = json!({
        "resourceType": "ServiceRequest",
        "id": id_of(s),
        "status": request_status(s.status),
        "intent": "order",
        "category": [{"coding": [{
            "system": "http://snomed.info/sct", "code": "11429006", "display": "Consultation",
        }]}],
        "priority": s.urgency.as_str(),
        "code": {"text": "远程会诊 (remote consultation)"},
        "subject": patient(s),
        "authoredOn": s.created_at,
        "requester": organization(s.inviting_hospital.id, &s.inviting_hospital.name),
        "performer": performer,
    });
    let Some(obj) = r.as_object_mut() else {
        return r;
    };
    if let Some(q) = &t.question {
        obj.insert("reasonCode".into(), json!([{"text": q}]));
    }
    if let Some(text) = &t.summary_text {
        obj.insert("note".into(), json!([{"text": text}]));
    }
    if let Some(at) = &s.scheduled_at {
        obj.insert("occurrenceDateTime".into(), json!(at));
    }
    if !t.items.is_empty() {
        let info: Vec<Value> = t
            .items
            .iter()
            .map(|i| json!({"display": format!("{} {}: {}", i.kind, i.id, i.title)}))
            .collect();
        obj.insert("supportingInfo".into(), Value::Array(info));
    }
    r
}

pub fn task(t: &TeleconsultView) -> Value {
    let s = &t.summary;
    let mut r = json!({
        "resourceType": "Task",
        "id": id_of(s),
        "status": task_status(s.status),
        "businessStatus": {"coding": [{
            "system": "urn:yunyi:teleconsult-status", "code": s.status.as_str(),
        }]},
        "intent": "order",
        "priority": s.urgency.as_str(),
        "focus": {"reference": format!("ServiceRequest/{}", id_of(s))},
        "for": patient(s),
        "authoredOn": s.created_at,
        "requester": practitioner(s.inviting_doctor.id, &s.inviting_doctor.name),
    });
    let Some(obj) = r.as_object_mut() else {
        return r;
    };
    if let Some(sp) = &s.specialist {
        obj.insert("owner".into(), practitioner(sp.id, &sp.name));
    }
    if let Some(last) = t.history.last() {
        obj.insert("lastModified".into(), json!(last.at));
    }
    if let Some(reason) = &t.reason {
        obj.insert("statusReason".into(), json!({"text": reason}));
    }
    if let Some(due) = &s.report_due_at {
        obj.insert("restriction".into(), json!({"period": {"end": due}}));
    }
    if t.report.as_ref().is_some_and(|r| r.signed_at.is_some()) {
        obj.insert(
            "output".into(),
            json!([{
                "type": {"text": "opinion"},
                "valueReference": {"reference": format!("Composition/{}", id_of(s))},
            }]),
        );
    }
    r
}

/// The consent, once recorded (and shown to the reader).
pub fn consent(t: &TeleconsultView) -> Option<Value> {
    let s = &t.summary;
    let c = t.consent.as_ref()?;
    let mut r = json!({
        "resourceType": "Consent",
        "id": id_of(s),
        "status": if s.status == Status::Cancelled { "inactive" } else { "active" },
        "scope": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment",
        }]},
        "category": [{"coding": [{
            "system": "http://loinc.org", "code": "59284-0", "display": "Consent Document",
        }]}],
        "patient": patient(s),
        "dateTime": c.at,
        "performer": [{"display": c.signer}],
        "organization": [organization(s.inviting_hospital.id, &s.inviting_hospital.name)],
        "policyRule": {"text": "远程医疗服务管理规范（试行）2018"},
        "provision": {
            "type": "permit",
            "data": [{
                "meaning": "related",
                "reference": {"reference": format!("ServiceRequest/{}", id_of(s))},
            }],
        },
    });
    if let Some(obj) = r.as_object_mut()
        && c.scanned
    {
        obj.insert(
            "sourceAttachment".into(),
            json!({
                "url": format!("/api/v1/remote-consultations/{}/consent/scan", s.id),
                "title": match &c.witness {
                    Some(w) => format!("signed on paper, witnessed by {w}"),
                    None => "signed on paper".to_owned(),
                },
            }),
        );
    }
    Some(r)
}

/// The signed opinion (and its addenda) as a consult note.
pub fn composition(t: &TeleconsultView) -> Option<Value> {
    let s = &t.summary;
    let r = t.report.as_ref()?;
    let signed = r.signed_at.as_ref()?;
    let specialist = s.specialist.as_ref()?;
    let mut sections = vec![
        json!({"title": "会诊所见 Findings", "text": narrative(&r.findings)}),
        json!({
            "title": "诊断 Diagnosis",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29548-5", "display": "Diagnosis Narrative"}]},
            "text": narrative(&format!("{} ({})", r.diagnosis_name, r.diagnosis_icd10)),
        }),
        json!({
            "title": "会诊建议 Recommendations",
            "code": {"coding": [{"system": "http://loinc.org", "code": "18776-5", "display": "Plan of care note"}]},
            "text": narrative(&r.recommendations),
        }),
    ];
    for a in &r.addenda {
        sections.push(json!({
            "title": format!("补充说明 Addendum {}", a.at),
            "author": [{"display": a.author}],
            "text": narrative(&a.body),
        }));
    }
    Some(json!({
        "resourceType": "Composition",
        "id": id_of(s),
        "status": if r.addenda.is_empty() { "final" } else { "amended" },
        "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4", "display": "Consult note"}]},
        "subject": patient(s),
        "date": signed,
        "author": [practitioner(specialist.id, &specialist.name)],
        "title": "远程会诊意见 Remote consultation opinion",
        "attester": [{"mode": "legal", "time": signed, "party": practitioner(specialist.id, &specialist.name)}],
        "custodian": organization(s.invited_hospital.id, &s.invited_hospital.name),
        "section": sections,
    }))
}

// ---- Reads ----

async fn view(
    state: &AppState,
    actor: &Actor,
    resource: &str,
    raw: &str,
) -> AppResult<TeleconsultView> {
    let id = parse(resource, raw)?;
    service::view(state, actor, id).await
}

async fn read_request(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    if !id.starts_with(PREFIX) {
        return super::surveillance::service_request_of_case(&state, &actor, &id).await;
    }
    let t = view(&state, &actor, "ServiceRequest", &id).await?;
    Ok(fhir_json(service_request(&t)))
}

async fn read_task(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let t = view(&state, &actor, "Task", &id).await?;
    Ok(fhir_json(task(&t)))
}

async fn read_consent(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let t = view(&state, &actor, "Consent", &id).await?;
    consent(&t)
        .map(fhir_json)
        .ok_or_else(|| AppError::NotFound(format!("no Consent with id {id}")))
}

async fn read_composition(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let t = view(&state, &actor, "Composition", &id).await?;
    composition(&t)
        .map(fhir_json)
        .ok_or_else(|| AppError::NotFound(format!("no Composition with id {id}")))
}

// ---- Searches ----

/// What a search asks: the patient, the requesting or performing party, the status; and
/// whether a consultation has the resource at all (a consent, a signed opinion).
struct Filter {
    has: fn(&TeleconsultSummary) -> bool,
    patient: Option<i64>,
    /// ServiceRequest: the inviting hospital (`Organization`); Task: the inviting doctor
    /// (`Practitioner`).
    requester: Option<(&'static str, i64)>,
    /// ServiceRequest: the invited hospital or the specialist; Task (`owner`): the specialist.
    performer: Option<(&'static str, i64)>,
    status: Option<String>,
}

/// The reader's remote consultations matching `filter` (their own and, for staff, those
/// waiting at their hospital), newest first, this page's with one more: each read through the
/// service (audited as any reading).
async fn matches(
    state: &AppState,
    actor: &Actor,
    query: Option<&str>,
    filter: &Filter,
    status_of: fn(Status) -> &'static str,
) -> AppResult<(super::Paging, Vec<TeleconsultView>)> {
    let paging = parse_paging(query)?;
    let me = actor.require()?;
    let mut all = service::list(state, actor, TeleconsultList::Mine, false).await?;
    if me.role != crate::identity::model::Role::Patient {
        for t in service::list(state, actor, TeleconsultList::Queue, false).await? {
            if !all.iter().any(|a| a.id == t.id) {
                all.push(t);
            }
        }
        all.sort_by_key(|t| std::cmp::Reverse(t.id));
    }
    let kept = all.into_iter().filter(|t| {
        filter
            .patient
            .is_none_or(|p| t.patient.as_ref().is_some_and(|x| x.id == p))
            && filter.requester.is_none_or(|(kind, id)| match kind {
                "Organization" => t.inviting_hospital.id == id,
                _ => t.inviting_doctor.id == id,
            })
            && (filter.has)(t)
            && filter.performer.is_none_or(|(kind, id)| match kind {
                "Organization" => t.invited_hospital.id == id,
                _ => t.specialist.as_ref().is_some_and(|s| s.id == id),
            })
            && filter
                .status
                .as_deref()
                .is_none_or(|s| status_of(t.status) == s)
    });
    let mut views = Vec::new();
    for t in paging.window(kept) {
        views.push(service::view(state, actor, t.id).await?);
    }
    Ok((paging, views))
}

/// A search's parameters for `resource`; every other one is refused by name.
fn filter(query: Option<&str>, resource: &str) -> AppResult<Filter> {
    let mut f = Filter {
        has: match resource {
            "Consent" => |t| t.consented,
            "Composition" => |t| matches!(t.status, Status::Reported | Status::Received),
            _ => |_| true,
        },
        patient: None,
        requester: None,
        performer: None,
        status: None,
    };
    for (k, v) in params(query) {
        match (resource, k.as_str()) {
            (_, "patient") => f.patient = Some(reference(&k, "Patient", &v)?),
            ("ServiceRequest", "requester") => {
                f.requester = Some(("Organization", reference(&k, "Organization", &v)?))
            }
            ("Task", "requester") => {
                f.requester = Some(("Practitioner", reference(&k, "Practitioner", &v)?))
            }
            ("ServiceRequest", "performer") => {
                f.performer = Some(if v.starts_with("Practitioner/") {
                    ("Practitioner", reference(&k, "Practitioner", &v)?)
                } else {
                    ("Organization", reference(&k, "Organization", &v)?)
                })
            }
            ("Task", "owner") => {
                f.performer = Some(("Practitioner", reference(&k, "Practitioner", &v)?))
            }
            ("ServiceRequest" | "Task", "status") => f.status = Some(v),
            (_, "_count" | "_offset" | "_summary") => {}
            (_, other) => return Err(unsupported(other)),
        }
    }
    Ok(f)
}

async fn search_requests(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let f = filter(query.as_deref(), "ServiceRequest")?;
    let (paging, views) = matches(&state, &actor, query.as_deref(), &f, request_status).await?;
    let mut bundle = Bundle::searchset("ServiceRequest", query.as_deref(), paging);
    for t in &views {
        bundle.push(service_request(t));
    }
    Ok(fhir_json(bundle.finish()?))
}

async fn search_tasks(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let f = filter(query.as_deref(), "Task")?;
    let (paging, views) = matches(&state, &actor, query.as_deref(), &f, task_status).await?;
    let mut bundle = Bundle::searchset("Task", query.as_deref(), paging);
    for t in &views {
        bundle.push(task(t));
    }
    Ok(fhir_json(bundle.finish()?))
}

async fn search_consents(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let f = filter(query.as_deref(), "Consent")?;
    let (paging, views) = matches(&state, &actor, query.as_deref(), &f, request_status).await?;
    let mut bundle = Bundle::searchset("Consent", query.as_deref(), paging);
    for c in views.iter().filter_map(consent) {
        bundle.push(c);
    }
    Ok(fhir_json(bundle.finish()?))
}

async fn search_compositions(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let f = filter(query.as_deref(), "Composition")?;
    let (paging, views) = matches(&state, &actor, query.as_deref(), &f, request_status).await?;
    let mut bundle = Bundle::searchset("Composition", query.as_deref(), paging);
    for c in views.iter().filter_map(composition) {
        bundle.push(c);
    }
    Ok(fhir_json(bundle.finish()?))
}
