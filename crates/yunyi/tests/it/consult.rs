//! Online consultations: the lifecycle and its illegal moves, the follow-up rule, who may read
//! and act, a department queue taken by one doctor only, expiry, and prior-record uploads.

use reqwest::StatusCode;
use serde_json::{Value, json};
use yunyi::clock::now_ms;

use crate::booking::{Ctx, setup};
use crate::helpers::PW;

/// A tiny valid PNG (1×1).
const PNG: &[u8] = &crate::practice::PIXEL_PNG;

/// The id of `doctor`'s service of `kind`.
pub(crate) async fn service_of(ctx: &Ctx, doctor: &str, kind: &str) -> i64 {
    let doctor = ctx.doctor(doctor).await;
    yunyi::directory::store::services(&ctx.app.db, Some(doctor), None, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} service"))
        .id
}

pub(crate) fn intake(complaint: &str) -> Value {
    json!({
        "chief_complaint": complaint,
        "symptoms": [{"name": "头晕", "onset": "2026-11-01"}],
        "temperature_c": 36.6,
        "allergies": ["青霉素"],
        "medications": ["氨氯地平片 5mg 每日一次"]
    })
}

pub(crate) async fn signed_doctor(ctx: &Ctx, username: &str) -> String {
    let token = ctx.app.token(username, PW).await;
    ctx.app.step_up(&token).await;
    token
}

