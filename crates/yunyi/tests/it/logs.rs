//! Nothing sensitive reaches the logs: a real `yunyi demo` runs at debug level while a patient
//! registers, signs in by password and by one-time code, reads their record and a doctor steps
//! up; then its whole log is searched for every secret that went over the wire.

use serde_json::{Value, json};

use crate::cli::{start_demo_with, stop_with_sigterm};
use crate::helpers::{PW, TestDb, id_number};

#[tokio::test]
async fn logs_hold_no_passwords_tokens_identity_numbers_phones_or_codes() {
    let test_db = TestDb::new().await;
    let log_path = test_db.data_dir().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let running = start_demo_with(&test_db, log.into(), &["--log", "debug"]);
    let base = running.base.clone();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();

    let password = "Zq7-unique-secret-pass";
    let phone = "13712398765";
    let id = id_number("19880808", 77);
    let r = client
        .post(format!("{base}/api/v1/patients"))
        .json(&json!({"phone": phone, "password": password, "name": "日志测试", "id_number": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // A failed registration too (errors are where secrets leak most often).
    client
        .post(format!("{base}/api/v1/patients"))
        .json(&json!({"phone": phone, "password": password, "name": "日志测试", "id_number": id}))
        .send()
        .await
        .unwrap();
    let token: Value = client
        .post(format!("{base}/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", phone),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    client
        .post(format!("{base}/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", phone),
            ("password", "wrong-Zq7-pass"),
        ])
        .send()
        .await
        .unwrap();
    let me: Value = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["person"]["id_number"], id.as_str());

    // One-time code: sent, read from the demo inbox page, used to sign in.
    client
        .post(format!("{base}/api/v1/auth/code"))
        .json(&json!({"phone": phone}))
        .send()
        .await
        .unwrap();
    let inbox = client
        .get(format!("{base}/dev/inbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = inbox.find("验证码是 ").expect("the code in the inbox") + "验证码是 ".len();
    let code: String = inbox[at..].chars().take(6).collect();
    let login = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::helpers::csrf_from(&login);
    let r = client
        .post(format!("{base}/login/code"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("phone", phone),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());

    let doctor: Value = client
        .post(format!("{base}/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "doctor1"),
            ("password", PW),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let doctor = doctor["access_token"].as_str().unwrap().to_owned();
    client
        .post(format!("{base}/api/v1/auth/step-up"))
        .bearer_auth(&doctor)
        .json(&json!({"method": "password", "proof": PW}))
        .send()
        .await
        .unwrap();
    stop_with_sigterm(running);

    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        text.contains("DEBUG") || text.contains("INFO"),
        "the log was captured: {text}"
    );
    assert!(
        text.contains("138****") || text.contains("137****8765"),
        "masked phones may appear"
    );
    for (what, secret) in [
        ("password", password),
        ("demo password", PW),
        ("bearer token", token.as_str()),
        ("doctor's token", doctor.as_str()),
        ("identity number", id.as_str()),
        ("identity number digits", &id[6..14]),
        ("phone number", phone),
        ("one-time code text", &format!("验证码是 {code}")),
    ] {
        assert!(!text.contains(secret), "the log contains the {what}");
    }
}
