-- Weekly templates, days off, release by job, waitlist holds, check-in.

-- Release rules and the rolling horizon, per schedule.
ALTER TABLE schedule ADD COLUMN horizon_days INTEGER NOT NULL DEFAULT 14;
ALTER TABLE schedule ADD COLUMN release_days INTEGER NOT NULL DEFAULT 7;
ALTER TABLE schedule ADD COLUMN release_time TEXT NOT NULL DEFAULT '08:00';
-- Slots exist up to and including this local day (YYYY-MM-DD); NULL before the first run.
ALTER TABLE schedule ADD COLUMN generated_until TEXT;

-- One row per weekly session: Monday = 1 … Sunday = 7.
CREATE TABLE schedule_template (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id  INTEGER NOT NULL REFERENCES schedule (id),
    weekday      INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_time   TEXT NOT NULL,
    end_time     TEXT NOT NULL,
    slot_minutes INTEGER NOT NULL,
    capacity     INTEGER NOT NULL CHECK (capacity > 0),
    mode         TEXT NOT NULL CHECK (mode IN ('online', 'in_person')),
    location     TEXT,
    active       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX schedule_template_schedule ON schedule_template (schedule_id);

-- Closed times: a doctor's leave (schedule_id set) or a hospital's holiday (NULL); the whole
-- day, or from start_time to end_time.
CREATE TABLE schedule_exception (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id INTEGER NOT NULL REFERENCES hospital (id),
    schedule_id INTEGER REFERENCES schedule (id),
    day         TEXT NOT NULL,
    start_time  TEXT,
    end_time    TEXT,
    kind        TEXT NOT NULL CHECK (kind IN ('leave', 'holiday')),
    reason      TEXT NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES account (id),
    created_at  INTEGER NOT NULL
);
CREATE INDEX schedule_exception_day ON schedule_exception (hospital_id, day);

ALTER TABLE slot ADD COLUMN template_id INTEGER REFERENCES schedule_template (id);
ALTER TABLE slot ADD COLUMN mode TEXT NOT NULL DEFAULT 'online';
ALTER TABLE slot ADD COLUMN location TEXT;
-- Set by the release job once `release_at` has come (existing slots were released by time).
ALTER TABLE slot ADD COLUMN released INTEGER NOT NULL DEFAULT 1;
-- Places held for waitlisted patients; bookable places are capacity - booked - held.
ALTER TABLE slot ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
CREATE INDEX slot_unreleased ON slot (release_at) WHERE NOT released;

-- 'patient' or 'hospital' (leave, holiday, cancelled session): hospital cancellations are refunded.
ALTER TABLE appointment ADD COLUMN cancelled_by TEXT;
ALTER TABLE appointment ADD COLUMN checked_in_at INTEGER;
CREATE INDEX appointment_doctor_day ON appointment (doctor_id, day);

CREATE TABLE waitlist (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id   INTEGER NOT NULL REFERENCES person (id),
    account_id  INTEGER NOT NULL REFERENCES account (id),
    doctor_id   INTEGER NOT NULL REFERENCES account (id),
    day         TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('waiting', 'offered', 'booked', 'expired', 'left')),
    slot_id     INTEGER REFERENCES slot (id),
    hold_until  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX waitlist_one ON waitlist (person_id, doctor_id, day)
    WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_queue ON waitlist (doctor_id, day, status, id);
