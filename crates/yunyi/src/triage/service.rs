//! Triage in the app: the crate's answer, where to go, the anonymised record, the choice.
//!
//! Anyone may triage, signed in or not: a frightened patient must not meet a login form before
//! being told to call 120. Nothing stored identifies the patient (no account, no text, the age
//! as a band), so the record is not patient data and needs no access decision or audit event;
//! the patient's own words stay in their browser.

use std::collections::BTreeSet;

use super::model::{
    CHOICES, ChoiceInput, DepartmentOption, DoctorOffer, Place, TriageAnswer, TriageRequest,
    age_band, covers,
};
use super::store;
use crate::app::AppState;
use crate::directory;
use crate::directory::store::DoctorQuery;
use crate::error::{AppError, AppResult};
use crate::time::{cst_display, cst_rfc3339, cst_today};

/// Departments for which places are looked up, hospitals per department, doctors per place.
const TOP_DEPARTMENTS: usize = 3;
const PLACES: usize = 3;
const DOCTORS: usize = 3;
/// How far ahead a free time counts.
const FREE_WITHIN_MS: i64 = 14 * 24 * 3_600_000;

/// Runs the crate on a request with the outbreak areas the screening rules count today (the
/// chosen hospital's, else the default ones with the configured areas); maps its input
/// errors to 422 naming the field.
pub async fn assess(state: &AppState, req: &TriageRequest) -> AppResult<triage::Triage> {
    let rules = crate::surveillance::rules::current(state, req.hospital_id.unwrap_or(0)).await?;
    let today = triage::screening::parse_day(&cst_today(state.now_ms()).to_string()).unwrap_or(0);
    let outbreak_areas = rules
        .screener
        .rule_set()
        .active_areas(today)
        .into_iter()
        .flat_map(|a| std::iter::once(a.name.clone()).chain(a.aliases.iter().cloned()))
        .collect();
    let input = triage::Input {
        text: req.text.clone(),
        age_years: req.age_years,
        age_months: req.age_months,
        sex: req.sex,
        pregnant: req.pregnant,
        outbreak_areas,
        confirmed_red_flags: req.confirmed_red_flags.clone(),
    };
    triage::triage(&input).map_err(|e| match e {
        triage::Error::Input(e) => AppError::invalid(e.field, e.message),
        triage::Error::Knowledge(e) => AppError::Internal(anyhow::Error::new(e)),
    })
}

/// A full triage: the result, the checklist still to ask, the hospitals' departments and
/// doctors with free time, and the anonymised record.
pub async fn triage(state: &AppState, req: &TriageRequest) -> AppResult<TriageAnswer> {
    if let Some(id) = req.hospital_id {
        let active = directory::store::get_hospital(&state.db, id)
            .await?
            .is_some_and(|h| h.status == "active");
        if !active {
            return Err(AppError::invalid(
                "hospital_id",
                "no active hospital with this id",
            ));
        }
    }
    let result = assess(state, req).await?;
    let checklist = if result.urgency == triage::Urgency::Emergency {
        Vec::new()
    } else {
        triage::checklist().map_err(|e| AppError::Internal(anyhow::Error::new(e)))?
    };
    let now = state.now_ms();
    let options = options(state, &result, req.hospital_id, now).await?;
    let token = uuid::Uuid::new_v4().simple().to_string();
    let codes: Vec<&str> = result.departments.iter().map(|d| d.code.as_str()).collect();
    let flags: Vec<&str> = result.red_flags.iter().map(|f| f.id.as_str()).collect();
    let months = match (req.age_years, req.age_months) {
        (None, None) => None,
        (y, m) => Some(
            y.unwrap_or(0)
                .saturating_mul(12)
                .saturating_add(m.unwrap_or(0)),
        ),
    };
    let sex = req.sex.map(|s| match s {
        triage::Sex::Female => "female",
        triage::Sex::Male => "male",
    });
    store::insert_record(
        &state.db,
        &store::NewRecord {
            token: &token,
            day: &cst_today(now).to_string(),
            hospital_id: req.hospital_id,
            age_band: age_band(months),
            sex,
            pregnant: req.pregnant == Some(true),
            urgency: urgency_str(result.urgency),
            departments: &codes.join(","),
            red_flags: &flags.join(","),
            screening: result.screening,
            follow_ups: i64::from(req.follow_ups.min(10)),
            knowledge_version: &result.knowledge_version,
        },
        now,
    )
    .await?;
    // Counted for syndromic surveillance; a failure to count does not withhold the advice.
    if let Err(e) = crate::surveillance::screen::triage(state, req.hospital_id, &req.text).await {
        tracing::error!(error = %e, "counting a triage for surveillance failed");
    }
    Ok(TriageAnswer {
        triage_id: token,
        result,
        checklist,
        options,
    })
}

pub fn urgency_str(u: triage::Urgency) -> &'static str {
    match u {
        triage::Urgency::Routine => "routine",
        triage::Urgency::Urgent => "urgent",
        triage::Urgency::Emergency => "emergency",
    }
}

