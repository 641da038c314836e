//! The hospital administrator's formulary pages: the drugs with their class, whether they are
//! prescribed online, price and stock; a price changed in place; a CSV pasted in and imported
//! all or none, with each bad row named.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::Drug;
use super::service;
use super::service as formulary;
use super::store::DrugQuery;
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::web::PageCtx;
use crate::web::page::redirect_with_outcome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/formulary", get(list))
        .route("/admin/formulary/import", post(import))
        .route("/admin/drugs/{id}/price", post(price))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    hospital: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_formulary.html")]
struct FormularyPage {
    page: PageCtx,
    hospital: String,
    q: String,
    drugs: Vec<Drug>,
    csv: String,
    errors: Vec<FieldError>,
    message: String,
}

impl FormularyPage {
    fn yuan(&self, fen: &i64) -> String {
        crate::money::decimal(*fen)
    }

    fn banned(&self, d: &Drug) -> bool {
        d.class().banned_online()
    }
}

async fn page_for(
    state: &AppState,
    page: PageCtx,
    actor: &Actor,
    q: &ListQuery,
) -> AppResult<FormularyPage> {
    let hospital =
        crate::directory::service::managed_hospital(&state.db, actor, q.hospital).await?;
    let text = q.q.clone().filter(|t| !t.trim().is_empty());
    let drugs = formulary::search(
        &state.db,
        hospital.id,
        &DrugQuery {
            text: text.clone(),
            online_only: false,
            after: None,
            limit: 500,
        },
    )
    .await?;
    Ok(FormularyPage {
        page: page.with_nav("formulary"),
        hospital: hospital.name,
        q: text.unwrap_or_default(),
        drugs,
        csv: String::new(),
        errors: Vec::new(),
        message: q.message.clone().unwrap_or_default(),
    })
}

async fn list(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<ListQuery>,
) -> AppResult<FormularyPage> {
    page_for(&state, page, &actor, &q).await
}

#[derive(Deserialize, Default)]
struct ImportForm {
    #[serde(default)]
    csv: String,
}

/// A pasted CSV: imported, or shown again with every bad row named.
async fn import(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    AppForm(form): AppForm<ImportForm>,
) -> AppResult<Response> {
    let hospital = crate::directory::service::managed_hospital(&state.db, &actor, None).await?;
    match service::import_csv(&state, &actor, hospital.id, form.csv.as_bytes()).await {
        Ok(summary) => Ok(Redirect::to(&format!(
            "/admin/formulary?message={}",
            url::form_urlencoded::byte_serialize(
                format!(
                    "{} drugs added, {} updated / 新增 {} 种，更新 {} 种",
                    summary.created, summary.updated, summary.created, summary.updated
                )
                .as_bytes()
            )
            .collect::<String>()
        ))
        .into_response()),
        Err(AppError::Validation(errors)) => {
            let mut shown = page_for(&state, page, &actor, &ListQuery::default()).await?;
            shown.csv = form.csv;
            shown.errors = errors;
            Ok(shown.into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
struct PriceForm {
    #[serde(default)]
    price_yuan: String,
}

async fn price(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<PriceForm>,
) -> AppResult<Redirect> {
    let result = service::set_price(&state, &actor, id, &form.price_yuan)
        .await
        .map(|_| ());
    redirect_with_outcome("/admin/formulary", &[], result)
}
