//! How a paid prescription reaches the patient, as one explicit state machine, and the
//! address a patient gives, validated field by field.
//!
//! Delivery: queued → picked → packed → dispatched (handed to the courier) → picked up →
//! in transit → delivered → received (the patient confirms); a failed delivery is dispatched
//! again or cancelled. Pickup: queued → picked → ready for pickup → collected (the pharmacist
//! checks the patient's pickup code). Before payment it waits (`awaiting_payment`), and a
//! pharmacy that cannot fill it cancels it (the patient is refunded).

use serde::Deserialize;

use crate::error::FieldError;
use crate::identity::model::Phone;

crate::text_enum! {
    pub enum Method {
        /// Sent to the patient's address by a courier (配送到家).
        Delivery = "delivery",
        /// Collected at a hospital pharmacy (到院自取).
        Pickup = "pickup",
    }
}

crate::text_enum! {
    pub enum Status {
        AwaitingPayment = "awaiting_payment",
        /// Paid: in the pharmacy's queue.
        Queued = "queued",
        /// Taken from stock and checked against the prescription (调配).
        Picked = "picked",
        Packed = "packed",
        /// Handed to the courier, who has a tracking number.
        Dispatched = "dispatched",
        PickedUp = "picked_up",
        InTransit = "in_transit",
        Delivered = "delivered",
        Failed = "failed",
        /// The patient confirmed receipt.
        Received = "received",
        ReadyForPickup = "ready_for_pickup",
        /// Handed to the patient at the pharmacy.
        Collected = "collected",
        Cancelled = "cancelled",
    }
}

/// What may happen to a fulfilment, and who makes it happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The order was paid (the system).
    Pay,
    /// Pharmacy moves.
    Pick,
    Pack,
    Dispatch,
    Collect,
    Cancel,
    /// Courier moves.
    PickUp,
    Transit,
    Deliver,
    Fail,
    /// The patient's move.
    Confirm,
}

impl Status {
    /// Work the pharmacy still has to do (its queue).
    pub fn pharmacy_work(self) -> bool {
        matches!(
            self,
            Status::Queued
                | Status::Picked
                | Status::Packed
                | Status::Failed
                | Status::ReadyForPickup
        )
    }
}

/// The one place that says which move is legal from where, for each way of fulfilling.
pub fn transition(method: Method, from: Status, mv: Move) -> Result<Status, IllegalMove> {
    use Method::{Delivery, Pickup};
    use Move as M;
    use Status as S;
    Ok(match (method, from, mv) {
        (_, S::AwaitingPayment, M::Pay) => S::Queued,
        (_, S::Queued, M::Pick) => S::Picked,
        (Delivery, S::Picked, M::Pack) => S::Packed,
        (Pickup, S::Picked, M::Pack) => S::ReadyForPickup,
        (Delivery, S::Packed | S::Failed, M::Dispatch) => S::Dispatched,
        (Delivery, S::Dispatched, M::PickUp) => S::PickedUp,
        (Delivery, S::PickedUp, M::Transit) => S::InTransit,
        (Delivery, S::InTransit, M::Deliver) => S::Delivered,
        (Delivery, S::Dispatched | S::PickedUp | S::InTransit, M::Fail) => S::Failed,
        // The parcel can be in the patient's hands before the courier's last scan arrives.
        (Delivery, S::InTransit | S::Delivered, M::Confirm) => S::Received,
        (Pickup, S::ReadyForPickup, M::Collect) => S::Collected,
        // Before anything left the pharmacy, or after the courier gave up.
        (_, S::Queued | S::Picked, M::Cancel) | (Delivery, S::Failed, M::Cancel) => S::Cancelled,
        _ => return Err(IllegalMove { method, from, mv }),
    })
}

/// A move the fulfilment's life does not allow, in words a user understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalMove {
    pub method: Method,
    pub from: Status,
    pub mv: Move,
}

impl std::fmt::Display for IllegalMove {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match (self.method, self.from, self.mv) {
            (Method::Pickup, _, Move::Dispatch | Move::PickUp | Move::Transit | Move::Deliver) => {
                "the patient collects it at the pharmacy; nothing is sent"
            }
            (Method::Delivery, _, Move::Collect) => "it is delivered, not collected",
            (_, Status::AwaitingPayment, _) => "it has not been paid",
            (_, Status::Cancelled, _) => "it was cancelled",
            (_, Status::Received | Status::Collected, _) => "the patient already has it",
            (_, _, Move::Cancel) => "it has left the pharmacy",
            (_, _, Move::Confirm) => "the courier has not brought it yet",
            _ => "that does not follow from where it is",
        };
        write!(
            f,
            "the medicine is {}: {why}",
            self.from.as_str().replace('_', " ")
        )
    }
}

/// An address as the patient types it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct AddressInput {
    #[serde(default)]
    pub recipient: String,
    #[serde(default)]
    pub phone: String,
    /// Province, city and district (省市区).
    #[serde(default)]
    pub region: String,
    /// Street, building and room.
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub is_default: bool,
}

