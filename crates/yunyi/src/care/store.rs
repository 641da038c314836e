//! Care-team SQL: teams with their hospital, members with their names, contracts with their
//! person and team, and the care links a contract gives the team's members.

use super::model::{ContractStatus, MemberRole, Package, Team, TeamKind, link_source};
use crate::db::{Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TeamRow {
    pub id: i64,
    pub hospital_id: i64,
    pub hospital: String,
    pub name: String,
    pub kind: TeamKind,
    pub capacity: i64,
    pub active: bool,
    /// Its active contracts.
    pub signed: i64,
}

const TEAM: &str = "SELECT t.id, t.hospital_id, h.name AS hospital, t.name, t.kind, t.capacity, t.active, \
     (SELECT COUNT(*) FROM family_contract c WHERE c.team_id = t.id AND c.status = 'active') AS signed \
     FROM care_team t JOIN hospital h ON h.id = t.hospital_id";

pub async fn insert_team(
    tx: &mut Tx,
    hospital: i64,
    t: &Team,
    by: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO care_team (hospital_id, name, kind, capacity, active, created_by, created_at) \
         VALUES ($1, $2, $3, $4, TRUE, $5, $6) RETURNING id",
        (hospital, &t.name, t.kind.as_str(), t.capacity, by, now),
    )
    .await
}

pub async fn team(db: &Db, id: i64) -> Result<Option<TeamRow>, sqlx::Error> {
    db.optional(&format!("{TEAM} WHERE t.id = $1"), (id,)).await
}

/// Active teams, of one hospital or all, of one kind or both, by hospital and name.
pub async fn teams(
    db: &Db,
    hospital: Option<i64>,
    kind: Option<TeamKind>,
) -> Result<Vec<TeamRow>, sqlx::Error> {
    let mut sql = crate::db::Sql::new(format!("{TEAM} WHERE t.active = TRUE"));
    sql.and_eq("t.hospital_id", hospital)
        .and_eq("t.kind", kind.map(|k| k.as_str()));
    sql.push(" ORDER BY t.hospital_id, t.name, t.id LIMIT 500");
    sql.fetch_all(db).await
}

/// Locks the team's row until the transaction ends (PostgreSQL; SQLite's writer lock already
/// serializes), so two signings cannot both take its last place.
pub async fn lock_team(tx: &mut Tx, id: i64) -> Result<(), sqlx::Error> {
    tx.execute("UPDATE care_team SET active = active WHERE id = $1", (id,))
        .await
        .map(|_| ())
}

pub async fn signed_in(tx: &mut Tx, team: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "SELECT COUNT(*) FROM family_contract WHERE team_id = $1 AND status = 'active'",
        (team,),
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub account_id: i64,
    pub name: String,
    pub role: MemberRole,
}

pub async fn members(db: &Db, team: i64) -> Result<Vec<MemberRow>, sqlx::Error> {
    db.all(
        "SELECT m.account_id, a.display_name AS name, m.role FROM care_team_member m \
         JOIN account a ON a.id = m.account_id WHERE m.team_id = $1 ORDER BY m.added_at, m.account_id",
        (team,),
    )
    .await
}

/// The team's members (in a transaction, for the links a contract gives them).
pub async fn member_ids(tx: &mut Tx, team: i64) -> Result<Vec<i64>, sqlx::Error> {
    tx.scalars(
        "SELECT account_id FROM care_team_member WHERE team_id = $1 ORDER BY account_id",
        (team,),
    )
    .await
}

/// Adds a member, or changes their role; whether they were new.
pub async fn put_member(
    tx: &mut Tx,
    team: i64,
    (account, role): (i64, MemberRole),
    now: i64,
) -> Result<bool, sqlx::Error> {
    let changed = tx
        .execute(
            "UPDATE care_team_member SET role = $3 WHERE team_id = $1 AND account_id = $2",
            (team, account, role.as_str()),
        )
        .await?;
    if changed > 0 {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO care_team_member (team_id, account_id, role, added_at) VALUES ($1, $2, $3, $4)",
        (team, account, role.as_str(), now),
    )
    .await
    .map(|_| true)
}

pub async fn remove_member(tx: &mut Tx, team: i64, account: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "DELETE FROM care_team_member WHERE team_id = $1 AND account_id = $2",
        (team, account),
    )
    .await
    .map(|n| n > 0)
}

/// The team's active contracts: (contract, person).
pub async fn active_contracts(tx: &mut Tx, team: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    tx.all(
        "SELECT id, person_id FROM family_contract WHERE team_id = $1 AND status = 'active' ORDER BY id",
        (team,),
    )
    .await
}

