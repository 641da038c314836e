-- A hospital's own words for the patient-group screen, beside the built-in ones
-- (groups::model::WORDS): local names of drugs sold on the side, the advertising its groups
-- meet. Stored as the screen compares them (lower case, full-width as ASCII, no spaces).
CREATE TABLE group_word (
    hospital_id BIGINT NOT NULL REFERENCES hospital (id),
    word TEXT NOT NULL,
    category TEXT NOT NULL CHECK (category IN ('contact', 'advertising', 'drug_sales', 'self_harm')),
    added_by BIGINT NOT NULL REFERENCES account (id),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (hospital_id, word)
);
