//! `Patient` and `RelatedPerson`: people and the family links patients act through.
//! Identity numbers appear masked unless the reader is the person or their guardian.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{Bundle, fhir_json, parse_paging, parse_resource_id};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::identity::model::Relationship;
use crate::identity::service::PersonView;
use crate::identity::{Actor, service};

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

/// `GET /fhir/Patient[?_revinclude=Appointment:patient|Encounter:patient]`: the people this
/// actor may see — a patient their own record and their family's; a clinician the people they
/// have care links with at their hospital — with their appointments or consultations if asked.
async fn search_patients(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let paging = parse_paging(query.as_deref())?;
    let revs = super::include::parse_rev(query.as_deref(), &super::include::PATIENT_REVINCLUDES)?;
    let ids = service::searchable_patients(&state, &actor).await?;
    let mut bundle = Bundle::searchset("Patient", query.as_deref(), paging);
    for id in ids.into_iter().skip(paging.offset).take(paging.count + 1) {
        // Each record goes through the policy, so each read is checked and audited.
        let view = service::read_patient(&state, &actor, id, None).await?;
        bundle.push(patient_resource(&view));
    }
    super::include::add_rev(&state, &actor, &mut bundle, &revs).await?;
    Ok(fhir_json(bundle.finish()?))
}

fn related_resource(link: &service::RelatedLink) -> Value {
    let (code, display) = Relationship::parse(&link.relationship)
        .unwrap_or(Relationship::Other)
        .holder_role_code();
    let mut relationships = vec![json!({"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": code, "display": display
    }]})];
    if link.guardian {
        relationships.push(json!({"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "GUARD", "display": "guardian"
        }]}));
    }
    let mut resource = json!({
        "resourceType": "RelatedPerson",
        "id": link.link_id.to_string(),
        "active": true,
        "patient": {"reference": format!("Patient/{}", link.ward)},
        "relationship": relationships,
        "name": [{"text": link.holder_name}],
    });
    if let (Some(obj), Some(holder)) = (resource.as_object_mut(), link.holder_person) {
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
    let link = service::related_link(&state, &actor, id).await?;
    Ok(fhir_json(related_resource(&link)))
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
    let paging = parse_paging(query.as_deref())?;
    let mut bundle = Bundle::searchset("RelatedPerson", query.as_deref(), paging);
    for link in paging.window(service::related_links(&state, &actor, ward).await?) {
        bundle.push(related_resource(&link));
    }
    Ok(fhir_json(bundle.finish()?))
}
