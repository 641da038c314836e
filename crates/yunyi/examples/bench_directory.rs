//! Directory search load benchmark (a program, not a test; figures go to docs/PERFORMANCE.md).
//!
//! Seeds 100 hospitals × 10 departments and 2,000 doctors (profiles, practice sites,
//! privileges, two services each) into a fresh database, starts the real server, and sends
//! doctor searches with a mix of filters from 16 concurrent clients for a fixed time.
//!
//!   cargo run --release -p yunyi --example bench_directory            # embedded SQLite
//!   BENCH_CLIENTS=4 cargo run --release -p yunyi --example bench_directory   # concurrency (16)
//!   YUNYI_BENCH_DATABASE_URL=postgres://…/emptydb cargo run --release -p yunyi --example bench_directory
//!   BENCH_SIZE=tiny …   # 3 hospitals, 30 doctors, 1 s: CI's check that the program still runs
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark program: a panic is a failed run"
)]

mod common;

use std::time::{Duration, Instant};

use common::{DEPARTMENTS, GIVEN, SURNAMES};
use yunyi::clock::now_ms;
use yunyi::config::Config;
use yunyi::directory::model::{
    DoctorProfileValid, NewDepartment, NewHospital, ServiceKind, ServiceValid, Title,
};
use yunyi::directory::{service as directory, store as dstore};
use yunyi::identity::store as istore;

const SPECIALTIES: [&str; 12] = [
    "哮喘",
    "高血压",
    "糖尿病",
    "冠心病",
    "小儿发热",
    "湿疹",
    "青光眼",
    "焦虑",
    "肝炎",
    "甲状腺",
    "胃炎",
    "骨折",
];

/// How much to seed and how long to send: the size, or `BENCH_SIZE=tiny`.
struct Size {
    hospitals: usize,
    doctors: usize,
    duration: Duration,
}

fn size() -> Size {
    if std::env::var("BENCH_SIZE").as_deref() == Ok("tiny") {
        Size {
            hospitals: 3,
            doctors: 30,
            duration: Duration::from_secs(1),
        }
    } else {
        Size {
            hospitals: 100,
            doctors: 2000,
            duration: Duration::from_secs(10),
        }
    }
}

