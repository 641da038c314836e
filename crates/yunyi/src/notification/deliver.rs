//! `notification.deliver`: takes one stored notification to its person's open pages (the
//! unread count) and by each other channel, under their preferences, quiet hours and a rate
//! limit.
//!
//! Each channel's delivery is claimed (`pending`/`deferred` → `sending`) before the gateway is
//! called and settled after, so the job — delivered at least once by the outbox — sends at
//! most once: a run that finds a delivery still `sending` (its worker died mid-send, and the
//! message may or may not have left) marks it failed instead of sending it again. The
//! notification itself is always in the inbox.

use super::model::{Channel, DeliveryStatus};
use super::store::{self, NotificationRow};
use crate::app::AppState;
use crate::identity::model::Phone;
use crate::identity::notify::Message;
use crate::identity::store as identity_store;
use crate::jobs::{self, Job, JobContext, JobResult, NewJob, Payload};
use crate::web::i18n::Lang;

pub const KIND: &str = "notification.deliver";

/// The payload: which notification.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Deliver {
    pub notification_id: i64,
}

impl Payload for Deliver {
    const KIND: &'static str = KIND;
}

/// The job's handler.
pub struct DeliverNotifications(pub AppState);

impl Job for DeliverNotifications {
    type Payload = Deliver;

    async fn run(&self, ctx: &JobContext, job: Deliver) -> JobResult {
        let state = &self.0;
        let Some(n) = store::get(&state.db, job.notification_id).await? else {
            return Ok(());
        };
        if ctx.attempt == 1 {
            super::service::ring(state, n.account_id).await;
        }
        for d in store::deliveries(&state.db, n.id).await? {
            match d.status {
                DeliveryStatus::Pending | DeliveryStatus::Deferred => {
                    deliver(state, ctx, &n, d.channel).await?;
                }
                DeliveryStatus::Sending => {
                    // A worker died between claiming and settling: the gateway may have taken
                    // the message. At most once: it is not sent again.
                    store::settle(
                        &state.db,
                        n.id,
                        d.channel,
                        DeliveryStatus::Sending,
                        DeliveryStatus::Failed,
                        Some("interrupted"),
                        ctx.now_ms(),
                    )
                    .await?;
                }
                DeliveryStatus::Sent | DeliveryStatus::Skipped | DeliveryStatus::Failed => {}
            }
        }
        Ok(())
    }
}

/// Why a channel does not carry a notification now.
enum Hold {
    /// Not at all (the reason is stored).
    Skip(&'static str),
    /// Not before this time (quiet hours).
    Until(i64),
}

async fn hold(
    state: &AppState,
    n: &NotificationRow,
    channel: Channel,
    now: i64,
) -> anyhow::Result<Option<Hold>> {
    let config = &state.config.notification;
    let wanted = match n.event.topic() {
        None => n.event.sms_by_default(),
        Some(topic) => store::preferences(&state.db, n.account_id)
            .await?
            .into_iter()
            .find(|p| p.topic == topic && p.channel == channel)
            .map_or(n.event.sms_by_default(), |p| {
                p.enabled && n.event.sms_by_default()
            }),
    };
    if !wanted {
        return Ok(Some(Hold::Skip("preference")));
    }
    if !n.urgent {
        if let Some(until) = config.quiet_hours.and_then(|q| q.ends_after(now)) {
            return Ok(Some(Hold::Until(until)));
        }
        let hour_ago = now - 3_600_000;
        if store::sent_since(&state.db, n.account_id, channel, hour_ago).await?
            >= config.sms_per_hour
        {
            return Ok(Some(Hold::Skip("rate_limited")));
        }
    }
    Ok(None)
}

async fn deliver(
    state: &AppState,
    ctx: &JobContext,
    n: &NotificationRow,
    channel: Channel,
) -> JobResult {
    let now = ctx.now_ms();
    let from = DeliveryStatus::Pending;
    match hold(state, n, channel, now).await? {
        Some(Hold::Skip(why)) => {
            for from in [from, DeliveryStatus::Deferred] {
                let to = DeliveryStatus::Skipped;
                store::settle(&state.db, n.id, channel, from, to, Some(why), now).await?;
            }
            return Ok(());
        }
        Some(Hold::Until(at)) => {
            let (to, why) = (DeliveryStatus::Deferred, Some("quiet_hours"));
            store::settle(&state.db, n.id, channel, from, to, why, now).await?;
            jobs::enqueue_now(
                &state.db,
                &NewJob::of(&Deliver {
                    notification_id: n.id,
                })
                .dedupe_key(format!("{KIND}:{}:{at}", n.id))
                .run_at(at),
            )
            .await?;
            return Ok(());
        }
        None => {}
    }
    let Some(phone) = phone_of(state, n.account_id).await? else {
        for from in [from, DeliveryStatus::Deferred] {
            let to = DeliveryStatus::Skipped;
            store::settle(&state.db, n.id, channel, from, to, Some("no_phone"), now).await?;
        }
        return Ok(());
    };
    if !store::claim(&state.db, n.id, channel, now).await? {
        return Ok(());
    }
    let sent = state.notifier.send(&sms(n, phone)).await;
    let sending = DeliveryStatus::Sending;
    match sent {
        Ok(()) => {
            let to = DeliveryStatus::Sent;
            store::settle(&state.db, n.id, channel, sending, to, None, ctx.now_ms()).await?;
            Ok(())
        }
        Err(e) => {
            let last = ctx.attempt >= NewJob::DEFAULT_MAX_ATTEMPTS;
            let to = if last {
                DeliveryStatus::Failed
            } else {
                DeliveryStatus::Pending
            };
            let why = format!("{e:#}");
            store::settle(&state.db, n.id, channel, sending, to, Some(&why), now).await?;
            // The outbox retries with backoff; after the last attempt the delivery is failed.
            if last { Ok(()) } else { Err(e) }
        }
    }
}

/// The account's phone, if it has one.
pub(crate) async fn phone_of(state: &AppState, account: i64) -> anyhow::Result<Option<Phone>> {
    let Some(account) = identity_store::account(&state.db, account).await? else {
        return Ok(None);
    };
    let Some(sealed) = account.phone_enc else {
        return Ok(None);
    };
    let phone = Phone::parse(&state.keys.decrypt(&sealed)?).map_err(anyhow::Error::msg)?;
    Ok(Some(phone))
}

/// The SMS: Chinese (the gateway's templates are approved in Chinese), signed 【云医】.
fn sms(n: &NotificationRow, to: Phone) -> Message {
    let (_, body) = super::service::render(Lang::Zh, n.event, &n.params);
    Message {
        to,
        kind: n.event.as_str(),
        text: format!("【云医】{body}"),
        params: serde_json::from_str(&n.params).unwrap_or_default(),
    }
}
