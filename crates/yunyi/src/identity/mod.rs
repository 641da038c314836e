//! Identity: people (real-name, encrypted identity numbers), accounts and roles, family members
//! a patient acts for, sign-in (password, one-time code, sessions, bearer tokens, throttling),
//! the doctor's identity step-up check, and care links that the access policy reads.

pub mod actor;
pub mod api;
pub mod auth;
pub mod claim_store;
pub mod claims;
pub mod cleanup;
pub mod csrf;
pub mod model;
pub mod notify;
pub mod pages;
pub mod password;
pub mod realname;
pub mod service;
pub mod store;

use axum::Router;

use crate::app::AppState;

pub use actor::{Actor, SignedIn};

pub fn router() -> Router<AppState> {
    Router::new().merge(api::router()).merge(pages::router())
}
