//! What a notification is about, how urgent it is, and which channels carry it.

use std::collections::BTreeMap;

crate::text_enum! {
    /// Every event a person is told about. Its text is the catalogue's
    /// `notify.<event>.title` / `.body`, filled with the notification's params.
    pub enum Event {
        /// The doctor took the patient's consultation.
        ConsultationAccepted = "consultation.accepted",
        /// The doctor wrote and the patient has not read it for a few minutes.
        ConsultationReply = "consultation.reply",
        ConsultationEnded = "consultation.ended",
        AppointmentBooked = "appointment.booked",
        /// The day before the visit.
        AppointmentReminder = "appointment.reminder",
        AppointmentCancelledByHospital = "appointment.cancelled_by_hospital",
        /// A place came free for a waitlisted patient and is held for a short while.
        WaitlistOffer = "waitlist.offer",
        /// Approved by the pharmacist: it waits for payment.
        PrescriptionApproved = "prescription.approved",
        PrescriptionRejected = "prescription.rejected",
        ParcelDispatched = "parcel.dispatched",
        ParcelDelivered = "parcel.delivered",
        PickupReady = "pickup.ready",
        /// A receipt: the payment went through (sent by the app only: the person just paid).
        PaymentPaid = "payment.paid",
        PaymentRefunded = "payment.refunded",
        /// To the infection officers: a doctor flagged a suspected case.
        EpiFlag = "epi.flag",
        /// To the infection officers: a case's next step is overdue.
        EpiOverdue = "epi.overdue",
        /// To the officers of a region: the surveillance scan raised an alert.
        EpiAlert = "epi.alert",
        /// A health-education article pushed to the person (by region, hospital, condition).
        EducationPush = "education.push",
        /// To a patient: a moderator invited them to a patient group.
        GroupInvite = "group.invite",
        /// To a patient: their request to join a group was approved.
        GroupApproved = "group.approved",
        /// To a group's moderators: a patient asked to join.
        GroupRequest = "group.request",
        /// To a group's moderators: a member reported a message.
        GroupReport = "group.report",
        /// To a group's moderators: a member's message spoke of self-harm.
        GroupCrisis = "group.crisis",
        /// To a group's members: a live Q&A with a doctor is scheduled.
        GroupSession = "group.session",
        /// To the patient side: the doctor asks for consent to a remote consultation.
        TeleconsultConsent = "teleconsult.consent",
        /// To the invited hospital's specialist (or its coordinators): a request waits.
        TeleconsultRequest = "teleconsult.request",
        /// To the inviting doctor: the invited hospital accepted.
        TeleconsultAccepted = "teleconsult.accepted",
        /// To a co-specialist: they were invited onto a consultation's panel.
        TeleconsultPanel = "teleconsult.panel",
        /// To a course's learners and its lecturer: a live session is scheduled.
        TrainingLive = "training.live",
        /// To the inviting doctor: the invited hospital declined, with its reason.
        TeleconsultDeclined = "teleconsult.declined",
        /// To the participants: the session has a time.
        TeleconsultScheduled = "teleconsult.scheduled",
        /// To the inviting doctor: the specialist signed the opinion report.
        TeleconsultReported = "teleconsult.reported",
        /// To the patient side: the inviting doctor received the opinion and decided.
        TeleconsultConcluded = "teleconsult.concluded",
        /// To whoever's step it is: the step is due soon.
        TeleconsultDue = "teleconsult.due",
        /// To the receiving hospital's administrators: a referral arrived.
        ReferralRequest = "referral.request",
        /// To the patient side and the referring doctor: the referral was accepted.
        ReferralAccepted = "referral.accepted",
        /// To the patient side and the referring doctor: the referral was declined.
        ReferralDeclined = "referral.declined",
        /// To the patient side and the referring doctor: a time was reserved for the patient.
        ReferralReserved = "referral.reserved",
        /// To the patient side: a care plan's questionnaire is due (or, again, overdue).
        CareFollowup = "care.followup",
        /// To the patient side: the care team answered a reading or a questionnaire.
        CareReply = "care.reply",
        /// To the doctor (or the team's doctors) asked what a report means.
        ReportAsked = "report.asked",
        /// To the patient side: the doctor interpreted their report.
        ReportInterpreted = "report.interpreted",
    }
}

crate::text_enum! {
    /// The groups a person chooses channels for (the preferences page lists these).
    pub enum Topic {
        Consultation = "consultation",
        Appointment = "appointment",
        Prescription = "prescription",
        Delivery = "delivery",
        Payment = "payment",
        /// Remote consultations between hospitals (requests, answers, reports, due steps).
        Teleconsult = "teleconsult",
        /// Care plans: follow-up questionnaires, the team's replies.
        Care = "care",
    }
}

