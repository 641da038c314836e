//! HTML pages: `/hospitals` and `/hospitals/{id}`.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;

use crate::app::AppState;
use crate::error::AppResult;
use crate::extract::PathId;
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::paging::{Page, PageRequest};
use crate::web::PageCtx;
use crate::web::filters;

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
        .route("/admin/doctors/{id}", get(admin_doctor))
        .route(
            "/admin/doctors/{id}/profile",
            axum::routing::post(admin_doctor_profile),
        )
        .route(
            "/admin/doctors/{id}/sites",
            axum::routing::post(admin_doctor_site),
        )
        .route(
            "/admin/hospitals",
            get(admin_hospitals).post(admin_add_hospital),
        )
        .route(
            "/admin/hospitals/actions",
            axum::routing::post(admin_hospital_action),
        )
        .route("/admin/hospital", get(admin_hospital))
        .route(
            "/admin/hospital/departments",
            axum::routing::post(admin_add_department),
        )
        .route(
            "/admin/hospital/services",
            axum::routing::post(admin_add_service),
        )
        .route(
            "/admin/hospital/campaigns",
            axum::routing::post(admin_add_campaign),
        )
}

/// `GET /doctors/{id}/photo`: the stored image. Pages link it with `?v=<content key>`, so a
/// browser's cached copy is replaced as soon as the photo changes.
async fn photo(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse as _;
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
    this_year: i64,
    page: PageCtx,
    doctors: Page<DoctorCard>,
    /// Next free time and lowest price, one per card.
    extras: Vec<service::CardExtra>,
    hospitals: Vec<Hospital>,
    q: String,
    hospital: Option<i64>,
    specialty: String,
    service: String,
    department: Option<i64>,
    available_today: bool,
    service_kinds: [&'static str; 5],
    next_href: Option<String>,
}

impl DoctorsPage {
    fn is_hospital(&self, id: &i64) -> bool {
        self.hospital == Some(*id)
    }

    fn years(&self, since: &i64) -> i64 {
        self.this_year - since
    }

    /// The card's next free time as people say it (`周一 12-07 08:30`), if any.
    fn next_free(&self, index: &usize) -> Option<String> {
        let at = self.extras.get(*index)?.next_free_at?;
        Some(self.page.when(at))
    }

    fn price_from(&self, index: &usize) -> Option<i64> {
        self.extras.get(*index)?.price_from_fen
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
    let q = service::parse_doctor_query(query.as_deref(), state.now_ms())?;
    let limit = PageRequest::from_query(query.as_deref())?.limit;
    let doctors = service::search_doctors(&state.db, &q, limit).await?;
    let extras = service::card_extras(&state.db, &doctors.items, state.now_ms()).await?;
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
        this_year: i64::from(chrono::Datelike::year(&crate::time::cst_today(
            state.now_ms(),
        ))),
        page: page.with_nav("doctors"),
        doctors,
        extras,
        hospitals,
        q: q.name.clone().unwrap_or_default(),
        hospital: q.hospital_id,
        specialty: q.specialty.clone().unwrap_or_default(),
        service: q.service.clone().unwrap_or_default(),
        department: q.department_id,
        available_today: q.available_today.is_some(),
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
    /// (slot id, local start `08:30`, bookable now, in the afternoon) on the chosen day.
    slots: Vec<(i64, String, bool, bool)>,
    /// Days of the next 14 with free times: the date, its label (今天, 周三 12-09) and how many.
    days: Vec<(String, String, usize)>,
    /// The triage's age, carried to the confirmation so it offers that person first.
    age_query: String,
    /// The day shown.
    day: String,
    /// Whom a signed-in patient may book for: (person id, name).
    people: Vec<(i64, String)>,
    /// The photo's content key, appended to its URL so a new photo is fetched at once.
    photo_version: Option<String>,
    hospitals: Vec<Hospital>,
    departments: Vec<super::model::Department>,
}

impl DoctorPage {
    /// Whether the day has times in the morning (`false`) or the afternoon (`true`).
    fn has_half(&self, afternoon: &bool) -> bool {
        self.slots.iter().any(|s| s.3 == *afternoon)
    }

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
        department_label(&self.page, &self.departments, *id)
    }

    fn price(&self, fen: &i64) -> String {
        price_label(&self.page, *fen)
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

#[derive(serde::Deserialize, Default)]
struct DayQuery {
    day: Option<String>,
    /// From a triage: the age it was about, so the booking form offers that person first.
    age_years: Option<String>,
    age_months: Option<String>,
}

impl DayQuery {
    fn triage_age(&self) -> Option<crate::identity::service::TriageAge> {
        crate::identity::service::TriageAge::from_query(
            self.age_years.as_deref(),
            self.age_months.as_deref(),
        )
    }
}

async fn doctor(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    axum::extract::Query(q): axum::extract::Query<DayQuery>,
) -> AppResult<DoctorPage> {
    let triage_age = q.triage_age();
    let detail = service::doctor_detail(&state.db, id, state.now_ms()).await?;
    let mut hospitals = Vec::new();
    let mut departments = Vec::new();
    for site in &detail.sites {
        let h = service::hospital_detail(&state.db, site.hospital_id).await?;
        departments.extend(h.departments);
        hospitals.push(h.hospital);
    }
    // Free times of the next 14 days, one day at a time (a phone shows a day, not a fortnight).
    let now = state.now_ms();
    let free = crate::scheduling::service::open_slots(&state, id, 14).await?;
    let mut days: Vec<(String, String, usize)> = Vec::new();
    let today = crate::time::cst_today(now);
    for s in &free {
        match days.last_mut() {
            Some((d, _, n)) if *d == s.day => *n += 1,
            _ => days.push((s.day.clone(), page.day_label(&s.day, today), 1)),
        }
    }
    let day = q
        .day
        .clone()
        .filter(|d| days.iter().any(|(x, _, _)| x == d))
        .or_else(|| days.first().map(|(d, _, _)| d.clone()))
        .unwrap_or_default();
    let slots = free
        .iter()
        .filter(|s| s.day == day)
        .map(|s| {
            let time = crate::time::cst_display(s.start_at)
                .get(11..)
                .unwrap_or_default()
                .to_owned();
            let afternoon = time.as_str() >= "12:00";
            (s.id, time, s.bookable(now), afternoon)
        })
        .collect();
    let mut age_query = String::new();
    for (name, value) in [("age_years", &q.age_years), ("age_months", &q.age_months)] {
        if let Some(v) = value
            .as_deref()
            .filter(|v| v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty())
        {
            age_query.push_str(&format!("&{name}={v}"));
        }
    }
    let people = match actor.signed_in.as_ref().filter(|m| m.role == Role::Patient) {
        Some(me) => crate::identity::service::booking_people(&state, me, triage_age).await?,
        None => Vec::new(),
    };
    Ok(DoctorPage {
        page: page.with_nav("doctors"),
        slots,
        days,
        day,
        age_query,
        people,
        photo_version: service::public::photo_version(&state.db, id).await?,
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
    /// Services a department offers as a whole (its queue), not under a doctor's name.
    department_services: Vec<super::model::Service>,
    /// Free-clinic campaigns of this hospital running today.
    campaigns: Vec<super::store::CampaignRow>,
}

impl HospitalPage {
    fn department_name(&self, id: &Option<i64>) -> String {
        department_label(&self.page, &self.detail.departments, *id)
    }

    fn price(&self, fen: &i64) -> String {
        price_label(&self.page, *fen)
    }
}

/// A department's name in the page's language (empty when there is none).
fn department_label(
    page: &PageCtx,
    departments: &[super::model::Department],
    id: Option<i64>,
) -> String {
    id.and_then(|id| departments.iter().find(|d| d.id == id))
        .map(|d| page.lang.pick(&d.name, d.name_en.as_deref()).to_owned())
        .unwrap_or_default()
}

/// A price as patients read it: 免费 (free), or yuan with two decimals.
fn price_label(page: &PageCtx, fen: i64) -> String {
    if fen == 0 {
        page.t("doctor.free").to_owned()
    } else {
        crate::money::yuan(fen)
    }
}

async fn detail(
    State(state): State<AppState>,
    page: PageCtx,
    PathId(id): PathId,
) -> AppResult<HospitalPage> {
    let detail = service::hospital_detail(&state.db, id).await?;
    let department_services = service::hospital_services(&state.db, id)
        .await?
        .into_iter()
        .filter(|s| s.doctor_id.is_none())
        .collect();
    let campaigns = service::current_campaigns(&state.db, state.now_ms())
        .await?
        .into_iter()
        .filter(|c| c.campaign.hospital_id == id)
        .map(|c| c.campaign)
        .collect();
    Ok(HospitalPage {
        page: page.with_nav("hospitals"),
        detail,
        department_services,
        campaigns,
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
    this_year: i64,
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

impl AdminDoctorsPage {
    fn years(&self, since: &i64) -> i64 {
        self.this_year - since
    }
}

async fn admin_doctors(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    axum::extract::Query(q): axum::extract::Query<AdminDoctorsQuery>,
) -> AppResult<AdminDoctorsPage> {
    let hospital = service::managed_hospital(&state.db, &actor, q.hospital).await?;
    let query = store::DoctorQuery {
        hospital_id: Some(hospital.id),
        limit: 500,
        ..store::DoctorQuery::default()
    };
    let mut rows = Vec::new();
    for card in service::public::cards(&state.db, &query).await? {
        let held = service::public::privileges(&state.db, card.id).await?;
        let privileges = super::model::PrivilegeKind::ALL
            .iter()
            .map(|k| {
                let status = held
                    .iter()
                    .find(|p| p.hospital_id == hospital.id && p.kind == *k)
                    .map_or_else(|| "none".to_owned(), |p| p.status.to_string());
                (k.as_str(), status)
            })
            .collect();
        rows.push(AdminDoctorRow { card, privileges });
    }
    Ok(AdminDoctorsPage {
        this_year: i64::from(chrono::Datelike::year(&crate::time::cst_today(
            state.now_ms(),
        ))),
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
    back_with("/admin/doctors", Some(form.hospital_id), result)
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_hospital.html")]
struct AdminHospitalPage {
    today: chrono::NaiveDate,
    page: PageCtx,
    detail: HospitalDetail,
    services: Vec<super::model::Service>,
    doctors: Vec<DoctorCard>,
    message: String,
    service_kinds: [&'static str; 5],
}

impl AdminHospitalPage {
    fn doctor_name(&self, id: &Option<i64>) -> String {
        id.and_then(|id| self.doctors.iter().find(|d| d.id == id))
            .map(|d| d.name.clone())
            .unwrap_or_default()
    }

    fn price(&self, fen: &i64) -> String {
        crate::money::yuan(*fen)
    }

    fn today(&self) -> String {
        self.today.to_string()
    }
}

/// `/admin/hospital`: an administrator's hospital — departments, services, free-clinic
/// campaigns. Platform administrators pick the hospital with `?hospital=`.
async fn admin_hospital(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    axum::extract::Query(q): axum::extract::Query<AdminDoctorsQuery>,
) -> AppResult<AdminHospitalPage> {
    let hospital = service::managed_hospital(&state.db, &actor, q.hospital).await?;
    let detail = service::hospital_detail(&state.db, hospital.id).await?;
    let services = service::hospital_services(&state.db, hospital.id).await?;
    let query = store::DoctorQuery {
        hospital_id: Some(hospital.id),
        limit: 500,
        ..store::DoctorQuery::default()
    };
    let doctors = service::public::cards(&state.db, &query).await?;
    Ok(AdminHospitalPage {
        today: crate::time::cst_today(state.now_ms()),
        page: page.with_nav("hospital-admin"),
        detail,
        services,
        doctors,
        message: q.message.unwrap_or_default(),
        service_kinds: [
            "text_consult",
            "video_consult",
            "follow_up",
            "free_clinic",
            "counselling",
        ],
    })
}

/// Back to an administrator's page with the outcome (see `web::page::redirect_with_outcome`).
fn back_with(
    path: &str,
    hospital_id: Option<i64>,
    result: AppResult<()>,
) -> AppResult<axum::response::Redirect> {
    let pairs: Vec<(&str, String)> = hospital_id
        .map(|h| ("hospital", h.to_string()))
        .into_iter()
        .collect();
    crate::web::page::redirect_with_outcome(path, &pairs, result)
}

/// "25", "25.5" or "25.50" yuan in fen; empty is `None`.
fn parse_yuan(field: &str, raw: &str) -> AppResult<Option<i64>> {
    match raw.trim() {
        "" => Ok(None),
        raw => crate::money::parse_yuan(raw).map(Some).ok_or_else(|| {
            crate::error::AppError::invalid(field, "must be an amount in yuan such as 25 or 25.50")
        }),
    }
}

fn optional_id(field: &str, raw: &str) -> AppResult<Option<i64>> {
    match raw.trim() {
        "" => Ok(None),
        s => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| crate::error::AppError::invalid(field, "must be chosen from the list")),
    }
}

#[derive(serde::Deserialize)]
struct DepartmentForm {
    hospital_id: i64,
    #[serde(default)]
    std_code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    name_en: String,
    offers_online: Option<String>,
}

async fn admin_add_department(
    State(state): State<AppState>,
    actor: Actor,
    crate::extract::AppForm(form): crate::extract::AppForm<DepartmentForm>,
) -> AppResult<axum::response::Redirect> {
    let input = super::model::DepartmentInput {
        std_code: form.std_code,
        name: form.name,
        name_en: Some(form.name_en),
        offers_online: form.offers_online.is_some(),
    };
    let result = service::add_department(&state, &actor, form.hospital_id, &input)
        .await
        .map(|_| ());
    back_with("/admin/hospital", Some(form.hospital_id), result)
}

#[derive(serde::Deserialize)]
struct ServiceForm {
    hospital_id: i64,
    #[serde(default)]
    doctor_id: String,
    #[serde(default)]
    department_id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    price_yuan: String,
    #[serde(default)]
    duration_min: String,
    #[serde(default)]
    daily_quota: String,
    #[serde(default)]
    reply_within_min: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    auto_assign: Option<String>,
}

async fn admin_add_service(
    State(state): State<AppState>,
    actor: Actor,
    crate::extract::AppForm(form): crate::extract::AppForm<ServiceForm>,
) -> AppResult<axum::response::Redirect> {
    let result = async {
        let input = ServiceInputFromForm::parse(&form)?;
        service::create_service(&state, &actor, &input)
            .await
            .map(|_| ())
    }
    .await;
    back_with("/admin/hospital", Some(form.hospital_id), result)
}

struct ServiceInputFromForm;

impl ServiceInputFromForm {
    fn parse(form: &ServiceForm) -> AppResult<super::model::ServiceInput> {
        let number = |field: &str, raw: &str| -> AppResult<Option<i64>> {
            match raw.trim() {
                "" => Ok(None),
                s => s
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| crate::error::AppError::invalid(field, "must be a whole number")),
            }
        };
        Ok(super::model::ServiceInput {
            hospital_id: Some(form.hospital_id),
            department_id: optional_id("department_id", &form.department_id)?,
            doctor_id: optional_id("doctor_id", &form.doctor_id)?,
            kind: form.kind.clone(),
            name: form.name.clone(),
            price_fen: parse_yuan("price_yuan", &form.price_yuan)?,
            duration_min: number("duration_min", &form.duration_min)?,
            daily_quota: number("daily_quota", &form.daily_quota)?,
            reply_within_min: number("reply_within_min", &form.reply_within_min)?,
            auto_assign: form.auto_assign.is_some(),
        })
    }
}

async fn admin_add_campaign(
    State(state): State<AppState>,
    actor: Actor,
    crate::extract::AppForm(pairs): crate::extract::AppForm<Vec<(String, String)>>,
) -> AppResult<axum::response::Redirect> {
    // A repeated field (one `doctor_ids` per ticked volunteer) arrives as pairs.
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let hospital_id = get("hospital_id")
        .parse::<i64>()
        .map_err(|_| crate::error::AppError::required("hospital_id"))?;
    let result = async {
        let doctor_ids = pairs
            .iter()
            .filter(|(k, _)| k == "doctor_ids")
            .map(|(_, v)| {
                v.parse::<i64>().map_err(|_| {
                    crate::error::AppError::invalid("doctor_ids", "must be chosen from the list")
                })
            })
            .collect::<AppResult<Vec<i64>>>()?;
        let input = super::model::CampaignInput {
            hospital_id: Some(hospital_id),
            name: get("name"),
            starts_on: get("starts_on"),
            ends_on: get("ends_on"),
            doctor_ids,
        };
        service::create_campaign(&state, &actor, &input)
            .await
            .map(|_| ())
    }
    .await;
    back_with("/admin/hospital", Some(hospital_id), result)
}

#[cfg(test)]
mod tests {
    use super::parse_yuan;

    #[test]
    fn yuan_amounts_become_fen_exactly() {
        assert_eq!(parse_yuan("p", "25").ok(), Some(Some(2500)));
        assert_eq!(parse_yuan("p", "25.5").ok(), Some(Some(2550)));
        assert_eq!(parse_yuan("p", "0.05").ok(), Some(Some(5)));
        assert_eq!(parse_yuan("p", " ").ok(), Some(None));
        for bad in ["abc", "1.234", "-3", ".5", "1e3", "99999999999999999999"] {
            assert!(parse_yuan("p", bad).is_err(), "{bad}");
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_doctor.html")]
struct AdminDoctorPage {
    page: PageCtx,
    doctor_id: i64,
    name: String,
    has_photo: bool,
    photo_version: String,
    profile: Option<super::model::DoctorProfile>,
    sites: Vec<super::model::PracticeSite>,
    hospitals: Vec<HospitalDetail>,
    message: String,
    titles: [&'static str; 4],
    this_year: i64,
}

impl AdminDoctorPage {
    fn hospital_name(&self, id: &i64) -> String {
        self.hospitals
            .iter()
            .find(|h| h.hospital.id == *id)
            .map(|h| {
                self.page
                    .lang
                    .pick(&h.hospital.name, h.hospital.name_en.as_deref())
                    .to_owned()
            })
            .unwrap_or_default()
    }

    fn licence(&self) -> &str {
        self.profile.as_ref().map_or("", |p| p.licence_no.as_str())
    }

    fn specialties_text(&self) -> String {
        self.profile
            .as_ref()
            .map_or(String::new(), |p| p.specialties.replace(',', "、"))
    }

    fn biography(&self) -> &str {
        self.profile.as_ref().map_or("", |p| p.biography.as_str())
    }

    fn title_is(&self, t: &str) -> bool {
        self.profile.as_ref().is_some_and(|p| p.title == t)
    }

    fn since(&self) -> String {
        self.profile
            .as_ref()
            .map(|p| p.practice_since_year.to_string())
            .unwrap_or_default()
    }
}

#[derive(serde::Deserialize)]
struct MessageQuery {
    message: Option<String>,
}

/// `/admin/doctors/{id}`: a doctor's professional profile and where they practise.
async fn admin_doctor(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    axum::extract::Query(q): axum::extract::Query<MessageQuery>,
) -> AppResult<AdminDoctorPage> {
    // Only administrators of the doctor's own hospital (or of the platform) see this page.
    let (name, _home) = service::doctor_for_admin(&state, &actor, id).await?;
    let mut hospitals = Vec::new();
    for h in service::list_hospitals(
        &state.db,
        PageRequest {
            after: None,
            limit: 100,
        },
    )
    .await?
    .items
    {
        hospitals.push(service::hospital_detail(&state.db, h.id).await?);
    }
    let photo = service::public::photo_version(&state.db, id).await?;
    Ok(AdminDoctorPage {
        page: page.with_nav("doctors-admin"),
        doctor_id: id,
        name,
        has_photo: photo.is_some(),
        photo_version: photo.unwrap_or_default(),
        profile: service::public::profile(&state.db, id).await?,
        sites: service::public::sites_of(&state.db, id).await?,
        hospitals,
        message: q.message.unwrap_or_default(),
        titles: ["chief", "associate_chief", "attending", "resident"],
        this_year: i64::from(chrono::Datelike::year(&crate::time::cst_today(
            state.now_ms(),
        ))),
    })
}

#[derive(serde::Deserialize)]
struct ProfileForm {
    #[serde(default)]
    licence_no: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    specialties: String,
    #[serde(default)]
    biography: String,
    #[serde(default)]
    practice_since_year: String,
}

async fn admin_doctor_profile(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    crate::extract::AppForm(form): crate::extract::AppForm<ProfileForm>,
) -> AppResult<axum::response::Redirect> {
    let since = form.practice_since_year.trim();
    let input = super::model::DoctorProfileInput {
        licence_no: form.licence_no,
        title: form.title,
        // One per line or separated by the Chinese or Latin comma, as people type them.
        specialties: form
            .specialties
            .split(['\n', ',', '，', '、'])
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        biography: form.biography,
        practice_since_year: if since.is_empty() {
            None
        } else {
            since.parse().ok().or(Some(0))
        },
    };
    back_with(
        &format!("/admin/doctors/{id}"),
        None,
        service::set_profile(&state, &actor, id, &input).await,
    )
}

#[derive(serde::Deserialize)]
struct SiteForm {
    #[serde(default)]
    hospital_id: String,
    #[serde(default)]
    department_id: String,
    #[serde(default)]
    registration_no: String,
}

async fn admin_doctor_site(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    crate::extract::AppForm(form): crate::extract::AppForm<SiteForm>,
) -> AppResult<axum::response::Redirect> {
    let result = async {
        let hospital = optional_id("hospital_id", &form.hospital_id)?
            .ok_or_else(|| crate::error::AppError::invalid("hospital_id", "choose a hospital"))?;
        let department = optional_id("department_id", &form.department_id)?;
        service::add_site(
            &state,
            &actor,
            id,
            hospital,
            department,
            &form.registration_no,
        )
        .await
        .map(|_| ())
    }
    .await;
    back_with(&format!("/admin/doctors/{id}"), None, result)
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_hospitals.html")]
struct AdminHospitalsPage {
    page: PageCtx,
    hospitals: Vec<Hospital>,
    levels: [&'static str; 10],
    message: String,
}

/// `/admin/hospitals`: platform administrators add, suspend and link hospitals.
async fn admin_hospitals(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    axum::extract::Query(q): axum::extract::Query<MessageQuery>,
) -> AppResult<AdminHospitalsPage> {
    if actor.require()?.role != Role::PlatformAdmin {
        return Err(crate::error::AppError::Forbidden(
            "only platform administrators manage hospitals".to_owned(),
        ));
    }
    Ok(AdminHospitalsPage {
        page: page.with_nav("hospitals-admin"),
        hospitals: service::list_hospitals(
            &state.db,
            PageRequest {
                after: None,
                limit: 100,
            },
        )
        .await?
        .items,
        levels: super::model::LEVELS,
        message: q.message.unwrap_or_default(),
    })
}

#[derive(serde::Deserialize)]
struct NewHospitalForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    address: String,
}

async fn admin_add_hospital(
    State(state): State<AppState>,
    actor: Actor,
    crate::extract::AppForm(f): crate::extract::AppForm<NewHospitalForm>,
) -> AppResult<axum::response::Redirect> {
    let hospital = super::model::NewHospital {
        code: f.code.trim().to_owned(),
        name: f.name.trim().to_owned(),
        name_en: Some(f.name_en.trim().to_owned()).filter(|n| !n.is_empty()),
        level: f.level,
        region_code: f.region_code.trim().to_owned(),
        address: f.address.trim().to_owned(),
    };
    back_with(
        "/admin/hospitals",
        None,
        service::add_hospital(&state, &actor, &hospital, &[])
            .await
            .map(|_| ()),
    )
}

#[derive(serde::Deserialize)]
struct HospitalActionForm {
    hospital_id: i64,
    /// suspend, reactivate, or support (with `supported_id`).
    #[serde(default)]
    action: String,
    reason: Option<String>,
    #[serde(default)]
    supported_id: String,
}

async fn admin_hospital_action(
    State(state): State<AppState>,
    actor: Actor,
    crate::extract::AppForm(f): crate::extract::AppForm<HospitalActionForm>,
) -> AppResult<axum::response::Redirect> {
    let result = match f.action.as_str() {
        "suspend" => {
            service::set_hospital_status(&state, &actor, f.hospital_id, false, f.reason.as_deref())
                .await
        }
        "reactivate" => {
            service::set_hospital_status(&state, &actor, f.hospital_id, true, None).await
        }
        "support" => match optional_id("supported_id", &f.supported_id) {
            Ok(Some(supported)) => {
                service::add_support(&state, &actor, f.hospital_id, supported).await
            }
            Ok(None) => Err(crate::error::AppError::invalid(
                "supported_id",
                "choose the hospital to support",
            )),
            Err(e) => Err(e),
        },
        _ => Err(crate::error::AppError::invalid(
            "action",
            "must be suspend, reactivate or support",
        )),
    };
    back_with("/admin/hospitals", None, result)
}
