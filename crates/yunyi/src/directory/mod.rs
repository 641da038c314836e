//! The directory: hospitals and their departments. This is the foundation's minimal slice
//! (enough for the demo and for the first database-backed pages and API); doctors,
//! privileges, services and support links arrive with the directory issue.

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
