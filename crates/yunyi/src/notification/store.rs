//! Notification SQL: the inbox rows, each channel's delivery claimed by a conditional update
//! (so a job run twice sends once), and the preferences.

use super::model::{Channel, DeliveryStatus, Event, Topic};
use crate::db::{Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: i64,
    pub account_id: i64,
    pub event: Event,
    pub params: String,
    pub link: Option<String>,
    pub urgent: bool,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

const COLUMNS: &str = "id, account_id, event, params, link, urgent, created_at, read_at";

pub struct NewNotification<'a> {
    pub account_id: i64,
    pub event: Event,
    pub params: &'a str,
    pub link: Option<&'a str>,
    pub urgent: bool,
    pub dedupe_key: &'a str,
}

/// The new row's id, or `None` when this account was already told about this cause.
pub async fn insert(
    tx: &mut Tx,
    n: &NewNotification<'_>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    tx.scalar_optional(
        "INSERT INTO notification (account_id, event, params, link, urgent, dedupe_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id, dedupe_key) DO NOTHING \
         RETURNING id",
        (
            n.account_id,
            n.event,
            n.params,
            n.link,
            n.urgent,
            n.dedupe_key,
            now,
        ),
    )
    .await
}

pub async fn get(db: &Db, id: i64) -> Result<Option<NotificationRow>, sqlx::Error> {
    db.optional(
        &format!("SELECT {COLUMNS} FROM notification WHERE id = $1"),
        (id,),
    )
    .await
}

/// An account's notifications, newest first, older than `before` when given.
pub async fn list(
    db: &Db,
    account: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<NotificationRow>, sqlx::Error> {
    db.all(
        &format!(
            "SELECT {COLUMNS} FROM notification WHERE account_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        ),
        (account, before.unwrap_or(i64::MAX), limit),
    )
    .await
}

pub async fn unread(db: &Db, account: i64) -> Result<i64, sqlx::Error> {
    db.scalar(
        "SELECT COUNT(*) FROM notification WHERE account_id = $1 AND read_at IS NULL",
        (account,),
    )
    .await
}

/// Marks one of the account's notifications read; false when it is not theirs or not there.
pub async fn mark_read(db: &Db, account: i64, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    db.execute(
        "UPDATE notification SET read_at = COALESCE(read_at, $3) WHERE id = $1 AND account_id = $2",
        (id, account, now),
    )
    .await
    .map(|n| n == 1)
}

pub async fn mark_all_read(db: &Db, account: i64, now: i64) -> Result<u64, sqlx::Error> {
    db.execute(
        "UPDATE notification SET read_at = $2 WHERE account_id = $1 AND read_at IS NULL",
        (account, now),
    )
    .await
}

pub async fn insert_delivery(
    tx: &mut Tx,
    id: i64,
    channel: Channel,
    account: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO notification_delivery (notification_id, channel, account_id, status, updated_at) \
         VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT (notification_id, channel) DO NOTHING",
        (id, channel, account, now),
    )
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub channel: Channel,
    pub status: DeliveryStatus,
    pub detail: Option<String>,
    pub attempts: i64,
    pub sent_at: Option<i64>,
}

pub async fn deliveries(db: &Db, id: i64) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    db.all(
        "SELECT channel, status, detail, attempts, sent_at FROM notification_delivery \
         WHERE notification_id = $1 ORDER BY channel",
        (id,),
    )
    .await
}

/// Claims a delivery for sending: true for exactly one caller while it is pending or deferred.
pub async fn claim(db: &Db, id: i64, channel: Channel, now: i64) -> Result<bool, sqlx::Error> {
    db.execute(
        "UPDATE notification_delivery SET status = 'sending', attempts = attempts + 1, updated_at = $3 \
         WHERE notification_id = $1 AND channel = $2 AND status IN ('pending', 'deferred')",
        (id, channel, now),
    )
    .await
    .map(|n| n == 1)
}

/// Moves a delivery from `from` to `to`, with why; false when it was not in `from`.
pub async fn settle(
    db: &Db,
    id: i64,
    channel: Channel,
    from: DeliveryStatus,
    to: DeliveryStatus,
    detail: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let sent_at = (to == DeliveryStatus::Sent).then_some(now);
    db.execute(
        "UPDATE notification_delivery SET status = $4, detail = $5, updated_at = $6, sent_at = $7 \
         WHERE notification_id = $1 AND channel = $2 AND status = $3",
        (id, channel, from, to, detail, now, sent_at),
    )
    .await
    .map(|n| n == 1)
}

/// How many messages went to an account by a channel since `since`.
pub async fn sent_since(
    db: &Db,
    account: i64,
    channel: Channel,
    since: i64,
) -> Result<i64, sqlx::Error> {
    db.scalar(
        "SELECT COUNT(*) FROM notification_delivery \
         WHERE account_id = $1 AND channel = $2 AND sent_at >= $3",
        (account, channel, since),
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PreferenceRow {
    pub topic: Topic,
    pub channel: Channel,
    pub enabled: bool,
}

pub async fn preferences(db: &Db, account: i64) -> Result<Vec<PreferenceRow>, sqlx::Error> {
    db.all(
        "SELECT topic, channel, enabled FROM notification_preference WHERE account_id = $1",
        (account,),
    )
    .await
}

pub async fn set_preference(
    tx: &mut Tx,
    account: i64,
    p: &PreferenceRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO notification_preference (account_id, topic, channel, enabled, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, topic, channel) \
         DO UPDATE SET enabled = $4, updated_at = $5",
        (account, p.topic, p.channel, p.enabled, now),
    )
    .await
    .map(|_| ())
}
