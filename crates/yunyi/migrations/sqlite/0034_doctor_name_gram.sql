-- Doctor search by part of a name scanned every doctor (50,000 in a province) because
-- `LIKE '%…%'` cannot use an index: 30 ms at the median. This table holds each doctor's name
-- cut into its single characters and pairs of neighbouring characters (lower case), so a search
-- first takes the doctors holding every pair of the query (or its one character) by key, then
-- checks the LIKE on those few. Written with the doctor's profile (directory::store).
CREATE TABLE doctor_name_gram (
    gram TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES account (id),
    PRIMARY KEY (gram, account_id)
) WITHOUT ROWID;

WITH RECURSIVE position (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM position WHERE i < 200)
INSERT INTO doctor_name_gram (gram, account_id)
SELECT DISTINCT substr(lower(a.display_name), i, n), a.id
FROM doctor_profile p
JOIN account a ON a.id = p.account_id
CROSS JOIN position
CROSS JOIN (SELECT 1 AS n UNION ALL SELECT 2) AS k
WHERE i + n - 1 <= length(a.display_name);
