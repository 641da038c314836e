-- A follow-up visit asked for to renew a prescription (续方): the doctor's form starts from
-- its lines, and the doctor still checks and signs (never issued automatically).
ALTER TABLE consultation ADD COLUMN renews_prescription_id INTEGER REFERENCES prescription (id);
