//! The conversation of a consultation: who takes part, text and image messages stored and
//! committed before anyone is told, catch-up reads and read receipts.

use serde::Serialize;

use super::model::{Action, Status};
use super::store::{self, ConsultationRow};
use super::{hub, message_writer};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::error::{AppError, AppResult, Reason};
use crate::identity::Actor;
use crate::identity::auth::require_step_up;
use crate::identity::model::Role;
use crate::policy;

use super::lifecycle::{announce, record_move};
use super::records::clean_image;
use super::service::{consultation_or_404, deny, not_found};

/// Which side of a conversation the actor is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The patient or a family member acting for them.
    Patient,
    Doctor,
}

/// The actor's side in `c`'s conversation, or an error (denials audited). Allowed access is
/// audited by the caller with what it did.
pub async fn participant(
    state: &AppState,
    actor: &Actor,
    c: &ConsultationRow,
    action: &str,
) -> AppResult<Side> {
    let me = actor.require()?;
    match me.role {
        Role::Patient => {
            policy::decide_patient(state, actor, action, "consultation", c.person_id, None).await?;
            Ok(Side::Patient)
        }
        Role::Doctor if c.doctor_id == Some(me.account_id) => {
            require_step_up(state, me)?;
            Ok(Side::Doctor)
        }
        _ => {
            deny(state, actor, c, action, "not a participant").await?;
            Err(not_found(c.id))
        }
    }
}

/// The longest text message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2_000;

/// Posts a text message: stored (with its audit event) and committed before anyone is told.
/// The doctor's first message begins an accepted consultation. Patients may add to a request
/// before it is accepted; nobody writes into an ended one.
pub async fn post_message(
    state: &AppState,
    actor: &Actor,
    id: i64,
    text: &str,
) -> AppResult<store::MessageRow> {
    message_text(text)?;
    let c = consultation_or_404(state, id).await?;
    post_message_to(state, actor, &c, text).await
}

