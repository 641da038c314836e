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
use crate::dispensing::service::ChoiceInput;
use crate::error::{AppError, AppResult};
use crate::extract::AppForm;
use crate::identity::Actor;
use crate::web::PageCtx;
use crate::web::page::redirect_with_outcome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/prescriptions/{id}/pay", post(pay))
        .route("/sandbox/pay/{order}", get(checkout).post(decide))
}

/// How the patient wants the medicine, as the prescription page's form sends it.
#[derive(Deserialize, Default)]
struct PayForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    address_id: String,
    #[serde(default)]
    pharmacy_id: String,
}

impl PayForm {
    fn choice(&self) -> AppResult<ChoiceInput> {
        let id = |field: &str, raw: &str| -> AppResult<Option<i64>> {
            match raw.trim() {
                "" => Ok(None),
                raw => raw
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| AppError::invalid(field, "choose one from the list")),
            }
        };
        Ok(ChoiceInput {
            method: Some(self.method.clone()).filter(|m| !m.trim().is_empty()),
            address_id: id("address_id", &self.address_id)?,
            pharmacy_id: id("pharmacy_id", &self.pharmacy_id)?,
        })
    }
}

async fn pay(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    AppForm(form): AppForm<PayForm>,
) -> AppResult<Redirect> {
    let id = crate::extract::path_id("prescription", &id)?;
    let ordered = match form.choice() {
        Ok(choice) => service::order_prescription(&state, &actor, id, &choice).await,
        Err(e) => Err(e),
    };
    match ordered {
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
