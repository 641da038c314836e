//! patient1's inbox in the demo: the parcel of eight weeks ago, delivered (read), then a visit
//! with doctor4 booked for the next open time at least 12 hours away, with its reminder.

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::identity::store as identity_store;
use crate::notification::model::{Event, Notice};
use crate::notification::{service::notify, store as notification_store};
use crate::time::cst_display;

pub async fn seed(state: &AppState) -> AppResult<()> {
    let db = &state.db;
    let find = |name: &'static str| async move {
        identity_store::account_by_username(db, name)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no demo account {name}")))
    };
    let patient = find("patient1").await?;
    let doctor = find("doctor4").await?;
    let Some(person) = patient.person_id else {
        return Ok(());
    };
    let now = state.now_ms();
    // Booked as patient1 would, through the booking service (limits, audit, care link).
    let actor = super::actor_of(&patient);
    let parcels = crate::dispensing::store::of_person(db, person, 10).await?;
    if let Some(f) = parcels.iter().find(|f| f.status.as_str() == "received") {
        let cause = format!("fulfilment:{}", f.id);
        let delivered = Notice::new(patient.id, Event::ParcelDelivered, cause)
            .link(format!("/prescriptions/{}", f.prescription_id));
        let mut tx = db.begin().await?;
        notify(&mut tx, &delivered, f.updated_at).await?;
        tx.commit().await?;
        let rows = notification_store::list(db, patient.id, None, 10).await?;
        if let Some(n) = rows.iter().find(|n| n.event == Event::ParcelDelivered) {
            notification_store::mark_read(db, patient.id, n.id, f.updated_at).await?;
        }
    }
    let slots = crate::scheduling::service::open_slots(state, doctor.id, 14).await?;
    if let Some(slot) = slots.iter().find(|s| s.start_at > now + 12 * 3_600_000) {
        let booked = crate::scheduling::service::book(state, &actor, slot.id, person).await?;
        let reminder = Notice::new(
            patient.id,
            Event::AppointmentReminder,
            format!("appointment:{}:{}", booked.id, slot.start_at),
        )
        .param("doctor", doctor.display_name.clone())
        .param("time", cst_display(slot.start_at))
        .link("/appointments");
        let mut tx = db.begin().await?;
        notify(&mut tx, &reminder, now).await?;
        tx.commit().await?;
    }
    Ok(())
}
