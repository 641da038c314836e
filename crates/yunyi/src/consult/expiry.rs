//! `consult.expire`: requests that no doctor accepted within their time end as `expired`
//! (refunded once payment exists). Recurring; idempotent, as jobs must be.

use crate::clock::now_ms;
use crate::jobs::{BoxFuture, JobContext, JobHandler, JobResult};

pub const KIND: &str = "consult.expire";

#[derive(Debug, Clone, Default)]
pub struct ExpireRequests;

impl JobHandler for ExpireRequests {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
        _payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, JobResult> {
        Box::pin(async move {
            let expired = super::lifecycle::expire_due(&ctx.db, now_ms())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if expired > 0 {
                tracing::info!(expired, "consultation requests expired");
            }
            Ok(())
        })
    }
}
