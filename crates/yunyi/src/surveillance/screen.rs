//! Screening where patients speak: the consultation's intake (in its request's transaction),
//! each text message the patient side sends (right after it is stored), and triage.
//!
//! A consultation's signals add up: each new piece is read alone (fast: no database when it
//! shows nothing) and evaluated together with what the consultation showed before. A rule
//! that fires is counted once per consultation for its syndrome; the first flagging rule
//! opens a suspected case for the hospital's infection officers (see [`super::cases`]).

use triage::screening::{Evidence, Facts, Hit, Signals, parse_day};

use super::rules::{self, Current};
use super::{cases, store};
use crate::app::AppState;
use crate::audit::AuditActor;
use crate::consult::model::Intake;
use crate::consult::store::ConsultationRow;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::time::cst_today;

/// Region code when none is known.
pub const UNKNOWN_REGION: &str = "000000";

/// The consultation a piece belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Subject {
    pub consultation: i64,
    pub person: i64,
    pub hospital: i64,
}

fn today_days(now: i64) -> i32 {
    parse_day(&cst_today(now).to_string()).unwrap_or(0)
}

fn screening_error(e: triage::Error) -> AppError {
    match e {
        triage::Error::Input(e) => AppError::invalid(e.field, e.message),
        triage::Error::Knowledge(e) => AppError::Internal(anyhow::Error::new(e)),
    }
}

/// Screens a consultation's intake in the request's transaction.
pub async fn intake(
    state: &AppState,
    tx: &mut Tx,
    subject: Subject,
    intake: &Intake,
    now: i64,
) -> AppResult<()> {
    let current = rules::current(state, subject.hospital).await?;
    let screener = &current.screener;
    let today = today_days(now);
    let age_years = crate::identity::store::person(&state.db, subject.person)
        .await?
        .and_then(|p| chrono::NaiveDate::parse_from_str(&p.birth_date, "%Y-%m-%d").ok())
        .and_then(|born| cst_today(now).years_since(born));
    let facts = Facts {
        temperature_c: intake.temperature_dc.map(|dc| dc as f32 / 10.0),
        travel: intake.outbreak_area_travel.then(|| {
            (
                intake.travel_region.clone().unwrap_or_default(),
                intake.travel_returned_on.as_deref().and_then(parse_day),
            )
        }),
        contact: intake.confirmed_case_contact,
        cluster: intake.cluster,
        age_years,
    };
    let mut signals = screener.read_facts("intake", &facts, today);
    let complaint = screener
        .read("intake.chief_complaint", &intake.chief_complaint, today)
        .map_err(screening_error)?;
    signals.merge(&complaint);
    for (i, s) in intake.symptoms.iter().enumerate() {
        let read = screener
            .read(&format!("intake.symptoms[{i}]"), &s.name, today)
            .map_err(screening_error)?;
        signals.merge(&read);
    }
    apply(state, tx, subject, &current, &signals, now).await
}

/// Screens a text message from the patient's side once it is stored. A failure here must not
/// undo the message the patient sent: it is logged, and the next message screens again with
/// everything shown so far.
pub async fn message(state: &AppState, c: &ConsultationRow, seq: i64, text: &str) {
    if let Err(e) = try_message(state, c, seq, text).await {
        tracing::error!(consultation = c.id, seq, error = %e, "screening a message failed");
    }
}

