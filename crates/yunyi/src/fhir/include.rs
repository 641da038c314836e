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
