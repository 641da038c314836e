//! One error type, three forms: problem+json under /api, OperationOutcome under /fhir, a
//! readable localized page elsewhere; unknown routes, wrong methods and oversized bodies too.

use reqwest::StatusCode;

use crate::helpers::TestApp;

fn content_type(response: &reqwest::Response) -> String {
    response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn unknown_api_route_is_problem_json() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/no-such-thing").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(content_type(&response), "application/problem+json");
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["type"], "urn:yunyi:problem:not-found");
    assert_eq!(body["code"], "not-found");
    assert_eq!(body["status"], 404);
    assert_eq!(body["title"], "Not found");
    assert_eq!(body["instance"], "/api/v1/no-such-thing");
    assert_eq!(body["request_id"], request_id.as_str());
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    app.stop().await;
}

#[tokio::test]
async fn invalid_query_names_every_bad_field() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/hospitals?limit=1000&after=x").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(content_type(&response), "application/problem+json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "validation");
    let fields = crate::helpers::error_fields(&body);
    assert_eq!(fields, ["limit", "after"]);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1000")
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_fhir_route_is_an_operation_outcome() {
    let app = TestApp::spawn().await;
    let response = app.get("/fhir/Nonexistent/1").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(content_type(&response).starts_with("application/fhir+json"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(body["issue"][0]["severity"], "error");
    assert_eq!(body["issue"][0]["code"], "not-found");
    assert!(body["issue"][0]["diagnostics"].as_str().is_some());
    app.stop().await;
}

#[tokio::test]
async fn unknown_page_is_a_readable_page_in_the_callers_language() {
    let app = TestApp::spawn().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(content_type(&response).starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"<html lang="zh-CN">"#));
    assert!(html.contains("页面不存在"), "{html}");
    assert!(html.contains("返回首页"));

    let response = app
        .client
        .get(app.url("/no/such/page"))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap();
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains("Page not found"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn wrong_method_is_405_in_each_form_and_keeps_allow() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .delete(app.url("/api/v1/hospitals"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        response.headers()["allow"]
            .to_str()
            .unwrap()
            .contains("GET")
    );
    assert_eq!(content_type(&response), "application/problem+json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "method-not-allowed");

    let response = app
        .client
        .post(app.url("/fhir/metadata"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(body["issue"][0]["code"], "not-supported");

    // A bearer header skips the CSRF check, which would otherwise answer first (403).
    let response = app
        .client
        .post(app.url("/hospitals"))
        .header("authorization", "Bearer x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(content_type(&response).starts_with("text/html"));
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = TestApp::spawn().await;
    let body = vec![b'x'; 3 * 1024 * 1024];
    let response = app
        .client
        .post(app.url("/api/v1/hospitals"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(content_type(&response), "application/problem+json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "payload-too-large");
    app.stop().await;
}

#[tokio::test]
async fn malformed_ids_are_not_found_not_server_errors() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/hospitals/abc",
        "/api/v1/hospitals/-1",
        "/api/v1/hospitals/99999999999999999999",
        "/api/v1/consultations/abc",
        "/api/v1/doctors/x/slots",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            content_type(&response),
            "application/problem+json",
            "{path}"
        );
    }
    // Pages too, whichever way their handler reads the id (`PathId` on all of them).
    for path in ["/hospitals/%E4%B8%AD", "/doctors/abc", "/doctors/0"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(content_type(&response).starts_with("text/html"), "{path}");
        if path.starts_with("/doctors/") {
            let page = response.text().await.unwrap();
            assert!(page.contains("编号应为正整数"), "{page}");
        }
    }
    app.stop().await;
}

/// An optional body (cancelling an appointment) may be left out, but one that is there and is
/// not JSON is refused, not read as "no reason" (found by fuzzing the API).
#[tokio::test]
async fn an_optional_body_that_is_not_json_is_refused() {
    let app = TestApp::with_demo().await;
    let token = app.token("patient1", crate::helpers::PW).await;
    let cancel = |body: &'static [u8]| {
        app.client
            .post(app.url("/api/v1/appointments/999999/cancel"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for bad in [&b"\x00"[..], b"not json", b"{\"reason\": 5}"] {
        let response = cancel(bad).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(content_type(&response), "application/problem+json");
    }
    // No body at all reaches the service, which finds no such appointment.
    let response = cancel(b"").await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}
