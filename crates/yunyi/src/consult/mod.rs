//! Online consultation (在线咨询, 图文/视频问诊, 复诊): a patient's request with its intake, the
//! follow-up rule, a doctor's queue, and the lifecycle as an explicit state machine
//! (`model::transition`), each move stored with who, when and why.

pub mod api;
pub mod chat;
pub mod conversation;
pub mod expiry;
pub mod hub;
pub mod ice;
pub mod lifecycle;
pub mod message_writer;
pub mod model;
pub mod note;
pub mod pages;
pub mod records;
pub mod service;
pub mod store;
pub mod unread;

pub fn router() -> axum::Router<crate::app::AppState> {
    api::router().merge(pages::router())
}
