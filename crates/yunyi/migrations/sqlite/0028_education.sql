-- Health education (健康科普): articles written by a doctor and approved by a second one, with
-- every version kept; who read them; and targeted pushes (定向推送) of an article to the inbox
-- of every patient of a region or a hospital, written in batches by a durable job.

-- Where a person is, for pushes to a region: the GB/T 2260 code of their identity number's
-- first six digits (户籍地) when they register. Rows from before this migration are filled
-- once at start (the number is encrypted: SQL cannot read it).
ALTER TABLE person ADD COLUMN region TEXT;
-- NOCASE lets `region LIKE '4401%'` use the index (SQLite's LIKE ignores case).
CREATE INDEX person_region ON person (region COLLATE NOCASE);

-- The notification's event list grows with every feature (a push now; remote consultation
-- and care plans next), and SQLite cannot change a CHECK constraint without rebuilding the
-- largest table there is. The event is checked where it is written (`notification::Event`,
-- which also refuses to read an unknown one), so the table is rebuilt once, without the list.
CREATE TABLE notification_delivery_old AS SELECT * FROM notification_delivery;
DROP TABLE notification_delivery;

CREATE TABLE notification_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES account (id),
    event       TEXT NOT NULL,
    -- The template's placeholders, a JSON object of strings; the text is made in the reader's
    -- language when it is shown.
    params      TEXT NOT NULL,
    link        TEXT,
    urgent      INTEGER NOT NULL,
    -- One notification per account and cause: the same cause reported twice is stored once.
    dedupe_key  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    read_at     INTEGER,
    UNIQUE (account_id, dedupe_key)
);

INSERT INTO notification_new SELECT * FROM notification;
DROP TABLE notification;
ALTER TABLE notification_new RENAME TO notification;
CREATE INDEX notification_inbox ON notification (account_id, id);
CREATE INDEX notification_unread ON notification (account_id) WHERE read_at IS NULL;
-- How many read what a push sent (its read figure), without an index over every row.
CREATE INDEX notification_read_cause ON notification (dedupe_key) WHERE read_at IS NOT NULL;

CREATE TABLE notification_delivery (
    notification_id INTEGER NOT NULL REFERENCES notification (id),
    channel     TEXT NOT NULL CHECK (channel IN ('sms')),
    account_id  INTEGER NOT NULL REFERENCES account (id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'deferred',
                    'skipped', 'failed')),
    -- Why it was deferred, skipped or failed ('quiet_hours', 'preference', 'no_phone',
    -- 'rate_limited', or the gateway's error).
    detail      TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    PRIMARY KEY (notification_id, channel)
);
CREATE INDEX notification_delivery_sent ON notification_delivery (account_id, channel, sent_at);

INSERT INTO notification_delivery SELECT * FROM notification_delivery_old;
DROP TABLE notification_delivery_old;

-- An article. `status` is the step of its latest version; readers see `published_version`,
-- the last one a second doctor approved, until it is withdrawn.
CREATE TABLE article (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id       INTEGER NOT NULL REFERENCES hospital (id),
    author_id         INTEGER NOT NULL REFERENCES account (id),
    status            TEXT NOT NULL CHECK (status IN ('draft', 'in_review', 'returned', 'approved')),
    latest_version    INTEGER NOT NULL,
    published_version INTEGER,
    published_at      INTEGER,
    withdrawn_at      INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX article_hospital ON article (hospital_id, status);

-- Every version as written, with its review. Tags are lists separated by spaces: ICD-10
-- code prefixes (`I10`, `E11`), GB/T 2260 region prefixes (`4401`), surveillance syndromes.
CREATE TABLE article_version (
    article_id      INTEGER NOT NULL REFERENCES article (id),
    version         INTEGER NOT NULL,
    title           TEXT NOT NULL,
    summary         TEXT NOT NULL,
    body            TEXT NOT NULL,
    conditions      TEXT NOT NULL,
    department      TEXT NOT NULL,
    age_group       TEXT NOT NULL CHECK (age_group IN ('all', 'child', 'adult', 'elderly')),
    regions         TEXT NOT NULL,
    season          TEXT NOT NULL CHECK (season IN ('all', 'spring', 'summer', 'autumn', 'winter')),
    syndromes       TEXT NOT NULL,
    edited_by       INTEGER NOT NULL REFERENCES account (id),
    created_at      INTEGER NOT NULL,
    reviewed_by     INTEGER REFERENCES account (id),
    review_decision TEXT CHECK (review_decision IN ('approved', 'returned')),
    review_note     TEXT,
    reviewed_at     INTEGER,
    PRIMARY KEY (article_id, version)
);

-- Who opened an article (first time only): its read figure.
CREATE TABLE article_read (
    article_id INTEGER NOT NULL REFERENCES article (id),
    account_id INTEGER NOT NULL REFERENCES account (id),
    read_at    INTEGER NOT NULL,
    PRIMARY KEY (article_id, account_id)
);

-- A push of an article to an audience: every active patient account whose person is in
-- `region` (a prefix; '' for any) — of the sender's hospital when `audience` is 'hospital'
-- (seen there for a visit or consultation) — optionally with a diagnosis under `condition`.
-- The fan-out job writes notifications in batches of accounts in id order, `cursor` being the
-- last account done: a worker killed mid-way resumes there, and the notifications' unique
-- cause makes a batch written twice count once.
CREATE TABLE education_push (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id  INTEGER NOT NULL REFERENCES article (id),
    sender_id   INTEGER NOT NULL REFERENCES account (id),
    hospital_id INTEGER NOT NULL REFERENCES hospital (id),
    audience    TEXT NOT NULL CHECK (audience IN ('region', 'hospital')),
    region      TEXT NOT NULL,
    condition   TEXT NOT NULL,
    alert_id    INTEGER REFERENCES surveillance_alert (id),
    status      TEXT NOT NULL CHECK (status IN ('sending', 'done')),
    cursor      INTEGER NOT NULL DEFAULT 0,
    recipients  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX education_push_article ON education_push (article_id);
