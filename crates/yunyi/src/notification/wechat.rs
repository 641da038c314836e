//! WeChat official-account (微信公众号) subscription messages (`message/subscribe/bizsend`), and
//! the scan-to-bind flow that ties a follower (their `openid`) to a Yunyi account.
//!
//! - **Access token**: `cgi-bin/stable_token`, kept until five minutes before it expires and
//!   fetched again when WeChat says it is invalid (40001, 40014, 42001). The stable token is
//!   the same for every caller until it expires, so two nodes do not invalidate each other's.
//! - **Binding**: the account's page asks for a temporary code (`qrcode/create`,
//!   `QR_STR_SCENE`) whose scene names the account with a MAC and an expiry; the person scans
//!   it in WeChat and WeChat posts a `subscribe` (new follower) or `SCAN` event to
//!   `/wechat/callback`, checked by its signature: SHA-1 of the sorted token, timestamp and
//!   nonce (and, in safe mode, the encrypted body — WeChat's `WXBizMsgCrypt` sample is a unit
//!   test). An `unsubscribe` unbinds.
//! - **Messages**: each event kind has a template chosen by the hospital in its WeChat
//!   back-office; its keyword names are configured with it (a title, a body of at most 20
//!   characters — the `thing` limit — and a time).

use std::collections::HashMap;

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::store::NotificationRow;
use crate::app::AppState;
use crate::config::Secret;
use crate::web::i18n::Lang;

pub const DEFAULT_API: &str = "https://api.weixin.qq.com";

/// One event kind's subscription-message template and the names of its keywords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub id: String,
    pub title: String,
    pub body: String,
    pub time: String,
}

/// The settings of the hospital's official account.
#[derive(Debug, Clone)]
pub struct WeChatConfig {
    /// `https://api.weixin.qq.com` unless a test or proxy says otherwise.
    pub api: String,
    pub app_id: String,
    pub app_secret: Secret,
    /// The token of the server configuration (服务器配置 → 令牌) that signs callbacks.
    pub token: Secret,
    /// The EncodingAESKey, in safe mode (安全模式): callbacks arrive encrypted.
    pub aes_key: Option<Secret>,
    /// Where patients open Yunyi (`https://…`): a message's link starts here.
    pub page_base: String,
    /// The template of each event kind; kinds without one are not sent by WeChat.
    pub templates: HashMap<String, Template>,
}

/// `event=TEMPLATE_ID` pairs separated by commas, each optionally followed by the keyword
/// names, e.g. `consultation.accepted=AbC|title=thing3|body=thing5|time=time2`. Unnamed
/// keywords are `thing1`, `thing2` and `time3`.
pub fn parse_templates(raw: &str) -> Result<HashMap<String, Template>, String> {
    let mut out = HashMap::new();
    for item in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut parts = item.split('|').map(str::trim);
        let (event, id) = parts
            .next()
            .and_then(|p| p.split_once('='))
            .ok_or_else(|| format!("'{item}' is not event=TEMPLATE_ID"))?;
        let mut template = Template {
            id: id.trim().to_owned(),
            title: "thing1".to_owned(),
            body: "thing2".to_owned(),
            time: "time3".to_owned(),
        };
        for part in parts {
            let (name, keyword) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not title=, body= or time="))?;
            let slot = match name.trim() {
                "title" => &mut template.title,
                "body" => &mut template.body,
                "time" => &mut template.time,
                other => return Err(format!("'{other}' is not title, body or time")),
            };
            keyword.trim().clone_into(slot);
        }
        if template.id.is_empty() {
            return Err(format!("'{item}' has no template id"));
        }
        out.insert(event.trim().to_owned(), template);
    }
    Ok(out)
}

/// An access token and when it must be fetched again.
struct Token {
    value: String,
    renew_at: std::time::Instant,
}

pub struct WeChat {
    config: WeChatConfig,
    client: reqwest::Client,
    token: tokio::sync::Mutex<Option<Token>>,
}

/// WeChat's answer to a call that fails: its error code and message.
#[derive(Debug, thiserror::Error)]
#[error("WeChat refused: {code} {message}")]
pub struct Refused {
    pub code: i64,
    pub message: String,
}

impl Refused {
    /// Sending again will not help: the follower refused this template (43101), is not a
    /// follower (43004), the openid is not this account's (40003), or the template id is
    /// wrong (40037, a configuration error).
    pub fn is_permanent(&self) -> bool {
        matches!(self.code, 43101 | 43004 | 40003 | 40037)
    }

