-- Free-clinic campaigns (义诊活动): a hospital's dated campaign and its volunteer doctors, who
-- may come from hospitals that support it.
CREATE TABLE campaign (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id INTEGER NOT NULL REFERENCES hospital (id),
    name        TEXT NOT NULL,
    starts_on   TEXT NOT NULL,
    ends_on     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    CHECK (starts_on <= ends_on)
);
CREATE INDEX campaign_dates ON campaign (ends_on, starts_on);

CREATE TABLE campaign_doctor (
    campaign_id INTEGER NOT NULL REFERENCES campaign (id),
    account_id  INTEGER NOT NULL REFERENCES account (id),
    PRIMARY KEY (campaign_id, account_id)
);
