//! Prescriptions and their medicine in FHIR: `Medication` (a formulary drug — public, as drug
//! prices are), `MedicationRequest` (one per prescription line, id `<prescription>-<line>`,
//! grouped by the prescription), `DetectedIssue` (a safety check's finding at writing or at
//! review) and `MedicationDispense` (one per line of a fulfilment once the pharmacy works on
//! it, id `<fulfilment>-<line>`). Read and search, for the same people and with the same
//! audit as the JSON API.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{
    Bundle, Order, Place, fhir_json, params, parse_paging, parse_resource_id, parse_search,
    reference, unsupported,
};
use crate::app::AppState;
use crate::dispensing::model::Status as Fs;
use crate::dispensing::service::{self as dispensing, FulfilmentView};
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::pharmacy::model::Drug;
use crate::pharmacy::prescribing;
use crate::pharmacy::prescription::Status as Rx;
use crate::pharmacy::prescription_store::{FindingRow, ItemRow, PrescriptionRow};
use crate::pharmacy::service as formulary;
use crate::time::cst_rfc3339;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/Medication", get(search_medications))
        .route("/fhir/Medication/{id}", get(read_medication))
        .route("/fhir/MedicationRequest", get(search_requests))
        .route("/fhir/MedicationRequest/{id}", get(read_request))
        .route("/fhir/DetectedIssue", get(search_issues))
        .route("/fhir/DetectedIssue/{id}", get(read_issue))
        .route("/fhir/MedicationDispense", get(search_dispenses))
        .route("/fhir/MedicationDispense/{id}", get(read_dispense))
}

const DRUG_CODE: &str = "urn:yunyi:drug-code";
const ATC: &str = "http://www.whocc.no/atc";
const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
const UCUM: &str = "http://unitsofmeasure.org";

pub fn medication(d: &Drug) -> Value {
    let mut coding = vec![json!({"system": DRUG_CODE, "code": d.code, "display": d.generic_name})];
    if let Some(atc) = &d.atc_code {
        coding.push(json!({"system": ATC, "code": atc}));
    }
    let name = match &d.brand_name {
        Some(brand) => format!("{}（{brand}）{}", d.generic_name, d.strength),
        None => format!("{} {}", d.generic_name, d.strength),
    };
    json!({
        "resourceType": "Medication",
        "id": d.id.to_string(),
        "extension": [
            // 药品管理分类: the regulatory class that decides whether it may be prescribed online.
            {"url": "urn:yunyi:fhir:drug-class", "valueCode": d.class},
            {"url": "urn:yunyi:fhir:online-prescribable", "valueBoolean": d.online && !d.class().banned_online()},
        ],
        "code": {"coding": coding, "text": name},
        "status": if d.active { "active" } else { "inactive" },
        "form": {"text": d.form},
        "amount": {"numerator": {"value": d.pack_size, "unit": d.unit}, "denominator": {"value": 1, "unit": d.unit}},
    })
}

/// MedicationRequest.status for a prescription's status.
fn request_status(status: Rx) -> &'static str {
    match status {
        // Signed, waiting for the pharmacist: not yet actionable.
        Rx::Submitted => "on-hold",
        Rx::Approved | Rx::Paid => "active",
        Rx::Dispensed => "completed",
        Rx::Rejected | Rx::Superseded | Rx::Cancelled | Rx::Expired => "cancelled",
    }
}

fn request_id(p: &PrescriptionRow, line: i64) -> String {
    format!("{}-{line}", p.id)
}

