-- The doctor's clinical note of a consultation (SOAP), with its diagnoses. Editable while the
-- consultation is open, frozen (signed) when it ends; never deleted (kept at least 15 years).
CREATE TABLE clinical_note (
    consultation_id BIGINT PRIMARY KEY REFERENCES consultation (id),
    author_id       BIGINT NOT NULL REFERENCES account (id),
    subjective      TEXT NOT NULL,
    objective       TEXT NOT NULL,
    assessment      TEXT NOT NULL,
    -- JSON array of {"code": "I10", "name": "原发性高血压"} (follow-up visits only).
    diagnoses       TEXT NOT NULL,
    plan            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    signed_at       BIGINT
);

CREATE FUNCTION clinical_note_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'clinical notes are kept';
    END IF;
    IF OLD.signed_at IS NOT NULL THEN
        RAISE EXCEPTION 'a signed clinical note is not changed';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER clinical_note_kept BEFORE UPDATE OR DELETE ON clinical_note
    FOR EACH ROW EXECUTE FUNCTION clinical_note_kept();
