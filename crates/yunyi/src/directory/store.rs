//! SQL for hospitals and departments.

use crate::db::{Db, Params, Sql, Tx};
use crate::paging::PageRequest;

use super::model::{Department, Hospital, NewDepartment, NewHospital};

const HOSPITAL_COLUMNS: &str = "id, code, name, name_en, level, region_code, address, status";

pub async fn list_hospitals(db: &Db, page: &PageRequest) -> Result<Vec<Hospital>, sqlx::Error> {
    let sql = format!("SELECT {HOSPITAL_COLUMNS} FROM hospital WHERE id > $1 ORDER BY id LIMIT $2");
    db.all::<Hospital>(&sql, (page.after.unwrap_or(0), page.fetch_limit()))
        .await
}

pub async fn get_hospital(db: &Db, id: i64) -> Result<Option<Hospital>, sqlx::Error> {
    let sql = format!("SELECT {HOSPITAL_COLUMNS} FROM hospital WHERE id = $1");
    db.optional::<Hospital>(&sql, (id,)).await
}

pub async fn departments_of(db: &Db, hospital_id: i64) -> Result<Vec<Department>, sqlx::Error> {
    db.all::<Department>(
        "SELECT id, hospital_id, std_code, name, name_en, offers_online FROM department \
         WHERE hospital_id = $1 ORDER BY std_code, id",
        (hospital_id,),
    )
    .await
}

pub async fn count_hospitals(db: &Db) -> Result<i64, sqlx::Error> {
    db.scalar::<i64>("SELECT COUNT(*) FROM hospital", ()).await
}

pub async fn insert_hospital(tx: &mut Tx, h: &NewHospital, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO hospital (code, name, name_en, level, region_code, address, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7) RETURNING id",
        (&h.code, &h.name, &h.name_en, &h.level, &h.region_code, &h.address, now),
    )
    .await
}

pub async fn insert_department(
    tx: &mut Tx,
    hospital_id: i64,
    d: &NewDepartment,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO department (hospital_id, std_code, name, name_en, offers_online, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        (
            hospital_id,
            &d.std_code,
            &d.name,
            &d.name_en,
            d.offers_online,
            now,
        ),
    )
    .await
}

use super::model::{
    DoctorCard, DoctorProfile, DoctorProfileValid, PracticeSite, Privilege, Service, ServiceValid,
};

pub async fn upsert_profile(
    tx: &mut Tx,
    account_id: i64,
    p: &DoctorProfileValid,
    now: i64,
) -> Result<(), sqlx::Error> {
    let specialties = p.specialties.join(",");
    tx.execute(
        "INSERT INTO doctor_profile (account_id, licence_no, title, specialties, biography, practice_since_year, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (account_id) DO UPDATE SET licence_no = $2, title = $3, specialties = $4, biography = $5, \
         practice_since_year = $6, updated_at = $7",
        (account_id, &p.licence_no, p.title.as_str(), &specialties, &p.biography, p.practice_since_year, now),
    )
    .await?;
    index_name(tx, account_id).await
}

/// Writes the doctor's name into the search index (`doctor_name_gram`). Names do not change
/// after an account is made, so what is there stays right; a repeat adds nothing.
async fn index_name(tx: &mut Tx, account_id: i64) -> Result<(), sqlx::Error> {
    let name: String = tx
        .scalar(
            "SELECT display_name FROM account WHERE id = $1",
            (account_id,),
        )
        .await?;
    let mut params = Params::default();
    let account = params.push(account_id);
    let rows: Vec<String> = super::model::name_grams(&name)
        .into_iter()
        .map(|g| format!("({}, {account})", params.push(g)))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO doctor_name_gram (gram, account_id) VALUES {} ON CONFLICT DO NOTHING",
        rows.join(", ")
    );
    tx.execute(&sql, params).await.map(|_| ())
}

pub async fn profile(db: &Db, account_id: i64) -> Result<Option<DoctorProfile>, sqlx::Error> {
    db.optional::<DoctorProfile>(
        "SELECT p.account_id, a.display_name AS name, p.licence_no, p.title, p.specialties, p.biography, \
         p.practice_since_year FROM doctor_profile p JOIN account a ON a.id = p.account_id WHERE p.account_id = $1",
        (account_id,),
    )
    .await
}

