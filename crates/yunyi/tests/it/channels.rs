//! The notification channels besides SMS, each against a stand-in for its provider on this
//! machine that checks what the real one checks: Web Push to a push service that verifies
//! the VAPID token and opens the message with the browser's key (RFC 8291/8292), and WeChat
//! with its access token, scan-to-bind callback (signed as WeChat signs) and subscription
//! messages.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode as AxStatus};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use reqwest::StatusCode;
use serde_json::{Value, json};
use yunyi::jobs::Job;
use yunyi::notification::deliver::{Deliver, DeliverNotifications};
use yunyi::notification::model::{Event, Notice};
use yunyi::notification::store as nstore;
use yunyi::notification::{web_push, wechat};

use crate::booking::{Ctx, setup_with};
use crate::notifications::{account, job_ctx, notify};

/// Writes a notification as a context would and runs its delivery job `runs` times (the
/// outbox delivers at least once); its id.
async fn notify_and_deliver(ctx: &Ctx, notice: Notice, runs: usize) -> i64 {
    let id = notify(ctx, notice).await;
    let job = DeliverNotifications(ctx.app.state.clone());
    for _ in 0..runs {
        let deliver = Deliver {
            notification_id: id,
        };
        job.run(&job_ctx(ctx, 1), deliver).await.unwrap();
    }
    id
}

/// The delivery of a notification by `channel`: (status, detail), if there is one.
async fn delivery(ctx: &Ctx, id: i64, channel: &str) -> Option<(String, Option<String>)> {
    nstore::deliveries(&ctx.app.db, id)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.channel.as_str() == channel)
        .map(|d| (d.status.as_str().to_owned(), d.detail))
}

