//! Registration, sign-in, sessions, tokens, throttling, one-time codes, CSRF, step-up, family.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PW, TestApp, csrf_from, id_number};

fn registration(phone: &str, id: &str) -> Value {
    json!({"phone": phone, "password": "s3cure-pass", "name": "测试患者", "id_number": id})
}

async fn problem(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn fields(body: &Value) -> Vec<String> {
    crate::helpers::error_fields(body)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn registration_validates_the_identity_number_and_refuses_duplicates() {
    let app = TestApp::spawn().await;
    let id = id_number("19900101", 12);
    let (status, body) = problem(
        app.post_as(None, "/api/v1/patients", &registration("13912345678", &id))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["account_id"].as_i64().is_some());

    // Wrong check digit, impossible date, wrong length: 422 naming id_number.
    let mut wrong_check = id_number("19900101", 13);
    let last = if wrong_check.ends_with('1') { "2" } else { "1" };
    wrong_check.replace_range(17.., last);
    for (bad, why) in [
        (wrong_check.as_str(), "check digit"),
        ("440106199002300014", "does not exist"),
        ("44010619900101", "18 characters"),
    ] {
        let (status, body) = problem(
            app.post_as(None, "/api/v1/patients", &registration("13912340000", bad))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(fields(&body), ["id_number"], "{bad}");
        assert!(
            body["errors"][0]["message"].as_str().unwrap().contains(why),
            "{body}"
        );
    }
    // Birth date given and contradicting the number.
    let mut reg = registration("13912340001", &id_number("19850505", 21));
    reg["birth_date"] = json!("1985-05-06");
    let (status, body) = problem(app.post_as(None, "/api/v1/patients", &reg).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&body), ["birth_date"]);

    // Several bad fields at once are all reported.
    let (status, body) = problem(
        app.post_as(
            None,
            "/api/v1/patients",
            &json!({"phone": "123", "password": "short", "name": "", "id_number": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&body), ["phone", "password", "name", "id_number"]);

    // Duplicate phone: 409 naming phone. Duplicate identity: 409.
    let (status, body) = problem(
        app.post_as(
            None,
            "/api/v1/patients",
            &registration("13912345678", &id_number("19920202", 31)),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(fields(&body), ["phone"]);
    let (status, _) = problem(
        app.post_as(None, "/api/v1/patients", &registration("13912349999", &id))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Not JSON at all: a clear 415 / 400, never a 500.
    let response = app
        .client
        .post(app.url("/api/v1/patients"))
        .body("phone=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = app
        .client
        .post(app.url("/api/v1/patients"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // The new patient signs in by phone and sees their own full identity number.
    let token = app.token("13912345678", "s3cure-pass").await;
    let me: Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["person"]["id_number"], id.as_str());
    assert_eq!(me["person"]["birth_date"], "1990-01-01");
    assert_eq!(me["phone"], "13912345678");
    app.stop().await;
}

#[tokio::test]
async fn identity_numbers_and_phones_are_encrypted_at_rest() {
    let app = TestApp::spawn().await;
    let id = id_number("19700707", 55);
    app.post_as(None, "/api/v1/patients", &registration("13700001111", &id))
        .await;
    let (enc, mask): (Vec<u8>, String) = app
        .db
        .one("SELECT id_number_enc, id_number_mask FROM person", ())
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&enc).contains("19700707"));
    assert_eq!(mask, format!("440***********{}", &id[14..]));
    let phone_cols: (Vec<u8>, String, String) = app
        .db
        .one("SELECT phone_enc, phone_hash, phone_mask FROM account", ())
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&phone_cols.0).contains("13700001111"));
    assert!(!phone_cols.1.contains("13700001111"));
    assert_eq!(phone_cols.2, "137****1111");
    app.stop().await;
}

#[tokio::test]
async fn sign_in_failures_look_the_same_whether_or_not_the_account_exists() {
    let app = TestApp::with_demo().await;
    let attempt = |user: &'static str, pass: &'static str| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(app.url("/auth/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("username", user),
                    ("password", pass),
                ])
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let wrong = attempt("doctor2", "not-the-password").await;
    let ghost = attempt("nobody-here", "not-the-password").await;
    assert_eq!(wrong.0, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.1["error"], "invalid_grant");
    assert_eq!(
        wrong, ghost,
        "the answer must not reveal which accounts exist"
    );
    let unsupported = app
        .client
        .post(app.url("/auth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(unsupported.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        unsupported.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );

    let ok = app
        .client
        .post(app.url("/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "doctor2"),
            ("password", PW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.headers()["cache-control"], "no-store");
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    app.stop().await;
}

#[tokio::test]
async fn repeated_failures_are_throttled_for_real_and_unknown_accounts_alike() {
    let app = TestApp::with_demo().await;
    for user in ["doctor3", "no-such-user"] {
        for _ in 0..5 {
            let r = app
                .client
                .post(app.url("/auth/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("username", user),
                    ("password", "wrong-password"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{user}");
        }
        // Locked now: even the right password waits.
        let r = app
            .client
            .post(app.url("/auth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", user),
                ("password", PW),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{user}");
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=30).contains(&retry), "{retry}");
    }
    // Another account is not affected.
    app.token("doctor4", PW).await;
    app.stop().await;
}

#[tokio::test]
async fn tokens_can_be_revoked_and_expire() {
    let app = TestApp::with_demo().await;
    let token = app.token("nurse1", PW).await;
    assert_eq!(
        app.get_as(&token, "/api/v1/me").await.status(),
        StatusCode::OK
    );
    let r = app
        .client
        .post(app.url("/auth/revoke"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.get_as(&token, "/api/v1/me").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    // Revoking an unknown token is not an error (RFC 7009).
    let r = app
        .client
        .post(app.url("/auth/revoke"))
        .form(&[("token", "nonsense")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let test_db = app.stop().await;

    let app = TestApp::spawn_with(
        test_db,
        |c| c.identity.token_ttl = Duration::from_secs(3600),
        yunyi::app::job_registry(),
    )
    .await;
    let token = app.token("nurse1", PW).await;
    assert_eq!(
        app.get_as(&token, "/api/v1/me").await.status(),
        StatusCode::OK
    );
    // An hour later by the application's clock (no test sleeps for time).
    app.state.clock.advance(Duration::from_secs(3590));
    assert_eq!(
        app.get_as(&token, "/api/v1/me").await.status(),
        StatusCode::OK
    );
    app.state.clock.advance(Duration::from_secs(11));
    assert_eq!(
        app.get_as(&token, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
}

#[tokio::test]
async fn one_time_codes_sign_in_once_and_unknown_numbers_get_the_same_answer() {
    let app = TestApp::with_demo().await;
    let inbox = app.state.inbox.clone().unwrap();
    let r = app
        .post_as(None, "/api/v1/auth/code", &json!({"phone": "13800000002"}))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let message = inbox.last_to("13800000002").expect("a code was sent");
    let code: String = message
        .text
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    assert_eq!(code.len(), 6);
    // Asking again at once is refused with a wait time.
    let r = app
        .post_as(None, "/api/v1/auth/code", &json!({"phone": "13800000002"}))
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    let browser = app.browser();
    let html = browser
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&html);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = browser
        .post(app.url("/login/code"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("phone", "13800000002"),
            ("code", wrong),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = browser
        .post(app.url("/login/code"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("phone", "13800000002"),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let me = browser
        .get(app.url("/me"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(me.contains("王芳"), "{me}");
    // The same code does not work twice.
    let other = app.browser();
    let html = other
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = other
        .post(app.url("/login/code"))
        .form(&[
            ("csrf_token", csrf_from(&html).as_str()),
            ("phone", "13800000002"),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // An unregistered number: the same 202, and nothing is sent.
    let r = app
        .post_as(None, "/api/v1/auth/code", &json!({"phone": "13600000000"}))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert!(inbox.last_to("13600000000").is_none());
    app.stop().await;
}

#[tokio::test]
async fn browser_forms_need_the_csrf_token() {
    let app = TestApp::with_demo().await;
    let browser = app.browser();
    // No token at all: refused, nothing signed in.
    let r = browser
        .post(app.url("/login"))
        .form(&[("username", "patient1"), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("reload"));

    let html = browser
        .get(app.url("/login?next=%2Fme"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&html);
    let r = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "patient1"),
            ("password", PW),
            ("next", "/me"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/me");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("yunyi_session="))
        .expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    // Signed in by cookie: a forged form (wrong or missing token) changes nothing.
    let sibling = id_number("20000101", 1);
    let family = [
        ("name", "张三"),
        ("id_number", sibling.as_str()),
        ("relationship", "sibling"),
    ];
    for token in [None, Some("forged-token")] {
        let mut form: Vec<(&str, &str)> = family.to_vec();
        if let Some(t) = token {
            form.push(("csrf_token", t));
        }
        let r = browser
            .post(app.url("/me/family"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    // A JSON call riding on the cookie needs the header too.
    let r = browser
        .post(app.url("/api/v1/me/family"))
        .json(&json!({"name": "张三", "id_number": sibling, "relationship": "sibling"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let me = browser
        .get(app.url("/me"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!me.contains("张三"));

    let mut form: Vec<(&str, &str)> = family.to_vec();
    let csrf = csrf_from(&me);
    form.push(("csrf_token", &csrf));
    let r = browser
        .post(app.url("/me/family"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let me = browser
        .get(app.url("/me"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(me.contains("张三"));

    // Sign out ends the session.
    let r = browser
        .post(app.url("/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = browser.get(app.url("/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next=")
    );
    app.stop().await;
}

#[tokio::test]
async fn doctors_confirm_their_identity_before_reading_patients() {
    let app = TestApp::with_demo().await;
    let patient1 = app.token("patient1", PW).await;
    let person = app.person_of(&patient1).await;
    let doctor = app.token("doctor1", PW).await;
    let r = app
        .get_as(&doctor, &format!("/api/v1/patients/{person}"))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "step-up-required");

    let r = app
        .post_as(
            Some(&doctor),
            "/api/v1/auth/step-up",
            &json!({"method": "password", "proof": "wrong"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .post_as(
            Some(&doctor),
            "/api/v1/auth/step-up",
            &json!({"method": "retina", "proof": "x"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.step_up(&doctor).await;
    let r = app
        .get_as(&doctor, &format!("/api/v1/patients/{person}"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    // Staff see the identity number masked.
    assert_eq!(body["id_number"], "440***********0015");

    // The check is per session: a new token must check again.
    let fresh = app.token("doctor1", PW).await;
    let r = app
        .get_as(&fresh, &format!("/api/v1/patients/{person}"))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // By one-time code as well.
    app.post_as(None, "/api/v1/auth/code", &json!({"phone": "13900000001"}))
        .await;
    let text = app
        .state
        .inbox
        .clone()
        .unwrap()
        .last_to("13900000001")
        .unwrap()
        .text;
    let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    let r = app
        .post_as(
            Some(&fresh),
            "/api/v1/auth/step-up",
            &json!({"method": "otp", "proof": code}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_as(&fresh, &format!("/api/v1/patients/{person}"))
            .await
            .status(),
        StatusCode::OK
    );
    app.stop().await;
}

#[tokio::test]
async fn step_up_expires_after_the_configured_period() {
    let test_db = crate::helpers::TestDb::with_demo().await;
    let app = TestApp::spawn_with(
        test_db,
        |c| c.identity.step_up_ttl = Duration::from_secs(600),
        yunyi::app::job_registry(),
    )
    .await;
    let person = app.person_of(&app.token("patient1", PW).await).await;
    let doctor = app.token("doctor1", PW).await;
    app.step_up(&doctor).await;
    assert_eq!(
        app.get_as(&doctor, &format!("/api/v1/patients/{person}"))
            .await
            .status(),
        StatusCode::OK
    );
    app.state.clock.advance(Duration::from_secs(601));
    assert_eq!(
        app.get_as(&doctor, &format!("/api/v1/patients/{person}"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    app.stop().await;
}

#[tokio::test]
async fn family_members_follow_the_guardian_rules() {
    let app = TestApp::with_demo().await;
    let token = app.token("patient2", PW).await;
    let toddler = id_number("20240301", 61);
    // A child under 6 cannot be added as the holder's parent.
    let r = app
        .post_as(
            Some(&token),
            "/api/v1/me/family",
            &json!({"name": "小宝", "id_number": toddler, "relationship": "parent"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r.json().await.unwrap()), ["relationship"]);
    // As a child: added, and the holder is recorded as guardian even if not ticked.
    let r = app
        .post_as(
            Some(&token),
            "/api/v1/me/family",
            &json!({"name": "小宝", "id_number": toddler, "relationship": "child"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let me: Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
    let kid = &me["family"][0];
    assert_eq!(kid["is_guardian"], true);
    assert_eq!(
        kid["id_number"],
        toddler.as_str(),
        "the guardian sees the full number"
    );
    // Twice: 409. Someone with their own account: a claim that account must approve (202).
    let r = app
        .post_as(
            Some(&token),
            "/api/v1/me/family",
            &json!({"name": "小宝", "id_number": toddler, "relationship": "child"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = app
        .post_as(
            Some(&token),
            "/api/v1/me/family",
            &json!({"name": "张伟", "id_number": "440106198503120015", "relationship": "spouse"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let me: Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["family"].as_array().unwrap().len(), 1, "not linked yet");
    // Staff have no family list.
    let nurse = app.token("nurse1", PW).await;
    let r = app
        .post_as(
            Some(&nurse),
            "/api/v1/me/family",
            &json!({"name": "x", "id_number": toddler, "relationship": "child"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn pages_are_bilingual_and_show_form_errors_next_to_fields() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let html = browser
        .get(app.url("/register"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("患者注册") && html.contains("居民身份证号"));
    let csrf = csrf_from(&html);
    let r = browser
        .post(app.url("/register"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "赵六"),
            ("id_number", "440106199002300014"),
            ("phone", "13911112222"),
            ("password", "long-enough"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"id="err-id_number""#), "{html}");
    assert!(html.contains("赵六"), "what was typed is kept");
    assert!(
        !html.contains("long-enough"),
        "the password is never echoed"
    );

    let html = browser
        .get(app.url("/login"))
        .header("cookie", "yunyi_lang=en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sign in with a password") && html.contains("Send me a code"));
    app.stop().await;
}
