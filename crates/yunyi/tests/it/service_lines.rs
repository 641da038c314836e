//! What a service line sets for its consultations: its own first-reply target, a daily quota
//! for on-demand requests, automatic assignment from a department's queue, and free clinics
//! held under a running campaign and taken by its volunteers.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Ctx, setup};
use crate::consult::{intake, service_of, signed_doctor};
use crate::helpers::PW;

/// A service of `doctor`'s hospital and department, created by the hospital's admin with the
/// fields in `extra`. `named` offers it under the doctor's name, else as the department's.
async fn new_service(ctx: &Ctx, doctor: &str, named: bool, extra: Value) -> i64 {
    let id = ctx.doctor(doctor).await;
    let site = yunyi::directory::store::services(&ctx.app.db, Some(id), None, 10)
        .await
        .unwrap()[0]
        .clone();
    let mut body = json!({"hospital_id": site.hospital_id, "department_id": site.department_id,
                          "kind": "text_consult", "name": "线上咨询", "price_fen": 1000});
    if named {
        body["doctor_id"] = json!(id);
    }
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, created) = ctx.post(&ctx.admin, "/api/v1/services", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["service_id"].as_i64().unwrap()
}

async fn request(ctx: &Ctx, patient: &str, service: i64) -> (StatusCode, Value) {
    let token = ctx.app.token(patient, PW).await;
    ctx.request_paid(
        &token,
        json!({"service_id": service, "intake": intake("咳嗽三天")}),
    )
    .await
}

/// The demo's county-hospital campaign's own queue: its free clinic without a named doctor.
async fn campaign_queue(ctx: &Ctx) -> yunyi::directory::model::Service {
    yunyi::directory::store::services(&ctx.app.db, None, None, 500)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.kind == "free_clinic" && s.doctor_id.is_none())
        .expect("the campaign's free clinic")
}

fn queue_item(queue: &Value, id: i64) -> Option<Value> {
    queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .cloned()
}

