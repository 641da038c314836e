-- A remote consultation's panel (会诊专家组, issue #20): co-specialists of the invited hospital,
-- invited by its specialist or coordinator, who read the shared items and take part in the
-- session beside the specialist; the specialist alone signs the opinion. A row is removed when
-- the panelist is taken off the panel (the audit trail keeps both steps).
CREATE TABLE teleconsult_panelist (
    teleconsult_id BIGINT NOT NULL REFERENCES teleconsult (id),
    account_id     BIGINT NOT NULL REFERENCES account (id),
    added_by       BIGINT NOT NULL REFERENCES account (id),
    added_at       BIGINT NOT NULL,
    PRIMARY KEY (teleconsult_id, account_id)
);
CREATE INDEX teleconsult_panelist_account ON teleconsult_panelist (account_id);
