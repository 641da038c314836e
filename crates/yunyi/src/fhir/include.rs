//! `_include`: the resources a page's matches refer to, added to the Bundle with search mode
//! `include` so a client needs no second round trip (an appointment with its patient, doctor
//! and slot; a prescription line with its medicine; a consultation with its patient).
//!
//! Each included resource is read as a direct read would be: a patient through the policy,
//! which checks and audits; a resource the caller may not see is left out, not an error.

use serde_json::Value;

use super::directory::practitioner;
use super::pharmacy::medication;
use super::scheduling::slot;
use super::{Bundle, patient::patient_resource};
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::identity::Actor;

/// An `_include` value a search serves: the reference it follows and where it sits in a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Include {
    /// `Source:param`, as the client writes it.
    pub name: &'static str,
    /// The resource type referred to.
    pub target: &'static str,
    /// The JSON pointers (in the match) to reference objects or arrays of them.
    pub paths: &'static [&'static str],
}

pub const APPOINTMENT_PATIENT: Include = Include {
    name: "Appointment:patient",
    target: "Patient",
    paths: &["/participant"],
};
pub const APPOINTMENT_PRACTITIONER: Include = Include {
    name: "Appointment:practitioner",
    target: "Practitioner",
    paths: &["/participant"],
};
pub const APPOINTMENT_SLOT: Include = Include {
    name: "Appointment:slot",
    target: "Slot",
    paths: &["/slot"],
};
pub const REQUEST_MEDICATION: Include = Include {
    name: "MedicationRequest:medication",
    target: "Medication",
    paths: &["/medicationReference"],
};
pub const ENCOUNTER_PATIENT: Include = Include {
    name: "Encounter:patient",
    target: "Patient",
    paths: &["/subject"],
};
pub const ENCOUNTER_SUBJECT: Include = Include {
    name: "Encounter:subject",
    target: "Patient",
    paths: &["/subject"],
};

/// Every `_include` some search serves.
pub const ALL: [Include; 6] = [
    APPOINTMENT_PATIENT,
    APPOINTMENT_PRACTITIONER,
    APPOINTMENT_SLOT,
    REQUEST_MEDICATION,
    ENCOUNTER_PATIENT,
    ENCOUNTER_SUBJECT,
];

/// The resource type an `_include` value brings in, if any search serves it.
pub fn target_of(name: &str) -> Option<&'static str> {
    ALL.iter().find(|i| i.name == name).map(|i| i.target)
}

/// The `_include` values asked for, each one of `served`; anything else is refused by name.
pub fn parse(query: Option<&str>, served: &[Include]) -> AppResult<Vec<Include>> {
    let mut wanted = Vec::new();
    let pairs = || url::form_urlencoded::parse(query.unwrap_or("").as_bytes());
    if pairs().any(|(k, v)| k == "_summary" && v == "count") {
        // A count shows no resources, so none is read to be included.
        return Ok(wanted);
    }
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if k != "_include" {
            continue;
        }
        let include = served.iter().find(|i| i.name == v).ok_or_else(|| {
            let names: Vec<&str> = served.iter().map(|i| i.name).collect();
            let error = if names.is_empty() {
                FieldError::new("_include", "is not supported by this search")
                    .localized("fhir.include_none", Vec::new())
            } else {
                let names = names.join(", ");
                FieldError::new("_include", format!("must be one of {names}"))
                    .localized("fhir.include_values", vec![("names", names)])
            };
            AppError::Validation(vec![error])
        })?;
        if !wanted.contains(include) {
            wanted.push(*include);
        }
    }
    Ok(wanted)
}

