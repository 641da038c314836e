//! Dispensing and delivery (发药与配送): how a paid prescription reaches the patient — the
//! patient's address book, the pharmacy's queue (pick from stock, pack, hand to a courier or
//! over the counter), couriers behind one trait (`courier`: the built-in sandbox now) whose
//! signed updates move the parcel on, and the patient's confirmation of receipt.

pub mod address;
pub mod api;
pub mod courier;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

pub fn router() -> axum::Router<crate::app::AppState> {
    api::router().merge(pages::router())
}
