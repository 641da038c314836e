-- Pictures in health-education articles: a doctor uploads one into the blob store and the
-- article's text names it (`![说明](/education/images/<key>)`). Only keys listed here are
-- served at that address, and to anyone: the blob store also holds patients' pictures, whose
-- keys must never open through it.
CREATE TABLE article_image (
    blob_key     TEXT PRIMARY KEY,
    content_type TEXT NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    hospital_id  INTEGER NOT NULL REFERENCES hospital (id),
    uploaded_by  INTEGER NOT NULL REFERENCES account (id),
    created_at   INTEGER NOT NULL
);
