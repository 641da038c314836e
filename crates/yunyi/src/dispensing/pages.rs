//! Dispensing pages: the patient's address book, the pharmacist's dispensing queue with its
//! moves, the patient's "received" on a prescription's page, and the sandbox courier's
//! console, where staff stand in for the courier and send its signed updates through the
//! same path a real courier's take.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;

use super::address::{self, AddressView};
use super::courier::{SandboxCourier, TrackingUpdate};
use super::model::AddressInput;
use super::service::{self, FulfilmentView};
use super::store::FulfilmentRow;
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::web::PageCtx;
use crate::web::filters;
use crate::web::page::redirect_with_outcome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/addresses", get(addresses).post(add_address))
        .route("/addresses/{id}/remove", post(remove_address))
        .route("/addresses/{id}/default", post(make_default))
        .route("/pharmacist/dispensing", get(queue))
        .route("/fulfilments/{id}/{action}", post(act))
        .route(
            "/sandbox/courier/{id}",
            get(courier_console).post(courier_step),
        )
}

#[derive(Deserialize, Default)]
struct MessageQuery {
    #[serde(default)]
    message: Option<String>,
    /// Where to go back to after adding an address (the prescription being paid).
    #[serde(default)]
    back: Option<String>,
}

/// Only a path on this site: never an open redirect.
fn local(back: Option<&str>, fallback: &str) -> String {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => b.to_owned(),
        _ => fallback.to_owned(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "addresses.html")]
struct AddressesPage {
    page: PageCtx,
    items: Vec<AddressView>,
    form: AddressInput,
    errors: Vec<FieldError>,
    message: String,
    back: String,
}

async fn addresses(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<AddressesPage> {
    Ok(AddressesPage {
        page: page.with_nav("prescriptions"),
        items: address::list(&state, &actor, None).await?,
        form: AddressInput::default(),
        errors: Vec::new(),
        message: q.message.unwrap_or_default(),
        back: local(q.back.as_deref(), ""),
    })
}

#[derive(Deserialize, Default)]
struct AddressForm {
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    is_default: Option<String>,
    #[serde(default)]
    back: String,
}

async fn add_address(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    AppForm(form): AppForm<AddressForm>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let input = AddressInput {
        recipient: form.recipient,
        phone: form.phone,
        region: form.region,
        detail: form.detail,
        is_default: form.is_default.is_some(),
    };
    let back = local(Some(&form.back), "");
    match address::add(&state, &actor, None, &input).await {
        Ok(_) if !back.is_empty() => Ok(Redirect::to(&back).into_response()),
        Ok(_) => Ok(Redirect::to("/addresses?message=ok").into_response()),
        Err(AppError::Validation(errors)) => Ok(AddressesPage {
            page: page.with_nav("prescriptions"),
            items: address::list(&state, &actor, None).await?,
            form: input,
            errors,
            message: String::new(),
            back,
        }
        .into_response()),
        Err(e) if e.is_conflict() => Ok(AddressesPage {
            page: page.with_nav("prescriptions"),
            items: address::list(&state, &actor, None).await?,
            form: input,
            errors: Vec::new(),
            message: e.to_string(),
            back,
        }
        .into_response()),
        Err(e) => Err(e),
    }
}

async fn remove_address(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    redirect_with_outcome("/addresses", &[], address::remove(&state, &actor, id).await)
}

async fn make_default(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    let result = address::make_default(&state, &actor, id).await.map(|_| ());
    redirect_with_outcome("/addresses", &[], result)
}

#[derive(Template, WebTemplate)]
#[template(path = "dispensing.html")]
struct QueuePage {
    page: PageCtx,
    items: Vec<FulfilmentView>,
    message: String,
}

async fn queue(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<QueuePage> {
    Ok(QueuePage {
        page: page.with_nav("dispensing"),
        items: service::work_queue(&state, &actor).await?,
        message: q.message.unwrap_or_default(),
    })
}

#[derive(Deserialize, Default)]
struct MoveForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

fn optional(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

/// A move from a page (pharmacy buttons, the patient's "received"), then back where it came
/// from with the outcome.
async fn act(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, action)): Path<(String, String)>,
    AppForm(form): AppForm<MoveForm>,
) -> AppResult<Redirect> {
    let id = crate::extract::path_id("fulfilment", &id)?;
    let result = super::api::perform(
        &state,
        &actor,
        id,
        &action,
        optional(&form.code),
        optional(&form.reason),
    )
    .await
    .map(|_| ());
    let back = local(Some(&form.back), "/pharmacist/dispensing");
    redirect_with_outcome(&back, &[], result)
}

#[derive(Template, WebTemplate)]
#[template(path = "sandbox_courier.html")]
struct CourierPage {
    page: PageCtx,
    parcel: FulfilmentRow,
    message: String,
}

async fn courier_console(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<CourierPage> {
    Ok(CourierPage {
        page: page.with_nav("dispensing"),
        parcel: service::sandbox_parcel(&state, &actor, id).await?,
        message: q.message.unwrap_or_default(),
    })
}

#[derive(Deserialize, Default)]
struct StepForm {
    #[serde(default)]
    event: String,
    #[serde(default)]
    note: String,
}

/// The courier's step, turned into the sandbox's signed update.
async fn courier_step(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<StepForm>,
) -> AppResult<Redirect> {
    let parcel = service::sandbox_parcel(&state, &actor, id).await?;
    let sandbox = SandboxCourier::new(state.keys.sandbox_courier_secret());
    let update = TrackingUpdate {
        update_id: crate::crypto::random_token(),
        tracking_no: parcel.tracking_no.unwrap_or_default(),
        event: form.event,
        note: optional(&form.note).map(str::to_owned),
    };
    let (body, signature) = sandbox.update(&update);
    let result = match service::courier_update(&state, &body, &signature).await {
        Ok(service::UpdateOutcome::Ignored) => Err(AppError::wrong_state(
            "the parcel is not where that step follows; nothing changed",
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    };
    redirect_with_outcome(&format!("/sandbox/courier/{id}"), &[], result)
}
