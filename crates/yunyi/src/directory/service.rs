//! Directory rules. Hospitals and departments are public information (no patient data), so
//! reads need no actor and leave no audit event; writes will require a hospital admin once
//! identity exists.

use crate::db::{Db, Tx, is_unique_violation};
use crate::error::{AppError, AppResult, Reason};
use crate::paging::{Page, PageRequest};

use super::model::{Hospital, HospitalDetail, NewDepartment, NewHospital};
use super::store;

#[tracing::instrument(skip(db))]
pub async fn list_hospitals(db: &Db, page: PageRequest) -> AppResult<Page<Hospital>> {
    let rows = store::list_hospitals(db, &page).await?;
    Ok(Page::from_rows(rows, &page, |h| h.id))
}

#[tracing::instrument(skip(db))]
pub async fn hospital_detail(db: &Db, id: i64) -> AppResult<HospitalDetail> {
    let hospital = store::get_hospital(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no hospital with id {id}")))?;
    let departments = store::departments_of(db, id).await?;
    Ok(HospitalDetail {
        hospital,
        departments,
    })
}

/// Creates a hospital with its departments inside the caller's transaction.
pub async fn create_hospital(
    tx: &mut Tx,
    new: &NewHospital,
    departments: &[NewDepartment],
    now: i64,
) -> AppResult<i64> {
    new.validate().map_err(AppError::Validation)?;
    let id = store::insert_hospital(tx, new, now).await.map_err(|e| {
        if is_unique_violation(&e) {
            AppError::refused(
                Reason::AlreadyExists,
                format!("a hospital with code '{}' already exists", new.code),
            )
        } else {
            e.into()
        }
    })?;
    for dept in departments {
        store::insert_department(tx, id, dept, now)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    AppError::refused(
                        Reason::AlreadyExists,
                        format!("department '{}' is listed twice", dept.name),
                    )
                } else {
                    e.into()
                }
            })?;
    }
    Ok(id)
}

/// Parses a hospital id from a URL segment: anything that is not a positive number simply
/// does not exist (404), rather than being a malformed request.
pub fn parse_id(raw: &str) -> AppResult<i64> {
    crate::extract::path_id("hospital", raw)
}

use chrono::Datelike as _;

use super::model::{
    DoctorCard, DoctorDetail, DoctorProfileInput, INTERNET_DIAGNOSIS_MIN_YEARS, PrivilegeKind,
    Service, ServiceInput, ServiceKind,
};
use super::store::DoctorQuery;
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::identity::model::Role;
use crate::identity::{Actor, store as identity_store};

/// The calendar year in China at `now` (years of practice are counted from it).
fn this_year(now: i64) -> i64 {
    i64::from(crate::time::cst_today(now).year())
}

/// Administrators of `hospital_id` (its hospital admin) or of the platform may change it.
pub(crate) async fn require_admin_of(
    state: &AppState,
    actor: &Actor,
    hospital_id: i64,
    action: &str,
) -> AppResult<i64> {
    let me = crate::capability::require(
        state,
        actor,
        crate::capability::Capability::Administer(hospital_id),
        action,
    )
    .await?;
    Ok(me.account_id)
}

/// The account, which must be an active doctor.
async fn doctor_account(
    state: &AppState,
    account_id: i64,
) -> AppResult<identity_store::AccountRow> {
    identity_store::account(&state.db, account_id)
        .await?
        .filter(|a| a.role == Role::Doctor.as_str())
        .ok_or_else(|| AppError::NotFound(format!("no doctor with id {account_id}")))
}

