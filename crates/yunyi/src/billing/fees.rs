//! Consultation and appointment fees through the same orders as medicine. A consultation on
//! a priced service is charged when it is requested, and reaches the doctors only once paid
//! (free clinics and consultations held in a paid appointment cost nothing more); an
//! appointment's registration fee (挂号费) may be paid online after booking, or at the
//! hospital as before. What lapses — a consultation cancelled or expired, an appointment
//! cancelled by the patient or the hospital, a prescription the pharmacy could not fill — is
//! refunded in full by `billing.refund_lapsed` (which also retries a refund the pharmacy's
//! cancellation could not make at once).

use serde::Serialize;

use super::service::{OrderView, view};
use super::store::{self, LineRow, NewOrder, OrderStatus};
use crate::app::AppState;
use crate::audit::{self, AuditActor, NewEvent};
use crate::db::Tx;
use crate::error::{AppError, AppResult, Reason};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::jobs::{Job, JobContext, JobResult};
use crate::policy;

/// What a consultation or appointment costs and where its payment stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Fee {
    pub order_id: i64,
    pub status: OrderStatus,
    pub total_fen: i64,
    pub refunded_fen: i64,
    pub pay_url: Option<String>,
}

impl Fee {
    pub fn unpaid(&self) -> bool {
        self.status == OrderStatus::Pending
    }
}

/// The fee of a subject, if it was charged.
pub async fn fee_of(state: &AppState, subject_type: &str, id: i64) -> AppResult<Option<Fee>> {
    Ok(store::latest_for(&state.db, subject_type, id)
        .await?
        .map(|o| Fee {
            pay_url: (o.status == OrderStatus::Pending).then(|| state.payments.checkout_url(o.id)),
            order_id: o.id,
            status: o.status,
            total_fen: o.total_fen,
            refunded_fen: o.refunded_fen,
        }))
}

/// Whether a subject's fee was paid (refunds aside).
pub async fn paid(state: &AppState, subject_type: &str, id: i64) -> AppResult<bool> {
    Ok(store::paid_for(&state.db, subject_type, id)
        .await?
        .is_some())
}

/// One thing to charge for.
pub struct Charge<'a> {
    pub person: i64,
    pub payer: i64,
    pub hospital: i64,
    pub subject_type: &'a str,
    pub subject_id: i64,
    pub description: &'a str,
    pub price_fen: i64,
}

/// Opens the order for `c` in the caller's transaction (nothing for a free service).
pub async fn charge(
    state: &AppState,
    tx: &mut Tx,
    who: &AuditActor,
    c: &Charge<'_>,
    now: i64,
) -> AppResult<Option<i64>> {
    if c.price_fen <= 0 {
        return Ok(None);
    }
    let id = store::insert_with_lines(
        tx,
        &NewOrder {
            person: c.person,
            payer: c.payer,
            hospital: c.hospital,
            subject_type: c.subject_type,
            subject_id: c.subject_id,
            total_fen: c.price_fen,
            gateway: state.payments.name(),
        },
        &[LineRow {
            line: 1,
            description: c.description.to_owned(),
            quantity: 1,
            unit_price_fen: c.price_fen,
            amount_fen: c.price_fen,
        }],
        now,
    )
    .await?;
    let reason = format!("{} {}", c.subject_type, c.subject_id);
    audit::append(
        tx,
        &NewEvent::new(who.clone(), "order.create", "order")
            .object(id)
            .patient(c.person)
            .reason(reason),
    )
    .await?;
    Ok(Some(id))
}

/// The order to pay for a subject of the patient's: the one waiting, for the pay page.
pub async fn pending_order(
    state: &AppState,
    actor: &Actor,
    subject_type: &str,
    id: i64,
) -> AppResult<OrderView> {
    let me = actor.require()?;
    crate::capability::require_role(me, Role::Patient, "the patient (or their family) pays")?;
    let order = store::latest_for(&state.db, subject_type, id)
        .await?
        .ok_or_else(|| {
            AppError::refused(
                Reason::NothingToPay,
                "there is nothing to pay for it".to_owned(),
            )
        })?;
    policy::authorize_patient(state, actor, "order.read", "order", order.person_id, None).await?;
    if order.status != OrderStatus::Pending {
        return Err(AppError::refused(
            Reason::AlreadyPaid,
            format!("its fee is {} already", order.status),
        ));
    }
    view(state, order.id).await
}

