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

/// A pending delivery by `channel`: by SMS always (a missing phone is recorded as the reason),
/// by Web Push and WeChat only when the account has a browser or a follower to reach, so
/// accounts that never turned them on carry no rows for them.
pub async fn insert_delivery(
    tx: &mut Tx,
    id: i64,
    channel: Channel,
    account: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let reachable = match channel {
        Channel::Sms => "",
        Channel::WebPush => "WHERE EXISTS (SELECT 1 FROM push_subscription WHERE account_id = $3)",
        Channel::WeChat => "WHERE EXISTS (SELECT 1 FROM wechat_binding WHERE account_id = $3)",
    };
    tx.execute(
        &format!(
            "INSERT INTO notification_delivery (notification_id, channel, account_id, status, updated_at) \
             SELECT $1, $2, $3, 'pending', $4 {reachable} \
             ON CONFLICT (notification_id, channel) DO NOTHING"
        ),
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

/// An account's deliveries of the notifications with ids from `lo` to `hi` (a page of its
/// inbox), with the notification each belongs to: one query for the page.
pub async fn deliveries_between(
    db: &Db,
    account: i64,
    (lo, hi): (i64, i64),
) -> Result<Vec<(i64, DeliveryRow)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        notification_id: i64,
        #[sqlx(flatten)]
        delivery: DeliveryRow,
    }
    let rows: Vec<Row> = db
        .all(
            "SELECT notification_id, channel, status, detail, attempts, sent_at \
             FROM notification_delivery WHERE account_id = $1 AND notification_id BETWEEN $2 AND $3 \
             ORDER BY notification_id, channel",
            (account, lo, hi),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.notification_id, r.delivery))
        .collect())
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

/// Skips a pending or deferred delivery, with why (one statement: this runs for every
/// channel a person cannot be reached by).
pub async fn skip(
    db: &Db,
    id: i64,
    channel: Channel,
    why: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    db.execute(
        "UPDATE notification_delivery SET status = 'skipped', detail = $3, updated_at = $4 \
         WHERE notification_id = $1 AND channel = $2 AND status IN ('pending', 'deferred')",
        (id, channel, why, now),
    )
    .await
    .map(|_| ())
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

/// A browser's push subscription as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PushSubscriptionRow {
    pub id: i64,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub lang: String,
    pub created_at: i64,
}

const PUSH_COLUMNS: &str = "id, endpoint, p256dh, auth, lang, created_at";

/// Stores a browser's subscription for `account`; a browser subscribed before (by anyone:
/// one browser profile, one endpoint) now belongs to `account`, with its new keys.
pub async fn save_push_subscription(
    tx: &mut Tx,
    account: i64,
    (endpoint, p256dh, auth, lang): (&str, &str, &str, &str),
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO push_subscription (account_id, endpoint, p256dh, auth, lang, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (endpoint) DO UPDATE \
         SET account_id = $1, p256dh = $3, auth = $4, lang = $5, created_at = $6",
        (account, endpoint, p256dh, auth, lang, now),
    )
    .await
    .map(|_| ())
}

pub async fn push_subscriptions(
    db: &Db,
    account: i64,
) -> Result<Vec<PushSubscriptionRow>, sqlx::Error> {
    db.all(
        &format!("SELECT {PUSH_COLUMNS} FROM push_subscription WHERE account_id = $1 ORDER BY id"),
        (account,),
    )
    .await
}

/// Forgets one of the account's browsers; false when it was not theirs.
pub async fn delete_push_subscription(
    tx: &mut Tx,
    account: i64,
    endpoint: &str,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "DELETE FROM push_subscription WHERE account_id = $1 AND endpoint = $2",
        (account, endpoint),
    )
    .await
    .map(|n| n == 1)
}

/// Forgets a subscription the push service says is gone.
pub async fn drop_push_subscription(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    db.execute("DELETE FROM push_subscription WHERE id = $1", (id,))
        .await
        .map(|_| ())
}

/// The WeChat follower bound to an account.
pub async fn wechat_openid(db: &Db, account: i64) -> Result<Option<String>, sqlx::Error> {
    db.scalar_optional(
        "SELECT openid FROM wechat_binding WHERE account_id = $1",
        (account,),
    )
    .await
}

/// Binds a follower to an account. A follower bound to another account before moves here
/// (the person scanned this account's code), and the account's previous follower is let go.
pub async fn bind_wechat(
    tx: &mut Tx,
    account: i64,
    openid: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "DELETE FROM wechat_binding WHERE openid = $1 OR account_id = $2",
        (openid, account),
    )
    .await?;
    tx.execute(
        "INSERT INTO wechat_binding (account_id, openid, bound_at) VALUES ($1, $2, $3)",
        (account, openid, now),
    )
    .await
    .map(|_| ())
}

/// Unbinds an account's follower, or a follower who unfollowed; the account it was bound to.
pub async fn unbind_wechat(
    tx: &mut Tx,
    (account, openid): (Option<i64>, Option<&str>),
) -> Result<Option<i64>, sqlx::Error> {
    tx.scalar_optional(
        "DELETE FROM wechat_binding WHERE account_id = $1 OR openid = $2 RETURNING account_id",
        (account, openid),
    )
    .await
}

/// The follower bound to an account and when.
pub async fn wechat_binding(db: &Db, account: i64) -> Result<Option<(String, i64)>, sqlx::Error> {
    db.optional(
        "SELECT openid, bound_at FROM wechat_binding WHERE account_id = $1",
        (account,),
    )
    .await
}