pub fn medication_request(p: &PrescriptionRow, item: &ItemRow, findings: &[FindingRow]) -> Value {
    let issues: Vec<Value> = findings
        .iter()
        .filter(|f| f.line.is_none_or(|l| l == item.line))
        .map(|f| json!({"reference": format!("DetectedIssue/{}", f.id)}))
        .collect();
    let mut r = json!({
        "resourceType": "MedicationRequest",
        "id": request_id(p, item.line),
        "identifier": [{"system": "urn:yunyi:prescription-line", "value": request_id(p, item.line)}],
        "groupIdentifier": {"system": "urn:yunyi:prescription", "value": p.id.to_string()},
        "status": request_status(p.status),
        "intent": "order",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category", "code": "community"}]}],
        "medicationReference": {"reference": format!("Medication/{}", item.drug_id), "display": format!("{} {}", item.drug_name, item.strength)},
        "subject": {"reference": format!("Patient/{}", p.person_id)},
        "encounter": {"reference": format!("Encounter/{}", p.consultation_id)},
        "authoredOn": cst_rfc3339(p.signed_at),
        "requester": {"reference": format!("Practitioner/{}", p.doctor_id)},
        "reasonCode": [{"coding": [{"system": ICD10, "code": p.diagnosis_icd10, "display": p.diagnosis_name}], "text": p.diagnosis_name}],
        "dosageInstruction": [{
            "text": format!("{} {} {} {} × {} d", item.route, item.dose, item.dose_unit, item.frequency, item.days),
            "timing": {"code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation", "code": item.frequency.to_uppercase()}], "text": item.frequency}},
            "route": {"text": item.route},
            "doseAndRate": [{"doseQuantity": {"value": item.dose, "unit": item.dose_unit}}],
        }],
        "dispenseRequest": {
            "quantity": {"value": item.quantity, "unit": item.unit},
            "expectedSupplyDuration": {"value": item.days, "unit": "d", "system": UCUM, "code": "d"},
        },
        "substitution": {"allowedBoolean": false},
    });
    let Some(obj) = r.as_object_mut() else {
        return r;
    };
    if !issues.is_empty() {
        obj.insert("detectedIssue".into(), Value::Array(issues));
    }
    if let Some(previous) = p.supersedes_id {
        obj.insert(
            "priorPrescription".into(),
            json!({"reference": format!("MedicationRequest/{previous}-{}", item.line)}),
        );
    }
    if matches!(
        p.status.as_str(),
        "rejected" | "superseded" | "expired" | "cancelled"
    ) {
        obj.insert("statusReason".into(), json!({"text": p.status}));
    }
    if let Some(note) = &p.review_note {
        obj.insert("note".into(), json!([{"text": note}]));
    }
    if let Some(pay_by) = p.pay_by {
        if let Some(dr) = obj
            .get_mut("dispenseRequest")
            .and_then(Value::as_object_mut)
        {
            dr.insert(
                "validityPeriod".into(),
                json!({"start": cst_rfc3339(p.signed_at), "end": cst_rfc3339(pay_by)}),
            );
        }
    }
    r
}

pub fn detected_issue(p: &PrescriptionRow, items: &[ItemRow], f: &FindingRow) -> Value {
    let implicated: Vec<Value> = items
        .iter()
        .filter(|i| f.line.is_none_or(|l| l == i.line))
        .map(|i| json!({"reference": format!("MedicationRequest/{}", request_id(p, i.line))}))
        .collect();
    let severity = match f.severity.as_str() {
        "blocking" => "high",
        "warning" => "moderate",
        _ => "low",
    };
    let at = match f.stage.as_str() {
        "review" => p.reviewed_at.unwrap_or(p.signed_at),
        _ => p.signed_at,
    };
    let mut r = json!({
        "resourceType": "DetectedIssue",
        "id": f.id.to_string(),
        "status": "final",
        "code": {"coding": [{"system": "urn:yunyi:prescription-check", "code": f.code}], "text": f.stage},
        "severity": severity,
        "patient": {"reference": format!("Patient/{}", p.person_id)},
        "identifiedDateTime": cst_rfc3339(at),
        "detail": f.message,
    });
    if !implicated.is_empty() {
        if let Some(obj) = r.as_object_mut() {
            obj.insert("implicated".into(), Value::Array(implicated));
        }
    }
    r
}

/// MedicationDispense.status for where a fulfilment is.
fn dispense_status(status: Fs) -> &'static str {
    match status {
        Fs::Queued | Fs::Picked | Fs::Packed | Fs::ReadyForPickup => "preparation",
        Fs::Dispatched | Fs::PickedUp | Fs::InTransit => "in-progress",
        Fs::Delivered | Fs::Received | Fs::Collected => "completed",
        Fs::Failed => "stopped",
        Fs::Cancelled => "cancelled",
        Fs::AwaitingPayment => "unknown",
    }
}

/// When the fulfilment first reached `status`, if it did.
fn reached(f: &FulfilmentView, statuses: &[&str]) -> Option<i64> {
    f.events
        .iter()
        .find(|e| statuses.contains(&e.to_status.as_str()))
        .map(|e| e.at)
}

