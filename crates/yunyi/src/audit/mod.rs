//! The audit trail: every read or change of patient data, every sign-in and every denial
//! appends one event. Events are hash-chained: each row stores the hash of the previous row and
//! a hash over its own contents, so changing, deleting or inserting a row anywhere breaks the
//! chain at that row, which `yunyi audit verify` reports.
//!
//! On PostgreSQL writers do not touch the chain: [`append`] inserts the event unsealed into
//! `audit_pending`, in the writer's own transaction, so it commits with the change it records
//! and no writer waits for another. (SQLite admits one writer at a time anyway: there the
//! writer chains its event itself, and the queue stays empty.) The sealer ([`seal`], run every fraction of a second on each node and
//! before every read of the trail) takes pending events in batches under the lock of the single
//! `audit_head` row — one sealer at a time, across nodes — gives each the next gap-free chain
//! id and its hashes, and moves it into `audit_event`. An event whose transaction commits late
//! is sealed in the next batch: chain order is sealing order. This is the sequencer of
//! Certificate Transparency logs and Trillian. No code path updates or deletes a sealed event,
//! and database triggers refuse it as well; `verify` reports unsealed events and their age.

pub mod api;
pub mod denials;
pub mod pages;
pub mod service;
pub mod store;

pub fn router() -> axum::Router<crate::app::AppState> {
    axum::Router::new()
        .merge(api::router())
        .merge(pages::router())
}

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::now_ms;
use crate::db::{Db, Tx};

crate::text_enum! {
    /// What happened to the attempted action.
    pub enum Outcome {
        Success = "success",
        Denied = "denied",
        Failure = "failure",
    }
}

/// Who acted and from where, as the audit trail records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditActor {
    pub account_id: Option<i64>,
    /// Role name, or `anonymous`.
    pub role: String,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
}

impl AuditActor {
    /// Yunyi itself: a recurring job, or a consequence no person asked for (a late payment
    /// refunded).
    pub fn system() -> Self {
        Self {
            account_id: None,
            role: "system".to_owned(),
            request_id: None,
            client_addr: None,
        }
    }
}

/// An event to append. Built with [`NewEvent::new`] and the chained setters:
/// `NewEvent::new(actor.audit(), "patient.read", "person").patient(7).reason("own record")`.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub actor: AuditActor,
    /// Dotted verb, e.g. `patient.read`, `auth.login`, `account.create`.
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: Option<String>,
    /// The person whose data was touched, if any.
    pub patient_id: Option<i64>,
    pub outcome: Outcome,
    /// Why: a denial's reason, a break-glass justification.
    pub reason: Option<String>,
    /// Needs review (break-glass access).
    pub flagged: bool,
}

impl<'a> NewEvent<'a> {
    /// A successful action with no object, patient or reason yet.
    pub fn new(actor: AuditActor, action: &'a str, object_type: &'a str) -> Self {
        Self {
            actor,
            action,
            object_type,
            object_id: None,
            patient_id: None,
            outcome: Outcome::Success,
            reason: None,
            flagged: false,
        }
    }

    pub fn object(mut self, id: impl ToString) -> Self {
        self.object_id = Some(id.to_string());
        self
    }

    pub fn object_opt(mut self, id: Option<String>) -> Self {
        self.object_id = id;
        self
    }

    pub fn patient(mut self, id: i64) -> Self {
        self.patient_id = Some(id);
        self
    }

