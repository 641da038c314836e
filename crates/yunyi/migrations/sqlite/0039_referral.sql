-- Two-way referral (双向转诊, issue #20): a doctor refers a patient in their care up from a
-- grassroots or county hospital to a tertiary one, or down for rehabilitation and chronic
-- follow-up, with a summary, the record items they choose and what is asked (an outpatient
-- visit or a bed); the receiving hospital accepts (saying what it arranged) or declines, and
-- records the patient's arrival. The lifecycle is `referral::model::transition`.
CREATE TABLE referral (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id           INTEGER NOT NULL REFERENCES person (id),
    direction           TEXT NOT NULL CHECK (direction IN ('up', 'down')),
    kind                TEXT NOT NULL CHECK (kind IN ('outpatient', 'inpatient')),
    from_hospital_id    INTEGER NOT NULL REFERENCES hospital (id),
    from_doctor_id      INTEGER NOT NULL REFERENCES account (id),
    to_hospital_id      INTEGER NOT NULL REFERENCES hospital (id),
    to_department_id    INTEGER REFERENCES department (id),
    -- The online consultation it came out of, when it did.
    consultation_id     INTEGER REFERENCES consultation (id),
    summary             TEXT NOT NULL,
    request             TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('sent', 'accepted', 'declined', 'arrived', 'cancelled')),
    receiver_id         INTEGER REFERENCES account (id),
    arranged            TEXT,
    reason              TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX referral_to ON referral (to_hospital_id, status);
CREATE INDEX referral_from ON referral (from_hospital_id, status);
CREATE INDEX referral_person ON referral (person_id);

CREATE TABLE referral_item (
    referral_id INTEGER NOT NULL REFERENCES referral (id),
    kind        TEXT NOT NULL CHECK (kind IN ('note', 'prescription', 'prior_record', 'offline_diagnosis')),
    item_id     INTEGER NOT NULL,
    PRIMARY KEY (referral_id, kind, item_id)
);

CREATE TABLE referral_event (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id INTEGER NOT NULL REFERENCES referral (id),
    to_status   TEXT NOT NULL,
    actor_id    INTEGER NOT NULL REFERENCES account (id),
    reason      TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX referral_event_of ON referral_event (referral_id, id);
