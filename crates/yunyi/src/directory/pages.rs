//! HTML pages: `/hospitals` and `/hospitals/{id}`.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;

use crate::app::AppState;
use crate::error::AppResult;
use crate::paging::{Page, PageRequest};
use crate::web::PageCtx;

use super::model::{Hospital, HospitalDetail};
use super::service;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hospitals", get(list))
        .route("/hospitals/{id}", get(detail))
}

#[derive(Template, WebTemplate)]
#[template(path = "hospitals.html")]
struct HospitalsPage {
    page: PageCtx,
    hospitals: Page<Hospital>,
    limit: i64,
}

async fn list(
    State(state): State<AppState>,
    page: PageCtx,
    RawQuery(query): RawQuery,
) -> AppResult<HospitalsPage> {
    let request = PageRequest::from_query(query.as_deref())?;
    let hospitals = service::list_hospitals(&state.db, request).await?;
    Ok(HospitalsPage {
        page: page.with_nav("hospitals"),
        hospitals,
        limit: request.limit,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "hospital.html")]
struct HospitalPage {
    page: PageCtx,
    detail: HospitalDetail,
}

async fn detail(
    State(state): State<AppState>,
    page: PageCtx,
    Path(id): Path<String>,
) -> AppResult<HospitalPage> {
    let id = service::parse_id(&id)?;
    let detail = service::hospital_detail(&state.db, id).await?;
    Ok(HospitalPage {
        page: page.with_nav("hospitals"),
        detail,
    })
}
