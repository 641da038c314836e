-- "Doctors of hospital H offering video consultations" tested each of the hospital's sites
-- against every active service of that kind in the province (a scan of the whole table: 100,000
-- rows, 17 ms). A hospital's services of a kind are now found by key.
CREATE INDEX service_hospital_kind ON service (hospital_id, kind);
