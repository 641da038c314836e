-- A doctor's reply the patient has not read for a few minutes is news too
-- (`consultation.reply`): the event list grows by one.
ALTER TABLE notification DROP CONSTRAINT notification_event_check;
ALTER TABLE notification ADD CONSTRAINT notification_event_check
    CHECK (event IN ('consultation.accepted', 'consultation.reply', 'consultation.ended',
                    'appointment.booked', 'appointment.reminder', 'appointment.cancelled_by_hospital',
                    'waitlist.offer', 'prescription.approved', 'prescription.rejected',
                    'parcel.dispatched', 'parcel.delivered', 'pickup.ready', 'payment.refunded',
                    'epi.flag', 'epi.overdue', 'epi.alert'));
