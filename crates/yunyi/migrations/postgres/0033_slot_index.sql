-- `slot` had two indexes on (schedule_id, start_at): the one behind its UNIQUE constraint and
-- a plain one made beside it. The unique index answers every search the plain one did, so the
-- plain one only cost space (about 350 MB at a province's 11 M slots) and a second index
-- update on every slot written.
DROP INDEX slot_schedule_start;
