//! Patient groups: who may see, join, post and moderate, and each of those acts with its
//! audit event.
//!
//! A group belongs to its hospital. Its doctors and nurses create groups and lead them
//! (host); the host adds the hospital's staff as moderators; the hospital's administrator
//! supervises (moderates without posting). Patients ask to join an open group or accept an
//! invitation, choosing a nickname: members see each other by nickname only. Patients'
//! messages pass the screen ([`model::screen`]); what it stops is held for the moderators,
//! and words of self-harm also show the writer where to find help and alert the moderators
//! at once. Staff messages are not screened: they write under their own names and answer for
//! them.

use serde::Serialize;

use super::hub::{self, News};
use super::model::{
    self, CRISIS_LINES, Category, MemberAction, MemberRole, MemberStatus, MessageKind,
    MessageStatus, Moderation, Poll, Word,
};
use super::store::{self, GroupRow, MemberRow, MessageRow, NewMember, Sees};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::capability::Capability;
use crate::db::Tx;
use crate::error::{AppError, AppResult, FieldError, Reason};
use crate::identity::Actor;
use crate::identity::actor::SignedIn;
use crate::identity::model::Role;
use crate::notification::model::{Event, Notice};

/// How many messages a page shows at first.
pub const PAGE: i64 = 100;

/// A message as a member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MessageView {
    pub seq: i64,
    /// The sender's membership (not their account): pages mark one's own messages by it.
    pub member: i64,
    pub nickname: String,
    /// host, moderator or member.
    pub role: String,
    /// text, announcement or poll.
    pub kind: String,
    pub body: String,
    /// shown, or — for its sender and the moderators — held or hidden.
    pub status: String,
    pub pinned: bool,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<PollView>,
}

/// A poll with its tally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PollView {
    pub question: String,
    pub options: Vec<PollOption>,
    /// The reader's own choice (on pages; not carried to everyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mine: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PollOption {
    pub text: String,
    pub votes: i64,
}

/// A member's name as others see it: their nickname (a membership always has one once
/// active; an invited one that has not chosen is nobody yet).
fn shown_name(nickname: Option<&str>) -> String {
    nickname.unwrap_or("—").to_owned()
}

pub fn message_view(m: &MessageRow, tallies: &[(i64, i64, i64)]) -> MessageView {
    let poll = (m.kind == MessageKind::Poll)
        .then(|| serde_json::from_str::<Poll>(&m.body).ok())
        .flatten()
        .map(|p| PollView {
            question: p.question,
            options: p
                .options
                .into_iter()
                .enumerate()
                .map(|(i, text)| PollOption {
                    text,
                    votes: tallies
                        .iter()
                        .find(|t| t.0 == m.seq && t.1 == i as i64)
                        .map_or(0, |t| t.2),
                })
                .collect(),
            mine: None,
        });
    MessageView {
        seq: m.seq,
        member: m.member_id,
        nickname: shown_name(m.nickname.as_deref()),
        role: m.role.as_str().to_owned(),
        kind: m.kind.as_str().to_owned(),
        body: if poll.is_some() {
            String::new()
        } else {
            m.body.clone()
        },
        status: m.status.as_str().to_owned(),
        pinned: m.pinned_at.is_some(),
        created_at: m.created_at,
        poll,
    }
}

/// The signed-in person's standing in a group.
#[derive(Debug, Clone)]
pub struct Access {
    pub group: GroupRow,
    /// Their membership, in whatever step.
    pub me: Option<MemberRow>,
    /// Moderates: an active host or moderator, or the hospital's administrator.
    pub moderator: bool,
}

impl Access {
    /// An active membership (muted members included: they still read).
    pub fn active(&self) -> Option<&MemberRow> {
        self.me
            .as_ref()
            .filter(|m| m.status == MemberStatus::Active)
    }

    /// Reads the conversation.
    pub fn reads(&self) -> bool {
        self.moderator || self.active().is_some()
    }

    pub fn sees(&self) -> Sees {
        match (self.moderator, self.active()) {
            (false, Some(m)) => Sees::ShownAndOwn(m.id),
            _ => Sees::All,
        }
    }

    /// The host (adds moderators, schedules with any of the group's doctors).
    pub fn host(&self) -> bool {
        self.active().is_some_and(|m| m.role == MemberRole::Host)
    }
}

fn admin_of(me: &SignedIn, hospital: i64) -> bool {
    me.role == Role::HospitalAdmin && me.hospital_id == Some(hospital)
}

/// The group as the signed-in person stands in it. A group that is invitation-only does not
/// exist for whoever has no part in it (its name may say a condition).
pub async fn access(state: &AppState, actor: &Actor, id: i64) -> AppResult<Access> {
    let me = actor.require()?;
    let group = store::group(&state.db, id).await?;
    let membership = match &group {
        Some(_) => store::member_of(&state.db, id, me.account_id).await?,
        None => None,
    };
    let Some(group) = group else {
        return Err(AppError::NotFound(format!("no patient group with id {id}")));
    };
    let moderator =
        membership.as_ref().is_some_and(MemberRow::moderates) || admin_of(me, group.hospital_id);
    let known = group.open || membership.is_some() || me.hospital_id == Some(group.hospital_id);
    if !known {
        return Err(AppError::NotFound(format!("no patient group with id {id}")));
    }
    Ok(Access {
        group,
        me: membership,
        moderator,
    })
}