/// The registration fee of a booked appointment, paid online: the order waiting, or a new
/// one at the price of the appointment's service.
pub async fn order_appointment(
    state: &AppState,
    actor: &Actor,
    appointment: i64,
) -> AppResult<OrderView> {
    let me = actor.require()?;
    crate::capability::require_role(me, Role::Patient, "the patient (or their family) pays")?;
    let a = crate::scheduling::service::read_appointment(state, actor, appointment).await?;
    if a.status != "booked" {
        return Err(AppError::refused(
            Reason::AppointmentNotBooked,
            format!(
                "the appointment is {}; only a booked one is paid for",
                a.status.as_str().replace('_', " ")
            ),
        ));
    }
    if let Some(order) = store::latest_for(&state.db, "appointment", a.id).await? {
        match order.status {
            OrderStatus::Pending => return view(state, order.id).await,
            OrderStatus::Paid => {
                return Err(AppError::refused(
                    Reason::AlreadyPaid,
                    "it is paid already".to_owned(),
                ));
            }
            _ => {}
        }
    }
    let service = crate::directory::store::service(&state.db, a.service_id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("service {} missing", a.service_id)))?;
    if service.price_fen <= 0 {
        return Err(AppError::refused(
            Reason::NothingToPay,
            "this appointment costs nothing".to_owned(),
        ));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let description = format!("挂号费 {} {}", service.name, a.day);
    let id = charge(
        state,
        &mut tx,
        &actor.audit(),
        &Charge {
            person: a.person_id,
            payer: me.account_id,
            hospital: a.hospital_id,
            subject_type: "appointment",
            subject_id: a.id,
            description: &description,
            price_fen: service.price_fen,
        },
        now,
    )
    .await;
    let id = match id {
        Ok(Some(id)) => id,
        Ok(None) => {
            return Err(AppError::refused(
                Reason::NothingToPay,
                "this appointment costs nothing".to_owned(),
            ));
        }
        // Pressed twice at once: the other order stands.
        Err(AppError::Internal(e))
            if e.downcast_ref::<sqlx::Error>()
                .is_some_and(crate::db::is_unique_violation) =>
        {
            drop(tx);
            let existing = store::pending_for(&state.db, "appointment", a.id)
                .await?
                .ok_or_else(|| {
                    AppError::refused(
                        Reason::ChangedMeanwhile,
                        "the order changed; try again".to_owned(),
                    )
                })?;
            return view(state, existing.id).await;
        }
        Err(e) => return Err(e),
    };
    tx.commit().await?;
    view(state, id).await
}

/// Refunds in full what was paid for consultations cancelled or expired, appointments
/// cancelled and prescriptions not dispensed. Returns how many orders. Idempotent: a refunded order is not found again.
pub async fn refund_lapsed(state: &AppState) -> AppResult<usize> {
    let mut refunded = 0;
    for (order, why) in store::lapsed_paid(&state.db, 200).await? {
        match super::service::refund_remaining(state, &AuditActor::system(), order, &why).await {
            Ok(()) => refunded += 1,
            // Refunded meanwhile by someone else: nothing left.
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(refunded)
}

pub const REFUND_KIND: &str = "billing.refund_lapsed";

/// `billing.refund_lapsed`: the recurring refund of lapsed consultations and appointments.
pub struct RefundLapsed(pub AppState);

crate::empty_payload!(
    /// The payload of `RefundLapsed`: none, it looks for what is due.
    RefundLapsedDue = REFUND_KIND
);

impl Job for RefundLapsed {
    type Payload = RefundLapsedDue;

    async fn run(&self, _ctx: &JobContext, _: RefundLapsedDue) -> JobResult {
        let n = refund_lapsed(&self.0)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if n > 0 {
            tracing::info!(
                refunded = n,
                "lapsed consultations and appointments refunded"
            );
        }
        Ok(())
    }
}
