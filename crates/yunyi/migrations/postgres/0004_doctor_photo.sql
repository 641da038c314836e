-- A doctor's photo: the blob store key (SHA-256 of the bytes) and its sniffed image type.
ALTER TABLE doctor_profile ADD COLUMN photo_key TEXT;
ALTER TABLE doctor_profile ADD COLUMN photo_type TEXT;
