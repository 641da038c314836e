//! Messages to people (one-time codes now; reminders and alerts later) go through a
//! [`Notifier`], so an SMS gateway plugs in without touching the services. The built-in
//! notifier logs that a message went out (recipient masked, never the text) and, in demo mode
//! and tests, keeps the messages in a [`DevInbox`] shown at `/dev/inbox`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::model::Phone;
use crate::clock::now_ms;
use crate::jobs::BoxFuture;

#[derive(Debug, Clone)]
pub struct Message {
    pub to: Phone,
    /// What kind of message, e.g. `otp.login`; logged.
    pub kind: &'static str,
    /// The text; never logged (it may hold a code).
    pub text: String,
    /// The values of the text's template, for gateways that send approved templates rather
    /// than free text (Aliyun SMS: `TemplateParam`).
    pub params: BTreeMap<String, String>,
}

pub trait Notifier: Send + Sync + 'static {
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, anyhow::Result<()>>;
}

#[derive(Debug, Clone, Serialize)]
pub struct InboxEntry {
    pub at: i64,
    pub to: String,
    pub kind: &'static str,
    pub text: String,
}

/// The last 200 messages, in memory. For demo mode and tests only: it holds codes in clear.
#[derive(Debug, Clone, Default)]
pub struct DevInbox {
    entries: Arc<Mutex<VecDeque<InboxEntry>>>,
}

impl DevInbox {
    pub(crate) fn push(&self, entry: InboxEntry) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= 200 {
                entries.pop_front();
            }
            entries.push_back(entry);
        }
    }

    /// Newest first.
    pub fn entries(&self) -> Vec<InboxEntry> {
        self.entries
            .lock()
            .map(|e| e.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    /// The newest message to a phone number, for tests.
    pub fn last_to(&self, phone: &str) -> Option<InboxEntry> {
        self.entries().into_iter().find(|e| e.to == phone)
    }
}

/// Logs every message; keeps the text in the inbox when there is one.
#[derive(Debug, Clone, Default)]
pub struct LogNotifier {
    pub inbox: Option<DevInbox>,
}

impl Notifier for LogNotifier {
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            tracing::info!(to = %message.to.masked(), kind = message.kind, "message sent");
            if let Some(inbox) = &self.inbox {
                inbox.push(InboxEntry {
                    at: now_ms(),
                    to: message.to.as_str().to_owned(),
                    kind: message.kind,
                    text: message.text.clone(),
                });
            }
            Ok(())
        })
    }
}