fn membership_required() -> AppError {
    AppError::refused(
        Reason::MembershipRequired,
        "only the group's members read and write in it: join it first",
    )
}

fn moderators_only() -> AppError {
    AppError::refused(
        Reason::RoleRequired,
        "only the group's hosts and moderators do this",
    )
}

/// What creating a group takes.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct GroupInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// An ICD-10 code prefix the group is about (`I10`), or empty.
    #[serde(default)]
    pub condition: String,
    /// Whether patients may ask to join (else by invitation only).
    #[serde(default)]
    pub open: bool,
}

/// Creates a group at the signed-in doctor's or nurse's hospital, with them as its host.
pub async fn create(state: &AppState, actor: &Actor, input: &GroupInput) -> AppResult<i64> {
    let me = actor.require()?;
    let hospital = match (me.role, me.hospital_id) {
        (Role::Doctor | Role::Nurse, Some(h)) => h,
        _ => {
            return Err(AppError::refused(
                Reason::RoleRequired,
                "doctors and nurses create patient groups, which they lead",
            ));
        }
    };
    let mut errors = Vec::new();
    let name = input.name.trim();
    if name.chars().count() < 2 || name.chars().count() > 40 {
        errors.push(FieldError::length("name", 2, 40));
    } else if let Err(e) = crate::text::check("name", name, 40) {
        errors.push(e);
    }
    let description = input.description.trim();
    if let Err(e) = crate::text::check("description", description, 500) {
        errors.push(e);
    }
    let condition = input.condition.trim().to_ascii_uppercase();
    let icd = condition.len() <= 7
        && condition
            .chars()
            .next()
            .is_none_or(|c| c.is_ascii_uppercase())
        && condition
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.');
    if !icd {
        errors.push(
            FieldError::new(
                "condition",
                "must be an ICD-10 code or its start, like I10 or E11",
            )
            .localized("group.condition_icd", vec![]),
        );
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let id = store::insert_group(
        &mut tx,
        &store::NewGroup {
            hospital,
            name,
            description,
            condition: &condition,
            open: input.open,
            creator: me.account_id,
        },
        now,
    )
    .await?;
    let host = NewMember {
        group: id,
        account: me.account_id,
        role: MemberRole::Host,
        status: MemberStatus::Active,
        nickname: Some(&me.display_name),
        invited_by: None,
    };
    store::insert_member(&mut tx, &host, now).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "group.create", "patient_group").object(id),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A group in a list, with the viewer's part in it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub hospital: String,
    pub condition: String,
    pub open: bool,
    pub members: i64,
    /// The viewer's membership step (`invited`, `requested`, `active`, …), if any.
    pub my_status: Option<String>,
    pub my_role: Option<String>,
}

fn summary(g: &GroupRow, status: Option<MemberStatus>, role: Option<MemberRole>) -> GroupSummary {
    GroupSummary {
        id: g.id,
        name: g.name.clone(),
        description: g.description.clone(),
        hospital: g.hospital.clone(),
        condition: g.condition.clone(),
        open: g.open,
        members: g.members,
        my_status: status.map(|s| s.as_str().to_owned()),
        my_role: role.map(|r| r.as_str().to_owned()),
    }
}

/// The groups the signed-in person may see: open ones, theirs, and their hospital's.
pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<GroupSummary>> {
    let me = actor.require()?;
    let rows = store::listed(&state.db, me.account_id, me.hospital_id).await?;
    Ok(rows
        .iter()
        .map(|r| summary(&r.group, r.my_status, r.my_role))
        .collect())
}

/// One group as the signed-in person stands in it.
pub async fn get(state: &AppState, actor: &Actor, id: i64) -> AppResult<(GroupSummary, Access)> {
    let a = access(state, actor, id).await?;
    let s = summary(
        &a.group,
        a.me.as_ref().map(|m| m.status),
        a.me.as_ref().map(|m| m.role),
    );
    Ok((s, a))
}

