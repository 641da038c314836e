//! The patient's record in FHIR (issue #21): offline diagnoses as `Condition`s, home readings
//! as vital-signs `Observation`s (`Observation/reading-<id>`, LOINC-coded, UCUM units), and
//! `Patient/{id}/$everything`: the whole record the reader may see as one searchset Bundle,
//! gathered by [`crate::care::record`] under the same access rules as each part.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{fhir_json, params, parse_resource_id, reference, unsupported};
use crate::app::AppState;
use crate::care::plan_store::ReadingRow;
use crate::care::protocol::{Measure, TENTHS};
use crate::care::record;
use crate::consult::store::OfflineDiagnosis;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::AppJson;
use crate::identity::Actor;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/Condition", get(search_conditions))
        .route("/fhir/Condition/{id}", get(read_condition))
        .route(
            "/fhir/Observation",
            get(search_observations).post(create_observation),
        )
        .route("/fhir/Patient/{id}/$everything", get(everything))
}

/// The types `$everything` returns besides the Patient (a SMART app must be granted each).
pub const EVERYTHING_TYPES: [&str; 8] = [
    "Condition",
    "Encounter",
    "MedicationRequest",
    "Appointment",
    "CarePlan",
    "DiagnosticReport",
    "Observation",
    "Patient",
];

/// The id prefix of a home reading among the Observations (the surveillance ones are
/// `<case>-temperature` and `<case>-result`).
pub const READING_PREFIX: &str = "reading-";

fn subject(person: i64) -> Value {
    json!({"reference": format!("Patient/{person}")})
}

pub fn condition(d: &OfflineDiagnosis) -> Value {
    json!({
        "resourceType": "Condition",
        "id": d.id.to_string(),
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": d.icd10, "display": d.name}], "text": d.name},
        "subject": subject(d.person_id),
        "onsetDateTime": d.diagnosed_on,
        "recordedDate": d.diagnosed_on,
    })
}

fn quantity(tenths: i64, unit: &str, code: &str) -> Value {
    json!({"value": tenths as f64 / TENTHS, "unit": unit, "system": "http://unitsofmeasure.org", "code": code})
}

/// A home reading in the vital-signs profile's codes: blood pressure as the panel with its two
/// components, the others as one quantity.
pub fn reading_observation(person: i64, r: &ReadingRow) -> Value {
    let (code, display) = match r.measure {
        Measure::BloodPressure => ("85354-9", "Blood pressure panel with all children optional"),
        Measure::Glucose => ("15074-8", "Glucose [Moles/volume] in Blood"),
        Measure::Weight => ("29463-7", "Body weight"),
        Measure::Temperature => ("8310-5", "Body temperature"),
    };
    let mut o = json!({
        "resourceType": "Observation",
        "id": format!("{READING_PREFIX}{}", r.id),
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]},
        "subject": subject(person),
        "effectiveDateTime": crate::time::cst_rfc3339(r.taken_at),
        "performer": [subject(person)],
    });
    let loinc = |code: &str, display: &str| json!({"coding": [{"system": "http://loinc.org", "code": code, "display": display}]});
    match r.measure {
        Measure::BloodPressure => {
            o["component"] = json!([
                {"code": loinc("8480-6", "Systolic blood pressure"), "valueQuantity": quantity(r.value, "mmHg", "mm[Hg]")},
                {"code": loinc("8462-4", "Diastolic blood pressure"), "valueQuantity": quantity(r.value2.unwrap_or_default(), "mmHg", "mm[Hg]")},
            ]);
        }
        Measure::Glucose => o["valueQuantity"] = quantity(r.value, "mmol/L", "mmol/L"),
        Measure::Weight => o["valueQuantity"] = quantity(r.value, "kg", "kg"),
        Measure::Temperature => o["valueQuantity"] = quantity(r.value, "°C", "Cel"),
    }
    if r.flagged {
        // Beyond a limit of the patient's care plan.
        o["interpretation"] = json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "A", "display": "Abnormal"}]}]);
    }
    o
}

