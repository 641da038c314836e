//! Care teams and family-doctor contracts: who may do what, each change audited, and the care
//! links a contract gives a team's members.
//!
//! | step | who |
//! |---|---|
//! | create a team, add, change or remove members | the team's hospital's administrators |
//! | see the active teams (members, places left) | anyone signed in (patients choose one) |
//! | sign a family-doctor contract | the patient, or a family member acting for them (one active contract per person, within the team's capacity) |
//! | renew (in its last 60 days) | the patient side |
//! | end | the patient side, the team's lead, the team's hospital's administrators |
//! | see contracts | the patient side (theirs), team members (their teams'), administrators (their hospital's) |
//!
//! While a contract runs, every member of the team has a care link to the patient at the
//! team's hospital (kind `care_team`), so they read the record without break-glass; a member
//! who joins later gets one, one who leaves loses theirs, and all end with the contract
//! (ended, or expired at its end by [`super::expiry`]).

use serde::{Deserialize, Serialize};

use super::model::{
    CONTRACT_MS, ContractStatus, MemberRole, Package, RENEW_WINDOW_MS, TeamInput, TeamKind,
    link_source,
};
use super::store::{self, ContractRow, NewContract, Scope, TeamRow};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::capability::{self, Capability};
use crate::db::Tx;
use crate::error::{AppError, AppResult, FieldError, Reason};
use crate::identity::model::Role;
use crate::identity::{Actor, SignedIn};
use crate::jobs::{self, NewJob};
use crate::teleconsult::service::IdName;
use crate::time::cst_rfc3339;

/// The care-link kind of a team's members.
const LINK_KIND: &str = "care_team";

fn no_team(id: i64) -> AppError {
    AppError::NotFound(format!("no care team {id}"))
}

fn no_contract(id: i64) -> AppError {
    AppError::NotFound(format!("no family-doctor contract {id}"))
}

// ---- Teams ----

/// A new team of the administrator's hospital.
pub async fn create_team(state: &AppState, actor: &Actor, input: &TeamInput) -> AppResult<i64> {
    let me = actor.require()?;
    let Some(hospital) = me.hospital_id.filter(|_| me.role == Role::HospitalAdmin) else {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "care teams are set up by a hospital's administrators",
        ));
    };
    let team = input.check().map_err(AppError::Validation)?;
    let mut tx = state.db.begin().await?;
    let id = store::insert_team(&mut tx, hospital, &team, me.account_id, state.now_ms()).await?;
    let e = NewEvent::new(actor.audit(), "care.team.create", "care_team").object(id);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(id)
}

/// A member to add to a team (or whose role changes).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct MemberInput {
    /// A doctor, nurse or pharmacist, of any hospital.
    #[serde(default)]
    pub account_id: Option<i64>,
    /// The lead is a doctor.
    #[serde(default)]
    pub role: Option<MemberRole>,
}

async fn administered(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
) -> AppResult<TeamRow> {
    actor.require()?;
    let t = store::team(&state.db, id)
        .await?
        .ok_or_else(|| no_team(id))?;
    capability::require(state, actor, Capability::Administer(t.hospital_id), action).await?;
    Ok(t)
}