/// A patient asks to join (an open group) or accepts an invitation, under a nickname.
/// Returns the membership's step: `requested` (a moderator decides) or `active`.
pub async fn join(
    state: &AppState,
    actor: &Actor,
    id: i64,
    nickname: &str,
) -> AppResult<MemberStatus> {
    let me = actor.require()?;
    if me.role != Role::Patient {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "patients join groups; staff are added by the host",
        ));
    }
    let a = access(state, actor, id).await?;
    let own = store::own_words(&state.db, a.group.hospital_id).await?;
    let nickname = model::nickname(nickname, &me.display_name, &own).map_err(AppError::field)?;
    let to = match a.me.as_ref().map(|m| m.status) {
        Some(MemberStatus::Active | MemberStatus::Requested) => {
            return Err(AppError::wrong_state(
                "you are in this group already, or your request is waiting",
            ));
        }
        Some(MemberStatus::Removed) => {
            return Err(AppError::refused(
                Reason::RemovedFromGroup,
                "a moderator removed you from this group",
            ));
        }
        Some(MemberStatus::Invited) => MemberStatus::Active,
        _ if a.group.open => MemberStatus::Requested,
        _ => {
            return Err(AppError::refused(
                Reason::InvitationRequired,
                "this group takes members by invitation: ask its doctor",
            ));
        }
    };
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if store::nickname_taken(&mut tx, id, nickname, me.account_id).await? {
        return Err(AppError::field(
            FieldError::new("nickname", "is taken in this group: choose another")
                .localized("group.nickname_taken", vec![]),
        ));
    }
    match &a.me {
        Some(m) => {
            if !store::renew_member(&mut tx, m.id, to, Some(nickname), None, now).await? {
                return Err(AppError::wrong_state("your membership changed meanwhile"));
            }
        }
        None => {
            let new = NewMember {
                group: id,
                account: me.account_id,
                role: MemberRole::Member,
                status: to,
                nickname: Some(nickname),
                invited_by: None,
            };
            store::insert_member(&mut tx, &new, now).await?;
        }
    }
    let action = if to == MemberStatus::Active {
        "group.accept"
    } else {
        "group.request"
    };
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), action, "patient_group")
            .object(id)
            .patient_opt(me.person_id),
    )
    .await?;
    if to == MemberStatus::Requested {
        for m in store::moderators(&mut tx, id).await? {
            let notice = Notice::new(
                m,
                Event::GroupRequest,
                format!("group:{id}:request:{}", me.account_id),
            )
            .param("group", a.group.name.clone())
            .param("nickname", nickname)
            .link(format!("/groups/{id}/members"));
            crate::notification::service::notify(&mut tx, &notice, now).await?;
        }
    }
    tx.commit().await?;
    Ok(to)
}

/// A member leaves (a host cannot: the group needs its lead).
pub async fn leave(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let a = access(state, actor, id).await?;
    let m = a.me.as_ref().ok_or_else(membership_required)?;
    if m.role == MemberRole::Host {
        return Err(AppError::wrong_state(
            "the host cannot leave the group they lead",
        ));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let from = [
        MemberStatus::Active,
        MemberStatus::Requested,
        MemberStatus::Invited,
    ];
    if !store::set_member_status(&mut tx, m.id, &from, MemberStatus::Left, None, now).await? {
        return Err(AppError::wrong_state("you are not in this group"));
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "group.leave", "patient_group").object(id),
    )
    .await?;
    tx.commit().await?;
    // Their open pages stop hearing the group.
    hub::publish(&state.db, &state.groups, id, News::Removed { member: m.id }).await;
    Ok(())
}

/// A moderator invites a patient the hospital has seen (by phone number or username), or the
/// host adds a doctor or nurse of the hospital as a moderator.
pub async fn invite(state: &AppState, actor: &Actor, id: i64, who: &str) -> AppResult<String> {
    let a = access(state, actor, id).await?;
    if !a.moderator {
        return Err(moderators_only());
    }
    let me = actor.require()?;
    let who = who.trim();
    if who.is_empty() {
        return Err(AppError::required("who"));
    }
    let not_found = || {
        AppError::field(
            FieldError::new(
                "who",
                "no patient or staff member with this phone number or username",
            )
            .localized("group.who_unknown", vec![]),
        )
    };
    let account = crate::identity::auth::find_account(state, who)
        .await?
        .ok_or_else(not_found)?;
    let existing = store::member_of(&state.db, id, account.id).await?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let (role, status) = match (account.role, account.hospital_id, account.person_id) {
        (Role::Doctor | Role::Nurse, Some(h), _) if h == a.group.hospital_id => {
            if !a.host() {
                return Err(AppError::refused(
                    Reason::RoleRequired,
                    "only the host adds moderators",
                ));
            }
            (MemberRole::Moderator, MemberStatus::Active)
        }
        (Role::Patient, _, Some(person)) => {
            if !store::seen_at(&state.db, person, a.group.hospital_id).await? {
                return Err(AppError::field(
                    FieldError::new("who", "invite patients your hospital has seen: this one has no visit or consultation here")
                        .localized("group.who_not_seen", vec![]),
                ));
            }
            (MemberRole::Member, MemberStatus::Invited)
        }
        _ => return Err(not_found()),
    };
    match &existing {
        Some(m) if matches!(m.status, MemberStatus::Active | MemberStatus::Removed) => {
            return Err(AppError::wrong_state(format!(
                "they are {} in this group",
                m.status
            )));
        }
        Some(m) => {
            store::renew_member(&mut tx, m.id, status, None, Some(me.account_id), now).await?;
            if role == MemberRole::Moderator {
                store::set_role(&mut tx, m.id, role, &account.display_name, now).await?;
            }
        }
        None => {
            let staff_name =
                (role == MemberRole::Moderator).then_some(account.display_name.as_str());
            let new = NewMember {
                group: id,
                account: account.id,
                role,
                status,
                nickname: staff_name,
                invited_by: Some(me.account_id),
            };
            store::insert_member(&mut tx, &new, now).await?;
        }
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "group.invite", "patient_group")
            .object(id)
            .patient_opt(account.person_id)
            .reason(role.as_str()),
    )
    .await?;
    if status == MemberStatus::Invited {
        let notice = Notice::new(account.id, Event::GroupInvite, format!("group:{id}:invite"))
            .param("group", a.group.name.clone())
            .param("hospital", a.group.hospital.clone())
            .link(format!("/groups/{id}"));
        crate::notification::service::notify(&mut tx, &notice, now).await?;
    }
    tx.commit().await?;
    Ok(status.as_str().to_owned())
}