pub fn medication_dispense(f: &FulfilmentView, item: &ItemRow) -> Value {
    let row = &f.fulfilment;
    let mut r = json!({
        "resourceType": "MedicationDispense",
        "id": format!("{}-{}", row.id, item.line),
        "status": dispense_status(row.status),
        "medicationReference": {"reference": format!("Medication/{}", item.drug_id), "display": format!("{} {}", item.drug_name, item.strength)},
        "subject": {"reference": format!("Patient/{}", row.person_id)},
        "performer": [{"actor": {"reference": format!("Organization/{}", row.hospital_id), "display": f.pharmacy.name}}],
        "authorizingPrescription": [{"reference": format!("MedicationRequest/{}-{}", row.prescription_id, item.line)}],
        "type": {"coding": [{"system": "urn:yunyi:fulfilment-method", "code": row.method}]},
        "quantity": {"value": item.quantity, "unit": item.unit},
        "daysSupply": {"value": item.days, "unit": "d", "system": UCUM, "code": "d"},
        "receiver": [{"reference": format!("Patient/{}", row.person_id)}],
    });
    let Some(obj) = r.as_object_mut() else {
        return r;
    };
    if let Some(at) = reached(f, &["picked"]) {
        obj.insert("whenPrepared".into(), json!(cst_rfc3339(at)));
    }
    if let Some(at) = reached(f, &["dispatched", "collected"]) {
        obj.insert("whenHandedOver".into(), json!(cst_rfc3339(at)));
    }
    if let Some(tracking) = &row.tracking_no {
        obj.insert(
            "note".into(),
            json!([{"text": format!("{} {tracking}", row.courier.as_deref().unwrap_or(""))}]),
        );
    }
    r
}

/// `<a>-<b>` ids: two positive numbers, or the resource does not exist.
fn pair(resource: &str, raw: &str) -> AppResult<(i64, i64)> {
    let not_found = || AppError::NotFound(format!("no {resource} with id '{raw}'"));
    let (a, b) = raw.split_once('-').ok_or_else(not_found)?;
    let a = parse_resource_id(resource, a).map_err(|_| not_found())?;
    let b = parse_resource_id(resource, b).map_err(|_| not_found())?;
    Ok((a, b))
}

async fn read_medication(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("Medication", &id)?;
    let drug = formulary::drug_row(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no Medication with id '{id}'")))?;
    Ok(fhir_json(medication(&drug)))
}

/// `Medication?code=[system|]code`: by the hospital's drug code or the ATC code.
async fn search_medications(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let paging = parse_paging(query.as_deref())?;
    let mut code = None;
    for (k, v) in params(query.as_deref()) {
        match k.as_str() {
            "code" => {
                let value = v.rsplit_once('|').map_or(v.as_str(), |(_, c)| c).trim();
                if value.is_empty() {
                    return Err(AppError::invalid("code", "must name a drug or ATC code"));
                }
                code = Some(value.to_owned());
            }
            "_count" | "_offset" | "_summary" | "_sort" => {}
            other => return Err(unsupported(other)),
        }
    }
    let code = code.ok_or_else(|| {
        AppError::invalid(
            "code",
            "is required (a drug code such as XY001, or an ATC code)",
        )
    })?;
    let limit = paging.fetch_limit();
    let mut bundle = Bundle::searchset("Medication", query.as_deref(), paging);
    for d in paging.window(formulary::drugs_by_code(&state.db, &code, limit).await?) {
        bundle.push(medication(&d));
    }
    Ok(fhir_json(bundle.finish()?))
}

async fn read_request(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let (rx, line) = pair("MedicationRequest", &id)?;
    let v = prescribing::read(&state, &actor, rx).await?;
    let item = v
        .items
        .iter()
        .find(|i| i.line == line)
        .ok_or_else(|| AppError::NotFound(format!("no MedicationRequest with id '{id}'")))?;
    Ok(fhir_json(medication_request(
        &v.prescription,
        item,
        &v.findings,
    )))
}

/// The `patient` a search is about, if named (else everyone the actor may search), other
/// parameters handed to `other`.
fn patient_param(
    query: Option<&str>,
    mut other: impl FnMut(&str, &str) -> AppResult<()>,
) -> AppResult<Option<i64>> {
    let mut person = None;
    for (k, v) in params(query) {
        match k.as_str() {
            "patient" | "subject" => person = Some(reference(&k, "Patient", &v)?),
            "_count" | "_offset" | "_summary" | "_sort" => {}
            _ => other(&k, &v)?,
        }
    }
    Ok(person)
}

/// What a medication request search may `_include`.
pub const REQUEST_INCLUDES: [super::include::Include; 1] = [super::include::REQUEST_MEDICATION];

/// `MedicationRequest[?patient=Patient/…][&status=…]` (without `patient`: everyone the actor
/// may search).
async fn search_requests(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let (paging, order) = parse_search(query.as_deref(), Some("authoredon"))?;
    let includes = super::include::parse(query.as_deref(), &REQUEST_INCLUDES)?;
    let mut status = None;
    let person = patient_param(query.as_deref(), |k, v| match k {
        "_include" => Ok(()),
        "status" => {
            const KNOWN: [&str; 4] = ["on-hold", "active", "completed", "cancelled"];
            if !KNOWN.contains(&v) {
                return Err(AppError::invalid(
                    "status",
                    "must be on-hold, active, completed or cancelled",
                ));
            }
            status = Some(v.to_owned());
            Ok(())
        }
        other => Err(unsupported(other)),
    })?;
    let mut bundle = Bundle::searchset("MedicationRequest", query.as_deref(), paging);
    let mut n = 0;
    let mut found = Vec::new();
    for person in super::people_in_scope(&state, &actor, person).await? {
        found.extend(prescribing::for_person(&state, &actor, person).await?);
    }
    if let Some(order) = order {
        found.sort_by_key(|p| (p.signed_at, p.id));
        if order == Order::Descending {
            found.reverse();
        }
    }
    'found: for p in found {
        if status
            .as_deref()
            .is_some_and(|s| request_status(p.status) != s)
        {
            continue;
        }
        let (items, findings) = prescribing::lines_and_findings(&state, p.id).await?;
        for item in items {
            match paging.place(n) {
                Place::Stop => break 'found,
                Place::Skip => {}
                Place::Keep => bundle.push(medication_request(&p, &item, &findings)),
            }
            n += 1;
        }
    }
    super::include::add(&state, &actor, &mut bundle, &includes).await?;
    Ok(fhir_json(bundle.finish()?))
}

