//! Directory rules. Hospitals and departments are public information (no patient data), so
//! reads need no actor and leave no audit event; writes will require a hospital admin once
//! identity exists.

use crate::clock::now_ms;
use crate::db::{Db, Tx, is_unique_violation};
use crate::error::{AppError, AppResult};
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
) -> AppResult<i64> {
    new.validate().map_err(AppError::Validation)?;
    let now = now_ms();
    let id = store::insert_hospital(tx, new, now).await.map_err(|e| {
        if is_unique_violation(&e) {
            AppError::Conflict(format!(
                "a hospital with code '{}' already exists",
                new.code
            ))
        } else {
            e.into()
        }
    })?;
    for dept in departments {
        store::insert_department(tx, id, dept, now)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    AppError::Conflict(format!("department '{}' is listed twice", dept.name))
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
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::NotFound(format!("no hospital with id '{raw}'")))
}
