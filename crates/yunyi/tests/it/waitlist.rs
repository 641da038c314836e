//! After booking: reschedule as an atomic swap, check-in and no-show marking, and the
//! waitlist whose held place passes to the next patient when the hold expires.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::booking::{Ctx, setup, setup_with};
use crate::helpers::PW;

/// Moves a slot in time, as if the clock had advanced (booking refuses slots in the past).
async fn set_slot_times(c: &Ctx, slot: &Value, start_in_ms: i64) {
    let id = slot["id"].as_i64().unwrap();
    let start = yunyi::clock::now_ms() + start_in_ms;
    let sql = format!(
        "UPDATE slot SET start_at = {start}, end_at = {} WHERE id = {id}",
        start + 15 * 60_000
    );
    exec(&c.app.db, &sql).await;
}

async fn exec(db: &yunyi::db::Db, sql: &str) {
    db.execute(sql, ()).await.map(|_| ()).unwrap();
}

#[tokio::test]
async fn reschedule_swaps_atomically_and_attendance_is_marked_by_the_right_people() {
    let c = setup().await;
    let (_, slots) = c.session("doctor4", 3, "09:00", None).await;
    assert_eq!(slots.len(), 4);
    let p1 = c.app.token("patient1", PW).await;
    let p2 = c.app.token("patient2", PW).await;
    let (s, a) = c
        .post(
            &p1,
            "/api/v1/appointments",
            json!({"slot_id": slots[0]["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let (s, _) = c
        .post(
            &p2,
            "/api/v1/appointments",
            json!({"slot_id": slots[2]["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = a["id"].as_i64().unwrap();

    // To a taken slot: 409 and nothing changes.
    let (s, body) = c
        .post(
            &p1,
            &format!("/api/v1/appointments/{id}/reschedule"),
            json!({"slot_id": slots[2]["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("next free"),
        "{body}"
    );
    let (_, mine) = c.get(&p1, "/api/v1/appointments").await;
    assert_eq!(mine["items"][0]["slot_id"], slots[0]["id"]);
    // To a free one: moved, and the old place is free again.
    let (s, moved) = c
        .post(
            &p1,
            &format!("/api/v1/appointments/{id}/reschedule"),
            json!({"slot_id": slots[1]["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    assert_eq!(moved["id"], id);
    assert_eq!(moved["slot_id"], slots[1]["id"]);
    let free: Vec<Value> = c.slots(moved["doctor_id"].as_i64().unwrap()).await;
    assert!(free.iter().any(|s| s["id"] == slots[0]["id"]));
    assert!(!free.iter().any(|s| s["id"] == slots[1]["id"]));
    // Someone else's appointment is not found; a missing slot id names the field.
    let (s, _) = c
        .post(
            &p2,
            &format!("/api/v1/appointments/{id}/reschedule"),
            json!({"slot_id": slots[3]["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, body) = c
        .post(
            &p1,
            &format!("/api/v1/appointments/{id}/reschedule"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "slot_id");

    // Online visits need no check-in.
    let (s, _) = c
        .post(
            &p1,
            &format!("/api/v1/appointments/{id}/check-in"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    exec(&c.app.db, "UPDATE slot SET mode = 'in_person'").await;
    // In person, but days ahead: check-in is not open yet.
    let (s, body) = c
        .post(
            &p1,
            &format!("/api/v1/appointments/{id}/check-in"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    // Half an hour before: the patient checks in.
    set_slot_times(&c, &moved_slot(&moved), 30 * 60_000).await;
    let (s, body) = c
        .post(
            &p1,
            &format!("/api/v1/appointments/{id}/check-in"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "checked_in");
    assert!(body["checked_in_at"].is_string());

    // patient2's visit began ten minutes ago and they did not come.
    let (_, theirs) = c.get(&p2, "/api/v1/appointments").await;
    let theirs_id = theirs["items"][0]["id"].as_i64().unwrap();
    set_slot_times(&c, &slots[2], -10 * 60_000).await;
    let (s, _) = c
        .post(
            &p2,
            &format!("/api/v1/appointments/{theirs_id}/no-show"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "patients do not mark no-shows");
    let pharmacist = c.app.token("pharmacist1", PW).await;
    let (s, _) = c
        .post(
            &pharmacist,
            &format!("/api/v1/appointments/{theirs_id}/no-show"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not a role that marks attendance");
    let (s, body) = c
        .post(
            &c.admin,
            &format!("/api/v1/appointments/{theirs_id}/no-show"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "no_show");
    let (s, _) = c
        .post(
            &c.admin,
            &format!("/api/v1/appointments/{theirs_id}/no-show"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "already marked");
    c.app.stop().await;
}

fn moved_slot(appointment: &Value) -> Value {
    json!({"id": appointment["slot_id"]})
}

async fn entry(c: &Ctx, token: &str) -> Value {
    let (s, body) = c.get(token, "/api/v1/waitlist").await;
    assert_eq!(s, StatusCode::OK);
    body["items"][0].clone()
}

#[tokio::test]
async fn a_freed_place_is_held_for_the_first_waiting_then_passes_on_when_the_hold_expires() {
    let c = setup_with(|config| {
        config.scheduling.waitlist_hold = Duration::from_secs(600);
    })
    .await;
    let (doctor, slots) = c.session("doctor4", 3, "08:15", None).await;
    assert_eq!(slots.len(), 1);
    let day = slots[0]["start"].as_str().unwrap()[..10].to_owned();
    let [p1, p2, p3] = [
        c.app.token("patient1", PW).await,
        c.app.token("patient2", PW).await,
        c.app.token("patient3", PW).await,
    ];
    // While there is a free time, book it rather than wait.
    let (s, _) = c
        .post(
            &p2,
            "/api/v1/waitlist",
            json!({"doctor_id": doctor, "date": day}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, a) = c
        .post(
            &p1,
            "/api/v1/appointments",
            json!({"slot_id": slots[0]["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    for p in [&p2, &p3] {
        let (s, body) = c
            .post(
                p,
                "/api/v1/waitlist",
                json!({"doctor_id": doctor, "date": day}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "waiting");
    }
    let (s, _) = c
        .post(
            &p2,
            "/api/v1/waitlist",
            json!({"doctor_id": doctor, "date": day}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "once per doctor and day");
    let (s, body) = c
        .post(
            &p2,
            "/api/v1/waitlist",
            json!({"doctor_id": doctor, "date": "soon"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "date");

    // patient1 cancels: the place is held for patient2, and nobody else can book it.
    let (s, _) = c
        .post(
            &p1,
            &format!("/api/v1/appointments/{}/cancel", a["id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let offered = entry(&c, &p2).await;
    assert_eq!(offered["status"], "offered", "{offered}");
    assert_eq!(offered["slot_id"], slots[0]["id"]);
    assert_eq!(entry(&c, &p3).await["status"], "waiting");
    let inbox = c.app.state.inbox.as_ref().unwrap();
    let told = crate::helpers::eventually(Duration::from_secs(10), || async {
        inbox
            .last_to("13800000002")
            .filter(|m| m.kind == "waitlist.offer")
    })
    .await;
    assert!(told.is_some_and(|m| m.text.contains("候补")));
    let (s, _) = c
        .post(
            &p3,
            "/api/v1/appointments",
            json!({"slot_id": slots[0]["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "the place is held");

    // patient2 does not answer for ten minutes (by the application's clock): the job passes
    // the place to patient3.
    c.app.state.clock.advance(Duration::from_secs(601));
    let deadline = Instant::now() + Duration::from_secs(20);
    while entry(&c, &p3).await["status"] != "offered" {
        assert!(Instant::now() < deadline, "hold never passed on");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(entry(&c, &p2).await["status"], "expired");
    let late = entry(&c, &p2).await["id"].as_i64().unwrap();
    let (s, _) = c
        .post(&p2, &format!("/api/v1/waitlist/{late}/accept"), json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let mine = entry(&c, &p3).await["id"].as_i64().unwrap();
    // Only the entry's patient may accept it.
    let (s, _) = c
        .post(&p2, &format!("/api/v1/waitlist/{mine}/accept"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, booked) = c
        .post(&p3, &format!("/api/v1/waitlist/{mine}/accept"), json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{booked}");
    assert_eq!(booked["slot_id"], slots[0]["id"]);
    assert_eq!(entry(&c, &p3).await["status"], "booked");
    // Booked, not oversold: no free place and no hold left.
    assert!(c.slots(doctor).await.is_empty());
    let (s, _) = c
        .send(
            Method::DELETE,
            &p3,
            &format!("/api/v1/waitlist/{mine}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "a booked entry cannot be left");
    c.app.stop().await;
}
