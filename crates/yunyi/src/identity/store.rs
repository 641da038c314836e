//! SQL for people, accounts, family links, sessions, one-time codes, throttling and care links.

use super::actor::SessionKind;
use super::model::Role;
use crate::db::{Db, Sql, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PersonRow {
    pub id: i64,
    pub name: String,
    pub id_number_enc: Vec<u8>,
    pub id_number_hash: String,
    pub id_number_mask: String,
    pub birth_date: String,
    pub sex: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub username: Option<String>,
    pub role: Role,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub phone_enc: Option<Vec<u8>>,
    pub phone_mask: Option<String>,
    pub person_id: Option<i64>,
    pub hospital_id: Option<i64>,
    pub status: super::model::AccountStatus,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FamilyRow {
    pub link_id: i64,
    pub relationship: String,
    pub is_guardian: bool,
    pub id: i64,
    pub name: String,
    pub id_number_enc: Vec<u8>,
    pub id_number_hash: String,
    pub id_number_mask: String,
    pub birth_date: String,
    pub sex: String,
}

/// A live session joined with its account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub session_id: i64,
    pub kind: SessionKind,
    pub expires_at: i64,
    pub step_up_at: Option<i64>,
    pub account_id: i64,
    pub username: Option<String>,
    pub role: Role,
    pub display_name: String,
    pub person_id: Option<i64>,
    pub hospital_id: Option<i64>,
    /// A SMART app's token: its grant, scope and patient in context.
    pub grant_id: Option<i64>,
    pub scope: Option<String>,
    pub launch_patient: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OtpRow {
    pub id: i64,
    pub code_hash: String,
    pub attempts: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    pub created_at: i64,
}

const PERSON_COLUMNS: &str =
    "id, name, id_number_enc, id_number_hash, id_number_mask, birth_date, sex";
const ACCOUNT_COLUMNS: &str = "id, username, role, display_name, password_hash, phone_enc, phone_mask, person_id, hospital_id, status, created_at";

pub struct NewPersonRow<'a> {
    pub name: &'a str,
    pub id_number_enc: Vec<u8>,
    pub id_number_hash: String,
    pub id_number_mask: String,
    pub birth_date: String,
    pub sex: &'a str,
    pub region: &'a str,
}

pub async fn insert_person(
    tx: &mut Tx,
    p: &NewPersonRow<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO person (name, id_number_enc, id_number_hash, id_number_mask, birth_date, sex, region, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        (p.name, &p.id_number_enc, &p.id_number_hash, &p.id_number_mask, &p.birth_date, p.sex, p.region, now),
    )
    .await
}

/// Up to `limit` persons without a region (registered before people had one), with their
/// encrypted identity numbers.
pub async fn persons_without_region(
    db: &Db,
    limit: i64,
) -> Result<Vec<(i64, Vec<u8>)>, sqlx::Error> {
    db.all(
        "SELECT id, id_number_enc FROM person WHERE region IS NULL ORDER BY id LIMIT $1",
        (limit,),
    )
    .await
}

pub async fn set_person_region(db: &Db, id: i64, region: &str) -> Result<(), sqlx::Error> {
    db.execute("UPDATE person SET region = $2 WHERE id = $1", (id, region))
        .await
        .map(|_| ())
}

pub async fn person_by_id_hash(tx: &mut Tx, hash: &str) -> Result<Option<PersonRow>, sqlx::Error> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM person WHERE id_number_hash = $1");
    tx.optional::<PersonRow>(&sql, (hash,)).await
}

pub async fn person(db: &Db, id: i64) -> Result<Option<PersonRow>, sqlx::Error> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM person WHERE id = $1");
    db.optional::<PersonRow>(&sql, (id,)).await
}

/// Does this person have an account of their own?
pub async fn person_has_account(tx: &mut Tx, person_id: i64) -> Result<bool, sqlx::Error> {
    tx.scalar::<i64>(
        "SELECT COUNT(*) FROM account WHERE person_id = $1",
        (person_id,),
    )
    .await
    .map(|n| n > 0)
}

