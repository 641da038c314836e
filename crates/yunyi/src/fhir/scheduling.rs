//! Scheduling in FHIR: `Schedule` (a doctor's service at a hospital), `Slot` and
//! `Appointment`, with booking by `POST /fhir/Appointment` and cancelling by `PUT` with
//! `status: cancelled`. Schedules and slots are public; appointments follow the policy.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    Bundle, Order, fhir_json, params, parse_paging, parse_resource_id, parse_search, reference,
    unsupported,
};
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::AppJson;
use crate::identity::Actor;
use crate::scheduling::model::{Appointment, AppointmentStatus, Slot};
use crate::scheduling::service;
use crate::scheduling::store::{ScheduleRow, SlotQuery};
use crate::time::{cst, cst_rfc3339};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/Schedule", get(search_schedules))
        .route("/fhir/Schedule/{id}", get(read_schedule))
        .route("/fhir/Slot", get(search_slots))
        .route("/fhir/Slot/{id}", get(read_slot))
        .route(
            "/fhir/Appointment",
            get(search_appointments).post(create_appointment),
        )
        .route(
            "/fhir/Appointment/{id}",
            get(read_appointment).put(update_appointment),
        )
        .route(
            "/fhir/Appointment/{id}/_history/{vid}",
            get(vread_appointment),
        )
}

pub fn schedule(s: &ScheduleRow) -> Value {
    let mut r = json!({
        "resourceType": "Schedule",
        "id": s.id.to_string(),
        "active": s.active,
        "actor": [
            {"reference": format!("Practitioner/{}", s.doctor_id)},
            {"reference": format!("HealthcareService/{}", s.service_id)},
        ],
        "comment": format!(
            "放号：提前 {} 天 {} / released {} days ahead at {} (Asia/Shanghai)",
            s.release_days, s.release_time, s.release_days, s.release_time
        ),
    });
    if let (Some(obj), Some(until)) = (r.as_object_mut(), s.generated_until.as_ref()) {
        obj.insert("planningHorizon".into(), json!({"end": until}));
    }
    r
}

/// FHIR's slot status: free only when a patient can book it now; a slot not yet released is
/// `busy-unavailable` with the release time in the comment; held places are tentative.
pub fn slot_status(s: &Slot, now: i64) -> &'static str {
    if s.status != "open" || s.start_at <= now || !s.released || s.release_at > now {
        "busy-unavailable"
    } else if s.free() > 0 {
        "free"
    } else if s.held > 0 {
        "busy-tentative"
    } else {
        "busy"
    }
}

pub fn slot(s: &Slot, now: i64) -> Value {
    let mut r = json!({
        "resourceType": "Slot",
        "id": s.id.to_string(),
        "schedule": {"reference": format!("Schedule/{}", s.schedule_id)},
        "status": slot_status(s, now),
        "start": cst_rfc3339(s.start_at),
        "end": cst_rfc3339(s.end_at),
    });
    let mut comment = match s.location.as_deref() {
        Some(l) if s.mode == "in_person" => format!("到院就诊 in person: {l}"),
        _ if s.mode == "in_person" => "到院就诊 in person".to_owned(),
        _ => "线上 online".to_owned(),
    };
    if s.release_at > now {
        comment.push_str(&format!(
            "; 放号 opens for booking at {}",
            cst_rfc3339(s.release_at)
        ));
    }
    if let Some(obj) = r.as_object_mut() {
        obj.insert("comment".into(), Value::String(comment));
    }
    r
}

fn appointment_status(status: AppointmentStatus) -> &'static str {
    match status {
        AppointmentStatus::Booked => "booked",
        AppointmentStatus::Cancelled => "cancelled",
        AppointmentStatus::CheckedIn => "checked-in",
        AppointmentStatus::NoShow => "noshow",
        AppointmentStatus::Completed => "fulfilled",
    }
}

pub fn appointment(a: &Appointment) -> Value {
    let created = chrono::DateTime::from_timestamp_millis(a.created_at)
        .map(|t| t.with_timezone(&cst()).to_rfc3339())
        .unwrap_or_default();
    let mut r = json!({
        "resourceType": "Appointment",
        "id": a.id.to_string(),
        "status": appointment_status(a.status),
        "start": cst_rfc3339(a.start_at),
        "end": cst_rfc3339(a.end_at),
        "created": created,
        "slot": [{"reference": format!("Slot/{}", a.slot_id)}],
        "participant": [
            {"actor": {"reference": format!("Patient/{}", a.person_id)}, "required": "required", "status": "accepted"},
            {"actor": {"reference": format!("Practitioner/{}", a.doctor_id)}, "required": "required", "status": "accepted"},
        ],
    });
    if let (Some(obj), Some(by)) = (r.as_object_mut(), a.cancelled_by.as_deref()) {
        // appointment-cancellation-reason: "pat" the patient, "prov" the provider.
        let code = if by == "hospital" { "prov" } else { "pat" };
        obj.insert(
            "cancelationReason".into(),
            json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason", "code": code}]}),
        );
    }
    r
}

