//! Account and family rules: registration, staff creation, family members, profiles, and
//! decoding people for display (masked identity numbers except for their owner).

use chrono::NaiveDate;

use serde::Serialize;

use super::actor::{Actor, SessionKind, SignedIn};
use super::model::{self, IdCardNumber, Phone, Relationship, Role, Sex};
use super::{password, store};
use crate::app::AppState;
use crate::audit::{self, NewEvent, Outcome};
use crate::crypto;
use crate::db::{Tx, is_unique_violation};
use crate::error::{AppError, AppResult, FieldError, Reason};
use crate::ttl_cache::TtlCache;

/// How long a live session read from the database is believed without reading it again.
/// Every request of a signed-in person needs its session; a patient pressing "book" in a
/// release rush sends several a second. The process that revokes a session or records a
/// step-up forgets it at once; another server on the same PostgreSQL honours a sign-out within
/// this time (a bearer token's lifetime is hours: two seconds more is not a new exposure).
pub const SESSION_MEMORY_MS: i64 = 2_000;

pub fn session_memory() -> TtlCache<String, store::SessionRow> {
    TtlCache::new(SESSION_MEMORY_MS, 100_000)
}

/// The session behind a token, if it is live.
pub async fn authenticate(
    state: &AppState,
    token: &str,
    kind: SessionKind,
) -> AppResult<Option<SignedIn>> {
    authenticate_hash(state, crypto::sha256_hex(token), kind).await
}

/// Is this signed-in session still live (not revoked, not expired, its account active)? Asked
/// by long-lived connections (the chat socket) before each frame and every second; another
/// server's revocation is seen within [`SESSION_MEMORY_MS`].
pub async fn still_signed_in(state: &AppState, me: &SignedIn) -> AppResult<bool> {
    Ok(
        authenticate_hash(state, me.token_hash.clone(), me.session_kind)
            .await?
            .is_some_and(|now| now.session_id == me.session_id),
    )
}

async fn authenticate_hash(
    state: &AppState,
    hash: String,
    kind: SessionKind,
) -> AppResult<Option<SignedIn>> {
    let now = state.now_ms();
    let row = match state.sessions.get(&hash, now) {
        Some(row) if row.expires_at > now => row,
        Some(_) => return Ok(None),
        None => {
            // Unknown tokens are not remembered: they cost a read each, like a wrong password.
            let Some(row) = store::live_session(&state.db, &hash, now).await? else {
                return Ok(None);
            };
            state.sessions.put(hash.clone(), row.clone(), now);
            row
        }
    };
    // A cookie is not a bearer token and vice versa: each is only valid where it was issued.
    if row.kind != kind {
        return Ok(None);
    }
    let role = row.role;
    Ok(Some(SignedIn {
        account_id: row.account_id,
        role,
        username: row.username,
        display_name: row.display_name,
        person_id: row.person_id,
        hospital_id: row.hospital_id,
        session_id: row.session_id,
        session_kind: kind,
        step_up_at: row.step_up_at,
        token_hash: hash,
        app: row.grant_id.map(|grant_id| {
            std::sync::Arc::new(crate::smart::AppAccess {
                grant_id,
                scopes: crate::smart::scope::Scopes::parse(row.scope.as_deref().unwrap_or("")),
                patient: row.launch_patient,
            })
        }),
        compartment: None,
    }))
}

/// Self-registration of a patient.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct RegisterPatient {
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    /// Optional: when given, must match what the identity number says.
    pub birth_date: Option<String>,
    pub sex: Option<String>,
}

struct ValidPerson {
    name: String,
    id: IdCardNumber,
}

/// Today in China by the application's clock: ages and identity numbers are judged on it.
fn today(state: &AppState) -> chrono::NaiveDate {
    crate::time::cst_today(state.now_ms())
}

