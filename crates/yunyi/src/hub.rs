//! Who is listening to which topic (a consultation, an account's inbox) in this process, and
//! how news reaches them.
//!
//! News is published after the change it reports was committed. With several processes on
//! one PostgreSQL, news goes out as `NOTIFY <channel>` and each process's listener
//! ([`listen`]) hands it to its own hub; on SQLite (one process) it is handed over directly.
//! News may be lost (a full backlog, a dropped connection), never invented: listeners treat
//! it as a wake-up and read what they show from the database.
//!
//! Notifications reach every session of the database, whatever its schema, so each carries
//! its deployment's schema and a listener keeps only its own (two deployments in one database
//! — or the test suite's schemas — number their rows alike).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::db::Db;

/// What a hub carries: news that can travel as JSON and, when too long for a PostgreSQL
/// notification, be cut down to a shorter form ([`Shrink::shrink`]).
pub trait Shrink: Clone + Serialize + DeserializeOwned + Send + 'static {
    /// A shorter form of this news, if it has one.
    fn shrink(self) -> Option<Self> {
        None
    }
}

/// A piece of news about one topic, as it travels between processes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Envelope<N> {
    /// The deployment's schema: only its own processes take the news.
    scope: String,
    topic: i64,
    #[serde(flatten)]
    news: N,
}

/// Per-topic broadcast channels of this process, for one PostgreSQL notification channel.
#[derive(Debug)]
pub struct Hub<N> {
    channels: Mutex<HashMap<i64, broadcast::Sender<N>>>,
    /// The deployment's schema on PostgreSQL (see [`scope_of`]); empty on SQLite.
    scope: String,
    /// The PostgreSQL notification channel.
    channel: &'static str,
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

impl<N: Shrink> Hub<N> {
    /// A hub for the deployment of schema `scope` ([`scope_of`]) on `channel`.
    pub fn new(channel: &'static str, scope: String) -> Self {
        Self {
            channels: Mutex::default(),
            scope,
            channel,
        }
    }

    pub fn subscribe(&self, topic: i64) -> broadcast::Receiver<N> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels
            .entry(topic)
            .or_insert_with(|| broadcast::channel(BACKLOG).0)
            .subscribe()
    }

    /// Hands news to this process's listeners; forgets topics nobody listens to.
    pub fn deliver(&self, topic: i64, news: N) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = channels.get(&topic) {
            if sender.send(news).is_err() {
                channels.remove(&topic);
            }
        }
    }

    /// Delivers a notification's news if it is this deployment's.
    fn take(&self, payload: &str) {
        match serde_json::from_str::<Envelope<N>>(payload) {
            Ok(e) if e.scope == self.scope => self.deliver(e.topic, e.news),
            Ok(_) => {}
            Err(e) => tracing::warn!(channel = self.channel, error = %e, "malformed news"),
        }
    }

    /// Forgets a topic's channel once nobody listens to it (a connection calls this as it
    /// closes), so topics visited once do not keep their channels.
    pub fn release(&self, topic: i64) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if channels
            .get(&topic)
            .is_some_and(|s| s.receiver_count() == 0)
        {
            channels.remove(&topic);
        }
    }

    /// Topics with at least one listener here.
    pub fn listened(&self) -> usize {
        let channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.values().filter(|s| s.receiver_count() > 0).count()
    }

    /// News as a notification's payload, shrunk when too long for one.
    fn notification(&self, topic: i64, news: N) -> String {
        let envelope = |news| Envelope {
            scope: self.scope.clone(),
            topic,
            news,
        };
        let payload = serde_json::to_string(&envelope(news.clone())).unwrap_or_default();
        if payload.len() <= MAX_PAYLOAD {
            return payload;
        }
        news.shrink()
            .and_then(|short| serde_json::to_string(&envelope(short)).ok())
            .unwrap_or(payload)
    }
}

/// The largest notification payload PostgreSQL takes, less a margin.
const MAX_PAYLOAD: usize = 7_900;

