-- Visits (就诊): every patient seen, booked or not, for supervision statistics
-- (appointment rate = visits from appointments / all visits). Check-in records one; the front
-- desk records walk-ins; consultations will record theirs.
CREATE TABLE visit (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id    INTEGER NOT NULL REFERENCES hospital (id),
    department_id  INTEGER REFERENCES department (id),
    doctor_id      INTEGER REFERENCES account (id),
    person_id      INTEGER NOT NULL REFERENCES person (id),
    day            TEXT NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('appointment', 'walk_in')),
    appointment_id INTEGER UNIQUE REFERENCES appointment (id),
    recorded_by    INTEGER NOT NULL REFERENCES account (id),
    created_at     INTEGER NOT NULL
);
CREATE INDEX visit_day ON visit (day, hospital_id);
CREATE INDEX appointment_day ON appointment (day);