fn check_person(
    name: &str,
    id_number: &str,
    birth_date: Option<&str>,
    sex: Option<&str>,
    today: chrono::NaiveDate,
    errors: &mut Vec<FieldError>,
) -> Option<ValidPerson> {
    let name = model::validate_name("name", name)
        .map_err(|e| errors.push(e))
        .ok();
    let id = IdCardNumber::parse(id_number, today)
        .map_err(|m| errors.push(FieldError::new("id_number", m)))
        .ok();
    if let (Some(id), Some(given)) = (&id, birth_date.filter(|s| !s.is_empty())) {
        if NaiveDate::parse_from_str(given, "%Y-%m-%d").ok() != Some(id.birth_date()) {
            errors.push(FieldError::new(
                "birth_date",
                format!(
                    "does not match the identity number, which says {}",
                    id.birth_date()
                ),
            ));
        }
    }
    if let (Some(id), Some(given)) = (&id, sex.filter(|s| !s.is_empty())) {
        if Sex::parse(given) != Some(id.sex()) {
            errors.push(FieldError::new(
                "sex",
                format!(
                    "does not match the identity number, which says {}",
                    id.sex().as_str()
                ),
            ));
        }
    }
    Some(ValidPerson {
        name: name?,
        id: id?,
    })
}

/// Creates the person with this identity number.
async fn insert_person(state: &AppState, tx: &mut Tx, p: &ValidPerson) -> AppResult<i64> {
    Ok(new_person(state, tx, &p.name, &p.id).await?)
}

/// Gives every person registered before persons had a region (migration 0028) the region
/// of their identity number, which only the application can decrypt. Runs at start; a no-op
/// once done.
pub async fn fill_person_regions(
    db: &crate::db::Db,
    keys: &crate::crypto::DataKeys,
) -> anyhow::Result<()> {
    const BATCH: i64 = 500;
    loop {
        let rows = store::persons_without_region(db, BATCH).await?;
        for (id, sealed) in &rows {
            let number = keys.decrypt(sealed)?;
            // Division codes are six ASCII digits; a number that is not cannot be stored.
            let region = number.get(..6).unwrap_or_default();
            store::set_person_region(db, *id, region).await?;
        }
        if (rows.len() as i64) < BATCH {
            return Ok(());
        }
    }
}

/// Stores a person: the identity number encrypted, with its lookup hash and masked form.
pub async fn new_person(
    state: &AppState,
    tx: &mut Tx,
    name: &str,
    id: &IdCardNumber,
) -> Result<i64, sqlx::Error> {
    let row = store::NewPersonRow {
        name,
        id_number_enc: state.keys.encrypt(id.as_str()),
        id_number_hash: state.keys.lookup_hash("id_number", id.as_str()),
        id_number_mask: id.masked(),
        birth_date: id.birth_date().to_string(),
        sex: id.sex().as_str(),
        region: id.region(),
    };
    store::insert_person(tx, &row, state.now_ms()).await
}

/// The person already on record with this identity number, if any.
async fn person_on_record(
    state: &AppState,
    tx: &mut Tx,
    p: &ValidPerson,
) -> AppResult<Option<store::PersonRow>> {
    let hash = state.keys.lookup_hash("id_number", p.id.as_str());
    Ok(store::person_by_id_hash(tx, &hash).await?)
}

/// A new patient account: its person linked at once (a person new to Yunyi), or waiting for
/// proof (a person already on record: see `claims`).
#[derive(Debug, Clone, Copy)]
pub struct Registered {
    pub account_id: i64,
    pub claim_id: Option<i64>,
}