/// A member as others in the group see them; moderators also see the real name.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub id: i64,
    pub nickname: String,
    pub role: String,
    pub status: String,
    pub muted_until: Option<i64>,
    pub joined_at: i64,
    /// The account's name (moderators only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub real_name: Option<String>,
    /// The patient's person id (moderators only; FHIR `Patient/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_id: Option<i64>,
    #[serde(skip)]
    pub account_id: i64,
    #[serde(skip)]
    pub account_role: String,
}

/// The members: to moderators every membership with real names (an audited read); to
/// members the active ones by nickname.
pub async fn members(state: &AppState, actor: &Actor, id: i64) -> AppResult<Vec<MemberView>> {
    let a = access(state, actor, id).await?;
    if !a.reads() {
        return Err(membership_required());
    }
    let rows = store::members(&state.db, id).await?;
    if a.moderator {
        audit::record(
            &state.db,
            &NewEvent::new(actor.audit(), "group.members.read", "patient_group")
                .object(id)
                .reason(format!("{} memberships", rows.len())),
        )
        .await?;
    }
    Ok(rows
        .into_iter()
        .filter(|m| a.moderator || m.status == MemberStatus::Active)
        .map(|m| MemberView {
            id: m.id,
            nickname: shown_name(m.nickname.as_deref()),
            role: m.role.as_str().to_owned(),
            status: m.status.as_str().to_owned(),
            muted_until: m.muted_until,
            joined_at: m.created_at,
            real_name: a.moderator.then_some(m.real_name),
            person_id: if a.moderator { m.person_id } else { None },
            account_id: m.account_id,
            account_role: m.account_role,
        })
        .collect())
}

/// The doctors who host or moderate the group, as (membership, name): who may answer a
/// live Q&A. For its hosts and moderators (the form that schedules one); nobody's real name
/// is in it, so reading it is not an audited read of the members.
pub async fn session_doctors(state: &AppState, a: &Access) -> AppResult<Vec<(i64, String)>> {
    if !a.active().is_some_and(MemberRow::moderates) {
        return Ok(Vec::new());
    }
    Ok(store::members(&state.db, a.group.id)
        .await?
        .into_iter()
        .filter(|m| m.moderates() && m.account_role == Role::Doctor.as_str())
        .map(|m| (m.id, shown_name(m.nickname.as_deref())))
        .collect())
}

/// The longest mute, in hours (30 days).
const MAX_MUTE_HOURS: i64 = 720;

/// A moderator's decision on a member; `hours` for a mute.
pub async fn act_on_member(
    state: &AppState,
    actor: &Actor,
    id: i64,
    member: i64,
    action: MemberAction,
    hours: Option<i64>,
) -> AppResult<()> {
    let a = access(state, actor, id).await?;
    if !a.moderator {
        return Err(moderators_only());
    }
    let m = store::member(&state.db, id, member)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no member {member} in group {id}")))?;
    // Moderators act on members; only the host (or the hospital's administrator) on
    // moderators, and nobody on the host.
    let over_staff = m.role != MemberRole::Member;
    let supervisor = a.host() || a.me.as_ref().is_none_or(|me| !me.moderates());
    if m.role == MemberRole::Host || (over_staff && !supervisor) {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "moderators act on members; the host on moderators; nobody on the host",
        ));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let done = match action {
        MemberAction::Approve | MemberAction::Decline => {
            let to = if action == MemberAction::Approve {
                MemberStatus::Active
            } else {
                MemberStatus::Declined
            };
            store::set_member_status(&mut tx, m.id, &[MemberStatus::Requested], to, None, now)
                .await?
        }
        MemberAction::Mute => {
            let hours = hours.unwrap_or(24);
            if !(1..=MAX_MUTE_HOURS).contains(&hours) {
                return Err(AppError::field(FieldError::range(
                    "hours",
                    1,
                    MAX_MUTE_HOURS,
                )));
            }
            store::set_muted(&mut tx, m.id, Some(now + hours * 3_600_000), now).await?
        }
        MemberAction::Unmute => store::set_muted(&mut tx, m.id, None, now).await?,
        MemberAction::Remove => {
            let from = [
                MemberStatus::Active,
                MemberStatus::Invited,
                MemberStatus::Requested,
            ];
            store::set_member_status(&mut tx, m.id, &from, MemberStatus::Removed, None, now).await?
        }
    };
    if !done {
        return Err(AppError::wrong_state(format!(
            "the membership is {}: it cannot be {}d",
            m.status,
            action.as_str().trim_end_matches('e')
        )));
    }
    audit::append(
        &mut tx,
        &NewEvent::new(
            actor.audit(),
            &format!("group.member.{action}"),
            "patient_group",
        )
        .object(id)
        .patient_opt(m.person_id)
        .reason(match hours {
            Some(h) if action == MemberAction::Mute => format!("member {member}, {h} h"),
            _ => format!("member {member}"),
        }),
    )
    .await?;
    if action == MemberAction::Approve {
        let notice = Notice::new(
            m.account_id,
            Event::GroupApproved,
            format!("group:{id}:approved"),
        )
        .param("group", a.group.name.clone())
        .link(format!("/groups/{id}"));
        crate::notification::service::notify(&mut tx, &notice, now).await?;
    }
    tx.commit().await?;
    if action == MemberAction::Remove {
        hub::publish(&state.db, &state.groups, id, News::Removed { member }).await;
    }
    Ok(())
}

