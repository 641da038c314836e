//! The header's unread count, kept current on open pages: after a notification is stored (or
//! read), its account's new unread count is published on a [`Hub`](crate::hub::Hub) keyed by
//! account, and each open page's event stream (`/notifications/stream`) passes it on.

use serde::{Deserialize, Serialize};

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "yunyi_inbox";

/// An account's unread count changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unread {
    pub unread: i64,
}

impl crate::hub::Shrink for Unread {}

/// The accounts' bells.
pub type Bells = crate::hub::Hub<Unread>;
