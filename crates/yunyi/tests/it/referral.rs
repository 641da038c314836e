//! Two-way referral (双向转诊): the county hospital's doctor19 refers patient1's father up to
//! the Guangzhou hospital with a summary and a shared diagnosis; the receiving side accepts
//! saying what it arranged (and may then read his record there) or declines saying why, and
//! records the arrival; the family sees each step; anyone else is told nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Ctx, setup};
use crate::helpers::{PW, error_fields};

const BASE: &str = "/api/v1/referrals";

struct World {
    ctx: Ctx,
    referring: String,
    family: String,
    father: i64,
    gz: i64,
    respiratory: i64,
    diagnosis: i64,
}

async fn world() -> World {
    let ctx = setup().await;
    let referring = ctx.app.token("doctor19", PW).await;
    ctx.app.step_up(&referring).await;
    let family = ctx.app.token("patient1", PW).await;
    let one = |sql: &'static str, arg: &'static str| {
        let db = ctx.app.db.clone();
        async move { db.scalar::<i64>(sql, (arg,)).await.unwrap() }
    };
    let father = one("SELECT id FROM person WHERE name = $1", "张建国").await;
    let gz = one("SELECT id FROM hospital WHERE code = $1", "DEMO-GZ-001").await;
    let respiratory = ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT id FROM department WHERE hospital_id = $1 AND std_code = '03.01'",
            (gz,),
        )
        .await
        .unwrap();
    let diagnosis = ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT id FROM offline_diagnosis WHERE person_id = $1 AND icd10 = 'J44.1'",
            (father,),
        )
        .await
        .unwrap();
    World {
        ctx,
        referring,
        family,
        father,
        gz,
        respiratory,
        diagnosis,
    }
}

impl World {
    fn body(&self) -> Value {
        json!({
            "person_id": self.father,
            "to_hospital_id": self.gz,
            "department_id": self.respiratory,
            "direction": "up",
            "kind": "inpatient",
            "summary": "男，74 岁，慢阻肺急性加重，县医院无创通气条件不足，需上级医院住院治疗。",
            "request": "申请呼吸内科住院床位",
            "items": [{"kind": "offline_diagnosis", "id": self.diagnosis}],
        })
    }

    async fn refer(&self) -> i64 {
        let (s, created) = self.ctx.post(&self.referring, BASE, self.body()).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        created["id"].as_i64().unwrap()
    }

    async fn step(&self, token: &str, id: i64, step: &str, body: Value) -> (StatusCode, Value) {
        self.ctx
            .post(token, &format!("{BASE}/{id}/{step}"), body)
            .await
    }

    async fn events(&self, token: &str, id: i64) -> Vec<String> {
        let (_, inbox) = self.ctx.get(token, "/api/v1/notifications?limit=100").await;
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["link"] == format!("/referrals/{id}"))
            .map(|n| n["event"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn a_patient_is_referred_up_accepted_with_a_bed_and_arrives() {
    let w = world().await;
    let id = w.refer().await;
    assert_eq!(
        w.events(&w.ctx.admin, id).await,
        ["referral.request"],
        "the receiving hospital hears"
    );

    // The receiving department's doctors see it, others of the hospital do not.
    let doctor2 = w.ctx.app.token("doctor2", PW).await;
    let doctor4 = w.ctx.app.token("doctor4", PW).await;
    let (_, mine) = w.ctx.get(&doctor2, BASE).await;
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id)
    );
    let (_, not_mine) = w.ctx.get(&doctor4, BASE).await;
    assert!(
        !not_mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id)
    );
    assert_eq!(
        w.ctx.get(&doctor4, &format!("{BASE}/{id}")).await.0,
        StatusCode::NOT_FOUND
    );

    // The receiving doctor reads the shared diagnosis, and nothing of his record yet.
    w.ctx.app.step_up(&doctor2).await;
    let (s, items) = w.ctx.get(&doctor2, &format!("{BASE}/{id}/items")).await;
    assert_eq!(s, StatusCode::OK, "{items}");
    assert_eq!(
        items["items"][0]["lines"][0]["text"],
        "慢性阻塞性肺疾病伴急性加重 (J44.1)"
    );
    let (s, _) = w
        .ctx
        .get(&doctor2, &format!("/api/v1/patients/{}", w.father))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no care link before accepting");

