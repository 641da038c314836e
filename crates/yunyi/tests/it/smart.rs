//! SMART on FHIR App Launch (issue #26): registration, consent, code + PKCE, scopes held by
//! the FHIR endpoints on top of the access policy, rotating refresh tokens, revocation.

use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{SignedInBrowser, TestApp};

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "a-verifier-of-forty-three-or-more-characters-0123456789";

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Registers an app as the platform admin; its client_id and secret.
async fn register(app: &TestApp, scope: &str, confidential: bool) -> (String, Option<String>) {
    let admin = app.token("admin", crate::helpers::PW).await;
    let r = app
        .post_as(
            Some(&admin),
            "/api/v1/smart-clients",
            &json!({"name": "健康助手", "redirect_uris": [REDIRECT], "scope": scope, "confidential": confidential}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    (
        body["client_id"].as_str().unwrap().to_owned(),
        body["client_secret"].as_str().map(str::to_owned),
    )
}

fn authorize_query(app: &TestApp, client_id: &str, scope: &str, verifier: &str) -> String {
    let aud = app.url("/fhir");
    let challenge = challenge(verifier);
    let pairs = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "s-123"),
        ("aud", aud.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    serde_urlencoded::to_string(pairs).unwrap()
}

fn query_of(location: &str) -> Vec<(String, String)> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().into_owned().collect()
}

fn param(location: &str, name: &str) -> Option<String> {
    query_of(location)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The consent page's form fields, allowed (with a patient, when given); the code.
async fn consent(browser: &SignedInBrowser<'_>, query: &str, patient: Option<i64>) -> String {
    let page = browser.page(&format!("/auth/authorize?{query}")).await;
    assert!(page.contains("健康助手"), "{page}");
    let mut fields: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    fields.push(("decision".into(), "allow".into()));
    if let Some(p) = patient {
        fields.push(("patient".into(), p.to_string()));
    }
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = browser.post_form("/auth/authorize", &borrowed).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(param(&location, "state").as_deref(), Some("s-123"));
    param(&location, "code").expect("a code")
}

async fn token_call(app: &TestApp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = app
        .client
        .post(app.url("/auth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn exchange(
    app: &TestApp,
    client_id: &str,
    code: &str,
    verifier: &str,
) -> (StatusCode, Value) {
    token_call(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("client_id", client_id),
        ],
    )
    .await
}

async fn status_of(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let r = app.get_as(token, path).await;
    let status = r.status();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The claims of an id_token whose RS256 signature the server's JWKS verifies.
async fn verified_id_token(app: &TestApp, token: &str) -> Value {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let (status, jwks) = app.get_json("/fhir/.well-known/jwks.json").await;
    assert_eq!(status, 200);
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's key is published");
    let number =
        |name: &str| rsa::BigUint::from_bytes_be(&b64.decode(jwk[name].as_str().unwrap()).unwrap());
    let key = rsa::RsaPublicKey::new(number("n"), number("e")).unwrap();
    let signature = Signature::try_from(b64.decode(parts[2]).unwrap().as_slice()).unwrap();
    VerifyingKey::<Sha256>::new(key)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("a valid signature");
    serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap()
}

#[tokio::test]
async fn discovery_names_the_endpoints_and_the_capability_statement_points_to_them() {
    let app = TestApp::spawn().await;
    let (status, config) = app.get_json("/fhir/.well-known/smart-configuration").await;
    assert_eq!(status, 200);
    assert_eq!(config["authorization_endpoint"], app.url("/auth/authorize"));
    assert_eq!(config["token_endpoint"], app.url("/auth/token"));
    assert_eq!(config["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(config["issuer"], app.url("/fhir"));
    let (status, oidc) = app.get_json("/fhir/.well-known/openid-configuration").await;
    assert_eq!(status, 200);
    assert_eq!(oidc["jwks_uri"], config["jwks_uri"]);
    assert_eq!(
        oidc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert!(
        config["capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("context-standalone-patient"))
    );
    let (_, statement) = app.get_json("/fhir/metadata").await;
    let security = &statement["rest"][0]["security"];
    assert_eq!(security["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
    let uris = &security["extension"][0]["extension"];
    assert!(
        uris.as_array()
            .unwrap()
            .iter()
            .any(|u| u["url"] == "authorize" && u["valueUri"] == app.url("/auth/authorize"))
    );
    app.stop().await;
}

#[tokio::test]
async fn a_patient_lets_an_app_read_one_family_members_records_and_nothing_else() {
    let app = TestApp::with_demo().await;
    let (client_id, _) = register(
        &app,
        "launch/patient openid fhirUser offline_access patient/*.rs user/Practitioner.rs",
        false,
    )
    .await;
    let own_token = app.token("patient1", crate::helpers::PW).await;
    let me: Value = app
        .get_as(&own_token, "/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    let own = me["person"]["id"].as_i64().unwrap();
    let child = me["family"][0]["id"].as_i64().unwrap();

    // Not signed in: the browser goes to sign in and comes back to the same request.
    let query = format!(
        "{}&nonce=n-0S6",
        authorize_query(
            &app,
            &client_id,
            "launch/patient openid fhirUser patient/*.rs user/*.rs offline_access",
            VERIFIER,
        )
    );
    let r = app
        .client
        .get(app.url(&format!("/auth/authorize?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next=%2Fauth%2Fauthorize")
    );

    let browser = app.sign_in_browser("patient1").await;
    let page = browser.page(&format!("/auth/authorize?{query}")).await;
    assert!(
        page.contains(&format!("value=\"{child}\"")),
        "the family is offered"
    );
    let code = consent(&browser, &query, Some(child)).await;

    let (status, tokens) = exchange(&app, &client_id, &code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["patient"], child.to_string());
    assert_eq!(tokens["token_type"], "Bearer");
    // user/*.rs was more than the app's to have: the granted scope says what it got.
    assert_eq!(
        tokens["scope"],
        "launch/patient openid fhirUser offline_access patient/*.rs user/Practitioner.rs"
    );
    // The id_token says who signed in, for this app, signed with the published key.
    let claims = verified_id_token(&app, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["iss"], app.url("/fhir"));
    assert_eq!(claims["aud"], client_id.as_str());
    assert_eq!(claims["nonce"], "n-0S6");
    assert_eq!(claims["sub"], me["account_id"].to_string());
    assert_eq!(claims["fhirUser"], app.url(&format!("/fhir/Patient/{own}")));
    let access = tokens["access_token"].as_str().unwrap().to_owned();

    // The patient in context, read and searched.
    let (status, _) = status_of(&app, &access, &format!("/fhir/Patient/{child}")).await;
    assert_eq!(status, 200);
    let (status, bundle) = status_of(&app, &access, "/fhir/Patient").await;
    assert_eq!(status, 200);
    let ids: Vec<String> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![child.to_string()]);
    // The account holder may read themselves; the app, held to the child, may not.
    let (status, outcome) = status_of(&app, &access, &format!("/fhir/Patient/{own}")).await;
    assert_eq!(status, 404, "{outcome}");
    let (status, _) = status_of(
        &app,
        &access,
        &format!("/fhir/Encounter?patient=Patient/{own}"),
    )
    .await;
    assert_eq!(status, 404);
    // A user-level scope is the policy's to decide: doctors are public.
    let (status, _) = status_of(&app, &access, "/fhir/Practitioner").await;
    assert_eq!(status, 200);
    // No write scope: refused with the specific code.
    let r = app
        .client
        .put(app.url("/fhir/Appointment/1"))
        .bearer_auth(&access)
        .header("content-type", "application/fhir+json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let outcome: Value = r.json().await.unwrap();
    assert_eq!(
        outcome["issue"][0]["details"]["coding"][0]["code"],
        "scope-insufficient"
    );
    // The app's token is for FHIR only.
    let (status, problem) = status_of(&app, &access, "/api/v1/me").await;
    assert_eq!(status, 403);
    assert_eq!(problem["code"], "scope-insufficient");

    // Every step is in the audit trail, with the app's access to the child.
    yunyi::audit::seal(&app.db).await.unwrap();
    let events: Vec<(String, Option<i64>)> = app
        .db
        .all::<(String, Option<i64>)>(
            "SELECT action, patient_id FROM audit_event WHERE action LIKE 'smart.%' ORDER BY id",
            (),
        )
        .await
        .unwrap();
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "smart.client.create",
            "smart.share",
            "smart.authorize",
            "smart.token"
        ]
    );
    assert_eq!((events[1].1, events[2].1), (Some(child), Some(child)));
    app.stop().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_narrow_and_a_replay_revokes_everything() {
    let app = TestApp::with_demo().await;
    let (client_id, secret) =
        register(&app, "launch/patient offline_access patient/*.rs", true).await;
    let secret = secret.expect("a confidential app has a secret");
    let browser = app.sign_in_browser("patient1").await;
    // Asked for more than the app may have: cut down, not refused.
    let query = authorize_query(
        &app,
        &client_id,
        "launch/patient offline_access patient/*.cruds user/*.rs",
        VERIFIER,
    );
    let code = consent(&browser, &query, None).await;

    // A confidential app must authenticate.
    let (status, body) = exchange(&app, &client_id, &code, VERIFIER).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    let r = app
        .client
        .post(app.url("/auth/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(
        tokens["scope"],
        "launch/patient offline_access patient/*.rs"
    );
    let first_access = tokens["access_token"].as_str().unwrap().to_owned();
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let own = tokens["patient"].as_str().unwrap().to_owned();

    // Narrowed at refresh: this access token reads encounters only.
    let refresh = |token: String, scope: Option<&'static str>| {
        let app = &app;
        let (client_id, secret) = (client_id.clone(), secret.clone());
        async move {
            let mut form = vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", token),
                ("client_id", client_id),
                ("client_secret", secret),
            ];
            if let Some(s) = scope {
                form.push(("scope", s.to_owned()));
            }
            let r = app
                .client
                .post(app.url("/auth/token"))
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (status, second) = refresh(first_refresh.clone(), Some("patient/Encounter.rs")).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["scope"], "patient/Encounter.rs");
    let narrow = second["access_token"].as_str().unwrap().to_owned();
    let (status, _) = status_of(&app, &narrow, "/fhir/Encounter").await;
    assert_eq!(status, 200);
    let (status, _) = status_of(&app, &narrow, &format!("/fhir/Patient/{own}")).await;
    assert_eq!(status, 403);
    // More than granted is not given.
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = refresh(second_refresh.clone(), Some("user/*.rs")).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    // The first refresh token is spent; presented again it revokes the whole grant.
    let (status, body) = refresh(first_refresh, None).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    for token in [&first_access, &narrow] {
        let (status, _) = status_of(&app, token, "/fhir/Encounter").await;
        assert_eq!(status, 401);
    }
    let (status, _) = refresh(second_refresh, None).await;
    assert_eq!(status, 400);
    app.stop().await;
}

#[tokio::test]
async fn wrong_redirects_pkce_reuse_expiry_and_revocation_are_refused() {
    let app = TestApp::with_demo().await;
    let (client_id, _) = register(&app, "launch/patient offline_access patient/*.rs", false).await;
    let browser = app.sign_in_browser("patient1").await;
    let scope = "launch/patient offline_access patient/*.rs";

    // An unregistered redirect URI: a page here, never a redirect there.
    let query =
        authorize_query(&app, &client_id, scope, VERIFIER).replace("127.0.0.1%3A9", "evil.example");
    let r = browser
        .client
        .get(app.url(&format!("/auth/authorize?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    // No PKCE, or plain: back to the app with the error and its state.
    for (from, to) in [
        ("code_challenge_method=S256", "code_challenge_method=plain"),
        ("code_challenge=", "x="),
    ] {
        let query = authorize_query(&app, &client_id, scope, VERIFIER).replace(from, to);
        let r = browser
            .client
            .get(app.url(&format!("/auth/authorize?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let location = r.headers()["location"].to_str().unwrap();
        assert_eq!(param(location, "error").as_deref(), Some("invalid_request"));
        assert_eq!(param(location, "state").as_deref(), Some("s-123"));
    }
    // A token for another server is not asked for here.
    let query = authorize_query(&app, &client_id, scope, VERIFIER).replace("%2Ffhir", "%2Fother");
    let r = browser
        .client
        .get(app.url(&format!("/auth/authorize?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(r.headers()["location"].to_str().unwrap(), "error").as_deref(),
        Some("invalid_request")
    );

    // A decision that is neither: a Chinese page says what to do.
    let query = authorize_query(&app, &client_id, scope, VERIFIER);
    let mut fields: Vec<(String, String)> = serde_urlencoded::from_str(&query).unwrap();
    fields.push(("decision".into(), "maybe".into()));
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = browser.post_form("/auth/authorize", &borrowed).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("请选择允许或拒绝"));

    // Refusing tells the app so.
    let query = authorize_query(&app, &client_id, scope, VERIFIER);
    let mut fields: Vec<(String, String)> = serde_urlencoded::from_str(&query).unwrap();
    fields.push(("decision".into(), "deny".into()));
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = browser.post_form("/auth/authorize", &borrowed).await;
    assert_eq!(
        param(r.headers()["location"].to_str().unwrap(), "error").as_deref(),
        Some("access_denied")
    );

    // PKCE mismatch.
    let code = consent(&browser, &query, None).await;
    let (status, body) = exchange(&app, &client_id, &code, &format!("{VERIFIER}-other")).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // A wrong redirect URI at the token endpoint.
    let (status, body) = token_call(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("code_verifier", VERIFIER),
            ("client_id", client_id.as_str()),
        ],
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The right one works once; a second use revokes what the first gave.
    let (status, tokens) = exchange(&app, &client_id, &code, VERIFIER).await;
    assert_eq!(status, 200);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, _) = status_of(&app, &access, "/fhir/Encounter").await;
    assert_eq!(status, 200);
    let (status, _) = exchange(&app, &client_id, &code, VERIFIER).await;
    assert_eq!(status, 400);
    let (status, _) = status_of(&app, &access, "/fhir/Encounter").await;
    assert_eq!(status, 401);

    // A code not traded in time expires.
    let code = consent(&browser, &query, None).await;
    app.state.clock.advance(Duration::from_secs(121));
    let (status, body) = exchange(&app, &client_id, &code, VERIFIER).await;
    assert_eq!(
        (status.as_u16(), body["error_description"].as_str()),
        (400, Some("the code has expired"))
    );

    // An access token expires; revoking the refresh token ends the grant.
    let code = consent(&browser, &query, None).await;
    let (_, tokens) = exchange(&app, &client_id, &code, VERIFIER).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    app.state.clock.advance(Duration::from_secs(3601));
    let (status, _) = status_of(&app, &access, "/fhir/Encounter").await;
    assert_eq!(status, 401);
    let r = app
        .client
        .post(app.url("/auth/revoke"))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, body) = token_call(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", client_id.as_str()),
        ],
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    app.stop().await;
}

#[tokio::test]
async fn only_the_platform_admin_registers_apps_and_registrations_are_checked() {
    let app = TestApp::with_demo().await;
    let doctor = app.token("doctor1", crate::helpers::PW).await;
    let r = app
        .post_as(
            Some(&doctor),
            "/api/v1/smart-clients",
            &json!({"name": "x", "redirect_uris": [REDIRECT], "scope": "patient/*.rs"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let admin = app.token("admin", crate::helpers::PW).await;
    let r = app
        .post_as(
            Some(&admin),
            "/api/v1/smart-clients",
            &json!({"name": "", "redirect_uris": ["http://app.example.cn/cb"], "scope": "launch"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = r.json().await.unwrap();
    let fields = crate::helpers::error_fields(&problem);
    assert_eq!(fields, ["name", "redirect_uris", "scope"]);
    app.stop().await;
}
