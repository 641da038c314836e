//! Supervision statistics from stored rows: appointment rate (booked visits / all visits) and
//! time-slot rate (slots of at most 30 minutes / appointments) per hospital, department, day.

use chrono::Duration as Days;
use reqwest::StatusCode;
use serde_json::{Value, json};
use yunyi::time::today;

use crate::booking::setup;
use crate::helpers::PW;

async fn exec(db: &yunyi::db::Db, sql: &str) {
    db.execute(sql, ()).await.map(|_| ()).unwrap();
}

fn hospital_row<'a>(items: &'a [Value], day: &str) -> &'a Value {
    items
        .iter()
        .find(|r| r["day"] == day && r["scope"] == "hospital")
        .unwrap_or_else(|| panic!("no hospital row for {day}: {items:?}"))
}

#[tokio::test]
async fn appointment_and_time_slot_rates_come_from_visits_and_appointments() {
    let c = setup().await;
    let (doctor, schedule) = c.schedule("doctor4").await;
    let day = today() + Days::days(3);
    for (start, end, minutes) in [("08:00", "09:00", 15), ("10:00", "12:00", 60)] {
        let (s, body) = c
            .post(
                &c.admin,
                &format!("/api/v1/schedules/{schedule}/sessions"),
                json!({"date": day.to_string(), "start": start, "end": end, "slot_minutes": minutes,
                       "mode": "in_person", "release_at": chrono::Utc::now().to_rfc3339()}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let slots = c.slots(doctor).await;
    assert_eq!(slots.len(), 6);
    let hospital = slots[0]["hospital_id"].as_i64().unwrap();
    let [p1, p2, p3] = [
        c.app.token("patient1", PW).await,
        c.app.token("patient2", PW).await,
        c.app.token("patient3", PW).await,
    ];
    let book = |t: &str, slot: &Value| {
        let (t, slot) = (t.to_owned(), slot["id"].clone());
        let c = &c;
        async move {
            let (s, a) = c
                .post(&t, "/api/v1/appointments", json!({"slot_id": slot}))
                .await;
            assert_eq!(s, StatusCode::CREATED, "{a}");
            a
        }
    };
    let a1 = book(&p1, &slots[0]).await; // 15 minutes
    let _a2 = book(&p2, &slots[4]).await; // 60 minutes
    let a3 = book(&p3, &slots[1]).await; // cancelled: not counted
    let (s, _) = c
        .post(
            &p3,
            &format!("/api/v1/appointments/{}/cancel", a3["id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // patient1 arrives half an hour early and checks in: a booked visit.
    let start = yunyi::clock::now_ms() + 30 * 60_000;
    exec(
        &c.app.db,
        &format!(
            "UPDATE slot SET start_at = {start}, end_at = {} WHERE id = {}",
            start + 15 * 60_000,
            a1["slot_id"]
        ),
    )
    .await;
    let (s, body) = c
        .post(
            &p1,
            &format!("/api/v1/appointments/{}/check-in", a1["id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // A walk-in at the front desk today.
    let nurse = c.app.token("nurse1", PW).await;
    let p4 = c.app.token("patient4", PW).await;
    let person4 = c.app.person_of(&p4).await;
    let (s, body) = c
        .post(
            &nurse,
            "/api/v1/visits",
            json!({"hospital_id": hospital, "person_id": person4}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let pharmacist = c.app.token("pharmacist1", PW).await;
    let (s, _) = c
        .post(
            &pharmacist,
            "/api/v1/visits",
            json!({"hospital_id": hospital, "person_id": person4}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = c
        .post(&nurse, "/api/v1/visits", json!({"hospital_id": hospital}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "person_id");

    let regulator = c.app.token("regulator1", PW).await;
    let range = format!("from={}&to={}", today(), today() + Days::days(5));
    let (s, stats) = c
        .get(
            &regulator,
            &format!("/api/v1/statistics/appointments?{range}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{stats}");
    let items = stats["items"].as_array().unwrap();
    let booked_day = hospital_row(items, &day.to_string());
    assert_eq!(booked_day["hospital_id"], hospital);
    assert_eq!(booked_day["appointments"], 2);
    assert_eq!(booked_day["time_slot_appointments"], 1);
    assert_eq!(booked_day["time_slot_rate"], 0.5);
    assert_eq!(booked_day["visits"], 1);
    assert_eq!(booked_day["appointment_rate"], 1.0);
    let walk_in_day = hospital_row(items, &today().to_string());
    assert_eq!(walk_in_day["visits"], 1);
    assert_eq!(walk_in_day["booked_visits"], 0);
    assert_eq!(walk_in_day["appointment_rate"], 0.0);
    assert!(walk_in_day["time_slot_rate"].is_null());
    // Department rows add up to the hospital's.
    let departments: i64 = items
        .iter()
        .filter(|r| r["day"] == day.to_string() && r["scope"] == "department")
        .map(|r| r["appointments"].as_i64().unwrap())
        .sum();
    assert_eq!(departments, 2);

    // The hospital's administrator sees their own; patients nothing; bad dates name the field.
    let (s, own) = c
        .get(
            &c.admin,
            &format!("/api/v1/statistics/appointments?{range}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(own["items"], stats["items"]);
    let (s, _) = c
        .get(
            &c.admin,
            &format!(
                "/api/v1/statistics/appointments?{range}&hospital={}",
                hospital + 1
            ),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = c.get(&p1, "/api/v1/statistics/appointments").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = c
        .get(&regulator, "/api/v1/statistics/appointments?from=yesterday")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "from");
    c.app.stop().await;
}
