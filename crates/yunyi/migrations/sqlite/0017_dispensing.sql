-- Dispensing and delivery (发药与配送): the patient's address book, how each paid prescription
-- reaches the patient (delivered by a courier, or picked up at a hospital pharmacy) with every
-- move kept, and what couriers told us (each update once, so replays change nothing).

-- An address is never edited: a change is a new row and the old one is removed, so a
-- delivery always points at the address it was sent to. Phone and street are encrypted.
CREATE TABLE patient_address (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id   INTEGER NOT NULL REFERENCES person (id),
    recipient   TEXT NOT NULL,
    phone_enc   BLOB NOT NULL,
    phone_mask  TEXT NOT NULL,
    region      TEXT NOT NULL,
    detail_enc  BLOB NOT NULL,
    is_default  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    removed_at  INTEGER
);
CREATE INDEX patient_address_person ON patient_address (person_id, id);

CREATE TABLE fulfilment (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    prescription_id INTEGER NOT NULL UNIQUE REFERENCES prescription (id),
    person_id       INTEGER NOT NULL REFERENCES person (id),
    hospital_id     INTEGER NOT NULL REFERENCES hospital (id),
    pharmacy_id     INTEGER NOT NULL REFERENCES pharmacy (id),
    method          TEXT NOT NULL CHECK (method IN ('delivery', 'pickup')),
    address_id      INTEGER REFERENCES patient_address (id),
    status          TEXT NOT NULL CHECK (status IN ('awaiting_payment', 'queued', 'picked', 'packed',
                        'dispatched', 'picked_up', 'in_transit', 'delivered', 'failed', 'received',
                        'ready_for_pickup', 'collected', 'cancelled')),
    courier         TEXT,
    tracking_no     TEXT,
    pickup_code     TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK ((method = 'delivery') = (address_id IS NOT NULL)),
    UNIQUE (courier, tracking_no)
);
CREATE INDEX fulfilment_queue ON fulfilment (hospital_id, status, updated_at);
CREATE INDEX fulfilment_person ON fulfilment (person_id);

CREATE TABLE fulfilment_event (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    fulfilment_id INTEGER NOT NULL REFERENCES fulfilment (id),
    from_status   TEXT,
    to_status     TEXT NOT NULL,
    at            INTEGER NOT NULL,
    by_account    INTEGER REFERENCES account (id),
    source        TEXT NOT NULL CHECK (source IN ('patient', 'pharmacy', 'courier', 'system')),
    note          TEXT
);
CREATE INDEX fulfilment_event_of ON fulfilment_event (fulfilment_id, id);
CREATE TRIGGER fulfilment_event_kept BEFORE DELETE ON fulfilment_event
BEGIN SELECT RAISE(ABORT, 'delivery history is kept'); END;
CREATE TRIGGER fulfilment_event_fixed BEFORE UPDATE ON fulfilment_event
BEGIN SELECT RAISE(ABORT, 'delivery history is kept'); END;

CREATE TABLE courier_update (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    courier     TEXT NOT NULL,
    update_id   TEXT NOT NULL,
    tracking_no TEXT NOT NULL,
    event       TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    -- What it changed: applied, or ignored (stale or out of order).
    outcome     TEXT NOT NULL,
    UNIQUE (courier, update_id)
);
