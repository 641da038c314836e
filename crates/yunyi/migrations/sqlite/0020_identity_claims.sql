-- Identity proofing (issue #30): a claim to act for, or to be, a person already on record.
-- Until the claim is proven nothing links the claimant to the person, so they see nothing.
-- Proof is the holder's approval (the person's own account, else their guardians, else their
-- other family holders), the code sent to the holder's phone, or hospital staff checking
-- papers at a counter (the document type is recorded).
CREATE TABLE identity_claim (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- 'family': add the person as a family member; 'account': the claimant's new account is
    -- the person's own.
    kind             TEXT NOT NULL CHECK (kind IN ('family', 'account')),
    claimant_id      INTEGER NOT NULL REFERENCES account (id),
    person_id        INTEGER NOT NULL REFERENCES person (id),
    -- The name as the claimant typed it (shown to them; the record's own name is not).
    claimed_name     TEXT NOT NULL,
    relationship     TEXT,
    guardian         INTEGER NOT NULL,
    -- The name the claimant gave is the one on record. A claim whose name differs can never be
    -- approved; it answers exactly as one that matches, so answers never confirm a match.
    name_matches     INTEGER NOT NULL,
    code_hash        TEXT,
    code_attempts    INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by       INTEGER REFERENCES account (id),
    -- 'holder', 'code', or 'counter:<document type>'.
    decided_how      TEXT,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    decided_at       INTEGER
);
CREATE INDEX identity_claim_person ON identity_claim (person_id);
CREATE INDEX identity_claim_claimant ON identity_claim (claimant_id);