    let (s, bad) = w.step(&doctor2, id, "accept", json!({})).await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["arranged"])
    );
    let (s, _) = w
        .step(
            &doctor2,
            id,
            "accept",
            json!({"arranged": "12 月 9 日上午呼吸内科 12 床，请携带病历资料。"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = w
        .ctx
        .get(&doctor2, &format!("/api/v1/patients/{}", w.father))
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the accepting doctor now cares for him at this hospital"
    );
    assert_eq!(w.events(&w.family, id).await, ["referral.accepted"]);
    assert_eq!(w.events(&w.referring, id).await, ["referral.accepted"]);

    // The family sees where to go.
    let (s, seen) = w.ctx.get(&w.family, &format!("{BASE}/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(seen["standing"], "patient_side");
    assert_eq!(
        seen["arranged"],
        "12 月 9 日上午呼吸内科 12 床，请携带病历资料。"
    );
    assert_eq!(seen["direction"], "up");
    let (s, _) = w.ctx.get(&w.family, &format!("{BASE}/{id}/items")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the items are for the doctors");

    let (s, _) = w.step(&w.referring, id, "arrive", json!({})).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the arrival is recorded where he arrives"
    );
    assert_eq!(
        w.step(&w.ctx.admin, id, "arrive", json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, done) = w.ctx.get(&w.referring, &format!("{BASE}/{id}")).await;
    assert_eq!(done["status"], "arrived");
    let steps: Vec<&str> = done["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["sent", "accepted", "arrived"]);
    let (s, late) = w
        .step(&w.referring, id, "cancel", json!({"reason": "家属要求"}))
        .await;
    assert_eq!(
        (s, late["code"].as_str()),
        (StatusCode::CONFLICT, Some("wrong-state"))
    );
    let actions = w
        .ctx
        .app
        .db
        .scalars::<String>(
            "SELECT action FROM audit_event WHERE object_type = 'referral' AND object_id = $1 \
             UNION ALL SELECT action FROM audit_pending WHERE object_type = 'referral' AND object_id = $1",
            (id.to_string(),),
        )
        .await
        .unwrap();
    for a in [
        "referral.accept",
        "referral.arrive",
        "referral.read",
        "referral.item.read",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} missing: {actions:?}");
    }
}

#[tokio::test]
async fn a_referral_is_declined_or_withdrawn_and_bad_ones_are_refused() {
    let w = world().await;
    // Every bad field named; only patients in the doctor's care; only this patient's items.
    let (s, bad) = w
        .ctx
        .post(
            &w.referring,
            BASE,
            json!({"direction": "across", "items": []}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_fields(&bad),
        [
            "person_id",
            "to_hospital_id",
            "direction",
            "kind",
            "summary",
            "request"
        ]
    );
    let mut other = w.body();
    other["items"] = json!([{"kind": "note", "id": 999999}]);
    let (s, bad) = w.ctx.post(&w.referring, BASE, other).await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["items[0]"])
    );
    let patient3 = w
        .ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT person_id FROM account WHERE username = 'patient3'",
            (),
        )
        .await
        .unwrap();
    let mut stranger = w.body();
    stranger["person_id"] = json!(patient3);
    stranger["items"] = json!([]);
    assert_eq!(
        w.ctx.post(&w.referring, BASE, stranger).await.0,
        StatusCode::FORBIDDEN
    );
    let patient = w.family.clone();
    assert_eq!(
        w.ctx.post(&patient, BASE, w.body()).await.0,
        StatusCode::FORBIDDEN
    );

    // Declined with a reason, which the family reads.
    let id = w.refer().await;
    let doctor2 = w.ctx.app.token("doctor2", PW).await;
    let (s, bad) = w.step(&doctor2, id, "decline", json!({"reason": ""})).await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["reason"])
    );
    assert_eq!(
        w.step(
            &doctor2,
            id,
            "decline",
            json!({"reason": "本院呼吸科床位已满，建议转诊至市中心医院。"})
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (_, seen) = w.ctx.get(&w.family, &format!("{BASE}/{id}")).await;
    assert_eq!(seen["status"], "declined");
    assert_eq!(seen["reason"], "本院呼吸科床位已满，建议转诊至市中心医院。");
    assert_eq!(w.events(&w.family, id).await, ["referral.declined"]);
    let (s, again) = w
        .step(&doctor2, id, "accept", json!({"arranged": "改为门诊"}))
        .await;
    assert_eq!(
        (s, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("wrong-state"))
    );

    // The family withdraws another; the shared items close to the receiving side.
    let id = w.refer().await;
    assert_eq!(
        w.step(
            &w.family,
            id,
            "cancel",
            json!({"reason": "决定在本地继续治疗"})
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        w.ctx.get(&doctor2, &format!("{BASE}/{id}/items")).await.0,
        StatusCode::FORBIDDEN
    );

    // A suspended hospital takes no referrals.
    let platform = w.ctx.app.token("admin", PW).await;
    let (s, _) = w
        .ctx
        .post(
            &platform,
            &format!("/api/v1/hospitals/{}/status", w.gz),
            json!({"status": "suspended", "reason": "整改"}),
        )
        .await;
    assert!(s.is_success());
    let (s, p) = w.ctx.post(&w.referring, BASE, w.body()).await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::CONFLICT, Some("hospital-suspended"))
    );
}

#[tokio::test]
async fn the_pages_refer_from_a_form_and_the_family_sees_the_answer() {
    let w = world().await;
    let app = &w.ctx.app;
    let doctor = app.sign_in_browser("doctor19").await;
    doctor.post_form("/me/step-up", &[("password", PW)]).await;
    let form = doctor
        .page(&format!("/referrals/new?person_id={}", w.father))
        .await;
    assert!(
        form.contains("发起转诊") && form.contains("张建国"),
        "{form}"
    );
    let to = format!("{}:{}", w.respiratory, w.gz);
    let father = w.father.to_string();
    let item = format!("item:offline_diagnosis:{}", w.diagnosis);
    let r = doctor
        .post_form(
            "/referrals/new",
            &[
                ("person_id", father.as_str()),
                ("to", to.as_str()),
                ("direction", "up"),
                ("kind", "inpatient"),
                ("summary", "太短"),
                ("request", "申请住院床位"),
                (item.as_str(), "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("id=\"summary-error\"") && page.contains("申请住院床位"),
        "{page}"
    );
    let r = doctor
        .post_form(
            "/referrals/new",
            &[
                ("person_id", father.as_str()),
                ("to", to.as_str()),
                ("direction", "up"),
                ("kind", "inpatient"),
                ("summary", "男，74 岁，慢阻肺急性加重，需上级医院住院治疗。"),
                ("request", "申请住院床位"),
                (item.as_str(), "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let at = r.headers()["location"].to_str().unwrap().to_owned();
    let admin = app.sign_in_browser("hospital-admin").await;
    let page = admin.page(&at).await;
    assert!(page.contains("id=\"arranged-input\""), "{page}");
    let page = admin
        .submit(
            &format!("{at}/steps/accept"),
            &[("arranged", "12 月 9 日上午呼吸内科 12 床".to_owned())],
        )
        .await;
    assert!(page.contains("已接受"), "{page}");
    let family = app.sign_in_browser("patient1").await;
    let page = family.page("/referrals").await;
    assert!(page.contains("张建国") && page.contains("已接受"), "{page}");
    let page = family.page(&at).await;
    assert!(
        page.contains("12 月 9 日上午呼吸内科 12 床") && page.contains("id=\"cancel-box\""),
        "{page}"
    );
}

#[tokio::test]
async fn fhir_shows_a_referral_as_a_request_and_its_task() {
    use crate::fhir::{assert_valid, entries, fhir};
    let w = world().await;
    let app = &w.ctx.app;
    let id = w.refer().await;
    let rid = format!("referral-{id}");
    let (s, request) = fhir(
        app,
        Some(&w.referring),
        &format!("/fhir/ServiceRequest/{rid}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{request}");
    assert_valid(&request);
    assert_eq!(request["status"], "active");
    assert_eq!(request["category"][0]["coding"][0]["code"], "3457005");
    assert_eq!(
        request["performer"][0]["reference"],
        format!("Organization/{}", w.gz)
    );
    assert_eq!(
        request["subject"]["reference"],
        format!("Patient/{}", w.father)
    );
    assert_eq!(request["reasonCode"][0]["text"], "申请呼吸内科住院床位");
    let (_, task) = fhir(app, Some(&w.referring), &format!("/fhir/Task/{rid}")).await;
    assert_valid(&task);
    assert_eq!(task["status"], "requested");
    assert_eq!(task["owner"]["reference"], format!("Organization/{}", w.gz));

    // Accepted with a bed: the task says so, and what was arranged is its output.
    let doctor2 = app.token("doctor2", PW).await;
    app.step_up(&doctor2).await;
    let (s, answer) = w
        .step(
            &doctor2,
            id,
            "accept",
            json!({"arranged": "呼吸内科 12 床，明日上午入院"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    let (_, task) = fhir(app, Some(&w.family), &format!("/fhir/Task/{rid}")).await;
    assert_valid(&task);
    assert_eq!(task["status"], "accepted");
    assert_eq!(
        task["output"][0]["valueString"],
        "呼吸内科 12 床，明日上午入院"
    );

    // Searches find it beside the remote consultations, by patient, party and status.
    let (s, bundle) = fhir(
        app,
        Some(&w.referring),
        &format!(
            "/fhir/ServiceRequest?patient=Patient/{}&performer=Organization/{}",
            w.father, w.gz
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{bundle}");
    assert_valid(&bundle);
    assert!(entries(&bundle).iter().any(|r| r["id"] == rid.as_str()));
    let (_, bundle) = fhir(app, Some(&w.referring), "/fhir/Task?status=accepted").await;
    assert!(entries(&bundle).iter().any(|r| r["id"] == rid.as_str()));
    let (_, bundle) = fhir(app, Some(&w.referring), "/fhir/Task?status=requested").await;
    assert!(!entries(&bundle).iter().any(|r| r["id"] == rid.as_str()));
    let (_, bundle) = fhir(app, Some(&w.referring), "/fhir/Consent").await;
    assert!(
        !entries(&bundle).iter().any(|r| r["id"] == rid.as_str()),
        "no consent of a referral"
    );

    // Anyone else is told nothing.
    let stranger = app.token("doctor5", PW).await;
    let (s, _) = fhir(app, Some(&stranger), &format!("/fhir/ServiceRequest/{rid}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = fhir(app, Some(&stranger), "/fhir/Task/referral-x").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_receiving_hospital_reserves_a_time_for_an_outpatient_referral() {
    let w = world().await;
    let ctx = &w.ctx;
    // An outpatient referral, accepted by Guangzhou's respiratory doctor.
    let mut body = w.body();
    body["kind"] = json!("outpatient");
    body["request"] = json!("申请呼吸内科专家门诊");
    let (s, created) = ctx.post(&w.referring, BASE, body).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    let doctor2 = ctx.app.token("doctor2", PW).await;
    ctx.app.step_up(&doctor2).await;
    // Before accepting there is nothing to reserve.
    let (s, answer) = w.step(&doctor2, id, "reserve", json!({"slot_id": 1})).await;
    assert_eq!((s, code(&answer)), (StatusCode::CONFLICT, "wrong-state"));
    let (s, _) = w
        .step(
            &doctor2,
            id,
            "accept",
            json!({"arranged": "专家门诊，见预约时间"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Times of the respiratory department are offered, not another department's.
    let (_, respiratory) = ctx.session("doctor2", 1, "09:00", None).await;
    let (_, other) = ctx.session("doctor4", 1, "09:00", None).await;
    let (s, offered) = ctx.get(&doctor2, &format!("{BASE}/{id}/reservable")).await;
    assert_eq!(s, StatusCode::OK, "{offered}");
    let offered: Vec<i64> = offered["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert!(
        offered.contains(&respiratory[0]["id"].as_i64().unwrap()),
        "{offered:?}"
    );
    assert!(!offered.contains(&other[0]["id"].as_i64().unwrap()));
    // A time at another hospital is refused by name; the family cannot reserve.
    let county = county_slot(ctx).await;
    let (s, bad) = w
        .step(&doctor2, id, "reserve", json!({"slot_id": county}))
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["slot_id"])
    );
    let (s, _) = w
        .step(&w.family, id, "reserve", json!({"slot_id": offered[0]}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, answer) = w
        .step(&doctor2, id, "reserve", json!({"slot_id": offered[0]}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    // The patient's appointment, seen by the family; the referral says when; told to both.
    let (_, view) = ctx.get(&w.family, &format!("{BASE}/{id}")).await;
    assert!(view["reserved"]["start_at"].is_string(), "{view}");
    assert_eq!(view["may_reserve"], false);
    let booked = ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT COUNT(*) FROM appointment WHERE person_id = $1 AND slot_id = $2 AND status = 'booked'",
            (w.father, offered[0]),
        )
        .await
        .unwrap();
    assert_eq!(booked, 1);
    assert!(
        w.events(&w.family, id)
            .await
            .contains(&"referral.reserved".to_owned())
    );
    assert!(
        w.events(&w.referring, id)
            .await
            .contains(&"referral.reserved".to_owned())
    );
    // Once only.
    let (s, answer) = w
        .step(&doctor2, id, "reserve", json!({"slot_id": offered[1]}))
        .await;
    assert_eq!((s, code(&answer)), (StatusCode::CONFLICT, "wrong-state"));
}

fn code(answer: &Value) -> &str {
    answer["code"].as_str().unwrap_or_default()
}

/// A free time of doctor19 at the county hospital (opened by the platform's administrator).
async fn county_slot(ctx: &Ctx) -> i64 {
    let platform = ctx.app.token("admin", PW).await;
    let doctor = ctx.doctor("doctor19").await;
    let (_, detail) = ctx.app.get_json(&format!("/api/v1/doctors/{doctor}")).await;
    let service = detail["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "text_consult")
        .expect("doctor19 consults by text")["id"]
        .as_i64()
        .unwrap();
    let (s, body) = ctx
        .post(
            &platform,
            "/api/v1/schedules",
            json!({"service_id": service}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let schedule = body["schedule_id"].as_i64().unwrap();
    let day = yunyi::time::today() + chrono::Days::new(1);
    let (s, body) = ctx
        .post(
            &platform,
            &format!("/api/v1/schedules/{schedule}/sessions"),
            json!({"date": day.to_string(), "start": "08:00", "end": "09:00", "slot_minutes": 15,
                   "release_at": chrono::Utc::now().to_rfc3339()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    ctx.slots(doctor).await[0]["id"].as_i64().unwrap()
}
