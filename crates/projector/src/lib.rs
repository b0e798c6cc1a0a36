//! The projector: the only writer of the read model. It folds the event log in order, decides
//! what the command side could not see (an update to an object deleted meanwhile, a type
//! conflict between two racing writes), and reports an outcome per event to whoever waits.

mod fold;

use std::sync::Arc;
use std::time::Instant;

use events::PartitionReader;
use readmodel::{Outcomes, ProjectionStore};

pub use fold::fold_batch;
pub use model::outcome::{Outcome, WriteResult};

/// How many events one read-model commit takes at most.
const BATCH: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    #[error(transparent)]
    Log(#[from] events::LogError),
    #[error(transparent)]
    Store(#[from] readmodel::StoreError),
}

/// Projects one partition of the log into a store.
pub struct Projector {
    reader: Box<dyn PartitionReader>,
    store: Arc<dyn ProjectionStore>,
    /// Requests waiting in this process, if any run here.
    outcomes: Option<Arc<Outcomes>>,
}

impl Projector {
    pub fn new(
        reader: Box<dyn PartitionReader>,
        store: Arc<dyn ProjectionStore>,
        outcomes: Option<Arc<Outcomes>>,
    ) -> Self {
        Projector {
            reader,
            store,
            outcomes,
        }
    }

    /// Folds every event already in the partition, reporting progress; returns the position
    /// reached.
    pub async fn catch_up(&mut self) -> Result<u64, ProjectorError> {
        self.catch_up_with(|_, _| {}).await
    }

    /// `catch_up`, calling `progress(position, target)` after every batch.
    pub async fn catch_up_with(
        &mut self,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<u64, ProjectorError> {
        let partition = self.reader.partition();
        let target = self.reader.end().await?;
        let start = Instant::now();
        let mut position = self.store.position(partition).await?;
        let first = position;
        let mut reported = Instant::now();
        while position < target {
            let batch = self.reader.next_batch(position + 1, BATCH).await?;
            position = self.apply(batch).await?;
            progress(position, target);
            if reported.elapsed().as_secs() >= 2 {
                reported = Instant::now();
                let done = (position - first) as f64 / (target - first).max(1) as f64;
                tracing::info!(
                    partition,
                    position,
                    target,
                    percent = (done * 100.0).round(),
                    "replaying the event log"
                );
            }
        }
        let n = position - first;
        let secs = start.elapsed().as_secs_f64();
        tracing::info!(
            partition,
            events = n,
            seconds = secs,
            per_second = (n as f64 / secs.max(1e-9)).round(),
            "caught up with the event log"
        );
        Ok(position)
    }

    /// Follows the partition's tail until the log closes or the store fails.
    pub async fn run(&mut self) -> Result<(), ProjectorError> {
        let mut position = self.store.position(self.reader.partition()).await?;
        loop {
            let batch = self.reader.next_batch(position + 1, BATCH).await?;
            position = self.apply(batch).await?;
        }
    }

    async fn apply(&mut self, batch: Vec<events::StoredEvent>) -> Result<u64, ProjectorError> {
        let partition = self.reader.partition();
        let span = tracing::debug_span!(
            "project",
            partition,
            first = batch.first().map(|e| e.position),
            n = batch.len()
        );
        let _enter = span.enter();
        let started = Instant::now();
        let commit = fold_batch(self.store.as_ref(), partition, &batch).await?;
        let folded = started.elapsed();
        let position = commit.position;
        let outcomes = self.outcomes.as_ref().map(|_| commit.outcomes.clone());
        self.store.commit(commit).await?;
        tracing::debug!(
            events = batch.len(),
            fold_ms = folded.as_secs_f64() * 1e3,
            commit_ms = (started.elapsed() - folded).as_secs_f64() * 1e3,
            "batch projected"
        );
        if let (Some(hub), Some(outcomes)) = (&self.outcomes, outcomes) {
            for (id, outcome) in outcomes {
                hub.publish(id, outcome);
            }
        }
        Ok(position)
    }
}
