-- SMART on FHIR App Launch (issue #26): apps registered by the platform admin, the
-- authorizations people give them, one-time authorization codes and rotating refresh tokens.
-- Access tokens are ordinary bearer sessions that name their grant.
CREATE TABLE oauth_client (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id     TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    -- SHA-256 of the secret; NULL for a public client (a phone or browser app cannot keep a
    -- secret: PKCE protects its codes).
    secret_hash   TEXT,
    -- Exact redirect URIs, one per line: a code is only ever sent to one of these.
    redirect_uris TEXT NOT NULL,
    -- The widest scopes the app may ever be granted.
    scope         TEXT NOT NULL,
    created_by    INTEGER NOT NULL REFERENCES account (id),
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);

-- One person's consent for one app: what it may see, for which patient. Revoking it ends every
-- token issued under it.
CREATE TABLE oauth_grant (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id   INTEGER NOT NULL REFERENCES oauth_client (id),
    account_id  INTEGER NOT NULL REFERENCES account (id),
    scope       TEXT NOT NULL,
    -- The patient in context (launch/patient, patient/ scopes).
    patient_id  INTEGER REFERENCES person (id),
    -- A doctor's fresh identity check at consent time, carried to the first access token.
    step_up_at  INTEGER,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX oauth_grant_account ON oauth_grant (account_id);

CREATE TABLE oauth_code (
    code_hash      TEXT PRIMARY KEY,
    grant_id       INTEGER NOT NULL REFERENCES oauth_grant (id),
    redirect_uri   TEXT NOT NULL,
    -- BASE64URL(SHA-256(code_verifier)): only S256 is accepted.
    code_challenge TEXT NOT NULL,
    -- OpenID Connect: returned in the id_token, so the app can tie it to its request.
    nonce          TEXT,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
);
CREATE INDEX oauth_code_grant ON oauth_code (grant_id);

-- Each refresh token is used once: using it returns a new one. A used token presented again
-- means it leaked, and the whole grant is revoked.
CREATE TABLE oauth_refresh (
    token_hash TEXT PRIMARY KEY,
    grant_id   INTEGER NOT NULL REFERENCES oauth_grant (id),
    scope      TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX oauth_refresh_grant ON oauth_refresh (grant_id);

ALTER TABLE auth_session ADD COLUMN grant_id INTEGER REFERENCES oauth_grant (id);
-- The scope of a SMART access token (narrower than its grant's after a narrowing refresh).
ALTER TABLE auth_session ADD COLUMN scope TEXT;
CREATE INDEX auth_session_grant ON auth_session (grant_id);

-- The RSA key that signs OpenID Connect id_tokens (RS256), sealed with the data key. Every node
-- uses the oldest one, so several servers sign alike; its public half is at the JWKS address.
CREATE TABLE signing_key (
    kid             TEXT PRIMARY KEY,
    private_key_enc BLOB NOT NULL,
    created_at      INTEGER NOT NULL
);
