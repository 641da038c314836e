//! Due-time reminders: each step that has a due time (the answer, the schedule, the session,
//! the report, its receipt) queues one job for a while before it is due, in the transaction
//! that started the step (so a reminder exists iff the step does, and its dedupe key makes it
//! once per step). When it runs and the consultation is still at that step with that due
//! time, whoever's step it is hears of it; otherwise it does nothing.

use super::model::Status;
use crate::app::AppState;
use crate::jobs::{Job, JobContext, JobResult, Payload};
use crate::notification::model::{Event, Notice};

pub const KIND: &str = "teleconsult.due";

/// The payload: which consultation, at which step, due when.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Due {
    pub teleconsult_id: i64,
    pub status: String,
    pub due_at: i64,
}

impl Payload for Due {
    const KIND: &'static str = KIND;
}

/// The job's handler.
pub struct RemindDue(pub AppState);

impl Job for RemindDue {
    type Payload = Due;

    async fn run(&self, ctx: &JobContext, job: Due) -> JobResult {
        let state = &self.0;
        let Some(t) = super::store::get(&state.db, job.teleconsult_id).await? else {
            return Ok(());
        };
        if t.status.as_str() != job.status || t.due_at != Some(job.due_at) {
            return Ok(());
        }
        let mut tx = state.db.begin().await?;
        // Whose step it is: the invited side answers and schedules (the specialist, or before
        // one is named the coordinators), both doctors meet, the specialist reports, the
        // inviting doctor receives.
        let to: Vec<i64> = match t.status {
            Status::Requested | Status::Accepted => match t.specialist_id {
                Some(s) => vec![s],
                None => super::store::coordinators(&mut tx, t.invited_hospital_id).await?,
            },
            Status::Scheduled => {
                let mut to = vec![t.inviting_doctor_id];
                to.extend(t.specialist_id);
                to
            }
            Status::Held => t.specialist_id.into_iter().collect(),
            Status::Reported => vec![t.inviting_doctor_id],
            _ => Vec::new(),
        };
        let time = crate::time::cst_display(job.due_at);
        for account in to {
            let notice = Notice::new(
                account,
                Event::TeleconsultDue,
                format!("teleconsult:{}:{}:{}", t.id, job.status, job.due_at),
            )
            .param("number", t.id.to_string())
            .param("step", job.status.clone())
            .param("time", time.clone())
            .link(format!("/remote-consultations/{}", t.id));
            crate::notification::service::notify(&mut tx, &notice, ctx.now_ms()).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
