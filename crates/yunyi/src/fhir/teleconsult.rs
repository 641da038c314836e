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

use super::referral;
use super::{Bundle, fhir_json, params, parse_paging, reference, unsupported};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::referral::service::{ReferralSummary, ReferralView};
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

/// `<prefix><n>` → n; anything else is not one of ours (404).
pub(super) fn parse(prefix: &str, resource: &str, raw: &str) -> AppResult<i64> {
    raw.strip_prefix(prefix)
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

pub(super) fn organization(id: i64, name: &str) -> Value {
    json!({"reference": format!("Organization/{id}"), "display": name})
}

pub(super) fn practitioner(id: i64, name: &str) -> Value {
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

/// The shared record items, named (their content is read through the API, audited).
pub(super) fn supporting_info(items: &[crate::teleconsult::service::SharedItemBrief]) -> Value {
    items
        .iter()
        .map(|i| json!({"display": format!("{} {}: {}", i.kind, i.id, i.title)}))
        .collect()
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
    // The co-specialists of the panel perform it beside the specialist.
    performer.extend(t.panel.iter().map(|d| practitioner(d.id, &d.name)));
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
        obj.insert("supportingInfo".into(), supporting_info(&t.items));
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
    let id = parse(PREFIX, resource, raw)?;
    service::view(state, actor, id).await
}

/// A referral by its FHIR id (`referral-<n>`).
async fn referral_view(
    state: &AppState,
    actor: &Actor,
    resource: &str,
    raw: &str,
) -> AppResult<ReferralView> {
    let id = parse(referral::PREFIX, resource, raw)?;
    crate::referral::service::view(state, actor, id).await
}

async fn read_request(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    if id.starts_with(referral::PREFIX) {
        let r = referral_view(&state, &actor, "ServiceRequest", &id).await?;
        return Ok(fhir_json(referral::service_request(&r)));
    }
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
    if id.starts_with(referral::PREFIX) {
        let r = referral_view(&state, &actor, "Task", &id).await?;
        return Ok(fhir_json(referral::task(&r)));
    }
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
    /// Whether referrals answer it too (ServiceRequest and Task searches).
    referrals: bool,
    patient: Option<i64>,
    /// ServiceRequest: the inviting (referring) hospital (`Organization`); Task: the inviting
    /// (referring) doctor (`Practitioner`).
    requester: Option<(&'static str, i64)>,
    /// ServiceRequest: the invited (receiving) hospital or the specialist; Task (`owner`): the
    /// specialist, or the receiving hospital.
    performer: Option<(&'static str, i64)>,
    status: Option<String>,
}

/// The party a reference names.
fn is(party: Option<(&'static str, i64)>, organization: i64, practitioner: Option<i64>) -> bool {
    party.is_none_or(|(kind, id)| match kind {
        "Organization" => organization == id,
        _ => practitioner == Some(id),
    })
}

/// The FHIR status of a remote consultation and of a referral, for one resource.
type StatusOf = (
    fn(Status) -> &'static str,
    fn(crate::referral::model::Status) -> &'static str,
);
const REQUEST: StatusOf = (request_status, referral::request_status);
const TASK: StatusOf = (task_status, referral::task_status);

/// What a workflow search found: a remote consultation or a referral.
enum Found {
    Teleconsult(Box<TeleconsultView>),
    Referral(Box<ReferralView>),
}

/// The reader's remote consultations (their own and, for staff, those waiting at their
/// hospital) and, when the search takes them, referrals, matching `filter`: newest first, this
/// page's with one more, each read through its service (audited as any reading). `status_of`
/// gives the FHIR status of each kind.
async fn matches(
    state: &AppState,
    actor: &Actor,
    query: Option<&str>,
    filter: &Filter,
    status_of: StatusOf,
) -> AppResult<(super::Paging, Vec<Found>)> {
    use crate::identity::model::Role;
    enum Brief {
        T(TeleconsultSummary),
        R(ReferralSummary),
    }
    let paging = parse_paging(query)?;
    let me = actor.require()?;
    let mut all = service::list(state, actor, TeleconsultList::Mine, false).await?;
    if me.role != Role::Patient {
        for t in service::list(state, actor, TeleconsultList::Queue, false).await? {
            if !all.iter().any(|a| a.id == t.id) {
                all.push(t);
            }
        }
    }
    // A practitioner performs a consultation as its specialist or on its panel.
    let panels = match filter.performer {
        Some(("Practitioner", doctor)) => service::panels_of(state, doctor).await?,
        _ => Vec::new(),
    };
    let mut kept: Vec<(String, Brief)> = all
        .into_iter()
        .filter(|t| {
            filter
                .patient
                .is_none_or(|p| t.patient.as_ref().is_some_and(|x| x.id == p))
                && match filter.requester {
                    Some(("Organization", _)) => is(filter.requester, t.inviting_hospital.id, None),
                    _ => is(filter.requester, -1, Some(t.inviting_doctor.id)),
                }
                && (filter.has)(t)
                && (is(
                    filter.performer,
                    t.invited_hospital.id,
                    t.specialist.as_ref().map(|s| s.id),
                ) || panels.contains(&t.id))
                && filter
                    .status
                    .as_deref()
                    .is_none_or(|s| status_of.0(t.status) == s)
        })
        .map(|t| (t.created_at.clone(), Brief::T(t)))
        .collect();
    if filter.referrals && matches!(me.role, Role::Doctor | Role::HospitalAdmin | Role::Patient) {
        let referrals = crate::referral::service::list(state, actor).await?;
        kept.extend(
            referrals
                .into_iter()
                .filter(|r| {
                    filter.patient.is_none_or(|p| r.patient.id == p)
                        && match filter.requester {
                            Some(("Organization", _)) => {
                                is(filter.requester, r.from_hospital.id, None)
                            }
                            _ => is(filter.requester, -1, Some(r.from_doctor.id)),
                        }
                        && is(filter.performer, r.to_hospital.id, None)
                        && filter
                            .status
                            .as_deref()
                            .is_none_or(|s| status_of.1(r.status) == s)
                })
                .map(|r| (r.created_at.clone(), Brief::R(r))),
        );
    }
    // Newest first (the times are all China time, so their text sorts as they do).
    kept.sort_by(|a, b| b.0.cmp(&a.0));
    let mut found = Vec::new();
    for (_, brief) in paging.window(kept) {
        found.push(match brief {
            Brief::T(t) => Found::Teleconsult(Box::new(service::view(state, actor, t.id).await?)),
            Brief::R(r) => Found::Referral(Box::new(
                crate::referral::service::view(state, actor, r.id).await?,
            )),
        });
    }
    Ok((paging, found))
}

/// A search's parameters for `resource`; every other one is refused by name.
fn filter(query: Option<&str>, resource: &str) -> AppResult<Filter> {
    let mut f = Filter {
        has: match resource {
            "Consent" => |t| t.consented,
            "Composition" => |t| matches!(t.status, Status::Reported | Status::Received),
            _ => |_| true,
        },
        referrals: matches!(resource, "ServiceRequest" | "Task"),
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
            ("ServiceRequest", "performer") | ("Task", "owner") => {
                f.performer = Some(if v.starts_with("Practitioner/") {
                    ("Practitioner", reference(&k, "Practitioner", &v)?)
                } else {
                    ("Organization", reference(&k, "Organization", &v)?)
                })
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
    let (paging, found) = matches(&state, &actor, query.as_deref(), &f, REQUEST).await?;
    let mut bundle = Bundle::searchset("ServiceRequest", query.as_deref(), paging);
    for x in &found {
        bundle.push(match x {
            Found::Teleconsult(t) => service_request(t),
            Found::Referral(r) => referral::service_request(r),
        });
    }
    Ok(fhir_json(bundle.finish()?))
}

async fn search_tasks(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let f = filter(query.as_deref(), "Task")?;
    let (paging, found) = matches(&state, &actor, query.as_deref(), &f, TASK).await?;
    let mut bundle = Bundle::searchset("Task", query.as_deref(), paging);
    for x in &found {
        bundle.push(match x {
            Found::Teleconsult(t) => task(t),
            Found::Referral(r) => referral::task(r),
        });
    }
    Ok(fhir_json(bundle.finish()?))
}

/// The consultations found (a Consent or Composition search takes no referrals).
fn teleconsults(found: &[Found]) -> impl Iterator<Item = &TeleconsultView> {
    found.iter().filter_map(|x| match x {
        Found::Teleconsult(t) => Some(t.as_ref()),
        Found::Referral(_) => None,
    })
}

async fn search_consents(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let f = filter(query.as_deref(), "Consent")?;
    let (paging, found) = matches(&state, &actor, query.as_deref(), &f, REQUEST).await?;
    let mut bundle = Bundle::searchset("Consent", query.as_deref(), paging);
    for c in teleconsults(&found).filter_map(consent) {
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
    let (paging, found) = matches(&state, &actor, query.as_deref(), &f, REQUEST).await?;
    let mut bundle = Bundle::searchset("Composition", query.as_deref(), paging);
    for c in teleconsults(&found).filter_map(composition) {
        bundle.push(c);
    }
    Ok(fhir_json(bundle.finish()?))
}
