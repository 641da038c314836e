//! Slot search benchmark (a program, not a test; figures go to docs/PERFORMANCE.md).
//!
//! Seeds the demo, gives every demo doctor with a service a schedule holding two years of
//! history plus the next 14 days (28 slots a day: 08:00–12:00 and 14:00–17:00, 15 minutes),
//! most past slots with a completed appointment; then starts the real server and asks
//! `GET /api/v1/doctors/{id}/slots?days=14` — one doctor's next 14 days — from N concurrent
//! clients for 10 s.
//!
//!   cargo run --release -p yunyi --example bench_slots                 # embedded SQLite
//!   BENCH_CLIENTS=4 cargo run --release -p yunyi --example bench_slots  # concurrency (16)
//!   YUNYI_BENCH_DATABASE_URL=postgres://…/emptydb cargo run --release -p yunyi --example bench_slots
//!   BENCH_SIZE=tiny …   # 14 days of history, 1 s: CI's check that the program still runs
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark program: a panic is a failed run"
)]

use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveTime};
use yunyi::clock::now_ms;
use yunyi::config::Config;
use yunyi::time::{cst_ms, cst_today};

const AHEAD_DAYS: i64 = 14;

/// Days of history and seconds of load: the size, or `BENCH_SIZE=tiny`.
fn size() -> (i64, Duration) {
    if std::env::var("BENCH_SIZE").as_deref() == Ok("tiny") {
        (14, Duration::from_secs(1))
    } else {
        (730, Duration::from_secs(10))
    }
}

async fn exec(db: &yunyi::db::Db, sql: &str) {
    db.execute(sql, ()).await.map(|_| ()).unwrap();
}

