//! Billing SQL. Paying and refunding are conditional updates, so a replayed or concurrent
//! notification, or a second refund, cannot pay twice or return more than was paid.

use crate::db::{Db, Tx};

crate::text_enum! {
    /// Where an order's payment stands.
    pub enum OrderStatus {
        /// Waiting for the patient to pay.
        Pending = "pending",
        Paid = "paid",
        /// Never paid, and no longer payable.
        Cancelled = "cancelled",
        /// Paid and returned in full.
        Refunded = "refunded",
    }
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OrderRow {
    pub id: i64,
    pub person_id: i64,
    pub payer_id: i64,
    pub hospital_id: i64,
    pub subject_type: String,
    pub subject_id: i64,
    pub status: OrderStatus,
    pub total_fen: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    pub gateway: String,
    pub gateway_txn: Option<String>,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, person_id, payer_id, hospital_id, subject_type, subject_id, status, total_fen, \
     paid_fen, refunded_fen, gateway, gateway_txn, created_at, paid_at, updated_at";

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LineRow {
    pub line: i64,
    pub description: String,
    pub quantity: i64,
    pub unit_price_fen: i64,
    pub amount_fen: i64,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RefundRow {
    pub id: i64,
    pub amount_fen: i64,
    pub reason: String,
    pub gateway_ref: String,
    pub created_at: i64,
}

pub struct NewOrder<'a> {
    pub person: i64,
    pub payer: i64,
    pub hospital: i64,
    pub subject_type: &'a str,
    pub subject_id: i64,
    pub total_fen: i64,
    pub gateway: &'a str,
}

pub async fn insert(tx: &mut Tx, o: &NewOrder<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO payment_order (person_id, payer_id, hospital_id, subject_type, subject_id, status, \
         total_fen, gateway, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $8) \
         RETURNING id",
        (o.person, o.payer, o.hospital, o.subject_type, o.subject_id, o.total_fen, o.gateway, now),
    )
    .await
}

pub async fn insert_line(tx: &mut Tx, order: i64, l: &LineRow) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO order_line (order_id, line, description, quantity, unit_price_fen, amount_fen) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        (order, l.line, &l.description, l.quantity, l.unit_price_fen, l.amount_fen),
    )
    .await
    .map(|_| ())
}

/// The order and its lines, in one transaction.
pub async fn insert_with_lines(
    tx: &mut Tx,
    o: &NewOrder<'_>,
    lines: &[LineRow],
    now: i64,
) -> Result<i64, sqlx::Error> {
    let id = insert(tx, o, now).await?;
    for line in lines {
        insert_line(tx, id, line).await?;
    }
    Ok(id)
}

/// The most recent order for a subject, whatever its status.
pub async fn latest_for(
    db: &Db,
    subject_type: &str,
    subject_id: i64,
) -> Result<Option<OrderRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payment_order WHERE subject_type = $1 AND subject_id = $2 ORDER BY id DESC LIMIT 1"
    );
    db.optional::<OrderRow>(&sql, (subject_type, subject_id))
        .await
}

/// Paid orders with something left to refund whose subject lapsed: a consultation cancelled
/// or expired, an appointment cancelled, a prescription the pharmacy could not fill (its
/// delivery cancelled). (order id, why).
pub async fn lapsed_paid(db: &Db, limit: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    db.all::<(i64, String)>(
        "SELECT o.id, 'consultation ' || c.status FROM payment_order o \
         JOIN consultation c ON o.subject_type = 'consultation' AND c.id = o.subject_id \
         WHERE o.status = 'paid' AND o.refunded_fen < o.paid_fen AND c.status IN ('cancelled', 'expired') \
         UNION ALL \
         SELECT o.id, 'appointment cancelled' FROM payment_order o \
         JOIN appointment a ON o.subject_type = 'appointment' AND a.id = o.subject_id \
         WHERE o.status = 'paid' AND o.refunded_fen < o.paid_fen AND a.status = 'cancelled' \
         UNION ALL \
         SELECT o.id, 'prescription not dispensed' FROM payment_order o \
         JOIN fulfilment f ON o.subject_type = 'prescription' AND f.prescription_id = o.subject_id \
         WHERE o.status = 'paid' AND o.refunded_fen < o.paid_fen AND f.status = 'cancelled' \
         LIMIT $1",
        (limit,),
    )
    .await
}

pub async fn order(db: &Db, id: i64) -> Result<Option<OrderRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM payment_order WHERE id = $1");
    db.optional::<OrderRow>(&sql, (id,)).await
}

/// The order waiting for payment for a subject, if any.
pub async fn pending_for(
    db: &Db,
    subject_type: &str,
    subject_id: i64,
) -> Result<Option<OrderRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payment_order WHERE subject_type = $1 AND subject_id = $2 AND status = 'pending'"
    );
    db.optional::<OrderRow>(&sql, (subject_type, subject_id))
        .await
}

/// The paid (or partly refunded) order for a subject, if any.
pub async fn paid_for(
    db: &Db,
    subject_type: &str,
    subject_id: i64,
) -> Result<Option<OrderRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payment_order WHERE subject_type = $1 AND subject_id = $2 \
         AND status = 'paid' ORDER BY id DESC LIMIT 1"
    );
    db.optional::<OrderRow>(&sql, (subject_type, subject_id))
        .await
}

