//! Targeted pushes (定向推送): an infection officer sends an article to every patient of their
//! region (the one their alerts come from) — typically prevention advice, one click from a
//! surveillance alert —
//! or a hospital's administrator to the patients the hospital has seen, optionally only those
//! diagnosed with a condition. The sender first sees how many it will reach.
//!
//! Sending records the push and queues its fan-out ([`FanOut`]): a durable job that writes the
//! inbox notifications in batches of accounts, in id order, each batch in one statement and
//! one transaction with the push's cursor. A worker killed mid-way leaves the cursor at the
//! last whole batch and the next run resumes there; the notifications' unique cause (one per
//! account and push) means no one is told twice. Pushes go to the inbox only: advice is not
//! worth a text message to a million phones.

use serde::{Deserialize, Serialize};

use super::model::{self, Audience, PushStatus};
use super::store::{self, AudienceFilter, NewPush, PushNotice};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::error::{AppError, AppResult, FieldError, Reason};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::jobs::{self, Job, JobContext, JobResult, NewJob, Payload};

pub const KIND: &str = "education.push";

/// Account ids per batch: one statement writes their notifications, so a batch is quick to redo.
pub const BATCH: i64 = 5_000;

/// Who may push: infection officers (to their region) and hospital administrators (to their
/// hospital's patients).
pub fn may_push(role: Role) -> bool {
    matches!(role, Role::InfectionOfficer | Role::HospitalAdmin)
}

/// What the sender asks for.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PushInput {
    pub article_id: i64,
    /// A GB/T 2260 region code or prefix; an infection officer's own region when empty.
    #[serde(default)]
    pub region: String,
    /// An ICD-10 code or prefix: only patients diagnosed with it.
    #[serde(default)]
    pub condition: String,
    /// The surveillance alert the push answers, if any.
    #[serde(default)]
    pub alert_id: Option<i64>,
}

/// A push as its sender sees it, with its reach and how many read it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PushView {
    pub id: i64,
    pub article_id: i64,
    pub title: String,
    pub sender: String,
    pub audience: String,
    pub region: String,
    pub condition: String,
    pub alert_id: Option<i64>,
    pub status: String,
    /// How many it reached so far.
    pub recipients: i64,
    /// How many opened it.
    pub reads: i64,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// The sender's hospital, or a refusal for anyone who does not send pushes.
pub fn sender_hospital(actor: &Actor) -> AppResult<i64> {
    let me = actor.require()?;
    match (me.hospital_id, may_push(me.role)) {
        (Some(h), true) => Ok(h),
        _ => Err(AppError::refused(
            Reason::RoleRequired,
            "only infection officers and hospital administrators send pushes",
        )),
    }
}

