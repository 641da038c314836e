//! Pharmacist review (审方): the queue of signed prescriptions at the pharmacist's hospital,
//! approving (the checks run again on today's formulary and therapy; a blocking finding means
//! it must be rejected) or rejecting with the reason back to the doctor. An approved
//! prescription waits for payment until `pay_by`, then expires (`pharmacy.expire`).

use serde::Serialize;

use super::checks::{self, PatientFacts};
use super::prescribing::{
    Moved, PrescriptionView, authorize, prescription_or_404, record_move, refusal, run_checks,
    view_unchecked,
};
use super::prescription::{Action, Status, transition};
use super::prescription_store::{self as store, PrescriptionRow};
use super::store as formulary;
use crate::app::AppState;
use crate::audit::{self, AuditActor, NewEvent};
use crate::db::{Db, Tx};
use crate::error::{AppError, AppResult, Reason};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::jobs::{Job, JobContext, JobResult};
use crate::notification::model::{Event, Notice};

/// A prescription waiting in the pharmacist's queue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ReviewQueueItem)]
pub struct QueueItem {
    #[serde(flatten)]
    pub prescription: PrescriptionRow,
    /// Minutes since the doctor signed (the review time so far).
    pub waiting_min: i64,
    /// Findings at writing that the doctor accepted (warnings): to look at first.
    pub warnings: usize,
}

fn pharmacist_hospital(actor: &Actor) -> AppResult<i64> {
    let me = actor.require()?;
    match (me.role, me.hospital_id) {
        (Role::Pharmacist, Some(h)) => Ok(h),
        _ => Err(AppError::Forbidden(
            "prescriptions are reviewed by the hospital's pharmacists".to_owned(),
        )),
    }
}

/// The hospital's prescriptions waiting for review, oldest first. Each is an audited read.
pub async fn queue(state: &AppState, actor: &Actor) -> AppResult<Vec<QueueItem>> {
    let hospital = pharmacist_hospital(actor)?;
    let rows = store::waiting_review(&state.db, hospital, 100).await?;
    let now = state.now_ms();
    let mut items = Vec::new();
    if !rows.is_empty() {
        let mut tx = state.db.begin().await?;
        for row in &rows {
            audit::append(
                &mut tx,
                &NewEvent::new(actor.audit(), "prescription.queue", "prescription")
                    .object(row.id)
                    .patient(row.person_id)
                    .reason("pharmacist review queue"),
            )
            .await?;
        }
        tx.commit().await?;
    }
    for row in rows {
        let warnings = store::findings(&state.db, row.id)
            .await?
            .iter()
            .filter(|f| f.severity == "warning")
            .count();
        items.push(QueueItem {
            waiting_min: (now - row.signed_at).max(0) / 60_000,
            warnings,
            prescription: row,
        });
    }
    Ok(items)
}

/// The checks again, on the facts stored with the prescription and today's formulary.
async fn recheck(state: &AppState, p: &PrescriptionRow) -> AppResult<Vec<checks::Finding>> {
    let items = store::items(&state.db, p.id).await?;
    let mut lines = Vec::new();
    for item in &items {
        let drug = formulary::drug(&state.db, item.drug_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("drug {} missing", item.drug_id)))?;
        lines.push((drug, item));
    }
    let facts = PatientFacts {
        age_years: p.age_years.and_then(|a| u32::try_from(a).ok()),
        pregnant: p.pregnant,
        allergies: serde_json::from_str(&p.allergies).unwrap_or_default(),
        guardian_present: p.guardian_present,
    };
    let duration = checks::Duration::parse(&p.duration).unwrap_or(checks::Duration::Ordinary);
    run_checks(state, p.person_id, Some(p.id), &facts, &lines, duration).await
}

async fn reviewable(state: &AppState, actor: &Actor, id: i64) -> AppResult<PrescriptionRow> {
    pharmacist_hospital(actor)?;
    let p = prescription_or_404(state, id).await?;
    authorize(state, actor, &p, "prescription.review").await?;
    Ok(p)
}

