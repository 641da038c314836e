//! The durable job queue: retries with backoff, no double runs, dead letters, lease
//! takeover, dedupe, concurrent workers, and the real recurring job in a running app.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use yunyi::clock::now_ms;
use yunyi::config::JobsConfig;
use yunyi::db::Db;
use yunyi::jobs::worker::Outcome;
use yunyi::jobs::{
    self, BoxFuture, JobContext, JobHandler, JobResult, NewJob, Registry, Worker, store,
};

use crate::helpers::{TestApp, TestDb, eventually};

/// Fails its first `failures` runs, then succeeds; records every run per job id.
struct Flaky {
    failures: usize,
    runs: Arc<Mutex<HashMap<i64, usize>>>,
}

impl Flaky {
    fn new(failures: usize) -> (Arc<Self>, Arc<Mutex<HashMap<i64, usize>>>) {
        let runs = Arc::new(Mutex::new(HashMap::new()));
        (
            Arc::new(Self {
                failures,
                runs: runs.clone(),
            }),
            runs,
        )
    }
}

impl JobHandler for Flaky {
    fn kind(&self) -> &'static str {
        "test.flaky"
    }

    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
        _payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, JobResult> {
        Box::pin(async move {
            let n = {
                let mut runs = self.runs.lock().unwrap();
                let n = runs.entry(ctx.job_id).or_insert(0);
                *n += 1;
                *n
            };
            if n <= self.failures {
                anyhow::bail!("planned failure {n}");
            }
            Ok(())
        })
    }
}

/// No waiting between retries, so tests need no sleeps.
fn fast() -> JobsConfig {
    JobsConfig {
        backoff_base: Duration::ZERO,
        ..JobsConfig::default()
    }
}

fn worker(db: &Db, handler: Arc<dyn JobHandler>, config: JobsConfig) -> Worker {
    Worker::new(
        db.clone(),
        Registry::default().with_handler(handler),
        config,
    )
}

#[tokio::test]
async fn a_failed_job_is_retried_and_a_finished_one_never_runs_again() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let (handler, runs) = Flaky::new(1);
    let w = worker(&db, handler, fast());
    let id = jobs::enqueue_now(&db, &NewJob::new("test.flaky", serde_json::json!({"n": 1})))
        .await
        .unwrap()
        .unwrap();

    let first = w.run_one().await.unwrap();
    assert!(
        matches!(first, Some(Outcome::Retry { id: i, .. }) if i == id),
        "{first:?}"
    );
    let row = store::get(&db, id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("queued", 1));
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .contains("planned failure 1")
    );

    assert_eq!(w.run_one().await.unwrap(), Some(Outcome::Done { id }));
    let row = store::get(&db, id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("done", 2));
    assert_eq!(row.last_error, None);

    // Finished: further cycles find nothing and the handler is not called again.
    assert_eq!(w.run_one().await.unwrap(), None);
    assert_eq!(w.drain(&CancellationToken::new()).await.unwrap(), 0);
    assert_eq!(runs.lock().unwrap()[&id], 2);
}

#[tokio::test]
async fn retries_back_off_exponentially() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let (handler, _) = Flaky::new(10);
    let config = JobsConfig {
        backoff_base: Duration::from_secs(60),
        ..JobsConfig::default()
    };
    let w = worker(&db, handler, config);
    let id = jobs::enqueue_now(&db, &NewJob::new("test.flaky", serde_json::json!({})))
        .await
        .unwrap()
        .unwrap();
    let before = now_ms();
    let Some(Outcome::Retry { at, .. }) = w.run_one().await.unwrap() else {
        panic!("expected a retry");
    };
    // First retry after the base delay (plus at most 10% jitter), not before.
    assert!(
        at >= before + 60_000 && at <= now_ms() + 66_000,
        "retry at +{} ms",
        at - before
    );
    // Not yet due: nothing to run.
    assert_eq!(w.run_one().await.unwrap(), None);
    assert_eq!(store::get(&db, id).await.unwrap().unwrap().status, "queued");
}

#[tokio::test]
async fn a_job_out_of_attempts_is_dead_and_kept() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let (handler, runs) = Flaky::new(100);
    let w = worker(&db, handler, fast());
    let id = jobs::enqueue_now(
        &db,
        &NewJob::new("test.flaky", serde_json::json!({})).max_attempts(3),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(
        w.run_one().await.unwrap(),
        Some(Outcome::Retry { .. })
    ));
    assert!(matches!(
        w.run_one().await.unwrap(),
        Some(Outcome::Retry { .. })
    ));
    assert_eq!(w.run_one().await.unwrap(), Some(Outcome::Dead { id }));
    assert_eq!(w.run_one().await.unwrap(), None);
    let row = store::get(&db, id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("dead", 3));
    assert_eq!(runs.lock().unwrap()[&id], 3);
}