    /// The follower is gone (unfollowed, or the openid is not one of this account's): the
    /// binding is of no use any more. A refused template is not this: other templates may
    /// still reach them.
    pub fn follower_gone(&self) -> bool {
        matches!(self.code, 43004 | 40003)
    }
}

/// The access token is invalid, malformed or expired.
const TOKEN_ERRORS: [i64; 3] = [40001, 40014, 42001];

impl WeChat {
    pub fn new(config: WeChatConfig) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Self {
            config,
            client,
            token: tokio::sync::Mutex::new(None),
        })
    }

    pub fn config(&self) -> &WeChatConfig {
        &self.config
    }

    async fn access_token(&self, force: bool) -> anyhow::Result<String> {
        let mut held = self.token.lock().await;
        if let Some(token) = held.as_ref().filter(|t| !force && t.renew_at > now()) {
            return Ok(token.value.clone());
        }
        let c = &self.config;
        let answer: Value = self
            .client
            .post(format!("{}/cgi-bin/stable_token", c.api))
            .json(&json!({
                "grant_type": "client_credential",
                "appid": c.app_id,
                "secret": c.app_secret.0,
                "force_refresh": force,
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        refused(&answer)?;
        let value = answer["access_token"]
            .as_str()
            .ok_or_else(|| anyhow!("WeChat's token answer has no access_token"))?
            .to_owned();
        let lifetime = answer["expires_in"].as_u64().unwrap_or(7200);
        let renew_at = now() + std::time::Duration::from_secs(lifetime.saturating_sub(300));
        *held = Some(Token {
            value: value.clone(),
            renew_at,
        });
        Ok(value)
    }

    /// POSTs `body` to an API with the access token; fetches a new token once when WeChat
    /// says this one is no longer valid.
    async fn call(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let mut force = false;
        loop {
            let token = self.access_token(force).await?;
            let answer: Value = self
                .client
                .post(format!("{}{path}", self.config.api))
                .query(&[("access_token", token)])
                .json(body)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            match refused(&answer) {
                Err(e) if !force && TOKEN_ERRORS.contains(&e.code) => force = true,
                Err(e) => return Err(e.into()),
                Ok(()) => return Ok(answer),
            }
        }
    }

    /// A temporary code for `scene` (`QR_STR_SCENE`); what to draw as the QR code.
    pub async fn bind_code(&self, scene: &str, expire_s: i64) -> anyhow::Result<String> {
        let answer = self
            .call(
                "/cgi-bin/qrcode/create",
                &json!({
                    "expire_seconds": expire_s,
                    "action_name": "QR_STR_SCENE",
                    "action_info": { "scene": { "scene_str": scene } },
                }),
            )
            .await?;
        answer["url"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("WeChat's code answer has no url"))
    }

    /// One subscription message to a follower.
    pub async fn send(
        &self,
        openid: &str,
        template: &Template,
        page: &str,
        (title, body, time): (&str, &str, &str),
    ) -> anyhow::Result<()> {
        let mut data = serde_json::Map::new();
        for (keyword, value) in [
            (&template.title, title),
            (&template.body, body),
            (&template.time, time),
        ] {
            data.insert(keyword.clone(), json!({ "value": value }));
        }
        self.call(
            "/cgi-bin/message/subscribe/bizsend",
            &json!({
                "touser": openid,
                "template_id": template.id,
                "page": page,
                "data": data,
            }),
        )
        .await
        .map(|_| ())
    }
}

fn now() -> std::time::Instant {
    std::time::Instant::now()
}

fn refused(answer: &Value) -> Result<(), Refused> {
    match answer["errcode"].as_i64().unwrap_or(0) {
        0 => Ok(()),
        code => Err(Refused {
            code,
            message: answer["errmsg"].as_str().unwrap_or_default().to_owned(),
        }),
    }
}

/// WeChat's signature: SHA-1 (hex) of the parts sorted and joined.
pub fn signature(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    hex::encode(Sha1::digest(sorted.concat().as_bytes()))
}

/// A `thing` keyword holds at most 20 characters.
fn thing(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 20 {
        return text.to_owned();
    }
    let mut out: String = chars[..19].iter().collect();
    out.push('…');
    out
}

/// Sends a notification to a follower by its event's template (Chinese: WeChat's templates
/// are approved in Chinese). An event without a template is not sent by WeChat.
pub async fn send(
    state: &AppState,
    wechat: &WeChat,
    n: &NotificationRow,
    openid: &str,
) -> anyhow::Result<()> {
    let template = wechat
        .config
        .templates
        .get(n.event.as_str())
        .ok_or_else(|| anyhow!("no WeChat template is configured for {}", n.event))?;
    let (title, body) = super::service::render(Lang::Zh, n.event, &n.params);
    let page = format!(
        "{}/notifications/{}",
        wechat.config.page_base.trim_end_matches('/'),
        n.id
    );
    // The `time` keyword's documented form: 2026年12月07日 09:00.
    let time = chrono::DateTime::from_timestamp_millis(n.created_at)
        .map(|t| {
            let t = t.with_timezone(&crate::time::cst());
            t.format("%Y年%m月%d日 %H:%M").to_string()
        })
        .unwrap_or_default();
    let sent = wechat
        .send(
            openid,
            template,
            &page,
            (&thing(&title), &thing(&body), &time),
        )
        .await;
    if let Err(e) = &sent {
        if e.downcast_ref::<Refused>()
            .is_some_and(Refused::is_permanent)
        {
            // The follower let go: forget them, so nothing more is tried.
            super::channels::forget_wechat(
                state,
                (None, Some(openid)),
                crate::audit::AuditActor::system(),
                Some("WeChat refused the message: the follower is gone"),
            )
            .await?;
        }
    }
    sent
}

/// The query WeChat adds to every callback.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    pub signature: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    /// `aes` in safe mode, with `msg_signature` over the encrypted body.
    pub encrypt_type: Option<String>,
    pub msg_signature: Option<String>,
    /// The server check (GET): echoed when the signature holds.
    pub echostr: Option<String>,
}

/// A message or event WeChat posts (only the fields Yunyi reads).
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Inbound {
    #[serde(rename = "ToUserName", default)]
    pub to: String,
    #[serde(rename = "FromUserName", default)]
    pub from: String,
    #[serde(rename = "MsgType", default)]
    pub msg_type: String,
    #[serde(rename = "Event", default)]
    pub event: String,
    #[serde(rename = "EventKey", default)]
    pub event_key: String,
    /// In safe mode, the whole message, encrypted.
    #[serde(rename = "Encrypt", default)]
    pub encrypt: String,
}

pub fn parse(xml: &str) -> anyhow::Result<Inbound> {
    quick_xml::de::from_str(xml).context("the callback is not WeChat's XML")
}

/// Opens a safe-mode message: AES-256-CBC with the EncodingAESKey (IV: its first 16 bytes),
/// padded to 32 bytes; inside, 16 random bytes, the length, the message and the app id.
pub fn decrypt(aes_key: &str, encrypted: &str, app_id: &str) -> anyhow::Result<String> {
    // WeChat's keys leave the last character's spare bits set: decode leniently.
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let key = lenient
        .decode(format!("{aes_key}="))
        .context("the EncodingAESKey is not base64")?;
    if key.len() != 32 {
        bail!("the EncodingAESKey is not 43 characters");
    }
    let mut data = B64.decode(encrypted).context("Encrypt is not base64")?;
    let plain = cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &key[..16])
        .map_err(|_| anyhow!("key length"))?
        .decrypt_padded_mut::<NoPadding>(&mut data)
        .map_err(|_| anyhow!("Encrypt is not whole blocks"))?;
    let pad = usize::from(*plain.last().unwrap_or(&0));
    if !(1..=32).contains(&pad) || plain.len() < 20 + pad {
        bail!("the decrypted message's padding is wrong");
    }
    let content = &plain[16..plain.len() - pad];
    let len = u32::from_be_bytes([content[0], content[1], content[2], content[3]]) as usize;
    let (message, id) = content[4..]
        .split_at_checked(len)
        .ok_or_else(|| anyhow!("the decrypted message's length is wrong"))?;
    if id != app_id.as_bytes() {
        bail!("the message is for another app");
    }
    String::from_utf8(message.to_vec()).context("the message is not UTF-8")
}

