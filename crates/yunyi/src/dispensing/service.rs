//! Dispensing and delivery: the patient's choice (delivered or picked up) recorded with the
//! order, the pharmacy's queue and moves (pick from stock, pack, hand to the courier, hand
//! over at the counter, cancel with a refund), the courier's signed updates applied once, and
//! the patient's confirmation of receipt. Every move goes through [`transition`], is kept in
//! `fulfilment_event` and audited.

use serde::{Deserialize, Serialize};

use super::address::{self, AddressView};
use super::courier::{CourierError, Shipment};
use super::model::{Method, Move, Status, transition};
use super::store::{self, EventRow, FulfilmentRow};
use crate::app::AppState;
use crate::audit::{self, AuditActor, NewEvent};
use crate::db::Tx;
use crate::error::{AppError, AppResult, FieldError, Reason};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::notification::model::Event;
use crate::pharmacy::prescription_store::{self as rx_store, ItemRow, PrescriptionRow};
use crate::pharmacy::review::tell_patient;
use crate::pharmacy::store::{self as formulary, Pharmacy};
use crate::policy;

/// How the patient wants the medicine, as sent with "pay".
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = FulfilmentChoice)]
pub struct ChoiceInput {
    /// `delivery` or `pickup` (the default: nothing to get wrong).
    #[serde(default)]
    pub method: Option<String>,
    /// For delivery: one of the patient's addresses.
    #[serde(default)]
    pub address_id: Option<i64>,
    /// For pickup: one of the hospital's pharmacies (default: one that has everything).
    /// Deliveries leave from a pharmacy that has everything; this is ignored for them.
    #[serde(default)]
    pub pharmacy_id: Option<i64>,
}

/// Checks the patient's choice for prescription `p`: the address theirs and in use, the
/// pharmacy the hospital's. Delivery goes out from a pharmacy that has every item in stock.
pub async fn resolve_choice(
    state: &AppState,
    p: &PrescriptionRow,
    input: &ChoiceInput,
) -> AppResult<store::Choice> {
    let method = match input.method.as_deref().map(str::trim) {
        None | Some("") => Method::Pickup,
        Some(raw) => Method::parse(raw)
            .ok_or_else(|| AppError::invalid("method", "must be delivery or pickup"))?,
    };
    let mut errors = Vec::new();
    let address = match (method, input.address_id) {
        (Method::Delivery, None) => {
            errors.push(FieldError::new(
                "address_id",
                "is required for delivery: add an address first",
            ));
            None
        }
        (Method::Delivery, Some(id)) => {
            let ok = store::address(&state.db, id)
                .await?
                .is_some_and(|a| a.person_id == p.person_id && a.removed_at.is_none());
            if !ok {
                errors.push(FieldError::new(
                    "address_id",
                    "is not one of the patient's addresses",
                ));
            }
            Some(id)
        }
        (Method::Pickup, _) => None,
    };
    let pharmacies = formulary::pharmacies(&state.db, p.hospital_id).await?;
    // Delivery goes out from a pharmacy that has it all; a pickup is where the patient says.
    let asked = input.pharmacy_id.filter(|_| method == Method::Pickup);
    let pharmacy = match asked {
        Some(id) if pharmacies.iter().any(|ph| ph.id == id) => Some(id),
        Some(_) => {
            errors.push(FieldError::new(
                "pharmacy_id",
                "is not a pharmacy of the prescribing hospital",
            ));
            None
        }
        None => stocked_pharmacy(state, p.id, &pharmacies).await?,
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let pharmacy = pharmacy.ok_or_else(|| {
        AppError::refused(
            Reason::NoPharmacy,
            "the hospital has no pharmacy to fill prescriptions".to_owned(),
        )
    })?;
    Ok(store::Choice {
        prescription: p.id,
        person: p.person_id,
        hospital: p.hospital_id,
        pharmacy,
        method,
        address,
    })
}

/// The first pharmacy with every item of the prescription in stock, else the first one.
async fn stocked_pharmacy(
    state: &AppState,
    prescription: i64,
    pharmacies: &[Pharmacy],
) -> AppResult<Option<i64>> {
    let items = rx_store::items(&state.db, prescription).await?;
    let mut stocks = Vec::new();
    for item in &items {
        stocks.push((
            item.quantity,
            formulary::stock_of(&state.db, item.drug_id).await?,
        ));
    }
    let has_all = |pharmacy: i64| {
        stocks.iter().all(|(needed, stock)| {
            stock
                .iter()
                .any(|(ph, quantity)| *ph == pharmacy && quantity >= needed)
        })
    };
    Ok(pharmacies
        .iter()
        .find(|ph| has_all(ph.id))
        .or(pharmacies.first())
        .map(|ph| ph.id))
}

/// The order was paid: the fulfilment joins the pharmacy's queue (in the payment's
/// transaction). A prescription paid without a recorded choice is picked up.
pub async fn queue_paid(
    tx: &mut Tx,
    prescription: i64,
    person: i64,
    hospital: i64,
    now: i64,
) -> AppResult<()> {
    let f = match store::of_prescription_in(tx, prescription).await? {
        Some(f) => f,
        None => {
            let pharmacy = first_pharmacy(tx, hospital).await?;
            store::choose(
                tx,
                &store::Choice {
                    prescription,
                    person,
                    hospital,
                    pharmacy,
                    method: Method::Pickup,
                    address: None,
                },
                now,
            )
            .await?;
            store::of_prescription_in(tx, prescription)
                .await?
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("fulfilment vanished")))?
        }
    };
    if f.status() != Status::AwaitingPayment {
        tracing::warn!(fulfilment = f.id, status = %f.status, "paid twice; already queued");
        return Ok(());
    }
    record_move(tx, &f, Move::Pay, &Mover::system(), Some("paid"), now)
        .await
        .map(|_| ())
}

