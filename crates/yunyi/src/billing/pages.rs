//! Paying on the pages: the patient's "pay" on an approved prescription, and the sandbox
//! gateway's hosted pay page, where the payer approves or declines. The sandbox then sends its
//! signed notification through the same path a real gateway's takes.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;

use super::gateway::{Notification, SandboxGateway};
use super::reconciliation;
use super::service::{self, OrderView};
use crate::app::AppState;
use crate::dispensing::service::ChoiceInput;
use crate::error::{AppError, AppResult};
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::web::page::redirect_with_outcome;
use crate::web::{PageCtx, filters};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/prescriptions/{id}/pay", post(pay))
        .route("/sandbox/pay/{order}", get(checkout).post(decide))
        .route("/consultations/{id}/pay", post(pay_consultation))
        .route("/appointments/{id}/pay", post(pay_appointment))
        .route("/admin/reconciliation", get(reconciliation_page))
        .route("/admin/reconciliation.csv", get(reconciliation_csv))
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
    PathId(id): PathId,
    AppForm(form): AppForm<PayForm>,
) -> AppResult<Redirect> {
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
    let back = match order.order.subject_type.as_str() {
        "appointment" => "/appointments".to_owned(),
        kind => format!("/{kind}s/{}", order.order.subject_id),
    };
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

#[derive(Deserialize, Default)]
struct DayQuery {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    hospital: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "reconciliation.html")]
struct ReconciliationPage {
    page: PageCtx,
    hospital: String,
    report: Option<reconciliation::Report>,
    date: String,
    message: String,
}

/// The administrator's daily reconciliation: a bad date is said on the page, not a 4xx.
async fn reconciliation_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<DayQuery>,
) -> AppResult<ReconciliationPage> {
    let hospital =
        crate::directory::service::managed_hospital(&state.db, &actor, q.hospital).await?;
    let today = crate::time::cst_today(state.now_ms());
    let (report, message, date) = match reconciliation::parse_date(q.date.as_deref(), today) {
        Ok(day) => (
            Some(reconciliation::report(&state, &actor, hospital.id, day).await?),
            String::new(),
            day.to_string(),
        ),
        Err(e) => (None, e.to_string(), q.date.clone().unwrap_or_default()),
    };
    Ok(ReconciliationPage {
        page: page.with_nav("reconciliation"),
        hospital: hospital.name,
        report,
        date,
        message,
    })
}

async fn reconciliation_csv(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<DayQuery>,
) -> AppResult<axum::response::Response> {
    let hospital =
        crate::directory::service::managed_hospital(&state.db, &actor, q.hospital).await?;
    let day =
        reconciliation::parse_date(q.date.as_deref(), crate::time::cst_today(state.now_ms()))?;
    let report = reconciliation::report(&state, &actor, hospital.id, day).await?;
    Ok(super::api::csv_response(&report))
}

/// The consultation fee: to the gateway's pay page, or back saying why not.
async fn pay_consultation(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    to_checkout(
        super::fees::pending_order(&state, &actor, "consultation", id).await,
        &format!("/consultations/{id}"),
    )
}

/// An appointment's registration fee, paid online.
async fn pay_appointment(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    to_checkout(
        super::fees::order_appointment(&state, &actor, id).await,
        "/appointments",
    )
}

fn to_checkout(order: AppResult<OrderView>, back: &str) -> AppResult<Redirect> {
    match order {
        Ok(v) => Ok(Redirect::to(&v.pay_url.unwrap_or_else(|| back.to_owned()))),
        Err(e) => redirect_with_outcome(back, &[], Err(e)),
    }
}
