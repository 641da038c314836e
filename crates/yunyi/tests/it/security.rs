//! Issue #30, finding by finding: who a person is (claims on people already on record need
//! proof), a care link acts only at its own hospital, the sign-in lock per account, orders are
//! the patient side's, no 500 and no open redirect on odd input, and the smaller hygiene.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Ctx, setup};
use crate::helpers::{PW, TestApp, id_number};

/// patient1's child (under 6) and parent, as the demo seeds them.
const CHILD: (&str, &str) = ("张小雨", "440106202306010043");
const PARENT: (&str, &str) = ("张建国", "440106195203150032");

async fn person_by_number(app: &TestApp, number: &str) -> i64 {
    let hash = app.state.keys.lookup_hash("id_number", number);
    let mut tx = app.state.db.begin().await.unwrap();
    yunyi::identity::store::person_by_id_hash(&mut tx, &hash)
        .await
        .unwrap()
        .unwrap()
        .id
}

fn code_in(text: &str) -> String {
    text.chars()
        .collect::<Vec<_>>()
        .windows(6)
        .map(|w| w.iter().collect::<String>())
        .find(|w| w.chars().all(|c| c.is_ascii_digit()))
        .expect("a six-digit code in the message")
}

async fn denied_events(app: &TestApp) -> i64 {
    yunyi::audit::seal(&app.db).await.unwrap();
    app.db
        .scalar::<i64>(
            "SELECT COUNT(*) FROM audit_event WHERE outcome = 'denied'",
            (),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_name_and_an_identity_number_do_not_take_over_a_child() {
    let ctx = setup().await;
    let app = &ctx.app;
    let inbox = app.state.inbox.clone().unwrap();
    let p1 = app.token("patient1", PW).await;
    let p2 = app.token("patient2", PW).await;
    let child = person_by_number(app, CHILD.1).await;

    // The attack of the finding: now a claim, not a link; the child stays out of reach.
    let (status, claim) = ctx
        .post(
            &p2,
            "/api/v1/me/family",
            json!({"name": CHILD.0, "id_number": CHILD.1, "relationship": "child"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{claim}");
    assert_eq!(claim["status"], "pending");
    let claim_id = claim["claim_id"].as_i64().unwrap();
    let (status, _) = ctx.get(&p2, &format!("/api/v1/patients/{child}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, me) = ctx.get(&p2, "/api/v1/me").await;
    assert!(me["family"].as_array().unwrap().is_empty(), "{me}");

    // A wrong name answers exactly the same: nothing confirms whether a name fits a number.
    let p3 = app.token("patient3", PW).await;
    let (status, wrong) = ctx
        .post(
            &p3,
            "/api/v1/me/family",
            json!({"name": "张大雨", "id_number": CHILD.1, "relationship": "child"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{wrong}");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&wrong), keys(&claim));
    assert_eq!(wrong["detail"], claim["detail"]);
    let wrong_id = wrong["claim_id"].as_i64().unwrap();

    // The guardian of record is told (SMS with a code) and sees only the matching claim.
    let sms = inbox.last_to("13800000001").expect("the guardian is told");
    assert_eq!(sms.kind, "identity.claim");
    assert!(sms.text.contains(CHILD.0), "{}", sms.text);
    let (_, claims) = ctx.get(&p1, "/api/v1/me/claims").await;
    let to_decide: Vec<i64> = claims["to_decide"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(to_decide, vec![claim_id], "{claims}");
    // The wrong-name claim exists for nobody but its claimant.
    let (status, _) = ctx
        .post(
            &p1,
            &format!("/api/v1/me/claims/{wrong_id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, mine) = ctx.get(&p3, "/api/v1/me/claims").await;
    assert_eq!(mine["mine"][0]["status"], "pending");
    // …and no code opens it.
    let (status, _) = ctx
        .post(
            &p3,
            &format!("/api/v1/me/claims/{wrong_id}/code"),
            json!({"code": code_in(&sms.text)}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The claimant cannot approve their own claim; a wrong code is refused.
    let (status, _) = ctx
        .post(
            &p2,
            &format!("/api/v1/me/claims/{claim_id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = ctx
        .post(
            &p2,
            &format!("/api/v1/me/claims/{claim_id}/code"),
            json!({"code": "000000x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "code");
    // The guardian tells the code: now the link exists, and works.
    let (status, body) = ctx
        .post(
            &p2,
            &format!("/api/v1/me/claims/{claim_id}/code"),
            json!({"code": code_in(&sms.text)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "approved");
    let (status, _) = ctx.get(&p2, &format!("/api/v1/patients/{child}")).await;
    assert_eq!(status, StatusCode::OK);
    // A decided claim cannot be decided again.
    let (status, _) = ctx
        .post(
            &p2,
            &format!("/api/v1/me/claims/{claim_id}/code"),
            json!({"code": code_in(&sms.text)}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_holder_approves_or_rejects_and_a_counter_checks_papers() {
    let ctx = setup().await;
    let app = &ctx.app;
    let p1 = app.token("patient1", PW).await;
    let p2 = app.token("patient2", PW).await;
    let p3 = app.token("patient3", PW).await;
    let nurse = app.token("nurse1", PW).await;
    let parent = person_by_number(app, PARENT.1).await;

    // patient3 claims the parent; patient1, who acts for him, rejects.
    let (_, c) = ctx
        .post(
            &p3,
            "/api/v1/me/family",
            json!({"name": PARENT.0, "id_number": PARENT.1, "relationship": "parent"}),
        )
        .await;
    let rejected = c["claim_id"].as_i64().unwrap();
    let (status, body) = ctx
        .post(
            &p1,
            &format!("/api/v1/me/claims/{rejected}/reject"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "rejected");
    let (status, _) = ctx.get(&p3, &format!("/api/v1/patients/{parent}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // patient2 claims him; patient1 approves in Yunyi.
    let (_, c) = ctx
        .post(
            &p2,
            "/api/v1/me/family",
            json!({"name": PARENT.0, "id_number": PARENT.1, "relationship": "other"}),
        )
        .await;
    let approved = c["claim_id"].as_i64().unwrap();
    // Asking again reuses the waiting claim (no second message to the holder).
    let (status, again) = ctx
        .post(
            &p2,
            "/api/v1/me/family",
            json!({"name": PARENT.0, "id_number": PARENT.1, "relationship": "other"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(again["claim_id"].as_i64(), Some(approved));
    let (status, _) = ctx
        .post(
            &p1,
            &format!("/api/v1/me/claims/{approved}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = ctx.get(&p2, &format!("/api/v1/patients/{parent}")).await;
    assert_eq!(status, StatusCode::OK);

    // patient3 tries again and goes to the counter with the household register.
    let (_, c) = ctx
        .post(
            &p3,
            "/api/v1/me/family",
            json!({"name": PARENT.0, "id_number": PARENT.1, "relationship": "other"}),
        )
        .await;
    let at_counter = c["claim_id"].as_i64().unwrap();
    let path = format!("/api/v1/identity-claims/{at_counter}");
    // Only the front desk reads it or verifies it.
    for token in [&p3, &p1] {
        let (status, _) = ctx.get(token, &path).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = ctx
            .post(
                token,
                &format!("{path}/verify"),
                json!({"document_type": "household_register"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, view) = ctx.get(&nurse, &path).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["person_name"], PARENT.0);
    assert_eq!(view["name_matches"], true);
    assert!(
        !view["person_id_number"]
            .as_str()
            .unwrap()
            .contains("19520315")
    );
    let (status, body) = ctx
        .post(
            &nurse,
            &format!("{path}/verify"),
            json!({"document_type": "a photo"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "document_type");
    let (status, body) = ctx
        .post(
            &nurse,
            &format!("{path}/verify"),
            json!({"document_type": "household_register"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = ctx.get(&p3, &format!("/api/v1/patients/{parent}")).await;
    assert_eq!(status, StatusCode::OK);
    // The audit trail says how it was proven.
    yunyi::audit::seal(&app.db).await.unwrap();
    let how: Vec<String> = app
        .db
        .scalars::<String>(
            "SELECT reason FROM audit_event WHERE action = 'identity_claim.approve' ORDER BY id",
            (),
        )
        .await
        .unwrap();
    assert_eq!(
        how,
        vec![
            "family proven by holder".to_owned(),
            "family proven by counter:household_register".to_owned()
        ]
    );
}

#[tokio::test]
async fn registering_with_a_number_on_record_waits_for_the_holders_proof() {
    let ctx = setup().await;
    let app = &ctx.app;
    let register = |phone: &str, name: &str, number: &str| json!({"phone": phone, "password": "a-long-password-1", "name": name, "id_number": number});
    // The finding: anonymously, the parent's name and number made an account owning his record.
    let r = app
        .post_as(
            None,
            "/api/v1/patients",
            &register("13700000011", PARENT.0, PARENT.1),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["identity"], "pending", "{body}");
    let claim = body["claim_id"].as_i64().unwrap();
    let newcomer = app.token("13700000011", "a-long-password-1").await;
    let (_, me) = ctx.get(&newcomer, "/api/v1/me").await;
    assert!(me["person"].is_null(), "{me}");
    let parent = person_by_number(app, PARENT.1).await;
    let (status, _) = ctx
        .get(&newcomer, &format!("/api/v1/patients/{parent}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A wrong name: the same answer.
    let r = app
        .post_as(
            None,
            "/api/v1/patients",
            &register("13700000012", "张建军", PARENT.1),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let wrong: Value = r.json().await.unwrap();
    assert_eq!(wrong["identity"], "pending");
    // patient1 (who acts for him) confirms: the account is his now.
    let p1 = app.token("patient1", PW).await;
    let (status, _) = ctx
        .post(
            &p1,
            &format!("/api/v1/me/claims/{claim}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = ctx.get(&newcomer, "/api/v1/me").await;
    assert_eq!(me["person"]["id"].as_i64(), Some(parent), "{me}");
    // A number new to Yunyi is linked at once.
    let r = app
        .post_as(
            None,
            "/api/v1/patients",
            &register("13700000013", "新用户", &id_number("19900101", 31)),
        )
        .await;
    let fresh: Value = r.json().await.unwrap();
    assert_eq!(fresh["identity"], "verified", "{fresh}");
    // The real-name check (sandbox): a mismatch is refused on the phone, an outage is 503.
    let r = app
        .post_as(
            None,
            "/api/v1/patients",
            &register("13700004444", "新用户", &id_number("19900101", 32)),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "phone", "{body}");
    let r = app
        .post_as(
            None,
            "/api/v1/patients",
            &register("13700005555", "新用户", &id_number("19900101", 33)),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// Books patient1 with `doctor` at the first free time: the appointment id.
async fn book_first(ctx: &Ctx, patient: &str, doctor: &str) -> i64 {
    let (doctor_id, slots) = ctx.session(doctor, 3, "10:00", None).await;
    let slot = slots
        .iter()
        .find(|s| s["bookable"] == true)
        .unwrap_or_else(|| panic!("a free time of doctor {doctor_id}"))["id"]
        .as_i64()
        .unwrap();
    let (status, body) = ctx
        .post(patient, "/api/v1/appointments", json!({"slot_id": slot}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_care_link_at_one_hospital_does_not_act_at_another() {
    let mut ctx = setup().await;
    // The platform administrator opens times at both hospitals.
    ctx.admin = ctx.app.token("admin", PW).await;
    let p1 = ctx.app.token("patient1", PW).await;
    let guangzhou = book_first(&ctx, &p1, "doctor1").await;
    book_first(&ctx, &p1, "doctor20").await;
    let doctor20 = crate::consult::signed_doctor(&ctx, "doctor20").await;
    let before = denied_events(&ctx.app).await;
    let (status, _) = ctx
        .post(
            &doctor20,
            &format!("/api/v1/appointments/{guangzhou}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ctx
        .get(&doctor20, &format!("/fhir/Appointment/{guangzhou}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        denied_events(&ctx.app).await - before,
        2,
        "each refusal audited once"
    );
    let (_, appt) = ctx
        .get(&p1, &format!("/fhir/Appointment/{guangzhou}"))
        .await;
    assert_eq!(appt["status"], "booked");
    // patient1's uploaded record is the patient side's only.
    let r = ctx
        .app
        .client
        .post(ctx.app.url(
            "/api/v1/prior-records?kind=outpatient_record&hospital_name=%E5%B8%82%E4%BA%BA%E6%B0%91%E5%8C%BB%E9%99%A2&diagnosed_on=2025-06-01&condition=%E9%AB%98%E8%A1%80%E5%8E%8B",
        ))
        .bearer_auth(&p1)
        .header("content-type", "application/pdf")
        .body(b"%PDF-1.4\n%test\n".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let record: Value = r.json().await.unwrap();
    let record = record["id"].as_i64().unwrap();
    let (status, _) = ctx
        .get(&doctor20, &format!("/api/v1/prior-records/{record}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The owner downloads it, as an attachment (a PDF is never rendered in our origin).
    let r = ctx
        .app
        .get_as(&p1, &format!("/api/v1/prior-records/{record}"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    // The appointment's own hospital may cancel, and it is recorded as the hospital's act.
    let nurse = ctx.app.token("nurse1", PW).await;
    let (status, body) = ctx
        .post(
            &nurse,
            &format!("/api/v1/appointments/{guangzhou}/cancel"),
            json!({"reason": "医生停诊"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let by: Option<String> = ctx
        .app
        .db
        .scalar::<Option<String>>(
            "SELECT cancelled_by FROM appointment WHERE id = $1",
            (guangzhou,),
        )
        .await
        .unwrap();
    assert_eq!(by.as_deref(), Some("hospital"));
}

#[tokio::test]
async fn the_sign_in_lock_holds_however_the_phone_is_written() {
    let app = TestApp::with_demo().await;
    let attempt = |who: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/auth/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("username", who),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for _ in 0..5 {
        assert_eq!(
            attempt("13800000005", "wrong").await,
            StatusCode::BAD_REQUEST
        );
    }
    for spelling in [
        "13800000005",
        "138-0000-0005",
        "+8613800000005",
        "(138)00000005",
        "patient5",
    ] {
        assert_eq!(
            attempt(spelling, PW).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{spelling} is the same account"
        );
    }
    // Another account is not locked by it.
    assert_eq!(attempt("patient4", PW).await, StatusCode::OK);
}

#[tokio::test]
async fn administrators_neither_read_orders_nor_decide_payments() {
    let ctx = setup().await;
    let app = &ctx.app;
    let p1 = app.token("patient1", PW).await;
    // The demo's consultations have paid fees: patient1's first order.
    let order: i64 = app
        .db
        .scalar::<i64>(
            "SELECT o.id FROM payment_order o JOIN account a ON a.person_id = o.person_id \
         WHERE a.username = 'patient1' ORDER BY o.id LIMIT 1",
            (),
        )
        .await
        .unwrap();
    let (status, _) = ctx.get(&p1, &format!("/api/v1/orders/{order}")).await;
    assert_eq!(status, StatusCode::OK);
    for who in ["hospital-admin", "admin"] {
        let token = app.token(who, PW).await;
        let before = denied_events(app).await;
        let (status, _) = ctx.get(&token, &format!("/api/v1/orders/{order}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
        let r = app
            .client
            .post(app.url(&format!("/sandbox/pay/{order}")))
            .bearer_auth(&token)
            .form(&[("decision", "decline")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who}");
        assert_eq!(
            denied_events(app).await - before,
            2,
            "{who}: both refusals audited"
        );
    }
}

#[tokio::test]
async fn odd_input_gets_no_500_and_no_open_redirect() {
    let ctx = setup().await;
    let app = &ctx.app;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for next in [
        "/%0A",
        "/%0d%0aSet-Cookie:x=1",
        "/%09/evil.example/",
        "//evil.example",
        "/%E5%8C%BB",
    ] {
        let r = client
            .get(app.url(&format!("/lang/en?next={next}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(r.headers()["location"], "/", "{next}");
    }
    // Signing in with a correct password and a bad `next` lands on the account page.
    let login = client.get(app.url("/login")).send().await.unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    let html = login.text().await.unwrap();
    let csrf = crate::helpers::csrf_from(&html);
    for next in ["/\n", "/\t/evil.example/"] {
        let r = client
            .post(app.url("/login"))
            .header("cookie", cookie.split(';').next().unwrap())
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", "patient1"),
                ("password", PW),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(r.headers()["location"], "/me", "{next:?}");
    }
    // Walk-in visits: a doctor is a doctor of this hospital, or 422 naming the field.
    let nurse = app.token("nurse1", PW).await;
    let p2 = app.token("patient2", PW).await;
    let patient_account = ctx.doctor("patient2").await;
    let person = app.person_of(&p2).await;
    for doctor in [
        json!(-1),
        json!(0),
        json!(99999),
        json!(i64::MAX),
        json!(patient_account),
    ] {
        let (status, body) = ctx
            .post(
                &nurse,
                "/api/v1/visits",
                json!({"hospital_id": 1, "person_id": person, "doctor_id": doctor}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{doctor}: {body}");
        assert_eq!(body["errors"][0]["field"], "doctor_id");
    }
    let doctor1 = ctx.doctor("doctor1").await;
    let (status, body) = ctx
        .post(
            &nurse,
            "/api/v1/visits",
            json!({"hospital_id": 1, "person_id": person, "doctor_id": doctor1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn bodies_refuse_control_characters_and_never_name_internal_types() {
    let ctx = setup().await;
    let app = &ctx.app;
    let p1 = app.token("patient1", PW).await;
    let appointment = book_first(&ctx, &p1, "doctor2").await;
    let path = format!("/api/v1/appointments/{appointment}/cancel");
    for reason in ["行程\u{0}有变", "\u{202e}变有程行", &"长".repeat(600)] {
        let (status, body) = ctx.post(&p1, &path, json!({"reason": reason})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["errors"][0]["field"], "reason", "{body}");
    }
    let (_, appt) = ctx
        .get(&p1, &format!("/fhir/Appointment/{appointment}"))
        .await;
    assert_eq!(
        appt["status"], "booked",
        "nothing happened on a refused request"
    );
    // A megabyte in any field of any body is refused, named.
    let (status, body) = ctx
        .post(
            &p1,
            "/api/v1/me/family",
            json!({"name": "x".repeat(1_000_000), "id_number": "1", "relationship": "child"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "name");
    // Query strings too (search terms, the upload's fields).
    let (status, body) = ctx.get(&p1, "/api/v1/doctors?name=%E5%BC%A0%00").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "name");
    // Type errors name the field, never a Rust type.
    let (status, body) = ctx
        .post(
            &p1,
            "/api/v1/me/family",
            json!({"name": 5, "guardian": "yes"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let text = body.to_string();
    assert!(
        !text.contains("NewFamilyMember") && !text.contains("struct"),
        "{text}"
    );
    let (_, body) = ctx.post(&p1, "/api/v1/me/family", json!([1, 2])).await;
    assert!(!body.to_string().contains("NewFamilyMember"), "{body}");
    let (_, body) = ctx
        .post(&p1, "/api/v1/appointments", json!({"slot_id": "abc"}))
        .await;
    let text = body.to_string();
    assert!(text.contains("slot_id") && !text.contains("i64"), "{text}");
}

#[tokio::test]
async fn private_answers_hsts_metrics_and_the_demo_inbox() {
    let app = TestApp::with_demo().await;
    let p1 = app.token("patient1", PW).await;
    let r = app.get_as(&p1, "/api/v1/me").await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    let r = app.get("/api/v1/hospitals").await;
    assert!(
        r.headers()
            .get("cache-control")
            .is_none_or(|v| v != "no-store")
    );
    assert!(r.headers().get("strict-transport-security").is_none());
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    // /metrics: from this machine, not through a proxy.
    assert_eq!(app.get("/metrics").await.status(), StatusCode::OK);
    let r = app
        .client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;

    // With the operator's token, a relayed scrape is let in.
    let app = TestApp::spawn_with(
        crate::helpers::TestDb::new().await,
        |c| {
            c.security.metrics_token = Some(yunyi::config::Secret("scrape-token-1".to_owned()));
            c.security.hsts = false;
            c.demo = true;
        },
        yunyi::app::job_registry(),
    )
    .await;
    let relayed = |path: &str| {
        app.client
            .get(app.url(path))
            .header("x-forwarded-for", "203.0.113.9")
            .header("x-forwarded-proto", "https")
    };
    let r = relayed("/metrics")
        .bearer_auth("scrape-token-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers().get("strict-transport-security").is_none(),
        "hsts off"
    );
    let r = relayed("/metrics")
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), StatusCode::OK);
    // The demo inbox holds sign-in codes: this machine only.
    assert_eq!(app.get("/dev/inbox").await.status(), StatusCode::OK);
    let r = relayed("/dev/inbox").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// A newly registered patient, never seen anywhere: their person id.
async fn stranger(ctx: &Ctx, phone: &str, seq: u32) -> i64 {
    let r = ctx
        .app
        .post_as(
            None,
            "/api/v1/patients",
            &json!({"phone": phone, "password": "a-long-password-1", "name": "陌生人", "id_number": id_number("19800101", seq)}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let token = ctx.app.token(phone, "a-long-password-1").await;
    ctx.app.person_of(&token).await
}

#[tokio::test]
async fn break_glass_is_for_a_hospital_where_the_patient_has_been_seen() {
    let ctx = setup().await;
    let app = &ctx.app;
    let p1 = app.person_of(&app.token("patient1", PW).await).await;
    let unseen = stranger(&ctx, "13700000021", 41).await;
    let glass = |token: &str, person: i64| {
        app.client
            .get(app.url(&format!("/api/v1/patients/{person}")))
            .bearer_auth(token)
            .header(
                "x-break-glass-reason",
                "unconscious in the emergency room, history needed",
            )
            .send()
    };
    // doctor2 (Guangzhou): patient1 has been seen there (the demo's care team).
    let doctor2 = crate::consult::signed_doctor(&ctx, "doctor2").await;
    let r = glass(&doctor2, p1).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    assert_eq!(
        glass(&doctor2, unseen).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    // An operator may allow it anywhere.
    let ctx = crate::booking::setup_with(|c| {
        c.security.break_glass = yunyi::config::BreakGlassScope::Anywhere;
    })
    .await;
    let app = &ctx.app;
    let unseen = stranger(&ctx, "13700000022", 42).await;
    let doctor19 = crate::consult::signed_doctor(&ctx, "doctor19").await;
    let r = app
        .client
        .get(app.url(&format!("/api/v1/patients/{unseen}")))
        .bearer_auth(&doctor19)
        .header(
            "x-break-glass-reason",
            "unconscious in the emergency room, history needed",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_pages_ask_the_holder_and_the_counter_confirms() {
    let ctx = setup().await;
    let app = &ctx.app;
    let p2 = app.sign_in_browser("patient2").await;
    let html = p2
        .submit(
            "/me/family",
            &[
                ("name", CHILD.0.to_owned()),
                ("id_number", CHILD.1.to_owned()),
                ("relationship", "child".to_owned()),
            ],
        )
        .await;
    assert!(html.contains("已请本人或其监护人确认"), "{html}");
    assert!(html.contains("id=\"claims-mine\""), "{html}");
    assert!(html.contains("等待确认"));
    assert!(!html.contains("id=\"family-list\""), "nothing linked yet");
    let claim: i64 = app
        .db
        .scalar::<i64>("SELECT MAX(id) FROM identity_claim", ())
        .await
        .unwrap();

    // The guardian sees the request on their page and rejects it.
    let p1 = app.sign_in_browser("patient1").await;
    let page = p1.page("/me").await;
    assert!(page.contains(&format!("id=\"reject-{claim}\"")), "{page}");
    assert!(page.contains("申请添加家庭成员"));
    let page = p1.submit(&format!("/me/claims/{claim}/reject"), &[]).await;
    assert!(!page.contains(&format!("id=\"reject-{claim}\"")));
    assert!(p2.page("/me").await.contains("已拒绝"));
    // Deciding it again says so in Chinese; text put in the address is never shown.
    let page = p1.submit(&format!("/me/claims/{claim}/approve"), &[]).await;
    assert!(page.contains("该申请已处理或已过期"), "{page}");
    assert!(!p1.page("/me?message=请拨打400").await.contains("请拨打400"));

    // A new request, confirmed at the counter: the nurse's page shows the record to compare.
    p2.submit(
        "/me/family",
        &[
            ("name", CHILD.0.to_owned()),
            ("id_number", CHILD.1.to_owned()),
            ("relationship", "child".to_owned()),
        ],
    )
    .await;
    let claim = claim + 1;
    let nurse = app.sign_in_browser("nurse1").await;
    let page = nurse.page(&format!("/counter/claims?id={claim}")).await;
    assert!(page.contains("id=\"counter-verify\""), "{page}");
    assert!(page.contains(CHILD.0));
    assert!(page.contains("出生医学证明"));
    let page = nurse
        .submit(
            &format!("/counter/claims/{claim}/verify"),
            &[("document_type", "birth_certificate".to_owned())],
        )
        .await;
    assert!(page.contains("已确认关联"), "{page}");
    let page = p2.page("/me").await;
    assert!(page.contains("id=\"family-list\""), "{page}");
    // Field errors of the new checks are in the page's language.
    let r = p2
        .post_form(
            "/me/family",
            &[
                ("name", "张\u{202e}雨"),
                ("id_number", CHILD.1),
                ("relationship", "child"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("含有不允许的字符（U+202E"), "{html}");
    // A patient has no counter page; a number that is nobody's is said on the page.
    assert!(p2.page("/counter/claims").await.contains("403"));
    let page = nurse.page("/counter/claims?id=999999").await;
    assert!(page.contains("没有这个申请编号"), "{page}");
}
