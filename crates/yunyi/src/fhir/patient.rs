//! `Patient` and `RelatedPerson`: people and the family links patients act through.
//! Identity numbers appear masked unless the reader is the person or their guardian.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{Bundle, fhir_json, parse_count, parse_resource_id};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::identity::model::{Relationship, Role};
use crate::identity::service::PersonView;
use crate::identity::{Actor, service, store};
use crate::policy;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/Patient", get(search_patients))
        .route("/fhir/Patient/{id}", get(read_patient))
        .route("/fhir/RelatedPerson", get(search_related))
        .route("/fhir/RelatedPerson/{id}", get(read_related))
}

/// The person as a FHIR R4 `Patient`.
pub fn patient_resource(p: &PersonView) -> Value {
    json!({
        "resourceType": "Patient",
        "id": p.id.to_string(),
        "identifier": [{
            "use": "official",
            // v2-0203 "NN" + ISO 3166 country: the national person identifier of China.
            "type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                "code": "NNCHN",
                "display": "National Person Identifier where the xxx is the ISO table 3166 3-character (alphabetic) country code"
            }], "text": "居民身份证号"},
            "value": p.id_number,
        }],
        "active": true,
        "name": [{"use": "official", "text": p.name}],
        "gender": p.sex,
        "birthDate": p.birth_date,
    })
}

async fn read_patient(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("Patient", &id)?;
    let view = service::read_patient(&state, &actor, id, None).await?;
    Ok(fhir_json(patient_resource(&view)))
}

/// `GET /fhir/Patient`: the people this actor may see — a patient their own record and their
/// family's; a clinician the people they have care links with at their hospital.
async fn search_patients(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let count = parse_count(query.as_deref())?;
    let me = actor.require()?;
    let ids: Vec<i64> = match me.role {
        Role::Patient => {
            let mut ids: Vec<i64> = me.person_id.into_iter().collect();
            ids.extend(
                store::family_of(&state.db, me.account_id)
                    .await?
                    .iter()
                    .map(|f| f.id),
            );
            ids
        }
        role if role.is_clinician() => match me.hospital_id {
            Some(h) => store::linked_people(&state.db, me.account_id, h).await?,
            None => Vec::new(),
        },
        role => {
            service::deny(
                &state,
                &actor,
                "patient.search",
                "person",
                None,
                None,
                "role may not read patient records",
            )
            .await?;
            return Err(AppError::Forbidden(format!(
                "a {role} may not read patient records"
            )));
        }
    };
    let mut bundle = Bundle::searchset("Patient", query.as_deref());
    for id in ids.into_iter().take(count) {
        // Each record goes through the policy, so each read is checked and audited.
        let view = service::read_patient(&state, &actor, id, None).await?;
        bundle.push(patient_resource(&view));
    }
    Ok(fhir_json(bundle.finish()))
}

fn related_resource(
    link_id: i64,
    ward: i64,
    relationship: &str,
    guardian: bool,
    holder_person: Option<i64>,
    holder_name: &str,
) -> Value {
    let (code, display) = Relationship::parse(relationship)
        .unwrap_or(Relationship::Other)
        .holder_role_code();
    let mut relationships = vec![json!({"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": code, "display": display
    }]})];
    if guardian {
        relationships.push(json!({"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "GUARD", "display": "guardian"
        }]}));
    }
    let mut resource = json!({
        "resourceType": "RelatedPerson",
        "id": link_id.to_string(),
        "active": true,
        "patient": {"reference": format!("Patient/{ward}")},
        "relationship": relationships,
        "name": [{"text": holder_name}],
    });
    if let (Some(obj), Some(holder)) = (resource.as_object_mut(), holder_person) {
        // The holder is a patient in their own right.
        obj.insert(
            "identifier".into(),
            json!([{"system": "urn:yunyi:patient", "value": holder.to_string()}]),
        );
    }
    resource
}

async fn read_related(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("RelatedPerson", &id)?;
    let not_found = || AppError::NotFound(format!("no RelatedPerson with id {id}"));
    let (ward, _, relationship, guardian, holder_person, holder_name) =
        store::family_link_by_id(&state.db, id)
            .await?
            .ok_or_else(not_found)?;
    policy::authorize_patient(&state, &actor, "patient.read", "related_person", ward, None).await?;
    Ok(fhir_json(related_resource(
        id,
        ward,
        &relationship,
        guardian,
        holder_person,
        &holder_name,
    )))
}

/// `GET /fhir/RelatedPerson?patient=N`: who acts for patient N.
async fn search_related(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let patient = url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "patient")
        .map(|(_, v)| v.trim_start_matches("Patient/").to_owned())
        .ok_or_else(|| {
            AppError::invalid("patient", "is required: RelatedPerson?patient=<Patient id>")
        })?;
    let ward = parse_resource_id("Patient", &patient)
        .map_err(|_| AppError::invalid("patient", "must be a Patient id"))?;
    policy::authorize_patient(&state, &actor, "patient.read", "related_person", ward, None).await?;
    let mut bundle = Bundle::searchset("RelatedPerson", query.as_deref());
    for (link_id, _, relationship, guardian, holder_person, holder_name) in
        store::links_to_person(&state.db, ward).await?
    {
        bundle.push(related_resource(
            link_id,
            ward,
            &relationship,
            guardian,
            holder_person,
            &holder_name,
        ));
    }
    Ok(fhir_json(bundle.finish()))
}