/// The message's text, trimmed, if it has 1 to [`MAX_MESSAGE_CHARS`] characters.
fn message_text(text: &str) -> AppResult<&str> {
    let text = text.trim();
    let n = text.chars().count();
    if n == 0 || n > MAX_MESSAGE_CHARS {
        return Err(AppError::invalid(
            "text",
            format!("a message has 1 to {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    // Frames from the socket do not pass the body extractors' check: the same rule here.
    crate::text::check("text", text, MAX_MESSAGE_CHARS)
        .map_err(|e| AppError::Validation(vec![e]))?;
    Ok(text)
}

/// As [`post_message`], to a consultation read a moment ago (a chat connection keeps its
/// own, its status kept current by the news). A status that is out of date cannot let a
/// message in: the store refuses one into a consultation that has ended, and only the
/// doctor, who becomes a participant as the request is accepted, is refused by status alone.
pub async fn post_message_to(
    state: &AppState,
    actor: &Actor,
    c: &ConsultationRow,
    text: &str,
) -> AppResult<store::MessageRow> {
    let text = message_text(text)?;
    let side = writable(state, actor, c).await?;
    let content = Content {
        kind: "text",
        body: text,
        blob: None,
    };
    append(state, actor, c, side, content).await
}

/// The actor's side, if they may write into `c` now: participants, not after the end, and the
/// doctor only once they accepted.
async fn writable(state: &AppState, actor: &Actor, c: &ConsultationRow) -> AppResult<Side> {
    let side = participant(state, actor, c, "consultation.message").await?;
    let status = c.status();
    if status.is_ended() {
        return Err(AppError::refused(
            Reason::ConsultationEnded,
            format!(
                "the consultation has ended ({}); start a new one to continue",
                status.as_str().replace('_', " ")
            ),
        ));
    }
    if side == Side::Doctor && status == Status::Requested {
        return Err(AppError::refused(
            Reason::NotAccepted,
            "accept the request before writing to the patient".to_owned(),
        ));
    }
    Ok(side)
}

/// A message's content: its kind, its text, and for a picture its blob key and type.
struct Content<'a> {
    kind: &'static str,
    body: &'a str,
    blob: Option<(&'a str, &'static str)>,
}

/// Stores a message from the actor with its audit event, commits, and only then tells the
/// listeners (the news carries the stored message, so they need not read it back). The
/// doctor's first message (or call) begins an accepted consultation — if it is still
/// accepted: two first messages at once both get stored, one of them begins it. Nothing is
/// written into a consultation that ended meanwhile.
async fn append(
    state: &AppState,
    actor: &Actor,
    c: &ConsultationRow,
    side: Side,
    content: Content<'_>,
) -> AppResult<store::MessageRow> {
    let me = actor.require()?;
    let id = c.id;
    let now = state.now_ms();
    let may_begin = side == Side::Doctor && c.status() == Status::Accepted;
    let (seq, begins) = match &state.messages {
        // SQLite: the message writer commits messages in groups.
        Some(writer) if !may_begin => {
            let job = message_writer::Append {
                consultation: id,
                patient: c.person_id,
                sender: me.account_id,
                kind: content.kind,
                body: content.body.to_owned(),
                blob: content.blob.map(|(key, t)| (key.to_owned(), t)),
                doctor_reply: side == Side::Doctor,
                now,
                actor: actor.audit(),
            };
            match writer.submit(job).await? {
                message_writer::Outcome::Stored(seq) => (seq, false),
                message_writer::Outcome::Ended => return Err(ended()),
            }
        }
        _ => append_in_transaction(state, actor, c, side, &content, now).await?,
    };
    if begins {
        announce(state, id, Status::InProgress).await;
    }
    let message = store::MessageRow {
        seq,
        sender_id: Some(me.account_id),
        kind: content.kind.to_owned(),
        body: content.body.to_owned(),
        blob_key: content.blob.map(|(key, _)| key.to_owned()),
        content_type: content.blob.map(|(_, t)| t.to_owned()),
        created_at: now,
    };
    let news = hub::News::Message {
        seq,
        message: Some(Box::new(message.clone())),
    };
    hub::publish(&state.db, &state.chat, id, news).await;
    if side == Side::Patient && content.kind == "text" {
        crate::surveillance::screen::message(state, c, seq, content.body).await;
    }
    if side == Side::Doctor {
        super::unread::watch(state, id, seq, now).await;
    }
    Ok(message)
}

/// [`append`] in a transaction of its own; also begins an accepted consultation on the
/// doctor's first message. Returns the message's number and whether it began the consultation.
async fn append_in_transaction(
    state: &AppState,
    actor: &Actor,
    c: &ConsultationRow,
    side: Side,
    content: &Content<'_>,
    now: i64,
) -> AppResult<(i64, bool)> {
    let me = actor.require()?;
    let id = c.id;
    let mut tx = state.db.begin().await?;
    let mut begins = false;
    if side == Side::Doctor {
        if c.status() == Status::Accepted {
            let start = (Status::Accepted, Status::InProgress);
            begins = store::set_status(&mut tx, id, start.0, start.1, None, now).await?;
            if begins {
                record_move(&mut tx, &actor.audit(), c, start, Action::Start, None, now).await?;
            }
        }
        store::mark_first_reply(&mut tx, id, now).await?;
    }
    let message = store::NewMessage {
        sender: Some(me.account_id),
        kind: content.kind,
        body: content.body,
        blob_key: content.blob.map(|(key, _)| key),
        content_type: content.blob.map(|(_, t)| t),
    };
    let seq = store::append_message(&mut tx, id, &message, now)
        .await?
        .ok_or_else(ended)?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "consultation.message", "consultation")
            .object(id)
            .patient(c.person_id),
    )
    .await?;
    tx.commit().await?;
    Ok((seq, begins))
}

/// The refusal of a message into a consultation that ended after its page was read.
fn ended() -> AppError {
    AppError::refused(
        Reason::ConsultationEnded,
        "the consultation has ended; start a new one to continue".to_owned(),
    )
}

/// A participant's view of the conversation after message `after`: at most `limit` messages
/// and everyone's read marks. Audited as a read.
pub async fn messages(
    state: &AppState,
    actor: &Actor,
    id: i64,
    after: i64,
    limit: i64,
) -> AppResult<Conversation> {
    messages_of(state, actor, id, after, limit)
        .await
        .map(|(_, conversation)| conversation)
}

/// As [`messages`], with the consultation itself (for FHIR's references).
pub async fn messages_of(
    state: &AppState,
    actor: &Actor,
    id: i64,
    after: i64,
    limit: i64,
) -> AppResult<(ConsultationRow, Conversation)> {
    let c = consultation_or_404(state, id).await?;
    participant(state, actor, &c, "consultation.read_messages").await?;
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "consultation.read_messages", "consultation")
            .object(id)
            .patient(c.person_id),
    )
    .await?;
    let conversation = conversation_after(state, id, after, limit).await?;
    Ok((c, conversation))
}

