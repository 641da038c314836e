-- Remote training (远程培训, issue #20): a supporting hospital offers courses to the staff of the
-- hospitals it supports (and its own); a course is lessons in order (a video served in ranges,
-- or slides as PDF), each with an optional short quiz. A learner's progress is kept per lesson;
-- when every lesson is studied and every quiz passed, the enrolment is complete and earns the
-- course's continuing-education credit hours, which the learner's hospital exports as CSV.
CREATE TABLE course (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id    INTEGER NOT NULL REFERENCES hospital (id),
    title          TEXT NOT NULL,
    description    TEXT NOT NULL,
    -- Continuing-education credit hours (学时) in tenths: 15 is 1.5 hours.
    credit_tenths  INTEGER NOT NULL CHECK (credit_tenths BETWEEN 1 AND 1000),
    -- Set once published: learners see it and may enrol; its lessons no longer change.
    published_at   INTEGER,
    created_by     INTEGER NOT NULL REFERENCES account (id),
    created_at     INTEGER NOT NULL
);
CREATE INDEX course_hospital ON course (hospital_id);

CREATE TABLE course_lesson (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id     INTEGER NOT NULL REFERENCES course (id),
    position      INTEGER NOT NULL,
    title         TEXT NOT NULL,
    minutes       INTEGER NOT NULL CHECK (minutes BETWEEN 1 AND 600),
    -- The lesson's file in the blob store (video/webm, video/mp4 or application/pdf).
    blob_key      TEXT,
    content_type  TEXT CHECK (content_type IN ('video/webm', 'video/mp4', 'application/pdf')),
    size_bytes    INTEGER,
    UNIQUE (course_id, position)
);

CREATE TABLE course_question (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id  INTEGER NOT NULL REFERENCES course_lesson (id),
    position   INTEGER NOT NULL,
    prompt     TEXT NOT NULL,
    -- The choices as a JSON array of 2 to 6 strings; `answer` is the right one's index.
    options    TEXT NOT NULL,
    answer     INTEGER NOT NULL CHECK (answer >= 0),
    UNIQUE (lesson_id, position)
);

CREATE TABLE course_enrolment (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id     INTEGER NOT NULL REFERENCES course (id),
    account_id    INTEGER NOT NULL REFERENCES account (id),
    -- The learner's hospital when enrolling: its administrators export the credit.
    hospital_id   INTEGER NOT NULL REFERENCES hospital (id),
    enrolled_at   INTEGER NOT NULL,
    completed_at  INTEGER,
    UNIQUE (course_id, account_id)
);
CREATE INDEX course_enrolment_hospital ON course_enrolment (hospital_id, completed_at);
CREATE INDEX course_enrolment_account ON course_enrolment (account_id);

CREATE TABLE lesson_progress (
    enrolment_id  INTEGER NOT NULL REFERENCES course_enrolment (id),
    lesson_id     INTEGER NOT NULL REFERENCES course_lesson (id),
    studied_at    INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0,
    -- The last attempt's score in percent, and when the quiz was first passed.
    score         INTEGER,
    passed_at     INTEGER,
    PRIMARY KEY (enrolment_id, lesson_id)
);
