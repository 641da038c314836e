//! `scheduling.notice`: the text messages queued before the notification centre
//! (`notification`) took over. Nothing queues this job any more; its handler stays for one
//! release so that messages already waiting in a deployment's outbox are still sent.

use crate::app::AppState;
use crate::identity::notify::Message;
use crate::jobs::{Job, JobContext, JobResult, Payload};

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
    // No phone on file: the patient sees it under "my appointments".
    let Some(to) = crate::notification::deliver::phone_of(state, account_id).await? else {
        return Ok(());
    };
    let params = Default::default();
    let message = Message {
        to,
        kind,
        text,
        params,
    };
    state.notifier.send(&message).await
}
