//! Patient-group SQL: groups, memberships, messages in number order, flags for the
//! moderators, poll votes and scheduled Q&A sessions.

use super::model::{
    Category, MemberRole, MemberStatus, MessageKind, MessageStatus, Moderation, Word,
};
use crate::db::query::Sql;
use crate::db::{Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRow {
    pub id: i64,
    pub hospital_id: i64,
    pub hospital: String,
    pub name: String,
    pub description: String,
    pub condition: String,
    pub open: bool,
    pub last_seq: i64,
    pub created_at: i64,
    pub archived_at: Option<i64>,
    /// Active members (hosts and moderators included).
    pub members: i64,
}

const GROUP: &str = "g.id, g.hospital_id, h.name AS hospital, g.name, g.description, g.condition, \
     g.open, g.last_seq, g.created_at, g.archived_at, \
     (SELECT COUNT(*) FROM group_member m WHERE m.group_id = g.id AND m.status = 'active') AS members";

const GROUP_FROM: &str = "patient_group g JOIN hospital h ON h.id = g.hospital_id";

/// A membership; `real_name` and `account_role` are for moderators' eyes only.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub id: i64,
    pub group_id: i64,
    pub account_id: i64,
    pub role: MemberRole,
    pub status: MemberStatus,
    pub nickname: Option<String>,
    pub muted_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub real_name: String,
    pub account_role: String,
    pub person_id: Option<i64>,
}

const MEMBER: &str = "m.id, m.group_id, m.account_id, m.role, m.status, m.nickname, m.muted_until, \
     m.created_at, m.updated_at, a.display_name AS real_name, a.role AS account_role, a.person_id";

const MEMBER_FROM: &str = "group_member m JOIN account a ON a.id = m.account_id";

impl MemberRow {
    pub fn moderates(&self) -> bool {
        self.status == MemberStatus::Active && self.role != MemberRole::Member
    }
}

/// A message with its sender's nickname and part.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub seq: i64,
    pub member_id: i64,
    pub nickname: Option<String>,
    pub role: MemberRole,
    pub kind: MessageKind,
    pub body: String,
    pub status: MessageStatus,
    pub pinned_at: Option<i64>,
    pub created_at: i64,
}

const MESSAGE: &str = "g.seq, g.member_id, m.nickname, m.role, g.kind, g.body, g.status, \
     g.pinned_at, g.created_at";

const MESSAGE_FROM: &str = "group_message g JOIN group_member m ON m.id = g.member_id";

/// Whose messages a reader sees: everything (a moderator), or what is shown and their own.
#[derive(Debug, Clone, Copy)]
pub enum Sees {
    All,
    ShownAndOwn(i64),
}

fn visible(q: &mut Sql, sees: Sees) {
    if let Sees::ShownAndOwn(member) = sees {
        q.push(" AND (g.status = 'shown' OR g.member_id = ")
            .bind(member)
            .push(")");
    }
}

/// A flag the moderators are asked to look at, with the message it is about.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FlagRow {
    pub id: i64,
    pub seq: i64,
    pub source: String,
    pub category: Category,
    pub reporter: Option<String>,
    pub note: String,
    pub created_at: i64,
    pub body: String,
    pub sender: Option<String>,
    pub sender_member: i64,
    pub message_status: MessageStatus,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub doctor_id: i64,
    pub doctor: String,
    pub topic: String,
    pub starts_at: i64,
    pub ends_at: i64,
}

pub struct NewGroup<'a> {
    pub hospital: i64,
    pub name: &'a str,
    pub description: &'a str,
    pub condition: &'a str,
    pub open: bool,
    pub creator: i64,
}

pub async fn insert_group(tx: &mut Tx, g: &NewGroup<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO patient_group (hospital_id, name, description, condition, open, created_by, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        (
            g.hospital,
            g.name,
            g.description,
            g.condition,
            g.open,
            g.creator,
            now,
        ),
    )
    .await
}

pub async fn group(db: &Db, id: i64) -> Result<Option<GroupRow>, sqlx::Error> {
    db.optional(
        &format!("SELECT {GROUP} FROM {GROUP_FROM} WHERE g.id = $1"),
        (id,),
    )
    .await
}

