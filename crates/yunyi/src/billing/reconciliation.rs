//! The daily reconciliation report (对账): for one hospital and one day (China Standard
//! Time), every payment and refund with the gateway's references, totals by what was paid
//! for, and the exceptions finance must look at (a notification whose amount was not the
//! order's; money that arrived after the prescription stopped being payable). The lines are
//! what the gateway's own statement is matched against, transaction by transaction.

use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;

use super::store;
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::time::{cst_ms, cst_rfc3339};

pub use super::store::{Exception, PaymentLine, RefundLine};

/// Count and amount of one kind of thing paid for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Subtotal {
    pub subject_type: String,
    pub payments: usize,
    pub paid_fen: i64,
    pub refunds: usize,
    pub refunded_fen: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub hospital_id: i64,
    pub date: String,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    /// What the hospital keeps from the day: paid minus refunded.
    pub net_fen: i64,
    pub by_subject: Vec<Subtotal>,
    pub payments: Vec<PaymentLine>,
    pub refunds: Vec<RefundLine>,
    pub exceptions: Vec<Exception>,
}

/// `YYYY-MM-DD`, a real day.
pub fn parse_date(raw: Option<&str>, today: NaiveDate) -> AppResult<NaiveDate> {
    match raw.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(today),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| AppError::invalid("date", "must be a day such as 2026-11-22")),
    }
}

/// The day's window in milliseconds: [00:00, next 00:00) in China Standard Time.
fn window(day: NaiveDate) -> AppResult<(i64, i64)> {
    let start = cst_ms(day, NaiveTime::MIN);
    let end = day.succ_opt().and_then(|next| cst_ms(next, NaiveTime::MIN));
    match (start, end) {
        (Some(s), Some(e)) => Ok((s, e)),
        _ => Err(AppError::invalid("date", "is out of range")),
    }
}

/// The report for `hospital` on `day`: its administrators, regulators and platform
/// administrators read it. Audited.
pub async fn report(
    state: &AppState,
    actor: &Actor,
    hospital: i64,
    day: NaiveDate,
) -> AppResult<Report> {
    let me = actor.require()?;
    match me.role {
        Role::Regulator | Role::PlatformAdmin => {}
        _ => {
            crate::directory::service::require_admin_of(
                state,
                actor,
                hospital,
                "billing.reconciliation",
            )
            .await?;
        }
    }
    let (from, to) = window(day)?;
    let report = build(&state.db, hospital, day, from, to).await?;
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "billing.reconciliation", "hospital")
            .object(hospital)
            .reason(day.to_string()),
    )
    .await?;
    Ok(report)
}

async fn build(db: &Db, hospital: i64, day: NaiveDate, from: i64, to: i64) -> AppResult<Report> {
    let payments = store::payments_between(db, hospital, from, to).await?;
    let refunds = store::refunds_between(db, hospital, from, to).await?;
    let exceptions = store::exceptions_between(db, hospital, from, to).await?;
    let mut by_subject: Vec<Subtotal> = Vec::new();
    let mut entry = |kind: &str| -> usize {
        match by_subject.iter().position(|s| s.subject_type == kind) {
            Some(i) => i,
            None => {
                by_subject.push(Subtotal {
                    subject_type: kind.to_owned(),
                    payments: 0,
                    paid_fen: 0,
                    refunds: 0,
                    refunded_fen: 0,
                });
                by_subject.len() - 1
            }
        }
    };
    let mut rows = Vec::new();
    for p in &payments {
        rows.push((entry(&p.subject_type), p.amount_fen, true));
    }
    for r in &refunds {
        rows.push((entry(&r.subject_type), r.amount_fen, false));
    }
    for (i, amount, paid) in rows {
        let s = &mut by_subject[i];
        if paid {
            s.payments += 1;
            s.paid_fen += amount;
        } else {
            s.refunds += 1;
            s.refunded_fen += amount;
        }
    }
    let paid_fen: i64 = payments.iter().map(|p| p.amount_fen).sum();
    let refunded_fen: i64 = refunds.iter().map(|r| r.amount_fen).sum();
    Ok(Report {
        hospital_id: hospital,
        date: day.to_string(),
        paid_fen,
        refunded_fen,
        net_fen: paid_fen - refunded_fen,
        by_subject,
        payments,
        refunds,
        exceptions,
    })
}

/// The report's lines as CSV (UTF-8 with a byte-order mark, so spreadsheet programs on
/// Chinese Windows read it): one line per payment and per refund, in yuan.
pub fn csv(report: &Report) -> String {
    let mut out = String::from("\u{feff}kind,order_id,subject,reference,amount_yuan,at,note\n");
    let field = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    for p in &report.payments {
        out.push_str(&format!(
            "payment,{},{} {},{},{},{},\n",
            p.order_id,
            p.subject_type,
            p.subject_id,
            field(p.gateway_txn.as_deref().unwrap_or("")),
            crate::money::decimal(p.amount_fen),
            cst_rfc3339(p.at)
        ));
    }
    for r in &report.refunds {
        out.push_str(&format!(
            "refund,{},{},{},{},{},{}\n",
            r.order_id,
            r.subject_type,
            field(&r.gateway_ref),
            crate::money::decimal(-r.amount_fen),
            cst_rfc3339(r.at),
            field(&r.reason)
        ));
    }
    out
}
