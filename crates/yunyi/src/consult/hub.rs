//! Who is listening to which conversation in this process, and how news reaches them.
//!
//! The hub carries only *wake-ups* (message n exists, someone read up to n, someone is
//! typing); the messages themselves are always read from the database, after their commit.
//! So a message is delivered only once it is stored, a listener that falls behind just reads
//! again from its last number, and nothing is delivered twice.
//!
//! With several processes on one PostgreSQL, news goes out as `NOTIFY yunyi_consult` and each
//! process's listener (`listen`) hands it to its own hub; on SQLite (one process) it is handed
//! over directly.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::db::Db;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "yunyi_consult";

/// What happened in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum News {
    /// Message number `seq` is stored.
    Message { seq: i64 },
    /// `account` has read up to `seq`.
    Read { account: i64, seq: i64 },
    /// `account` is typing.
    Typing { account: i64 },
    /// The consultation's status changed.
    Status { status: String },
    /// A video-call signalling message (SDP offer/answer, ICE candidate) from `from`, for the
    /// other participants; relayed, never stored.
    Signal { from: i64, data: serde_json::Value },
}

/// A piece of news about one consultation, as it travels between processes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Envelope {
    consultation: i64,
    #[serde(flatten)]
    news: News,
}

/// Per-consultation broadcast channels of this process.
#[derive(Debug, Default)]
pub struct Hub {
    channels: Mutex<HashMap<i64, broadcast::Sender<News>>>,
}

/// How many wake-ups a slow listener may miss before it is told it lagged (it then reads
/// from the database again, so lagging loses nothing).
const BACKLOG: usize = 64;

impl Hub {
    pub fn subscribe(&self, consultation: i64) -> broadcast::Receiver<News> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels
            .entry(consultation)
            .or_insert_with(|| broadcast::channel(BACKLOG).0)
            .subscribe()
    }

    /// Hands news to this process's listeners; forgets conversations nobody listens to.
    pub fn deliver(&self, consultation: i64, news: News) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = channels.get(&consultation) {
            if sender.send(news).is_err() {
                channels.remove(&consultation);
            }
        }
    }

    /// Forgets a conversation's channel once nobody listens to it (a chat connection calls
    /// this as it closes), so consultations visited once do not keep their channels.
    pub fn release(&self, consultation: i64) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if channels
            .get(&consultation)
            .is_some_and(|s| s.receiver_count() == 0)
        {
            channels.remove(&consultation);
        }
    }

    /// Conversations with at least one listener here.
    pub fn listened(&self) -> usize {
        let channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.values().filter(|s| s.receiver_count() > 0).count()
    }
}

/// Publishes news after the change it reports was committed: to every process through
/// PostgreSQL, or straight to this process's hub on SQLite.
pub async fn publish(db: &Db, hub: &Hub, consultation: i64, news: News) {
    match db {
        Db::Sqlite(_) => hub.deliver(consultation, news),
        Db::Postgres(pool) => {
            let payload =
                serde_json::to_string(&Envelope { consultation, news }).unwrap_or_default();
            if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload)
                .execute(pool)
                .await
            {
                // The news is lost, not the message: listeners catch up on their next wake-up
                // or reconnect, reading from the database.
                tracing::warn!(error = %e, "could not publish consultation news");
            }
        }
    }
}

/// On PostgreSQL, forwards notifications to `hub` until `stop` is cancelled; reconnects after
/// a lost connection (listeners then catch up from the database on the next news).
pub async fn listen(db: Db, hub: std::sync::Arc<Hub>, stop: tokio_util::sync::CancellationToken) {
    let Db::Postgres(pool) = db else {
        return;
    };
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "consultation listener cannot connect; retrying");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                }
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "consultation listener cannot LISTEN; retrying");
            continue;
        }
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                received = listener.recv() => match received {
                    Ok(n) => match serde_json::from_str::<Envelope>(n.payload()) {
                        Ok(e) => hub.deliver(e.consultation, e.news),
                        Err(e) => tracing::warn!(error = %e, "malformed consultation news"),
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "consultation listener lost its connection");
                        break;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn news_reaches_listeners_of_that_conversation_only() {
        let hub = Hub::default();
        let mut one = hub.subscribe(1);
        let mut two = hub.subscribe(2);
        hub.deliver(1, News::Message { seq: 1 });
        assert_eq!(one.recv().await.ok(), Some(News::Message { seq: 1 }));
        assert!(two.try_recv().is_err());
        drop(one);
        hub.release(1);
        assert_eq!(hub.listened(), 1);
        drop(two);
        hub.deliver(2, News::Message { seq: 2 });
        assert_eq!(hub.listened(), 0);
        assert!(hub.channels.lock().map(|c| c.is_empty()).unwrap_or(false));
    }

    #[test]
    fn news_travels_as_json() {
        let e = Envelope {
            consultation: 7,
            news: News::Read { account: 3, seq: 9 },
        };
        let text = serde_json::to_string(&e).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"consultation":7,"type":"read","account":3,"seq":9}"#
        );
    }
}
