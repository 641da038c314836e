//! Dispensing SQL. Every move is a conditional update on the status it starts from, so two
//! pharmacists pressing the same button, or a courier update racing a cancellation, change
//! the fulfilment once. Stock is taken with a guarded decrement: never below zero.

use super::model::{Method, Status};
use crate::db::{Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AddressRow {
    pub id: i64,
    pub person_id: i64,
    pub recipient: String,
    pub phone_enc: Vec<u8>,
    pub phone_mask: String,
    pub region: String,
    pub detail_enc: Vec<u8>,
    pub is_default: bool,
    pub created_at: i64,
    pub removed_at: Option<i64>,
}

const ADDRESS_COLUMNS: &str = "id, person_id, recipient, phone_enc, phone_mask, region, detail_enc, \
     is_default, created_at, removed_at";

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FulfilmentRow {
    pub id: i64,
    pub prescription_id: i64,
    pub person_id: i64,
    pub hospital_id: i64,
    pub pharmacy_id: i64,
    pub method: Method,
    pub address_id: Option<i64>,
    pub status: Status,
    pub courier: Option<String>,
    pub tracking_no: Option<String>,
    /// Shown to the patient and checked at the counter; never sent to anyone else.
    #[serde(skip)]
    pub pickup_code: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl FulfilmentRow {
    pub fn status(&self) -> Status {
        self.status
    }

    pub fn method(&self) -> Method {
        self.method
    }
}

const COLUMNS: &str = "id, prescription_id, person_id, hospital_id, pharmacy_id, method, address_id, \
     status, courier, tracking_no, pickup_code, created_at, updated_at";

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = FulfilmentEvent)]
pub struct EventRow {
    pub id: i64,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub at: i64,
    pub by_account: Option<i64>,
    pub source: String,
    pub note: Option<String>,
}

pub struct NewAddress<'a> {
    pub person: i64,
    pub recipient: &'a str,
    pub phone_enc: Vec<u8>,
    pub phone_mask: String,
    pub region: &'a str,
    pub detail_enc: Vec<u8>,
    pub is_default: bool,
}

pub async fn insert_address(tx: &mut Tx, a: &NewAddress<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO patient_address (person_id, recipient, phone_enc, phone_mask, region, detail_enc, \
         is_default, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        (a.person, a.recipient, &a.phone_enc, &a.phone_mask, a.region, &a.detail_enc, a.is_default, now),
    )
    .await
}

/// Makes `id` the person's only default address (`None`: no default).
pub async fn set_default(tx: &mut Tx, person: i64, id: Option<i64>) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE patient_address SET is_default = (id = $2) WHERE person_id = $1 AND removed_at IS NULL",
        (person, id.unwrap_or(0)),
    )
    .await
    .map(|_| ())
}

pub async fn remove_address(tx: &mut Tx, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE patient_address SET removed_at = $2, is_default = FALSE WHERE id = $1 AND removed_at IS NULL",
        (id, now),
    )
    .await
    .map(|n| n == 1)
}

/// The person's addresses in use, the default first.
pub async fn addresses(db: &Db, person: i64) -> Result<Vec<AddressRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {ADDRESS_COLUMNS} FROM patient_address WHERE person_id = $1 AND removed_at IS NULL \
         ORDER BY is_default DESC, id DESC"
    );
    db.all::<AddressRow>(&sql, (person,)).await
}

/// An address, removed or not (a delivery keeps pointing at the one it was sent to).
pub async fn address(db: &Db, id: i64) -> Result<Option<AddressRow>, sqlx::Error> {
    let sql = format!("SELECT {ADDRESS_COLUMNS} FROM patient_address WHERE id = $1");
    db.optional::<AddressRow>(&sql, (id,)).await
}

pub struct Choice {
    pub prescription: i64,
    pub person: i64,
    pub hospital: i64,
    pub pharmacy: i64,
    pub method: Method,
    pub address: Option<i64>,
}

/// Records how the patient wants the medicine; changeable until it is paid. False when it
/// was paid meanwhile (the earlier choice stands).
pub async fn choose(tx: &mut Tx, c: &Choice, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "INSERT INTO fulfilment (prescription_id, person_id, hospital_id, pharmacy_id, method, address_id, \
         status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'awaiting_payment', $7, $7) \
         ON CONFLICT (prescription_id) DO UPDATE SET pharmacy_id = excluded.pharmacy_id, \
         method = excluded.method, address_id = excluded.address_id, updated_at = excluded.updated_at \
         WHERE fulfilment.status = 'awaiting_payment'",
        (c.prescription, c.person, c.hospital, c.pharmacy, c.method.as_str(), c.address, now),
    )
    .await
    .map(|n| n == 1)
}

pub async fn fulfilment(db: &Db, id: i64) -> Result<Option<FulfilmentRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM fulfilment WHERE id = $1");
    db.optional::<FulfilmentRow>(&sql, (id,)).await
}

pub async fn fulfilment_in(tx: &mut Tx, id: i64) -> Result<Option<FulfilmentRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM fulfilment WHERE id = $1");
    tx.optional::<FulfilmentRow>(&sql, (id,)).await
}

pub async fn of_prescription(
    db: &Db,
    prescription: i64,
) -> Result<Option<FulfilmentRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM fulfilment WHERE prescription_id = $1");
    db.optional::<FulfilmentRow>(&sql, (prescription,)).await
}

