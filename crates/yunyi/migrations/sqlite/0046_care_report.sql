-- Reports and their interpretation (issue #21, 检查/病理结果解读): a lab, imaging or
-- pathology report the hospital records (with structured results where known) or the patient
-- uploads (a photo or PDF), and the interpretation the patient asks of a doctor who cares for
-- them or of their care team, stored with it.
CREATE TABLE care_report (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id      INTEGER NOT NULL REFERENCES person (id),
    kind           TEXT NOT NULL CHECK (kind IN ('lab', 'imaging', 'pathology')),
    title          TEXT NOT NULL,
    -- The day it was done, China time.
    performed_on   TEXT NOT NULL,
    -- Where it was done: one of ours, or (uploads) a name as the patient wrote it.
    hospital_id    INTEGER REFERENCES hospital (id),
    hospital_name  TEXT NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('hospital', 'patient', 'import')),
    recorded_by    INTEGER NOT NULL REFERENCES account (id),
    -- The doctor who ordered it (hospital reports).
    ordered_by     INTEGER REFERENCES account (id),
    -- Structured results, a JSON list (name, code, value, unit, low, high).
    results        TEXT,
    -- The report's own words (the pathologist's diagnosis, the radiologist's impression).
    conclusion     TEXT NOT NULL,
    blob_key       TEXT,
    content_type   TEXT,
    status         TEXT NOT NULL CHECK (status IN ('recorded', 'asked', 'interpreted')),
    question       TEXT,
    asked_doctor   INTEGER REFERENCES account (id),
    asked_team     INTEGER REFERENCES care_team (id),
    asked_at       INTEGER,
    interpretation TEXT,
    interpreted_by INTEGER REFERENCES account (id),
    interpreted_at INTEGER,
    created_at     INTEGER NOT NULL
);
CREATE INDEX care_report_person ON care_report (person_id, performed_on);
CREATE INDEX care_report_doctor ON care_report (asked_doctor, status);
CREATE INDEX care_report_team ON care_report (asked_team, status);
