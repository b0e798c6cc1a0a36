//! The distributed event log: one Kafka topic, message key = app id, so all of an app's events
//! land in one partition in order. The producer is idempotent with `acks=all`, so an append
//! returns only once every in-sync replica has the events, without duplicates on retry. The
//! topic is created through the admin API at start, with the configured partition count; the
//! log is never compacted or expired by Chronicle (`retention.ms=-1`): it is the history.
//!
//! Positions are Kafka offsets + 1, so that 0 means "nothing read" as in the embedded log.
//! A reader in the process that appended an event gets it from the handoff (see `handoff`)
//! as soon as the broker acknowledges it, and everything else from the broker.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::future::join_all;
use futures::FutureExt;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;

use crate::handoff::{Acked, Handoff, CAPACITY};
use crate::{Event, EventLog, LogError, PartitionReader, StoredEvent};

/// How to reach the log.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub brokers: String,
    pub topic: String,
    /// Partitions to create the topic with (an existing topic keeps its own).
    pub partitions: u32,
    pub replication: i32,
    /// Extra librdkafka settings (`key=value`), applied to every client.
    pub options: Vec<(String, String)>,
    /// This process projects what it appends: its readers take its own events from the
    /// handoff, and poll the broker less often, for the rest.
    pub handoff: bool,
}

const TIMEOUT: Duration = Duration::from_secs(30);

/// How long an append waits before offering its event again to a full producer queue.
const QUEUE_FULL_RETRY: Duration = Duration::from_millis(10);

/// How long a reader waits before reading again from a position the broker served past.
const GAP_RETRY: Duration = Duration::from_millis(5);

/// With the handoff, how long a paused reader waits for it before asking the broker: the
/// longest an event of another process waits for the consumer to start again.
const QUIET: Duration = Duration::from_millis(50);

/// With the handoff, how long the broker must have brought nothing the handoff had not before
/// the reader stops fetching.
const BROKER_IDLE: Duration = Duration::from_secs(1);

/// How long a position may stay unreadable while later ones are served before reading fails.
const GAP_LIMIT: Duration = Duration::from_secs(30);

impl From<KafkaError> for LogError {
    fn from(e: KafkaError) -> Self {
        LogError::Kafka(e.to_string())
    }
}

impl KafkaConfig {
    /// A client: our defaults, then the operator's options (which win), then `enforced`
    /// settings that the log's guarantees depend on.
    fn client(&self, defaults: &[(&str, &str)], enforced: &[(&str, &str)]) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in defaults {
            c.set(*k, *v);
        }
        for (k, v) in &self.options {
            c.set(k, v);
        }
        for (k, v) in enforced {
            c.set(*k, *v);
        }
        c
    }
}

pub struct KafkaLog {
    config: KafkaConfig,
    producer: ThreadedProducer<Delivery>,
    partitions: Vec<u32>,
    handoff: Arc<Handoff>,
}

/// What the producer's polling thread does with the broker's answer for each event: hands an
/// acknowledged event over to this process's readers, then tells the append that sent it.
/// Handing over here, not in the appends (tasks that wake one by one), gives a reader all the
/// events of one produce request back to back, so the projector takes them in one batch.
struct Delivery {
    handoff: Arc<Handoff>,
}

/// How an append learns its event's fate.
type Delivered = tokio::sync::oneshot::Sender<Result<(), KafkaError>>;

impl ClientContext for Delivery {}

impl ProducerContext for Delivery {
    type DeliveryOpaque = Box<Delivered>;

    fn delivery(&self, result: &DeliveryResult<'_>, append: Box<Delivered>) {
        let result = match result {
            Ok(stored) => {
                // Acknowledged, so in the log at that offset: a reader here may take it now.
                if let Some(Ok(body)) = stored.payload_view::<str>() {
                    self.handoff.publish(
                        stored.partition() as u32,
                        stored.offset() as u64 + 1,
                        body,
                    );
                }
                Ok(())
            }
            Err((e, _)) => Err(e.clone()),
        };
        // An append that stopped waiting (its client went away) loses nothing: the event is
        // in the log, or it is not.
        let _ = append.send(result);
    }
}

