-- The formulary (处方集) of each hospital: its drugs with their regulatory class and the facts
-- the prescription checks use; the hospital's pharmacies and their stock; and the table of
-- drug-drug interactions (platform-wide, by ATC code or prefix, extensible by rows).

CREATE TABLE drug (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id      INTEGER NOT NULL REFERENCES hospital (id),
    -- The hospital's own code (药品编码): an import updates the drug with the same code.
    code             TEXT NOT NULL,
    generic_name     TEXT NOT NULL,
    brand_name       TEXT,
    form             TEXT NOT NULL,
    strength         TEXT NOT NULL,
    -- Dispensing unit (盒, 瓶, 支) and how many dose units one holds (28 tablets a box).
    unit             TEXT NOT NULL,
    pack_size        INTEGER NOT NULL CHECK (pack_size > 0),
    route            TEXT NOT NULL,
    price_fen        INTEGER NOT NULL CHECK (price_fen >= 0),
    class            TEXT NOT NULL CHECK (class IN ('otc', 'prescription', 'narcotic', 'psychotropic_1',
                         'psychotropic_2', 'toxic', 'radioactive', 'high_risk')),
    -- Whether the hospital prescribes it online; never for the classes the law bans online.
    online           INTEGER NOT NULL,
    atc_code         TEXT,
    -- A dose is written in dose_unit (mg, μg, ml, 揿); one tablet/puff/ml holds unit_strength.
    dose_unit        TEXT NOT NULL,
    unit_strength    REAL NOT NULL CHECK (unit_strength > 0),
    max_daily_dose   REAL,
    min_age_years    INTEGER,
    pregnancy        TEXT NOT NULL CHECK (pregnancy IN ('safe', 'caution', 'contraindicated')),
    -- Words an allergy to this drug goes by (青霉素, penicillin), comma-separated.
    allergy_terms    TEXT NOT NULL,
    active           INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CHECK (online = 0 OR class IN ('otc', 'prescription')),
    UNIQUE (hospital_id, code)
);
CREATE INDEX drug_name ON drug (hospital_id, generic_name);

CREATE TABLE pharmacy (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id INTEGER NOT NULL REFERENCES hospital (id),
    name        TEXT NOT NULL,
    address     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE drug_stock (
    pharmacy_id INTEGER NOT NULL REFERENCES pharmacy (id),
    drug_id     INTEGER NOT NULL REFERENCES drug (id),
    -- In dispensing units; the database refuses to dispense what is not there.
    quantity    INTEGER NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (pharmacy_id, drug_id)
);

-- A pair of drugs (by ATC code or its prefix: C09AA matches every ACE inhibitor) that should
-- not, or only with care, be taken together.
CREATE TABLE drug_interaction (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    atc_a      TEXT NOT NULL,
    atc_b      TEXT NOT NULL,
    severity   TEXT NOT NULL CHECK (severity IN ('contraindicated', 'major', 'moderate')),
    note       TEXT NOT NULL,
    UNIQUE (atc_a, atc_b)
);