/// `Type/123` references to `target` found at `path` in a match (a reference, an array of
/// references, or an array of participants with an `actor`).
fn references(resource: &Value, path: &str, target: &str, out: &mut Vec<i64>) {
    let Some(found) = resource.pointer(path) else {
        return;
    };
    let one = |value: &Value, out: &mut Vec<i64>| {
        let reference = value["reference"]
            .as_str()
            .or_else(|| value["actor"]["reference"].as_str());
        if let Some(id) = reference
            .and_then(|r| r.strip_prefix(target))
            .and_then(|r| r.strip_prefix('/'))
            .and_then(|id| id.parse::<i64>().ok())
        {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    };
    match found {
        Value::Array(items) => items.iter().for_each(|v| one(v, out)),
        other => one(other, out),
    }
}

/// Adds what `includes` name for the page's matches.
pub async fn add(
    state: &AppState,
    actor: &Actor,
    bundle: &mut Bundle,
    includes: &[Include],
) -> AppResult<()> {
    for include in includes {
        let mut ids = Vec::new();
        for m in bundle.page_matches() {
            for path in include.paths {
                references(m, path, include.target, &mut ids);
            }
        }
        for id in ids {
            if bundle.has_included(include.target, id) {
                continue;
            }
            match resolve(state, actor, include.target, id).await {
                Ok(Some(resource)) => bundle.push_included(resource),
                // Not visible to this caller (the refusal is audited) or gone: left out.
                Ok(None) | Err(AppError::NotFound(_) | AppError::Forbidden(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// The `_revinclude` values a Patient search serves: each patient's appointments and
/// consultations (Encounter) come with them.
pub const PATIENT_REVINCLUDES: [&str; 3] = [
    "Appointment:patient",
    "Encounter:patient",
    "Encounter:subject",
];

/// The most resources one `_revinclude` adds per match: a client wanting more searches them.
pub const MAX_REVINCLUDED: i64 = 100;

/// The `_revinclude` values asked for, each one of `served`; anything else is refused by name.
pub fn parse_rev(query: Option<&str>, served: &[&'static str]) -> AppResult<Vec<&'static str>> {
    let mut wanted = Vec::new();
    let pairs = || url::form_urlencoded::parse(query.unwrap_or("").as_bytes());
    if pairs().any(|(k, v)| k == "_summary" && v == "count") {
        return Ok(wanted);
    }
    for (k, v) in pairs() {
        if k != "_revinclude" {
            continue;
        }
        let Some(name) = served.iter().find(|n| **n == v) else {
            let names = served.join(", ");
            return Err(AppError::Validation(vec![
                FieldError::new("_revinclude", format!("must be one of {names}"))
                    .localized("fhir.revinclude_values", vec![("names", names)]),
            ]));
        };
        // `Encounter:patient` and `Encounter:subject` are one reference.
        let source = name.split(':').next().unwrap_or(name);
        if !wanted.iter().any(|w: &&str| w.starts_with(source)) {
            wanted.push(*name);
        }
    }
    Ok(wanted)
}

/// The source type of a `_revinclude` value (`Appointment` of `Appointment:patient`).
pub fn rev_source(name: &str) -> Option<&'static str> {
    PATIENT_REVINCLUDES
        .iter()
        .find(|n| **n == name)
        .and_then(|n| n.split(':').next())
}

/// Adds, for each patient on the page, the resources `revs` name that refer to them, read
/// through the same services (and policy) as their own searches; what the caller may not see
/// is left out.
pub async fn add_rev(
    state: &AppState,
    actor: &Actor,
    bundle: &mut Bundle,
    revs: &[&str],
) -> AppResult<()> {
    let people: Vec<i64> = bundle
        .page_matches()
        .filter_map(|m| m["id"].as_str()?.parse().ok())
        .collect();
    for rev in revs {
        for &person in &people {
            let found: AppResult<Vec<Value>> = match rev.split(':').next() {
                Some("Appointment") => crate::scheduling::service::search_appointments(
                    state,
                    actor,
                    Some(person),
                    (i64::MIN, i64::MAX),
                    None,
                    MAX_REVINCLUDED,
                    true,
                )
                .await
                .map(|items| items.iter().map(super::scheduling::appointment).collect()),
                Some("Encounter") => {
                    crate::consult::service::for_person(state, actor, person, MAX_REVINCLUDED)
                        .await
                        .map(|views| views.iter().map(super::consult::encounter).collect())
                }
                _ => Ok(Vec::new()),
            };
            match found {
                Ok(resources) => resources.into_iter().for_each(|r| bundle.push_included(r)),
                Err(AppError::NotFound(_) | AppError::Forbidden(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

async fn resolve(
    state: &AppState,
    actor: &Actor,
    target: &str,
    id: i64,
) -> AppResult<Option<Value>> {
    Ok(match target {
        "Patient" => Some(patient_resource(
            &crate::identity::service::read_patient(state, actor, id, None).await?,
        )),
        "Practitioner" => crate::directory::service::public::profile(&state.db, id)
            .await?
            .map(|p| practitioner(&p)),
        "Slot" => crate::scheduling::service::slot(&state.db, id)
            .await?
            .map(|s| slot(&s, state.now_ms())),
        "Medication" => crate::pharmacy::service::drug_row(&state.db, id)
            .await?
            .map(|d| medication(&d)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn references_are_found_in_participants_and_plain_references() {
        let appointment = json!({
            "slot": [{"reference": "Slot/7"}],
            "participant": [
                {"actor": {"reference": "Patient/3"}},
                {"actor": {"reference": "Practitioner/5"}},
            ],
        });
        let mut ids = Vec::new();
        super::references(&appointment, "/participant", "Patient", &mut ids);
        assert_eq!(ids, [3]);
        ids.clear();
        super::references(&appointment, "/participant", "Practitioner", &mut ids);
        assert_eq!(ids, [5]);
        ids.clear();
        super::references(&appointment, "/slot", "Slot", &mut ids);
        assert_eq!(ids, [7]);
        // `Patient/3` is not a `Pat…` prefix match for another type.
        ids.clear();
        super::references(&appointment, "/participant", "Pat", &mut ids);
        assert!(ids.is_empty());
    }

    #[test]
    fn only_served_includes_are_accepted() {
        let served = [super::APPOINTMENT_PATIENT];
        assert_eq!(
            super::parse(Some("_include=Appointment:patient"), &served).unwrap(),
            served
        );
        assert!(super::parse(Some("_include=Appointment:location"), &served).is_err());
        assert!(super::parse(Some("_include=Appointment:patient"), &[]).is_err());
    }
}
