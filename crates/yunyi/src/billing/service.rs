//! Orders and payment: an order for what a patient pays (its lines sum to its total), the
//! gateway's notification applied once (verified, idempotent by the gateway's transaction id,
//! harmless out of order), and refunds that never exceed what was paid.

use serde::Serialize;

use super::gateway::{GatewayError, Notification};
use super::store::{self, LineRow, OrderRow, OrderStatus, RefundRow};
use crate::app::AppState;
use crate::audit::{self, AuditActor, NewEvent};
use crate::dispensing::service::{self as dispensing, ChoiceInput};
use crate::dispensing::store as dispensing_store;
use crate::error::{AppError, AppResult, Reason};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::notification::model::{Event, Notice};
use crate::pharmacy::prescription::{Action, transition};
use crate::pharmacy::{prescribing, prescription_store};
use crate::policy;

/// An order with its lines and refunds, and where to pay it while it waits.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    #[serde(flatten)]
    pub order: OrderRow,
    pub lines: Vec<LineRow>,
    pub refunds: Vec<RefundRow>,
    pub pay_url: Option<String>,
}

pub async fn view(state: &AppState, id: i64) -> AppResult<OrderView> {
    let order = store::order(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no order with id {id}")))?;
    Ok(OrderView {
        pay_url: (order.status == OrderStatus::Pending)
            .then(|| state.payments.checkout_url(order.id)),
        lines: store::lines(&state.db, id).await?,
        refunds: store::refunds(&state.db, id).await?,
        order,
    })
}

/// Reads an order: its payer's side only (the patient or family), through the policy, which
/// audits the decision. An order names the patient's medicines or visit, so administrators
/// (who never see patient records) and clinicians are refused, audited, as everyone else is;
/// administrators work with the reconciliation report and refunds.
pub async fn read(state: &AppState, actor: &Actor, id: i64) -> AppResult<OrderView> {
    let order = store::order(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no order with id {id}")))?;
    policy::authorize_patient_side(state, actor, "order.read", "order", id, order.person_id)
        .await?;
    view(state, id).await
}

/// The order for an approved prescription (the one already waiting, or a new one whose lines
/// are the prescription's). Only the patient side pays; only an approved, unexpired
/// prescription may be paid.
pub async fn order_prescription(
    state: &AppState,
    actor: &Actor,
    prescription_id: i64,
    choice: &ChoiceInput,
) -> AppResult<OrderView> {
    let me = actor.require()?;
    let p = prescription_store::prescription(&state.db, prescription_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no prescription with id {prescription_id}")))?;
    crate::capability::require_role(
        me,
        Role::Patient,
        "the patient (or their family) pays for a prescription",
    )?;
    policy::authorize_patient(
        state,
        actor,
        "order.create",
        "prescription",
        p.person_id,
        None,
    )
    .await?;
    transition(p.status(), Action::Pay).map_err(AppError::wrong_state)?;
    let now = state.now_ms();
    if p.pay_by.is_some_and(|by| by < now) {
        return Err(AppError::refused(
            Reason::PaymentExpired,
            "the time to pay for this prescription has passed; ask the doctor for a new one"
                .to_owned(),
        ));
    }
    let choice = dispensing::resolve_choice(state, &p, choice).await?;
    if let Some(existing) = store::pending_for(&state.db, "prescription", p.id).await? {
        // Asked again before paying: the same order, with the patient's latest choice.
        let mut tx = state.db.begin().await?;
        dispensing_store::choose(&mut tx, &choice, now).await?;
        tx.commit().await?;
        return view(state, existing.id).await;
    }
    let items = prescription_store::items(&state.db, p.id).await?;
    let lines: Vec<LineRow> = items
        .iter()
        .map(|i| LineRow {
            line: i.line,
            description: format!("{} {}", i.drug_name, i.strength),
            quantity: i.quantity,
            unit_price_fen: i.unit_price_fen,
            amount_fen: i.unit_price_fen * i.quantity,
        })
        .collect();
    let total_fen = lines.iter().map(|l| l.amount_fen).sum();
    let mut tx = state.db.begin().await?;
    let id = match store::insert_with_lines(
        &mut tx,
        &store::NewOrder {
            person: p.person_id,
            payer: me.account_id,
            hospital: p.hospital_id,
            subject_type: "prescription",
            subject_id: p.id,
            total_fen,
            gateway: state.payments.name(),
        },
        &lines,
        now,
    )
    .await
    {
        Ok(id) => id,
        // The same patient pressed "pay" twice at once: the other order stands.
        Err(e) if crate::db::is_unique_violation(&e) => {
            drop(tx);
            let existing = store::pending_for(&state.db, "prescription", p.id)
                .await?
                .ok_or_else(|| {
                    AppError::refused(
                        Reason::ChangedMeanwhile,
                        "the order changed; try again".to_owned(),
                    )
                })?;
            return view(state, existing.id).await;
        }
        Err(e) => return Err(e.into()),
    };
    dispensing_store::choose(&mut tx, &choice, now).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "order.create", "order")
            .object(id)
            .patient(p.person_id)
            .reason(format!("prescription {}", p.id)),
    )
    .await?;
    tx.commit().await?;
    view(state, id).await
}

/// What a notification did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The order is paid (and what it pays for moved on).
    Paid,
    /// The payer declined; the order still waits.
    Declined,
    /// Seen before: nothing changed.
    Duplicate,
    /// The order had moved on (paid, cancelled): nothing changed.
    Ignored,
    /// The amount was not the order's: nothing paid; flagged for reconciliation.
    AmountMismatch,
    /// Paid after the prescription stopped being payable: refunded in full.
    Refunded,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Paid => "paid",
            Outcome::Declined => "declined",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
            Outcome::AmountMismatch => "amount_mismatch",
            Outcome::Refunded => "refunded",
        }
    }
}