crate::text_enum! {
    /// Channels besides the in-app inbox, which every notification reaches.
    pub enum Channel {
        Sms = "sms",
        /// Web Push to the browsers the person allowed (`web_push`).
        WebPush = "webpush",
        /// A WeChat subscription message to the follower the person bound (`wechat`).
        WeChat = "wechat",
    }
}

crate::text_enum! {
    pub enum DeliveryStatus {
        Pending = "pending",
        /// Claimed by a worker, which is sending it now.
        Sending = "sending",
        Sent = "sent",
        /// Waiting for the end of quiet hours.
        Deferred = "deferred",
        /// Not sent, by design (the person's preference, no phone, the rate limit).
        Skipped = "skipped",
        /// The gateway kept failing.
        Failed = "failed",
    }
}

impl Event {
    /// The preference group; `None` for duties that cannot be turned off (officers' alerts).
    pub fn topic(self) -> Option<Topic> {
        use Event::*;
        match self {
            ConsultationAccepted | ConsultationReply | ConsultationEnded => {
                Some(Topic::Consultation)
            }
            AppointmentBooked
            | AppointmentReminder
            | AppointmentCancelledByHospital
            | WaitlistOffer => Some(Topic::Appointment),
            PrescriptionApproved | PrescriptionRejected => Some(Topic::Prescription),
            ParcelDispatched | ParcelDelivered | PickupReady => Some(Topic::Delivery),
            PaymentPaid | PaymentRefunded => Some(Topic::Payment),
            EpiFlag | EpiOverdue | EpiAlert | EducationPush => None,
            GroupInvite | GroupApproved | GroupRequest | GroupReport | GroupCrisis
            | GroupSession | TrainingLive => None,
            TeleconsultConsent | TeleconsultScheduled | TeleconsultConcluded => {
                Some(Topic::Consultation)
            }
            TeleconsultRequest | TeleconsultAccepted | TeleconsultPanel | TeleconsultDeclined
            | TeleconsultReported | TeleconsultDue | ReferralRequest => Some(Topic::Teleconsult),
            ReferralAccepted | ReferralDeclined | ReferralReserved => Some(Topic::Appointment),
            CareFollowup | CareReply | ReportAsked | ReportInterpreted => Some(Topic::Care),
        }
    }

    /// Urgent news goes out in quiet hours too: it is about something that will not wait
    /// (a held place lapses in minutes, an infection officer has 30 minutes to call).
    pub fn urgent(self) -> bool {
        use Event::*;
        matches!(
            self,
            WaitlistOffer | EpiFlag | EpiOverdue | EpiAlert | GroupCrisis
        )
    }

    /// Whether it goes by SMS unless the person turned its topic off. What the person will
    /// see in the app anyway when they next look (a consultation they just closed, a parcel
    /// they just signed for) does not.
    pub fn sms_by_default(self) -> bool {
        !matches!(
            self,
            Event::ConsultationEnded | Event::ParcelDelivered | Event::PaymentPaid
        ) && !self.inbox_only()
    }

    /// Never by another channel than the inbox: advice written to many inboxes by a fan-out
    /// (not worth a text message to a million phones), a patient group's everyday news, and a
    /// course's live session (days ahead, to a whole class). A crisis in a group is not
    /// everyday news: it goes by SMS too.
    pub fn inbox_only(self) -> bool {
        use Event::*;
        matches!(
            self,
            EducationPush
                | GroupInvite
                | GroupApproved
                | GroupRequest
                | GroupReport
                | GroupSession
                | TrainingLive
        )
    }

    /// Whether it goes by `channel` unless the person turned its topic off there. A browser
    /// or WeChat the person bound themselves carries everything not inbox-only; an SMS, which
    /// costs and interrupts, only what [`Event::sms_by_default`] says.
    pub fn by_default(self, channel: Channel) -> bool {
        match channel {
            Channel::Sms => self.sms_by_default(),
            Channel::WebPush | Channel::WeChat => !self.inbox_only(),
        }
    }

    /// The catalogue key of its title or body.
    pub fn key(self, part: &str) -> String {
        format!("notify.{}.{part}", self.as_str())
    }
}

/// A notification to write: to whom, what, and the cause that makes it unique.
#[derive(Debug, Clone)]
pub struct Notice {
    pub account_id: i64,
    pub event: Event,
    /// The template's placeholders.
    pub params: BTreeMap<&'static str, String>,
    /// Where the notification takes its reader (a path in this application).
    pub link: Option<String>,
    /// What this is about, e.g. `appointment:42`: one notification per account, event and
    /// cause, however often the cause is reported.
    pub cause: String,
}

