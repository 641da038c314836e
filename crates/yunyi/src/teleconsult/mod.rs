//! Remote consultation between hospitals (远程会诊): a doctor of the inviting hospital asks an
//! invited hospital's specialist for an opinion on a patient in their care, with the patient's
//! informed consent and the record items they choose to share; the lifecycle is
//! [`model::transition`], the rules and who may take each step are in [`service`], due-time
//! reminders in [`reminders`], the session's video room in [`room`].

pub mod api;
pub mod model;
pub mod pages;
pub mod reminders;
pub mod room;
pub mod service;
pub mod store;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(api::router()).merge(pages::router())
}
