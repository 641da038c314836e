//! HL7 FHIR R4 under `/fhir`. Invariant: FHIR mapping lives only in this module; contexts
//! expose domain types and this module turns them into resources.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::Problem;

pub const CONTENT_TYPE: &str = "application/fhir+json; charset=utf-8";
pub const FHIR_VERSION: &str = "4.0.1";

pub fn router() -> Router<AppState> {
    Router::new().route("/fhir/metadata", get(metadata))
}

/// A FHIR JSON response with the right media type.
pub fn fhir_json(value: Value) -> Response {
    let mut response = value.to_string().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// `OperationOutcome` for an error: one issue per invalid field (with its FHIRPath-ish
/// `expression`), or one issue for the whole error.
pub fn operation_outcome(problem: &Problem) -> Value {
    let code = problem.code.fhir_issue_code();
    let issues: Vec<Value> = if problem.errors.is_empty() {
        vec![json!({"severity": "error", "code": code, "diagnostics": problem.detail})]
    } else {
        problem
            .errors
            .iter()
            .map(|e| {
                json!({
                    "severity": "error",
                    "code": code,
                    "diagnostics": e.message,
                    "expression": [e.field],
                })
            })
            .collect()
    };
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// `GET /fhir/metadata`: the CapabilityStatement. Resources are added here as contexts gain
/// FHIR endpoints.
async fn metadata() -> Response {
    fhir_json(json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-22",
        "publisher": "Yunyi",
        "kind": "instance",
        "software": {"name": "Yunyi", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Yunyi internet hospital platform"},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{"mode": "server"}],
    }))
}