    pub fn patient_opt(mut self, id: Option<i64>) -> Self {
        self.patient_id = id;
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn flagged(mut self, flagged: bool) -> Self {
        self.flagged = flagged;
        self
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = AuditEvent)]
pub struct Event {
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_role: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub patient_id: Option<i64>,
    pub outcome: String,
    pub reason: Option<String>,
    pub flagged: bool,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl Event {
    /// SHA-256 over every field but `hash`, each length-prefixed so no two different rows
    /// encode alike, whatever text a field holds.
    pub fn compute_hash(&self) -> String {
        fn opt_i(v: Option<i64>) -> String {
            v.map(|n| n.to_string())
                .unwrap_or_else(|| "\u{2205}".to_owned())
        }
        fn opt_s(v: &Option<String>) -> String {
            v.clone().unwrap_or_else(|| "\u{2205}".to_owned())
        }
        let fields = [
            self.id.to_string(),
            self.at.to_string(),
            opt_i(self.actor_id),
            self.actor_role.clone(),
            self.action.clone(),
            self.object_type.clone(),
            opt_s(&self.object_id),
            opt_i(self.patient_id),
            self.outcome.clone(),
            opt_s(&self.reason),
            u8::from(self.flagged).to_string(),
            opt_s(&self.request_id),
            opt_s(&self.client_addr),
            self.prev_hash.clone(),
        ];
        let mut hasher = Sha256::new();
        for f in &fields {
            hasher.update(f.len().to_string().as_bytes());
            hasher.update(b":");
            hasher.update(f.as_bytes());
            hasher.update(b";");
        }
        hex::encode(hasher.finalize())
    }
}

pub const GENESIS: &str = "genesis";

/// An event as its writer recorded it, before the sealer gives it a place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Pending {
    /// The queue's id: write order, which is not always commit order.
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_role: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub patient_id: Option<i64>,
    pub outcome: String,
    pub reason: Option<String>,
    pub flagged: bool,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
}

impl Pending {
    /// The event to write for `new`, at `at`.
    pub fn of(new: &NewEvent<'_>, at: i64) -> Self {
        Self {
            id: 0,
            at,
            actor_id: new.actor.account_id,
            actor_role: new.actor.role.clone(),
            action: new.action.to_owned(),
            object_type: new.object_type.to_owned(),
            object_id: new.object_id.clone(),
            patient_id: new.patient_id,
            outcome: new.outcome.as_str().to_owned(),
            reason: new.reason.as_ref().map(|r| r.chars().take(500).collect()),
            flagged: new.flagged,
            request_id: new.actor.request_id.clone(),
            client_addr: new.actor.client_addr.clone(),
        }
    }