pub struct NewAccountRow<'a> {
    pub username: Option<&'a str>,
    pub role: &'a str,
    pub display_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub phone_enc: Option<Vec<u8>>,
    pub phone_hash: Option<String>,
    pub phone_mask: Option<String>,
    pub person_id: Option<i64>,
    pub hospital_id: Option<i64>,
    pub created_by: Option<i64>,
}

pub async fn insert_account(
    tx: &mut Tx,
    a: &NewAccountRow<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO account (username, role, display_name, password_hash, phone_enc, phone_hash, phone_mask, \
         person_id, hospital_id, status, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11, $11) RETURNING id",
        (a.username, a.role, a.display_name, a.password_hash, &a.phone_enc, &a.phone_hash, &a.phone_mask, a.person_id, a.hospital_id, a.created_by, now),
    )
    .await
}

pub async fn account(db: &Db, id: i64) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE id = $1");
    db.optional::<AccountRow>(&sql, (id,)).await
}

pub async fn account_by_username(
    db: &Db,
    username: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE username = $1");
    db.optional::<AccountRow>(&sql, (username,)).await
}

pub async fn account_by_phone_hash(db: &Db, hash: &str) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE phone_hash = $1");
    db.optional::<AccountRow>(&sql, (hash,)).await
}

/// Staff accounts, optionally of one hospital, in id order.
pub async fn staff(db: &Db, hospital_id: Option<i64>) -> Result<Vec<AccountRow>, sqlx::Error> {
    let mut sql = Sql::new(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM account WHERE role <> 'patient'"
    ));
    sql.and_eq("hospital_id", hospital_id).push(" ORDER BY id");
    sql.fetch_all(db).await
}

pub async fn count_accounts(db: &Db) -> Result<i64, sqlx::Error> {
    db.scalar::<i64>("SELECT COUNT(*) FROM account", ()).await
}

pub async fn insert_family_link(
    tx: &mut Tx,
    account_id: i64,
    person_id: i64,
    relationship: &str,
    is_guardian: bool,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO family_link (account_id, person_id, relationship, is_guardian, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        (account_id, person_id, relationship, is_guardian, now),
    )
    .await
}

pub async fn family_of(db: &Db, account_id: i64) -> Result<Vec<FamilyRow>, sqlx::Error> {
    db.all::<FamilyRow>(
        "SELECT f.id AS link_id, f.relationship, f.is_guardian, p.id, p.name, p.id_number_enc, p.id_number_hash, \
         p.id_number_mask, p.birth_date, p.sex \
         FROM family_link f JOIN person p ON p.id = f.person_id WHERE f.account_id = $1 ORDER BY f.id",
        (account_id,),
    )
    .await
}

/// The family link from an account to a person, if any: (relationship, is_guardian).
pub async fn family_link(
    db: &Db,
    account_id: i64,
    person_id: i64,
) -> Result<Option<(String, bool)>, sqlx::Error> {
    db.optional::<(String, bool)>(
        "SELECT relationship, is_guardian FROM family_link WHERE account_id = $1 AND person_id = $2",
        (account_id, person_id),
    )
    .await
}

/// Family links pointing at a person, with the holder's own person id (for RelatedPerson).
pub async fn links_to_person(
    db: &Db,
    person_id: i64,
) -> Result<Vec<(i64, i64, String, bool, Option<i64>, String)>, sqlx::Error> {
    db.all::<(i64, i64, String, bool, Option<i64>, String)>(
        "SELECT f.id, f.account_id, f.relationship, f.is_guardian, a.person_id, a.display_name \
         FROM family_link f JOIN account a ON a.id = f.account_id WHERE f.person_id = $1 ORDER BY f.id",
        (person_id,),
    )
    .await
}