#[tokio::test]
async fn a_service_sets_its_own_reply_target_and_late_requests_are_flagged() {
    let ctx = setup().await;
    // Bad service settings are named by their fields.
    let doctor = ctx.doctor("doctor2").await;
    let (status, body) = ctx
        .post(
            &ctx.admin,
            "/api/v1/services",
            json!({"hospital_id": 1, "doctor_id": doctor, "kind": "text_consult", "name": "咨询",
                   "price_fen": 100, "reply_within_min": 0, "auto_assign": true}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields = crate::helpers::error_fields(&body);
    assert_eq!(fields, ["reply_within_min", "auto_assign"]);

    let service = new_service(&ctx, "doctor2", true, json!({"reply_within_min": 3})).await;
    let (status, created) = request(&ctx, "patient1", service).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["reply_within_min"], 3);
    assert_eq!(created["reply_overdue"], false);
    let id = created["id"].as_i64().unwrap();
    let doctor = signed_doctor(&ctx, "doctor2").await;
    let (_, queue) = ctx.get(&doctor, "/api/v1/consultations/queue").await;
    assert_eq!(queue_item(&queue, id).unwrap()["reply_overdue"], false);
    // Four minutes later nobody has answered: late by the service's target (the default of
    // ten minutes would not yet be).
    ctx.app
        .db
        .execute(
            "UPDATE consultation SET created_at = created_at - 240000 WHERE id = $1",
            (id,),
        )
        .await
        .map(|_| ())
        .unwrap();
    let (_, queue) = ctx.get(&doctor, "/api/v1/consultations/queue").await;
    assert_eq!(queue_item(&queue, id).unwrap()["reply_overdue"], true);
    let patient = ctx.app.token("patient1", PW).await;
    let (_, read) = ctx
        .get(&patient, &format!("/api/v1/consultations/{id}"))
        .await;
    assert_eq!(read["reply_overdue"], true);
    // The workbench page says so.
    let page = ctx.app.sign_in_browser("doctor2").await;
    page.post_form("/me/step-up", &[("password", PW)]).await;
    let html = page.page("/doctor/consultations").await;
    assert!(html.contains(&format!("id=\"overdue-{id}\"")), "{html}");
}

#[tokio::test]
async fn a_daily_quota_admits_that_many_on_demand_requests_and_takes_back_cancelled_ones() {
    let ctx = setup().await;
    let service = new_service(&ctx, "doctor2", true, json!({"daily_quota": 2})).await;
    let (first, a) = request(&ctx, "patient1", service).await;
    let (second, _) = request(&ctx, "patient2", service).await;
    assert_eq!((first, second), (StatusCode::CREATED, StatusCode::CREATED));
    let (third, refused) = request(&ctx, "patient3", service).await;
    assert_eq!(third, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains("places"),
        "{refused}"
    );
    let waiting: i64 = ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT COUNT(*) FROM consultation WHERE service_id = $1",
            (service,),
        )
        .await
        .unwrap();
    assert_eq!(waiting, 2, "the refused request left nothing behind");
    // patient1 cancels before anyone answers: the place is free again.
    let patient1 = ctx.app.token("patient1", PW).await;
    let (status, _) = ctx
        .post(
            &patient1,
            &format!("/api/v1/consultations/{}/cancel", a["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (again, _) = request(&ctx, "patient3", service).await;
    assert_eq!(again, StatusCode::CREATED);

    // The last place, asked for by three patients at once, goes to exactly one.
    let last = new_service(&ctx, "doctor3", true, json!({"daily_quota": 1})).await;
    let (x, y, z) = tokio::join!(
        request(&ctx, "patient1", last),
        request(&ctx, "patient2", last),
        request(&ctx, "patient3", last),
    );
    let mut statuses = [x.0, y.0, z.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [
            StatusCode::CREATED,
            StatusCode::CONFLICT,
            StatusCode::CONFLICT
        ]
    );
}

#[tokio::test]
async fn a_department_service_can_assign_each_request_to_its_least_busy_doctor() {
    let ctx = setup().await;
    let service = new_service(&ctx, "doctor1", false, json!({"auto_assign": true})).await;
    // The respiratory department's doctors, all free of open consultations in the demo.
    let mut assigned = Vec::new();
    for patient in ["patient1", "patient2", "patient3"] {
        let (status, created) = request(&ctx, patient, service).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(
            created["history"][0]["reason"],
            "assigned to the department's least busy doctor"
        );
        assigned.push(created["doctor_id"].as_i64().unwrap());
    }
    let mut expected = vec![
        ctx.doctor("doctor1").await,
        ctx.doctor("doctor2").await,
        ctx.doctor("doctor3").await,
    ];
    expected.sort();
    let mut got = assigned.clone();
    got.sort();
    assert_eq!(got, expected, "one each: the least busy takes the next");
    // The assigned doctor finds it addressed to them, and a colleague does not see it.
    let (first, second) = (signed_doctor(&ctx, "doctor1").await, assigned[0]);
    let (_, queue) = ctx.get(&first, "/api/v1/consultations/queue").await;
    let mine: Vec<Value> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["addressed_to_me"] == true)
        .cloned()
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(second, ctx.doctor("doctor1").await);
}

#[tokio::test]
async fn a_free_clinic_needs_a_running_campaign_and_is_taken_by_its_volunteers() {
    let ctx = setup().await;
    // The demo's county-hospital campaign has a queue of its own.
    let campaign_queue = campaign_queue(&ctx).await;
    let (status, created) = request(&ctx, "patient2", campaign_queue.id).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert!(created["campaign_id"].is_i64());
    assert_eq!(created["reply_within_min"], 30);
    // doctor3 volunteers from Guangzhou and sees it; doctor2 works there but does not volunteer.
    let volunteer = signed_doctor(&ctx, "doctor3").await;
    let (_, queue) = ctx.get(&volunteer, "/api/v1/consultations/queue").await;
    assert!(queue_item(&queue, id).is_some(), "{queue}");
    let other = signed_doctor(&ctx, "doctor2").await;
    let (_, queue) = ctx.get(&other, "/api/v1/consultations/queue").await;
    assert!(queue_item(&queue, id).is_none());
    let path = format!("/api/v1/consultations/{id}/accept");
    let (status, _) = ctx.post(&other, &path, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, accepted) = ctx.post(&volunteer, &path, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["doctor_id"], ctx.doctor("doctor3").await);

    // In Guangzhou no campaign runs yet: a free clinic there has nothing to offer.
    let doctor2 = new_service(
        &ctx,
        "doctor2",
        true,
        json!({"kind": "free_clinic", "price_fen": 0}),
    )
    .await;
    let doctor4 = new_service(
        &ctx,
        "doctor4",
        true,
        json!({"kind": "free_clinic", "price_fen": 0}),
    )
    .await;
    let (status, refused) = request(&ctx, "patient1", doctor2).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("no free-clinic campaign"),
        "{refused}"
    );
    let today = yunyi::time::today();
    let gz = campaign_queue_hospital(&ctx, "doctor2").await;
    let (status, _) = ctx
        .post(
            &ctx.admin,
            "/api/v1/campaigns",
            json!({"hospital_id": gz, "name": "社区义诊", "starts_on": today.to_string(),
                   "ends_on": today.to_string(), "doctor_ids": [ctx.doctor("doctor2").await]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, created) = request(&ctx, "patient1", doctor2).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created["campaign_id"].is_i64());
    // doctor4 offers a free clinic but does not volunteer in today's campaign.
    let (status, refused) = request(&ctx, "patient1", doctor4).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("not a volunteer"),
        "{refused}"
    );
}

/// The hospital of `doctor`'s services.
async fn campaign_queue_hospital(ctx: &Ctx, doctor: &str) -> i64 {
    let service = service_of(ctx, doctor, "text_consult").await;
    yunyi::directory::store::service(&ctx.app.db, service)
        .await
        .unwrap()
        .unwrap()
        .hospital_id
}

#[tokio::test]
async fn a_patient_in_crisis_comes_first_in_the_queue() {
    let ctx = setup().await;
    let service = service_of(&ctx, "doctor12", "counselling").await;
    let patient = ctx.app.token("patient1", PW).await;
    let counselling = |self_harm: bool| {
        json!({"service_id": service, "intake": {"chief_complaint": "失眠，情绪低落",
               "counselling": {"concern": "压力大", "little_interest": 2, "feeling_down": 2,
                               "self_harm_thoughts": self_harm}}})
    };
    let (_, calm) = ctx.request_paid(&patient, counselling(false)).await;
    let (_, crisis) = ctx.request_paid(&patient, counselling(true)).await;
    let doctor = signed_doctor(&ctx, "doctor12").await;
    let (_, queue) = ctx.get(&doctor, "/api/v1/consultations/queue").await;
    let items = queue["items"].as_array().unwrap();
    assert_eq!(items[0]["id"], crisis["id"], "{queue}");
    assert_eq!(items[0]["crisis"], true);
    let calm_item = queue_item(&queue, calm["id"].as_i64().unwrap()).unwrap();
    assert_eq!(calm_item["crisis"], false);
}

#[tokio::test]
async fn a_booked_online_appointment_starts_its_consultation_from_the_appointments_page() {
    let ctx = setup().await;
    let (_, slots) = ctx.session("doctor2", 1, "09:00", None).await;
    let patient = ctx.app.token("patient1", PW).await;
    let (status, booked) = ctx
        .post(
            &patient,
            "/api/v1/appointments",
            json!({"slot_id": slots[0]["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let appointment = booked["id"].as_i64().unwrap();
    let service = booked["service_id"].as_i64().unwrap();

    let page = ctx.app.sign_in_browser("patient1").await;
    let list = page.page("/appointments").await;
    let start = format!("/consultations/new?service={service}&amp;appointment={appointment}");
    assert!(
        list.contains(&format!("id=\"start-consultation-{appointment}\"")) && list.contains(&start),
        "{list}"
    );
    let form = page
        .page(&format!(
            "/consultations/new?service={service}&appointment={appointment}"
        ))
        .await;
    assert!(form.contains("id=\"in-appointment\""), "{form}");
    let shown = page
        .submit(
            "/consultations/new",
            &[
                ("service_id", service.to_string()),
                ("appointment_id", appointment.to_string()),
                ("chief_complaint", "复查血压".to_owned()),
            ],
        )
        .await;
    assert!(shown.contains("复查血压"), "{shown}");
    let held = yunyi::consult::store::for_appointment(&ctx.app.db, appointment)
        .await
        .unwrap()
        .expect("held as a consultation");
    let (_, read) = ctx
        .get(&patient, &format!("/api/v1/consultations/{held}"))
        .await;
    assert_eq!(read["appointment_id"], appointment);
    assert_eq!(read["doctor_id"], ctx.doctor("doctor2").await);
    // The appointment now opens its consultation instead of starting another.
    let list = page.page("/appointments").await;
    assert!(
        list.contains(&format!("href=\"/consultations/{held}\"")),
        "{list}"
    );
    let (status, again) = ctx
        .request_paid(&patient,
            json!({"service_id": service, "appointment_id": appointment, "intake": intake("再来一次")}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
}

#[tokio::test]
async fn a_hospital_page_offers_its_department_services_and_running_campaigns() {
    let ctx = setup().await;
    let campaign_queue = campaign_queue(&ctx).await;
    let html = ctx
        .app
        .get(&format!("/hospitals/{}", campaign_queue.hospital_id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("id=\"campaigns\"") && html.contains("冬季呼吸道疾病线上义诊"),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "href=\"/consultations/new?service={}\"",
            campaign_queue.id
        )),
        "{html}"
    );
    // The doctor-named free clinic is on doctor1's profile, not here.
    assert_eq!(html.matches("/consultations/new?service=").count(), 1);
}

#[tokio::test]
async fn the_counselling_form_asks_its_questions_and_keeps_the_answers_on_an_error() {
    let ctx = setup().await;
    let service = service_of(&ctx, "doctor12", "counselling").await;
    let page = ctx.app.sign_in_browser("patient2").await;
    let form = page
        .page(&format!("/consultations/new?service={service}"))
        .await;
    assert!(
        form.contains("id=\"counselling\"") && form.contains("做事时提不起劲或没有兴趣"),
        "{form}"
    );
    // An answer missing: the form comes back with the error by its field and the rest kept.
    let r = page
        .post_form(
            "/consultations/new",
            &[
                ("service_id", &service.to_string()),
                ("chief_complaint", "睡不好"),
                ("concern", "工作压力大"),
                ("little_interest", "2"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let again = r.text().await.unwrap();
    assert!(again.contains("工作压力大"), "{again}");
    assert!(
        again.contains(r#"<option value="2" selected>"#),
        "the answer kept: {again}"
    );
    let shown = page
        .submit(
            "/consultations/new",
            &[
                ("service_id", service.to_string()),
                ("chief_complaint", "睡不好".to_owned()),
                ("concern", "工作压力大".to_owned()),
                ("little_interest", "2".to_owned()),
                ("feeling_down", "3".to_owned()),
                ("self_harm_thoughts", "on".to_owned()),
            ],
        )
        .await;
    assert!(shown.contains("id=\"crisis\""), "{shown}");
}

#[tokio::test]
async fn video_calls_get_time_limited_turn_credentials_when_the_turn_server_shares_a_secret() {
    let ctx = crate::booking::setup_with(|c| {
        c.consult.ice_servers = vec![
            "stun:stun.example.cn:3478".to_owned(),
            "turn:turn.example.cn:3478".to_owned(),
        ];
        c.consult.turn_secret = Some(yunyi::config::Secret("coturn-shared-secret".to_owned()));
    })
    .await;
    let patient = ctx.app.token("patient1", PW).await;
    let (status, body) = ctx.get(&patient, "/api/v1/video/ice-servers").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let servers = body["ice_servers"].as_array().unwrap();
    assert_eq!(servers[0], json!({"urls": "stun:stun.example.cn:3478"}));
    let username = servers[1]["username"].as_str().unwrap();
    let (expiry, account) = username.split_once(':').unwrap();
    let (_, me) = ctx.get(&patient, "/api/v1/me").await;
    assert_eq!(account, me["account_id"].to_string(), "{me}");
    let expiry: i64 = expiry.parse().unwrap();
    let now = yunyi::clock::now_ms() / 1000;
    assert!(
        (now + 11 * 3600..=now + 12 * 3600).contains(&expiry),
        "{expiry} vs {now}"
    );
    let expected = yunyi::consult::ice::turn_credential(
        "coturn-shared-secret",
        account.parse().unwrap(),
        expiry,
    );
    assert_eq!(servers[1]["credential"], expected.1);
    assert!(body["credentials_expire_at"].is_string());
    // The consultation page hands the same kind of entries to chat.js.
    let (_, created) = request(
        &ctx,
        "patient1",
        service_of(&ctx, "doctor2", "text_consult").await,
    )
    .await;
    let page = ctx.app.sign_in_browser("patient1").await;
    let html = page
        .page(&format!("/consultations/{}", created["id"]))
        .await;
    assert!(html.contains("&#34;credential&#34;"), "{html}");
}
