-- Idempotency keys (issue #26): a client that retries a POST with the same `Idempotency-Key`
-- gets the first answer again instead of a second booking or payment. Only successful answers
-- are kept, for a day; a key whose first request is still running is `status` NULL.
CREATE TABLE idempotency_key (
    account_id   BIGINT NOT NULL REFERENCES account (id),
    key          TEXT NOT NULL,
    -- SHA-256 of method, path, query and body: the same key with another request is refused.
    request_hash TEXT NOT NULL,
    status       BIGINT,
    content_type TEXT,
    body         TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_key_created ON idempotency_key (created_at);
