//! Whole-course care (全病程管理): care teams of a hospital, and family-doctor contracts
//! (家庭医生签约) that make a team the patient's first contact for a year and give its members
//! a care link to the patient. The rules are in [`service`], the contract's expiry in
//! [`expiry`].

pub mod api;
pub mod expiry;
pub mod followup;
pub mod model;
pub mod pages;
pub mod plan;
pub mod plan_api;
pub mod plan_pages;
pub mod plan_store;
pub mod protocol;
pub mod record;
pub mod report;
pub mod report_api;
pub mod report_pages;
pub mod report_store;
pub mod service;
pub mod store;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(api::router())
        .merge(plan_api::router())
        .merge(pages::router())
        .merge(plan_pages::router())
        .merge(report_api::router())
        .merge(report_pages::router())
}