async fn read_issue(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let finding = parse_resource_id("DetectedIssue", &id)?;
    let not_found = || AppError::NotFound(format!("no DetectedIssue with id '{id}'"));
    let rx = prescribing::prescription_of_finding(&state, finding)
        .await?
        .ok_or_else(not_found)?;
    let v = prescribing::read(&state, &actor, rx).await?;
    let f = v
        .findings
        .iter()
        .find(|f| f.id == finding)
        .ok_or_else(not_found)?;
    Ok(fhir_json(detected_issue(&v.prescription, &v.items, f)))
}

/// `DetectedIssue?patient=Patient/…`: every finding on the patient's prescriptions.
async fn search_issues(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let paging = parse_paging(query.as_deref())?;
    let person = patient_param(query.as_deref(), |k, _| Err(unsupported(k)))?;
    let mut bundle = Bundle::searchset("DetectedIssue", query.as_deref(), paging);
    let mut n = 0;
    let mut found = Vec::new();
    for person in super::people_in_scope(&state, &actor, person).await? {
        found.extend(prescribing::for_person(&state, &actor, person).await?);
    }
    'found: for p in found {
        let (items, findings) = prescribing::lines_and_findings(&state, p.id).await?;
        for f in findings {
            match paging.place(n) {
                Place::Stop => break 'found,
                Place::Skip => {}
                Place::Keep => bundle.push(detected_issue(&p, &items, &f)),
            }
            n += 1;
        }
    }
    Ok(fhir_json(bundle.finish()?))
}

async fn read_dispense(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let (fulfilment, line) = pair("MedicationDispense", &id)?;
    let not_found = || AppError::NotFound(format!("no MedicationDispense with id '{id}'"));
    let f = dispensing::read(&state, &actor, fulfilment)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => not_found(),
            e => e,
        })?;
    if f.fulfilment.status == "awaiting_payment" {
        return Err(not_found());
    }
    let item = f
        .items
        .iter()
        .find(|i| i.line == line)
        .ok_or_else(not_found)?;
    Ok(fhir_json(medication_dispense(&f, item)))
}

/// `MedicationDispense?patient=Patient/…`: what the pharmacy has worked on for the patient.
async fn search_dispenses(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let paging = parse_paging(query.as_deref())?;
    let person = patient_param(query.as_deref(), |k, _| Err(unsupported(k)))?;
    let mut bundle = Bundle::searchset("MedicationDispense", query.as_deref(), paging);
    let mut n = 0;
    let mut found = Vec::new();
    for person in super::people_in_scope(&state, &actor, person).await? {
        found.extend(dispensing::for_person(&state, &actor, person).await?);
    }
    'found: for f in found {
        if f.fulfilment.status == "awaiting_payment" {
            continue;
        }
        for item in &f.items {
            match paging.place(n) {
                Place::Stop => break 'found,
                Place::Skip => {}
                Place::Keep => bundle.push(medication_dispense(&f, item)),
            }
            n += 1;
        }
    }
    Ok(fhir_json(bundle.finish()?))
}