pub async fn family_link_by_id(
    db: &Db,
    id: i64,
) -> Result<Option<(i64, i64, String, bool, Option<i64>, String)>, sqlx::Error> {
    db.optional::<(i64, i64, String, bool, Option<i64>, String)>(
        "SELECT f.person_id, f.account_id, f.relationship, f.is_guardian, a.person_id, a.display_name \
         FROM family_link f JOIN account a ON a.id = f.account_id WHERE f.id = $1",
        (id,),
    )
    .await
}

pub async fn insert_session(
    db: &Db,
    token_hash: &str,
    kind: &str,
    account_id: i64,
    expires_at: i64,
    client_addr: Option<&str>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    db.scalar::<i64>(
        "INSERT INTO auth_session (token_hash, kind, account_id, created_at, expires_at, client_addr) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        (token_hash, kind, account_id, now, expires_at, client_addr),
    )
    .await
}

/// A session that exists, is not revoked, has not expired, and whose account is active.
pub async fn live_session(
    db: &Db,
    token_hash: &str,
    now: i64,
) -> Result<Option<SessionRow>, sqlx::Error> {
    db.optional::<SessionRow>(
        "SELECT s.id AS session_id, s.kind, s.expires_at, s.step_up_at, a.id AS account_id, a.username, a.role, \
         a.display_name, a.person_id, a.hospital_id, s.grant_id, s.scope, g.patient_id AS launch_patient \
         FROM auth_session s JOIN account a ON a.id = s.account_id \
         LEFT JOIN oauth_grant g ON g.id = s.grant_id \
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND a.status = 'active' \
         AND g.revoked_at IS NULL",
        (token_hash, now),
    )
    .await
}

/// Revokes by token hash; returns the account id when a live session was revoked.
pub async fn revoke_session(
    db: &Db,
    token_hash: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    db.scalar_optional::<i64>(
        "UPDATE auth_session SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL RETURNING account_id",
        (token_hash, now),
    )
    .await
}

pub async fn set_step_up(db: &Db, session_id: i64, at: i64) -> Result<(), sqlx::Error> {
    db.execute(
        "UPDATE auth_session SET step_up_at = $2 WHERE id = $1",
        (session_id, at),
    )
    .await
    .map(|_| ())
}

/// Deletes sessions that ended (expired or revoked) before `before`.
pub async fn delete_ended_sessions(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    db.execute(
        "DELETE FROM auth_session WHERE expires_at < $1 OR revoked_at < $1",
        (before,),
    )
    .await
}

pub async fn insert_otp(
    db: &Db,
    phone_hash: &str,
    code_hash: &str,
    purpose: &str,
    expires_at: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    db.execute(
        "INSERT INTO otp_code (phone_hash, code_hash, purpose, attempts, expires_at, created_at) \
         VALUES ($1, $2, $3, 0, $4, $5)",
        (phone_hash, code_hash, purpose, expires_at, now),
    )
    .await
    .map(|_| ())
}

pub async fn latest_otp(
    db: &Db,
    phone_hash: &str,
    purpose: &str,
) -> Result<Option<OtpRow>, sqlx::Error> {
    db.optional::<OtpRow>(
        "SELECT id, code_hash, attempts, expires_at, consumed_at, created_at FROM otp_code \
         WHERE phone_hash = $1 AND purpose = $2 ORDER BY id DESC LIMIT 1",
        (phone_hash, purpose),
    )
    .await
}

pub async fn otp_attempt(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    db.execute(
        "UPDATE otp_code SET attempts = attempts + 1 WHERE id = $1",
        (id,),
    )
    .await
    .map(|_| ())
}

/// Marks a code used; false if someone else used it first (a code works once).
pub async fn consume_otp(db: &Db, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    db.execute(
        "UPDATE otp_code SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL",
        (id, now),
    )
    .await
    .map(|n| n == 1)
}

pub async fn throttle(db: &Db, key: &str) -> Result<Option<(i64, i64, i64)>, sqlx::Error> {
    db.optional::<(i64, i64, i64)>(
        "SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE key = $1",
        (key,),
    )
    .await
}

