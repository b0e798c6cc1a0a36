//! The distributed event log: one Kafka topic, message key = app id, so all of an app's events
//! land in one partition in order. The producer is idempotent with `acks=all`, so an append
//! returns only once every in-sync replica has the events, without duplicates on retry. The
//! topic is created through the admin API at start, with the configured partition count; the
//! log is never compacted or expired by Chronicle (`retention.ms=-1`): it is the history.
//!
//! Positions are Kafka offsets + 1, so that 0 means "nothing read" as in the embedded log.

use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

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
}

const TIMEOUT: Duration = Duration::from_secs(30);

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
    producer: FutureProducer,
    partitions: Vec<u32>,
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
        let producer: FutureProducer = config
            .client(
                &[("linger.ms", "1"), ("compression.type", "lz4")],
                &[("enable.idempotence", "true"), ("acks", "all")],
            )
            .create()?;
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
        })
    }
}

#[async_trait]
impl EventLog for KafkaLog {
    async fn append(&self, events: Vec<Event>) -> Result<(), LogError> {
        let payloads: Vec<(String, String)> = events
            .iter()
            .map(|e| Ok((e.app.clone(), serde_json::to_string(e)?)))
            .collect::<Result<_, LogError>>()?;
        // Sent together; the idempotent producer keeps their order within the partition.
        let sends = payloads.iter().map(|(key, body)| {
            self.producer.send(
                FutureRecord::to(&self.config.topic).key(key).payload(body),
                TIMEOUT,
            )
        });
        for r in join_all(sends).await {
            r.map_err(|(e, _)| LogError::from(e))?;
        }
        Ok(())
    }

    async fn partitions(&self) -> Result<Vec<u32>, LogError> {
        Ok(self.partitions.clone())
    }

    async fn reader(&self, partition: u32) -> Result<Box<dyn PartitionReader>, LogError> {
        // A group id is required by librdkafka, but offsets are never committed to it: the read
        // model stores its own positions, in the same transaction as the changes. A broker
        // that answers a waiting fetch only when it times out (as tansu does) makes
        // `fetch.wait.max.ms` the floor of the projection latency; Kafka wakes it on new data.
        let group = format!("chronicle-reader-{}", uuid::Uuid::new_v4());
        let consumer: StreamConsumer = self
            .config
            .client(
                &[("fetch.wait.max.ms", "5")],
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
            consumer,
            next: None,
        }))
    }
}

struct KafkaReader {
    topic: String,
    partition: u32,
    consumer: StreamConsumer,
    /// The position the consumer will deliver next, once assigned.
    next: Option<u64>,
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
        self.next = Some(position);
        Ok(())
    }
}

#[async_trait]
impl PartitionReader for KafkaReader {
    fn partition(&self) -> u32 {
        self.partition
    }

    async fn end(&mut self) -> Result<u64, LogError> {
        let (_, high) = self.consumer.fetch_watermarks(
            &self.topic,
            self.partition as i32,
            Duration::from_secs(10),
        )?;
        Ok(high.max(0) as u64)
    }

    async fn next_batch(&mut self, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError> {
        if self.next != Some(from) {
            self.seek(from.max(1))?;
        }
        let mut batch = Vec::new();
        loop {
            let msg = if batch.is_empty() {
                self.consumer.recv().await?
            } else {
                match tokio::time::timeout(Duration::ZERO, self.consumer.recv()).await {
                    Ok(m) => m?,
                    Err(_) => break,
                }
            };
            let position = msg.offset() as u64 + 1;
            let body = msg.payload().unwrap_or_default();
            let event: Event = serde_json::from_slice(body)?;
            self.next = Some(position + 1);
            batch.push(StoredEvent { position, event });
            if batch.len() >= max {
                break;
            }
        }
        Ok(batch)
    }
}
