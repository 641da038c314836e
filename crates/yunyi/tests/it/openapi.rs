//! The OpenAPI document (issue #26): every JSON API route is in it and nothing else is, every
//! path parameter is described, every operation names a success answer and the shared error
//! answer, and the reference page works without any other site.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::denials::declared_routes;
use crate::helpers::TestApp;

/// The routes the document must describe: the JSON API, the token endpoints and SMART and
/// OpenID discovery. `/auth/authorize` is a page for people (the SMART consent), not an API.
fn documented_surface(path: &str) -> bool {
    path.starts_with("/api/v1/")
        || (path.starts_with("/auth/") && path != "/auth/authorize")
        || path.starts_with("/fhir/.well-known/")
}

async fn document(app: &TestApp) -> Value {
    let (status, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, 200);
    doc
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_that_exist() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));

    let declared: BTreeSet<(String, String)> = declared_routes()
        .into_iter()
        .filter(|(_, path)| documented_surface(path))
        .map(|(method, path)| (method.as_str().to_owned(), path))
        .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let missing: Vec<_> = declared.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&declared).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes without a description: {missing:?}\ndescriptions without a route: {extra:?}"
    );
}

#[tokio::test]
async fn every_operation_describes_its_parameters_and_answers() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let mut ids = BTreeSet::new();
    let mut problems = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let wanted: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, op) in item.as_object().unwrap() {
            let here = format!("{} {path}", method.to_uppercase());
            let described: BTreeSet<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            if described != wanted {
                problems.push(format!(
                    "{here}: path parameters {described:?}, want {wanted:?}"
                ));
            }
            let answers = op["responses"].as_object().unwrap();
            // 101 for the WebSocket, 2xx for everything else.
            if !answers
                .keys()
                .any(|code| code.starts_with('2') || code == "101")
            {
                problems.push(format!("{here}: no success answer"));
            }
            if answers["default"]["content"]["application/problem+json"]["schema"]["$ref"]
                != "#/components/schemas/Problem"
            {
                problems.push(format!("{here}: no problem+json error answer"));
            }
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            if id.is_empty() || !ids.insert(id.clone()) {
                problems.push(format!("{here}: operationId '{id}' missing or repeated"));
            }
        }
    }
    // Every reference names a schema that is there.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let text = doc.to_string();
    for (at, _) in text.match_indices("#/components/schemas/") {
        let name: String = text[at + "#/components/schemas/".len()..]
            .chars()
            .take_while(|c| *c != '"')
            .collect();
        if !schemas.contains_key(&name) {
            problems.push(format!("reference to a missing schema {name}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn the_reference_page_is_served_from_here() {
    let app = TestApp::spawn().await;
    let page = app.get("/api/docs/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // No CDN: scripts and styles come from this server.
    assert!(!html.contains("src=\"http"), "{html}");
    assert!(!html.contains("href=\"http"), "{html}");
    let init = app.get("/api/docs/swagger-initializer.js").await;
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/api/openapi.json"));
}

/// The document shows the types handlers answer with; a `json!` answer would be an untyped
/// object in it, so the JSON API's handlers build none.
#[test]
fn api_handlers_answer_with_types_not_json_macros() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for context in std::fs::read_dir(&src).unwrap() {
        let api = context.unwrap().path().join("api.rs");
        let Ok(text) = std::fs::read_to_string(&api) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if line.contains("json!(") || line.contains("serde_json::Value") {
                found.push(format!("{}:{}: {}", api.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
