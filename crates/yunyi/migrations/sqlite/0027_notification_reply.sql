-- A doctor's reply the patient has not read for a few minutes is news too
-- (`consultation.reply`): the event list grows by one. SQLite cannot change a CHECK
-- constraint, so the table is rebuilt (its deliveries, which refer to it, set aside first so
-- that no foreign key is broken at any point).
CREATE TABLE notification_delivery_old AS SELECT * FROM notification_delivery;
DROP TABLE notification_delivery;

CREATE TABLE notification_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES account (id),
    event       TEXT NOT NULL CHECK (event IN ('consultation.accepted', 'consultation.reply', 'consultation.ended',
                    'appointment.booked', 'appointment.reminder', 'appointment.cancelled_by_hospital',
                    'waitlist.offer', 'prescription.approved', 'prescription.rejected',
                    'parcel.dispatched', 'parcel.delivered', 'pickup.ready', 'payment.refunded',
                    'epi.flag', 'epi.overdue', 'epi.alert')),
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
