//! The access matrix and audit with no gaps (issues #28, #30): every route the application
//! declares, called by every role, answers as `tests/fixtures/access-matrix.txt` says, and
//! every 403 or 404 it answers a signed-in role has written exactly one denial to the trail.
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
    yunyi::audit::seal(&app.db).await.unwrap();
    app.db
        .scalar::<i64>(
            "SELECT COUNT(*) FROM audit_event WHERE outcome = 'denied'",
            (),
        )
        .await
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

/// What a role got from a route, as far as access goes: refused (401, 403, 404) or let
/// through (anything else: done, or refused for the body or the state, which depend on the
/// day's demo and are not access).
fn access_class(status: StatusCode, location: Option<&str>) -> &'static str {
    match status.as_u16() {
        401 => "401",
        // A page sends a stranger to sign in.
        303 | 302 if location.is_some_and(|l| l.starts_with("/login")) => "login",
        403 => "403",
        404 => "404",
        _ => "pass",
    }
}

fn matrix_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/access-matrix.txt")
}

/// Every route × every role (anonymous first): refused ones audited once each, none a 5xx, and
/// the whole matrix equal to `tests/fixtures/access-matrix.txt` — the expected status of every
/// route for every role, reviewed as a diff when access changes (`YUNYI_UPDATE_ACCESS=1`
/// rewrites it). Both backends must give the same matrix.
#[tokio::test]
async fn every_refusal_on_every_route_for_every_role_is_audited_once() {
    let app = TestApp::with_demo().await;
    let mut tokens: Vec<(&str, Option<String>)> = vec![("anonymous", None)];
    for role in &ROLES[1..] {
        let token = app.token(role, PW).await;
        if role.starts_with("doctor") {
            app.step_up(&token).await;
        }
        tokens.push((*role, Some(token)));
    }
    let routes = declared_routes();
    // Redirects are answers too: a page that sends a stranger to sign in is a refusal.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut failures = Vec::new();
    let mut refusals = 0;
    let mut matrix = format!("# route: {}\n", ROLES.join(" "));
    for (method, route) in &routes {
        // Signing out would end the session the rest of the walk needs.
        if route == "/logout" || route == "/auth/revoke" {
            continue;
        }
        let path = filled(route);
        let mut row = Vec::new();
        for (role, token) in &tokens {
            let before = denied(&app).await;
            let mut request = client.request(method.clone(), app.url(&path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if *method != Method::GET {
                request = request.json(&json!({}));
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            assert!(
                !status.is_server_error(),
                "{method} {path} as {role}: {status}"
            );
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok());
            row.push(access_class(status, location));
            let refused = status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND;
            if refused && token.is_some() {
                refusals += 1;
                let written = denied(&app).await - before;
                if written != 1 {
                    failures.push(format!(
                        "{method} {path} as {role}: {status} wrote {written} denials"
                    ));
                }
            }
        }
        matrix.push_str(&format!("{method} {route}: {}\n", row.join(" ")));
    }
    assert!(refusals > 500, "the walk refused only {refusals} times");
    assert!(
        failures.is_empty(),
        "{} of {refusals} refusals:\n{}",
        failures.len(),
        failures.join("\n")
    );
    if std::env::var("YUNYI_UPDATE_ACCESS").is_ok_and(|v| v == "1") {
        std::fs::write(matrix_path(), &matrix).unwrap();
    }
    let expected = std::fs::read_to_string(matrix_path()).unwrap_or_default();
    let changed: Vec<String> = matrix
        .lines()
        .zip(expected.lines().chain(std::iter::repeat("")))
        .filter(|(now, was)| now != was)
        .map(|(now, was)| format!("now: {now}\nwas: {was}"))
        .collect();
    assert!(
        changed.is_empty() && matrix.lines().count() == expected.lines().count(),
        "the access matrix differs from tests/fixtures/access-matrix.txt \
         (YUNYI_UPDATE_ACCESS=1 rewrites it; review the diff):\n{}",
        changed.join("\n")
    );
}
