//! The projector: the only writer of the read model. It folds the event log in order, decides
//! what the command side could not see (an update to an object deleted meanwhile, a type
//! conflict between two racing writes), and reports an outcome per event to whoever waits.

mod fold;
mod outcome;

use std::sync::Arc;
use std::time::Instant;

use events::EventLog;
use readmodel::ProjectionStore;

pub use fold::fold_batch;
pub use outcome::{Outcome, Outcomes, WriteResult};

/// How many events one read-model commit takes at most.
const BATCH: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    #[error(transparent)]
    Log(#[from] events::LogError),
    #[error(transparent)]
    Store(#[from] readmodel::StoreError),
}

pub struct Projector {
    log: Arc<dyn EventLog>,
    store: Arc<dyn ProjectionStore>,
    outcomes: Arc<Outcomes>,
}

impl Projector {
    pub fn new(
        log: Arc<dyn EventLog>,
        store: Arc<dyn ProjectionStore>,
        outcomes: Arc<Outcomes>,
    ) -> Self {
        Projector {
            log,
            store,
            outcomes,
        }
    }

    /// Folds every event already in the log, reporting progress; returns the position reached.
    pub async fn catch_up(&self) -> Result<u64, ProjectorError> {
        let target = *self.log.head().borrow();
        let start = Instant::now();
        let mut position = self.store.position().await?;
        let first = position;
        while position < target {
            let batch = self.log.read(position + 1, BATCH).await?;
            if batch.is_empty() {
                break;
            }
            position = self.apply(batch).await?;
            if (position - first) % (BATCH as u64 * 50) < BATCH as u64 {
                tracing::info!(position, target, "replaying the event log");
            }
        }
        let n = position - first;
        let secs = start.elapsed().as_secs_f64();
        tracing::info!(
            events = n,
            seconds = secs,
            per_second = n as f64 / secs.max(1e-9),
            "read model rebuilt from the log"
        );
        Ok(position)
    }

    /// Follows the log's tail forever (until the log closes).
    pub async fn run(&self) -> Result<(), ProjectorError> {
        let mut position = self.store.position().await?;
        loop {
            let batch = self.log.next_batch(position + 1, BATCH).await?;
            position = self.apply(batch).await?;
        }
    }

    async fn apply(&self, batch: Vec<events::StoredEvent>) -> Result<u64, ProjectorError> {
        let span = tracing::debug_span!(
            "project",
            first = batch.first().map(|e| e.position),
            n = batch.len()
        );
        let _enter = span.enter();
        let (commit, outcomes) = fold_batch(self.store.as_ref(), &batch).await?;
        let position = commit.position;
        self.store.commit(commit).await?;
        for (id, outcome) in outcomes {
            self.outcomes.publish(id, outcome);
        }
        Ok(position)
    }
}
