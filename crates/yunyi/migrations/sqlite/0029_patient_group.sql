-- Patient groups (病友会): a hospital hosts a group per condition or care programme, led by
-- its doctors and nurses; patients join by invitation or request and talk under nicknames;
-- every message passes a sensitive-word screen; moderators act on what it holds and what
-- members report; live Q&A sessions are scheduled with a doctor.

CREATE TABLE patient_group (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id INTEGER NOT NULL REFERENCES hospital (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    -- An ICD-10 code prefix ('I10') the group is about, or ''.
    condition   TEXT NOT NULL,
    -- 1: patients may ask to join; 0: by invitation only.
    open        INTEGER NOT NULL,
    -- The number of the last message: the next is taken by a conditional update of this row.
    last_seq    INTEGER NOT NULL DEFAULT 0,
    created_by  INTEGER NOT NULL REFERENCES account (id),
    created_at  INTEGER NOT NULL,
    archived_at INTEGER
);
CREATE INDEX patient_group_hospital ON patient_group (hospital_id);

-- A person's membership. Members know each other by `nickname` only (unique in the group).
CREATE TABLE group_member (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id    INTEGER NOT NULL REFERENCES patient_group (id),
    account_id  INTEGER NOT NULL REFERENCES account (id),
    role        TEXT NOT NULL CHECK (role IN ('host', 'moderator', 'member')),
    status      TEXT NOT NULL CHECK (status IN ('invited', 'requested', 'active', 'declined',
                    'left', 'removed')),
    -- NULL until an invited patient accepts and chooses one.
    nickname    TEXT,
    -- Until when a moderator stopped them posting.
    muted_until INTEGER,
    invited_by  INTEGER REFERENCES account (id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (group_id, account_id),
    UNIQUE (group_id, nickname)
);
CREATE INDEX group_member_account ON group_member (account_id, status);

-- Messages in number order. A held message has its number too (the screen stopped it): only
-- its sender and the moderators see it until it is released or hidden.
CREATE TABLE group_message (
    group_id   INTEGER NOT NULL REFERENCES patient_group (id),
    seq        INTEGER NOT NULL,
    member_id  INTEGER NOT NULL REFERENCES group_member (id),
    kind       TEXT NOT NULL CHECK (kind IN ('text', 'announcement', 'poll')),
    body       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('shown', 'held', 'hidden')),
    pinned_at  INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, seq)
);
CREATE INDEX group_message_pinned ON group_message (group_id) WHERE pinned_at IS NOT NULL;

-- What the moderators are asked to look at: a message the screen held, or one a member
-- reported (once per member). Closed by a moderator's decision on the message.
CREATE TABLE group_flag (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id    INTEGER NOT NULL REFERENCES patient_group (id),
    seq         INTEGER NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('screen', 'report')),
    category    TEXT NOT NULL CHECK (category IN ('contact', 'advertising', 'drug_sales',
                    'self_harm', 'other')),
    reporter_id INTEGER REFERENCES group_member (id),
    note        TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    resolved_by INTEGER REFERENCES account (id),
    resolution  TEXT CHECK (resolution IN ('release', 'hide', 'dismiss')),
    resolved_at INTEGER,
    FOREIGN KEY (group_id, seq) REFERENCES group_message (group_id, seq)
);
CREATE UNIQUE INDEX group_flag_report_once ON group_flag (group_id, seq, reporter_id);
CREATE INDEX group_flag_open ON group_flag (group_id) WHERE resolved_at IS NULL;

-- A member's vote in a poll (one per member; voting again changes it).
CREATE TABLE group_vote (
    group_id   INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    member_id  INTEGER NOT NULL REFERENCES group_member (id),
    choice     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, seq, member_id),
    FOREIGN KEY (group_id, seq) REFERENCES group_message (group_id, seq)
);

-- A scheduled live Q&A (直播答疑) in the group with a doctor of the hospital.
CREATE TABLE group_session (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id     INTEGER NOT NULL REFERENCES patient_group (id),
    doctor_id    INTEGER NOT NULL REFERENCES account (id),
    topic        TEXT NOT NULL,
    starts_at    INTEGER NOT NULL,
    ends_at      INTEGER NOT NULL,
    created_by   INTEGER NOT NULL REFERENCES account (id),
    created_at   INTEGER NOT NULL,
    cancelled_at INTEGER
);
CREATE INDEX group_session_group ON group_session (group_id, starts_at);
