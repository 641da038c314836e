-- "Has this person been seen at hospital H" (break-glass, group invitations, a hospital's push
-- audience) had no index to start from the person: at a province's size a scan of every care
-- link, 343 ms for 2.15 M links (bench_province), growing with every visit. Now a lookup.
CREATE INDEX care_link_person_hospital ON care_link (person_id, hospital_id);