/// A patient posts at most this many messages in [`RATE_WINDOW_MS`]: a conversation, not a
/// flood (staff answering a live Q&A are not limited).
pub const RATE_LIMIT: i64 = 10;
pub const RATE_WINDOW_MS: i64 = 60_000;

/// What became of a message just posted.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Posted {
    pub seq: i64,
    /// shown, or held for the moderators.
    pub status: String,
    /// Why it was held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Where to find help now (when the message spoke of self-harm): name and number.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub crisis_lines: Vec<CrisisLine>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CrisisLine {
    pub name: String,
    pub number: String,
}

/// Posts a message as the signed-in member: text from anyone active and not muted;
/// announcements (pinned) and polls from moderators. A patient's text the screen stops is
/// held for the moderators instead of shown.
pub async fn post(
    state: &AppState,
    actor: &Actor,
    a: &Access,
    kind: MessageKind,
    body: &str,
) -> AppResult<Posted> {
    let me = a.active().ok_or_else(membership_required)?;
    let now = state.now_ms();
    if let Some(until) = me.muted_until.filter(|&u| u > now) {
        return Err(AppError::refused(
            Reason::Muted,
            format!(
                "a moderator stopped you posting until {}",
                crate::time::cst_display(until)
            ),
        ));
    }
    if kind != MessageKind::Text && !me.moderates() {
        return Err(moderators_only());
    }
    let staff = me.role != MemberRole::Member;
    let category = if staff {
        None
    } else {
        let own = store::own_words(&state.db, a.group.hospital_id).await?;
        model::screen_with(body, &own)
    };
    let status = if category.is_some() {
        MessageStatus::Held
    } else {
        MessageStatus::Shown
    };
    let id = a.group.id;
    let mut tx = state.db.begin().await?;
    if !staff && store::posted_since(&mut tx, me.id, now - RATE_WINDOW_MS).await? >= RATE_LIMIT {
        return Err(AppError::TooManyRequests {
            message: format!(
                "at most {RATE_LIMIT} messages a minute: wait a moment before writing again"
            ),
            retry_after_secs: RATE_WINDOW_MS as u64 / 1000,
        });
    }
    let Some(seq) = store::next_seq(&mut tx, id).await? else {
        return Err(AppError::wrong_state("the group is archived"));
    };
    let new = store::NewMessage {
        group: id,
        seq,
        member: me.id,
        kind,
        body,
        status,
        pinned: kind == MessageKind::Announcement,
    };
    store::insert_message(&mut tx, &new, now).await?;
    if let Some(category) = category {
        held(&mut tx, a, seq, category, now).await?;
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "group.message", "patient_group")
            .object(id)
            .reason(format!("message {seq} {status}")),
    )
    .await?;
    tx.commit().await?;
    let message = (status == MessageStatus::Shown).then(|| {
        let row = MessageRow {
            seq,
            member_id: me.id,
            nickname: me.nickname.clone(),
            role: me.role,
            kind,
            body: body.to_owned(),
            status,
            pinned_at: new.pinned.then_some(now),
            created_at: now,
        };
        Box::new(message_view(&row, &[]))
    });
    hub::publish(&state.db, &state.groups, id, News::Message { seq, message }).await;
    let crisis = category == Some(Category::SelfHarm);
    Ok(Posted {
        seq,
        status: status.as_str().to_owned(),
        category: category.map(|c| c.as_str().to_owned()),
        crisis_lines: if crisis {
            CRISIS_LINES
                .iter()
                .map(|(_, name, number)| CrisisLine {
                    name: (*name).to_owned(),
                    number: (*number).to_owned(),
                })
                .collect()
        } else {
            Vec::new()
        },
    })
}

/// Flags a held message for the moderators; words of self-harm alert them at once (urgent:
/// through quiet hours, by SMS too).
async fn held(tx: &mut Tx, a: &Access, seq: i64, category: Category, now: i64) -> AppResult<()> {
    let id = a.group.id;
    let flag = store::NewFlag {
        group: id,
        seq,
        source: "screen",
        category,
        reporter: None,
        note: "",
    };
    store::insert_flag(tx, &flag, now).await?;
    if category == Category::SelfHarm {
        for m in store::moderators(tx, id).await? {
            let notice = Notice::new(m, Event::GroupCrisis, format!("group:{id}:crisis:{seq}"))
                .param("group", a.group.name.clone())
                .param(
                    "nickname",
                    shown_name(a.me.as_ref().and_then(|m| m.nickname.as_deref())),
                )
                .link(format!("/groups/{id}/moderation"));
            crate::notification::service::notify(tx, &notice, now).await?;
        }
    }
    Ok(())
}