#[tokio::test]
async fn unknown_kinds_and_bad_payloads_do_not_stop_the_worker() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let (handler, _) = Flaky::new(0);
    let w = worker(&db, handler, fast());
    let unknown = jobs::enqueue_now(
        &db,
        &NewJob::new("test.unknown", serde_json::json!({})).max_attempts(1),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        w.run_one().await.unwrap(),
        Some(Outcome::Dead { id: unknown })
    );
    let row = store::get(&db, unknown).await.unwrap().unwrap();
    assert!(row.last_error.unwrap().contains("no handler"));
    let ok = jobs::enqueue_now(&db, &NewJob::new("test.flaky", serde_json::json!({})))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w.run_one().await.unwrap(), Some(Outcome::Done { id: ok }));
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_old_worker_cannot_finish_it() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let id = jobs::enqueue_now(&db, &NewJob::new("test.flaky", serde_json::json!({})))
        .await
        .unwrap()
        .unwrap();
    // A worker claims the job and dies: its lease is already over.
    let now = now_ms();
    let claimed = store::claim(&db, "dead-worker", now, now - 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, id);

    let (handler, runs) = Flaky::new(0);
    let w = worker(&db, handler, fast());
    assert_eq!(w.run_one().await.unwrap(), Some(Outcome::Done { id }));
    assert_eq!(store::get(&db, id).await.unwrap().unwrap().attempts, 2);
    assert_eq!(runs.lock().unwrap()[&id], 1);
    // The dead worker coming back cannot overwrite the outcome.
    assert!(!store::complete(&db, id, "dead-worker").await.unwrap());
    assert!(
        !store::fail(&db, id, "dead-worker", "late", None)
            .await
            .unwrap()
    );
    assert_eq!(store::get(&db, id).await.unwrap().unwrap().status, "done");
}

#[tokio::test]
async fn a_live_lease_is_not_taken() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    jobs::enqueue_now(&db, &NewJob::new("test.flaky", serde_json::json!({})))
        .await
        .unwrap();
    let now = now_ms();
    assert!(
        store::claim(&db, "busy-worker", now, now + 60_000)
            .await
            .unwrap()
            .is_some()
    );
    let (handler, _) = Flaky::new(0);
    assert_eq!(worker(&db, handler, fast()).run_one().await.unwrap(), None);
}

#[tokio::test]
async fn dedupe_keys_make_enqueueing_idempotent() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let job = NewJob::new("test.flaky", serde_json::json!({})).dedupe_key("order-42-paid");
    let first = jobs::enqueue_now(&db, &job).await.unwrap();
    let second = jobs::enqueue_now(&db, &job).await.unwrap();
    assert!(first.is_some());
    assert_eq!(second, None);
    assert_eq!(
        store::list_by_kind(&db, "test.flaky").await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn an_enqueue_in_a_rolled_back_transaction_leaves_no_job() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    {
        let mut tx = db.begin().await.unwrap();
        jobs::enqueue(&mut tx, &NewJob::new("test.flaky", serde_json::json!({})))
            .await
            .unwrap();
        // Dropped without commit: the cause failed, so the job must not exist.
    }
    assert!(
        store::list_by_kind(&db, "test.flaky")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn concurrent_workers_run_every_job_exactly_once() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    for i in 0..40 {
        jobs::enqueue_now(&db, &NewJob::new("test.flaky", serde_json::json!({"i": i})))
            .await
            .unwrap();
    }
    let (handler, runs) = Flaky::new(0);
    let handler: Arc<dyn JobHandler> = handler;
    let workers: Vec<Worker> = (0..4)
        .map(|_| worker(&db, handler.clone(), fast()))
        .collect();
    let token = CancellationToken::new();
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in workers {
        let (token, done) = (token.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            done.fetch_add(w.drain(&token).await.unwrap(), Ordering::SeqCst);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), 40);
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 40);
    assert!(runs.values().all(|n| *n == 1), "a job ran twice: {runs:?}");
    let rows = store::list_by_kind(&db, "test.flaky").await.unwrap();
    assert!(rows.iter().all(|r| r.status == "done"));
}

