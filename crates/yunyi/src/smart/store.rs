//! SQL of the SMART authorization server: apps, grants, codes, refresh tokens, and the bearer
//! sessions issued under a grant.

use crate::db::{Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientRow {
    pub id: i64,
    pub client_id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: String,
    pub scope: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

const CLIENT_COLUMNS: &str =
    "id, client_id, name, secret_hash, redirect_uris, scope, created_at, disabled_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GrantRow {
    pub id: i64,
    pub client: i64,
    pub account_id: i64,
    pub scope: String,
    pub patient_id: Option<i64>,
    pub step_up_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CodeRow {
    pub grant_id: i64,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshRow {
    pub grant_id: i64,
    pub scope: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_client(
    db: &Db,
    client_id: &str,
    name: &str,
    secret_hash: Option<&str>,
    redirect_uris: &str,
    scope: &str,
    created_by: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    db.scalar::<i64>(
        "INSERT INTO oauth_client (client_id, name, secret_hash, redirect_uris, scope, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        (client_id, name, secret_hash, redirect_uris, scope, created_by, now),
    )
    .await
}

pub async fn client_by_client_id(
    db: &Db,
    client_id: &str,
) -> Result<Option<ClientRow>, sqlx::Error> {
    db.optional::<ClientRow>(
        &format!("SELECT {CLIENT_COLUMNS} FROM oauth_client WHERE client_id = $1"),
        (client_id,),
    )
    .await
}

pub async fn client(db: &Db, id: i64) -> Result<Option<ClientRow>, sqlx::Error> {
    db.optional::<ClientRow>(
        &format!("SELECT {CLIENT_COLUMNS} FROM oauth_client WHERE id = $1"),
        (id,),
    )
    .await
}

pub async fn clients(db: &Db) -> Result<Vec<ClientRow>, sqlx::Error> {
    db.all::<ClientRow>(
        &format!("SELECT {CLIENT_COLUMNS} FROM oauth_client ORDER BY id"),
        (),
    )
    .await
}

pub async fn insert_grant(
    tx: &mut Tx,
    client: i64,
    account_id: i64,
    scope: &str,
    patient_id: Option<i64>,
    step_up_at: Option<i64>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO oauth_grant (client_id, account_id, scope, patient_id, step_up_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        (client, account_id, scope, patient_id, step_up_at, now),
    )
    .await
}

pub async fn grant(db: &Db, id: i64) -> Result<Option<GrantRow>, sqlx::Error> {
    db.optional::<GrantRow>(
        "SELECT id, client_id AS client, account_id, scope, patient_id, step_up_at, revoked_at \
         FROM oauth_grant WHERE id = $1",
        (id,),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_code(
    tx: &mut Tx,
    code_hash: &str,
    grant_id: i64,
    redirect_uri: &str,
    code_challenge: &str,
    nonce: Option<&str>,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO oauth_code (code_hash, grant_id, redirect_uri, code_challenge, nonce, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        (code_hash, grant_id, redirect_uri, code_challenge, nonce, expires_at),
    )
    .await
    .map(|_| ())
}

pub async fn code(db: &Db, code_hash: &str) -> Result<Option<CodeRow>, sqlx::Error> {
    db.optional::<CodeRow>(
        "SELECT grant_id, redirect_uri, code_challenge, nonce, expires_at, used_at FROM oauth_code WHERE code_hash = $1",
        (code_hash,),
    )
    .await
}

/// Marks a code used; false when another request used it first.
pub async fn use_code(tx: &mut Tx, code_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE oauth_code SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL",
        (code_hash, now),
    )
    .await
    .map(|n| n == 1)
}

pub async fn insert_refresh(
    tx: &mut Tx,
    token_hash: &str,
    grant_id: i64,
    scope: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO oauth_refresh (token_hash, grant_id, scope, expires_at) VALUES ($1, $2, $3, $4)",
        (token_hash, grant_id, scope, expires_at),
    )
    .await
    .map(|_| ())
}

pub async fn refresh(db: &Db, token_hash: &str) -> Result<Option<RefreshRow>, sqlx::Error> {
    db.optional::<RefreshRow>(
        "SELECT grant_id, scope, expires_at, used_at FROM oauth_refresh WHERE token_hash = $1",
        (token_hash,),
    )
    .await
}

/// Marks a refresh token used; false when another request used it first.
pub async fn use_refresh(tx: &mut Tx, token_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE oauth_refresh SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
        (token_hash, now),
    )
    .await
    .map(|n| n == 1)
}

/// A bearer session under a grant.
pub struct NewAccess<'a> {
    pub token_hash: &'a str,
    pub account_id: i64,
    pub grant_id: i64,
    pub scope: &'a str,
    pub step_up_at: Option<i64>,
    pub expires_at: i64,
    pub client_addr: Option<&'a str>,
    pub now: i64,
}

/// Inserts the session; its id.
pub async fn insert_access(tx: &mut Tx, a: &NewAccess<'_>) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO auth_session (token_hash, kind, account_id, created_at, expires_at, client_addr, grant_id, scope, step_up_at) \
         VALUES ($1, 'bearer', $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        (a.token_hash, a.account_id, a.now, a.expires_at, a.client_addr, a.grant_id, a.scope, a.step_up_at),
    )
    .await
}

/// Revokes a grant and every session under it; the revoked sessions' token hashes (so this
/// process forgets them at once). Empty when it was revoked already.
pub async fn revoke_grant(
    tx: &mut Tx,
    grant_id: i64,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let n = tx
        .execute(
            "UPDATE oauth_grant SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            (grant_id, now),
        )
        .await?;
    if n == 0 {
        return Ok(Vec::new());
    }
    tx.scalars::<String>(
        "UPDATE auth_session SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL RETURNING token_hash",
        (grant_id, now),
    )
    .await
}

/// Deletes codes and refresh tokens that expired before `before`. A spent refresh token stays
/// until it would have expired, so a replay is recognised for its whole life.
pub async fn delete_ended(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    let codes = db
        .execute("DELETE FROM oauth_code WHERE expires_at < $1", (before,))
        .await?;
    let refreshes = db
        .execute("DELETE FROM oauth_refresh WHERE expires_at < $1", (before,))
        .await?;
    Ok(codes + refreshes)
}

/// Stores a signing key unless one with its id exists.
pub async fn insert_signing_key(
    db: &Db,
    kid: &str,
    sealed: &[u8],
    now: i64,
) -> Result<(), sqlx::Error> {
    db.execute(
        "INSERT INTO signing_key (kid, private_key_enc, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (kid) DO NOTHING",
        (kid, sealed, now),
    )
    .await
    .map(|_| ())
}

/// The signing key every node uses: the oldest.
pub async fn oldest_signing_key(db: &Db) -> Result<Option<(String, Vec<u8>)>, sqlx::Error> {
    db.optional::<(String, Vec<u8>)>(
        "SELECT kid, private_key_enc FROM signing_key ORDER BY created_at, kid LIMIT 1",
        (),
    )
    .await
}
