-- Electronic prescriptions (电子处方): written and signed by the treating doctor inside a
-- follow-up visit, reviewed by a pharmacist (审方) before anything is paid or dispensed. A
-- signed prescription never changes: a change is a new version that supersedes it. The
-- patient facts the checks used are kept with it, and every finding at writing and review.

CREATE TABLE prescription (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    consultation_id  INTEGER NOT NULL REFERENCES consultation (id),
    person_id        INTEGER NOT NULL REFERENCES person (id),
    hospital_id      INTEGER NOT NULL REFERENCES hospital (id),
    doctor_id        INTEGER NOT NULL REFERENCES account (id),
    -- The version this one replaces (its doctor revised it), and this one's number.
    supersedes_id    INTEGER REFERENCES prescription (id),
    version          INTEGER NOT NULL,
    diagnosis_icd10  TEXT NOT NULL,
    diagnosis_name   TEXT NOT NULL,
    duration         TEXT NOT NULL CHECK (duration IN ('ordinary', 'chronic', 'stable_chronic')),
    -- What the checks knew of the patient when the doctor signed.
    age_years        INTEGER,
    pregnant         INTEGER NOT NULL,
    guardian_present INTEGER NOT NULL,
    allergies        TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('submitted', 'approved', 'rejected', 'superseded',
                         'cancelled', 'expired', 'paid', 'dispensed')),
    total_fen        INTEGER NOT NULL CHECK (total_fen >= 0),
    signed_at        INTEGER NOT NULL,
    reviewed_by      INTEGER REFERENCES account (id),
    reviewed_at      INTEGER,
    review_note      TEXT,
    -- An approved prescription not paid by then expires.
    pay_by           INTEGER,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX prescription_status ON prescription (hospital_id, status, signed_at);
CREATE INDEX prescription_person ON prescription (person_id, id);
CREATE INDEX prescription_consultation ON prescription (consultation_id);
-- One live version per line of revisions: a version can be superseded only once.
CREATE UNIQUE INDEX prescription_one_successor ON prescription (supersedes_id) WHERE supersedes_id IS NOT NULL;

CREATE TABLE prescription_item (
    prescription_id INTEGER NOT NULL REFERENCES prescription (id),
    line            INTEGER NOT NULL,
    drug_id         INTEGER NOT NULL REFERENCES drug (id),
    -- The drug as it was when signed: a later formulary change does not rewrite a prescription.
    drug_name       TEXT NOT NULL,
    strength        TEXT NOT NULL,
    dose            REAL NOT NULL CHECK (dose > 0),
    dose_unit       TEXT NOT NULL,
    frequency       TEXT NOT NULL,
    route           TEXT NOT NULL,
    days            INTEGER NOT NULL CHECK (days > 0),
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    unit            TEXT NOT NULL,
    unit_price_fen  INTEGER NOT NULL CHECK (unit_price_fen >= 0),
    amount_fen      INTEGER NOT NULL CHECK (amount_fen = unit_price_fen * quantity),
    PRIMARY KEY (prescription_id, line)
);

CREATE TABLE prescription_finding (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    prescription_id INTEGER NOT NULL REFERENCES prescription (id),
    stage           TEXT NOT NULL CHECK (stage IN ('writing', 'review')),
    code            TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'blocking')),
    line            INTEGER,
    message         TEXT NOT NULL
);
CREATE INDEX prescription_finding_of ON prescription_finding (prescription_id);

CREATE TABLE prescription_event (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    prescription_id INTEGER NOT NULL REFERENCES prescription (id),
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    at              INTEGER NOT NULL,
    by_account      INTEGER REFERENCES account (id),
    reason          TEXT
);
CREATE INDEX prescription_event_of ON prescription_event (prescription_id, id);

-- A signed prescription's content is fixed, and none of it is ever deleted.
CREATE TRIGGER prescription_item_fixed BEFORE UPDATE ON prescription_item
BEGIN SELECT RAISE(ABORT, 'a signed prescription cannot change: write a new version'); END;
CREATE TRIGGER prescription_item_kept BEFORE DELETE ON prescription_item
BEGIN SELECT RAISE(ABORT, 'prescriptions are kept'); END;
CREATE TRIGGER prescription_kept BEFORE DELETE ON prescription
BEGIN SELECT RAISE(ABORT, 'prescriptions are kept'); END;
CREATE TRIGGER prescription_content_fixed BEFORE UPDATE OF consultation_id, person_id, doctor_id,
    diagnosis_icd10, diagnosis_name, duration, total_fen, signed_at, allergies ON prescription
BEGIN SELECT RAISE(ABORT, 'a signed prescription cannot change: write a new version'); END;
CREATE TRIGGER prescription_event_kept BEFORE DELETE ON prescription_event
BEGIN SELECT RAISE(ABORT, 'prescription history is kept'); END;
