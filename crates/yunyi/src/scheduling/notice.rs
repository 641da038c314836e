//! Telling patients about their appointments (cancelled by the hospital, a waitlist place on
//! hold) through the [`Notifier`](crate::identity::notify::Notifier), on the phone of the
//! account that booked.
//!
//! A notice is a durable job written in the transaction of the change it reports, so it is
//! sent if and only if the change was committed, and retried if the gateway fails.

use crate::app::AppState;
use crate::db::Tx;
use crate::identity::model::Phone;
use crate::identity::notify::Message;
use crate::identity::store as identity_store;
use crate::jobs::{self, BoxFuture, JobContext, JobHandler, JobResult, NewJob};

pub const KIND: &str = "scheduling.notice";

/// The kinds of notice, as the notifier logs them. Other contexts send their account notices
/// through here too (the infection officers' alerts of `surveillance`).
const KINDS: [&str; 5] = [
    "appointment.cancelled_by_hospital",
    "waitlist.offer",
    "epi.flag",
    "epi.overdue",
    "epi.alert",
];

/// Queues a notice to an account in the caller's transaction.
pub async fn enqueue(
    tx: &mut Tx,
    account_id: i64,
    kind: &'static str,
    text: String,
) -> Result<(), sqlx::Error> {
    jobs::enqueue(
        tx,
        &NewJob::new(
            KIND,
            serde_json::json!({"account_id": account_id, "kind": kind, "text": text}),
        ),
    )
    .await
    .map(|_| ())
}

/// `scheduling.notice`: sends one queued notice.
pub struct SendNotices(pub AppState);

impl JobHandler for SendNotices {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(
        &'a self,
        _ctx: &'a JobContext,
        payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, JobResult> {
        Box::pin(async move {
            let account_id = payload["account_id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("notice without account_id"))?;
            let kind = KINDS
                .into_iter()
                .find(|k| payload["kind"] == *k)
                .ok_or_else(|| anyhow::anyhow!("unknown notice kind {}", payload["kind"]))?;
            let text = payload["text"].as_str().unwrap_or_default().to_owned();
            send(&self.0, account_id, kind, text).await
        })
    }
}

async fn send(
    state: &AppState,
    account_id: i64,
    kind: &'static str,
    text: String,
) -> anyhow::Result<()> {
    let Some(account) = identity_store::account(&state.db, account_id).await? else {
        return Ok(());
    };
    let Some(sealed) = account.phone_enc else {
        // No phone on file: the patient sees it under "my appointments".
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