fn statuses(view: &Value) -> Vec<String> {
    view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_text_consultation_goes_through_its_life_and_refuses_illegal_moves() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let service = service_of(&ctx, "doctor5", "text_consult").await;
    let r = ctx
        .app
        .post_as(
            Some(&patient),
            "/api/v1/consultations",
            &json!({"service_id": service, "intake": intake("血压控制不好，想咨询用药")}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v1/consultations/{id}"));
    assert_eq!(created["status"], "requested");
    assert_eq!(created["kind"], "consultation");
    assert_eq!(created["channel"], "text");
    assert_eq!(created["intake"]["allergies"], json!(["青霉素"]));
    assert_eq!(created["intake"]["temperature_c"], json!(36.6));
    // The doctor cannot take it before the patient pays the fee.
    assert_eq!(created["fee"]["status"], "pending");
    let doctor = signed_doctor(&ctx, "doctor5").await;
    let (status, unpaid) = ctx
        .post(
            &doctor,
            &format!("/api/v1/consultations/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{unpaid}");
    let (_, queue) = ctx.get(&doctor, "/api/v1/consultations/queue").await;
    assert!(
        !queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id),
        "an unpaid request is not in the queue: {queue}"
    );
    crate::billing::pay_order_id(
        &ctx.app,
        created["fee"]["order_id"].as_i64().unwrap(),
        created["fee"]["total_fen"].as_i64().unwrap(),
    )
    .await;
    let (status, queue) = ctx.get(&doctor, "/api/v1/consultations/queue").await;
    assert_eq!(status, StatusCode::OK);
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .expect("the request is in the doctor's queue");
    assert_eq!(item["addressed_to_me"], true);
    assert_eq!(item["chief_complaint"], "血压控制不好，想咨询用药");
    assert_eq!(item["epidemiological_risk"], false);

    // Not begun: cannot be completed.
    let path = |step: &str| format!("/api/v1/consultations/{id}/{step}");
    let (status, body) = ctx.post(&doctor, &path("complete"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no doctor has accepted it yet"),
        "{body}"
    );
    // A client branches on the code, not the sentence.
    assert_eq!(body["code"], "wrong-state", "{body}");
    for step in ["accept", "start"] {
        let (status, body) = ctx.post(&doctor, &path(step), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{step}: {body}");
    }
    // Begun: the patient can no longer cancel; the doctor completes or refers.
    let (status, body) = ctx.post(&patient, &path("cancel"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["detail"].as_str().unwrap().contains("has begun"),
        "{body}"
    );
    assert_eq!(body["code"], "wrong-state", "{body}");
    // Completed only with the clinical note; advice only, so no diagnosis codes.
    let (status, body) = ctx.post(&doctor, &path("complete"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["detail"].as_str().unwrap().contains("clinical note"),
        "{body}"
    );
    let soap = json!({"subjective": "血压控制不好", "objective": "自测 150/95 mmHg", "assessment": "血压控制欠佳",
                      "plan": "建议心内科门诊复诊调整用药", "diagnoses": [{"code": "I10", "name": "原发性高血压"}]});
    let note_path = path("note");
    let note = |body: Value| ctx.send(reqwest::Method::PUT, &doctor, &note_path, Some(body));
    let (status, refused) = note(soap.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["errors"][0]["field"], "diagnoses");
    let mut advice = soap.clone();
    advice["diagnoses"] = json!([]);
    let (status, written) = note(advice.clone()).await;
    assert_eq!(status, StatusCode::OK, "{written}");
    assert!(written["signed_at"].is_null());
    let (status, done) = ctx.post(&doctor, &path("complete"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(done["status"], "completed");
    let cause = format!("consultation:{id}");
    crate::notifications::exactly_one(&ctx, "patient1", "consultation.ended", &cause).await;
    assert_eq!(done["note"]["plan"], "建议心内科门诊复诊调整用药");
    assert!(
        done["note"]["signed_at"].as_i64().is_some(),
        "frozen at the end"
    );
    let (status, _) = note(advice).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(done["ended_at"].as_i64().is_some());
    assert!(done["first_reply_at"].as_i64().is_some());
    assert_eq!(
        statuses(&done),
        ["requested", "accepted", "in_progress", "completed"]
    );
    let (status, body) = ctx
        .post(
            &doctor,
            &path("refer-offline"),
            json!({"reason": "需要查体"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["detail"].as_str().unwrap().contains("it has ended"),
        "{body}"
    );

    // The patient sees it in their list and in full; the history is theirs to read.
    let (status, mine) = ctx.get(&patient, "/api/v1/consultations").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id)
    );
    let (status, read) = ctx
        .get(&patient, &format!("/api/v1/consultations/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["status"], "completed");
}

#[tokio::test]
async fn only_the_patient_side_and_the_doctor_may_read_or_act() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let service = service_of(&ctx, "doctor5", "text_consult").await;
    let (status, created) = ctx
        .request_paid(
            &patient,
            json!({"service_id": service, "intake": intake("头晕")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/consultations/{id}");

    let other_patient = ctx.app.token("patient2", PW).await;
    let (status, _) = ctx.get(&other_patient, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ctx
        .post(&other_patient, &format!("{path}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A doctor of another department cannot read or take it.
    let other_doctor = signed_doctor(&ctx, "doctor1").await;
    let (status, _) = ctx.get(&other_doctor, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ctx
        .post(&other_doctor, &format!("{path}/accept"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Requests are for patients; staff without a relationship see nothing.
    let admin = &ctx.admin;
    let (status, _) = ctx.get(admin, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ctx
        .request_paid(
            admin,
            json!({"service_id": service, "intake": intake("头晕")}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The named doctor needs a fresh identity check before seeing patients.
    let unchecked = ctx.app.token("doctor5", PW).await;
    let (status, _) = ctx
        .post(&unchecked, &format!("{path}/accept"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "step-up required");
    // Someone else's family: a patient cannot request for a person they do not act for.
    let person1 = ctx.app.person_of(&patient).await;
    let (status, _) = ctx
        .request_paid(
            &other_patient,
            json!({"service_id": service, "person_id": person1, "intake": intake("头晕")}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The denials are in the audit trail.
    yunyi::audit::seal(&ctx.app.db).await.unwrap();
    let denied: i64 = ctx.app.db.scalar::<i64>(
        "SELECT COUNT(*) FROM audit_event WHERE object_type = 'consultation' AND outcome = 'denied'",
        (),
    )
    .await
    .unwrap();
    assert!(denied >= 3, "denials audited: {denied}");
}

#[tokio::test]
async fn a_follow_up_visit_needs_an_offline_diagnosis_of_that_condition() {
    let ctx = setup().await;
    let follow_up = service_of(&ctx, "doctor4", "follow_up").await;
    let doctor = signed_doctor(&ctx, "doctor4").await;

    // patient1 has hypertension in the hospital's offline records: allowed at once.
    let patient1 = ctx.app.token("patient1", PW).await;
    let (status, ok) = ctx
        .request_paid(&patient1,
            json!({"service_id": follow_up, "condition_icd10": "i10", "intake": intake("高血压复诊续方")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ok}");
    assert_eq!(ok["kind"], "follow_up");
    assert_eq!(ok["condition_icd10"], "I10");
    assert_eq!(ok["follow_up_basis"], "offline_diagnosis");
    let (status, _) = ctx
        .post(
            &doctor,
            &format!("/api/v1/consultations/{}/accept", ok["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Its note must diagnose, in ICD-10.
    let note_path = format!("/api/v1/consultations/{}/note", ok["id"]);
    let (status, body) = ctx
        .send(
            reqwest::Method::PUT,
            &doctor,
            &note_path,
            Some(json!({"assessment": "高血压 控制可", "plan": "续方 4 周"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "diagnoses");
    let (status, body) = ctx
        .send(
            reqwest::Method::PUT,
            &doctor,
            &note_path,
            Some(json!({"assessment": "高血压 控制可", "plan": "续方 4 周",
                        "diagnoses": [{"code": "I10", "name": "原发性高血压"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["diagnoses"][0]["code"], "I10");

    // patient2 has no diagnosis on record: refused, saying why and what to do.
    let patient2 = ctx.app.token("patient2", PW).await;
    let (_, before) = ctx.get(&patient2, "/api/v1/consultations").await;
    let body =
        json!({"service_id": follow_up, "condition_icd10": "I10", "intake": intake("高血压复诊")});
    let (status, refused) = ctx.request_paid(&patient2, body.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert_eq!(refused["errors"][0]["field"], "condition_icd10");
    assert!(message.contains("no offline diagnosis of I10"), "{message}");
    assert!(message.contains("consultation"), "{message}");
    // Nothing was written.
    let (_, after) = ctx.get(&patient2, "/api/v1/consultations").await;
    assert_eq!(after, before);
    // A missing or malformed condition is a field error.
    let (status, bad) = ctx
        .request_paid(
            &patient2,
            json!({"service_id": follow_up, "condition_icd10": "高血压", "intake": intake("复诊")}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["errors"][0]["field"], "condition_icd10");

    // With an uploaded record the request waits for the doctor to confirm it.
    let r = ctx
        .app
        .client
        .post(ctx.app.url(
            "/api/v1/prior-records?kind=outpatient_record&hospital_name=%E5%B8%82%E4%BA%BA%E6%B0%91%E5%8C%BB%E9%99%A2&diagnosed_on=2025-03-01&condition=%E9%AB%98%E8%A1%80%E5%8E%8B&icd10=I10",
        ))
        .bearer_auth(&patient2)
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let record: Value = r.json().await.unwrap();
    let mut with_record = body.clone();
    with_record["prior_record_id"] = record["id"].clone();
    let (status, waiting) = ctx.request_paid(&patient2, with_record).await;
    assert_eq!(status, StatusCode::CREATED, "{waiting}");
    assert_eq!(waiting["follow_up_basis"], "awaiting_confirmation");
    let id = waiting["id"].as_i64().unwrap();
    let (status, body) = ctx
        .post(
            &doctor,
            &format!("/api/v1/consultations/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["detail"].as_str().unwrap().contains("confirm first"),
        "{body}"
    );
    // The doctor reads the record through the consultation, then confirms it.
    let file = ctx
        .app
        .get_as(
            &doctor,
            &format!("/api/v1/consultations/{id}/records/{}", record["id"]),
        )
        .await;
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()["content-type"], "image/png");
    assert_eq!(file.bytes().await.unwrap().as_ref(), PNG);
    let (status, confirmed) = ctx
        .post(
            &doctor,
            &format!("/api/v1/consultations/{id}/prior-record"),
            json!({"qualifies": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    assert_eq!(confirmed["follow_up_basis"], "confirmed_record");
    let (status, _) = ctx
        .post(
            &doctor,
            &format!("/api/v1/consultations/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_record_that_does_not_qualify_returns_the_request_with_the_reason() {
    let ctx = setup().await;
    let follow_up = service_of(&ctx, "doctor4", "follow_up").await;
    let doctor = signed_doctor(&ctx, "doctor4").await;
    let patient = ctx.app.token("patient2", PW).await;
    let r = ctx
        .app
        .client
        .post(ctx.app.url(
            "/api/v1/prior-records?kind=diagnosis_certificate&hospital_name=A&diagnosed_on=2025-01-01&condition=B",
        ))
        .bearer_auth(&patient)
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    let record: Value = r.json().await.unwrap();
    let (_, waiting) = ctx
        .request_paid(&patient,
            json!({"service_id": follow_up, "condition_icd10": "I10", "prior_record_id": record["id"], "intake": intake("复诊")}),
        )
        .await;
    let id = waiting["id"].as_i64().unwrap();
    let judge = format!("/api/v1/consultations/{id}/prior-record");
    let (status, body) = ctx.post(&doctor, &judge, json!({"qualifies": false})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "reason");
    let (status, returned) = ctx
        .post(
            &doctor,
            &judge,
            json!({"qualifies": false, "reason": "病历为体检报告，未见高血压诊断"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(returned["status"], "cancelled");
    assert!(
        returned["end_reason"]
            .as_str()
            .unwrap()
            .contains("体检报告")
    );
}

#[tokio::test]
async fn a_department_queue_request_is_taken_by_exactly_one_doctor() {
    let ctx = setup().await;
    // A respiratory department service without a named doctor: the department's queue.
    let hospital = ctx.app.state.db.clone();
    let gz =
        yunyi::directory::store::services(&hospital, Some(ctx.doctor("doctor1").await), None, 10)
            .await
            .unwrap()[0]
            .clone();
    let (status, created) = ctx
        .post(
            &ctx.admin,
            "/api/v1/services",
            json!({"hospital_id": gz.hospital_id, "department_id": gz.department_id, "kind": "text_consult",
                   "name": "呼吸科图文咨询", "price_fen": 1000, "duration_min": 15}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let service = created["service_id"].as_i64().unwrap();
    let patient = ctx.app.token("patient3", PW).await;
    let (status, request) = ctx
        .request_paid(&patient,
            json!({"service_id": service, "intake": {"chief_complaint": "咳嗽一周", "temperature_c": 37.9,
                   "outbreak_area_travel": true, "travel_region": "某市", "travel_returned_on": "2026-11-18"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert!(request["doctor_id"].is_null());
    let id = request["id"].as_i64().unwrap();

    let doctors = [
        signed_doctor(&ctx, "doctor1").await,
        signed_doctor(&ctx, "doctor2").await,
        signed_doctor(&ctx, "doctor3").await,
    ];
    // Everyone of the department sees it, flagged for its epidemiological answers; others do not.
    for d in &doctors {
        let (_, queue) = ctx.get(d, "/api/v1/consultations/queue").await;
        let item = queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .expect("in the department's queue");
        assert_eq!(item["epidemiological_risk"], true);
        assert_eq!(item["addressed_to_me"], false);
    }
    let cardiologist = signed_doctor(&ctx, "doctor4").await;
    let (_, queue) = ctx.get(&cardiologist, "/api/v1/consultations/queue").await;
    assert!(
        !queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id)
    );

    let path = format!("/api/v1/consultations/{id}/accept");
    let (a, b, c) = tokio::join!(
        ctx.post(&doctors[0], &path, json!({})),
        ctx.post(&doctors[1], &path, json!({})),
        ctx.post(&doctors[2], &path, json!({})),
    );
    let results = [a, b, c];
    let won: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .map(|(_, b)| b)
        .collect();
    let lost = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CONFLICT)
        .count();
    assert_eq!((won.len(), lost), (1, 2), "{results:?}");
    let winner = won[0]["doctor_id"].as_i64().unwrap();
    // The winner now has a care link; the request left the others' queues.
    let (_, active) = ctx.get(&doctors[0], "/api/v1/consultations/queue").await;
    assert!(
        !active["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id)
    );
    let links: i64 = ctx.app.db.scalar::<i64>(
        "SELECT COUNT(*) FROM care_link WHERE kind = 'consultation' AND source_id = $1 AND account_id = $2 AND active = TRUE",
        (id.to_string(), winner),
    )
    .await
    .unwrap();
    assert_eq!(links, 1);
}

#[tokio::test]
async fn a_request_nobody_accepts_expires_and_ends_its_care_link() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let service = service_of(&ctx, "doctor5", "text_consult").await;
    let (_, created) = ctx
        .request_paid(
            &patient,
            json!({"service_id": service, "intake": intake("咨询")}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    // Not yet due: nothing expires.
    let none = yunyi::consult::lifecycle::expire_due(&ctx.app.db, now_ms())
        .await
        .unwrap();
    assert_eq!(none, 0);
    // Every request still waiting (the demo's and this one) is due a day later.
    let waiting: i64 = ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT COUNT(*) FROM consultation WHERE status = 'requested'",
            (),
        )
        .await
        .unwrap();
    let later = now_ms() + yunyi::consult::model::REQUEST_TTL_MS + 1;
    let expired = yunyi::consult::lifecycle::expire_due(&ctx.app.db, later)
        .await
        .unwrap();
    assert_eq!(expired as i64, waiting);
    assert!(waiting >= 1);
    let (_, read) = ctx
        .get(&patient, &format!("/api/v1/consultations/{id}"))
        .await;
    assert_eq!(read["status"], "expired");
    assert_eq!(read["end_reason"], "no doctor accepted in time");
    assert_eq!(statuses(&read), ["requested", "expired"]);
    let doctor = signed_doctor(&ctx, "doctor5").await;
    let (status, _) = ctx
        .post(
            &doctor,
            &format!("/api/v1/consultations/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let active: i64 = ctx.app.db.scalar::<i64>(
        "SELECT COUNT(*) FROM care_link WHERE kind = 'consultation' AND source_id = $1 AND active = TRUE",
        (id.to_string(),),
    )
    .await
    .unwrap();
    assert_eq!(active, 0);
    // Kept: the database refuses to delete a consultation.
    let deleted = ctx
        .app
        .db
        .execute(
            "DELETE FROM consultation_event WHERE consultation_id = $1",
            (id,),
        )
        .await
        .map(|_| ());
    assert!(deleted.is_err(), "history cannot be deleted");
}

#[tokio::test]
async fn bad_intakes_and_bad_records_are_refused_with_their_fields() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let service = service_of(&ctx, "doctor5", "text_consult").await;
    let (status, body) = ctx
        .request_paid(
            &patient,
            json!({"service_id": service, "intake": {"chief_complaint": "", "temperature_c": 50,
                   "outbreak_area_travel": true, "travel_returned_on": "2099-01-01"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = crate::helpers::error_fields(&body);
    assert_eq!(
        fields,
        [
            "intake.chief_complaint",
            "intake.temperature_c",
            "intake.travel_region",
            "intake.travel_returned_on"
        ]
    );
    let (status, body) = ctx
        .request_paid(&patient, json!({"intake": intake("x y")}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "service_id");
    // Someone else's record cannot be attached.
    let (status, body) = ctx
        .request_paid(&patient,
            json!({"service_id": service, "intake": {"chief_complaint": "咨询", "prior_record_ids": [999]}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "intake.prior_record_ids");

    let upload = |query: &'static str, bytes: Vec<u8>| {
        ctx.app
            .client
            .post(ctx.app.url(&format!("/api/v1/prior-records?{query}")))
            .bearer_auth(&patient)
            .header("content-type", "image/jpeg")
            .body(bytes)
            .send()
    };
    let good = "kind=outpatient_record&hospital_name=A&diagnosed_on=2025-01-01&condition=B";
    // A text file claiming to be a JPEG.
    let r = upload(good, b"not really an image".to_vec()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = upload("kind=selfie&diagnosed_on=tomorrow", PNG.to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    let fields = crate::helpers::error_fields(&body);
    assert_eq!(
        fields,
        ["kind", "hospital_name", "condition", "diagnosed_on"]
    );
    // Larger than the body limit: 413, nothing stored.
    let r = upload(good, vec![0xFF; 3 * 1024 * 1024]).await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let stored: i64 = ctx
        .app
        .db
        .scalar::<i64>("SELECT COUNT(*) FROM prior_record", ())
        .await
        .unwrap();
    assert_eq!(stored, 0);
}

/// A consultation of patient1 with doctor5, accepted: (patient token, doctor token, id).
async fn accepted(ctx: &Ctx) -> (String, String, i64) {
    let patient = ctx.app.token("patient1", PW).await;
    let service = service_of(ctx, "doctor5", "text_consult").await;
    let (_, created) = ctx
        .request_paid(
            &patient,
            json!({"service_id": service, "intake": intake("血压偏高")}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let doctor = signed_doctor(ctx, "doctor5").await;
    let (status, _) = ctx
        .post(
            &doctor,
            &format!("/api/v1/consultations/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    (patient, doctor, id)
}

fn seqs(conversation: &Value) -> Vec<i64> {
    conversation["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn messages_are_stored_in_order_and_only_participants_take_part() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let service = service_of(&ctx, "doctor5", "text_consult").await;
    let (_, created) = ctx
        .request_paid(
            &patient,
            json!({"service_id": service, "intake": intake("血压偏高")}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/consultations/{id}/messages");
    // The patient may add to the request while it waits; the doctor must accept first.
    let (status, first) = ctx
        .post(&patient, &path, json!({"text": "补充：早上测的 150/95"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["seq"], 1);
    let doctor = signed_doctor(&ctx, "doctor5").await;
    let (status, _) = ctx.post(&doctor, &path, json!({"text": "您好"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    ctx.post(
        &doctor,
        &format!("/api/v1/consultations/{id}/accept"),
        json!({}),
    )
    .await;
    // The doctor's first message begins the consultation and counts as the first reply.
    let (status, reply) = ctx
        .post(&doctor, &path, json!({"text": "您好，平时吃什么药？"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(reply["seq"], 2);
    let (_, read) = ctx
        .get(&patient, &format!("/api/v1/consultations/{id}"))
        .await;
    assert_eq!(read["status"], "in_progress");
    assert!(read["first_reply_at"].as_i64().is_some());
    for i in 0..5 {
        let (status, _) = ctx
            .post(&patient, &path, json!({"text": format!("第{i}条")}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, all) = ctx.get(&doctor, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seqs(&all), [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(all["messages"][1]["body"], "您好，平时吃什么药？");
    let (_, tail) = ctx.get(&doctor, &format!("{path}?after=5&limit=1")).await;
    assert_eq!(seqs(&tail), [6]);
    // Read receipts move forward only.
    let receipts = format!("/api/v1/consultations/{id}/read");
    let (status, _) = ctx.post(&doctor, &receipts, json!({"seq": 7})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    ctx.post(&doctor, &receipts, json!({"seq": 3})).await;
    let (status, _) = ctx.post(&doctor, &receipts, json!({"seq": 99})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, all) = ctx.get(&patient, &path).await;
    let doctor_id = ctx.doctor("doctor5").await;
    assert_eq!(all["read"], json!([{"account": doctor_id, "seq": 7}]));

    // Nobody else reads or writes; bad input is a field error.
    let outsider = ctx.app.token("patient2", PW).await;
    assert_eq!(ctx.get(&outsider, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        ctx.post(&outsider, &path, json!({"text": "hi"})).await.0,
        StatusCode::NOT_FOUND
    );
    let colleague = signed_doctor(&ctx, "doctor4").await;
    assert_eq!(ctx.get(&colleague, &path).await.0, StatusCode::NOT_FOUND);
    let (status, body) = ctx.post(&patient, &path, json!({"text": "  "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "text");
    let (status, _) = ctx.get(&patient, &format!("{path}?after=-1")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // An ended consultation takes no more messages; what was said is kept as said.
    let (status, _) = ctx
        .send(
            reqwest::Method::PUT,
            &doctor,
            &format!("/api/v1/consultations/{id}/note"),
            Some(json!({"subjective": "头晕三天", "objective": "血压 150/95", "assessment": "血压偏高", "plan": "规律服药，一周后复测"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The page shows the whole note, and its form holds it for the next change.
    let page = ctx.app.sign_in_browser("doctor5").await;
    page.post_form("/me/step-up", &[("password", PW)]).await;
    let html = page.page(&format!("/consultations/{id}")).await;
    for (part, text) in [("s", "头晕三天"), ("o", "血压 150/95"), ("a", "血压偏高")] {
        assert!(
            html.contains(&format!("id=\"note-{part}\">{text}<")),
            "{part}: {html}"
        );
    }
    assert!(
        html.contains(">头晕三天</textarea>"),
        "the form keeps the note"
    );
    // The doctor's list names the patient of each open consultation.
    let me: Value = ctx
        .app
        .get_as(&patient, "/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    let list = page.page("/doctor/consultations").await;
    let entry = &list[list
        .find(&format!("id=\"consultation-{id}\""))
        .expect("listed")..];
    let entry = &entry[..entry.find("</li>").unwrap()];
    assert!(
        entry.contains(me["person"]["name"].as_str().unwrap()),
        "{entry}"
    );
    let (status, _) = ctx
        .post(
            &doctor,
            &format!("/api/v1/consultations/{id}/complete"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = ctx.post(&patient, &path, json!({"text": "谢谢"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["detail"].as_str().unwrap().contains("has ended"));
    let changed = ctx
        .app
        .db
        .execute(
            "UPDATE consultation_message SET body = 'edited' WHERE consultation_id = $1",
            (id,),
        )
        .await
        .map(|_| ());
    assert!(changed.is_err(), "messages cannot be edited");
}

/// A JPEG as a phone writes it: JFIF, an EXIF block with a GPS position, a scan, the end.
pub(crate) fn phone_jpeg() -> Vec<u8> {
    let segment = |marker: u8, payload: &[u8]| {
        let len = payload.len() + 2;
        let mut s = vec![0xFF, marker, (len >> 8) as u8, len as u8];
        s.extend_from_slice(payload);
        s
    };
    let mut exif = b"Exif\0\0MM\0\x2A\0\0\0\x08\0\0\0\0\0\0".to_vec();
    exif.extend_from_slice(b"GPSLatitude 23.1291 GPSLongitude 113.2644");
    let mut f = vec![0xFF, 0xD8];
    f.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    f.extend(segment(0xE1, &exif));
    f.extend(segment(0xDB, &[0u8; 65]));
    f.extend(segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
    f.extend_from_slice(&[0x12, 0x34, 0xFF, 0xD9]);
    f
}

#[tokio::test]
async fn images_are_checked_by_their_bytes_cleaned_and_shown_only_to_participants() {
    let ctx = setup().await;
    let (patient, doctor, id) = accepted(&ctx).await;
    let send = |token: &str, bytes: Vec<u8>, claimed: &str| {
        ctx.app
            .client
            .post(ctx.app.url(&format!("/api/v1/consultations/{id}/images")))
            .bearer_auth(token)
            .header("content-type", claimed)
            .body(bytes)
            .send()
    };
    // A photo with its GPS position: stored and shown without it.
    let r = send(&patient, phone_jpeg(), "image/jpeg").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let sent: Value = r.json().await.unwrap();
    assert_eq!(sent["kind"], "image");
    assert_eq!(sent["content_type"], "image/jpeg");
    let path = format!("/api/v1/consultations/{id}/messages/{}/image", sent["seq"]);
    let r = ctx.app.get_as(&doctor, &path).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    let shown = r.bytes().await.unwrap();
    assert!(shown.starts_with(&[0xFF, 0xD8]) && shown.ends_with(&[0xFF, 0xD9]));
    assert!(
        !shown.windows(3).any(|w| w == b"GPS"),
        "the position is gone"
    );
    // A PNG sent as "image/jpeg" is what its bytes say it is.
    let r = send(&patient, PNG.to_vec(), "image/jpeg").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let png: Value = r.json().await.unwrap();
    assert_eq!(png["content_type"], "image/png");
    // Not a picture, a damaged one, or too big: refused, nothing stored.
    let r = send(&patient, b"%PDF-1.4 not a picture".to_vec(), "image/png")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut cut = phone_jpeg();
    cut.truncate(30);
    let r = send(&patient, cut, "image/jpeg").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut huge = phone_jpeg();
    huge.resize(3 * 1024 * 1024, 0);
    let r = send(&patient, huge, "image/jpeg").await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (_, conversation) = ctx
        .get(&patient, &format!("/api/v1/consultations/{id}/messages"))
        .await;
    assert_eq!(seqs(&conversation), [1, 2]);
    // Only participants see it.
    let outsider = ctx.app.token("patient2", PW).await;
    let r = ctx.app.get_as(&outsider, &path).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = send(&outsider, PNG.to_vec(), "image/png").await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // A text message has no picture.
    let (_, text) = ctx
        .post(
            &patient,
            &format!("/api/v1/consultations/{id}/messages"),
            json!({"text": "看图"}),
        )
        .await;
    let r = ctx
        .app
        .get_as(
            &doctor,
            &format!("/api/v1/consultations/{id}/messages/{}/image", text["seq"]),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

mod ws {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    use super::*;

    use crate::helpers::ws::{Socket, next, next_of};

    async fn connect(ctx: &Ctx, token: &str, id: i64, after: i64) -> Socket {
        connect_to(&ctx.app.addr.to_string(), token, id, after).await
    }

    /// As `connect`, to the server at `addr`.
    async fn connect_to(addr: &str, token: &str, id: i64, after: i64) -> Socket {
        let path = format!("/api/v1/consultations/{id}/ws?after={after}");
        crate::helpers::ws::connect(addr, token, &path).await
    }

    async fn revoke(ctx: &Ctx, token: &str) {
        let r = ctx
            .app
            .client
            .post(ctx.app.url("/auth/revoke"))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    /// Issue #30: a socket outlived its credentials. Now it closes within seconds of the
    /// session's end and nothing sent after the end is stored.
    #[tokio::test]
    async fn a_chat_socket_closes_when_its_session_is_revoked() {
        let ctx = setup().await;
        let (patient, doctor, id) = accepted(&ctx).await;
        let mut patient_ws = connect(&ctx, &patient, id, 0).await;
        let mut doctor_ws = connect(&ctx, &doctor, id, 0).await;
        patient_ws
            .send(Message::text(
                json!({"type": "message", "text": "医生好", "client_id": "a"}).to_string(),
            ))
            .await
            .unwrap();
        assert_eq!(next_of(&mut patient_ws, "ack").await["seq"], 1);
        revoke(&ctx, &patient).await;
        // REST refuses at once; the socket is closed within 5 s with "session ended".
        let r = ctx.app.get_as(&patient, "/api/v1/me").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let started = std::time::Instant::now();
        let _ = patient_ws
            .send(Message::text(
                json!({"type": "message", "text": "撤销之后", "client_id": "b"}).to_string(),
            ))
            .await;
        let close = loop {
            let frame = tokio::time::timeout(std::time::Duration::from_secs(5), patient_ws.next())
                .await
                .expect("closed within 5 s");
            match frame {
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(Message::Text(text))) => {
                    let v: Value = serde_json::from_str(text.as_str()).unwrap();
                    assert_ne!(
                        v["type"], "ack",
                        "nothing is accepted after revocation: {v}"
                    );
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => break None,
            }
        };
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        if let Some(frame) = close {
            assert_eq!(u16::from(frame.code), 4401);
        }
        // Nothing sent after the end was stored or delivered: the doctor's socket, still
        // live, sees message 1 and nothing after it.
        assert_eq!(next_of(&mut doctor_ws, "message").await["seq"], 1);
        let (_, conversation) = ctx
            .get(&doctor, &format!("/api/v1/consultations/{id}/messages"))
            .await;
        assert_eq!(seqs(&conversation), vec![1]);
    }

    /// The same on several nodes: a socket held by a second server on the same database
    /// closes within 5 s of a sign-out made through the first.
    #[tokio::test]
    async fn a_socket_on_another_server_closes_when_the_session_is_revoked_here() {
        let ctx = setup().await;
        let (patient, _doctor, id) = accepted(&ctx).await;
        let second =
            yunyi::Application::build_with(ctx.app.test_db.config(), yunyi::app::job_registry())
                .await
                .expect("second application on the same database");
        let second_addr = second.local_addr();
        let stop_second = tokio_util::sync::CancellationToken::new();
        let second_task = tokio::spawn(second.run_until(stop_second.clone()));
        let mut socket = connect_to(&second_addr.to_string(), &patient, id, 0).await;
        assert_eq!(next_of(&mut socket, "status").await["type"], "status");
        revoke(&ctx, &patient).await;
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                match socket.next().await {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(
            closed.is_ok(),
            "the other server closed the socket within 5 s"
        );
        stop_second.cancel();
        let _ = second_task.await;
    }

    #[tokio::test]
    async fn messages_arrive_live_and_a_reconnect_catches_up_without_loss_or_duplicates() {
        let ctx = setup().await;
        let (patient, doctor, id) = accepted(&ctx).await;
        let mut patient_ws = connect(&ctx, &patient, id, 0).await;
        let mut doctor_ws = connect(&ctx, &doctor, id, 0).await;
        doctor_ws
            .send(Message::text(
                json!({"type": "message", "text": "您好，我是林医生", "client_id": "c1"})
                    .to_string(),
            ))
            .await
            .unwrap();
        let ack = next_of(&mut doctor_ws, "ack").await;
        assert_eq!(ack, json!({"type": "ack", "client_id": "c1", "seq": 1}));
        let live = next_of(&mut patient_ws, "message").await;
        assert_eq!(live["seq"], 1);
        assert_eq!(live["body"], "您好，我是林医生");
        // The patient goes away; two messages are written meanwhile.
        drop(patient_ws);
        let path = format!("/api/v1/consultations/{id}/messages");
        for text in ["请问血压多少？", "有没有头痛？"] {
            ctx.post(&doctor, &path, json!({"text": text})).await;
        }
        // Back, saying the last it saw was 1: exactly 2 and 3, in order, then live ones.
        let mut patient_ws = connect(&ctx, &patient, id, 1).await;
        assert_eq!(next_of(&mut patient_ws, "message").await["seq"], 2);
        assert_eq!(next_of(&mut patient_ws, "message").await["seq"], 3);
        patient_ws
            .send(Message::text(json!({"type": "read", "seq": 3}).to_string()))
            .await
            .unwrap();
        // Meanwhile the doctor's connection received 1 (own), 2 and 3, then the receipt.
        let mut seen = Vec::new();
        let receipt = loop {
            let frame = next(&mut doctor_ws).await;
            match frame["type"].as_str() {
                Some("message") => seen.push(frame["seq"].as_i64().unwrap()),
                Some("read") => break frame,
                _ => {}
            }
        };
        assert_eq!(receipt["seq"], 3);
        patient_ws
            .send(Message::text(
                json!({"type": "message", "text": "150/95，不头痛"}).to_string(),
            ))
            .await
            .unwrap();
        // Then 4: every message once, in order.
        while seen.last() != Some(&4) {
            seen.push(
                next_of(&mut doctor_ws, "message").await["seq"]
                    .as_i64()
                    .unwrap(),
            );
        }
        assert_eq!(seen, [1, 2, 3, 4]);
        // Errors come back as frames, the connection stays.
        patient_ws
            .send(Message::text(
                json!({"type": "message", "text": ""}).to_string(),
            ))
            .await
            .unwrap();
        let error = next_of(&mut patient_ws, "error").await;
        assert_eq!(error["status"], 422);
        assert_eq!(error["errors"][0]["field"], "text");
        patient_ws.send(Message::text("not json")).await.unwrap();
        assert_eq!(next_of(&mut patient_ws, "error").await["type"], "error");
    }

    #[tokio::test]
    async fn nothing_is_written_into_a_consultation_that_ended_while_the_chat_was_open() {
        let ctx = setup().await;
        let (patient, doctor, id) = accepted(&ctx).await;
        let mut patient_ws = connect(&ctx, &patient, id, 0).await;
        patient_ws
            .send(Message::text(
                json!({"type": "message", "text": "还在吗？", "client_id": "a"}).to_string(),
            ))
            .await
            .unwrap();
        assert_eq!(next_of(&mut patient_ws, "ack").await["seq"], 1);
        // The doctor returns the request (退诊) while the patient's chat is open; the patient
        // writes at once, whether or not the news has reached the connection yet.
        let (status, _) = ctx
            .post(
                &doctor,
                &format!("/api/v1/consultations/{id}/cancel"),
                json!({"reason": "需要线下面诊检查"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        patient_ws
            .send(Message::text(
                json!({"type": "message", "text": "那我怎么办？", "client_id": "b"}).to_string(),
            ))
            .await
            .unwrap();
        let refused = next_of(&mut patient_ws, "error").await;
        assert_eq!(refused["status"], 409);
        assert_eq!(refused["client_id"], "b");
        let (_, conversation) = ctx
            .get(&patient, &format!("/api/v1/consultations/{id}/messages"))
            .await;
        assert_eq!(seqs(&conversation), [1]);
    }

    #[tokio::test]
    async fn call_signals_reach_the_other_side_only_and_calls_are_recorded() {
        let ctx = setup().await;
        let (patient, doctor, id) = accepted(&ctx).await;
        let mut patient_ws = connect(&ctx, &patient, id, 0).await;
        let mut doctor_ws = connect(&ctx, &doctor, id, 0).await;
        // Ending a call that never started is refused.
        doctor_ws
            .send(Message::text(
                json!({"type": "call", "event": "end"}).to_string(),
            ))
            .await
            .unwrap();
        assert_eq!(next_of(&mut doctor_ws, "error").await["status"], 409);
        doctor_ws
            .send(Message::text(
                json!({"type": "call", "event": "start"}).to_string(),
            ))
            .await
            .unwrap();
        assert_eq!(next_of(&mut doctor_ws, "call_recorded").await["seq"], 1);
        let offer = json!({"kind": "offer", "sdp": "v=0 fake"});
        doctor_ws
            .send(Message::text(
                json!({"type": "signal", "data": offer}).to_string(),
            ))
            .await
            .unwrap();
        let relayed = next_of(&mut patient_ws, "signal").await;
        assert_eq!(relayed["data"], offer);
        assert_eq!(relayed["from"], ctx.doctor("doctor5").await);
        patient_ws
            .send(Message::text(
                json!({"type": "signal", "data": {"kind": "answer", "sdp": "v=0 fake answer"}})
                    .to_string(),
            ))
            .await
            .unwrap();
        // The doctor gets the answer, never their own offer back.
        let back = next_of(&mut doctor_ws, "signal").await;
        assert_eq!(back["data"]["kind"], "answer");
        // Too large to relay.
        let huge = "x".repeat(8_000);
        patient_ws
            .send(Message::text(
                json!({"type": "signal", "data": {"kind": "offer", "sdp": huge}}).to_string(),
            ))
            .await
            .unwrap();
        assert_eq!(next_of(&mut patient_ws, "error").await["status"], 422);
        patient_ws
            .send(Message::text(
                json!({"type": "call", "event": "end"}).to_string(),
            ))
            .await
            .unwrap();
        assert_eq!(next_of(&mut patient_ws, "call_recorded").await["seq"], 2);
        let (_, conversation) = ctx
            .get(&patient, &format!("/api/v1/consultations/{id}/messages"))
            .await;
        assert_eq!(conversation["messages"][0]["kind"], "call");
        assert!(
            conversation["messages"][1]["body"]
                .as_str()
                .unwrap()
                .starts_with("视频通话结束，时长 0 分")
        );
        // The call began the consultation.
        let (_, read) = ctx
            .get(&patient, &format!("/api/v1/consultations/{id}"))
            .await;
        assert_eq!(read["status"], "in_progress");
    }

    #[tokio::test]
    async fn strangers_and_other_sites_cannot_open_the_chat() {
        let ctx = setup().await;
        let (_, _, id) = accepted(&ctx).await;
        let url = ctx
            .app
            .url(&format!("/api/v1/consultations/{id}/ws"))
            .replacen("http", "ws", 1);
        let outsider = ctx.app.token("patient2", PW).await;
        for (token, origin, expected) in [
            (Some(outsider.as_str()), None, 404),
            (None, None, 401),
            (None, Some("http://evil.example"), 403),
        ] {
            let mut request = url.clone().into_client_request().unwrap();
            if let Some(token) = token {
                request
                    .headers_mut()
                    .insert("authorization", format!("Bearer {token}").parse().unwrap());
            }
            if let Some(origin) = origin {
                let patient = ctx.app.token("patient1", PW).await;
                request.headers_mut().insert(
                    "authorization",
                    format!("Bearer {patient}").parse().unwrap(),
                );
                request
                    .headers_mut()
                    .insert("origin", origin.parse().unwrap());
            }
            match tokio_tungstenite::connect_async(request).await {
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    assert_eq!(response.status().as_u16(), expected);
                }
                other => panic!("expected HTTP {expected}, got {other:?}"),
            }
        }
    }

    /// Two server processes on one database: a message posted through the second reaches a
    /// chat open on the first — live on PostgreSQL (NOTIFY), and on SQLite (one process is the
    /// supported deployment) at the latest when the client reconnects.
    // Several threads: starting the other process blocks this one while it waits for the
    // banner, and the first server (and its job worker, which may hold the write lock) must
    // keep running meanwhile.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_message_posted_through_another_process_reaches_the_chat() {
        let ctx = setup().await;
        let (patient, _, id) = accepted(&ctx).await;
        // Its warnings and errors go to the test's output, so a failed start says why.
        let other = crate::cli::start_demo_with(
            &ctx.app.test_db,
            std::process::Stdio::inherit(),
            &["--log", "warn"],
        );
        // Sessions live in the database: the doctor's token works on either process.
        let doctor = signed_doctor(&ctx, "doctor5").await;
        let on_other = |path: String| format!("{}{path}", other.base);
        let mut patient_ws = connect(&ctx, &patient, id, 0).await;
        let r = ctx
            .app
            .client
            .post(on_other(format!("/api/v1/consultations/{id}/messages")))
            .bearer_auth(&doctor)
            .json(&json!({"text": "来自另一台服务器"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        if ctx.app.test_db.backend() == "sqlite" {
            drop(patient_ws);
            patient_ws = connect(&ctx, &patient, id, 0).await;
        }
        let message = next_of(&mut patient_ws, "message").await;
        assert_eq!(message["seq"], 1);
        assert_eq!(message["body"], "来自另一台服务器");
        crate::cli::stop_with_sigterm(other);
    }
}

#[tokio::test]
async fn a_consultation_reads_as_a_virtual_encounter_with_its_communications_in_fhir() {
    use crate::fhir::{assert_valid, entries, fhir};
    let ctx = setup().await;
    let (patient, doctor, id) = accepted(&ctx).await;
    let messages = format!("/api/v1/consultations/{id}/messages");
    ctx.post(&doctor, &messages, json!({"text": "您好，血压多少？"}))
        .await;
    let r = ctx
        .app
        .client
        .post(ctx.app.url(&format!("/api/v1/consultations/{id}/images")))
        .bearer_auth(&patient)
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    ctx.send(
        reqwest::Method::PUT,
        &doctor,
        &format!("/api/v1/consultations/{id}/note"),
        Some(json!({"assessment": "血压偏高", "plan": "规律服药"})),
    )
    .await;
    ctx.post(
        &doctor,
        &format!("/api/v1/consultations/{id}/complete"),
        json!({}),
    )
    .await;

    let (status, encounter) =
        fhir(&ctx.app, Some(&patient), &format!("/fhir/Encounter/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_valid(&encounter);
    assert_eq!(encounter["class"]["code"], "VR");
    assert_eq!(encounter["status"], "finished");
    let history: Vec<&str> = encounter["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["planned", "arrived", "in-progress", "finished"]);
    assert_eq!(
        encounter["participant"][0]["individual"]["reference"],
        format!("Practitioner/{}", ctx.doctor("doctor5").await)
    );
    let person = ctx.app.person_of(&patient).await;
    let (status, found) = fhir(
        &ctx.app,
        Some(&doctor),
        &format!("/fhir/Encounter?patient=Patient/{person}&status=finished"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_valid(&found);
    assert_eq!(entries(&found).len(), 1);

    let (status, bundle) = fhir(
        &ctx.app,
        Some(&doctor),
        &format!("/fhir/Communication?encounter=Encounter/{id}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_valid(&bundle);
    let items = entries(&bundle);
    assert_eq!(items.len(), 2);
    for item in &items {
        assert_valid(item);
    }
    assert_eq!(items[0]["payload"][0]["contentString"], "您好，血压多少？");
    assert_eq!(
        items[0]["sender"]["reference"],
        encounter["participant"][0]["individual"]["reference"]
    );
    assert_eq!(
        items[1]["payload"][0]["contentAttachment"]["contentType"],
        "image/png"
    );
    let (status, one) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/Communication/{id}-2"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["id"], format!("{id}-2"));

    // Outsiders and bad searches get an OperationOutcome.
    let outsider = ctx.app.token("patient2", PW).await;
    for path in [
        format!("/fhir/Encounter/{id}"),
        format!("/fhir/Communication?encounter=Encounter/{id}"),
        format!("/fhir/Communication/{id}-9"),
    ] {
        let (status, outcome) = fhir(&ctx.app, Some(&outsider), &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_valid(&outcome);
        assert_eq!(outcome["resourceType"], "OperationOutcome");
    }
    // Without `patient`: the patient's own (and family's) encounters.
    let (status, bundle) = fhir(&ctx.app, Some(&patient), "/fhir/Encounter?status=finished").await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert!(entries(&bundle).iter().all(|e| e["status"] == "finished"));
    let own = id.to_string();
    assert!(
        entries(&bundle).iter().any(|e| e["id"] == own.as_str()),
        "{bundle}"
    );
    let (status, outcome) = fhir(&ctx.app, Some(&patient), "/fhir/Encounter?status=done").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_valid(&outcome);
}

#[tokio::test]
async fn the_demo_has_a_finished_follow_up_and_requests_waiting_in_queues() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let (_, mine) = ctx.get(&patient, "/api/v1/consultations").await;
    let done = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "completed" && c["kind"] == "follow_up")
        .cloned()
        .expect("patient1's completed follow-up visit");
    let id = done["id"].as_i64().unwrap();
    let (_, full) = ctx
        .get(&patient, &format!("/api/v1/consultations/{id}"))
        .await;
    assert_eq!(full["follow_up_basis"], "offline_diagnosis");
    assert_eq!(full["note"]["diagnoses"][0]["code"], "I10");
    assert!(full["note"]["signed_at"].as_i64().is_some());
    let (_, conversation) = ctx
        .get(&patient, &format!("/api/v1/consultations/{id}/messages"))
        .await;
    let kinds: Vec<&str> = conversation["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"text") && kinds.contains(&"image") && kinds.contains(&"call"));
    let image = kinds.iter().position(|k| *k == "image").unwrap() + 1;
    let r = ctx
        .app
        .get_as(
            &patient,
            &format!("/api/v1/consultations/{id}/messages/{image}/image"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // doctor5: patient2's chest tightness and patient4's fever after Wuhan (the
    // surveillance demo's flagged case); doctor6: patient3's diabetes follow-up.
    for (doctor, waiting) in [("doctor5", 2), ("doctor6", 1)] {
        let token = signed_doctor(&ctx, doctor).await;
        let (_, queue) = ctx.get(&token, "/api/v1/consultations/queue").await;
        assert_eq!(
            queue["items"].as_array().unwrap().len(),
            waiting,
            "{doctor}: {queue}"
        );
    }
    // Seeding again adds nothing.
    yunyi::demo::seed(&ctx.app.state).await.unwrap();
    let (_, again) = ctx.get(&patient, "/api/v1/consultations").await;
    assert_eq!(again, mine);
}

#[tokio::test]
async fn the_pages_show_intake_errors_by_their_fields_and_the_consultation_to_its_people() {
    let ctx = setup().await;
    let service = service_of(&ctx, "doctor4", "follow_up").await;
    let patient = ctx.app.sign_in_browser("patient2").await;
    let service = service.to_string();
    let form = patient
        .page(&format!("/consultations/new?service={service}"))
        .await;
    assert!(
        form.contains("id=\"condition_icd10\""),
        "a follow-up asks for the condition"
    );
    // Bad input: the form comes back with each problem next to its field; nothing stored.
    let r = patient
        .post_form(
            "/consultations/new",
            &[
                ("service_id", service.as_str()),
                ("condition_icd10", "I10"),
                ("chief_complaint", "复诊"),
                ("temperature_c", "very hot"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(body.contains("must be a number such as 37.8"), "{body}");
    let r = patient
        .post_form(
            "/consultations/new",
            &[
                ("service_id", service.as_str()),
                ("condition_icd10", "I10"),
                ("chief_complaint", "高血压复诊"),
            ],
        )
        .await;
    let body = r.text().await.unwrap();
    assert!(
        body.contains("no offline diagnosis of I10"),
        "the follow-up rule, on the page"
    );
    let (_, mine) = ctx
        .get(
            &ctx.app.token("patient2", PW).await,
            "/api/v1/consultations",
        )
        .await;
    let before = mine["items"].as_array().unwrap().len();
    // A good consultation request goes to its page; the doctor's workbench asks for the
    // identity check first, then lists it.
    let text = service_of(&ctx, "doctor4", "text_consult")
        .await
        .to_string();
    let r = patient
        .post_form(
            "/consultations/new",
            &[
                ("service_id", text.as_str()),
                ("chief_complaint", "胸口偶尔发闷"),
                ("allergies", "青霉素，头孢"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let page = patient.page(&location).await;
    assert!(
        page.contains("胸口偶尔发闷") && page.contains("青霉素、头孢"),
        "{page}"
    );
    let (_, mine) = ctx
        .get(
            &ctx.app.token("patient2", PW).await,
            "/api/v1/consultations",
        )
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), before + 1);
    let doctor = ctx.app.sign_in_browser("doctor4").await;
    let r = doctor
        .client
        .get(ctx.app.url("/doctor/consultations"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let check = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(check, "/me/step-up?next=%2Fdoctor%2Fconsultations");
    // The check, then straight back to the workbench.
    let form = doctor.page(&check).await;
    assert!(
        form.contains("name=\"next\" value=\"/doctor/consultations\""),
        "{form}"
    );
    let r = doctor
        .post_form(
            "/me/step-up",
            &[("password", PW), ("next", "/doctor/consultations")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/doctor/consultations");
    // Not to another site.
    let r = doctor
        .post_form(
            "/me/step-up",
            &[("password", PW), ("next", "//evil.example/")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Another patient cannot open it.
    let other = ctx.app.sign_in_browser("patient3").await;
    let r = other
        .client
        .get(ctx.app.url(&location))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn counselling_asks_its_own_questions_and_answers_thoughts_of_self_harm_with_the_crisis_lines()
 {
    let ctx = setup().await;
    let service = service_of(&ctx, "doctor12", "counselling").await;
    let patient = ctx.app.token("patient2", PW).await;
    let (status, body) = ctx
        .request_paid(
            &patient,
            json!({"service_id": service, "intake": {"chief_complaint": "失眠，情绪低落"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "intake.counselling");
    let (status, created) = ctx
        .request_paid(&patient,
            json!({"service_id": service, "intake": {"chief_complaint": "失眠，情绪低落",
                   "counselling": {"concern": "工作压力大，觉得活着没意思", "little_interest": 3, "feeling_down": 3, "self_harm_thoughts": true}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["kind"], "counselling");
    assert_eq!(created["crisis"], true);
    let page = ctx.app.sign_in_browser("patient2").await;
    let html = page
        .page(&format!("/consultations/{}", created["id"]))
        .await;
    assert!(
        html.contains("id=\"crisis\""),
        "the crisis lines on the page"
    );
}

#[tokio::test]
async fn a_patients_cancellation_reason_is_kept_within_bounds() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let service = service_of(&ctx, "doctor5", "text_consult").await;
    let (_, created) = ctx
        .request_paid(
            &patient,
            json!({"service_id": service, "intake": intake("咨询")}),
        )
        .await;
    let cancel = format!("/api/v1/consultations/{}/cancel", created["id"]);
    let (status, body) = ctx
        .post(&patient, &cancel, json!({"reason": "很".repeat(501)}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "reason");
    let (status, cancelled) = ctx
        .post(&patient, &cancel, json!({"reason": "  不需要了  "}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cancelled["end_reason"], "不需要了");
}

/// A patient's list says what each consultation is about, for whom and with which doctor
/// (issue #27: it said only "date · 复诊").
#[tokio::test]
async fn a_patients_list_names_the_complaint_the_person_and_the_doctor() {
    let app = crate::helpers::TestApp::with_demo().await;
    let browser = app.sign_in_browser("patient1").await;
    let html = browser.page("/consultations").await;
    for expected in ["加量后血压仍偏高", "张伟", "周丽"] {
        assert!(html.contains(expected), "{expected} missing from {html}");
    }
    app.stop().await;
}
