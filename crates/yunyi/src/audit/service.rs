//! Reading the audit trail: who may, in what scope, and that the reading is itself audited.

use super::store::{self, Filter};
use super::{Event, NewEvent};
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::paging::MAX_LIMIT;

/// Parses the viewer's filters from a query string; each bad value is named.
pub fn parse_filter(query: Option<&str>) -> AppResult<Filter> {
    let mut f = Filter {
        limit: 50,
        ..Filter::default()
    };
    let mut errors = Vec::new();
    let id = |key: &str, v: &str, errors: &mut Vec<FieldError>| match v.parse::<i64>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            errors.push(FieldError::new(
                key,
                format!("must be a positive id, got '{v}'"),
            ));
            None
        }
    };
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let v = value.trim();
        if v.is_empty() {
            continue;
        }
        match key.as_ref() {
            "actor" => f.actor_id = id("actor", v, &mut errors),
            "patient" => f.patient_id = id("patient", v, &mut errors),
            "before" => f.before = id("before", v, &mut errors),
            "action" => f.action = Some(v.to_owned()),
            "outcome" => match v {
                "success" | "denied" | "failure" => f.outcome = Some(v.to_owned()),
                _ => errors.push(FieldError::new(
                    "outcome",
                    "must be success, denied or failure",
                )),
            },
            // A value that is not a yes or a no is refused, not read as "no" (found by fuzzing).
            "flagged" => match v {
                "true" | "1" | "on" => f.flagged_only = true,
                "false" | "0" | "off" | "" => f.flagged_only = false,
                _ => errors.push(
                    FieldError::new("flagged", "must be true or false")
                        .localized("field.true_or_false", Vec::new()),
                ),
            },
            "limit" => match v.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => f.limit = n,
                _ => errors.push(FieldError::new(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}"),
                )),
            },
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Newest first, within the actor's scope: everything for platform admins and regulators,
/// events by their own hospital's staff for a hospital admin.
pub async fn search(state: &AppState, actor: &Actor, mut filter: Filter) -> AppResult<Vec<Event>> {
    crate::policy::authorize_audit_read(state, actor).await?;
    let me = actor.require()?;
    if me.role == Role::HospitalAdmin {
        filter.actor_hospital = Some(
            me.hospital_id
                .ok_or_else(|| AppError::Forbidden("no hospital".to_owned()))?,
        );
    }
    // Read your writes: what was done a moment ago is in the trail the reader sees.
    super::seal(&state.db).await?;
    let events = store::search(&state.db, &filter).await?;
    super::record(
        &state.db,
        &NewEvent::new(actor.audit(), "audit.read", "audit_event").patient_opt(filter.patient_id),
    )
    .await?;
    Ok(events)
}

/// One event by id, in the same scope.
pub async fn get(state: &AppState, actor: &Actor, id: i64) -> AppResult<Event> {
    let filter = Filter {
        before: Some(id.saturating_add(1)),
        limit: 1,
        ..Filter::default()
    };
    search(state, actor, filter)
        .await?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| AppError::NotFound(format!("no audit event with id {id}")))
}

#[cfg(test)]
mod tests {
    use super::parse_filter;

    #[test]
    fn flagged_is_a_yes_or_a_no() {
        assert!(parse_filter(Some("flagged=true")).unwrap().flagged_only);
        assert!(!parse_filter(Some("flagged=false")).unwrap().flagged_only);
        // Found by fuzzing: anything else used to read as "no" and list every event.
        assert!(parse_filter(Some("flagged=null")).is_err());
    }
}