/// `date`-type search values with prefixes (`ge2026-11-23`, `lt2026-11-30T12:00:00+08:00`,
/// a bare day means that day in China Standard Time), combined into [from, to).
fn date_range(name: &str, values: &[&str]) -> AppResult<(i64, i64)> {
    let (mut from, mut to) = (i64::MIN, i64::MAX);
    for raw in values {
        let (prefix, value) = match raw.get(..2) {
            Some(p @ ("ge" | "gt" | "le" | "lt" | "eq")) => (p, &raw[2..]),
            _ => ("eq", *raw),
        };
        let bad = || {
            AppError::invalid(
                name,
                "must be a date like ge2026-11-23 or an instant like lt2026-11-23T12:00:00+08:00",
            )
        };
        let (start, end) = if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
            (t.timestamp_millis(), t.timestamp_millis() + 1)
        } else {
            let day = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad())?;
            let start = crate::time::cst_ms(day, chrono::NaiveTime::MIN).ok_or_else(bad)?;
            (start, start + 24 * 3_600_000)
        };
        match prefix {
            "ge" => from = from.max(start),
            "gt" => from = from.max(end),
            "le" => to = to.min(end),
            "lt" => to = to.min(start),
            _ => {
                from = from.max(start);
                to = to.min(end);
            }
        }
    }
    Ok((from, to))
}

async fn read_schedule(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("Schedule", &id)?;
    let s = service::schedule(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no Schedule with id {id}")))?;
    Ok(fhir_json(schedule(&s)))
}

/// `Schedule?actor=Practitioner/…`.
async fn search_schedules(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let paging = parse_paging(query.as_deref())?;
    let mut doctor = None;
    for (k, v) in params(query.as_deref()) {
        match k.as_str() {
            "actor" => doctor = Some(reference("actor", "Practitioner", &v)?),
            "_count" | "_offset" | "_summary" | "_sort" => {}
            other => return Err(unsupported(other)),
        }
    }
    let mut bundle = Bundle::searchset("Schedule", query.as_deref(), paging);
    for s in paging.window(service::schedules(&state.db, doctor, paging.fetch_limit()).await?) {
        bundle.push(schedule(&s));
    }
    Ok(fhir_json(bundle.finish()?))
}

async fn read_slot(State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Response> {
    let id = parse_resource_id("Slot", &id)?;
    let s = service::slot(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no Slot with id {id}")))?;
    Ok(fhir_json(slot(&s, state.now_ms())))
}

/// `Slot?schedule=…&status=free&start=ge…`, or chained `schedule.actor=Practitioner/…`, or
/// neither (every doctor's slots). Without a start bound the next 14 days are searched.
async fn search_slots(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let paging = parse_paging(query.as_deref())?;
    let now = state.now_ms();
    let pairs = params(query.as_deref());
    let mut q = SlotQuery {
        now,
        limit: 500,
        ..SlotQuery::default()
    };
    let mut status = None;
    let mut starts = Vec::new();
    for (k, v) in &pairs {
        match k.as_str() {
            "schedule" => q.schedule = Some(reference("schedule", "Schedule", v)?),
            "schedule.actor" => {
                q.doctor = Some(reference("schedule.actor", "Practitioner", v)?);
            }
            "status" => {
                const STATUSES: [&str; 4] = ["free", "busy", "busy-unavailable", "busy-tentative"];
                status = Some(STATUSES.into_iter().find(|s| s == v).ok_or_else(|| {
                    AppError::invalid(
                        "status",
                        "must be free, busy, busy-unavailable or busy-tentative",
                    )
                })?);
            }
            "start" => starts.push(v.as_str()),
            "_count" | "_offset" | "_summary" | "_sort" => {}
            other => return Err(unsupported(other)),
        }
    }
    let (from, to) = date_range("start", &starts)?;
    q.from = if starts.is_empty() { now } else { from };
    q.to = if starts.is_empty() {
        now + 14 * 24 * 3_600_000
    } else {
        to
    };
    q.free_only = status == Some("free");
    let mut bundle = Bundle::searchset("Slot", query.as_deref(), paging);
    for s in service::search_slots(&state.db, &q)
        .await?
        .iter()
        .filter(|s| status.is_none_or(|st| slot_status(s, now) == st))
        .skip(paging.offset)
        .take(paging.count + 1)
    {
        bundle.push(slot(s, now));
    }
    Ok(fhir_json(bundle.finish()?))
}

async fn read_appointment(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("Appointment", &id)?;
    let a = service::read_appointment(&state, &actor, id).await?;
    Ok(versioned_json(
        StatusCode::OK,
        appointment(&a),
        Prefer::Representation,
    ))
}

/// `GET /fhir/Appointment/{id}/_history/{vid}`: only the current version is kept, so only it
/// can be read; an older one is gone (404 with the current version named).
async fn vread_appointment(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, vid)): Path<(String, String)>,
) -> AppResult<Response> {
    let id = parse_resource_id("Appointment", &id)?;
    let a = service::read_appointment(&state, &actor, id).await?;
    let resource = appointment(&a);
    let current = version_of(&resource);
    if vid != current {
        return Err(AppError::NotFound(format!(
            "Appointment/{id} has no version '{vid}' (only the current version, {current}, is kept)"
        )));
    }
    Ok(versioned_json(
        StatusCode::OK,
        resource,
        Prefer::Representation,
    ))
}

/// The version of a served resource: a digest of what it says. No history is kept, so the
/// version changes exactly when the resource does, and `If-Match` can tell a stale copy.
fn version_of(resource: &Value) -> String {
    let digest = Sha256::digest(resource.to_string().as_bytes());
    hex::encode(&digest[..8])
}

/// What the client asked to get back from a write (`Prefer: return=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefer {
    Minimal,
    Representation,
}

