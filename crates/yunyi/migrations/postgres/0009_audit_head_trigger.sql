-- The chain's head advances with each appended event, inside the database: one statement per
-- event instead of an insert and an update.
CREATE FUNCTION audit_event_advance_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_head SET last_id = NEW.id, last_hash = NEW.hash WHERE singleton = 1;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_event_advance_head AFTER INSERT ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_advance_head();
