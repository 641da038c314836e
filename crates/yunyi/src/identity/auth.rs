//! Sign-in: password and one-time code, throttling, sessions and bearer tokens, revocation,
//! and the doctor's identity step-up check.
//!
//! Failures never reveal whether an account exists: the same message, the same status, the
//! same throttling and (for passwords) the same argon2 work for known and unknown identifiers.

use std::sync::Arc;

use super::actor::{Actor, SessionKind, SignedIn};
use super::model::{AccountStatus, Phone, Role};
use super::notify::Message;
use super::{password, store};
use crate::app::AppState;
use crate::audit::{self, NewEvent, Outcome};
use crate::crypto;
use crate::error::{AppError, AppResult, FieldError};
use crate::jobs::BoxFuture;

/// The one message for every failed sign-in.
pub const BAD_CREDENTIALS: &str = "the username/phone or password is wrong";

/// Throttling: after `ACCOUNT_FREE` failures for one identifier (or `ADDRESS_FREE` from one
/// address) each further failure locks sign-in for 30 s × 2^(n − free), at most 15 minutes.
/// Failures older than 15 minutes are forgotten.
const ACCOUNT_FREE: i64 = 5;
const ADDRESS_FREE: i64 = 20;
const LOCK_BASE_MS: i64 = 30_000;
const LOCK_MAX_MS: i64 = 15 * 60_000;
const WINDOW_MS: i64 = 15 * 60_000;

/// The throttling counters a sign-in attempt counts against: the account it names, whichever
/// way it was named (username, or phone written with separators or a country code), and the
/// client address.
fn throttle_keys(
    state: &AppState,
    actor: &Actor,
    account: Option<i64>,
    identifier: &str,
) -> Vec<(String, i64)> {
    let subject = match account {
        Some(id) => format!("acct:{id}"),
        // No such account: still counted, under the identifier's one spelling, so that
        // guessing costs the same whether an account exists or not.
        None => format!(
            "id:{}",
            state
                .keys
                .lookup_hash("login", &normalize_identifier(identifier))
        ),
    };
    let mut keys = vec![(subject, ACCOUNT_FREE)];
    if let Some(addr) = &actor.client_addr {
        keys.push((format!("addr:{addr}"), ADDRESS_FREE));
    }
    keys
}

/// One spelling per identifier: a phone number as its 11 digits, a username in lower case.
fn normalize_identifier(identifier: &str) -> String {
    match Phone::parse(identifier.trim()) {
        Ok(phone) => phone.as_str().to_owned(),
        Err(_) => identifier.trim().to_lowercase(),
    }
}

async fn check_throttle(state: &AppState, keys: &[(String, i64)]) -> AppResult<()> {
    let now = state.now_ms();
    for (key, _) in keys {
        if let Some((_, _, locked_until)) = store::throttle(&state.db, key).await? {
            if locked_until > now {
                let secs = u64::try_from((locked_until - now + 999) / 1000).unwrap_or(1);
                return Err(AppError::TooManyRequests {
                    message: format!(
                        "too many failed sign-in attempts; try again in {secs} seconds"
                    ),
                    retry_after_secs: secs,
                });
            }
        }
    }
    Ok(())
}

async fn record_failure(state: &AppState, keys: &[(String, i64)]) -> AppResult<()> {
    let now = state.now_ms();
    for (key, free) in keys {
        let previous = store::throttle(&state.db, key).await?;
        let failures = match previous {
            Some((n, last, _)) if now - last < WINDOW_MS => n + 1,
            _ => 1,
        };
        let locked_until = if failures >= *free {
            let shift = u32::try_from((failures - free).clamp(0, 10)).unwrap_or(10);
            now + (LOCK_BASE_MS << shift).min(LOCK_MAX_MS)
        } else {
            0
        };
        store::put_throttle(&state.db, key, failures, now, locked_until).await?;
    }
    Ok(())
}

async fn clear_failures(state: &AppState, keys: &[(String, i64)]) -> AppResult<()> {
    // Only the identifier's counter: one good sign-in must not reset an address that is
    // guessing many accounts.
    if let Some((key, _)) = keys.first() {
        store::clear_throttle(&state.db, key).await?;
    }
    Ok(())
}