#[tokio::main]
async fn main() {
    let Size {
        hospitals,
        doctors,
        duration,
    } = size();
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("YUNYI_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let mut config = Config::for_data_dir(dir.path(), url.as_deref()).unwrap();
    config.jobs.enabled = false;
    let app = yunyi::Application::build(config).await.unwrap();
    let state = app.state().clone();
    let backend = state.db.backend_name();

    let started = Instant::now();
    let password = yunyi::identity::password::hash("bench-password")
        .await
        .unwrap();
    let mut tx = state.db.begin().await.unwrap();
    let mut departments = Vec::new();
    for h in 0..hospitals {
        let hospital = NewHospital {
            code: format!("BENCH-{h:03}"),
            name: format!("基准测试第{h}医院"),
            name_en: None,
            level: "三级甲等".into(),
            region_code: "440106".into(),
            address: "广州".into(),
        };
        let depts: Vec<NewDepartment> = DEPARTMENTS
            .iter()
            .map(|(code, name)| NewDepartment {
                std_code: (*code).into(),
                name: (*name).into(),
                name_en: None,
                offers_online: true,
            })
            .collect();
        let hid = directory::create_hospital(&mut tx, &hospital, &depts, now_ms())
            .await
            .unwrap();
        departments.push(hid);
    }
    tx.commit().await.unwrap();
    let mut dept_ids = Vec::new();
    for &hid in &departments {
        let detail = directory::hospital_detail(&state.db, hid).await.unwrap();
        dept_ids.push((
            hid,
            detail.departments.iter().map(|d| d.id).collect::<Vec<_>>(),
        ));
    }
    let mut tx = state.db.begin().await.unwrap();
    let now = now_ms();
    for n in 0..doctors {
        let (hid, depts) = &dept_ids[n % hospitals];
        let dept = depts[n % depts.len()];
        let name = format!(
            "{}{}{}",
            SURNAMES[n % 20],
            GIVEN[(n / 20) % 10],
            GIVEN[(n / 200) % 10]
        );
        let account = istore::NewAccountRow {
            username: Some(&format!("bench{n}")),
            role: "doctor",
            display_name: &name,
            password_hash: Some(&password),
            phone_enc: None,
            phone_hash: None,
            phone_mask: None,
            person_id: None,
            hospital_id: Some(*hid),
            created_by: None,
        };
        let id = istore::insert_account(&mut tx, &account, now)
            .await
            .unwrap();
        let profile = DoctorProfileValid {
            licence_no: format!("B{n:014}"),
            title: Title::ALL[n % 4],
            specialties: vec![
                SPECIALTIES[n % 12].into(),
                SPECIALTIES[(n / 12) % 12].into(),
            ],
            biography: String::new(),
            practice_since_year: 1990 + (n % 30) as i64,
        };
        dstore::upsert_profile(&mut tx, id, &profile, now)
            .await
            .unwrap();
        dstore::insert_site(&mut tx, id, *hid, Some(dept), "REG", now)
            .await
            .unwrap();
        let change = dstore::PrivilegeChange {
            account_id: id,
            hospital_id: *hid,
            kind: "consult",
            status: "active",
            reason: None,
            changed_by: None,
        };
        dstore::put_privilege(&mut tx, &change, now).await.unwrap();
        for kind in [
            ServiceKind::TextConsult,
            if n % 7 == 0 {
                ServiceKind::FreeClinic
            } else {
                ServiceKind::VideoConsult
            },
        ] {
            let service = ServiceValid {
                hospital_id: *hid,
                department_id: Some(dept),
                doctor_id: Some(id),
                kind,
                name: "服务".into(),
                price_fen: if kind == ServiceKind::FreeClinic {
                    0
                } else {
                    3000
                },
                duration_min: 15,
                daily_quota: None,
                reply_within_min: None,
                auto_assign: false,
            };
            dstore::insert_service(&mut tx, &service, now)
                .await
                .unwrap();
        }
    }
    tx.commit().await.unwrap();
    // A live PostgreSQL has statistics (autovacuum analyzes as data arrives); right after a bulk
    // load it has none, and plans as if the tables were empty.
    if let yunyi::db::Db::Postgres(pool) = &state.db {
        sqlx::query("ANALYZE").execute(pool).await.unwrap();
    }
    println!(
        "seeded {hospitals} hospitals, {} departments, {doctors} doctors in {:?} ({backend})",
        hospitals * 10,
        started.elapsed()
    );

    let addr = app.local_addr();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until(shutdown.clone()));

    // The query mix: what a patient types and picks.
    let queries: Vec<(&str, String)> = vec![
        ("all (first page)", "limit=20".into()),
        ("by name", "q=%E7%8E%8B%E4%BC%9F".into()),
        (
            "by hospital",
            format!("hospital={}", dept_ids[42 % hospitals].0),
        ),
        (
            "by department",
            format!("department={}", dept_ids[7 % hospitals].1[3]),
        ),
        (
            "by specialty",
            "specialty=%E7%B3%96%E5%B0%BF%E7%97%85".into(),
        ),
        ("by service", "service=free_clinic".into()),
        (
            "hospital + service",
            format!(
                "hospital={}&service=video_consult",
                dept_ids[9 % hospitals].0
            ),
        ),
        ("deep page", format!("limit=20&after={}", doctors * 3 / 4)),
    ];
    let clients: usize = std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(16);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = client.clone();
        let queries = queries.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples: Vec<(usize, Duration)> = Vec::new();
            let mut i = c;
            while Instant::now() < deadline {
                let which = i % queries.len();
                let url = format!("http://{addr}/api/v1/doctors?{}", queries[which].1);
                let t = Instant::now();
                let r = client.get(&url).send().await.unwrap();
                assert!(r.status().is_success(), "{url}: {}", r.status());
                r.bytes().await.unwrap();
                samples.push((which, t.elapsed()));
                i += 1;
            }
            samples
        }));
    }
    let mut all: Vec<(usize, Duration)> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    shutdown.cancel();
    server.await.unwrap().unwrap();

    let pct = |v: &mut Vec<Duration>, p: f64| -> Duration {
        v.sort();
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    };
    println!(
        "{clients} concurrent clients for {duration:?} on the same machine: {} requests, {:.0} req/s",
        all.len(),
        all.len() as f64 / duration.as_secs_f64()
    );
    println!(
        "{:<22} {:>7} {:>9} {:>9} {:>9}",
        "query", "n", "p50", "p99", "max"
    );
    for (i, (name, _)) in queries.iter().enumerate() {
        let mut v: Vec<Duration> = all
            .iter()
            .filter(|(w, _)| *w == i)
            .map(|(_, d)| *d)
            .collect();
        let (p50, p99) = (pct(&mut v, 0.5), pct(&mut v, 0.99));
        println!(
            "{name:<22} {:>7} {:>9.2?} {:>9.2?} {:>9.2?}",
            v.len(),
            p50,
            p99,
            v.last().unwrap()
        );
    }
    let mut v: Vec<Duration> = all.iter().map(|(_, d)| *d).collect();
    let (p50, p99) = (pct(&mut v, 0.5), pct(&mut v, 0.99));
    println!(
        "{:<22} {:>7} {:>9.2?} {:>9.2?} {:>9.2?}",
        "all",
        v.len(),
        p50,
        p99,
        v.last().unwrap()
    );
}
