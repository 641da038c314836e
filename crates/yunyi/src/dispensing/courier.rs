//! Couriers behind one trait, and the built-in sandbox courier: the pharmacy books a parcel
//! and gets a tracking number; the courier then reports each step (picked up, in transit,
//! delivered, failed) with an HMAC-SHA256-signed update, as SF Express or JD Logistics push
//! their route notifications. Yunyi trusts an update only when its signature verifies.

use serde::{Deserialize, Serialize};

use super::model::Move;
use crate::jobs::BoxFuture;

/// What the pharmacy hands over: enough for the courier to collect and deliver.
#[derive(Debug, Clone)]
pub struct Shipment {
    pub fulfilment_id: i64,
    /// The pharmacy's name and address.
    pub from: String,
    /// Province, city and district (the street stays with Yunyi until the label is printed).
    pub to_region: String,
}

/// A step the courier reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrackingUpdate {
    /// The courier's id for this update: what makes updates idempotent.
    pub update_id: String,
    pub tracking_no: String,
    /// `picked_up`, `in_transit`, `delivered` or `failed`.
    pub event: String,
    /// What the courier says (e.g. why it failed).
    #[serde(default)]
    pub note: Option<String>,
}

impl TrackingUpdate {
    /// The fulfilment move this update asks for.
    pub fn to_move(&self) -> Option<Move> {
        match self.event.as_str() {
            "picked_up" => Some(Move::PickUp),
            "in_transit" => Some(Move::Transit),
            "delivered" => Some(Move::Deliver),
            "failed" => Some(Move::Fail),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CourierError {
    BadSignature,
    Malformed(String),
    Refused(String),
}

impl std::fmt::Display for CourierError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CourierError::BadSignature => f.write_str("the update's signature does not verify"),
            CourierError::Malformed(why) => write!(f, "the update is not understood: {why}"),
            CourierError::Refused(why) => write!(f, "the courier refused: {why}"),
        }
    }
}

pub trait Courier: Send + Sync {
    fn name(&self) -> &'static str;
    /// Books a collection; the courier's tracking number.
    fn book<'a>(&'a self, shipment: &'a Shipment) -> BoxFuture<'a, Result<String, CourierError>>;
    /// Checks the signature of an update body and reads it.
    fn verify(&self, body: &[u8], signature: &str) -> Result<TrackingUpdate, CourierError>;
}

/// The built-in sandbox courier: bookings always succeed; its steps are pressed by hand on
/// `/sandbox/courier/{fulfilment}` and arrive as signed updates.
pub struct SandboxCourier {
    secret: [u8; 32],
}

impl SandboxCourier {
    pub fn new(secret: [u8; 32]) -> Self {
        Self { secret }
    }

    /// The signature the sandbox puts on `body` (hex HMAC-SHA256).
    pub fn sign(&self, body: &[u8]) -> String {
        crate::crypto::hmac_sha256_hex(&self.secret, body)
    }

    /// An update as the sandbox sends it: the JSON body and its signature.
    pub fn update(&self, u: &TrackingUpdate) -> (Vec<u8>, String) {
        let body = serde_json::to_vec(u).unwrap_or_default();
        let signature = self.sign(&body);
        (body, signature)
    }
}

impl Courier for SandboxCourier {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn book<'a>(&'a self, shipment: &'a Shipment) -> BoxFuture<'a, Result<String, CourierError>> {
        Box::pin(async move {
            Ok(format!(
                "SBX{:06}{:08X}",
                shipment.fulfilment_id,
                rand::random::<u32>()
            ))
        })
    }

    fn verify(&self, body: &[u8], signature: &str) -> Result<TrackingUpdate, CourierError> {
        if !crate::crypto::constant_time_eq(&self.sign(body), signature.trim()) {
            return Err(CourierError::BadSignature);
        }
        let u: TrackingUpdate =
            serde_json::from_slice(body).map_err(|e| CourierError::Malformed(e.to_string()))?;
        if u.to_move().is_none() || u.update_id.is_empty() || u.tracking_no.is_empty() {
            return Err(CourierError::Malformed(format!("event {}", u.event)));
        }
        Ok(u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_correctly_signed_known_update_is_read() {
        let courier = SandboxCourier::new([3; 32]);
        let u = TrackingUpdate {
            update_id: "U1".into(),
            tracking_no: "SBX1AB".into(),
            event: "in_transit".into(),
            note: None,
        };
        let (body, signature) = courier.update(&u);
        assert_eq!(courier.verify(&body, &signature), Ok(u.clone()));
        assert_eq!(
            SandboxCourier::new([4; 32]).verify(&body, &signature),
            Err(CourierError::BadSignature)
        );
        let unknown = TrackingUpdate {
            event: "teleported".into(),
            ..u
        };
        let (body, signature) = courier.update(&unknown);
        assert!(matches!(
            courier.verify(&body, &signature),
            Err(CourierError::Malformed(_))
        ));
    }
}
