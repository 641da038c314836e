//! Evidence of earlier offline diagnoses: records patients upload (门诊病历, 出院小结, 诊断证明)
//! and the hospital's own offline diagnoses, which the follow-up rule reads.

use super::model::PriorRecordInput;
use super::store;
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::policy;

use super::service::{authorize, consultation_or_404};

/// Uploads a record of an earlier diagnosis for a person the patient acts for: JPEG, PNG,
/// WebP or PDF, recognised by its bytes.
pub async fn upload_prior_record(
    state: &AppState,
    actor: &Actor,
    input: &PriorRecordInput,
    bytes: &[u8],
) -> AppResult<store::PriorRecord> {
    let me = actor.require()?;
    crate::capability::require_role(
        me,
        Role::Patient,
        "records are uploaded by patients for themselves or their family",
    )?;
    let person_id = me.person_or_self(input.person_id)?;
    let valid = input
        .validate(crate::time::cst_today(state.now_ms()))
        .map_err(AppError::Validation)?;
    let content_type = sniff_record(bytes).ok_or_else(|| {
        AppError::UnsupportedMediaType(
            "the record must be a JPEG, PNG or WebP photo or a PDF".to_owned(),
        )
    })?;
    let basis = policy::decide_patient(
        state,
        actor,
        "prior_record.upload",
        "prior_record",
        person_id,
        None,
    )
    .await?;
    let clean = clean_image(bytes, content_type)?;
    let key = state
        .blobs
        .put(&clean)
        .await
        .map_err(AppError::from_storage)?;
    let mut record = store::PriorRecord {
        id: 0,
        person_id,
        uploaded_by: me.account_id,
        kind: valid.kind,
        hospital_name: valid.hospital_name,
        diagnosed_on: valid.diagnosed_on,
        condition: valid.condition,
        icd10: valid.icd10,
        blob_key: key,
        content_type: content_type.to_owned(),
        created_at: state.now_ms(),
    };
    let mut tx = state.db.begin().await?;
    record.id = store::insert_prior_record(&mut tx, &record).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "prior_record.upload", "prior_record")
            .object(record.id)
            .patient(person_id)
            .reason(basis.describe()),
    )
    .await?;
    tx.commit().await?;
    Ok(record)
}

/// An image without its metadata (a PDF as it is).
pub(crate) fn clean_image(bytes: &[u8], content_type: &str) -> AppResult<Vec<u8>> {
    if content_type == "application/pdf" {
        return Ok(bytes.to_vec());
    }
    crate::scrub::strip(bytes, content_type)
        .map_err(|e| AppError::UnsupportedMediaType(e.to_string()))
}

pub(crate) fn sniff_record(bytes: &[u8]) -> Option<&'static str> {
    crate::blob::sniff_image(bytes)
        .or_else(|| bytes.starts_with(b"%PDF-").then_some("application/pdf"))
}

/// A prior record's file. Through a consultation (`via`): anyone who may read that
/// consultation, when the record is attached to it — so a doctor of the department's queue
/// can judge it before accepting. Without: the patient side only, through the policy.
pub async fn prior_record_file(
    state: &AppState,
    actor: &Actor,
    record_id: i64,
    via: Option<i64>,
) -> AppResult<(Vec<u8>, String)> {
    let not_found = || AppError::NotFound(format!("no record with id {record_id}"));
    let record = store::prior_record(&state.db, record_id)
        .await?
        .ok_or_else(not_found)?;
    match via {
        Some(id) => {
            let c = consultation_or_404(state, id).await?;
            authorize(state, actor, &c, "prior_record.read").await?;
            let attached = c.prior_record_id == Some(record_id)
                || store::attached_records(&state.db, id)
                    .await?
                    .contains(&record_id);
            if !attached {
                return Err(not_found());
            }
        }
        None => {
            // Without a consultation a record is the patient side's own (its doctors read it
            // through the consultation it is attached to).
            policy::authorize_patient_side(
                state,
                actor,
                "prior_record.read",
                "prior_record",
                record.id,
                record.person_id,
            )
            .await?;
        }
    }
    let bytes = state
        .blobs
        .get(&record.blob_key)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(|| AppError::NotFound(format!("the file of record {record_id} is missing")))?;
    Ok((bytes, record.content_type))
}

/// Records an offline diagnosis from the hospital's own records (its HIS import; the demo
/// seed). Not an HTTP operation yet: diagnoses arrive with the clinical-records work.
pub async fn record_offline_diagnosis(
    tx: &mut Tx,
    d: &store::OfflineDiagnosis,
    now: i64,
) -> AppResult<i64> {
    Ok(store::insert_offline_diagnosis(tx, d, now).await?)
}
