//! Real-name verification (实名认证): does this name, identity number and phone number belong
//! to one person? In production a provider answers — the public-security identity check
//! (公安身份核验) or a carrier's three-element check (运营商三要素) — behind
//! [`RealNameCheck`]; the built-in [`SandboxRealName`] stands in for it in the demo and tests.
//!
//! The check proves that the registrant's phone is registered to the person the number names;
//! it does not replace the holders' approval when a number is already on record (`claims`).

use super::model::{IdCardNumber, Phone};
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::jobs::BoxFuture;

/// What a provider answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The three belong together.
    Match,
    /// They do not (the provider does not say which part).
    Mismatch,
    /// The provider could not answer now.
    Unavailable,
}

pub trait RealNameCheck: Send + Sync + 'static {
    fn check<'a>(
        &'a self,
        name: &'a str,
        id: &'a IdCardNumber,
        phone: &'a Phone,
    ) -> BoxFuture<'a, Verdict>;
}

/// The sandbox provider. Like a payment sandbox's test cards, its answers are fixed by the
/// phone number so tests and demos can reach every outcome: a number ending in `4444` does
/// not match, one ending in `5555` finds the provider unavailable, every other matches.
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxRealName;

impl RealNameCheck for SandboxRealName {
    fn check<'a>(
        &'a self,
        _name: &'a str,
        _id: &'a IdCardNumber,
        phone: &'a Phone,
    ) -> BoxFuture<'a, Verdict> {
        Box::pin(async move {
            let p = phone.as_str();
            if p.ends_with("4444") {
                Verdict::Mismatch
            } else if p.ends_with("5555") {
                Verdict::Unavailable
            } else {
                Verdict::Match
            }
        })
    }
}

/// Refuses a registration whose three elements the provider does not confirm.
pub async fn require_match(
    state: &AppState,
    name: &str,
    id: &IdCardNumber,
    phone: &Phone,
) -> AppResult<()> {
    match state.realname.check(name, id, phone).await {
        Verdict::Match => Ok(()),
        Verdict::Mismatch => Err(AppError::Validation(vec![
            FieldError::new(
                "phone",
                "the real-name check did not confirm that this name, identity number and phone number belong to one person; use a phone registered in your own name",
            )
            .localized("register.realname_mismatch", Vec::new()),
        ])),
        Verdict::Unavailable => Err(AppError::Unavailable(
            "the real-name check is unavailable just now; try again in a few minutes".to_owned(),
        )),
    }
}
