//! The audit trail: every access leaves an event, the chain verifies, and any tampering is
//! found and named by `yunyi audit verify`.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;
use yunyi::audit::{self, AuditActor, NewEvent, Verification};
use yunyi::db::Db;

use crate::helpers::{PW, TestApp, TestDb, bin};

fn verify_cli(test_db: &TestDb) -> (bool, String) {
    let mut cmd = Command::new(bin());
    cmd.arg("audit").arg("verify").args(test_db.cli_args());
    for (key, _) in std::env::vars() {
        if key.starts_with("YUNYI_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn exec(db: &Db, sql: &str) {
    db.execute(sql, ()).await.map(|_| ()).unwrap();
}

async fn drop_append_only_triggers(db: &Db) {
    match db {
        Db::Sqlite(_) => {
            exec(db, "DROP TRIGGER audit_event_no_update").await;
            exec(db, "DROP TRIGGER audit_event_no_delete").await;
        }
        Db::Postgres(_) => exec(db, "DROP TRIGGER audit_event_no_update ON audit_event").await,
    }
}

#[tokio::test]
async fn reads_and_sign_ins_leave_events_and_the_chain_verifies() {
    let app = TestApp::with_demo().await;
    let token = app.token("patient1", PW).await;
    app.get_as(&token, "/api/v1/me").await;
    let admin = app.token("admin", PW).await;
    let events: Value = app
        .get_as(&admin, "/api/v1/audit-events?limit=100")
        .await
        .json()
        .await
        .unwrap();
    let items = events["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"auth.login"));
    assert!(actions.contains(&"patient.read"));
    let login = items.iter().find(|e| e["action"] == "auth.login").unwrap();
    assert!(login["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(login["client_addr"], "127.0.0.1");
    // Newest first, ids gap-free.
    let ids: Vec<i64> = items.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1] + 1), "{ids:?}");

    assert!(matches!(
        audit::verify(&app.db).await.unwrap(),
        Verification::Intact { .. }
    ));
    let test_db = app.stop().await;
    let (ok, text) = verify_cli(&test_db);
    assert!(ok, "{text}");
    assert!(text.contains("audit trail intact"), "{text}");
}

#[tokio::test]
async fn the_database_refuses_to_change_or_delete_events() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let actor = AuditActor {
        role: "cli".into(),
        ..AuditActor::default()
    };
    let event = NewEvent::new(actor, "test.event", "test");
    audit::record(&db, &event).await.unwrap();
    audit::seal(&db).await.unwrap();
    for sql in [
        "UPDATE audit_event SET reason = 'x'",
        "DELETE FROM audit_event",
    ] {
        let result = db.execute(sql, ()).await.map(|_| ());
        let err = result.expect_err(sql).to_string();
        assert!(err.contains("append-only"), "{err}");
    }
}

async fn seed_events(db: &Db, n: usize) {
    let actor = AuditActor {
        role: "cli".into(),
        ..AuditActor::default()
    };
    for i in 0..n {
        let event = NewEvent::new(actor.clone(), "test.event", "test")
            .object(i)
            .patient(1);
        audit::record(db, &event).await.unwrap();
    }
    // PostgreSQL queues events for the sealer; SQLite chains them at once.
    audit::seal(db).await.unwrap();
}

#[tokio::test]
async fn a_changed_event_is_found_and_named() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    seed_events(&db, 8).await;
    drop_append_only_triggers(&db).await;
    exec(&db, "UPDATE audit_event SET patient_id = 2 WHERE id = 5").await;
    assert_eq!(
        audit::verify(&db).await.unwrap(),
        Verification::Broken {
            id: 5,
            reason: "its contents do not match its hash (the event was changed)".into()
        }
    );
    db.close().await;
    let (ok, text) = verify_cli(&test_db);
    assert!(!ok);
    assert!(
        text.contains("error: audit trail broken at event 5"),
        "{text}"
    );
}

#[tokio::test]
async fn a_rehashed_forgery_breaks_the_next_link() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    seed_events(&db, 6).await;
    drop_append_only_triggers(&db).await;
    // The forger recomputes event 3's own hash, but event 4 still points at the old one.
    exec(
        &db,
        "UPDATE audit_event SET outcome = 'denied' WHERE id = 3",
    )
    .await;
    let mut forged = yunyi::audit::store::page(&db, 2, 1)
        .await
        .unwrap()
        .remove(0);
    let hash = forged.compute_hash();
    forged.hash = hash.clone();
    exec(
        &db,
        &format!("UPDATE audit_event SET hash = '{hash}' WHERE id = 3"),
    )
    .await;
    let result = audit::verify(&db).await.unwrap();
    assert!(
        matches!(result, Verification::Broken { id: 4, .. }),
        "{result:?}"
    );
}

