//! The notification centre: one notification per event and person, in the inbox in the
//! reader's language, by SMS once (a redelivered job sends nothing twice), under preferences,
//! quiet hours and the rate limit; the booking sweep and the day-before reminder; the live
//! unread count.

use std::time::Duration;

use chrono::Days;
use reqwest::StatusCode;
use serde_json::{Value, json};
use yunyi::jobs::{Job, JobContext};
use yunyi::notification::deliver::{Deliver, DeliverNotifications};
use yunyi::notification::model::{Event, Notice, QuietHours};
use yunyi::notification::store as nstore;

use crate::booking::{Ctx, setup, setup_with};
use crate::consult::{intake, service_of, signed_doctor};
use crate::helpers::{PW, eventually};

const PATIENT1_PHONE: &str = "13800000001";

pub(crate) fn job_ctx(ctx: &Ctx, attempt: i64) -> JobContext {
    JobContext {
        db: ctx.app.db.clone(),
        clock: ctx.app.state.clock.clone(),
        job_id: 0,
        attempt,
    }
}

pub(crate) async fn account(ctx: &Ctx, username: &str) -> i64 {
    yunyi::identity::store::account_by_username(&ctx.app.db, username)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Writes a notification as a context would, in a transaction of its own; its id.
pub(crate) async fn notify(ctx: &Ctx, notice: Notice) -> i64 {
    let now = ctx.app.state.now_ms();
    let mut tx = ctx.app.db.begin().await.unwrap();
    yunyi::notification::service::notify(&mut tx, &notice, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let rows = nstore::list(&ctx.app.db, notice.account_id, None, 1)
        .await
        .unwrap();
    rows[0].id
}

/// The SMS delivery of a notification: (status, detail).
async fn sms(ctx: &Ctx, id: i64) -> (String, Option<String>) {
    let d = nstore::deliveries(&ctx.app.db, id).await.unwrap();
    (d[0].status.as_str().to_owned(), d[0].detail.clone())
}

fn texts_to(ctx: &Ctx, phone: &str, kind: &str) -> usize {
    let inbox = ctx.app.state.inbox.as_ref().unwrap();
    inbox
        .entries()
        .iter()
        .filter(|e| e.to == phone && e.kind == kind)
        .count()
}

#[tokio::test]
async fn a_doctor_taking_a_consultation_tells_the_patient_once_in_the_inbox_and_by_sms() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let service = service_of(&ctx, "doctor5", "text_consult").await;
    let (s, created) = ctx
        .request_paid(
            &patient,
            json!({"service_id": service, "intake": intake("血压控制不好，想咨询用药")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    // Paying the fee brought its receipt (once, in the app only).
    let order = created["fee"]["order_id"].as_i64().unwrap();
    exactly_one(&ctx, "patient1", "payment.paid", &format!("order:{order}")).await;
    let (_, before) = ctx
        .get(&patient, "/api/v1/notifications/unread-count")
        .await;
    let doctor = signed_doctor(&ctx, "doctor5").await;
    let (s, _) = ctx
        .post(
            &doctor,
            &format!("/api/v1/consultations/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // In the inbox at once (written with the change), in Chinese by default, in English when
    // asked.
    let (_, after) = ctx
        .get(&patient, "/api/v1/notifications/unread-count")
        .await;
    assert_eq!(after["unread"], before["unread"].as_i64().unwrap() + 1);
    let (_, inbox) = ctx.get(&patient, "/api/v1/notifications").await;
    let n = &inbox["items"][0];
    assert_eq!(n["event"], "consultation.accepted", "{inbox}");
    assert_eq!(n["title"], "医生已接诊");
    assert!(n["body"].as_str().unwrap().contains("接诊"), "{n}");
    assert_eq!(n["link"], format!("/consultations/{id}"));
    assert!(n["read_at"].is_null());
    let english = ctx
        .app
        .client
        .get(ctx.app.url("/api/v1/notifications"))
        .bearer_auth(&patient)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(english["items"][0]["title"], "Your doctor is here");

    // One text message, signed, by the outbox's worker.
    let nid = n["id"].as_i64().unwrap();
    let sent = eventually(Duration::from_secs(10), || async {
        (sms(&ctx, nid).await.0 == "sent").then_some(())
    })
    .await;
    assert!(sent.is_some(), "the patient is texted");
    assert_eq!(texts_to(&ctx, PATIENT1_PHONE, "consultation.accepted"), 1);
    let message = ctx
        .app
        .state
        .inbox
        .as_ref()
        .unwrap()
        .last_to(PATIENT1_PHONE)
        .unwrap();
    assert!(message.text.starts_with("【云医】"), "{}", message.text);
    assert_eq!(sms(&ctx, nid).await, ("sent".to_owned(), None));

    // The job delivered again (a worker that lost its lease) sends nothing twice.
    let job = DeliverNotifications(ctx.app.state.clone());
    let again = Deliver {
        notification_id: nid,
    };
    job.run(&job_ctx(&ctx, 2), again).await.unwrap();
    assert_eq!(texts_to(&ctx, PATIENT1_PHONE, "consultation.accepted"), 1);

    // Someone else cannot read it; the patient marks it read.
    let other = ctx.app.token("patient2", PW).await;
    let (s, _) = ctx
        .post(
            &other,
            &format!("/api/v1/notifications/{nid}/read"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = ctx
        .app
        .post_as(
            Some(&patient),
            &format!("/api/v1/notifications/{nid}/read"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, read) = ctx
        .get(&patient, "/api/v1/notifications/unread-count")
        .await;
    assert_eq!(read["unread"], before["unread"]);
}

#[tokio::test]
async fn preferences_and_the_rate_limit_hold_text_messages_never_the_inbox() {
    // The job is run by hand here, so no worker runs it at the same time.
    let ctx = setup_with(|c| c.jobs.enabled = false).await;
    let patient = ctx.app.token("patient1", PW).await;
    let me = account(&ctx, "patient1").await;
    let job = DeliverNotifications(ctx.app.state.clone());

    // Appointments by SMS turned off (a bad topic is refused by name first).
    let (s, bad) = set_sms(&ctx, &patient, "spam", false).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["errors"][0]["field"], "items[0].topic");
    let (s, prefs) = set_sms(&ctx, &patient, "appointment", false).await;
    assert_eq!(s, StatusCode::OK, "{prefs}");
    let off = prefs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["topic"] == "appointment")
        .unwrap();
    assert_eq!(off["enabled"], false);
    let id = notify(
        &ctx,
        Notice::new(me, Event::AppointmentBooked, "test:1")
            .param("doctor", "王")
            .param("time", "2026-12-08 09:00"),
    )
    .await;
    job.run(
        &job_ctx(&ctx, 1),
        Deliver {
            notification_id: id,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        sms(&ctx, id).await,
        ("skipped".to_owned(), Some("preference".to_owned()))
    );
    assert_eq!(texts_to(&ctx, PATIENT1_PHONE, "appointment.booked"), 0);
    // The same cause again is stored once.
    let again = notify(&ctx, Notice::new(me, Event::AppointmentBooked, "test:1")).await;
    assert_eq!(again, id);

    // Five non-urgent texts an hour; the sixth stays in the inbox only.
    let mut ids = Vec::new();
    for i in 0..6 {
        let notice = Notice::new(me, Event::PrescriptionApproved, format!("test:{i}"))
            .param("prescription", i.to_string());
        let id = notify(&ctx, notice).await;
        job.run(
            &job_ctx(&ctx, 1),
            Deliver {
                notification_id: id,
            },
        )
        .await
        .unwrap();
        ids.push(id);
    }
    let mut outcomes = Vec::new();
    for id in &ids {
        outcomes.push(sms(&ctx, *id).await);
    }
    let sent = outcomes.iter().filter(|(s, _)| s == "sent").count();
    assert_eq!(sent, 5, "{outcomes:?}");
    assert_eq!(
        outcomes[5],
        ("skipped".to_owned(), Some("rate_limited".to_owned()))
    );
    // Urgent news is not rate limited (appointments by SMS turned back on first).
    let (s, _) = set_sms(&ctx, &patient, "appointment", true).await;
    assert_eq!(s, StatusCode::OK);
    let urgent = notify(
        &ctx,
        Notice::new(me, Event::WaitlistOffer, "test:urgent")
            .param("time", "t")
            .param("until", "u"),
    )
    .await;
    job.run(
        &job_ctx(&ctx, 1),
        Deliver {
            notification_id: urgent,
        },
    )
    .await
    .unwrap();
    assert_eq!(sms(&ctx, urgent).await.0, "sent");
    let (_, unread) = ctx
        .get(&patient, "/api/v1/notifications/unread-count")
        .await;
    assert!(unread["unread"].as_i64().unwrap() >= 8, "{unread}");
}

#[tokio::test]
async fn in_quiet_hours_only_urgent_texts_go_and_the_rest_wait_for_the_end() {
    // Quiet hours from this minute (China time) for two hours.
    let now = yunyi::clock::now_ms() + 8 * 3_600_000;
    let minute = u32::try_from((now / 60_000).rem_euclid(24 * 60)).unwrap();
    let quiet = QuietHours {
        start_min: minute,
        end_min: (minute + 120) % (24 * 60),
    };
    let ctx = setup_with(|c| {
        c.notification.quiet_hours = Some(quiet);
        c.jobs.enabled = false;
    })
    .await;
    let me = account(&ctx, "patient1").await;
    let job = DeliverNotifications(ctx.app.state.clone());
    let urgent = notify(
        &ctx,
        Notice::new(me, Event::WaitlistOffer, "quiet:1")
            .param("time", "t")
            .param("until", "u"),
    )
    .await;
    let later = notify(
        &ctx,
        Notice::new(me, Event::PrescriptionRejected, "quiet:2")
            .param("prescription", "9")
            .param("reason", "剂量过大"),
    )
    .await;
    for id in [urgent, later] {
        job.run(
            &job_ctx(&ctx, 1),
            Deliver {
                notification_id: id,
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(sms(&ctx, urgent).await.0, "sent");
    assert_eq!(
        sms(&ctx, later).await,
        ("deferred".to_owned(), Some("quiet_hours".to_owned()))
    );
    assert_eq!(texts_to(&ctx, PATIENT1_PHONE, "prescription.rejected"), 0);
    // A job waits for the end of the quiet hours; then the worker sends it.
    let end = quiet.ends_after(ctx.app.state.now_ms()).unwrap();
    let waiting: i64 = ctx
        .app
        .db
        .scalar(
            "SELECT COUNT(*) FROM job WHERE kind = 'notification.deliver' AND run_at = $1",
            (end,),
        )
        .await
        .unwrap();
    assert_eq!(waiting, 1);
    ctx.app.state.clock.advance(Duration::from_millis(
        u64::try_from(end - ctx.app.state.now_ms()).unwrap() + 1,
    ));
    // As the worker runs the waiting job then.
    job.run(
        &job_ctx(&ctx, 1),
        Deliver {
            notification_id: later,
        },
    )
    .await
    .unwrap();
    assert_eq!(texts_to(&ctx, PATIENT1_PHONE, "prescription.rejected"), 1);
    assert_eq!(sms(&ctx, later).await.0, "sent");
}

#[tokio::test]
async fn the_sweep_tells_each_new_booking_once_and_reminds_a_day_before() {
    use yunyi::scheduling::reminders::sweep;
    let ctx = setup().await;
    let state = &ctx.app.state;
    sweep(state, state.now_ms()).await.unwrap();
    let (_, slots) = ctx.session("doctor5", 2, "09:00", None).await;
    let patient = ctx.app.token("patient1", PW).await;
    let slot = &slots[0];
    let (s, booked) = ctx
        .post(
            &patient,
            "/api/v1/appointments",
            json!({"slot_id": slot["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{booked}");
    let appointment = booked["id"].as_i64().unwrap();
    let me = account(&ctx, "patient1").await;
    sweep(state, state.now_ms()).await.unwrap();
    sweep(state, state.now_ms()).await.unwrap();
    assert_eq!(
        count_of(&ctx, me, "appointment.booked").await,
        1,
        "told once"
    );
    assert_eq!(
        count_of(&ctx, me, "appointment.reminder").await,
        0,
        "two days ahead"
    );

    // A day before the visit (plus a minute), the reminder.
    let start = yunyi::time::cst_ms(
        yunyi::time::today() + Days::new(2),
        chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
    )
    .unwrap();
    let ahead = start - 24 * 3_600_000 + 60_000 - state.now_ms();
    state
        .clock
        .advance(Duration::from_millis(u64::try_from(ahead).unwrap()));
    sweep(state, state.now_ms()).await.unwrap();
    sweep(state, state.now_ms()).await.unwrap();
    assert_eq!(count_of(&ctx, me, "appointment.reminder").await, 1);
    // A day later the morning's token has expired: sign in again.
    let patient = ctx.app.token("patient1", PW).await;
    let (_, inbox) = ctx.get(&patient, "/api/v1/notifications?limit=100").await;
    let reminder = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["event"] == "appointment.reminder")
        .unwrap();
    assert!(
        reminder["body"].as_str().unwrap().contains("08:00"),
        "{reminder}"
    );
    assert!(
        nstore::list(&ctx.app.db, me, None, 100)
            .await
            .unwrap()
            .iter()
            .any(|n| n.params.contains("\"doctor\"") && n.event == Event::AppointmentBooked),
        "booked {appointment}"
    );
}

#[tokio::test]
async fn an_open_page_hears_the_unread_count_change() {
    let ctx = setup().await;
    let browser = ctx.app.sign_in_browser("patient1").await;
    let me = account(&ctx, "patient1").await;
    let mut stream = browser
        .client
        .get(ctx.app.url("/notifications/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    assert_eq!(
        stream.headers()["x-accel-buffering"],
        "no",
        "nginx must not buffer it"
    );
    let mut seen = String::new();
    let first = next_count(&mut stream, &mut seen).await;
    notify(&ctx, Notice::new(me, Event::ParcelDelivered, "stream:1")).await;
    // The worker's delivery job rings the bell after the commit.
    let second = next_count(&mut stream, &mut seen).await;
    assert_eq!(second, first + 1, "{seen}");

    // The inbox page shows it, and the header's badge the count.
    let page = browser.page("/notifications").await;
    assert!(page.contains("药品已送达"), "{page}");
    assert!(
        page.contains(&format!(">{second}</span>")),
        "the badge shows {second}"
    );
    // Anonymous: no stream.
    let r = ctx.app.get("/notifications/stream").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

/// Turns one topic's text messages on or off through the API.
async fn set_sms(ctx: &Ctx, token: &str, topic: &str, enabled: bool) -> (StatusCode, Value) {
    let body = json!({"items": [{"topic": topic, "channel": "sms", "enabled": enabled}]});
    let path = "/api/v1/notification-preferences";
    ctx.send(reqwest::Method::PUT, token, path, Some(body))
        .await
}

/// How many of the account's notifications are of `event`.
async fn count_of(ctx: &Ctx, me: i64, event: &str) -> usize {
    nstore::list(&ctx.app.db, me, None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.event.as_str() == event)
        .count()
}

/// Reads the stream until the next `unread` event; its count.
async fn next_count(stream: &mut reqwest::Response, seen: &mut String) -> i64 {
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(at) = seen.find("event: unread\ndata: ") {
                let rest = &seen[at + "event: unread\ndata: ".len()..];
                if let Some(end) = rest.find('\n') {
                    let n: i64 = rest[..end].trim().parse().unwrap();
                    let consumed = at + "event: unread\ndata: ".len() + end;
                    seen.drain(..consumed);
                    return n;
                }
            }
            let chunk = stream
                .chunk()
                .await
                .unwrap()
                .expect("the stream stays open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    read.expect("an unread event within 10 s")
}

/// A stand-in for Aliyun's SMS endpoint on this machine: checks each request's signature with
/// the shared secret, keeps the parameters, and answers as Aliyun does (`OK`, or a refusal).
async fn fake_aliyun(
    refuse: bool,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<std::collections::BTreeMap<String, String>>>>,
) {
    use axum::extract::RawQuery;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move |RawQuery(q): RawQuery| {
            let kept = kept.clone();
            async move {
                let mut params: std::collections::BTreeMap<String, String> =
                    url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
                        .into_owned()
                        .collect();
                let given = params.remove("Signature").unwrap_or_default();
                let unsigned: std::collections::BTreeMap<&str, String> = params
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.clone()))
                    .collect();
                let valid =
                    yunyi::notification::aliyun_sms::signature("sms-secret", &unsigned) == given;
                kept.lock().unwrap().push(params);
                let code = match (valid, refuse) {
                    (false, _) => "SignatureDoesNotMatch",
                    (true, true) => "isv.BUSINESS_LIMIT_CONTROL",
                    (true, false) => "OK",
                };
                axum::Json(json!({"Code": code, "Message": code, "RequestId": "r1"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/"), seen)
}

fn aliyun_config(endpoint: String) -> yunyi::notification::aliyun_sms::AliyunSmsConfig {
    yunyi::notification::aliyun_sms::AliyunSmsConfig {
        endpoint,
        access_key_id: "sms-id".to_owned(),
        access_key_secret: yunyi::config::Secret("sms-secret".to_owned()),
        sign_name: "云医".to_owned(),
        templates: [
            ("prescription.approved".to_owned(), "SMS_100".to_owned()),
            ("otp.login".to_owned(), "SMS_200".to_owned()),
        ]
        .into(),
    }
}

/// The demo with Aliyun SMS at `endpoint` and no worker (the delivery job is run by hand):
/// the application, patient1's account and the job.
async fn aliyun_app(endpoint: String) -> (Ctx, i64, DeliverNotifications) {
    let ctx = setup_with(|c| {
        c.notification.aliyun_sms = Some(aliyun_config(endpoint));
        c.jobs.enabled = false;
    })
    .await;
    let me = account(&ctx, "patient1").await;
    let job = DeliverNotifications(ctx.app.state.clone());
    (ctx, me, job)
}

#[tokio::test]
async fn text_messages_go_to_aliyun_signed_as_a_template_with_its_values() {
    let (endpoint, seen) = fake_aliyun(false).await;
    let (ctx, me, job) = aliyun_app(endpoint).await;
    let id = notify(
        &ctx,
        Notice::new(me, Event::PrescriptionApproved, "aliyun:1").param("prescription", "42"),
    )
    .await;
    job.run(
        &job_ctx(&ctx, 1),
        Deliver {
            notification_id: id,
        },
    )
    .await
    .unwrap();
    assert_eq!(sms(&ctx, id).await.0, "sent");
    let sent = seen
        .lock()
        .unwrap()
        .iter()
        .find(|p| p["TemplateCode"] == "SMS_100")
        .cloned()
        .expect("a SendSms request");
    assert_eq!(sent["Action"], "SendSms");
    assert_eq!(sent["PhoneNumbers"], PATIENT1_PHONE);
    assert_eq!(sent["SignName"], "云医");
    assert_eq!(sent["AccessKeyId"], "sms-id");
    assert_eq!(sent["TemplateParam"], r#"{"prescription":"42"}"#);
    // A kind without a template is an error the delivery records, not a silent drop.
    let id = notify(
        &ctx,
        Notice::new(me, Event::PrescriptionRejected, "aliyun:2")
            .param("prescription", "43")
            .param("reason", "r"),
    )
    .await;
    let e = job
        .run(
            &job_ctx(&ctx, 1),
            Deliver {
                notification_id: id,
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("template"), "{e}");
    let (status, detail) = sms(&ctx, id).await;
    assert_eq!(status, "pending", "retried by the outbox");
    assert!(detail.unwrap().contains("prescription.rejected"));
}

#[tokio::test]
async fn a_refusal_by_aliyun_is_retried_then_marked_failed() {
    let (endpoint, _) = fake_aliyun(true).await;
    let (ctx, me, job) = aliyun_app(endpoint).await;
    let id = notify(
        &ctx,
        Notice::new(me, Event::PrescriptionApproved, "aliyun:3").param("prescription", "44"),
    )
    .await;
    let e = job
        .run(
            &job_ctx(&ctx, 1),
            Deliver {
                notification_id: id,
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("BUSINESS_LIMIT_CONTROL"), "{e}");
    assert_eq!(sms(&ctx, id).await.0, "pending");
    let last = yunyi::jobs::NewJob::DEFAULT_MAX_ATTEMPTS;
    job.run(
        &job_ctx(&ctx, last),
        Deliver {
            notification_id: id,
        },
    )
    .await
    .unwrap();
    let (status, detail) = sms(&ctx, id).await;
    assert_eq!(status, "failed");
    assert!(detail.unwrap().contains("BUSINESS_LIMIT_CONTROL"));
}

#[tokio::test]
async fn a_reply_left_unread_for_minutes_is_news_a_read_one_is_not() {
    use yunyi::consult::unread::{RemindUnreadReplies, UnreadReply};
    // The check is run by hand, so no worker runs it at the same time.
    let ctx = setup_with(|c| c.jobs.enabled = false).await;
    let patient = ctx.app.token("patient1", PW).await;
    let me = account(&ctx, "patient1").await;
    let service = service_of(&ctx, "doctor5", "text_consult").await;
    let (_, created) = ctx
        .request_paid(
            &patient,
            json!({"service_id": service, "intake": intake("咳嗽一周")}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let doctor = signed_doctor(&ctx, "doctor5").await;
    let path = format!("/api/v1/consultations/{id}");
    ctx.post(&doctor, &format!("{path}/accept"), json!({}))
        .await;
    let say = |text: &'static str| {
        let (ctx, doctor, path) = (&ctx, doctor.clone(), path.clone());
        async move {
            let (s, m) = ctx
                .post(&doctor, &format!("{path}/messages"), json!({"text": text}))
                .await;
            assert_eq!(s, StatusCode::CREATED, "{m}");
            m["seq"].as_i64().unwrap()
        }
    };
    let first = say("您好，咳嗽有痰吗？").await;
    say("有没有发烧？").await;
    // One check queued for the window, a few minutes on.
    let queued: i64 = ctx
        .app
        .db
        .scalar(
            "SELECT COUNT(*) FROM job WHERE kind = 'consult.unread_reply' AND run_at > $1",
            (ctx.app.state.now_ms() + 60_000,),
        )
        .await
        .unwrap();
    assert_eq!(queued, 1);
    let job = RemindUnreadReplies(ctx.app.state.clone());
    let check = |seq| UnreadReply {
        consultation_id: id,
        seq,
    };
    job.run(&job_ctx(&ctx, 1), check(first)).await.unwrap();
    job.run(&job_ctx(&ctx, 2), check(first)).await.unwrap();
    assert_eq!(count_of(&ctx, me, "consultation.reply").await, 1);
    let (_, inbox) = ctx.get(&patient, "/api/v1/notifications").await;
    assert_eq!(inbox["items"][0]["title"], "医生回复了您");
    assert_eq!(inbox["items"][0]["link"], format!("/consultations/{id}"));

    // Read on the page before the check: nothing more.
    let later = say("请拍一张舌苔的照片。").await;
    let r = ctx
        .app
        .post_as(
            Some(&patient),
            &format!("{path}/read"),
            &json!({"seq": later}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    job.run(&job_ctx(&ctx, 1), check(later)).await.unwrap();
    assert_eq!(count_of(&ctx, me, "consultation.reply").await, 1);
}

#[tokio::test]
async fn notifications_sent_are_fhir_communications_for_their_recipient_only() {
    let ctx = setup().await;
    let p1 = ctx.app.token("patient1", PW).await;
    let person = ctx.app.person_of(&p1).await;
    let r = ctx
        .app
        .get_as(&p1, "/fhir/Communication?category=notification")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let bundle: Value = r.json().await.unwrap();
    crate::fhir::assert_valid(&bundle);
    let entries = bundle["entry"].as_array().unwrap();
    assert!(!entries.is_empty(), "{bundle}");
    let first = &entries[0]["resource"];
    assert_eq!(first["category"][0]["coding"][0]["code"], "notification");
    assert_eq!(
        first["recipient"][0]["reference"],
        format!("Patient/{person}")
    );
    assert_eq!(first["medium"][0]["coding"][0]["code"], "ELECTRONIC");
    let id = first["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with('n'), "{id}");

    let r = ctx
        .app
        .get_as(&p1, &format!("/fhir/Communication/{id}"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let one: Value = r.json().await.unwrap();
    crate::fhir::assert_valid(&one);
    assert_eq!(one["id"], id.as_str());
    // Someone else's notification does not exist for them; a bad category is refused.
    let p2 = ctx.app.token("patient2", PW).await;
    let r = ctx
        .app
        .get_as(&p2, &format!("/fhir/Communication/{id}"))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = ctx
        .app
        .get_as(&p1, "/fhir/Communication?category=alert")
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// Asserts that `username` holds exactly one notification of `event` for `cause` (e.g.
/// `fulfilment:7`, or `fulfilment:7:…` with more after it), with one delivery per channel — none for an event only
/// the inbox carries — however often the cause was reported.
pub async fn exactly_one(ctx: &Ctx, username: &str, event: &str, cause: &str) {
    let account: i64 = ctx
        .app
        .db
        .scalar("SELECT id FROM account WHERE username = $1", (username,))
        .await
        .unwrap();
    let ids: Vec<i64> = ctx
        .app
        .db
        .scalars(
            "SELECT id FROM notification WHERE account_id = $1 AND event = $2 \
             AND (dedupe_key = $3 OR dedupe_key LIKE $4)",
            (
                account,
                event,
                format!("{event}:{cause}"),
                format!("{event}:{cause}:%"),
            ),
        )
        .await
        .unwrap();
    assert_eq!(ids.len(), 1, "{username}: {event} for {cause}: {ids:?}");
    let deliveries = nstore::deliveries(&ctx.app.db, ids[0]).await.unwrap();
    let channels: Vec<String> = deliveries.iter().map(|d| d.channel.to_string()).collect();
    let inbox_only = Event::parse(event).is_some_and(Event::inbox_only);
    let expected: Vec<&str> = if inbox_only { vec![] } else { vec!["sms"] };
    assert_eq!(channels, expected, "{username}: {event}");
}
