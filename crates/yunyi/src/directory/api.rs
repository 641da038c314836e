//! JSON API: `/api/v1/hospitals`.

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};

use crate::app::AppState;
use crate::error::AppResult;
use crate::paging::{Page, PageRequest};

use super::model::{Hospital, HospitalDetail};
use super::service;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/hospitals", get(list))
        .route("/api/v1/hospitals/{id}", get(detail))
}

async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AppResult<Json<Page<Hospital>>> {
    let page = PageRequest::from_query(query.as_deref())?;
    Ok(Json(service::list_hospitals(&state.db, page).await?))
}

async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Json<HospitalDetail>> {
    let id = service::parse_id(&id)?;
    Ok(Json(service::hospital_detail(&state.db, id).await?))
}
