//! JSON API: `/api/v1/hospitals`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use crate::extract::{AppJson, PathId};
use crate::identity::Actor;

use crate::app::AppState;
use crate::error::AppResult;
use crate::paging::{Items, Page, PageRequest};

use super::model::{
    CampaignInput, DepartmentInput, DoctorCard, DoctorDetail, DoctorProfileInput, Hospital,
    HospitalDetail, NewHospital, ServiceInput,
};
use super::service;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    add_hospital,
    set_hospital_status,
    add_department,
    campaigns,
    create_campaign,
    hospital_services,
    add_support,
    search_doctors,
    doctor,
    set_profile,
    set_photo,
    add_site,
    grant_privilege,
    set_privilege_status,
    create_service,
    list,
    detail
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/hospitals", get(list).post(add_hospital))
        .route("/api/v1/hospitals/{id}/status", post(set_hospital_status))
        .route("/api/v1/hospitals/{id}/departments", post(add_department))
        .route("/api/v1/campaigns", get(campaigns).post(create_campaign))
        .route("/api/v1/hospitals/{id}", get(detail))
        .route("/api/v1/hospitals/{id}/services", get(hospital_services))
        .route("/api/v1/hospitals/{id}/supported", post(add_support))
        .route("/api/v1/doctors", get(search_doctors))
        .route("/api/v1/doctors/{id}", get(doctor))
        .route("/api/v1/doctors/{id}/profile", put(set_profile))
        .route("/api/v1/doctors/{id}/photo", put(set_photo))
        .route("/api/v1/doctors/{id}/sites", post(add_site))
        .route("/api/v1/doctors/{id}/privileges", post(grant_privilege))
        .route(
            "/api/v1/doctors/{id}/privileges/{kind}",
            post(set_privilege_status),
        )
        .route("/api/v1/services", post(create_service))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct HospitalInput {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    name_en: Option<String>,
    #[serde(default)]
    level: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    departments: Vec<DepartmentInput>,
}

/// Register a hospital with its departments (regulators and platform administrators).
#[utoipa::path(post, path = "/api/v1/hospitals", request_body = HospitalInput,
    responses((status = 201, description = "Created", body = HospitalCreated)))]
async fn add_hospital(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<HospitalInput>,
) -> AppResult<(StatusCode, Json<HospitalCreated>)> {
    let hospital = NewHospital {
        code: input.code.trim().to_owned(),
        name: input.name.trim().to_owned(),
        name_en: input.name_en.filter(|n| !n.trim().is_empty()),
        level: input.level.trim().to_owned(),
        region_code: input.region_code.trim().to_owned(),
        address: input.address.trim().to_owned(),
    };
    let id = service::add_hospital(&state, &actor, &hospital, &input.departments).await?;
    Ok((
        StatusCode::CREATED,
        Json(HospitalCreated { hospital_id: id }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct HospitalStatusInput {
    #[serde(default)]
    status: String,
    reason: Option<String>,
}

/// Suspend or reactivate a hospital.
#[utoipa::path(post, path = "/api/v1/hospitals/{id}/status", params(crate::openapi::IdParam),
    request_body = HospitalStatusInput, responses((status = 204, description = "Changed")))]
async fn set_hospital_status(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<HospitalStatusInput>,
) -> AppResult<StatusCode> {
    let active = match input.status.as_str() {
        "active" => true,
        "suspended" => false,
        _ => {
            return Err(crate::error::AppError::invalid(
                "status",
                "must be suspended or active",
            ));
        }
    };
    service::set_hospital_status(&state, &actor, id, active, input.reason.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a department to a hospital.
#[utoipa::path(post, path = "/api/v1/hospitals/{id}/departments", params(crate::openapi::IdParam),
    request_body = DepartmentInput,
    responses((status = 201, description = "Created", body = DepartmentCreated)))]
async fn add_department(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<DepartmentInput>,
) -> AppResult<(StatusCode, Json<DepartmentCreated>)> {
    let dept = service::add_department(&state, &actor, id, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(DepartmentCreated {
            department_id: dept,
        }),
    ))
}

/// Current free-clinic and health campaigns (public).
#[utoipa::path(get, path = "/api/v1/campaigns", security(()),
    responses((status = 200, description = "Campaigns", body = Items<super::service::CampaignView>)))]
