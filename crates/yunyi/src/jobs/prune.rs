//! `maintenance.prune_jobs`: deletes finished jobs after a retention period so the job table
//! stays small. Dead jobs are kept for an operator to inspect. Idempotent: deleting what is
//! already gone deletes nothing.

use std::time::Duration;

use super::{BoxFuture, JobContext, JobHandler, JobResult, store};
use crate::clock::now_ms;

pub const KIND: &str = "maintenance.prune_jobs";

#[derive(Debug, Clone)]
pub struct PruneFinishedJobs {
    pub keep_for: Duration,
}

impl Default for PruneFinishedJobs {
    fn default() -> Self {
        Self {
            keep_for: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl JobHandler for PruneFinishedJobs {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
        _payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, JobResult> {
        Box::pin(async move {
            let keep = i64::try_from(self.keep_for.as_millis()).unwrap_or(i64::MAX);
            let deleted = store::delete_done_before(&ctx.db, now_ms().saturating_sub(keep)).await?;
            tracing::info!(deleted, "pruned finished jobs");
            Ok(())
        })
    }
}
