-- Live sessions of a course (直播课, issue #20): the offering hospital's administrators schedule
-- one with a lecturer of their staff; the lecturer and the course's enrolled learners meet in
-- the same video room as a remote consultation's session (at most six at once, the lecturer's
-- place kept). Who came and when is kept per entering.
CREATE TABLE course_live (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id   INTEGER NOT NULL REFERENCES course (id),
    title       TEXT NOT NULL,
    lecturer_id INTEGER NOT NULL REFERENCES account (id),
    starts_at   INTEGER NOT NULL,
    minutes     INTEGER NOT NULL CHECK (minutes BETWEEN 15 AND 240),
    -- Set when the lecturer (or an administrator) ends it: the room closes for good.
    ended_at    INTEGER,
    created_by  INTEGER NOT NULL REFERENCES account (id),
    created_at  INTEGER NOT NULL
);
CREATE INDEX course_live_course ON course_live (course_id, starts_at);

CREATE TABLE course_live_attendance (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    live_id    INTEGER NOT NULL REFERENCES course_live (id),
    account_id INTEGER NOT NULL REFERENCES account (id),
    lecturer   INTEGER NOT NULL,
    joined_at  INTEGER NOT NULL,
    left_at    INTEGER
);
CREATE INDEX course_live_attendance_of ON course_live_attendance (live_id, account_id);
