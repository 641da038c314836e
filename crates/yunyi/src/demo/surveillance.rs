//! The demo's surveillance: the Guangzhou hospital lists Wuhan as an outbreak area (a rule
//! version by officer1), a case like the seed's — patient4 back from Wuhan with 38.5 °C and
//! afraid to go to hospital — is flagged from the intake into officer1's queue, and 120 days
//! of synthetic counts with a respiratory outbreak in Tianhe (440106) over the last three days
//! make the scan raise a real alert on the dashboard.

use chrono::Duration;

use super::consultations::{Party, intake, new_request, patient, request, service_of};
use super::{account_id, bad_demo_data};
use crate::app::AppState;
use crate::clock::now_ms;
use crate::consult::model::Kind;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::surveillance::synthetic::{self, Baseline, Outbreak};
use crate::surveillance::{screen, store};
use crate::time::cst_today;

/// Wuhan on the outbreak list of `hospital` since thirty days ago, by officer1.
pub(super) async fn seed_rules(state: &AppState, tx: &mut Tx, hospital: i64) -> AppResult<()> {
    let officer = account_id(&state.db, "officer1").await?;
    let mut set = triage::screening::RuleSet::default_set()
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
    let from = cst_today(state.now_ms()) - Duration::days(30);
    set.areas.push(triage::screening::Area {
        name: "武汉".to_owned(),
        aliases: vec!["武汉市".to_owned()],
        region: "420100".to_owned(),
        from: from.to_string(),
        until: None,
    });
    let body = serde_json::to_string(&set).map_err(|e| AppError::Internal(e.into()))?;
    store::insert_rule_set(
        tx,
        hospital,
        &body,
        "演示：武汉列为疫区",
        officer,
        state.now_ms(),
    )
    .await?;
    Ok(())
}

/// patient4 asks doctor5, twenty minutes ago, the seed's words; screening flags it.
pub(super) async fn seed_case(state: &AppState, tx: &mut Tx) -> AppResult<()> {
    let doctor5 = account_id(&state.db, "doctor5").await?;
    let p4: Party = patient(state, "patient4").await?;
    let text = service_of(state, doctor5, "text_consult").await?;
    let asked = state.now_ms() - 20 * super::consultations::MINUTE;
    let new = new_request(&p4, &text, Kind::Consultation, "text", None, asked);
    let mut input = intake(
        "刚从武汉回来，发烧38.5度，不敢去医院",
        &[("发烧", &cst_today(asked).to_string())],
        &[],
    )?;
    input.temperature_c = Some(38.5);
    let id = request(state, tx, &new, &input, asked).await?;
    let intake = input
        .validate(Kind::Consultation, crate::time::cst_today(state.now_ms()))
        .map_err(|e| bad_demo_data(&format!("demo intake: {e:?}")))?;
    let subject = screen::Subject {
        consultation: id,
        person: p4.person,
        hospital: text.hospital_id,
    };
    screen::intake(state, tx, subject, &intake, asked).await
}

/// The synthetic series: Guangzhou's districts and the Jingzhou county, four syndromes.
const BASELINES: [Baseline<'static>; 10] = [
    Baseline {
        region: "440106",
        syndrome: "respiratory",
        level: 6.0,
    },
    Baseline {
        region: "440106",
        syndrome: "diarrhoeal",
        level: 3.0,
    },
    Baseline {
        region: "440106",
        syndrome: "rash_fever",
        level: 1.0,
    },
    Baseline {
        region: "440104",
        syndrome: "respiratory",
        level: 8.0,
    },
    Baseline {
        region: "440104",
        syndrome: "diarrhoeal",
        level: 4.0,
    },
    Baseline {
        region: "440105",
        syndrome: "respiratory",
        level: 7.0,
    },
    Baseline {
        region: "440111",
        syndrome: "respiratory",
        level: 9.0,
    },
    Baseline {
        region: "440111",
        syndrome: "hfmd",
        level: 2.0,
    },
    Baseline {
        region: "421022",
        syndrome: "respiratory",
        level: 4.0,
    },
    Baseline {
        region: "421022",
        syndrome: "diarrhoeal",
        level: 2.0,
    },
];

const DAYS: usize = 120;

/// 120 days of counts ending today, a respiratory outbreak in Tianhe over the last three.
pub(super) async fn seed_counts(tx: &mut Tx) -> AppResult<()> {
    let outbreak = Outbreak {
        region: "440106",
        syndrome: "respiratory",
        extra: &[6, 12, 20],
    };
    let today = cst_today(now_ms());
    let first = today - Duration::days(DAYS as i64 - 1);
    for (day, region, syndrome, n) in synthetic::generate(2026, &BASELINES, DAYS, Some(outbreak)) {
        let day = (first + Duration::days(day as i64)).to_string();
        let count = store::Count {
            day: &day,
            region,
            syndrome,
            source: "triage",
            hospital: 0,
        };
        store::add_count(tx, &count, n).await?;
    }
    Ok(())
}
