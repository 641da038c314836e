//! `Idempotency-Key` on POST: a client that retries a request it did not hear back from (a
//! phone losing signal while paying or booking) sends the same key and gets the first answer
//! again, instead of a second effect.
//!
//! Keys belong to the signed-in account and live a day. Only successful answers are kept: a
//! refused or failed request had no effect, so its key is given back and a retry runs again.
//! The same key with a different request (method, path, query or body) is refused, and so is
//! a retry while the first request is still running. Anonymous requests create nothing to
//! protect, so they ignore the header.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::idempotency_store as store;
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::error::{AppError, Reason};
use crate::identity::Actor;
use crate::jobs::{Job, JobContext, JobResult};

pub const HEADER: &str = "idempotency-key";
/// Set on an answer that is the stored first answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long a key is kept.
pub const KEEP_MS: i64 = 24 * 3_600_000;
/// The longest answer kept (POST answers are small JSON; a larger one is not replayable).
const MAX_STORED_BYTES: usize = 256 * 1024;

/// The middleware (innermost, so only requests that reach a handler use a key).
pub async fn replay(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let Some(key) = raw
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_owned)
    else {
        return AppError::Validation(vec![
            crate::error::FieldError::new(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters (a UUID is usual)",
            )
            .localized("field.idempotency_key", Vec::new()),
        ])
        .into_response();
    };
    let (mut parts, body) = req.into_parts();
    let actor = Actor::from_request_parts(&mut parts, &state).await.ok();
    let Some(account) = actor
        .as_ref()
        .and_then(|a| a.signed_in.as_ref())
        .map(|s| s.account_id)
    else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let Ok(bytes) = axum::body::to_bytes(body, state.config.http.body_limit_bytes).await else {
        return AppError::BadRequest("the request body could not be read".to_owned())
            .into_response();
    };
    let hash = request_hash(&parts.method, parts.uri.path(), parts.uri.query(), &bytes);
    // A first request that never finished (its process died, or it panicked past this layer)
    // leaves its key in flight; once it is older than any request may run, the same request
    // may take it over.
    let timeout = i64::try_from(state.config.http.request_timeout.as_millis()).unwrap_or(i64::MAX);
    let now = state.now_ms();
    match store::claim(
        &state.db,
        account,
        &key,
        &hash,
        now,
        now.saturating_sub(timeout.saturating_mul(2)),
    )
    .await
    {
        Err(e) => return AppError::from(e).into_response(),
        Ok(false) => {
            let target = format!("{} {}", parts.method, parts.uri.path());
            return answer_again(
                &state,
                actor.unwrap_or_default(),
                account,
                &key,
                &hash,
                target,
            )
            .await
            .unwrap_or_else(IntoResponse::into_response);
        }
        Ok(true) => {}
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    keep_or_release(&state, account, &key, response).await
}

/// SHA-256 of what makes two requests the same request.
fn request_hash(method: &Method, path: &str, query: Option<&str>, body: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [
        method.as_str().as_bytes(),
        path.as_bytes(),
        query.unwrap_or("").as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(body);
    hex::encode(h.finalize())
}

/// Stores a successful answer under the key (and returns it); gives the key back otherwise.
async fn keep_or_release(
    state: &AppState,
    account: i64,
    key: &str,
    response: Response,
) -> Response {
    let release = || async {
        if let Err(e) = store::release(&state.db, account, key).await {
            tracing::error!(error = %e, "an idempotency key could not be released");
        }
    };
    if !response.status().is_success() {
        release().await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            release().await;
            return AppError::Internal(anyhow::anyhow!("answer body: {e}")).into_response();
        }
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match std::str::from_utf8(&bytes) {
        Ok(text) if bytes.len() <= MAX_STORED_BYTES => {
            let status = i64::from(parts.status.as_u16());
            if let Err(e) =
                store::complete(&state.db, account, key, status, content_type, text).await
            {
                // The effect happened; a retry would be refused as "in flight" rather than
                // run twice, which is the safe side.
                tracing::error!(error = %e, "an idempotent answer could not be kept");
            }
        }
        _ => release().await,
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The second time a key is used.
async fn answer_again(
    state: &AppState,
    actor: Actor,
    account: i64,
    key: &str,
    hash: &str,
    target: String,
) -> Result<Response, AppError> {
    let row = store::get(&state.db, account, key).await?.ok_or_else(|| {
        // Released between our claim and this read: the first request failed.
        AppError::refused(
            Reason::IdempotencyKeyInFlight,
            "the first request with this key has just ended without success; retry it",
        )
    })?;
    if row.request_hash != hash {
        return Err(AppError::refused(
            Reason::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different request; use a new key",
        ));
    }
    let (Some(status), Some(body)) = (row.status, row.body) else {
        return Err(AppError::refused(
            Reason::IdempotencyKeyInFlight,
            "the first request with this key is still running; retry in a moment",
        ));
    };
    // The stored answer may hold a patient's data: its second delivery is audited too.
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "request.replayed", "request")
            .object(crate::text::clip(&target, 300)),
    )
    .await?;
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
        .unwrap_or(axum::http::StatusCode::OK);
    let mut response = (status, body).into_response();
    if let Some(ct) = row
        .content_type
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    Ok(response)
}

pub const PURGE_KIND: &str = "web.purge_idempotency_keys";

/// `web.purge_idempotency_keys`: forgets keys older than a day.
#[derive(Debug, Clone, Default)]
pub struct PurgeKeys;

crate::empty_payload!(
    /// The payload of `PurgeKeys`: none, it looks for what is due.
    PurgeKeysDue = PURGE_KIND
);

impl Job for PurgeKeys {
    type Payload = PurgeKeysDue;

    async fn run(&self, ctx: &JobContext, _: PurgeKeysDue) -> JobResult {
        let deleted = store::purge(&ctx.db, ctx.now_ms() - KEEP_MS).await?;
        tracing::info!(deleted, "purged idempotency keys");
        Ok(())
    }
}
