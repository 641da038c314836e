-- Remote consultations between hospitals (远程会诊, 远程医疗服务管理规范(试行) 2018; issue #20).
-- A doctor of the inviting hospital drafts one for a patient in their care, records the
-- patient's informed consent, and sends it to an invited hospital; the invited side accepts or
-- declines, schedules and holds the session; its specialist signs an opinion report, which the
-- inviting doctor receives and decides on (the inviting hospital stays responsible). The
-- lifecycle is `teleconsult::model::transition`.

-- How soon an invited hospital answers requests from an inviting one: the opinion is due this
-- many minutes after sending (routine, urgent). Without a row: 48 hours and 2 hours.
CREATE TABLE teleconsult_terms (
    inviting_id     INTEGER NOT NULL REFERENCES hospital (id),
    invited_id      INTEGER NOT NULL REFERENCES hospital (id),
    routine_minutes INTEGER NOT NULL CHECK (routine_minutes > 0),
    urgent_minutes  INTEGER NOT NULL CHECK (urgent_minutes > 0),
    updated_by      INTEGER NOT NULL REFERENCES account (id),
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (inviting_id, invited_id)
);

CREATE TABLE teleconsult (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id             INTEGER NOT NULL REFERENCES person (id),
    inviting_hospital_id  INTEGER NOT NULL REFERENCES hospital (id),
    inviting_doctor_id    INTEGER NOT NULL REFERENCES account (id),
    invited_hospital_id   INTEGER NOT NULL REFERENCES hospital (id),
    invited_department_id INTEGER REFERENCES department (id),
    -- Named by the inviting doctor, or the one who accepted (or whom the coordinator assigned).
    specialist_id         INTEGER REFERENCES account (id),
    urgency               TEXT NOT NULL CHECK (urgency IN ('routine', 'urgent')),
    question              TEXT NOT NULL,
    summary               TEXT NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('draft', 'requested', 'accepted', 'scheduled', 'held', 'reported', 'received', 'declined', 'cancelled')),
    -- Informed consent: signed by the patient (or guardian) on their phone, or on paper
    -- scanned by the inviting doctor with who witnessed it.
    consent_method        TEXT CHECK (consent_method IN ('signed', 'paper')),
    consent_by            INTEGER REFERENCES account (id),
    consent_signer        TEXT,
    consent_witness       TEXT,
    consent_blob_key      TEXT,
    consent_content_type  TEXT,
    consent_at            INTEGER,
    -- The minutes the opinion is due after sending, fixed when sent from the pair's terms.
    window_minutes        INTEGER,
    scheduled_at          INTEGER,
    -- When the current step is due (answer, schedule, session, report, receipt).
    due_at                INTEGER,
    report_due_at         INTEGER,
    reason                TEXT,
    decision              TEXT,
    created_at            INTEGER NOT NULL,
    sent_at               INTEGER,
    reported_at           INTEGER,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX teleconsult_invited ON teleconsult (invited_hospital_id, status);
CREATE INDEX teleconsult_inviting ON teleconsult (inviting_hospital_id, status);
CREATE INDEX teleconsult_person ON teleconsult (person_id);

-- The record items the inviting doctor shares: the specialist reads these and nothing else.
CREATE TABLE teleconsult_item (
    teleconsult_id INTEGER NOT NULL REFERENCES teleconsult (id),
    kind           TEXT NOT NULL CHECK (kind IN ('note', 'prescription', 'prior_record', 'offline_diagnosis')),
    item_id        INTEGER NOT NULL,
    PRIMARY KEY (teleconsult_id, kind, item_id)
);

CREATE TABLE teleconsult_event (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    teleconsult_id INTEGER NOT NULL REFERENCES teleconsult (id),
    from_status    TEXT,
    to_status      TEXT NOT NULL,
    actor_id       INTEGER NOT NULL REFERENCES account (id),
    reason         TEXT,
    at             INTEGER NOT NULL
);
CREATE INDEX teleconsult_event_of ON teleconsult_event (teleconsult_id, id);

-- Who joined the session and when they left: the inviting physician must have been there.
CREATE TABLE teleconsult_participant (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    teleconsult_id INTEGER NOT NULL REFERENCES teleconsult (id),
    account_id     INTEGER NOT NULL REFERENCES account (id),
    part           TEXT NOT NULL CHECK (part IN ('inviting', 'specialist', 'patient')),
    joined_at      INTEGER NOT NULL,
    left_at        INTEGER
);
CREATE INDEX teleconsult_participant_of ON teleconsult_participant (teleconsult_id, account_id);

-- The specialist's opinion. Editable until signed; a signed report is never changed (later
-- words are addenda) and never deleted.
CREATE TABLE teleconsult_report (
    teleconsult_id  INTEGER PRIMARY KEY REFERENCES teleconsult (id),
    author_id       INTEGER NOT NULL REFERENCES account (id),
    findings        TEXT NOT NULL,
    diagnosis_icd10 TEXT NOT NULL,
    diagnosis_name  TEXT NOT NULL,
    recommendations TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    signed_at       INTEGER
);

CREATE TRIGGER teleconsult_report_no_delete BEFORE DELETE ON teleconsult_report
BEGIN SELECT RAISE(ABORT, 'remote consultation reports are kept'); END;
CREATE TRIGGER teleconsult_report_signed BEFORE UPDATE ON teleconsult_report
WHEN OLD.signed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a signed remote consultation report is not changed'); END;

CREATE TABLE teleconsult_addendum (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    teleconsult_id INTEGER NOT NULL REFERENCES teleconsult (id),
    author_id      INTEGER NOT NULL REFERENCES account (id),
    body           TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX teleconsult_addendum_of ON teleconsult_addendum (teleconsult_id, id);

-- Remote consultations are a topic of their own in a person's notification preferences
-- (SQLite cannot change a CHECK constraint in place: the table is rebuilt).
CREATE TABLE notification_preference_new (
    account_id  INTEGER NOT NULL REFERENCES account (id),
    topic       TEXT NOT NULL CHECK (topic IN ('consultation', 'appointment', 'prescription',
                    'delivery', 'payment', 'teleconsult')),
    channel     TEXT NOT NULL CHECK (channel IN ('sms', 'webpush', 'wechat')),
    enabled     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, topic, channel)
);
INSERT INTO notification_preference_new SELECT * FROM notification_preference;
DROP TABLE notification_preference;
ALTER TABLE notification_preference_new RENAME TO notification_preference;
