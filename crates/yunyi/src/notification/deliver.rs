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
use super::web_push;
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
    let by_default = n.event.by_default(channel);
    let wanted = match n.event.topic() {
        None => by_default,
        Some(topic) => store::preferences(&state.db, n.account_id)
            .await?
            .into_iter()
            .find(|p| p.topic == topic && p.channel == channel)
            .map_or(by_default, |p| p.enabled && by_default),
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
            >= config.per_hour(channel)
        {
            return Ok(Some(Hold::Skip("rate_limited")));
        }
    }
    Ok(None)
}

/// Where a channel reaches the person.
enum Address {
    Phone(Phone),
    Browsers(Vec<store::PushSubscriptionRow>),
    WeChat(String),
}

/// The person's address on `channel`, or why there is none.
async fn address(
    state: &AppState,
    account: i64,
    channel: Channel,
) -> anyhow::Result<Result<Address, &'static str>> {
    Ok(match channel {
        Channel::Sms => phone_of(state, account)
            .await?
            .map(Address::Phone)
            .ok_or("no_phone"),
        Channel::WebPush => {
            let browsers = store::push_subscriptions(&state.db, account).await?;
            if browsers.is_empty() {
                Err("no_subscription")
            } else {
                Ok(Address::Browsers(browsers))
            }
        }
        Channel::WeChat => match &state.wechat {
            None => Err("not_configured"),
            Some(_) => store::wechat_openid(&state.db, account)
                .await?
                .map(Address::WeChat)
                .ok_or("not_bound"),
        },
    })
}

async fn deliver(
    state: &AppState,
    ctx: &JobContext,
    n: &NotificationRow,
    channel: Channel,
) -> JobResult {
    let now = ctx.now_ms();
    let from = DeliveryStatus::Pending;
    let skip = |why: &'static str| async move {
        store::skip(&state.db, n.id, channel, why, now).await?;
        JobResult::Ok(())
    };
    match hold(state, n, channel, now).await? {
        Some(Hold::Skip(why)) => return skip(why).await,
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
    let address = match address(state, n.account_id, channel).await? {
        Ok(address) => address,
        Err(why) => return skip(why).await,
    };
    if !store::claim(&state.db, n.id, channel, now).await? {
        return Ok(());
    }
    let sent = send(state, n, address, now).await;
    let sending = DeliveryStatus::Sending;
    match sent {
        Ok(()) => {
            let to = DeliveryStatus::Sent;
            store::settle(&state.db, n.id, channel, sending, to, None, ctx.now_ms()).await?;
            Ok(())
        }
        Err(e) => {
            let last = ctx.attempt >= NewJob::DEFAULT_MAX_ATTEMPTS || hopeless(&e);
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

/// Whether a failure will repeat however often it is retried: WeChat says the follower
/// refused or left, a push service refuses the request itself.
fn hopeless(e: &anyhow::Error) -> bool {
    e.downcast_ref::<super::wechat::Refused>()
        .is_some_and(super::wechat::Refused::is_permanent)
        || e.downcast_ref::<web_push::Rejected>().is_some()
}

/// Sends by one channel. Web Push goes to each of the person's browsers and counts as sent
/// when one took it; browsers their push service no longer knows are forgotten.
async fn send(
    state: &AppState,
    n: &NotificationRow,
    address: Address,
    now: i64,
) -> anyhow::Result<()> {
    match address {
        Address::Phone(phone) => state.notifier.send(&sms(n, phone)).await,
        Address::WeChat(openid) => match &state.wechat {
            Some(wechat) => super::wechat::send(state, wechat, n, &openid).await,
            None => anyhow::bail!("WeChat is not configured"),
        },
        Address::Browsers(browsers) => {
            let urgency = if n.urgent {
                web_push::Urgency::High
            } else {
                web_push::Urgency::Normal
            };
            let (mut reached, mut last_error) = (0, None);
            for browser in browsers {
                let payload = push_payload(n, Lang::from_short(&browser.lang).unwrap_or_default());
                let subscription = web_push::Subscription::parse(
                    &browser.endpoint,
                    &browser.p256dh,
                    &browser.auth,
                )
                .map_err(|field| anyhow::anyhow!("stored subscription: bad {field}"))?;
                match state
                    .web_push
                    .send(&subscription, payload.as_bytes(), urgency, now / 1000)
                    .await
                {
                    Ok(web_push::Outcome::Accepted) => reached += 1,
                    Ok(web_push::Outcome::Gone) => {
                        store::drop_push_subscription(&state.db, browser.id).await?;
                    }
                    Err(e) => last_error = Some(e),
                }
            }
            match last_error {
                Some(e) if reached == 0 => Err(e),
                _ if reached == 0 => {
                    anyhow::bail!("no browser of this person is subscribed any more")
                }
                _ => Ok(()),
            }
        }
    }
}

/// What the service worker shows (`assets/sw.js`): title, body, where a tap leads, and a
/// tag so a notification told twice replaces itself.
fn push_payload(n: &NotificationRow, lang: Lang) -> String {
    let (title, body) = super::service::render(lang, n.event, &n.params);
    serde_json::json!({
        "title": title,
        "body": body,
        "link": format!("/notifications/{}", n.id),
        "tag": format!("yunyi-{}", n.id),
    })
    .to_string()
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
