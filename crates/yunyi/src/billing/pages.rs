//! Paying on the pages: the patient's "pay" on an approved prescription, and the sandbox
//! gateway's hosted pay page, where the payer approves or declines. The sandbox then sends its
//! signed notification through the same path a real gateway's takes.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;

use super::gateway::{Notification, SandboxGateway};
use super::service::{self, OrderView};
use crate::app::AppState;
use crate::error::AppResult;
use crate::extract::AppForm;
use crate::identity::Actor;
use crate::web::PageCtx;
use crate::web::page::redirect_with_outcome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/prescriptions/{id}/pay", post(pay))
        .route("/sandbox/pay/{order}", get(checkout).post(decide))
}

async fn pay(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Redirect> {
    let id = crate::extract::path_id("prescription", &id)?;
    match service::order_prescription(&state, &actor, id).await {
        Ok(v) => Ok(Redirect::to(
            &v.pay_url.unwrap_or_else(|| format!("/prescriptions/{id}")),
        )),
        Err(e) => redirect_with_outcome(&format!("/prescriptions/{id}"), &[], Err(e)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "sandbox_pay.html")]
struct CheckoutPage {
    page: PageCtx,
    order: OrderView,
}

impl CheckoutPage {
    fn yuan(&self, fen: &i64) -> String {
        crate::money::yuan(*fen)
    }
}

async fn checkout(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Path(order): Path<String>,
) -> AppResult<CheckoutPage> {
    let id = crate::extract::path_id("order", &order)?;
    let order = service::read(&state, &actor, id).await?;
    Ok(CheckoutPage {
        page: page.with_nav("prescriptions"),
        order,
    })
}

#[derive(Deserialize, Default)]
struct Decision {
    #[serde(default)]
    decision: String,
}

/// The payer's choice, turned into the sandbox's signed notification.
async fn decide(
    State(state): State<AppState>,
    actor: Actor,
    Path(order): Path<String>,
    AppForm(form): AppForm<Decision>,
) -> AppResult<Redirect> {
    let id = crate::extract::path_id("order", &order)?;
    let order = service::read(&state, &actor, id).await?;
    let back = format!("/{}s/{}", order.order.subject_type, order.order.subject_id);
    let sandbox = SandboxGateway::new(state.keys.sandbox_pay_secret());
    let n = Notification {
        gateway_txn: format!("SBX{}", crate::crypto::random_token()),
        order_id: id,
        event: if form.decision == "approve" {
            "paid".to_owned()
        } else {
            "declined".to_owned()
        },
        amount_fen: order.order.total_fen,
    };
    let (body, signature) = sandbox.notification(&n);
    let result = service::notify(&state, &body, &signature).await.map(|_| ());
    redirect_with_outcome(&back, &[], result)
}
