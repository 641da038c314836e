//! OpenID Connect for SMART apps (`openid fhirUser`): the id_token, signed RS256 with a key
//! kept sealed in the database, and the JWKS that publishes its public half.

use std::sync::Arc;

use base64::Engine as _;
use rsa::pkcs1v15::SigningKey as Pkcs1Signer;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};

use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::{AppError, AppResult};

/// How long an id_token is good for: it only proves a sign-in that just happened.
pub const ID_TOKEN_TTL_SECS: i64 = 300;
const KEY_BITS: usize = 2048;

/// The key every node signs with.
pub struct Signing {
    pub kid: String,
    key: RsaPrivateKey,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A key's id: the start of the SHA-256 of its modulus.
fn kid_of(public: &RsaPublicKey) -> String {
    b64(&Sha256::digest(public.n().to_bytes_be()))[..16].to_owned()
}

/// The signing key: the oldest in the database, made (and stored sealed) when there is none.
/// Two nodes that make one at once each store theirs and both then use the oldest.
pub async fn signing(state: &AppState) -> AppResult<Arc<Signing>> {
    state
        .oidc_key
        .get_or_try_init(|| async {
            if let Some(found) = load(state).await? {
                return Ok(Arc::new(found));
            }
            let key = tokio::task::spawn_blocking(|| {
                RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)
            })
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("key generation stopped: {e}")))?
            .map_err(|e| AppError::Internal(anyhow::anyhow!("key generation failed: {e}")))?;
            let der = key
                .to_pkcs8_der()
                .map_err(|e| AppError::Internal(anyhow::anyhow!("key encoding failed: {e}")))?;
            let sealed = state.keys.encrypt(&b64(der.as_bytes()));
            super::store::insert_signing_key(
                &state.db,
                &kid_of(&key.to_public_key()),
                &sealed,
                state.now_ms(),
            )
            .await?;
            load(state).await?.map(Arc::new).ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("the signing key just stored is missing"))
            })
        })
        .await
        .cloned()
}

async fn load(state: &AppState) -> AppResult<Option<Signing>> {
    let Some((kid, sealed)) = super::store::oldest_signing_key(&state.db).await? else {
        return Ok(None);
    };
    let der = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(state.keys.decrypt(&sealed).map_err(AppError::Internal)?)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored signing key: {e}")))?;
    let key = RsaPrivateKey::from_pkcs8_der(&der)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored signing key: {e}")))?;
    Ok(Some(Signing { kid, key }))
}

impl Signing {
    /// A compact JWS (RS256) of `claims`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signer = Pkcs1Signer::<Sha256>::new(self.key.clone());
        let signature = signer.sign(input.as_bytes()).to_vec();
        format!("{input}.{}", b64(&signature))
    }

    /// The public key, as the keys of a JWK Set.
    pub fn jwks(&self) -> Vec<std::collections::BTreeMap<String, String>> {
        let public = self.key.to_public_key();
        let jwk = [
            ("kty", "RSA".to_owned()),
            ("use", "sig".to_owned()),
            ("alg", "RS256".to_owned()),
            ("kid", self.kid.clone()),
            ("n", b64(&public.n().to_bytes_be())),
            ("e", b64(&public.e().to_bytes_be())),
        ];
        vec![jwk.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()]
    }
}