/// Sets a doctor's professional profile (licence, title, specialties, biography, practice years).
pub async fn set_profile(
    state: &AppState,
    actor: &Actor,
    doctor_id: i64,
    input: &DoctorProfileInput,
) -> AppResult<()> {
    let doctor = doctor_account(state, doctor_id).await?;
    let hospital = doctor.hospital_id.ok_or_else(|| {
        AppError::refused(Reason::NoHospital, "the doctor belongs to no hospital")
    })?;
    let admin = require_admin_of(state, actor, hospital, "doctor.profile").await?;
    let valid = input
        .validate(this_year(state.now_ms()))
        .map_err(AppError::Validation)?;
    let mut tx = state.db.begin().await?;
    store::upsert_profile(&mut tx, doctor_id, &valid, state.now_ms())
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                AppError::ConflictFields(vec![crate::error::FieldError::new(
                    "licence_no",
                    "belongs to another doctor",
                )])
            } else {
                e.into()
            }
        })?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "doctor.profile", "doctor")
            .object(doctor_id)
            .reason(format!("by {admin}")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Registers the doctor to practise at a hospital (多点执业), in an optional department.
pub async fn add_site(
    state: &AppState,
    actor: &Actor,
    doctor_id: i64,
    hospital_id: i64,
    department_id: Option<i64>,
    registration_no: &str,
) -> AppResult<i64> {
    doctor_account(state, doctor_id).await?;
    require_admin_of(state, actor, hospital_id, "doctor.site").await?;
    if store::get_hospital(&state.db, hospital_id).await?.is_none() {
        return Err(AppError::invalid(
            "hospital_id",
            format!("no hospital with id {hospital_id}"),
        ));
    }
    if let Some(d) = department_id {
        if store::department_hospital(&state.db, d).await? != Some(hospital_id) {
            return Err(AppError::invalid(
                "department_id",
                "is not a department of this hospital",
            ));
        }
    }
    let registration_no = registration_no.trim();
    if registration_no.is_empty() || registration_no.len() > 40 {
        return Err(AppError::invalid(
            "registration_no",
            "must be the practice registration number, 1 to 40 characters",
        ));
    }
    let mut tx = state.db.begin().await?;
    let id = store::insert_site(
        &mut tx,
        doctor_id,
        hospital_id,
        department_id,
        registration_no,
        state.now_ms(),
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AppError::refused(
                Reason::AlreadyExists,
                "the doctor already practises at this hospital",
            )
        } else {
            e.into()
        }
    })?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "doctor.site", "practice_site")
            .object(id)
            .reason(format!("hospital {hospital_id}")),
    )
    .await?;
    tx.commit().await?;
    // Bookings and consultations remember privileges briefly: this change applies at once.
    state.privileges.forget_all();
    Ok(id)
}

/// Grants a privilege at one hospital, enforcing the rules:
/// - the doctor practises at that hospital;
/// - `internet_diagnosis` needs ≥ 3 years of independent practice;
/// - `prescribe` needs an active `internet_diagnosis` at the same hospital (prescriptions are
///   written in follow-up visits, which are internet diagnosis).
pub async fn grant_privilege(
    state: &AppState,
    actor: &Actor,
    doctor_id: i64,
    hospital_id: i64,
    kind: &str,
) -> AppResult<()> {
    let kind = PrivilegeKind::parse(kind).ok_or_else(|| {
        AppError::invalid(
            "kind",
            "must be one of consult, internet_diagnosis, prescribe, teleconsult",
        )
    })?;
    doctor_account(state, doctor_id).await?;
    let admin = require_admin_of(state, actor, hospital_id, "privilege.grant").await?;
    if !store::has_active_site(&state.db, doctor_id, hospital_id).await? {
        return Err(AppError::refused(
            Reason::SiteRequired,
            "the doctor does not practise at this hospital: add the practice site first",
        ));
    }
    match kind {
        PrivilegeKind::InternetDiagnosis => {
            let profile = store::profile(&state.db, doctor_id).await?.ok_or_else(|| {
                AppError::refused(
                    Reason::ProfileRequired,
                    "the doctor has no professional profile yet",
                )
            })?;
            let years = this_year(state.now_ms()) - profile.practice_since_year;
            if years < INTERNET_DIAGNOSIS_MIN_YEARS {
                return Err(AppError::refused(
                    Reason::PracticeTooShort,
                    format!(
                        "internet diagnosis needs at least {INTERNET_DIAGNOSIS_MIN_YEARS} years of independent practice; this doctor has {years}"
                    ),
                ));
            }
        }
        PrivilegeKind::Prescribe => {
            if !store::privilege_active(
                &state.db,
                doctor_id,
                hospital_id,
                PrivilegeKind::InternetDiagnosis.as_str(),
            )
            .await?
            {
                return Err(AppError::refused(Reason::PrivilegeMissing, "prescribing online needs an active internet diagnosis privilege at this hospital".to_owned(),));
            }
        }
        PrivilegeKind::Consult | PrivilegeKind::Teleconsult => {}
    }
    let mut tx = state.db.begin().await?;
    store::put_privilege(
        &mut tx,
        &store::PrivilegeChange {
            account_id: doctor_id,
            hospital_id,
            kind: kind.as_str(),
            status: "active",
            reason: None,
            changed_by: Some(admin),
        },
        state.now_ms(),
    )
    .await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "privilege.grant", "privilege")
            .object(format!("{doctor_id}/{hospital_id}/{}", kind.as_str())),
    )
    .await?;
    tx.commit().await?;
    // Bookings and consultations remember privileges briefly: this change applies at once.
    state.privileges.forget_all();
    Ok(())
}