async fn audit_login(
    state: &AppState,
    actor: &Actor,
    method: &str,
    account: Option<i64>,
    outcome: Outcome,
) -> AppResult<()> {
    let mut who = actor.audit();
    if outcome == Outcome::Success {
        who.account_id = account;
    }
    audit::record(
        &state.db,
        &NewEvent::new(who, "auth.login", "account")
            .object_opt(account.map(|id| id.to_string()))
            .outcome(outcome)
            .reason(method),
    )
    .await?;
    Ok(())
}

/// The account a phone number or username names, if any.
pub async fn find_account(
    state: &AppState,
    identifier: &str,
) -> AppResult<Option<store::AccountRow>> {
    let identifier = identifier.trim();
    let row = match Phone::parse(identifier) {
        Ok(phone) => {
            store::account_by_phone_hash(
                &state.db,
                &state.keys.lookup_hash("phone", phone.as_str()),
            )
            .await?
        }
        Err(_) => store::account_by_username(&state.db, &identifier.to_lowercase()).await?,
    };
    Ok(row.filter(|a| a.status == AccountStatus::Active))
}

/// Checks a username (or phone number) and password. Returns the account on success.
#[tracing::instrument(skip_all)]
pub async fn login_password(
    state: &AppState,
    actor: &Actor,
    identifier: &str,
    secret: &str,
) -> AppResult<store::AccountRow> {
    if identifier.trim().is_empty() || secret.is_empty() {
        return Err(AppError::Validation(
            [
                ("username", identifier.trim().is_empty()),
                ("password", secret.is_empty()),
            ]
            .into_iter()
            .filter(|(_, missing)| *missing)
            .map(|(f, _)| FieldError::required(f))
            .collect(),
        ));
    }
    let account = find_account(state, identifier).await?;
    let keys = throttle_keys(state, actor, account.as_ref().map(|a| a.id), identifier);
    check_throttle(state, &keys).await?;
    // No password is longer than 128 characters; refusing absurd input before hashing keeps
    // a megabyte "password" from costing a megabyte of argon2 work.
    let ok = secret.len() <= 1024
        && password::verify(
            secret,
            account.as_ref().and_then(|a| a.password_hash.as_deref()),
        )
        .await?;
    match account {
        Some(account) if ok => {
            clear_failures(state, &keys).await?;
            audit_login(state, actor, "password", Some(account.id), Outcome::Success).await?;
            Ok(account)
        }
        account => {
            record_failure(state, &keys).await?;
            audit_login(
                state,
                actor,
                "password",
                account.map(|a| a.id),
                Outcome::Failure,
            )
            .await?;
            Err(AppError::Unauthenticated(BAD_CREDENTIALS.to_owned()))
        }
    }
}

const OTP_TTL_MS: i64 = 5 * 60_000;
const OTP_RESEND_MS: i64 = 60_000;
const OTP_MAX_ATTEMPTS: i64 = 5;

fn otp_hash(state: &AppState, phone_hash: &str, code: &str) -> String {
    state
        .keys
        .lookup_hash("otp", &format!("{phone_hash}:{code}"))
}

