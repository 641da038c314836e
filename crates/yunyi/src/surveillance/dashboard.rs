//! What the surveillance dashboard shows besides the cases: the alerts, a chart of each
//! unclosed alert's series, the regions' counts of the last week, and the counts as CSV.
//! Counts are aggregates (no person in them): officers and regulators see every region's.

use chrono::Duration;
use serde::Serialize;

use super::scan::{self, Daily};
use super::store::{self, AlertRow};
use super::{chart, screen};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::time::cst_today;

/// Charts drawn at most (one per unclosed alert, newest first).
const MAX_CHARTS: usize = 6;
/// Rows of the region table.
const MAX_REGIONS: usize = 30;

#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub alert_id: i64,
    pub syndrome: String,
    pub region: String,
    pub svg: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RegionRow {
    pub region: String,
    pub syndrome: String,
    pub last_7_days: i64,
    pub today: i64,
    pub alert: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub alerts: Vec<AlertRow>,
    pub charts: Vec<Chart>,
    pub regions: Vec<RegionRow>,
    pub today: String,
}

fn require_reader(actor: &Actor) -> AppResult<()> {
    let me = actor.require()?;
    match me.role {
        Role::InfectionOfficer | Role::Regulator | Role::PlatformAdmin => Ok(()),
        role => Err(AppError::Forbidden(format!(
            "a {role} does not see surveillance figures"
        ))),
    }
}

pub async fn overview(state: &AppState, actor: &Actor) -> AppResult<Overview> {
    require_reader(actor)?;
    let alerts = scan::alerts(state, actor).await?;
    let today = cst_today(state.now_ms());
    let start = today - Duration::days(scan::HISTORY_DAYS - 1);
    let mut charts = Vec::new();
    for a in alerts
        .iter()
        .filter(|a| a.status != "closed")
        .take(MAX_CHARTS)
    {
        let rows = store::series(
            &state.db,
            &a.syndrome,
            &a.region,
            &start.to_string(),
            &today.to_string(),
        )
        .await?;
        let daily = scan::dense(&rows, start, today)
            .into_iter()
            .next()
            .unwrap_or(Daily {
                syndrome: a.syndrome.clone(),
                region: a.region.clone(),
                start,
                counts: vec![0.0; scan::HISTORY_DAYS as usize],
            });
        charts.push(Chart {
            alert_id: a.id,
            svg: chart::svg(&daily, &format!("{} · {}", a.syndrome, a.region))?,
            syndrome: a.syndrome.clone(),
            region: a.region.clone(),
        });
    }
    let week_start = today - Duration::days(6);
    let rows = store::day_counts(&state.db, &week_start.to_string(), &today.to_string()).await?;
    let today_s = today.to_string();
    let mut regions: Vec<RegionRow> = Vec::new();
    for r in rows {
        let at = match regions
            .iter()
            .position(|x| x.region == r.region && x.syndrome == r.syndrome)
        {
            Some(i) => i,
            None => {
                regions.push(RegionRow {
                    alert: alerts.iter().any(|a| {
                        a.status != "closed" && a.region == r.region && a.syndrome == r.syndrome
                    }),
                    region: r.region.clone(),
                    syndrome: r.syndrome.clone(),
                    last_7_days: 0,
                    today: 0,
                });
                regions.len() - 1
            }
        };
        regions[at].last_7_days += r.n;
        if r.day == today_s {
            regions[at].today += r.n;
        }
    }
    regions.sort_by(|a, b| {
        b.alert
            .cmp(&a.alert)
            .then(b.last_7_days.cmp(&a.last_7_days))
            .then(a.region.cmp(&b.region))
    });
    regions.truncate(MAX_REGIONS);
    Ok(Overview {
        alerts,
        charts,
        regions,
        today: today_s,
    })
}

/// The daily counts from `from` to `to` (CST days, at most a year) as CSV:
/// `day,region,syndrome,count`, UTF-8 with a BOM for spreadsheets.
pub async fn counts_csv(
    state: &AppState,
    actor: &Actor,
    from: Option<&str>,
    to: Option<&str>,
) -> AppResult<String> {
    require_reader(actor)?;
    let today = cst_today(state.now_ms());
    let parse = |field: &'static str, raw: Option<&str>, default: chrono::NaiveDate| match raw {
        None | Some("") => Ok(default),
        Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| AppError::field(crate::error::FieldError::date(field, "2026-11-20"))),
    };
    let to = parse("to", to, today)?;
    let from = parse("from", from, to - Duration::days(27))?;
    if from > to {
        return Err(AppError::invalid("from", "must not be after to"));
    }
    if (to - from).num_days() > 366 {
        return Err(AppError::invalid("from", "at most a year at a time"));
    }
    let rows = store::day_counts(&state.db, &from.to_string(), &to.to_string()).await?;
    let mut out = String::from("\u{feff}day,region,syndrome,count\n");
    let mut sorted = rows;
    sorted.sort_by(|a, b| (&a.day, &a.region, &a.syndrome).cmp(&(&b.day, &b.region, &b.syndrome)));
    for r in sorted {
        out.push_str(&format!("{},{},{},{}\n", r.day, r.region, r.syndrome, r.n));
    }
    Ok(out)
}

/// One day's counts per series (for the FHIR MeasureReport).
pub async fn day_rows(
    state: &AppState,
    actor: &Actor,
    day: chrono::NaiveDate,
) -> AppResult<Vec<store::DayCount>> {
    require_reader(actor)?;
    let d = day.to_string();
    Ok(store::day_counts(&state.db, &d, &d).await?)
}

/// The region an officer's hospital counts under (for the dashboard's heading).
pub async fn my_region(state: &AppState, actor: &Actor) -> AppResult<Option<String>> {
    let me = actor.require()?;
    match (me.role, me.hospital_id) {
        (Role::InfectionOfficer, Some(h)) => Ok(Some(screen::hospital_region(state, h).await?)),
        _ => Ok(None),
    }
}