/// A poll posted by a moderator.
pub async fn post_poll(
    state: &AppState,
    actor: &Actor,
    a: &Access,
    question: &str,
    options: &[String],
) -> AppResult<Posted> {
    let poll = Poll::new(question, options).map_err(AppError::Validation)?;
    let body = serde_json::to_string(&poll).map_err(|e| AppError::Internal(e.into()))?;
    post(state, actor, a, MessageKind::Poll, &body).await
}

/// Checks a message's text and posts it (a text, or an announcement).
pub async fn post_text(
    state: &AppState,
    actor: &Actor,
    id: i64,
    kind: MessageKind,
    text: &str,
) -> AppResult<Posted> {
    let text = model::message_text(text).map_err(AppError::field)?;
    if kind == MessageKind::Poll {
        return Err(AppError::invalid("kind", "polls are posted as polls"));
    }
    let a = access(state, actor, id).await?;
    post(state, actor, &a, kind, text).await
}

/// The conversation as the reader sees it: the last [`PAGE`] messages (or those after
/// `after`), with tallies and the reader's votes.
pub async fn messages(
    state: &AppState,
    a: &Access,
    after: Option<i64>,
) -> AppResult<Vec<MessageView>> {
    if !a.reads() {
        return Err(membership_required());
    }
    let id = a.group.id;
    let rows = match after {
        Some(after) => store::messages_after(&state.db, id, after, a.sees(), PAGE).await?,
        None => store::latest_messages(&state.db, id, a.sees(), PAGE).await?,
    };
    views(state, a, &rows).await
}

/// Messages as views, with their polls' tallies and the reader's own votes.
pub async fn views(
    state: &AppState,
    a: &Access,
    rows: &[MessageRow],
) -> AppResult<Vec<MessageView>> {
    let first_poll = rows
        .iter()
        .filter(|m| m.kind == MessageKind::Poll)
        .map(|m| m.seq)
        .min();
    let (tallies, mine) = match (first_poll, a.active()) {
        (Some(first), me) => (
            store::tallies(&state.db, a.group.id, first).await?,
            match me {
                Some(me) => store::my_votes(&state.db, a.group.id, me.id, first).await?,
                None => Vec::new(),
            },
        ),
        (None, _) => (Vec::new(), Vec::new()),
    };
    Ok(rows
        .iter()
        .map(|m| {
            let mut v = message_view(m, &tallies);
            if let Some(p) = v.poll.as_mut() {
                p.mine = mine.iter().find(|x| x.0 == m.seq).map(|x| x.1);
            }
            v
        })
        .collect())
}

/// The pinned announcements the reader sees.
pub async fn pinned(state: &AppState, a: &Access) -> AppResult<Vec<MessageView>> {
    if !a.reads() {
        return Ok(Vec::new());
    }
    let rows = store::pinned(&state.db, a.group.id).await?;
    views(state, a, &rows).await
}

/// A member votes in a poll (again to change their vote).
pub async fn vote(
    state: &AppState,
    actor: &Actor,
    id: i64,
    seq: i64,
    choice: i64,
) -> AppResult<MessageView> {
    let a = access(state, actor, id).await?;
    let me = a.active().ok_or_else(membership_required)?;
    let m = store::message(&state.db, id, seq)
        .await?
        .filter(|m| m.kind == MessageKind::Poll && m.status == MessageStatus::Shown)
        .ok_or_else(|| AppError::NotFound(format!("no poll {seq} in group {id}")))?;
    let poll: Poll = serde_json::from_str(&m.body).map_err(|e| AppError::Internal(e.into()))?;
    if choice < 0 || choice >= poll.options.len() as i64 {
        return Err(AppError::field(FieldError::range(
            "choice",
            0,
            poll.options.len() as i64 - 1,
        )));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    store::vote(&mut tx, (id, seq), me.id, choice, now).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "group.vote", "patient_group")
            .object(id)
            .reason(format!("poll {seq}")),
    )
    .await?;
    tx.commit().await?;
    let tallies = store::tallies(&state.db, id, seq).await?;
    let mut view = message_view(&m, &tallies);
    hub::publish(
        &state.db,
        &state.groups,
        id,
        News::Changed {
            seq,
            message: Some(Box::new(view.clone())),
        },
    )
    .await;
    if let Some(p) = view.poll.as_mut() {
        p.mine = Some(choice);
    }
    Ok(view)
}