/// An address that passed validation.
#[derive(Debug, Clone)]
pub struct ValidAddress {
    pub recipient: String,
    pub phone: Phone,
    pub region: String,
    pub detail: String,
    pub is_default: bool,
}

fn text(
    errors: &mut Vec<FieldError>,
    field: &str,
    raw: &str,
    min: usize,
    max: usize,
    what: &str,
) -> String {
    let value = raw.trim();
    let len = value.chars().count();
    if len < min || len > max {
        errors.push(
            FieldError::new(field, format!("{what}: {min} to {max} characters")).localized(
                "field.length",
                vec![("min", min.to_string()), ("max", max.to_string())],
            ),
        );
    } else if value.chars().any(char::is_control) {
        errors.push(FieldError::new(field, "must be one line of text"));
    }
    value.to_owned()
}

impl AddressInput {
    pub fn validate(&self) -> Result<ValidAddress, Vec<FieldError>> {
        let mut errors = Vec::new();
        let recipient = text(
            &mut errors,
            "recipient",
            &self.recipient,
            1,
            40,
            "the name of who receives it",
        );
        let phone = Phone::parse(&self.phone)
            .map_err(|why| errors.push(FieldError::new("phone", why)))
            .ok();
        let region = text(
            &mut errors,
            "region",
            &self.region,
            2,
            60,
            "province, city and district",
        );
        let detail = text(
            &mut errors,
            "detail",
            &self.detail,
            4,
            120,
            "street, building and room",
        );
        match phone {
            Some(phone) if errors.is_empty() => Ok(ValidAddress {
                recipient,
                phone,
                region,
                detail,
                is_default: self.is_default,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_goes_through_every_step_in_order() {
        let mut at = Status::AwaitingPayment;
        for mv in [
            Move::Pay,
            Move::Pick,
            Move::Pack,
            Move::Dispatch,
            Move::PickUp,
            Move::Transit,
            Move::Deliver,
            Move::Confirm,
        ] {
            at = transition(Method::Delivery, at, mv).expect("a legal step");
        }
        assert_eq!(at, Status::Received);
    }

    #[test]
    fn a_pickup_is_ready_after_packing_and_ends_when_collected() {
        let mut at = Status::AwaitingPayment;
        for mv in [Move::Pay, Move::Pick, Move::Pack] {
            at = transition(Method::Pickup, at, mv).expect("a legal step");
        }
        assert_eq!(at, Status::ReadyForPickup);
        assert_eq!(
            transition(Method::Pickup, at, Move::Collect),
            Ok(Status::Collected)
        );
        assert!(transition(Method::Pickup, at, Move::Dispatch).is_err());
    }

    #[test]
    fn illegal_moves_are_refused_with_a_reason() {
        let cases = [
            (Method::Delivery, Status::AwaitingPayment, Move::Pick),
            (Method::Delivery, Status::Queued, Move::Dispatch),
            (Method::Delivery, Status::Dispatched, Move::Deliver),
            (Method::Delivery, Status::Dispatched, Move::Transit),
            (Method::Delivery, Status::PickedUp, Move::Confirm),
            (Method::Delivery, Status::Delivered, Move::Fail),
            (Method::Delivery, Status::Dispatched, Move::Cancel),
            (Method::Delivery, Status::Received, Move::Deliver),
            (Method::Delivery, Status::Packed, Move::Collect),
            (Method::Pickup, Status::Collected, Move::Cancel),
            (Method::Pickup, Status::Queued, Move::Pay),
        ];
        for (method, from, mv) in cases {
            let err = transition(method, from, mv).expect_err("illegal");
            assert!(!err.to_string().is_empty());
        }
        assert!(
            transition(Method::Delivery, Status::Dispatched, Move::Cancel)
                .unwrap_err()
                .to_string()
                .contains("left the pharmacy")
        );
    }

    #[test]
    fn a_failed_delivery_is_sent_again_or_cancelled() {
        let failed = transition(Method::Delivery, Status::InTransit, Move::Fail).unwrap();
        assert_eq!(failed, Status::Failed);
        assert_eq!(
            transition(Method::Delivery, failed, Move::Dispatch),
            Ok(Status::Dispatched)
        );
        assert_eq!(
            transition(Method::Delivery, failed, Move::Cancel),
            Ok(Status::Cancelled)
        );
    }

    #[test]
    fn statuses_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn an_address_names_each_bad_field() {
        let bad = AddressInput {
            recipient: " ".into(),
            phone: "12345".into(),
            region: "x".into(),
            detail: "一号楼\n2单元".into(),
            is_default: false,
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["recipient", "phone", "region", "detail"]);
        let good = AddressInput {
            recipient: "张三".into(),
            phone: "+86 138-0013-8000".into(),
            region: "广东省广州市天河区".into(),
            detail: "天河路 100 号 2 栋 301".into(),
            is_default: true,
        };
        let v = good.validate().expect("valid");
        assert_eq!(v.phone.as_str(), "13800138000");
    }
}