/// A group with the viewer's membership in it, for the list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedRow {
    #[sqlx(flatten)]
    pub group: GroupRow,
    pub my_status: Option<MemberStatus>,
    pub my_role: Option<MemberRole>,
}

/// The groups `account` may see listed: open ones, and any they have a membership in (of
/// `hospital`'s too, for its staff). Newest first.
pub async fn listed(
    db: &Db,
    account: i64,
    hospital: Option<i64>,
) -> Result<Vec<ListedRow>, sqlx::Error> {
    db.all(
        &format!(
            "SELECT {GROUP}, my.status AS my_status, my.role AS my_role FROM {GROUP_FROM} \
             LEFT JOIN group_member my ON my.group_id = g.id AND my.account_id = $1 \
             WHERE g.archived_at IS NULL AND (g.open OR my.id IS NOT NULL OR g.hospital_id = $2) \
             ORDER BY g.id DESC LIMIT 200"
        ),
        (account, hospital),
    )
    .await
}

pub async fn member_of(
    db: &Db,
    group: i64,
    account: i64,
) -> Result<Option<MemberRow>, sqlx::Error> {
    db.optional(
        &format!("SELECT {MEMBER} FROM {MEMBER_FROM} WHERE m.group_id = $1 AND m.account_id = $2"),
        (group, account),
    )
    .await
}

pub async fn member(db: &Db, group: i64, id: i64) -> Result<Option<MemberRow>, sqlx::Error> {
    db.optional(
        &format!("SELECT {MEMBER} FROM {MEMBER_FROM} WHERE m.group_id = $1 AND m.id = $2"),
        (group, id),
    )
    .await
}

/// Every membership of a group, moderators first, then by when they joined.
pub async fn members(db: &Db, group: i64) -> Result<Vec<MemberRow>, sqlx::Error> {
    db.all(
        &format!(
            "SELECT {MEMBER} FROM {MEMBER_FROM} WHERE m.group_id = $1 \
             ORDER BY CASE m.role WHEN 'host' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END, m.id"
        ),
        (group,),
    )
    .await
}

/// The accounts of the group's active hosts and moderators (who hear of crises and reports).
pub async fn moderators(tx: &mut Tx, group: i64) -> Result<Vec<i64>, sqlx::Error> {
    tx.scalars(
        "SELECT account_id FROM group_member WHERE group_id = $1 AND status = 'active' \
         AND role IN ('host', 'moderator') ORDER BY account_id",
        (group,),
    )
    .await
}

/// The accounts of every active member (who hear of a scheduled Q&A).
pub async fn active_accounts(tx: &mut Tx, group: i64) -> Result<Vec<i64>, sqlx::Error> {
    tx.scalars(
        "SELECT account_id FROM group_member WHERE group_id = $1 AND status = 'active' \
         ORDER BY account_id",
        (group,),
    )
    .await
}

pub struct NewMember<'a> {
    pub group: i64,
    pub account: i64,
    pub role: MemberRole,
    pub status: MemberStatus,
    pub nickname: Option<&'a str>,
    pub invited_by: Option<i64>,
}

/// Adds a membership; a unique violation means the account already has one or the nickname
/// is taken (the caller tells which).
pub async fn insert_member(tx: &mut Tx, m: &NewMember<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO group_member (group_id, account_id, role, status, nickname, invited_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        (
            m.group,
            m.account,
            m.role,
            m.status,
            m.nickname,
            m.invited_by,
            now,
        ),
    )
    .await
}

/// Whether a nickname is taken in the group by someone else.
pub async fn nickname_taken(
    tx: &mut Tx,
    group: i64,
    nickname: &str,
    account: i64,
) -> Result<bool, sqlx::Error> {
    tx.scalar::<i64>(
        "SELECT COUNT(*) FROM group_member WHERE group_id = $1 AND nickname = $2 \
         AND account_id <> $3",
        (group, nickname, account),
    )
    .await
    .map(|n| n > 0)
}

