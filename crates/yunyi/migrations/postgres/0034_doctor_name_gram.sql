-- Doctor search by part of a name scanned every doctor (50,000 in a province) because
-- `LIKE '%…%'` cannot use an index: 30 ms at the median. This table holds each doctor's name
-- cut into its single characters and pairs of neighbouring characters (lower case), so a search
-- first takes the doctors holding every pair of the query (or its one character) by key, then
-- checks the LIKE on those few. Written with the doctor's profile (directory::store).
CREATE TABLE doctor_name_gram (
    gram TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES account (id),
    PRIMARY KEY (gram, account_id)
);

INSERT INTO doctor_name_gram (gram, account_id)
-- ASCII letters only, as SQLite's lower() and the application make them.
SELECT DISTINCT substr(translate(a.display_name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), i, n), a.id
FROM doctor_profile p
JOIN account a ON a.id = p.account_id
CROSS JOIN generate_series(1, 200) AS i
CROSS JOIN (VALUES (1), (2)) AS k (n)
WHERE i + n - 1 <= char_length(a.display_name);
