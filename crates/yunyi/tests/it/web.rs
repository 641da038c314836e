//! The web shell: home page, language switch, embedded assets.

use reqwest::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn home_page_is_chinese_by_default_and_says_what_the_platform_offers() {
    let app = TestApp::spawn().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"<html lang="zh-CN">"#));
    for text in [
        "智能导诊与分时段预约",
        "图文与视频问诊",
        "慢病复诊与送药上门",
        "传染病筛查与预警",
        "120",
    ] {
        assert!(html.contains(text), "home page lacks {text}");
    }
    assert!(
        html.contains(r#"name="viewport""#),
        "mobile viewport missing"
    );
    // No external CDN: every script and stylesheet is served by us.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "external reference in {html}"
    );
    app.stop().await;
}

#[tokio::test]
async fn language_switch_sets_a_cookie_and_returns_to_the_page() {
    let app = TestApp::spawn().await;
    let response = app.get("/lang/en?next=%2Fhospitals").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/hospitals");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("yunyi_lang=en;") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let html = app
        .client
        .get(app.url("/"))
        .header("cookie", "yunyi_lang=en")
        // The explicit choice wins over the browser's language.
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains("Smart triage and time-slot booking"));
    // The switch offers the way back, to the same page.
    assert!(html.contains(r#"href="/lang/zh?next=%2F""#), "{html}");

    // Never an open redirect.
    let response = app.get("/lang/zh?next=%2F%2Fevil.example").await;
    assert_eq!(response.headers()["location"], "/");
    let response = app.get("/lang/fr").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn assets_are_embedded_and_cacheable() {
    let app = TestApp::spawn().await;
    let html = app.get("/").await.text().await.unwrap();
    let css = html
        .split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with("app.css"))
        .expect("stylesheet link")
        .to_owned();
    let js = html
        .split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with("htmx.min.js"))
        .expect("htmx script")
        .to_owned();
    let response = app.get(&css).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let response = app.get(&js).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("htmx"));
    assert_eq!(
        app.get("/assets/0.1.0/missing.js").await.status(),
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

#[tokio::test]
async fn a_refusal_page_keeps_the_person_signed_in_and_says_what_to_do() {
    let app = TestApp::with_demo().await;
    let patient = app.sign_in_browser("patient1").await;
    let r = patient
        .client
        .get(app.url("/admin/staff"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("张伟"),
        "the header still shows the account: {html}"
    );
    assert!(html.contains("id=\"forbidden-hint\""));
    assert!(html.contains("联系本院管理员"));
    // The refusal's English detail has no Chinese text yet: kept for support, folded away.
    let folded = html
        .split("<details class=\"meta tech-detail\" id=\"tech-detail\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no folded technical detail: {html}"));
    assert!(folded.starts_with("<summary>技术详情"), "{folded}");
    assert!(!html.contains("<p class=\"lead\">"), "{html}");
    // In English the same detail is the page's lead.
    let r = patient
        .client
        .get(app.url("/admin/staff"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("<p class=\"lead\">"), "{html}");
    assert!(!html.contains("tech-detail"), "{html}");
    // A page that does not exist says so in Chinese and where to look instead.
    let r = patient
        .client
        .get(app.url("/doctors/999999"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"not-found-hint\""), "{html}");
    assert!(html.contains("找医生"), "{html}");
    // Signed out, the same refusal asks to sign in instead.
    let r = app.get("/admin/staff").await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "a page for staff sends strangers to sign in"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_text_size_switch_sets_a_cookie_and_returns_to_the_page() {
    let app = TestApp::spawn().await;
    let response = app.get("/text/large?next=%2Fhospitals").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/hospitals");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("yunyi_text=large;") && cookie.contains("Max-Age=31536000"),
        "{cookie}"
    );

    let page = |cookie: &'static str| {
        let request = app.client.get(app.url("/hospitals"));
        async move {
            request
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let large = page("yunyi_text=large").await;
    assert!(
        large.contains(r#"<html lang="zh-CN" class="large-text">"#),
        "{large}"
    );
    assert!(
        large.contains(r#"href="/text/standard?next=%2Fhospitals""#),
        "{large}"
    );
    let standard = page("yunyi_text=huge").await;
    assert!(!standard.contains("large-text\">"), "{standard}");
    assert!(standard.contains(r#"href="/text/large?next=%2Fhospitals""#));

    // Back to standard forgets the choice; never an open redirect; unknown sizes are 404.
    let response = app.get("/text/standard?next=%2F%2Fevil.example").await;
    assert_eq!(response.headers()["location"], "/");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("yunyi_text=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    let r = app
        .client
        .get(app.url("/text/huge"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let html = r.text().await.unwrap();
    assert!(html.contains("没有这个选项"), "said in Chinese: {html}");
    app.stop().await;
}

#[tokio::test]
async fn the_manifest_service_worker_and_offline_page_make_the_site_installable() {
    let app = TestApp::with_demo().await;
    let html = app.get_text("/").await;
    assert!(html.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#));

    let r = app.get("/manifest.webmanifest").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/manifest+json");
    let manifest: serde_json::Value = r.json().await.unwrap();
    assert_eq!(manifest["short_name"], "云医");
    assert_eq!(manifest["start_url"], "/");
    assert_eq!(manifest["display"], "standalone");
    let icon = manifest["icons"][0]["src"].as_str().unwrap().to_owned();
    let r = app.get(&icon).await;
    assert_eq!(r.status(), StatusCode::OK, "the icon {icon} is served");
    assert_eq!(r.headers()["content-type"], "image/svg+xml");

    let r = app.get("/sw.js").await;
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let sw = r.text().await.unwrap();
    assert!(!sw.contains("__ASSETS__"), "the asset prefix is filled in");
    assert!(sw.contains("/offline"));

    // The offline page is for no one: no name and no form token, even when signed in.
    let patient = app.sign_in_browser("patient1").await;
    let offline = patient.page("/offline").await;
    assert!(offline.contains("网络已断开"), "{offline}");
    assert!(
        !offline.contains("张伟") && !offline.contains("logout"),
        "{offline}"
    );
    app.stop().await;
}
