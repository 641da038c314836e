//! Specific error codes: what exactly was refused, so that a client can branch on it ("pay
//! first", "pick another time") without reading the English sentence.
//!
//! Each reason belongs to one HTTP class ([`ErrorCode`]), which stays the problem's `type`;
//! the reason becomes its `code`. The table with each code's meaning is docs/ERRORS.md, and
//! a test keeps the two in step. Codes are public API: add new ones, never rename one.

use super::ErrorCode;

crate::text_enum! {
    /// A specific reason for refusing a request.
    pub enum Reason {
        // Booking.
        /// The time was taken (or its capacity filled) while the patient chose it.
        SlotTaken = "slot-taken",
        /// The doctor does not see patients at this time (closed, a holiday).
        SlotClosed = "slot-closed",
        /// The time's booking has not opened yet.
        SlotNotOpen = "slot-not-open",
        /// The time has begun or passed.
        SlotStarted = "slot-started",
        /// The patient already has an appointment with this doctor that day.
        DuplicateBooking = "duplicate-booking",
        /// The patient holds the most upcoming appointments allowed.
        BookingLimitReached = "booking-limit-reached",
        /// Too close to the start to change or cancel.
        ChangeWindowClosed = "change-window-closed",
        /// The service's places for the day are all taken.
        DailyQuotaReached = "daily-quota-reached",
        // Consultation.
        /// The consultation fee must be paid before the doctor can accept.
        ConsultationFeeUnpaid = "consultation-fee-unpaid",
        /// Another doctor accepted the request first (or it was cancelled).
        AlreadyAccepted = "already-accepted",
        /// The consultation has ended; a new one is needed.
        ConsultationEnded = "consultation-ended",
        /// The doctor lacks the privilege the action needs at this hospital.
        PrivilegeMissing = "privilege-missing",
        /// Only a follow-up visit (复诊) may prescribe.
        NotFollowUp = "not-follow-up",
        /// The clinical note must be written before completing.
        NoteRequired = "note-required",
        // Money and medicine.
        /// It is paid already.
        AlreadyPaid = "already-paid",
        /// There is nothing to pay for.
        NothingToPay = "nothing-to-pay",
        /// The time to pay has passed.
        PaymentExpired = "payment-expired",
        /// A refund larger than what is still refundable.
        RefundTooLarge = "refund-too-large",
        /// The pharmacy lacks stock for the prescription.
        OutOfStock = "out-of-stock",
        // Any lifecycle.
        /// Someone else changed it since the client read it: reload and try again.
        ChangedMeanwhile = "changed-meanwhile",
        // Retries.
        /// The `Idempotency-Key` was used for a different request.
        IdempotencyKeyReused = "idempotency-key-reused",
        /// The first request with this `Idempotency-Key` is still running.
        IdempotencyKeyInFlight = "idempotency-key-in-flight",
        /// Only a booked appointment allows this (it is cancelled, completed or missed).
        AppointmentNotBooked = "appointment-not-booked",
        /// Check-in opens an hour before the appointment and closes when it ends.
        CheckInWindowClosed = "check-in-window-closed",
        /// Already on this doctor's waitlist for that day.
        AlreadyWaiting = "already-waiting",
        /// There are still free times that day: book one instead of waiting.
        SlotsStillFree = "slots-still-free",
        /// The place held for the waitlist entry has been released.
        HoldEnded = "hold-ended",
        /// The appointment already has its consultation.
        ConsultationExists = "consultation-exists",
        /// The doctor must accept the consultation first.
        NotAccepted = "not-accepted",
        /// The doctor must first confirm the attached offline diagnosis record.
        PriorRecordUnconfirmed = "prior-record-unconfirmed",
        /// The doctor cannot take this service at the moment (suspended, or a privilege missing).
        ServiceUnavailable = "service-unavailable",
        /// The most delivery addresses allowed are saved.
        AddressLimitReached = "address-limit-reached",
        /// The order was never paid.
        NotPaid = "not-paid",
        /// The hospital has no pharmacy to fill prescriptions.
        NoPharmacy = "no-pharmacy",
        // Addresses.
        /// The id in the address is not an id (ids are positive whole numbers): nothing is there.
        NoSuchId = "no-such-id",
        /// The address names a choice that does not exist (a language, a text size).
        NoSuchOption = "no-such-option",
        // Permissions.
        /// The action belongs to another role (patients book, doctors accept).
        RoleRequired = "role-required",
        /// The SMART app's token does not cover this (its scopes, or it is used outside `/fhir`).
        ScopeInsufficient = "scope-insufficient",
        // Accounts.
        /// An account exists already for this identity number or phone.
        AccountExists = "account-exists",
        // Any lifecycle.
        /// It is not in a state that allows this (done, cancelled, ended, or not yet there);
        /// the detail names its state.
        WrongState = "wrong-state",
        /// One with the same code or name exists already.
        AlreadyExists = "already-exists",
        /// A code was entered wrongly too many times; another way is needed.
        TooManyAttempts = "too-many-attempts",
        // Health education.
        /// The doctor who wrote this version cannot approve it: a second doctor reviews.
        OwnWorkReview = "own-work-review",
        /// Only a published article (approved, not withdrawn) can be pushed.
        NotPublished = "not-published",
        /// Outside the sender's area: infection officers push to their own region.
        OutsideArea = "outside-area",
        // Patient groups.
        /// Only the group's members read and write in it: join it first.
        MembershipRequired = "membership-required",
        /// The group takes members by invitation: ask its doctor.
        InvitationRequired = "invitation-required",
        /// A moderator removed this person from the group.
        RemovedFromGroup = "removed-from-group",
        /// A moderator stopped this member posting for a while.
        Muted = "muted",
        /// No free-clinic campaign with this doctor runs at this hospital today.
        NoFreeClinic = "no-free-clinic",
        /// The consultation is flagged as a suspected case already.
        AlreadyFlagged = "already-flagged",
        /// The name given does not match the record: the claimant asks again with the name on their papers.
        NameMismatch = "name-mismatch",
        /// Online appointments need no check-in.
        CheckInNotNeeded = "check-in-not-needed",
        /// The doctor belongs to no hospital yet.
        NoHospital = "no-hospital",
        /// The doctor does not practise at this hospital: add the practice site first.
        SiteRequired = "site-required",
        /// The doctor has no professional profile yet: set it first.
        ProfileRequired = "profile-required",
        /// Internet diagnosis needs at least three years of independent practice.
        PracticeTooShort = "practice-too-short",
        /// This prescription cannot be renewed (see the detail: not a long-term medicine, not dispensed, or too old).
        NotRenewable = "not-renewable",
        /// The prescribing doctor no longer offers follow-up visits online: choose another doctor.
        NoFollowUpService = "no-follow-up-service",
        // Remote consultations.
        /// The patient's (or their family's) informed consent must be recorded first.
        ConsentRequired = "consent-required",
        /// The hospital is suspended: it takes no patients and no requests.
        HospitalSuspended = "hospital-suspended",
        /// The session counts as held only once the inviting physician and the specialist joined.
        ParticipantsAbsent = "participants-absent",
        /// The session's video room holds its most participants: join when someone leaves.
        RoomFull = "room-full",
        /// The consultation's panel has its most co-specialists: remove one first.
        PanelFull = "panel-full",
        /// The opinion report must be written before it is signed.
        ReportRequired = "report-required",
        /// A signed report is not changed: add an addendum.
        ReportSigned = "report-signed",
        // Whole-course care.
        /// The person already has a running family-doctor contract: end or renew it.
        AlreadyContracted = "already-contracted",
        /// The care team has no place left.
        TeamFull = "team-full",
        // The server.
        /// The server's storage is full: nothing was saved; try again later (the operator is
        /// alerted by the error log).
        StorageFull = "storage-full",
        /// The database cannot be reached at the moment (restarting, failing over): retry
        /// shortly; nothing was done.
        DatabaseUnavailable = "database-unavailable",
    }
}

impl Reason {
    /// The HTTP class the reason belongs to. Most are conflicts with the current state of
    /// something (the slot, the consultation, the doctor's privileges): the caller may do this
    /// in general, just not now. A reason of another class names it here.
    pub fn class(self) -> ErrorCode {
        match self {
            Self::RoleRequired
            | Self::ScopeInsufficient
            | Self::OwnWorkReview
            | Self::OutsideArea
            | Self::MembershipRequired
            | Self::InvitationRequired
            | Self::RemovedFromGroup => ErrorCode::Forbidden,
            Self::NoSuchId | Self::NoSuchOption => ErrorCode::NotFound,
            Self::StorageFull | Self::DatabaseUnavailable => ErrorCode::Unavailable,
            _ => ErrorCode::Conflict,
        }
    }

    /// The catalogue key of its localized message (`reason.slot-taken`).
    pub fn message_key(self) -> String {
        format!("reason.{}", self.as_str())
    }
}
