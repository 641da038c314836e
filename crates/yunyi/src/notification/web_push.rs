//! Web Push (RFC 8030) to the browsers people allowed: the message encrypted for the browser
//! alone (RFC 8291, the `aes128gcm` content coding of RFC 8188) and this server identified by
//! VAPID (RFC 8292), so any push service — Google's, Mozilla's, Apple's, Microsoft's — carries
//! it without an account there.
//!
//! The push service only relays bytes it cannot read. Per message: a fresh P-256 key pair and
//! salt; ECDH with the subscription's `p256dh`; `IKM = HKDF(auth, ecdh, "WebPush: info\0" ‖
//! ua_public ‖ as_public)`; key and nonce from `HKDF(salt, IKM)`; one AES-128-GCM record with
//! the `0x02` delimiter; header `salt ‖ rs ‖ idlen ‖ as_public`. RFC 8291's Appendix A example
//! is a unit test, byte for byte. The ephemeral ECDH is ring's (fast); the VAPID signature
//! p256's, reused per push service for hours.
//!
//! The VAPID key is derived from the data key (see `crypto`), so every node signs with the same
//! key and browsers' subscriptions survive restarts without another secret to manage.

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{Aead, KeyInit};
use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hkdf::Hkdf;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;

/// Records are at most this long; one record carries a whole notification.
const RECORD_SIZE: u32 = 4096;
const HEADER_LEN: usize = 16 + 4 + 1 + 65;
const TAG_LEN: usize = 16;
/// What a push service must accept (RFC 8030 §7.2: at least 4096 octets of payload).
pub const MAX_PLAINTEXT: usize = RECORD_SIZE as usize - HEADER_LEN - TAG_LEN - 1;
/// How long a VAPID token stays valid (RFC 8292 allows at most 24 hours).
const TOKEN_LIFETIME_S: i64 = 12 * 3600;

/// A browser's subscription, as `PushSubscription.toJSON()` gives it.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub endpoint: url::Url,
    /// The browser's P-256 public key, uncompressed (65 bytes).
    pub p256dh: Vec<u8>,
    /// The browser's authentication secret (16 bytes).
    pub auth: Vec<u8>,
}

impl Subscription {
    /// Checks the keys a browser sent (base64url, padded or not): what a forged or truncated
    /// subscription would get wrong. The field names are those of `PushSubscription.toJSON()`.
    pub fn parse(endpoint: &str, p256dh: &str, auth: &str) -> Result<Self, &'static str> {
        let endpoint = url::Url::parse(endpoint.trim()).map_err(|_| "endpoint")?;
        let decode = |s: &str| B64URL.decode(s.trim().trim_end_matches('='));
        let p256dh = decode(p256dh).map_err(|_| "keys.p256dh")?;
        if p256dh.len() != 65 || PublicKey::from_sec1_bytes(&p256dh).is_err() {
            return Err("keys.p256dh");
        }
        let auth = decode(auth).map_err(|_| "keys.auth")?;
        if auth.len() != 16 {
            return Err("keys.auth");
        }
        Ok(Self {
            endpoint,
            p256dh,
            auth,
        })
    }
}

/// A secret key from 32 bytes of key material; hashed again in the (2^-128) case that the
/// bytes are not a valid P-256 scalar.
pub fn secret_key_from(material: [u8; 32]) -> SecretKey {
    use sha2::Digest as _;
    let mut bytes = material;
    loop {
        if let Ok(key) = SecretKey::from_slice(&bytes) {
            return key;
        }
        bytes = Sha256::digest(bytes).into();
    }
}

