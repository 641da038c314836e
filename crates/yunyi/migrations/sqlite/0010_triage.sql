-- Triage records (智慧导医): one row per triage answered, anonymised — no account, no person,
-- no free text; the age as a band. They feed counts for surveillance (what people come with,
-- where they are sent, how many emergencies) and the quality of the triage (the patient's final
-- choice against the suggestion). `token` is the random handle the client records its choice
-- with; it is never shown to anyone else.
CREATE TABLE triage_record (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    token              TEXT NOT NULL UNIQUE,
    created_at         INTEGER NOT NULL,
    day                TEXT NOT NULL,
    hospital_id        INTEGER REFERENCES hospital (id),
    age_band           TEXT,
    sex                TEXT CHECK (sex IN ('female', 'male')),
    pregnant           INTEGER NOT NULL DEFAULT 0,
    urgency            TEXT NOT NULL CHECK (urgency IN ('routine', 'urgent', 'emergency')),
    departments        TEXT NOT NULL,
    red_flags          TEXT NOT NULL,
    screening          INTEGER NOT NULL DEFAULT 0,
    follow_ups         INTEGER NOT NULL DEFAULT 0,
    knowledge_version  TEXT NOT NULL,
    choice             TEXT CHECK (choice IN ('booking', 'consultation', 'emergency', 'none')),
    choice_department  TEXT,
    choice_doctor_id   INTEGER REFERENCES account (id),
    chosen_at          INTEGER
);
CREATE INDEX triage_record_day ON triage_record (day, hospital_id);