/// The conversation as a consultation's page shows it, to someone who could read the
/// consultation: all of it for its participants; nothing for a doctor of the department's
/// queue, who sees the intake before accepting but not the conversation.
pub async fn for_page(
    state: &AppState,
    actor: &Actor,
    c: &ConsultationRow,
) -> AppResult<Vec<store::MessageRow>> {
    let me = actor.require()?;
    if me.role == Role::Doctor && c.doctor_id != Some(me.account_id) {
        return Ok(Vec::new());
    }
    Ok(messages(state, actor, c.id, 0, 500).await?.messages)
}

/// Messages after `after` and the read marks, without an access check (the caller did it).
pub async fn conversation_after(
    state: &AppState,
    id: i64,
    after: i64,
    limit: i64,
) -> AppResult<Conversation> {
    let messages = store::messages_after(&state.db, id, after, limit).await?;
    let read = store::read_marks(&state.db, id)
        .await?
        .into_iter()
        .map(|(account, seq)| ReadMark { account, seq })
        .collect();
    Ok(Conversation { messages, read })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReadMark {
    pub account: i64,
    pub seq: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Conversation {
    pub messages: Vec<store::MessageRow>,
    pub read: Vec<ReadMark>,
}

/// Records that the actor has read up to message `seq` (a read receipt) and tells the others.
pub async fn mark_read(state: &AppState, actor: &Actor, id: i64, seq: i64) -> AppResult<()> {
    let c = consultation_or_404(state, id).await?;
    participant(state, actor, &c, "consultation.read_messages").await?;
    if seq < 1 || seq > c.last_seq {
        return Err(AppError::invalid(
            "seq",
            format!("must be a message number from 1 to {}", c.last_seq),
        ));
    }
    let me = actor.require()?;
    store::mark_read(&state.db, id, me.account_id, seq, state.now_ms()).await?;
    let news = hub::News::Read {
        account: me.account_id,
        seq,
    };
    hub::publish(&state.db, &state.chat, id, news).await;
    Ok(())
}

/// Checks that the actor takes part in consultation `id` before a chat connection opens, and
/// audits the opening (each message posted is audited too).
pub async fn open_chat(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let c = consultation_or_404(state, id).await?;
    participant(state, actor, &c, "consultation.chat").await?;
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "consultation.chat", "consultation")
            .object(id)
            .patient(c.person_id),
    )
    .await?;
    Ok(())
}