/// A member reports someone else's message to the moderators (once per message).
pub async fn report(
    state: &AppState,
    actor: &Actor,
    id: i64,
    seq: i64,
    category: Category,
    note: &str,
) -> AppResult<()> {
    let a = access(state, actor, id).await?;
    let me = a.active().ok_or_else(membership_required)?;
    let note = note.trim();
    crate::text::check("note", note, 300).map_err(AppError::field)?;
    let m = store::message(&state.db, id, seq)
        .await?
        .filter(|m| m.status == MessageStatus::Shown)
        .ok_or_else(|| AppError::NotFound(format!("no message {seq} in group {id}")))?;
    if m.member_id == me.id {
        return Err(AppError::wrong_state("you cannot report your own message"));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let flag = store::NewFlag {
        group: id,
        seq,
        source: "report",
        category,
        reporter: Some(me.id),
        note,
    };
    if store::insert_flag(&mut tx, &flag, now).await? {
        audit::append(
            &mut tx,
            &NewEvent::new(actor.audit(), "group.report", "patient_group")
                .object(id)
                .reason(format!("message {seq}: {category}")),
        )
        .await?;
        for moderator in store::moderators(&mut tx, id).await? {
            let notice = Notice::new(
                moderator,
                Event::GroupReport,
                format!("group:{id}:report:{seq}"),
            )
            .param("group", a.group.name.clone())
            .link(format!("/groups/{id}/moderation"));
            crate::notification::service::notify(&mut tx, &notice, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A moderator's decision on a message: release or hide a held one, hide or dismiss the
/// reports on a shown one, pin or unpin. Closes the message's open flags.
pub async fn moderate(
    state: &AppState,
    actor: &Actor,
    id: i64,
    seq: i64,
    action: Moderation,
) -> AppResult<()> {
    let a = access(state, actor, id).await?;
    if !a.moderator {
        return Err(moderators_only());
    }
    let me = actor.require()?;
    let now = state.now_ms();
    let key = (id, seq);
    let mut tx = state.db.begin().await?;
    let done = match action {
        Moderation::Release => {
            store::set_message_status(&mut tx, key, &[MessageStatus::Held], MessageStatus::Shown)
                .await?
        }
        Moderation::Hide => {
            let from = [MessageStatus::Held, MessageStatus::Shown];
            store::set_message_status(&mut tx, key, &from, MessageStatus::Hidden).await?
        }
        // Nothing changes on the message itself.
        Moderation::Dismiss => store::message(&state.db, id, seq)
            .await?
            .is_some_and(|m| m.status == MessageStatus::Shown),
        Moderation::Pin => store::set_pinned(&mut tx, key, Some(now)).await?,
        Moderation::Unpin => store::set_pinned(&mut tx, key, None).await?,
    };
    if !done {
        return Err(AppError::wrong_state(format!(
            "message {seq} is not in a state to {action}"
        )));
    }
    if matches!(
        action,
        Moderation::Release | Moderation::Hide | Moderation::Dismiss
    ) {
        store::resolve_flags(&mut tx, key, me.account_id, action, now).await?;
    }
    audit::append(
        &mut tx,
        &NewEvent::new(
            actor.audit(),
            &format!("group.moderate.{action}"),
            "patient_group",
        )
        .object(id)
        .reason(format!("message {seq}")),
    )
    .await?;
    tx.commit().await?;
    let row = store::message(&state.db, id, seq).await?;
    let message = match row {
        Some(m) if m.status == MessageStatus::Shown => {
            let tallies = store::tallies(&state.db, id, seq).await?;
            Some(Box::new(message_view(&m, &tallies)))
        }
        _ => None,
    };
    hub::publish(&state.db, &state.groups, id, News::Changed { seq, message }).await;
    Ok(())
}

/// The moderation queue: open flags with the messages they are about, oldest first.
pub async fn queue(state: &AppState, actor: &Actor, id: i64) -> AppResult<Vec<store::FlagRow>> {
    let a = access(state, actor, id).await?;
    if !a.moderator {
        return Err(moderators_only());
    }
    Ok(store::open_flags(&state.db, id).await?)
}

/// How many flags wait in the queue (0 for anyone but a moderator, who does not see it).
pub async fn open_flag_count(state: &AppState, a: &Access) -> AppResult<i64> {
    if !a.moderator {
        return Ok(0);
    }
    Ok(store::open_flag_count(&state.db, a.group.id).await?)
}

/// A live Q&A as members see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: i64,
    pub doctor: String,
    pub topic: String,
    pub starts_at: i64,
    pub ends_at: i64,
    /// Under way now.
    pub live: bool,
}

/// The sessions not over yet, soonest first.
pub async fn sessions(state: &AppState, a: &Access) -> AppResult<Vec<SessionView>> {
    let now = state.now_ms();
    Ok(store::sessions(&state.db, a.group.id, now)
        .await?
        .into_iter()
        .map(|s| SessionView {
            id: s.id,
            doctor: s.doctor,
            topic: s.topic,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            live: s.starts_at <= now,
        })
        .collect())
}

/// What scheduling a live Q&A takes.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct QaSessionInput {
    pub topic: String,
    /// China time, `YYYY-MM-DD HH:MM` (or with a `T`).
    pub starts_at: String,
    /// 15 to 180.
    pub minutes: i64,
    /// The answering doctor's membership; the scheduler when empty (they must be a doctor).
    #[serde(default)]
    pub doctor_member: Option<i64>,
}

/// Schedules a live Q&A with a doctor of the group, and tells every member.
pub async fn schedule(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: &QaSessionInput,
) -> AppResult<i64> {
    let a = access(state, actor, id).await?;
    let me = a
        .active()
        .filter(|m| m.moderates())
        .ok_or_else(moderators_only)?;
    let now = state.now_ms();
    let mut errors = Vec::new();
    let topic = input.topic.trim();
    if topic.chars().count() < 2 || topic.chars().count() > 80 {
        errors.push(FieldError::length("topic", 2, 80));
    } else if let Err(e) = crate::text::check("topic", topic, 80) {
        errors.push(e);
    }
    let starts = crate::time::parse_cst_display(input.starts_at.trim());
    match starts {
        None => errors.push(
            FieldError::new("starts_at", "must be a China time like 2026-12-10 19:30")
                .localized("group.start_format", vec![]),
        ),
        Some(t) if t <= now => errors.push(
            FieldError::new("starts_at", "must be in the future")
                .localized("group.start_future", vec![]),
        ),
        Some(_) => {}
    }
    if !(15..=180).contains(&input.minutes) {
        errors.push(FieldError::range("minutes", 15, 180));
    }
    let doctor = match input.doctor_member {
        Some(m) => store::member(&state.db, id, m).await?,
        None => Some(me.clone()),
    };
    let doctor = doctor.filter(|d| d.moderates() && d.account_role == Role::Doctor.as_str());
    if doctor.is_none() {
        errors.push(
            FieldError::new(
                "doctor_member",
                "must be a doctor who hosts or moderates the group",
            )
            .localized("group.doctor_member", vec![]),
        );
    }
    let (Some(starts), Some(doctor), true) = (starts, doctor, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let ends = starts + input.minutes * 60_000;
    let mut tx = state.db.begin().await?;
    let session = store::insert_session(
        &mut tx,
        &store::NewSession {
            group: id,
            doctor: doctor.account_id,
            topic,
            starts_at: starts,
            ends_at: ends,
            by: me.account_id,
        },
        now,
    )
    .await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "group.session", "patient_group")
            .object(id)
            .reason(format!("session {session}")),
    )
    .await?;
    for account in store::active_accounts(&mut tx, id).await? {
        let notice = Notice::new(
            account,
            Event::GroupSession,
            format!("group:{id}:session:{session}"),
        )
        .param("group", a.group.name.clone())
        .param("doctor", doctor.real_name.clone())
        .param("title", topic)
        .param("time", crate::time::cst_display(starts))
        .link(format!("/groups/{id}"));
        crate::notification::service::notify(&mut tx, &notice, now).await?;
    }
    tx.commit().await?;
    Ok(session)
}

/// A hospital's own words for the group screen, and whether the reader may change them.
pub struct OwnWords {
    pub hospital: i64,
    pub words: Vec<Word>,
    pub may_change: bool,
}

/// A hospital's own words for the group screen (`hospital`, or the reader's own): its
/// administrators and the platform's read and change them; its doctors and nurses, who
/// moderate its groups, read them. Only the platform's administrators, who belong to no
/// hospital, must name one.
pub async fn own_words(
    state: &AppState,
    actor: &Actor,
    hospital: Option<i64>,
) -> AppResult<OwnWords> {
    let me = actor.require()?;
    let hospital = words_hospital(me, hospital)?;
    let may_change = Capability::Administer(hospital).held_by(me);
    let staff_here =
        matches!(me.role, Role::Doctor | Role::Nurse) && me.hospital_id == Some(hospital);
    if !may_change && !staff_here {
        let action = "group.words.read";
        crate::capability::require(state, actor, Capability::Administer(hospital), action).await?;
    }
    hospital_exists(state, hospital).await?;
    Ok(OwnWords {
        hospital,
        words: store::own_words(&state.db, hospital).await?,
        may_change,
    })
}

/// The hospital whose words are meant: the one named, or the reader's own.
fn words_hospital(me: &SignedIn, named: Option<i64>) -> AppResult<i64> {
    match (named.or(me.hospital_id), me.role) {
        (Some(h), _) => Ok(h),
        (None, Role::PlatformAdmin) => Err(AppError::required("hospital")),
        (None, _) => Err(AppError::refused(
            Reason::RoleRequired,
            "a hospital's staff and administrators see its screened words",
        )),
    }
}

/// Replaces a hospital's own words (`(category, word)` as typed; see [`model::own_words`]);
/// `None` (no list sent) is refused rather than taken for an empty one. Audited with how many
/// words the list holds.
pub async fn set_own_words(
    state: &AppState,
    actor: &Actor,
    hospital: Option<i64>,
    input: Option<&[(String, String)]>,
) -> AppResult<OwnWords> {
    let action = "group.words.set";
    let hospital = words_hospital(actor.require()?, hospital)?;
    let me =
        crate::capability::require(state, actor, Capability::Administer(hospital), action).await?;
    let input = input.ok_or_else(|| AppError::required("words"))?;
    let words = model::own_words(input).map_err(AppError::Validation)?;
    hospital_exists(state, hospital).await?;
    let mut tx = state.db.begin().await?;
    store::replace_own_words(&mut tx, hospital, &words, me.account_id, state.now_ms()).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), action, "hospital")
            .object(hospital)
            .reason(format!("{} words", words.len())),
    )
    .await?;
    tx.commit().await?;
    // As a read gives them, in the database's order.
    Ok(OwnWords {
        hospital,
        words: store::own_words(&state.db, hospital).await?,
        may_change: true,
    })
}

async fn hospital_exists(state: &AppState, hospital: i64) -> AppResult<()> {
    match crate::directory::service::public::hospital(&state.db, hospital).await? {
        Some(_) => Ok(()),
        None => Err(AppError::NotFound(format!(
            "no hospital with id {hospital}"
        ))),
    }
}