async fn campaigns(
    State(state): State<AppState>,
) -> AppResult<Json<Items<super::service::CampaignView>>> {
    Ok(Json(Items {
        items: service::current_campaigns(&state.db, state.now_ms()).await?,
    }))
}

/// Announce a campaign.
#[utoipa::path(post, path = "/api/v1/campaigns", request_body = CampaignInput,
    responses((status = 201, description = "Created", body = CampaignCreated)))]
async fn create_campaign(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<CampaignInput>,
) -> AppResult<(StatusCode, Json<CampaignCreated>)> {
    let id = service::create_campaign(&state, &actor, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(CampaignCreated { campaign_id: id }),
    ))
}

fn id_of(raw: &str, what: &str) -> AppResult<i64> {
    crate::extract::path_id(what, raw)
}

/// The services a hospital offers (public).
#[utoipa::path(get, path = "/api/v1/hospitals/{id}/services", security(()), params(crate::openapi::IdParam),
    responses((status = 200, description = "Services", body = Items<super::model::Service>)))]
async fn hospital_services(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> AppResult<Json<Items<super::model::Service>>> {
    service::hospital_detail(&state.db, id).await?;
    Ok(Json(Items {
        items: service::hospital_services(&state.db, id).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SupportInput {
    supported_id: Option<i64>,
}

/// Link a supported hospital (对口支援).
///
/// `POST /api/v1/hospitals/{id}/supported {"supported_id"}`: hospital `id` supports another.
#[utoipa::path(post, path = "/api/v1/hospitals/{id}/supported", params(crate::openapi::IdParam),
    request_body = SupportInput, responses((status = 204, description = "Linked")))]
async fn add_support(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<SupportInput>,
) -> AppResult<StatusCode> {
    let supported = input
        .supported_id
        .ok_or_else(|| crate::error::AppError::required("supported_id"))?;
    service::add_support(&state, &actor, id, supported).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Search doctors (public).
///
/// `GET /api/v1/doctors?q&hospital&department&specialty&service&limit&after`: public search.
#[utoipa::path(get, path = "/api/v1/doctors", security(()), params(DoctorQuery, crate::openapi::PageParams),
    responses((status = 200, description = "A page of doctors", body = Page<DoctorCard>)))]
async fn search_doctors(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AppResult<Json<Page<DoctorCard>>> {
    let q = service::parse_doctor_query(query.as_deref(), state.now_ms())?;
    let limit = crate::paging::PageRequest::from_query(query.as_deref())?.limit;
    Ok(Json(service::search_doctors(&state.db, &q, limit).await?))
}

/// A doctor's public profile.
#[utoipa::path(get, path = "/api/v1/doctors/{id}", security(()), params(crate::openapi::IdParam),
    responses((status = 200, description = "The doctor", body = DoctorDetail)))]
async fn doctor(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> AppResult<Json<DoctorDetail>> {
    Ok(Json(
        service::doctor_detail(&state.db, id, state.now_ms()).await?,
    ))
}

/// A doctor's own profile text (the doctor or their hospital's administrators).
#[utoipa::path(put, path = "/api/v1/doctors/{id}/profile", params(crate::openapi::IdParam),
    request_body = DoctorProfileInput, responses((status = 204, description = "Saved")))]
async fn set_profile(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<DoctorProfileInput>,
) -> AppResult<StatusCode> {
    service::set_profile(&state, &actor, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a doctor's photo.
///
/// `PUT /api/v1/doctors/{id}/photo` with the image as the body (up to the 2 MiB body limit).
#[utoipa::path(put, path = "/api/v1/doctors/{id}/photo", params(crate::openapi::IdParam),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "A JPEG or PNG image"),
    responses((status = 204, description = "Saved")))]
async fn set_photo(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    body: axum::body::Bytes,
) -> AppResult<StatusCode> {
    service::set_photo(&state, &actor, id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SiteInput {
    hospital_id: Option<i64>,
    department_id: Option<i64>,
    #[serde(default)]
    registration_no: String,
}

/// Let a doctor practise at a hospital (multi-site practice, 多点执业).
#[utoipa::path(post, path = "/api/v1/doctors/{id}/sites", params(crate::openapi::IdParam),
    request_body = SiteInput, responses((status = 201, description = "Created", body = SiteCreated)))]