pub async fn lines(db: &Db, order: i64) -> Result<Vec<LineRow>, sqlx::Error> {
    db.all::<LineRow>(
        "SELECT line, description, quantity, unit_price_fen, amount_fen FROM order_line WHERE order_id = $1 ORDER BY line",
        (order,),
    )
    .await
}

pub async fn refunds(db: &Db, order: i64) -> Result<Vec<RefundRow>, sqlx::Error> {
    db.all::<RefundRow>(
        "SELECT id, amount_fen, reason, gateway_ref, created_at FROM refund WHERE order_id = $1 ORDER BY id",
        (order,),
    )
    .await
}

/// Records a notification once: false when the same (gateway, transaction, event) came before.
pub async fn record_notification(
    tx: &mut Tx,
    gateway: &str,
    n: &super::gateway::Notification,
    outcome: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "INSERT INTO payment_notification (gateway, gateway_txn, event, order_id, amount_fen, received_at, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (gateway, gateway_txn, event) DO NOTHING",
        (gateway, &n.gateway_txn, &n.event, n.order_id, n.amount_fen, now, outcome),
    )
    .await
    .map(|n| n == 1)
}

pub async fn set_notification_outcome(
    tx: &mut Tx,
    gateway: &str,
    n: &super::gateway::Notification,
    outcome: &str,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE payment_notification SET outcome = $4 WHERE gateway = $1 AND gateway_txn = $2 AND event = $3",
        (gateway, &n.gateway_txn, &n.event, outcome),
    )
    .await
    .map(|_| ())
}

/// Marks a pending order paid in full by `txn`; false if it was no longer pending.
pub async fn mark_paid(tx: &mut Tx, id: i64, txn: &str, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE payment_order SET status = 'paid', paid_fen = total_fen, gateway_txn = $2, paid_at = $3, \
         updated_at = $3 WHERE id = $1 AND status = 'pending'",
        (id, txn, now),
    )
    .await
    .map(|n| n == 1)
}

/// Takes `amount` off what the order may still refund; false when that would exceed what was
/// paid (or the order was never paid). Fully refunded orders become `refunded`.
pub async fn take_refund(tx: &mut Tx, id: i64, amount: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE payment_order SET refunded_fen = refunded_fen + $2, \
         status = CASE WHEN refunded_fen + $2 = paid_fen THEN 'refunded' ELSE status END, updated_at = $3 \
         WHERE id = $1 AND status = 'paid' AND refunded_fen + $2 <= paid_fen",
        (id, amount, now),
    )
    .await
    .map(|n| n == 1)
}

pub async fn insert_refund(
    tx: &mut Tx,
    order: i64,
    amount: i64,
    reason: &str,
    gateway_ref: &str,
    by: Option<i64>,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO refund (order_id, amount_fen, reason, gateway_ref, by_account, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        (order, amount, reason, gateway_ref, by, now),
    )
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PaymentLine {
    pub order_id: i64,
    pub subject_type: String,
    pub subject_id: i64,
    pub gateway: String,
    pub gateway_txn: Option<String>,
    pub amount_fen: i64,
    pub at: i64,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RefundLine {
    pub refund_id: i64,
    pub order_id: i64,
    pub subject_type: String,
    pub gateway_ref: String,
    pub amount_fen: i64,
    pub reason: String,
    pub at: i64,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Exception {
    pub order_id: i64,
    pub gateway_txn: String,
    pub event: String,
    pub amount_fen: i64,
    pub outcome: String,
    pub at: i64,
}

/// Payments of a hospital's orders received in [from, to).
pub async fn payments_between(
    db: &Db,
    hospital: i64,
    from: i64,
    to: i64,
) -> Result<Vec<PaymentLine>, sqlx::Error> {
    db.all::<PaymentLine>(
        "SELECT id AS order_id, subject_type, subject_id, gateway, gateway_txn, paid_fen AS amount_fen, \
         paid_at AS at FROM payment_order WHERE hospital_id = $1 AND paid_at >= $2 AND paid_at < $3 \
         ORDER BY paid_at, id",
        (hospital, from, to),
    )
    .await
}

/// Refunds of a hospital's orders made in [from, to).
pub async fn refunds_between(
    db: &Db,
    hospital: i64,
    from: i64,
    to: i64,
) -> Result<Vec<RefundLine>, sqlx::Error> {
    db.all::<RefundLine>(
        "SELECT r.id AS refund_id, r.order_id, o.subject_type, r.gateway_ref, r.amount_fen, r.reason, \
         r.created_at AS at FROM refund r JOIN payment_order o ON o.id = r.order_id \
         WHERE o.hospital_id = $1 AND r.created_at >= $2 AND r.created_at < $3 ORDER BY r.created_at, r.id",
        (hospital, from, to),
    )
    .await
}

/// Notifications in [from, to) that paid nothing as expected (a wrong amount, money refunded on arrival).
pub async fn exceptions_between(
    db: &Db,
    hospital: i64,
    from: i64,
    to: i64,
) -> Result<Vec<Exception>, sqlx::Error> {
    db.all::<Exception>(
        "SELECT n.order_id, n.gateway_txn, n.event, n.amount_fen, n.outcome, n.received_at AS at \
         FROM payment_notification n JOIN payment_order o ON o.id = n.order_id \
         WHERE o.hospital_id = $1 AND n.received_at >= $2 AND n.received_at < $3 \
         AND n.outcome IN ('amount_mismatch', 'refunded') ORDER BY n.received_at, n.id",
        (hospital, from, to),
    )
    .await
}
