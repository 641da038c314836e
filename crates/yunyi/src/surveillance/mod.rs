//! Epidemic screening and surveillance (issue #9): screening rules per hospital (`rules`),
//! screening where patients speak (`screen`), suspected cases and their escalation (`model`,
//! `cases`), and aberration detection on daily counts with the `aberration` crate
//! (`ears_cli` for epidemiologists).

pub mod api;
pub mod cases;
pub mod chart;
pub mod dashboard;
pub mod ears_cli;
pub mod model;
pub mod pages;
pub mod report;
pub mod rules;
pub mod scan;
pub mod screen;
pub mod store;
pub mod synthetic;

pub fn router() -> axum::Router<crate::app::AppState> {
    api::router().merge(pages::router())
}