/// Suspends (or, with `active`, reinstates) a privilege; a reason is required to suspend.
pub async fn set_privilege_status(
    state: &AppState,
    actor: &Actor,
    doctor_id: i64,
    hospital_id: i64,
    kind: &str,
    active: bool,
    reason: Option<&str>,
) -> AppResult<()> {
    let kind = PrivilegeKind::parse(kind).ok_or_else(|| {
        AppError::invalid(
            "kind",
            "must be one of consult, internet_diagnosis, prescribe, teleconsult",
        )
    })?;
    let admin = require_admin_of(state, actor, hospital_id, "privilege.status").await?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if !active && reason.is_none() {
        return Err(AppError::invalid(
            "reason",
            "say why the privilege is suspended",
        ));
    }
    let exists = store::privileges_of(&state.db, doctor_id)
        .await?
        .iter()
        .any(|p| p.hospital_id == hospital_id && p.kind == kind.as_str());
    if !exists {
        return Err(AppError::NotFound(
            "the doctor holds no such privilege at this hospital".to_owned(),
        ));
    }
    let status = if active { "active" } else { "suspended" };
    let mut tx = state.db.begin().await?;
    store::put_privilege(
        &mut tx,
        &store::PrivilegeChange {
            account_id: doctor_id,
            hospital_id,
            kind: kind.as_str(),
            status,
            reason,
            changed_by: Some(admin),
        },
        state.now_ms(),
    )
    .await?;
    let mut event = NewEvent::new(
        actor.audit(),
        if active {
            "privilege.reinstate"
        } else {
            "privilege.suspend"
        },
        "privilege",
    )
    .object(format!("{doctor_id}/{hospital_id}/{}", kind.as_str()));
    if let Some(r) = reason {
        event = event.reason(r);
    }
    audit::append(&mut tx, &event).await?;
    tx.commit().await?;
    // Bookings and consultations remember privileges briefly: this change applies at once.
    state.privileges.forget_all();
    Ok(())
}

/// How long a doctor's privilege at a hospital, once read, is believed. Every booking checks
/// it, so a release rush would otherwise read it thousands of times a second. Changes made
/// through this process apply at once (its memory is cleared); on another server sharing
/// the PostgreSQL database a suspension applies within this time.
pub const PRIVILEGE_MEMORY_MS: i64 = 2_000;

pub fn privilege_memory() -> crate::ttl_cache::TtlCache<(i64, i64, &'static str), bool> {
    crate::ttl_cache::TtlCache::new(PRIVILEGE_MEMORY_MS, 100_000)
}

/// A service's kind never changes once it is created (there is no update), so it is
/// remembered for a minute: every booking asks which privilege its service needs.
pub const SERVICE_KIND_MEMORY_MS: i64 = 60_000;

pub fn service_kind_memory() -> crate::ttl_cache::TtlCache<i64, ServiceKind> {
    crate::ttl_cache::TtlCache::new(SERVICE_KIND_MEMORY_MS, 100_000)
}