/// Sends a sign-in code if the number belongs to an account. Answers the same either way.
#[tracing::instrument(skip_all)]
pub async fn request_login_code(state: &AppState, actor: &Actor, phone: &str) -> AppResult<()> {
    let phone = Phone::parse(phone).map_err(|m| AppError::invalid("phone", m))?;
    let phone_hash = state.keys.lookup_hash("phone", phone.as_str());
    let now = state.now_ms();
    if let Some(last) = store::latest_otp(&state.db, &phone_hash, "login").await? {
        let wait = last.created_at + OTP_RESEND_MS - now;
        if wait > 0 {
            let secs = u64::try_from((wait + 999) / 1000).unwrap_or(1);
            return Err(AppError::TooManyRequests {
                message: format!(
                    "a code was sent recently; you can ask for a new one in {secs} seconds"
                ),
                retry_after_secs: secs,
            });
        }
    }
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    // A row is stored for unknown numbers too, so the resend limit cannot tell them apart.
    store::insert_otp(
        &state.db,
        &phone_hash,
        &otp_hash(state, &phone_hash, &code),
        "login",
        now + OTP_TTL_MS,
        now,
    )
    .await?;
    let account = store::account_by_phone_hash(&state.db, &phone_hash).await?;
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "auth.code_request", "account")
            .object_opt(account.as_ref().map(|a| a.id.to_string())),
    )
    .await?;
    if account
        .as_ref()
        .is_some_and(|a| a.status == AccountStatus::Active)
    {
        let message = Message {
            to: phone,
            kind: "otp.login",
            text: format!("【云医】您的登录验证码是 {code}，5 分钟内有效。请勿告诉他人。"),
            params: [("code".to_owned(), code.to_string())].into(),
        };
        state
            .notifier
            .send(&message)
            .await
            .map_err(AppError::Internal)?;
    }
    Ok(())
}

/// Checks a one-time code. Each code works once, expires in 5 minutes, and allows 5 tries.
async fn check_code(state: &AppState, phone: &Phone, code: &str) -> AppResult<bool> {
    let phone_hash = state.keys.lookup_hash("phone", phone.as_str());
    let Some(otp) = store::latest_otp(&state.db, &phone_hash, "login").await? else {
        return Ok(false);
    };
    let now = state.now_ms();
    if otp.consumed_at.is_some() || otp.expires_at <= now || otp.attempts >= OTP_MAX_ATTEMPTS {
        return Ok(false);
    }
    store::otp_attempt(&state.db, otp.id).await?;
    if !crypto::constant_time_eq(&otp.code_hash, &otp_hash(state, &phone_hash, code.trim())) {
        return Ok(false);
    }
    Ok(store::consume_otp(&state.db, otp.id, now).await?)
}

#[tracing::instrument(skip_all)]
pub async fn login_code(
    state: &AppState,
    actor: &Actor,
    phone: &str,
    code: &str,
) -> AppResult<store::AccountRow> {
    let phone = Phone::parse(phone).map_err(|m| AppError::invalid("phone", m))?;
    let named = find_account(state, phone.as_str()).await?;
    let keys = throttle_keys(state, actor, named.as_ref().map(|a| a.id), phone.as_str());
    check_throttle(state, &keys).await?;
    let ok = check_code(state, &phone, code).await?;
    let account = if ok { named } else { None };
    match account {
        Some(account) => {
            clear_failures(state, &keys).await?;
            audit_login(state, actor, "otp", Some(account.id), Outcome::Success).await?;
            Ok(account)
        }
        None => {
            record_failure(state, &keys).await?;
            audit_login(state, actor, "otp", None, Outcome::Failure).await?;
            Err(AppError::Unauthenticated(
                "the code is wrong or has expired".to_owned(),
            ))
        }
    }
}

/// A new session for an account: returns the raw token (shown once, stored hashed) and its
/// lifetime in seconds.
pub async fn start_session(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    kind: SessionKind,
) -> AppResult<(String, i64)> {
    let ttl = match kind {
        SessionKind::Cookie => state.config.identity.session_ttl,
        SessionKind::Bearer => state.config.identity.token_ttl,
    };
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let token = crypto::random_token();
    let now = state.now_ms();
    store::insert_session(
        &state.db,
        &crypto::sha256_hex(&token),
        kind.as_str(),
        account_id,
        now.saturating_add(ttl_ms),
        actor.client_addr.as_deref(),
        now,
    )
    .await?;
    Ok((token, ttl_ms / 1000))
}

/// Revokes a token (RFC 7009: unknown tokens are not an error).
pub async fn revoke(state: &AppState, actor: &Actor, token: &str) -> AppResult<()> {
    let hash = crypto::sha256_hex(token);
    let revoked = store::revoke_session(&state.db, &hash, state.now_ms()).await?;
    state.sessions.forget(&hash);
    if let Some(account_id) = revoked {
        let mut who = actor.audit();
        who.account_id = who.account_id.or(Some(account_id));
        audit::record(&state.db, &NewEvent::new(who, "auth.revoke", "session")).await?;
    }
    Ok(())
}

