//! A hospital's screening rules: versions, who may change them, and the screener made from the
//! current one.
//!
//! Every change (an outbreak area added or ended, a rule edited) is a new version with a note
//! and its author, so each flag names the rules that raised it and the history shows what
//! changed. A hospital that never changed its rules screens with the built-in default
//! (version 0, `crates/triage/data/screening.toml`) plus the outbreak areas of the
//! configuration (`--outbreak-areas`), which the triage page has always used.

use std::sync::Arc;

use serde::Serialize;
use triage::screening::{Area, RuleSet, Screener};

use super::store;
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::error::{AppError, AppResult, FieldError, Reason};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::ttl_cache::TtlCache;

/// A version ready to screen with.
#[derive(Debug)]
pub struct Current {
    pub version: i64,
    pub screener: Screener,
}

/// The current rules per hospital, believed for ten seconds: screening runs on every patient
/// message, a rule change is rare, and another server sees a change within ten seconds (the
/// server that made it at once).
pub fn memory() -> TtlCache<i64, Arc<Current>> {
    TtlCache::new(10_000, 10_000)
}

/// The built-in default with the configured outbreak areas (from the first day of the epoch:
/// the configuration gives no dates).
fn default_set(state: &AppState) -> AppResult<RuleSet> {
    let mut set = RuleSet::default_set().map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
    set.areas = state
        .config
        .triage
        .outbreak_areas
        .iter()
        .map(|name| Area {
            name: name.clone(),
            aliases: Vec::new(),
            region: String::new(),
            from: "1970-01-01".to_owned(),
            until: None,
        })
        .collect();
    Ok(set)
}

/// The rules a hospital screens with now.
pub async fn current(state: &AppState, hospital: i64) -> AppResult<Arc<Current>> {
    let now = state.now_ms();
    if let Some(c) = state.screening_rules.get(&hospital, now) {
        return Ok(c);
    }
    let (version, set) = match store::latest_rule_set(&state.db, hospital).await? {
        Some(row) => (
            row.version,
            serde_json::from_str::<RuleSet>(&row.body)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("rule set {}: {e}", row.id)))?,
        ),
        None => (0, default_set(state)?),
    };
    let screener = Screener::new(set)
        .map_err(|p| AppError::Internal(anyhow::anyhow!("stored rule set is invalid: {p:?}")))?;
    let c = Arc::new(Current { version, screener });
    state.screening_rules.put(hospital, c.clone(), now);
    Ok(c)
}

/// One version as the history shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Version {
    pub version: i64,
    pub note: String,
    pub created_by: Option<i64>,
    pub created_at: i64,
}

/// The rules now, and the history, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RulesView {
    pub hospital_id: i64,
    pub version: i64,
    pub rules: RuleSet,
    pub history: Vec<Version>,
    /// Whether the reader may change them.
    #[serde(skip)]
    pub editable: bool,
}

/// The hospital the actor's rules are: an officer's own; a regulator or platform
/// administrator names one.
fn hospital_of(actor: &Actor, asked: Option<i64>, change: bool) -> AppResult<i64> {
    let me = actor.require()?;
    match me.role {
        Role::InfectionOfficer => me
            .hospital_id
            .ok_or_else(|| AppError::Forbidden("your account belongs to no hospital".to_owned())),
        Role::Regulator | Role::PlatformAdmin if !change => {
            asked.ok_or_else(|| AppError::required("hospital_id"))
        }
        role => Err(AppError::Forbidden(format!(
            "a {role} may not {} screening rules",
            if change { "change" } else { "read" }
        ))),
    }
}

pub async fn view(state: &AppState, actor: &Actor, hospital: Option<i64>) -> AppResult<RulesView> {
    let hospital = hospital_of(actor, hospital, false)?;
    let current = current(state, hospital).await?;
    let history = store::rule_sets(&state.db, hospital, 50)
        .await?
        .into_iter()
        .map(|r| Version {
            version: r.version,
            note: r.note,
            created_by: r.created_by,
            created_at: r.created_at,
        })
        .collect();
    Ok(RulesView {
        hospital_id: hospital,
        version: current.version,
        rules: current.screener.rule_set().clone(),
        history,
        editable: actor.require()?.role == Role::InfectionOfficer,
    })
}

