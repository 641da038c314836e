-- "My appointments" reads each appointment's latest fee in one query for the whole list: an
-- index on the order's subject makes that a lookup, not a scan of every order.
CREATE INDEX payment_order_subject ON payment_order (subject_type, subject_id, id);
