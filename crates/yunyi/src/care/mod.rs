//! Whole-course care (全病程管理): care teams of a hospital, and family-doctor contracts
//! (家庭医生签约) that make a team the patient's first contact for a year and give its members
//! a care link to the patient. The rules are in [`service`], the contract's expiry in
//! [`expiry`].

pub mod api;
pub mod expiry;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(api::router()).merge(pages::router())
}