/// The audience the signed-in sender asks for, checked: officers reach their own region; administrators reach their hospital's patients, in a region if they name one.
async fn audience(state: &AppState, actor: &Actor, input: &PushInput) -> AppResult<AudienceFilter> {
    let hospital = sender_hospital(actor)?;
    let me = actor.require()?;
    let mut region = input.region.trim().to_owned();
    let condition = input.condition.trim().to_ascii_uppercase();
    let mut errors = Vec::new();
    if !region.is_empty() && !model::is_region_prefix(&region) {
        errors.push(
            FieldError::new(
                "region",
                "must be a region code or prefix of 2, 4 or 6 digits",
            )
            .localized("education.field.region", vec![]),
        );
    }
    if !condition.is_empty() && !model::is_icd10_prefix(&condition) {
        errors.push(
            FieldError::new(
                "condition",
                "must be an ICD-10 code or prefix (e.g. I10, J)",
            )
            .localized("education.field.condition", vec![]),
        );
    }
    let audience = if me.role == Role::InfectionOfficer {
        Audience::Region
    } else {
        Audience::Hospital
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if audience == Audience::Region {
        // The region the officer's alerts come from, or a part of it.
        let mine = crate::surveillance::screen::hospital_region(state, hospital).await?;
        if region.is_empty() {
            region.clone_from(&mine);
        }
        if !region.starts_with(&mine) {
            return Err(AppError::refused(
                Reason::OutsideArea,
                format!("your hospital's region is {mine}: push to it"),
            ));
        }
    }
    Ok(AudienceFilter {
        audience,
        hospital,
        region,
        condition,
    })
}

/// How many patients a push would reach.
pub async fn preview(state: &AppState, actor: &Actor, input: &PushInput) -> AppResult<i64> {
    let filter = audience(state, actor, input).await?;
    Ok(store::audience_size(&state.db, &filter).await?)
}

/// Sends a published article to its audience: records the push and queues its fan-out.
pub async fn send(state: &AppState, actor: &Actor, input: &PushInput) -> AppResult<i64> {
    let filter = audience(state, actor, input).await?;
    let me = actor.require()?;
    let article = store::article(&state.db, input.article_id)
        .await?
        .filter(|a| a.published_version.is_some() || me.hospital_id == Some(a.hospital_id))
        .ok_or_else(|| AppError::NotFound(format!("no article with id {}", input.article_id)))?;
    if article.published_version.is_none() || article.withdrawn_at.is_some() {
        return Err(AppError::refused(
            Reason::NotPublished,
            "the article is not published",
        ));
    }
    if let Some(alert) = input.alert_id {
        crate::surveillance::scan::alert(state, actor, alert).await?;
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let id = store::insert_push(
        &mut tx,
        &NewPush {
            article: article.id,
            sender: me.account_id,
            filter: &filter,
            alert: input.alert_id,
        },
        now,
    )
    .await?;
    jobs::enqueue(
        &mut tx,
        &NewJob::of(&FanOutPush { push_id: id })
            .dedupe_key(format!("{KIND}:{id}"))
            .run_at(now),
    )
    .await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "education.push", "education_push")
            .object(id)
            .reason(format!(
                "article {} to {} region '{}' condition '{}'",
                article.id, filter.audience, filter.region, filter.condition
            )),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// What the cause of every notification of a push starts with; the push's id follows.
fn cause_prefix() -> String {
    format!("{}:push:", crate::notification::model::Event::EducationPush)
}

/// The cause every notification of push `id` carries (one per account).
fn cause(id: i64) -> String {
    format!("{}{id}", cause_prefix())
}

/// The pushes of the signed-in sender's hospital, newest first, with reach and reads.
pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<PushView>> {
    let hospital = sender_hospital(actor)?;
    let rows = store::pushes(&state.db, (hospital, None), &cause_prefix(), 100).await?;
    Ok(rows.iter().map(view).collect())
}

/// One push of the signed-in sender's hospital (another's is not found).
pub async fn get(state: &AppState, actor: &Actor, id: i64) -> AppResult<PushView> {
    let hospital = sender_hospital(actor)?;
    store::pushes(&state.db, (hospital, Some(id)), &cause_prefix(), 1)
        .await?
        .first()
        .map(view)
        .ok_or_else(|| AppError::NotFound(format!("no push with id {id}")))
}

fn view(row: &store::PushListRow) -> PushView {
    let p = &row.push;
    PushView {
        id: p.id,
        article_id: p.article_id,
        title: row.title.clone(),
        sender: row.sender.clone(),
        audience: p.audience.as_str().to_owned(),
        region: p.region.clone(),
        condition: p.condition.clone(),
        alert_id: p.alert_id,
        status: p.status.as_str().to_owned(),
        recipients: p.recipients,
        reads: row.reads,
        created_at: p.created_at,
        finished_at: p.finished_at,
    }
}

/// The fan-out job's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanOutPush {
    pub push_id: i64,
}

impl Payload for FanOutPush {
    const KIND: &'static str = KIND;
}

/// Writes a push's notifications, batch by batch, from its cursor.
pub struct FanOut(pub AppState);

impl Job for FanOut {
    type Payload = FanOutPush;

    async fn run(&self, _ctx: &JobContext, job: FanOutPush) -> JobResult {
        fan_out(&self.0, job.push_id).await?;
        Ok(())
    }
}

/// Writes a push's notifications from its cursor to the end of its audience, batch by batch;
/// then marks it done and tells open pages to recount. Safe to run again, or twice at once.
pub async fn fan_out(state: &AppState, push_id: i64) -> Result<(), sqlx::Error> {
    let Some(push) = store::push(&state.db, push_id).await? else {
        return Ok(());
    };
    if push.status == PushStatus::Done {
        return Ok(());
    }
    let Some(article) = store::article(&state.db, push.article_id).await? else {
        return Ok(());
    };
    let version = article.published_version.unwrap_or(article.latest_version);
    let title = store::version(&state.db, article.id, version)
        .await?
        .map(|v| v.title)
        .unwrap_or_default();
    let params = serde_json::json!({ "title": title }).to_string();
    let link = format!("/education/{}", article.id);
    let dedupe_key = cause(push.id);
    let notice = PushNotice {
        params: &params,
        link: &link,
        dedupe_key: &dedupe_key,
    };
    let filter = push.filter();
    let end = store::last_account(&state.db).await?;
    let mut cursor = push.cursor;
    while cursor < end {
        let to = (cursor + BATCH).min(end);
        let now = state.now_ms();
        let mut tx = state.db.begin().await?;
        let added =
            store::insert_push_notifications(&mut tx, &filter, (cursor, to), &notice, now).await?;
        let added = i64::try_from(added).unwrap_or(i64::MAX);
        if !store::advance_push(&mut tx, push.id, (cursor, to), added).await? {
            // Another worker took this batch (a lease that ran out): it carries on.
            return Ok(());
        }
        tx.commit().await?;
        cursor = to;
    }
    store::finish_push(&state.db, push.id, state.now_ms()).await?;
    crate::notification::service::ring_everyone(state).await;
    Ok(())
}
