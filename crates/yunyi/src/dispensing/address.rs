//! The patient's address book (收货地址): kept per person (a parent keeps a child's), phone and
//! street encrypted, one default. Addresses are never edited in place, so a delivery always
//! shows where it was really sent.

use serde::Serialize;

use super::model::{AddressInput, ValidAddress};
use super::store::{self, AddressRow, NewAddress};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::error::{AppError, AppResult, Reason};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::policy;

/// At most this many addresses in use per person: a phone's picker stays short.
pub const MAX_ADDRESSES: usize = 10;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AddressView {
    pub id: i64,
    pub person_id: i64,
    pub recipient: String,
    pub phone_mask: String,
    /// The full number: for the owner and the pharmacy printing the label only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub region: String,
    pub detail: String,
    pub is_default: bool,
    pub removed: bool,
}

/// An address as its reader may see it (`full_phone`: the owner's side and the pharmacy).
pub fn open(state: &AppState, row: &AddressRow, full_phone: bool) -> AppResult<AddressView> {
    let keys = &state.keys;
    let detail = keys.decrypt(&row.detail_enc).map_err(AppError::Internal)?;
    let phone = if full_phone {
        Some(keys.decrypt(&row.phone_enc).map_err(AppError::Internal)?)
    } else {
        None
    };
    Ok(AddressView {
        id: row.id,
        person_id: row.person_id,
        recipient: row.recipient.clone(),
        phone_mask: row.phone_mask.clone(),
        phone,
        region: row.region.clone(),
        detail,
        is_default: row.is_default,
        removed: row.removed_at.is_some(),
    })
}

/// The person whose address book it is: the signed-in patient's own, or a family member's.
async fn owner(
    state: &AppState,
    actor: &Actor,
    person: Option<i64>,
    action: &str,
) -> AppResult<i64> {
    let me = actor.require()?;
    crate::capability::require_role(
        me,
        Role::Patient,
        "address books belong to patients and their families",
    )?;
    let person = match person.or(me.person_id) {
        Some(p) => p,
        None => return Err(AppError::required("person_id")),
    };
    policy::authorize_patient(state, actor, action, "address", person, None).await?;
    Ok(person)
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    person: Option<i64>,
) -> AppResult<Vec<AddressView>> {
    let person = owner(state, actor, person, "address.read").await?;
    store::addresses(&state.db, person)
        .await?
        .iter()
        .map(|row| open(state, row, true))
        .collect()
}

pub async fn add(
    state: &AppState,
    actor: &Actor,
    person: Option<i64>,
    input: &AddressInput,
) -> AppResult<AddressView> {
    let person = owner(state, actor, person, "address.create").await?;
    let valid: ValidAddress = input.validate().map_err(AppError::Validation)?;
    let existing = store::addresses(&state.db, person).await?;
    if existing.len() >= MAX_ADDRESSES {
        return Err(AppError::refused(
            Reason::AddressLimitReached,
            format!("at most {MAX_ADDRESSES} addresses; remove one first"),
        ));
    }
    // The first address is the default whatever was asked.
    let is_default = valid.is_default || existing.is_empty();
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let id = store::insert_address(
        &mut tx,
        &NewAddress {
            person,
            recipient: &valid.recipient,
            phone_enc: state.keys.encrypt(valid.phone.as_str()),
            phone_mask: valid.phone.masked(),
            region: &valid.region,
            detail_enc: state.keys.encrypt(&valid.detail),
            is_default,
        },
        now,
    )
    .await?;
    if is_default {
        store::set_default(&mut tx, person, Some(id)).await?;
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "address.create", "address")
            .object(id)
            .patient(person),
    )
    .await?;
    tx.commit().await?;
    let row = store::address(&state.db, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("address {id} vanished")))?;
    open(state, &row, true)
}

/// An address of the actor's side that is still in use, or 404.
async fn own_address(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
) -> AppResult<AddressRow> {
    let row = store::address(&state.db, id)
        .await?
        .filter(|a| a.removed_at.is_none())
        .ok_or_else(|| AppError::NotFound(format!("no address with id {id}")))?;
    owner(state, actor, Some(row.person_id), action).await?;
    Ok(row)
}

pub async fn remove(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let row = own_address(state, actor, id, "address.remove").await?;
    let mut tx = state.db.begin().await?;
    store::remove_address(&mut tx, id, state.now_ms()).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "address.remove", "address")
            .object(id)
            .patient(row.person_id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn make_default(state: &AppState, actor: &Actor, id: i64) -> AppResult<AddressView> {
    let row = own_address(state, actor, id, "address.update").await?;
    let mut tx = state.db.begin().await?;
    store::set_default(&mut tx, row.person_id, Some(id)).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "address.update", "address")
            .object(id)
            .patient(row.person_id)
            .reason("made default"),
    )
    .await?;
    tx.commit().await?;
    let row = store::address(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no address with id {id}")))?;
    open(state, &row, true)
}
