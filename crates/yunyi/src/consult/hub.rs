//! Who is listening to which conversation in this process, and how news reaches them.
//!
//! The hub carries news published only *after* the change it reports was committed: message n
//! is stored (with the message itself, so that a listener that has seen n − 1 can pass it on
//! without reading it back), someone read up to n, someone is typing. A listener passes on a
//! message only in number order: one that missed a number (a lost or late wake-up, a full
//! backlog) reads again from its last number in the database. So a message is delivered only
//! once it is stored, nothing is skipped, and nothing is delivered twice.
//!
//! With several processes on one PostgreSQL, news goes out as `NOTIFY yunyi_consult` and each
//! process's listener (`listen`) hands it to its own hub; on SQLite (one process) it is handed
//! over directly. Notifications reach every session of the database, whatever its schema, so
//! each carries its deployment's schema and a listener keeps only its own (two deployments in
//! one database — or the test suite's schemas — number their consultations alike).

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::store::MessageRow;
use crate::db::Db;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "yunyi_consult";

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

/// A piece of news about one consultation, as it travels between processes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Envelope {
    /// The deployment's schema: only its own processes take the news.
    scope: String,
    consultation: i64,
    #[serde(flatten)]
    news: News,
}

/// Per-consultation broadcast channels of this process.
#[derive(Debug, Default)]
pub struct Hub {
    channels: Mutex<HashMap<i64, broadcast::Sender<News>>>,
    /// The deployment's schema on PostgreSQL (see [`scope_of`]); empty on SQLite.
    scope: String,
}

/// The schema a PostgreSQL pool works in, which names its deployment in notifications; empty
/// on SQLite.
pub async fn scope_of(db: &Db) -> Result<String, sqlx::Error> {
    match db {
        Db::Sqlite(_) => Ok(String::new()),
        Db::Postgres(pool) => crate::db::current_schema(pool).await,
    }
}

/// How many wake-ups a slow listener may miss before it is told it lagged (it then reads
/// from the database again, so lagging loses nothing).
const BACKLOG: usize = 64;

impl Hub {
    /// A hub for the deployment of schema `scope` ([`scope_of`]).
    pub fn new(scope: String) -> Self {
        Self {
            channels: Mutex::default(),
            scope,
        }
    }

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

    /// Delivers a notification's news if it is this deployment's.
    fn take(&self, payload: &str) {
        match serde_json::from_str::<Envelope>(payload) {
            Ok(e) if e.scope == self.scope => self.deliver(e.consultation, e.news),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "malformed consultation news"),
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
            let payload = notification(&hub.scope, consultation, news);
            if let Err(e) = crate::db::notify(pool, CHANNEL, &payload).await {
                // The news is lost, not the message: listeners catch up on their next wake-up
                // or reconnect, reading from the database.
                tracing::warn!(error = %e, "could not publish consultation news");
            }
        }
    }
}

/// The largest notification payload PostgreSQL takes, less a margin.
const MAX_PAYLOAD: usize = 7_900;

/// News as a notification's payload; a message too long for one travels as its number only.
fn notification(scope: &str, consultation: i64, news: News) -> String {
    let seq = match &news {
        News::Message { seq, .. } => Some(*seq),
        _ => None,
    };
    let envelope = |news| Envelope {
        scope: scope.to_owned(),
        consultation,
        news,
    };
    let payload = serde_json::to_string(&envelope(news)).unwrap_or_default();
    match seq {
        Some(seq) if payload.len() > MAX_PAYLOAD => {
            let news = News::Message { seq, message: None };
            serde_json::to_string(&envelope(news)).unwrap_or_default()
        }
        _ => payload,
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
                    Ok(n) => hub.take(n.payload()),
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
        hub.deliver(
            1,
            News::Message {
                seq: 1,
                message: None,
            },
        );
        assert_eq!(
            one.recv().await.ok(),
            Some(News::Message {
                seq: 1,
                message: None
            })
        );
        assert!(two.try_recv().is_err());
        drop(one);
        hub.release(1);
        assert_eq!(hub.listened(), 1);
        drop(two);
        hub.deliver(
            2,
            News::Message {
                seq: 2,
                message: None,
            },
        );
        assert_eq!(hub.listened(), 0);
        assert!(hub.channels.lock().map(|c| c.is_empty()).unwrap_or(false));
    }

    #[tokio::test]
    async fn only_news_of_this_deployment_is_taken() {
        let hub = Hub::new("t_1".to_owned());
        let mut one = hub.subscribe(7);
        let news = |seq| News::Message { seq, message: None };
        hub.take(&notification("t_2", 7, news(1)));
        hub.take("not json");
        hub.take(&notification("t_1", 7, news(2)));
        assert_eq!(one.recv().await.ok(), Some(news(2)));
        assert!(one.try_recv().is_err());
    }

    #[test]
    fn a_message_too_long_for_a_notification_travels_as_its_number() {
        let message = |body: String| MessageRow {
            seq: 4,
            sender_id: Some(2),
            kind: "text".to_owned(),
            body,
            blob_key: None,
            content_type: None,
            created_at: 1,
        };
        let short = message("你好".to_owned());
        let news = News::Message {
            seq: 4,
            message: Some(Box::new(short.clone())),
        };
        let payload = notification("t_1", 7, news.clone());
        let back: Envelope = serde_json::from_str(&payload).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.news, news);
        // 2,000 Chinese characters are 6,000 bytes of UTF-8, and JSON escapes may add more.
        let long = message("\"长".repeat(2_000));
        let news = News::Message {
            seq: 4,
            message: Some(Box::new(long)),
        };
        let payload = notification("t_1", 7, news);
        assert!(payload.len() <= MAX_PAYLOAD);
        let back: Envelope = serde_json::from_str(&payload).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            back.news,
            News::Message {
                seq: 4,
                message: None
            }
        );
    }

    #[test]
    fn news_travels_as_json() {
        let e = Envelope {
            scope: "public".to_owned(),
            consultation: 7,
            news: News::Read { account: 3, seq: 9 },
        };
        let text = serde_json::to_string(&e).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"scope":"public","consultation":7,"type":"read","account":3,"seq":9}"#
        );
    }
}