pub async fn insert_site(
    tx: &mut Tx,
    account_id: i64,
    hospital_id: i64,
    department_id: Option<i64>,
    registration_no: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO practice_site (account_id, hospital_id, department_id, registration_no, status, created_at) \
         VALUES ($1, $2, $3, $4, 'active', $5) RETURNING id",
        (account_id, hospital_id, department_id, registration_no, now),
    )
    .await
}

const SITE_COLUMNS: &str = "id, account_id, hospital_id, department_id, registration_no, status";

pub async fn sites_of(db: &Db, account_id: i64) -> Result<Vec<PracticeSite>, sqlx::Error> {
    let sql = format!("SELECT {SITE_COLUMNS} FROM practice_site WHERE account_id = $1 ORDER BY id");
    db.all::<PracticeSite>(&sql, (account_id,)).await
}

pub async fn site(db: &Db, id: i64) -> Result<Option<PracticeSite>, sqlx::Error> {
    let sql = format!("SELECT {SITE_COLUMNS} FROM practice_site WHERE id = $1");
    db.optional::<PracticeSite>(&sql, (id,)).await
}

/// Active practice sites, optionally of one practitioner or one hospital (FHIR PractitionerRole).
pub async fn sites(
    db: &Db,
    account_id: Option<i64>,
    hospital_id: Option<i64>,
    limit: i64,
) -> Result<Vec<PracticeSite>, sqlx::Error> {
    let mut sql = Sql::new(format!(
        "SELECT {SITE_COLUMNS} FROM practice_site WHERE status = 'active'"
    ));
    sql.and_eq("account_id", account_id)
        .and_eq("hospital_id", hospital_id)
        .push(" ORDER BY id LIMIT ")
        .bind(limit);
    sql.fetch_all(db).await
}

pub async fn has_active_site(
    db: &Db,
    account_id: i64,
    hospital_id: i64,
) -> Result<bool, sqlx::Error> {
    db.scalar::<i64>(
        "SELECT COUNT(*) FROM practice_site WHERE account_id = $1 AND hospital_id = $2 AND status = 'active'",
        (account_id, hospital_id),
    )
    .await
    .map(|n| n > 0)
}

/// A privilege's new state.
#[derive(Debug, Clone, Copy)]
pub struct PrivilegeChange<'a> {
    pub account_id: i64,
    pub hospital_id: i64,
    pub kind: &'a str,
    pub status: &'a str,
    pub reason: Option<&'a str>,
    pub changed_by: Option<i64>,
}

/// Sets a privilege's status (creating it when new).
pub async fn put_privilege(
    tx: &mut Tx,
    c: &PrivilegeChange<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO privilege (account_id, hospital_id, kind, status, reason, changed_by, changed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (account_id, hospital_id, kind) DO UPDATE SET status = $4, reason = $5, changed_by = $6, changed_at = $7",
        (c.account_id, c.hospital_id, c.kind, c.status, c.reason, c.changed_by, now),
    )
    .await
    .map(|_| ())
}

pub async fn privileges_of(db: &Db, account_id: i64) -> Result<Vec<Privilege>, sqlx::Error> {
    db.all::<Privilege>(
        "SELECT hospital_id, kind, status, reason FROM privilege WHERE account_id = $1 ORDER BY hospital_id, kind",
        (account_id,),
    )
    .await
}

/// True when the privilege is active *and* the doctor still practises at that hospital.
pub async fn privilege_active(
    db: &Db,
    account_id: i64,
    hospital_id: i64,
    kind: &str,
) -> Result<bool, sqlx::Error> {
    db.scalar::<i64>(
        "SELECT COUNT(*) FROM privilege p JOIN practice_site s ON s.account_id = p.account_id AND s.hospital_id = p.hospital_id \
         WHERE p.account_id = $1 AND p.hospital_id = $2 AND p.kind = $3 AND p.status = 'active' AND s.status = 'active'",
        (account_id, hospital_id, kind),
    )
    .await
    .map(|n| n > 0)
}

pub async fn insert_service(tx: &mut Tx, s: &ServiceValid, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO service (hospital_id, department_id, doctor_id, kind, name, price_fen, duration_min, daily_quota, reply_within_min, auto_assign, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, TRUE, $11) RETURNING id",
        (s.hospital_id, s.department_id, s.doctor_id, s.kind.as_str(), &s.name, s.price_fen, s.duration_min, s.daily_quota, s.reply_within_min, s.auto_assign, now),
    )
    .await
}