/// Self-registration. The real-name check (name, identity number and phone belong together)
/// runs first. A number Yunyi already knows is never taken on someone's word: the account is
/// created without a person and a claim waits for the holders' approval, their code, or a
/// counter; the answer is the same whether the name matches the record or not.
#[tracing::instrument(skip_all)]
pub async fn register_patient(
    state: &AppState,
    actor: &Actor,
    input: &RegisterPatient,
) -> AppResult<Registered> {
    let mut errors = Vec::new();
    let phone = Phone::parse(&input.phone)
        .map_err(|m| errors.push(FieldError::new("phone", m)))
        .ok();
    if let Err(e) = model::validate_password("password", &input.password) {
        errors.push(e);
    }
    let person = check_person(
        &input.name,
        &input.id_number,
        input.birth_date.as_deref(),
        input.sex.as_deref(),
        today(state),
        &mut errors,
    );
    let (Some(phone), Some(person), true) = (phone, person, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    if model::age_on(person.id.birth_date(), today(state)) < 14 {
        return Err(AppError::invalid(
            "id_number",
            "a child under 14 cannot hold an account: a parent or guardian adds them as a family member",
        ));
    }
    super::realname::require_match(state, &person.name, &person.id, &phone).await?;
    let password_hash = password::hash(&input.password).await?;
    let phone_hash = state.keys.lookup_hash("phone", phone.as_str());

    let mut tx = state.db.begin().await?;
    let existing = person_on_record(state, &mut tx, &person).await?;
    if let Some(p) = &existing {
        if store::person_has_account(&mut tx, p.id).await? {
            return Err(AppError::refused(
                Reason::AccountExists,
                "an account already exists for this identity number; sign in instead".to_owned(),
            ));
        }
    }
    let person_id = match &existing {
        Some(_) => None,
        None => Some(insert_person(state, &mut tx, &person).await?),
    };
    let row = store::NewAccountRow {
        username: None,
        role: Role::Patient.as_str(),
        display_name: &person.name,
        password_hash: Some(&password_hash),
        phone_enc: Some(state.keys.encrypt(phone.as_str())),
        phone_hash: Some(phone_hash),
        phone_mask: Some(phone.masked()),
        person_id,
        hospital_id: None,
        created_by: None,
    };
    let account_id = store::insert_account(&mut tx, &row, state.now_ms())
        .await
        .map_err(|e| {
            unique_to_conflict(
                e,
                "phone",
                "this phone number is already registered; sign in instead",
            )
        })?;
    let mut event = NewEvent::new(actor.audit(), "account.register", "account").object(account_id);
    if let Some(person_id) = person_id {
        event = event.patient(person_id);
    }
    audit::append(&mut tx, &event).await?;
    let (claim_id, notice) = match &existing {
        Some(p) => {
            let (id, notice) = super::claims::open(
                state,
                &mut tx,
                actor,
                account_id,
                p,
                &person.name,
                &super::claims::Wanted::Account { phone: &phone },
            )
            .await?;
            (Some(id), notice)
        }
        None => (None, None),
    };
    tx.commit().await?;
    if let Some(notice) = notice {
        super::claims::send_notice(state, notice).await;
    }
    Ok(Registered {
        account_id,
        claim_id,
    })
}

/// A unique violation becomes a 409 naming the field; anything else stays a database error.
fn unique_to_conflict(e: sqlx::Error, field: &str, message: &str) -> AppError {
    if is_unique_violation(&e) {
        AppError::ConflictFields(vec![FieldError::new(field, message)])
    } else {
        e.into()
    }
}

/// A staff account to create.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct NewStaff {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub role: String,
    pub hospital_id: Option<i64>,
    #[serde(default)]
    pub password: String,
    pub phone: Option<String>,
}