/// What the push service received: the endpoint's id and the message it opened.
type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// A push service: verifies each request's VAPID token for its own origin and opens the
/// body with the browser's key and secret, as the browser would; `gone` is an endpoint it
/// no longer knows (410).
async fn push_service(browser: p256::SecretKey, auth: [u8; 16]) -> (String, Received) {
    let received: Received = Arc::default();
    let kept = received.clone();
    let origin = Arc::new(Mutex::new(String::new()));
    let aud = origin.clone();
    let app = axum::Router::new().route(
        "/push/{id}",
        axum::routing::post(
            move |Path(id): Path<String>, headers: HeaderMap, body: axum::body::Bytes| {
                let (kept, aud, browser) = (kept.clone(), aud.clone(), browser.clone());
                async move {
                    if id == "gone" {
                        return AxStatus::GONE;
                    }
                    let header = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let now = chrono::Utc::now().timestamp();
                    let audience = aud.lock().unwrap().clone();
                    if web_push::verify_authorization(&header("authorization"), &audience, now)
                        .is_err()
                        || header("content-encoding") != "aes128gcm"
                        || header("ttl").is_empty()
                    {
                        return AxStatus::FORBIDDEN;
                    }
                    let Ok(plain) = web_push::decrypt(&browser, &auth, &body) else {
                        return AxStatus::BAD_REQUEST;
                    };
                    let message: Value = serde_json::from_slice(&plain).unwrap();
                    kept.lock().unwrap().push((id, message));
                    AxStatus::CREATED
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    *origin.lock().unwrap() = format!("http://{addr}");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), received)
}

async fn subscribe(ctx: &Ctx, token: &str, body: &Value, lang: &str) -> (StatusCode, Value) {
    let r = ctx
        .app
        .client
        .post(ctx.app.url("/api/v1/push-subscriptions"))
        .bearer_auth(token)
        .header("accept-language", lang)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn web_push_reaches_each_browser_encrypted_for_it_once_and_forgets_gone_ones() {
    let browser = web_push::secret_key_from([7; 32]);
    let auth = [3u8; 16];
    let (service, received) = push_service(browser.clone(), auth).await;
    let allowed = service.clone();
    let ctx = setup_with(move |c| {
        c.notification.push_services = vec![allowed];
        c.jobs.enabled = false;
    })
    .await;
    let token = ctx.app.token("patient1", crate::helpers::PW).await;
    let me = account(&ctx, "patient1").await;
    let p256dh = B64URL.encode(browser.public_key().to_encoded_point(false).as_bytes());
    let subscription = |endpoint: String| json!({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": B64URL.encode(auth)}});

    // What a browser cannot have sent is refused, naming the field.
    let (status, body) = subscribe(
        &ctx,
        &token,
        &json!({"endpoint": format!("{service}/push/a"), "keys": {"p256dh": "AAAA", "auth": B64URL.encode(auth)}}),
        "zh-CN",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "keys.p256dh", "{body}");
    // An address that is not a known push service: the server would post into its own network.
    let (status, body) = subscribe(
        &ctx,
        &token,
        &subscription("http://10.0.0.1/push/a".to_owned()),
        "zh-CN",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "endpoint", "{body}");

    // No browser yet: no Web Push delivery at all.
    let none = notify_and_deliver(
        &ctx,
        Notice::new(me, Event::PrescriptionApproved, "push:0").param("prescription", "40"),
        1,
    )
    .await;
    assert_eq!(delivery(&ctx, none, "webpush").await, None);

    let (status, _) = subscribe(
        &ctx,
        &token,
        &subscription(format!("{service}/push/a")),
        "en",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, channels) = ctx.get(&token, "/api/v1/notification-channels").await;
    assert_eq!(channels["browsers"], 1);
    let key = channels["push_key"].as_str().unwrap().to_owned();

    // Delivered twice (the outbox's at-least-once), pushed once, in the browser's language.
    let id = notify_and_deliver(
        &ctx,
        Notice::new(me, Event::PrescriptionApproved, "push:1").param("prescription", "41"),
        2,
    )
    .await;
    assert_eq!(delivery(&ctx, id, "webpush").await.unwrap().0, "sent");
    {
        let got = received.lock().unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        let (endpoint, message) = &got[0];
        assert_eq!(endpoint, "a");
        assert_eq!(message["link"], format!("/notifications/{id}"));
        assert_eq!(message["tag"], format!("yunyi-{id}"));
        let (title, body) = yunyi::notification::service::render(
            yunyi::web::i18n::Lang::En,
            Event::PrescriptionApproved,
            r#"{"prescription":"41"}"#,
        );
        assert_eq!(
            (message["title"].as_str(), message["body"].as_str()),
            (Some(title.as_str()), Some(body.as_str()))
        );
    }
    // The key browsers subscribe with is the one the pushes are signed with.
    assert_eq!(key, ctx.app.state.web_push.vapid().public_key());

    // A second browser the push service no longer knows: forgotten; the first still reached.
    let (status, _) = subscribe(
        &ctx,
        &token,
        &subscription(format!("{service}/push/gone")),
        "zh-CN",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let id = notify_and_deliver(
        &ctx,
        Notice::new(me, Event::PrescriptionApproved, "push:2").param("prescription", "42"),
        1,
    )
    .await;
    assert_eq!(delivery(&ctx, id, "webpush").await.unwrap().0, "sent");
    let left = nstore::push_subscriptions(&ctx.app.db, me).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].endpoint.ends_with("/push/a"));
    assert_eq!(received.lock().unwrap().len(), 2);

    // Turned off for prescriptions in the browser: skipped, not sent; SMS untouched.
    let (status, _) = ctx
        .send(
            reqwest::Method::PUT,
            &token,
            "/api/v1/notification-preferences",
            Some(json!({"items": [{"topic": "prescription", "channel": "webpush", "enabled": false}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let id = notify_and_deliver(
        &ctx,
        Notice::new(me, Event::PrescriptionApproved, "push:3").param("prescription", "43"),
        1,
    )
    .await;
    assert_eq!(
        delivery(&ctx, id, "webpush").await,
        Some(("skipped".to_owned(), Some("preference".to_owned())))
    );
    assert_eq!(delivery(&ctx, id, "sms").await.unwrap().0, "sent");
    assert_eq!(received.lock().unwrap().len(), 2);

    // Turning pushes off in the browser forgets it; someone else's endpoint is not found.
    let other = ctx.app.token("patient2", crate::helpers::PW).await;
    let r = ctx
        .app
        .client
        .delete(ctx.app.url("/api/v1/push-subscriptions"))
        .bearer_auth(&other)
        .json(&json!({"endpoint": format!("{service}/push/a")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = ctx
        .app
        .client
        .delete(ctx.app.url("/api/v1/push-subscriptions"))
        .bearer_auth(&token)
        .json(&json!({"endpoint": format!("{service}/push/a")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(
        nstore::push_subscriptions(&ctx.app.db, me)
            .await
            .unwrap()
            .is_empty()
    );
}

/// What the WeChat stand-in saw: the scenes of codes asked for, the messages sent, and the
/// token requests (their `force_refresh`).
#[derive(Default)]
struct WeChatLog {
    scenes: Vec<String>,
    sent: Vec<Value>,
    token_requests: Vec<bool>,
}

/// WeChat's API: stable tokens (a new one when forced), codes, and `bizsend`, which says the
/// first token has expired (42001) to make the client fetch another.
async fn fake_wechat() -> (String, Arc<Mutex<WeChatLog>>) {
    let log: Arc<Mutex<WeChatLog>> = Arc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let app = axum::Router::new()
        .route(
            "/cgi-bin/stable_token",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let log = l1.clone();
                async move {
                    let force = body["force_refresh"].as_bool().unwrap_or(false);
                    let mut log = log.lock().unwrap();
                    log.token_requests.push(force);
                    if body["appid"] != "wx-app" || body["secret"] != "wx-secret" {
                        return axum::Json(json!({"errcode": 40125, "errmsg": "invalid appsecret"}));
                    }
                    let token = if force { "T2" } else { "T1" };
                    axum::Json(json!({"access_token": token, "expires_in": 7200}))
                }
            }),
        )
        .route(
            "/cgi-bin/qrcode/create",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let log = l2.clone();
                async move {
                    let scene = body["action_info"]["scene"]["scene_str"].as_str().unwrap_or_default();
                    log.lock().unwrap().scenes.push(scene.to_owned());
                    axum::Json(json!({"ticket": "tk", "expire_seconds": 600, "url": "http://weixin.qq.com/q/02abc"}))
                }
            }),
        )
        .route(
            "/cgi-bin/message/subscribe/bizsend",
            axum::routing::post(move |RawQuery(q): RawQuery, axum::Json(body): axum::Json<Value>| {
                let log = l3.clone();
                async move {
                    if q.unwrap_or_default() == "access_token=T1" {
                        return axum::Json(json!({"errcode": 42001, "errmsg": "access_token expired"}));
                    }
                    log.lock().unwrap().sent.push(body);
                    axum::Json(json!({"errcode": 0, "errmsg": "ok"}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), log)
}

/// Posts an event to the callback as WeChat would: signed with the token, timestamped now.
async fn wechat_posts(ctx: &Ctx, xml: &str, token: &str, skew_s: i64) -> (StatusCode, String) {
    let timestamp = (ctx.app.state.now_ms() / 1000 + skew_s).to_string();
    let nonce = "1372623149";
    let signature = wechat::signature(&[token, &timestamp, nonce]);
    let r = ctx
        .app
        .client
        .post(ctx.app.url(&format!(
            "/api/v1/wechat/callback?signature={signature}&timestamp={timestamp}&nonce={nonce}&openid=oPatient1"
        )))
        .header("content-type", "text/xml")
        .body(xml.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

fn event_xml(event: &str, key: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_hospital]]></ToUserName><FromUserName><![CDATA[oPatient1]]></FromUserName>\
         <CreateTime>1796515200</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>"
    )
}

#[tokio::test]
async fn a_scanned_code_binds_wechat_and_messages_follow_its_template_until_unfollowed() {
    let (api, log) = fake_wechat().await;
    let ctx = setup_with(move |c| {
        c.notification.wechat = Some(wechat::WeChatConfig {
            api,
            app_id: "wx-app".to_owned(),
            app_secret: yunyi::config::Secret("wx-secret".to_owned()),
            token: yunyi::config::Secret("wx-token".to_owned()),
            aes_key: None,
            page_base: "https://yy.example-hospital.cn".to_owned(),
            templates: wechat::parse_templates(
                "prescription.approved=TPL_RX|title=thing3|time=time5",
            )
            .unwrap(),
        });
        c.jobs.enabled = false;
    })
    .await;
    let token = ctx.app.token("patient1", crate::helpers::PW).await;
    let me = account(&ctx, "patient1").await;

    // The server check WeChat makes when the URL is configured.
    let timestamp = (ctx.app.state.now_ms() / 1000).to_string();
    let signature = wechat::signature(&["wx-token", &timestamp, "42"]);
    let echo = ctx
        .app
        .get(&format!(
            "/api/v1/wechat/callback?signature={signature}&timestamp={timestamp}&nonce=42&echostr=hello"
        ))
        .await;
    assert_eq!(echo.status(), StatusCode::OK);
    assert_eq!(echo.text().await.unwrap(), "hello");

    // A code to scan, drawn for the page, holding the account's scene.
    let (status, code) = ctx
        .post(&token, "/api/v1/wechat/bind-code", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{code}");
    assert!(code["svg"].as_str().unwrap().contains("<svg"));
    assert_eq!(code["url"], "http://weixin.qq.com/q/02abc");
    let scene = log.lock().unwrap().scenes[0].clone();

    // Forged or replayed callbacks change nothing.
    let follow = event_xml("subscribe", &format!("qrscene_{scene}"));
    assert_eq!(
        wechat_posts(&ctx, &follow, "not-the-token", 0).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        wechat_posts(&ctx, &follow, "wx-token", -3600).await.0,
        StatusCode::FORBIDDEN
    );
    let forged = event_xml(
        "subscribe",
        &format!("qrscene_{}", scene.replace(&format!("b.{me}."), "b.1.")),
    );
    assert_eq!(
        wechat_posts(&ctx, &forged, "wx-token", 0).await,
        (StatusCode::OK, "success".to_owned())
    );
    assert!(
        nstore::wechat_openid(&ctx.app.db, me)
            .await
            .unwrap()
            .is_none()
    );
    // The real scan binds.
    assert_eq!(
        wechat_posts(&ctx, &follow, "wx-token", 0).await,
        (StatusCode::OK, "success".to_owned())
    );
    assert_eq!(
        nstore::wechat_openid(&ctx.app.db, me)
            .await
            .unwrap()
            .as_deref(),
        Some("oPatient1")
    );
    let (_, channels) = ctx.get(&token, "/api/v1/notification-channels").await;
    assert!(channels["wechat_bound_at"].is_i64(), "{channels}");

    // A message by the event's template, after one token refresh; twice delivered, sent once.
    let id = notify_and_deliver(
        &ctx,
        Notice::new(me, Event::PrescriptionApproved, "wechat:1").param("prescription", "51"),
        2,
    )
    .await;
    assert_eq!(delivery(&ctx, id, "wechat").await.unwrap().0, "sent");
    {
        let log = log.lock().unwrap();
        assert_eq!(log.sent.len(), 1);
        let sent = &log.sent[0];
        assert_eq!(sent["touser"], "oPatient1");
        assert_eq!(sent["template_id"], "TPL_RX");
        assert_eq!(
            sent["page"],
            format!("https://yy.example-hospital.cn/notifications/{id}")
        );
        let (title, body) = yunyi::notification::service::render(
            yunyi::web::i18n::Lang::Zh,
            Event::PrescriptionApproved,
            r#"{"prescription":"51"}"#,
        );
        assert_eq!(sent["data"]["thing3"]["value"], title);
        assert!(
            body.starts_with(
                &sent["data"]["thing2"]["value"]
                    .as_str()
                    .unwrap()
                    .replace('…', "")
            )
        );
        assert!(
            sent["data"]["time5"]["value"]
                .as_str()
                .unwrap()
                .contains('年')
        );
        assert_eq!(
            log.token_requests,
            vec![false, true],
            "one refresh after 42001"
        );
    }
    // An event kind without a template is a failure the delivery records.
    let id = notify_and_deliver(
        &ctx,
        Notice::new(me, Event::PrescriptionRejected, "wechat:2")
            .param("prescription", "52")
            .param("reason", "r"),
        0,
    )
    .await;
    let e = DeliverNotifications(ctx.app.state.clone())
        .run(
            &job_ctx(&ctx, 1),
            Deliver {
                notification_id: id,
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("template"), "{e}");
    assert!(
        delivery(&ctx, id, "wechat")
            .await
            .unwrap()
            .1
            .unwrap()
            .contains("prescription.rejected")
    );

    // Unfollowing unbinds: the next notification has no WeChat delivery.
    let leave = event_xml("unsubscribe", "");
    assert_eq!(
        wechat_posts(&ctx, &leave, "wx-token", 0).await.0,
        StatusCode::OK
    );
    assert!(
        nstore::wechat_openid(&ctx.app.db, me)
            .await
            .unwrap()
            .is_none()
    );
    // Bound and unbound, each audited in its own change's transaction.
    yunyi::audit::seal(&ctx.app.db).await.unwrap();
    let audited: Vec<(String, Option<String>)> = ctx
        .app
        .db
        .all(
            "SELECT action, reason FROM audit_event WHERE action LIKE 'notification.wechat.%' \
             AND object_id = $1 ORDER BY id",
            (me.to_string(),),
        )
        .await
        .unwrap();
    assert_eq!(
        audited,
        vec![
            (
                "notification.wechat.bind".to_owned(),
                Some("scanned the account's bind code in WeChat".to_owned())
            ),
            (
                "notification.wechat.unbind".to_owned(),
                Some("unfollowed the official account".to_owned())
            ),
        ]
    );
    let id = notify_and_deliver(
        &ctx,
        Notice::new(me, Event::PrescriptionApproved, "wechat:3").param("prescription", "53"),
        1,
    )
    .await;
    assert_eq!(delivery(&ctx, id, "wechat").await, None);
    assert_eq!(log.lock().unwrap().sent.len(), 1);
}

#[tokio::test]
async fn without_an_official_account_there_is_no_wechat_to_bind() {
    let ctx = setup_with(|c| c.jobs.enabled = false).await;
    let token = ctx.app.token("patient1", crate::helpers::PW).await;
    let (status, _) = ctx
        .post(&token, "/api/v1/wechat/bind-code", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, channels) = ctx.get(&token, "/api/v1/notification-channels").await;
    assert_eq!(channels["wechat_configured"], false);
    let r = ctx
        .app
        .get("/api/v1/wechat/callback?signature=x&timestamp=1&nonce=2&echostr=e")
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