/// Adds a member (or changes their role); a new member gets a care link to each person the
/// team has a running contract with.
pub async fn put_member(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: &MemberInput,
) -> AppResult<()> {
    let t = administered(state, actor, id, "care.team.member").await?;
    let mut errors = Vec::new();
    let account = match input.account_id {
        Some(a) => crate::identity::store::account(&state.db, a).await?,
        None => None,
    };
    let clinician = account
        .as_ref()
        .filter(|a| a.status == "active" && a.role.is_clinician());
    if clinician.is_none() {
        errors.push(
            FieldError::new(
                "account_id",
                "must be an active doctor, nurse or pharmacist",
            )
            .localized("care.err.member", vec![]),
        );
    }
    match input.role {
        None => errors.push(FieldError::required("role")),
        Some(MemberRole::Lead) if clinician.is_some_and(|a| a.role != Role::Doctor) => errors.push(
            FieldError::new("role", "the lead physician is a doctor")
                .localized("care.err.lead", vec![]),
        ),
        Some(_) => {}
    }
    let (Some(member), Some(role), true) = (clinician, input.role, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    store::lock_team(&mut tx, id).await?;
    if store::put_member(&mut tx, id, (member.id, role), now).await? {
        for (contract, person) in store::active_contracts(&mut tx, id).await? {
            link(&mut tx, member.id, person, (t.hospital_id, contract), now).await?;
        }
    }
    let e = NewEvent::new(actor.audit(), "care.team.member", "care_team")
        .object(id)
        .reason(format!("account {} as {role}", member.id));
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(())
}

/// Takes a member off the team: their care links from its contracts end.
pub async fn remove_member(
    state: &AppState,
    actor: &Actor,
    id: i64,
    account: i64,
) -> AppResult<()> {
    administered(state, actor, id, "care.team.member").await?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    store::lock_team(&mut tx, id).await?;
    if !store::remove_member(&mut tx, id, account).await? {
        return Err(AppError::NotFound(format!(
            "account {account} is not a member of care team {id}"
        )));
    }
    store::end_member_links(&mut tx, id, account, now).await?;
    let e = NewEvent::new(actor.audit(), "care.team.member.remove", "care_team")
        .object(id)
        .reason(format!("account {account}"));
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(())
}

async fn link(
    tx: &mut Tx,
    member: i64,
    person: i64,
    (hospital, contract): (i64, i64),
    now: i64,
) -> AppResult<()> {
    let source = link_source(contract);
    crate::identity::service::link_care(tx, member, person, hospital, LINK_KIND, Some(&source), now)
        .await
        .map(|_| ())
}

/// A team as anyone may see it: who is in it and how many places are left.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamView {
    pub id: i64,
    pub hospital: IdName,
    pub name: String,
    pub kind: TeamKind,
    pub capacity: i64,
    /// Places left (capacity less running contracts).
    pub places: i64,
    pub members: Vec<TeamMember>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamMember {
    pub id: i64,
    pub name: String,
    pub role: MemberRole,
}

async fn team_view(state: &AppState, t: TeamRow) -> AppResult<TeamView> {
    let members = store::members(&state.db, t.id)
        .await?
        .into_iter()
        .map(|m| TeamMember {
            id: m.account_id,
            name: m.name,
            role: m.role,
        })
        .collect();
    Ok(TeamView {
        id: t.id,
        hospital: IdName {
            id: t.hospital_id,
            name: t.hospital,
        },
        name: t.name,
        kind: t.kind,
        capacity: t.capacity,
        places: (t.capacity - t.signed).max(0),
        members,
    })
}

/// The active teams, of one hospital or all, of one kind or both.
pub async fn teams(
    state: &AppState,
    actor: &Actor,
    hospital: Option<i64>,
    kind: Option<TeamKind>,
) -> AppResult<Vec<TeamView>> {
    actor.require()?;
    let mut out = Vec::new();
    for t in store::teams(&state.db, hospital, kind).await? {
        out.push(team_view(state, t).await?);
    }
    Ok(out)
}

pub async fn team(state: &AppState, actor: &Actor, id: i64) -> AppResult<TeamView> {
    actor.require()?;
    let t = store::team(&state.db, id)
        .await?
        .ok_or_else(|| no_team(id))?;
    team_view(state, t).await
}

// ---- Contracts ----

/// A family-doctor contract to sign.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ContractInput {
    /// The person: the patient's own, or a family member's they act for.
    #[serde(default)]
    pub person_id: Option<i64>,
    /// A family-doctor team.
    #[serde(default)]
    pub team_id: Option<i64>,
    #[serde(default)]
    pub package: Option<Package>,
}

/// A contract as its readers see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContractView {
    pub id: i64,
    pub person: IdName,
    pub team: IdName,
    pub hospital: IdName,
    pub package: Package,
    pub status: ContractStatus,
    pub starts_at: String,
    pub ends_at: String,
    pub ended_at: Option<String>,
    pub end_reason: Option<String>,
    /// The patient side may renew it now (its last 60 days).
    pub renewable: bool,
}

fn contract_view(c: ContractRow, now: i64) -> ContractView {
    ContractView {
        id: c.id,
        person: IdName {
            id: c.person_id,
            name: c.person,
        },
        team: IdName {
            id: c.team_id,
            name: c.team,
        },
        hospital: IdName {
            id: c.hospital_id,
            name: c.hospital,
        },
        package: c.package,
        renewable: c.status == ContractStatus::Active && now >= c.ends_at - RENEW_WINDOW_MS,
        status: c.status,
        starts_at: cst_rfc3339(c.starts_at),
        ends_at: cst_rfc3339(c.ends_at),
        ended_at: c.ended_at.map(cst_rfc3339),
        end_reason: c.end_reason,
    }
}

