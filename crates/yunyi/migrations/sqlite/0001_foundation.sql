-- Foundation: settings, the durable job table (outbox), and the minimal directory
-- (hospitals and departments) that the demo seeds. Times are UTC epoch milliseconds.

CREATE TABLE app_setting (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE job (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    -- Enqueueing twice with one key makes one job (recurring slots, idempotent producers).
    dedupe_key   TEXT UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       INTEGER NOT NULL,
    locked_by    TEXT,
    locked_until INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX job_due ON job (status, run_at);

CREATE TABLE hospital (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    name_en     TEXT,
    level       TEXT NOT NULL,
    region_code TEXT NOT NULL,
    address     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at  INTEGER NOT NULL
);

CREATE TABLE department (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id   INTEGER NOT NULL REFERENCES hospital (id),
    std_code      TEXT NOT NULL,
    name          TEXT NOT NULL,
    name_en       TEXT,
    offers_online INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    UNIQUE (hospital_id, name)
);
CREATE INDEX department_hospital ON department (hospital_id);
