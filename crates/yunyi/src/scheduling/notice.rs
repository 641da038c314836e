//! Telling patients about their appointments (cancelled by the hospital, a waitlist place on
//! hold) through the [`Notifier`](crate::identity::notify::Notifier), on the phone of the
//! account that booked.
//!
//! Sent after the change is committed and best effort: a failed message is logged and the
//! change stands, because the patient also sees it under "my appointments".

use crate::app::AppState;
use crate::identity::model::Phone;
use crate::identity::notify::Message;
use crate::identity::store as identity_store;

pub async fn send(state: &AppState, account_id: i64, kind: &'static str, text: String) {
    if let Err(e) = try_send(state, account_id, kind, text).await {
        tracing::warn!(
            account_id,
            kind,
            error = format!("{e:#}"),
            "notice not sent"
        );
    }
}

async fn try_send(
    state: &AppState,
    account_id: i64,
    kind: &'static str,
    text: String,
) -> anyhow::Result<()> {
    let Some(account) = identity_store::account(&state.db, account_id).await? else {
        return Ok(());
    };
    let Some(sealed) = account.phone_enc else {
        return Ok(());
    };
    let phone = Phone::parse(&state.keys.decrypt(&sealed)?).map_err(anyhow::Error::msg)?;
    state
        .notifier
        .send(&Message {
            to: phone,
            kind,
            text,
        })
        .await
}
