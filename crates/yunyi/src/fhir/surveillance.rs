//! Surveillance in FHIR: a suspected case as a `Flag`; its transport and test as
//! `ServiceRequest`s (`<case>-transport`, `<case>-test`); the measured temperature and the test
//! result as `Observation`s (`<case>-temperature`, `<case>-result`); a day's syndromic counts
//! as a `MeasureReport` (id: the CST day), stratified by region. Cases are read by the
//! hospital's infection officers with the same audit as the JSON API; counts, which hold no
//! person, by officers and regulators.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{fhir_json, parse_resource_id};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::surveillance::cases::{self, CaseView};
use crate::surveillance::model::Status;
use crate::time::cst_rfc3339;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/Flag/{id}", get(read_flag))
        .route("/fhir/Observation/{id}", get(read_observation))
        .route("/fhir/MeasureReport/{id}", get(read_measure_report))
}

const RULE_SYSTEM: &str = "urn:yunyi:screening-rule";
const SNOMED: &str = "http://snomed.info/sct";

fn patient(c: &CaseView, person: i64) -> Value {
    json!({"reference": format!("Patient/{person}"), "display": c.patient_name})
}

/// The case as a `Flag` (active while it is worked).
pub fn flag(c: &CaseView, person: i64) -> Value {
    let mut period = json!({"start": cst_rfc3339(c.created_at)});
    if !c.status.is_open() {
        period["end"] = json!(cst_rfc3339(c.updated_at));
    }
    let author = match c.flagged_by {
        Some(doctor) => json!({"reference": format!("Practitioner/{doctor}")}),
        None => {
            json!({"reference": format!("Organization/{}", c.hospital_id), "display": "预检分诊规则 screening rules"})
        }
    };
    let evidence: Vec<String> = c
        .evidence
        .iter()
        .map(|(signal, e)| format!("{signal}: “{}” ({})", e.quote, e.source))
        .collect();
    let mut r = json!({
        "resourceType": "Flag",
        "id": c.id.to_string(),
        "status": if c.status.is_open() { "active" } else { "inactive" },
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "clinical", "display": "Clinical"}]}],
        "code": {
            "coding": [{"system": RULE_SYSTEM, "code": c.rule_id, "display": c.rule_name}],
            "text": format!("疑似传染病 suspected infectious disease — {}", evidence.join("; ")),
        },
        "subject": patient(c, person),
        "period": period,
        "author": author,
    });
    if let (Some(obj), Some(consultation)) = (r.as_object_mut(), c.consultation_id) {
        obj.insert(
            "encounter".into(),
            json!({"reference": format!("Encounter/{consultation}")}),
        );
    }
    r
}

/// A step ordered for the case: `transport` or `test`, once it was arranged.
pub fn service_request(c: &CaseView, person: i64, which: &str) -> Option<Value> {
    let done = |after: Status| {
        c.status == Status::Closed
            || Status::ALL
                .iter()
                .position(|s| *s == c.status)
                .zip(Status::ALL.iter().position(|s| *s == after))
                .is_some_and(|(now, then)| now > then && c.status != Status::Dismissed)
    };
    let (code, text, completed, when) = match which {
        "transport" => {
            let t = c.transport.as_deref()?;
            let text = match t {
                "ambulance" => "救护车转运 ambulance transfer",
                _ => "自行前往发热门诊 to the fever clinic on their own",
            };
            (
                t.to_owned(),
                format!("{text}: {}", c.instructions.clone().unwrap_or_default()),
                done(Status::TransportArranged),
                None,
            )
        }
        "test" => {
            let name = c.test_name.clone()?;
            ("test".to_owned(), name, c.result.is_some(), c.test_at)
        }
        _ => return None,
    };
    let status = if completed {
        "completed"
    } else if c.status == Status::Dismissed {
        "revoked"
    } else {
        "active"
    };
    let mut r = json!({
        "resourceType": "ServiceRequest",
        "id": format!("{}-{which}", c.id),
        "status": status,
        "intent": "order",
        "code": {"coding": [{"system": "urn:yunyi:epi-step", "code": code}], "text": text},
        "subject": patient(c, person),
        "supportingInfo": [{"reference": format!("Flag/{}", c.id)}],
    });
    if let Some(obj) = r.as_object_mut() {
        if let Some(at) = when {
            obj.insert("occurrenceDateTime".into(), json!(cst_rfc3339(at)));
        }
        if let Some(consultation) = c.consultation_id {
            obj.insert(
                "encounter".into(),
                json!({"reference": format!("Encounter/{consultation}")}),
            );
        }
    }
    Some(r)
}

