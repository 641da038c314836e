-- Care plans (issue #21): a team's plan for a patient made from a template (hypertension,
-- type 2 diabetes, post-operative, post-discharge heart failure), the limits it sets on home
-- readings, the readings the patient enters, the questionnaires it sends on a schedule, and
-- the tasks a worrying reading or answer, or a missed follow-up, gives the team.
-- Values are in tenths (0.1 mmol/L, 0.1 kg, 0.1 °C, mmHg × 10): exact on both backends.
CREATE TABLE care_plan (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id   INTEGER NOT NULL REFERENCES person (id),
    team_id     INTEGER NOT NULL REFERENCES care_team (id),
    template    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    -- The day it starts (discharge day, or the day it is made), China time.
    starts_on   TEXT NOT NULL,
    note        TEXT NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES account (id),
    created_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    end_reason  TEXT
);
CREATE INDEX care_plan_person ON care_plan (person_id, status);
CREATE INDEX care_plan_team ON care_plan (team_id, status);

CREATE TABLE care_limit (
    plan_id INTEGER NOT NULL REFERENCES care_plan (id),
    limit_of TEXT NOT NULL CHECK (limit_of IN ('systolic', 'diastolic', 'glucose', 'weight', 'temperature')),
    low     INTEGER,
    high    INTEGER,
    PRIMARY KEY (plan_id, limit_of)
);

CREATE TABLE care_reading (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id  INTEGER NOT NULL REFERENCES person (id),
    -- The plan it was checked against, if one was running.
    plan_id    INTEGER REFERENCES care_plan (id),
    measure    TEXT NOT NULL CHECK (measure IN ('blood_pressure', 'glucose', 'weight', 'temperature')),
    value      INTEGER NOT NULL,
    value2     INTEGER,
    taken_at   INTEGER NOT NULL,
    -- Beyond a limit of its plan.
    flagged    INTEGER NOT NULL,
    entered_by INTEGER NOT NULL REFERENCES account (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX care_reading_person ON care_reading (person_id, taken_at);

-- A questionnaire due: scheduled, sent to the patient side at its time (once), answered, or
-- missed (not answered in time: the team chases it).
CREATE TABLE care_followup (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id       INTEGER NOT NULL REFERENCES care_plan (id),
    questionnaire TEXT NOT NULL,
    due_at        INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('scheduled', 'sent', 'answered', 'missed', 'cancelled')),
    sent_at       INTEGER,
    answers       TEXT,
    answered_by   INTEGER REFERENCES account (id),
    answered_at   INTEGER
);
CREATE INDEX care_followup_due ON care_followup (status, due_at);
CREATE INDEX care_followup_plan ON care_followup (plan_id, due_at);

CREATE TABLE care_task (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id     INTEGER NOT NULL REFERENCES care_plan (id),
    person_id   INTEGER NOT NULL REFERENCES person (id),
    team_id     INTEGER NOT NULL REFERENCES care_team (id),
    kind        TEXT NOT NULL CHECK (kind IN ('reading', 'answer', 'missed')),
    reading_id  INTEGER REFERENCES care_reading (id),
    followup_id INTEGER REFERENCES care_followup (id),
    -- What it is about, in the team's words (e.g. `152/96 mmHg`, `pain, wound`).
    detail      TEXT NOT NULL,
    urgent      INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    created_at  INTEGER NOT NULL,
    closed_by   INTEGER REFERENCES account (id),
    closed_at   INTEGER,
    -- What the team told the patient when closing it.
    reply       TEXT
);
CREATE INDEX care_task_team ON care_task (team_id, status, due_at);
CREATE INDEX care_task_person ON care_task (person_id, created_at);
