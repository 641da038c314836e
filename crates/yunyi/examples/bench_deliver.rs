//! Notification delivery through an external channel (issue #22's "sandbox delivery"): how
//! many notifications a second the delivery job takes to people's browsers by Web Push —
//! claim, encrypt for the browser (RFC 8291), sign (VAPID), POST, settle — against a push
//! service on this machine that answers as a real one does (a program, not a test; figures
//! go to docs/PERFORMANCE.md).
//!
//! Seeds N patient accounts, each with a browser subscription and no phone, and one
//! notification each; then runs the delivery jobs on `WORKERS` tasks at once, as the job
//! workers of several nodes would, and checks that every notification was pushed exactly once
//! and that the push service could open a sample of them with the browser's key.
//!
//!   cargo run --release -p yunyi --example bench_deliver                 # embedded SQLite
//!   YUNYI_BENCH_DATABASE_URL=postgres://…/emptydb cargo run --release -p yunyi --example bench_deliver
//!   BENCH_SIZE=tiny …   # 200 notifications: CI's check that the program still runs
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark program: a panic is a failed run"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use yunyi::config::Config;
use yunyi::jobs::{Job, JobContext};
use yunyi::notification::deliver::{Deliver, DeliverNotifications};
use yunyi::notification::model::{Event, Notice};
use yunyi::notification::{service, store, web_push};

const WORKERS: usize = 32;
const AUTH: [u8; 16] = [5; 16];

#[tokio::main]
async fn main() {
    let n: usize = if std::env::var("BENCH_SIZE").as_deref() == Ok("tiny") {
        200
    } else {
        20_000
    };
    let browser = web_push::secret_key_from([11; 32]);
    let (origin, received, opened) = push_service(browser.clone()).await;

    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("YUNYI_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let mut config = Config::for_data_dir(dir.path(), url.as_deref()).unwrap();
    config.jobs.enabled = false;
    config.notification.quiet_hours = None;
    config.notification.push_services = vec![origin.clone()];
    let app = yunyi::Application::build(config).await.unwrap();
    let state = app.state().clone();
    let db = state.db.clone();
    let now = yunyi::clock::now_ms();

    let t = Instant::now();
    let p256dh = B64URL.encode(browser.public_key().to_encoded_point(false).as_bytes());
    let auth = B64URL.encode(AUTH);
    let mut ids = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut tx = db.begin().await.unwrap();
        let mut accounts = Vec::with_capacity(chunk.len());
        for i in chunk {
            let account: i64 = tx
                .scalar(
                    "INSERT INTO account (username, role, display_name, status, created_at, updated_at) \
                     VALUES ($1, 'patient', $1, 'active', $2, $2) RETURNING id",
                    (format!("bench-patient-{i}"), now),
                )
                .await
                .unwrap();
            accounts.push((*i, account));
        }
        for &(i, account) in &accounts {
            let endpoint = format!("{origin}/push/{i}");
            store::save_push_subscription(&mut tx, account, (&endpoint, &p256dh, &auth, "zh"), now)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        for &(i, account) in &accounts {
            let notice = Notice::new(account, Event::PrescriptionApproved, format!("bench:{i}"))
                .param("prescription", i.to_string());
            service::notify(&mut tx, &notice, now).await.unwrap();
        }
        tx.commit().await.unwrap();
        for (_, account) in accounts {
            ids.push(store::list(&db, account, None, 1).await.unwrap()[0].id);
        }
    }
    println!(
        "{}: {n} notifications to {n} browsers seeded in {:.1} s",
        db.backend_name(),
        t.elapsed().as_secs_f64()
    );

    // The sender's own work per message: a fresh key pair, ECDH, HKDF and AES-GCM.
    let subscription =
        web_push::Subscription::parse(&format!("{origin}/push/x"), &p256dh, &auth).unwrap();
    let payload = r#"{"title":"处方已审核通过","body":"您的处方 42 已由药师审核通过，请尽快支付。","link":"/notifications/1","tag":"yunyi-1"}"#.as_bytes();
    let rounds = if n < 1000 { 100 } else { 2000 };
    let t = Instant::now();
    for _ in 0..rounds {
        web_push::encrypt(&subscription, payload).unwrap();
    }
    println!(
        "encrypting one message: {:.0} µs (one core)",
        t.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
    );

    let job = Arc::new(DeliverNotifications(state.clone()));
    let queue = Arc::new(ids);
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let (job, queue, next, db, clock) = (
            job.clone(),
            queue.clone(),
            next.clone(),
            db.clone(),
            state.clock.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&id) = queue.get(i) else { break };
                let ctx = JobContext {
                    db: db.clone(),
                    clock: clock.clone(),
                    job_id: 0,
                    attempt: 1,
                };
                job.run(
                    &ctx,
                    Deliver {
                        notification_id: id,
                    },
                )
                .await
                .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    let pushed = received.load(Ordering::Relaxed);
    println!(
        "delivered: {pushed} pushes in {secs:.2} s ({:.0}/s) on {WORKERS} workers",
        pushed as f64 / secs
    );
    assert_eq!(pushed, n, "every notification pushed once");
    let sent: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM notification_delivery WHERE channel = 'webpush' AND status = 'sent'",
            (),
        )
        .await
        .unwrap();
    assert_eq!(sent, n as i64, "every delivery settled as sent");
    assert!(
        opened.load(Ordering::Relaxed) > 0,
        "the browser's key opens them"
    );

    // The outbox delivers at least once: a second run of every job sends nothing more.
    for &id in queue.iter() {
        let ctx = JobContext {
            db: db.clone(),
            clock: state.clock.clone(),
            job_id: 0,
            attempt: 1,
        };
        job.run(
            &ctx,
            Deliver {
                notification_id: id,
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(received.load(Ordering::Relaxed), n, "nothing pushed twice");
    println!("run again: nothing pushed twice");
}

/// A push service on this machine: counts pushes and, for one in a hundred, checks the VAPID
/// token and opens the message with the browser's key (the rest are answered at once, so its
/// own work does not weigh on the sender's figure).
async fn push_service(browser: p256::SecretKey) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let received = Arc::new(AtomicUsize::new(0));
    let opened = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let (count, good, aud) = (received.clone(), opened.clone(), origin.clone());
    let app = axum::Router::new().route(
        "/push/{id}",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (count, good, aud, browser) =
                    (count.clone(), good.clone(), aud.clone(), browser.clone());
                async move {
                    let seen = count.fetch_add(1, Ordering::Relaxed);
                    if seen % 100 == 0 {
                        let header = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default();
                        let now = chrono::Utc::now().timestamp();
                        web_push::verify_authorization(header, &aud, now).unwrap();
                        web_push::decrypt(&browser, &AUTH, &body).unwrap();
                        good.fetch_add(1, Ordering::Relaxed);
                    }
                    axum::http::StatusCode::CREATED
                }
            },
        ),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (origin, received, opened)
}