/// Applies a gateway's notification (the body exactly as received, and its signature).
pub async fn notify(state: &AppState, body: &[u8], signature: &str) -> AppResult<Outcome> {
    let n = state
        .payments
        .verify(body, signature)
        .map_err(|e| match e {
            GatewayError::BadSignature => AppError::Forbidden(e.to_string()),
            _ => AppError::BadRequest(e.to_string()),
        })?;
    let gateway = state.payments.name();
    let order = store::order(&state.db, n.order_id)
        .await?
        .ok_or_else(|| AppError::BadRequest(format!("no order {}", n.order_id)))?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::record_notification(&mut tx, gateway, &n, "received", now).await? {
        return Ok(Outcome::Duplicate);
    }
    let outcome = apply(&mut tx, &order, &n, now).await?;
    store::set_notification_outcome(&mut tx, gateway, &n, outcome.as_str()).await?;
    tx.commit().await?;
    if outcome == Outcome::Refunded {
        refund_unchecked(
            state,
            &AuditActor::system(),
            None,
            order.id,
            order.total_fen,
            "paid after the prescription stopped being payable",
        )
        .await?;
    }
    Ok(outcome)
}

async fn apply(
    tx: &mut crate::db::Tx,
    order: &OrderRow,
    n: &Notification,
    now: i64,
) -> AppResult<Outcome> {
    if n.event == "declined" {
        return Ok(if order.status == OrderStatus::Pending {
            Outcome::Declined
        } else {
            Outcome::Ignored
        });
    }
    if n.amount_fen != order.total_fen {
        tracing::warn!(
            order = order.id,
            "payment amount differs from the order total"
        );
        return Ok(Outcome::AmountMismatch);
    }
    if !store::mark_paid(tx, order.id, &n.gateway_txn, now).await? {
        return Ok(Outcome::Ignored);
    }
    audit::append(
        tx,
        &NewEvent::new(AuditActor::system(), "order.paid", "order")
            .object(order.id)
            .patient(order.person_id),
    )
    .await?;
    // The receipt, once per order however often the gateway reports it.
    let link = match order.subject_type.as_str() {
        "prescription" => format!("/prescriptions/{}", order.subject_id),
        "consultation" => format!("/consultations/{}", order.subject_id),
        _ => "/appointments".to_owned(),
    };
    let receipt = Notice::new(
        order.payer_id,
        Event::PaymentPaid,
        format!("order:{}", order.id),
    )
    .param("amount", crate::money::yuan(order.total_fen))
    .link(link);
    crate::notification::service::notify(tx, &receipt, now).await?;
    if order.subject_type == "prescription" {
        if !prescribing::paid(tx, order.subject_id, order.id, now).await? {
            return Ok(Outcome::Refunded);
        }
        dispensing::queue_paid(
            tx,
            order.subject_id,
            order.person_id,
            order.hospital_id,
            now,
        )
        .await?;
    }
    Ok(Outcome::Paid)
}

