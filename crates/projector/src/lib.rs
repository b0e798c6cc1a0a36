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
    ///
    /// With a store that `refuses_known_ids`, the objects a batch creates are taken for new
    /// without reading them; if one was not (a client chose an id already stored), the store
    /// refuses that commit, and the batch is folded again, reading them, from where the
    /// store stands (the batch after it, folded over the refused state, is dropped).
    async fn pipeline(
        &mut self,
        until: Option<u64>,
        mut after_batch: impl FnMut(u64) + Send,
    ) -> Result<u64, ProjectorError> {
        let partition = self.reader.partition();
        let mut position = self.store.position(partition).await?;
        let mut pending: Option<fold::Pending> = None;
        let mut in_flight: Option<InFlight> = None;
        let optimistic = self.store.refuses_known_ids();
        let mut careful = false;
        loop {
            if until.is_some_and(|t| position >= t) {
                // Everything is folded: the last commit decides whether it is also stored.
                let Some(last) = in_flight.take() else { break };
                if let Some(since) = last.settle(partition).await? {
                    (position, pending, careful) = (since, None, true);
                }
                continue;
            }
            let reading = Instant::now();
            // Waiting for events, the commit under way may be refused: its waiting clients
            // must not wait for the next event to have it folded again. Only then is the read
            // abandoned (what it had taken, the log still has).
            let mut batch = match in_flight.as_mut() {
                None => self.reader.next_batch(position + 1, BATCH).await?,
                Some(f) => tokio::select! {
                    biased;
                    batch = self.reader.next_batch(position + 1, BATCH) => batch?,
                    () = f.refusal() => {
                        let Some(f) = in_flight.take() else { continue };
                        if let Some(since) = f.settle(partition).await? {
                            (position, pending, careful) = (since, None, true);
                        }
                        continue;
                    }
                },
            };
            // What arrives while the commit before is being written joins this batch: it could
            // not be written sooner, and one commit for all of it spares it a commit's wait.
            if let Some(f) = in_flight.as_mut() {
                while batch.len() < BATCH && !f.is_finished() {
                    let from = batch.last().map_or(position + 1, |e| e.position + 1);
                    tokio::select! {
                        biased;
                        () = f.finished() => break,
                        more = self.reader.next_batch(from, BATCH - batch.len()) => batch.extend(more?),
                    }
                }
            }
            let read = reading.elapsed();
            let span = tracing::debug_span!(
                "project",
                partition,
                first = batch.first().map(|e| e.position),
                n = batch.len()
            );
            let started = Instant::now();
            let assume_new = optimistic && !careful;
            careful = false;
            let (mut commit, state) = fold_batch(
                self.store.as_ref(),
                partition,
                position,
                pending.as_ref(),
                &batch,
                assume_new,
            )
            .instrument(span.clone())
            .await?;
            let folded = started.elapsed();
            let outcomes = self.outcomes.as_ref().map(|_| commit.outcomes.clone());
            if !self.record_outcomes {
                commit.outcomes.clear();
            }
            // Events this process appended are answered here, from `outcomes`.
            commit.announce = outcomes.is_none() || batch.iter().any(|e| !e.local);
            let reached = commit.position;
            // Made ready before the previous commit is written, not after.
            let preparing = Instant::now();
            let prepared = self.store.prepare(commit)?;
            let prepared_in = preparing.elapsed();
            if let Some(previous) = in_flight.take() {
                if let Some(since) = previous.settle(partition).await? {
                    // This batch was folded over the refused one's state: both go again.
                    (position, pending, careful) = (since, None, true);
                    continue;
                }
            }
            let since = position;
            position = reached;
            // The state it replaces is dropped once the commit is under way.
            let replaced = pending.replace(state);
            let (store, hub) = (self.store.clone(), self.outcomes.clone());
            let events = batch.len();
            let (refuse, refusal) = tokio::sync::oneshot::channel();
            let task = tokio::spawn(
                async move {
                    let committing = Instant::now();
                    if let Err(e) = store.write(prepared).await {
                        if matches!(e, readmodel::StoreError::Exists) {
                            let _ = refuse.send(());
                        }
                        return Err(e.into());
                    }
                    tracing::debug!(
                        events,
                        read_ms = read.as_secs_f64() * 1e3,
                        fold_ms = folded.as_secs_f64() * 1e3,
                        prepare_ms = prepared_in.as_secs_f64() * 1e3,
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
            );
            in_flight = Some(InFlight {
                task,
                result: None,
                refusal,
                since,
                assumed_new: assume_new,
            });
            // A task spawned from a worker waits in that worker's next-task slot, which other
            // workers do not take from, until the spawning task yields: reading and folding the
            // next batch would hold the commit back for milliseconds (measured: ~3 ms a batch).
            tokio::task::yield_now().await;
            drop(replaced);
            after_batch(position);
        }
        Ok(position)
    }
}

/// A batch's commit under way.
struct InFlight {
    task: tokio::task::JoinHandle<Result<(), ProjectorError>>,
    /// The task's end, once `finished` has seen it.
    result: Option<Result<Result<(), ProjectorError>, tokio::task::JoinError>>,
    /// Told if the store refuses the commit for an id it holds.
    refusal: tokio::sync::oneshot::Receiver<()>,
    /// The position the batch follows.
    since: u64,
    /// Whether the batch was folded with `assume_new`.
    assumed_new: bool,
}

impl InFlight {
    /// Completes only if the store refuses the commit for an id it holds.
    async fn refusal(&mut self) {
        if (&mut self.refusal).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    fn is_finished(&self) -> bool {
        self.result.is_some() || self.task.is_finished()
    }

    /// Waits for the commit to end, written or not. Stopping the wait loses nothing.
    async fn finished(&mut self) {
        if self.result.is_none() {
            self.result = Some((&mut self.task).await);
        }
    }

    /// Waits for the commit: `Some(since)` if the store refused an id the fold assumed new,
    /// and the batch must be folded again from `since`, reading its ids.
    async fn settle(mut self, partition: u32) -> Result<Option<u64>, ProjectorError> {
        self.finished().await;
        let done = match self.result.take() {
            Some(done) => done,
            None => return Err(ProjectorError::Stopped("commit task lost".into())),
        };
        match done.map_err(|e| ProjectorError::Stopped(e.to_string()))? {
            Err(ProjectorError::Store(readmodel::StoreError::Exists)) if self.assumed_new => {
                tracing::debug!(
                    partition,
                    since = self.since,
                    "a created id was already stored; folding the batch again"
                );
                Ok(Some(self.since))
            }
            done => done.map(|()| None),
        }
    }
}