/// Saves a new version of the officer's hospital's rules; every problem named by field
/// (`rules.area[0].from`).
pub async fn save(
    state: &AppState,
    actor: &Actor,
    set: RuleSet,
    note: &str,
) -> AppResult<RulesView> {
    let hospital = hospital_of(actor, None, true)?;
    let me = actor.require()?;
    let note = note.trim();
    let mut errors: Vec<FieldError> = Vec::new();
    if note.is_empty() || note.chars().count() > 200 {
        errors.push(FieldError::new(
            "note",
            "say in 1 to 200 characters what changed and why",
        ));
    }
    if let Err(problems) = set.validate() {
        errors.extend(
            problems
                .into_iter()
                .map(|p| FieldError::new(format!("rules.{}", p.field), p.message)),
        );
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let body = serde_json::to_string(&set).map_err(|e| AppError::Internal(e.into()))?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let version =
        match store::insert_rule_set(&mut tx, hospital, &body, note, me.account_id, now).await {
            Ok(v) => v,
            Err(e) if crate::db::is_unique_violation(&e) => {
                return Err(AppError::refused(
                    Reason::ChangedMeanwhile,
                    "another officer changed the rules at the same moment; reload and try again"
                        .to_owned(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "screening_rules.change", "hospital")
            .object(hospital)
            .reason(format!("version {version}: {note}")),
    )
    .await?;
    tx.commit().await?;
    state.screening_rules.forget(&hospital);
    view(state, actor, None).await
}

/// An outbreak area as an officer adds it on the page.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AreaInput {
    #[serde(default)]
    pub name: String,
    /// Comma-separated.
    #[serde(default)]
    pub aliases: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub until: String,
}

/// Adds an area to the current rules (a new version).
pub async fn add_area(state: &AppState, actor: &Actor, input: &AreaInput) -> AppResult<RulesView> {
    let hospital = hospital_of(actor, None, true)?;
    let mut set = current(state, hospital).await?.screener.rule_set().clone();
    let name = input.name.trim().to_owned();
    let area = Area {
        name: name.clone(),
        aliases: input
            .aliases
            .split([',', '，', '、'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
        region: input.region.trim().to_owned(),
        from: input.from.trim().to_owned(),
        until: Some(input.until.trim().to_owned()).filter(|u| !u.is_empty()),
    };
    let index = set.areas.len();
    set.areas.push(area);
    // Name the form's fields, not the document's.
    if let Err(problems) = set.validate() {
        let prefix = format!("area[{index}].");
        let errors: Vec<FieldError> = problems
            .into_iter()
            .map(|p| match p.field.strip_prefix(&prefix) {
                Some(field) => FieldError::new(field, p.message),
                None => FieldError::new(format!("rules.{}", p.field), p.message),
            })
            .collect();
        return Err(AppError::Validation(errors));
    }
    save(state, actor, set, &format!("新增疫区 {name}")).await
}

/// Ends an area today (CST): travel there still counts for the window.
pub async fn end_area(state: &AppState, actor: &Actor, index: usize) -> AppResult<RulesView> {
    let hospital = hospital_of(actor, None, true)?;
    let mut set = current(state, hospital).await?.screener.rule_set().clone();
    let today = crate::time::cst_today(state.now_ms()).to_string();
    let Some(area) = set.areas.get_mut(index) else {
        return Err(AppError::NotFound(format!("no outbreak area {index}")));
    };
    if area.until.is_some() {
        return Err(AppError::wrong_state(format!(
            "{} has already ended",
            area.name
        )));
    }
    area.until = Some(today.clone());
    let note = format!("{} 疫情结束于 {today}", area.name);
    save(state, actor, set, &note).await
}
