-- Audit events are written unsealed, in the writer's own transaction, to this queue; one sealer
-- at a time moves them in batches into the hash chain (`audit_event`), taking the chain head's
-- lock once per batch instead of once per write.
CREATE TABLE audit_pending (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
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
    client_addr  TEXT
);
