//! Audit with no gaps (issue #30): every route the application declares, called by every
//! role, and every 403 or 404 it answers has written exactly one denial to the audit trail.
//!
//! The routes are read from the source (each `.route("…", get(…).post(…))`), so a new route
//! is walked without anyone adding it here. Path parameters are filled with 1, which names an
//! existing object for most kinds in the demo (hospital, appointment, consultation,
//! prescription, order …) and none for the rest — a refusal must be audited either way.

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::access::ROLES;
use crate::helpers::{PW, TestApp};

/// (method, path) of every route in `src/`.
pub fn declared_routes() -> Vec<(Method, String)> {
    let mut routes = Vec::new();
    let mut files = Vec::new();
    collect(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let Some(open) = rest.find('"') else { break };
            let Some(close) = rest[open + 1..].find('"') else {
                break;
            };
            let path = rest[open + 1..open + 1 + close].to_owned();
            // The method routers: up to the parenthesis that closes `.route(`.
            let mut depth = 1;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let methods = &rest[open + 1 + close..end];
            for (name, method) in [
                ("get(", Method::GET),
                ("post(", Method::POST),
                ("put(", Method::PUT),
                ("delete(", Method::DELETE),
                ("patch(", Method::PATCH),
            ] {
                let found = methods.match_indices(name).any(|(i, _)| {
                    i == 0
                        || !methods[..i]
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if found {
                    routes.push((method, path.clone()));
                }
            }
        }
    }
    routes.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
    routes.dedup();
    routes
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `{param}` as 1.
fn filled(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => in_param = true,
            '}' => {
                in_param = false;
                out.push('1');
            }
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

async fn denied(app: &TestApp) -> i64 {
    yunyi::with_db!(&app.db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_event WHERE outcome = 'denied'"
    )
    .fetch_one(pool)
    .await)
    .unwrap()
}

#[test]
fn the_route_list_is_read_from_the_source() {
    let routes = declared_routes();
    assert!(routes.len() > 150, "{}", routes.len());
    for expected in [
        (Method::GET, "/api/v1/orders/{id}"),
        (Method::POST, "/sandbox/pay/{order}"),
        (Method::PUT, "/api/v1/consultations/{id}/note"),
        (Method::POST, "/api/v1/me/claims/{id}/approve"),
    ] {
        assert!(
            routes
                .iter()
                .any(|(m, p)| *m == expected.0 && p == expected.1),
            "{expected:?} not found"
        );
    }
}

#[tokio::test]
async fn every_refusal_on_every_route_for_every_role_is_audited_once() {
    let app = TestApp::with_demo().await;
    let mut tokens = Vec::new();
    for role in &ROLES[1..] {
        let token = app.token(role, PW).await;
        if role.starts_with("doctor") {
            app.step_up(&token).await;
        }
        tokens.push((*role, token));
    }
    let routes = declared_routes();
    let mut failures = Vec::new();
    let mut refusals = 0;
    for (method, route) in &routes {
        // Signing out would end the session the rest of the walk needs.
        if route == "/logout" || route == "/auth/revoke" {
            continue;
        }
        let path = filled(route);
        for (role, token) in &tokens {
            let before = denied(&app).await;
            let mut request = app
                .client
                .request(method.clone(), app.url(&path))
                .bearer_auth(token);
            if *method != Method::GET {
                request = request.json(&json!({}));
            }
            let status = request.send().await.unwrap().status();
            assert!(
                !status.is_server_error(),
                "{method} {path} as {role}: {status}"
            );
            if status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND {
                refusals += 1;
                let written = denied(&app).await - before;
                if written != 1 {
                    failures.push(format!(
                        "{method} {path} as {role}: {status} wrote {written} denials"
                    ));
                }
            }
        }
    }
    assert!(refusals > 500, "the walk refused only {refusals} times");
    assert!(
        failures.is_empty(),
        "{} of {refusals} refusals:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