/// `GET /fhir/Observation/reading-<id>` (the router sends the other Observations to the
/// surveillance reads).
pub async fn read_reading(state: &AppState, actor: &Actor, id: &str) -> AppResult<Response> {
    let n = id
        .strip_prefix(READING_PREFIX)
        .and_then(|n| n.parse::<i64>().ok())
        .ok_or_else(|| AppError::NotFound(format!("no Observation with id {id}")))?;
    let (person, r) = record::reading(state, actor, n).await?;
    Ok(fhir_json(reading_observation(person, &r)))
}

fn searchset(resources: Vec<Value>) -> Value {
    let entry: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let url = format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            );
            json!({"fullUrl": url, "resource": r, "search": {"mode": "match"}})
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "searchset", "total": entry.len(), "entry": entry})
}

/// The one patient a record search is about (`patient` or `subject`, required: a record is
/// read one person at a time), with `extra` deciding the other parameters.
fn one_patient(
    query: Option<&str>,
    mut extra: impl FnMut(&str, &str) -> AppResult<()>,
) -> AppResult<i64> {
    let mut patient = None;
    for (k, v) in params(query) {
        match k.as_str() {
            "patient" | "subject" => patient = Some(reference(&k, "Patient", &v)?),
            "_count" | "_offset" | "_summary" => {}
            other => extra(other, &v)?,
        }
    }
    patient.ok_or_else(|| {
        AppError::invalid(
            "patient",
            "is required: name the patient whose record to search",
        )
    })
}

async fn read_condition(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("Condition", &id)?;
    Ok(fhir_json(condition(
        &record::diagnosis(&state, &actor, id).await?,
    )))
}

/// `GET /fhir/Condition?patient=`: the person's offline diagnoses the reader may see.
async fn search_conditions(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    actor.require()?;
    let person = one_patient(query.as_deref(), |k, _| Err(unsupported(k)))?;
    let found = record::diagnoses(&state, &actor, person).await?;
    Ok(fhir_json(searchset(found.iter().map(condition).collect())))
}

/// `GET /fhir/Observation?patient=[&category=vital-signs]`: the person's home readings,
/// newest first.
async fn search_observations(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    actor.require()?;
    let person = one_patient(query.as_deref(), |k, v| match k {
        "category" if v.rsplit('|').next() == Some("vital-signs") => Ok(()),
        "category" => Err(AppError::invalid(
            "category",
            "only vital-signs (the patient's home readings) is searched",
        )),
        other => Err(unsupported(other)),
    })?;
    let found = record::readings(&state, &actor, person).await?;
    Ok(fhir_json(searchset(
        found
            .iter()
            .map(|r| reading_observation(person, r))
            .collect(),
    )))
}

/// `GET /fhir/Patient/{id}/$everything`: the patient and everything of their record the
/// reader may see, as one Bundle (no paging: a record of years is a few thousand entries).
async fn everything(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    if let Some((k, _)) = params(query.as_deref()).into_iter().next() {
        return Err(unsupported(&k));
    }
    let person = parse_resource_id("Patient", &id)?;
    let rec = record::gather(&state, &actor, person).await?;
    let me = crate::identity::service::read_patient(&state, &actor, person, None).await?;
    let mut out = vec![super::patient::patient_resource(&me)];
    out.extend(rec.diagnoses.iter().map(condition));
    out.extend(rec.consultations.iter().map(super::consult::encounter));
    for p in &rec.prescriptions {
        out.extend(
            p.items
                .iter()
                .map(|i| super::pharmacy::medication_request(&p.prescription, i, &p.findings)),
        );
    }
    out.extend(rec.appointments.iter().map(super::scheduling::appointment));
    out.extend(rec.plans.iter().map(super::care::care_plan));
    out.extend(rec.reports.iter().map(super::report::diagnostic_report));
    out.extend(rec.readings.iter().map(|r| reading_observation(person, r)));
    Ok(fhir_json(searchset(out)))
}

/// The LOINC codes a home reading is posted with, and what each measures.
const POSTED: [(&str, Measure); 5] = [
    ("85354-9", Measure::BloodPressure),
    ("55284-4", Measure::BloodPressure),
    ("15074-8", Measure::Glucose),
    ("29463-7", Measure::Weight),
    ("8310-5", Measure::Temperature),
];
const SYSTOLIC: &str = "8480-6";
const DIASTOLIC: &str = "8462-4";