/// Moves a membership from one of `from` to `to` (with a nickname when one is chosen now);
/// false when it is not in one of them.
pub async fn set_member_status(
    tx: &mut Tx,
    id: i64,
    from: &[MemberStatus],
    to: MemberStatus,
    nickname: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut q = Sql::new("UPDATE group_member SET status = ");
    q.bind(to.as_str()).push(", updated_at = ").bind(now);
    if let Some(n) = nickname {
        q.push(", nickname = ").bind(n);
    }
    q.push(" WHERE id = ").bind(id);
    q.and_in("status", from.iter().map(|s| s.as_str()));
    let (text, params) = q.into_parts();
    tx.execute(&text, params).await.map(|n| n == 1)
}

/// Renews an invitation or a request of a membership that ended (left, declined) or was
/// never accepted: its role, status and who invited.
pub async fn renew_member(
    tx: &mut Tx,
    id: i64,
    status: MemberStatus,
    nickname: Option<&str>,
    invited_by: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE group_member SET status = $2, nickname = COALESCE($3, nickname), \
         invited_by = COALESCE($4, invited_by), muted_until = NULL, updated_at = $5 \
         WHERE id = $1 AND status IN ('invited', 'requested', 'declined', 'left')",
        (id, status, nickname, invited_by, now),
    )
    .await
    .map(|n| n == 1)
}

pub async fn set_muted(
    tx: &mut Tx,
    id: i64,
    until: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE group_member SET muted_until = $2, updated_at = $3 \
         WHERE id = $1 AND status = 'active'",
        (id, until, now),
    )
    .await
    .map(|n| n == 1)
}

/// Takes the group's next message number; `None` once it is archived.
pub async fn next_seq(tx: &mut Tx, group: i64) -> Result<Option<i64>, sqlx::Error> {
    tx.scalar_optional(
        "UPDATE patient_group SET last_seq = last_seq + 1 WHERE id = $1 AND archived_at IS NULL \
         RETURNING last_seq",
        (group,),
    )
    .await
}

pub struct NewMessage<'a> {
    pub group: i64,
    pub seq: i64,
    pub member: i64,
    pub kind: MessageKind,
    pub body: &'a str,
    pub status: MessageStatus,
    pub pinned: bool,
}

pub async fn insert_message(tx: &mut Tx, m: &NewMessage<'_>, now: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO group_message (group_id, seq, member_id, kind, body, status, pinned_at, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        (
            m.group,
            m.seq,
            m.member,
            m.kind,
            m.body,
            m.status,
            m.pinned.then_some(now),
            now,
        ),
    )
    .await
    .map(|_| ())
}

/// The messages after number `after` the reader sees, in number order.
pub async fn messages_after(
    db: &Db,
    group: i64,
    after: i64,
    sees: Sees,
    limit: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    let mut q = Sql::new(format!(
        "SELECT {MESSAGE} FROM {MESSAGE_FROM} WHERE g.group_id = "
    ));
    q.bind(group).push(" AND g.seq > ").bind(after);
    visible(&mut q, sees);
    q.push(" ORDER BY g.seq LIMIT ").bind(limit);
    q.fetch_all(db).await
}

/// The last `limit` messages the reader sees, in number order (a page's first view).
pub async fn latest_messages(
    db: &Db,
    group: i64,
    sees: Sees,
    limit: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    let mut q = Sql::new(format!(
        "SELECT {MESSAGE} FROM {MESSAGE_FROM} WHERE g.group_id = "
    ));
    q.bind(group);
    visible(&mut q, sees);
    q.push(" ORDER BY g.seq DESC LIMIT ").bind(limit);
    let mut rows: Vec<MessageRow> = q.fetch_all(db).await?;
    rows.reverse();
    Ok(rows)
}

/// The pinned messages that are shown, newest pin first.
pub async fn pinned(db: &Db, group: i64) -> Result<Vec<MessageRow>, sqlx::Error> {
    db.all(
        &format!(
            "SELECT {MESSAGE} FROM {MESSAGE_FROM} WHERE g.group_id = $1 \
             AND g.pinned_at IS NOT NULL AND g.status = 'shown' ORDER BY g.pinned_at DESC LIMIT 5"
        ),
        (group,),
    )
    .await
}