impl Prefer {
    fn of(headers: &HeaderMap) -> Self {
        let minimal = headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split([',', ';']))
            .any(|p| p.trim().eq_ignore_ascii_case("return=minimal"));
        if minimal {
            Self::Minimal
        } else {
            Self::Representation
        }
    }
}

/// The resource with `meta.versionId` and a weak `ETag`, or only the headers when the client
/// preferred a minimal answer.
fn versioned_json(status: StatusCode, mut resource: Value, prefer: Prefer) -> Response {
    let version = version_of(&resource);
    if let Some(obj) = resource.as_object_mut() {
        obj.insert("meta".into(), json!({"versionId": version}));
    }
    let mut response = match prefer {
        Prefer::Representation => (status, fhir_json(resource)).into_response(),
        Prefer::Minimal => status.into_response(),
    };
    if let Ok(etag) = HeaderValue::from_str(&format!("W/\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// The version an `If-Match` header names (`W/"v"` or `"v"`), if there is one.
fn if_match(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::IF_MATCH)?.to_str().ok()?.trim();
    let raw = raw.strip_prefix("W/").unwrap_or(raw);
    Some(raw.trim_matches('"').to_owned())
}

/// What an appointment search may `_include`.
pub const APPOINTMENT_INCLUDES: [super::include::Include; 3] = [
    super::include::APPOINTMENT_PATIENT,
    super::include::APPOINTMENT_PRACTITIONER,
    super::include::APPOINTMENT_SLOT,
];

/// `Appointment?patient=…&date=…&status=…[&_include=Appointment:patient|practitioner|slot]`.
async fn search_appointments(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let (paging, order) = parse_search(query.as_deref(), Some("date"))?;
    let includes = super::include::parse(query.as_deref(), &APPOINTMENT_INCLUDES)?;
    let pairs = params(query.as_deref());
    let mut person = None;
    let mut status = None;
    let mut dates = Vec::new();
    for (k, v) in &pairs {
        match k.as_str() {
            "patient" => person = Some(reference("patient", "Patient", v)?),
            "status" => {
                status = Some(match v.as_str() {
                    "booked" => "booked",
                    "cancelled" => "cancelled",
                    "checked-in" => "checked_in",
                    "noshow" => "no_show",
                    "fulfilled" => "completed",
                    _ => {
                        return Err(AppError::invalid(
                            "status",
                            "must be booked, cancelled, checked-in, noshow or fulfilled",
                        ));
                    }
                });
            }
            "date" => dates.push(v.as_str()),
            "_count" | "_offset" | "_include" | "_summary" | "_sort" => {}
            other => return Err(unsupported(other)),
        }
    }
    let range = date_range("date", &dates)?;
    let items = service::search_appointments(
        &state,
        &actor,
        person,
        range,
        status,
        paging.fetch_limit(),
        order == Some(Order::Descending),
    )
    .await?;
    let mut bundle = Bundle::searchset("Appointment", query.as_deref(), paging);
    for a in paging.window(&items) {
        bundle.push(appointment(a));
    }
    super::include::add(&state, &actor, &mut bundle, &includes).await?;
    Ok(fhir_json(bundle.finish()?))
}

fn field(name: &str, message: &str) -> AppError {
    AppError::Validation(vec![FieldError::new(name, message)])
}

/// The one `Slot/…` reference and the `Patient/…` participant of a booking request.
fn booking_request(body: &Value) -> AppResult<(i64, Option<i64>)> {
    if body["resourceType"] != "Appointment" {
        return Err(field("resourceType", "must be Appointment"));
    }
    if body["status"] != "booked" {
        return Err(field(
            "Appointment.status",
            "must be booked: a new appointment books a slot",
        ));
    }
    let slots = body["slot"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let [only] = slots else {
        return Err(field(
            "Appointment.slot",
            "must hold exactly one Slot reference",
        ));
    };
    let slot = only["reference"]
        .as_str()
        .and_then(|r| r.strip_prefix("Slot/"))
        .and_then(|id| id.parse::<i64>().ok())
        .ok_or_else(|| field("Appointment.slot", "must be a reference like Slot/123"))?;
    let patients: Vec<&str> = body["participant"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|p| p["actor"]["reference"].as_str())
        .filter(|r| r.starts_with("Patient/"))
        .collect();
    let person = match patients.as_slice() {
        [] => None,
        [one] => Some(
            one.trim_start_matches("Patient/")
                .parse::<i64>()
                .map_err(|_| field("Appointment.participant", "must name Patient/123"))?,
        ),
        _ => {
            return Err(field("Appointment.participant", "must name one patient"));
        }
    };
    Ok((slot, person))
}

/// `POST /fhir/Appointment`: books the slot; 201 with `Location`, or 409 (OperationOutcome)
/// when the slot was taken.
async fn create_appointment(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    AppJson(body): AppJson<Value>,
) -> AppResult<Response> {
    let (slot, person) = booking_request(&body)?;
    let person = match person {
        Some(p) => p,
        None => actor.require()?.person_id.ok_or_else(|| {
            field(
                "Appointment.participant",
                "must name the patient (Patient/123)",
            )
        })?,
    };
    let a = service::book(&state, &actor, slot, person).await?;
    let mut response = versioned_json(StatusCode::CREATED, appointment(&a), Prefer::of(&headers));
    if let Ok(location) = HeaderValue::from_str(&format!("/fhir/Appointment/{}", a.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `PUT /fhir/Appointment/{id}` with `status: cancelled` cancels (freeing the slot); other
/// changes go through the JSON API's reschedule and attendance endpoints.
async fn update_appointment(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    headers: HeaderMap,
    AppJson(body): AppJson<Value>,
) -> AppResult<Response> {
    let id = parse_resource_id("Appointment", &id)?;
    if body["resourceType"] != "Appointment" {
        return Err(field("resourceType", "must be Appointment"));
    }
    if body["id"].as_str().is_some_and(|b| b != id.to_string()) {
        return Err(field("Appointment.id", "must match the id in the URL"));
    }
    let current = service::read_appointment(&state, &actor, id).await?;
    if let Some(expected) = if_match(&headers) {
        let now = version_of(&appointment(&current));
        if expected != now {
            return Err(AppError::PreconditionFailed(format!(
                "Appointment/{id} is at version {now}, not {expected}: read it again and retry"
            )));
        }
    }
    match body["status"].as_str() {
        Some("cancelled") => {
            let reason = body["cancelationReason"]["text"].as_str();
            service::cancel(&state, &actor, id, reason).await?;
        }
        Some(s) if s == appointment_status(current.status) => {}
        _ => {
            return Err(field(
                "Appointment.status",
                "only cancelling (status cancelled) is supported by update",
            ));
        }
    }
    let a = service::read_appointment(&state, &actor, id).await?;
    Ok(versioned_json(
        StatusCode::OK,
        appointment(&a),
        Prefer::of(&headers),
    ))
}

#[cfg(test)]
mod version_tests {
    use super::*;

    #[test]
    fn prefer_and_if_match_are_read_as_clients_write_them() {
        let mut h = HeaderMap::new();
        assert_eq!(Prefer::of(&h), Prefer::Representation);
        h.insert(
            "prefer",
            HeaderValue::from_static("handling=strict; return=minimal"),
        );
        assert_eq!(Prefer::of(&h), Prefer::Minimal);
        assert_eq!(if_match(&h), None);
        h.insert(header::IF_MATCH, HeaderValue::from_static("W/\"ab12\""));
        assert_eq!(if_match(&h).as_deref(), Some("ab12"));
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"ab12\""));
        assert_eq!(if_match(&h).as_deref(), Some("ab12"));
    }

    #[test]
    fn a_minimal_answer_has_the_version_but_no_body() {
        let r = versioned_json(StatusCode::CREATED, json!({"id": "1"}), Prefer::Minimal);
        assert_eq!(r.status(), StatusCode::CREATED);
        let etag = r.headers()[header::ETAG].to_str().unwrap();
        assert_eq!(etag, format!("W/\"{}\"", version_of(&json!({"id": "1"}))));
    }
}
