//! The plan of a doctor's week: weekly templates generating the rolling horizon, edits that
//! keep booked slots, leave and holidays that cancel on the hospital's side and tell the
//! patient, and release (放号) performed by the durable job at its time.

use chrono::{Datelike as _, Duration as Days};
use reqwest::{Method, StatusCode};
use serde_json::json;
use yunyi::time::today;

use crate::booking::setup;
use crate::helpers::PW;

fn starts(slots: &[serde_json::Value]) -> Vec<String> {
    slots
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn weekly_templates_fill_the_horizon_edits_keep_booked_slots_and_closures_cancel() {
    let c = setup().await;
    let (doctor, schedule) = c.schedule("doctor4").await;
    // Released as soon as generated: 14 days ahead at midnight.
    let (s, body) = c
        .send(
            Method::PUT,
            &c.admin,
            &format!("/api/v1/schedules/{schedule}/release-rules"),
            Some(json!({"horizon_days": 14, "release_days": 14, "release_time": "00:00"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let day2 = today() + Days::days(2);
    let day9 = today() + Days::days(9);
    let weekday = day2.weekday().number_from_monday();
    let (s, body) = c
        .post(
            &c.admin,
            &format!("/api/v1/schedules/{schedule}/templates"),
            json!({"weekday": weekday, "start": "09:00", "end": "10:00", "slot_minutes": 30,
                   "mode": "in_person", "location": "门诊楼 3 层 305"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // Two such weekdays within 14 days, two slots each.
    assert_eq!(body["slots_created"], 4);
    let template = body["template_id"].as_i64().unwrap();
    let slots = c.slots(doctor).await;
    assert_eq!(
        starts(&slots),
        [
            format!("{day2}T09:00:00+08:00"),
            format!("{day2}T09:30:00+08:00"),
            format!("{day9}T09:00:00+08:00"),
            format!("{day9}T09:30:00+08:00"),
        ]
    );
    assert!(slots.iter().all(|s| s["bookable"] == true
        && s["mode"] == "in_person"
        && s["location"] == "门诊楼 3 层 305"));

    let p1 = c.app.token("patient1", PW).await;
    let (s, booked) = c
        .post(
            &p1,
            "/api/v1/appointments",
            json!({"slot_id": slots[0]["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{booked}");

    // The afternoon instead: free morning slots go, the booked one stays.
    let (s, body) = c
        .send(
            Method::PUT,
            &c.admin,
            &format!("/api/v1/schedule-templates/{template}"),
            Some(json!({"weekday": weekday, "start": "14:00", "end": "15:00", "slot_minutes": 20})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["slots_created"], 6);
    let slots = c.slots(doctor).await;
    assert_eq!(slots.len(), 6);
    assert!(
        starts(&slots).iter().all(|t| t.contains("T14:")),
        "{slots:?}"
    );
    let (_, mine) = c.get(&p1, "/api/v1/appointments").await;
    assert_eq!(mine["items"][0]["status"], "booked");
    assert_eq!(mine["items"][0]["start"], format!("{day2}T09:00:00+08:00"));
    let (_, listed) = c
        .get(&c.admin, &format!("/api/v1/schedules/{schedule}/templates"))
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["start"], "14:00");
    // The old template is gone: editing it again is refused.
    let (s, _) = c
        .send(
            Method::PUT,
            &c.admin,
            &format!("/api/v1/schedule-templates/{template}"),
            Some(json!({"weekday": weekday, "start": "14:00", "end": "15:00"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Bad templates name their fields; patients may not edit schedules.
    let (s, body) = c
        .post(
            &c.admin,
            &format!("/api/v1/schedules/{schedule}/templates"),
            json!({"weekday": 8, "start": "10:00", "end": "09:00", "mode": "walk"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = crate::helpers::error_fields(&body);
    assert_eq!(fields, ["weekday", "mode", "end"], "{body}");
    let (s, _) = c
        .post(
            &p1,
            &format!("/api/v1/schedules/{schedule}/templates"),
            json!({"weekday": 1, "start": "09:00", "end": "10:00"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The doctor's leave on day 2 cancels the booked visit on the hospital's side.
    let (s, _) = c
        .post(
            &c.admin,
            &format!("/api/v1/schedules/{schedule}/closures"),
            json!({"date": day2.to_string()}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    let (s, closed) = c
        .post(
            &c.admin,
            &format!("/api/v1/schedules/{schedule}/closures"),
            json!({"date": day2.to_string(), "reason": "外出会诊"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{closed}");
    assert_eq!(closed["slots_blocked"], 4);
    assert_eq!(closed["appointments_cancelled"], 1);
    let (_, mine) = c.get(&p1, "/api/v1/appointments").await;
    assert_eq!(mine["items"][0]["status"], "cancelled");
    assert_eq!(mine["items"][0]["cancelled_by"], "hospital");
    let inbox = c.app.state.inbox.as_ref().unwrap();
    // The notice is a durable job: the worker sends it within a poll or two.
    let notice = crate::helpers::eventually(std::time::Duration::from_secs(10), || async {
        inbox
            .last_to("13800000001")
            .filter(|m| m.kind == "appointment.cancelled_by_hospital")
    })
    .await
    .expect("patient told");
    assert!(notice.text.contains("外出会诊"), "{}", notice.text);
    assert_eq!(c.slots(doctor).await.len(), 3);

    // A hospital holiday closing part of day 9.
    let hospital = slots[0]["hospital_id"].as_i64().unwrap();
    let (s, closed) = c
        .post(
            &c.admin,
            &format!("/api/v1/hospitals/{hospital}/holidays"),
            json!({"date": day9.to_string(), "start": "14:00", "end": "14:30", "reason": "院庆"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{closed}");
    assert_eq!(closed["slots_blocked"], 2);
    assert_eq!(
        starts(&c.slots(doctor).await),
        [format!("{day9}T14:40:00+08:00")]
    );

    // A closed day beyond the horizon is skipped when the horizon grows.
    let day16 = day2 + Days::days(14);
    let day23 = day9 + Days::days(14);
    let (s, _) = c
        .post(
            &c.admin,
            &format!("/api/v1/schedules/{schedule}/closures"),
            json!({"date": day16.to_string(), "reason": "年假"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = c
        .send(
            Method::PUT,
            &c.admin,
            &format!("/api/v1/schedules/{schedule}/release-rules"),
            Some(json!({"horizon_days": 28, "release_days": 28, "release_time": "00:00"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, all) = c
        .app
        .get_json(&format!("/api/v1/doctors/{doctor}/slots?days=28"))
        .await;
    let all = starts(all["items"].as_array().unwrap());
    assert!(
        !all.iter().any(|t| t.starts_with(&day16.to_string())),
        "{all:?}"
    );
    assert_eq!(
        all.iter()
            .filter(|t| t.starts_with(&day23.to_string()))
            .count(),
        3,
        "{all:?}"
    );
    let (s, body) = c
        .send(
            Method::PUT,
            &c.admin,
            &format!("/api/v1/schedules/{schedule}/release-rules"),
            Some(json!({"horizon_days": 0, "release_time": "8am"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    c.app.stop().await;
}

#[tokio::test]
async fn the_release_job_opens_slots_at_their_release_time() {
    let c = setup().await;
    let release = chrono::Utc::now() + chrono::Duration::minutes(10);
    let (doctor, slots) = c
        .session("doctor4", 3, "08:30", Some(release.to_rfc3339()))
        .await;
    assert_eq!(slots.len(), 2);
    assert!(slots.iter().all(|s| s["bookable"] == false));
    let p1 = c.app.token("patient1", PW).await;
    let (s, _) = c
        .post(
            &p1,
            "/api/v1/appointments",
            json!({"slot_id": slots[0]["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Ten minutes later by the application's clock, the running server's job worker releases
    // them.
    c.app
        .state
        .clock
        .advance(std::time::Duration::from_secs(601));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let opened = loop {
        let slots = c.slots(doctor).await;
        if slots.iter().all(|s| s["bookable"] == true) {
            break slots;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not released: {slots:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        c.app.state.now_ms() >= release.timestamp_millis(),
        "released early"
    );
    let jobs = yunyi::jobs::store::list_by_kind(&c.app.db, "scheduling.release")
        .await
        .unwrap();
    assert!(jobs.iter().any(|j| j.status == "done"), "{jobs:?}");
    let (s, body) = c
        .post(
            &p1,
            "/api/v1/appointments",
            json!({"slot_id": opened[0]["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    c.app.stop().await;
}