/// The kind of service `service_id` (a text consultation when the stored kind is unknown).
pub async fn service_kind(state: &AppState, service_id: i64) -> AppResult<Option<ServiceKind>> {
    let now = state.now_ms();
    if let Some(kind) = state.service_kinds.get(&service_id, now) {
        return Ok(Some(kind));
    }
    let Some(service) = store::service(&state.db, service_id).await? else {
        return Ok(None);
    };
    state.service_kinds.put(service_id, service.kind, now);
    Ok(Some(service.kind))
}

/// For the contexts that act on privileges (consultations, prescriptions, remote
/// consultations): an error unless the doctor holds `kind`, unsuspended, at `hospital_id`.
pub async fn require_privilege(
    state: &AppState,
    doctor_id: i64,
    hospital_id: i64,
    kind: PrivilegeKind,
) -> AppResult<()> {
    let key = (doctor_id, hospital_id, kind.as_str());
    let now = state.now_ms();
    let active = match state.privileges.get(&key, now) {
        Some(active) => active,
        None => {
            let active =
                store::privilege_active(&state.db, doctor_id, hospital_id, kind.as_str()).await?;
            state.privileges.put(key, active, now);
            active
        }
    };
    if active {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "the doctor does not hold an active {} privilege at this hospital",
            kind.as_str()
        )))
    }
}

/// Whether patients of `hospital_id` may book this doctor: the doctor practises there or at a
/// hospital that supports it.
pub async fn serves_patients_of(
    state: &AppState,
    doctor_id: i64,
    hospital_id: i64,
) -> AppResult<bool> {
    Ok(store::serves_hospital(&state.db, doctor_id, hospital_id).await?)
}