    /// The chain event that follows the head `(last id, last hash)`, hashed.
    pub fn chained(self, (last_id, last_hash): (i64, String)) -> Event {
        let mut event = Event {
            id: last_id + 1,
            at: self.at,
            actor_id: self.actor_id,
            actor_role: self.actor_role,
            action: self.action,
            object_type: self.object_type,
            object_id: self.object_id,
            patient_id: self.patient_id,
            outcome: self.outcome,
            reason: self.reason,
            flagged: self.flagged,
            request_id: self.request_id,
            client_addr: self.client_addr,
            prev_hash: last_hash,
            hash: String::new(),
        };
        event.hash = event.compute_hash();
        event
    }
}

/// The event to write for `new`, at this moment by the wall clock: the trail records when
/// things really happened (not the application's clock, which tests and demos may move).
pub fn stamped(new: &NewEvent<'_>) -> Pending {
    Pending::of(new, now_ms())
}

/// Appends inside the caller's transaction, so the event commits with the change it records
/// (or not at all). On PostgreSQL the event waits unsealed for [`seal`] and its queue id is
/// returned; on SQLite it is chained at once and its chain id returned.
pub async fn append(tx: &mut Tx, new: &NewEvent<'_>) -> Result<i64, sqlx::Error> {
    let pending = stamped(new);
    let id = match tx {
        // SQLite admits one writer at a time, so chaining in the writer's transaction makes
        // nobody wait, while a queue would write every event twice (measured: half the
        // booking rush's throughput). The event is in the chain at once.
        Tx::Sqlite(_) => {
            let event = pending.chained(store::lock_head(tx).await?);
            store::insert_events(tx, std::slice::from_ref(&event)).await?;
            event.id
        }
        Tx::Postgres(_) => store::insert_pending(tx, &pending).await?,
    };
    if new.outcome == Outcome::Denied {
        denials::noted();
    }
    Ok(id)
}

/// How many pending events one sealing transaction moves into the chain.
const SEAL_BATCH: usize = 200;

/// Moves every committed pending event into the chain, oldest first, in batches of
/// [`SEAL_BATCH`]; returns how many. Safe to call from any node at any time: each batch holds
/// the chain head's lock, so sealers take turns and the chain never forks.
pub async fn seal(db: &Db) -> Result<usize, sqlx::Error> {
    let mut sealed = 0;
    // A cheap read first: most calls find nothing, and need no write lock for that.
    while store::has_pending(db).await? {
        let mut tx = db.begin().await?;
        let mut head = store::lock_head(&mut tx).await?;
        let batch = store::pending_batch(&mut tx, SEAL_BATCH).await?;
        let ids: Vec<i64> = batch.iter().map(|p| p.id).collect();
        let events: Vec<Event> = batch
            .into_iter()
            .map(|p| {
                let event = p.chained(head.clone());
                head = (event.id, event.hash.clone());
                event
            })
            .collect();
        // A trigger advances the head with each inserted event.
        store::insert_events(&mut tx, &events).await?;
        store::delete_pending(&mut tx, &ids).await?;
        tx.commit().await?;
        sealed += ids.len();
        if ids.len() < SEAL_BATCH {
            break;
        }
    }
    Ok(sealed)
}

/// Seals every `every` until `stop`, then once more: each node runs one of these.
pub async fn run_sealer(
    db: Db,
    every: std::time::Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    loop {
        if let Err(e) = seal(&db).await {
            tracing::warn!(error = %e, "sealing audit events failed; will retry");
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
    }
    if let Err(e) = seal(&db).await {
        tracing::warn!(error = %e, "sealing audit events at shutdown failed; the next start seals them");
    }
}

/// Appends in a transaction of its own: for reads and denials, which change nothing else.
pub async fn record(db: &Db, new: &NewEvent<'_>) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let id = append(&mut tx, new).await?;
    tx.commit().await?;
    Ok(id)
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Intact {
        events: i64,
        last_hash: String,
        /// Events written but not yet in the chain, and when the oldest was written.
        unsealed: i64,
        oldest_unsealed_at: Option<i64>,
    },
    Broken {
        id: i64,
        reason: String,
    },
}

/// Walks the whole chain in id order and reports the first row that does not hold.
pub async fn verify(db: &Db) -> Result<Verification, sqlx::Error> {
    let mut expected_id = 1;
    let mut prev_hash = GENESIS.to_owned();
    loop {
        let rows = store::page(db, expected_id - 1, 1000).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if row.id != expected_id {
                return Ok(Verification::Broken {
                    id: expected_id,
                    reason: format!(
                        "event {expected_id} is missing (next present is {})",
                        row.id
                    ),
                });
            }
            if row.prev_hash != prev_hash {
                return Ok(Verification::Broken {
                    id: row.id,
                    reason: "its link to the previous event does not match (an earlier event was changed or removed)".to_owned(),
                });
            }
            if row.compute_hash() != row.hash {
                return Ok(Verification::Broken {
                    id: row.id,
                    reason: "its contents do not match its hash (the event was changed)".to_owned(),
                });
            }
            prev_hash = row.hash;
            expected_id += 1;
        }
    }
    let events = expected_id - 1;
    let (head_id, head_hash) = store::head(db).await?;
    if head_id != events || head_hash != prev_hash {
        return Ok(Verification::Broken {
            id: events + 1,
            reason: format!(
                "the chain ends at event {events} but its head records event {head_id} (events were removed from the end)"
            ),
        });
    }
    let (unsealed, oldest_unsealed_at) = store::pending_stats(db).await?;
    Ok(Verification::Intact {
        events,
        last_hash: prev_hash,
        unsealed,
        oldest_unsealed_at,
    })
}