fn public_bytes(key: &PublicKey) -> Vec<u8> {
    key.to_encoded_point(false).as_bytes().to_vec()
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> anyhow::Result<()> {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .map_err(|_| anyhow!("HKDF output too long"))
}

/// The content-encryption key and nonce of RFC 8291 §3.4.
fn key_and_nonce(
    ecdh: &[u8],
    auth: &[u8],
    ua_public: &[u8],
    as_public: &[u8],
    salt: &[u8],
) -> anyhow::Result<([u8; 16], [u8; 12])> {
    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(ua_public);
    key_info.extend_from_slice(as_public);
    let mut ikm = [0u8; 32];
    hkdf(auth, ecdh, &key_info, &mut ikm)?;
    let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
    hkdf(salt, &ikm, b"Content-Encoding: aes128gcm\0", &mut cek)?;
    hkdf(salt, &ikm, b"Content-Encoding: nonce\0", &mut nonce)?;
    Ok((cek, nonce))
}

/// Encrypts `plaintext` for a subscription with a fresh key pair and salt. The key pair is
/// ring's ephemeral one (it cannot be loaded from bytes, so the RFC's example goes through
/// [`encrypt_with`] and the same [`seal`]; a round trip through [`decrypt`] checks this path).
pub fn encrypt(subscription: &Subscription, plaintext: &[u8]) -> anyhow::Result<Vec<u8>> {
    use ring::agreement::{ECDH_P256, EphemeralPrivateKey, UnparsedPublicKey, agree_ephemeral};
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    let rng = ring::rand::SystemRandom::new();
    let private =
        EphemeralPrivateKey::generate(&ECDH_P256, &rng).map_err(|_| anyhow!("no ephemeral key"))?;
    let as_public = private
        .compute_public_key()
        .map_err(|_| anyhow!("no ephemeral public key"))?;
    let peer = UnparsedPublicKey::new(&ECDH_P256, &subscription.p256dh);
    let ecdh = agree_ephemeral(private, &peer, <[u8]>::to_vec)
        .map_err(|_| anyhow!("the subscription's p256dh key is not a P-256 point"))?;
    seal(
        (&ecdh, as_public.as_ref()),
        &subscription.p256dh,
        &subscription.auth,
        plaintext,
        &salt,
    )
}

/// Encrypts with a given sender key and salt: the RFC's example fixes both.
pub fn encrypt_with(
    ua_public: &[u8],
    auth: &[u8],
    plaintext: &[u8],
    as_secret: &SecretKey,
    salt: &[u8; 16],
) -> anyhow::Result<Vec<u8>> {
    let ua = PublicKey::from_sec1_bytes(ua_public).context("the subscription's p256dh key")?;
    let shared = p256::ecdh::diffie_hellman(as_secret.to_nonzero_scalar(), ua.as_affine());
    let as_public = public_bytes(&as_secret.public_key());
    let ecdh = shared.raw_secret_bytes();
    seal((ecdh, &as_public), ua_public, auth, plaintext, salt)
}

/// The record and its header, from the ECDH secret and the sender's public key.
fn seal(
    (ecdh, as_public): (&[u8], &[u8]),
    ua_public: &[u8],
    auth: &[u8],
    plaintext: &[u8],
    salt: &[u8; 16],
) -> anyhow::Result<Vec<u8>> {
    if plaintext.len() > MAX_PLAINTEXT {
        bail!(
            "a push message holds at most {MAX_PLAINTEXT} bytes, this one {}",
            plaintext.len()
        );
    }
    let (cek, nonce) = key_and_nonce(ecdh, auth, ua_public, as_public, salt)?;
    let mut record = plaintext.to_vec();
    record.push(0x02);
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|_| anyhow!("AES key length"))?;
    let sealed = cipher
        .encrypt(&nonce.into(), record.as_slice())
        .map_err(|_| anyhow!("AES-GCM encryption failed"))?;
    let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
    out.extend_from_slice(salt);
    out.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    out.push(65);
    out.extend_from_slice(as_public);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// What the browser does on receipt: for the sandbox push service and tests.
pub fn decrypt(ua_secret: &SecretKey, auth: &[u8], body: &[u8]) -> anyhow::Result<Vec<u8>> {
    if body.len() < HEADER_LEN + TAG_LEN || body[20] != 65 {
        bail!("not an aes128gcm body with a P-256 key id");
    }
    let (salt, as_public, sealed) = (&body[..16], &body[21..86], &body[86..]);
    let sender = PublicKey::from_sec1_bytes(as_public).context("the sender's key")?;
    let shared = p256::ecdh::diffie_hellman(ua_secret.to_nonzero_scalar(), sender.as_affine());
    let ua_public = public_bytes(&ua_secret.public_key());
    let (cek, nonce) = key_and_nonce(shared.raw_secret_bytes(), auth, &ua_public, as_public, salt)?;
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|_| anyhow!("AES key length"))?;
    let mut record = cipher
        .decrypt(&nonce.into(), sealed)
        .map_err(|_| anyhow!("the body does not decrypt with this key and secret"))?;
    while record.last() == Some(&0) {
        record.pop();
    }
    if record.pop() != Some(0x02) {
        bail!("the last record's delimiter is missing");
    }
    Ok(record)
}

