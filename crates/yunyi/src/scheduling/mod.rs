//! Scheduling (分时段预约): doctors' schedules, time slots with release times, and appointments.
//!
//! Booking never sells a slot twice: one conditional `UPDATE slot SET booked = booked + 1 WHERE
//! booked < capacity AND released`, in the same transaction as the appointment insert, plus a
//! `CHECK (booked <= capacity)` and a partial unique index for "one appointment per patient per
//! doctor per day". The database decides races, so several server processes on one PostgreSQL
//! stay correct. Times are UTC epoch milliseconds; days and clock times are China Standard Time
//! (UTC+8, no daylight saving).

pub mod api;
pub mod booking_pages;
pub mod full_gate;
pub mod group_commit;
pub mod model;
pub mod notice;
pub mod pages;
pub mod plan;
pub mod plan_store;
pub mod release;
pub mod reminders;
pub mod service;
pub mod staff_pages;
pub mod statistics;
pub mod statistics_store;
pub mod store;
pub mod waitlist;
pub mod waitlist_store;

pub fn router() -> axum::Router<crate::app::AppState> {
    api::router()
        .merge(pages::router())
        .merge(booking_pages::router())
        .merge(staff_pages::router())
}
