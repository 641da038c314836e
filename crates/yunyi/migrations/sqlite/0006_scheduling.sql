-- Scheduling: a doctor's schedule per hospital and service, its time slots, and appointments.
-- Times are UTC epoch milliseconds; `day` is the local date (Asia/Shanghai) of the slot.

CREATE TABLE schedule (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    doctor_id   INTEGER NOT NULL REFERENCES account (id),
    hospital_id INTEGER NOT NULL REFERENCES hospital (id),
    service_id  INTEGER NOT NULL REFERENCES service (id),
    active      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (doctor_id, hospital_id, service_id)
);

CREATE TABLE slot (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id INTEGER NOT NULL REFERENCES schedule (id),
    start_at    INTEGER NOT NULL,
    end_at      INTEGER NOT NULL,
    day         TEXT NOT NULL,
    capacity    INTEGER NOT NULL CHECK (capacity > 0),
    booked      INTEGER NOT NULL DEFAULT 0,
    release_at  INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open', 'blocked')),
    created_at  INTEGER NOT NULL,
    UNIQUE (schedule_id, start_at),
    -- The database itself refuses to sell a slot beyond its capacity.
    CHECK (booked >= 0 AND booked <= capacity)
);
CREATE INDEX slot_schedule_start ON slot (schedule_id, start_at);

CREATE TABLE appointment (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    slot_id      INTEGER NOT NULL REFERENCES slot (id),
    person_id    INTEGER NOT NULL REFERENCES person (id),
    booked_by    INTEGER NOT NULL REFERENCES account (id),
    doctor_id    INTEGER NOT NULL REFERENCES account (id),
    day          TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'checked_in', 'no_show', 'completed')),
    created_at   INTEGER NOT NULL,
    cancelled_at INTEGER,
    reason       TEXT
);
CREATE INDEX appointment_person ON appointment (person_id, status);
CREATE INDEX appointment_slot ON appointment (slot_id);
-- Fairness: one active appointment per patient per doctor per day, whatever the race.
CREATE UNIQUE INDEX appointment_one_per_day ON appointment (person_id, doctor_id, day)
    WHERE status IN ('booked', 'checked_in');