fn event<'a>(actor: &Actor, action: &'a str, contract: i64, person: i64) -> NewEvent<'a> {
    NewEvent::new(actor.audit(), action, "family_contract")
        .object(contract)
        .patient(person)
}

/// Queues the contract's expiry at its end, in the transaction that set the end (once per
/// end: renewing queues another, and the earlier one then finds the end moved).
async fn queue_expiry(tx: &mut Tx, contract: i64, ends_at: i64) -> AppResult<()> {
    let job = NewJob::of(&super::expiry::Expire {
        contract_id: contract,
        ends_at,
    })
    .dedupe_key(format!("{}:{contract}:{ends_at}", super::expiry::KIND))
    .run_at(ends_at);
    jobs::enqueue(tx, &job).await?;
    Ok(())
}

/// Signs a year's contract with a family-doctor team for the patient or a family member;
/// every member of the team gets a care link to the person.
pub async fn sign(state: &AppState, actor: &Actor, input: &ContractInput) -> AppResult<i64> {
    let me = actor.require()?;
    if me.role != Role::Patient {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "a family-doctor contract is signed by the patient or their family",
        ));
    }
    let mut errors = Vec::new();
    let person = match input.person_id {
        Some(p) if crate::identity::service::acts_for(state, me, p).await? => Some(p),
        Some(_) => {
            errors.push(
                FieldError::new(
                    "person_id",
                    "must be yourself or a family member you act for",
                )
                .localized("care.err.person", vec![]),
            );
            None
        }
        None => {
            errors.push(FieldError::required("person_id"));
            None
        }
    };
    let team = match input.team_id {
        Some(t) => store::team(&state.db, t)
            .await?
            .filter(|t| t.active && t.kind == TeamKind::FamilyDoctor),
        None => None,
    };
    if team.is_none() {
        errors.push(
            FieldError::new("team_id", "must be an active family-doctor team")
                .localized("care.err.team", vec![]),
        );
    }
    if input.package.is_none() {
        errors.push(FieldError::required("package"));
    }
    let (Some(person), Some(team), Some(package), true) =
        (person, team, input.package, errors.is_empty())
    else {
        return Err(AppError::Validation(errors));
    };
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    store::lock_team(&mut tx, team.id).await?;
    if store::active_contract_of(&mut tx, person).await?.is_some() {
        return Err(AppError::refused(
            Reason::AlreadyContracted,
            "this person already has a running family-doctor contract: end it first, or renew it",
        ));
    }
    if store::signed_in(&mut tx, team.id).await? >= team.capacity {
        return Err(AppError::refused(
            Reason::TeamFull,
            format!(
                "the team takes {} people and has no place left",
                team.capacity
            ),
        ));
    }
    let ends_at = now + CONTRACT_MS;
    let new = NewContract {
        person,
        team: team.id,
        package,
        signed_by: me.account_id,
    };
    let id = store::insert_contract(&mut tx, &new, (now, ends_at)).await?;
    for member in store::member_ids(&mut tx, team.id).await? {
        link(&mut tx, member, person, (team.hospital_id, id), now).await?;
    }
    queue_expiry(&mut tx, id, ends_at).await?;
    audit::append(&mut tx, &event(actor, "care.contract.sign", id, person)).await?;
    tx.commit().await?;
    Ok(id)
}

/// Loads a contract for `me`, 404 when they have no part in it; whether they are the
/// patient side, and whether they lead or administer its team.
async fn contract_for(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
) -> AppResult<(ContractRow, Part)> {
    let me = actor.require()?;
    let c = store::contract(&state.db, id)
        .await?
        .ok_or_else(|| no_contract(id))?;
    let part = part_of(state, me, &c).await?;
    match part {
        Some(p) => Ok((c, p)),
        None => {
            crate::identity::service::deny(
                state,
                actor,
                action,
                "family_contract",
                Some(id.to_string()),
                Some(c.person_id),
                "no part in the contract",
            )
            .await?;
            Err(no_contract(id))
        }
    }
}

/// How a reader stands to a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    PatientSide,
    Lead,
    Member,
    Administrator,
}