/// Who may create which staff: a platform admin anyone; a hospital admin the clinical and
/// infection-control staff of their own hospital. `None` is the CLI bootstrapping the first
/// admin, which only works on a database without accounts of that kind.
#[tracing::instrument(skip_all)]
pub async fn create_staff(
    state: &AppState,
    actor: Option<&Actor>,
    input: &NewStaff,
) -> AppResult<i64> {
    let mut errors = Vec::new();
    let username = model::validate_username(&input.username)
        .map_err(|e| errors.push(e))
        .ok();
    let display_name = model::validate_name("display_name", &input.display_name)
        .map_err(|e| errors.push(e))
        .ok();
    let role = Role::parse(&input.role).filter(|r| *r != Role::Patient);
    if role.is_none() {
        errors.push(FieldError::new(
            "role",
            "must be one of doctor, nurse, pharmacist, hospital_admin, infection_officer, regulator, platform_admin",
        ));
    }
    if let Err(e) = model::validate_password("password", &input.password) {
        errors.push(e);
    }
    let phone = match input.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(p) => Phone::parse(p)
            .map_err(|m| errors.push(FieldError::new("phone", m)))
            .ok(),
        None => None,
    };
    if let Some(role) = role {
        if role.needs_hospital() && input.hospital_id.is_none() {
            errors.push(FieldError::new(
                "hospital_id",
                format!("a {role} belongs to a hospital"),
            ));
        }
        if !role.needs_hospital() && input.hospital_id.is_some() {
            errors.push(FieldError::new(
                "hospital_id",
                format!("a {role} does not belong to a hospital"),
            ));
        }
    }
    let (Some(username), Some(display_name), Some(role), true) =
        (username, display_name, role, errors.is_empty())
    else {
        return Err(AppError::Validation(errors));
    };

    let created_by = match actor {
        Some(actor) => {
            let me = actor.require()?;
            let allowed = match me.role {
                Role::PlatformAdmin => true,
                Role::HospitalAdmin => {
                    matches!(
                        role,
                        Role::Doctor
                            | Role::Nurse
                            | Role::Pharmacist
                            | Role::InfectionOfficer
                            | Role::HospitalAdmin
                    ) && input.hospital_id.is_some()
                        && input.hospital_id == me.hospital_id
                }
                _ => false,
            };
            if !allowed {
                deny(
                    state,
                    actor,
                    "account.create",
                    "account",
                    None,
                    None,
                    "role may not create this account",
                )
                .await?;
                return Err(AppError::Forbidden(format!(
                    "a {} may not create a {role} account{}",
                    me.role,
                    if me.role == Role::HospitalAdmin {
                        " for another hospital"
                    } else {
                        ""
                    }
                )));
            }
            Some(me.account_id)
        }
        None => None,
    };
    if let Some(hospital_id) = input.hospital_id {
        if crate::directory::store::get_hospital(&state.db, hospital_id)
            .await?
            .is_none()
        {
            return Err(AppError::invalid(
                "hospital_id",
                format!("no hospital with id {hospital_id}"),
            ));
        }
    }
    let password_hash = password::hash(&input.password).await?;
    let mut tx = state.db.begin().await?;
    let row = store::NewAccountRow {
        username: Some(&username),
        role: role.as_str(),
        display_name: &display_name,
        password_hash: Some(&password_hash),
        phone_enc: phone.as_ref().map(|p| state.keys.encrypt(p.as_str())),
        phone_hash: phone
            .as_ref()
            .map(|p| state.keys.lookup_hash("phone", p.as_str())),
        phone_mask: phone.as_ref().map(Phone::masked),
        person_id: None,
        hospital_id: input.hospital_id,
        created_by,
    };
    let id = store::insert_account(&mut tx, &row, state.now_ms())
        .await
        .map_err(|e| {
            unique_to_conflict(
                e,
                "username",
                "is taken (or the phone number is already registered)",
            )
        })?;
    let cli = AuditActor::cli();
    let audit_actor = actor.map(Actor::audit).unwrap_or(cli);
    audit::append(
        &mut tx,
        &NewEvent::new(audit_actor, "account.create", "account")
            .object(id)
            .reason(format!("role {role}")),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

use crate::audit::AuditActor;

impl AuditActor {
    /// An operator at the command line.
    pub fn cli() -> Self {
        AuditActor {
            account_id: None,
            role: "cli".to_owned(),
            request_id: None,
            client_addr: None,
        }
    }
}

/// Records a denial in the audit trail (the caller then returns the error).
pub async fn deny(
    state: &AppState,
    actor: &Actor,
    action: &str,
    object_type: &str,
    object_id: Option<String>,
    patient_id: Option<i64>,
    reason: &str,
) -> AppResult<()> {
    tracing::warn!(action, object_type, reason, "access denied");
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), action, object_type)
            .object_opt(object_id)
            .patient_opt(patient_id)
            .outcome(Outcome::Denied)
            .reason(reason),
    )
    .await?;
    Ok(())
}

