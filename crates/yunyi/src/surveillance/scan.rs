//! The scan for aberrations (多点触发预警): every series of daily counts (syndrome × region, all
//! points and hospitals summed) checked with EARS C1, C2, C3 and the Poisson CUSUM of the
//! `aberration` crate; an aberrant recent day raises an alert, deduplicated per series.
//!
//! A series is counted from several points (triage, consultation intakes and chat, flags,
//! positive results), so a rise seen by any of them moves it. The scan reads the last
//! [`HISTORY_DAYS`] days (the methods need 7 baseline days and a 2-day guard band) and judges
//! the last [`RECENT_DAYS`] (today's partial count, and two days back in case a run was
//! missed). A day alarms when two methods agree and at least [`MIN_COUNT`] were counted: one
//! method alone raises too many alarms to act on, and a single case after a week of zeros is
//! a flag's business, not an outbreak's.
//!
//! Deduplication: while a series has an alert that is not closed, a later aberrant day
//! extends it (`last_day`, `days`); once closed, only a day after its `last_day` raises a new
//! one. The database keeps at most one unclosed alert per series (a partial unique index).

use std::collections::{BTreeMap, HashMap};

use aberration::{Cusum, Method, Point, Series};
use chrono::{Duration, NaiveDate};
use serde::Serialize;

use super::store::{self, AlertRow, AlertStatus, DayCount};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::error::{AppError, AppResult, Reason};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::jobs::{Job, JobContext, JobResult};
use crate::notification::model::{Event, Notice};
use crate::time::cst_today;

/// Days read per run.
pub const HISTORY_DAYS: i64 = 28;
/// Days judged per run, ending today.
pub const RECENT_DAYS: usize = 3;
/// The fewest counted on a day for an alert.
pub const MIN_COUNT: f64 = 3.0;
/// How many of the four methods must agree on a day. One alone alarms too often to act on:
/// C3 at its default α = 0.025 flags 2.5% of ordinary days by design, and a 7-day standard
/// deviation is a rough one (measured on 60,000 noisy series: see docs/PERFORMANCE.md).
pub const MIN_METHODS: usize = 2;
/// EARS baseline, days (as R's `earsC` default).
pub const BASELINE: usize = 7;

/// The methods in the order an alert names the first that alarmed.
const METHODS: [&str; 4] = ["c1", "c2", "c3", "cusum"];

/// One series: its days from `start`, zeros filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Daily {
    pub syndrome: String,
    pub region: String,
    pub start: NaiveDate,
    pub counts: Vec<f64>,
}

/// Groups the store's rows (in any order; several rows of a series and day add up) into
/// dense series from `start` to `end`.
pub fn dense(rows: &[DayCount], start: NaiveDate, end: NaiveDate) -> Vec<Daily> {
    let days = (end - start).num_days().max(0) as usize + 1;
    let mut series: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    for r in rows {
        let Ok(day) = NaiveDate::parse_from_str(&r.day, "%Y-%m-%d") else {
            continue;
        };
        let at = (day - start).num_days();
        if at < 0 || at as usize >= days {
            continue;
        }
        series
            .entry((r.syndrome.as_str(), r.region.as_str()))
            .or_insert_with(|| vec![0.0; days])[at as usize] += r.n as f64;
    }
    series
        .into_iter()
        .map(|((syndrome, region), counts)| Daily {
            syndrome: syndrome.to_owned(),
            region: region.to_owned(),
            start,
            counts,
        })
        .collect()
}

/// What a method found on a day.
#[derive(Debug, Clone, PartialEq)]
pub struct Aberration {
    pub day: NaiveDate,
    pub method: &'static str,
    pub count: f64,
    pub threshold: f64,
}

/// Every method's points for a series: C1, C2, C3, CUSUM.
pub fn points(counts: &[f64]) -> AppResult<[Vec<Point>; 4]> {
    let s = Series::new(counts, BASELINE);
    let ears = |m| {
        s.ears(m, None, 0.0)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
    };
    Ok([
        ears(Method::C1)?,
        ears(Method::C2)?,
        ears(Method::C3)?,
        s.cusum(&Cusum::default()),
    ])
}

