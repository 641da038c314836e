//! The header's unread count, kept current on open pages: after a notification is stored (or
//! read), its account's new unread count is published on a [`Hub`](crate::hub::Hub) keyed by
//! account, and each open page's event stream (`/notifications/stream`) passes it on.

use serde::{Deserialize, Serialize};

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "yunyi_inbox";

/// The topic every open page listens to besides its account's: news on it (a push that
/// reached many accounts at once) makes each page count its unread notifications again.
/// Account ids start at 1, so it is no account's.
pub const EVERYONE: i64 = 0;

/// An account's unread count changed (on [`EVERYONE`]: count again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unread {
    pub unread: i64,
}

impl crate::hub::Shrink for Unread {}

/// The accounts' bells.
pub type Bells = crate::hub::Hub<Unread>;
