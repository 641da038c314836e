//! The notification centre (消息中心): every event a person should know about — a doctor took
//! their consultation, a visit tomorrow, a prescription approved, a parcel on its way, an
//! officer's alert — is written as one notification in the transaction of the change it
//! reports ([`service::notify`]). The in-app inbox shows it (in the reader's language, from the
//! catalogue's templates) with an unread count in the header that updates on open pages
//! ([`bell`]); a durable job then delivers it by the other channels (SMS through the
//! [`Notifier`](crate::identity::notify::Notifier)) under the person's preferences, quiet
//! hours and a rate limit, each delivery claimed once so that a job run twice sends once.

pub mod aliyun_sms;
pub mod api;
pub mod bell;
pub mod channels;
pub mod deliver;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;
pub mod web_push;
pub mod wechat;
pub mod wechat_sandbox;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(api::router())
        .merge(pages::router())
        .merge(wechat_sandbox::router())
}
