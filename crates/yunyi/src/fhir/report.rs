//! Reports in FHIR (issue #21): a lab, imaging or pathology report as a `DiagnosticReport`,
//! its structured results as contained `Observation`s (LOINC where the hospital gave a code,
//! flagged `H`/`L` against their ranges), an uploaded file as its `presentedForm`, and the
//! interpretation the patient asked for as a note (the R5 `DiagnosticReport.note`, carried in
//! R4 by its cross-version extension) by the doctor named as `resultsInterpreter`. Reads go
//! through the report service (same access, same audit).

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::teleconsult::{organization, practitioner};
use super::{Bundle, fhir_json, params, parse_paging, parse_resource_id, reference, unsupported};
use crate::app::AppState;
use crate::care::report::{self, ReportView, ResultValue};
use crate::care::report_store::{ReportKind, ReportStatus};
use crate::error::{AppError, AppResult};
use crate::identity::Actor;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/DiagnosticReport", get(search))
        .route("/fhir/DiagnosticReport/{id}", get(read))
}

/// The R5 element `DiagnosticReport.note`, as R4 carries it.
const NOTE_EXTENSION: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-DiagnosticReport.note";
const V2_0074: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";

/// The report's service section (HL7 v2 table 0074).
fn category(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Lab => "LAB",
        ReportKind::Imaging => "RAD",
        ReportKind::Pathology => "PAT",
    }
}

fn observation(i: usize, v: &ResultValue, subject: &Value, performed_on: &str) -> Value {
    let mut code = json!({"text": v.name});
    if let Some(c) = &v.code {
        code["coding"] = json!([{"system": "http://loinc.org", "code": c, "display": v.name}]);
    }
    let mut o = json!({
        "resourceType": "Observation",
        "id": format!("r{}", i + 1),
        "status": "final",
        "code": code,
        "subject": subject,
        "effectiveDateTime": performed_on,
    });
    let quantity = |x: f64| {
        let mut q = json!({"value": x});
        if let Some(u) = &v.unit {
            q["unit"] = json!(u);
        }
        q
    };
    match v.number() {
        Some(x) => o["valueQuantity"] = quantity(x),
        None => o["valueString"] = json!(v.value),
    }
    if v.low.is_some() || v.high.is_some() {
        let mut range = json!({});
        if let Some(l) = v.low {
            range["low"] = quantity(l);
        }
        if let Some(h) = v.high {
            range["high"] = quantity(h);
        }
        o["referenceRange"] = json!([range]);
    }
    if let Some(f) = &v.flag {
        o["interpretation"] = json!([{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
            "code": f,
            "display": if f == "H" { "High" } else { "Low" },
        }]}]);
    }
    o
}

pub fn diagnostic_report(r: &ReportView) -> Value {
    let subject =
        json!({"reference": format!("Patient/{}", r.person.id), "display": r.person.name});
    let contained: Vec<Value> = r
        .results
        .iter()
        .enumerate()
        .map(|(i, v)| observation(i, v, &subject, &r.performed_on))
        .collect();
    let mut out = json!({
        "resourceType": "DiagnosticReport",
        "id": r.id.to_string(),
        // An interpretation added after the report was final.
        "status": if r.status == ReportStatus::Interpreted { "appended" } else { "final" },
        "category": [{"coding": [{"system": V2_0074, "code": category(r.kind)}]}],
        "code": {"text": r.title},
        "subject": subject,
        "effectiveDateTime": r.performed_on,
        "issued": r.created_at,
    });
    let Some(obj) = out.as_object_mut() else {
        return out;
    };
    obj.insert(
        "performer".into(),
        json!([match r.hospital_id {
            Some(h) => organization(h, &r.hospital_name),
            None => json!({"display": r.hospital_name}),
        }]),
    );
    if !contained.is_empty() {
        let refs: Vec<Value> = contained
            .iter()
            .map(|o| json!({"reference": format!("#{}", o["id"].as_str().unwrap_or_default())}))
            .collect();
        obj.insert("contained".into(), json!(contained));
        obj.insert("result".into(), json!(refs));
    }
    if !r.conclusion.is_empty() {
        obj.insert("conclusion".into(), json!(r.conclusion));
    }
    if let Some(ct) = &r.content_type {
        obj.insert(
            "presentedForm".into(),
            json!([{"contentType": ct, "url": format!("/api/v1/care-reports/{}/file", r.id), "title": r.title}]),
        );
    }
    if let (Some(text), Some(by)) = (&r.interpretation, &r.interpreted_by) {
        let mut note = json!({"text": text, "authorReference": practitioner(by.id, &by.name)});
        if let Some(at) = &r.interpreted_at {
            note["time"] = json!(at);
        }
        obj.insert(
            "resultsInterpreter".into(),
            json!([practitioner(by.id, &by.name)]),
        );
        obj.insert(
            "extension".into(),
            json!([{"url": NOTE_EXTENSION, "valueAnnotation": note}]),
        );
    }
    out
}

async fn read(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("DiagnosticReport", &id)?;
    Ok(fhir_json(diagnostic_report(
        &report::report(&state, &actor, id).await?.0,
    )))
}

/// `GET /fhir/DiagnosticReport?patient=[&category=LAB|RAD|PAT]`: a patient's reports (staff
/// through the access policy); a patient without `patient` sees everyone they act for.
async fn search(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let mut patient = None;
    let mut wanted = None;
    for (k, v) in params(query.as_deref()) {
        match k.as_str() {
            "patient" | "subject" => patient = Some(reference(&k, "Patient", &v)?),
            "category" => {
                let code = v.rsplit('|').next().unwrap_or_default();
                let kind = [ReportKind::Lab, ReportKind::Imaging, ReportKind::Pathology]
                    .into_iter()
                    .find(|k| category(*k) == code)
                    .ok_or_else(|| AppError::invalid("category", "must be LAB, RAD or PAT"))?;
                wanted = Some(kind);
            }
            "_count" | "_offset" | "_summary" => {}
            other => return Err(unsupported(other)),
        }
    }
    let paging = parse_paging(query.as_deref())?;
    let reports = match patient {
        Some(p) => report::of_person(&state, &actor, p).await?,
        None => report::mine(&state, &actor).await?,
    };
    let found: Vec<ReportView> = reports
        .into_iter()
        .filter(|r| wanted.is_none_or(|k| r.kind == k))
        .collect();
    let mut bundle = Bundle::searchset("DiagnosticReport", query.as_deref(), paging);
    for r in paging.window(found) {
        bundle.push(diagnostic_report(&r));
    }
    Ok(fhir_json(bundle.finish()?))
}
