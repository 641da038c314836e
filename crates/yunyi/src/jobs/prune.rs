//! `maintenance.prune_jobs`: deletes finished jobs after a retention period so the job table
//! stays small. Dead jobs are kept for an operator to inspect. Idempotent: deleting what is
//! already gone deletes nothing.

use std::time::Duration;

use super::{Job, JobContext, JobResult, store};

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

crate::empty_payload!(
    /// The payload of `PruneFinishedJobs`: none, it looks for what is due.
    PruneFinishedJobsDue = KIND
);

impl Job for PruneFinishedJobs {
    type Payload = PruneFinishedJobsDue;

    async fn run(&self, ctx: &JobContext, _: PruneFinishedJobsDue) -> JobResult {
        let keep = i64::try_from(self.keep_for.as_millis()).unwrap_or(i64::MAX);
        let deleted = store::delete_done_before(&ctx.db, ctx.now_ms().saturating_sub(keep)).await?;
        tracing::info!(deleted, "pruned finished jobs");
        Ok(())
    }
}