pub async fn of_prescription_in(
    tx: &mut Tx,
    prescription: i64,
) -> Result<Option<FulfilmentRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM fulfilment WHERE prescription_id = $1");
    tx.optional::<FulfilmentRow>(&sql, (prescription,)).await
}

/// A person's fulfilments (any status), newest first.
pub async fn of_person(
    db: &Db,
    person: i64,
    limit: i64,
) -> Result<Vec<FulfilmentRow>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM fulfilment WHERE person_id = $1 ORDER BY id DESC LIMIT $2");
    db.all::<FulfilmentRow>(&sql, (person, limit)).await
}

pub async fn by_tracking(
    db: &Db,
    courier: &str,
    tracking_no: &str,
) -> Result<Option<FulfilmentRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM fulfilment WHERE courier = $1 AND tracking_no = $2");
    db.optional::<FulfilmentRow>(&sql, (courier, tracking_no))
        .await
}

/// The hospital's fulfilments the pharmacy still works on (`Status::pharmacy_work`), oldest
/// change first.
pub async fn work_queue(
    db: &Db,
    hospital: i64,
    limit: i64,
) -> Result<Vec<FulfilmentRow>, sqlx::Error> {
    let work: Vec<String> = Status::ALL
        .into_iter()
        .filter(|s| s.pharmacy_work())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM fulfilment WHERE hospital_id = $1 AND status IN ({}) \
         ORDER BY updated_at, id LIMIT $2",
        work.join(", ")
    );
    db.all::<FulfilmentRow>(&sql, (hospital, limit)).await
}

/// Moves a fulfilment on, if it is still where the move starts.
pub async fn advance(
    tx: &mut Tx,
    id: i64,
    from: Status,
    to: Status,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE fulfilment SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2",
        (id, from.as_str(), to.as_str(), now),
    )
    .await
    .map(|n| n == 1)
}

pub async fn set_tracking(
    tx: &mut Tx,
    id: i64,
    courier: &str,
    tracking_no: &str,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE fulfilment SET courier = $2, tracking_no = $3 WHERE id = $1",
        (id, courier, tracking_no),
    )
    .await
    .map(|_| ())
}

pub async fn set_pickup_code(tx: &mut Tx, id: i64, code: &str) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE fulfilment SET pickup_code = $2 WHERE id = $1",
        (id, code),
    )
    .await
    .map(|_| ())
}

pub struct NewEvent<'a> {
    pub fulfilment: i64,
    pub from: Option<Status>,
    pub to: Status,
    pub by: Option<i64>,
    pub source: &'a str,
    pub note: Option<&'a str>,
}

pub async fn insert_event(tx: &mut Tx, e: &NewEvent<'_>, now: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO fulfilment_event (fulfilment_id, from_status, to_status, at, by_account, source, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        (e.fulfilment, e.from.map(Status::as_str), e.to.as_str(), now, e.by, e.source, e.note),
    )
    .await
    .map(|_| ())
}

pub async fn events(db: &Db, fulfilment: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    db.all::<EventRow>(
        "SELECT id, from_status, to_status, at, by_account, source, note FROM fulfilment_event \
         WHERE fulfilment_id = $1 ORDER BY id",
        (fulfilment,),
    )
    .await
}

/// Takes `quantity` of a drug from a pharmacy's stock; false when there is not that much.
pub async fn take_stock(
    tx: &mut Tx,
    pharmacy: i64,
    drug: i64,
    quantity: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE drug_stock SET quantity = quantity - $3 WHERE pharmacy_id = $1 AND drug_id = $2 AND quantity >= $3",
        (pharmacy, drug, quantity),
    )
    .await
    .map(|n| n == 1)
}

/// Puts picked medicine back on the shelf (an order cancelled before it left).
pub async fn return_stock(
    tx: &mut Tx,
    pharmacy: i64,
    drug: i64,
    quantity: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE drug_stock SET quantity = quantity + $3 WHERE pharmacy_id = $1 AND drug_id = $2",
        (pharmacy, drug, quantity),
    )
    .await
    .map(|_| ())
}

/// Records a courier update once; false when it was seen before.
pub async fn record_update(
    tx: &mut Tx,
    courier: &str,
    u: &super::courier::TrackingUpdate,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "INSERT INTO courier_update (courier, update_id, tracking_no, event, received_at, outcome) \
         VALUES ($1, $2, $3, $4, $5, 'received') ON CONFLICT (courier, update_id) DO NOTHING",
        (courier, &u.update_id, &u.tracking_no, &u.event, now),
    )
    .await
    .map(|n| n == 1)
}

pub async fn set_update_outcome(
    tx: &mut Tx,
    courier: &str,
    update_id: &str,
    outcome: &str,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE courier_update SET outcome = $3 WHERE courier = $1 AND update_id = $2",
        (courier, update_id, outcome),
    )
    .await
    .map(|_| ())
}

/// The hospital's first pharmacy (where a delivery leaves from when nothing else is chosen).
pub async fn first_pharmacy(tx: &mut Tx, hospital: i64) -> Result<Option<i64>, sqlx::Error> {
    tx.scalar_optional::<i64>(
        "SELECT id FROM pharmacy WHERE hospital_id = $1 ORDER BY id LIMIT 1",
        (hospital,),
    )
    .await
}
