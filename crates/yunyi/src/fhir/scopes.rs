//! What a SMART app's token may do under `/fhir`: each request is mapped to a resource type
//! and an interaction (SMART v2's `c r u d s`), and the token's scopes must cover it — and
//! every type an `_include` brings in. A request only a `patient/` scope covers is held to
//! the patient in context (the actor's `compartment`, which the policy enforces). Tokens of
//! Yunyi's own sign-in pass untouched: the access policy alone decides for them.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, Reason};
use crate::identity::Actor;
use crate::smart::scope::{Level, Perms};

/// The resource type and interaction of a `/fhir` request; `None` for what any token may ask
/// (`metadata`) or what is no resource (left to the router's 404).
pub fn interaction(method: &axum::http::Method, path: &str) -> Option<(String, Perms)> {
    use axum::http::Method;
    let rest = path.strip_prefix("/fhir/")?;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let kind = *segments.first()?;
    if !kind.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    let perms = match (method, segments.len()) {
        (&Method::GET | &Method::HEAD, 1) => Perms::SEARCH,
        (&Method::GET | &Method::HEAD, _) => Perms::READ,
        (&Method::POST, 1) => Perms::CREATE,
        (&Method::POST, 2) if segments[1] == "_search" => Perms::SEARCH,
        (&Method::DELETE, _) => Perms::DELETE,
        _ => Perms::UPDATE,
    };
    Some((kind.to_owned(), perms))
}

fn refused(what: &str) -> Response {
    AppError::refused(
        Reason::ScopeInsufficient,
        format!("the app's scopes do not cover {what}"),
    )
    .into_response()
}

pub async fn guard(mut req: Request, next: Next) -> Response {
    let Some(mut actor) = req.extensions().get::<Actor>().cloned() else {
        return next.run(req).await;
    };
    let Some(app) = actor.signed_in.as_ref().and_then(|s| s.app.clone()) else {
        return next.run(req).await;
    };
    let Some((kind, perms)) = interaction(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let mut needs = vec![(kind.clone(), perms)];
    // `$everything` reads every type of the record: the app must hold them all.
    if req.uri().path().ends_with("/$everything") {
        needs.extend(
            super::record::EVERYTHING_TYPES
                .iter()
                .map(|k| ((*k).to_owned(), Perms::READ)),
        );
    }
    for (k, v) in url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
        if k == "_include" {
            if let Some(target) = super::include::target_of(&v) {
                needs.push((target.to_owned(), Perms::READ));
            }
        }
        if k == "_revinclude" {
            if let Some(source) = super::include::rev_source(&v) {
                needs.push((source.to_owned(), Perms::SEARCH));
            }
        }
    }
    let mut held_to_patient = false;
    for (kind, perms) in &needs {
        match app.scopes.grants(kind, *perms) {
            Some(Level::User) => {}
            Some(Level::Patient) => held_to_patient = true,
            None => return refused(&format!("{kind} ({perms})")),
        }
    }
    if held_to_patient {
        let Some(patient) = app.patient else {
            return refused("a patient: none is in context");
        };
        if let Some(me) = actor.signed_in.as_mut() {
            me.compartment = Some(patient);
        }
        req.extensions_mut().insert(actor);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn requests_map_to_smart_interactions() {
        let at = |m: Method, p: &str| interaction(&m, p).map(|(k, p)| format!("{k}.{p}"));
        assert_eq!(
            at(Method::GET, "/fhir/Encounter").as_deref(),
            Some("Encounter.s")
        );
        assert_eq!(
            at(Method::GET, "/fhir/Encounter/3").as_deref(),
            Some("Encounter.r")
        );
        assert_eq!(
            at(Method::GET, "/fhir/Appointment/3/_history/2").as_deref(),
            Some("Appointment.r")
        );
        assert_eq!(
            at(Method::POST, "/fhir/Appointment").as_deref(),
            Some("Appointment.c")
        );
        assert_eq!(
            at(Method::PUT, "/fhir/Appointment/3").as_deref(),
            Some("Appointment.u")
        );
        assert_eq!(
            at(Method::POST, "/fhir/Slot/_search").as_deref(),
            Some("Slot.s")
        );
        assert_eq!(at(Method::GET, "/fhir/metadata"), None);
    }
}
