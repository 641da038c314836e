-- A referral's reserved time (issue #20): the receiving hospital books one of its times for the
-- referred patient once it has accepted an outpatient referral.
ALTER TABLE referral ADD COLUMN appointment_id INTEGER REFERENCES appointment (id);