async fn part_of(state: &AppState, me: &SignedIn, c: &ContractRow) -> AppResult<Option<Part>> {
    Ok(match me.role {
        Role::Patient => crate::identity::service::acts_for(state, me, c.person_id)
            .await?
            .then_some(Part::PatientSide),
        Role::HospitalAdmin if me.hospital_id == Some(c.hospital_id) => Some(Part::Administrator),
        role if role.is_clinician() => {
            match store::role_in(&state.db, c.team_id, me.account_id).await? {
                Some(MemberRole::Lead) => Some(Part::Lead),
                Some(_) => Some(Part::Member),
                None => None,
            }
        }
        _ => None,
    })
}

pub async fn contract(state: &AppState, actor: &Actor, id: i64) -> AppResult<ContractView> {
    let (c, _) = contract_for(state, actor, id, "care.contract.read").await?;
    let person = c.person_id;
    audit::record(&state.db, &event(actor, "care.contract.read", id, person)).await?;
    Ok(contract_view(c, state.now_ms()))
}

/// The reader's contracts: a patient's and their family's, a team member's teams', an
/// administrator's hospital's.
pub async fn contracts(state: &AppState, actor: &Actor) -> AppResult<Vec<ContractView>> {
    let me = actor.require()?;
    let people;
    let scope = match me.role {
        Role::Patient => {
            people = crate::identity::service::searchable_patients(state, actor).await?;
            Scope::People(&people)
        }
        Role::HospitalAdmin => match me.hospital_id {
            Some(h) => Scope::Hospital(h),
            None => return Ok(Vec::new()),
        },
        role if role.is_clinician() => Scope::Member(me.account_id),
        _ => {
            return Err(AppError::refused(
                Reason::RoleRequired,
                "family-doctor contracts are listed for patients, care teams and hospital administrators",
            ));
        }
    };
    let now = state.now_ms();
    let rows = store::contracts(&state.db, scope).await?;
    let e = NewEvent::new(actor.audit(), "care.contract.list", "family_contract")
        .reason(format!("{} contracts", rows.len()));
    audit::record(&state.db, &e).await?;
    Ok(rows.into_iter().map(|c| contract_view(c, now)).collect())
}

/// The patient side renews the contract in its last 60 days: a year more from its end.
pub async fn renew(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let (c, part) = contract_for(state, actor, id, "care.contract.renew").await?;
    if part != Part::PatientSide {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "the patient or their family renews the contract",
        ));
    }
    let now = state.now_ms();
    if c.status != ContractStatus::Active || now < c.ends_at - RENEW_WINDOW_MS {
        return Err(AppError::wrong_state(
            "a running contract is renewed in its last 60 days",
        ));
    }
    let ends_at = c.ends_at + CONTRACT_MS;
    let mut tx = state.db.begin().await?;
    if !store::extend(&mut tx, id, (c.ends_at, ends_at)).await? {
        return Err(AppError::refused(
            Reason::ChangedMeanwhile,
            "the contract changed while you were looking; reload it",
        ));
    }
    queue_expiry(&mut tx, id, ends_at).await?;
    audit::append(
        &mut tx,
        &event(actor, "care.contract.renew", id, c.person_id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends the contract (the patient side, the team's lead, its hospital's administrators),
/// saying why; the team's care links to the person end with it.
pub async fn end(state: &AppState, actor: &Actor, id: i64, reason: &str) -> AppResult<()> {
    let (c, part) = contract_for(state, actor, id, "care.contract.end").await?;
    if part == Part::Member {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "the team's lead, its hospital's administrators or the patient side ends a contract",
        ));
    }
    let reason = reason.trim();
    if !(2..=200).contains(&reason.chars().count()) {
        return Err(AppError::field(FieldError::length("reason", 2, 200)));
    }
    let mut tx = state.db.begin().await?;
    if !end_in(&mut tx, id, reason, state.now_ms()).await? {
        return Err(AppError::wrong_state("the contract has ended already"));
    }
    audit::append(&mut tx, &event(actor, "care.contract.end", id, c.person_id)).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends the contract and its care links in `tx`; whether it was running.
pub(super) async fn end_in(tx: &mut Tx, id: i64, reason: &str, now: i64) -> AppResult<bool> {
    if !store::end(tx, id, reason, now).await? {
        return Ok(false);
    }
    crate::identity::store::end_care_links(tx, LINK_KIND, &link_source(id), now).await?;
    Ok(true)
}
