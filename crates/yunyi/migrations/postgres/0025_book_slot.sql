-- The booking rush on PostgreSQL in one round trip (issue #25, item 2; called by
-- scheduling::store::book_slot). The statements are the booking's usual ones, in the usual order
-- (scheduling::group_commit runs the same steps in SQLite's writer): lock the person's row so
-- that two bookings of one person at once cannot both pass the fairness limits, read their
-- standing, take a place with the conditional update (the race is decided there), write the
-- appointment (its partial unique index keeps one per patient, doctor and day: on a conflict the
-- place is given back), the doctor's care link and the audit event (its fields from Rust's
-- `audit::Pending`), queued for the sealer. Each statement of a VOLATILE function takes a new
-- snapshot, so the standing read after waiting for the person's lock sees what the other booking
-- committed. The limits come from the caller: the rules stay in Rust.
--
-- Returns the outcome ('booked', 'refused', 'taken', 'same_day'), the new appointment's id
-- when booked, and the person's standing (active appointments, recent no-shows).
CREATE FUNCTION book_slot(
    p_slot BIGINT, p_person BIGINT, p_booked_by BIGINT, p_doctor BIGINT, p_hospital BIGINT,
    p_day TEXT, p_now BIGINT, p_no_show_since BIGINT, p_max_active BIGINT, p_no_show_limit BIGINT,
    p_audit_at BIGINT, p_actor_id BIGINT, p_actor_role TEXT, p_action TEXT, p_object_type TEXT,
    p_audit_outcome TEXT, p_reason TEXT, p_flagged BOOLEAN, p_request_id TEXT, p_client_addr TEXT,
    OUT outcome TEXT, OUT appointment_id BIGINT, OUT active BIGINT, OUT no_shows BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM person WHERE id = p_person FOR UPDATE;
    SELECT COALESCE(SUM(CASE WHEN a.status IN ('booked', 'checked_in') AND s.end_at > p_now THEN 1 ELSE 0 END), 0),
           COALESCE(SUM(CASE WHEN a.status = 'no_show' AND s.start_at >= p_no_show_since THEN 1 ELSE 0 END), 0)
      INTO active, no_shows
      FROM appointment a JOIN slot s ON s.id = a.slot_id
     WHERE a.person_id = p_person AND a.status IN ('booked', 'checked_in', 'no_show');
    IF no_shows >= p_no_show_limit OR active >= p_max_active THEN
        outcome := 'refused';
        RETURN;
    END IF;
    UPDATE slot SET booked = booked + 1
     WHERE id = p_slot AND booked + held < capacity AND status = 'open' AND released = TRUE
       AND release_at <= p_now AND start_at > p_now;
    IF NOT FOUND THEN
        outcome := 'taken';
        RETURN;
    END IF;
    INSERT INTO appointment (slot_id, person_id, booked_by, doctor_id, day, status, created_at)
    VALUES (p_slot, p_person, p_booked_by, p_doctor, p_day, 'booked', p_now)
    ON CONFLICT (person_id, doctor_id, day) WHERE status IN ('booked', 'checked_in') DO NOTHING
    RETURNING id INTO appointment_id;
    IF appointment_id IS NULL THEN
        UPDATE slot SET booked = booked - 1 WHERE id = p_slot AND booked > 0;
        outcome := 'same_day';
        RETURN;
    END IF;
    INSERT INTO care_link (account_id, person_id, hospital_id, kind, source_id, active, created_at)
    VALUES (p_doctor, p_person, p_hospital, 'appointment', appointment_id::TEXT, TRUE, p_now);
    INSERT INTO audit_pending (at, actor_id, actor_role, action, object_type, object_id, patient_id,
                               outcome, reason, flagged, request_id, client_addr)
    VALUES (p_audit_at, p_actor_id, p_actor_role, p_action, p_object_type, appointment_id::TEXT,
            p_person, p_audit_outcome, p_reason, p_flagged, p_request_id, p_client_addr);
    outcome := 'booked';
END
$$;
