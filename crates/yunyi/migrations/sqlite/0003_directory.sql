-- The directory: hospital support links, doctors' professional profiles, multi-site practice,
-- per-hospital privileges, and the services doctors and departments offer.

CREATE TABLE hospital_support (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    supporting_id INTEGER NOT NULL REFERENCES hospital (id),
    supported_id  INTEGER NOT NULL REFERENCES hospital (id),
    active        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (supporting_id, supported_id),
    CHECK (supporting_id <> supported_id)
);

CREATE TABLE doctor_profile (
    account_id          INTEGER PRIMARY KEY REFERENCES account (id),
    licence_no          TEXT NOT NULL UNIQUE,
    title               TEXT NOT NULL CHECK (title IN ('chief', 'associate_chief', 'attending', 'resident')),
    specialties         TEXT NOT NULL,
    biography           TEXT NOT NULL,
    -- The year independent practice began; years of practice are derived from it.
    practice_since_year INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

-- Where a doctor (or other clinician) practises: one row per hospital, each with its own
-- registration and department.
CREATE TABLE practice_site (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES account (id),
    hospital_id     INTEGER NOT NULL REFERENCES hospital (id),
    department_id   INTEGER REFERENCES department (id),
    registration_no TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    created_at      INTEGER NOT NULL,
    UNIQUE (account_id, hospital_id)
);
CREATE INDEX practice_site_hospital ON practice_site (hospital_id, department_id);

CREATE TABLE privilege (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES account (id),
    hospital_id  INTEGER NOT NULL REFERENCES hospital (id),
    kind         TEXT NOT NULL CHECK (kind IN ('consult', 'internet_diagnosis', 'prescribe', 'teleconsult')),
    status       TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    reason       TEXT,
    changed_by   INTEGER REFERENCES account (id),
    changed_at   INTEGER NOT NULL,
    UNIQUE (account_id, hospital_id, kind)
);

CREATE TABLE service (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id   INTEGER NOT NULL REFERENCES hospital (id),
    department_id INTEGER REFERENCES department (id),
    doctor_id     INTEGER REFERENCES account (id),
    kind          TEXT NOT NULL CHECK (kind IN ('text_consult', 'video_consult', 'follow_up', 'free_clinic', 'counselling')),
    name          TEXT NOT NULL,
    price_fen     INTEGER NOT NULL CHECK (price_fen >= 0),
    duration_min  INTEGER NOT NULL CHECK (duration_min > 0),
    daily_quota   INTEGER,
    active        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX service_doctor ON service (doctor_id, active);
CREATE INDEX service_department ON service (department_id, active);