async fn first_pharmacy(tx: &mut Tx, hospital: i64) -> AppResult<i64> {
    store::first_pharmacy(tx, hospital).await?.ok_or_else(|| {
        AppError::refused(
            Reason::NoPharmacy,
            "the hospital has no pharmacy to fill prescriptions".to_owned(),
        )
    })
}

/// Who makes a move: for the history and the audit trail.
pub struct Mover {
    pub who: AuditActor,
    pub account: Option<i64>,
    pub source: &'static str,
}

impl Mover {
    fn system() -> Self {
        Mover {
            who: AuditActor::system(),
            account: None,
            source: "system",
        }
    }

    fn courier() -> Self {
        Mover {
            source: "courier",
            ..Mover::system()
        }
    }

    fn of(actor: &Actor, source: &'static str) -> Self {
        Mover {
            who: actor.audit(),
            account: actor.require().ok().map(|s| s.account_id),
            source,
        }
    }
}

fn move_name(mv: Move) -> &'static str {
    match mv {
        Move::Pay => "queue",
        Move::Pick => "pick",
        Move::Pack => "pack",
        Move::Dispatch => "dispatch",
        Move::Collect => "collect",
        Move::Cancel => "cancel",
        Move::PickUp => "picked_up",
        Move::Transit => "in_transit",
        Move::Deliver => "delivered",
        Move::Fail => "failed",
        Move::Confirm => "confirm",
    }
}

/// Makes a move: legal from where the fulfilment is, applied once (a conditional update),
/// kept in its history and audited — all in `tx`. Returns where it went.
async fn record_move(
    tx: &mut Tx,
    f: &FulfilmentRow,
    mv: Move,
    by: &Mover,
    note: Option<&str>,
    now: i64,
) -> AppResult<Status> {
    let from = f.status();
    let to = transition(f.method(), from, mv).map_err(AppError::wrong_state)?;
    if !store::advance(tx, f.id, from, to, now).await? {
        return Err(AppError::refused(
            Reason::ChangedMeanwhile,
            "the delivery changed meanwhile; reload it".to_owned(),
        ));
    }
    store::insert_event(
        tx,
        &store::NewEvent {
            fulfilment: f.id,
            from: Some(from),
            to,
            by: by.account,
            source: by.source,
            note,
        },
        now,
    )
    .await?;
    let action = format!("fulfilment.{}", move_name(mv));
    let mut event = NewEvent::new(by.who.clone(), &action, "fulfilment")
        .object(f.id)
        .patient(f.person_id);
    if let Some(note) = note {
        event = event.reason(note.to_owned());
    }
    audit::append(tx, &event).await?;
    let told = match to {
        Status::Delivered => Some(Event::ParcelDelivered),
        Status::ReadyForPickup => Some(Event::PickupReady),
        _ => None,
    };
    if let Some(event) = told {
        let told = (event, format!("fulfilment:{}", f.id));
        tell_patient(tx, f.prescription_id, told, &[], now).await?;
    }
    Ok(to)
}

