//! Formulary SQL: drugs (upserted by the hospital's code), pharmacies and their stock, the
//! interaction table.

use super::checks::Interaction;
use super::model::{Drug, DrugValid};
use crate::db::{Db, Sql, Tx};

const DRUG_COLUMNS: &str = "id, hospital_id, code, generic_name, brand_name, form, strength, unit, pack_size, \
     route, price_fen, class, online, atc_code, dose_unit, unit_strength, max_daily_dose, min_age_years, \
     pregnancy, allergy_terms, active";

/// Inserts the drug, or updates the hospital's drug with the same code.
pub async fn upsert_drug(
    tx: &mut Tx,
    hospital: i64,
    d: &DrugValid,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO drug (hospital_id, code, generic_name, brand_name, form, strength, unit, pack_size, \
         route, price_fen, class, online, atc_code, dose_unit, unit_strength, max_daily_dose, \
         min_age_years, pregnancy, allergy_terms, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, TRUE, $20, $20) \
         ON CONFLICT (hospital_id, code) DO UPDATE SET generic_name = excluded.generic_name, \
         brand_name = excluded.brand_name, form = excluded.form, strength = excluded.strength, \
         unit = excluded.unit, pack_size = excluded.pack_size, route = excluded.route, \
         price_fen = excluded.price_fen, class = excluded.class, online = excluded.online, \
         atc_code = excluded.atc_code, dose_unit = excluded.dose_unit, \
         unit_strength = excluded.unit_strength, max_daily_dose = excluded.max_daily_dose, \
         min_age_years = excluded.min_age_years, pregnancy = excluded.pregnancy, \
         allergy_terms = excluded.allergy_terms, active = TRUE, updated_at = excluded.updated_at",
        (hospital, &d.code, &d.generic_name, &d.brand_name, &d.form, &d.strength, &d.unit, d.pack_size, &d.route, d.price_fen, d.class.as_str(), d.online, &d.atc_code, &d.dose_unit, d.unit_strength, d.max_daily_dose, d.min_age_years, d.pregnancy.as_str(), &d.allergy_terms, now),
    )
    .await
    .map(|_| ())
}

/// The codes a hospital's formulary already holds.
pub async fn drug_codes(db: &Db, hospital: i64) -> Result<Vec<String>, sqlx::Error> {
    db.scalars::<String>("SELECT code FROM drug WHERE hospital_id = $1", (hospital,))
        .await
}

/// Filters for a formulary search.
#[derive(Debug, Clone, Default)]
pub struct DrugQuery {
    /// Part of the generic or brand name, or the code.
    pub text: Option<String>,
    /// Only drugs the hospital prescribes online.
    pub online_only: bool,
    pub after: Option<i64>,
    pub limit: i64,
}

/// A hospital's active drugs, by id.
pub async fn drugs(db: &Db, hospital: i64, q: &DrugQuery) -> Result<Vec<Drug>, sqlx::Error> {
    let pattern = q.text.as_ref().map(|t| {
        let escaped = t
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    // Only the filters given are written (PostgreSQL plans `$n IS NULL OR …` badly).
    let mut sql = Sql::new(format!(
        "SELECT {DRUG_COLUMNS} FROM drug WHERE active = TRUE AND hospital_id = "
    ));
    sql.bind(hospital)
        .push(" AND id > ")
        .bind(q.after.unwrap_or(0));
    if q.online_only {
        sql.push(" AND online = TRUE");
    }
    if let (Some(pattern), Some(text)) = (pattern, q.text.as_deref()) {
        let like = sql.param(pattern);
        sql.push(&format!(
            " AND (generic_name LIKE {like} ESCAPE '\\' OR brand_name LIKE {like} ESCAPE '\\' OR code = "
        ))
        .bind(text)
        .push(")");
    }
    sql.push(" ORDER BY id LIMIT ").bind(q.limit);
    sql.fetch_all(db).await
}

/// Active drugs of any hospital whose code or ATC code is `code` (FHIR `Medication?code=`).
pub async fn drugs_by_code(db: &Db, code: &str, limit: i64) -> Result<Vec<Drug>, sqlx::Error> {
    let sql = format!(
        "SELECT {DRUG_COLUMNS} FROM drug WHERE active = TRUE AND (code = $1 OR atc_code = $1) \
         ORDER BY id LIMIT $2"
    );
    db.all::<Drug>(&sql, (code, limit)).await
}

/// A new price; the prescriptions already written keep theirs (they hold a copy).
pub async fn set_price(tx: &mut Tx, id: i64, price_fen: i64, now: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE drug SET price_fen = $2, updated_at = $3 WHERE id = $1",
        (id, price_fen, now),
    )
    .await
    .map(|_| ())
}

pub async fn drug(db: &Db, id: i64) -> Result<Option<Drug>, sqlx::Error> {
    let sql = format!("SELECT {DRUG_COLUMNS} FROM drug WHERE id = $1");
    db.optional::<Drug>(&sql, (id,)).await
}

/// How many active drugs a hospital has, and how many of them are prescribed online.
pub async fn formulary_counts(db: &Db, hospital: i64) -> Result<(i64, i64), sqlx::Error> {
    db.one::<(i64, i64)>(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN online THEN 1 ELSE 0 END), 0) FROM drug \
         WHERE hospital_id = $1 AND active = TRUE",
        (hospital,),
    )
    .await
}

