//! Remote training (远程培训): supporting hospitals' courses for the staff of the hospitals they
//! support — lessons as videos served in HTTP ranges or slides as PDF, a short quiz per lesson,
//! progress and completion, and the continuing-education credit hours a hospital exports. The
//! rules are in [`service`], the pure checks and scoring in [`model`].

pub mod api;
pub mod live;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(api::router()).merge(pages::router())
}