/// A fulfilment with what it holds and where it goes, for the patient side or the pharmacy.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FulfilmentView {
    #[serde(flatten)]
    pub fulfilment: FulfilmentRow,
    pub pharmacy: Pharmacy,
    pub ship_to: Option<AddressView>,
    pub items: Vec<ItemRow>,
    pub events: Vec<EventRow>,
    /// The code to show at the counter: to the patient side only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_code: Option<String>,
}

async fn fulfilment_or_404(state: &AppState, id: i64) -> AppResult<FulfilmentRow> {
    store::fulfilment(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no delivery with id {id}")))
}

/// The view of `f`, without any access check: callers have made theirs.
pub async fn view_unchecked(
    state: &AppState,
    f: FulfilmentRow,
    patient_side: bool,
) -> AppResult<FulfilmentView> {
    let pharmacy = formulary::pharmacies(&state.db, f.hospital_id)
        .await?
        .into_iter()
        .find(|ph| ph.id == f.pharmacy_id)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("pharmacy {} missing", f.pharmacy_id)))?;
    let ship_to = match f.address_id {
        Some(id) => match store::address(&state.db, id).await? {
            Some(row) => Some(address::open(state, &row, true)?),
            None => None,
        },
        None => None,
    };
    Ok(FulfilmentView {
        pharmacy,
        ship_to,
        items: rx_store::items(&state.db, f.prescription_id).await?,
        events: store::events(&state.db, f.id).await?,
        pickup_code: if patient_side {
            f.pickup_code.clone()
        } else {
            None
        },
        fulfilment: f,
    })
}

/// The hospital a pharmacist works at, when it is `hospital`.
fn pharmacist_at(actor: &Actor, hospital: i64) -> AppResult<i64> {
    let me = actor.require()?;
    match (me.role, me.hospital_id) {
        (Role::Pharmacist, Some(h)) if h == hospital => Ok(me.account_id),
        (Role::Pharmacist, _) => Err(AppError::NotFound("no such delivery".to_owned())),
        _ => Err(AppError::Forbidden(
            "medicine is dispensed by the hospital's pharmacists".to_owned(),
        )),
    }
}

/// Reads a fulfilment: the patient side, or a pharmacist of its hospital. Audited.
pub async fn read(state: &AppState, actor: &Actor, id: i64) -> AppResult<FulfilmentView> {
    let f = fulfilment_or_404(state, id).await?;
    let patient_side = authorize(state, actor, &f, "fulfilment.read").await?;
    view_unchecked(state, f, patient_side).await
}

/// Allows the patient side (true) or the hospital's pharmacists (false); refuses anyone
/// else as if the fulfilment did not exist.
async fn authorize(
    state: &AppState,
    actor: &Actor,
    f: &FulfilmentRow,
    action: &str,
) -> AppResult<bool> {
    let me = actor.require()?;
    match me.role {
        Role::Patient => {
            policy::authorize_patient(state, actor, action, "fulfilment", f.person_id, None)
                .await?;
            Ok(true)
        }
        Role::Pharmacist if me.hospital_id == Some(f.hospital_id) => {
            audit::record(
                &state.db,
                &NewEvent::new(actor.audit(), action, "fulfilment")
                    .object(f.id)
                    .patient(f.person_id)
                    .reason("pharmacist of the dispensing hospital"),
            )
            .await?;
            Ok(false)
        }
        _ => {
            crate::identity::service::deny(
                state,
                actor,
                action,
                "fulfilment",
                Some(f.id.to_string()),
                Some(f.person_id),
                "not the patient's or its hospital pharmacist's",
            )
            .await?;
            Err(AppError::NotFound(format!("no delivery with id {}", f.id)))
        }
    }
}