pub async fn interactions(db: &Db) -> Result<Vec<Interaction>, sqlx::Error> {
    db.all::<Interaction>(
        "SELECT atc_a, atc_b, severity, note FROM drug_interaction ORDER BY id",
        (),
    )
    .await
}

/// Adds a row to the interaction table (an existing pair keeps its row).
pub async fn insert_interaction(tx: &mut Tx, row: &Interaction) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO drug_interaction (atc_a, atc_b, severity, note) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (atc_a, atc_b) DO NOTHING",
        (&row.atc_a, &row.atc_b, &row.severity, &row.note),
    )
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Pharmacy {
    pub id: i64,
    pub hospital_id: i64,
    pub name: String,
    pub address: String,
}

pub async fn insert_pharmacy(
    tx: &mut Tx,
    hospital: i64,
    name: &str,
    address: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO pharmacy (hospital_id, name, address, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        (hospital, name, address, now),
    )
    .await
}

pub async fn pharmacies(db: &Db, hospital: i64) -> Result<Vec<Pharmacy>, sqlx::Error> {
    db.all::<Pharmacy>(
        "SELECT id, hospital_id, name, address FROM pharmacy WHERE hospital_id = $1 ORDER BY id",
        (hospital,),
    )
    .await
}

/// Sets a pharmacy's stock of a drug (a count taken by hand, or a delivery booked in).
pub async fn set_stock(
    tx: &mut Tx,
    pharmacy: i64,
    drug: i64,
    quantity: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO drug_stock (pharmacy_id, drug_id, quantity) VALUES ($1, $2, $3) \
         ON CONFLICT (pharmacy_id, drug_id) DO UPDATE SET quantity = excluded.quantity",
        (pharmacy, drug, quantity),
    )
    .await
    .map(|_| ())
}

/// Stocks a new pharmacy with every drug of its hospital's formulary in one statement: a
/// quantity that varies with the drug (`base` plus up to 159) — the demo's opening count.
pub async fn stock_every_drug(
    tx: &mut Tx,
    pharmacy: i64,
    hospital: i64,
    base: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO drug_stock (pharmacy_id, drug_id, quantity) \
         SELECT $1, id, $3 + (id * 7) % 160 FROM drug WHERE hospital_id = $2 \
         ON CONFLICT (pharmacy_id, drug_id) DO NOTHING",
        (pharmacy, hospital, base),
    )
    .await
    .map(|_| ())
}

/// Stock of a drug per pharmacy: (pharmacy id, quantity).
pub async fn stock_of(db: &Db, drug: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    db.all::<(i64, i64)>(
        "SELECT pharmacy_id, quantity FROM drug_stock WHERE drug_id = $1 ORDER BY pharmacy_id",
        (drug,),
    )
    .await
}
