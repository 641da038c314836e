-- Whole-course care (全病程管理, issue #21): care teams and family-doctor contracts.
-- A care team belongs to a hospital: a family-doctor team (家庭医生团队) that patients sign with
-- for a year, or a team for patients with several diseases. Its members come from any
-- department or hospital, each with a role. A contract gives each member a care link to the
-- patient (kind `care_team`, source `family-contract:<id>`), so the team reads the record
-- without break-glass; the links end with the contract, and follow members joining or leaving.
CREATE TABLE care_team (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id INTEGER NOT NULL REFERENCES hospital (id),
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('family_doctor', 'multimorbidity')),
    -- How many people the team takes at once (active contracts).
    capacity    INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 5000),
    active      INTEGER NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES account (id),
    created_at  INTEGER NOT NULL
);
CREATE INDEX care_team_hospital ON care_team (hospital_id, kind);

CREATE TABLE care_team_member (
    team_id    INTEGER NOT NULL REFERENCES care_team (id),
    account_id INTEGER NOT NULL REFERENCES account (id),
    role       TEXT NOT NULL CHECK (role IN ('lead', 'specialist', 'nurse', 'pharmacist', 'dietitian', 'health_manager')),
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (team_id, account_id)
);
CREATE INDEX care_team_member_account ON care_team_member (account_id);

CREATE TABLE family_contract (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id   INTEGER NOT NULL REFERENCES person (id),
    team_id     INTEGER NOT NULL REFERENCES care_team (id),
    package     TEXT NOT NULL CHECK (package IN ('basic', 'chronic', 'elderly', 'children')),
    status      TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    -- The patient account that signed: the person's own, or a family member acting for them.
    signed_by   INTEGER NOT NULL REFERENCES account (id),
    created_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    end_reason  TEXT
);
-- One active contract per person: a second signing while one runs is refused.
CREATE UNIQUE INDEX family_contract_one_active ON family_contract (person_id) WHERE status = 'active';
CREATE INDEX family_contract_team ON family_contract (team_id, status);
