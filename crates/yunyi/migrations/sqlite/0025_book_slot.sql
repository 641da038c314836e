-- PostgreSQL only: its booking function (see migrations/postgres/0025_book_slot.sql). SQLite
-- books through the group-commit writer (scheduling::group_commit); nothing changes here.
SELECT 1;
