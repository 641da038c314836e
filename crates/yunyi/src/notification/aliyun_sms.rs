//! Aliyun SMS (阿里云短信服务, `dysmsapi` 2017-05-25 `SendSms`) as a
//! [`Notifier`](crate::identity::notify::Notifier).
//!
//! Carriers in China deliver only approved templates under an approved signature, so a message
//! goes as its kind's template code (configured per kind) with the template's values, not as
//! free text. Requests are signed as Aliyun's RPC API documents (signature version 1.0): the
//! parameters sorted by name and percent-encoded (RFC 3986: only `A–Z a–z 0–9 - _ . ~` stay),
//! `GET&%2F&` and that string encoded again, HMAC-SHA1 with the secret plus `&`, Base64. The
//! documented example is a unit test.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use hmac::{Hmac, Mac};

use crate::config::Secret;
use crate::identity::notify::{Message, Notifier};
use crate::jobs::BoxFuture;

/// The settings: where, who, under which signature, and the template code of each kind.
#[derive(Debug, Clone)]
pub struct AliyunSmsConfig {
    /// `https://dysmsapi.aliyuncs.com/` unless a test or proxy says otherwise.
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: Secret,
    /// The approved signature (签名), shown as 【…】 by the carrier.
    pub sign_name: String,
    /// Template code per message kind (`appointment.booked` → `SMS_123456789`).
    pub templates: HashMap<String, String>,
}

pub const DEFAULT_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com/";

pub struct AliyunSms {
    config: AliyunSmsConfig,
    client: reqwest::Client,
}

impl AliyunSms {
    pub fn new(config: AliyunSmsConfig) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Self { config, client })
    }

    /// The signed query string of one `SendSms` request.
    fn query(&self, message: &Message, nonce: &str, timestamp: &str) -> anyhow::Result<String> {
        let c = &self.config;
        let template = c.templates.get(message.kind).ok_or_else(|| {
            anyhow::anyhow!(
                "no Aliyun SMS template code is configured for {}",
                message.kind
            )
        })?;
        let params: BTreeMap<&str, String> = [
            ("AccessKeyId", c.access_key_id.clone()),
            ("Action", "SendSms".to_owned()),
            ("Format", "JSON".to_owned()),
            ("PhoneNumbers", message.to.as_str().to_owned()),
            ("RegionId", "cn-hangzhou".to_owned()),
            ("SignName", c.sign_name.clone()),
            ("SignatureMethod", "HMAC-SHA1".to_owned()),
            ("SignatureNonce", nonce.to_owned()),
            ("SignatureVersion", "1.0".to_owned()),
            ("TemplateCode", template.clone()),
            ("TemplateParam", serde_json::to_string(&message.params)?),
            ("Timestamp", timestamp.to_owned()),
            ("Version", "2017-05-25".to_owned()),
        ]
        .into();
        Ok(signed_query(&c.access_key_secret.0, &params))
    }
}

/// Percent-encoding as Aliyun's signature wants it: every byte but `A–Z a–z 0–9 - _ . ~`.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request's signature (Base64, not yet encoded) over `params`.
pub fn signature(secret: &str, params: &BTreeMap<&str, String>) -> String {
    let canonical = canonical(params);
    let to_sign = format!("GET&{}&{}", encode("/"), encode(&canonical));
    // HMAC takes a key of any length.
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn canonical(params: &BTreeMap<&str, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `Signature=…&` followed by the sorted, encoded parameters.
pub fn signed_query(secret: &str, params: &BTreeMap<&str, String>) -> String {
    format!(
        "Signature={}&{}",
        encode(&signature(secret, params)),
        canonical(params)
    )
}

/// What `SendSms` answers.
#[derive(Debug, serde::Deserialize)]
struct Answer {
    #[serde(rename = "Code")]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
}

impl Notifier for AliyunSms {
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let nonce = uuid::Uuid::new_v4().to_string();
            let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
            let query = self.query(message, &nonce, &timestamp)?;
            let url = format!("{}?{query}", self.config.endpoint);
            let answer: Answer = self
                .client
                .get(&url)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            tracing::info!(to = %message.to.masked(), kind = message.kind, code = %answer.code, "SMS sent to Aliyun");
            if answer.code == "OK" {
                Ok(())
            } else {
                // e.g. isv.BUSINESS_LIMIT_CONTROL (the carrier's own rate limit): the outbox
                // retries with backoff.
                Err(anyhow::anyhow!(
                    "Aliyun SMS refused: {} {}",
                    answer.code,
                    answer.message
                ))
            }
        })
    }
}

/// `kind=CODE,kind=CODE`: the template code of each message kind.
pub fn parse_templates(raw: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (kind, code) = pair
            .split_once('=')
            .ok_or_else(|| format!("'{pair}' is not kind=TEMPLATE_CODE"))?;
        out.insert(kind.trim().to_owned(), code.trim().to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Aliyun's documented `SendSms` example (HTTP 协议及签名): its parameters, secret
    /// `testSecret`, and the signature and URL it shows.
    #[test]
    fn signs_the_documented_example_exactly() {
        let params: BTreeMap<&str, String> = [
            ("AccessKeyId", "testId"),
            ("Action", "SendSms"),
            ("Format", "XML"),
            ("OutId", "123"),
            ("PhoneNumbers", "15300000001"),
            ("RegionId", "cn-hangzhou"),
            ("SignName", "阿里云短信测试专用"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", "SMS_71390007"),
            ("TemplateParam", r#"{"customer":"test"}"#),
            ("Timestamp", "2017-07-12T02:42:19Z"),
            ("Version", "2017-05-25"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
        assert_eq!(
            signature("testSecret", &params),
            "zJDF+Lrzhj/ThnlvIToysFRq6t4="
        );
        assert_eq!(
            signed_query("testSecret", &params),
            "Signature=zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D&AccessKeyId=testId&Action=SendSms\
             &Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou\
             &SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8\
             &SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466\
             &SignatureVersion=1.0&TemplateCode=SMS_71390007\
             &TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z\
             &Version=2017-05-25"
        );
    }

    #[test]
    fn encodes_as_rfc_3986_not_as_forms() {
        assert_eq!(encode("a b*c~d+e/"), "a%20b%2Ac~d%2Be%2F");
    }

    #[test]
    fn templates_are_kind_equals_code() {
        let t = parse_templates("appointment.booked=SMS_1, otp.login = SMS_2").unwrap_or_default();
        assert_eq!(t.get("otp.login").map(String::as_str), Some("SMS_2"));
        assert!(parse_templates("appointment.booked").is_err());
    }
}
