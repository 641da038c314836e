//! `identity.purge_sessions`: deletes sessions that ended (expired or revoked) more than a
//! day ago. Sign-ins themselves are in the audit trail, so nothing traceable is lost.

use super::store;
use crate::jobs::{Job, JobContext, JobResult};

pub const KIND: &str = "identity.purge_sessions";

#[derive(Debug, Clone, Default)]
pub struct PurgeEndedSessions;

crate::empty_payload!(
    /// The payload of `PurgeEndedSessions`: none, it looks for what is due.
    PurgeEndedSessionsDue = KIND
);

impl Job for PurgeEndedSessions {
    type Payload = PurgeEndedSessionsDue;

    async fn run(&self, ctx: &JobContext, _: PurgeEndedSessionsDue) -> JobResult {
        let before = ctx.now_ms() - 24 * 3_600_000;
        let deleted = store::delete_ended_sessions(&ctx.db, before).await?;
        let oauth = crate::smart::service::purge_ended(&ctx.db, before).await?;
        tracing::info!(
            deleted,
            oauth,
            "purged ended sessions, codes and refresh tokens"
        );
        Ok(())
    }
}
