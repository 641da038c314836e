//! Care teams and family-doctor contracts: their kinds, roles and packages, and the checks of
//! what a hospital's administrator writes.

use serde::Deserialize;

use crate::error::FieldError;

crate::text_enum! {
    /// What a team is for.
    pub enum TeamKind {
        /// A family-doctor team (家庭医生团队) that patients sign with.
        FamilyDoctor = "family_doctor",
        /// A team around patients with several diseases (多学科团队).
        Multimorbidity = "multimorbidity",
    }
}

crate::text_enum! {
    /// A member's role in a team.
    pub enum MemberRole {
        /// The lead physician (团队长): a doctor.
        Lead = "lead",
        Specialist = "specialist",
        Nurse = "nurse",
        Pharmacist = "pharmacist",
        Dietitian = "dietitian",
        /// 健康管理师.
        HealthManager = "health_manager",
    }
}

crate::text_enum! {
    /// The service package signed for (签约服务包).
    pub enum Package {
        /// Basic public health services (基本公共卫生服务).
        Basic = "basic",
        /// Chronic disease management (慢病管理: hypertension, diabetes).
        Chronic = "chronic",
        /// The elderly (老年人, 65 and over).
        Elderly = "elderly",
        /// Children (儿童, 0–6).
        Children = "children",
    }
}

crate::text_enum! {
    pub enum ContractStatus {
        Active = "active",
        /// Ended by the patient side, the team or the hospital, or expired.
        Ended = "ended",
    }
}

/// A contract runs this long, and is renewed by as much again.
pub const CONTRACT_MS: i64 = 365 * 24 * 3_600_000;
/// A contract may be renewed this long before it ends.
pub const RENEW_WINDOW_MS: i64 = 60 * 24 * 3_600_000;

/// A new team, as its hospital's administrator writes it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct TeamInput {
    /// 2–60 characters.
    #[serde(default)]
    pub name: String,
    /// `family_doctor` or `multimorbidity`.
    #[serde(default)]
    pub kind: Option<TeamKind>,
    /// How many people it takes at once, 1–5000 (a family-doctor team in China serves a few
    /// hundred to two thousand).
    #[serde(default)]
    pub capacity: Option<i64>,
}

/// A team as checked.
#[derive(Debug, Clone)]
pub struct Team {
    pub name: String,
    pub kind: TeamKind,
    pub capacity: i64,
}

impl TeamInput {
    /// The team, or every field that is wrong.
    pub fn check(&self) -> Result<Team, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim();
        if !(2..=60).contains(&name.chars().count()) {
            errors.push(FieldError::length("name", 2, 60));
        }
        if self.kind.is_none() {
            errors.push(FieldError::required("kind"));
        }
        let capacity = self.capacity.unwrap_or(0);
        if !(1..=5000).contains(&capacity) {
            errors.push(FieldError::range("capacity", 1, 5000));
        }
        match (self.kind, errors.is_empty()) {
            (Some(kind), true) => Ok(Team {
                name: name.to_owned(),
                kind,
                capacity,
            }),
            _ => Err(errors),
        }
    }
}

/// The care-link source of a contract: its members' links to the patient carry it.
pub fn link_source(contract: i64) -> String {
    format!("family-contract:{contract}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_names_every_wrong_field() {
        let bad = TeamInput {
            name: " x ".to_owned(),
            kind: None,
            capacity: Some(0),
        };
        let fields: Vec<String> = bad
            .check()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["name", "kind", "capacity"]);
        let good = TeamInput {
            name: " 王伟家庭医生团队 ".to_owned(),
            kind: Some(TeamKind::FamilyDoctor),
            capacity: Some(500),
        };
        let team = good.check().ok();
        assert_eq!(
            team.map(|t| (t.name, t.capacity)),
            Some(("王伟家庭医生团队".to_owned(), 500))
        );
    }
}