/// Whether day `t` alarms by the scan's rule (at least [`MIN_METHODS`] methods agree): the
/// first method in [`METHODS`] order that alarmed, and its threshold. (The count's minimum is
/// the caller's.)
pub fn alarm_on(all: &[Vec<Point>; 4], t: usize) -> Option<(&'static str, f64)> {
    let alarmed: Vec<(&'static str, f64)> = METHODS
        .iter()
        .zip(all)
        .filter(|(_, pts)| pts.get(t).is_some_and(|p| p.alarm == Some(true)))
        .map(|(method, pts)| (*method, pts[t].upper.unwrap_or(0.0)))
        .collect();
    if alarmed.len() < MIN_METHODS {
        return None;
    }
    alarmed.first().copied()
}

/// The aberrant days among the last `recent` of a series, one per day: at least
/// [`MIN_METHODS`] methods alarmed and at least [`MIN_COUNT`] were counted (the alert names
/// the first method in [`METHODS`] order that alarmed, and its threshold).
pub fn aberrations(d: &Daily, recent: usize) -> AppResult<Vec<Aberration>> {
    let all = points(&d.counts)?;
    let first = d.counts.len().saturating_sub(recent);
    let mut out = Vec::new();
    for t in first..d.counts.len() {
        let count = d.counts[t];
        if count < MIN_COUNT {
            continue;
        }
        if let Some((method, threshold)) = alarm_on(&all, t) {
            out.push(Aberration {
                day: d.start + Duration::days(t as i64),
                method,
                count,
                threshold,
            });
        }
    }
    Ok(out)
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub series: usize,
    pub raised: usize,
    pub extended: usize,
}

/// What the run knows of a series' latest alert.
struct Latest {
    id: i64,
    open: bool,
    last_day: String,
}

/// Scans every series up to `today` and raises or extends alerts, in one transaction (the
/// series' recent alerts read once, not per aberration).
pub async fn run(state: &AppState, today: NaiveDate) -> AppResult<Outcome> {
    let start = today - Duration::days(HISTORY_DAYS - 1);
    let rows = store::window_counts(&state.db, &start.to_string(), &today.to_string()).await?;
    let series = dense(&rows, start, today);
    drop(rows);
    let mut outcome = Outcome {
        series: series.len(),
        ..Outcome::default()
    };
    let mut found = Vec::new();
    for d in &series {
        for a in aberrations(d, RECENT_DAYS)? {
            found.push((d, a));
        }
    }
    if found.is_empty() {
        return Ok(outcome);
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    // Unclosed alerts, and closed ones recent enough to hold back a day they already covered.
    let since = (today - Duration::days(RECENT_DAYS as i64)).to_string();
    let mut latest: HashMap<(String, String), Latest> = HashMap::new();
    for a in store::recent_alerts(&mut tx, &since).await? {
        let candidate = Latest {
            id: a.id,
            open: a.status != "closed",
            last_day: a.last_day,
        };
        let key = (a.syndrome, a.region);
        let better = latest
            .get(&key)
            .is_none_or(|cur| (candidate.open, &candidate.last_day) > (cur.open, &cur.last_day));
        if better {
            latest.insert(key, candidate);
        }
    }
    let mut officers: HashMap<String, Vec<i64>> = HashMap::new();
    for (d, a) in found {
        let day = a.day.to_string();
        let key = (d.syndrome.clone(), d.region.clone());
        match latest.get_mut(&key) {
            Some(open) if open.open => {
                if day > open.last_day {
                    store::extend_alert(&mut tx, open.id, &day, now).await?;
                    open.last_day = day;
                    outcome.extended += 1;
                }
            }
            Some(closed) if day <= closed.last_day => {}
            _ => {
                let Some(id) = store::insert_alert(
                    &mut tx,
                    &store::NewAlert {
                        syndrome: &d.syndrome,
                        region: &d.region,
                        day: &day,
                        method: a.method,
                        count: a.count as i64,
                        statistic: a.count,
                        threshold: a.threshold,
                    },
                    now,
                )
                .await?
                else {
                    continue;
                };
                if !officers.contains_key(&d.region) {
                    let found = store::officers_in_region(&mut tx, &d.region).await?;
                    officers.insert(d.region.clone(), found);
                }
                for officer in officers.get(&d.region).into_iter().flatten() {
                    let notice = Notice::new(*officer, Event::EpiAlert, format!("alert:{id}"))
                        .param("alert", id.to_string())
                        .param("region", d.region.clone())
                        .param("syndrome", d.syndrome.clone())
                        .param("day", day.to_string())
                        .param("count", a.count.to_string())
                        .param("threshold", format!("{:.1}", a.threshold))
                        .param("method", a.method.to_uppercase())
                        .link("/surveillance");
                    crate::notification::service::notify(&mut tx, &notice, now).await?;
                }
                latest.insert(
                    key,
                    Latest {
                        id,
                        open: true,
                        last_day: day,
                    },
                );
                outcome.raised += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(outcome)
}

/// `surveillance.scan`: runs the scan for today (CST) every hour, so a rise counted this
/// morning is seen this morning; deduplication makes the repeats harmless.
pub struct ScanJob(pub AppState);

pub const KIND: &str = "surveillance.scan";

crate::empty_payload!(
    /// The payload of `ScanJob`: none, it looks for what is due.
    ScanJobDue = KIND
);

impl Job for ScanJob {
    type Payload = ScanJobDue;

    async fn run(&self, _ctx: &JobContext, _: ScanJobDue) -> JobResult {
        let outcome = run(&self.0, cst_today(self.0.now_ms()))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if outcome.raised > 0 || outcome.extended > 0 {
            tracing::info!(?outcome, "surveillance scan raised alerts");
        }
        Ok(())
    }
}

/// Who sees and acts on alerts: regulators and platform administrators all; an officer
/// those of their hospital's region.
async fn alert_scope(state: &AppState, actor: &Actor) -> AppResult<Option<String>> {
    let me = actor.require()?;
    match me.role {
        Role::Regulator | Role::PlatformAdmin => Ok(None),
        Role::InfectionOfficer => {
            let hospital = me.hospital_id.ok_or_else(|| {
                AppError::Forbidden("your account belongs to no hospital".to_owned())
            })?;
            Ok(Some(super::screen::hospital_region(state, hospital).await?))
        }
        role => Err(AppError::Forbidden(format!(
            "a {role} does not see surveillance alerts"
        ))),
    }
}

/// The alerts the actor sees: unclosed first, newest first.
pub async fn alerts(state: &AppState, actor: &Actor) -> AppResult<Vec<AlertRow>> {
    let region = alert_scope(state, actor).await?;
    Ok(store::alerts(&state.db, 200)
        .await?
        .into_iter()
        .filter(|a| region.as_ref().is_none_or(|r| *r == a.region))
        .collect())
}

/// One alert the actor sees (404 when it is not there or not in their scope).
pub async fn alert(state: &AppState, actor: &Actor, id: i64) -> AppResult<AlertRow> {
    let region = alert_scope(state, actor).await?;
    store::alert(&state.db, id)
        .await?
        .filter(|a| region.as_ref().is_none_or(|r| *r == a.region))
        .ok_or_else(|| AppError::NotFound(format!("no alert with id {id}")))
}

/// Who acts on alerts: the infection officers of the alert's region. Regulators and the
/// platform admin watch them (supervision is read-only).
pub fn may_act_on_alerts(role: Role) -> bool {
    role == Role::InfectionOfficer
}

/// Acknowledges (`acknowledge`) or closes (`close`) an alert; a note is required to close.
pub async fn act(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
    note: Option<&str>,
) -> AppResult<AlertRow> {
    let region = alert_scope(state, actor).await?;
    let me = actor.require()?;
    if !may_act_on_alerts(me.role) {
        return Err(AppError::refused(
            Reason::RoleRequired,
            format!(
                "only infection officers acknowledge or close alerts; a {} sees them",
                me.role
            ),
        ));
    }
    let alert = store::alert(&state.db, id)
        .await?
        .filter(|a| region.as_ref().is_none_or(|r| *r == a.region))
        .ok_or_else(|| AppError::NotFound(format!("no alert with id {id}")))?;
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 500) {
        return Err(AppError::invalid("note", "at most 500 characters"));
    }
    let (from, to): (&[AlertStatus], AlertStatus) = match action {
        "acknowledge" => (&[AlertStatus::Open], AlertStatus::Acknowledged),
        "close" => {
            if note.is_none() {
                return Err(AppError::invalid(
                    "note",
                    "say how the alert was resolved (e.g. 已核实，为学校聚集性疫情，已处置)",
                ));
            }
            (
                &[AlertStatus::Open, AlertStatus::Acknowledged],
                AlertStatus::Closed,
            )
        }
        _ => {
            return Err(AppError::NotFound(format!("no alert action {action}")));
        }
    };
    if !from.contains(&alert.status) {
        return Err(AppError::wrong_state(format!(
            "the alert is {}; it cannot be {to}",
            alert.status
        )));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::set_alert_status(&mut tx, id, alert.status, to, me.account_id, note, now).await? {
        return Err(AppError::refused(
            Reason::ChangedMeanwhile,
            "the alert changed meanwhile; reload".to_owned(),
        ));
    }
    audit::append(
        &mut tx,
        &NewEvent::new(
            actor.audit(),
            "surveillance_alert.update",
            "surveillance_alert",
        )
        .object(id)
        .reason(format!("{} → {to}", alert.status)),
    )
    .await?;
    tx.commit().await?;
    store::alert(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no alert with id {id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn row(syndrome: &str, region: &str, d: &str, n: i64) -> DayCount {
        DayCount {
            syndrome: syndrome.into(),
            region: region.into(),
            day: d.into(),
            n,
        }
    }

    #[test]
    fn rows_become_dense_series_with_zeros() {
        let rows = [
            row("ili", "420100", "2026-11-01", 2),
            row("ili", "420100", "2026-11-03", 5),
            row("ili", "440100", "2026-11-02", 1),
            row("ili", "440100", "2026-10-01", 9),
        ];
        let s = dense(&rows, day("2026-11-01"), day("2026-11-03"));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].region, "420100");
        assert_eq!(s[0].counts, [2.0, 0.0, 5.0]);
        assert_eq!(
            s[1].counts,
            [0.0, 1.0, 0.0],
            "a day outside the window is dropped"
        );
    }

    fn series(counts: &[f64]) -> Daily {
        Daily {
            syndrome: "ili".into(),
            region: "420100".into(),
            start: day("2026-10-01"),
            counts: counts.to_vec(),
        }
    }

    #[test]
    fn an_injected_outbreak_alarms_on_its_day_and_a_flat_series_never() {
        // Noisy but steady around 4 a day for four weeks, then 15 on the last day.
        let mut counts: Vec<f64> = (0..27).map(|i| [3.0, 4.0, 5.0, 4.0][i % 4]).collect();
        let flat = series(&counts);
        assert!(aberrations(&flat, 27).unwrap().is_empty());
        counts.push(15.0);
        let found = aberrations(&series(&counts), RECENT_DAYS).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].day, day("2026-10-28"));
        assert_eq!(found[0].method, "c1");
        assert_eq!(found[0].count, 15.0);
        assert!(found[0].threshold < 15.0);
        // A constant series (zero variance) alarms on no day.
        assert!(aberrations(&series(&[5.0; 28]), 28).unwrap().is_empty());
    }

    #[test]
    fn small_counts_do_not_alarm() {
        // One case after weeks of none: EARS alarms (zero variance), the scan does not.
        let mut counts = vec![0.0; 27];
        counts.push(1.0);
        let s = series(&counts);
        let c1 = &points(&s.counts).unwrap()[0];
        assert_eq!(c1[27].alarm, Some(true));
        assert!(aberrations(&s, RECENT_DAYS).unwrap().is_empty());
    }
}