const SERVICE_COLUMNS: &str = "id, hospital_id, department_id, doctor_id, kind, name, price_fen, duration_min, daily_quota, \
     reply_within_min, auto_assign, active";

/// Active services, filtered by doctor, hospital, or both.
pub async fn services(
    db: &Db,
    doctor_id: Option<i64>,
    hospital_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Service>, sqlx::Error> {
    let mut sql = Sql::new(format!(
        "SELECT {SERVICE_COLUMNS} FROM service WHERE active = TRUE"
    ));
    sql.and_eq("doctor_id", doctor_id)
        .and_eq("hospital_id", hospital_id)
        .push(" ORDER BY id LIMIT ")
        .bind(limit);
    sql.fetch_all(db).await
}

pub async fn service(db: &Db, id: i64) -> Result<Option<Service>, sqlx::Error> {
    let sql = format!("SELECT {SERVICE_COLUMNS} FROM service WHERE id = $1");
    db.optional::<Service>(&sql, (id,)).await
}

pub async fn department_hospital(db: &Db, department_id: i64) -> Result<Option<i64>, sqlx::Error> {
    db.scalar_optional::<i64>(
        "SELECT hospital_id FROM department WHERE id = $1",
        (department_id,),
    )
    .await
}

pub async fn insert_support(
    tx: &mut Tx,
    supporting: i64,
    supported: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO hospital_support (supporting_id, supported_id, active, created_at) VALUES ($1, $2, TRUE, $3) \
         ON CONFLICT (supporting_id, supported_id) DO UPDATE SET active = TRUE",
        (supporting, supported, now),
    )
    .await
    .map(|_| ())
}

/// Does the doctor serve patients of `hospital_id`: by practising there, or at a hospital that
/// supports it (对口支援)?
pub async fn serves_hospital(
    db: &Db,
    account_id: i64,
    hospital_id: i64,
) -> Result<bool, sqlx::Error> {
    db.scalar::<i64>(
        "SELECT COUNT(*) FROM practice_site s WHERE s.account_id = $1 AND s.status = 'active' AND \
         (s.hospital_id = $2 OR s.hospital_id IN \
         (SELECT supporting_id FROM hospital_support WHERE supported_id = $2 AND active = TRUE))",
        (account_id, hospital_id),
    )
    .await
    .map(|n| n > 0)
}

/// The hospitals actively supporting `hospital` (对口支援).
pub async fn supporters_of(db: &Db, hospital: i64) -> Result<Vec<i64>, sqlx::Error> {
    db.scalars(
        "SELECT supporting_id FROM hospital_support WHERE supported_id = $1 AND active = TRUE \
         ORDER BY supporting_id",
        (hospital,),
    )
    .await
}

/// Search filters for doctors.
#[derive(Debug, Clone, Default)]
pub struct DoctorQuery {
    /// Part of the name.
    pub name: Option<String>,
    pub hospital_id: Option<i64>,
    pub department_id: Option<i64>,
    /// Part of one specialty.
    pub specialty: Option<String>,
    /// Offers an active service of this kind.
    pub service: Option<String>,
    /// Can be consulted today: an on-demand online service at an active hospital and an
    /// active consult privilege there. (Scheduling adds "or a free slot today".) Holds the
    /// moment "today" is judged from, by the application's clock.
    pub available_today: Option<i64>,
    /// Keyset: practice sites with id > after.
    pub after: Option<i64>,
    pub limit: i64,
}

