//! Billing (支付): orders with line items in fen for what patients pay, payment gateways
//! behind one trait (`gateway`: the built-in sandbox now), notifications applied once, and
//! refunds that never exceed what was paid.

pub mod api;
pub mod fees;
pub mod gateway;
pub mod pages;
pub mod reconciliation;
pub mod service;
pub mod store;

pub fn router() -> axum::Router<crate::app::AppState> {
    api::router().merge(pages::router())
}
