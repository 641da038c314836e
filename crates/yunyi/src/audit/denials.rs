//! No denial without its audit event, through one path.
//!
//! Services refuse with [`crate::identity::service::deny`] (or the policy, which calls it),
//! and that event names the object and the patient. This middleware is the net under them:
//! every request of a signed-in account that ends in 403 or 404 and whose handling wrote no
//! denial gets one event here, naming the request (method and path, never the query, which may
//! carry personal data) and the status. So a check someone forgets to audit is still in the
//! trail, and a handler that audits its own refusal is not recorded twice.
//!
//! Anonymous requests are not recorded: they are refused with 401 before any object is
//! touched, and recording every stranger's 404 would let anyone fill the trail.

use std::cell::Cell;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::{NewEvent, Outcome};
use crate::app::AppState;
use crate::identity::Actor;

tokio::task_local! {
    /// Denials written while handling the current request.
    static WRITTEN: Cell<u32>;
}

/// Called by the audit trail for every denied event it appends.
pub(super) fn noted() {
    let _ = WRITTEN.try_with(|n| n.set(n.get().saturating_add(1)));
}

pub async fn audit_denials(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    // The extractor keeps what it found in the request, so the handler does not sign in twice.
    let actor = Actor::from_request_parts(&mut parts, &state).await.ok();
    let target = format!("{} {}", parts.method, parts.uri.path());
    let req = Request::from_parts(parts, body);
    let (written, response) = WRITTEN
        .scope(Cell::new(0), async {
            let response = next.run(req).await;
            (WRITTEN.with(Cell::get), response)
        })
        .await;
    let mut response = response;
    let status = response.status();
    let refused = status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND;
    if let Some(me) = actor.as_ref().and_then(|a| a.signed_in.as_ref()) {
        if status.is_client_error() || status.is_server_error() {
            // For the error page, rendered outside: who is still signed in.
            response
                .extensions_mut()
                .insert(crate::web::page::UserBadge {
                    unread: 0,
                    display_name: me.display_name.clone(),
                    role: me.role,
                });
        }
    }
    if let Some(actor) = actor.filter(|a| a.signed_in.is_some()) {
        if refused && written == 0 {
            let event = NewEvent::new(actor.audit(), "request.denied", "request")
                .object(crate::text::clip(&target, 300))
                .outcome(Outcome::Denied)
                .reason(format!("HTTP {}", status.as_u16()));
            if let Err(e) = super::record(&state.db, &event).await {
                tracing::error!(error = %e, "a denial could not be audited");
            }
        }
    }
    response
}
