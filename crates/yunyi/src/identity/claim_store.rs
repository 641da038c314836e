//! SQL of identity claims (see `claims.rs`): a claim to act for, or to be, a person on record.

use crate::db::{Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimRow {
    pub id: i64,
    pub kind: String,
    pub claimant_id: i64,
    pub person_id: i64,
    pub claimed_name: String,
    pub relationship: Option<String>,
    pub guardian: bool,
    pub name_matches: bool,
    pub code_hash: Option<String>,
    pub code_attempts: i64,
    pub status: String,
    pub decided_by: Option<i64>,
    pub decided_how: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
}

const COLUMNS: &str = "id, kind, claimant_id, person_id, claimed_name, relationship, guardian, \
     name_matches, code_hash, code_attempts, status, decided_by, decided_how, created_at, \
     expires_at, decided_at";

pub struct NewClaim<'a> {
    pub kind: &'a str,
    pub claimant_id: i64,
    pub person_id: i64,
    pub claimed_name: &'a str,
    pub relationship: Option<&'a str>,
    pub guardian: bool,
    pub name_matches: bool,
    pub code_hash: Option<&'a str>,
    pub expires_at: i64,
}

pub async fn insert(tx: &mut Tx, c: &NewClaim<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO identity_claim (kind, claimant_id, person_id, claimed_name, relationship, \
         guardian, name_matches, code_hash, code_attempts, status, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 'pending', $9, $10) RETURNING id",
        (
            c.kind,
            c.claimant_id,
            c.person_id,
            c.claimed_name,
            c.relationship,
            c.guardian,
            c.name_matches,
            c.code_hash,
            now,
            c.expires_at,
        ),
    )
    .await
}

pub async fn claim(db: &Db, id: i64) -> Result<Option<ClaimRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM identity_claim WHERE id = $1");
    db.optional::<ClaimRow>(&sql, (id,)).await
}

/// The claimant's claims, newest first (the last 50).
pub async fn by_claimant(db: &Db, claimant: i64) -> Result<Vec<ClaimRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM identity_claim WHERE claimant_id = $1 ORDER BY id DESC LIMIT 50"
    );
    db.all::<ClaimRow>(&sql, (claimant,)).await
}

/// The claimant's live claim on a person, if any (a repeated request reuses it).
pub async fn live_for(
    db: &Db,
    claimant: i64,
    person: i64,
    now: i64,
) -> Result<Option<ClaimRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM identity_claim WHERE claimant_id = $1 AND person_id = $2 \
         AND status = 'pending' AND expires_at > $3 ORDER BY id DESC LIMIT 1"
    );
    db.optional::<ClaimRow>(&sql, (claimant, person, now)).await
}

/// How many live claims the claimant has waiting.
pub async fn live_count(db: &Db, claimant: i64, now: i64) -> Result<i64, sqlx::Error> {
    db.scalar::<i64>(
        "SELECT COUNT(*) FROM identity_claim WHERE claimant_id = $1 AND status = 'pending' \
         AND expires_at > $2",
        (claimant, now),
    )
    .await
}

/// Live, approvable claims on any of these people, oldest first.
pub async fn live_on(db: &Db, people: &[i64], now: i64) -> Result<Vec<ClaimRow>, sqlx::Error> {
    let mut rows = Vec::new();
    let sql = format!(
        "SELECT {COLUMNS} FROM identity_claim WHERE person_id = $1 AND status = 'pending' \
         AND name_matches = TRUE AND expires_at > $2 ORDER BY id"
    );
    // A holder acts for a handful of people: one indexed read each.
    for person in people {
        let mut some = db.all::<ClaimRow>(&sql, (person, now)).await?;
        rows.append(&mut some);
    }
    Ok(rows)
}

/// Counts a try of the code; false when the claim is no longer open to codes.
pub async fn count_attempt(
    db: &Db,
    id: i64,
    max_attempts: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    db.execute(
        "UPDATE identity_claim SET code_attempts = code_attempts + 1 WHERE id = $1 \
         AND status = 'pending' AND expires_at > $3 AND code_attempts < $2",
        (id, max_attempts, now),
    )
    .await
    .map(|n| n == 1)
}

/// Decides a live claim; false when it was no longer pending (decided or expired meanwhile).
/// Only a claim whose name matched the record can be approved.
pub async fn decide(
    tx: &mut Tx,
    id: i64,
    status: &str,
    by: Option<i64>,
    how: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE identity_claim SET status = $2, decided_by = $3, decided_how = $4, decided_at = $5 \
         WHERE id = $1 AND status = 'pending' AND expires_at > $5 \
         AND (name_matches = TRUE OR $2 = 'rejected')",
        (id, status, by, how, now),
    )
    .await
    .map(|n| n == 1)
}

/// Makes a person an account's own, once: only an account without a person, and only a
/// person no account holds (the unique index on `account.person_id` guards the second).
pub async fn give_person(tx: &mut Tx, account: i64, person: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE account SET person_id = $2 WHERE id = $1 AND person_id IS NULL",
        (account, person),
    )
    .await
    .map(|n| n == 1)
}

/// Who holds a person: the account that is theirs.
pub async fn own_account(
    db: &Db,
    person: i64,
) -> Result<Option<(i64, Option<Vec<u8>>)>, sqlx::Error> {
    db.optional::<(i64, Option<Vec<u8>>)>(
        "SELECT id, phone_enc FROM account WHERE person_id = $1 AND status = 'active'",
        (person,),
    )
    .await
}

/// The accounts that act for a person, guardians first: (account, guardian, phone).
pub async fn family_holders(
    db: &Db,
    person: i64,
) -> Result<Vec<(i64, bool, Option<Vec<u8>>)>, sqlx::Error> {
    db.all::<(i64, bool, Option<Vec<u8>>)>(
        "SELECT a.id, f.is_guardian, a.phone_enc FROM family_link f JOIN account a ON a.id = f.account_id \
         WHERE f.person_id = $1 AND a.status = 'active' ORDER BY f.is_guardian DESC, f.id",
        (person,),
    )
    .await
}

/// The people an account acts for (its own person and its family links).
pub async fn people_held_by(db: &Db, account: i64) -> Result<Vec<i64>, sqlx::Error> {
    db.scalars::<i64>(
        "SELECT person_id FROM account WHERE id = $1 AND person_id IS NOT NULL \
         UNION SELECT person_id FROM family_link WHERE account_id = $1",
        (account,),
    )
    .await
}