/// This server's VAPID identity: the key it signs with and whom push services can contact.
#[derive(Clone)]
pub struct Vapid {
    key: SigningKey,
    /// `mailto:` or `https:` (RFC 8292 §2.1).
    subject: String,
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vapid")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl Vapid {
    pub fn new(secret: &SecretKey, subject: impl Into<String>) -> Self {
        Self {
            key: SigningKey::from(secret),
            subject: subject.into(),
        }
    }

    /// The public key as browsers take it (`applicationServerKey`): base64url, uncompressed.
    pub fn public_key(&self) -> String {
        B64URL.encode(self.key.verifying_key().to_encoded_point(false).as_bytes())
    }

    /// The `Authorization` header for a request to `endpoint` (RFC 8292 §3):
    /// `vapid t=<ES256 JWT>, k=<public key>`.
    pub fn authorization(&self, endpoint: &url::Url, now_s: i64) -> String {
        let header = B64URL.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": endpoint.origin().ascii_serialization(),
            "exp": now_s + TOKEN_LIFETIME_S,
            "sub": self.subject,
        });
        let claims = B64URL.encode(claims.to_string());
        let input = format!("{header}.{claims}");
        let signature: Signature = self.key.sign(input.as_bytes());
        format!(
            "vapid t={input}.{}, k={}",
            B64URL.encode(signature.to_bytes()),
            self.public_key()
        )
    }
}

/// What a push service checks of a VAPID header: the signature by the key in `k`, the
/// audience and the expiry. Returns the claims. For the sandbox push service and tests.
pub fn verify_authorization(
    header: &str,
    audience: &str,
    now_s: i64,
) -> anyhow::Result<serde_json::Value> {
    let rest = header
        .strip_prefix("vapid t=")
        .ok_or_else(|| anyhow!("not a vapid authorization"))?;
    let (jwt, key) = rest
        .split_once(", k=")
        .ok_or_else(|| anyhow!("no k= parameter"))?;
    let (input, signature) = jwt
        .rsplit_once('.')
        .ok_or_else(|| anyhow!("the token has no signature"))?;
    let key = VerifyingKey::from_sec1_bytes(&B64URL.decode(key)?).context("the k= key")?;
    let signature = Signature::from_slice(&B64URL.decode(signature)?).context("the signature")?;
    key.verify(input.as_bytes(), &signature)
        .map_err(|_| anyhow!("the signature does not verify"))?;
    let (head, claims) = input
        .split_once('.')
        .ok_or_else(|| anyhow!("the token has no claims"))?;
    let head: serde_json::Value = serde_json::from_slice(&B64URL.decode(head)?)?;
    if head["alg"] != "ES256" {
        bail!("the token is not ES256");
    }
    let claims: serde_json::Value = serde_json::from_slice(&B64URL.decode(claims)?)?;
    if claims["aud"] != audience {
        bail!("the token is for {}, not {audience}", claims["aud"]);
    }
    let exp = claims["exp"].as_i64().unwrap_or(0);
    if exp <= now_s || exp > now_s + 24 * 3600 {
        bail!("the token's expiry is not within the next 24 hours");
    }
    Ok(claims)
}

/// What became of one push.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The push service took it (201).
    Accepted,
    /// The subscription no longer exists (404, 410): forget it.
    Gone,
}

/// The push service refused the request itself (400, 401, 403, 413): sending it again will
/// not help.
#[derive(Debug, thiserror::Error)]
#[error("the push service refused the request ({0})")]
pub struct Rejected(pub u16);

/// How urgent a push is for the browser's battery (RFC 8030 §5.3).
#[derive(Debug, Clone, Copy)]
pub enum Urgency {
    Normal,
    High,
}

