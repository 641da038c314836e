//! Demo seeding is idempotent, and data survives a restart.

use reqwest::StatusCode;
use yunyi::demo;

use crate::helpers::TestApp;

#[tokio::test]
async fn demo_seeds_once_and_data_survives_restarts() {
    let app = TestApp::spawn().await;
    let first = demo::seed(&app.state).await.unwrap();
    assert!(first.newly_seeded);
    assert!(first.hospitals >= 2);
    let (_, before) = app.get_json("/api/v1/hospitals").await;
    let test_db = app.stop().await;

    // Same database, new process state: nothing lost, nothing duplicated by seeding again.
    let app = TestApp::spawn_on(test_db).await;
    let second = demo::seed(&app.state).await.unwrap();
    assert!(!second.newly_seeded);
    assert_eq!(second.hospitals, first.hospitals);
    let (status, after) = app.get_json("/api/v1/hospitals").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(before, after);
    let id = after["items"][0]["id"].as_i64().unwrap();
    let (_, detail) = app.get_json(&format!("/api/v1/hospitals/{id}")).await;
    assert!(detail["departments"].as_array().unwrap().len() >= 5);
    // The care journey's reports: patient1's interpreted, patient3's pathology waiting.
    demo::seed_inbox(&app.state).await.unwrap();
    let reports: Vec<(String, String)> = app
        .db
        .all("SELECT kind, status FROM care_report ORDER BY id", ())
        .await
        .unwrap();
    assert_eq!(
        reports,
        [
            ("lab".to_owned(), "interpreted".to_owned()),
            ("pathology".to_owned(), "asked".to_owned())
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn concurrent_seeding_seeds_once() {
    let app = TestApp::spawn().await;
    let (a, b) = tokio::join!(demo::seed(&app.state), demo::seed(&app.state));
    let (a, b) = (a.unwrap(), b.unwrap());
    // Each part is seeded by exactly one of the callers (possibly different ones); whatever
    // the interleaving, nothing is there twice.
    assert!(a.newly_seeded || b.newly_seeded);
    let again = demo::seed(&app.state).await.unwrap();
    assert!(!again.newly_seeded);
    assert_eq!(again.hospitals, 2);
    assert_eq!(again.accounts, 32);
    app.stop().await;
}

#[tokio::test]
async fn the_demo_opens_schedules_once_with_released_and_unreleased_times() {
    let app = TestApp::spawn().await;
    demo::seed(&app.state).await.unwrap();
    let created = demo::seed_schedules(&app.state).await.unwrap();
    assert!(created > 100, "{created}");
    assert_eq!(
        demo::seed_schedules(&app.state).await.unwrap(),
        0,
        "seeded once"
    );
    let doctor = yunyi::identity::store::account_by_username(&app.db, "doctor2")
        .await
        .unwrap()
        .unwrap()
        .id;
    let (_, slots) = app
        .get_json(&format!("/api/v1/doctors/{doctor}/slots?days=14"))
        .await;
    let slots = slots["items"].as_array().unwrap();
    // The next days can be booked now; the second week is visible but not yet released.
    assert!(slots.iter().any(|s| s["bookable"] == true));
    assert!(slots.iter().any(|s| s["bookable"] == false));
    // Triage now offers the demo's doctors with free times.
    let r: serde_json::Value = app
        .client
        .post(app.url("/api/v1/triage"))
        .json(&serde_json::json!({"text": "咳嗽有痰一个星期"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !r["options"][0]["places"][0]["doctors"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{r}"
    );
    app.stop().await;
}
