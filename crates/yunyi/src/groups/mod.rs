//! Patient groups (云端病友会): groups per condition or care programme, hosted by a hospital
//! and led by its doctors and nurses ([`service`]); members by nickname only; a chat over
//! the consultation chat's transport ([`chat`], [`hub`]) with pinned announcements, polls
//! and scheduled live Q&A; and moderation — a sensitive-word screen ([`model::screen`]),
//! reports, mutes and removals, every moderator action audited.

pub mod api;
pub mod chat;
pub mod hub;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(api::router()).merge(pages::router())
}
