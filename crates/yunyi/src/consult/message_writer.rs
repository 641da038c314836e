//! Chat messages committed in groups on SQLite (see `db::batch_writer` for why and how).
//!
//! Each message is the same three statements as on the general path
//! (`conversation::append`): the next number taken by the conditional update of the
//! consultation's row (none once it has ended), the insert, and the audit event chained to the
//! head (read once per batch). The doctor's reply also marks the first reply. A doctor's
//! message that *begins* an accepted consultation also moves its status, with history and
//! audit; that rare one takes the general path. PostgreSQL does not use this.

use std::sync::LazyLock;

use rusqlite::params;

use super::store;
use crate::audit::store::sqlite_batch::{audit_head, insert_event};
use crate::audit::{self, AuditActor, NewEvent};
use crate::db::batch_writer::{Batch, BatchWriter, sqlite_numbered};

/// One message to store.
#[derive(Debug)]
pub struct Append {
    pub consultation: i64,
    /// The consultation's patient, for the audit event.
    pub patient: i64,
    pub sender: i64,
    pub kind: &'static str,
    pub body: String,
    pub blob: Option<(String, &'static str)>,
    /// A doctor's reply: marks the first reply if none is marked yet.
    pub doctor_reply: bool,
    pub now: i64,
    pub actor: AuditActor,
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored with this number.
    Stored(i64),
    /// The consultation had ended; nothing was written.
    Ended,
}

/// The message writer; `None` on PostgreSQL.
pub type MessageWriter = BatchWriter<Messages>;

/// Chat messages as a [`Batch`].
pub struct Messages;

static NEXT_SEQ: LazyLock<String> = LazyLock::new(|| sqlite_numbered(store::NEXT_SEQ_SQL));
static INSERT: LazyLock<String> = LazyLock::new(|| sqlite_numbered(store::INSERT_MESSAGE_SQL));
static FIRST_REPLY: LazyLock<String> =
    LazyLock::new(|| sqlite_numbered(store::MARK_FIRST_REPLY_SQL));

impl Batch for Messages {
    type Job = Append;
    type Outcome = Outcome;
    const THREAD: &'static str = "message-writer";

    fn run(tx: &rusqlite::Transaction<'_>, jobs: &[&Append]) -> rusqlite::Result<Vec<Outcome>> {
        let mut head = audit_head(tx)?;
        let mut outcomes = Vec::with_capacity(jobs.len());
        for m in jobs {
            let seq = tx
                .prepare_cached(&NEXT_SEQ)?
                .query_row(params![m.consultation, m.now], |r| r.get::<_, i64>(0));
            let seq = match seq {
                Ok(seq) => seq,
                Err(rusqlite::Error::QueryReturnedNoRows) => {
                    outcomes.push(Outcome::Ended);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if m.doctor_reply {
                tx.prepare_cached(&FIRST_REPLY)?
                    .execute(params![m.consultation, m.now])?;
            }
            let (blob_key, content_type) = match &m.blob {
                Some((key, content_type)) => (Some(key.as_str()), Some(*content_type)),
                None => (None, None),
            };
            tx.prepare_cached(&INSERT)?.execute(params![
                m.consultation,
                seq,
                m.sender,
                m.kind,
                m.body,
                blob_key,
                content_type,
                m.now
            ])?;
            let new = NewEvent::new(m.actor.clone(), "consultation.message", "consultation")
                .object(m.consultation)
                .patient(m.patient);
            let event = audit::Pending::of(&new, m.now).chained(head);
            insert_event(tx, &event)?;
            head = (event.id, event.hash);
            outcomes.push(Outcome::Stored(seq));
        }
        Ok(outcomes)
    }
}
