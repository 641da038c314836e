//! What happens in a group, as its open pages hear it: a message stored (with the message
//! when everyone may see it), a message changed by a moderator or a vote. Carried by a
//! [`Hub`](crate::hub::Hub) keyed by group on the PostgreSQL channel [`CHANNEL`], published
//! only after the change is committed — the consultation chat's transport.

use serde::{Deserialize, Serialize};

use super::service::MessageView;
use crate::db::Db;

pub const CHANNEL: &str = "yunyi_groups";

pub type Hub = crate::hub::Hub<News>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum News {
    /// Message number `seq` is stored; `message` is it when it is shown to everyone and fits
    /// a notification. Without it, a listener reads what its reader may see.
    Message {
        seq: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<Box<MessageView>>,
    },
    /// Message `seq` changed (released, hidden, pinned, voted on): `message` as everyone now
    /// sees it, or none when it is not shown any more.
    Changed {
        seq: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<Box<MessageView>>,
    },
    /// A moderator removed membership `member`: its open pages close.
    Removed { member: i64 },
}

pub async fn publish(db: &Db, hub: &Hub, group: i64, news: News) {
    crate::hub::publish(db, hub, group, news).await;
}

impl crate::hub::Shrink for News {
    /// A message too long for a notification travels as its number only (listeners read it).
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
