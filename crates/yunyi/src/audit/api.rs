//! `GET /api/v1/audit-events`: the audit trail as JSON, filtered and paged newest first.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::service;
use crate::app::AppState;
use crate::error::AppResult;
use crate::identity::Actor;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit-events", get(list))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list))]
pub struct ApiDoc;

/// A page of the trail, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventPage {
    items: Vec<super::Event>,
    /// Pass as `before` for the next (older) page; null on the last page.
    next_before: Option<i64>,
}

/// Filters of the trail; officers and regulators see all, a hospital admin their hospital's.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by the document only
struct EventQuery {
    /// Events of this account.
    #[param(minimum = 1)]
    actor: Option<i64>,
    /// Events about this patient.
    #[param(minimum = 1)]
    patient: Option<i64>,
    /// Events older than this id (paging).
    #[param(minimum = 1)]
    before: Option<i64>,
    /// The action, e.g. `patient.read`.
    action: Option<String>,
    /// `success`, `denied` or `failure`.
    outcome: Option<String>,
    /// Only break-glass and other flagged events.
    flagged: Option<bool>,
    /// How many events (1–100, default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// Search the audit trail.
#[utoipa::path(get, path = "/api/v1/audit-events", params(EventQuery),
    responses((status = 200, description = "Events, newest first", body = EventPage)))]
async fn list(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Json<EventPage>> {
    let filter = service::parse_filter(query.as_deref())?;
    let limit = usize::try_from(filter.limit).unwrap_or(50);
    let events = service::search(&state, &actor, filter).await?;
    // Newest first: the next page is everything before the oldest event shown.
    let next_before = (events.len() == limit)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok(Json(EventPage {
        items: events,
        next_before,
    }))
}
