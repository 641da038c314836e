//! The directory in FHIR: `Organization` (hospitals), `Practitioner` (doctors),
//! `PractitionerRole` (a doctor at one hospital, with privileges) and `HealthcareService`.
//! All public information; no sign-in needed.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{Bundle, fhir_json, parse_paging, parse_resource_id};
use crate::app::AppState;
use crate::directory::model::{DoctorProfile, Hospital, PracticeSite, Privilege, Service, Title};
use crate::directory::service::{self, public};
use crate::directory::store::DoctorQuery;
use crate::error::{AppError, AppResult};
use crate::paging::PageRequest;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/Organization", get(search_organizations))
        .route("/fhir/Organization/{id}", get(read_organization))
        .route("/fhir/Practitioner", get(search_practitioners))
        .route("/fhir/Practitioner/{id}", get(read_practitioner))
        .route("/fhir/PractitionerRole", get(search_roles))
        .route("/fhir/PractitionerRole/{id}", get(read_role))
        .route("/fhir/HealthcareService", get(search_services))
        .route("/fhir/HealthcareService/{id}", get(read_service))
}

/// A hospital. Its level (三级甲等 …) is the type's text; the GB/T 2260 region code is the
/// address district; the English name, if any, is an alias.
pub fn organization(h: &Hospital) -> Value {
    let mut org = json!({
        "resourceType": "Organization",
        "id": h.id.to_string(),
        "identifier": [{"system": "urn:yunyi:hospital-code", "value": h.code}],
        "active": h.status == "active",
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov", "display": "Healthcare Provider"}], "text": h.level}],
        "name": h.name,
        "address": [{"text": h.address, "district": h.region_code, "country": "CN"}],
    });
    if let (Some(obj), Some(en)) = (
        org.as_object_mut(),
        h.name_en.as_ref().filter(|n| !n.is_empty()),
    ) {
        // FHIR forbids empty arrays, so the alias appears only when there is one.
        obj.insert("alias".into(), json!([en]));
    }
    org
}

pub fn practitioner(p: &DoctorProfile) -> Value {
    let title = Title::parse(&p.title).map(Title::zh).unwrap_or("");
    json!({
        "resourceType": "Practitioner",
        "id": p.account_id.to_string(),
        "identifier": [{"system": "urn:yunyi:practising-certificate", "value": p.licence_no}],
        "active": true,
        "name": [{"use": "official", "text": p.name}],
        "qualification": [{
            "identifier": [{"system": "urn:yunyi:practising-certificate", "value": p.licence_no}],
            "code": {"text": title},
            "period": {"start": p.practice_since_year.to_string()},
        }],
    })
}

/// A doctor at one hospital; the privileges held there are listed as codes.
pub fn practitioner_role(
    site: &PracticeSite,
    privileges: &[Privilege],
    specialties: &str,
) -> Value {
    let mut codes = vec![
        json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/practitioner-role", "code": "doctor", "display": "Doctor"}]}),
    ];
    for p in privileges
        .iter()
        .filter(|p| p.hospital_id == site.hospital_id && p.status == "active")
    {
        codes.push(json!({"coding": [{"system": "urn:yunyi:privilege", "code": p.kind}]}));
    }
    let mut role = json!({
        "resourceType": "PractitionerRole",
        "id": site.id.to_string(),
        "identifier": [{"system": "urn:yunyi:practice-registration", "value": site.registration_no}],
        "active": site.status == "active",
        "practitioner": {"reference": format!("Practitioner/{}", site.account_id)},
        "organization": {"reference": format!("Organization/{}", site.hospital_id)},
        "code": codes,
    });
    let specialties: Vec<Value> = specialties
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| json!({"text": s}))
        .collect();
    if let Some(obj) = role.as_object_mut() {
        if !specialties.is_empty() {
            obj.insert("specialty".into(), Value::Array(specialties));
        }
    }
    role
}