/// A person as shown to someone: the identity number is masked unless `reveal`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonView {
    pub id: i64,
    pub name: String,
    pub id_number: String,
    pub birth_date: String,
    pub age: u32,
    pub sex: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationship: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_guardian: Option<bool>,
}

pub fn person_view(state: &AppState, p: &store::PersonRow, reveal: bool) -> AppResult<PersonView> {
    let id_number = if reveal {
        state
            .keys
            .decrypt(&p.id_number_enc)
            .map_err(AppError::Internal)?
    } else {
        p.id_number_mask.clone()
    };
    let birth = NaiveDate::parse_from_str(&p.birth_date, "%Y-%m-%d").unwrap_or_default();
    Ok(PersonView {
        id: p.id,
        name: p.name.clone(),
        id_number,
        birth_date: p.birth_date.clone(),
        age: model::age_on(birth, today(state)),
        sex: p.sex.clone(),
        relationship: None,
        is_guardian: None,
    })
}

fn family_view(state: &AppState, f: &store::FamilyRow) -> AppResult<PersonView> {
    let row = store::PersonRow {
        id: f.id,
        name: f.name.clone(),
        id_number_enc: f.id_number_enc.clone(),
        id_number_hash: f.id_number_hash.clone(),
        id_number_mask: f.id_number_mask.clone(),
        birth_date: f.birth_date.clone(),
        sex: f.sex.clone(),
    };
    // A guardian is the one who speaks for the ward: they see the full number they entered.
    let mut view = person_view(state, &row, f.is_guardian)?;
    view.relationship = Some(f.relationship.clone());
    view.is_guardian = Some(f.is_guardian);
    Ok(view)
}

/// The people a patient books for — themselves first, then their family — ordered so that the
/// one a triage was about comes first: with `age` (whole years, or months under one year, as
/// the triage form asked) the single person of that age leads; with none or several, the
/// order stays as it was (the patient themselves first).
pub async fn booking_people(
    state: &AppState,
    me: &SignedIn,
    age: Option<TriageAge>,
) -> AppResult<Vec<(i64, String)>> {
    let mut people: Vec<(i64, String, String)> = Vec::new();
    if let Some(own) = me.person_id {
        let birth = store::person(&state.db, own)
            .await?
            .map(|p| p.birth_date)
            .unwrap_or_default();
        people.push((own, me.display_name.clone(), birth));
    }
    people.extend(
        store::family_of(&state.db, me.account_id)
            .await?
            .into_iter()
            .map(|f| (f.id, f.name, f.birth_date)),
    );
    if let Some(age) = age {
        let today = crate::time::cst_today(state.now_ms());
        let matches: Vec<usize> = people
            .iter()
            .enumerate()
            .filter(|(_, (_, _, birth))| {
                NaiveDate::parse_from_str(birth, "%Y-%m-%d").is_ok_and(|b| age.fits(b, today))
            })
            .map(|(i, _)| i)
            .collect();
        if let [only] = matches[..] {
            let chosen = people.remove(only);
            people.insert(0, chosen);
        }
    }
    Ok(people.into_iter().map(|(id, name, _)| (id, name)).collect())
}

/// The age a triage form gave: whole years, or months for a baby under one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriageAge {
    Years(u32),
    Months(u32),
}

impl TriageAge {
    /// From a page's query (`age_years`, `age_months`), as the triage passed it on; text that
    /// is not a whole number is no age.
    pub fn from_query(years: Option<&str>, months: Option<&str>) -> Option<Self> {
        let number = |v: Option<&str>| v.and_then(|v| v.trim().parse::<u32>().ok());
        match (number(years), number(months)) {
            (Some(y), _) if y > 0 => Some(Self::Years(y)),
            (_, Some(m)) => Some(Self::Months(m)),
            (Some(y), None) => Some(Self::Years(y)),
            (None, None) => None,
        }
    }

