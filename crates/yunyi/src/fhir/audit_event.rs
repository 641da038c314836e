//! `AuditEvent`: the audit trail for administrators and regulators.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{Bundle, fhir_json, parse_paging, parse_resource_id};
use crate::app::AppState;
use crate::audit::{Event, service, store::Filter};
use crate::error::{AppError, AppResult, FieldError};
use crate::identity::Actor;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/AuditEvent", get(search))
        .route("/fhir/AuditEvent/{id}", get(read))
}

/// Our dotted action as the FHIR action code: C/R/U/D/E.
fn action_code(action: &str) -> &'static str {
    let verb = action.rsplit('.').next().unwrap_or("");
    match verb {
        "read" | "list" | "search" => "R",
        "create" | "register" | "add" => "C",
        "update" => "U",
        "delete" => "D",
        _ => "E",
    }
}

pub fn audit_event_resource(e: &Event) -> Value {
    let recorded = chrono::DateTime::from_timestamp_millis(e.at)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let outcome = match e.outcome.as_str() {
        "success" => "0",
        "denied" => "4",
        _ => "8",
    };
    let mut agent = json!({
        "type": {"text": e.actor_role},
        "who": {"display": e.actor_role},
        "requestor": true,
    });
    if let Some(obj) = agent.as_object_mut() {
        if let Some(id) = e.actor_id {
            obj.insert("who".into(), json!({"identifier": {"system": "urn:yunyi:account", "value": id.to_string()}, "display": e.actor_role}));
        }
        if let Some(addr) = &e.client_addr {
            obj.insert("network".into(), json!({"address": addr, "type": "2"}));
        }
    }
    let mut entity = json!({
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
        "name": e.object_type,
    });
    if let Some(obj) = entity.as_object_mut() {
        if let Some(id) = &e.object_id {
            obj.insert("what".into(), json!({"identifier": {"system": format!("urn:yunyi:{}", e.object_type), "value": id}}));
        }
    }
    let mut entities = vec![entity];
    if let Some(p) = e.patient_id {
        entities.push(json!({
            "what": {"reference": format!("Patient/{p}")},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"},
        }));
    }
    let mut resource = json!({
        "resourceType": "AuditEvent",
        "id": e.id.to_string(),
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": "urn:yunyi:audit-action", "code": e.action}],
        "action": action_code(&e.action),
        "recorded": recorded,
        "outcome": outcome,
        "agent": [agent],
        "source": {
            "observer": {"display": "Yunyi"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}],
        },
        "entity": entities,
    });
    if let Some(obj) = resource.as_object_mut() {
        if let Some(reason) = &e.reason {
            obj.insert("outcomeDesc".into(), json!(reason));
        }
        if e.flagged {
            obj.insert(
                "purposeOfEvent".into(),
                json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "BTG", "display": "break the glass"}]}]),
            );
        }
    }
    resource
}

async fn read(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("AuditEvent", &id)?;
    let event = service::get(&state, &actor, id).await?;
    Ok(fhir_json(audit_event_resource(&event)))
}

/// `GET /fhir/AuditEvent?patient=&agent=&_count=`: newest first.
async fn search(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let paging = parse_paging(query.as_deref())?;
    let mut filter = Filter {
        limit: paging.fetch_limit(),
        ..Filter::default()
    };
    let mut errors = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        let id = value.rsplit('/').next().unwrap_or("").parse::<i64>().ok();
        match key.as_ref() {
            "patient" => match id {
                Some(id) => filter.patient_id = Some(id),
                None => errors.push(FieldError::new("patient", "must be a Patient id")),
            },
            "agent" => match id {
                Some(id) => filter.actor_id = Some(id),
                None => errors.push(FieldError::new("agent", "must be an account id")),
            },
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let events = service::search(&state, &actor, filter).await?;
    let mut bundle = Bundle::searchset("AuditEvent", query.as_deref(), paging);
    for e in paging.window(&events) {
        bundle.push(audit_event_resource(e));
    }
    Ok(fhir_json(bundle.finish()?))
}