#[tokio::main]
async fn main() {
    let (history_days, duration) = size();
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("YUNYI_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let mut config = Config::for_data_dir(dir.path(), url.as_deref()).unwrap();
    config.jobs.enabled = false;
    let app = yunyi::Application::build(config).await.unwrap();
    let state = app.state().clone();
    let db = state.db.clone();
    let backend = db.backend_name();
    yunyi::demo::seed(&state).await.unwrap();

    let started = Instant::now();
    // One schedule per demo doctor's first service.
    let services: Vec<(i64, i64, i64)> = db.all::<(i64, i64, i64)>(
        "SELECT MIN(id), doctor_id, hospital_id FROM service WHERE doctor_id IS NOT NULL GROUP BY doctor_id, hospital_id",
        (),
    )
    .await
    .unwrap();
    let persons: Vec<i64> = db
        .scalars::<i64>("SELECT id FROM person ORDER BY id", ())
        .await
        .unwrap();
    let now = now_ms();
    let today = cst_today(now);
    let times: Vec<NaiveTime> = (0..16)
        .map(|i| NaiveTime::from_hms_opt(8, 0, 0).unwrap() + Days::minutes(15 * i))
        .chain((0..12).map(|i| NaiveTime::from_hms_opt(14, 0, 0).unwrap() + Days::minutes(15 * i)))
        .collect();
    let mut doctors = Vec::new();
    let (mut slots, mut appointments) = (0usize, 0usize);
    for (n, (service, doctor, hospital)) in services.iter().enumerate() {
        exec(
            &db,
            &format!(
                "INSERT INTO schedule (id, doctor_id, hospital_id, service_id, active, created_at) \
                 VALUES ({}, {doctor}, {hospital}, {service}, TRUE, {now})",
                n + 1
            ),
        )
        .await;
        doctors.push(*doctor);
        let schedule = n + 1;
        let mut tx = db.begin().await.unwrap();
        let mut rows = Vec::new();
        for d in -history_days..AHEAD_DAYS {
            let day = today + Days::days(d);
            for t in &times {
                let start = cst_ms(day, *t).unwrap();
                let past = start < now;
                // Three in four past slots were used; future ones are free.
                let booked = i64::from(past && (start / 900_000) % 4 != 0);
                rows.push(format!(
                    "({schedule}, {start}, {}, '{day}', 1, {booked}, 0, {}, TRUE, 'online', 'open', {now})",
                    start + 900_000,
                    start - 7 * 86_400_000
                ));
            }
        }
        for chunk in rows.chunks(500) {
            let sql = format!(
                "INSERT INTO slot (schedule_id, start_at, end_at, day, capacity, booked, held, release_at, released, mode, status, created_at) VALUES {}",
                chunk.join(",")
            );
            tx.execute(&sql, ()).await.map(|_| ()).unwrap();
        }
        slots += rows.len();
        // Completed appointments for the used slots.
        let sql = format!(
            "INSERT INTO appointment (slot_id, person_id, booked_by, doctor_id, day, status, created_at) \
             SELECT s.id, {}, {doctor}, {doctor}, s.day, 'completed', s.start_at FROM slot s \
             WHERE s.schedule_id = {schedule} AND s.booked = 1",
            persons[n % persons.len()]
        );
        let done = tx.execute(&sql, ()).await.unwrap();
        appointments += usize::try_from(done).unwrap();
        tx.commit().await.unwrap();
    }
    if let yunyi::db::Db::Postgres(pool) = &db {
        sqlx::query("SELECT setval(pg_get_serial_sequence('schedule', 'id'), (SELECT MAX(id) FROM schedule))")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("ANALYZE").execute(pool).await.unwrap();
    }
    println!(
        "seeded {} schedules, {slots} slots ({history_days} days of history + {AHEAD_DAYS} ahead), \
         {appointments} appointments in {:?} ({backend})",
        doctors.len(),
        started.elapsed()
    );

    if let yunyi::db::Db::Sqlite(pool) = &db {
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "EXPLAIN QUERY PLAN SELECT s.id FROM slot s JOIN schedule c ON c.id = s.schedule_id \
             WHERE c.doctor_id = 5 AND c.active = TRUE AND s.start_at >= 1 AND s.start_at < 2 \
             AND s.status = 'open' AND s.booked + s.held < s.capacity \
             ORDER BY s.start_at, s.id LIMIT 500",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        for row in plan {
            println!("plan: {}", row.3);
        }
    }
    // The query alone, without HTTP: one doctor's next 14 days, each doctor in turn.
    let mut direct = Vec::new();
    for i in 0..500 {
        let t = Instant::now();
        let found = yunyi::scheduling::store::open_slots(
            &db,
            (doctors[i % doctors.len()], None),
            now,
            now + AHEAD_DAYS * 86_400_000,
            500,
        )
        .await
        .unwrap();
        direct.push(t.elapsed());
        assert!(!found.is_empty());
    }
    direct.sort();
    println!(
        "query alone (1 caller): p50 {:.2?}, p99 {:.2?}",
        direct[direct.len() / 2],
        direct[direct.len() * 99 / 100]
    );

    let addr = app.local_addr();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until(shutdown.clone()));
    let clients: usize = std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(16);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, doctors) = (client.clone(), doctors.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut i = c;
            while Instant::now() < deadline {
                let doctor = doctors[i % doctors.len()];
                let url = format!("http://{addr}/api/v1/doctors/{doctor}/slots?days=14");
                let t = Instant::now();
                let r = client.get(&url).send().await.unwrap();
                assert!(r.status().is_success(), "{url}: {}", r.status());
                let body: serde_json::Value = r.json().await.unwrap();
                samples.push(t.elapsed());
                // The next 14 days of one doctor: 28 free slots a day per schedule (a doctor
                // practising at two hospitals has two), at most the API's 500.
                let found = body["items"].as_array().unwrap().len();
                assert!((1..=500).contains(&found), "{url}: {found} slots");
                i += 1;
            }
            samples
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    shutdown.cancel();
    server.await.unwrap().unwrap();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{clients} concurrent clients for {duration:?}: {} requests, {:.0} req/s, p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        all.len(),
        all.len() as f64 / duration.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        all.last().unwrap()
    );
}
