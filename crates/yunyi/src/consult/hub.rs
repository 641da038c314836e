//! What happens in a conversation, as listeners hear it: messages stored, read marks, typing,
//! status changes and call signalling, carried by a [`Hub`](crate::hub::Hub) keyed by
//! consultation on the PostgreSQL channel [`CHANNEL`].
//!
//! News is published only *after* the change it reports was committed: message n is stored
//! (with the message itself, so that a listener that has seen n − 1 can pass it on without
//! reading it back), someone read up to n, someone is typing. A listener passes on a message
//! only in number order: one that missed a number (a lost or late wake-up, a full backlog)
//! reads again from its last number in the database. So a message is delivered only once it
//! is stored, nothing is skipped, and nothing is delivered twice.

use serde::{Deserialize, Serialize};

use super::store::MessageRow;
use crate::db::Db;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "yunyi_consult";

/// The conversations' hub.
pub type Hub = crate::hub::Hub<News>;

/// What happened in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum News {
    /// Message number `seq` is stored; `message` is it, when it fits (a PostgreSQL
    /// notification carries at most 8,000 bytes; without it listeners read it back).
    Message {
        seq: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<Box<MessageRow>>,
    },
    /// `account` has read up to `seq`.
    Read { account: i64, seq: i64 },
    /// `account` is typing.
    Typing { account: i64 },
    /// The consultation's status changed.
    Status { status: super::model::Status },
    /// A video-call signalling message (SDP offer/answer, ICE candidate) from `from`, for the
    /// other participants; relayed, never stored.
    Signal { from: i64, data: serde_json::Value },
}

/// Publishes news after the change it reports was committed (see [`crate::hub::publish`]).
pub async fn publish(db: &Db, hub: &Hub, consultation: i64, news: News) {
    crate::hub::publish(db, hub, consultation, news).await;
}

impl crate::hub::Shrink for News {
    /// A message too long for a notification travels as its number only.
    fn shrink(self) -> Option<Self> {
        match self {
            News::Message {
                seq,
                message: Some(_),
            } => Some(News::Message { seq, message: None }),
            _ => None,
        }
    }
}