/// A hospital administrator refunds part or all of a paid order.
pub async fn refund(
    state: &AppState,
    actor: &Actor,
    order_id: i64,
    amount_fen: Option<i64>,
    reason: Option<&str>,
) -> AppResult<OrderView> {
    let order = store::order(&state.db, order_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no order with id {order_id}")))?;
    crate::directory::service::require_admin_of(state, actor, order.hospital_id, "order.refund")
        .await?;
    let reason = crate::consult::model::required_reason(reason)
        .map_err(|e| AppError::Validation(vec![e]))?;
    let refundable = order.paid_fen - order.refunded_fen;
    let amount = amount_fen.unwrap_or(refundable);
    if amount <= 0 {
        return Err(AppError::invalid(
            "amount_fen",
            "must be above 0 (the amount to return, in fen)",
        ));
    }
    // Said before the database's own guard, which a huge amount would overflow.
    if amount > refundable {
        return Err(AppError::refused(
            Reason::RefundTooLarge,
            format!(
                "a refund of {} is more than the {} still refundable on this order",
                crate::money::yuan(amount),
                crate::money::yuan(refundable)
            ),
        ));
    }
    let me = actor.require()?;
    refund_unchecked(
        state,
        &actor.audit(),
        Some(me.account_id),
        order_id,
        amount,
        reason,
    )
    .await?;
    view(state, order_id).await
}

/// Refunds what is still refundable on the paid order for a subject (a prescription the
/// pharmacy could not fill). Nothing to refund is not an error.
pub async fn refund_subject(
    state: &AppState,
    who: &AuditActor,
    by: Option<i64>,
    subject_type: &str,
    subject_id: i64,
    reason: &str,
) -> AppResult<()> {
    let Some(order) = store::paid_for(&state.db, subject_type, subject_id).await? else {
        return Ok(());
    };
    let refundable = order.paid_fen - order.refunded_fen;
    if refundable <= 0 {
        return Ok(());
    }
    refund_unchecked(state, who, by, order.id, refundable, reason).await
}

/// Refunds whatever is still refundable on order `order_id` (a lapsed consultation or
/// appointment).
pub async fn refund_remaining(
    state: &AppState,
    who: &AuditActor,
    order_id: i64,
    reason: &str,
) -> AppResult<()> {
    let order = store::order(&state.db, order_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no order with id {order_id}")))?;
    let refundable = order.paid_fen - order.refunded_fen;
    if refundable <= 0 {
        return Ok(());
    }
    refund_unchecked(state, who, None, order_id, refundable, reason).await
}

/// Returns `amount` of order `order_id` through the gateway, if it is still refundable.
async fn refund_unchecked(
    state: &AppState,
    who: &AuditActor,
    by: Option<i64>,
    order_id: i64,
    amount: i64,
    reason: &str,
) -> AppResult<()> {
    let order = store::order(&state.db, order_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no order with id {order_id}")))?;
    let txn = order
        .gateway_txn
        .clone()
        .ok_or_else(|| AppError::refused(Reason::NotPaid, "the order was never paid".to_owned()))?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::take_refund(&mut tx, order_id, amount, now).await? {
        return Err(AppError::refused(
            Reason::RefundTooLarge,
            format!(
                "a refund of {} is more than the {} still refundable on this order",
                crate::money::yuan(amount),
                crate::money::yuan(order.paid_fen - order.refunded_fen)
            ),
        ));
    }
    let reference = state
        .payments
        .refund(&txn, amount)
        .await
        .map_err(AppError::wrong_state)?;
    store::insert_refund(&mut tx, order_id, amount, reason, &reference, by, now).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(who.clone(), "order.refund", "order")
            .object(order_id)
            .patient(order.person_id)
            .reason(format!("{}: {reason}", crate::money::yuan(amount))),
    )
    .await?;
    let cause = format!("refund:{order_id}:{reference}");
    let notice = Notice::new(order.payer_id, Event::PaymentRefunded, cause)
        .param("amount", crate::money::yuan(amount));
    crate::notification::service::notify(&mut tx, &notice, now).await?;
    tx.commit().await?;
    Ok(())
}
