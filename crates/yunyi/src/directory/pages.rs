//! HTML pages: `/hospitals` and `/hospitals/{id}`.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;

use crate::app::AppState;
use crate::error::AppResult;
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::paging::{Page, PageRequest};
use crate::web::PageCtx;

use super::model::{DoctorCard, DoctorDetail, Hospital, HospitalDetail};
use super::{service, store};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hospitals", get(list))
        .route("/hospitals/{id}", get(detail))
        .route("/doctors", get(doctors))
        .route("/doctors/{id}", get(doctor))
        .route("/doctors/{id}/photo", get(photo))
        .route("/admin/doctors", get(admin_doctors))
        .route(
            "/admin/doctors/privileges",
            axum::routing::post(admin_privilege),
        )
}

/// `GET /doctors/{id}/photo`: the stored image. Pages link it with `?v=<content key>`, so a
/// browser's cached copy is replaced as soon as the photo changes.
async fn photo(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse as _;
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| crate::error::AppError::NotFound(format!("no doctor with id '{id}'")))?;
    let (bytes, content_type) = service::photo(&state, id).await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = axum::http::HeaderValue::from_str(&content_type) {
        headers.insert(axum::http::header::CONTENT_TYPE, v);
    }
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(response)
}

#[derive(Template, WebTemplate)]
#[template(path = "doctors.html")]
struct DoctorsPage {
    page: PageCtx,
    doctors: Page<DoctorCard>,
    hospitals: Vec<Hospital>,
    q: String,
    hospital: Option<i64>,
    specialty: String,
    service: String,
    department: Option<i64>,
    service_kinds: [&'static str; 5],
    next_href: Option<String>,
}

impl DoctorsPage {
    fn is_hospital(&self, id: &i64) -> bool {
        self.hospital == Some(*id)
    }

    fn years(&self, since: &i64) -> i64 {
        i64::from(chrono::Datelike::year(&crate::identity::service::today())) - since
    }

    fn specialties<'a>(&self, s: &'a str) -> Vec<&'a str> {
        s.split(',').filter(|x| !x.is_empty()).collect()
    }
}

/// `GET /doctors?q&hospital&department&specialty&service`: find a doctor.
async fn doctors(
    State(state): State<AppState>,
    page: PageCtx,
    RawQuery(query): RawQuery,
) -> AppResult<DoctorsPage> {
    let q = service::parse_doctor_query(query.as_deref())?;
    let limit = PageRequest::from_query(query.as_deref())?.limit;
    let doctors = service::search_doctors(&state.db, &q, limit).await?;
    let hospitals = service::list_hospitals(
        &state.db,
        PageRequest {
            after: None,
            limit: 100,
        },
    )
    .await?
    .items;
    let next_href = doctors.next_after.map(|after| {
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
            if k != "after" {
                params.append_pair(&k, &v);
            }
        }
        params.append_pair("after", &after.to_string());
        format!("/doctors?{}", params.finish())
    });
    Ok(DoctorsPage {
        page: page.with_nav("doctors"),
        doctors,
        hospitals,
        q: q.name.clone().unwrap_or_default(),
        hospital: q.hospital_id,
        specialty: q.specialty.clone().unwrap_or_default(),
        service: q.service.clone().unwrap_or_default(),
        department: q.department_id,
        service_kinds: [
            "text_consult",
            "video_consult",
            "follow_up",
            "free_clinic",
            "counselling",
        ],
        next_href,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "doctor.html")]
struct DoctorPage {
    page: PageCtx,
    info: DoctorDetail,
    /// The photo's content key, appended to its URL so a new photo is fetched at once.
    photo_version: Option<String>,
    hospitals: Vec<Hospital>,
    departments: Vec<super::model::Department>,
}

impl DoctorPage {
    fn hospital_name(&self, id: &i64) -> String {
        self.hospitals
            .iter()
            .find(|h| h.id == *id)
            .map(|h| {
                self.page
                    .lang
                    .pick(&h.name, h.name_en.as_deref())
                    .to_owned()
            })
            .unwrap_or_default()
    }

    fn department_name(&self, id: &Option<i64>) -> String {
        id.and_then(|id| self.departments.iter().find(|d| d.id == id))
            .map(|d| {
                self.page
                    .lang
                    .pick(&d.name, d.name_en.as_deref())
                    .to_owned()
            })
            .unwrap_or_default()
    }

    fn price(&self, fen: &i64) -> String {
        if *fen == 0 {
            self.page.t("doctor.free").to_owned()
        } else {
            format!("¥{}.{:02}", fen / 100, fen % 100)
        }
    }

    fn specialties(&self) -> Vec<&str> {
        self.info
            .profile
            .specialties
            .split(',')
            .filter(|x| !x.is_empty())
            .collect()
    }
}

async fn doctor(
    State(state): State<AppState>,
    page: PageCtx,
    Path(id): Path<String>,
) -> AppResult<DoctorPage> {
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| crate::error::AppError::NotFound(format!("no doctor with id '{id}'")))?;
    let detail = service::doctor_detail(&state.db, id).await?;
    let mut hospitals = Vec::new();
    let mut departments = Vec::new();
    for site in &detail.sites {
        let h = service::hospital_detail(&state.db, site.hospital_id).await?;
        departments.extend(h.departments);
        hospitals.push(h.hospital);
    }
    Ok(DoctorPage {
        page: page.with_nav("doctors"),
        photo_version: store::photo(&state.db, id)
            .await?
            .map(|(key, _)| key.chars().take(12).collect()),
        info: detail,
        hospitals,
        departments,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "hospitals.html")]
