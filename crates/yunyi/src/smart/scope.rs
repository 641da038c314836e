//! SMART scopes (App Launch 2.x, with the 1.0 `.read`/`.write` forms understood): what an app
//! asks for, what it is granted, and whether a FHIR interaction is covered. No IO.
//!
//! Unknown or unsupported scopes (EHR `launch`, `system/`, v2 queries like
//! `patient/Observation.rs?category=…`) are dropped, never widened: the granted scope the token
//! answer returns says exactly what the app got.

use std::fmt;

/// Interactions a scope clause permits: SMART v2's `c r u d s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Perms(u8);

impl Perms {
    pub const CREATE: Perms = Perms(1);
    pub const READ: Perms = Perms(2);
    pub const UPDATE: Perms = Perms(4);
    pub const DELETE: Perms = Perms(8);
    pub const SEARCH: Perms = Perms(16);
    const LETTERS: [(char, Perms); 5] = [
        ('c', Self::CREATE),
        ('r', Self::READ),
        ('u', Self::UPDATE),
        ('d', Self::DELETE),
        ('s', Self::SEARCH),
    ];

    /// `rs`, `cruds` (letters in this order, none twice), or v1's `read`, `write`, `*`.
    fn parse(raw: &str) -> Option<Perms> {
        match raw {
            "read" => return Some(Perms(Self::READ.0 | Self::SEARCH.0)),
            "write" => return Some(Perms(Self::CREATE.0 | Self::UPDATE.0 | Self::DELETE.0)),
            "*" => return Some(Perms(31)),
            _ => {}
        }
        let mut perms = Perms(0);
        let mut next = 0;
        for ch in raw.chars() {
            let at = Self::LETTERS[next..].iter().position(|(c, _)| *c == ch)?;
            perms.0 |= Self::LETTERS[next + at].1.0;
            next += at + 1;
        }
        (perms.0 != 0).then_some(perms)
    }

    pub fn contains(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }

    fn and(self, other: Perms) -> Perms {
        Perms(self.0 & other.0)
    }

    fn or(self, other: Perms) -> Perms {
        Perms(self.0 | other.0)
    }

    /// Reads (`r` or `s`) only.
    pub fn read_only(self) -> bool {
        Perms(Self::READ.0 | Self::SEARCH.0).contains(self)
    }
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (c, p) in Self::LETTERS {
            if self.contains(p) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Whose data a clause opens: the patient in context, or whatever the user may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Patient,
    User,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Patient => "patient",
            Level::User => "user",
        }
    }
}

/// `patient/Observation.rs`: a level, a resource type (or `*`) and interactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub level: Level,
    pub resource: String,
    pub perms: Perms,
}

impl Clause {
    fn parse(raw: &str) -> Option<Clause> {
        let (level, rest) = raw.split_once('/')?;
        let level = match level {
            "patient" => Level::Patient,
            "user" => Level::User,
            _ => return None,
        };
        let (resource, perms) = rest.split_once('.')?;
        let type_like = resource == "*"
            || (resource.starts_with(|c: char| c.is_ascii_uppercase())
                && resource.chars().all(|c| c.is_ascii_alphanumeric()));
        if !type_like || resource.len() > 64 {
            return None;
        }
        Some(Clause {
            level,
            resource: resource.to_owned(),
            perms: Perms::parse(perms)?,
        })
    }

    fn covers(&self, resource: &str) -> bool {
        self.resource == "*" || self.resource == resource
    }
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}.{}",
            self.level.as_str(),
            self.resource,
            self.perms
        )
    }
}

/// A set of scopes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes {
    pub clauses: Vec<Clause>,
    /// `openid`: an OpenID Connect id_token.
    pub openid: bool,
    /// `fhirUser`: the id_token names the user's FHIR resource.
    pub fhir_user: bool,
    /// `launch/patient`: pick a patient at consent time; the token answer names them.
    pub launch_patient: bool,
    /// `offline_access`: a refresh token that outlives the browser session.
    pub offline_access: bool,
}

/// The most scope tokens one request may carry (a bound on work, not a rule of SMART).
const MAX_TOKENS: usize = 64;

impl Scopes {
    /// Parses a space-separated scope string; what is not understood is dropped.
    pub fn parse(raw: &str) -> Scopes {
        let mut scopes = Scopes::default();
        for token in raw.split_ascii_whitespace().take(MAX_TOKENS) {
            match token {
                "openid" => scopes.openid = true,
                "fhirUser" => scopes.fhir_user = true,
                "launch/patient" => scopes.launch_patient = true,
                "offline_access" => scopes.offline_access = true,
                other => {
                    if let Some(clause) = Clause::parse(other) {
                        scopes.add(clause);
                    }
                }
            }
        }
        scopes
    }

    /// Adds a clause, merging it with one of the same level and resource.
    fn add(&mut self, clause: Clause) {
        match self
            .clauses
            .iter_mut()
            .find(|c| c.level == clause.level && c.resource == clause.resource)
        {
            Some(c) => c.perms = c.perms.or(clause.perms),
            None => self.clauses.push(clause),
        }
    }