fn loinc_codes(concept: &Value) -> Vec<&str> {
    concept["coding"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter(|c| c["system"] == "http://loinc.org")
        .filter_map(|c| c["code"].as_str())
        .collect()
}

/// A component's `valueQuantity.value` by its LOINC code.
fn component(body: &Value, code: &str) -> Option<f64> {
    body["component"]
        .as_array()?
        .iter()
        .find(|c| loinc_codes(&c["code"]).contains(&code))
        .and_then(|c| c["valueQuantity"]["value"].as_f64())
}

/// A posted vital-signs Observation as the reading it records: every problem named by its
/// place in the resource.
fn posted_reading(
    body: &Value,
    own: Option<i64>,
) -> Result<crate::care::plan::NewReadingInput, Vec<FieldError>> {
    use crate::care::protocol::ReadingInput;
    let mut errors = Vec::new();
    if body["resourceType"] != "Observation" {
        errors.push(FieldError::new("resourceType", "must be Observation"));
    }
    let person = match body["subject"]["reference"].as_str() {
        Some(r) => match r
            .strip_prefix("Patient/")
            .and_then(|n| n.parse::<i64>().ok())
        {
            Some(p) => Some(p),
            None => {
                errors.push(FieldError::new(
                    "Observation.subject",
                    "must be a reference like Patient/123",
                ));
                None
            }
        },
        None => own,
    };
    let codes = loinc_codes(&body["code"]);
    let measure = POSTED
        .iter()
        .find(|(c, _)| codes.contains(c))
        .map(|(_, m)| *m);
    if measure.is_none() {
        errors.push(FieldError::new(
            "Observation.code",
            "must be a LOINC code of a home reading: 85354-9 blood pressure (components 8480-6, 8462-4), 15074-8 glucose (mmol/L), 29463-7 weight (kg) or 8310-5 temperature (Cel)",
        ));
    }
    let reading = match measure {
        Some(Measure::BloodPressure) => ReadingInput {
            measure,
            systolic: component(body, SYSTOLIC),
            diastolic: component(body, DIASTOLIC),
            value: None,
        },
        _ => ReadingInput {
            measure,
            systolic: None,
            diastolic: None,
            value: body["valueQuantity"]["value"].as_f64(),
        },
    };
    if errors.is_empty() {
        Ok(crate::care::plan::NewReadingInput {
            person_id: person,
            reading,
        })
    } else {
        Err(errors)
    }
}

/// The reading check's field as its place in the Observation.
fn observation_field(field: &str) -> String {
    match field {
        "systolic" => format!("Observation.component[{SYSTOLIC}].valueQuantity.value"),
        "diastolic" => format!("Observation.component[{DIASTOLIC}].valueQuantity.value"),
        "value" => "Observation.valueQuantity.value".to_owned(),
        "person_id" => "Observation.subject".to_owned(),
        "measure" => "Observation.code".to_owned(),
        other => other.to_owned(),
    }
}

/// `POST /fhir/Observation`: the patient app records a home reading (vital signs, LOINC), as
/// entering it by hand does: checked against the person's plans, a task for the team when
/// beyond a limit. The reading is taken as of its arrival. 201 with its `Location`.
async fn create_observation(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(body): AppJson<Value>,
) -> AppResult<Response> {
    let me = actor.require()?;
    let input = posted_reading(&body, me.person_id).map_err(AppError::Validation)?;
    let person = input.person_id.unwrap_or_default();
    let outcome = crate::care::plan::record_reading(&state, &actor, &input)
        .await
        .map_err(|e| match e {
            AppError::Validation(fields) => AppError::Validation(
                fields
                    .into_iter()
                    .map(|f| FieldError::new(observation_field(&f.field), f.message))
                    .collect(),
            ),
            e => e,
        })?;
    let row = record::recorded(&state, outcome.id).await?;
    let mut response = (
        StatusCode::CREATED,
        fhir_json(reading_observation(person, &row)),
    )
        .into_response();
    if let Ok(location) =
        HeaderValue::from_str(&format!("/fhir/Observation/{READING_PREFIX}{}", outcome.id))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}
