//! `consult.expire`: requests that no doctor accepted within their time end as `expired`
//! (refunded once payment exists). Recurring; idempotent, as jobs must be.

use crate::jobs::{Job, JobContext, JobResult};

pub const KIND: &str = "consult.expire";

#[derive(Debug, Clone, Default)]
pub struct ExpireRequests;

crate::empty_payload!(
    /// The payload of `ExpireRequests`: none, it looks for what is due.
    ExpireRequestsDue = KIND
);

impl Job for ExpireRequests {
    type Payload = ExpireRequestsDue;

    async fn run(&self, ctx: &JobContext, _: ExpireRequestsDue) -> JobResult {
        let expired = super::lifecycle::expire_due(&ctx.db, ctx.now_ms())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if expired > 0 {
            tracing::info!(expired, "consultation requests expired");
        }
        Ok(())
    }
}
