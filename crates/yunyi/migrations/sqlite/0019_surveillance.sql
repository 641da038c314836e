-- Epidemic screening and surveillance (issue #9).

-- A hospital's screening rules (预检分诊规则), one row per version: a change is a new version,
-- so every flag names the rules that raised it and the history shows who changed what.
-- A hospital with no version screens with the built-in default (version 0).
CREATE TABLE screening_rule_set (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id  INTEGER NOT NULL REFERENCES hospital (id),
    version      INTEGER NOT NULL,
    body         TEXT NOT NULL,
    note         TEXT NOT NULL,
    created_by   INTEGER REFERENCES account (id),
    created_at   INTEGER NOT NULL,
    UNIQUE (hospital_id, version)
);

-- What a consultation has shown so far (intake and the patient's messages), the first
-- evidence of each signal: a new message is screened together with these.
CREATE TABLE screening_signal (
    consultation_id INTEGER NOT NULL REFERENCES consultation (id),
    signal          TEXT NOT NULL,
    source          TEXT NOT NULL,
    quote           TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (consultation_id, signal)
);

-- The rules that fired for a consultation, once each: what the syndromic counts count.
CREATE TABLE screening_hit (
    consultation_id INTEGER NOT NULL REFERENCES consultation (id),
    rule_id         TEXT NOT NULL,
    syndrome        TEXT NOT NULL,
    rule_version    INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (consultation_id, rule_id)
);

-- A suspected case (疑似病例) and its escalation: flagged by a rule or by the doctor, worked by
-- the hospital's infection officers step by step, each step due by `due_at`.
CREATE TABLE epi_case (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id     INTEGER NOT NULL REFERENCES hospital (id),
    consultation_id INTEGER REFERENCES consultation (id),
    person_id       INTEGER NOT NULL REFERENCES person (id),
    rule_id         TEXT NOT NULL,
    rule_name       TEXT NOT NULL,
    rule_version    INTEGER NOT NULL,
    evidence        TEXT NOT NULL,
    syndrome        TEXT NOT NULL,
    flagged_by      INTEGER REFERENCES account (id),
    status          TEXT NOT NULL CHECK (status IN ('flagged', 'contacted', 'transport_arranged',
                        'test_booked', 'result_recorded', 'closed', 'dismissed')),
    transport       TEXT CHECK (transport IN ('ambulance', 'self')),
    instructions    TEXT,
    test_name       TEXT,
    test_at         INTEGER,
    result          TEXT CHECK (result IN ('positive', 'negative')),
    disease         TEXT,
    dismiss_reason  TEXT,
    due_at          INTEGER,
    reminded_at     INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- One open case per consultation: a second rule firing adds nothing to work.
CREATE UNIQUE INDEX epi_case_open ON epi_case (consultation_id)
    WHERE status NOT IN ('closed', 'dismissed');
CREATE INDEX epi_case_hospital ON epi_case (hospital_id, status, created_at);
CREATE INDEX epi_case_person ON epi_case (person_id, hospital_id);
CREATE INDEX epi_case_due ON epi_case (due_at);

CREATE TABLE epi_case_event (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id     INTEGER NOT NULL REFERENCES epi_case (id),
    from_status TEXT,
    to_status   TEXT NOT NULL,
    actor_id    INTEGER REFERENCES account (id),
    note        TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX epi_case_event_case ON epi_case_event (case_id, id);

-- 传染病报告卡: made when a case's result is positive; the fields the card needs that the
-- patient's record does not hold. The card itself is composed on export.
CREATE TABLE disease_report (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id          INTEGER NOT NULL UNIQUE REFERENCES epi_case (id),
    hospital_id      INTEGER NOT NULL REFERENCES hospital (id),
    person_id        INTEGER NOT NULL REFERENCES person (id),
    disease          TEXT NOT NULL,
    disease_class    TEXT NOT NULL CHECK (disease_class IN ('A', 'B', 'C', 'other')),
    classification   TEXT NOT NULL CHECK (classification IN ('suspected', 'clinical', 'confirmed', 'carrier')),
    onset_on         TEXT,
    diagnosed_at     INTEGER NOT NULL,
    reporter_id      INTEGER NOT NULL REFERENCES account (id),
    region           TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX disease_report_hospital ON disease_report (hospital_id, created_at);

-- Daily counts from several points (多点触发): per CST day, GB/T 2260 region, syndrome, the
-- point it came from and hospital (0: none, e.g. an anonymous triage). Scanned per
-- (syndrome, region) series by the daily job.
CREATE TABLE signal_count (
    day          TEXT NOT NULL,
    region       TEXT NOT NULL,
    syndrome     TEXT NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('triage', 'intake', 'flag', 'positive', 'prescription')),
    hospital_id  INTEGER NOT NULL,
    n            INTEGER NOT NULL CHECK (n >= 0),
    PRIMARY KEY (syndrome, region, day, source, hospital_id)
);
CREATE INDEX signal_count_day ON signal_count (day);

-- An aberration found by the daily scan. Deduplicated per series: while a series has an alert
-- that is not closed, later aberrant days extend it (last_day, days) instead of raising
-- another; after it is closed only a day after its last_day raises a new one.
CREATE TABLE surveillance_alert (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    syndrome     TEXT NOT NULL,
    region       TEXT NOT NULL,
    day          TEXT NOT NULL,
    last_day     TEXT NOT NULL,
    days         INTEGER NOT NULL,
    method       TEXT NOT NULL CHECK (method IN ('c1', 'c2', 'c3', 'cusum')),
    count        INTEGER NOT NULL,
    statistic    REAL NOT NULL,
    threshold    REAL NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'closed')),
    acted_by     INTEGER REFERENCES account (id),
    note         TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX surveillance_alert_open ON surveillance_alert (syndrome, region)
    WHERE status <> 'closed';
CREATE INDEX surveillance_alert_status ON surveillance_alert (status, day);