/// A person's fulfilments for a reader of their record (the policy decides and audits);
/// staff see those of their own hospital.
pub async fn for_person(
    state: &AppState,
    actor: &Actor,
    person: i64,
) -> AppResult<Vec<FulfilmentView>> {
    let me = actor.require()?;
    policy::authorize_patient(state, actor, "fulfilment.list", "fulfilment", person, None).await?;
    let mut out = Vec::new();
    for f in store::of_person(&state.db, person, 100).await? {
        if me.role == Role::Patient || Some(f.hospital_id) == me.hospital_id {
            out.push(view_unchecked(state, f, false).await?);
        }
    }
    Ok(out)
}

/// The fulfilment of a prescription the caller may already read, if one was chosen.
pub async fn of_prescription(
    state: &AppState,
    prescription: i64,
    patient_side: bool,
) -> AppResult<Option<FulfilmentView>> {
    match store::of_prescription(&state.db, prescription).await? {
        Some(f) => Ok(Some(view_unchecked(state, f, patient_side).await?)),
        None => Ok(None),
    }
}

/// The pharmacy's work at the pharmacist's hospital, oldest change first. Audited per item.
pub async fn work_queue(state: &AppState, actor: &Actor) -> AppResult<Vec<FulfilmentView>> {
    let me = actor.require()?;
    let hospital = match (me.role, me.hospital_id) {
        (Role::Pharmacist, Some(h)) => h,
        _ => {
            return Err(AppError::Forbidden(
                "medicine is dispensed by the hospital's pharmacists".to_owned(),
            ));
        }
    };
    let rows = store::work_queue(&state.db, hospital, 100).await?;
    if !rows.is_empty() {
        let mut tx = state.db.begin().await?;
        for f in &rows {
            audit::append(
                &mut tx,
                &NewEvent::new(actor.audit(), "fulfilment.queue", "fulfilment")
                    .object(f.id)
                    .patient(f.person_id)
                    .reason("dispensing queue"),
            )
            .await?;
        }
        tx.commit().await?;
    }
    let mut out = Vec::with_capacity(rows.len());
    for f in rows {
        out.push(view_unchecked(state, f, false).await?);
    }
    Ok(out)
}

