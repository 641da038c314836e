//! The hourly surveillance scan against the database (a program, not a test; figures go to
//! docs/PERFORMANCE.md).
//!
//! Fills `signal_count` with 3,000 regions × 20 syndromes of daily counts (the size)
//! for the scan's window of 28 days — 1.68 million rows, each series at a level of 0 to 12 a
//! day with noise — and times `surveillance::scan::run`: reading the window, building the
//! 60,000 dense series, EARS C1/C2/C3 and the Poisson CUSUM on each, and writing the alerts.
//! The arithmetic alone over a whole year is `examples/scan.rs` in `crates/aberration`.
//!
//!   cargo run --release -p yunyi --example bench_scan                 # embedded SQLite
//!   YUNYI_BENCH_DATABASE_URL=postgres://…/emptydb cargo run --release -p yunyi --example bench_scan
//!   BENCH_SIZE=tiny …   # 30 regions: CI's check that the program still runs
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark program: a panic is a failed run"
)]

use std::time::Instant;

use yunyi::config::Config;
use yunyi::time::cst_today;

const SYNDROMES: usize = 20;
const DAYS: i64 = 28;
const ROWS_PER_STATEMENT: usize = 500;

#[tokio::main]
async fn main() {
    // The size, or a hundredth of it for `BENCH_SIZE=tiny`.
    let regions: usize = if std::env::var("BENCH_SIZE").as_deref() == Ok("tiny") {
        30
    } else {
        3_000
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
    let today = cst_today(yunyi::clock::now_ms());
    let first = today - chrono::Duration::days(DAYS - 1);

    let started = Instant::now();
    let mut seed: u64 = 42;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    let mut rows: Vec<(String, String, String, i64)> = Vec::new();
    for r in 0..regions {
        let region = format!("{:06}", 110_101 + r);
        for s in 0..SYNDROMES {
            let level = next() % 13;
            for d in 0..DAYS {
                let n = (level + next() % (level / 2 + 2)) as i64;
                if n > 0 {
                    let day = (first + chrono::Duration::days(d)).to_string();
                    rows.push((day, region.clone(), format!("syndrome_{s:02}"), n));
                }
            }
        }
    }
    let total = rows.len();
    let mut tx = db.begin().await.unwrap();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut params = yunyi::db::Params::default();
        let values: Vec<String> = chunk
            .iter()
            .map(|(day, region, syndrome, n)| {
                format!(
                    "({}, {}, {}, 'intake', 0, {})",
                    params.push(day.as_str()),
                    params.push(region.as_str()),
                    params.push(syndrome.as_str()),
                    params.push(*n)
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO signal_count (day, region, syndrome, source, hospital_id, n) VALUES {}",
            values.join(", ")
        );
        tx.execute(&sql, params).await.unwrap();
    }
    tx.commit().await.unwrap();
    if url.is_some() {
        db.execute("ANALYZE signal_count", ())
            .await
            .map(|_| ())
            .unwrap();
    }
    println!(
        "{}: {total} rows ({regions} regions × {SYNDROMES} syndromes × {DAYS} days) written in {:.1} s",
        db.backend_name(),
        started.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let read =
        yunyi::surveillance::store::window_counts(&db, &first.to_string(), &today.to_string())
            .await
            .unwrap();
    let read_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let series = yunyi::surveillance::scan::dense(&read, first, today);
    let mut aberrant = 0;
    for d in &series {
        aberrant +=
            yunyi::surveillance::scan::aberrations(d, yunyi::surveillance::scan::RECENT_DAYS)
                .unwrap()
                .len();
    }
    println!(
        "reading the window: {} rows in {read_ms:.0} ms; series and the four methods: {} series, {aberrant} aberrant days in {:.0} ms",
        read.len(),
        series.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    for run in 1..=3 {
        let t = Instant::now();
        let outcome = yunyi::surveillance::scan::run(&state, today).await.unwrap();
        println!(
            "scan run {run}: {} series, {} alerts raised, {} extended in {:.0} ms",
            outcome.series,
            outcome.raised,
            outcome.extended,
            t.elapsed().as_secs_f64() * 1e3
        );
    }
}