impl Notice {
    pub fn new(account_id: i64, event: Event, cause: impl std::fmt::Display) -> Self {
        Self {
            account_id,
            event,
            params: BTreeMap::new(),
            link: None,
            cause: cause.to_string(),
        }
    }

    pub fn param(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.params.insert(name, value.into());
        self
    }

    pub fn link(mut self, link: impl Into<String>) -> Self {
        self.link = Some(link.into());
        self
    }

    /// The stored dedupe key: event and cause.
    pub fn dedupe_key(&self) -> String {
        format!("{}:{}", self.event, self.cause)
    }
}

/// Quiet hours (免打扰), China Standard Time: from `start` to `end` minutes after midnight,
/// across midnight when `end < start`; empty when they are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start_min: u32,
    pub end_min: u32,
}

impl Default for QuietHours {
    /// 22:00 to 08:00.
    fn default() -> Self {
        Self {
            start_min: 22 * 60,
            end_min: 8 * 60,
        }
    }
}

const MINUTE_MS: i64 = 60_000;
const DAY_MIN: i64 = 24 * 60;
/// China Standard Time is UTC+8 all year (no daylight saving).
const CST_OFFSET_MS: i64 = 8 * 3_600_000;

impl QuietHours {
    /// When the quiet hours around `now_ms` end, or `None` when `now_ms` is outside them.
    pub fn ends_after(&self, now_ms: i64) -> Option<i64> {
        let (start, end) = (i64::from(self.start_min), i64::from(self.end_min));
        if start == end {
            return None;
        }
        let cst_ms = now_ms + CST_OFFSET_MS;
        let minute = cst_ms.div_euclid(MINUTE_MS).rem_euclid(DAY_MIN);
        let quiet = if start < end {
            (start..end).contains(&minute)
        } else {
            minute >= start || minute < end
        };
        if !quiet {
            return None;
        }
        let wait_min = (end - minute).rem_euclid(DAY_MIN);
        // From the start of this minute, so the end is on the minute.
        Some(now_ms - cst_ms.rem_euclid(MINUTE_MS) + wait_min * MINUTE_MS)
    }

    /// `HH:MM-HH:MM`, e.g. `22:00-08:00`.
    pub fn parse(s: &str) -> Option<Self> {
        let (a, b) = s.split_once('-')?;
        Some(Self {
            start_min: minutes(a.trim())?,
            end_min: minutes(b.trim())?,
        })
    }
}

fn minutes(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-06 00:00 China time, in epoch ms.
    const MIDNIGHT_CST: i64 = 1_796_515_200_000 - 8 * 3_600_000;

    fn at(h: i64, m: i64) -> i64 {
        MIDNIGHT_CST + (h * 60 + m) * MINUTE_MS
    }

    #[test]
    fn quiet_hours_across_midnight_end_at_eight() {
        let q = QuietHours::default();
        assert_eq!(q.ends_after(at(21, 59)), None);
        assert_eq!(q.ends_after(at(22, 0)), Some(at(32, 0)));
        assert_eq!(q.ends_after(at(23, 30) + 1234), Some(at(32, 0)));
        assert_eq!(q.ends_after(at(3, 0)), Some(at(8, 0)));
        assert_eq!(q.ends_after(at(7, 59)), Some(at(8, 0)));
        assert_eq!(q.ends_after(at(8, 0)), None);
        assert_eq!(q.ends_after(at(12, 0)), None);
    }

    #[test]
    fn quiet_hours_within_a_day_and_empty() {
        let q = QuietHours::parse("12:30-14:00").unwrap_or_default();
        assert_eq!(q.ends_after(at(12, 29)), None);
        assert_eq!(q.ends_after(at(13, 0)), Some(at(14, 0)));
        assert_eq!(q.ends_after(at(14, 0)), None);
        let none = QuietHours::parse("00:00-00:00").unwrap_or_default();
        assert_eq!(none.ends_after(at(3, 0)), None);
        assert_eq!(QuietHours::parse("25:00-08:00"), None);
        assert_eq!(QuietHours::parse("22:00"), None);
        assert_eq!(QuietHours::parse("22:60-08:00"), None);
    }

    #[test]
    fn every_event_has_a_topic_or_is_an_urgent_duty_or_stays_in_the_inbox() {
        for e in Event::ALL {
            assert!(e.topic().is_some() || e.urgent() || e.inbox_only(), "{e}");
        }
    }
}
