//! Turning channels on and off: a browser allowing pushes (its subscription), a WeChat
//! follower bound by scanning a code, and WeChat's callback that reports the scan.

use serde::{Deserialize, Serialize};

use super::store;
use super::web_push::Subscription;
use super::wechat::{self, CallbackQuery};
use crate::app::AppState;
use crate::audit::{self, AuditActor, NewEvent};
use crate::error::{AppError, AppResult, FieldError};
use crate::identity::actor::Actor;
use crate::web::i18n::Lang;

/// A browser's subscription as `PushSubscription.toJSON()` gives it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BrowserSubscription {
    pub endpoint: String,
    pub keys: BrowserKeys,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BrowserKeys {
    /// The browser's P-256 public key, base64url.
    pub p256dh: String,
    /// The browser's authentication secret, base64url.
    pub auth: String,
}

/// The key browsers subscribe with (`applicationServerKey`).
pub fn push_key(state: &AppState) -> String {
    state.web_push.vapid().public_key()
}

/// Stores the signed-in person's browser; pushes to it are written in `lang`.
pub async fn subscribe_browser(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    s: &BrowserSubscription,
) -> AppResult<()> {
    let me = actor.require()?;
    let parsed = Subscription::parse(&s.endpoint, &s.keys.p256dh, &s.keys.auth).map_err(|f| {
        AppError::Validation(vec![
            FieldError::new(f, "is not a browser's push subscription")
                .localized("field.push_subscription", vec![]),
        ])
    })?;
    if !state
        .config
        .notification
        .push_service_allowed(&parsed.endpoint)
    {
        return Err(AppError::Validation(vec![
            FieldError::new(
                "endpoint",
                "is not the address of a push service this server sends to",
            )
            .localized("field.push_service", vec![]),
        ]));
    }
    let now = state.now_ms();
    let values = (
        parsed.endpoint.as_str(),
        s.keys.p256dh.trim(),
        s.keys.auth.trim(),
        lang.short(),
    );
    let mut tx = state.db.begin().await?;
    store::save_push_subscription(&mut tx, me.account_id, values, now).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "notification.push.subscribe", "account")
            .object(me.account_id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Forgets one of the signed-in person's browsers (they turned pushes off there).
pub async fn unsubscribe_browser(state: &AppState, actor: &Actor, endpoint: &str) -> AppResult<()> {
    let me = actor.require()?;
    let mut tx = state.db.begin().await?;
    if !store::delete_push_subscription(&mut tx, me.account_id, endpoint.trim()).await? {
        return Err(AppError::NotFound("push subscription".to_owned()));
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "notification.push.unsubscribe", "account")
            .object(me.account_id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What the channels page shows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Channels {
    /// The key browsers subscribe with.
    pub push_key: String,
    /// How many of the person's browsers receive pushes.
    pub browsers: usize,
    /// Whether this deployment has a WeChat official account.
    pub wechat_configured: bool,
    /// When the person bound their WeChat, if they did.
    pub wechat_bound_at: Option<i64>,
}

pub async fn channels(state: &AppState, actor: &Actor) -> AppResult<Channels> {
    let me = actor.require()?;
    let browsers = store::push_subscriptions(&state.db, me.account_id).await?;
    let bound = store::wechat_binding(&state.db, me.account_id).await?;
    Ok(Channels {
        push_key: push_key(state),
        browsers: browsers.len(),
        wechat_configured: state.wechat.is_some(),
        wechat_bound_at: bound.map(|(_, at)| at),
    })
}

/// How long a bind code can be scanned.
const BIND_CODE_S: i64 = 10 * 60;

/// A code to scan in WeChat that binds the follower to the signed-in person, as an SVG
/// picture, and the address it holds.
pub async fn wechat_bind_code(state: &AppState, actor: &Actor) -> AppResult<(String, String)> {
    let me = actor.require()?;
    let Some(client) = &state.wechat else {
        return Err(AppError::NotFound("WeChat channel".to_owned()));
    };
    let expires = state.now_ms() / 1000 + BIND_CODE_S;
    let scene = wechat::scene(&state.keys, me.account_id, expires);
    let url = client
        .bind_code(&scene, BIND_CODE_S)
        .await
        .map_err(|e| AppError::Unavailable(format!("WeChat did not give a code: {e:#}")))?;
    let svg = wechat::qr_svg(&url).map_err(AppError::Internal)?;
    Ok((svg, url))
}

/// Lets the signed-in person's WeChat go.
pub async fn unbind_wechat(state: &AppState, actor: &Actor) -> AppResult<()> {
    let me = actor.require()?;
    forget_wechat(state, (Some(me.account_id), None), actor.audit(), None).await?;
    Ok(())
}

/// Removes a WeChat binding (by account or by follower) and audits it in one transaction;
/// the account that was bound, if any was.
pub(super) async fn forget_wechat(
    state: &AppState,
    who: (Option<i64>, Option<&str>),
    by: AuditActor,
    reason: Option<&str>,
) -> AppResult<Option<i64>> {
    let mut tx = state.db.begin().await?;
    let unbound = store::unbind_wechat(&mut tx, who).await?;
    if let Some(account) = unbound {
        let mut event = NewEvent::new(by, "notification.wechat.unbind", "account").object(account);
        if let Some(r) = reason {
            event = event.reason(r);
        }
        audit::append(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(unbound)
}

/// How far a callback's timestamp may be from now: a recorded callback replayed later is
/// refused.
const CALLBACK_SKEW_S: i64 = 5 * 60;

/// Checks a callback's signature (and freshness); the safe-mode body's `Encrypt` is signed
/// too.
fn verify(
    state: &AppState,
    config: &wechat::WeChatConfig,
    q: &CallbackQuery,
    encrypted: Option<&str>,
) -> AppResult<()> {
    let (Some(timestamp), Some(nonce)) = (&q.timestamp, &q.nonce) else {
        return Err(AppError::Forbidden("unsigned callback".to_owned()));
    };
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|t| (t - state.now_ms() / 1000).abs() <= CALLBACK_SKEW_S);
    let token = config.token.0.as_str();
    let ok = match encrypted {
        Some(e) => q.msg_signature.as_deref().is_some_and(|sig| {
            crate::crypto::constant_time_eq(sig, &wechat::signature(&[token, timestamp, nonce, e]))
        }),
        None => q.signature.as_deref().is_some_and(|sig| {
            crate::crypto::constant_time_eq(sig, &wechat::signature(&[token, timestamp, nonce]))
        }),
    };
    if ok && fresh {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "the callback's signature does not hold".to_owned(),
        ))
    }
}

/// WeChat's server check (GET): the `echostr` back when the signature holds.
pub fn wechat_check(state: &AppState, q: &CallbackQuery) -> AppResult<String> {
    let Some(client) = &state.wechat else {
        return Err(AppError::NotFound("WeChat channel".to_owned()));
    };
    verify(state, client.config(), q, None)?;
    Ok(q.echostr.clone().unwrap_or_default())
}

/// A message or event from WeChat (POST): a scan of a bind code binds its follower, an
/// unfollow unbinds. Answers `success`, as WeChat expects when there is nothing to reply.
pub async fn wechat_event(state: &AppState, q: &CallbackQuery, body: &str) -> AppResult<String> {
    let Some(client) = &state.wechat else {
        return Err(AppError::NotFound("WeChat channel".to_owned()));
    };
    let config = client.config();
    let outer = wechat::parse(body).map_err(|e| AppError::BadRequest(format!("{e:#}")))?;
    let inbound = if q.encrypt_type.as_deref() == Some("aes") {
        verify(state, config, q, Some(&outer.encrypt))?;
        let Some(key) = &config.aes_key else {
            return Err(AppError::BadRequest(
                "an encrypted callback, but no EncodingAESKey is configured".to_owned(),
            ));
        };
        let xml = wechat::decrypt(&key.0, &outer.encrypt, &config.app_id)
            .map_err(|e| AppError::BadRequest(format!("{e:#}")))?;
        wechat::parse(&xml).map_err(|e| AppError::BadRequest(format!("{e:#}")))?
    } else {
        verify(state, config, q, None)?;
        outer
    };
    if inbound.msg_type != "event" || inbound.from.is_empty() {
        return Ok("success".to_owned());
    }
    let now = state.now_ms();
    match inbound.event.as_str() {
        "subscribe" | "SCAN" => {
            let scene = inbound
                .event_key
                .strip_prefix("qrscene_")
                .unwrap_or(&inbound.event_key);
            // A follow without a code of ours, or an expired code: nothing to bind.
            let Some(account) = wechat::account_of(&state.keys, scene, now / 1000) else {
                return Ok("success".to_owned());
            };
            let mut tx = state.db.begin().await?;
            store::bind_wechat(&mut tx, account, &inbound.from, now).await?;
            audit::append(
                &mut tx,
                &NewEvent::new(AuditActor::system(), "notification.wechat.bind", "account")
                    .object(account)
                    .reason("scanned the account's bind code in WeChat"),
            )
            .await?;
            tx.commit().await?;
        }
        "unsubscribe" => {
            forget_wechat(
                state,
                (None, Some(&inbound.from)),
                AuditActor::system(),
                Some("unfollowed the official account"),
            )
            .await?;
        }
        _ => {}
    }
    Ok("success".to_owned())
}
