//! `scheduling.release` (放号): marks released the slots whose release time has come, and
//! extends every schedule's slots to its rolling horizon.
//!
//! It runs as a one-off job at each release instant (enqueued when the slots are generated,
//! one job per instant whatever the number of schedules) and every 15 minutes as a sweep, so a
//! missed instant is caught up. Booking checks both `released` and `release_at <= now`: a job
//! running early never opens a slot before its time. Idempotent, as jobs must be.

use super::{plan, plan_store};
use crate::jobs::{Job, JobContext, JobResult};
use crate::time::cst_today;

pub const KIND: &str = "scheduling.release";

#[derive(Debug, Clone, Default)]
pub struct ReleaseSlots;

crate::empty_payload!(
    /// The payload of `ReleaseSlots`: none, it looks for what is due.
    ReleaseSlotsDue = KIND
);

impl Job for ReleaseSlots {
    type Payload = ReleaseSlotsDue;

    async fn run(&self, ctx: &JobContext, _: ReleaseSlotsDue) -> JobResult {
        let now = ctx.now_ms();
        let released = plan_store::release_due(&ctx.db, now).await?;
        let generated = extend_all(&ctx.db, now).await?;
        tracing::info!(released, generated, "slots released");
        Ok(())
    }
}

/// Extends every schedule that falls short of its horizon; returns how many slots are new.
pub async fn extend_all(db: &crate::db::Db, now: i64) -> anyhow::Result<usize> {
    // The longest horizon allowed is 60 days; each schedule is then checked against its own.
    let far = (cst_today(now) + chrono::Duration::days(60)).to_string();
    let today = cst_today(now);
    let mut created = 0;
    for schedule in plan_store::schedules_behind(db, &far).await? {
        let until = (today + chrono::Duration::days(schedule.horizon_days - 1)).to_string();
        if schedule
            .generated_until
            .as_deref()
            .is_some_and(|g| g >= until.as_str())
        {
            continue;
        }
        let mut tx = db.begin().await?;
        created += plan::extend_horizon(&mut tx, &schedule, now)
            .await
            .map_err(|e| anyhow::anyhow!("schedule {}: {e}", schedule.id))?;
        tx.commit().await?;
    }
    Ok(created)
}
