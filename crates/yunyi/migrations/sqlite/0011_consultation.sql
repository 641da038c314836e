-- Online consultation (在线咨询 / 复诊): requests with their intake, the lifecycle with its
-- history, the evidence of an earlier offline diagnosis that a follow-up visit needs, and the
-- conversation. Conversations and their history are kept: triggers refuse deletes.

-- Diagnoses made in person at a hospital (its own offline records, e.g. from its HIS). A
-- follow-up visit of the same condition qualifies on one of these without an upload.
CREATE TABLE offline_diagnosis (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id    INTEGER NOT NULL REFERENCES person (id),
    hospital_id  INTEGER NOT NULL REFERENCES hospital (id),
    icd10        TEXT NOT NULL,
    name         TEXT NOT NULL,
    diagnosed_on TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX offline_diagnosis_person ON offline_diagnosis (person_id, icd10);

-- A record the patient uploads as evidence of an offline diagnosis (门诊病历, 出院小结,
-- 诊断证明). The file is in the blob store; the doctor confirms whether it qualifies.
CREATE TABLE prior_record (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id     INTEGER NOT NULL REFERENCES person (id),
    uploaded_by   INTEGER NOT NULL REFERENCES account (id),
    kind          TEXT NOT NULL CHECK (kind IN ('outpatient_record', 'discharge_summary', 'diagnosis_certificate')),
    hospital_name TEXT NOT NULL,
    diagnosed_on  TEXT NOT NULL,
    condition     TEXT NOT NULL,
    icd10         TEXT,
    blob_key      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX prior_record_person ON prior_record (person_id, id);

CREATE TABLE consultation (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id            INTEGER NOT NULL REFERENCES person (id),
    requested_by         INTEGER NOT NULL REFERENCES account (id),
    hospital_id          INTEGER NOT NULL REFERENCES hospital (id),
    department_id        INTEGER REFERENCES department (id),
    service_id           INTEGER NOT NULL REFERENCES service (id),
    -- NULL while the request waits in the department's queue.
    doctor_id            INTEGER REFERENCES account (id),
    appointment_id       INTEGER REFERENCES appointment (id),
    kind                 TEXT NOT NULL CHECK (kind IN ('consultation', 'follow_up', 'free_clinic', 'counselling')),
    channel              TEXT NOT NULL CHECK (channel IN ('text', 'video')),
    status               TEXT NOT NULL CHECK (status IN ('requested', 'accepted', 'in_progress', 'completed', 'referred_offline', 'cancelled', 'expired')),
    -- Follow-up visits: the condition and the evidence of its offline diagnosis.
    condition_icd10      TEXT,
    offline_diagnosis_id INTEGER REFERENCES offline_diagnosis (id),
    prior_record_id      INTEGER REFERENCES prior_record (id),
    prior_confirmed_by   INTEGER REFERENCES account (id),
    prior_confirmed_at   INTEGER,
    -- Response-time target of the service and when the doctor first answered.
    reply_within_min     INTEGER NOT NULL,
    first_reply_at       INTEGER,
    -- A request nobody accepted by then expires.
    expires_at           INTEGER NOT NULL,
    -- The conversation's last message number: messages take the next under this row's lock.
    last_seq             INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    ended_at             INTEGER,
    end_reason           TEXT
);
CREATE INDEX consultation_queue ON consultation (hospital_id, status, created_at);
CREATE INDEX consultation_doctor ON consultation (doctor_id, status);
CREATE INDEX consultation_person ON consultation (person_id, created_at);
CREATE INDEX consultation_expiry ON consultation (status, expires_at);

-- Every status change: who, when and why (FHIR Encounter.statusHistory).
CREATE TABLE consultation_event (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    consultation_id INTEGER NOT NULL REFERENCES consultation (id),
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    at              INTEGER NOT NULL,
    by_account      INTEGER REFERENCES account (id),
    reason          TEXT
);
CREATE INDEX consultation_event_of ON consultation_event (consultation_id, id);

-- What the patient tells before a doctor sees the request; structured so that screening
-- (fever with travel to an outbreak area, contact, clusters) can read it.
CREATE TABLE consultation_intake (
    consultation_id       INTEGER PRIMARY KEY REFERENCES consultation (id),
    chief_complaint       TEXT NOT NULL,
    -- JSON array of {"name": "...", "onset": "YYYY-MM-DD"}.
    symptoms              TEXT NOT NULL,
    -- Tenths of a degree Celsius, when measured.
    temperature_dc        INTEGER,
    outbreak_area_travel  INTEGER NOT NULL,
    travel_region         TEXT,
    travel_returned_on    TEXT,
    confirmed_case_contact INTEGER NOT NULL,
    cluster               INTEGER NOT NULL,
    -- JSON arrays of strings.
    allergies             TEXT NOT NULL,
    medications           TEXT NOT NULL,
    -- JSON object of counselling-specific answers, NULL for other kinds.
    counselling           TEXT,
    created_at            INTEGER NOT NULL
);

-- Prior records the patient attached to the intake.
CREATE TABLE consultation_record (
    consultation_id INTEGER NOT NULL REFERENCES consultation (id),
    prior_record_id INTEGER NOT NULL REFERENCES prior_record (id),
    PRIMARY KEY (consultation_id, prior_record_id)
);

-- The conversation. `seq` numbers messages 1, 2, 3 … per consultation in commit order.
CREATE TABLE consultation_message (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    consultation_id INTEGER NOT NULL REFERENCES consultation (id),
    seq             INTEGER NOT NULL,
    sender_id       INTEGER REFERENCES account (id),
    kind            TEXT NOT NULL CHECK (kind IN ('text', 'image', 'system', 'call')),
    body            TEXT NOT NULL,
    blob_key        TEXT,
    content_type    TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (consultation_id, seq)
);

-- Read receipts: the last message each participant has seen.
CREATE TABLE consultation_read (
    consultation_id INTEGER NOT NULL REFERENCES consultation (id),
    account_id      INTEGER NOT NULL REFERENCES account (id),
    last_seq        INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    PRIMARY KEY (consultation_id, account_id)
);

-- Retention: nothing of a conversation is ever deleted by the application.
CREATE TRIGGER consultation_no_delete BEFORE DELETE ON consultation
BEGIN SELECT RAISE(ABORT, 'consultations are kept'); END;
CREATE TRIGGER consultation_message_no_delete BEFORE DELETE ON consultation_message
BEGIN SELECT RAISE(ABORT, 'consultation messages are kept'); END;
CREATE TRIGGER consultation_message_no_update BEFORE UPDATE ON consultation_message
BEGIN SELECT RAISE(ABORT, 'consultation messages are kept as sent'); END;
CREATE TRIGGER consultation_event_no_change BEFORE DELETE ON consultation_event
BEGIN SELECT RAISE(ABORT, 'consultation history is kept'); END;
