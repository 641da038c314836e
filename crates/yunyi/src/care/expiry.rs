//! A contract's end: one job queued for the moment it ends (again on each renewal). When it
//! runs and the contract still ends then, it ends, with the team's care links; a renewed
//! contract has moved its end, and the job does nothing.

use crate::app::AppState;
use crate::audit::{self, AuditActor, NewEvent};
use crate::jobs::{Job, JobContext, JobResult, Payload};

pub const KIND: &str = "care.contract.expire";

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Expire {
    pub contract_id: i64,
    pub ends_at: i64,
}

impl Payload for Expire {
    const KIND: &'static str = KIND;
}

/// The job's handler.
pub struct ExpireContract(pub AppState);

impl Job for ExpireContract {
    type Payload = Expire;

    async fn run(&self, ctx: &JobContext, job: Expire) -> JobResult {
        let state = &self.0;
        let Some(c) = super::store::contract(&state.db, job.contract_id).await? else {
            return Ok(());
        };
        if c.ends_at != job.ends_at || ctx.now_ms() < c.ends_at {
            return Ok(());
        }
        let mut tx = state.db.begin().await?;
        if super::service::end_in(&mut tx, c.id, "expired", ctx.now_ms()).await? {
            let e = NewEvent::new(
                AuditActor::system(),
                "care.contract.expire",
                "family_contract",
            )
            .object(c.id)
            .patient(c.person_id);
            audit::append(&mut tx, &e).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
