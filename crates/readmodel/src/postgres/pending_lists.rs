//! Keeps the class tables' GIN pending lists short, off the projector's commit path.
//!
//! With GIN's fast update, a row's index entries first go to a pending list, which every search
//! of the index reads in full, and the insert that takes a list past `gin_pending_list_limit`
//! merges it into the index there and then, inside a projector's commit: measured under a create
//! load, such a commit took ~6 ms instead of ~0.7, and every write of the batch behind it
//! waited as long. Here a task merges the lists of the tables written to since its last round,
//! every `EVERY`, on a pooled connection (`gin_clean_pending_list`, which an insert does not
//! wait for: one that finds a merge under way leaves the list to it). Commits then rarely meet
//! a full list, and searches read a short one. The limit stays as a bound should the task fall
//! behind.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgPool;
use tokio::sync::Notify;

/// How long writes gather in the pending lists between two rounds of merges: a few dozen rows'
/// entries under load, far below the 128 kB limit.
const EVERY: Duration = Duration::from_millis(50);

/// PostgreSQL's SQLSTATE for a missing privilege.
const INSUFFICIENT_PRIVILEGE: &str = "42501";

/// How long the task waits after a failed round (PostgreSQL away, an index dropped meanwhile).
const AFTER_FAILURE: Duration = Duration::from_secs(1);

/// The merges of a store's GIN indexes: told which indexes were written to, merges them in the
/// background. Dropping it ends its task.
pub(crate) struct PendingLists {
    shared: Arc<Shared>,
}

struct Shared {
    /// The read model's root schema, under which the apps' schemas are.
    root: String,
    /// Classes (app, class) written to since the last round.
    written: Mutex<HashSet<(String, String)>>,
    wake: Notify,
    closed: AtomicBool,
}

impl PendingLists {
    /// Starts the task, which idles until an index is written to.
    pub fn start(pool: PgPool, root: String) -> PendingLists {
        let shared = Arc::new(Shared {
            root,
            written: Mutex::default(),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        });
        tokio::spawn(merge(pool, shared.clone()));
        PendingLists { shared }
    }

    /// Notes committed writes to the tables of `classes` (app, class): the task merges their
    /// indexes' lists within `EVERY`. (It names the indexes, off the commit path.)
    pub fn written(&self, classes: Vec<(String, String)>) {
        if let Ok(mut written) = self.shared.written.lock() {
            written.extend(classes);
        }
        self.shared.wake.notify_one();
    }
}

impl Drop for PendingLists {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

/// The task: waits for writes, lets them gather for `EVERY`, merges the lists written to, in
/// one round trip.
async fn merge(pool: PgPool, shared: Arc<Shared>) {
    loop {
        shared.wake.notified().await;
        if shared.closed.load(Ordering::Acquire) {
            return;
        }
        tokio::time::sleep(EVERY).await;
        let classes: Vec<(String, String)> = match shared.written.lock() {
            Ok(mut written) => written.drain().collect(),
            Err(_) => return,
        };
        let indexes: Vec<String> = classes
            .iter()
            .flat_map(|(app, class)| super::gin_indexes(&shared.root, app, class))
            .collect();
        if indexes.is_empty() {
            continue;
        }
        // An index dropped meanwhile (its class deleted) is skipped, not an error.
        let merged = sqlx::query_scalar::<_, i64>(
            "SELECT coalesce(sum(gin_clean_pending_list(i)), 0)::bigint \
             FROM (SELECT to_regclass(n) AS i FROM unnest($1::text[]) AS n) AS indexes \
             WHERE i IS NOT NULL",
        )
        .bind(&indexes)
        .fetch_one(&pool)
        .await;
        match merged {
            Ok(pages) => tracing::trace!(indexes = indexes.len(), pages, "pending lists merged"),
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some(INSUFFICIENT_PRIVILEGE) =>
            {
                // Only an index's owner may merge its list: a role that writes to tables
                // another made leaves the merges to its inserts, as without this task.
                tracing::warn!(error = %e, "not merging GIN pending lists: not the indexes' owner");
                return;
            }
            Err(e) => {
                // Merged later: by a later round, or by the insert that fills a list.
                tracing::warn!(error = %e, "cannot merge GIN pending lists");
                tokio::time::sleep(AFTER_FAILURE).await;
            }
        }
    }
}