#[tokio::test]
async fn pruning_deletes_old_finished_jobs_only() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let (handler, _) = Flaky::new(0);
    let w = worker(&db, handler, fast());
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            jobs::enqueue_now(&db, &NewJob::new("test.flaky", serde_json::json!({})))
                .await
                .unwrap()
                .unwrap(),
        );
        w.run_one().await.unwrap();
    }
    let (old, recent, old_dead) = (ids[0], ids[1], ids[2]);
    let queued = jobs::enqueue_now(
        &db,
        &NewJob::new("test.flaky", serde_json::json!({})).run_at(now_ms() + 3_600_000),
    )
    .await
    .unwrap()
    .unwrap();
    // Age two of them by eight days; one of those is dead rather than done.
    let eight_days_ago = now_ms() - 8 * 24 * 3_600_000;
    db.execute(
        "UPDATE job SET updated_at = $1 WHERE id = $2 OR id = $3",
        (eight_days_ago, old, old_dead),
    )
    .await
    .map(|_| ())
    .unwrap();
    db.execute("UPDATE job SET status = 'dead' WHERE id = $1", (old_dead,))
        .await
        .map(|_| ())
        .unwrap();

    let prune = Worker::new(db.clone(), Registry::standard(), fast());
    let id = jobs::enqueue_now(&db, &NewJob::new(jobs::prune::KIND, serde_json::json!({})))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(prune.run_one().await.unwrap(), Some(Outcome::Done { id }));

    assert!(
        store::get(&db, old).await.unwrap().is_none(),
        "old finished job kept"
    );
    for keep in [recent, old_dead, queued] {
        assert!(
            store::get(&db, keep).await.unwrap().is_some(),
            "job {keep} was pruned"
        );
    }
}

#[tokio::test]
async fn the_running_app_schedules_and_runs_its_recurring_job_once_per_slot() {
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    let done = eventually(Duration::from_secs(10), || {
        let db = db.clone();
        async move {
            let rows = store::list_by_kind(&db, jobs::prune::KIND).await.ok()?;
            rows.iter().any(|r| r.status == "done").then_some(rows)
        }
    })
    .await
    .expect("the worker ran the prune job within 10 s");
    assert_eq!(done.len(), 1);
    let sessions = eventually(Duration::from_secs(10), || {
        let db = db.clone();
        async move {
            let rows = store::list_by_kind(&db, yunyi::identity::cleanup::KIND)
                .await
                .ok()?;
            rows.iter().any(|r| r.status == "done").then_some(rows)
        }
    })
    .await;
    assert!(sessions.is_some(), "the session purge job ran too");
    assert!(
        done[0]
            .dedupe_key
            .as_deref()
            .unwrap()
            .starts_with("recurring:maintenance.prune_jobs:")
    );
    // A second worker (another node) scheduling the same slot adds nothing.
    let other = Worker::new(db.clone(), Registry::standard(), JobsConfig::default());
    other.schedule_recurring().await.unwrap();
    assert_eq!(
        store::list_by_kind(&db, jobs::prune::KIND)
            .await
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

/// A typed job: its payload is decoded before it runs.
struct Double(Arc<Mutex<Vec<i64>>>);

#[derive(serde::Serialize, serde::Deserialize)]
struct DoubleThis {
    n: i64,
}

impl jobs::Payload for DoubleThis {
    const KIND: &'static str = "test.double";
}

impl jobs::Job for Double {
    type Payload = DoubleThis;

    async fn run(&self, _ctx: &JobContext, p: DoubleThis) -> JobResult {
        self.0.lock().unwrap().push(p.n * 2);
        Ok(())
    }
}

#[tokio::test]
async fn a_typed_job_gets_its_payload_decoded_and_a_malformed_one_fails_with_the_reason() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let w = Worker::new(
        db.clone(),
        Registry::default().with_job(Double(seen.clone())),
        fast(),
    );
    let good = jobs::enqueue_now(&db, &NewJob::of(&DoubleThis { n: 21 }))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w.run_one().await.unwrap(), Some(Outcome::Done { id: good }));
    assert_eq!(*seen.lock().unwrap(), vec![42]);

    let bad = jobs::enqueue_now(
        &db,
        &NewJob::new("test.double", serde_json::json!({"n": "many"})).max_attempts(1),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(w.run_one().await.unwrap(), Some(Outcome::Dead { id: bad }));
    let row = store::get(&db, bad).await.unwrap().unwrap();
    let reason = row.last_error.unwrap();
    assert!(
        reason.contains("payload of a test.double job is not valid"),
        "{reason}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}
