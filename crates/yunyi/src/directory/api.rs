//! JSON API: `/api/v1/hospitals`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::extract::{AppJson, PathId};
use crate::identity::Actor;

use crate::app::AppState;
use crate::error::AppResult;
use crate::paging::{Page, PageRequest};

use super::model::{
    CampaignInput, DepartmentInput, DoctorCard, DoctorDetail, DoctorProfileInput, Hospital,
    HospitalDetail, NewHospital, ServiceInput,
};
use super::service;

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

#[derive(Deserialize)]
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

async fn add_hospital(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<HospitalInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let hospital = NewHospital {
        code: input.code.trim().to_owned(),
        name: input.name.trim().to_owned(),
        name_en: input.name_en.filter(|n| !n.trim().is_empty()),
        level: input.level.trim().to_owned(),
        region_code: input.region_code.trim().to_owned(),
        address: input.address.trim().to_owned(),
    };
    let id = service::add_hospital(&state, &actor, &hospital, &input.departments).await?;
    Ok((StatusCode::CREATED, Json(json!({"hospital_id": id}))))
}

#[derive(Deserialize)]
struct HospitalStatusInput {
    #[serde(default)]
    status: String,
    reason: Option<String>,
}

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

async fn add_department(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<DepartmentInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let dept = service::add_department(&state, &actor, id, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({"department_id": dept}))))
}

async fn campaigns(State(state): State<AppState>) -> AppResult<Json<serde_json::Value>> {
    Ok(Json(
        json!({"items": service::current_campaigns(&state.db, state.now_ms()).await?}),
    ))
}

async fn create_campaign(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<CampaignInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let id = service::create_campaign(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({"campaign_id": id}))))
}

fn id_of(raw: &str, what: &str) -> AppResult<i64> {
    crate::extract::path_id(what, raw)
}

async fn hospital_services(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> AppResult<Json<serde_json::Value>> {
    service::hospital_detail(&state.db, id).await?;
    Ok(Json(
        json!({"items": service::hospital_services(&state.db, id).await?}),
    ))
}

#[derive(Deserialize)]
struct SupportInput {
    supported_id: Option<i64>,
}

/// `POST /api/v1/hospitals/{id}/supported {"supported_id"}`: hospital `id` supports another.
async fn add_support(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<SupportInput>,
) -> AppResult<StatusCode> {
    let supported = input
        .supported_id
        .ok_or_else(|| crate::error::AppError::invalid("supported_id", "is required"))?;
    service::add_support(&state, &actor, id, supported).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/doctors?q&hospital&department&specialty&service&limit&after`: public search.
async fn search_doctors(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AppResult<Json<Page<DoctorCard>>> {
    let q = service::parse_doctor_query(query.as_deref(), state.now_ms())?;
    let limit = crate::paging::PageRequest::from_query(query.as_deref())?.limit;
    Ok(Json(service::search_doctors(&state.db, &q, limit).await?))
}

async fn doctor(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> AppResult<Json<DoctorDetail>> {
    Ok(Json(
        service::doctor_detail(&state.db, id, state.now_ms()).await?,
    ))
}

async fn set_profile(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<DoctorProfileInput>,
) -> AppResult<StatusCode> {
    service::set_profile(&state, &actor, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/doctors/{id}/photo` with the image as the body (up to the 2 MiB body limit).
async fn set_photo(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    body: axum::body::Bytes,
) -> AppResult<StatusCode> {
    service::set_photo(&state, &actor, id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct SiteInput {
    hospital_id: Option<i64>,
    department_id: Option<i64>,
    #[serde(default)]
    registration_no: String,
}

async fn add_site(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<SiteInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let hospital = input
        .hospital_id
        .ok_or_else(|| crate::error::AppError::invalid("hospital_id", "is required"))?;
    let site = service::add_site(
        &state,
        &actor,
        id,
        hospital,
        input.department_id,
        &input.registration_no,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"site_id": site}))))
}

#[derive(Deserialize)]
struct PrivilegeInput {
    hospital_id: Option<i64>,
    #[serde(default)]
    kind: String,
}

async fn grant_privilege(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<PrivilegeInput>,
) -> AppResult<StatusCode> {
    let hospital = input
        .hospital_id
        .ok_or_else(|| crate::error::AppError::invalid("hospital_id", "is required"))?;
    service::grant_privilege(&state, &actor, id, hospital, &input.kind).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct StatusInput {
    hospital_id: Option<i64>,
    /// `suspended` or `active`.
    #[serde(default)]
    status: String,
    reason: Option<String>,
}

/// `POST /api/v1/doctors/{id}/privileges/{kind} {"hospital_id", "status": "suspended"|"active", "reason"}`.
async fn set_privilege_status(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, kind)): Path<(String, String)>,
    AppJson(input): AppJson<StatusInput>,
) -> AppResult<StatusCode> {
    let id = id_of(&id, "doctor")?;
    let hospital = input
        .hospital_id
        .ok_or_else(|| crate::error::AppError::invalid("hospital_id", "is required"))?;
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

async fn create_service(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<ServiceInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let id = service::create_service(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({"service_id": id}))))
}

async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AppResult<Json<Page<Hospital>>> {
    let page = PageRequest::from_query(query.as_deref())?;
    Ok(Json(service::list_hospitals(&state.db, page).await?))
}

async fn detail(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> AppResult<Json<HospitalDetail>> {
    Ok(Json(service::hospital_detail(&state.db, id).await?))
}