/// Approves: only with no blocking finding on today's checks. Starts the time to pay.
pub async fn approve(
    state: &AppState,
    actor: &Actor,
    id: i64,
    note: Option<&str>,
) -> AppResult<PrescriptionView> {
    let p = reviewable(state, actor, id).await?;
    transition(p.status(), Action::Approve).map_err(AppError::wrong_state)?;
    let note =
        crate::consult::model::optional_reason(note).map_err(|e| AppError::Validation(vec![e]))?;
    let findings = recheck(state, &p).await?;
    if findings
        .iter()
        .any(|f| f.severity == checks::Severity::Blocking)
    {
        return Err(refusal(&findings));
    }
    let me = actor.require()?;
    let now = state.now_ms();
    let pay_by = now + state.config.pharmacy.pay_within.as_millis() as i64;
    let mut tx = state.db.begin().await?;
    if !store::review(
        &mut tx,
        id,
        Status::Approved,
        me.account_id,
        note,
        Some(pay_by),
        now,
    )
    .await?
    {
        return Err(AppError::refused(
            Reason::ChangedMeanwhile,
            "the prescription changed meanwhile (reviewed or withdrawn); reload it".to_owned(),
        ));
    }
    store::insert_findings(&mut tx, id, "review", &findings).await?;
    record_move(
        &mut tx,
        &p,
        &Moved {
            from: Status::Submitted,
            to: Status::Approved,
            by: Some(me.account_id),
            who: actor.audit(),
            action: "prescription.approve",
            reason: note,
        },
        now,
    )
    .await?;
    let told = (Event::PrescriptionApproved, format!("prescription:{id}"));
    let number = id.to_string();
    tell_patient(&mut tx, id, told, &[("prescription", &number)], now).await?;
    tx.commit().await?;
    view_unchecked(state, id).await
}

/// Rejects with the reason, back to the doctor, who may write a new version.
pub async fn reject(
    state: &AppState,
    actor: &Actor,
    id: i64,
    reason: Option<&str>,
) -> AppResult<PrescriptionView> {
    let p = reviewable(state, actor, id).await?;
    transition(p.status(), Action::Reject).map_err(AppError::wrong_state)?;
    let reason = crate::consult::model::required_reason(reason)
        .map_err(|e| AppError::Validation(vec![e]))?;
    let me = actor.require()?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::review(
        &mut tx,
        id,
        Status::Rejected,
        me.account_id,
        Some(reason),
        None,
        now,
    )
    .await?
    {
        return Err(AppError::refused(
            Reason::ChangedMeanwhile,
            "the prescription changed meanwhile (reviewed or withdrawn); reload it".to_owned(),
        ));
    }
    record_move(
        &mut tx,
        &p,
        &Moved {
            from: Status::Submitted,
            to: Status::Rejected,
            by: Some(me.account_id),
            who: actor.audit(),
            action: "prescription.reject",
            reason: Some(reason),
        },
        now,
    )
    .await?;
    let told = (Event::PrescriptionRejected, format!("prescription:{id}"));
    let number = id.to_string();
    let params = [("prescription", number.as_str()), ("reason", reason)];
    tell_patient(&mut tx, id, told, &params, now).await?;
    tx.commit().await?;
    view_unchecked(state, id).await
}

/// Expires approved prescriptions not paid in time. Returns how many.
pub async fn expire_due(db: &Db, now: i64) -> AppResult<usize> {
    let who = AuditActor::system();
    let mut expired = 0;
    for id in store::due_to_expire(db, now, 500).await? {
        let Some(p) = store::prescription(db, id).await? else {
            continue;
        };
        let mut tx = db.begin().await?;
        // Paid or withdrawn meanwhile: the conditional update touches nothing.
        if store::set_status(&mut tx, id, Status::Approved, Status::Expired, now).await? {
            record_move(
                &mut tx,
                &p,
                &Moved {
                    from: Status::Approved,
                    to: Status::Expired,
                    by: None,
                    who: who.clone(),
                    action: "prescription.expire",
                    reason: Some("not paid in time"),
                },
                now,
            )
            .await?;
            tx.commit().await?;
            expired += 1;
        }
    }
    Ok(expired)
}

pub const EXPIRE_KIND: &str = "pharmacy.expire";

/// `pharmacy.expire`: the recurring job that expires unpaid approved prescriptions.
#[derive(Debug, Clone, Default)]
pub struct ExpirePrescriptions;

crate::empty_payload!(
    /// The payload of `ExpirePrescriptions`: none, it looks for what is due.
    ExpirePrescriptionsDue = EXPIRE_KIND
);

impl Job for ExpirePrescriptions {
    type Payload = ExpirePrescriptionsDue;

    async fn run(&self, ctx: &JobContext, _: ExpirePrescriptionsDue) -> JobResult {
        let expired = expire_due(&ctx.db, ctx.now_ms())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if expired > 0 {
            tracing::info!(expired, "unpaid prescriptions expired");
        }
        Ok(())
    }
}

/// Tells the one who asked for the consultation prescription `id` was written in (the patient
/// or their guardian) about it, in `tx`: `event` for `cause`, with `params`, linking to it.
pub(crate) async fn tell_patient(
    tx: &mut Tx,
    id: i64,
    (event, cause): (Event, String),
    params: &[(&'static str, &str)],
    now: i64,
) -> Result<(), sqlx::Error> {
    let Some(account) = crate::consult::store::requester_of_prescription(tx, id).await? else {
        return Ok(());
    };
    let notice = params
        .iter()
        .fold(Notice::new(account, event, cause), |n, (k, v)| {
            n.param(k, *v)
        })
        .link(format!("/prescriptions/{id}"));
    crate::notification::service::notify(tx, &notice, now).await
}