/// A way to confirm a signed-in person's identity again. Password and one-time code are
/// built in; a face-recognition service implements this trait to plug in.
pub trait StepUpVerifier: Send + Sync + 'static {
    fn method(&self) -> &'static str;
    fn verify<'a>(
        &'a self,
        state: &'a AppState,
        who: &'a SignedIn,
        proof: &'a str,
    ) -> BoxFuture<'a, AppResult<bool>>;
}

pub struct PasswordStepUp;

impl StepUpVerifier for PasswordStepUp {
    fn method(&self) -> &'static str {
        "password"
    }

    fn verify<'a>(
        &'a self,
        state: &'a AppState,
        who: &'a SignedIn,
        proof: &'a str,
    ) -> BoxFuture<'a, AppResult<bool>> {
        Box::pin(async move {
            let account = store::account(&state.db, who.account_id).await?;
            password::verify(
                proof,
                account.as_ref().and_then(|a| a.password_hash.as_deref()),
            )
            .await
        })
    }
}

pub struct OtpStepUp;

impl StepUpVerifier for OtpStepUp {
    fn method(&self) -> &'static str {
        "otp"
    }

    fn verify<'a>(
        &'a self,
        state: &'a AppState,
        who: &'a SignedIn,
        proof: &'a str,
    ) -> BoxFuture<'a, AppResult<bool>> {
        Box::pin(async move {
            let Some(account) = store::account(&state.db, who.account_id).await? else {
                return Ok(false);
            };
            let Some(enc) = account.phone_enc else {
                return Ok(false);
            };
            let phone = Phone::parse(&state.keys.decrypt(&enc).map_err(AppError::Internal)?)
                .map_err(|m| AppError::Internal(anyhow::anyhow!("stored phone invalid: {m}")))?;
            check_code(state, &phone, proof).await
        })
    }
}

/// The verifiers available, by method name.
pub fn default_verifiers() -> Vec<Arc<dyn StepUpVerifier>> {
    vec![Arc::new(PasswordStepUp), Arc::new(OtpStepUp)]
}

/// Confirms the actor's identity again and remembers it for this session.
#[tracing::instrument(skip_all)]
pub async fn step_up(state: &AppState, actor: &Actor, method: &str, proof: &str) -> AppResult<()> {
    let me = actor.require()?;
    let verifier = state
        .step_up
        .iter()
        .find(|v| v.method() == method)
        .ok_or_else(|| {
            let names: Vec<&str> = state.step_up.iter().map(|v| v.method()).collect();
            AppError::invalid("method", format!("must be one of {}", names.join(", ")))
        })?;
    let keys = throttle_keys(state, actor, Some(me.account_id), "");
    check_throttle(state, &keys).await?;
    let ok = verifier.verify(state, me, proof).await?;
    let outcome = if ok {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "auth.step_up", "session")
            .object(me.session_id)
            .outcome(outcome)
            .reason(method),
    )
    .await?;
    if !ok {
        record_failure(state, &keys).await?;
        return Err(AppError::Unauthenticated(
            "the identity check failed".to_owned(),
        ));
    }
    store::set_step_up(&state.db, me.session_id, state.now_ms()).await?;
    let session = me.session_id;
    state
        .sessions
        .forget_where(|_, row| row.session_id == session);
    Ok(())
}

/// Doctors must have passed the step-up check within the configured period before acting on
/// patients. Other roles pass.
pub fn require_step_up(state: &AppState, who: &SignedIn) -> AppResult<()> {
    if who.role != Role::Doctor {
        return Ok(());
    }
    let ttl = i64::try_from(state.config.identity.step_up_ttl.as_millis()).unwrap_or(i64::MAX);
    match who.step_up_at {
        Some(at) if state.now_ms() - at < ttl => Ok(()),
        _ => Err(AppError::StepUpRequired(
            "confirm your identity (POST /api/v1/auth/step-up) before working with patients"
                .to_owned(),
        )),
    }
}
