//! The demo's stand-in for WeChat (`/sandbox/wechat`), as the payment sandbox stands in for a
//! gateway: the demo's WeChat client calls it over HTTP exactly as it would call
//! `api.weixin.qq.com` (stable token, temporary code, `bizsend`), the code leads to a page
//! that plays the person's phone scanning it, and that page posts the signed `subscribe`
//! event to the callback as WeChat's servers would. Messages "sent" land in the demo inbox
//! (`/dev/inbox`). Outside demo mode every address here is 404.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::wechat::{self, CallbackQuery, WeChatConfig};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::AppForm;
use crate::identity::Actor;
use crate::web::PageCtx;

pub const PREFIX: &str = "/sandbox/wechat";
const APP_ID: &str = "wx-yunyi-sandbox";
const TOKEN: &str = "yunyi-sandbox-token";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sandbox/wechat/cgi-bin/stable_token", post(stable_token))
        .route("/sandbox/wechat/cgi-bin/qrcode/create", post(code))
        .route(
            "/sandbox/wechat/cgi-bin/message/subscribe/bizsend",
            post(bizsend),
        )
        .route("/sandbox/wechat/scan", get(scan_page).post(scan))
}

/// The demo's official account: this server's sandbox, a template for every event kind
/// that leaves the inbox.
pub fn config(base: &str) -> WeChatConfig {
    let templates = super::model::Event::ALL
        .into_iter()
        .filter(|e| !e.inbox_only())
        .map(|e| {
            let template = wechat::Template {
                id: format!("SANDBOX_{}", e.as_str().replace('.', "_").to_uppercase()),
                title: "thing1".to_owned(),
                body: "thing2".to_owned(),
                time: "time3".to_owned(),
            };
            (e.as_str().to_owned(), template)
        })
        .collect();
    WeChatConfig {
        api: format!("{base}{PREFIX}"),
        app_id: APP_ID.to_owned(),
        app_secret: crate::config::Secret("sandbox-secret".to_owned()),
        token: crate::config::Secret(TOKEN.to_owned()),
        aes_key: None,
        page_base: base.to_owned(),
        templates,
    }
}

fn demo_only(state: &AppState) -> AppResult<()> {
    if state.config.demo {
        Ok(())
    } else {
        Err(AppError::NotFound(
            "There is nothing at this address.".to_owned(),
        ))
    }
}

async fn stable_token(State(state): State<AppState>) -> AppResult<Json<Value>> {
    demo_only(&state)?;
    Ok(Json(
        json!({"access_token": "sandbox-access-token", "expires_in": 7200}),
    ))
}

/// A code whose address is the sandbox's "scan" page for its scene.
async fn code(
    State(state): State<AppState>,
    axum::extract::Json(body): axum::extract::Json<Value>,
) -> AppResult<Json<Value>> {
    demo_only(&state)?;
    let scene = body["action_info"]["scene"]["scene_str"]
        .as_str()
        .unwrap_or_default();
    let base = state
        .config
        .notification
        .wechat
        .as_ref()
        .map(|c| c.page_base.clone())
        .unwrap_or_default();
    let url = format!(
        "{base}{PREFIX}/scan?scene={}",
        url::form_urlencoded::byte_serialize(scene.as_bytes()).collect::<String>()
    );
    Ok(Json(
        json!({"ticket": "sandbox", "expire_seconds": 600, "url": url}),
    ))
}

/// A message "delivered" to the follower's WeChat: kept in the demo inbox.
async fn bizsend(
    State(state): State<AppState>,
    axum::extract::Json(body): axum::extract::Json<Value>,
) -> AppResult<Json<Value>> {
    demo_only(&state)?;
    if let Some(inbox) = &state.inbox {
        let value = |k: &str| {
            body["data"][k]["value"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        inbox.push(crate::identity::notify::InboxEntry {
            at: state.now_ms(),
            to: body["touser"].as_str().unwrap_or_default().to_owned(),
            kind: "wechat",
            text: format!(
                "【微信】{}：{}（{}）",
                value("thing1"),
                value("thing2"),
                value("time3")
            ),
        });
    }
    Ok(Json(json!({"errcode": 0, "errmsg": "ok"})))
}

#[derive(Deserialize)]
struct Scene {
    #[serde(default)]
    scene: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "sandbox_wechat.html")]
struct ScanPage {
    page: PageCtx,
    scene: String,
}

/// The phone's side: "follow the official account?"
async fn scan_page(
    State(state): State<AppState>,
    page: PageCtx,
    Query(q): Query<Scene>,
) -> AppResult<ScanPage> {
    demo_only(&state)?;
    Ok(ScanPage {
        page: page.with_nav("notifications"),
        scene: q.scene,
    })
}

/// Follows: posts the signed `subscribe` event with the scene to the callback, as WeChat's
/// servers do. The follower's openid is stable per signed-in demo account.
async fn scan(
    State(state): State<AppState>,
    actor: Actor,
    AppForm(form): AppForm<Scene>,
) -> AppResult<Redirect> {
    demo_only(&state)?;
    let me = actor.require()?;
    let Some(config) = state.wechat.as_ref().map(|w| w.config().clone()) else {
        return Err(AppError::NotFound("WeChat channel".to_owned()));
    };
    let openid = format!(
        "oSBX{}",
        &state
            .keys
            .token_mac(&format!("wechat-sandbox:{}", me.account_id))[..20]
    );
    let xml = format!(
        "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>\
         <EventKey><![CDATA[qrscene_{}]]></EventKey></xml>",
        config.app_id,
        state.now_ms() / 1000,
        form.scene.replace("]]>", "")
    );
    let timestamp = (state.now_ms() / 1000).to_string();
    let nonce = crate::crypto::random_token()[..10].to_owned();
    let query = CallbackQuery {
        signature: Some(wechat::signature(&[&config.token.0, &timestamp, &nonce])),
        timestamp: Some(timestamp),
        nonce: Some(nonce),
        encrypt_type: None,
        msg_signature: None,
        echostr: None,
    };
    super::channels::wechat_event(&state, &query, &xml).await?;
    Ok(Redirect::to("/notifications/preferences"))
}
