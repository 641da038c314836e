-- Identity (people, accounts, family links, sessions, one-time codes, throttling, care links)
-- and the hash-chained audit trail. Identity numbers and phones are stored encrypted
-- (AES-256-GCM) with a keyed hash for look-up and a masked form for display.

CREATE TABLE person (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL,
    id_number_enc  BLOB NOT NULL,
    id_number_hash TEXT NOT NULL UNIQUE,
    id_number_mask TEXT NOT NULL,
    birth_date     TEXT NOT NULL,
    sex            TEXT NOT NULL CHECK (sex IN ('male', 'female')),
    created_at     INTEGER NOT NULL
);

CREATE TABLE account (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('patient', 'doctor', 'nurse', 'pharmacist', 'hospital_admin', 'infection_officer', 'regulator', 'platform_admin')),
    display_name  TEXT NOT NULL,
    password_hash TEXT,
    phone_enc     BLOB,
    phone_hash    TEXT UNIQUE,
    phone_mask    TEXT,
    person_id     INTEGER UNIQUE REFERENCES person (id),
    hospital_id   INTEGER REFERENCES hospital (id),
    status        TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_by    INTEGER REFERENCES account (id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX account_hospital ON account (hospital_id, role);

CREATE TABLE family_link (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES account (id),
    person_id    INTEGER NOT NULL REFERENCES person (id),
    relationship TEXT NOT NULL,
    is_guardian  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (account_id, person_id)
);
CREATE INDEX family_link_person ON family_link (person_id);

CREATE TABLE auth_session (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('cookie', 'bearer')),
    account_id  INTEGER NOT NULL REFERENCES account (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    step_up_at  INTEGER,
    client_addr TEXT
);
CREATE INDEX auth_session_account ON auth_session (account_id);
CREATE INDEX auth_session_expiry ON auth_session (expires_at);

CREATE TABLE otp_code (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    phone_hash  TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX otp_code_phone ON otp_code (phone_hash, created_at);

CREATE TABLE login_throttle (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    locked_until    INTEGER NOT NULL
);

-- A clinician's active relationship to a patient (person): written by the contexts that create
-- it (appointment, consultation, referral, remote consultation, care team) in their own
-- transactions, read by the access policy.
CREATE TABLE care_link (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES account (id),
    person_id   INTEGER NOT NULL REFERENCES person (id),
    hospital_id INTEGER NOT NULL REFERENCES hospital (id),
    kind        TEXT NOT NULL CHECK (kind IN ('appointment', 'consultation', 'referral', 'teleconsult', 'care_team')),
    source_id   TEXT,
    active      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    ended_at    INTEGER
);
CREATE INDEX care_link_lookup ON care_link (account_id, person_id, active);

CREATE TABLE audit_event (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    actor_id     INTEGER,
    actor_role   TEXT NOT NULL,
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT,
    patient_id   INTEGER,
    outcome      TEXT NOT NULL,
    reason       TEXT,
    flagged      INTEGER NOT NULL,
    request_id   TEXT,
    client_addr  TEXT,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_event_patient ON audit_event (patient_id, id);
CREATE INDEX audit_event_actor ON audit_event (actor_id, id);
CREATE INDEX audit_event_flagged ON audit_event (flagged, id);

-- The chain head: one row, locked by every append so the chain never forks.
CREATE TABLE audit_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    last_id   INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (singleton, last_id, last_hash) VALUES (1, 0, 'genesis');

-- Append-only, enforced by the database as well as by the code.
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;