/// Records that `supporting` supports `supported` (对口支援). Platform administrators only.
pub async fn add_support(
    state: &AppState,
    actor: &Actor,
    supporting: i64,
    supported: i64,
) -> AppResult<()> {
    let me = actor.require()?;
    crate::capability::require_role(
        me,
        Role::PlatformAdmin,
        "only platform administrators link hospitals",
    )?;
    if supporting == supported {
        return Err(AppError::invalid(
            "supported_id",
            "a hospital cannot support itself",
        ));
    }
    for (field, id) in [("supporting_id", supporting), ("supported_id", supported)] {
        if store::get_hospital(&state.db, id).await?.is_none() {
            return Err(AppError::invalid(
                field,
                format!("no hospital with id {id}"),
            ));
        }
    }
    let mut tx = state.db.begin().await?;
    store::insert_support(&mut tx, supporting, supported, state.now_ms()).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "hospital.support", "hospital")
            .object(supported)
            .reason(format!("supported by {supporting}")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates a service; the offering doctor must hold the privilege the service needs.
pub async fn create_service(
    state: &AppState,
    actor: &Actor,
    input: &ServiceInput,
) -> AppResult<i64> {
    let valid = input.validate().map_err(AppError::Validation)?;
    require_admin_of(state, actor, valid.hospital_id, "service.create").await?;
    if let Some(d) = valid.department_id {
        if store::department_hospital(&state.db, d).await? != Some(valid.hospital_id) {
            return Err(AppError::invalid(
                "department_id",
                "is not a department of this hospital",
            ));
        }
    }
    if let Some(doctor) = valid.doctor_id {
        doctor_account(state, doctor)
            .await
            .map_err(|_| AppError::invalid("doctor_id", "is not a doctor"))?;
        let needed = valid.kind.required_privilege();
        if !store::privilege_active(&state.db, doctor, valid.hospital_id, needed.as_str()).await? {
            return Err(AppError::refused(
                Reason::PrivilegeMissing,
                format!(
                    "a {} service needs the doctor to hold {} at this hospital",
                    valid.kind.as_str(),
                    needed.as_str()
                ),
            ));
        }
    }
    let mut tx = state.db.begin().await?;
    let id = store::insert_service(&mut tx, &valid, state.now_ms()).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "service.create", "service").object(id),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Parses the doctor search query string; every bad parameter is named. `available=today`
/// is judged at `now`.
pub fn parse_doctor_query(query: Option<&str>, now: i64) -> AppResult<DoctorQuery> {
    let page = PageRequest::from_query(query)?;
    let mut q = DoctorQuery {
        after: page.after,
        limit: page.fetch_limit(),
        ..DoctorQuery::default()
    };
    let mut errors = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let v = value.trim();
        if v.is_empty() {
            continue;
        }
        let id = |field: &str, errors: &mut Vec<crate::error::FieldError>| {
            v.parse::<i64>().ok().filter(|n| *n > 0).or_else(|| {
                errors.push(crate::error::FieldError::new(
                    field,
                    "must be a positive id",
                ));
                None
            })
        };
        match key.as_ref() {
            "q" | "name" => q.name = Some(v.chars().take(50).collect()),
            "hospital" => q.hospital_id = id("hospital", &mut errors),
            "department" => q.department_id = id("department", &mut errors),
            "specialty" => q.specialty = Some(v.chars().take(30).collect()),
            "available" => match v {
                "today" => q.available_today = Some(now),
                _ => errors.push(crate::error::FieldError::new("available", "must be today")),
            },
            "service" => match ServiceKind::parse(v) {
                Some(k) => q.service = Some(k.as_str().to_owned()),
                None => errors.push(crate::error::FieldError::new(
                    "service",
                    "must be one of text_consult, video_consult, follow_up, free_clinic, counselling",
                )),
            },
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// What a doctor's card shows beside who they are: when they can next be seen there and
/// what it costs at least, so a patient choosing between doctors need not open each profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CardExtra {
    pub next_free_at: Option<i64>,
    pub price_from_fen: Option<i64>,
}

/// How far ahead a card looks for the next free time.
pub const CARD_HORIZON_DAYS: i64 = 14;

/// The [`CardExtra`] of each card, in the cards' order (two queries for the whole page).
pub async fn card_extras(db: &Db, cards: &[DoctorCard], now: i64) -> AppResult<Vec<CardExtra>> {
    let mut doctors: Vec<i64> = cards.iter().map(|c| c.id).collect();
    doctors.sort_unstable();
    doctors.dedup();
    let until = now + CARD_HORIZON_DAYS * 24 * 3_600_000;
    let free = crate::scheduling::store::next_free(db, None, &doctors, now, until).await?;
    let prices = store::price_from_by_site(db, &doctors).await?;
    let at = |rows: &[(i64, i64, i64)], card: &DoctorCard| {
        rows.iter()
            .find(|(d, h, _)| *d == card.id && *h == card.hospital_id)
            .map(|(_, _, v)| *v)
    };
    Ok(cards
        .iter()
        .map(|card| CardExtra {
            next_free_at: at(&free, card),
            price_from_fen: at(&prices, card),
        })
        .collect())
}

/// Doctor search: one card per practice site, keyset-paged by site.
pub async fn search_doctors(
    db: &Db,
    query: &DoctorQuery,
    limit: i64,
) -> AppResult<Page<DoctorCard>> {
    let rows = store::search_doctors(db, query).await?;
    let request = PageRequest {
        after: query.after,
        limit,
    };
    let page = Page::from_rows(rows, &request, |(site, _)| *site);
    Ok(Page {
        items: page.items.into_iter().map(|(_, card)| card).collect(),
        next_after: page.next_after,
    })
}

/// `now` is when years of practice are counted.
pub async fn doctor_detail(db: &Db, doctor_id: i64, now: i64) -> AppResult<DoctorDetail> {
    let profile = store::profile(db, doctor_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no doctor with id {doctor_id}")))?;
    Ok(DoctorDetail {
        years_of_practice: this_year(now) - profile.practice_since_year,
        sites: store::sites_of(db, doctor_id).await?,
        privileges: store::privileges_of(db, doctor_id).await?,
        services: store::services(db, Some(doctor_id), None, 100).await?,
        profile,
    })
}

/// A doctor's name as their profile gives it ("" without a profile).
pub async fn doctor_name(db: &Db, doctor_id: i64) -> AppResult<String> {
    Ok(store::profile(db, doctor_id)
        .await?
        .map(|p| p.name)
        .unwrap_or_default())
}

/// One service, whether or not it is still offered.
pub async fn service(db: &Db, id: i64) -> AppResult<Option<Service>> {
    Ok(store::service(db, id).await?)
}

/// A doctor's account for their hospital's administrators (or the platform's): its display
/// name and home hospital; anyone else is refused, as is a doctor of another hospital.
pub async fn doctor_for_admin(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> AppResult<(String, i64)> {
    let account = crate::identity::store::account(&state.db, id)
        .await?
        .filter(|a| a.role == crate::identity::model::Role::Doctor.as_str())
        .ok_or_else(|| AppError::NotFound(format!("no doctor with id {id}")))?;
    let home = account.hospital_id.ok_or_else(|| {
        AppError::refused(Reason::NoHospital, "the doctor belongs to no hospital")
    })?;
    let managed = managed_hospital(&state.db, actor, Some(home)).await?;
    if managed.id != home {
        return Err(AppError::Forbidden("another hospital's doctor".to_owned()));
    }
    Ok((account.display_name, home))
}

/// Active services of a hospital.
pub async fn hospital_services(db: &Db, hospital_id: i64) -> AppResult<Vec<Service>> {
    Ok(store::services(db, None, Some(hospital_id), 500).await?)
}

/// Sets a doctor's photo: a JPEG, PNG or WebP image (recognised by its bytes), stored in the
/// blob store. The doctor themself or an administrator of their hospital may set it.
pub async fn set_photo(
    state: &AppState,
    actor: &Actor,
    doctor_id: i64,
    bytes: &[u8],
) -> AppResult<()> {
    let doctor = doctor_account(state, doctor_id).await?;
    let me = actor.require()?;
    if me.account_id != doctor_id {
        let hospital = doctor
            .hospital_id
            .ok_or_else(|| AppError::Forbidden("the doctor belongs to no hospital".to_owned()))?;
        require_admin_of(state, actor, hospital, "doctor.photo").await?;
    }
    let content_type = crate::blob::sniff_image(bytes).ok_or_else(|| {
        AppError::UnsupportedMediaType("the photo must be a JPEG, PNG or WebP image".to_owned())
    })?;
    // Where the photo was taken and with which phone is nobody's business.
    let clean = crate::scrub::strip(bytes, content_type)
        .map_err(|e| AppError::UnsupportedMediaType(e.to_string()))?;
    let key = state
        .blobs
        .put(&clean)
        .await
        .map_err(AppError::from_storage)?;
    if !store::set_photo(&state.db, doctor_id, &key, content_type).await? {
        return Err(AppError::refused(
            Reason::ProfileRequired,
            "set the doctor's professional profile before the photo",
        ));
    }
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "doctor.photo", "doctor").object(doctor_id),
    )
    .await?;
    Ok(())
}

/// The photo's bytes and type, if the doctor has one.
pub async fn photo(state: &AppState, doctor_id: i64) -> AppResult<(Vec<u8>, String)> {
    let not_found = || AppError::NotFound(format!("doctor {doctor_id} has no photo"));
    let (key, content_type) = store::photo(&state.db, doctor_id)
        .await?
        .ok_or_else(not_found)?;
    let bytes = state
        .blobs
        .get(&key)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(not_found)?;
    Ok((bytes, content_type))
}

/// A new hospital with its departments. Platform administrators only.
pub async fn add_hospital(
    state: &AppState,
    actor: &Actor,
    hospital: &super::model::NewHospital,
    departments: &[super::model::DepartmentInput],
) -> AppResult<i64> {
    let me = actor.require()?;
    if me.role != Role::PlatformAdmin {
        crate::identity::service::deny(
            state,
            actor,
            "hospital.create",
            "hospital",
            None,
            None,
            "not a platform administrator",
        )
        .await?;
        return Err(AppError::Forbidden(
            "only platform administrators add hospitals".to_owned(),
        ));
    }
    let mut valid = Vec::new();
    let mut errors = hospital.validate().err().unwrap_or_default();
    for (i, d) in departments.iter().enumerate() {
        match d.validate() {
            Ok(v) => valid.push(v),
            Err(es) => errors.extend(es.into_iter().map(|e| {
                crate::error::FieldError::new(format!("departments[{i}].{}", e.field), e.message)
            })),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut tx = state.db.begin().await?;
    let id = create_hospital(&mut tx, hospital, &valid, state.now_ms()).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "hospital.create", "hospital").object(id),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Suspends or reactivates a hospital (platform administrators; a reason to suspend).
pub async fn set_hospital_status(
    state: &AppState,
    actor: &Actor,
    id: i64,
    active: bool,
    reason: Option<&str>,
) -> AppResult<()> {
    let me = actor.require()?;
    crate::capability::require_role(
        me,
        Role::PlatformAdmin,
        "only platform administrators suspend hospitals",
    )?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if !active && reason.is_none() {
        return Err(AppError::invalid(
            "reason",
            "say why the hospital is suspended",
        ));
    }
    let mut tx = state.db.begin().await?;
    if !store::set_hospital_status(&mut tx, id, if active { "active" } else { "suspended" }).await?
    {
        return Err(AppError::NotFound(format!("no hospital with id {id}")));
    }
    let mut event = NewEvent::new(
        actor.audit(),
        if active {
            "hospital.reactivate"
        } else {
            "hospital.suspend"
        },
        "hospital",
    )
    .object(id);
    if let Some(r) = reason {
        event = event.reason(r);
    }
    audit::append(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds a department to a hospital (its administrators or platform administrators).
pub async fn add_department(
    state: &AppState,
    actor: &Actor,
    hospital_id: i64,
    input: &super::model::DepartmentInput,
) -> AppResult<i64> {
    require_admin_of(state, actor, hospital_id, "department.create").await?;
    let valid = input.validate().map_err(AppError::Validation)?;
    if store::get_hospital(&state.db, hospital_id).await?.is_none() {
        return Err(AppError::NotFound(format!(
            "no hospital with id {hospital_id}"
        )));
    }
    let mut tx = state.db.begin().await?;
    let id = store::insert_department(&mut tx, hospital_id, &valid, state.now_ms())
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                AppError::ConflictFields(vec![crate::error::FieldError::new(
                    "name",
                    "this hospital already has a department of that name",
                )])
            } else {
                e.into()
            }
        })?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "department.create", "department").object(id),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

fn parse_day(field: &str, raw: &str) -> AppResult<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::field(crate::error::FieldError::date(field, "2026-12-01")))
}

/// A free-clinic campaign with its volunteer doctors, who must serve the hospital's patients
/// (practise there or at a supporting hospital) and hold an active consult privilege.
pub async fn create_campaign(
    state: &AppState,
    actor: &Actor,
    input: &super::model::CampaignInput,
) -> AppResult<i64> {
    let hospital_id = input
        .hospital_id
        .ok_or_else(|| AppError::required("hospital_id"))?;
    require_admin_of(state, actor, hospital_id, "campaign.create").await?;
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(AppError::field(crate::error::FieldError::length(
            "name", 1, 60,
        )));
    }
    let starts = parse_day("starts_on", &input.starts_on)?;
    let ends = parse_day("ends_on", &input.ends_on)?;
    if ends < starts || (ends - starts).num_days() > 366 {
        return Err(AppError::invalid(
            "ends_on",
            "must be on or after starts_on, within a year",
        ));
    }
    if input.doctor_ids.is_empty() || input.doctor_ids.len() > 200 {
        return Err(AppError::invalid(
            "doctor_ids",
            "list 1 to 200 volunteer doctors",
        ));
    }
    for &doctor in &input.doctor_ids {
        let serves = store::serves_hospital(&state.db, doctor, hospital_id).await?;
        let consults = store::privileges_of(&state.db, doctor)
            .await?
            .iter()
            .any(|p| p.kind == PrivilegeKind::Consult.as_str() && p.status == "active");
        if !serves || !consults {
            return Err(AppError::invalid(
                "doctor_ids",
                format!(
                    "doctor {doctor} does not serve this hospital's patients with an active consult privilege"
                ),
            ));
        }
    }
    let mut tx = state.db.begin().await?;
    let id = store::insert_campaign(
        &mut tx,
        hospital_id,
        name,
        &starts.to_string(),
        &ends.to_string(),
        state.now_ms(),
    )
    .await?;
    for &doctor in &input.doctor_ids {
        store::add_campaign_doctor(&mut tx, id, doctor).await?;
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "campaign.create", "campaign").object(id),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A campaign as the public sees it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    #[serde(flatten)]
    pub campaign: store::CampaignRow,
    pub doctors: Vec<i64>,
}

