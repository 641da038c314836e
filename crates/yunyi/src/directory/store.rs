//! SQL for hospitals and departments.

use crate::db::{Db, Tx};
use crate::paging::PageRequest;
use crate::{with_db, with_tx};

use super::model::{Department, Hospital, NewDepartment, NewHospital};

const HOSPITAL_COLUMNS: &str = "id, code, name, name_en, level, region_code, address, status";

pub async fn list_hospitals(db: &Db, page: &PageRequest) -> Result<Vec<Hospital>, sqlx::Error> {
    let sql = format!("SELECT {HOSPITAL_COLUMNS} FROM hospital WHERE id > $1 ORDER BY id LIMIT $2");
    with_db!(db, |pool| {
        sqlx::query_as::<_, Hospital>(&sql)
            .bind(page.after.unwrap_or(0))
            .bind(page.fetch_limit())
            .fetch_all(pool)
            .await
    })
}

pub async fn get_hospital(db: &Db, id: i64) -> Result<Option<Hospital>, sqlx::Error> {
    let sql = format!("SELECT {HOSPITAL_COLUMNS} FROM hospital WHERE id = $1");
    with_db!(db, |pool| sqlx::query_as::<_, Hospital>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)
}

pub async fn departments_of(db: &Db, hospital_id: i64) -> Result<Vec<Department>, sqlx::Error> {
    with_db!(db, |pool| {
        sqlx::query_as::<_, Department>(
            "SELECT id, hospital_id, std_code, name, name_en, offers_online FROM department \
             WHERE hospital_id = $1 ORDER BY std_code, id",
        )
        .bind(hospital_id)
        .fetch_all(pool)
        .await
    })
}

pub async fn count_hospitals(db: &Db) -> Result<i64, sqlx::Error> {
    with_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM hospital"
    )
    .fetch_one(pool)
    .await)
}

pub async fn insert_hospital(tx: &mut Tx, h: &NewHospital, now: i64) -> Result<i64, sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO hospital (code, name, name_en, level, region_code, address, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'active', $7) RETURNING id",
        )
        .bind(&h.code)
        .bind(&h.name)
        .bind(&h.name_en)
        .bind(&h.level)
        .bind(&h.region_code)
        .bind(&h.address)
        .bind(now)
        .fetch_one(conn)
        .await
    })
}

pub async fn insert_department(
    tx: &mut Tx,
    hospital_id: i64,
    d: &NewDepartment,
    now: i64,
) -> Result<i64, sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO department (hospital_id, std_code, name, name_en, offers_online, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(hospital_id)
        .bind(&d.std_code)
        .bind(&d.name)
        .bind(&d.name_en)
        .bind(d.offers_online)
        .bind(now)
        .fetch_one(conn)
        .await
    })
}
