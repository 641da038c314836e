//! Moves SQLite's WAL checkpoints off the write path.
//!
//! In WAL mode a commit only appends to the log; now and then the log's pages are copied back
//! into the database file and both are synced (a checkpoint). By default the connection whose
//! commit takes the log past 1,000 pages does this itself, inside its commit, while it still
//! holds this process's write turn: every writer waiting behind it waits for two `fsync`s
//! (measured: 10–30 ms, about once a second under chat load — most of the chat's delivery
//! p99). So the server's connections do not checkpoint (`wal_autocheckpoint = 0`, set where
//! they are opened) and this thread does, once a second, on a connection of its own, in
//! PASSIVE mode: it takes no write lock, so commits go on while it copies and syncs. The next
//! commit after a complete checkpoint starts the log from its beginning again. Under writes
//! that never pause, a checkpoint never finds the log complete (commits arrive while it
//! copies), so once the log is long the checkpointer finishes the job holding the write turn
//! — a short pause every few seconds at the busiest, instead of one every second for every
//! load. `journal_size_limit` then cuts the file back. The last connection to close
//! checkpoints whatever is left (SQLite does so itself).

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use crate::db::Db;

/// How often the log is checkpointed.
const EVERY: Duration = Duration::from_secs(1);

/// Runs the checkpoints while it lives; dropping it stops them.
#[derive(Debug)]
pub struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing a SQLite database; `None` for PostgreSQL.
    pub fn start(db: &Db) -> anyhow::Result<Option<Self>> {
        let Db::Sqlite(pool) = db else {
            return Ok(None);
        };
        let path = pool.connect_options().get_filename().to_path_buf();
        let connection = rusqlite::Connection::open(&path)?;
        connection.busy_timeout(Duration::from_secs(5))?;
        let turn = crate::db::write_turns(pool);
        let (stop, stopped) = mpsc::channel();
        std::thread::Builder::new()
            .name("wal-checkpointer".to_owned())
            .spawn(move || run(&connection, &turn, &path, &stopped))?;
        Ok(Some(Self { _stop: stop }))
    }
}

fn run(
    connection: &rusqlite::Connection,
    turn: &tokio::sync::Mutex<()>,
    path: &Path,
    stopped: &mpsc::Receiver<()>,
) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
        match checkpoint(connection) {
            // Writes never paused long enough for the log to start again: finish between
            // two of them, holding the write turn. Only the few pages written since the
            // checkpoint just made are left to copy.
            Ok(pages) if pages > LONG_LOG_PAGES => {
                let _turn = turn.blocking_lock();
                if let Err(e) = checkpoint(connection) {
                    tracing::warn!(error = %e, file = %path.display(), "WAL checkpoint failed");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, file = %path.display(), "WAL checkpoint failed"),
        }
    }
}

/// A log this long (pages of 4 KiB: 64 MiB) has not started again for a while.
const LONG_LOG_PAGES: i64 = 16_384;

/// Checkpoints without taking the write lock; returns the log's length in pages.
fn checkpoint(connection: &rusqlite::Connection) -> rusqlite::Result<i64> {
    // (busy, pages in the log, pages copied)
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseTarget;

    /// Rows committed through the pool (which never checkpoints itself) reach the database
    /// file: read it ignoring the log (`immutable=1` skips the WAL).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commits_reach_the_database_file_without_the_writers_checkpointing() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("c.db");
        let db = Db::connect(&DatabaseTarget::Sqlite { path: path.clone() })
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let Db::Sqlite(pool) = &db else {
            panic!("SQLite expected")
        };
        sqlx::query("CREATE TABLE t (n INTEGER)")
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let in_file = || -> i64 {
            let uri = format!("file:{}?immutable=1", path.display());
            let flags =
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI;
            rusqlite::Connection::open_with_flags(&uri, flags)
                .and_then(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
                .unwrap_or(-1)
        };
        for n in 0..2_000 {
            sqlx::query("INSERT INTO t (n) VALUES ($1)")
                .bind(n)
                .execute(pool)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        // Without a checkpointer nothing has reached the file (the table may not either).
        assert!(in_file() < 2_000, "the pool checkpointed by itself");
        let checkpointer = Checkpointer::start(&db).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(checkpointer.is_some());
        let mut seen = -1;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            seen = in_file();
            if seen == 2_000 {
                break;
            }
        }
        assert_eq!(seen, 2_000);
        drop(checkpointer);
        db.close().await;
    }
}