pub async fn message(db: &Db, group: i64, seq: i64) -> Result<Option<MessageRow>, sqlx::Error> {
    db.optional(
        &format!("SELECT {MESSAGE} FROM {MESSAGE_FROM} WHERE g.group_id = $1 AND g.seq = $2"),
        (group, seq),
    )
    .await
}

/// Moves a message from one of `from` to `to`; false when it is not in one of them.
pub async fn set_message_status(
    tx: &mut Tx,
    (group, seq): (i64, i64),
    from: &[MessageStatus],
    to: MessageStatus,
) -> Result<bool, sqlx::Error> {
    let mut q = Sql::new("UPDATE group_message SET status = ");
    q.bind(to.as_str()).push(" WHERE group_id = ").bind(group);
    q.push(" AND seq = ").bind(seq);
    q.and_in("status", from.iter().map(|s| s.as_str()));
    let (text, params) = q.into_parts();
    tx.execute(&text, params).await.map(|n| n == 1)
}

/// Pins (`Some(now)`) or unpins a shown message; false when it is not shown.
pub async fn set_pinned(
    tx: &mut Tx,
    (group, seq): (i64, i64),
    at: Option<i64>,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE group_message SET pinned_at = $3 WHERE group_id = $1 AND seq = $2 \
         AND status = 'shown'",
        (group, seq, at),
    )
    .await
    .map(|n| n == 1)
}

pub struct NewFlag<'a> {
    pub group: i64,
    pub seq: i64,
    pub source: &'static str,
    pub category: Category,
    pub reporter: Option<i64>,
    pub note: &'a str,
}

/// Records a flag; false when the member had already reported the message.
pub async fn insert_flag(tx: &mut Tx, f: &NewFlag<'_>, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "INSERT INTO group_flag (group_id, seq, source, category, reporter_id, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        (
            f.group, f.seq, f.source, f.category, f.reporter, f.note, now,
        ),
    )
    .await
    .map(|n| n == 1)
}

/// Closes the open flags on a message with a moderator's decision; how many it closed.
pub async fn resolve_flags(
    tx: &mut Tx,
    (group, seq): (i64, i64),
    by: i64,
    resolution: Moderation,
    now: i64,
) -> Result<u64, sqlx::Error> {
    tx.execute(
        "UPDATE group_flag SET resolved_by = $3, resolution = $4, resolved_at = $5 \
         WHERE group_id = $1 AND seq = $2 AND resolved_at IS NULL",
        (group, seq, by, resolution, now),
    )
    .await
}

/// The open flags of a group, oldest first: the moderation queue.
pub async fn open_flags(db: &Db, group: i64) -> Result<Vec<FlagRow>, sqlx::Error> {
    db.all(
        "SELECT f.id, f.seq, f.source, f.category, r.nickname AS reporter, f.note, f.created_at, \
         g.body, s.nickname AS sender, g.member_id AS sender_member, g.status AS message_status \
         FROM group_flag f \
         JOIN group_message g ON g.group_id = f.group_id AND g.seq = f.seq \
         JOIN group_member s ON s.id = g.member_id \
         LEFT JOIN group_member r ON r.id = f.reporter_id \
         WHERE f.group_id = $1 AND f.resolved_at IS NULL ORDER BY f.id LIMIT 200",
        (group,),
    )
    .await
}

pub async fn open_flag_count(db: &Db, group: i64) -> Result<i64, sqlx::Error> {
    db.scalar(
        "SELECT COUNT(*) FROM group_flag WHERE group_id = $1 AND resolved_at IS NULL",
        (group,),
    )
    .await
}

/// Records (or changes) a member's vote.
pub async fn vote(
    tx: &mut Tx,
    (group, seq): (i64, i64),
    member: i64,
    choice: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO group_vote (group_id, seq, member_id, choice, created_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (group_id, seq, member_id) DO UPDATE SET choice = $4, created_at = $5",
        (group, seq, member, choice, now),
    )
    .await
    .map(|_| ())
}

