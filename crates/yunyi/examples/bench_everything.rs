//! `GET /fhir/Patient/{id}/$everything` for a patient with five years of history (issue #21's
//! target: ≈ 2,000 resources, p99 < 100 ms on SQLite): the demo's patient1 — his visits,
//! prescriptions, appointments, plans and reports — plus a morning blood pressure every day
//! for five years, a report a month and a dozen offline diagnoses, read over HTTP from the
//! real server by the patient himself, one request at a time (a program, not a test; figures
//! go to docs/PERFORMANCE.md).
//!
//!   cargo run --release -p yunyi --example bench_everything                 # embedded SQLite
//!   YUNYI_BENCH_DATABASE_URL=postgres://…/emptydb cargo run --release -p yunyi --example bench_everything
//!   BENCH_SIZE=tiny …   # 60 days, 20 requests: CI's check that the program still runs
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark program: a panic is a failed run"
)]

use std::time::{Duration, Instant};

use serde_json::Value;
use yunyi::config::Config;

const DAY_MS: i64 = 86_400_000;

#[tokio::main]
async fn main() {
    let tiny = std::env::var("BENCH_SIZE").as_deref() == Ok("tiny");
    let (days, requests) = if tiny { (60, 20) } else { (5 * 365, 300) };
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("YUNYI_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let mut config = Config::for_data_dir(dir.path(), url.as_deref()).unwrap();
    config.jobs.enabled = false;
    let app = yunyi::Application::build(config).await.unwrap();
    let state = app.state().clone();
    let db = state.db.clone();
    yunyi::demo::seed(&state).await.unwrap();
    yunyi::demo::seed_inbox(&state).await.unwrap();
    let now = state.now_ms();
    let (person, account): (i64, i64) = db
        .one(
            "SELECT person_id, id FROM account WHERE username = 'patient1'",
            (),
        )
        .await
        .unwrap();
    let hospital: i64 = db
        .scalar(
            "SELECT hospital_id FROM account WHERE username = 'doctor1'",
            (),
        )
        .await
        .unwrap();

    // Five years at home and at the hospital.
    let t = Instant::now();
    let mut tx = db.begin().await.unwrap();
    for day in 0..days {
        let at = now - (day + 43) * DAY_MS;
        tx.execute(
            "INSERT INTO care_reading (person_id, plan_id, measure, value, value2, taken_at, flagged, entered_by, created_at) \
             VALUES ($1, NULL, 'blood_pressure', $2, $3, $4, FALSE, $5, $4)",
            (person, 1200 + (day % 15) * 10, 780 + (day % 9) * 10, at, account),
        )
        .await
        .unwrap();
        if day % 30 == 0 {
            let results = r#"[{"name":"低密度脂蛋白胆固醇","code":"13457-7","value":"3.1","unit":"mmol/L","low":0.0,"high":3.4,"flag":null},{"name":"糖化血红蛋白","code":"4548-4","value":"5.8","unit":"%","low":4.0,"high":6.0,"flag":null}]"#;
            tx.execute(
                "INSERT INTO care_report (person_id, kind, title, performed_on, hospital_id, hospital_name, source, \
                 recorded_by, results, conclusion, status, created_at) \
                 VALUES ($1, 'lab', '血脂 + 糖化血红蛋白', $2, $3, '医院', 'import', $4, $5, '', 'recorded', $6)",
                (
                    person,
                    yunyi::time::cst_today(at).to_string(),
                    hospital,
                    account,
                    results,
                    at,
                ),
            )
            .await
            .unwrap();
        }
        if day % 150 == 0 {
            tx.execute(
                "INSERT INTO offline_diagnosis (person_id, hospital_id, icd10, name, diagnosed_on, created_at) \
                 VALUES ($1, $2, 'I10', '原发性高血压', $3, $4)",
                (person, hospital, yunyi::time::cst_today(at).to_string(), at),
            )
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
    if let yunyi::db::Db::Postgres(pool) = &db {
        sqlx::query("ANALYZE").execute(pool).await.unwrap();
    }
    println!(
        "{}: {days} days of history seeded in {:.1} s",
        db.backend_name(),
        t.elapsed().as_secs_f64()
    );

    let addr = app.local_addr();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until(shutdown.clone()));
    let client = reqwest::Client::new();
    let signed: Value = client
        .post(format!("http://{addr}/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "patient1"),
            ("password", yunyi::demo::DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signed["access_token"]
        .as_str()
        .expect("signed in")
        .to_owned();
    let everything = format!("http://{addr}/fhir/Patient/{person}/$everything");
    let mut samples: Vec<Duration> = Vec::new();
    let mut resources = 0;
    let mut bytes = 0;
    for _ in 0..requests {
        let t = Instant::now();
        let r = client
            .get(&everything)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let body = r.bytes().await.unwrap();
        samples.push(t.elapsed());
        bytes = body.len();
        let bundle: Value = serde_json::from_slice(&body).unwrap();
        resources = bundle["entry"].as_array().map_or(0, Vec::len);
    }
    shutdown.cancel();
    server.await.unwrap().unwrap();
    assert!(
        resources as i64 > days,
        "every reading is in the record ({resources} resources)"
    );
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "$everything: {resources} resources ({:.1} MB), {requests} requests: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        bytes as f64 / 1e6,
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        pct(1.0).as_secs_f64() * 1e3,
    );
}