/// Sends an image into the conversation: JPEG, PNG or WebP recognised by its bytes (never by
/// its name or claimed type), within the server's body limit, stripped of its metadata, kept
/// in the blob store; the message refers to it. Same rules as a text message otherwise.
pub async fn post_image(
    state: &AppState,
    actor: &Actor,
    id: i64,
    bytes: &[u8],
) -> AppResult<store::MessageRow> {
    let content_type = crate::blob::sniff_image(bytes).ok_or_else(|| {
        AppError::UnsupportedMediaType("send a JPEG, PNG or WebP picture".to_owned())
    })?;
    let clean = clean_image(bytes, content_type)?;
    let c = consultation_or_404(state, id).await?;
    let side = writable(state, actor, &c).await?;
    let key = state
        .blobs
        .put(&clean)
        .await
        .map_err(AppError::from_storage)?;
    let content = Content {
        kind: "image",
        body: "",
        blob: Some((&key, content_type)),
    };
    append(state, actor, &c, side, content).await
}

/// The picture of image message `seq`, for the conversation's participants. Audited.
pub async fn image(
    state: &AppState,
    actor: &Actor,
    id: i64,
    seq: i64,
) -> AppResult<(Vec<u8>, String)> {
    let c = consultation_or_404(state, id).await?;
    participant(state, actor, &c, "consultation.read_messages").await?;
    let not_found = || AppError::NotFound(format!("message {seq} is not a picture"));
    let message = store::message(&state.db, id, seq)
        .await?
        .ok_or_else(not_found)?;
    let (Some(key), Some(content_type)) = (message.blob_key, message.content_type) else {
        return Err(not_found());
    };
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "consultation.read_image", "consultation")
            .object(id)
            .patient(c.person_id),
    )
    .await?;
    let bytes = state
        .blobs
        .get(&key)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(not_found)?;
    Ok((bytes, content_type))
}

/// The largest signalling message relayed, in bytes of JSON: an SDP offer is a few KiB, and a
/// PostgreSQL notification carries at most 8,000 bytes.
pub const MAX_SIGNAL_BYTES: usize = 7_000;

/// Relays a video-call signalling message to the other participants (not stored). Only while
/// the consultation is open and past the request.
pub async fn signal(
    state: &AppState,
    actor: &Actor,
    id: i64,
    data: serde_json::Value,
) -> AppResult<()> {
    let size = data.to_string().len();
    if size > MAX_SIGNAL_BYTES {
        return Err(AppError::invalid(
            "data",
            format!("a signalling message is at most {MAX_SIGNAL_BYTES} bytes"),
        ));
    }
    let c = consultation_or_404(state, id).await?;
    participant(state, actor, &c, "consultation.call").await?;
    if !matches!(c.status(), Status::Accepted | Status::InProgress) {
        return Err(AppError::wrong_state(
            "calls take place in an accepted consultation that has not ended",
        ));
    }
    let me = actor.require()?;
    let news = hub::News::Signal {
        from: me.account_id,
        data,
    };
    hub::publish(&state.db, &state.chat, id, news).await;
    Ok(())
}

const CALL_STARTED: &str = "视频通话开始";

/// Records a call's start or end in the conversation; the end says how long it lasted. A call
/// begins an accepted consultation like the doctor's first message.
pub async fn call(
    state: &AppState,
    actor: &Actor,
    id: i64,
    started: bool,
) -> AppResult<store::MessageRow> {
    let c = consultation_or_404(state, id).await?;
    let side = writable(state, actor, &c).await?;
    if c.status() == Status::Requested {
        return Err(AppError::refused(
            Reason::NotAccepted,
            "a call needs the doctor to accept the consultation first".to_owned(),
        ));
    }
    let body = if started {
        CALL_STARTED.to_owned()
    } else {
        let start = store::last_call_start(&state.db, id, CALL_STARTED)
            .await?
            .ok_or_else(|| AppError::wrong_state("no call has started"))?;
        let seconds = (state.now_ms() - start).max(0) / 1000;
        format!("视频通话结束，时长 {} 分 {} 秒", seconds / 60, seconds % 60)
    };
    let content = Content {
        kind: "call",
        body: &body,
        blob: None,
    };
    append(state, actor, &c, side, content).await
}