async fn add_site(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<SiteInput>,
) -> AppResult<(StatusCode, Json<SiteCreated>)> {
    let hospital = input
        .hospital_id
        .ok_or_else(|| crate::error::AppError::required("hospital_id"))?;
    let site = service::add_site(
        &state,
        &actor,
        id,
        hospital,
        input.department_id,
        &input.registration_no,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(SiteCreated { site_id: site })))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PrivilegeInput {
    hospital_id: Option<i64>,
    #[serde(default)]
    kind: String,
}

/// Grant a doctor a privilege at a hospital (e.g. prescribing).
#[utoipa::path(post, path = "/api/v1/doctors/{id}/privileges", params(crate::openapi::IdParam),
    request_body = PrivilegeInput, responses((status = 204, description = "Granted")))]
async fn grant_privilege(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<PrivilegeInput>,
) -> AppResult<StatusCode> {
    let hospital = input
        .hospital_id
        .ok_or_else(|| crate::error::AppError::required("hospital_id"))?;
    service::grant_privilege(&state, &actor, id, hospital, &input.kind).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct StatusInput {
    hospital_id: Option<i64>,
    /// `suspended` or `active`.
    #[serde(default)]
    status: String,
    reason: Option<String>,
}

/// Suspend or reactivate a doctor's privilege.
///
/// `POST /api/v1/doctors/{id}/privileges/{kind} {"hospital_id", "status": "suspended"|"active", "reason"}`.
#[utoipa::path(post, path = "/api/v1/doctors/{id}/privileges/{kind}",
    params(crate::openapi::IdParam, ("kind" = super::model::PrivilegeKind, Path, description = "The privilege")),
    request_body = StatusInput, responses((status = 204, description = "Changed")))]
async fn set_privilege_status(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, kind)): Path<(String, String)>,
    AppJson(input): AppJson<StatusInput>,
) -> AppResult<StatusCode> {
    let id = id_of(&id, "doctor")?;
    let hospital = input
        .hospital_id
        .ok_or_else(|| crate::error::AppError::required("hospital_id"))?;
    let active = match input.status.as_str() {
        "active" => true,
        "suspended" => false,
        _ => {
            return Err(crate::error::AppError::invalid(
                "status",
                "must be suspended or active",
            ));
        }
    };
    service::set_privilege_status(
        &state,
        &actor,
        id,
        hospital,
        &kind,
        active,
        input.reason.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Offer a service (a department's or a doctor's).
#[utoipa::path(post, path = "/api/v1/services", request_body = ServiceInput,
    responses((status = 201, description = "Created", body = ServiceCreated)))]
async fn create_service(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<ServiceInput>,
) -> AppResult<(StatusCode, Json<ServiceCreated>)> {
    let id = service::create_service(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(ServiceCreated { service_id: id })))
}

/// Active hospitals (public), paged.
#[utoipa::path(get, path = "/api/v1/hospitals", security(()), params(crate::openapi::PageParams),
    responses((status = 200, description = "A page of hospitals", body = Page<Hospital>)))]
async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AppResult<Json<Page<Hospital>>> {
    let page = PageRequest::from_query(query.as_deref())?;
    Ok(Json(service::list_hospitals(&state.db, page).await?))
}

/// A hospital with its departments (public).
#[utoipa::path(get, path = "/api/v1/hospitals/{id}", security(()), params(crate::openapi::IdParam),
    responses((status = 200, description = "The hospital", body = HospitalDetail)))]
async fn detail(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> AppResult<Json<HospitalDetail>> {
    Ok(Json(service::hospital_detail(&state.db, id).await?))
}

crate::created!(HospitalCreated, hospital_id);
crate::created!(DepartmentCreated, department_id);
crate::created!(CampaignCreated, campaign_id);
crate::created!(SiteCreated, site_id);
crate::created!(ServiceCreated, service_id);

/// Filters of the public doctor search (with `limit` and `after`, see [`crate::openapi::PageParams`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by the document only
struct DoctorQuery {
    /// Part of the doctor's name (`name` is accepted too).
    q: Option<String>,
    /// A hospital's id; empty means any (as a search form sends it).
    #[param(pattern = "^([1-9][0-9]*)?$")]
    hospital: Option<String>,
    /// A department's id; empty means any.
    #[param(pattern = "^([1-9][0-9]*)?$")]
    department: Option<String>,
    /// Part of the specialty, e.g. `高血压`.
    specialty: Option<String>,
    /// `today`: only doctors with a free slot today.
    available: Option<String>,
    /// Offers this service.
    service: Option<super::model::ServiceKind>,
}
