//! `/healthz`, `/readyz`, `/metrics`, request ids, security headers, compression.

use reqwest::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_and_readiness_report_the_backend() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");

    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], app.test_db.backend());
    app.stop().await;
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.db.close().await;
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "unavailable");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_jobs_by_status() {
    let app = TestApp::spawn().await;
    app.get("/healthz").await;
    app.get("/hospitals/12345").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let ct = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"yunyi_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{text}"
    );
    // The route pattern, not the id: one series per route however many ids are requested.
    assert!(
        text.contains(r#"route="/hospitals/{id}",status="404""#),
        "{text}"
    );
    assert!(
        text.contains(&format!(r#"database="{}""#, app.test_db.backend())),
        "{text}"
    );
    for status in ["queued", "running", "done", "dead"] {
        assert!(
            text.contains(&format!(r#"yunyi_jobs{{status="{status}"}}"#)),
            "{text}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn every_response_has_a_request_id_and_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/", "/healthz", "/api/v1/nothing-here", "/fhir/metadata"] {
        let response = app.get(path).await;
        let h = response.headers();
        assert!(
            h.get("x-request-id").is_some_and(|v| !v.is_empty()),
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.get("referrer-policy").is_some(), "{path}");
    }
    // A request id the caller sends is kept, so a client can correlate its logs with ours.
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "client-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-abc-123");
    app.stop().await;
}

#[tokio::test]
async fn responses_are_compressed_when_the_client_accepts_it() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    app.stop().await;
}
