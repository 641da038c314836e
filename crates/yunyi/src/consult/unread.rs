//! A doctor's reply the patient has not read within a few minutes — the page closed, the phone
//! in a pocket — becomes a notification (医生回复了您), by SMS too unless they turned it off.
//!
//! After a doctor's message a job is queued for a few minutes later, at most one per
//! consultation per window (by dedupe key), so a doctor typing ten lines queues one check, not
//! ten, and the chat's write path gains one conditional insert. The job compares the read
//! mark of the account that asked for the consultation with the message's number: read
//! meanwhile, nothing is sent.

use crate::app::AppState;
use crate::jobs::{self, Job, JobContext, JobResult, NewJob, Payload};
use crate::notification::model::{Event, Notice};

pub const KIND: &str = "consult.unread_reply";
/// How long a reply may wait unread before the patient is told.
const AFTER_MS: i64 = 3 * 60_000;

/// The payload: which consultation, and the doctor's message that started the wait.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct UnreadReply {
    pub consultation_id: i64,
    pub seq: i64,
}

impl Payload for UnreadReply {
    const KIND: &'static str = KIND;
}

/// After the doctor's message `seq` was stored: check back in a few minutes. A failure to
/// queue loses a reminder, never the message, so it is logged rather than returned.
pub async fn watch(state: &AppState, consultation_id: i64, seq: i64, now: i64) {
    let window = now / AFTER_MS;
    let job = NewJob::of(&UnreadReply {
        consultation_id,
        seq,
    })
    .dedupe_key(format!("{KIND}:{consultation_id}:{window}"))
    .run_at(now + AFTER_MS);
    if let Err(e) = jobs::enqueue_now(&state.db, &job).await {
        tracing::warn!(error = %e, consultation = consultation_id, "could not queue the unread-reply check");
    }
}

/// The job's handler.
pub struct RemindUnreadReplies(pub AppState);

impl Job for RemindUnreadReplies {
    type Payload = UnreadReply;

    async fn run(&self, ctx: &JobContext, job: UnreadReply) -> JobResult {
        let state = &self.0;
        let Some(c) = super::store::consultation(&state.db, job.consultation_id).await? else {
            return Ok(());
        };
        let read = super::store::read_marks(&state.db, c.id)
            .await?
            .into_iter()
            .find(|(account, _)| *account == c.requested_by)
            .map_or(0, |(_, seq)| seq);
        if read >= job.seq {
            return Ok(());
        }
        let doctor = match c.doctor_id {
            Some(d) => crate::directory::service::doctor_name(&state.db, d).await?,
            None => String::new(),
        };
        let notice = Notice::new(
            c.requested_by,
            Event::ConsultationReply,
            format!("consultation:{}:reply:{}", c.id, job.seq),
        )
        .param("doctor", doctor)
        .link(format!("/consultations/{}", c.id));
        let mut tx = state.db.begin().await?;
        crate::notification::service::notify(&mut tx, &notice, ctx.now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }
}