/// Votes per choice of the polls numbered from `first` on, as (seq, choice, votes).
pub async fn tallies(db: &Db, group: i64, first: i64) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    db.all(
        "SELECT seq, choice, COUNT(*) FROM group_vote WHERE group_id = $1 AND seq >= $2 \
         GROUP BY seq, choice",
        (group, first),
    )
    .await
}

/// The member's own votes in polls numbered from `first` on, as (seq, choice).
pub async fn my_votes(
    db: &Db,
    group: i64,
    member: i64,
    first: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    db.all(
        "SELECT seq, choice FROM group_vote WHERE group_id = $1 AND member_id = $2 AND seq >= $3",
        (group, member, first),
    )
    .await
}

pub struct NewSession<'a> {
    pub group: i64,
    pub doctor: i64,
    pub topic: &'a str,
    pub starts_at: i64,
    pub ends_at: i64,
    pub by: i64,
}

pub async fn insert_session(tx: &mut Tx, s: &NewSession<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO group_session (group_id, doctor_id, topic, starts_at, ends_at, created_by, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        (
            s.group,
            s.doctor,
            s.topic,
            s.starts_at,
            s.ends_at,
            s.by,
            now,
        ),
    )
    .await
}

/// The sessions not over at `now`, soonest first.
pub async fn sessions(db: &Db, group: i64, now: i64) -> Result<Vec<SessionRow>, sqlx::Error> {
    db.all(
        "SELECT s.id, s.doctor_id, a.display_name AS doctor, s.topic, s.starts_at, s.ends_at \
         FROM group_session s JOIN account a ON a.id = s.doctor_id \
         WHERE s.group_id = $1 AND s.ends_at > $2 AND s.cancelled_at IS NULL \
         ORDER BY s.starts_at LIMIT 20",
        (group, now),
    )
    .await
}

/// Whether the patient has been seen at the hospital (a clinician there has a care link):
/// staff invite only their own hospital's patients.
pub async fn seen_at(db: &Db, person: i64, hospital: i64) -> Result<bool, sqlx::Error> {
    db.scalar::<i64>(
        "SELECT COUNT(*) FROM care_link WHERE person_id = $1 AND hospital_id = $2",
        (person, hospital),
    )
    .await
    .map(|n| n > 0)
}

/// Makes a membership a staff one: its role, and the staff member's own name as nickname.
pub async fn set_role(
    tx: &mut Tx,
    id: i64,
    role: MemberRole,
    name: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE group_member SET role = $2, nickname = $3, updated_at = $4 WHERE id = $1",
        (id, role, name, now),
    )
    .await
    .map(|_| ())
}

/// How many messages a member posted since `since`.
pub async fn posted_since(tx: &mut Tx, member: i64, since: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "SELECT COUNT(*) FROM group_message WHERE member_id = $1 AND created_at > $2",
        (member, since),
    )
    .await
}

/// A hospital's own screened words, by category and word.
pub async fn own_words(db: &Db, hospital: i64) -> Result<Vec<Word>, sqlx::Error> {
    db.all(
        "SELECT category, word FROM group_word WHERE hospital_id = $1 ORDER BY category, word",
        (hospital,),
    )
    .await
}

/// Replaces a hospital's own words with `words` (already checked, each once).
pub async fn replace_own_words(
    tx: &mut Tx,
    hospital: i64,
    words: &[Word],
    by: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute("DELETE FROM group_word WHERE hospital_id = $1", (hospital,))
        .await?;
    if words.is_empty() {
        return Ok(());
    }
    // One statement for the list (at most 300 words: 602 parameters).
    let mut params = crate::db::Params::default();
    let (h, by, at) = (params.push(hospital), params.push(by), params.push(now));
    let rows: Vec<String> = words
        .iter()
        .map(|w| {
            let word = params.push(w.word.clone());
            let category = params.push(w.category.as_str());
            format!("({h}, {word}, {category}, {by}, {at})")
        })
        .collect();
    let sql = format!(
        "INSERT INTO group_word (hospital_id, word, category, added_by, added_at) VALUES {}",
        rows.join(", ")
    );
    tx.execute(&sql, params).await.map(|_| ())
}
