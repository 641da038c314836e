//! The care-plan follow-up scheduler (issue #21's target: with 1 M active plans, due
//! follow-ups found and sent at ≥ 5,000/s): how fast one sweep finds the questionnaires whose
//! time has come among a million plans' and sends them — each moved `scheduled` → `sent`
//! once, the patient's notification written, the next of a repeating one scheduled — and how
//! long a sweep with nothing due takes (a program, not a test; figures go to
//! docs/PERFORMANCE.md).
//!
//! Seeds `PEOPLE` patients, a team and `PLANS` hypertension plans among them, each with one
//! follow-up: `DUE` of them due now, the rest later; then sweeps, checks every due one was
//! sent once (and its notice written once), and sweeps again to time an idle sweep.
//!
//!   cargo run --release -p yunyi --example bench_followups                 # embedded SQLite
//!   YUNYI_BENCH_DATABASE_URL=postgres://…/emptydb cargo run --release -p yunyi --example bench_followups
//!   BENCH_SIZE=tiny …   # 2,000 plans, 200 due: CI's check that the program still runs
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark program: a panic is a failed run"
)]

use std::time::Instant;

use yunyi::config::Config;
use yunyi::db::{Db, Params};

const ROWS_PER_STATEMENT: usize = 500;
const DAY_MS: i64 = 86_400_000;

#[tokio::main]
async fn main() {
    let tiny = std::env::var("BENCH_SIZE").as_deref() == Ok("tiny");
    let (plans, people, due) = if tiny {
        (2_000, 20, 200)
    } else {
        (1_000_000, 10_000, 50_000)
    };
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("YUNYI_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let mut config = Config::for_data_dir(dir.path(), url.as_deref()).unwrap();
    config.jobs.enabled = false;
    let app = yunyi::Application::build(config).await.unwrap();
    let state = app.state().clone();
    let db = state.db.clone();
    let now = state.now_ms();

    let t = Instant::now();
    let first_person = seed_people(&db, people, now).await;
    let team = seed_team(&db, now).await;
    seed_plans(&db, (plans, people, due), (first_person, team), now).await;
    println!(
        "{}: {plans} active plans of {people} people, {due} follow-ups due, seeded in {:.1} s",
        db.backend_name(),
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let swept = yunyi::care::followup::sweep(&state, now).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "sweep: {} sent in {secs:.2} s ({:.0}/s), {} chased",
        swept.sent,
        swept.sent as f64 / secs,
        swept.chased
    );
    assert_eq!(swept.sent, due, "every due follow-up sent");
    let told: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM notification WHERE event = 'care.followup'",
            (),
        )
        .await
        .unwrap();
    assert_eq!(told, due as i64, "one notice each");
    let next: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM care_followup WHERE status = 'scheduled' AND due_at > $1",
            (now,),
        )
        .await
        .unwrap();
    assert_eq!(
        next, plans as i64,
        "the not-yet-due ones and each sent one's next"
    );

    let t = Instant::now();
    let again = yunyi::care::followup::sweep(&state, now).await.unwrap();
    println!(
        "an idle sweep over {plans} plans: {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(again.sent, 0, "nothing sent twice");
}

/// `n` persons, each with a patient account; the first person's id.
async fn seed_people(db: &Db, n: usize, now: i64) -> i64 {
    let mut tx = db.begin().await.unwrap();
    let mut first_of_all = None;
    let ids: Vec<usize> = (0..n).collect();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let mut params = Params::default();
        let values: Vec<String> = chunk
            .iter()
            .map(|i| {
                format!(
                    "({}, {}, {}, '440***', '1960-01-01', 'female', '440106', {})",
                    params.push("随访患者"),
                    params.push(format!("enc{i}").into_bytes()),
                    params.push(format!("hash{i}").as_str()),
                    params.push(now)
                )
            })
            .collect();
        let first: i64 = tx
            .scalar(
                &format!(
                    "INSERT INTO person (name, id_number_enc, id_number_hash, id_number_mask, birth_date, sex, region, created_at) \
                     VALUES {} RETURNING id",
                    values.join(", ")
                ),
                params,
            )
            .await
            .unwrap();
        first_of_all.get_or_insert(first);
        let mut params = Params::default();
        let accounts: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(k, i)| {
                format!(
                    "({}, 'patient', '随访患者', {}, 'active', {}, {})",
                    params.push(format!("followup{i}").as_str()),
                    params.push(first + k as i64),
                    params.push(now),
                    params.push(now)
                )
            })
            .collect();
        tx.execute(
            &format!(
                "INSERT INTO account (username, role, display_name, person_id, status, created_at, updated_at) VALUES {}",
                accounts.join(", ")
            ),
            params,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    first_of_all.unwrap()
}

async fn seed_team(db: &Db, now: i64) -> i64 {
    let mut tx = db.begin().await.unwrap();
    let hospital: i64 = tx
        .scalar(
            "INSERT INTO hospital (code, name, level, region_code, address, status, created_at) \
             VALUES ('BENCH', '随访基准医院', 'tertiary', '440106', '-', 'active', $1) RETURNING id",
            (now,),
        )
        .await
        .unwrap();
    let nurse: i64 = tx
        .scalar(
            "INSERT INTO account (username, role, display_name, hospital_id, status, created_at, updated_at) \
             VALUES ('bench-nurse', 'nurse', '随访护士', $1, 'active', $2, $2) RETURNING id",
            (hospital, now),
        )
        .await
        .unwrap();
    let team: i64 = tx
        .scalar(
            "INSERT INTO care_team (hospital_id, name, kind, capacity, active, created_by, created_at) \
             VALUES ($1, '基准团队', 'family_doctor', 5000, TRUE, $2, $3) RETURNING id",
            (hospital, nurse, now),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    team
}

/// `plans` hypertension plans spread over the people, each with one follow-up: the first
/// `due` due a minute ago, the rest over the coming two weeks.
async fn seed_plans(
    db: &Db,
    (plans, people, due): (usize, usize, usize),
    (first_person, team): (i64, i64),
    now: i64,
) {
    let ids: Vec<usize> = (0..plans).collect();
    for batch in ids.chunks(20 * ROWS_PER_STATEMENT) {
        let mut tx = db.begin().await.unwrap();
        for chunk in batch.chunks(ROWS_PER_STATEMENT) {
            let mut params = Params::default();
            let values: Vec<String> = chunk
                .iter()
                .map(|i| {
                    format!(
                        "({}, {}, 'hypertension', 'active', '2026-12-01', '', 1, {})",
                        params.push(first_person + (i % people) as i64),
                        params.push(team),
                        params.push(now)
                    )
                })
                .collect();
            let first: i64 = tx
                .scalar(
                    &format!(
                        "INSERT INTO care_plan (person_id, team_id, template, status, starts_on, note, created_by, created_at) \
                         VALUES {} RETURNING id",
                        values.join(", ")
                    ),
                    params,
                )
                .await
                .unwrap();
            let mut params = Params::default();
            let followups: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(k, i)| {
                    let at = if *i < due {
                        now - 60_000
                    } else {
                        now + 1 + (*i as i64 % 14) * DAY_MS
                    };
                    format!(
                        "({}, 'hypertension', {}, 'scheduled')",
                        params.push(first + k as i64),
                        params.push(at)
                    )
                })
                .collect();
            tx.execute(
                &format!(
                    "INSERT INTO care_followup (plan_id, questionnaire, due_at, status) VALUES {}",
                    followups.join(", ")
                ),
                params,
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
}
