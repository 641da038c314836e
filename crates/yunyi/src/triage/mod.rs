//! Smart triage (智慧导医分诊) in the app: the `triage` crate's answer joined with hospitals'
//! departments (by their standard codes) and doctors with free time, an anonymised record of
//! each triage and the patient's choice, the API, the chat-like page, and the `yunyi triage`
//! command for evaluation.

pub mod api;
pub mod cli;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

pub fn router() -> axum::Router<crate::app::AppState> {
    api::router().merge(pages::router())
}
