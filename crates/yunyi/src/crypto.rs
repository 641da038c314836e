//! Keys and primitives for personal data at rest.
//!
//! One 32-byte master key (generated into `DATA_DIR/data.key` on first start, or given as
//! base64 in `YUNYI_DATA_KEY`) derives purpose-specific subkeys with HMAC-SHA256:
//! - `enc`: AES-256-GCM for identity numbers and phone numbers;
//! - `lookup`: a keyed hash so an encrypted value can be found by equality (unique phone, log-in
//!   by phone) without decrypting every row, and without a plain hash that a dictionary of all
//!   1.4 billion ID numbers or phone numbers would reverse;
//! - `token`: MACs for CSRF tokens.
//!
//! The database records a check value of the key; starting with a different key is refused,
//! because every encrypted column would become unreadable.

use std::fmt;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub const KEY_FILE: &str = "data.key";
pub const KEY_ENV: &str = "YUNYI_DATA_KEY";
const NONCE_LEN: usize = 12;

type HmacSha256 = Hmac<Sha256>;

/// The derived keys. `Debug` never prints them.
#[derive(Clone)]
pub struct DataKeys {
    enc: [u8; 32],
    lookup: [u8; 32],
    token: [u8; 32],
    /// The secret the built-in sandbox payment gateway signs its notifications with.
    sandbox_pay: [u8; 32],
    /// The secret the built-in sandbox courier signs its tracking updates with.
    sandbox_courier: [u8; 32],
    /// The material of the VAPID key this server signs Web Push requests with.
    vapid: [u8; 32],
    check: String,
}

impl fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKeys(…)")
    }
}

fn derive(master: &[u8; 32], purpose: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

impl DataKeys {
    pub fn from_master(master: &[u8; 32]) -> Self {
        Self {
            enc: derive(master, "yunyi/v1/enc"),
            lookup: derive(master, "yunyi/v1/lookup"),
            token: derive(master, "yunyi/v1/token"),
            sandbox_pay: derive(master, "yunyi/v1/sandbox-pay"),
            sandbox_courier: derive(master, "yunyi/v1/sandbox-courier"),
            vapid: derive(master, "yunyi/v1/vapid"),
            check: hex::encode(&derive(master, "yunyi/v1/check")[..8]),
        }
    }

    /// The explicit key (base64 of 32 bytes, from `YUNYI_DATA_KEY`) when given, else
    /// `DATA_DIR/data.key`, created with mode 0600 on first start.
    pub fn load_or_create(data_dir: &Path, explicit: Option<&str>) -> anyhow::Result<Self> {
        if let Some(b64) = explicit.map(str::trim).filter(|s| !s.is_empty()) {
            return Self::from_base64(b64).with_context(|| format!("{KEY_ENV} is not valid"));
        }
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(text.trim())
                .with_context(|| format!("the key file '{}' is not valid", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut master = [0u8; 32];
                rand::fill(&mut master);
                write_private(&path, B64.encode(master).as_bytes())
                    .with_context(|| format!("cannot create the key file '{}'", path.display()))?;
                tracing::info!(path = %path.display(), "generated a new data encryption key; back it up with the database");
                Ok(Self::from_master(&master))
            }
            Err(e) => {
                Err(e).with_context(|| format!("cannot read the key file '{}'", path.display()))
            }
        }
    }

    pub fn from_base64(b64: &str) -> anyhow::Result<Self> {
        let bytes = B64.decode(b64).context("expected base64")?;
        let Ok(master) = <[u8; 32]>::try_from(bytes.as_slice()) else {
            bail!("expected 32 bytes of key material, got {}", bytes.len());
        };
        Ok(Self::from_master(&master))
    }

    /// A short public fingerprint of the key, stored in the database to detect a wrong key.
    pub fn check_value(&self) -> &str {
        &self.check
    }

    /// AES-256-GCM with a random nonce; output is nonce ‖ ciphertext ‖ tag.
    pub fn encrypt(&self, plaintext: &str) -> Vec<u8> {
        let cipher = Aes256Gcm::new((&self.enc).into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        // Encryption only fails for plaintexts over 64 GiB.
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    pub fn decrypt(&self, sealed: &[u8]) -> anyhow::Result<String> {
        if sealed.len() <= NONCE_LEN {
            bail!("ciphertext too short");
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new((&self.enc).into());
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| anyhow::anyhow!("decryption failed: wrong key or altered data"))?;
        String::from_utf8(plain).context("decrypted data is not text")
    }

    /// Keyed hash for equality look-up of an encrypted value, hex.
    pub fn lookup_hash(&self, kind: &str, value: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.lookup)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The sandbox payment gateway's signing secret (shared with itself: it is built in).
    pub fn sandbox_pay_secret(&self) -> [u8; 32] {
        self.sandbox_pay
    }

    /// The sandbox courier's signing secret (shared with itself: it is built in).
    pub fn sandbox_courier_secret(&self) -> [u8; 32] {
        self.sandbox_courier
    }

    /// The key material of this server's VAPID identity (`notification::web_push`): the same
    /// on every node, so browsers' subscriptions outlive restarts and work on any node.
    pub fn vapid_material(&self) -> [u8; 32] {
        self.vapid
    }

    /// MAC of `value` for tokens handed to browsers (CSRF), hex, 32 characters.
    pub fn token_mac(&self, value: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.token)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

/// Plain SHA-256, hex: for bearer/session tokens, which are random and long, so a keyed hash
/// adds nothing and a plain one keeps verification independent of the data key.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// A random URL-safe token with 256 bits of entropy.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex HMAC-SHA256 of `body` under `key`: how the built-in sandboxes (payment gateway,
/// courier) sign what they send.
pub fn hmac_sha256_hex(key: &[u8], body: &[u8]) -> String {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time comparison of two strings (tokens, MACs).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_round_trips_and_detects_tampering() {
        let keys = DataKeys::from_master(&[7u8; 32]);
        let sealed = keys.encrypt("11010519491231002X");
        assert!(!String::from_utf8_lossy(&sealed).contains("110105"));
        assert_eq!(
            keys.decrypt(&sealed).ok().as_deref(),
            Some("11010519491231002X")
        );
        // Same plaintext, different ciphertext (random nonce).
        assert_ne!(keys.encrypt("x"), keys.encrypt("x"));
        let mut bad = sealed.clone();
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        assert!(keys.decrypt(&bad).is_err());
        let other = DataKeys::from_master(&[8u8; 32]);
        assert!(other.decrypt(&sealed).is_err());
    }

    #[test]
    fn lookup_hashes_are_keyed_and_separated_by_kind() {
        let a = DataKeys::from_master(&[1u8; 32]);
        let b = DataKeys::from_master(&[2u8; 32]);
        assert_eq!(
            a.lookup_hash("phone", "13800138000"),
            a.lookup_hash("phone", "13800138000")
        );
        assert_ne!(
            a.lookup_hash("phone", "13800138000"),
            b.lookup_hash("phone", "13800138000")
        );
        assert_ne!(a.lookup_hash("phone", "1"), a.lookup_hash("id", "1"));
        assert_ne!(a.check_value(), b.check_value());
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("yunyi-key-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).ok();
        let first = DataKeys::load_or_create(&dir, None)
            .map(|k| k.check_value().to_owned())
            .ok();
        let second = DataKeys::load_or_create(&dir, None)
            .map(|k| k.check_value().to_owned())
            .ok();
        assert!(first.is_some());
        assert_eq!(first, second);
        std::fs::remove_dir_all(&dir).ok();
    }
}