    /// What of `self` (asked for) `allowed` permits: each clause cut down to what an allowed
    /// clause of its level covers. `patient/*.cruds` asked of an app allowed `patient/*.rs`
    /// gives `patient/*.rs`; `user/*.rs` asked of one allowed `user/Patient.rs` gives
    /// `user/Patient.rs`.
    pub fn within(&self, allowed: &Scopes) -> Scopes {
        let mut out = Scopes {
            clauses: Vec::new(),
            openid: self.openid && allowed.openid,
            fhir_user: self.fhir_user && allowed.fhir_user,
            launch_patient: self.launch_patient && allowed.launch_patient,
            offline_access: self.offline_access && allowed.offline_access,
        };
        for asked in &self.clauses {
            for may in allowed.clauses.iter().filter(|a| a.level == asked.level) {
                let resource = if may.covers(&asked.resource) {
                    asked.resource.clone()
                } else if asked.resource == "*" {
                    may.resource.clone()
                } else {
                    continue;
                };
                let perms = asked.perms.and(may.perms);
                if perms != Perms::default() {
                    out.add(Clause {
                        level: asked.level,
                        resource,
                        perms,
                    });
                }
            }
        }
        out
    }

    /// Without the clauses of `level` (a staff member has no patient to put in context).
    pub fn without_level(mut self, level: Level) -> Scopes {
        self.clauses.retain(|c| c.level != level);
        if level == Level::Patient {
            self.launch_patient = false;
        }
        self
    }

    /// Which level grants `perms` on `resource`: `User` when a user clause does (the access
    /// policy alone then decides), else `Patient` when only a patient clause does (the
    /// request is then held to the patient in context), else none.
    pub fn grants(&self, resource: &str, perms: Perms) -> Option<Level> {
        let covered = |level| {
            self.clauses
                .iter()
                .any(|c| c.level == level && c.covers(resource) && c.perms.contains(perms))
        };
        if covered(Level::User) {
            Some(Level::User)
        } else if covered(Level::Patient) {
            Some(Level::Patient)
        } else {
            None
        }
    }

    pub fn has_level(&self, level: Level) -> bool {
        self.clauses.iter().any(|c| c.level == level)
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
            && !self.openid
            && !self.fhir_user
            && !self.launch_patient
            && !self.offline_access
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        for (on, name) in [
            (self.launch_patient, "launch/patient"),
            (self.openid, "openid"),
            (self.fhir_user, "fhirUser"),
            (self.offline_access, "offline_access"),
        ] {
            if on {
                parts.push(name.to_owned());
            }
        }
        parts.extend(self.clauses.iter().map(Clause::to_string));
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_and_v1_forms_are_understood_and_written_as_v2() {
        let s = Scopes::parse(
            "launch/patient openid fhirUser patient/*.read user/Appointment.cruds patient/Observation.rs",
        );
        assert!(s.launch_patient && s.openid && s.fhir_user && !s.offline_access);
        assert_eq!(
            s.to_string(),
            "launch/patient openid fhirUser patient/*.rs user/Appointment.cruds patient/Observation.rs"
        );
        assert_eq!(
            Scopes::parse("user/*.write user/*.*").to_string(),
            "user/*.cruds"
        );
    }

    #[test]
    fn what_is_not_understood_is_dropped_not_widened() {
        let s = Scopes::parse(
            "launch system/*.rs patient/*.sr patient/*.rr patient/Observation.rs?category=vital-signs \
             patient/observation.rs user/*.x admin profile",
        );
        assert!(s.is_empty(), "{s:?}");
    }

    #[test]
    fn a_request_is_cut_down_to_what_the_app_may_have() {
        let allowed = Scopes::parse("launch/patient offline_access patient/*.rs user/Patient.rs");
        let asked = Scopes::parse(
            "launch/patient openid patient/*.cruds user/*.rs patient/Appointment.u offline_access",
        );
        assert_eq!(
            asked.within(&allowed).to_string(),
            "launch/patient offline_access patient/*.rs user/Patient.rs"
        );
        // Narrowing a grant at refresh: asking less gives less, asking more gives nothing more.
        let grant = Scopes::parse("patient/*.rs");
        assert_eq!(
            Scopes::parse("patient/Encounter.r patient/*.c")
                .within(&grant)
                .to_string(),
            "patient/Encounter.r"
        );
    }

    #[test]
    fn the_user_level_wins_over_the_patient_level() {
        let s = Scopes::parse("patient/*.rs user/Practitioner.r");
        assert_eq!(s.grants("Practitioner", Perms::READ), Some(Level::User));
        assert_eq!(s.grants("Encounter", Perms::SEARCH), Some(Level::Patient));
        assert_eq!(s.grants("Appointment", Perms::UPDATE), None);
        assert_eq!(
            s.grants("Practitioner", Perms::SEARCH),
            Some(Level::Patient)
        );
        assert!(
            Scopes::parse("user/Patient.r")
                .grants("Patient", Perms::SEARCH)
                .is_none()
        );
    }

    #[test]
    fn staff_lose_the_patient_level() {
        let s =
            Scopes::parse("launch/patient patient/*.rs user/*.rs").without_level(Level::Patient);
        assert_eq!(s.to_string(), "user/*.rs");
    }
}
