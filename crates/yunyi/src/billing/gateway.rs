//! Payment gateways behind one trait, and the built-in sandbox: a hosted page where the payer
//! approves or declines, after which the gateway sends an HMAC-SHA256-signed notification, as
//! WeChat Pay or Alipay do. Yunyi trusts a notification only when its signature verifies.

use serde::{Deserialize, Serialize};

use crate::jobs::BoxFuture;

/// What a gateway tells Yunyi about a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    /// The gateway's own transaction id: the key that makes notifications idempotent.
    pub gateway_txn: String,
    pub order_id: i64,
    /// `paid` or `declined`.
    pub event: String,
    pub amount_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    BadSignature,
    Malformed(String),
    Refused(String),
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GatewayError::BadSignature => {
                f.write_str("the notification's signature does not verify")
            }
            GatewayError::Malformed(why) => write!(f, "the notification is not understood: {why}"),
            GatewayError::Refused(why) => write!(f, "the gateway refused: {why}"),
        }
    }
}

pub trait PaymentGateway: Send + Sync {
    fn name(&self) -> &'static str;
    /// Where the payer goes to pay order `order_id`.
    fn checkout_url(&self, order_id: i64) -> String;
    /// Checks the signature of a notification body and reads it.
    fn verify(&self, body: &[u8], signature: &str) -> Result<Notification, GatewayError>;
    /// Returns `amount_fen` of a paid transaction; the gateway's reference for the refund.
    fn refund<'a>(
        &'a self,
        gateway_txn: &'a str,
        amount_fen: i64,
    ) -> BoxFuture<'a, Result<String, GatewayError>>;
}

/// The built-in sandbox gateway: the payer's choice on `/sandbox/pay/{order}` becomes a signed
/// notification; refunds always succeed.
pub struct SandboxGateway {
    secret: [u8; 32],
}

impl SandboxGateway {
    pub fn new(secret: [u8; 32]) -> Self {
        Self { secret }
    }

    /// The signature the sandbox puts on `body` (hex HMAC-SHA256).
    pub fn sign(&self, body: &[u8]) -> String {
        crate::crypto::hmac_sha256_hex(&self.secret, body)
    }

    /// A notification as the sandbox sends it: the JSON body and its signature.
    pub fn notification(&self, n: &Notification) -> (Vec<u8>, String) {
        let body = serde_json::to_vec(n).unwrap_or_default();
        let signature = self.sign(&body);
        (body, signature)
    }
}

impl PaymentGateway for SandboxGateway {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn checkout_url(&self, order_id: i64) -> String {
        format!("/sandbox/pay/{order_id}")
    }

    fn verify(&self, body: &[u8], signature: &str) -> Result<Notification, GatewayError> {
        if !crate::crypto::constant_time_eq(&self.sign(body), signature.trim()) {
            return Err(GatewayError::BadSignature);
        }
        let n: Notification =
            serde_json::from_slice(body).map_err(|e| GatewayError::Malformed(e.to_string()))?;
        if !matches!(n.event.as_str(), "paid" | "declined") || n.gateway_txn.is_empty() {
            return Err(GatewayError::Malformed(format!("event {}", n.event)));
        }
        Ok(n)
    }

    fn refund<'a>(
        &'a self,
        gateway_txn: &'a str,
        amount_fen: i64,
    ) -> BoxFuture<'a, Result<String, GatewayError>> {
        Box::pin(async move {
            if amount_fen <= 0 {
                return Err(GatewayError::Refused("nothing to refund".to_owned()));
            }
            Ok(format!(
                "sandbox-refund-{gateway_txn}-{}",
                crate::crypto::random_token()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_correctly_signed_notification_is_read() {
        let gateway = SandboxGateway::new([7; 32]);
        let n = Notification {
            gateway_txn: "T1".into(),
            order_id: 3,
            event: "paid".into(),
            amount_fen: 3250,
        };
        let (body, signature) = gateway.notification(&n);
        assert_eq!(gateway.verify(&body, &signature), Ok(n));
        let mut tampered = body.clone();
        let at = tampered.len() - 3;
        tampered[at] = b'9';
        assert_eq!(
            gateway.verify(&tampered, &signature),
            Err(GatewayError::BadSignature)
        );
        let other = SandboxGateway::new([8; 32]);
        assert_eq!(
            other.verify(&body, &signature),
            Err(GatewayError::BadSignature)
        );
    }
}
