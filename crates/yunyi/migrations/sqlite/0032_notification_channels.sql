-- Two more channels besides SMS: Web Push to the browsers a person allowed, and WeChat
-- subscription messages to the official-account follower they bound by scanning a code.
-- SQLite cannot change a CHECK constraint in place: the two tables naming channels are
-- rebuilt once with the three.
CREATE TABLE notification_delivery_new (
    notification_id INTEGER NOT NULL REFERENCES notification (id),
    channel     TEXT NOT NULL CHECK (channel IN ('sms', 'webpush', 'wechat')),
    account_id  INTEGER NOT NULL REFERENCES account (id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'deferred',
                    'skipped', 'failed')),
    -- Why it was deferred, skipped or failed ('quiet_hours', 'preference', 'no_phone',
    -- 'rate_limited', 'not_bound', or the gateway's error).
    detail      TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    PRIMARY KEY (notification_id, channel)
);
INSERT INTO notification_delivery_new SELECT * FROM notification_delivery;
DROP TABLE notification_delivery;
ALTER TABLE notification_delivery_new RENAME TO notification_delivery;
CREATE INDEX notification_delivery_sent ON notification_delivery (account_id, channel, sent_at);

CREATE TABLE notification_preference_new (
    account_id  INTEGER NOT NULL REFERENCES account (id),
    topic       TEXT NOT NULL CHECK (topic IN ('consultation', 'appointment', 'prescription',
                    'delivery', 'payment')),
    channel     TEXT NOT NULL CHECK (channel IN ('sms', 'webpush', 'wechat')),
    enabled     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, topic, channel)
);
INSERT INTO notification_preference_new SELECT * FROM notification_preference;
DROP TABLE notification_preference;
ALTER TABLE notification_preference_new RENAME TO notification_preference;

-- A browser that allowed notifications (`PushSubscription`): where to push and the keys to
-- encrypt for it. One endpoint is one browser profile, so it belongs to whoever subscribed
-- it last. `lang` is the page's language when it subscribed: the push is written in it.
CREATE TABLE push_subscription (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES account (id),
    endpoint    TEXT NOT NULL UNIQUE,
    p256dh      TEXT NOT NULL,
    auth        TEXT NOT NULL,
    lang        TEXT NOT NULL CHECK (lang IN ('zh', 'en')),
    created_at  INTEGER NOT NULL
);
CREATE INDEX push_subscription_account ON push_subscription (account_id);

-- The WeChat official-account follower (openid) an account bound by scanning its code.
CREATE TABLE wechat_binding (
    account_id  INTEGER PRIMARY KEY REFERENCES account (id),
    openid      TEXT NOT NULL UNIQUE,
    bound_at    INTEGER NOT NULL
);
