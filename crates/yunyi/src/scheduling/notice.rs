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
use crate::jobs::{self, Job, JobContext, JobResult, NewJob, Payload};

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
        &NewJob::of(&Notice {
            account_id,
            kind: kind.to_owned(),
            text,
        }),
    )
    .await
    .map(|_| ())
}

/// `scheduling.notice`: sends one queued notice.
pub struct SendNotices(pub AppState);

/// The payload of `scheduling.notice`: who, which kind of notice, and its text.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    pub account_id: i64,
    pub kind: String,
    pub text: String,
}

impl Payload for Notice {
    const KIND: &'static str = KIND;
}

impl Job for SendNotices {
    type Payload = Notice;

    async fn run(&self, _ctx: &JobContext, notice: Notice) -> JobResult {
        let kind = KINDS
            .into_iter()
            .find(|k| notice.kind == *k)
            .ok_or_else(|| anyhow::anyhow!("unknown notice kind {}", notice.kind))?;
        send(&self.0, notice.account_id, kind, notice.text).await
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
