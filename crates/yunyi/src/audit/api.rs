//! `GET /api/v1/audit-events`: the audit trail as JSON, filtered and paged newest first.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::service;
use crate::app::AppState;
use crate::error::AppResult;
use crate::identity::Actor;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit-events", get(list))
}

async fn list(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Json<serde_json::Value>> {
    let filter = service::parse_filter(query.as_deref())?;
    let limit = usize::try_from(filter.limit).unwrap_or(50);
    let events = service::search(&state, &actor, filter).await?;
    // Newest first: the next page is everything before the oldest event shown.
    let next_before = (events.len() == limit)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok(Json(json!({"items": events, "next_before": next_before})))
}