/// For the best departments: the hospitals' matching departments (the same standard code
/// first, then its parent, then its subdivisions) and their doctors with free time soonest.
async fn options(
    state: &AppState,
    result: &triage::Triage,
    hospital: Option<i64>,
    now: i64,
) -> AppResult<Vec<DepartmentOption>> {
    let top = &result.departments[..result.departments.len().min(TOP_DEPARTMENTS)];
    let groups: BTreeSet<String> = top
        .iter()
        .map(|d| d.code.chars().take(2).collect())
        .collect();
    let groups: Vec<String> = groups.into_iter().collect();
    let departments = store::departments_in_groups(&state.db, &groups, hospital).await?;
    let mut out = Vec::with_capacity(top.len());
    // A hospital department is offered once, under the best suggestion it sees (07 儿科 would
    // otherwise repeat under 07.04 小儿呼吸 and 07.02 小儿传染病).
    let mut offered = BTreeSet::new();
    for suggested in top {
        let mut matching: Vec<(u8, &store::DepartmentRow)> = departments
            .iter()
            .filter_map(|d| covers(&d.std_code, &suggested.code).map(|rank| (rank, d)))
            .collect();
        let any = !matching.is_empty();
        matching.retain(|(_, d)| !offered.contains(&d.id));
        if any && matching.is_empty() {
            continue;
        }
        matching.sort_by_key(|(rank, d)| (*rank, d.hospital_id, d.id));
        let mut places = Vec::new();
        for (_, d) in matching.into_iter().take(PLACES) {
            offered.insert(d.id);
            places.push(Place {
                hospital_id: d.hospital_id,
                hospital_name: d.hospital_name.clone(),
                department_id: d.id,
                department_name: d.name.clone(),
                std_code: d.std_code.clone(),
                doctors: doctors_with_free_time(state, d, now).await?,
            });
        }
        out.push(DepartmentOption {
            code: suggested.code.clone(),
            name: suggested.name.clone(),
            name_en: suggested.name_en.clone(),
            score: suggested.score,
            places,
        });
    }
    Ok(out)
}

async fn doctors_with_free_time(
    state: &AppState,
    d: &store::DepartmentRow,
    now: i64,
) -> AppResult<Vec<DoctorOffer>> {
    let query = DoctorQuery {
        hospital_id: Some(d.hospital_id),
        department_id: Some(d.id),
        limit: 20,
        ..DoctorQuery::default()
    };
    let cards = directory::store::search_doctors(&state.db, &query).await?;
    let ids: Vec<i64> = cards.iter().map(|(_, c)| c.id).collect();
    let free = crate::scheduling::store::next_free(
        &state.db,
        Some(d.hospital_id),
        &ids,
        now,
        now + FREE_WITHIN_MS,
    )
    .await?;
    let mut offers: Vec<(i64, DoctorOffer)> = free
        .into_iter()
        .filter_map(|(doctor, _, at)| {
            let (_, card) = cards.iter().find(|(_, c)| c.id == doctor)?;
            Some((
                at,
                DoctorOffer {
                    doctor_id: doctor,
                    name: card.name.clone(),
                    title: card.title.clone(),
                    next_free: cst_rfc3339(at),
                    next_free_day: cst_today(at).to_string(),
                    next_free_display: cst_display(at),
                },
            ))
        })
        .collect();
    offers.sort_by_key(|(at, o)| (*at, o.doctor_id));
    Ok(offers.into_iter().take(DOCTORS).map(|(_, o)| o).collect())
}

/// Records the patient's final choice (the last one counts).
pub async fn choose(state: &AppState, token: &str, input: &ChoiceInput) -> AppResult<()> {
    if !CHOICES.contains(&input.choice.as_str()) {
        return Err(AppError::invalid(
            "choice",
            "must be one of booking, consultation, emergency, none",
        ));
    }
    if let Some(code) = &input.department_code
        && !directory::model::is_std_department_code(code)
    {
        return Err(AppError::invalid(
            "department_code",
            "must be a standard department code such as 07 or 03.01",
        ));
    }
    if input.doctor_id.is_some_and(|d| d <= 0) {
        return Err(AppError::invalid("doctor_id", "must be a doctor's id"));
    }
    let found = is_token(token)
        && store::set_choice(
            &state.db,
            token,
            (
                input.choice.as_str(),
                input.department_code.as_deref(),
                input.doctor_id,
            ),
            state.now_ms(),
        )
        .await
        .map_err(|e| {
            // A doctor id that is no account breaks the foreign key: the client's mistake.
            if matches!(&e, sqlx::Error::Database(d) if d.is_foreign_key_violation()) {
                AppError::invalid("doctor_id", "no such doctor")
            } else {
                e.into()
            }
        })?;
    if found {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("no triage with id '{token}'")))
    }
}

/// Tokens are 32 lower-case hex digits; anything else is not one (and not worth a query).
fn is_token(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit())
}
