//! The ICE servers a browser (or app) uses to connect a video call. When the TURN server
//! shares a secret with Yunyi (coturn's `use-auth-secret` / `static-auth-secret`, the "TURN
//! REST API" scheme), each signed-in user gets credentials of limited time: the username is
//! `expiry:account`, the password base64(HMAC-SHA1(secret, username)). The TURN server checks
//! both by itself, so no long-term TURN password reaches a page and a leaked one expires.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;

use crate::config::ConsultConfig;

/// How long TURN credentials last: a page opened in the morning still connects a call in the
/// afternoon, and a credential copied out of a page is useless the next day.
pub const CREDENTIAL_TTL_SECS: i64 = 12 * 3600;

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IceServer {
    pub urls: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The configured servers for `account`, TURN ones with credentials valid until
/// `now_secs + CREDENTIAL_TTL_SECS` when a shared secret is configured.
pub fn ice_servers(config: &ConsultConfig, account: i64, now_secs: i64) -> Vec<IceServer> {
    let credential = config
        .turn_secret
        .as_ref()
        .map(|secret| turn_credential(&secret.0, account, now_secs + CREDENTIAL_TTL_SECS));
    config
        .ice_servers
        .iter()
        .map(|url| {
            let turn = url.starts_with("turn:") || url.starts_with("turns:");
            match (&credential, turn) {
                (Some((username, password)), true) => IceServer {
                    urls: url.clone(),
                    username: Some(username.clone()),
                    credential: Some(password.clone()),
                },
                _ => IceServer {
                    urls: url.clone(),
                    username: None,
                    credential: None,
                },
            }
        })
        .collect()
}

/// coturn's time-limited credential for `account` until `expires_unix` (seconds).
pub fn turn_credential(secret: &str, account: i64, expires_unix: i64) -> (String, String) {
    let username = format!("{expires_unix}:{account}");
    // HMAC accepts a key of any length; `new_from_slice` cannot fail for it.
    let password = match Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(username.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    (username, password)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn credentials_follow_coturns_rest_scheme() {
        // Reference value from Python: base64(hmac.new(b"north", b"1700000000:42", sha1)).
        let (username, password) = turn_credential("north", 42, 1_700_000_000);
        assert_eq!(username, "1700000000:42");
        assert_eq!(password, "DWX3FI7DiPIpadEYQAZsnZBAagI=");
    }

    #[test]
    fn only_turn_servers_carry_credentials_and_only_with_a_secret() {
        let mut config = ConsultConfig {
            ice_servers: vec![
                "stun:stun.example.cn:3478".to_owned(),
                "turn:turn.example.cn:3478?transport=udp".to_owned(),
                "turns:turn.example.cn:5349".to_owned(),
            ],
            turn_secret: None,
            ..ConsultConfig::default()
        };
        let plain = ice_servers(&config, 7, 1_000);
        assert!(plain.iter().all(|s| s.username.is_none()));
        config.turn_secret = Some(Secret("north".to_owned()));
        let servers = ice_servers(&config, 7, 1_000);
        assert_eq!(servers[0].username, None);
        let expected = turn_credential("north", 7, 1_000 + CREDENTIAL_TTL_SECS);
        for turn in &servers[1..] {
            assert_eq!(turn.username.as_deref(), Some(expected.0.as_str()));
            assert_eq!(turn.credential.as_deref(), Some(expected.1.as_str()));
        }
        // Another account gets another credential.
        assert_ne!(
            ice_servers(&config, 8, 1_000)[1].credential,
            servers[1].credential
        );
    }
}
