//! Health education (健康科普): articles written by doctors and approved by a second doctor,
//! every version kept ([`service`]); a feed ranked for each reader by their diagnoses, region,
//! age group and the season ([`model::score`]); and targeted pushes of an article to the
//! inboxes of a region's or a hospital's patients, written by a resumable fan-out job
//! ([`push`]).

pub mod api;
pub mod model;
pub mod pages;
pub mod push;
pub mod service;
pub mod store;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(api::router()).merge(pages::router())
}