pub async fn put_throttle(
    db: &Db,
    key: &str,
    failures: i64,
    at: i64,
    locked_until: i64,
) -> Result<(), sqlx::Error> {
    db.execute(
        "INSERT INTO login_throttle (key, failures, last_failure_at, locked_until) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (key) DO UPDATE SET failures = $2, last_failure_at = $3, locked_until = $4",
        (key, failures, at, locked_until),
    )
    .await
    .map(|_| ())
}

pub async fn clear_throttle(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    db.execute("DELETE FROM login_throttle WHERE key = $1", (key,))
        .await
        .map(|_| ())
}

pub async fn insert_care_link(
    tx: &mut Tx,
    account_id: i64,
    person_id: i64,
    hospital_id: i64,
    kind: &str,
    source_id: Option<&str>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO care_link (account_id, person_id, hospital_id, kind, source_id, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, TRUE, $6) RETURNING id",
        (account_id, person_id, hospital_id, kind, source_id, now),
    )
    .await
}

/// The kind of an active care link between a clinician and a person at a hospital.
pub async fn active_care_link(
    db: &Db,
    account_id: i64,
    person_id: i64,
    hospital_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    db.scalar_optional::<String>(
        "SELECT kind FROM care_link WHERE account_id = $1 AND person_id = $2 AND hospital_id = $3 AND active = TRUE \
         ORDER BY id LIMIT 1",
        (account_id, person_id, hospital_id),
    )
    .await
}

/// Has the person been seen at the hospital: any care link there, ended or not.
pub async fn seen_at(db: &Db, person_id: i64, hospital_id: i64) -> Result<bool, sqlx::Error> {
    db.scalar::<i64>(
        "SELECT COUNT(*) FROM (SELECT 1 FROM care_link WHERE person_id = $1 AND hospital_id = $2 LIMIT 1) s",
        (person_id, hospital_id),
    )
    .await
    .map(|n| n > 0)
}

/// People a clinician has an active care link with at a hospital.
pub async fn linked_people(
    db: &Db,
    account_id: i64,
    hospital_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    db.scalars::<i64>(
        "SELECT DISTINCT person_id FROM care_link WHERE account_id = $1 AND hospital_id = $2 AND active = TRUE ORDER BY person_id",
        (account_id, hospital_id),
    )
    .await
}

pub async fn setting(db: &Db, key: &str) -> Result<Option<String>, sqlx::Error> {
    db.scalar_optional::<String>("SELECT value FROM app_setting WHERE key = $1", (key,))
        .await
}

/// Inserts a setting unless present; returns the value now stored.
pub async fn setting_or_insert(
    db: &Db,
    key: &str,
    value: &str,
    now: i64,
) -> Result<String, sqlx::Error> {
    db.execute(
        "INSERT INTO app_setting (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
        (key, value, now),
    )
    .await
    .map(|_| ())?;
    Ok(setting(db, key).await?.unwrap_or_default())
}

/// Ends the care links a source (e.g. an appointment) created.
pub async fn end_care_links(
    tx: &mut Tx,
    kind: &str,
    source_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE care_link SET active = FALSE, ended_at = $3 WHERE kind = $1 AND source_id = $2 AND active = TRUE",
        (kind, source_id, now),
    )
    .await
    .map(|_| ())
}

/// Records a setting unless it exists; true for the one caller that recorded it.
pub async fn insert_setting_once(
    tx: &mut Tx,
    key: &str,
    value: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "INSERT INTO app_setting (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
        (key, value, now),
    )
    .await
    .map(|n| n == 1)
}

/// Moves a setting from `from` to `to` in `tx`; false when it no longer holds `from` (another
/// node moved it first), so a watermark advances once.
pub async fn move_setting(
    tx: &mut Tx,
    key: &str,
    (from, to): (&str, &str),
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE app_setting SET value = $3, updated_at = $4 WHERE key = $1 AND value = $2",
        (key, from, to, now),
    )
    .await
    .map(|n| n == 1)
}