    fn fits(self, birth: NaiveDate, today: NaiveDate) -> bool {
        match self {
            Self::Years(y) => super::model::age_on(birth, today) == y,
            Self::Months(m) => whole_months(birth, today) == Some(m),
        }
    }
}

/// Whole months from `birth` to `today` (none before birth).
fn whole_months(birth: NaiveDate, today: NaiveDate) -> Option<u32> {
    use chrono::Datelike;
    let months = (today.year() - birth.year()) * 12 + today.month() as i32
        - birth.month() as i32
        - i32::from(today.day() < birth.day());
    u32::try_from(months).ok()
}

/// The people an account acts for (its family list): (person id, name).
pub async fn family_names(state: &AppState, account: i64) -> AppResult<Vec<(i64, String)>> {
    Ok(store::family_of(&state.db, account)
        .await?
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect())
}

/// What a signed-in person sees about themselves.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Profile {
    pub account_id: i64,
    pub username: Option<String>,
    pub role: Role,
    pub display_name: String,
    pub phone: Option<String>,
    pub hospital_id: Option<i64>,
    pub person: Option<PersonView>,
    pub family: Vec<PersonView>,
}

pub async fn profile(state: &AppState, actor: &Actor) -> AppResult<Profile> {
    let me = actor.require()?;
    let account = store::account(&state.db, me.account_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let phone = match &account.phone_enc {
        Some(enc) => Some(state.keys.decrypt(enc).map_err(AppError::Internal)?),
        None => None,
    };
    let person = match account.person_id {
        Some(id) => match store::person(&state.db, id).await? {
            Some(p) => Some(person_view(state, &p, true)?),
            None => None,
        },
        None => None,
    };
    let family = store::family_of(&state.db, me.account_id)
        .await?
        .iter()
        .map(|f| family_view(state, f))
        .collect::<AppResult<Vec<_>>>()?;
    if let Some(person_id) = account.person_id {
        audit::record(
            &state.db,
            &NewEvent::new(actor.audit(), "patient.read", "profile")
                .object(me.account_id)
                .patient(person_id)
                .reason("own profile"),
        )
        .await?;
    }
    Ok(Profile {
        account_id: account.id,
        username: account.username,
        role: me.role,
        display_name: account.display_name,
        phone,
        hospital_id: account.hospital_id,
        person,
        family,
    })
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct NewFamilyMember {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub relationship: String,
    /// The account holder declares they are the member's legal guardian.
    #[serde(default)]
    pub guardian: bool,
}

/// What adding a family member did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyAdded {
    /// A person new to Yunyi, linked at once.
    Linked(i64),
    /// A person already on record: a claim waits for proof (see `claims`).
    Pending(i64),
}

/// A patient adds someone they act for. A child under 6 must have the holder as guardian.
/// A person new to Yunyi is created and linked; a person already on record is linked only
/// once a claim is proven, and the answer does not say whether the name matched.
#[tracing::instrument(skip_all)]
pub async fn add_family_member(
    state: &AppState,
    actor: &Actor,
    input: &NewFamilyMember,
) -> AppResult<FamilyAdded> {
    let me = actor.require()?;
    crate::capability::require_role(
        me,
        Role::Patient,
        "only patient accounts have family members",
    )?;
    let mut errors = Vec::new();
    let relationship = Relationship::parse(&input.relationship);
    if relationship.is_none() {
        errors.push(FieldError::new(
            "relationship",
            "must be one of child, parent, spouse, grandparent, grandchild, sibling, other",
        ));
    }
    let person = check_person(
        &input.name,
        &input.id_number,
        None,
        None,
        today(state),
        &mut errors,
    );
    let (Some(relationship), Some(person), true) = (relationship, person, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let age = model::age_on(person.id.birth_date(), today(state));
    let mut guardian = input.guardian;
    if age < 6 {
        if !relationship.can_be_ward() {
            return Err(AppError::invalid(
                "relationship",
                "a child under 6 can only be added by a parent or guardian (relationship child, grandchild, sibling or other)",
            ));
        }
        // The rule: a child under 6 is always linked to a guardian, and that is this holder.
        guardian = true;
    }
    let mut tx = state.db.begin().await?;
    let Some(existing) = person_on_record(state, &mut tx, &person).await? else {
        let person_id = insert_person(state, &mut tx, &person).await?;
        link_family(
            &mut tx,
            actor,
            me.account_id,
            person_id,
            relationship,
            guardian,
            state.now_ms(),
        )
        .await?;
        tx.commit().await?;
        return Ok(FamilyAdded::Linked(person_id));
    };
    if Some(existing.id) == me.person_id {
        return Err(AppError::invalid(
            "id_number",
            "this is your own identity number",
        ));
    }
    if store::family_link(&state.db, me.account_id, existing.id)
        .await?
        .is_some()
    {
        return Err(AppError::ConflictFields(vec![FieldError::new(
            "id_number",
            "this person is already in your family list",
        )]));
    }
    if let Some(claim) = super::claims::before_opening(state, me.account_id, existing.id).await? {
        return Ok(FamilyAdded::Pending(claim));
    }
    let (claim, notice) = super::claims::open(
        state,
        &mut tx,
        actor,
        me.account_id,
        &existing,
        &person.name,
        &super::claims::Wanted::Family {
            relationship,
            guardian,
        },
    )
    .await?;
    tx.commit().await?;
    if let Some(notice) = notice {
        super::claims::send_notice(state, notice).await;
    }
    Ok(FamilyAdded::Pending(claim))
}

/// Links a person to an account's family list, audited, in the caller's transaction.
async fn link_family(
    tx: &mut Tx,
    actor: &Actor,
    account: i64,
    person_id: i64,
    relationship: Relationship,
    guardian: bool,
    now: i64,
) -> AppResult<i64> {
    let link =
        store::insert_family_link(tx, account, person_id, relationship.as_str(), guardian, now)
            .await
            .map_err(|e| {
                unique_to_conflict(e, "id_number", "this person is already in your family list")
            })?;
    audit::append(
        tx,
        &NewEvent::new(actor.audit(), "family.add", "family_link")
            .object(link)
            .patient(person_id)
            .reason(format!(
                "{}{}",
                relationship.as_str(),
                if guardian { ", guardian" } else { "" }
            )),
    )
    .await?;
    Ok(link)
}

/// A staff member as an admin sees them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffView {
    pub id: i64,
    pub username: Option<String>,
    pub role: Role,
    pub display_name: String,
    pub hospital_id: Option<i64>,
    pub phone: Option<String>,
    pub status: model::AccountStatus,
}

/// Staff accounts: all for a platform admin, their hospital's for a hospital admin.
pub async fn list_staff(state: &AppState, actor: &Actor) -> AppResult<Vec<StaffView>> {
    let me = actor.require()?;
    let scope = match me.role {
        Role::PlatformAdmin => None,
        Role::HospitalAdmin => Some(
            me.hospital_id
                .ok_or_else(|| AppError::Forbidden("no hospital".to_owned()))?,
        ),
        _ => {
            deny(
                state,
                actor,
                "account.list",
                "account",
                None,
                None,
                "not an administrator",
            )
            .await?;
            return Err(AppError::Forbidden(
                "only administrators manage staff".to_owned(),
            ));
        }
    };
    let rows = store::staff(&state.db, scope).await?;
    Ok(rows
        .into_iter()
        .map(|a| StaffView {
            id: a.id,
            username: a.username,
            role: a.role,
            display_name: a.display_name,
            hospital_id: a.hospital_id,
            phone: a.phone_mask,
            status: a.status,
        })
        .collect())
}

/// Records a clinician's care relationship with a person, inside the caller's transaction.
/// Contexts that create relationships (appointments, consultations, referrals, remote
/// consultations, care teams) call this; the access policy reads it.
pub async fn link_care(
    tx: &mut Tx,
    clinician: i64,
    person_id: i64,
    hospital_id: i64,
    kind: &str,
    source_id: Option<&str>,
    now: i64,
) -> AppResult<i64> {
    Ok(
        store::insert_care_link(tx, clinician, person_id, hospital_id, kind, source_id, now)
            .await?,
    )
}

/// One person's record, for whoever the policy lets read it (audited there).
pub async fn read_patient(
    state: &AppState,
    actor: &Actor,
    person_id: i64,
    break_glass: Option<&str>,
) -> AppResult<PersonView> {
    let basis = crate::policy::authorize_patient(
        state,
        actor,
        "patient.read",
        "person",
        person_id,
        break_glass,
    )
    .await?;
    let person = store::person(&state.db, person_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no patient with id {person_id}")))?;
    person_view(state, &person, basis.reveals_identity())
}

/// Whether a patient account acts for `person`: their own record, or a family member's
/// (within a SMART app's patient, when it has one). For contexts that decide a patient side's
/// standing themselves (remote consultations, referrals).
pub async fn acts_for(state: &AppState, me: &SignedIn, person: i64) -> AppResult<bool> {
    if me.role != Role::Patient || me.compartment.is_some_and(|p| p != person) {
        return Ok(false);
    }
    if me.person_id == Some(person) {
        return Ok(true);
    }
    Ok(store::family_link(&state.db, me.account_id, person)
        .await?
        .is_some())
}

/// The people a search of patients covers for this actor: a patient their own record and
/// their family's; a clinician the people they have care links with at their hospital.
/// Others are refused (audited). Each record found is then read through the policy.
pub async fn searchable_patients(state: &AppState, actor: &Actor) -> AppResult<Vec<i64>> {
    let me = actor.require()?;
    if let Some(only) = me.compartment {
        return Ok(vec![only]);
    }
    match me.role {
        Role::Patient => {
            let mut ids: Vec<i64> = me.person_id.into_iter().collect();
            ids.extend(
                store::family_of(&state.db, me.account_id)
                    .await?
                    .iter()
                    .map(|f| f.id),
            );
            Ok(ids)
        }
        role if role.is_clinician() => Ok(match me.hospital_id {
            Some(h) => store::linked_people(&state.db, me.account_id, h).await?,
            None => Vec::new(),
        }),
        role => {
            deny(
                state,
                actor,
                "patient.search",
                "person",
                None,
                None,
                "role may not read patient records",
            )
            .await?;
            Err(AppError::Forbidden(format!(
                "a {role} may not read patient records"
            )))
        }
    }
}

/// A family link as FHIR's RelatedPerson shows it.
#[derive(Debug, Clone)]
pub struct RelatedLink {
    pub link_id: i64,
    pub ward: i64,
    pub relationship: String,
    pub guardian: bool,
    /// The holder's own person, when they are a patient in their own right.
    pub holder_person: Option<i64>,
    pub holder_name: String,
}

/// One family link, for whoever may read its ward (the policy decides and audits).
pub async fn related_link(state: &AppState, actor: &Actor, id: i64) -> AppResult<RelatedLink> {
    let (ward, _, relationship, guardian, holder_person, holder_name) =
        store::family_link_by_id(&state.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no RelatedPerson with id {id}")))?;
    crate::policy::authorize_patient(state, actor, "patient.read", "related_person", ward, None)
        .await?;
    Ok(RelatedLink {
        link_id: id,
        ward,
        relationship,
        guardian,
        holder_person,
        holder_name,
    })
}

/// Who acts for `ward`, for whoever may read the ward (the policy decides and audits).
pub async fn related_links(
    state: &AppState,
    actor: &Actor,
    ward: i64,
) -> AppResult<Vec<RelatedLink>> {
    crate::policy::authorize_patient(state, actor, "patient.read", "related_person", ward, None)
        .await?;
    Ok(store::links_to_person(&state.db, ward)
        .await?
        .into_iter()
        .map(
            |(link_id, _, relationship, guardian, holder_person, holder_name)| RelatedLink {
                link_id,
                ward,
                relationship,
                guardian,
                holder_person,
                holder_name,
            },
        )
        .collect())
}
