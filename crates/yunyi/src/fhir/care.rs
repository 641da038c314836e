//! Whole-course care in FHIR (issue #21): a care plan as a `CarePlan` (its template's
//! activities, each follow-up questionnaire as a scheduled activity, the team as its
//! `careTeam`) and a care team as a `CareTeam` (members with their roles, the hospital as the
//! managing organization). Reads go through the care services (same access, same audit).

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::teleconsult::{organization, practitioner};
use super::{Bundle, fhir_json, params, parse_paging, parse_resource_id, reference, unsupported};
use crate::app::AppState;
use crate::care::plan::{self, PlanView};
use crate::care::plan_store::{FollowupStatus, PlanStatus};
use crate::care::protocol;
use crate::care::service::{self as teams, TeamView};
use crate::error::AppResult;
use crate::identity::Actor;
use crate::web::i18n::Lang;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/CarePlan", get(search_plans))
        .route("/fhir/CarePlan/{id}", get(read_plan))
        .route("/fhir/CareTeam/{id}", get(read_team))
}

/// A follow-up's `care-plan-activity-status`.
fn activity_status(s: FollowupStatus) -> &'static str {
    match s {
        FollowupStatus::Scheduled => "scheduled",
        FollowupStatus::Sent => "in-progress",
        FollowupStatus::Answered => "completed",
        // Unanswered in time: the team chases it; it may still be answered.
        FollowupStatus::Missed => "on-hold",
        FollowupStatus::Cancelled => "cancelled",
    }
}

pub fn care_plan(p: &PlanView) -> Value {
    let zh = Lang::Zh;
    let mut activity: Vec<Value> = protocol::template(&p.template)
        .map(|t| protocol::template_keys(t).1)
        .unwrap_or_default()
        .iter()
        .map(|key| json!({"detail": {"status": "in-progress", "description": zh.t(key)}}))
        .collect();
    for f in &p.followups {
        activity.push(json!({"detail": {
            "kind": "Task",
            "code": {"text": zh.t(&format!("plan.q.{}", f.questionnaire))},
            "status": activity_status(f.status),
            "scheduledPeriod": {"start": f.due_at},
        }}));
    }
    let goals: Vec<Value> = protocol::template(&p.template)
        .map(|t| protocol::template_keys(t).0)
        .unwrap_or_default()
        .iter()
        .map(|key| json!({"text": zh.t(key)}))
        .collect();
    let mut out = json!({
        "resourceType": "CarePlan",
        "id": p.id.to_string(),
        "status": match p.status {
            PlanStatus::Active => "active",
            PlanStatus::Ended => "completed",
        },
        "intent": "plan",
        "category": [{"coding": [{"system": "urn:yunyi:care-plan-template", "code": p.template}]}],
        "title": zh.t(&format!("plan.t.{}", p.template)),
        "description": goals.iter().filter_map(|g| g["text"].as_str()).collect::<Vec<_>>().join("；"),
        "subject": {"reference": format!("Patient/{}", p.person.id), "display": p.person.name},
        "period": {"start": p.starts_on},
        "careTeam": [{"reference": format!("CareTeam/{}", p.team.id), "display": p.team.name}],
        "activity": activity,
    });
    if let Some(obj) = out.as_object_mut()
        && !p.note.is_empty()
    {
        obj.insert("note".into(), json!([{"text": p.note}]));
    }
    out
}

pub fn care_team(t: &TeamView) -> Value {
    let zh = Lang::Zh;
    let participant: Vec<Value> = t
        .members
        .iter()
        .map(|m| {
            json!({
                "role": [{"coding": [{"system": "urn:yunyi:care-team-role", "code": m.role.as_str()}],
                          "text": zh.t(&format!("care.role.{}", m.role))}],
                "member": practitioner(m.id, &m.name),
            })
        })
        .collect();
    json!({
        "resourceType": "CareTeam",
        "id": t.id.to_string(),
        "status": "active",
        "category": [{"coding": [{"system": "urn:yunyi:care-team-kind", "code": t.kind.as_str()}]}],
        "name": t.name,
        "participant": participant,
        "managingOrganization": [organization(t.hospital.id, &t.hospital.name)],
    })
}

async fn read_plan(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("CarePlan", &id)?;
    Ok(fhir_json(care_plan(&plan::plan(&state, &actor, id).await?)))
}

async fn read_team(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("CareTeam", &id)?;
    Ok(fhir_json(care_team(
        &teams::team(&state, &actor, id).await?,
    )))
}

/// `GET /fhir/CarePlan?patient=`: the reader's plans (a patient's and their family's, a team
/// member's teams'), of one patient when asked, newest first.
async fn search_plans(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let mut patient = None;
    for (k, v) in params(query.as_deref()) {
        match k.as_str() {
            "patient" | "subject" => patient = Some(reference(&k, "Patient", &v)?),
            "_count" | "_offset" | "_summary" => {}
            other => return Err(unsupported(other)),
        }
    }
    let paging = parse_paging(query.as_deref())?;
    let found: Vec<i64> = plan::plans(&state, &actor)
        .await?
        .into_iter()
        .filter(|p| patient.is_none_or(|x| p.person.id == x))
        .map(|p| p.id)
        .collect();
    let mut bundle = Bundle::searchset("CarePlan", query.as_deref(), paging);
    for id in paging.window(found) {
        bundle.push(care_plan(&plan::plan(&state, &actor, id).await?));
    }
    Ok(fhir_json(bundle.finish()?))
}