pub fn healthcare_service(s: &Service) -> Value {
    let price = crate::money::yuan(s.price_fen);
    let mut details = format!("{price} · {} min", s.duration_min);
    if let Some(q) = s.daily_quota {
        details.push_str(&format!(" · {q}/day"));
    }
    let mut resource = json!({
        "resourceType": "HealthcareService",
        "id": s.id.to_string(),
        "active": s.active,
        "providedBy": {"reference": format!("Organization/{}", s.hospital_id)},
        "type": [{"coding": [{"system": "urn:yunyi:service-kind", "code": s.kind}]}],
        "name": s.name,
        "extraDetails": details,
        "appointmentRequired": s.kind != "free_clinic",
    });
    if let Some(obj) = resource.as_object_mut() {
        if s.kind == "text_consult"
            || s.kind == "video_consult"
            || s.kind == "follow_up"
            || s.kind == "counselling"
        {
            obj.insert(
                "communication".into(),
                json!([{"coding": [{"system": "urn:ietf:bcp:47", "code": "zh-CN"}]}]),
            );
        }
    }
    resource
}

async fn read_organization(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("Organization", &id)?;
    let h = public::hospital(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no Organization with id {id}")))?;
    Ok(fhir_json(organization(&h)))
}

async fn search_organizations(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let paging = parse_paging(query.as_deref())?;
    let page = PageRequest {
        after: None,
        limit: paging.fetch_limit(),
    };
    let mut bundle = Bundle::searchset("Organization", query.as_deref(), paging);
    for h in paging.window(service::list_hospitals(&state.db, page).await?.items) {
        bundle.push(organization(&h));
    }
    Ok(fhir_json(bundle.finish()?))
}

async fn read_practitioner(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("Practitioner", &id)?;
    let p = public::profile(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no Practitioner with id {id}")))?;
    Ok(fhir_json(practitioner(&p)))
}

/// `Practitioner?name=` searches by name, as the doctor search does.
async fn search_practitioners(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let paging = parse_paging(query.as_deref())?;
    let mut q = DoctorQuery {
        limit: paging.fetch_limit(),
        ..DoctorQuery::default()
    };
    q.name = url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.chars().take(50).collect());
    let mut bundle = Bundle::searchset("Practitioner", query.as_deref(), paging);
    for doctor in paging.window(public::doctor_ids(&state.db, &q).await?) {
        if let Some(p) = public::profile(&state.db, doctor).await? {
            bundle.push(practitioner(&p));
        }
    }
    Ok(fhir_json(bundle.finish()?))
}

async fn role_resource(state: &AppState, site: &PracticeSite) -> AppResult<Value> {
    let privileges = public::privileges(&state.db, site.account_id).await?;
    let specialties = public::profile(&state.db, site.account_id)
        .await?
        .map(|p| p.specialties)
        .unwrap_or_default();
    Ok(practitioner_role(site, &privileges, &specialties))
}

async fn read_role(State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Response> {
    let id = parse_resource_id("PractitionerRole", &id)?;
    let site = public::site(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no PractitionerRole with id {id}")))?;
    Ok(fhir_json(role_resource(&state, &site).await?))
}

fn reference_param(query: Option<&str>, name: &str, resource: &str) -> AppResult<Option<i64>> {
    match url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).find(|(k, _)| k == name) {
        None => Ok(None),
        Some((_, v)) => {
            let id = v.trim_start_matches(&format!("{resource}/")).to_owned();
            parse_resource_id(resource, &id)
                .map(Some)
                .map_err(|_| AppError::invalid(name, format!("must be a {resource} id")))
        }
    }
}

/// `PractitionerRole?practitioner=&organization=`.
async fn search_roles(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let paging = parse_paging(query.as_deref())?;
    let practitioner = reference_param(query.as_deref(), "practitioner", "Practitioner")?;
    let organization = reference_param(query.as_deref(), "organization", "Organization")?;
    let mut bundle = Bundle::searchset("PractitionerRole", query.as_deref(), paging);
    let sites = public::sites(&state.db, practitioner, organization, paging.fetch_limit()).await?;
    for site in paging.window(&sites) {
        bundle.push(role_resource(&state, site).await?);
    }
    Ok(fhir_json(bundle.finish()?))
}

async fn read_service(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_resource_id("HealthcareService", &id)?;
    let s = service::service(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no HealthcareService with id {id}")))?;
    Ok(fhir_json(healthcare_service(&s)))
}

/// `HealthcareService?organization=`.
async fn search_services(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let paging = parse_paging(query.as_deref())?;
    let organization = reference_param(query.as_deref(), "organization", "Organization")?;
    let mut bundle = Bundle::searchset("HealthcareService", query.as_deref(), paging);
    let services = public::services(&state.db, None, organization, paging.fetch_limit()).await?;
    for s in paging.window(services) {
        bundle.push(healthcare_service(&s));
    }
    Ok(fhir_json(bundle.finish()?))
}
