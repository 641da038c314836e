//! The refill journey (续方): "renew my medicine" on a chronic prescription the patient took
//! asks its doctor for a follow-up visit of the same condition; the doctor's form starts from
//! the last prescription, and nothing is issued until the doctor signs.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Ctx, setup};
use crate::consult::{service_of, signed_doctor};
use crate::helpers::PW;

/// patient1's prescription in `status` (the demo has one of each kind used here).
async fn prescription(ctx: &Ctx, patient: &str, status: &str) -> Value {
    let (_, mine) = ctx.get(patient, "/api/v1/prescriptions").await;
    mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["status"] == status)
        .unwrap_or_else(|| panic!("a {status} prescription: {mine}"))
        .clone()
}

#[tokio::test]
async fn renewing_asks_the_doctor_for_a_follow_up_and_issues_nothing_by_itself() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let taken = prescription(&ctx, &patient, "dispensed").await;
    let rx = taken["id"].as_i64().unwrap();
    let (status, visit) = ctx
        .post(
            &patient,
            &format!("/api/v1/prescriptions/{rx}/renew"),
            json!({"note": "血压平稳，无不适"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    assert_eq!(visit["kind"], "follow_up");
    assert_eq!(visit["status"], "requested");
    assert_eq!(visit["renews_prescription_id"], rx);
    assert_eq!(visit["condition_icd10"], "I10");
    assert_eq!(visit["doctor_id"], taken["doctor_id"]);
    let complaint = visit["intake"]["chief_complaint"].as_str().unwrap();
    assert!(
        complaint.contains("氨氯地平") && complaint.contains("血压平稳"),
        "{complaint}"
    );
    let id = visit["id"].as_i64().unwrap();
    crate::billing::pay_order_id(
        &ctx.app,
        visit["fee"]["order_id"].as_i64().unwrap(),
        visit["fee"]["total_fen"].as_i64().unwrap(),
    )
    .await;

    // Nothing was prescribed: the doctor reviews, checks and signs.
    let doctor = signed_doctor(&ctx, "doctor4").await;
    let (_, written) = ctx
        .get(
            &doctor,
            &format!("/api/v1/consultations/{id}/prescriptions"),
        )
        .await;
    assert_eq!(written["items"].as_array().unwrap().len(), 0, "{written}");
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
    let browser = ctx.app.sign_in_browser("doctor4").await;
    browser.post_form("/me/step-up", &[("password", PW)]).await;
    let form = browser
        .page(&format!("/consultations/{id}/prescribe"))
        .await;
    assert!(form.contains("id=\"renewal-notice\""), "{form}");
    let (_, items) = ctx
        .get(&patient, &format!("/api/v1/prescriptions/{rx}"))
        .await;
    let drug = items["items"][0]["drug_id"].as_i64().unwrap();
    assert!(
        form.contains(&format!("value=\"{drug}\" selected")),
        "the last prescription's drug is chosen"
    );
    // Signing is the doctor's act, with the checks, as for any prescription.
    let (status, signed) = ctx
        .post(
            &doctor,
            "/api/v1/prescriptions",
            json!({"consultation_id": id, "diagnosis_name": "原发性高血压", "duration": "chronic",
                   "items": [{"drug_id": drug, "dose": 5, "frequency": "qd", "days": 28}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{signed}");
    assert_eq!(signed["status"], "submitted");
}

#[tokio::test]
async fn only_a_taken_chronic_prescription_of_ones_own_is_renewed() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    for status in ["approved", "submitted"] {
        let rx = prescription(&ctx, &patient, status).await["id"]
            .as_i64()
            .unwrap();
        let (code, refused) = ctx
            .post(
                &patient,
                &format!("/api/v1/prescriptions/{rx}/renew"),
                json!({}),
            )
            .await;
        assert_eq!(code, StatusCode::CONFLICT, "{status}: {refused}");
    }
    let taken = prescription(&ctx, &patient, "dispensed").await["id"]
        .as_i64()
        .unwrap();
    let other = ctx.app.token("patient2", PW).await;
    let (status, _) = ctx
        .post(
            &other,
            &format!("/api/v1/prescriptions/{taken}/renew"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Asked for by hand: the prescription must be for the visit's condition, and the visit
    // a follow-up. patient1 also has diabetes diagnosed offline.
    let person = ctx.app.person_of(&patient).await;
    let hospital = taken_hospital(&ctx, taken).await;
    let mut tx = ctx.app.db.begin().await.unwrap();
    yunyi::consult::records::record_offline_diagnosis(
        &mut tx,
        &yunyi::consult::store::OfflineDiagnosis {
            id: 0,
            person_id: person,
            hospital_id: hospital,
            icd10: "E11".to_owned(),
            name: "2型糖尿病".to_owned(),
            diagnosed_on: "2024-03-01".to_owned(),
        },
        ctx.app.state.now_ms(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let follow_up = service_of(&ctx, "doctor4", "follow_up").await;
    let (status, wrong) = ctx
        .request_paid(&patient,
            json!({"service_id": follow_up, "condition_icd10": "E11", "renews_prescription_id": taken,
                   "intake": {"chief_complaint": "糖尿病复诊"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}");
    let fields = crate::helpers::error_fields(&wrong);
    assert!(
        fields.contains(&"condition_icd10") || fields.contains(&"renews_prescription_id"),
        "{wrong}"
    );
    let consultation = service_of(&ctx, "doctor5", "text_consult").await;
    let (status, wrong) = ctx
        .request_paid(
            &patient,
            json!({"service_id": consultation, "renews_prescription_id": taken,
                   "intake": {"chief_complaint": "想续方"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}");
    assert_eq!(wrong["errors"][0]["field"], "renews_prescription_id");
}

#[tokio::test]
async fn on_the_list_the_newest_taken_prescription_of_a_condition_offers_renewal() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let taken = prescription(&ctx, &patient, "dispensed").await["id"]
        .as_i64()
        .unwrap();
    let approved = prescription(&ctx, &patient, "approved").await["id"]
        .as_i64()
        .unwrap();
    let browser = ctx.app.sign_in_browser("patient1").await;
    let list = browser.page("/prescriptions").await;
    assert!(list.contains(&format!("id=\"renew-{taken}\"")), "{list}");
    assert!(!list.contains(&format!("id=\"renew-{approved}\"")));
    let r = browser
        .post_form(&format!("/prescriptions/{taken}/renew"), &[("note", "")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/consultations/"), "{to}");
    let page = browser.page(&to).await;
    assert!(page.contains("氨氯地平"), "{page}");
}

async fn taken_hospital(ctx: &Ctx, rx: i64) -> i64 {
    ctx.app
        .db
        .scalar::<i64>("SELECT hospital_id FROM prescription WHERE id = $1", (rx,))
        .await
        .unwrap()
}