/// Publishes news after the change it reports was committed: to every process through
/// PostgreSQL, or straight to this process's hub on SQLite.
pub async fn publish<N: Shrink>(db: &Db, hub: &Hub<N>, topic: i64, news: N) {
    match db {
        Db::Sqlite(_) => hub.deliver(topic, news),
        Db::Postgres(pool) => {
            let payload = hub.notification(topic, news);
            if let Err(e) = crate::db::notify(pool, hub.channel, &payload).await {
                // The news is lost, not the change: listeners catch up on their next wake-up
                // or reconnect, reading from the database.
                tracing::warn!(channel = hub.channel, error = %e, "could not publish news");
            }
        }
    }
}

/// On PostgreSQL, forwards notifications to `hub` until `stop` is cancelled; reconnects after
/// a lost connection (listeners then catch up from the database on the next news).
pub async fn listen<N: Shrink>(
    db: Db,
    hub: Arc<Hub<N>>,
    stop: tokio_util::sync::CancellationToken,
) {
    let Db::Postgres(pool) = db else {
        return;
    };
    let channel = hub.channel;
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(channel, error = %e, "listener cannot connect; retrying");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                }
            }
        };
        if let Err(e) = listener.listen(channel).await {
            tracing::warn!(channel, error = %e, "listener cannot LISTEN; retrying");
            continue;
        }
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                received = listener.recv() => match received {
                    Ok(n) => hub.take(n.payload()),
                    Err(e) => {
                        tracing::warn!(channel, error = %e, "listener lost its connection");
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
    use crate::consult::hub::News;
    use crate::consult::store::MessageRow;

    fn hub(scope: &str) -> Hub<News> {
        Hub::new("test", scope.to_owned())
    }

    fn news(seq: i64) -> News {
        News::Message { seq, message: None }
    }

    #[tokio::test]
    async fn news_reaches_listeners_of_that_topic_only() {
        let hub = hub("");
        let mut one = hub.subscribe(1);
        let mut two = hub.subscribe(2);
        hub.deliver(1, news(1));
        assert_eq!(one.recv().await.ok(), Some(news(1)));
        assert!(two.try_recv().is_err());
        drop(one);
        hub.release(1);
        assert_eq!(hub.listened(), 1);
        drop(two);
        hub.deliver(2, news(2));
        assert_eq!(hub.listened(), 0);
        assert!(hub.channels.lock().map(|c| c.is_empty()).unwrap_or(false));
    }

    #[tokio::test]
    async fn only_news_of_this_deployment_is_taken() {
        let mine = hub("t_1");
        let theirs = hub("t_2");
        let mut one = mine.subscribe(7);
        mine.take(&theirs.notification(7, news(1)));
        mine.take("not json");
        mine.take(&mine.notification(7, news(2)));
        assert_eq!(one.recv().await.ok(), Some(news(2)));
        assert!(one.try_recv().is_err());
    }

    #[test]
    fn news_too_long_for_a_notification_travels_shrunk() {
        let hub = hub("t_1");
        let message = |body: String| MessageRow {
            seq: 4,
            sender_id: Some(2),
            kind: "text".to_owned(),
            body,
            blob_key: None,
            content_type: None,
            created_at: 1,
        };
        let short = News::Message {
            seq: 4,
            message: Some(Box::new(message("你好".to_owned()))),
        };
        let payload = hub.notification(7, short.clone());
        let back: Envelope<News> = serde_json::from_str(&payload).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.news, short);
        // 2,000 Chinese characters are 6,000 bytes of UTF-8, and JSON escapes may add more.
        let long = News::Message {
            seq: 4,
            message: Some(Box::new(message("\"长".repeat(2_000)))),
        };
        let payload = hub.notification(7, long);
        assert!(payload.len() <= MAX_PAYLOAD);
        let back: Envelope<News> = serde_json::from_str(&payload).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.news, news(4));
    }

    #[test]
    fn news_travels_as_json() {
        let e = Envelope {
            scope: "public".to_owned(),
            topic: 7,
            news: News::Read { account: 3, seq: 9 },
        };
        let text = serde_json::to_string(&e).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"scope":"public","topic":7,"type":"read","account":3,"seq":9}"#
        );
    }
}