async fn try_message(state: &AppState, c: &ConsultationRow, seq: i64, text: &str) -> AppResult<()> {
    let current = rules::current(state, c.hospital_id).await?;
    let now = state.now_ms();
    let signals = current
        .screener
        .read(&format!("message:{seq}"), text, today_days(now))
        .map_err(screening_error)?;
    if signals.is_empty() {
        return Ok(());
    }
    let subject = Subject {
        consultation: c.id,
        person: c.person_id,
        hospital: c.hospital_id,
    };
    let mut tx = state.db.begin().await?;
    apply(state, &mut tx, subject, &current, &signals, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Stores the new signals, evaluates everything the consultation showed, counts each rule
/// the first time it fires, and opens a case on the first flagging rule.
async fn apply(
    state: &AppState,
    tx: &mut Tx,
    subject: Subject,
    current: &Current,
    new: &Signals,
    now: i64,
) -> AppResult<()> {
    if new.is_empty() {
        return Ok(());
    }
    for (signal, e) in &new.0 {
        let row = store::SignalRow {
            signal: signal.clone(),
            source: e.source.clone(),
            quote: e.quote.clone(),
        };
        store::insert_signal(tx, subject.consultation, &row, now).await?;
    }
    let mut all = Signals::default();
    for row in store::signals(tx, subject.consultation).await? {
        all.0.insert(
            row.signal,
            Evidence {
                source: row.source,
                quote: row.quote,
            },
        );
    }
    let hits = current.screener.evaluate(&all);
    if hits.is_empty() {
        return Ok(());
    }
    let region = hospital_region(state, subject.hospital).await?;
    let day = cst_today(now).to_string();
    let mut flagging: Option<&Hit> = None;
    for hit in &hits {
        let first = store::insert_hit(
            tx,
            subject.consultation,
            &hit.rule,
            &hit.syndrome,
            current.version,
            now,
        )
        .await?;
        if first && !hit.syndrome.is_empty() {
            let count = store::Count {
                day: &day,
                region: &region,
                syndrome: &hit.syndrome,
                source: "intake",
                hospital: subject.hospital,
            };
            store::add_count(tx, &count, 1).await?;
        }
        if hit.flag && flagging.is_none() {
            flagging = Some(hit);
        }
    }
    if let Some(hit) = flagging {
        let flag = cases::NewFlag {
            subject,
            rule_id: &hit.rule,
            rule_name: &hit.name,
            rule_version: current.version,
            evidence: hit.evidence.clone(),
            flagged_by: None,
            syndrome: &hit.syndrome,
            region: &region,
        };
        cases::open(tx, &flag, &AuditActor::system(), now).await?;
    }
    Ok(())
}

/// The hospital's GB/T 2260 code (where its counts are counted).
pub async fn hospital_region(state: &AppState, hospital: i64) -> AppResult<String> {
    Ok(crate::directory::store::get_hospital(&state.db, hospital)
        .await?
        .map(|h| h.region_code)
        .filter(|r| r.len() == 6)
        .unwrap_or_else(|| UNKNOWN_REGION.to_owned()))
}

/// Counts a triage's syndromes (anonymous: no flag, nobody to contact — the triage page
/// already sends the patient to the fever clinic). Under the chosen hospital's rules and
/// region, or the default rules and an unknown region.
pub async fn triage(state: &AppState, hospital: Option<i64>, text: &str) -> AppResult<()> {
    let now = state.now_ms();
    let (current, region) = match hospital {
        Some(h) => (
            rules::current(state, h).await?,
            hospital_region(state, h).await?,
        ),
        None => (rules::current(state, 0).await?, UNKNOWN_REGION.to_owned()),
    };
    let signals = current
        .screener
        .read("triage", text, today_days(now))
        .map_err(screening_error)?;
    let mut syndromes: Vec<String> = current
        .screener
        .evaluate(&signals)
        .into_iter()
        .map(|h| h.syndrome)
        .filter(|s| !s.is_empty())
        .collect();
    syndromes.sort();
    syndromes.dedup();
    if syndromes.is_empty() {
        return Ok(());
    }
    let day = cst_today(now).to_string();
    let mut tx = state.db.begin().await?;
    for syndrome in &syndromes {
        let count = store::Count {
            day: &day,
            region: &region,
            syndrome,
            source: "triage",
            hospital: hospital.unwrap_or(0),
        };
        store::add_count(&mut tx, &count, 1).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Sentinel drugs by ATC prefix, and the series their prescriptions are counted in: more
/// antipyretics, antivirals or antidiarrhoeals prescribed is an early sign (多点触发).
pub const SENTINELS: [(&str, &str); 4] = [
    ("N02B", "rx_antipyretic"),
    ("M01A", "rx_antipyretic"),
    ("J05", "rx_antiviral"),
    ("A07", "rx_antidiarrhoeal"),
];

/// The sentinel series a prescription's drugs (their ATC codes) count in, each once.
pub fn sentinel_series<'a>(atc_codes: impl IntoIterator<Item = &'a str>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = atc_codes
        .into_iter()
        .filter_map(|atc| {
            SENTINELS
                .iter()
                .find(|(prefix, _)| atc.starts_with(prefix))
                .map(|(_, series)| *series)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Counts a signed prescription's sentinel drugs, in its transaction.
pub async fn prescription(
    state: &AppState,
    tx: &mut Tx,
    hospital: i64,
    drug_ids: &[i64],
    now: i64,
) -> AppResult<()> {
    let mut codes = Vec::with_capacity(drug_ids.len());
    for id in drug_ids {
        if let Some(atc) = crate::pharmacy::store::drug(&state.db, *id)
            .await?
            .and_then(|d| d.atc_code)
        {
            codes.push(atc);
        }
    }
    let series = sentinel_series(codes.iter().map(String::as_str));
    if series.is_empty() {
        return Ok(());
    }
    let region = hospital_region(state, hospital).await?;
    let day = cst_today(now).to_string();
    for syndrome in series {
        let count = store::Count {
            day: &day,
            region: &region,
            syndrome,
            source: "prescription",
            hospital,
        };
        store::add_count(tx, &count, 1).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sentinel_drugs_count_once_per_series() {
        assert_eq!(
            super::sentinel_series(["N02BE01", "M01AE01", "J05AH02", "C08CA01"]),
            ["rx_antipyretic", "rx_antiviral"]
        );
        assert!(super::sentinel_series(["C09AA07"]).is_empty());
    }
}
