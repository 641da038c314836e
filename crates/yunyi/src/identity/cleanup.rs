//! `identity.purge_sessions`: deletes sessions that ended (expired or revoked) more than a
//! day ago. Sign-ins themselves are in the audit trail, so nothing traceable is lost.

use super::store;
use crate::clock::now_ms;
use crate::jobs::{BoxFuture, JobContext, JobHandler, JobResult};

pub const KIND: &str = "identity.purge_sessions";

#[derive(Debug, Clone, Default)]
pub struct PurgeEndedSessions;

impl JobHandler for PurgeEndedSessions {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
        _payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, JobResult> {
        Box::pin(async move {
            let deleted = store::delete_ended_sessions(&ctx.db, now_ms() - 24 * 3_600_000).await?;
            tracing::info!(deleted, "purged ended sessions");
            Ok(())
        })
    }
}