/// The test's result as an `Observation`.
pub fn result_observation(c: &CaseView, person: i64) -> Option<Value> {
    let result = c.result.as_deref()?;
    let (code, display) = match result {
        "positive" => ("10828004", "Positive"),
        _ => ("260385009", "Negative"),
    };
    let recorded = c
        .history
        .iter()
        .find(|h| h.to_status == Status::ResultRecorded.as_str())
        .map_or(c.updated_at, |h| h.created_at);
    let mut value = json!({"coding": [{"system": SNOMED, "code": code, "display": display}]});
    if let Some(d) = &c.disease {
        value["text"] = json!(format!("{display}: {d}"));
    }
    Some(json!({
        "resourceType": "Observation",
        "id": format!("{}-result", c.id),
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"text": c.test_name.clone().unwrap_or_else(|| "检测 test".to_owned())},
        "subject": patient(c, person),
        "basedOn": [{"reference": format!("ServiceRequest/{}-test", c.id)}],
        "effectiveDateTime": cst_rfc3339(recorded),
        "valueCodeableConcept": value,
    }))
}

/// The temperature the intake measured, as a vital sign.
pub fn temperature_observation(c: &CaseView, person: i64, tenths: i64, at: i64) -> Value {
    json!({
        "resourceType": "Observation",
        "id": format!("{}-temperature", c.id),
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5", "display": "Body temperature"}], "text": "体温 body temperature"},
        "subject": patient(c, person),
        "effectiveDateTime": cst_rfc3339(at),
        "valueQuantity": {"value": tenths as f64 / 10.0, "unit": "°C", "system": "http://unitsofmeasure.org", "code": "Cel"},
    })
}

/// `<case>-<part>` → (case, part).
fn split_id<'a>(resource: &str, raw: &'a str) -> AppResult<(i64, &'a str)> {
    let (case, part) = raw
        .split_once('-')
        .ok_or_else(|| AppError::NotFound(format!("no {resource} with id {raw}")))?;
    Ok((parse_resource_id(resource, case)?, part))
}

async fn read_flag(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("Flag", &id)?;
    let c = cases::read(&state, &actor, id).await?;
    let person = c.person_id;
    Ok(fhir_json(flag(&c, person)))
}

/// A case's step as a `ServiceRequest` (`/fhir/ServiceRequest/<case>-transport`); the route is
/// shared with remote consultations (`fhir::teleconsult`).
pub(super) async fn service_request_of_case(
    state: &AppState,
    actor: &Actor,
    id: &str,
) -> AppResult<Response> {
    let (case, part) = split_id("ServiceRequest", id)?;
    let c = cases::read(state, actor, case).await?;
    let person = c.person_id;
    service_request(&c, person, part)
        .map(fhir_json)
        .ok_or_else(|| AppError::NotFound(format!("no ServiceRequest with id {id}")))
}

async fn read_observation(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    if id.starts_with(super::record::READING_PREFIX) {
        return super::record::read_reading(&state, &actor, &id).await;
    }
    let (case, part) = split_id("Observation", &id)?;
    let c = cases::read(&state, &actor, case).await?;
    let person = c.person_id;
    let found = match part {
        "result" => result_observation(&c, person),
        "temperature" => match c.consultation_id {
            Some(consultation) => {
                crate::consult::service::intake_temperature(&state.db, consultation)
                    .await?
                    .map(|t| temperature_observation(&c, person, t, c.created_at))
            }
            None => None,
        },
        _ => None,
    };
    found
        .map(fhir_json)
        .ok_or_else(|| AppError::NotFound(format!("no Observation with id {id}")))
}

/// `MeasureReport/<YYYY-MM-DD>`: that day's counts, a group per syndrome stratified by region.
async fn read_measure_report(
    State(state): State<AppState>,
    actor: Actor,
    Path(day): Path<String>,
) -> AppResult<Response> {
    let date = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .map_err(|_| AppError::NotFound(format!("no MeasureReport with id {day}")))?;
    let rows = crate::surveillance::dashboard::day_rows(&state, &actor, date).await?;
    let mut groups: Vec<(String, Vec<(String, i64)>)> = Vec::new();
    for r in rows {
        match groups.iter_mut().find(|(s, _)| *s == r.syndrome) {
            Some((_, strata)) => strata.push((r.region, r.n)),
            None => groups.push((r.syndrome, vec![(r.region, r.n)])),
        }
    }
    let group: Vec<Value> = groups
        .into_iter()
        .map(|(syndrome, strata)| {
            let total: i64 = strata.iter().map(|(_, n)| n).sum();
            json!({
                "code": {"coding": [{"system": "urn:yunyi:syndrome", "code": syndrome}]},
                "population": [{"code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/measure-population", "code": "initial-population"}]}, "count": total}],
                "stratifier": [{
                    "code": [{"text": "region (GB/T 2260)"}],
                    "stratum": strata.iter().map(|(region, n)| json!({
                        "value": {"coding": [{"system": "urn:yunyi:gb-t-2260", "code": region}]},
                        "population": [{"code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/measure-population", "code": "initial-population"}]}, "count": n}],
                    })).collect::<Vec<_>>(),
                }],
            })
        })
        .collect();
    Ok(fhir_json(json!({
        "resourceType": "MeasureReport",
        "id": date.to_string(),
        "status": "complete",
        "type": "summary",
        "measure": "urn:yunyi:measure:syndromic-daily-counts",
        "date": cst_rfc3339(state.now_ms()),
        "period": {"start": date.to_string(), "end": date.to_string()},
        "group": group,
    })))
}
