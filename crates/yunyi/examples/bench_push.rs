//! A targeted push to a million patients (issue #22): the fan-out that writes one inbox
//! notification per patient of the region (a program, not a test; figures go to
//! docs/PERFORMANCE.md).
//!
//! Seeds 1,000,000 patient accounts in region 440106 and 10,000 elsewhere, an article approved
//! by a second doctor, and an officer of the region; then times `education::push::fan_out`
//! (batches of 5,000 accounts, one `INSERT … SELECT` each, with the push's cursor). Then the
//! worker "dies": the cursor goes back to 0 and the fan-out runs again, which must add nobody.
//!
//!   cargo run --release -p yunyi --example bench_push                 # embedded SQLite
//!   YUNYI_BENCH_DATABASE_URL=postgres://…/emptydb cargo run --release -p yunyi --example bench_push
//!   BENCH_SIZE=tiny …   # 2,000 patients: CI's check that the program still runs
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark program: a panic is a failed run"
)]

use std::time::Instant;

use yunyi::config::Config;
use yunyi::db::{Db, Params};
use yunyi::education::model::{ArticleInput, Decision};
use yunyi::education::{push, service};
use yunyi::identity::actor::{Actor, SessionKind, SignedIn};
use yunyi::identity::model::Role;

const ROWS_PER_STATEMENT: usize = 500;

#[tokio::main]
async fn main() {
    let (inside, outside): (usize, usize) = if std::env::var("BENCH_SIZE").as_deref() == Ok("tiny")
    {
        (2_000, 100)
    } else {
        (1_000_000, 10_000)
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
    let now = yunyi::clock::now_ms();

    let started = Instant::now();
    let hospital: i64 = db
        .scalar(
            "INSERT INTO hospital (code, name, level, region_code, address, status, created_at) \
             VALUES ('BENCH', '基准医院', 'tertiary', '440106', '广州', 'active', $1) RETURNING id",
            (now,),
        )
        .await
        .unwrap();
    let staff = |name: &'static str, role: Role| {
        let db = db.clone();
        async move {
            let id: i64 = db
                .scalar(
                    "INSERT INTO account (username, role, display_name, hospital_id, status, created_at, updated_at) \
                     VALUES ($1, $2, $1, $3, 'active', $4, $4) RETURNING id",
                    (name, role.as_str(), hospital, now),
                )
                .await
                .unwrap();
            actor(id, role, hospital)
        }
    };
    let author = staff("bench-doctor-a", Role::Doctor).await;
    let reviewer = staff("bench-doctor-b", Role::Doctor).await;
    let officer = staff("bench-officer", Role::InfectionOfficer).await;
    seed_patients(&db, 0, inside, "440106", now).await;
    seed_patients(&db, inside, outside, "421002", now).await;
    if url.is_some() {
        db.execute("ANALYZE", ()).await.unwrap();
    }
    println!(
        "{}: {} patients ({inside} in 440106) seeded in {:.1} s",
        db.backend_name(),
        inside + outside,
        started.elapsed().as_secs_f64()
    );

    let input = ArticleInput {
        title: "呼吸道传染病高发期的个人防护".into(),
        summary: "戴口罩、勤洗手、少聚集。".into(),
        body: "请在人员密集的室内场所佩戴口罩，勤洗手，室内每天开窗通风。".into(),
        syndromes: "respiratory".into(),
        ..ArticleInput::default()
    };
    let article = service::create(&state, &author, &input).await.unwrap();
    service::submit(&state, &author, article).await.unwrap();
    service::review(&state, &reviewer, article, Decision::Approved, None)
        .await
        .unwrap();
    let request = push::PushInput {
        article_id: article,
        region: "440106".into(),
        ..push::PushInput::default()
    };
    let t = Instant::now();
    let reach = push::preview(&state, &officer, &request).await.unwrap();
    println!("audience preview: {reach} in {:.0} ms", ms(t));
    assert_eq!(reach, inside as i64);

    let t = Instant::now();
    let id = push::send(&state, &officer, &request).await.unwrap();
    push::fan_out(&state, id).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    let written = notifications(&db).await;
    println!(
        "fan-out: {written} notifications in {secs:.2} s ({:.0}/s), batches of {}",
        written as f64 / secs,
        push::BATCH
    );
    assert_eq!(written, inside as i64, "one per patient of the region");

    // The worker died after its batches were written and before the push was marked done.
    db.execute(
        "UPDATE education_push SET status = 'sending', cursor = 0, recipients = 0 WHERE id = $1",
        (id,),
    )
    .await
    .unwrap();
    let t = Instant::now();
    push::fan_out(&state, id).await.unwrap();
    let again = notifications(&db).await;
    println!(
        "run again from the start: {} added in {:.2} s",
        again - written,
        t.elapsed().as_secs_f64()
    );
    assert_eq!(again, written, "nobody is told twice");
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn actor(account: i64, role: Role, hospital: i64) -> Actor {
    Actor {
        signed_in: Some(SignedIn {
            account_id: account,
            role,
            username: None,
            display_name: String::new(),
            person_id: None,
            hospital_id: Some(hospital),
            session_id: 0,
            session_kind: SessionKind::Cookie,
            step_up_at: None,
            token_hash: String::new(),
            app: None,
            compartment: None,
        }),
        ..Actor::default()
    }
}

async fn notifications(db: &Db) -> i64 {
    db.scalar(
        "SELECT COUNT(*) FROM notification WHERE event = 'education.push'",
        (),
    )
    .await
    .unwrap()
}

/// `n` persons with patient accounts in `region`, numbered from `from`.
async fn seed_patients(db: &Db, from: usize, n: usize, region: &str, now: i64) {
    let mut tx = db.begin().await.unwrap();
    let ids: Vec<usize> = (from..from + n).collect();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let mut params = Params::default();
        let values: Vec<String> = chunk
            .iter()
            .map(|i| {
                format!(
                    "({}, {}, {}, '440***', '1990-01-01', 'male', {}, {})",
                    params.push("基准患者"),
                    params.push(format!("enc{i}").into_bytes()),
                    params.push(format!("hash{i}").as_str()),
                    params.push(region),
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
        let mut params = Params::default();
        let accounts: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(k, i)| {
                format!(
                    "({}, 'patient', '基准患者', {}, 'active', {}, {})",
                    params.push(format!("bench{i}").as_str()),
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
}