/// Sends pushes over HTTPS.
pub struct WebPush {
    vapid: Vapid,
    client: reqwest::Client,
    /// The `Authorization` header per push service (audience) and when it stops being used:
    /// a token is good for 12 hours, so one signature serves every push to that service for
    /// the next 11 (signing is a third of the work of a push).
    headers: std::sync::Mutex<std::collections::HashMap<String, (String, i64)>>,
}

/// How long a VAPID header is reused: an hour short of its token's expiry.
const HEADER_REUSE_S: i64 = TOKEN_LIFETIME_S - 3600;

impl WebPush {
    pub fn new(vapid: Vapid) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            vapid,
            client,
            headers: std::sync::Mutex::default(),
        })
    }

    pub fn vapid(&self) -> &Vapid {
        &self.vapid
    }

    /// The VAPID header for `endpoint`'s push service, signed again when the last one is old.
    fn authorization(&self, endpoint: &url::Url, now_s: i64) -> String {
        let audience = endpoint.origin().ascii_serialization();
        let Ok(mut headers) = self.headers.lock() else {
            return self.vapid.authorization(endpoint, now_s);
        };
        match headers.get(&audience) {
            Some((header, until)) if now_s < *until => header.clone(),
            _ => {
                let header = self.vapid.authorization(endpoint, now_s);
                headers.insert(audience, (header.clone(), now_s + HEADER_REUSE_S));
                header
            }
        }
    }

    /// One push, kept by the push service for a day if the browser is offline.
    pub async fn send(
        &self,
        subscription: &Subscription,
        payload: &[u8],
        urgency: Urgency,
        now_s: i64,
    ) -> anyhow::Result<Outcome> {
        let body = encrypt(subscription, payload)?;
        let response = self
            .client
            .post(subscription.endpoint.clone())
            .header("TTL", "86400")
            .header(
                "Urgency",
                match urgency {
                    Urgency::Normal => "normal",
                    Urgency::High => "high",
                },
            )
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header(
                "Authorization",
                self.authorization(&subscription.endpoint, now_s),
            )
            .body(body)
            .send()
            .await?;
        match response.status().as_u16() {
            200..=299 => Ok(Outcome::Accepted),
            404 | 410 => Ok(Outcome::Gone),
            // 400, 403, 413: the request is wrong and will stay wrong.
            status @ (400 | 401 | 403 | 413) => Err(Rejected(status).into()),
            // 429 and 5xx: the outbox retries with backoff.
            status => bail!("the push service answered {status}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Vec<u8> {
        B64URL
            .decode(s.replace([' ', '\n'], ""))
            .unwrap_or_default()
    }

    fn key(s: &str) -> SecretKey {
        let bytes: [u8; 32] = d(s).try_into().unwrap_or([1; 32]);
        secret_key_from(bytes)
    }

    // RFC 8291, Appendix A ("Intermediate Values for Encryption"), copied from the RFC.
    const PLAINTEXT: &str = "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24";
    const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    const AS_PUBLIC: &str =
        "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    const UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const ECDH: &str = "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs";
    const CEK: &str = "oIhVW04MRdy2XN9CiKLxTg";
    const NONCE: &str = "4h_95klXJ5E_qnoN";
    const BODY: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml
        mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT
        pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    #[test]
    fn encrypts_rfc_8291_s_example_byte_for_byte() {
        let as_secret = key(AS_PRIVATE);
        assert_eq!(public_bytes(&as_secret.public_key()), d(AS_PUBLIC));
        let salt: [u8; 16] = d(SALT).try_into().unwrap_or_default();
        let body = encrypt_with(&d(UA_PUBLIC), &d(AUTH), &d(PLAINTEXT), &as_secret, &salt);
        assert_eq!(
            body.ok().map(|b| B64URL.encode(b)),
            Some(BODY.replace([' ', '\n'], ""))
        );
    }

    #[test]
    fn derives_the_example_s_intermediate_values() {
        let ua = PublicKey::from_sec1_bytes(&d(UA_PUBLIC)).ok();
        let shared = ua.map(|ua| {
            p256::ecdh::diffie_hellman(key(AS_PRIVATE).to_nonzero_scalar(), ua.as_affine())
        });
        let ecdh = shared
            .map(|s| s.raw_secret_bytes().to_vec())
            .unwrap_or_default();
        assert_eq!(B64URL.encode(&ecdh), ECDH);
        let (cek, nonce) = key_and_nonce(&ecdh, &d(AUTH), &d(UA_PUBLIC), &d(AS_PUBLIC), &d(SALT))
            .unwrap_or_default();
        assert_eq!(
            (B64URL.encode(cek), B64URL.encode(nonce)),
            (CEK.into(), NONCE.into())
        );
    }

    #[test]
    fn the_browser_s_key_opens_the_example_and_a_fresh_message() {
        let ua = key(UA_PRIVATE);
        let opened = decrypt(&ua, &d(AUTH), &d(BODY)).unwrap_or_default();
        assert_eq!(opened, d(PLAINTEXT));
        let sub = Subscription::parse("https://push.example.net/x", UA_PUBLIC, AUTH);
        let sub = sub.unwrap_or_else(|e| panic!("{e}"));
        let body = encrypt(&sub, "云医：医生已接诊".as_bytes()).unwrap_or_default();
        assert_eq!(
            decrypt(&ua, &d(AUTH), &body).unwrap_or_default(),
            "云医：医生已接诊".as_bytes()
        );
        // Another browser's secret does not open it.
        assert!(decrypt(&ua, &[7u8; 16], &body).is_err());
    }

    #[test]
    fn subscriptions_with_wrong_keys_are_refused_naming_the_field() {
        assert_eq!(
            Subscription::parse("not a url", UA_PUBLIC, AUTH).err(),
            Some("endpoint")
        );
        assert_eq!(
            Subscription::parse("https://p.example/x", AUTH, AUTH).err(),
            Some("keys.p256dh")
        );
        assert_eq!(
            Subscription::parse("https://p.example/x", UA_PUBLIC, SALT)
                .ok()
                .map(|s| s.auth.len()),
            Some(16)
        );
        assert_eq!(
            Subscription::parse("https://p.example/x", UA_PUBLIC, "AAAA").err(),
            Some("keys.auth")
        );
    }

    #[test]
    fn vapid_tokens_verify_for_the_endpoint_s_origin_only() {
        let vapid = Vapid::new(&key(AS_PRIVATE), "mailto:ops@yunyi.example");
        assert_eq!(vapid.public_key(), AS_PUBLIC);
        let endpoint = url::Url::parse("https://fcm.googleapis.com/fcm/send/abc:def").ok();
        let endpoint = endpoint.unwrap_or_else(|| panic!("url"));
        let now = 1_796_515_200;
        let header = vapid.authorization(&endpoint, now);
        assert!(
            header.starts_with("vapid t=eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9."),
            "{header}"
        );
        assert!(header.ends_with(&format!(", k={AS_PUBLIC}")));
        let claims = verify_authorization(&header, "https://fcm.googleapis.com", now);
        let claims = claims.unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(claims["sub"], "mailto:ops@yunyi.example");
        assert_eq!(claims["exp"], now + TOKEN_LIFETIME_S);
        assert!(
            verify_authorization(&header, "https://updates.push.services.mozilla.com", now)
                .is_err()
        );
        assert!(
            verify_authorization(&header, "https://fcm.googleapis.com", now + 13 * 3600).is_err()
        );
        // A token altered in transit does not verify.
        let forged = header.replacen("vapid t=eyJ0", "vapid t=eyJ1", 1);
        assert!(verify_authorization(&forged, "https://fcm.googleapis.com", now).is_err());
    }

    /// RFC 8292 §2.4's example token, checked with the example's public key: the verifier
    /// reads a token as the RFC writes one.
    #[test]
    fn verifies_rfc_8292_s_example_signature() {
        let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE0NTM1MjM3NjgsInN1YiI6Im1haWx0bzpwdXNoQGV4YW1wbGUuY29tIn0.i3CYb7t4xfxCDquptFOepC9GAu_HLGkMlMuCGSK2rpiUfnK9ojFwDXb1JrErtmysazNjjvW2L9OkSSHzvoD1oA";
        let k = "BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs";
        let claims = verify_authorization(
            &format!("vapid t={jwt}, k={k}"),
            "https://push.example.net",
            1_453_523_768 - 60,
        );
        let claims = claims.unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(claims["sub"], "mailto:push@example.com");
    }
}
