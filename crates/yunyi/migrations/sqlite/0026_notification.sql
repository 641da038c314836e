-- The notification centre (消息中心): every event a person should know about is one row of
-- `notification`, written in the transaction of the change it reports. The in-app inbox is
-- these rows; each other channel's attempt (SMS now) is one row of `notification_delivery`,
-- claimed before it is sent, so a job run twice sends nothing twice.
CREATE TABLE notification (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES account (id),
    event       TEXT NOT NULL CHECK (event IN ('consultation.accepted', 'consultation.ended',
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

-- What a person does not want by a channel; no row means the event's default.
CREATE TABLE notification_preference (
    account_id  INTEGER NOT NULL REFERENCES account (id),
    topic       TEXT NOT NULL CHECK (topic IN ('consultation', 'appointment', 'prescription',
                    'delivery', 'payment')),
    channel     TEXT NOT NULL CHECK (channel IN ('sms')),
    enabled     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, topic, channel)
);