/// The scene of an account's bind code: `b.<account>.<expiry s>.<mac>` (under WeChat's 64).
pub fn scene(keys: &crate::crypto::DataKeys, account: i64, expires_s: i64) -> String {
    let unsigned = format!("b.{account}.{expires_s}");
    let mac = keys.token_mac(&format!("wechat-bind:{unsigned}"));
    format!("{unsigned}.{}", &mac[..16])
}

/// The account a scanned scene binds, if its MAC holds and it has not expired.
pub fn account_of(keys: &crate::crypto::DataKeys, scene: &str, now_s: i64) -> Option<i64> {
    let (unsigned, mac) = scene.rsplit_once('.')?;
    let mut parts = unsigned.split('.');
    let (b, account, expires) = (parts.next()?, parts.next()?, parts.next()?);
    let (account, expires): (i64, i64) = (account.parse().ok()?, expires.parse().ok()?);
    let expected = keys.token_mac(&format!("wechat-bind:{unsigned}"));
    let fresh = b == "b" && parts.next().is_none() && expires >= now_s;
    (fresh && crate::crypto::constant_time_eq(mac, &expected[..16])).then_some(account)
}

/// The code to scan, as an SVG picture.
pub fn qr_svg(url: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).context("the bind address does not fit")?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    // Inline in a page: without the XML declaration.
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_owned(),
        None => svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WeChat's `WXBizMsgCrypt` sample (the official one every SDK copies): token, timestamp,
    /// nonce, the encrypted body, the signature it shows, and what the body says inside.
    const TOKEN: &str = "QDG6eK";
    const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    const APP_ID: &str = "wx5823bf96d3bd56c7";
    const ENCRYPT: &str = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";

    #[test]
    fn signs_wechat_s_sample_exactly() {
        assert_eq!(
            signature(&[TOKEN, "1409659813", "1372623149", ENCRYPT]),
            "477715d11cdb4164915debcba66cb864d751f3e6"
        );
        // Order does not matter: the parts are sorted.
        assert_eq!(
            signature(&["b", "a", "c"]),
            hex::encode(Sha1::digest(b"abc"))
        );
    }

    #[test]
    fn opens_wechat_s_sample_message() {
        let xml = decrypt(AES_KEY, ENCRYPT, APP_ID).unwrap_or_else(|e| panic!("{e:#}"));
        let message = parse(&xml).unwrap_or_default();
        assert_eq!(message.to, APP_ID);
        assert_eq!(message.from, "mycreate");
        assert_eq!(message.msg_type, "text");
        assert!(decrypt(AES_KEY, ENCRYPT, "wx0000000000000000").is_err());
    }

    #[test]
    fn reads_a_scan_event() {
        let xml = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oAbC]]></FromUserName>\
                   <CreateTime>1796515200</CreateTime><MsgType><![CDATA[event]]></MsgType>\
                   <Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_b.7.99.x]]></EventKey>\
                   <Ticket><![CDATA[t]]></Ticket></xml>";
        let e = parse(xml).unwrap_or_default();
        assert_eq!((e.from.as_str(), e.event.as_str()), ("oAbC", "subscribe"));
        assert_eq!(e.event_key, "qrscene_b.7.99.x");
        assert!(parse("not xml <").is_err() || parse("not xml <").is_ok_and(|e| e.from.is_empty()));
    }

    #[test]
    fn scenes_bind_their_account_until_they_expire() {
        let keys = crate::crypto::DataKeys::from_master(&[9; 32]);
        let s = scene(&keys, 42, 1000);
        assert!(s.len() <= 64, "{s}");
        assert_eq!(account_of(&keys, &s, 999), Some(42));
        assert_eq!(account_of(&keys, &s, 1001), None);
        assert_eq!(account_of(&keys, &s.replace("b.42.", "b.43."), 999), None);
        let other = crate::crypto::DataKeys::from_master(&[8; 32]);
        assert_eq!(account_of(&other, &s, 999), None);
    }

    #[test]
    fn templates_name_their_keywords() {
        let t = parse_templates(
            "consultation.accepted=AbC|title=thing3|time=time2, parcel.dispatched=XyZ",
        )
        .unwrap_or_default();
        let a = &t["consultation.accepted"];
        assert_eq!(
            (
                a.id.as_str(),
                a.title.as_str(),
                a.body.as_str(),
                a.time.as_str()
            ),
            ("AbC", "thing3", "thing2", "time2")
        );
        assert_eq!(t["parcel.dispatched"].title, "thing1");
        assert!(parse_templates("consultation.accepted").is_err());
        assert!(parse_templates("a=B|colour=thing1").is_err());
    }

    #[test]
    fn a_refused_template_keeps_the_follower_an_unfollow_does_not() {
        let refused = |code| Refused {
            code,
            message: String::new(),
        };
        assert!(refused(43101).is_permanent() && !refused(43101).follower_gone());
        assert!(refused(40037).is_permanent() && !refused(40037).follower_gone());
        assert!(refused(43004).is_permanent() && refused(43004).follower_gone());
        // Busy or a bad token: retried.
        assert!(!refused(45009).is_permanent() && !refused(-1).is_permanent());
    }

    #[test]
    fn things_are_cut_at_twenty_characters() {
        assert_eq!(thing("医生已接诊"), "医生已接诊");
        let long = "一二三四五六七八九十一二三四五六七八九十一";
        assert_eq!(thing(long).chars().count(), 20);
        assert!(thing(long).ends_with('…'));
    }
}
