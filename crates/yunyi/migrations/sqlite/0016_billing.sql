-- Billing: orders with line items in fen, what the payment gateway told us (each notification
-- once, so replays change nothing), and refunds, which never exceed what was paid.

CREATE TABLE payment_order (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id     INTEGER NOT NULL REFERENCES person (id),
    payer_id      INTEGER NOT NULL REFERENCES account (id),
    hospital_id   INTEGER NOT NULL REFERENCES hospital (id),
    subject_type  TEXT NOT NULL CHECK (subject_type IN ('prescription', 'consultation', 'appointment')),
    subject_id    INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'cancelled', 'refunded')),
    total_fen     INTEGER NOT NULL CHECK (total_fen >= 0),
    paid_fen      INTEGER NOT NULL DEFAULT 0,
    refunded_fen  INTEGER NOT NULL DEFAULT 0,
    gateway       TEXT NOT NULL,
    gateway_txn   TEXT,
    created_at    INTEGER NOT NULL,
    paid_at       INTEGER,
    updated_at    INTEGER NOT NULL,
    CHECK (paid_fen IN (0, total_fen)),
    CHECK (refunded_fen >= 0 AND refunded_fen <= paid_fen),
    UNIQUE (gateway, gateway_txn)
);
-- One order waiting for payment per thing to pay for.
CREATE UNIQUE INDEX payment_order_one_pending ON payment_order (subject_type, subject_id) WHERE status = 'pending';
CREATE INDEX payment_order_payer ON payment_order (payer_id, id);
CREATE INDEX payment_order_paid ON payment_order (paid_at);

CREATE TABLE order_line (
    order_id       INTEGER NOT NULL REFERENCES payment_order (id),
    line           INTEGER NOT NULL,
    description    TEXT NOT NULL,
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_fen INTEGER NOT NULL CHECK (unit_price_fen >= 0),
    amount_fen     INTEGER NOT NULL CHECK (amount_fen = unit_price_fen * quantity),
    PRIMARY KEY (order_id, line)
);

CREATE TABLE payment_notification (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway     TEXT NOT NULL,
    gateway_txn TEXT NOT NULL,
    event       TEXT NOT NULL CHECK (event IN ('paid', 'declined')),
    order_id    INTEGER NOT NULL REFERENCES payment_order (id),
    amount_fen  INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    -- What it changed: applied, ignored (the order had moved on), refunded (paid too late).
    outcome     TEXT NOT NULL,
    UNIQUE (gateway, gateway_txn, event)
);

CREATE TABLE refund (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id    INTEGER NOT NULL REFERENCES payment_order (id),
    amount_fen  INTEGER NOT NULL CHECK (amount_fen > 0),
    reason      TEXT NOT NULL,
    gateway_ref TEXT NOT NULL,
    by_account  INTEGER REFERENCES account (id),
    created_at  INTEGER NOT NULL,
    UNIQUE (gateway_ref)
);
CREATE INDEX refund_order ON refund (order_id);
