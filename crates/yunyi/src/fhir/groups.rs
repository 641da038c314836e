//! Patient groups in FHIR: a `Group` of persons (`actual`), managed by its hospital, about a
//! condition when it has one. Its members — patients as `Patient`, doctors as `Practitioner`
//! — are listed only to the group's moderators, as the members page shows real names only
//! to them; everyone who may see the group gets its size.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{fhir_json, parse_resource_id};
use crate::app::AppState;
use crate::error::AppResult;
use crate::groups::service::{self, Access, MemberView};
use crate::identity::Actor;
use crate::time::cst_rfc3339;

pub fn router() -> Router<AppState> {
    Router::new().route("/fhir/Group/{id}", get(read))
}

/// The group as a `Group`; `members` are listed when given (moderators).
pub fn group(a: &Access, members: Option<&[MemberView]>) -> Value {
    let g = &a.group;
    let mut r = json!({
        "resourceType": "Group",
        "id": g.id.to_string(),
        "active": g.archived_at.is_none(),
        "type": "person",
        "actual": true,
        "name": g.name,
        "quantity": g.members,
        "managingEntity": {"reference": format!("Organization/{}", g.hospital_id), "display": g.hospital},
    });
    let Some(obj) = r.as_object_mut() else {
        return r;
    };
    if !g.condition.is_empty() {
        obj.insert(
            "characteristic".into(),
            json!([{
                "code": {"text": "condition (ICD-10 code or category)"},
                "valueCodeableConcept": {"coding": [{
                    "system": "http://hl7.org/fhir/sid/icd-10", "code": g.condition,
                }]},
                "exclude": false,
            }]),
        );
    }
    if let Some(members) = members {
        let listed: Vec<Value> = members
            .iter()
            .filter(|m| m.status == "active")
            .map(|m| {
                let entity = match (m.person_id, m.account_role.as_str()) {
                    (Some(p), _) => json!({"reference": format!("Patient/{p}"), "display": m.nickname}),
                    (None, "doctor") => json!({"reference": format!("Practitioner/{}", m.account_id), "display": m.nickname}),
                    _ => json!({"display": m.nickname}),
                };
                json!({"entity": entity, "period": {"start": cst_rfc3339(m.joined_at)}, "inactive": false})
            })
            .collect();
        if !listed.is_empty() {
            obj.insert("member".into(), Value::Array(listed));
        }
    }
    r
}

async fn read(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("Group", &id)?;
    let a = service::access(&state, &actor, id).await?;
    let members = if a.moderator {
        Some(service::members(&state, &actor, id).await?)
    } else {
        None
    };
    Ok(fhir_json(group(&a, members.as_deref())))
}
