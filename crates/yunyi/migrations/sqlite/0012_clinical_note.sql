-- The doctor's clinical note of a consultation (SOAP), with its diagnoses. Editable while the
-- consultation is open, frozen (signed) when it ends; never deleted (kept at least 15 years).
CREATE TABLE clinical_note (
    consultation_id INTEGER PRIMARY KEY REFERENCES consultation (id),
    author_id       INTEGER NOT NULL REFERENCES account (id),
    subjective      TEXT NOT NULL,
    objective       TEXT NOT NULL,
    assessment      TEXT NOT NULL,
    -- JSON array of {"code": "I10", "name": "原发性高血压"} (follow-up visits only).
    diagnoses       TEXT NOT NULL,
    plan            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    signed_at       INTEGER
);

CREATE TRIGGER clinical_note_no_delete BEFORE DELETE ON clinical_note
BEGIN SELECT RAISE(ABORT, 'clinical notes are kept'); END;
CREATE TRIGGER clinical_note_signed BEFORE UPDATE ON clinical_note
WHEN OLD.signed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a signed clinical note is not changed'); END;