impl KafkaLog {
    /// Connects, creates the topic if it does not exist, and learns its partitions.
    pub async fn connect(config: KafkaConfig) -> Result<KafkaLog, LogError> {
        let admin: AdminClient<DefaultClientContext> = config.client(&[], &[]).create()?;
        let topic = NewTopic::new(
            &config.topic,
            config.partitions as i32,
            TopicReplication::Fixed(config.replication),
        )
        .set("retention.ms", "-1")
        .set("cleanup.policy", "delete");
        let results = admin
            .create_topics(
                [&topic],
                &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
            )
            .await?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((t, code)) => {
                    return Err(LogError::Kafka(format!("cannot create topic {t}: {code}")))
                }
            }
        }
        let handoff = Arc::new(Handoff::default());
        let producer = config
            .client(
                &[("linger.ms", "1"), ("compression.type", "lz4")],
                &[("enable.idempotence", "true"), ("acks", "all")],
            )
            .create_with_context(Delivery {
                handoff: handoff.clone(),
            })?;
        let probe: BaseConsumer = config.client(&[], &[]).create()?;
        let topic_name = config.topic.clone();
        let partitions = tokio::task::spawn_blocking(move || -> Result<Vec<u32>, LogError> {
            let deadline = std::time::Instant::now() + TIMEOUT;
            loop {
                let md = probe.fetch_metadata(Some(&topic_name), Duration::from_secs(5))?;
                let parts: Vec<u32> = md
                    .topics()
                    .iter()
                    .filter(|t| t.name() == topic_name && t.error().is_none())
                    .flat_map(|t| t.partitions().iter().map(|p| p.id() as u32))
                    .collect();
                if !parts.is_empty() {
                    return Ok(parts);
                }
                if std::time::Instant::now() > deadline {
                    return Err(LogError::Kafka(format!(
                        "topic {topic_name} has no partitions"
                    )));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
        .await
        .map_err(|e| LogError::Kafka(e.to_string()))??;
        tracing::info!(topic = %config.topic, partitions = partitions.len(), "event log on Kafka");
        Ok(KafkaLog {
            config,
            producer,
            partitions,
            handoff,
        })
    }
}

impl KafkaLog {
    /// Queues one event for the broker; the receiver tells its fate. A full queue (the broker
    /// is slower than the appends) is waited out, within `TIMEOUT`.
    async fn enqueue(
        &self,
        key: &str,
        body: &str,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<(), KafkaError>>, LogError> {
        let started = Instant::now();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut record = BaseRecord::with_opaque_to(&self.config.topic, Box::new(tx))
            .key(key)
            .payload(body);
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(rx),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if started.elapsed() < TIMEOUT =>
                {
                    record = back;
                    tokio::time::sleep(QUEUE_FULL_RETRY).await;
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }
}

#[async_trait]
impl EventLog for KafkaLog {
    async fn append(&self, events: Vec<Event>) -> Result<(), LogError> {
        let payloads: Vec<(String, String)> = events
            .iter()
            .map(|e| Ok((e.app.clone(), serde_json::to_string(e)?)))
            .collect::<Result<_, LogError>>()?;
        // Queued one after the other, so in order (one that waits for room holds the rest
        // back), then sent together; the idempotent producer keeps their order within the
        // partition.
        let mut delivered = Vec::with_capacity(payloads.len());
        for (key, body) in &payloads {
            delivered.push(self.enqueue(key, body).await?);
        }
        let mut failed = None;
        for delivery in join_all(delivered).await {
            let result = match delivery {
                Ok(result) => result.map_err(LogError::from),
                Err(_) => Err(LogError::Kafka("the producer stopped".into())),
            };
            if let Err(e) = result {
                failed = failed.or(Some(e));
            }
        }
        failed.map_or(Ok(()), Err)
    }

    async fn partitions(&self) -> Result<Vec<u32>, LogError> {
        Ok(self.partitions.clone())
    }

    async fn reader(&self, partition: u32) -> Result<Box<dyn PartitionReader>, LogError> {
        // A group id is required by librdkafka, but offsets are never committed to it: the read
        // model stores its own positions, in the same transaction as the changes. A broker
        // that answers a waiting fetch only when it times out (as tansu does) makes
        // `fetch.wait.max.ms` the floor of the projection latency; Kafka wakes it on new data.
        // With the handoff, the broker only brings other processes' events: a longer wait
        // spares it most fetches (each of which tansu pays for with a listing of the
        // partition).
        let group = format!("chronicle-reader-{}", uuid::Uuid::new_v4());
        let wait = if self.config.handoff { "50" } else { "5" };
        let consumer: StreamConsumer = self
            .config
            .client(
                &[("fetch.wait.max.ms", wait)],
                &[
                    ("group.id", group.as_str()),
                    ("enable.auto.commit", "false"),
                    ("enable.partition.eof", "false"),
                ],
            )
            .create()?;
        Ok(Box::new(KafkaReader {
            topic: self.config.topic.clone(),
            partition,
            consumer: Arc::new(consumer),
            next: None,
            handed: self
                .config
                .handoff
                .then(|| self.handoff.subscribe(partition)),
            pending: BTreeMap::new(),
            due: Due::default(),
            paused: false,
            broker_used: None,
        }))
    }
}

struct KafkaReader {
    topic: String,
    partition: u32,
    /// Shared with the blocking calls made off the runtime's threads.
    consumer: Arc<StreamConsumer>,
    /// The position the consumer will deliver next, once assigned.
    next: Option<u64>,
    /// Events this process appended to the partition, as the broker acknowledged them.
    handed: Option<mpsc::Receiver<Acked>>,
    /// Handed-over events not yet returned, by position (they may arrive out of order, and
    /// ahead of a gap that only the broker can fill).
    pending: BTreeMap<u64, Arc<str>>,
    due: Due,
    /// With the handoff: the consumer is unassigned while the handoff brings every event, so
    /// that the broker does not send this process its own events back (see `pause`).
    paused: bool,
    /// When the broker last brought an event the handoff had not.
    broker_used: Option<Instant>,
}

impl KafkaReader {
    fn seek(&mut self, position: u64) -> Result<(), LogError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(
            &self.topic,
            self.partition as i32,
            Offset::Offset(position as i64 - 1),
        )?;
        self.consumer.assign(&tpl)?;
        if self.paused {
            tracing::debug!(
                partition = self.partition,
                position,
                "reader fetching again"
            );
        }
        self.next = Some(position);
        self.paused = false;
        Ok(())
    }

    /// Stops fetching while the handoff brings every event, unless the broker brought one the
    /// handoff had not within `BROKER_IDLE` (another process writes to the partition: its
    /// events would each wait for the consumer to start again). Each fetch costs the broker
    /// (tansu lists the partition's batches for it) and brings back events this reader has:
    /// measured, the fetches were ~40 % of tansu's CPU under a create load.
    fn pause(&mut self) -> Result<(), LogError> {
        if self.paused
            || self.handed.is_none()
            || self.broker_used.is_some_and(|t| t.elapsed() < BROKER_IDLE)
        {
            return Ok(());
        }
        self.consumer.unassign()?;
        self.next = None;
        self.paused = true;
        tracing::debug!(
            partition = self.partition,
            "reader paused; the handoff brings every event"
        );
        Ok(())
    }
}

#[async_trait]
impl PartitionReader for KafkaReader {
    fn partition(&self) -> u32 {
        self.partition
    }

    async fn end(&mut self) -> Result<u64, LogError> {
        // A blocking round trip to the broker: off the runtime's threads, so that readers of
        // other partitions asking at the same time wait for it together, not in turn.
        let (consumer, topic, partition) =
            (self.consumer.clone(), self.topic.clone(), self.partition);
        let (_, high) = tokio::task::spawn_blocking(move || {
            consumer.fetch_watermarks(&topic, partition as i32, Duration::from_secs(10))
        })
        .await
        .map_err(|e| LogError::Kafka(e.to_string()))??;
        Ok(high.max(0) as u64)
    }

    async fn next_batch(&mut self, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError> {
        // The consumer only goes forward: behind `from` (the handoff ran ahead) it skips what
        // it brings; ahead of it (a caller starting over) it must be moved back. A paused one
        // starts again when the handoff falls short (below).
        if !self.paused && self.next.is_none_or(|next| next > from) {
            self.seek(from.max(1))?;
        }
        self.pending = self.pending.split_off(&from);
        let mut batch: Vec<StoredEvent> = Vec::new();
        loop {
            let want = batch.last().map_or(from, |e| e.position + 1);
            self.take_handed(want);
            let mut want = want;
            while batch.len() < max {
                let Some(body) = self.pending.remove(&want) else {
                    break;
                };
                batch.push(StoredEvent {
                    position: want,
                    event: serde_json::from_str(&body)?,
                    local: true,
                });
                want += 1;
                self.pause()?;
            }
            if batch.len() >= max {
                break;
            }
            let polled = if batch.is_empty() {
                // `QUIET` from when it first waited for `want`, however many later events the
                // handoff brings meanwhile (they keep coming while another process's event
                // waits at `want`).
                let quiet_until = self.due.since(want, Instant::now()) + QUIET;
                match self.handed.as_mut() {
                    // Paused, what the handoff does not bring within `QUIET` (another
                    // process's event, one it let go) is the broker's to bring. Not sooner:
                    // appends finish out of order, so the handoff often brings a position
                    // before the one just below it.
                    Some(handed) if self.paused => {
                        match tokio::time::timeout_at(quiet_until.into(), handed.recv()).await {
                            Ok(acked) => Polled::Handed(acked),
                            Err(_) => {
                                self.seek(want)?;
                                continue;
                            }
                        }
                    }
                    Some(handed) => tokio::select! {
                        acked = handed.recv() => Polled::Handed(acked),
                        msg = self.consumer.recv() => Polled::Read(read(&msg?, want)?),
                    },
                    None => Polled::Read(read(&self.consumer.recv().await?, want)?),
                }
            } else {
                // Once it holds events a read never waits: a caller may drop a waiting read (the
                // projector does), and what the read holds would be lost to it.
                match self.consumer.recv().now_or_never() {
                    Some(msg) => Polled::Read(read(&msg?, want)?),
                    None => break,
                }
            };
            match polled {
                Polled::Handed(Some(acked)) => self.keep(want, acked),
                Polled::Handed(None) => {
                    self.handed = None;
                    if self.paused {
                        self.seek(want)?;
                    }
                }
                Polled::Read((position, _)) if position > want => {
                    // Never a gap (see `Due::served_past`): the missing event is read again.
                    self.skipped_to(want, position)?;
                    if !batch.is_empty() {
                        break;
                    }
                    tokio::time::sleep(GAP_RETRY).await;
                }
                Polled::Read((position, event)) => {
                    self.next = Some(position + 1);
                    if let Some(event) = event {
                        // The position due (the broker's later ones were handled above).
                        self.broker_used = Some(Instant::now());
                        self.pending.remove(&position);
                        batch.push(StoredEvent {
                            position,
                            event: *event,
                            local: false,
                        });
                    }
                }
            }
        }
        Ok(batch)
    }
}

/// The position a reader waits for, and since when: it bounds both the wait for the handoff
/// (`QUIET`) and a gap before it (`GAP_LIMIT`). A new position due starts a new wait.
#[derive(Default)]
struct Due(Option<(u64, Instant)>);

impl Due {
    /// Since when `position` has been due (`now`, if it was not yet).
    fn since(&mut self, position: u64, now: Instant) -> Instant {
        match self.0 {
            Some((due, since)) if due == position => since,
            _ => {
                self.0 = Some((position, now));
                now
            }
        }
    }

    /// The broker served `found` while `want` was due, at `now`. The topic's offsets have no
    /// gaps (an idempotent, non-transactional producer; no compaction), so `want` exists or is
    /// about to: a broker can serve a later append before an earlier one is readable (tansu
    /// does, under concurrent appends from two processes), and taking what it served would skip
    /// an event for good. The reader reads again from `want`; a gap that lasts `GAP_LIMIT` is an
    /// error, never a skip.
    fn served_past(
        &mut self,
        partition: u32,
        want: u64,
        found: u64,
        now: Instant,
    ) -> Result<(), LogError> {
        if now.duration_since(self.since(want, now)) > GAP_LIMIT {
            return Err(LogError::Gap {
                partition,
                missing: want,
                found,
            });
        }
        Ok(())
    }
}

/// What waiting on the partition brought.
enum Polled {
    /// From the handoff (`None`: the log that fed it is gone).
    Handed(Option<Acked>),
    /// From the broker: a position, and its event unless it was already returned.
    Read((u64, Option<Box<Event>>)),
}

/// A message from the broker, parsed only if it is not behind `want`.
fn read(msg: &BorrowedMessage<'_>, want: u64) -> Result<(u64, Option<Box<Event>>), LogError> {
    let position = msg.offset() as u64 + 1;
    if position < want {
        return Ok((position, None));
    }
    let body = msg.payload().unwrap_or_default();
    Ok((position, Some(Box::new(serde_json::from_slice(body)?))))
}

impl KafkaReader {
    /// The broker delivered `found` while `want` was due: read again from `want`.
    fn skipped_to(&mut self, want: u64, found: u64) -> Result<(), LogError> {
        self.due
            .served_past(self.partition, want, found, Instant::now())?;
        tracing::debug!(
            partition = self.partition,
            want,
            found,
            "the broker served an event ahead of one not readable yet; reading again"
        );
        self.seek(want)
    }

    /// Moves what the handoff has delivered so far into `pending`.
    fn take_handed(&mut self, want: u64) {
        while let Some(acked) = self.handed.as_mut().and_then(|h| h.try_recv().ok()) {
            self.keep(want, acked);
        }
    }

    /// Keeps a handed-over event until its turn, within the handoff's bound (the broker has
    /// whatever is let go).
    fn keep(&mut self, want: u64, acked: Acked) {
        if acked.position >= want {
            self.pending.insert(acked.position, acked.body);
            if self.pending.len() > CAPACITY {
                self.pending.pop_last();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_is_read_again_until_it_lasts_too_long() {
        let mut gap = Due::default();
        let t0 = Instant::now();
        assert!(gap.served_past(1, 10, 12, t0).is_ok());
        assert!(gap.served_past(1, 10, 11, t0 + GAP_LIMIT / 2).is_ok());
        // A later position missing starts its own wait.
        assert!(gap.served_past(1, 11, 12, t0 + GAP_LIMIT * 2).is_ok());
        let late = t0 + GAP_LIMIT * 3 + Duration::from_millis(1);
        match gap.served_past(1, 11, 13, late) {
            Err(LogError::Gap {
                partition: 1,
                missing: 11,
                found: 13,
            }) => {}
            other => panic!("expected a gap error, got {other:?}"),
        }
        // Once it is read, the next position due waits anew.
        assert!(gap.served_past(1, 12, 13, late).is_ok());
    }
}
