//! The follow-up scheduler: a sweep every minute sends the questionnaires whose time has come
//! to the patient side (and schedules the next of a repeating one), and chases those left
//! unanswered for three days (the patient side is reminded, the team gets a task to call).
//!
//! Why a sweep over rows and not one durable job per follow-up: a province's million running
//! plans hold millions of future follow-ups; as rows with an index on (status, due time) they
//! cost nothing until due, and the sweep takes them in batches of [`BATCH`] per transaction.
//! Each step is a conditional update (`scheduled` → `sent` → `missed`) in the transaction of
//! the notices it writes, so two nodes sweeping at once, or a sweep repeated after a crash,
//! send each at most once.

use std::collections::{HashMap, HashSet};

use chrono::Duration as Days;

use super::plan_store::{
    self as store, FollowupRow, FollowupStatus, NewTask, PlanStatus, TaskKind,
};
use super::protocol;
use crate::app::AppState;
use crate::db::Tx;
use crate::jobs::{Job, JobContext, JobResult};
use crate::notification::model::{Event, Notice};
use crate::notification::service::notify;

pub const KIND: &str = "care.followup.sweep";

crate::empty_payload!(
    /// The payload of the minutely sweep.
    FollowupsDue = KIND
);

/// The sweep's handler.
pub struct SendFollowups(pub AppState);

impl Job for SendFollowups {
    type Payload = FollowupsDue;

    async fn run(&self, ctx: &JobContext, _: FollowupsDue) -> JobResult {
        sweep(&self.0, ctx.now_ms()).await.map(|_| ())
    }
}

/// Follow-ups moved per transaction.
pub const BATCH: i64 = 500;
/// How long a sent questionnaire waits for its answers before the team chases it.
pub const ANSWER_WINDOW_MS: i64 = 3 * 24 * 3_600_000;
const DAY_MS: i64 = 24 * 3_600_000;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub sent: usize,
    pub chased: usize,
}

/// One sweep: every follow-up due by `now` is sent, every one unanswered past its window
/// chased.
pub async fn sweep(state: &AppState, now: i64) -> anyhow::Result<Swept> {
    let mut out = Swept::default();
    loop {
        let due = store::due(&state.db, FollowupStatus::Scheduled, now, BATCH).await?;
        let mut tx = state.db.begin().await?;
        out.sent += send(&mut tx, &due, now).await?;
        tx.commit().await?;
        if (due.len() as i64) < BATCH {
            break;
        }
    }
    loop {
        let late = store::due(
            &state.db,
            FollowupStatus::Sent,
            now - ANSWER_WINDOW_MS,
            BATCH,
        )
        .await?;
        let mut tx = state.db.begin().await?;
        out.chased += chase(&mut tx, &late, now).await?;
        tx.commit().await?;
        if (late.len() as i64) < BATCH {
            break;
        }
    }
    Ok(out)
}

/// Of `rows`, those this sweep moves from `from` to `to`, with the accounts to tell of each.
async fn take<'a>(
    tx: &mut Tx,
    rows: &'a [FollowupRow],
    moved: (FollowupStatus, FollowupStatus),
    now: i64,
) -> anyhow::Result<Vec<(&'a FollowupRow, Vec<i64>)>> {
    let ids: Vec<i64> = rows.iter().map(|f| f.id).collect();
    let taken: HashSet<i64> = store::move_followups(tx, &ids, moved, now)
        .await?
        .into_iter()
        .collect();
    let mine: Vec<&FollowupRow> = rows.iter().filter(|f| taken.contains(&f.id)).collect();
    let people: Vec<i64> = mine.iter().map(|f| f.person_id).collect();
    let mut sides: HashMap<i64, Vec<i64>> = HashMap::new();
    for (person, account) in store::patient_sides(tx, &people).await? {
        sides.entry(person).or_default().push(account);
    }
    Ok(mine
        .into_iter()
        .map(|f| (f, sides.get(&f.person_id).cloned().unwrap_or_default()))
        .collect())
}

async fn tell(
    tx: &mut Tx,
    f: &FollowupRow,
    accounts: &[i64],
    cause: String,
    now: i64,
) -> anyhow::Result<()> {
    for a in accounts {
        let n =
            Notice::new(*a, Event::CareFollowup, &cause).link(format!("/care/followups/{}", f.id));
        notify(tx, &n, now).await?;
    }
    Ok(())
}

/// Sends the follow-ups of `rows` still scheduled (the patient side told), and schedules the
/// next of each repeating one; how many were sent.
async fn send(tx: &mut Tx, rows: &[FollowupRow], now: i64) -> anyhow::Result<usize> {
    let moved = (FollowupStatus::Scheduled, FollowupStatus::Sent);
    let taken = take(tx, rows, moved, now).await?;
    let mut next = Vec::new();
    for (f, accounts) in &taken {
        tell(tx, f, accounts, format!("care-followup:{}", f.id), now).await?;
        // A repeating questionnaire: the next one, while the plan runs.
        let every = protocol::template(&f.template).and_then(|t| {
            t.schedule
                .iter()
                .find(|s| s.questionnaire == f.questionnaire)
                .and_then(|s| s.every_days)
        });
        if let (Some(days), PlanStatus::Active) = (every, f.plan_status) {
            let at = f.due_at + Days::days(days).num_milliseconds();
            next.push((f.plan_id, f.questionnaire.as_str(), at));
        }
    }
    store::insert_followups(tx, &next).await?;
    Ok(taken.len())
}

/// Chases the follow-ups of `rows` still waiting for answers: the patient side reminded, the
/// team given a task; how many.
async fn chase(tx: &mut Tx, rows: &[FollowupRow], now: i64) -> anyhow::Result<usize> {
    let moved = (FollowupStatus::Sent, FollowupStatus::Missed);
    let taken = take(tx, rows, moved, now).await?;
    for (f, accounts) in &taken {
        tell(
            tx,
            f,
            accounts,
            format!("care-followup:{}:chase", f.id),
            now,
        )
        .await?;
        if let Some(plan) = store::plan_in(tx, f.plan_id).await? {
            let task = NewTask {
                plan: &plan,
                kind: TaskKind::Missed,
                reading: None,
                followup: Some(f.id),
                detail: f.questionnaire.clone(),
                urgent: false,
                due_at: now + DAY_MS,
            };
            store::insert_task(tx, &task, now).await?;
        }
    }
    Ok(taken.len())
}