/// One card per practice site (a doctor at two hospitals appears twice, once per hospital),
/// ordered by site id for keyset paging. Only doctors with a profile are listed.
///
/// The SQL holds only the filters actually given (not `$n IS NULL OR …`): PostgreSQL caches
/// one generic plan per statement text, and a plan made for "any filter may be absent" scans
/// everything. Each combination of filters is its own statement with its own good plan.
pub async fn search_doctors(
    db: &Db,
    q: &DoctorQuery,
) -> Result<Vec<(i64, DoctorCard)>, sqlx::Error> {
    let mut params = Params::default();
    params.push(q.after.unwrap_or(0));
    // Conditions on the site `s` alone, or on its doctor through `EXISTS`.
    let mut site = String::new();
    // Conditions on the doctor's account `a` and profile `p`.
    let mut doctor = String::new();
    if let Some(h) = q.hospital_id {
        site.push_str(&format!(" AND s.hospital_id = {}", params.push(h)));
    }
    if let Some(d) = q.department_id {
        site.push_str(&format!(" AND s.department_id = {}", params.push(d)));
    }
    if let Some(name) = &q.name {
        // The index narrows to the doctors whose name holds every pair of the part's
        // characters; the LIKE then checks each of those few.
        let grams = super::model::query_grams(name);
        if !grams.is_empty() {
            let list: Vec<String> = grams.iter().map(|g| params.push(g.clone())).collect();
            let count = params.push(i64::try_from(grams.len()).unwrap_or(i64::MAX));
            site.push_str(&format!(
                " AND s.account_id IN (SELECT account_id FROM doctor_name_gram WHERE gram IN ({}) \
                 GROUP BY account_id HAVING COUNT(*) = {count})",
                list.join(", ")
            ));
        }
        let pattern = params.push(format!("%{}%", escape_like(name)));
        doctor.push_str(&format!(" AND a.display_name LIKE {pattern} ESCAPE '\\'"));
    }
    if let Some(sp) = &q.specialty {
        let pattern = params.push(format!("%{}%", escape_like(sp)));
        doctor.push_str(&format!(" AND p.specialties LIKE {pattern} ESCAPE '\\'"));
    }
    if let Some(kind) = &q.service {
        site.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM service v WHERE v.doctor_id = s.account_id \
             AND v.hospital_id = s.hospital_id AND v.kind = {} AND v.active = TRUE)",
            params.push(kind.clone())
        ));
    }
    if let Some(now) = q.available_today {
        // Online now (an on-demand service), or a free time today in the doctor's schedule.
        // The one place the directory reads scheduling's tables: a search filter, no rules.
        let today = crate::time::cst_today(now);
        let end = crate::time::cst_ms(today.succ_opt().unwrap_or(today), chrono::NaiveTime::MIN)
            .unwrap_or(now);
        let now_arg = params.push(now);
        let end_arg = params.push(end);
        site.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM hospital h WHERE h.id = s.hospital_id AND h.status = 'active') \
             AND EXISTS (SELECT 1 FROM privilege r WHERE r.account_id = s.account_id \
             AND r.hospital_id = s.hospital_id AND r.kind = 'consult' AND r.status = 'active') \
             AND (EXISTS (SELECT 1 FROM service v WHERE v.doctor_id = s.account_id \
             AND v.hospital_id = s.hospital_id AND v.active = TRUE \
             AND v.kind IN ('text_consult', 'video_consult', 'counselling', 'free_clinic')) \
             OR EXISTS (SELECT 1 FROM slot sl JOIN schedule sc ON sc.id = sl.schedule_id \
             WHERE sc.doctor_id = s.account_id AND sc.hospital_id = s.hospital_id AND sc.active = TRUE \
             AND sl.status = 'open' AND sl.released = TRUE AND sl.release_at <= {now_arg} \
             AND sl.start_at > {now_arg} AND sl.start_at < {end_arg} AND sl.booked + sl.held < sl.capacity))"
        ));
    }
    let limit = params.push(q.limit);
    // The page's sites are found first, walking the sites in key order and testing each, and
    // only those few are joined for their cards. Joined for the cards before the limit, a
    // hospital's 500 sites each cost four lookups, and PostgreSQL would sometimes rather
    // merge-join every account (patients too) with the profiles: 10 to 45 ms at a province's
    // size instead of a few (docs/PERFORMANCE.md, bench_province).
    let sql = format!(
        "WITH page AS MATERIALIZED (SELECT s.id, s.account_id, s.hospital_id, s.department_id \
         FROM practice_site s WHERE s.status = 'active' AND s.id > $1{site} \
         AND EXISTS (SELECT 1 FROM account a JOIN doctor_profile p ON p.account_id = a.id \
         WHERE a.id = s.account_id AND a.status = 'active'{doctor}) \
         ORDER BY s.id LIMIT {limit}) \
         SELECT s.id AS site_id, a.id, a.display_name AS name, p.title, p.specialties, p.practice_since_year, \
         h.id AS hospital_id, h.name AS hospital_name, h.name_en AS hospital_name_en, d.id AS department_id, \
         d.name AS department_name, d.name_en AS department_name_en \
         FROM page s \
         JOIN account a ON a.id = s.account_id \
         JOIN doctor_profile p ON p.account_id = a.id \
         JOIN hospital h ON h.id = s.hospital_id \
         LEFT JOIN department d ON d.id = s.department_id \
         ORDER BY s.id"
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        site_id: i64,
        #[sqlx(flatten)]
        card: DoctorCard,
    }
    let rows: Vec<Row> = db.all(&sql, params).await?;
    Ok(rows.into_iter().map(|r| (r.site_id, r.card)).collect())
}

