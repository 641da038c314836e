//! Visits and the supervision statistics computed from them (预约诊疗率, 分时段预约率).
//!
//! - appointment rate = visits that came from an appointment / all visits;
//! - time-slot rate = appointments whose slot is at most 30 minutes long (the National Health
//!   Commission's "accurate to 30 minutes") / all appointments not cancelled;
//!
//! per hospital, department and day (China Standard Time), straight from the stored rows.
//! A visit is recorded at check-in, or by the front desk for a walk-in; consultations will
//! record theirs through [`record_visit`].

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::model::Appointment;
use super::statistics_store as store;
pub use super::statistics_store::{NewVisit, record_visit};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::capability::Capability;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::time::cst_today;

pub use super::statistics_store::TIME_SLOT_MAX_MS;

/// Records the visit of a checked-in appointment, in the check-in's transaction.
pub async fn record_appointment_visit(
    tx: &mut Tx,
    a: &Appointment,
    recorded_by: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let department = store::appointment_department(tx, a.slot_id).await?;
    let visit = NewVisit {
        hospital: a.hospital_id,
        department,
        doctor: Some(a.doctor_id),
        person: a.person_id,
        day: &a.day,
        source: "appointment",
        appointment: Some(a.id),
        recorded_by,
    };
    record_visit(tx, &visit, now).await.map(|_| ())
}

/// A walk-in registered at the front desk.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct WalkInInput {
    pub hospital_id: Option<i64>,
    pub department_id: Option<i64>,
    pub doctor_id: Option<i64>,
    pub person_id: Option<i64>,
}

/// Records a walk-in visit: nurses and administrators of that hospital.
pub async fn record_walk_in(
    state: &AppState,
    actor: &Actor,
    input: &WalkInInput,
) -> AppResult<i64> {
    let me = actor.require()?;
    let hospital = input
        .hospital_id
        .ok_or_else(|| AppError::required("hospital_id"))?;
    let person = input
        .person_id
        .ok_or_else(|| AppError::required("person_id"))?;
    crate::capability::require(
        state,
        actor,
        Capability::FrontDesk(hospital),
        "visit.record",
    )
    .await?;
    if crate::identity::store::person(&state.db, person)
        .await?
        .is_none()
    {
        return Err(AppError::invalid(
            "person_id",
            format!("no person with id {person}"),
        ));
    }
    // A doctor named on a visit must be a doctor practising here: not a patient's account,
    // not another hospital's doctor, not a number that names nobody.
    if let Some(doctor) = input.doctor_id {
        if !crate::directory::store::has_active_site(&state.db, doctor, hospital).await? {
            return Err(AppError::invalid(
                "doctor_id",
                format!("no doctor with id {doctor} practises at this hospital"),
            ));
        }
    }
    if let Some(d) = input.department_id {
        if crate::directory::store::department_hospital(&state.db, d).await? != Some(hospital) {
            return Err(AppError::invalid(
                "department_id",
                "is not a department of this hospital",
            ));
        }
    }
    let now = state.now_ms();
    let day = cst_today(now).to_string();
    let mut tx = state.db.begin().await?;
    let visit = NewVisit {
        hospital,
        department: input.department_id,
        doctor: input.doctor_id,
        person,
        day: &day,
        source: "walk_in",
        appointment: None,
        recorded_by: me.account_id,
    };
    let id = record_visit(&mut tx, &visit, now).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "visit.walk_in", "visit")
            .object(id)
            .patient(person),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// One row of the statistics: a hospital's department (`scope` "department"; a null id holds
/// what has no department) or the whole hospital (`scope` "hospital") on one day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Row {
    pub day: String,
    pub hospital_id: i64,
    pub scope: &'static str,
    pub department_id: Option<i64>,
    pub visits: i64,
    pub booked_visits: i64,
    /// booked_visits / visits; null without visits.
    pub appointment_rate: Option<f64>,
    pub appointments: i64,
    pub time_slot_appointments: i64,
    /// time_slot_appointments / appointments; null without appointments.
    pub time_slot_rate: Option<f64>,
}

/// (day, hospital, whole hospital?, department).
type Key = (String, i64, bool, Option<i64>);

/// Statistics for days `from..=to`: one row per hospital, department and day, and one per
/// hospital and day (`department_id` null). Regulators and platform administrators see every
/// hospital; a hospital's administrators their own.
pub async fn appointment_statistics(
    state: &AppState,
    actor: &Actor,
    (from, to): (NaiveDate, NaiveDate),
    hospital: Option<i64>,
) -> AppResult<Vec<Row>> {
    let me = actor.require()?;
    let hospital = match me.role {
        Role::Regulator | Role::PlatformAdmin => hospital,
        Role::HospitalAdmin if hospital.is_none() || hospital == me.hospital_id => me.hospital_id,
        Role::HospitalAdmin => {
            return Err(AppError::Forbidden(
                "a hospital's administrators see their own hospital's statistics".to_owned(),
            ));
        }
        role => {
            return Err(AppError::Forbidden(format!(
                "a {role} may not read supervision statistics"
            )));
        }
    };
    if to < from || (to - from).num_days() > 366 {
        return Err(AppError::invalid(
            "to",
            "must be on or after from, at most a year later",
        ));
    }
    let (from, to) = (from.to_string(), to.to_string());
    let visits = store::visit_counts(&state.db, (&from, &to), hospital).await?;
    let appointments = store::appointment_counts(&state.db, (&from, &to), hospital).await?;
    let mut rows: BTreeMap<Key, Row> = BTreeMap::new();
    let mut add = |(day, h, d): (String, i64, Option<i64>), f: &dyn Fn(&mut Row)| {
        for k in [(day.clone(), h, true, None), (day.clone(), h, false, d)] {
            let row = rows.entry(k.clone()).or_insert_with(|| Row {
                day: k.0.clone(),
                hospital_id: k.1,
                scope: if k.2 { "hospital" } else { "department" },
                department_id: k.3,
                ..Row::default()
            });
            f(row);
        }
    };
    for (day, h, d, all, booked) in visits {
        add((day, h, d), &|r| {
            r.visits += all;
            r.booked_visits += booked;
        });
    }
    for (day, h, d, all, timed) in appointments {
        add((day, h, d), &|r| {
            r.appointments += all;
            r.time_slot_appointments += timed;
        });
    }
    let ratio =
        |a: i64, b: i64| (b > 0).then(|| (a as f64 / b as f64 * 10_000.0).round() / 10_000.0);
    Ok(rows
        .into_values()
        .map(|mut r| {
            r.appointment_rate = ratio(r.booked_visits, r.visits);
            r.time_slot_rate = ratio(r.time_slot_appointments, r.appointments);
            r
        })
        .collect())
}
