//! The doctor's clinical note (SOAP) of a consultation: written and rewritten while the
//! consultation is open, frozen when it ends, never deleted. A consultation is completed only
//! with its note.

use serde::Serialize;

use super::model::{Diagnosis, NoteInput};
use super::service::consultation_or_404;
use super::store;
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::error::{AppError, AppResult, Reason};
use crate::identity::Actor;
use crate::identity::auth::require_step_up;
use crate::identity::model::Role;

/// The note as participants read it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoteView {
    pub author_id: i64,
    pub subjective: String,
    pub objective: String,
    pub assessment: String,
    pub diagnoses: Vec<Diagnosis>,
    pub plan: String,
    pub updated_at: i64,
    /// When the consultation ended and the note was frozen.
    pub signed_at: Option<i64>,
}

impl From<store::NoteRow> for NoteView {
    fn from(row: store::NoteRow) -> Self {
        Self {
            author_id: row.author_id,
            subjective: row.subjective,
            objective: row.objective,
            assessment: row.assessment,
            diagnoses: serde_json::from_str(&row.diagnoses).unwrap_or_default(),
            plan: row.plan,
            updated_at: row.updated_at,
            signed_at: row.signed_at,
        }
    }
}

/// Writes (or rewrites) the note: the consultation's doctor, while it is accepted or in
/// progress.
pub async fn write(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: &NoteInput,
) -> AppResult<NoteView> {
    let c = consultation_or_404(state, id).await?;
    let me = actor.require()?;
    if me.role != Role::Doctor || c.doctor_id != Some(me.account_id) {
        return Err(AppError::NotFound(format!("no consultation with id {id}")));
    }
    require_step_up(state, me)?;
    let status = c.status();
    if status.is_ended() || status == super::model::Status::Requested {
        return Err(AppError::refused(
            Reason::ConsultationEnded,
            format!(
                "the note is written while the consultation is open; it is {}",
                status.as_str().replace('_', " ")
            ),
        ));
    }
    let kind = c.kind;
    let note = input.validate(kind).map_err(AppError::Validation)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::put_note(&mut tx, id, me.account_id, &note, now).await? {
        return Err(AppError::refused(
            Reason::ConsultationEnded,
            "the note was signed when the consultation ended".to_owned(),
        ));
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "consultation.note", "consultation")
            .object(id)
            .patient(c.person_id),
    )
    .await?;
    tx.commit().await?;
    store::note(&state.db, id)
        .await?
        .map(NoteView::from)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("note of {id} vanished")))
}
