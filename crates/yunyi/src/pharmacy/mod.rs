//! Pharmacy (药事): each hospital's formulary with the regulatory classes that keep some drugs
//! off internet prescriptions, its pharmacies and stock, the drug-interaction table, and the
//! prescription safety checks (`checks`, pure) used at writing and at pharmacist review.

pub mod admin_pages;
pub mod api;
pub mod checks;
pub mod model;
pub mod pages;
pub mod prescribing;
pub mod prescription;
pub mod prescription_store;
pub mod refill;
pub mod review;
pub mod service;
pub mod store;

pub fn router() -> axum::Router<crate::app::AppState> {
    api::router()
        .merge(pages::router())
        .merge(admin_pages::router())
}
