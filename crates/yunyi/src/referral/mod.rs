//! Two-way referral between hospitals (双向转诊): up from a grassroots or county hospital to a
//! tertiary one, down for rehabilitation and chronic follow-up. The lifecycle is
//! [`model::transition`]; who may take each step is in [`service`].

pub mod api;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(api::router()).merge(pages::router())
}
