//! What staff may do that is not reading a person's record (that is `policy.rs`): administer a
//! hospital, work its front desk. Each capability is decided here, once, and every refusal is
//! audited with the hospital it concerned and answered with one typed message.
//!
//! | capability | who holds it |
//! |---|---|
//! | `Administer(h)` | hospital `h`'s administrators, and the platform's |
//! | `FrontDesk(h)` | hospital `h`'s nurses and administrators (walk-ins, attendance, cancelling its appointments) |
//!
//! Actions that belong to one role (a patient books, a doctor accepts) ask [`require_role`].

use crate::app::AppState;
use crate::error::{AppError, AppResult, Reason};
use crate::identity::model::Role;
use crate::identity::{Actor, SignedIn};

/// A permission over a hospital.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Change the hospital: departments, doctors, privileges, services, schedules, prices.
    Administer(i64),
    /// The hospital's front desk: walk-ins, attendance, changing its appointments.
    FrontDesk(i64),
}

impl Capability {
    fn hospital(self) -> i64 {
        match self {
            Capability::Administer(h) | Capability::FrontDesk(h) => h,
        }
    }

    /// Whether `me` holds it. Pure: the decision, without the audit.
    pub fn held_by(self, me: &SignedIn) -> bool {
        let here = me.hospital_id == Some(self.hospital());
        match self {
            Capability::Administer(_) => {
                me.role == Role::PlatformAdmin || (me.role == Role::HospitalAdmin && here)
            }
            Capability::FrontDesk(_) => {
                matches!(me.role, Role::Nurse | Role::HospitalAdmin) && here
            }
        }
    }

    fn refusal(self) -> &'static str {
        match self {
            Capability::Administer(_) => "only this hospital's administrators may do this",
            Capability::FrontDesk(_) => {
                "only this hospital's front desk (nurses, administrators) may do this"
            }
        }
    }
}

/// Requires `role` for an action only that role performs (patients book, doctors accept).
/// The refusal carries the code `role-required` and says who may; the denial middleware
/// audits it like every 403.
pub fn require_role(me: &SignedIn, role: Role, who_may: &str) -> AppResult<()> {
    if me.role == role {
        Ok(())
    } else {
        Err(AppError::refused(Reason::RoleRequired, who_may))
    }
}

/// Requires the capability for `action`; a refusal is audited (object: the hospital) and
/// answered 403. Returns the signed-in account.
pub async fn require<'a>(
    state: &AppState,
    actor: &'a Actor,
    capability: Capability,
    action: &str,
) -> AppResult<&'a SignedIn> {
    let me = actor.require()?;
    if capability.held_by(me) {
        return Ok(me);
    }
    crate::identity::service::deny(
        state,
        actor,
        action,
        "hospital",
        Some(capability.hospital().to_string()),
        None,
        capability.refusal(),
    )
    .await?;
    Err(AppError::Forbidden(capability.refusal().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::actor::SessionKind;

    fn who(role: Role, hospital: Option<i64>) -> SignedIn {
        SignedIn {
            account_id: 1,
            role,
            username: None,
            display_name: String::new(),
            person_id: None,
            hospital_id: hospital,
            session_id: 1,
            session_kind: SessionKind::Bearer,
            step_up_at: None,
            token_hash: String::new(),
            app: None,
            compartment: None,
        }
    }

    #[test]
    fn who_holds_what() {
        let admin_here = who(Role::HospitalAdmin, Some(1));
        let admin_there = who(Role::HospitalAdmin, Some(2));
        let platform = who(Role::PlatformAdmin, None);
        let nurse_here = who(Role::Nurse, Some(1));
        let doctor_here = who(Role::Doctor, Some(1));
        let regulator = who(Role::Regulator, None);
        let administer = Capability::Administer(1);
        let desk = Capability::FrontDesk(1);
        assert!(administer.held_by(&admin_here));
        assert!(administer.held_by(&platform));
        assert!(!administer.held_by(&admin_there));
        assert!(!administer.held_by(&nurse_here));
        assert!(!administer.held_by(&regulator));
        assert!(desk.held_by(&nurse_here));
        assert!(desk.held_by(&admin_here));
        assert!(
            !desk.held_by(&platform),
            "the platform is no hospital's front desk"
        );
        assert!(!desk.held_by(&doctor_here));
        assert!(!desk.held_by(&who(Role::Nurse, Some(2))));
    }
}