/// Campaigns running on the China day of `now`.
pub async fn current_campaigns(db: &Db, now: i64) -> AppResult<Vec<CampaignView>> {
    let today = crate::time::cst_today(now).to_string();
    let mut out = Vec::new();
    for campaign in store::campaigns_on(db, &today).await? {
        let doctors = store::campaign_doctors(db, campaign.id).await?;
        out.push(CampaignView { campaign, doctors });
    }
    Ok(out)
}

/// The hospital an administrator manages: their own, or (platform admins) the one asked for.
pub async fn managed_hospital(db: &Db, actor: &Actor, asked: Option<i64>) -> AppResult<Hospital> {
    let me = actor.require()?;
    let id = match me.role {
        Role::HospitalAdmin => me.hospital_id,
        Role::PlatformAdmin => match asked {
            Some(id) => Some(id),
            None => list_hospitals(
                db,
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
    .ok_or_else(|| AppError::Forbidden("only administrators manage doctors".to_owned()))?;
    Ok(hospital_detail(db, id).await?.hospital)
}

/// The public directory, read as it is stored (FHIR's Organization, Practitioner,
/// PractitionerRole and HealthcareService are the same facts the pages publish).
pub mod public {
    use super::super::model::{DoctorProfile, Hospital, PracticeSite, Privilege, Service};
    use super::super::store::{self, DoctorQuery};
    use crate::db::Db;
    use crate::error::AppResult;

    pub async fn hospital(db: &Db, id: i64) -> AppResult<Option<Hospital>> {
        Ok(store::get_hospital(db, id).await?)
    }

    pub async fn profile(db: &Db, doctor: i64) -> AppResult<Option<DoctorProfile>> {
        Ok(store::profile(db, doctor).await?)
    }

    pub async fn privileges(db: &Db, doctor: i64) -> AppResult<Vec<Privilege>> {
        Ok(store::privileges_of(db, doctor).await?)
    }

    pub async fn site(db: &Db, id: i64) -> AppResult<Option<PracticeSite>> {
        Ok(store::site(db, id).await?)
    }

    /// Practice sites, of a doctor and/or at a hospital.
    pub async fn sites(
        db: &Db,
        doctor: Option<i64>,
        hospital: Option<i64>,
        limit: i64,
    ) -> AppResult<Vec<PracticeSite>> {
        Ok(store::sites(db, doctor, hospital, limit).await?)
    }

    pub async fn services(
        db: &Db,
        doctor: Option<i64>,
        hospital: Option<i64>,
        limit: i64,
    ) -> AppResult<Vec<Service>> {
        Ok(store::services(db, doctor, hospital, limit).await?)
    }

    /// The version of a doctor's photo (the start of its content key), for cache-busting URLs.
    pub async fn photo_version(db: &Db, doctor: i64) -> AppResult<Option<String>> {
        Ok(store::photo(db, doctor)
            .await?
            .map(|(key, _)| key.chars().take(12).collect()))
    }

    /// A doctor's practice sites.
    pub async fn sites_of(db: &Db, doctor: i64) -> AppResult<Vec<PracticeSite>> {
        Ok(store::sites_of(db, doctor).await?)
    }

    /// The cards a search finds, one per practice site.
    pub async fn cards(
        db: &Db,
        q: &DoctorQuery,
    ) -> AppResult<Vec<super::super::model::DoctorCard>> {
        Ok(store::search_doctors(db, q)
            .await?
            .into_iter()
            .map(|(_, card)| card)
            .collect())
    }

    /// The doctors a search finds: their ids, one per doctor, in the search's order.
    pub async fn doctor_ids(db: &Db, q: &DoctorQuery) -> AppResult<Vec<i64>> {
        let mut ids = Vec::new();
        for (_, card) in store::search_doctors(db, q).await? {
            if !ids.contains(&card.id) {
                ids.push(card.id);
            }
        }
        Ok(ids)
    }
}