struct HospitalsPage {
    page: PageCtx,
    hospitals: Page<Hospital>,
    limit: i64,
}

async fn list(
    State(state): State<AppState>,
    page: PageCtx,
    RawQuery(query): RawQuery,
) -> AppResult<HospitalsPage> {
    let request = PageRequest::from_query(query.as_deref())?;
    let hospitals = service::list_hospitals(&state.db, request).await?;
    Ok(HospitalsPage {
        page: page.with_nav("hospitals"),
        hospitals,
        limit: request.limit,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "hospital.html")]
struct HospitalPage {
    page: PageCtx,
    detail: HospitalDetail,
}

async fn detail(
    State(state): State<AppState>,
    page: PageCtx,
    Path(id): Path<String>,
) -> AppResult<HospitalPage> {
    let id = service::parse_id(&id)?;
    let detail = service::hospital_detail(&state.db, id).await?;
    Ok(HospitalPage {
        page: page.with_nav("hospitals"),
        detail,
    })
}

/// One doctor's row on the administrator's page.
struct AdminDoctorRow {
    card: DoctorCard,
    /// (kind, status) for every privilege kind: status is "active", "suspended" or "none".
    privileges: Vec<(&'static str, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_doctors.html")]
struct AdminDoctorsPage {
    page: PageCtx,
    hospital: Hospital,
    rows: Vec<AdminDoctorRow>,
    message: String,
}

#[derive(serde::Deserialize)]
struct AdminDoctorsQuery {
    hospital: Option<i64>,
    message: Option<String>,
}

/// The hospital an administrator manages: their own, or (platform admins) the one asked for.
async fn managed_hospital(
    state: &AppState,
    actor: &Actor,
    asked: Option<i64>,
) -> AppResult<Hospital> {
    let me = actor.require()?;
    let id = match me.role {
        Role::HospitalAdmin => me.hospital_id,
        Role::PlatformAdmin => match asked {
            Some(id) => Some(id),
            None => service::list_hospitals(
                &state.db,
                PageRequest {
                    after: None,
                    limit: 1,
                },
            )
            .await?
            .items
            .first()
            .map(|h| h.id),
        },
        _ => None,
    }
    .ok_or_else(|| {
        crate::error::AppError::Forbidden("only administrators manage doctors".to_owned())
    })?;
    Ok(service::hospital_detail(&state.db, id).await?.hospital)
}

impl AdminDoctorsPage {
    fn years(&self, since: &i64) -> i64 {
        i64::from(chrono::Datelike::year(&crate::identity::service::today())) - since
    }
}

async fn admin_doctors(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    axum::extract::Query(q): axum::extract::Query<AdminDoctorsQuery>,
) -> AppResult<AdminDoctorsPage> {
    let hospital = managed_hospital(&state, &actor, q.hospital).await?;
    let query = store::DoctorQuery {
        hospital_id: Some(hospital.id),
        limit: 500,
        ..store::DoctorQuery::default()
    };
    let mut rows = Vec::new();
    for (_, card) in store::search_doctors(&state.db, &query).await? {
        let held = store::privileges_of(&state.db, card.id).await?;
        let privileges = super::model::PrivilegeKind::ALL
            .iter()
            .map(|k| {
                let status = held
                    .iter()
                    .find(|p| p.hospital_id == hospital.id && p.kind == k.as_str())
                    .map(|p| p.status.clone())
                    .unwrap_or_else(|| "none".to_owned());
                (k.as_str(), status)
            })
            .collect();
        rows.push(AdminDoctorRow { card, privileges });
    }
    Ok(AdminDoctorsPage {
        page: page.with_nav("doctors-admin"),
        hospital,
        rows,
        message: q.message.unwrap_or_default(),
    })
}

#[derive(serde::Deserialize)]
struct PrivilegeForm {
    doctor_id: i64,
    hospital_id: i64,
    #[serde(default)]
    kind: String,
    /// grant, suspend or reinstate.
    #[serde(default)]
    action: String,
    reason: Option<String>,
}

/// The forms on the page post here; the outcome (done, or why not) comes back as a message.
async fn admin_privilege(
    State(state): State<AppState>,
    actor: Actor,
    crate::extract::AppForm(form): crate::extract::AppForm<PrivilegeForm>,
) -> AppResult<axum::response::Redirect> {
    let result = match form.action.as_str() {
        "grant" => {
            service::grant_privilege(&state, &actor, form.doctor_id, form.hospital_id, &form.kind)
                .await
        }
        "suspend" => {
            service::set_privilege_status(
                &state,
                &actor,
                form.doctor_id,
                form.hospital_id,
                &form.kind,
                false,
                form.reason.as_deref(),
            )
            .await
        }
        "reinstate" => {
            service::set_privilege_status(
                &state,
                &actor,
                form.doctor_id,
                form.hospital_id,
                &form.kind,
                true,
                None,
            )
            .await
        }
        _ => Err(crate::error::AppError::invalid(
            "action",
            "must be grant, suspend or reinstate",
        )),
    };
    let message = match result {
        Ok(()) => "ok".to_owned(),
        Err(e @ (crate::error::AppError::Internal(_) | crate::error::AppError::Unauthorized)) => {
            return Err(e);
        }
        Err(e) => e.to_string(),
    };
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("hospital", &form.hospital_id.to_string())
        .append_pair("message", &message)
        .finish();
    Ok(axum::response::Redirect::to(&format!(
        "/admin/doctors?{query}"
    )))
}
