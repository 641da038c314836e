//! Prescriptions: written only by the treating doctor in a follow-up visit in progress, the
//! safety checks at writing (banned classes, allergy, interaction, dose, quantity), signing
//! and immutability (a change is a new version), pharmacist review (approve, reject, checks
//! again), expiry of unpaid approvals, and who may read.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Ctx, setup};
use crate::consult::{service_of, signed_doctor};
use crate::helpers::PW;

/// A drug of the visit's hospital by its code in the demo formulary.
pub(crate) async fn drug(ctx: &Ctx, hospital: i64, code: &str) -> i64 {
    let (_, page) = ctx
        .app
        .get_json(&format!("/api/v1/hospitals/{hospital}/drugs?q={code}"))
        .await;
    page["items"][0]["id"].as_i64().unwrap()
}

/// patient1's hypertension follow-up with doctor4, begun: (doctor token, consultation, hospital).
pub(crate) async fn visit(ctx: &Ctx, allergies: &[&str]) -> (String, i64, i64) {
    let patient = ctx.app.token("patient1", PW).await;
    let service = service_of(ctx, "doctor4", "follow_up").await;
    let (status, created) = ctx
        .request_paid(&patient,
            json!({"service_id": service, "condition_icd10": "I10",
                   "intake": {"chief_complaint": "高血压复诊，续开降压药", "allergies": allergies}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    let doctor = signed_doctor(ctx, "doctor4").await;
    for step in ["accept", "start"] {
        let (status, body) = ctx
            .post(
                &doctor,
                &format!("/api/v1/consultations/{id}/{step}"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{step}: {body}");
    }
    (doctor, id, created["hospital_id"].as_i64().unwrap())
}

fn rx(consultation: i64, items: Value) -> Value {
    json!({"consultation_id": consultation, "diagnosis_name": "原发性高血压", "items": items})
}

fn codes(body: &Value) -> Vec<String> {
    body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["code"].as_str().unwrap(),
                f["severity"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn the_treating_doctor_signs_a_checked_prescription_that_never_changes() {
    let ctx = setup().await;
    let (doctor, visit_id, hospital) = visit(&ctx, &[]).await;
    let amlodipine = drug(&ctx, hospital, "XY001").await;
    let one = rx(
        visit_id,
        json!([{"drug_id": amlodipine, "dose": 5, "frequency": "qd", "days": 28}]),
    );
    let (status, checked) = ctx
        .post(&doctor, "/api/v1/prescriptions/check", one.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(checked["signable"], true);
    assert_eq!(
        checked["items"][0]["quantity"], 1,
        "28 days of 5 mg: one box of 28"
    );
    assert_eq!(checked["total_fen"], 3250);

    let (status, signed) = ctx
        .post(&doctor, "/api/v1/prescriptions", one.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{signed}");
    assert_eq!(signed["status"], "submitted");
    assert_eq!(signed["diagnosis_icd10"], "I10");
    assert_eq!(signed["version"], 1);
    let id = signed["id"].as_i64().unwrap();
    // The total is the sum of the lines, and the database holds each line to price × quantity.
    let sum: i64 = signed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["amount_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(signed["total_fen"].as_i64().unwrap(), sum);
    let changed = ctx
        .app
        .db
        .execute(
            "UPDATE prescription_item SET quantity = 9 WHERE prescription_id = $1",
            (id,),
        )
        .await
        .map(|_| ());
    assert!(changed.is_err(), "a signed prescription cannot change");

    // A change is a new version that supersedes it.
    let mut two = rx(
        visit_id,
        json!([{"drug_id": amlodipine, "dose": 5, "frequency": "qd", "days": 56}]),
    );
    two["supersedes"] = json!(id);
    two["duration"] = json!("stable_chronic");
    let (status, revised) = ctx
        .post(&doctor, "/api/v1/prescriptions", two.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{revised}");
    assert_eq!(revised["version"], 2);
    assert_eq!(revised["items"][0]["quantity"], 2);
    let (_, old) = ctx
        .get(&doctor, &format!("/api/v1/prescriptions/{id}"))
        .await;
    assert_eq!(old["status"], "superseded");
    // The same version cannot be revised twice.
    let (status, _) = ctx.post(&doctor, "/api/v1/prescriptions", two).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The patient reads it; another patient, doctor or a nurse does not.
    let patient = ctx.app.token("patient1", PW).await;
    let (status, mine) = ctx.get(&patient, "/api/v1/prescriptions").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<i64> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert!(
        ids.contains(&id) && ids.contains(&revised["id"].as_i64().unwrap()),
        "{mine}"
    );
    for other in ["patient2", "doctor2", "nurse1"] {
        let token = if other.starts_with("doctor") {
            signed_doctor(&ctx, other).await
        } else {
            ctx.app.token(other, PW).await
        };
        let (status, _) = ctx
            .get(&token, &format!("/api/v1/prescriptions/{id}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{other}");
    }
}

#[tokio::test]
async fn only_the_treating_doctor_of_a_follow_up_visit_in_progress_prescribes() {
    let ctx = setup().await;
    let (doctor, visit_id, hospital) = visit(&ctx, &[]).await;
    let amlodipine = drug(&ctx, hospital, "XY001").await;
    let body = rx(
        visit_id,
        json!([{"drug_id": amlodipine, "dose": 5, "frequency": "qd", "days": 28}]),
    );
    let other = signed_doctor(&ctx, "doctor2").await;
    assert_eq!(
        ctx.post(&other, "/api/v1/prescriptions", body.clone())
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let patient = ctx.app.token("patient1", PW).await;
    assert_eq!(
        ctx.post(&patient, "/api/v1/prescriptions", body.clone())
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // Another condition than the one the visit follows up.
    let mut diabetes = body.clone();
    diabetes["diagnosis_icd10"] = json!("E11.9");
    let (status, refused) = ctx.post(&doctor, "/api/v1/prescriptions", diabetes).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "diagnosis_icd10");
    // A plain consultation (advice only) never prescribes.
    let advice = service_of(&ctx, "doctor5", "text_consult").await;
    let (_, c) = ctx
        .request_paid(
            &patient,
            json!({"service_id": advice, "intake": {"chief_complaint": "咨询用药"}}),
        )
        .await;
    let doctor5 = signed_doctor(&ctx, "doctor5").await;
    for step in ["accept", "start"] {
        ctx.post(
            &doctor5,
            &format!("/api/v1/consultations/{}/{step}", c["id"]),
            json!({}),
        )
        .await;
    }
    let (status, refused) = ctx
        .post(
            &doctor5,
            "/api/v1/prescriptions",
            rx(c["id"].as_i64().unwrap(), body["items"].clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("follow-up"));
    // Bad fields are named.
    let (status, bad) = ctx
        .post(
            &doctor,
            "/api/v1/prescriptions",
            rx(
                visit_id,
                json!([{"drug_id": amlodipine, "dose": 0, "frequency": "daily", "days": 28}]),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["errors"][0]["field"], "items[0].dose");
    // After the visit, no more prescriptions in it.
    ctx.app
        .client
        .put(
            ctx.app
                .url(&format!("/api/v1/consultations/{visit_id}/note")),
        )
        .bearer_auth(&doctor)
        .json(
            &json!({"subjective": "血压控制可", "objective": "135/85", "assessment": "原发性高血压",
                      "diagnoses": [{"code": "I10", "name": "原发性高血压"}], "plan": "继续服药"}),
        )
        .send()
        .await
        .unwrap();
    let (status, done) = ctx
        .post(
            &doctor,
            &format!("/api/v1/consultations/{visit_id}/complete"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (status, _) = ctx.post(&doctor, "/api/v1/prescriptions", body).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_checks_block_what_must_not_be_prescribed_online() {
    let ctx = setup().await;
    let (doctor, visit_id, hospital) = visit(&ctx, &["青霉素"]).await;
    let item = |drug: i64, dose: f64, frequency: &str, days: i64| json!({"drug_id": drug, "dose": dose, "frequency": frequency, "days": days});
    let cases = [
        // Every banned class: narcotic, psychotropic I and II, toxic, radioactive, high risk.
        (
            vec![item(drug(&ctx, hospital, "XY101").await, 30.0, "bid", 3)],
            "banned_online:blocking",
        ),
        (
            vec![item(drug(&ctx, hospital, "XY104").await, 18.0, "qd", 3)],
            "banned_online:blocking",
        ),
        (
            vec![item(drug(&ctx, hospital, "XY105").await, 1.0, "qn", 3)],
            "banned_online:blocking",
        ),
        (
            vec![item(drug(&ctx, hospital, "XY110").await, 100.0, "qw", 1)],
            "banned_online:blocking",
        ),
        (
            vec![item(drug(&ctx, hospital, "XY111").await, 1.0, "qd", 1)],
            "banned_online:blocking",
        ),
        (
            vec![item(drug(&ctx, hospital, "XY112").await, 2.5, "qw", 7)],
            "banned_online:blocking",
        ),
        // The patient reports a penicillin allergy.
        (
            vec![item(drug(&ctx, hospital, "XY063").await, 500.0, "tid", 5)],
            "allergy:blocking",
        ),
        // Amlodipine 5 mg three times a day is above 10 mg a day.
        (
            vec![item(drug(&ctx, hospital, "XY001").await, 5.0, "tid", 28)],
            "max_daily_dose:blocking",
        ),
        // ACE inhibitor with a potassium-sparing diuretic.
        (
            vec![
                item(drug(&ctx, hospital, "XY009").await, 10.0, "qd", 28),
                item(drug(&ctx, hospital, "XY017").await, 20.0, "qd", 28),
            ],
            "interaction:warning",
        ),
        // Two calcium-channel blockers.
        (
            vec![
                item(drug(&ctx, hospital, "XY001").await, 5.0, "qd", 28),
                item(drug(&ctx, hospital, "XY003").await, 5.0, "qd", 28),
            ],
            "duplicate_therapy:warning",
        ),
        // A chronic refill covers at most four weeks unless the disease is stable.
        (
            vec![item(drug(&ctx, hospital, "XY001").await, 5.0, "qd", 56)],
            "days:blocking",
        ),
    ];
    for (items, expected) in cases {
        let (status, checked) = ctx
            .post(
                &doctor,
                "/api/v1/prescriptions/check",
                rx(visit_id, json!(items)),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{checked}");
        let got = codes(&checked);
        assert!(got.contains(&expected.to_owned()), "{expected} in {got:?}");
        let blocking = expected.ends_with("blocking");
        assert_eq!(checked["signable"], !blocking, "{checked}");
        let (status, signed) = ctx
            .post(&doctor, "/api/v1/prescriptions", rx(visit_id, json!(items)))
            .await;
        if blocking {
            assert_eq!(status, StatusCode::CONFLICT, "{signed}");
            assert!(
                signed["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains(expected.split(':').next().unwrap())
            );
        } else {
            assert_eq!(status, StatusCode::CREATED, "{signed}");
            assert!(
                codes(&signed).contains(&expected.to_owned()),
                "kept with it"
            );
        }
    }
    // A dose whose days would need more than a prescription holds is named, not overflowed.
    let amlodipine = drug(&ctx, hospital, "XY001").await;
    let (status, absurd) = ctx
        .post(
            &doctor,
            "/api/v1/prescriptions/check",
            rx(
                visit_id,
                json!([{"drug_id": amlodipine, "dose": 900000, "frequency": "qid", "days": 365}]),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{absurd}");
    assert_eq!(absurd["errors"][0]["field"], "items[0].quantity");
    // Too many boxes for the days.
    let amlodipine = drug(&ctx, hospital, "XY001").await;
    let (_, checked) = ctx
        .post(
            &doctor,
            "/api/v1/prescriptions/check",
            rx(visit_id, json!([{"drug_id": amlodipine, "dose": 5, "frequency": "qd", "days": 28, "quantity": 3}])),
        )
        .await;
    assert!(
        codes(&checked).contains(&"quantity:blocking".to_owned()),
        "{checked}"
    );
}

#[tokio::test]
async fn a_pharmacist_approves_or_rejects_and_only_approved_ones_wait_for_payment() {
    let ctx = setup().await;
    let (doctor, visit_id, hospital) = visit(&ctx, &[]).await;
    let amlodipine = drug(&ctx, hospital, "XY001").await;
    let sign = |days: i64| {
        rx(
            visit_id,
            json!([{"drug_id": amlodipine, "dose": 5, "frequency": "qd", "days": days}]),
        )
    };
    let (_, first) = ctx.post(&doctor, "/api/v1/prescriptions", sign(28)).await;
    let first = first["id"].as_i64().unwrap();

    let pharmacist = ctx.app.token("pharmacist1", PW).await;
    let (status, queue) = ctx
        .get(&pharmacist, "/api/v1/prescriptions/review-queue")
        .await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    assert!(
        queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == first)
    );
    // Doctors and patients have no review queue, and cannot approve.
    assert_eq!(
        ctx.get(&doctor, "/api/v1/prescriptions/review-queue")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ctx.post(
            &doctor,
            &format!("/api/v1/prescriptions/{first}/approve"),
            json!({})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    // A rejection needs its reason.
    let (status, _) = ctx
        .post(
            &pharmacist,
            &format!("/api/v1/prescriptions/{first}/reject"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, rejected) = ctx
        .post(
            &pharmacist,
            &format!("/api/v1/prescriptions/{first}/reject"),
            json!({"reason": "患者近期血压偏低，请复核剂量"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    // Rejected is final for that version: no approval after it.
    assert_eq!(
        ctx.post(
            &pharmacist,
            &format!("/api/v1/prescriptions/{first}/approve"),
            json!({})
        )
        .await
        .0,
        StatusCode::CONFLICT
    );

    // The doctor's new version is approved, with the time to pay set.
    let mut second = sign(28);
    second["supersedes"] = json!(first);
    let (status, second) = ctx.post(&doctor, "/api/v1/prescriptions", second).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let second = second["id"].as_i64().unwrap();
    let (status, approved) = ctx
        .post(
            &pharmacist,
            &format!("/api/v1/prescriptions/{second}/approve"),
            json!({"note": "合理"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert!(approved["reviewed_at"].as_i64().unwrap() >= approved["signed_at"].as_i64().unwrap());
    let pay_by = approved["pay_by"].as_i64().unwrap();
    // Unpaid in time: expired (not a moment before).
    yunyi::pharmacy::review::expire_due(&ctx.app.db, pay_by - 1)
        .await
        .unwrap();
    let (_, read) = ctx
        .get(&doctor, &format!("/api/v1/prescriptions/{second}"))
        .await;
    assert_eq!(read["status"], "approved");
    yunyi::pharmacy::review::expire_due(&ctx.app.db, pay_by + 1)
        .await
        .unwrap();
    let (_, read) = ctx
        .get(&doctor, &format!("/api/v1/prescriptions/{second}"))
        .await;
    assert_eq!(read["status"], "expired");
    let statuses: Vec<&str> = read["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["submitted", "approved", "expired"]);
}

#[tokio::test]
async fn approval_runs_the_checks_again_on_todays_formulary() {
    let ctx = setup().await;
    let (doctor, visit_id, hospital) = visit(&ctx, &[]).await;
    let amlodipine = drug(&ctx, hospital, "XY001").await;
    let (_, signed) = ctx
        .post(
            &doctor,
            "/api/v1/prescriptions",
            rx(
                visit_id,
                json!([{"drug_id": amlodipine, "dose": 5, "frequency": "qd", "days": 28}]),
            ),
        )
        .await;
    // Meanwhile the hospital takes the drug off its online formulary.
    ctx.app
        .db
        .execute(
            "UPDATE drug SET online = FALSE WHERE id = $1",
            (amlodipine,),
        )
        .await
        .map(|_| ())
        .unwrap();
    let pharmacist = ctx.app.token("pharmacist1", PW).await;
    let (status, refused) = ctx
        .post(
            &pharmacist,
            &format!("/api/v1/prescriptions/{}/approve", signed["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not_online")
    );
}

#[tokio::test]
async fn the_demo_has_an_approved_prescription_one_waiting_for_review_and_one_delivered() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let (_, mine) = ctx.get(&patient, "/api/v1/prescriptions").await;
    let statuses: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["submitted", "approved", "dispensed"], "{mine}");
    let pharmacist = ctx.app.token("pharmacist1", PW).await;
    let (_, queue) = ctx
        .get(&pharmacist, "/api/v1/prescriptions/review-queue")
        .await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 1, "{queue}");
    assert!(queue["items"][0]["waiting_min"].as_i64().unwrap() >= 5);
    // The pharmacist's approval runs the checks on it and passes.
    let id = queue["items"][0]["id"].as_i64().unwrap();
    let (status, approved) = ctx
        .post(
            &pharmacist,
            &format!("/api/v1/prescriptions/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
}

#[tokio::test]
async fn on_the_pages_the_doctor_checks_and_signs_the_pharmacist_approves_and_the_patient_sees_it()
{
    let ctx = setup().await;
    let (_, visit_id, hospital) = visit(&ctx, &[]).await;
    let amlodipine = drug(&ctx, hospital, "XY001").await.to_string();
    let doctor = ctx.app.sign_in_browser("doctor4").await;
    doctor.post_form("/me/step-up", &[("password", PW)]).await;
    let visit_page = doctor.page(&format!("/consultations/{visit_id}")).await;
    assert!(visit_page.contains("id=\"prescribe-link\""), "{visit_page}");
    let form = doctor
        .page(&format!("/consultations/{visit_id}/prescribe"))
        .await;
    assert!(
        form.contains("苯磺酸氨氯地平片"),
        "the online formulary to choose from"
    );
    assert!(!form.contains("盐酸吗啡缓释片"), "no narcotic to choose");
    let path = format!("/consultations/{visit_id}/prescribe");
    let fields = |action: &'static str, dose: &'static str| {
        vec![
            ("diagnosis_name", "原发性高血压".to_owned()),
            ("duration", "chronic".to_owned()),
            ("drug_id_0", amlodipine.clone()),
            ("dose_0", dose.to_owned()),
            ("frequency_0", "tid".to_owned()),
            ("days_0", "28".to_owned()),
            ("action", action.to_owned()),
        ]
    };
    // Checking shows the finding next to the form.
    let check = fields("check", "5");
    let check: Vec<(&str, &str)> = check.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let checked = doctor.post_form(&path, &check).await;
    assert_eq!(checked.status(), StatusCode::OK);
    let html = checked.text().await.unwrap();
    assert!(
        html.contains("id=\"findings\"") && html.contains("maximum"),
        "{html}"
    );
    // Signing with the blocking finding is refused on the form, by its line.
    let sign = fields("sign", "5");
    let sign: Vec<(&str, &str)> = sign.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = doctor.post_form(&path, &sign).await;
    assert_eq!(refused.status(), StatusCode::OK);
    assert!(refused.text().await.unwrap().contains("max_daily_dose"));
    // Once a day is fine: signed, to the prescription's page.
    let mut good = fields("sign", "5");
    good[4].1 = "qd".to_owned();
    let shown = doctor.submit(&path, &good).await;
    assert!(
        shown.contains("id=\"rx-status\"") && shown.contains("待审核"),
        "{shown}"
    );

    let pharmacist = ctx.app.sign_in_browser("pharmacist1").await;
    let queue = pharmacist.page("/pharmacist/reviews").await;
    let id = ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT MAX(id) FROM prescription WHERE consultation_id = $1",
            (visit_id,),
        )
        .await
        .unwrap();
    assert!(queue.contains(&format!("id=\"review-{id}\"")), "{queue}");
    let done = pharmacist
        .submit(
            &format!("/prescriptions/{id}/approve"),
            &[("note", "合理".to_owned())],
        )
        .await;
    assert!(done.contains("id=\"form-notice\""), "{done}");
    let patient = ctx.app.sign_in_browser("patient1").await;
    let list = patient.page("/prescriptions").await;
    assert!(
        list.contains(&format!("id=\"prescription-{id}\"")),
        "{list}"
    );
    // The list says what was prescribed, by whom, for whom.
    let entry = &list[list.find(&format!("id=\"drugs-{id}\"")).unwrap()..];
    assert!(entry.contains("氨氯地平"), "{entry}");
    let page = patient.page(&format!("/prescriptions/{id}")).await;
    assert!(
        page.contains("审核通过，待支付") && page.contains("id=\"pay-by\""),
        "{page}"
    );
}