/// Ends one member's links from the team's contracts (they left the team).
pub async fn end_member_links(
    tx: &mut Tx,
    team: i64,
    account: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    for (contract, _) in active_contracts(tx, team).await? {
        tx.execute(
            "UPDATE care_link SET active = FALSE, ended_at = $1 \
             WHERE account_id = $2 AND kind = 'care_team' AND source_id = $3 AND active = TRUE",
            (now, account, link_source(contract)),
        )
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContractRow {
    pub id: i64,
    pub person_id: i64,
    pub person: String,
    pub team_id: i64,
    pub team: String,
    pub hospital_id: i64,
    pub hospital: String,
    pub package: Package,
    pub status: ContractStatus,
    pub starts_at: i64,
    pub ends_at: i64,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
}

const CONTRACT: &str = "SELECT c.id, c.person_id, p.name AS person, c.team_id, t.name AS team, \
     t.hospital_id, h.name AS hospital, c.package, c.status, c.starts_at, c.ends_at, c.ended_at, c.end_reason \
     FROM family_contract c JOIN person p ON p.id = c.person_id JOIN care_team t ON t.id = c.team_id \
     JOIN hospital h ON h.id = t.hospital_id";

pub struct NewContract {
    pub person: i64,
    pub team: i64,
    pub package: Package,
    pub signed_by: i64,
}

pub async fn insert_contract(
    tx: &mut Tx,
    c: &NewContract,
    (starts_at, ends_at): (i64, i64),
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO family_contract (person_id, team_id, package, status, starts_at, ends_at, signed_by, created_at) \
         VALUES ($1, $2, $3, 'active', $4, $5, $6, $4) RETURNING id",
        (c.person, c.team, c.package.as_str(), starts_at, ends_at, c.signed_by),
    )
    .await
}

pub async fn contract(db: &Db, id: i64) -> Result<Option<ContractRow>, sqlx::Error> {
    db.optional(&format!("{CONTRACT} WHERE c.id = $1"), (id,))
        .await
}

/// The person's active contract, if any (in a transaction: before signing another).
pub async fn active_contract_of(tx: &mut Tx, person: i64) -> Result<Option<i64>, sqlx::Error> {
    tx.scalar_optional(
        "SELECT id FROM family_contract WHERE person_id = $1 AND status = 'active'",
        (person,),
    )
    .await
}

/// Whose contracts a reader sees.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// The people a patient account acts for.
    People(&'a [i64]),
    /// The teams a staff member belongs to.
    Member(i64),
    /// A hospital's teams (its administrators).
    Hospital(i64),
}

/// Contracts in `scope`, active first, newest first.
pub async fn contracts(db: &Db, scope: Scope<'_>) -> Result<Vec<ContractRow>, sqlx::Error> {
    let mut sql = crate::db::Sql::new(format!("{CONTRACT} WHERE "));
    match scope {
        Scope::People(people) => {
            sql.push("c.person_id IN (");
            sql.push("-1");
            for p in people {
                sql.push(", ").bind(*p);
            }
            sql.push(")");
        }
        Scope::Member(account) => {
            sql.push("c.team_id IN (SELECT team_id FROM care_team_member WHERE account_id = ")
                .bind(account)
                .push(")");
        }
        Scope::Hospital(h) => {
            sql.push("t.hospital_id = ").bind(h);
        }
    }
    sql.push(" ORDER BY c.status, c.id DESC LIMIT 500");
    sql.fetch_all(db).await
}

pub async fn extend(tx: &mut Tx, id: i64, (from, to): (i64, i64)) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE family_contract SET ends_at = $3 WHERE id = $1 AND ends_at = $2 AND status = 'active'",
        (id, from, to),
    )
    .await
    .map(|n| n > 0)
}

/// Ends the contract unless it has ended; whether this call did.
pub async fn end(tx: &mut Tx, id: i64, reason: &str, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE family_contract SET status = 'ended', ended_at = $2, end_reason = $3 \
         WHERE id = $1 AND status = 'active'",
        (id, now, reason),
    )
    .await
    .map(|n| n > 0)
}

/// `account`'s role in team `team`, if they are a member.
pub async fn role_in(db: &Db, team: i64, account: i64) -> Result<Option<MemberRole>, sqlx::Error> {
    db.scalar_optional(
        "SELECT role FROM care_team_member WHERE team_id = $1 AND account_id = $2",
        (team, account),
    )
    .await
}