#[tokio::test]
async fn removed_events_are_found_in_the_middle_and_at_the_end() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    seed_events(&db, 6).await;
    drop_append_only_triggers(&db).await;
    exec(&db, "DELETE FROM audit_event WHERE id = 6").await;
    let result = audit::verify(&db).await.unwrap();
    assert!(
        matches!(&result, Verification::Broken { id: 6, reason } if reason.contains("removed")),
        "{result:?}"
    );
    exec(&db, "DELETE FROM audit_event WHERE id = 2").await;
    let result = audit::verify(&db).await.unwrap();
    assert!(
        matches!(&result, Verification::Broken { id: 2, reason } if reason.contains("missing")),
        "{result:?}"
    );
    db.close().await;
    let (ok, text) = verify_cli(&test_db);
    assert!(!ok && text.contains("event 2"), "{text}");
}

#[tokio::test]
async fn concurrent_appends_and_sealers_never_fork_the_chain() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let mut tasks = Vec::new();
    for t in 0..8 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let actor = AuditActor {
                role: "cli".into(),
                ..AuditActor::default()
            };
            for i in 0..10 {
                let event = NewEvent::new(actor.clone(), "test.concurrent", "test")
                    .object(format!("{t}-{i}"));
                audit::record(&db, &event).await.unwrap();
                // Every writer also seals, as every node does: sealers take turns.
                if i % 3 == 0 {
                    audit::seal(&db).await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    audit::seal(&db).await.unwrap();
    assert_eq!(
        audit::verify(&db).await.unwrap(),
        Verification::Intact {
            events: 80,
            last_hash: audit::store::head(&db).await.unwrap().1,
            unsealed: 0,
            oldest_unsealed_at: None,
        }
    );
}

/// Inserts a pending event by hand, with the queue id and time given: a write whose
/// transaction commits after later ones were sealed, or one nobody has sealed for a while.
async fn pending_by_hand(db: &Db, id: i64, at: i64, object: &str) {
    exec(
        db,
        &format!(
            "INSERT INTO audit_pending (id, at, actor_role, action, object_type, object_id, outcome, flagged) \
             VALUES ({id}, {at}, 'cli', 'test.late', 'test', '{object}', 'success', FALSE)"
        ),
    )
    .await;
}

#[tokio::test]
async fn a_late_commit_is_sealed_in_the_next_batch_and_verify_names_what_waits() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let now = yunyi::clock::now_ms();
    pending_by_hand(&db, 10, now, "early-id-committed-first").await;
    assert_eq!(audit::seal(&db).await.unwrap(), 1);
    // Queue id 5 was taken before 10 but its transaction committed after 10 was sealed.
    pending_by_hand(&db, 5, now, "late-commit").await;
    match audit::verify(&db).await.unwrap() {
        Verification::Intact {
            events: 1,
            unsealed: 1,
            oldest_unsealed_at: Some(at),
            ..
        } => assert_eq!(at, now),
        other => panic!("{other:?}"),
    }
    assert_eq!(audit::seal(&db).await.unwrap(), 1);
    let chain = audit::store::page(&db, 0, 10).await.unwrap();
    let objects: Vec<_> = chain.iter().map(|e| e.object_id.clone().unwrap()).collect();
    assert_eq!(objects, ["early-id-committed-first", "late-commit"]);
    assert!(matches!(
        audit::verify(&db).await.unwrap(),
        Verification::Intact {
            events: 2,
            unsealed: 0,
            ..
        }
    ));
    // An event two minutes old and still unsealed: no node is sealing, and verify says so.
    pending_by_hand(&db, 11, now - 120_000, "stale").await;
    db.close().await;
    let (ok, text) = verify_cli(&test_db);
    assert!(!ok, "{text}");
    assert!(text.contains("audit trail intact: 2 events"), "{text}");
    assert!(text.contains("1 events not yet sealed"), "{text}");
    assert!(text.contains("ALERT"), "{text}");
}

#[tokio::test]
async fn the_audit_viewer_filters_and_is_for_administrators_only() {
    let app = TestApp::with_demo().await;
    let browser = app.browser();
    let login = browser
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::helpers::csrf_from(&login);
    browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "regulator1"),
            ("password", PW),
        ])
        .send()
        .await
        .unwrap();
    let r = browser
        .get(app.url("/admin/audit?action=auth.login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("审计日志") && html.contains("auth.login"),
        "{html}"
    );
    assert!(!html.contains("<td>patient.read</td>"), "filter applied");
    let r = browser
        .get(app.url("/admin/audit?limit=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let patient = app.token("patient1", PW).await;
    assert_eq!(
        app.get_as(&patient, "/api/v1/audit-events").await.status(),
        StatusCode::FORBIDDEN
    );
    app.stop().await;
}
