//! Health-education pushes in FHIR: a push is a `CommunicationRequest` (an organization asking
//! that an article be sent to an audience), `active` while its fan-out writes the inboxes and
//! `completed` after; its payload links the article's page. Read by the sender's hospital's
//! officers and administrators, as the pushes list.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{fhir_json, parse_resource_id};
use crate::app::AppState;
use crate::education::push::{self, PushView};
use crate::error::AppResult;
use crate::identity::Actor;
use crate::time::cst_rfc3339;

pub fn router() -> Router<AppState> {
    Router::new().route("/fhir/CommunicationRequest/{id}", get(read))
}

/// The push as a `CommunicationRequest`; `origin` makes the article's link absolute.
pub fn communication_request(p: &PushView, hospital: i64, origin: &str) -> Value {
    let audience = match (p.region.is_empty(), p.condition.is_empty()) {
        (true, true) => "everyone".to_owned(),
        (false, true) => format!("region {}", p.region),
        (true, false) => format!("condition {}", p.condition),
        (false, false) => format!("region {}, condition {}", p.region, p.condition),
    };
    let mut r = json!({
        "resourceType": "CommunicationRequest",
        "id": p.id.to_string(),
        "status": if p.status == "done" { "completed" } else { "active" },
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/communication-category",
            "code": "notification", "display": "Notification",
        }]}],
        "priority": "routine",
        "medium": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode",
            "code": "ELECTRONIC", "display": "electronic data",
        }], "text": "in-app inbox"}],
        "payload": [{"contentAttachment": {
            "contentType": "text/html",
            "url": format!("{origin}/education/{}", p.article_id),
            "title": p.title,
        }}],
        "authoredOn": cst_rfc3339(p.created_at),
        "occurrenceDateTime": cst_rfc3339(p.created_at),
        "requester": {"reference": format!("Organization/{hospital}"), "display": p.sender},
        "note": [{"text": format!(
            "健康科普推送 health-education push to patients of the {} ({audience}): reached {}, read {}",
            if p.audience == "region" { "region" } else { "hospital" },
            p.recipients, p.reads
        )}],
    });
    if let (Some(alert), Some(obj)) = (p.alert_id, r.as_object_mut()) {
        obj.insert(
            "reasonCode".into(),
            json!([{"text": format!("surveillance alert {alert}")}]),
        );
    }
    r
}

async fn read(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("CommunicationRequest", &id)?;
    let hospital = push::sender_hospital(&actor)?;
    let p = push::get(&state, &actor, id).await?;
    let origin = crate::web::origin(&headers);
    Ok(fhir_json(communication_request(&p, hospital, &origin)))
}