/// For doctor cards: the lowest price of each (doctor, hospital)'s active paid services, as
/// `(doctor, hospital, fen)`.
pub async fn price_from_by_site(
    db: &Db,
    doctors: &[i64],
) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    if doctors.is_empty() {
        return Ok(Vec::new());
    }
    let mut params = Params::default();
    let list: Vec<String> = doctors.iter().map(|d| params.push(*d)).collect();
    let sql = format!(
        "SELECT doctor_id, hospital_id, MIN(price_fen) FROM service \
         WHERE doctor_id IN ({}) AND active = TRUE AND price_fen > 0 GROUP BY doctor_id, hospital_id",
        list.join(", ")
    );
    db.all(&sql, params).await
}

/// Escapes LIKE wildcards in user input, so `%` and `_` match themselves.
fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub async fn set_photo(
    db: &Db,
    account_id: i64,
    key: &str,
    content_type: &str,
) -> Result<bool, sqlx::Error> {
    db.execute(
        "UPDATE doctor_profile SET photo_key = $2, photo_type = $3 WHERE account_id = $1",
        (account_id, key, content_type),
    )
    .await
    .map(|n| n == 1)
}

/// (blob key, content type) of a doctor's photo.
pub async fn photo(db: &Db, account_id: i64) -> Result<Option<(String, String)>, sqlx::Error> {
    db.optional::<(String, String)>(
        "SELECT photo_key, photo_type FROM doctor_profile WHERE account_id = $1 AND photo_key IS NOT NULL",
        (account_id,),
    )
    .await
}

pub async fn set_hospital_status(tx: &mut Tx, id: i64, status: &str) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE hospital SET status = $2 WHERE id = $1",
        (id, status),
    )
    .await
    .map(|n| n == 1)
}

pub async fn insert_campaign(
    tx: &mut Tx,
    hospital_id: i64,
    name: &str,
    starts_on: &str,
    ends_on: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO campaign (hospital_id, name, starts_on, ends_on, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        (hospital_id, name, starts_on, ends_on, now),
    )
    .await
}

pub async fn add_campaign_doctor(
    tx: &mut Tx,
    campaign_id: i64,
    account_id: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO campaign_doctor (campaign_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        (campaign_id, account_id),
    )
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CampaignRow {
    pub id: i64,
    pub hospital_id: i64,
    pub name: String,
    pub starts_on: String,
    pub ends_on: String,
}

/// Campaigns running on `day` (YYYY-MM-DD); ISO dates compare correctly as text.
pub async fn campaigns_on(db: &Db, day: &str) -> Result<Vec<CampaignRow>, sqlx::Error> {
    db.all::<CampaignRow>(
        "SELECT id, hospital_id, name, starts_on, ends_on FROM campaign WHERE starts_on <= $1 AND ends_on >= $1 ORDER BY id",
        (day,),
    )
    .await
}

pub async fn campaign_doctors(db: &Db, campaign_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    db.scalars::<i64>(
        "SELECT account_id FROM campaign_doctor WHERE campaign_id = $1 ORDER BY account_id",
        (campaign_id,),
    )
    .await
}

/// A hospital's id by its code.
pub async fn hospital_by_code(db: &Db, code: &str) -> Result<Option<i64>, sqlx::Error> {
    db.scalar_optional::<i64>("SELECT id FROM hospital WHERE code = $1", (code,))
        .await
}

/// A hospital's department by its standard code (《医疗机构诊疗科目名录》).
pub async fn department_by_code(
    db: &Db,
    hospital_id: i64,
    std_code: &str,
) -> Result<Option<i64>, sqlx::Error> {
    db.scalar_optional::<i64>(
        "SELECT id FROM department WHERE hospital_id = $1 AND std_code = $2",
        (hospital_id, std_code),
    )
    .await
}
