-- Service lines: each service's own first-reply target and whether its department queue
-- assigns requests by itself; free consultations held under a free-clinic campaign; and the
-- daily quota of on-demand services, counted per service and day (China Standard Time).

-- NULL: the platform default (10 minutes).
ALTER TABLE service ADD COLUMN reply_within_min INTEGER CHECK (reply_within_min BETWEEN 1 AND 1440);
-- Department services: a request goes straight to the eligible doctor with the fewest open
-- consultations instead of waiting to be taken from the queue.
ALTER TABLE service ADD COLUMN auto_assign INTEGER NOT NULL DEFAULT 0;

-- The campaign a free-clinic consultation is held under.
ALTER TABLE consultation ADD COLUMN campaign_id INTEGER REFERENCES campaign (id);
-- The day (YYYY-MM-DD) this request counts against its service's daily quota; NULL when it
-- does not count (no quota, or held in a booked appointment). Given back if it never happens.
ALTER TABLE consultation ADD COLUMN quota_day TEXT;

CREATE TABLE service_day (
    service_id INTEGER NOT NULL REFERENCES service (id),
    day        TEXT NOT NULL,
    taken      INTEGER NOT NULL CHECK (taken >= 0),
    PRIMARY KEY (service_id, day)
);

-- An appointment is held as one consultation (a cancelled or expired one may be asked again).
CREATE UNIQUE INDEX consultation_one_per_appointment ON consultation (appointment_id)
    WHERE appointment_id IS NOT NULL AND status NOT IN ('cancelled', 'expired');
