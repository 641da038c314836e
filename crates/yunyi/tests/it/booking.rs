//! Booking time slots: never oversold under concurrency, fairness rules, release times,
//! acting only for oneself and one's family, cancellation, and the care link it creates.

use chrono::Duration as Days;
use reqwest::StatusCode;
use serde_json::{Value, json};
use yunyi::clock::now_ms;
use yunyi::identity::actor::{Actor, SessionKind};
use yunyi::identity::{auth, store as istore};

use crate::helpers::{PW, TestApp, id_number};

/// A demo application and its hospital administrator's token; shared by the scheduling tests.
pub struct Ctx {
    pub app: TestApp,
    pub admin: String,
}

pub async fn setup() -> Ctx {
    setup_with(|_| {}).await
}

pub async fn setup_with(customize: impl FnOnce(&mut yunyi::config::Config)) -> Ctx {
    let app = TestApp::spawn_with(
        crate::helpers::TestDb::with_demo().await,
        customize,
        yunyi::app::job_registry(),
    )
    .await;
    let admin = app.token("hospital-admin", PW).await;
    Ctx { app, admin }
}

impl Ctx {
    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self.app.post_as(Some(token), path, &body).await;
        let status = r.status();
        (
            status,
            serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null),
        )
    }

    /// Any method with a bearer token and an optional JSON body: (status, JSON or null).
    pub async fn send(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .app
            .client
            .request(method, self.app.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        let status = r.status();
        (
            status,
            serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null),
        )
    }

    /// Requests a consultation and pays its fee through the sandbox gateway's signed
    /// notification, as the patient does before a doctor sees it: (status, the consultation
    /// as it stands once paid).
    pub async fn request_paid(&self, token: &str, body: Value) -> (StatusCode, Value) {
        let (status, created) = self.post(token, "/api/v1/consultations", body).await;
        if status != StatusCode::CREATED || created["fee"]["status"] != "pending" {
            return (status, created);
        }
        crate::billing::pay_order_id(
            &self.app,
            created["fee"]["order_id"].as_i64().unwrap(),
            created["fee"]["total_fen"].as_i64().unwrap(),
        )
        .await;
        let id = created["id"].as_i64().unwrap();
        let (_, paid) = self
            .get(token, &format!("/api/v1/consultations/{id}"))
            .await;
        assert_eq!(paid["fee"]["status"], "paid", "{paid}");
        (status, paid)
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, token, path, None).await
    }

    pub async fn doctor(&self, username: &str) -> i64 {
        istore::account_by_username(&self.app.db, username)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// A schedule for the doctor's text consultation, with one session `days_ahead` days from
    /// today, 08:00 to `end`, 15-minute slots, released at `release` (RFC 3339) or now.
    pub async fn session(
        &self,
        username: &str,
        days_ahead: i64,
        end: &str,
        release: Option<String>,
    ) -> (i64, Vec<Value>) {
        let (doctor, schedule) = self.schedule(username).await;
        let day = yunyi::time::today() + Days::days(days_ahead);
        let release = release.unwrap_or_else(|| chrono::Utc::now().to_rfc3339());
        let (s, body) = self
            .post(
                &self.admin,
                &format!("/api/v1/schedules/{schedule}/sessions"),
                json!({"date": day.to_string(), "start": "08:00", "end": end, "slot_minutes": 15, "release_at": release}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        (doctor, self.slots(doctor).await)
    }

    /// The doctor's free slots over the next 28 days, as the API lists them.
    pub async fn slots(&self, doctor: i64) -> Vec<Value> {
        let (_, slots) = self
            .app
            .get_json(&format!("/api/v1/doctors/{doctor}/slots?days=28"))
            .await;
        slots["items"].as_array().unwrap().clone()
    }

    /// A new schedule for the doctor's text consultation: (doctor id, schedule id).
    pub async fn schedule(&self, username: &str) -> (i64, i64) {
        let doctor = self.doctor(username).await;
        let (_, detail) = self
            .app
            .get_json(&format!("/api/v1/doctors/{doctor}"))
            .await;
        let service = detail["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "text_consult")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let (s, body) = self
            .post(
                &self.admin,
                "/api/v1/schedules",
                json!({"service_id": service}),
            )
            .await;
        let schedule = if s == StatusCode::CREATED {
            body["schedule_id"].as_i64().unwrap()
        } else {
            panic!("schedule: {s} {body}")
        };
        (doctor, schedule)
    }

    /// Patients created directly (no argon2 per patient), each with a bearer token.
    pub async fn patients(&self, n: usize) -> Vec<(String, i64)> {
        let state = &self.app.state;
        let mut out = Vec::new();
        for i in 0..n {
            let mut tx = state.db.begin().await.unwrap();
            let id = id_number("19900101", 200 + i as u32);
            let person = istore::NewPersonRow {
                name: "并发患者",
                id_number_enc: state.keys.encrypt(&id),
                id_number_hash: state.keys.lookup_hash("id_number", &id),
                id_number_mask: "440***".into(),
                birth_date: "1990-01-01".into(),
                sex: "male",
                region: &id[..6],
            };
            let person_id = istore::insert_person(&mut tx, &person, now_ms())
                .await
                .unwrap();
            let account = istore::NewAccountRow {
                username: Some(&format!("rush{i}")),
                role: "patient",
                display_name: "并发患者",
                password_hash: None,
                phone_enc: None,
                phone_hash: None,
                phone_mask: None,
                person_id: Some(person_id),
                hospital_id: None,
                created_by: None,
            };
            let account_id = istore::insert_account(&mut tx, &account, now_ms())
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let (token, _) =
                auth::start_session(state, &Actor::default(), account_id, SessionKind::Bearer)
                    .await
                    .unwrap();
            out.push((token, person_id));
        }
        out
    }
}

#[tokio::test]
async fn two_hundred_concurrent_bookings_on_twenty_slots_sell_exactly_twenty() {
    let c = setup().await;
    // 08:00–13:00 in 15-minute slots: 20 slots.
    let (_, slots) = c.session("doctor2", 1, "13:00", None).await;
    assert_eq!(slots.len(), 20);
    let slot_ids: Vec<i64> = slots.iter().map(|s| s["id"].as_i64().unwrap()).collect();
    let mut patients = c.patients(201).await;
    let late = patients.pop().unwrap();
    let mut tasks = Vec::new();
    for (i, (token, person)) in patients.into_iter().enumerate() {
        let client = c.app.client.clone();
        let url = c.app.url("/api/v1/appointments");
        let slot = slot_ids[i % slot_ids.len()];
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"slot_id": slot, "person_id": person}))
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut booked = 0;
    let mut conflicts = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::CREATED => booked += 1,
            StatusCode::CONFLICT => {
                conflicts += 1;
                assert_eq!(body["code"], "slot-taken", "{body}");
                assert!(
                    body["detail"].as_str().unwrap().contains("just taken"),
                    "{body}"
                );
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((booked, conflicts), (20, 180));
    // A client that asks for Chinese gets the same code with the detail in Chinese.
    let (token, person) = late;
    let r = c
        .app
        .client
        .post(c.app.url("/api/v1/appointments"))
        .bearer_auth(token)
        .header("accept-language", "zh-CN,zh;q=0.9")
        .json(&json!({"slot_id": slot_ids[0], "person_id": person}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "slot-taken", "{body}");
    assert_eq!(
        body["detail"], "这个时段刚刚被约满了，请选择其他时间。",
        "{body}"
    );
    // The database agrees: every slot exactly full, 20 stored appointments, none twice.
    let (full, stored): (i64, i64) = c
        .app
        .db
        .one(
            "SELECT (SELECT COUNT(*) FROM slot WHERE booked = capacity), \
         (SELECT COUNT(*) FROM appointment WHERE status = 'booked')",
            (),
        )
        .await
        .unwrap();
    assert_eq!((full, stored), (20, 20));
    let (_, slots) = c
        .app
        .get_json(&format!(
            "/api/v1/doctors/{}/slots?days=28",
            c.doctor("doctor2").await
        ))
        .await;
    assert!(
        slots["items"].as_array().unwrap().is_empty(),
        "no free slot left"
    );
    c.app.stop().await;
}

#[tokio::test]
async fn fairness_acting_for_family_release_and_cancellation() {
    let c = setup().await;
    let (doctor, slots) = c.session("doctor2", 2, "09:00", None).await;
    let ids: Vec<i64> = slots.iter().map(|s| s["id"].as_i64().unwrap()).collect();
    let p1 = c.app.token("patient1", PW).await;
    let me: Value = c.app.get_as(&p1, "/api/v1/me").await.json().await.unwrap();
    let child = me["family"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["relationship"] == "child")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // Book for myself (person_id defaults to me), then a second slot the same day: refused.
    let (s, first) = c
        .post(&p1, "/api/v1/appointments", json!({"slot_id": ids[0]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert!(
        first["start"].as_str().unwrap().ends_with("+08:00"),
        "shown in China Standard Time"
    );
    let (s, body) = c
        .post(&p1, "/api/v1/appointments", json!({"slot_id": ids[1]}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        body["detail"].as_str().unwrap().contains("already"),
        "{body}"
    );
    // For my child: allowed. For someone else: as if they did not exist.
    assert_eq!(
        c.post(
            &p1,
            "/api/v1/appointments",
            json!({"slot_id": ids[1], "person_id": child})
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let p2 = c.app.token("patient2", PW).await;
    let (s, _) = c
        .post(
            &p2,
            "/api/v1/appointments",
            json!({"slot_id": ids[2], "person_id": child}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Staff do not book.
    let nurse = c.app.token("nurse1", PW).await;
    assert_eq!(
        c.post(
            &nurse,
            "/api/v1/appointments",
            json!({"slot_id": ids[2], "person_id": child})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );

    // The booking lets the doctor read the patient (after the identity check); cancelling ends it.
    let d2 = c.app.token("doctor2", PW).await;
    c.app.step_up(&d2).await;
    let me_id = me["person"]["id"].as_i64().unwrap();
    assert_eq!(
        c.app
            .get_as(&d2, &format!("/api/v1/patients/{me_id}"))
            .await
            .status(),
        StatusCode::OK
    );
    let appt = first["id"].as_i64().unwrap();
    assert_eq!(
        c.post(
            &p2,
            &format!("/api/v1/appointments/{appt}/cancel"),
            json!({})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.post(
            &p1,
            &format!("/api/v1/appointments/{appt}/cancel"),
            json!({"reason": "改期"})
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.post(
            &p1,
            &format!("/api/v1/appointments/{appt}/cancel"),
            json!({})
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        c.app
            .get_as(&d2, &format!("/api/v1/patients/{me_id}"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // The place is free again.
    let (_, after) = c
        .app
        .get_json(&format!("/api/v1/doctors/{doctor}/slots?days=28"))
        .await;
    assert!(
        after["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == ids[0])
    );
    let (_, mine) = {
        let r = c.app.get_as(&p1, "/api/v1/appointments").await;
        (r.status(), r.json::<Value>().await.unwrap())
    };
    let statuses: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 2);
    assert!(statuses.contains(&"cancelled") && statuses.contains(&"booked"));
    c.app.stop().await;
}

#[tokio::test]
async fn slots_before_their_release_are_visible_but_not_bookable() {
    let c = setup().await;
    let release = (chrono::Utc::now() + chrono::Duration::hours(6)).to_rfc3339();
    let (_, slots) = c.session("doctor4", 3, "09:00", Some(release)).await;
    assert_eq!(slots.len(), 4);
    assert!(slots.iter().all(|s| s["bookable"] == false));
    let p1 = c.app.token("patient1", PW).await;
    let (s, body) = c
        .post(
            &p1,
            "/api/v1/appointments",
            json!({"slot_id": slots[0]["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("opens for booking"),
        "{body}"
    );
    // Sessions are validated: in the past, backwards, bad release.
    let (s, _) = c
        .post(
            &c.admin,
            "/api/v1/schedules/1/sessions",
            json!({"date": "2000-01-01", "start": "08:00", "end": "09:00"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let patient = c.app.token("patient2", PW).await;
    assert_eq!(
        c.post(
            &patient,
            "/api/v1/schedules/1/sessions",
            json!({"date": "2030-01-01", "start": "08:00", "end": "09:00"})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    c.app.stop().await;
}

/// Bookings that fail inside a batch (one patient rushing all times of one day: only one per
/// doctor and day) roll back alone; the others committed with them stand, and every audit
/// event of a committed booking is there, chained.
#[tokio::test]
async fn failed_bookings_in_a_concurrent_batch_leave_the_others_intact() {
    let c = setup().await;
    let (_, slots) = c.session("doctor2", 1, "13:00", None).await;
    assert_eq!(slots.len(), 20);
    let patients = c.patients(10).await;
    let mut tasks = Vec::new();
    for (i, slot) in slots.iter().enumerate() {
        // Slots 0–9: ten patients, one each. Slots 10–19: patient 0 again, ten times.
        let (token, person) = patients[if i < 10 { i } else { 0 }].clone();
        let (client, url, slot) = (
            c.app.client.clone(),
            c.app.url("/api/v1/appointments"),
            slot["id"].as_i64().unwrap(),
        );
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"slot_id": slot, "person_id": person}))
                .send()
                .await
                .unwrap();
            (i, r.status(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut created = 0;
    for t in tasks {
        let (i, status, body) = t.await.unwrap();
        if (1..10).contains(&i) {
            assert_eq!(status, StatusCode::CREATED, "patient {i}: {body}");
        }
        if status == StatusCode::CREATED {
            created += 1;
        } else {
            assert_eq!(status, StatusCode::CONFLICT, "{body}");
            assert!(
                body["detail"].as_str().unwrap().contains("that day"),
                "{body}"
            );
        }
    }
    // Nine other patients and exactly one of patient 0's eleven tries.
    assert_eq!(created, 10);
    yunyi::audit::seal(&c.app.db).await.unwrap();
    let (full, stored, events): (i64, i64, i64) = c
        .app
        .db
        .one(
            "SELECT (SELECT COUNT(*) FROM slot WHERE booked > 0), \
         (SELECT COUNT(*) FROM appointment WHERE status = 'booked'), \
         (SELECT COUNT(*) FROM audit_event WHERE action = 'appointment.create')",
            (),
        )
        .await
        .unwrap();
    assert_eq!((full, stored, events), (10, 10, 10));
    let report = yunyi::audit::verify(&c.app.db).await.unwrap();
    assert!(
        matches!(report, yunyi::audit::Verification::Intact { .. }),
        "{report:?}"
    );
    c.app.stop().await;
}

/// Two server processes' worth of applications on one database (the same SQLite file, or the
/// same PostgreSQL schema): 100 concurrent bookings split between them on 10 slots sell
/// exactly 10 — the database decides, not a process-local lock.
#[tokio::test]
async fn two_servers_on_one_database_never_sell_a_slot_twice() {
    let c = setup().await;
    let second = yunyi::Application::build_with(c.app.test_db.config(), yunyi::app::job_registry())
        .await
        .expect("second application on the same database");
    let second_addr = second.local_addr();
    let stop_second = tokio_util::sync::CancellationToken::new();
    let second_task = tokio::spawn(second.run_until(stop_second.clone()));
    let (_, slots) = c.session("doctor2", 1, "10:30", None).await;
    assert_eq!(slots.len(), 10);
    let patients = c.patients(100).await;
    let mut tasks = Vec::new();
    for (i, (token, person)) in patients.into_iter().enumerate() {
        let base = if i % 2 == 0 {
            format!("http://{}", c.app.addr)
        } else {
            format!("http://{second_addr}")
        };
        let client = c.app.client.clone();
        let slot = slots[i % 10]["id"].as_i64().unwrap();
        tasks.push(tokio::spawn(async move {
            client
                .post(format!("{base}/api/v1/appointments"))
                .bearer_auth(token)
                .json(&json!({"slot_id": slot, "person_id": person}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 10);
    let (full, stored): (i64, i64) = c
        .app
        .db
        .one(
            "SELECT (SELECT COUNT(*) FROM slot WHERE booked = capacity), \
         (SELECT COUNT(*) FROM appointment WHERE status = 'booked')",
            (),
        )
        .await
        .unwrap();
    assert_eq!((full, stored), (10, 10));
    stop_second.cancel();
    second_task.await.unwrap().unwrap();
    c.app.stop().await;
}

#[tokio::test]
async fn one_patients_bookings_at_once_never_pass_the_upcoming_limit() {
    let c = setup().await;
    // One 08:00–08:15 slot on each of the next eight days: no same-day rule in the way.
    let (doctor, schedule) = c.schedule("doctor4").await;
    for days_ahead in 1..=8 {
        let day = yunyi::time::today() + Days::days(days_ahead);
        let (s, body) = c
            .post(
                &c.admin,
                &format!("/api/v1/schedules/{schedule}/sessions"),
                json!({"date": day.to_string(), "start": "08:00", "end": "08:15", "slot_minutes": 15,
                       "release_at": chrono::Utc::now().to_rfc3339()}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let slots: Vec<i64> = c
        .slots(doctor)
        .await
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(slots.len(), 8);
    let (token, person) = c.patients(1).await.remove(0);
    let tasks: Vec<_> = slots
        .into_iter()
        .map(|slot| {
            let request = c
                .app
                .client
                .post(c.app.url("/api/v1/appointments"))
                .bearer_auth(&token)
                .json(&json!({"slot_id": slot, "person_id": person}));
            tokio::spawn(async move {
                let r = request.send().await.unwrap();
                (r.status(), r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut booked = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::CREATED => booked += 1,
            StatusCode::CONFLICT => assert!(
                body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("at most 5 upcoming"),
                "{body}"
            ),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(booked, yunyi::scheduling::service::MAX_ACTIVE);
    c.app.stop().await;
}

#[tokio::test]
async fn a_retried_booking_with_the_same_idempotency_key_books_once() {
    let c = setup().await;
    let (_, slots) = c.session("doctor2", 3, "09:00", None).await;
    let ids: Vec<i64> = slots.iter().map(|s| s["id"].as_i64().unwrap()).collect();
    let p1 = c.app.token("patient1", PW).await;
    let book = |key: &'static str, slot: i64| {
        let client = c.app.client.clone();
        let url = c.app.url("/api/v1/appointments");
        let token = p1.clone();
        async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .header("idempotency-key", key)
                .json(&json!({"slot_id": slot}))
                .send()
                .await
                .unwrap();
            let replayed = r.headers().contains_key("idempotent-replayed");
            (r.status(), replayed, r.json::<Value>().await.unwrap())
        }
    };
    let (s, replayed, first) = book("pay-7f3a", ids[0]).await;
    assert_eq!((s, replayed), (StatusCode::CREATED, false), "{first}");
    // The phone lost the answer and sends the same request again: the same answer, once.
    let (s, replayed, again) = book("pay-7f3a", ids[0]).await;
    assert_eq!((s, replayed), (StatusCode::CREATED, true), "{again}");
    assert_eq!(again, first);
    let booked: i64 = c
        .app
        .db
        .scalar(
            "SELECT COUNT(*) FROM appointment WHERE slot_id = $1 AND status = 'booked'",
            (ids[0],),
        )
        .await
        .unwrap();
    assert_eq!(booked, 1);
    // The same key for another request is refused; a refused request gives its key back.
    let (s, _, reused) = book("pay-7f3a", ids[1]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{reused}");
    assert_eq!(reused["code"], "idempotency-key-reused");
    let (s, _, refused) = book("second-try", ids[1]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["code"], "duplicate-booking", "{refused}");
    let kept: i64 = c
        .app
        .db
        .scalar(
            "SELECT COUNT(*) FROM idempotency_key WHERE key = 'second-try'",
            (),
        )
        .await
        .unwrap();
    assert_eq!(kept, 0);
    // A first request still running: a retry is told to wait. One abandoned long ago (its
    // process died mid-request): the same request takes the key over and runs again.
    let set = |created: i64| {
        let db = c.app.db.clone();
        async move {
            db.execute(
                "UPDATE idempotency_key SET status = NULL, body = NULL, created_at = $1 WHERE key = 'pay-7f3a'",
                (created,),
            )
            .await
            .unwrap();
        }
    };
    set(yunyi::clock::now_ms()).await;
    let (s, _, waiting) = book("pay-7f3a", ids[0]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{waiting}");
    assert_eq!(waiting["code"], "idempotency-key-in-flight");
    set(0).await;
    let (s, _, again) = book("pay-7f3a", ids[0]).await;
    assert_eq!(s, StatusCode::CONFLICT, "{again}");
    assert_eq!(
        again["code"], "slot-taken",
        "the handler ran again: {again}"
    );
    // A key must be printable ASCII.
    let r = c
        .app
        .client
        .post(c.app.url("/api/v1/appointments"))
        .bearer_auth(&p1)
        .header("idempotency-key", "   ")
        .json(&json!({"slot_id": ids[1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Booking is a patient's action: anyone else is told so with a code to branch on.
    let doctor = c.app.token("doctor2", PW).await;
    let (s, body) = c
        .post(
            &doctor,
            "/api/v1/appointments",
            json!({"slot_id": ids[2], "person_id": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "role-required", "{body}");
    assert_eq!(body["type"], "urn:yunyi:problem:forbidden", "{body}");
    c.app.stop().await;
}
