//! The access matrix: every JSON endpoint × every role, expected status in one table. Plus
//! break-glass, and that denials leave audit events.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PW, TestApp, id_number};

pub const ROLES: [&str; 11] = [
    "anonymous",
    "patient1",
    "patient2",
    "doctor1",
    "doctor2",
    "nurse1",
    "pharmacist1",
    "officer1",
    "hospital-admin",
    "regulator1",
    "admin",
];

/// Expected status per role, in the order of ROLES.
struct Row {
    name: &'static str,
    method: Method,
    path: &'static str,
    expect: [u16; 11],
}

fn rows() -> Vec<Row> {
    use Method as M;
    vec![
        Row {
            name: "my profile",
            method: M::GET,
            path: "/api/v1/me",
            expect: [401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200],
        },
        Row {
            name: "patient1's record",
            method: M::GET,
            path: "/api/v1/patients/{p1}",
            expect: [401, 200, 404, 200, 403, 403, 403, 403, 403, 403, 403],
        },
        Row {
            name: "patient1's child's record",
            method: M::GET,
            path: "/api/v1/patients/{child}",
            expect: [401, 200, 404, 200, 403, 403, 403, 403, 403, 403, 403],
        },
        Row {
            name: "patient2's record",
            method: M::GET,
            path: "/api/v1/patients/{p2}",
            expect: [401, 404, 200, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Row {
            name: "add a family member",
            method: M::POST,
            path: "/api/v1/me/family",
            expect: [401, 201, 201, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Row {
            name: "list staff",
            method: M::GET,
            path: "/api/v1/staff",
            expect: [401, 403, 403, 403, 403, 403, 403, 403, 200, 403, 200],
        },
        Row {
            name: "create a doctor",
            method: M::POST,
            path: "/api/v1/staff",
            expect: [401, 403, 403, 403, 403, 403, 403, 403, 201, 403, 201],
        },
        Row {
            name: "read the audit trail",
            method: M::GET,
            path: "/api/v1/audit-events",
            expect: [401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200],
        },
        Row {
            name: "list hospitals",
            method: M::GET,
            path: "/api/v1/hospitals",
            expect: [200; 11],
        },
        Row {
            name: "identity step-up",
            method: M::POST,
            path: "/api/v1/auth/step-up",
            expect: [401, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204],
        },
        Row {
            name: "register a patient",
            method: M::POST,
            path: "/api/v1/patients",
            expect: [201; 11],
        },
        Row {
            name: "request a sign-in code",
            method: M::POST,
            path: "/api/v1/auth/code",
            expect: [202; 11],
        },
        Row {
            name: "a hospital's formulary",
            method: M::GET,
            path: "/api/v1/hospitals/1/drugs",
            expect: [200; 11],
        },
        Row {
            name: "the pharmacist's review queue",
            method: M::GET,
            path: "/api/v1/prescriptions/review-queue",
            expect: [401, 403, 403, 403, 403, 403, 200, 403, 403, 403, 403],
        },
        Row {
            name: "the pharmacy's dispensing queue",
            method: M::GET,
            path: "/api/v1/dispensing/queue",
            expect: [401, 403, 403, 403, 403, 403, 200, 403, 403, 403, 403],
        },
        Row {
            name: "a hospital's daily reconciliation",
            method: M::GET,
            path: "/api/v1/hospitals/1/reconciliation",
            expect: [401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200],
        },
        Row {
            name: "my delivery addresses",
            method: M::GET,
            path: "/api/v1/addresses",
            expect: [401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Row {
            name: "my prescriptions",
            method: M::GET,
            path: "/api/v1/prescriptions",
            expect: [401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Row {
            name: "ICE servers for a video call",
            method: M::GET,
            path: "/api/v1/video/ice-servers",
            expect: [401, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403],
        },
        Row {
            name: "a doctor's consultation queue",
            method: M::GET,
            path: "/api/v1/consultations/queue",
            expect: [401, 403, 403, 200, 200, 403, 403, 403, 403, 403, 403],
        },
        Row {
            name: "my consultations",
            method: M::GET,
            path: "/api/v1/consultations",
            expect: [401, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403],
        },
        Row {
            // The demo's first consultation: patient1's follow-up visit with doctor4.
            name: "patient1's consultation",
            method: M::GET,
            path: "/api/v1/consultations/1",
            expect: [401, 200, 404, 404, 404, 403, 403, 403, 403, 403, 403],
        },
    ]
}

/// A fresh, valid body for each call, so creating endpoints never collide.
fn body_for(path: &str, n: u32, gz: i64) -> Value {
    match path {
        "/api/v1/me/family" => {
            json!({"name": "测试家属", "id_number": id_number("20100101", n), "relationship": "child"})
        }
        "/api/v1/staff" => {
            json!({"username": format!("newdoc{n}"), "display_name": "新医生", "role": "doctor", "hospital_id": gz, "password": "initial-pass"})
        }
        "/api/v1/auth/step-up" => json!({"method": "password", "proof": PW}),
        "/api/v1/patients" => {
            json!({"phone": format!("1350000{n:04}"), "password": "s3cure-pass", "name": "新患者", "id_number": id_number("19800101", n)})
        }
        "/api/v1/auth/code" => json!({"phone": format!("1360000{n:04}")}),
        _ => Value::Null,
    }
}

#[tokio::test]
async fn every_endpoint_for_every_role() {
    let app = TestApp::with_demo().await;
    let mut tokens: Vec<Option<String>> = vec![None];
    for role in &ROLES[1..] {
        tokens.push(Some(app.token(role, PW).await));
    }
    // doctor1 and doctor2 have passed the identity check; only doctor1 has a care link.
    for i in [3, 4] {
        app.step_up(tokens[i].as_deref().unwrap()).await;
    }
    let p1_token = tokens[1].clone().unwrap();
    let p1: Value = app
        .get_as(&p1_token, "/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    let p1_id = p1["person"]["id"].as_i64().unwrap();
    let child = p1["family"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["relationship"] == "child")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let p2_id = app.person_of(tokens[2].as_deref().unwrap()).await;
    let hospitals: Value = app.get_json("/api/v1/hospitals").await.1;
    let gz = hospitals["items"][0]["id"].as_i64().unwrap();

    let mut n = 100;
    let mut failures = Vec::new();
    for row in rows() {
        let path = row
            .path
            .replace("{p1}", &p1_id.to_string())
            .replace("{p2}", &p2_id.to_string())
            .replace("{child}", &child.to_string());
        for (i, role) in ROLES.iter().enumerate() {
            n += 1;
            let mut request = app.client.request(row.method.clone(), app.url(&path));
            if row.method == Method::POST {
                request = request.json(&body_for(row.path, n, gz));
            }
            if let Some(token) = &tokens[i] {
                request = request.bearer_auth(token);
            }
            let status = request.send().await.unwrap().status().as_u16();
            if status != row.expect[i] {
                failures.push(format!(
                    "{} as {role}: expected {}, got {status}",
                    row.name, row.expect[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "access matrix mismatches:\n{}",
        failures.join("\n")
    );

    // Every denial above is in the audit trail, with the patient it concerned.
    let admin = tokens[10].clone().unwrap();
    let denied_about = |person: i64| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let body: Value = app
                .get_as(
                    &admin,
                    &format!("/api/v1/audit-events?outcome=denied&patient={person}&limit=100"),
                )
                .await
                .json()
                .await
                .unwrap();
            body["items"].as_array().unwrap().clone()
        }
    };
    let about_p1 = denied_about(p1_id).await;
    let about_p2 = denied_about(p2_id).await;
    assert!(about_p1.iter().any(|e| e["actor_role"] == "doctor"));
    assert!(about_p2.iter().any(|e| e["actor_role"] == "patient"));
    assert!(
        about_p1
            .iter()
            .any(|e| e["actor_role"] == "regulator" && e["action"] == "patient.read")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_hospital_admin_manages_only_their_own_hospital() {
    let app = TestApp::with_demo().await;
    let hadmin = app.token("hospital-admin", PW).await;
    let hospitals = app.get_json("/api/v1/hospitals").await.1;
    let jz = hospitals["items"][1]["id"].as_i64().unwrap();
    let r = app
        .post_as(
            Some(&hadmin),
            "/api/v1/staff",
            &json!({"username": "elsewhere", "display_name": "某医生", "role": "doctor", "hospital_id": jz, "password": "initial-pass"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post_as(
            Some(&hadmin),
            "/api/v1/staff",
            &json!({"username": "boss", "display_name": "某人", "role": "platform_admin", "password": "initial-pass"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let staff: Value = app
        .get_as(&hadmin, "/api/v1/staff")
        .await
        .json()
        .await
        .unwrap();
    let items = staff["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(
        items.iter().all(|s| s["hospital_id"] != jz),
        "sees only own hospital's staff"
    );
    // Phone numbers appear masked to admins.
    assert!(
        items
            .iter()
            .filter_map(|s| s["phone"].as_str())
            .all(|p| p.contains("****"))
    );
    app.stop().await;
}

#[tokio::test]
async fn break_glass_is_allowed_to_clinicians_with_a_reason_and_flagged() {
    let app = TestApp::with_demo().await;
    let p1 = app.person_of(&app.token("patient1", PW).await).await;
    let doctor2 = app.token("doctor2", PW).await;
    app.step_up(&doctor2).await;
    let path = format!("/api/v1/patients/{p1}");
    let with_reason = |token: String, reason: &'static str| {
        let app = &app;
        let path = path.clone();
        async move {
            app.client
                .get(app.url(&path))
                .bearer_auth(token)
                .header("x-break-glass-reason", reason)
                .send()
                .await
                .unwrap()
        }
    };
    let r = with_reason(doctor2.clone(), "urgent").await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "too short a reason"
    );
    let r = with_reason(doctor2.clone(), "patient unconscious in the emergency room").await;
    assert_eq!(r.status(), StatusCode::OK);
    // A nurse may too (no step-up for nurses); an administrator may not.
    let nurse = app.token("nurse1", PW).await;
    assert_eq!(
        with_reason(nurse, "allergy check during resuscitation")
            .await
            .status(),
        StatusCode::OK
    );
    let admin = app.token("admin", PW).await;
    assert_eq!(
        with_reason(admin.clone(), "just curious about this one")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let flagged: Value = app
        .get_as(&admin, "/api/v1/audit-events?flagged=true")
        .await
        .json()
        .await
        .unwrap();
    let flagged = flagged["items"].as_array().unwrap();
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    assert!(
        flagged
            .iter()
            .all(|e| e["patient_id"] == p1 && e["outcome"] == "success")
    );
    assert!(
        flagged
            .iter()
            .any(|e| e["reason"].as_str().unwrap().contains("unconscious"))
    );
    app.stop().await;
}
