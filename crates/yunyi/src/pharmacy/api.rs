//! The formulary over the JSON API: searching a hospital's drugs (public, as drug prices are
//! published), one drug with its stock, and importing a CSV (the hospital's administrators).

use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::model::Drug;
use super::service::{self, DrugView, ImportSummary};
use super::store::DrugQuery;
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::identity::Actor;
use crate::paging::{Page, PageRequest};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/hospitals/{id}/drugs", get(search))
        .route("/api/v1/hospitals/{id}/formulary", post(import))
        .route("/api/v1/drugs/{id}", get(read))
}

/// `GET /api/v1/hospitals/{id}/drugs?q=氨氯地平&online=true&after=&limit=`
async fn search(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> AppResult<Json<Page<Drug>>> {
    let hospital = crate::extract::path_id("hospital", &id)?;
    let page = PageRequest::from_query(query.as_deref())?;
    let mut q = DrugQuery {
        after: page.after,
        limit: page.fetch_limit(),
        ..DrugQuery::default()
    };
    let mut errors = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let v = value.trim();
        match key.as_ref() {
            "q" if !v.is_empty() => q.text = Some(v.chars().take(40).collect()),
            "online" => match v {
                "true" => q.online_only = true,
                "false" | "" => q.online_only = false,
                _ => errors.push(FieldError::new("online", "must be true or false")),
            },
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let rows = service::search(&state.db, hospital, &q).await?;
    Ok(Json(Page::from_rows(rows, &page, |d| d.id)))
}

async fn read(State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Json<DrugView>> {
    let id = crate::extract::path_id("drug", &id)?;
    Ok(Json(service::drug(&state.db, id).await?))
}

/// `POST /api/v1/hospitals/{id}/formulary` with the CSV as the body: all rows or none.
async fn import(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> AppResult<Json<ImportSummary>> {
    let hospital = crate::extract::path_id("hospital", &id)?;
    Ok(Json(
        service::import_csv(&state, &actor, hospital, &body).await?,
    ))
}
