//! The projector: the only writer of the read model. It folds the event log in order, decides
//! what the command side could not see (an update to an object deleted meanwhile, a type
//! conflict between two racing writes), and reports an outcome per event to whoever waits.

mod fold;

use std::sync::Arc;
use std::time::Instant;

use events::PartitionReader;
use readmodel::{Outcomes, ProjectionStore};
use tracing::Instrument;

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
    #[error("a projection task stopped: {0}")]
    Stopped(String),
}

/// Projects one partition of the log into a store.
pub struct Projector {
    reader: Box<dyn PartitionReader>,
    store: Arc<dyn ProjectionStore>,
    /// Requests waiting in this process, if any run here.
    outcomes: Option<Arc<Outcomes>>,
    /// Whether commits store each event's outcome (for waiting command-api processes).
    record_outcomes: bool,
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
            record_outcomes: true,
        }
    }

    /// A projector whose commits store no outcomes: a replay builds a read model for what comes
    /// next, and nobody waits on the outcome of an event already in the log.
    pub fn without_outcomes(mut self) -> Self {
        self.record_outcomes = false;
        self
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
        let first = self.store.position(partition).await?;
        let mut reported = Instant::now();
        let position = self
            .pipeline(Some(target), |position| {
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
            })
            .await?;
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
        self.pipeline(None, |_| {}).await.map(|_| ())
    }

    /// Reads, folds and commits batches until `until` (or forever). Batch N+1 is folded while
    /// batch N commits: it folds over N's state (`Pending`), and its commit waits for N's, so
    /// commits stay in log order. Outcomes are published as soon as their commit is done.
    async fn pipeline(
        &mut self,
        until: Option<u64>,
        mut after_batch: impl FnMut(u64) + Send,
    ) -> Result<u64, ProjectorError> {
        let partition = self.reader.partition();
        let mut position = self.store.position(partition).await?;
        let mut pending: Option<fold::Pending> = None;
        let mut in_flight: Option<tokio::task::JoinHandle<Result<(), ProjectorError>>> = None;
        while until.is_none_or(|t| position < t) {
            let reading = Instant::now();
            let batch = self.reader.next_batch(position + 1, BATCH).await?;
            let read = reading.elapsed();
            let span = tracing::debug_span!(
                "project",
                partition,
                first = batch.first().map(|e| e.position),
                n = batch.len()
            );
            let started = Instant::now();
            let (commit, state) = fold_batch(
                self.store.as_ref(),
                partition,
                position,
                pending.as_ref(),
                &batch,
            )
            .instrument(span.clone())
            .await?;
            let folded = started.elapsed();
            if let Some(previous) = in_flight.take() {
                previous
                    .await
                    .map_err(|e| ProjectorError::Stopped(e.to_string()))??;
            }
            position = commit.position;
            pending = Some(state);
            let (store, hub) = (self.store.clone(), self.outcomes.clone());
            let events = batch.len();
            let mut commit = commit;
            if !self.record_outcomes {
                commit.outcomes.clear();
            }
            in_flight = Some(tokio::spawn(
                async move {
                    let outcomes = hub.as_ref().map(|_| commit.outcomes.clone());
                    let committing = Instant::now();
                    store.commit(commit).await?;
                    tracing::debug!(
                        events,
                        read_ms = read.as_secs_f64() * 1e3,
                        fold_ms = folded.as_secs_f64() * 1e3,
                        commit_ms = committing.elapsed().as_secs_f64() * 1e3,
                        "batch projected"
                    );
                    if let (Some(hub), Some(outcomes)) = (hub, outcomes) {
                        for (id, outcome) in outcomes {
                            hub.publish(id, outcome);
                        }
                    }
                    Ok(())
                }
                .instrument(span),
            ));
            after_batch(position);
        }
        if let Some(last) = in_flight.take() {
            last.await
                .map_err(|e| ProjectorError::Stopped(e.to_string()))??;
        }
        Ok(position)
    }
}