/// Takes the items from the pharmacy's stock (all or none) and marks them picked.
pub async fn pick(state: &AppState, actor: &Actor, id: i64) -> AppResult<FulfilmentView> {
    let f = fulfilment_or_404(state, id).await?;
    pharmacist_at(actor, f.hospital_id)?;
    transition(f.method(), f.status(), Move::Pick).map_err(AppError::wrong_state)?;
    let items = rx_store::items(&state.db, f.prescription_id).await?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let mut short = Vec::new();
    for item in &items {
        if !store::take_stock(&mut tx, f.pharmacy_id, item.drug_id, item.quantity).await? {
            short.push(format!("{} {}", item.drug_name, item.strength));
        }
    }
    if !short.is_empty() {
        return Err(AppError::refused(
            Reason::OutOfStock,
            format!(
                "not enough in stock at this pharmacy: {}; restock or cancel with a refund",
                short.join(", ")
            ),
        ));
    }
    record_move(
        &mut tx,
        &f,
        Move::Pick,
        &Mover::of(actor, "pharmacy"),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    read_after(state, id).await
}

/// Packs: a delivery waits for the courier; a pickup is ready, with a code for the patient.
pub async fn pack(state: &AppState, actor: &Actor, id: i64) -> AppResult<FulfilmentView> {
    let f = fulfilment_or_404(state, id).await?;
    pharmacist_at(actor, f.hospital_id)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let to = record_move(
        &mut tx,
        &f,
        Move::Pack,
        &Mover::of(actor, "pharmacy"),
        None,
        now,
    )
    .await?;
    if to == Status::ReadyForPickup {
        let code = format!("{:06}", rand::random_range(0..1_000_000u32));
        store::set_pickup_code(&mut tx, id, &code).await?;
    }
    tx.commit().await?;
    read_after(state, id).await
}

/// Hands a packed (or returned) parcel to the courier, who gives a tracking number. The
/// prescription is dispensed.
pub async fn dispatch(state: &AppState, actor: &Actor, id: i64) -> AppResult<FulfilmentView> {
    let f = fulfilment_or_404(state, id).await?;
    pharmacist_at(actor, f.hospital_id)?;
    transition(f.method(), f.status(), Move::Dispatch).map_err(AppError::wrong_state)?;
    let view = view_unchecked(state, f.clone(), false).await?;
    let shipment = Shipment {
        fulfilment_id: f.id,
        from: format!("{} {}", view.pharmacy.name, view.pharmacy.address),
        to_region: view
            .ship_to
            .as_ref()
            .map(|a| a.region.clone())
            .unwrap_or_default(),
    };
    let tracking = state
        .courier
        .book(&shipment)
        .await
        .map_err(AppError::wrong_state)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let note = format!("{} {tracking}", state.courier.name());
    record_move(
        &mut tx,
        &f,
        Move::Dispatch,
        &Mover::of(actor, "pharmacy"),
        Some(&note),
        now,
    )
    .await?;
    store::set_tracking(&mut tx, id, state.courier.name(), &tracking).await?;
    let told = (
        Event::ParcelDispatched,
        format!("fulfilment:{id}:{tracking}"),
    );
    let params = [("courier", state.courier.name()), ("tracking", &tracking)];
    tell_patient(&mut tx, f.prescription_id, told, &params, now).await?;
    // Sent again after a failed delivery: it was dispensed the first time.
    crate::pharmacy::prescribing::dispensed(&mut tx, f.prescription_id, now).await?;
    tx.commit().await?;
    read_after(state, id).await
}

/// Hands the medicine over at the counter, against the patient's pickup code.
pub async fn collect(
    state: &AppState,
    actor: &Actor,
    id: i64,
    code: &str,
) -> AppResult<FulfilmentView> {
    let f = fulfilment_or_404(state, id).await?;
    pharmacist_at(actor, f.hospital_id)?;
    transition(f.method(), f.status(), Move::Collect).map_err(AppError::wrong_state)?;
    let expected = f.pickup_code.clone().unwrap_or_default();
    if expected.is_empty() || !crate::crypto::constant_time_eq(&expected, code.trim()) {
        return Err(AppError::invalid(
            "code",
            "does not match the patient's pickup code",
        ));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    record_move(
        &mut tx,
        &f,
        Move::Collect,
        &Mover::of(actor, "pharmacy"),
        None,
        now,
    )
    .await?;
    crate::pharmacy::prescribing::dispensed(&mut tx, f.prescription_id, now).await?;
    tx.commit().await?;
    read_after(state, id).await
}

/// The pharmacy cannot fill it (out of stock) or the courier gave up: cancelled, picked
/// medicine back on the shelf, and the patient refunded in full (at once, or by the
/// `billing.refund_lapsed` job if the gateway fails).
pub async fn cancel(
    state: &AppState,
    actor: &Actor,
    id: i64,
    reason: Option<&str>,
) -> AppResult<FulfilmentView> {
    let f = fulfilment_or_404(state, id).await?;
    let me = pharmacist_at(actor, f.hospital_id)?;
    let reason = crate::consult::model::required_reason(reason)
        .map_err(|e| AppError::Validation(vec![e]))?;
    let from = f.status();
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    record_move(
        &mut tx,
        &f,
        Move::Cancel,
        &Mover::of(actor, "pharmacy"),
        Some(reason),
        now,
    )
    .await?;
    // Picked medicine never left: it goes back. A returned parcel is not resold.
    if from == Status::Picked {
        for item in rx_store::items(&state.db, f.prescription_id).await? {
            store::return_stock(&mut tx, f.pharmacy_id, item.drug_id, item.quantity).await?;
        }
    }
    tx.commit().await?;
    // The cancellation stands; if the gateway cannot refund now, `billing.refund_lapsed`
    // retries within a minute.
    if let Err(e) = crate::billing::service::refund_subject(
        state,
        &actor.audit(),
        Some(me),
        "prescription",
        f.prescription_id,
        &format!("not dispensed: {reason}"),
    )
    .await
    {
        tracing::warn!(fulfilment = id, error = %e, "refund deferred to billing.refund_lapsed");
    }
    read_after(state, id).await
}

/// The patient (or family) confirms the medicine arrived.
pub async fn confirm(state: &AppState, actor: &Actor, id: i64) -> AppResult<FulfilmentView> {
    let f = fulfilment_or_404(state, id).await?;
    if actor.role() != Some(Role::Patient) {
        return Err(AppError::Forbidden(
            "the patient (or their family) confirms receipt".to_owned(),
        ));
    }
    authorize(state, actor, &f, "fulfilment.confirm").await?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    record_move(
        &mut tx,
        &f,
        Move::Confirm,
        &Mover::of(actor, "patient"),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    let f = fulfilment_or_404(state, id).await?;
    view_unchecked(state, f, true).await
}

async fn read_after(state: &AppState, id: i64) -> AppResult<FulfilmentView> {
    let f = fulfilment_or_404(state, id).await?;
    view_unchecked(state, f, false).await
}

/// What a courier update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpdateOutcome {
    Applied,
    /// Seen before: nothing changed.
    Duplicate,
    /// Out of order or stale (the parcel had moved on): kept, nothing changed.
    Ignored,
}

/// Applies a courier's update (the body exactly as received, and its signature).
pub async fn courier_update(
    state: &AppState,
    body: &[u8],
    signature: &str,
) -> AppResult<UpdateOutcome> {
    let u = state.courier.verify(body, signature).map_err(|e| match e {
        CourierError::BadSignature => AppError::Forbidden(e.to_string()),
        _ => AppError::BadRequest(e.to_string()),
    })?;
    let courier = state.courier.name();
    let f = store::by_tracking(&state.db, courier, &u.tracking_no)
        .await?
        .ok_or_else(|| AppError::BadRequest(format!("no parcel {}", u.tracking_no)))?;
    let mv = u
        .to_move()
        .ok_or_else(|| AppError::BadRequest(format!("unknown event {}", u.event)))?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::record_update(&mut tx, courier, &u, now).await? {
        return Ok(UpdateOutcome::Duplicate);
    }
    // Read again inside the transaction: the update applies to where it is now.
    let current = store::fulfilment_in(&mut tx, f.id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("fulfilment vanished")))?;
    let outcome = if transition(current.method(), current.status(), mv).is_ok() {
        record_move(
            &mut tx,
            &current,
            mv,
            &Mover::courier(),
            u.note.as_deref(),
            now,
        )
        .await?;
        UpdateOutcome::Applied
    } else {
        tracing::info!(
            fulfilment = f.id,
            event = %u.event,
            status = %current.status,
            "courier update out of order; kept, not applied"
        );
        UpdateOutcome::Ignored
    };
    store::set_update_outcome(
        &mut tx,
        courier,
        &u.update_id,
        match outcome {
            UpdateOutcome::Applied => "applied",
            _ => "ignored",
        },
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// The sandbox courier's console may be used by the hospital's pharmacists and
/// administrators, who stand in for the courier. Shows the parcel without the street.
pub async fn sandbox_parcel(state: &AppState, actor: &Actor, id: i64) -> AppResult<FulfilmentRow> {
    let me = actor.require()?;
    let f = fulfilment_or_404(state, id).await?;
    let staff = matches!(me.role, Role::Pharmacist | Role::HospitalAdmin)
        && me.hospital_id == Some(f.hospital_id);
    if !staff || f.tracking_no.is_none() {
        return Err(AppError::NotFound(format!("no parcel for delivery {id}")));
    }
    Ok(f)
}
