//! Scheduling pages over plain HTTP with a cookie session: the administrator's weekly plan,
//! release rules and closures; a patient's reschedule and waitlist; a doctor's day with names
//! shown only after the identity step-up, and check-in.

use chrono::{Datelike as _, Duration as Days};
use serde_json::json;
use yunyi::time::today;

use crate::booking::setup;
use crate::helpers::PW;

async fn exec(db: &yunyi::db::Db, sql: &str) {
    db.execute(sql, ()).await.map(|_| ()).unwrap();
}

#[tokio::test]
async fn administrators_plan_the_week_patients_reschedule_and_doctors_see_their_day() {
    let c = setup().await;
    let doctor = c.doctor("doctor4").await;
    let (_, detail) = c.app.get_json(&format!("/api/v1/doctors/{doctor}")).await;
    let service = detail["services"][0]["id"].as_i64().unwrap();

    // The administrator opens a schedule and plans a weekly session from the pages.
    let admin = c.app.sign_in_browser("hospital-admin").await;
    let list = admin.page("/admin/schedules").await;
    assert!(list.contains("id=\"new-schedule-service\""), "{list}");
    let form = admin
        .client
        .post(c.app.url("/admin/schedules"))
        .form(&[
            ("csrf_token", admin.csrf.clone()),
            ("service_id", service.to_string()),
        ])
        .send()
        .await
        .unwrap();
    let location = form.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/admin/schedules/"), "{location}");
    let day2 = today() + Days::days(2);
    let page = admin
        .submit(
            &format!("{location}/rules"),
            &[
                ("horizon_days", "x".into()),
                ("release_days", "14".into()),
                ("release_time", "00:00".into()),
            ],
        )
        .await;
    assert!(page.contains("horizon_days"), "the field is named: {page}");
    admin
        .submit(
            &format!("{location}/rules"),
            &[
                ("horizon_days", "14".into()),
                ("release_days", "14".into()),
                ("release_time", "00:00".into()),
            ],
        )
        .await;
    let page = admin
        .submit(
            &format!("{location}/templates"),
            &[
                ("weekday", day2.weekday().number_from_monday().to_string()),
                ("start", "09:00".into()),
                ("end", "10:00".into()),
                ("slot_minutes", "30".into()),
                ("capacity", "1".into()),
                ("mode", "in_person".into()),
                ("location", "305 诊室".into()),
            ],
        )
        .await;
    assert!(page.contains("id=\"form-notice\""), "{page}");
    assert!(
        page.contains("305 诊室") && page.contains("09:00"),
        "{page}"
    );
    let page = admin
        .submit(
            &format!("{location}/closures"),
            &[("date", day2.to_string()), ("reason", " ".into())],
        )
        .await;
    assert!(
        page.contains("id=\"form-message\"") && page.contains("reason"),
        "{page}"
    );

    // A patient books, then moves to the other time from the reschedule page.
    let slots = c.slots(doctor).await;
    assert_eq!(slots.len(), 4);
    // The doctor's page shows one day at a time, with the days to choose from.
    let day9 = day2 + Days::days(7);
    let first = c
        .app
        .get(&format!("/doctors/{doctor}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(first.contains(&format!("?day={day9}")), "{first}");
    // The first day with times is shown, its tab marked, its times as chips.
    assert!(
        first.contains(&format!("?day={day2}\" aria-current=\"date\"")),
        "{first}"
    );
    assert!(first.contains("09:00"));
    let later = c
        .app
        .get(&format!("/doctors/{doctor}?day={day9}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        later.contains(&format!("?day={day9}\" aria-current=\"date\"")) && later.contains("09:30"),
        "{later}"
    );
    let p1 = c.app.token("patient1", PW).await;
    let (_, a) = c
        .post(
            &p1,
            "/api/v1/appointments",
            json!({"slot_id": slots[0]["id"]}),
        )
        .await;
    let id = a["id"].as_i64().unwrap();
    let patient = c.app.sign_in_browser("patient1").await;
    let mine = patient.page("/appointments").await;
    assert!(mine.contains(&format!("id=\"reschedule-{id}\"")), "{mine}");
    let choose = patient
        .page(&format!("/appointments/{id}/reschedule"))
        .await;
    assert!(
        choose.contains(&format!("id=\"slot-{}\"", slots[1]["id"])),
        "{choose}"
    );
    let after = patient
        .submit(
            &format!("/appointments/{id}/reschedule"),
            &[("slot_id", slots[1]["id"].to_string())],
        )
        .await;
    assert!(after.contains("id=\"form-notice\""), "{after}");
    assert!(after.contains(&format!("{day2} 09:30")), "{after}");
    // Waiting for a day with nothing free is refused with the reason shown.
    let page = patient
        .submit(
            "/waitlist",
            &[
                ("doctor_id", doctor.to_string()),
                ("date", day2.to_string()),
                ("person_id", c.app.person_of(&p1).await.to_string()),
            ],
        )
        .await;
    assert!(page.contains("free times"), "{page}");

    // The doctor's day: the visit moved to half an hour from now.
    let start = yunyi::clock::now_ms() + 30 * 60_000;
    exec(
        &c.app.db,
        &format!(
            "UPDATE slot SET start_at = {start}, end_at = {} WHERE id = {}",
            start + 30 * 60_000,
            slots[1]["id"]
        ),
    )
    .await;
    exec(
        &c.app.db,
        &format!("UPDATE appointment SET day = '{}' WHERE id = {id}", today()),
    )
    .await;
    let doc = c.app.sign_in_browser("doctor4").await;
    let day = doc.page("/doctor/schedule").await;
    assert!(day.contains(&format!("id=\"today-{id}\"")), "{day}");
    assert!(
        day.contains("id=\"verify-link\"") && !day.contains("张伟"),
        "no names before step-up"
    );
    let r = doc
        .client
        .post(c.app.url("/me/step-up"))
        .form(&[
            ("csrf_token", doc.csrf.clone()),
            ("password", PW.to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("id=\"form-notice\""));
    let day = doc.page("/doctor/schedule").await;
    assert!(day.contains("张伟"), "{day}");
    let day = doc
        .submit(&format!("/doctor/appointments/{id}/check-in"), &[])
        .await;
    assert!(day.contains("id=\"form-notice\""), "{day}");
    let (_, mine) = c.get(&p1, "/api/v1/appointments").await;
    assert_eq!(mine["items"][0]["status"], "checked_in");
    // Patients and doctors do not reach the administrators' pages.
    let r = patient
        .client
        .get(c.app.url("/admin/schedules"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    c.app.stop().await;
}

/// Each appointment says whom it is for: the patient or one of their family (issue #27).
#[tokio::test]
async fn appointments_say_for_whom() {
    let app = crate::helpers::TestApp::with_demo().await;
    yunyi::demo::seed_schedules(&app.state).await.unwrap();
    let token = app.token("patient1", crate::helpers::PW).await;
    // Book the first bookable time of any demo doctor.
    let (_, doctors) = app.get_json("/api/v1/doctors?limit=100").await;
    let mut slot = None;
    for d in doctors["items"].as_array().unwrap() {
        let id = d["doctor_id"].as_i64().or(d["id"].as_i64()).unwrap();
        let (_, slots) = app.get_json(&format!("/api/v1/doctors/{id}/slots")).await;
        slot = slots["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["bookable"] == true)
            .and_then(|s| s["id"].as_i64());
        if slot.is_some() {
            break;
        }
    }
    let booked = app
        .post_as(
            Some(&token),
            "/api/v1/appointments",
            &serde_json::json!({"slot_id": slot.expect("a bookable demo slot")}),
        )
        .await;
    assert_eq!(booked.status(), reqwest::StatusCode::CREATED);
    let browser = app.sign_in_browser("patient1").await;
    let html = browser.page("/appointments").await;
    assert!(html.contains("id=\"for-whom-"), "{html}");
    assert!(
        html.contains("就诊人：张伟") || html.contains("For: 张伟"),
        "{html}"
    );
    app.stop().await;
}

/// From a triage about a child, the booking form offers the child first, not the parent
/// (issue #27); without an age the patient themselves comes first.
#[tokio::test]
async fn booking_after_a_triage_offers_the_person_of_that_age_first() {
    let app = crate::helpers::TestApp::with_demo().await;
    yunyi::demo::seed_schedules(&app.state).await.unwrap();
    let token = app.token("patient1", crate::helpers::PW).await;
    let me: serde_json::Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
    let own = me["person"]["id"].as_i64().unwrap();
    let child = me["family"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["age"].as_i64().is_some_and(|a| a < 18))
        .expect("the demo patient has a child");
    let doctor = yunyi::identity::store::account_by_username(&app.db, "doctor2")
        .await
        .unwrap()
        .unwrap()
        .id;
    let browser = app.sign_in_browser("patient1").await;
    // The first time's confirmation, reached from the doctor's page as a patient would.
    let confirmation = |html: String| {
        let at = html
            .find("href=\"/appointments/confirm?")
            .expect("a time to choose");
        let href = html[at + 6..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&")
            .replace("&#38;", "&");
        let browser = &browser;
        async move { browser.page(&href).await }
    };
    let first_choice = |html: &str| -> i64 {
        let marker = "name=\"person_id\" value=\"";
        let at = html.find(marker).expect("a choice of person") + marker.len();
        html[at..].split('"').next().unwrap().parse().unwrap()
    };
    let plain = confirmation(browser.page(&format!("/doctors/{doctor}")).await).await;
    assert_eq!(first_choice(&plain), own);
    assert!(plain.contains("id=\"confirm-booking\""), "{plain}");
    let age = child["age"].as_i64().unwrap();
    let from_triage = confirmation(
        browser
            .page(&format!("/doctors/{doctor}?age_years={age}"))
            .await,
    )
    .await;
    assert_eq!(first_choice(&from_triage), child["id"].as_i64().unwrap());
    app.stop().await;
}
